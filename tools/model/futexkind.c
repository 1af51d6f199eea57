/*
 * futexkind.c — glibc objects from futex waits (see futexkind.h).
 *
 * The rules, in order: a PI lock names its owner in the word; pthread_join waits on the
 * joined thread's tid with that tid as value; a contended mutex waits with value 2 (timed:
 * FUTEX_WAIT_BITSET) and has its owner at +8; a condvar waiter sleeps on __g_signals[g] with
 * __g_refs 24 bytes before it; a semaphore waits at value 0 with its waiter count at +4 and
 * `private` at +8; other bitset waits are presumed condition variables when the words that
 * would tell were not looked at.
 */
#include <string.h>

#include "syscalls.h"
#include "model/futexkind.h"

/* glibc 2.36 x86-64 offsets, relative to the futex word a waiter sleeps on */
#define MUTEX_KIND 16
#define MUTEX_KIND_BITS 0x3f3	/* kind 0-3, robust, PI, PP, pshared, elision flags */
#define MUTEX_KIND_PSHARED 128
#define COND_GREFS (-24)	/* __g_refs[g] from __g_signals[g] */
#define SEM_NWAITERS 4
#define SEM_PRIVATE 8
#define SEM_PAD 12
#define PID_MAX_LIMIT (1u << 22)

void futex_wait_init(struct futex_wait *w, uint64_t uaddr, uint32_t op, uint32_t val,
		     uint32_t tid)
{
	memset(w, 0, sizeof(*w));
	w->uaddr = uaddr;
	w->op = op;
	w->val = val;
	w->tid = tid;
}

void futex_wait_of_switch(struct futex_wait *w, const struct ev_switch_sleep *e)
{
	const int first = FK_BEFORE / 4;

	futex_wait_init(w, e->arg0, (uint32_t)e->arg1, e->arg2, e->sw.hdr.tid);
	w->lo = 0;
	w->hi = 12;
	w->words[first] = e->word0;
	w->words[first + 1] = e->word4;
	w->words[first + 2] = e->word8;
	w->ok = 7u << first;
}

/* The u32 at byte offset off from the word: 1 read, 0 looked at but unreadable, -1 outside
 * the caller's window (a rule that needs it is not checked). */
static int word(const struct futex_wait *w, int off, uint32_t *v)
{
	int i = (FK_BEFORE + off) / 4;

	if (off < w->lo || off + 4 > w->hi || off < -FK_BEFORE || off + 4 > FK_AFTER)
		return -1;
	if (!(w->ok & (1u << i)))
		return 0;
	*v = w->words[i];
	return 1;
}

static int plausible_tid(uint32_t v)
{
	return v > 0 && v < PID_MAX_LIMIT;
}

static uint32_t cmd_of(const struct futex_wait *w)
{
	return w->op & FUTEX_CMD_MASK;
}

static int expects(const struct futex_wait *w, enum futex_kind_id k)
{
	return w->expect == FK_NONE || w->expect == k;
}

/* pthread_join: the word is the joined thread's tid and stays so until it exits. */
static int join_like(const struct futex_wait *w)
{
	uint32_t w0;

	return w->is_thread && plausible_tid(w->val) && w->val != w->tid &&
	       (word(w, 0, &w0) <= 0 || w0 == w->val) && w->is_thread(w->ctx, w->val);
}

/* __lll_lock_wait (value 2, FUTEX_WAIT) or __lll_clocklock_wait (FUTEX_WAIT_BITSET) on a
 * pthread_mutex_t: a tid at __owner, a valid __kind when it was looked at. */
static int mutex_like(const struct futex_wait *w, uint32_t *owner, int *pshared)
{
	uint32_t kind = 0;
	int k;

	if (w->val != 2 || (cmd_of(w) != FUTEX_WAIT && cmd_of(w) != FUTEX_WAIT_BITSET))
		return 0;
	if (word(w, FK_MUTEX_OWNER, owner) <= 0 || !plausible_tid(*owner))
		return 0;
	k = word(w, MUTEX_KIND, &kind);
	if (k == 0 || (k > 0 && (kind & ~MUTEX_KIND_BITS)))
		return 0;
	*pshared = k > 0 && (kind & MUTEX_KIND_PSHARED);
	return 1;
}

/* A glibc condvar waiter sleeps on __g_signals[g]; g = 0 at offset 40 (8-aligned), 1 at 44.
 * 1 with *base set, 0 not a condvar, -1 the words that would tell were not looked at. */
static int cond_base(const struct futex_wait *w, uint64_t *base)
{
	int g1 = (w->uaddr & 7) == 4;
	uint32_t grefs = 0, wrefs = 0;
	int a = word(w, COND_GREFS, &grefs), b = word(w, g1 ? -8 : -4, &wrefs);

	if (a < 0 || b < 0)
		return -1;
	if (!a || !b || grefs < 2 || wrefs < 8)
		return 0;
	*base = w->uaddr - (g1 ? 44 : 40);
	return 1;
}

/* struct new_sem: u64 data (value, waiters << 32) then `private`, LLL_PRIVATE (0) or
 * LLL_SHARED (128): the inverse of the wait's FUTEX_PRIVATE_FLAG; sem_wait waits at 0. */
