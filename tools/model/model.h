/*
 * model.h — what the events mean: a state machine per thread, the process tree and the sync
 * objects, with their whole history (intervals, wakeups, futex calls) kept for the analyses.
 *
 * Pure C: no BPF. Feed it records in time order (the trace reader merges them) with
 * model_event(), close it with model_finish(), then read the arrays. Every analysis
 * (summary, timeline, contention, deadlock, io, gil) is a function of this.
 *
 * Impossible transitions (a blocked thread switched in without a wakeup, a thread switched
 * out that was not running) are counted in `anomalies`, never silently fixed.
 */
#ifndef CONLAB_MODEL_H
#define CONLAB_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"
#include "model/fdtable.h"
#include "lib/idmap.h"
#include "symbols/procmaps.h"

enum th_state {
	TH_UNKNOWN = 0,		/* not seen yet, or after lost events */
	TH_RUNNING,
	TH_RUNNABLE,		/* preempted, or woken and waiting for a CPU */
	TH_BLOCKED,
	TH_EXITED,
	TH_NSTATES
};

/* What a blocked thread waits for. */
enum wait_kind {
	WK_NONE = 0,
	WK_MUTEX,		/* glibc mutex (futex value 2), holder from __owner */
	WK_LOCK,		/* a lock-like futex with no owner field we could read */
	WK_RWLOCK,
	WK_CONDVAR,
	WK_SEMAPHORE,
	WK_JOIN,		/* pthread_join: the futex is the joined thread's tid word */
	WK_FUTEX,		/* another futex wait */
	WK_SLEEP,		/* nanosleep, clock_nanosleep, restart_syscall */
	WK_READ,		/* read, recv...: on an fd */
	WK_WRITE,
	WK_POLL,		/* epoll_wait, poll, select, io_uring_enter, io_getevents */
	WK_ACCEPT,		/* accept, accept4, connect */
	WK_CHILD,		/* wait4, waitid */
	WK_SIGNAL,		/* pause, rt_sigsuspend, rt_sigtimedwait */
	WK_OTHER,		/* another syscall, or a page fault / in-kernel wait */
	WK_NKINDS
};

/* Coarse classes of blocked time for the summary (JSON keys). */
enum block_class {
	BC_FUTEX = 0,
	BC_SLEEP,
	BC_IO,
	BC_CHILD,
	BC_OTHER,
	BC_NCLASSES
};

struct m_python;

/* 32 bytes, so that an interval is 64: the intervals are most of a report's memory. */
struct m_wait {
	uint64_t obj;		/* futex address, fd, pid waited for */
	uint64_t ret_addr;	/* return address into the program (0 unknown) */
	int32_t stack_id;	/* EV_META_STACK id, < 0 none */
	uint32_t holder;	/* owner tid when known (mutex __owner, joined tid) */
	uint32_t fval;		/* futex word at block time */
	int16_t nr;		/* syscall (x86-64 numbers are below 512), -1 none */
	uint8_t kind;		/* enum wait_kind */
	uint8_t timed : 1;	/* a futex wait given a timeout (its switch-out says) */
	uint8_t timed_out : 1;	/* ... and it expired: its futex call returned ETIMEDOUT or,
				 * without the call's record, no thread woke it (model.c) */
	uint8_t py : 1;		/* kind said by the waiter's Python stack: a wait of threading's
				 * Condition.wait (WK_CONDVAR) or Thread.join (WK_JOIN) on a Lock
				 * (model/pystacks.h) */
	uint8_t sem_posted : 1;	/* a sem_wait's words but for the value, 1: posted between its
				 * check and the switch (futexkind takes it for a condvar) */
	uint8_t shared : 1;	/* a futex wait without FUTEX_PRIVATE_FLAG: the word may be in
				 * memory processes share (a pshared semaphore, a
				 * multiprocessing.Lock) */
};

_Static_assert(sizeof(struct m_wait) == 32, "m_wait grew: every interval pays for it");

#define IV_UNCERTAIN 0x1	/* overlaps a time when events were lost */
#define IV_INFERRED 0x2		/* start not observed (state before the first event) */

/* One stretch of a thread's life in one state (64 bytes). */
struct m_interval {
	uint64_t start, end;
	struct m_wait w;	/* TH_BLOCKED: why */
	uint32_t waker;		/* TH_BLOCKED: who ended it (0 unknown / timer / irq) */
	int32_t wakeup;		/* index in model.wakeups that ended it, -1 none */
	uint16_t cpu;		/* TH_RUNNING */
	uint8_t state;		/* enum th_state */
	uint8_t flags;		/* IV_* */
};
_Static_assert(sizeof(struct m_interval) == 64, "m_interval grew: a report holds millions");


