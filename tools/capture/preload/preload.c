/*
 * preload.c — libconlab-preload.so: the lock uprobes' records from inside the process, no trap
 * per call.
 *
 * Wraps the pthread mutex and rwlock lock/trylock/unlock calls and sem_wait/trywait/timedwait/
 * post (the real ones found with dlsym(RTLD_NEXT)). Each thread keeps the locks it holds in
 * thread-local storage; taking a lock while holding others records "held A, then took B" in
 * the shared region of conlab_preload.h, once per distinct edge. The same rules as the lock
 * uprobes: a trylock never blocks and so makes no edge (what it took can be the `from` of
 * later ones), a lock re-entered by its owner (recursive mutex) is no edge, and a semaphore
 * posted by another thread is released where it was taken. When the region has an event
 * ring, each call is also one record where the uprobes would send an EV_LOCK: a lock or a
 * wait at its entry, an unlock or a post before it lets go, a trylock by its result.
 *
 * Without CONLAB_PRELOAD_FD (or with a bad region) every wrapper only forwards the call.
 * Processes the command starts inherit the library and the region, so the program behind a
 * wrapper script is covered too.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/futex.h>

#include "conlab_preload.h"

#define EXPORT __attribute__((visibility("default")))
#define RET_ADDR() ((uint64_t)(uintptr_t)__builtin_return_address(0))
/* another library's constructor can lock before ours has run */
#define READY(fn) do { if (__builtin_expect(!g.fn, 0)) resolve(); } while (0)

struct held {
	uint64_t addr, ret;
	uint32_t flags;		/* CPL_FROM_READ / CPL_FROM_TRY / CPL_FROM_SEM meaning of this hold */
	uint32_t sem_seq;	/* semaphores: the taking's sequence number (see sem_owner) */
};

struct tstate {
	int n;			/* entries in h[] (can exceed CPL_HELD: counted, not stored) */
	uint32_t tid;
	struct held h[CPL_HELD];
};

static __thread struct tstate ts __attribute__((tls_model("initial-exec")));

/* The one global context: a preloaded library has no caller to hand one to it. */
static struct {
	struct cpl_region *r;
	uint32_t pid;
	uint32_t nevents;	/* the event ring's slots, 0: edges only */
	int (*mutex_lock)(pthread_mutex_t *);
	int (*mutex_trylock)(pthread_mutex_t *);
	int (*mutex_unlock)(pthread_mutex_t *);
	int (*rd_lock)(pthread_rwlock_t *);
	int (*wr_lock)(pthread_rwlock_t *);
	int (*rd_trylock)(pthread_rwlock_t *);
	int (*wr_trylock)(pthread_rwlock_t *);
	int (*rw_unlock)(pthread_rwlock_t *);
	int (*sem_wait)(sem_t *);
	int (*sem_trywait)(sem_t *);
	int (*sem_timedwait)(sem_t *, const struct timespec *);
	int (*sem_post)(sem_t *);
} g;

/* Semaphores: which thread took one last (a post from another thread releases it there).
 * Open addressing by address; a stale entry only costs a missed release check. */
#define SEM_SLOTS 4096
static struct {
	uint64_t addr;
	uint32_t tid, seq;
} sem_owner[SEM_SLOTS];
static uint32_t sem_seq_next;

static void resolve(void)
{
#define SYM(field, name) (g.field = dlsym(RTLD_NEXT, name))
	SYM(mutex_lock, "pthread_mutex_lock");
	SYM(mutex_trylock, "pthread_mutex_trylock");
	SYM(mutex_unlock, "pthread_mutex_unlock");
	SYM(rd_lock, "pthread_rwlock_rdlock");
	SYM(wr_lock, "pthread_rwlock_wrlock");
	SYM(rd_trylock, "pthread_rwlock_tryrdlock");
	SYM(wr_trylock, "pthread_rwlock_trywrlock");
	SYM(rw_unlock, "pthread_rwlock_unlock");
	SYM(sem_wait, "sem_wait");
	SYM(sem_trywait, "sem_trywait");
	SYM(sem_timedwait, "sem_timedwait");
	SYM(sem_post, "sem_post");
#undef SYM
}

