/*
 * stackwalk.h — the user stack of every thread of a live process, with CFI (libdwfl).
 *
 * Each thread is ptrace-attached, unwound and detached before the next one is touched, so
 * the process is never stopped as a whole and each thread only for about a millisecond. A
 * thread that was running keeps running afterwards; a blocking syscall interrupted by the
 * stop is restarted by the kernel. SIGINT, SIGTERM, SIGHUP and SIGQUIT are held while a
 * thread is stopped: they end the walk between two threads, never inside a stop window.
 */
#ifndef CONLAB_STACKWALK_H
#define CONLAB_STACKWALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STACKWALK_MAX_FRAMES 64

struct stackwalk_stats {
	size_t threads;		/* threads walked (with or without success) */
	size_t failed;		/* threads with no stack */
	uint64_t total_ns;	/* the whole walk */
	uint64_t stop_max_ns;	/* the longest single-thread stop window */
	uint64_t stop_sum_ns;	/* sum of the per-thread windows */
	int interrupted;	/* a termination signal arrived: the walk ended early */
};

/* pcs[i]; retaddr[i] is 1 when pcs[i] is a return address (look up pc - 1). err != NULL when
 * the thread could not be walked (n may still be > 0 for a partial stack). */
typedef void (*stackwalk_cb)(pid_t tid, const uint64_t *pcs, const uint8_t *retaddr, size_t n,
			     uint64_t stop_ns, const char *err, void *arg);

/* Walk every thread of pid. 0, or -errno when the process cannot be attached at all (the
 * message is in errbuf). */
int stackwalk_pid(pid_t pid, size_t max_frames, stackwalk_cb cb, void *arg,
		  struct stackwalk_stats *st, char *errbuf, size_t errlen);

#endif