struct m_thread {
	uint32_t tid, pid;
	char comm[CLAB_COMM_LEN];
	uint64_t born, died;	/* first seen / exit (0 = alive at the end) */
	int32_t exit_code;
	uint8_t state;		/* current (during feeding), final after model_finish */
	uint8_t exited;
	uint8_t is_leader;
	uint8_t renamed;	/* the program named it (prctl, pthread_setname_np): keep that name */
	uint8_t died_in_futex;	/* it exited from inside a futex call: killed in that wait */
	uint16_t cpu;
	uint64_t since;		/* start of the current state */
	struct m_wait wait;	/* current wait when blocked */
	uint32_t waker;		/* who made it runnable last */
	int32_t wakeup;
	uint8_t flags;		/* IV_* for the current interval */
	struct m_interval *iv;	/* history */
	size_t niv, cap_iv;
	/* totals over the history, filled by model_finish */
	uint64_t time_in[TH_NSTATES];
	uint64_t blocked_in[BC_NCLASSES];
	uint64_t switches, preemptions, wakeups_received;
	uint64_t futex_waits, futex_wakes;	/* calls, whether or not they blocked */
	uint64_t uncertain_ns;		/* time in intervals that overlap lost events */
};

struct m_process {
	uint32_t pid, ppid;
	char comm[CLAB_COMM_LEN];
	char *cmdline;		/* space-separated, NULL unknown */
	char *exe;		/* last exec'd file name */
	uint64_t born, died;
	int32_t exit_code;	/* wait status, valid when exited */
	uint8_t exited;
	uint8_t forked;		/* created while traced (vs found at start) */
	uint32_t execs, forks, threads_created;
	struct proc_maps maps;	/* latest file-backed mappings */
};

struct m_wakeup {
	uint64_t ts;
	uint64_t obj;		/* the waker's futex (or fd) when it was in such a syscall */
	uint32_t waker, wakee;	/* tids; waker 0 = kernel / interrupt */
	int16_t waker_nr;
	uint16_t cpu;
	uint8_t is_new;
};

struct m_futex {
	uint64_t ts;		/* return time */
	uint64_t uaddr;
	uint64_t dur;		/* ns */
	uint32_t tid, op, val;
	int32_t ret;
	uint32_t flags;		/* FUTEXF_* */
};

struct m_stack {
	int32_t id;
	uint32_t n;
	uint64_t *ips;
};

/* Counted, never ignored: a transition the state machine did not expect. */
enum anomaly {
	AN_SWITCH_OUT_NOT_RUNNING = 0,	/* prev was not running */
	AN_SWITCH_IN_BLOCKED,		/* next was blocked and no wakeup was seen */
	AN_SWITCH_IN_RUNNING,		/* next already running on another CPU */
	AN_EVENT_AFTER_EXIT,
	AN_NKINDS
};

struct m_loss_window {
	uint64_t from, to;	/* events were lost somewhere in here */
	uint64_t count;
};

/*
 * What a report needs besides the state, so that what it does not read costs no memory per
 * event: of the event stream, the records of these types (bit 1 << type; the probes' types are
 * below 64) within [from_ns, to_ns] of the first event (to_ns 0: to the end), none by default;
 * the futex calls (`futexes`) unless no_futex_calls.
 */
struct m_keep {
	uint64_t stream_types;
	uint64_t from_ns, to_ns;
	int no_futex_calls;
	/* The threads' intervals, the wakeups and the futex calls only where [from_ns, to_ns]
	 * needs them: the intervals that overlap it and each thread's last blocked one after it,
	 * the wakeups in it (an interval's wakeup outside it is -1), the futex calls in it and each
	 * thread's first one after it. The totals (time_in, blocked_in) stay the whole trace's;
	 * uncertain_ns counts the kept intervals. */
	int history_window;
	int history;		/* enum m_history: which of the threads' intervals are kept */
	int message_wakeups_only;	/* a wakeup only when its waker was writing: a message
					 * between processes (model/conns.h) */
	const struct m_fold *fold;	/* what sums the intervals as they close, or NULL */
	uint64_t whole_if_types;	/* model_from_file: a record of these types (bit 1 << type)
					 * makes it read the file again keeping everything (keep
					 * = {0} but the event stream's types and window): what
					 * the report reads depends on the trace */
	int whole_if_lost;		/* ... and so does the first window of lost events (the
					 * intervals before it that it covers change) */
	uint64_t whole_stream_types;	/* the event stream's types when the trace is read
					 * whole after all (0: stream_types): a fold may take
					 * some records over (m_fold.record) */
};

