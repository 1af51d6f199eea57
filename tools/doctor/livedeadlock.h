/*
 * livedeadlock.h — `conlab deadlock [options] -- CMD`: run a command under the recorder and
 * catch deadlocks as they happen (a wait-for cycle through glibc mutex owners, closed by a
 * thread going to sleep; or every thread blocked for --stall seconds), reported at once with
 * the hung-process doctor while the process is alive; and with --locks, the ones that could
 * happen (lock-order inversions from the lock uprobes, see lockorder.h).
 */
#ifndef CONLAB_LIVEDEADLOCK_H
#define CONLAB_LIVEDEADLOCK_H

#include "capture/recorder.h"

enum on_deadlock { ON_KILL, ON_STOP, ON_CONTINUE };

struct live_opts {
	struct record_opts rec;	/* the command (rec.cmd), --duration, --quiet, --sandbox, and
				 * --locks (rec.locks non-zero, rec.locks_via) */
	enum on_deadlock action;
	double stall;		/* seconds every thread must be blocked; 0 = off */
	int verbose;
	int json;
	const char *output;	/* the report; NULL: stdout */
	const char *trace;	/* keep the trace here; NULL: a temporary file */
};

/* Defaults: kill on a deadlock, 5 s stall, text to stdout. */
void live_opts_init(struct live_opts *o);
/* Run o->rec.cmd and watch it; returns the exit status (0 none, 1 found, 2 error). */
int deadlock_live(const struct live_opts *o);

#endif
