/*
 * contention.h — which sync objects made threads wait, for how long, who held them, who
 * waited and from which line: a pure function of the model's history (plus the EV_LOCK
 * records of lock uprobes when a trace has them).
 *
 *	struct contention c;
 *	contention_build(&c, m, &opts);          per object: waits, histogram, waiters, holders
 *	contention_add_locks(&c, m, locks, n);   optional: per-acquisition holds from EV_LOCK
 *	contention_name(&c, &resolver);          names and caller frames (symbolizer or fakes)
 *	contention_sort(&c, CS_TOTAL);
 *	...render c.objs[]...
 *	contention_free(&c);
 *
 * A wait is one blocked interval on a futex plus the runnable stretch right after it (the
 * thread was woken but had not run yet: it still waited). Objects are keyed by (process,
 * address); shared futexes between processes show once per process.
 *
 * The same tables as the records pass, without the model's history (a report on a long trace):
 *
 *	struct contention_fold *f = contention_fold_new(from_ns, to_ns);
 *	keep.fold = contention_fold_hooks(f);    the model owns f from here (model_free)
 *	model_from_file(&m, path, &keep, &st);   ... or model_event() each record, model_finish()
 *	contention_fold_finish(f, &m, &c);       c as contention_build() makes it, then as above
 *
 * The lock uprobes' records (contention_add_locks) still need the whole model.
 */
#ifndef CONLAB_CONTENTION_H
#define CONLAB_CONTENTION_H

#include <stddef.h>
#include <stdint.h>

struct model;

/* What an object is. Lock kinds (waiting for someone to release it) come first; the others
 * are waits for an event (a post, a signal, a thread's exit, the GIL) and stay apart. */
enum cont_kind {
	CK_MUTEX = 0,	/* glibc mutex: holder known from __owner */
	CK_RWLOCK,
	CK_LOCK,	/* lock-like futex with no owner field (glibc-internal lock) */
	CK_PYLOCK,	/* a CPython lock (threading.Lock, RLock...): a sem_t in a Python process */
	CK_SEMAPHORE,	/* sem_t */
	CK_FUTEX,	/* unknown futex (barriers, hand-made futexes) */
	CK_CONDVAR,
	CK_JOIN,
	CK_GIL,		/* CPython's GIL hand-off (a timed condvar wait in a Python process) */
	CK_NKINDS
};

#define CONT_HIST_BUCKETS 40	/* log2 ns: bucket b holds [2^b, 2^(b+1)) ns */

/* A thread that waited on an object, or held it while others waited. */
struct cont_party {
	uint32_t tid;
	uint32_t waits;		/* waits it made (waiter) or was the holder of (holder) */
	uint64_t ns;		/* wait time it spent (waiter) or caused (holder) */
	uint32_t handoffs;	/* holder: how many of those waits it ended by waking the waiter */
	uint64_t max_ns;	/* its longest wait (waiter) or longest wait it caused (holder) */
};

#define CONT_MAX_FRAMES 24

/* One frame of a caller stack, resolved by contention_name(). */
struct cont_frame {
	uint64_t pc;
	char func[64];		/* "" unknown */
	char file[64];		/* basename, "" unknown */
	int line;
	char module[32];
	uint8_t in_main;	/* in the program itself, not a library */
};

/* The waiting calls from one place: same return address and same stack. */
struct cont_caller {
	uint64_t ret_addr;	/* the return address into the program found at block time */
	int32_t stack_id;
	uint32_t waits;
	uint64_t ns;
	/* root last: frames[0] is the innermost frame; the glibc frames, then ret_addr, then
	 * the frame-pointer stack's program frames */
	struct cont_frame frames[CONT_MAX_FRAMES];
	uint32_t nframes;
	int top;		/* index of the first program frame (the calling line), -1 none */
};

struct cont_obj {
	uint64_t addr;
	uint32_t pid;
	int kind;		/* enum cont_kind */
	uint32_t kind_votes[CK_NKINDS];
	char name[96];		/* "table_lock", "ctx.lock", "lock@worker (table.c:42)", "0x7f..." */
	int named;		/* name came from a symbol (not from a caller or the address) */
	int shared;		/* waited on with shared futex ops: may be one object of several
				 * processes (see contention_name) */

	uint64_t waits;
	uint64_t wait_total, wait_max, blocked_total;	/* blocked_total: without runnable delay */
	uint64_t timed_out;	/* waits that ended by timeout */
	uint32_t hist[CONT_HIST_BUCKETS];

