/*
 * futexkind.h — which glibc object a futex wait is on, and who holds it, from the wait's op,
 * value and the words around its address (glibc 2.36 x86-64 layouts, docs/design.md).
 *
 * One set of rules for every reader of futex waits: the model (three words read by the probe
 * at switch-out), the doctor (a window of /proc/PID/mem around the word) and the live
 * detector. A pure function over the words: no I/O. What a caller knows besides the words
 * (the doctor reads the waiter's stack) it passes as an expectation; the rules that need a
 * word outside the caller's window are skipped, a word inside it that could not be read fails
 * them.
 */
#ifndef CONLAB_FUTEXKIND_H
#define CONLAB_FUTEXKIND_H

#include <stdint.h>

#include "events.h"

enum futex_kind_id {
	FK_NONE = 0,	/* as an expectation: nothing known besides the words */
	FK_FUTEX,	/* a futex wait we cannot attribute */
	FK_MUTEX,	/* pthread_mutex_t (owner at +8) or a PI futex (owner in the word) */
	FK_LOCK,	/* a lock-like wait (value 2) with no owner: a glibc-internal lock */
	FK_RWLOCK,	/* pthread_rwlock_t: only when expected (the waiter's stack says so) */
	FK_CONDVAR,
	FK_SEMAPHORE,
	FK_BARRIER,	/* only when expected */
	FK_JOIN,	/* pthread_join: the word is the joined thread's tid */
	FK_NOT_WAIT,	/* the op is not a waiting command */
	FK_NKINDS
};

/* The window of words a caller may give: bytes [uaddr - FK_BEFORE, uaddr + FK_AFTER). */
#define FK_BEFORE 48
#define FK_AFTER 80
#define FK_WORDS ((FK_BEFORE + FK_AFTER) / 4)

/* glibc 2.36 x86-64: pthread_mutex_t's __owner, relative to its futex word */
#define FK_MUTEX_OWNER 8

struct futex_wait {
	uint64_t uaddr;
	uint32_t op, val;	/* futex(uaddr, op, val, ...) */
	uint32_t tid;		/* the waiter */
	int lo, hi;		/* the caller looked at bytes [uaddr + lo, uaddr + hi) */
	uint32_t ok;		/* bit i: words[i] was read */
	uint32_t words[FK_WORDS];	/* words[i]: the u32 at uaddr - FK_BEFORE + 4 * i */
	enum futex_kind_id expect;	/* what the caller knows from elsewhere, FK_NONE */
	/* Is tid a live thread of the waiter's process (what pthread_join waits for)? NULL: no
	 * thread is known, no wait is a join. */
	int (*is_thread)(const void *ctx, uint32_t tid);
	const void *ctx;
};

struct futex_kind {
	enum futex_kind_id kind;
	uint64_t obj;		/* the object: the futex word, or a condvar's or rwlock's start */
	uint32_t owner;		/* mutex holder, rwlock writer, joined thread; 0 none or unknown */
	int64_t value;		/* the futex word (mutex, semaphore, unattributed), -1 unknown */
	int shared;		/* process-shared: another process may end the wait */
};

/* A wait with no words read: the window is empty until the caller fills it. */
void futex_wait_init(struct futex_wait *w, uint64_t uaddr, uint32_t op, uint32_t val,
		     uint32_t tid);
/* The wait of a futex(2) switch-out record: the three words the probe read (+0, +4, +8). */
void futex_wait_of_switch(struct futex_wait *w, const struct ev_switch_sleep *e);
/* What the wait is on. */
void futex_classify(const struct futex_wait *w, struct futex_kind *k);
const char *futex_kind_name(enum futex_kind_id k);

#endif