static void after_fork_child(void)
{
	g.pid = (uint32_t)getpid();
	ts.tid = 0;
}

__attribute__((constructor)) static void preload_init(void)
{
	const char *v = getenv(CPL_ENV_FD);
	struct cpl_region *r;
	struct stat st;
	char *end;
	long fd;

	resolve();
	g.pid = (uint32_t)getpid();
	if (!v)
		return;
	fd = strtol(v, &end, 10);
	if (*end || fd < 0)
		return;
	/* the descriptor stays open: a wrapper script or launcher execs the real program, which
	 * maps the region again (edges carry their pid) */
	if (fstat((int)fd, &st) || (size_t)st.st_size < sizeof(*r))
		return;
	r = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	if (r == MAP_FAILED)
		return;
	if (r->magic != CPL_MAGIC || r->version != CPL_VERSION || r->nslots != CPL_SLOTS ||
	    r->size != (uint64_t)st.st_size || (r->nevents & (r->nevents - 1)) ||
	    r->size < sizeof(*r) + (uint64_t)r->nevents * sizeof(r->ev[0])) {
		munmap(r, (size_t)st.st_size);
		return;
	}
	__atomic_fetch_add(&r->attached, 1, __ATOMIC_RELAXED);
	pthread_atfork(NULL, NULL, after_fork_child);
	g.nevents = r->nevents;
	g.r = r;
}

static inline uint32_t my_tid(void)
{
	if (__builtin_expect(!ts.tid, 0))
		ts.tid = (uint32_t)syscall(SYS_gettid);
	return ts.tid;
}

/* CLOCK_MONOTONIC, the clock of the kernel's records (bpf_ktime_get_ns); a vDSO call */
static inline uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* A full ring waits this long for conlab to read before records are dropped: longer than
 * conlab takes to read a full ring on a loaded machine, short enough not to hang a program
 * whose conlab was killed. */
#define STALL_NS 500000000ull