/* What a report keeps when it reads the trace whole after all: everything, of the event
 * stream the types it asked for then, and its window. */
static inline struct m_keep m_keep_whole(const struct m_keep *k)
{
	return (struct m_keep){.stream_types = k->whole_stream_types ? k->whole_stream_types :
								       k->stream_types,
			       .from_ns = k->from_ns, .to_ns = k->to_ns};
}

/*
 * A report that sums the threads' intervals instead of reading them afterwards folds them as
 * they close: every interval of every thread, whatever the history keeps, in the order the
 * records close them (each thread's in time order), then those model_finish() closes (with
 * m->finished set: the model is whole only after it). A futex call's return marks the blocked
 * intervals on its word since `from` timed / timed out (the model does the same to its history).
 */
struct model;
struct m_fold {
	void (*interval)(void *ctx, const struct model *m, const struct m_thread *t,
			 const struct m_interval *v);
	void (*futex_return)(void *ctx, const struct model *m, const struct m_thread *t,
			     uint64_t from, uint64_t uaddr, int timed, int timed_out,
			     const struct m_futex *call);	/* the call: time, return */
	void (*release)(void *ctx);	/* the fold is no more needed (model_free) */
	/* every record, as it is read (NULL: not wanted), after model_keep_stream() */
	void (*record)(void *ctx, const struct model *m, const struct ev_hdr *h);
	void *ctx;
};

/* The threads' histories a report reads (m_thread.iv). In the modes but HIST_ALL a wakeup is
 * kept only when it ends a kept interval. */
enum m_history {
	HIST_ALL = 0,		/* every interval */
	HIST_BLOCKED,		/* the blocked intervals only */
	HIST_LAST_MUTEX,	/* each thread's last wait on a mutex and its last blocked interval
				 * after it: what the end-of-trace deadlock check reads */
	HIST_NONE,		/* none: a wakeup that ends a blocked interval is in one slot,
				 * m->wakeups[0], only while the fold reads that interval */
	HIST_MESSAGES,		/* the blocked intervals a kept wakeup ended (with
				 * message_wakeups_only: a message) and each one's next blocked
				 * interval: what the connections table (model/conns.h) reads */
};

#define M_KEEP_TYPE(t) (1ull << (t))
#define M_KEEP_ALL_PROBES (~0ull & ~1ull)	/* every probe record (types 1..63) */

struct model {
	struct m_thread *threads;
	size_t nthreads, cap_threads;
	struct m_process *procs;
	size_t nprocs, cap_procs;
	struct m_wakeup *wakeups;
	size_t nwakeups, cap_wakeups;
	struct m_futex *futexes;
	size_t nfutexes, cap_futexes;
	uint64_t futex_calls;		/* EV_FUTEX records read: 0 when not recorded (the default) */
	struct m_stack *stacks;
	size_t nstacks, cap_stacks;
	struct m_loss_window *losses;
	size_t nlosses, cap_losses;

	struct idmap tid_index;		/* tid -> newest thread */
	struct idmap pid_index;		/* pid -> newest process */
	struct idmap stack_index;	/* stack id -> stacks[] */
	struct idmap cv_words;		/* (pid, futex) waited on as a condvar for sure */
	struct fdtable fdt;		/* what each process's fds were (EV_META_FD) */

	/*
	 * The records the state machine does not fold, in arrival order, for the analyses that
	 * read them one by one: lock probes (contention's hold times, the held-lock overflow),
	 * lock-order edges (potential deadlocks), event-loop wait calls (io), GIL probes (gil).
	 * Copies the model owns (in `kept`): a record fed is read during model_event only.
	 */
	struct m_records {
		const struct ev_lock **lock;
		const struct ev_lock_edge **lock_edge;
		const struct ev_waitcall **waitcall;
		const struct ev_gil **gil;
		size_t nlock, nlock_edge, nwaitcall, ngil;
		size_t cap_lock, cap_lock_edge, cap_waitcall, cap_gil;
	} rec;
	/* The event stream, for what draws each event (Perfetto's ftrace events, the timeline's
	 * marks): the records fed of the types and in the window `keep` asks for, in time order.
	 * Copies in `kept` (model_from_file), or the caller's records (model_set_stream). */
	const struct ev_hdr *const *stream;
	size_t nstream;
	struct m_keep keep;
	const struct ev_hdr **own_stream;
	size_t cap_stream;
	struct idmap late_futex;	/* history_window: threads whose first futex call after it
					 * is kept (by index in threads) */
	struct m_kept {			/* blocks the kept records are copied into */
		uint8_t **block;
		size_t n, cap, used;
	} kept;

