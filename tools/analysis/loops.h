/*
 * loops.h — event loops seen from the kernel: which threads are loop threads, and how each
 * one spends its time.
 *
 * A loop thread is one that keeps calling a wait syscall (epoll_wait, poll, select,
 * io_uring_enter with GETEVENTS: EV_WAITCALL records). Time inside the wait is idle; the gap
 * from one wait's return to the next wait's entry is busy (callbacks). Each gap is split with
 * the thread's interval history from the model: on CPU, runnable, or blocked — in which
 * syscall, on which fd or futex, from which return address. The waits' timeouts are the
 * loop's timer schedule; timer lag is how long after a wait's deadline (entry + timeout) the
 * loop next came back from a wait. Works the same for any runtime: no runtime support.
 *
 *	struct loops L;
 *	loops_analyze(&L, model, calls, ncalls, NULL);	(calls: EV_WAITCALL records, time order)
 *	... L.v[i] ...
 *	loops_free(&L);
 *
 * Pure: no BPF, no files. The EV_WAITCALL records come from the model (m->rec.waitcall).
 */
#ifndef CONLAB_LOOPS_H
#define CONLAB_LOOPS_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"
#include "model/model.h"

#define LOOP_HIST 32		/* log2 buckets of busy gaps, ns: bucket b holds [2^b, 2^(b+1)) */
#define LOOP_TOP 8		/* longest gaps kept per loop */
#define LOOP_NTIMEOUTS 8	/* distinct timeouts kept per loop */

struct loops_opts {
	size_t min_calls;	/* wait calls that make a thread a loop thread (default 5) */
	uint64_t block_ns;	/* a blocking call in a gap at least this long is called out (1 ms) */
};

/* One busy gap: from a wait's return to the next wait's entry. */
struct loop_gap {
	uint64_t start, end;
	uint64_t on_cpu, runnable, blocked;	/* split of the gap from the thread's intervals */
	struct m_wait w;	/* the longest blocking stretch inside it (kind WK_NONE: none) */
	uint64_t w_dur;
	uint8_t uncertain;	/* overlaps lost events */
};

/* Blocking calls inside gaps, grouped by syscall, return address and (for fds) object. */
struct loop_block {
	struct m_wait w;	/* a representative wait (the longest) */
	uint32_t count;
	uint64_t total, max;
	uint64_t max_at;	/* start of the longest one */
};

enum loop_fd_role {
	LFD_WAIT = 0,		/* the epoll / io_uring fd the loop waits on */
	LFD_BLOCKING,		/* read/written/accepted by a blocking call inside a busy gap */
	LFD_WAKER,		/* another thread's syscall on it woke the loop */
};

struct loop_fd {
	uint64_t fd;
	uint32_t pid;		/* the process the fd belongs to (the waker's, for LFD_WAKER) */
	uint8_t role;		/* enum loop_fd_role */
	uint32_t reads, writes, other;	/* blocking calls (LFD_BLOCKING) or wakeups (LFD_WAKER) */
	uint64_t read_ns, write_ns;
	uint32_t waker;		/* LFD_WAKER: the waking thread */
	int16_t waker_nr;	/* LFD_WAKER: its syscall */
};

struct loop_timeout {
	int64_t us;		/* -1 none */
	uint64_t count;
};

struct loop {
	uint32_t tid, pid;
	char comm[CLAB_COMM_LEN];
	uint16_t sys;		/* the wait syscall it uses most (enum wait_sys) */
	uint64_t wait_fd;	/* its most common first argument (epoll fd, ...) */
	uint64_t ncalls;
	uint64_t first, last;	/* first wait's entry, last wait's return */
	uint64_t idle, busy;	/* time in waits / in gaps */
	uint64_t events;	/* sum of the waits' positive returns */
	uint64_t zero_timeout_calls;	/* timeout 0: work already queued */
	uint64_t timed_out;	/* returned 0 with a timeout: a timer came due */
	uint64_t errors;	/* negative returns (EINTR ...) */
	/* busy gaps */
	uint64_t ngaps;
	uint64_t hist[LOOP_HIST];
	uint64_t gap_p50, gap_p99, gap_max;
	uint64_t gap_on_cpu, gap_runnable, gap_blocked;	/* the split summed over all gaps */
	struct loop_gap top[LOOP_TOP];	/* longest first */
	size_t ntop;
	struct loop_block *blocks;	/* longest max first */
	size_t nblocks;
	/* timers */
	struct loop_timeout timeouts[LOOP_NTIMEOUTS];	/* most common first */
	size_t ntimeouts;
	uint64_t timeouts_other;	/* calls whose timeout did not fit in the table */
	uint64_t lag_n, lag_sum, lag_max, lag_max_at;
	uint64_t lag_hist[LOOP_HIST];
	/* fds */
	struct loop_fd *fds;
	size_t nfds;
	uint8_t uncertain;	/* some of its life overlaps lost events */
};

struct loops {
	struct loop *v;
	size_t n;
	struct loops_opts o;
	uint64_t calls;		/* EV_WAITCALL records seen in all */
};

/* Analyse; calls must be in time order (a trace's order). o may be NULL. 0 always. */
int loops_analyze(struct loops *out, const struct model *m, const struct ev_waitcall *const *calls,
		  size_t n, const struct loops_opts *o);
void loops_free(struct loops *l);

const char *wait_sys_name(int sys);
/* Duration of a wait call in ns (dur may be in µs). */
uint64_t waitcall_dur(const struct ev_waitcall *c);
/* Value at quantile q (0..1) of a log2 histogram: the bucket's upper bound. */
uint64_t loops_hist_quantile(const uint64_t *hist, size_t nb, double q);

#endif
