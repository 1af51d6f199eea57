/*
 * contention_fold_int.h — what contention_fold.c (the waits as the intervals close) and
 * contention_fold_end.c (the tables in contention_build()'s order at the end) share.
 */
#ifndef CONLAB_CONTENTION_FOLD_INT_H
#define CONLAB_CONTENTION_FOLD_INT_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/contention.h"
#include "analysis/contention_int.h"
#include "model/model.h"

/* One closed interval of a thread, as much as a holder's overlap needs (16 bytes): a thread's
 * intervals follow each other, so each begins where the one before it ended. */
struct cf_iv {
	uint64_t end;
	uint8_t state;
	uint8_t asleep;		/* blocked, not on a futex (sleep, I/O) */
};

/* A wait whose blocked part ended, not counted yet (its runnable stretch may follow). */
struct cf_wait {
	uint64_t start, end;	/* the blocked interval */
	struct m_wait w;
	uint32_t waker;
	uint64_t hs[5], hsleep;	/* what its holder did meanwhile (holder_state_ns) */
	int overlap;		/* 1: hs done; 0: closed by model_finish, done at the end */
	uint64_t *note;		/* its holder's totals when it began (struct cf_note), or NULL */
	size_t nnote;
	int note_one;		/* the note is the holder's (known then), not every thread's */
};

/* A thread's time per state (0..4) and asleep (5) within the window: when a long wait began
 * (a note), or over its closed intervals (cf_thread.total). */
#define NOTE_LEN 6

/* A counted wait a futex call's return can still mark timed out. */
struct cf_recent {
	uint64_t end, uaddr;
	uint32_t obj;
	uint8_t timed_out;
};

struct cf_thread {
	struct cf_iv *iv;	/* recent history: [head, n) */
	size_t head, n, cap;
	uint64_t head_start;	/* where iv[head] begins */
	uint64_t horizon;	/* no open wait it may hold began before: the history after */
	uint64_t open;		/* (horizons_update) */
	uint64_t total[NOTE_LEN];	/* over its closed intervals, within the window */
	uint64_t *note;		/* its open wait's note (its holder's row, or every thread's) */
	size_t nnote;
	uint64_t note_since;	/* the wait it is for began then */
	int note_one;		/* the note is its wait's holder's only */
	uint64_t first_start, last_end;
	int seen;
	struct cf_wait pend;
	int pending;
	struct cf_recent *recent;
	size_t nrecent, cap_recent;
	uint32_t seq;		/* waits counted */
	struct cont_twait *objs;	/* its waits per object, as cont_thread.objs */
	uint64_t (*wk_obj_ns)[CONT_NWK];	/* beside objs: its time there by wait kind (cont_wk),
						 * mapped to object kinds at the end */
	size_t nobjs;
};

/* Per object, besides its struct cont_obj: votes by wait kind, the hand-off replay (variant
 * 0: lock waits; 1: also semaphore waits), and the first wait of it and of its parties. */
struct cf_obj {
	uint64_t key;
	uint32_t wk_votes[CONT_NWK];
	uint32_t owner[2];
	uint64_t since[2], chn[2], chtotal[2], chmax[2];
	uint64_t *caller_key, *waiter_key, *holder_key;
};

struct cf_handoff {
	uint64_t ts, key;
	uint32_t obj, tid;
	uint8_t acquire, sem;
};

struct contention_fold {
	struct m_fold hooks;
	uint64_t from_ns, to_ns;	/* the window, from the first event (0: none) */
	struct contention c;
	struct objtab tab;
	struct cf_obj *ob;	/* beside c.objs (nob of them: c moves out at the end) */
	size_t nob, cap_ob;
	struct cf_thread *th;	/* by model thread index */
	size_t nth, cap_th;
	struct cf_handoff *hv;
	size_t nhv, cap_hv;
	size_t until_horizon;	/* intervals until the horizons are updated */
	uint64_t last_update;	/* when they were last: a wait open since before is noted */
	int built;
};

static inline void window(const struct contention_fold *f, const struct model *m, uint64_t *from,
		   uint64_t *to)
{
	*from = f->from_ns ? m->t_first + f->from_ns : 0;
	*to = f->to_ns ? m->t_first + f->to_ns : UINT64_MAX;
}

static inline uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The end of the trace: the objects' kinds and contended holds, the threads' table, and every
 * table in contention_build()'s order (contention_fold_end.c). */
void cf_tables_finish(struct contention_fold *f, const struct model *m);

#endif
