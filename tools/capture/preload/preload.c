/*
 * preload.c — libconlab-preload.so: lock-order edges from inside the process, no trap per call.
 *
 * Wraps the pthread mutex and rwlock lock/trylock/unlock calls and sem_wait/trywait/timedwait/
 * post (the real ones found with dlsym(RTLD_NEXT)). Each thread keeps the locks it holds in
 * thread-local storage; taking a lock while holding others records "held A, then took B" in
 * the shared region of conlab_preload.h, once per distinct edge. The same rules as the lock
 * uprobes: a trylock never blocks and so makes no edge (what it took can be the `from` of
 * later ones), a lock re-entered by its owner (recursive mutex) is no edge, and a semaphore
 * posted by another thread is released where it was taken.
 *
 * Without CONLAB_PRELOAD_FD (or with a bad region) every wrapper only forwards the call.
 * Processes the command starts inherit the library and the region, so the program behind a
 * wrapper script is covered too.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	if (r == MAP_FAILED)
		return;
	if (r->magic != CPL_MAGIC || r->version != CPL_VERSION || r->nslots != CPL_SLOTS) {
		munmap(r, sizeof(*r));
		return;
	}
	__atomic_fetch_add(&r->attached, 1, __ATOMIC_RELAXED);
	pthread_atfork(NULL, NULL, after_fork_child);
	g.r = r;
}

static inline uint32_t my_tid(void)
{
	if (__builtin_expect(!ts.tid, 0))
		ts.tid = (uint32_t)syscall(SYS_gettid);
	return ts.tid;
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

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	int r;

	READY(mutex_lock);
	taking((uintptr_t)m, RET_ADDR(), 0);
	r = g.mutex_lock(m);
	if (!r)
		acquired((uintptr_t)m, RET_ADDR(), 0, 0);
	return r;
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	int r;

	READY(mutex_trylock);
	r = g.mutex_trylock(m);
	if (!r)
		acquired((uintptr_t)m, RET_ADDR(), 0, 1);
	return r;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	int r;

	READY(mutex_unlock);
	r = g.mutex_unlock(m);
	released((uintptr_t)m, 0);
	return r;
}

EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	int r;

	READY(rd_lock);
	taking((uintptr_t)l, RET_ADDR(), CPL_TO_READ);
	r = g.rd_lock(l);
	if (!r)
		acquired((uintptr_t)l, RET_ADDR(), CPL_TO_READ, 0);
	return r;
}

EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	int r;

	READY(wr_lock);
	taking((uintptr_t)l, RET_ADDR(), 0);
	r = g.wr_lock(l);
	if (!r)
		acquired((uintptr_t)l, RET_ADDR(), 0, 0);
	return r;
}

EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
	int r;

	READY(rd_trylock);
	r = g.rd_trylock(l);
	if (!r)
		acquired((uintptr_t)l, RET_ADDR(), CPL_TO_READ, 1);
	return r;
}

EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	int r;

	READY(wr_trylock);
	r = g.wr_trylock(l);
	if (!r)
		acquired((uintptr_t)l, RET_ADDR(), 0, 1);
	return r;
}

EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	int r;

	READY(rw_unlock);
	r = g.rw_unlock(l);
	released((uintptr_t)l, 0);
	return r;
}

EXPORT int sem_wait(sem_t *s)
{
	int r;

	READY(sem_wait);
	taking((uintptr_t)s, RET_ADDR(), CPL_SEM);
	r = g.sem_wait(s);
	if (!r)
		acquired((uintptr_t)s, RET_ADDR(), CPL_SEM, 0);
	return r;
}

EXPORT int sem_trywait(sem_t *s)
{
	int r;

	READY(sem_trywait);
	r = g.sem_trywait(s);
	if (!r)
		acquired((uintptr_t)s, RET_ADDR(), CPL_SEM, 1);
	return r;
}

EXPORT int sem_timedwait(sem_t *s, const struct timespec *t)
{
	int r;

	READY(sem_timedwait);
	taking((uintptr_t)s, RET_ADDR(), CPL_SEM);
	r = g.sem_timedwait(s, t);
	if (!r)
		acquired((uintptr_t)s, RET_ADDR(), CPL_SEM, 0);
	return r;
}

EXPORT int sem_post(sem_t *s)
{
	int r;

	READY(sem_post);
	/* before the post: after it, a waiter may already own the semaphore again */
	released((uintptr_t)s, 1);
	r = g.sem_post(s);
	return r;
}
