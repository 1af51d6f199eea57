/*
 * doctor.h — diagnose a hung process now: snapshot, stacks, names, wait-for graph, report.
 * Used by `conlab deadlock -p PID`; the live mode of the same command reuses its graph and
 * renderers (waitgraph.h, doctor_report.h).
 */
#ifndef CONLAB_DOCTOR_H
#define CONLAB_DOCTOR_H

#include <stddef.h>
#include <sys/types.h>

enum doctor_format { DOCTOR_TEXT, DOCTOR_JSON, DOCTOR_DOT };

/* exit status of `conlab deadlock` */
#define DOCTOR_OK 0		/* nothing stuck */
#define DOCTOR_FOUND 1		/* at least one deadlock */
#define DOCTOR_ERROR 2

struct doctor_opts {
	enum doctor_format format;
	const char *output;	/* NULL: stdout */
	int no_stacks;		/* no ptrace at all: /proc and memory only */
	int no_children;	/* only the process itself, not its descendants */
	size_t max_frames;
};

/* Diagnose pid; returns DOCTOR_OK, DOCTOR_FOUND or DOCTOR_ERROR (message on stderr). */
int doctor_run(pid_t pid, const struct doctor_opts *o);

#endif
