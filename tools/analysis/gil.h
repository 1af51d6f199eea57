/*
 * gil.h — CPython's GIL seen from the kernel, with no runtime support.
 *
 * CPython 3.11/3.12 (Python/ceval_gil.c): a thread that wants the GIL waits in take_gil on a
 * condition variable with a *timed* wait of the switch interval (5 ms by default); when the
 * wait times out it asks the holder to drop the GIL (a forced switch). A holder that blocks
 * in IO drops the GIL itself and signals the condvar (a voluntary release). glibc turns the
 * timed wait into futex(FUTEX_WAIT_BITSET) with a timeout: so the GIL is the futex address on
 * which a Python process's threads make timed condvar waits — found from the futex waits
 * alone, on a stripped interpreter: their blocked intervals (a switch-out says the wait is
 * timed, and it timed out when no thread woke it), or the futex calls when recorded
 * (--futex-calls: each call's result). Everything here is therefore *inferred*, and says so.
 *
 * Per GIL wait episode (a thread's consecutive waits on the GIL until it gets it): how long,
 * whether any wait timed out (forced switch after the switch interval) or the thread was
 * signalled by a holder that let go (voluntary release), and who woke it (the previous
 * holder). Per thread: wanting-to-run time (on CPU + runnable + waiting for the GIL) and the
 * share of it spent waiting for the GIL. Per process: achieved parallelism (summed on-CPU
 * time over the process's wall time).
 *
 * With GIL uprobes (record --gil on an unstripped interpreter: EV_GIL records at take_gil's
 * entry and return and at drop_gil's entry) gil_analyze_uprobes() replaces the inference for
 * the processes that have them: exact hold intervals, each hand-off's previous holder, and its
 * cause from drop_gil's caller (the eval breaker: forced after the switch interval;
 * PyEval_SaveThread: released around a blocking call). Those processes say method uprobes.
 *
 * Pure: works on the model only (unit-testable with synthetic events).
 */
#ifndef CONLAB_GIL_H
#define CONLAB_GIL_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

#define GIL_HIST 32	/* log2 ns buckets */

enum gil_method {
	GIL_INFERRED = 0,	/* from futex waits */
	GIL_UPROBES = 1,	/* from take_gil / drop_gil uprobes (EV_GIL) */
};

/* Why a holder let the GIL go (uprobes: from drop_gil's caller). */
enum gil_cause {
	GC_OTHER = 0,		/* another caller, or unknown */
	GC_FORCED,		/* the eval breaker: another thread asked after the switch interval */
	GC_BLOCKING,		/* PyEval_SaveThread: around a blocking call (IO, sleep, a lock) */
	GC_EXIT,		/* the thread is exiting (drop_gil from take_gil) */
	GC_NCAUSES
};

struct gil_thread {
	uint32_t tid;
	char comm[CLAB_COMM_LEN];
	uint64_t on_cpu, runnable, blocked_other;	/* blocked_other: not waiting for the GIL */
	uint64_t gil_wait;	/* time asleep on the GIL's futexes (uprobes: asleep in take_gil) */
	uint64_t waits, timeouts;	/* futex waits on the GIL, and how many timed out */
	uint64_t acquisitions;	/* episodes ended (it got the GIL after waiting) */
	uint64_t forced, voluntary;	/* how those episodes ended */
	uint64_t episode_max;
	uint64_t held, takes;	/* uprobes: time holding the GIL, take_gil calls */
};

/* One hand-off seen: a waiter got the GIL after waiting. */
struct gil_handoff {
	uint64_t ts;		/* when the waiter was woken to take it */
	uint64_t waited;	/* episode length */
	uint32_t from, to;	/* previous holder (the waker, 0 unknown), new holder */
	uint8_t forced;		/* some wait of the episode timed out: forced after the interval */
	uint8_t cause;		/* uprobes: enum gil_cause of the previous holder's drop */
	uint64_t held;		/* uprobes: how long the previous holder had held it */
};

/* uprobes: one stretch of one thread holding the GIL */
struct gil_hold {
	uint64_t from, to;
	uint32_t tid;
	uint8_t cause;		/* how it ended: enum gil_cause */
};

struct gil_process {
	uint32_t pid;
	char comm[CLAB_COMM_LEN];
	char version[16];	/* "3.11" from the interpreter's file name, "" unknown */
	int is_python;		/* the process runs a CPython interpreter */
	uint64_t gil_addr;	/* the inferred GIL condvar futex, 0 none found */
	uint64_t wall;		/* first to last event of its threads */
	uint64_t on_cpu;	/* summed over its threads */
	uint64_t mt_from, mt_wall;	/* while threads other than the main one lived */
	uint64_t mt_on_cpu;	/* on-CPU time of all its threads in that window */
	uint64_t gil_wait;
	uint64_t waits, timeouts;
	uint64_t timeout_hist[GIL_HIST];	/* durations of the waits that timed out */
	uint64_t interval_est;	/* median duration of timed-out waits: the switch interval */
	uint64_t forced, voluntary;
	struct gil_thread *threads;
	size_t nthreads;
	struct gil_handoff *handoffs;
	size_t nhandoffs;
	int method;		/* enum gil_method */
	struct gil_hold *holds;	/* uprobes: time order */
	size_t nholds;
	uint64_t held;		/* uprobes: summed hold time */
	uint64_t drops[GC_NCAUSES];
};

struct gil_report {
	struct gil_process *procs;
	size_t nprocs;
	uint64_t wall;		/* the whole recording */
	uint64_t python_on_cpu;	/* summed over every Python process: parallelism across them */
	size_t npython;
};

int gil_analyze(struct gil_report *r, const struct model *m);

/* drop_gil's caller -> enum gil_cause (the report symbolizes; tests fake it) */
typedef int (*gil_cause_fn)(void *ctx, uint32_t pid, uint64_t ret_addr);
/* gil_analyze, then the exact GIL of every process with EV_GIL records (time order). */
struct ev_gil;
int gil_analyze_uprobes(struct gil_report *r, const struct model *m, const struct ev_gil *const *ev,
			size_t n, gil_cause_fn cause, void *ctx);
/* enum gil_cause from the name of drop_gil's caller */
int gil_cause_of_caller(const char *func);
const char *gil_cause_name(int c);
void gil_free(struct gil_report *r);

#endif