	struct cont_party *waiters, *holders;
	size_t nwaiters, nholders;
	uint64_t holder_unknown_ns;	/* wait time with no holder known */
	/* what the holder did while the waiters waited (ns of overlap, by th_state) */
	uint64_t holder_state_ns[5];
	uint64_t holder_sleep_ns;	/* of which blocked in a sleep/IO syscall, not on a lock */

	/* contended hold episodes: a holder that got the lock through a wait, to its release
	 * (the wakeup it sent to the next waiter) */
	uint64_t chold_n, chold_total, chold_max;

	/* lock uprobes (EV_LOCK): every acquisition */
	uint64_t acquisitions, uncontended, trylock_fail;
	uint64_t hold_n, hold_total, hold_max;
	/* acquisitions whose call began while another thread held the object (a lock: the
	 * caller had to wait, spinning or asleep), and the most threads holding it at once (a
	 * semaphore of k permits: k; holds start when the wait inside the call ended) */
	uint64_t found_held;
	uint32_t max_holders;

	struct cont_caller *callers;
	size_t ncallers;
};

/* Per thread: its life and its waits per object. */
struct cont_twait {
	uint32_t obj;		/* index in objs[] (after contention_sort: refreshed) */
	uint32_t waits;
	uint64_t ns;
	uint64_t max_ns;	/* its longest wait there */
	uint64_t kind_ns[CK_NKINDS];	/* ns by the kind of each wait (cont_thread.wait_ns) */
};

struct cont_thread {
	uint32_t tid, pid;
	char comm[16];
	uint64_t life;		/* ns it was seen alive */
	uint64_t wait_ns[CK_NKINDS];
	struct cont_twait *objs;
	size_t nobjs;
};

struct cont_opts {
	uint64_t from, to;	/* absolute ns window (0 = whole trace) */
};

struct contention {
	struct cont_obj *objs;
	size_t nobjs;
	struct cont_thread *threads;
	size_t nthreads;
	uint64_t duration;
	uint64_t waits_total;
	int have_locks;		/* EV_LOCK records were given */
	uint64_t lock_events, lock_unmatched;	/* releases with no acquire seen */
};

/* One EV_LOCK record, as contention_add_locks() wants it (see bpf/events.h struct ev_lock). */
struct cont_lock_ev {
	uint64_t ts;
	uint64_t addr;
	uint64_t ret_addr;
	uint32_t tid;
	uint32_t op;		/* LOCK_OP_* */
};

/* Names and frames come from outside: the real one wraps a symbolizer per process, tests
 * give fakes. Each returns 0 and fills the out parameters, or -1 when unknown. */
struct cont_resolver {
	/* name of the data object of size `size` at addr in process pid */
	int (*data)(void *ctx, uint32_t pid, uint64_t addr, uint64_t size, char *name, size_t n);
	/* a code address; retaddr: look up pc - 1 */
	int (*code)(void *ctx, uint32_t pid, uint64_t pc, int retaddr, struct cont_frame *f);
	void *ctx;
};

void contention_build(struct contention *c, const struct model *m, const struct cont_opts *o);

struct m_fold;
struct contention_fold;
/* A fold for a window of [from_ns, to_ns] from the first event (0, 0: the whole trace). */
struct contention_fold *contention_fold_new(uint64_t from_ns, uint64_t to_ns);
const struct m_fold *contention_fold_hooks(struct contention_fold *f);
/* The contention fold the model was fed through, or NULL. */
struct contention_fold *contention_fold_of(const struct model *m);
/* After model_finish(): the tables into *c (the caller frees c); once. */
void contention_fold_finish(struct contention_fold *f, const struct model *m,
			    struct contention *c);
void contention_add_locks(struct contention *c, const struct model *m,
			  const struct cont_lock_ev *ev, size_t n);
void contention_name(struct contention *c, const struct model *m, const struct cont_resolver *r);

enum cont_sort { CS_TOTAL = 0, CS_WAITS, CS_MAX, CS_AVG, CS_NAME, CS_HOLD };
/* "total", "waits", "max", "avg", "name", "hold"; -1 unknown */
int contention_sort_key(const char *s);
void contention_sort(struct contention *c, int key);
void contention_free(struct contention *c);

const char *cont_kind_name(int k);
/* Lock-like: waiting for someone to release it (vs waiting for an event) */
int cont_kind_is_lock(int k);
/* The log2 bucket of a duration */
int cont_hist_bucket(uint64_t ns);
/* The object at (pid, addr), or NULL */
const struct cont_obj *contention_find(const struct contention *c, uint32_t pid, uint64_t addr);
const struct cont_party *cont_party_find(const struct cont_party *v, size_t n, uint32_t tid);

#endif