static int sem_like(const struct futex_wait *w)
{
	uint32_t v = 0, nw = 0, priv = 0, pad = 0;
	int p;

	if (cmd_of(w) != FUTEX_WAIT_BITSET || w->val != 0 || (w->uaddr & 7))
		return 0;
	if (word(w, 0, &v) <= 0 || v || word(w, SEM_NWAITERS, &nw) <= 0 || nw < 1 ||
	    nw >= (1u << 20) || word(w, SEM_PRIVATE, &priv) <= 0 ||
	    priv != ((w->op & FUTEX_PRIVATE_FLAG) ^ FUTEX_PRIVATE_FLAG))
		return 0;
	p = word(w, SEM_PAD, &pad);
	return p < 0 || (p > 0 && !pad);
}

/* rwlock: the waiter is on __wrphase_futex (@8) or __writers_futex (@12); pick the base whose
 * padding and flags look like a pthread_rwlock_t. */
static int rwlock_base(const struct futex_wait *w, uint64_t *base, uint32_t *writer)
{
	static const int offs[] = { 8, 12 };

	for (size_t i = 0; i < 2; i++) {
		int b = -offs[i];
		uint32_t pad3, pad4, shared, cur;

		if (word(w, b + 16, &pad3) > 0 && word(w, b + 20, &pad4) > 0 &&
		    word(w, b + 28, &shared) > 0 && word(w, b + 24, &cur) > 0 && !pad3 && !pad4 &&
		    shared <= 1) {
			*base = w->uaddr + (uint64_t)(int64_t)b;
			*writer = cur;
			return 1;
		}
	}
	return 0;
}

/* The PI commands and FUTEX_WAIT_REQUEUE_PI say what they are by themselves; 0 otherwise. */
static int classify_by_op(const struct futex_wait *w, struct futex_kind *k)
{
	uint32_t w0;

	switch (cmd_of(w)) {
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
	case FUTEX_TRYLOCK_PI:
		k->kind = FK_MUTEX;
		if (word(w, 0, &w0) > 0)
			k->owner = w0 & FUTEX_TID_MASK;
		return 1;
	case FUTEX_WAIT_REQUEUE_PI:
		k->kind = FK_CONDVAR;
		return 1;
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		return 0;
	default:
		k->kind = FK_NOT_WAIT;
		return 1;
	}
}

void futex_classify(const struct futex_wait *w, struct futex_kind *k)
{
	uint32_t w0 = 0, owner = 0;
	int have0 = word(w, 0, &w0) > 0, pshared = 0, cond;
	uint64_t base = 0;

	memset(k, 0, sizeof(*k));
	k->obj = w->uaddr;
	k->value = -1;
	if (classify_by_op(w, k))
		return;
	if (expects(w, FK_JOIN) && join_like(w)) {
		k->kind = FK_JOIN;
		k->owner = w->val;
		return;
	}
	if (w->expect == FK_RWLOCK && rwlock_base(w, &k->obj, &owner)) {
		k->kind = FK_RWLOCK;
		k->owner = plausible_tid(owner) ? owner : 0;
		return;
	}
	k->value = have0 ? (int64_t)w0 : -1;
	k->shared = !(w->op & FUTEX_PRIVATE_FLAG);
	if (expects(w, FK_MUTEX) && mutex_like(w, &owner, &pshared)) {
		k->kind = FK_MUTEX;
		k->owner = owner;
		k->shared = k->shared && pshared;
		return;
	}
	if (w->expect == FK_NONE && w->val == 2 && cmd_of(w) == FUTEX_WAIT) {
		k->kind = FK_LOCK;	/* __lll_lock_wait on a lock with no owner field */
		return;
	}
	cond = cond_base(w, &base);
	if (w->expect == FK_CONDVAR || (w->expect == FK_NONE && cond > 0)) {
		k->kind = FK_CONDVAR;
		k->obj = cond > 0 ? base : w->uaddr - ((w->uaddr & 7) == 4 ? 44 : 40);
		k->value = -1;
		k->shared = 0;
		return;
	}
	if (w->expect == FK_SEMAPHORE || (w->expect == FK_NONE && sem_like(w))) {
		k->kind = FK_SEMAPHORE;	/* shared: the op's flag, which `private` matches */
		return;
	}
	if (w->expect == FK_BARRIER) {
		k->kind = FK_BARRIER;
		k->value = -1;
		k->shared = 0;
		return;
	}
	if (w->expect == FK_NONE && cond < 0 && cmd_of(w) == FUTEX_WAIT_BITSET) {
		/* a bitset wait that is no semaphore, where a condvar could not be checked for:
		 * the most common one (its address stays the word's: the start is not known) */
		k->kind = FK_CONDVAR;
		k->value = -1;
		k->shared = 0;
		return;
	}
	k->kind = w->expect == FK_MUTEX ? FK_MUTEX : FK_FUTEX;
}

const char *futex_kind_name(enum futex_kind_id k)
{
	static const char *const n[FK_NKINDS] = {
		[FK_NONE] = "none",	  [FK_FUTEX] = "futex",	    [FK_MUTEX] = "mutex",
		[FK_LOCK] = "lock",	  [FK_RWLOCK] = "rwlock",   [FK_CONDVAR] = "condvar",
		[FK_SEMAPHORE] = "semaphore", [FK_BARRIER] = "barrier", [FK_JOIN] = "join",
		[FK_NOT_WAIT] = "not-a-wait",
	};

	return k < FK_NKINDS ? n[k] : "?";
}