/* The ring is half full: wake conlab, once until it has read (conlab_preload.h). */
static void wake_reader(struct cpl_region *r)
{
	if (!__atomic_load_n(&r->ev_wake, __ATOMIC_RELAXED) &&
	    !__atomic_exchange_n(&r->ev_wake, 1, __ATOMIC_ACQ_REL))
		syscall(SYS_futex, &r->ev_wake, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/*
 * Room for one more record in the event ring: its index, or -1 (counted lost) when conlab
 * stopped reading (conlab_preload.h). A full ring is waited for, yielding the CPU to conlab.
 */
static int64_t claim_slot(struct cpl_region *r)
{
	uint64_t h = __atomic_load_n(&r->ev_head, __ATOMIC_RELAXED), since = 0, tail;

	for (;;) {
		tail = __atomic_load_n(&r->ev_tail, __ATOMIC_ACQUIRE);
		if (h - tail >= g.nevents / 2)
			wake_reader(r);
		if (h - tail < g.nevents) {
			if (__atomic_compare_exchange_n(&r->ev_head, &h, h + 1, 1, __ATOMIC_ACQ_REL,
							__ATOMIC_RELAXED))
				return (int64_t)h;
			continue;	/* h is the head now */
		}
		if (__atomic_load_n(&r->closed, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&r->ev_stalled, __ATOMIC_RELAXED) == tail + 1)
			break;
		if (!since) {
			since = now_ns();
		} else if (now_ns() - since > STALL_NS) {
			__atomic_store_n(&r->ev_stalled, tail + 1, __ATOMIC_RELAXED);
			break;
		}
		sched_yield();
		h = __atomic_load_n(&r->ev_head, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&r->ev_lost, 1, __ATOMIC_RELAXED);
	return -1;
}

/* One lock call into the event ring. The slot is claimed before the clock is read
 * (conlab_preload.h says why). errno is the call's, as the program reads it after a failed
 * sem_trywait: kept whatever the wake or the yield do to it. */
static void note_call(uint64_t addr, uint64_t ret, uint16_t op, int rv)
{
	struct cpl_region *r = g.r;
	struct cpl_event *e;
	int saved = errno;
	int64_t h;

	if (!r || !g.nevents || __atomic_load_n(&r->closed, __ATOMIC_RELAXED))
		return;
	h = claim_slot(r);
	errno = saved;
	if (h < 0)
		return;
	e = &r->ev[(uint64_t)h & (g.nevents - 1)];
	e->ts = now_ns();
	e->addr = addr;
	e->ret = ret;
	e->tid = my_tid();
	e->op = op;
	e->rv = (int16_t)rv;
	__atomic_store_n(&e->seq, (uint64_t)h + 1, __ATOMIC_RELEASE);
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static void note_overflow(uint32_t tid)
{
	uint32_t n = __atomic_load_n(&g.r->noverflow, __ATOMIC_RELAXED);

	for (uint32_t i = 0; i < n && i < CPL_OVERFLOW_TIDS; i++)
		if (g.r->overflow_tids[i] == tid)
			return;
	n = __atomic_fetch_add(&g.r->noverflow, 1, __ATOMIC_RELAXED);
	if (n < CPL_OVERFLOW_TIDS)
		g.r->overflow_tids[n] = tid;
}

/* Is a semaphore hold still this thread's (not posted since, by anyone)? */
static int sem_still_held(const struct held *h, uint32_t tid)
{
	uint32_t i = (uint32_t)(h->addr >> 4) & (SEM_SLOTS - 1);

	for (uint32_t k = 0; k < 16; k++, i = (i + 1) & (SEM_SLOTS - 1))
		if (__atomic_load_n(&sem_owner[i].addr, __ATOMIC_ACQUIRE) == h->addr)
			return __atomic_load_n(&sem_owner[i].tid, __ATOMIC_RELAXED) == tid &&
			       __atomic_load_n(&sem_owner[i].seq, __ATOMIC_RELAXED) == h->sem_seq;
	return 0;
}

static void drop_at(int i)
{
	int n = ts.n < CPL_HELD ? ts.n : CPL_HELD;

	memmove(&ts.h[i], &ts.h[i + 1], (size_t)(n - i - 1) * sizeof(ts.h[0]));
	ts.n--;
}

static void put_edge(const struct held *from, uint64_t to, uint64_t to_ret, uint32_t flags,
		     uint32_t tid, int nstored)
{
	struct cpl_region *r = g.r;
	uint64_t held[CPL_EDGE_HELD], key;
	uint32_t nheld = 0, i;

	flags |= from->flags;
	if (ts.n > CPL_HELD)
		flags |= CPL_HELD_TRUNC;
	key = mix(mix(mix(from->addr, to), tid), flags);
	for (int k = 0; k < nstored; k++) {
		if (&ts.h[k] == from)
			continue;
		if (nheld < CPL_EDGE_HELD)
			held[nheld++] = ts.h[k].addr;
		else
			flags |= CPL_HELD_TRUNC;
		key = mix(key, ts.h[k].addr);
	}
	key |= 1;
	i = (uint32_t)(key >> 20) & (CPL_SLOTS - 1);
	for (uint32_t probe = 0; probe < 64; probe++, i = (i + 1) & (CPL_SLOTS - 1)) {
		struct cpl_edge *e = &r->slot[i];
		uint64_t cur = __atomic_load_n(&e->key, __ATOMIC_RELAXED), zero = 0;

		if (cur == key)
			return;		/* seen before: the common case, no store */
		if (cur)
			continue;
		if (!__atomic_compare_exchange_n(&e->key, &zero, key, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED)) {
			if (zero == key)
				return;
			continue;
		}
		/* its place in the log first, then its time (conlab_preload.h) */
		uint64_t j = __atomic_fetch_add(&r->nlog, 1, __ATOMIC_RELAXED);

		e->ts = now_ns();
		e->tid = tid;
		e->pid = g.pid;
		e->flags = flags;
		e->from = from->addr;
		e->to = to;
		e->from_ret = from->ret;
		e->to_ret = to_ret;
		e->nheld = nheld;
		memcpy(e->held, held, nheld * sizeof(held[0]));
		__atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&r->edges, 1, __ATOMIC_RELAXED);
		if (j < CPL_SLOTS)	/* one entry per slot claimed: always */
			__atomic_store_n(&r->log[j], i + 1, __ATOMIC_RELEASE);
		return;
	}
	__atomic_fetch_add(&r->dropped, 1, __ATOMIC_RELAXED);
}

/* Before a blocking acquisition: the edges from every lock held to this one. Done before the
 * call, outside the critical section it starts, so the lock is not held longer. */
static void taking(uint64_t addr, uint64_t ret, uint32_t flags)
{
	uint32_t tid;
	int nstored;

	if (!g.r || !ts.n)
		return;
	tid = my_tid();
	nstored = ts.n < CPL_HELD ? ts.n : CPL_HELD;
	for (int k = 0; k < nstored; k++)
		if (ts.h[k].addr == addr)
			return;		/* re-entered by its owner (recursive): no edge */
	for (int k = 0; k < nstored; k++) {
		if ((ts.h[k].flags & CPL_FROM_SEM) && !sem_still_held(&ts.h[k], tid))
			continue;
		put_edge(&ts.h[k], addr, ret, flags & (CPL_TO_READ | CPL_SEM), tid, nstored);
	}
}

/* After a successful acquisition (try: a trylock, which made no edges): push it. */
static void acquired(uint64_t addr, uint64_t ret, uint32_t flags, int try)
{
	uint32_t tid, seq = 0;

	if (!g.r)
		return;
	tid = my_tid();
	if (flags & CPL_SEM) {
		uint32_t i = (uint32_t)(addr >> 4) & (SEM_SLOTS - 1);

		seq = __atomic_add_fetch(&sem_seq_next, 1, __ATOMIC_RELAXED);
		for (uint32_t k = 0; k < 16; k++, i = (i + 1) & (SEM_SLOTS - 1)) {
			uint64_t cur = __atomic_load_n(&sem_owner[i].addr, __ATOMIC_ACQUIRE), zero = 0;

			if (cur != addr && (cur || !__atomic_compare_exchange_n(&sem_owner[i].addr,
					&zero, addr, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) &&
			    zero != addr)
				continue;
			__atomic_store_n(&sem_owner[i].tid, tid, __ATOMIC_RELAXED);
			__atomic_store_n(&sem_owner[i].seq, seq, __ATOMIC_RELAXED);
			break;
		}
		/* semaphores posted elsewhere since they were taken are no longer held */
		for (int k = (ts.n < CPL_HELD ? ts.n : CPL_HELD) - 1; k >= 0; k--)
			if ((ts.h[k].flags & CPL_FROM_SEM) && !sem_still_held(&ts.h[k], tid))
				drop_at(k);
	}
	if (ts.n < CPL_HELD) {
		struct held *h = &ts.h[ts.n];

		h->addr = addr;
		h->ret = ret;
		h->flags = (flags & CPL_TO_READ ? CPL_FROM_READ : 0) | (try ? CPL_FROM_TRY : 0) |
			   (flags & CPL_SEM ? CPL_FROM_SEM : 0);
		h->sem_seq = seq;
	} else if (ts.n == CPL_HELD) {
		note_overflow(tid);
	}
	ts.n++;
}

static void released(uint64_t addr, int sem)
{
	int nstored;

	if (!g.r)
		return;
	nstored = ts.n < CPL_HELD ? ts.n : CPL_HELD;
	/* the newest hold of it: a recursive mutex unlocks its innermost entry */
	for (int k = nstored - 1; k >= 0; k--)
		if (ts.h[k].addr == addr) {
			drop_at(k);
			return;
		}
	if (sem) {
		/* posted by a thread that did not take it: the taker no longer holds it */
		uint32_t i = (uint32_t)(addr >> 4) & (SEM_SLOTS - 1);

		for (uint32_t k = 0; k < 16; k++, i = (i + 1) & (SEM_SLOTS - 1))
			if (__atomic_load_n(&sem_owner[i].addr, __ATOMIC_ACQUIRE) == addr) {
				__atomic_store_n(&sem_owner[i].tid, 0, __ATOMIC_RELAXED);
				return;
			}
		return;
	}
	if (ts.n > CPL_HELD)
		ts.n--;		/* one of the untracked ones */
}

/* The three shapes of a wrapper; `flags` are the edges' (CPL_TO_READ, CPL_SEM). */

/* A call that may block until it has the lock: its edges and its record before it. */
#define BLOCKING(fn, real, type, flags) \
	EXPORT int fn(type *l) \
	{ \
		uint64_t ret = RET_ADDR(); \
		int r; \
		READY(real); \
		taking((uintptr_t)l, ret, flags); \
		note_call((uintptr_t)l, ret, CPL_OP_ACQUIRE, 0); \
		r = g.real(l); \
		if (!r) \
			acquired((uintptr_t)l, ret, flags, 0); \
		return r; \
	}

/* A call that returns at once, with the lock or without: no edges, its record after it. */
#define TRYING(fn, real, type, flags) \
	EXPORT int fn(type *l) \
	{ \
		uint64_t ret = RET_ADDR(); \
		int r; \
		READY(real); \
		r = g.real(l); \
		if (!r) \
			acquired((uintptr_t)l, ret, flags, 1); \
		note_call((uintptr_t)l, ret, r ? CPL_OP_TRY_FAIL : CPL_OP_ACQUIRE, r); \
		return r; \
	}

/* An unlock or a post: its record before it lets go (after it, a waiter may take the lock and
 * be recorded first; a semaphore's may own it already). */
#define RELEASING(fn, real, type, sem) \
	EXPORT int fn(type *l) \
	{ \
		READY(real); \
		note_call((uintptr_t)l, RET_ADDR(), CPL_OP_RELEASE, 0); \
		released((uintptr_t)l, sem); \
		return g.real(l); \
	}

BLOCKING(pthread_mutex_lock, mutex_lock, pthread_mutex_t, 0)
TRYING(pthread_mutex_trylock, mutex_trylock, pthread_mutex_t, 0)
RELEASING(pthread_mutex_unlock, mutex_unlock, pthread_mutex_t, 0)
BLOCKING(pthread_rwlock_rdlock, rd_lock, pthread_rwlock_t, CPL_TO_READ)
BLOCKING(pthread_rwlock_wrlock, wr_lock, pthread_rwlock_t, 0)
TRYING(pthread_rwlock_tryrdlock, rd_trylock, pthread_rwlock_t, CPL_TO_READ)
TRYING(pthread_rwlock_trywrlock, wr_trylock, pthread_rwlock_t, 0)
RELEASING(pthread_rwlock_unlock, rw_unlock, pthread_rwlock_t, 0)
BLOCKING(sem_wait, sem_wait, sem_t, CPL_SEM)
TRYING(sem_trywait, sem_trywait, sem_t, CPL_SEM)
RELEASING(sem_post, sem_post, sem_t, 1)

/* A timed wait blocks, so it makes edges; but it can end without the semaphore, so its record
 * comes after it, by its result, as the uprobes' does. */
EXPORT int sem_timedwait(sem_t *l, const struct timespec *t)
{
	uint64_t ret = RET_ADDR();
	int r;

	READY(sem_timedwait);
	taking((uintptr_t)l, ret, CPL_SEM);
	r = g.sem_timedwait(l, t);
	if (!r)
		acquired((uintptr_t)l, ret, CPL_SEM, 0);
	note_call((uintptr_t)l, ret, r ? CPL_OP_TRY_FAIL : CPL_OP_ACQUIRE, r);
	return r;
}