	uint64_t t_first, t_last;	/* time span of the events */
	/* model_from_file: what t_first and t_last will be once every record is fed (the
	 * reader's first pass), 0 unknown */
	uint64_t span_first, span_last;
	uint64_t span_types;		/* ... and its record types (bit 1 << type), 0 unknown */
	uint64_t clock_mono, clock_real;	/* a clock pair, 0 unknown */
	uint64_t events;		/* events fed: the probes' (and the lock library's) records,
					 * as `record` counts them, not the metadata it adds */
	uint64_t anomalies[AN_NKINDS];
	/* losses, from the recorder's cumulative per-CPU counters */
	uint64_t lost[LOST_NKINDS];
	uint64_t lost_by_type[16];
	uint64_t *lost_cpu;		/* per CPU, LOST_NKINDS each, cumulative */
	size_t nlost_cpu;
	uint64_t lost_seen_ts;		/* time of the last loss counter record */
	uint64_t *lost_cpu_ts;		/* per CPU: time of its last loss counter record */
	struct m_python *py;		/* Python frames and stacks (model/pystacks.h), or NULL */
	/* the recording's end */
	int32_t exit_status;
	uint32_t stop_reason;
	int finished;
};

void model_init(struct model *m);
void model_free(struct model *m);
/* Feed one record; records must come in time order. */
void model_event(struct model *m, const struct ev_hdr *h);
/* Close open intervals at end_ts (0: the last event) and compute totals. */
void model_finish(struct model *m, uint64_t end_ts);

struct m_thread *model_thread(const struct model *m, uint32_t tid);
struct m_process *model_process(const struct model *m, uint32_t pid);
/* The first traced ancestor of pid's process tree (pid itself when its parent was not traced):
 * processes with one root came from one traced program by fork. */
uint32_t model_process_root(const struct model *m, uint32_t pid);
/* Does pid run a CPython interpreter (its executable, or its comm, is python*)? Its sem_t
 * waits are then Python Locks' and its condvar waits the GIL's. */
int model_is_python(const struct model *m, uint32_t pid);
const struct m_stack *model_stack(const struct model *m, int32_t id);
/* A thread's name for a report: its comm, "?" when unknown; tid 0 (the idle task, or no
 * thread at all) is named by the caller ("swapper", "-"). */
const char *model_comm(const struct model *m, uint32_t tid, const char *tid0);
/* Total events lost (ring buffer, maps): what every report shows. */
uint64_t model_lost_total(const struct model *m);
/* Does [from, to] overlap a window where events were lost? */
int model_uncertain(const struct model *m, uint64_t from, uint64_t to);

/* Is a semaphore-like wait of pid on addr a condvar's (model_finish relabels those waits)? */
int model_wait_is_condvar(const struct model *m, uint32_t pid, uint64_t addr);

const char *th_state_name(int s);
const char *wait_kind_name(int k);
const char *block_class_name(int c);
int wait_kind_class(int k);
const char *anomaly_name(int a);
/* The wait a syscall number means (before futex details): its kind in lib/syscall_table.c. */
int wait_kind_of_syscall(int32_t nr);

/* The records the model was fed, in time order, as its event stream (model_from_trace sets
 * it; a caller that feeds records one by one may). They must outlive the model. */
void model_set_stream(struct model *m, const struct ev_hdr *const *rec, size_t n);
/* Run a loaded trace through a fresh model; its records are the event stream. */
struct trace;
struct trace_stats;
int model_from_trace(struct model *m, const struct trace *t);
/* Read a trace file through a fresh model in bounded memory: the common start of every
 * report. keep (NULL: nothing) says what of the event stream to keep; *stats the file's damage.
 * On error one line and -1 (the model is empty then). A fold in keep is the model's: released
 * by model_free (fold->release), or by model_from_file when whole_if_types drops it. */
int model_from_file(struct model *m, const char *path, const struct m_keep *keep,
		    struct trace_stats *stats);

/* The fd's description with, for a pipe, the process at its other end when it was traced:
 * "pipe:[12345] from producer (pid 4242)". NULL when the fd is unknown at ts. */
const char *fd_describe(const struct model *m, uint32_t pid, int64_t fd, uint64_t ts, char *buf,
			size_t n);

#endif
