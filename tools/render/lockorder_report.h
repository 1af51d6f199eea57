/*
 * lockorder_report.h — potential deadlocks (cycles of lockorder.h) as text and as elements of
 * the doctor's `deadlocks[]` (kind "potential", `edges[]` of from, to, tid, stack), named with
 * the symbolizer of each edge's process.
 *
 * Names come from the memory maps saved in the trace (struct m_process.maps), so a program that
 * exited before conlab looked at it is still named; a symbolizer of the live process is the
 * fallback when the trace has no maps for it. Used by `conlab deadlock -- CMD` at its end and
 * by `conlab report deadlock`.
 */
#ifndef CONLAB_LOCKORDER_REPORT_H
#define CONLAB_LOCKORDER_REPORT_H

#include "model/procsyms.h"
#include <stdio.h>
#include <sys/types.h>

#include "analysis/lockorder.h"

struct model;
struct json;
struct symbolizer;
struct pylw;

struct lo_report {
	const struct lockorder *lo;
	struct lo_cycle *cyc;		/* lockorder_cycles(): owned */
	size_t ncyc, real;		/* real: not guarded */
	const struct model *m;		/* stacks by id and maps by pid; may be NULL */
	struct symbolizer *live;	/* of live_pid, made while it ran; not owned; may be NULL */
	pid_t live_pid;
	struct procsyms syms;		/* symbolizers made from the model's maps, by pid */
	const struct pylw *py;		/* live, a CPython command: its Locks' and threads' names */
};

/* Find the cycles of lo; m and live may be NULL. */
void lo_report_init(struct lo_report *r, const struct lockorder *lo, const struct model *m,
		    struct symbolizer *live, pid_t live_pid);
void lo_report_free(struct lo_report *r);

/* "POTENTIAL DEADLOCK #1: ..." blocks, the held-lock overflow notes, or one "no lock-order
 * inversion" line. */
void lo_report_text(FILE *f, struct lo_report *r);
/* One object per cycle, into an open array. */
void lo_report_json(struct json *j, struct lo_report *r);

/* "lock_a (0x55..)" or "0x55.."; "path_one (lockorder.c:66)" or the address (a return address:
 * the call before it is named). */
void lo_report_lock_name(struct lo_report *r, pid_t pid, uint64_t addr, char *buf, size_t n);
void lo_report_code_name(struct lo_report *r, pid_t pid, uint64_t pc, char *buf, size_t n);

#endif
