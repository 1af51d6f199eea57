/*
 * doctor.h — diagnose a hung process now: snapshot, stacks, names, wait-for graph, report.
 * Used by `conlab deadlock -p PID`; the live mode of the same command reuses its graph and
 * renderers (waitgraph.h, doctor_report.h).
 */
#ifndef CONLAB_DOCTOR_H
#define CONLAB_DOCTOR_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct pylock_owners;

enum doctor_format { DOCTOR_TEXT, DOCTOR_JSON, DOCTOR_DOT };

/* exit status of `conlab deadlock` */
#define DOCTOR_OK 0		/* nothing stuck */
#define DOCTOR_FOUND 1		/* at least one deadlock */
#define DOCTOR_ERROR 2

struct doctor_opts {
	enum doctor_format format;
	const char *output;	/* NULL: stdout */
	int no_stacks;		/* no stacks: /proc and memory only */
	int stop_running;	/* stop running threads (one at a time) to take their stacks */
	int no_children;	/* only the process itself, not its descendants */
	size_t max_frames;
	int native;		/* Python threads: C frames too */
	/* live --locks: the holders of Python Locks the lock probes saw (pylocks.h), NULL */
	const struct pylock_owners *owners;
};

/* Diagnose pid; returns DOCTOR_OK, DOCTOR_FOUND or DOCTOR_ERROR (message on stderr). */
int doctor_run(pid_t pid, const struct doctor_opts *o);

/* More findings rendered in the same document: live detection adds the potential deadlocks
 * (lock-order inversions) found after the snapshot to the doctor's deadlocks[]. */
struct json;
struct doctor_extra {
	size_t count;					/* deadlocks counted in the summary */
	void (*summary)(struct json *j, void *ctx);	/* more members of "summary" */
	void (*json)(struct json *j, void *ctx);	/* more elements of "deadlocks" */
	void (*text)(FILE *f, void *ctx);		/* after the doctor's findings */
	void *ctx;
};

/* The same in two steps, for a diagnosis taken now (while the process is alive) and rendered
 * later: take returns DOCTOR_OK / DOCTOR_FOUND with *out set, or DOCTOR_ERROR. render writes
 * to o->output (source: "live", NULL keeps "snapshot"), returns DOCTOR_FOUND when the doctor
 * or the extra found something. */
struct doctor;
int doctor_take(pid_t pid, const struct doctor_opts *o, struct doctor **out);
int doctor_render(struct doctor *d, const char *source, const struct doctor_extra *x);
void doctor_result_free(struct doctor *d);

#endif
