/* contention_locks.c — hold times and uncontended acquisitions from the lock uprobes' records
 * (contention_add_locks, see contention.h). */
#include <stdlib.h>
#include <string.h>

#include "analysis/contention.h"
#include "analysis/contention_int.h"
#include "events.h"
#include "model/model.h"
#include "lib/util.h"

/* ---- lock uprobes ------------------------------------------------------------------------ */

/* The end of t's last wait on addr that began in [from, to] (blocked, then runnable until it
 * ran and took the lock), or 0 when it did not wait there. */
static uint64_t waited_on(const struct m_thread *t, uint64_t addr, uint64_t from, uint64_t to)
{
	uint64_t end = 0;

	for (size_t i = cont_iv_search(t, from); i < t->niv && t->iv[i].start <= to; i++) {
		const struct m_interval *iv = &t->iv[i];

		if (iv->state != TH_BLOCKED || iv->w.obj != addr || iv->start < from ||
		    wait_kind_class(iv->w.kind) != BC_FUTEX)
			continue;
		end = iv->end;
		if (i + 1 < t->niv && t->iv[i + 1].state == TH_RUNNABLE)
			end = t->iv[i + 1].end;
	}
	return end;
}

/* A futex wait call's return (blocked or not): after the last one inside a lock call, the
 * caller took the lock. */
struct fwait {
	uint32_t tid;
	uint64_t addr, ts;
};

static int cmp_fwait(const void *a, const void *b)
{
	const struct fwait *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* FUTEX_WAIT and FUTEX_WAIT_BITSET calls, by thread and word */
static struct fwait *futex_waits(const struct model *m, size_t *n)
{
	struct fwait *v = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < m->nfutexes; i++) {
		const struct m_futex *f = &m->futexes[i];
		uint32_t cmd = f->op & 127;

		if (cmd != 0 && cmd != 9)
			continue;
		GROW(v, cap, *n + 1);
		v[(*n)++] = (struct fwait){.tid = f->tid, .addr = f->uaddr, .ts = f->ts};
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_fwait);
	return v;
}

/* The return time of tid's last futex wait on addr in [from, to], or 0 */
static uint64_t last_fwait(const struct fwait *v, size_t n, uint32_t tid, uint64_t addr,
			   uint64_t from, uint64_t to)
{
	struct fwait key = {.tid = tid, .addr = addr, .ts = to};
	size_t lo = 0, hi = n;

	while (lo < hi) {	/* first element after key */
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_fwait(&v[mid], &key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || v[lo - 1].tid != tid || v[lo - 1].addr != addr || v[lo - 1].ts < from)
		return 0;
	return v[lo - 1].ts;
}

struct open_hold {
	uint64_t addr, ts;
	uint32_t tid;
	size_t oi;		/* the object, by index (objs[] may move) */
};

/* A point of an object's timeline: a lock call began, a hold began or ended. At one instant
 * ends come first, then calls, then starts: a call right at a release finds it free. */
enum { MK_END = 0, MK_CALL = 1, MK_START = 2 };

/*
 * How many hold an object at once is counted on holds that start this much later: a call
 * that got a permit without sleeping has no exact moment of success (the acquire record is
 * at the call's entry, and the uprobe on the poster's release fires microseconds after its
 * atomic increment), so without the margin a permit handed over in passing would count
 * twice. Holds shorter than the margin count as one holder for their instant.
 */
#define HOLD_OVERLAP_MARGIN_NS 20000

struct hold_mark {
	size_t oi;
	uint64_t ts;
	int what;	/* MK_* */
	int late;	/* 1: the timeline of starts delayed by the margin (holders at once) */
};

struct marks {
	struct hold_mark *v;
	size_t n, cap;
	const struct fwait *fw;	/* futex waits, to date the starts of holds */
	size_t nfw;
};

static void mark(struct marks *mk, size_t oi, uint64_t ts, int what, int late)
{
	GROW(mk->v, mk->cap, mk->n + 1);
	mk->v[mk->n++] = (struct hold_mark){.oi = oi, .ts = ts, .what = what, .late = late};
}

static int cmp_mark(const void *a, const void *b)
{
	const struct hold_mark *x = a, *y = b;

	if (x->oi != y->oi)
		return x->oi < y->oi ? -1 : 1;
	if (x->late != y->late)
		return x->late - y->late;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->what - y->what;
}

/* Per object, walk the holds in time order: the calls that began while someone held it (their
 * own hold starts later, at the end of their wait), and the most held at once. */
static void sweep_marks(struct contention *c, struct marks *mk)
{
	uint32_t held = 0;

	qsort(mk->v, mk->n, sizeof(*mk->v), cmp_mark);
	for (size_t i = 0; i < mk->n; i++) {
		const struct hold_mark *k = &mk->v[i];
		struct cont_obj *ob = &c->objs[k->oi];

		if (i && (k->oi != k[-1].oi || k->late != k[-1].late))
			held = 0;
		switch (k->what) {
		case MK_END:
			held -= held > 0;
			break;
		case MK_CALL:
			ob->found_held += held > 0;
			break;
		default:
			held++;
			if (k->late && held > ob->max_holders)
				ob->max_holders = held;
			break;
		}
	}
}

/* One hold [got, end] on both timelines. */
static void mark_hold(struct marks *mk, struct cont_obj *ob, size_t oi, uint64_t call,
		      uint64_t got, uint64_t end)
{
	mark(mk, oi, call, MK_CALL, 0);
	mark(mk, oi, got, MK_START, 0);
	mark(mk, oi, end, MK_END, 0);
	if (end > got + HOLD_OVERLAP_MARGIN_NS) {
		mark(mk, oi, got + HOLD_OVERLAP_MARGIN_NS, MK_START, 1);
		mark(mk, oi, end, MK_END, 1);
	} else if (!ob->max_holders) {
		ob->max_holders = 1;
	}
}

/* An acquisition ended: was it contended, and how long was the lock really held? The acquire
 * record is sent at the lock call's entry, so the hold starts at the end of the wait inside
 * the call when there was one. release 0: still held when the trace ended. */
static void close_hold(struct contention *c, const struct model *m, const struct open_hold *h,
		       uint64_t release, struct marks *mk)
{
	const struct m_thread *t = model_thread(m, h->tid);
	struct cont_obj *ob = &c->objs[h->oi];
	uint64_t end = release ? release : (m->t_last > h->ts ? m->t_last : h->ts);
	uint64_t got = t ? waited_on(t, h->addr, h->ts, end) : 0, d;

	if (!got)
		ob->uncontended++;
	got = got > h->ts && got <= end ? got : h->ts;
	/* a futex wait that did not sleep (the word changed) came later in the call */
	{
		uint64_t f = last_fwait(mk->fw, mk->nfw, h->tid, h->addr, got, end);

		mark_hold(mk, ob, h->oi, h->ts, f > got ? f : got, end);
	}
	if (!release)
		return;
	d = release - got;
	ob->hold_n++;
	ob->hold_total += d;
	if (d > ob->hold_max)
		ob->hold_max = d;
}

void contention_add_locks(struct contention *c, const struct model *m,
			  const struct cont_lock_ev *ev, size_t n)
{
	struct objtab tab = {.c = c, .cap = c->nobjs};
	struct open_hold *open = NULL;
	size_t nopen = 0, capopen = 0;
	struct marks mk = {0};
	struct fwait *fw = futex_waits(m, &mk.nfw);

	mk.fw = fw;
	c->have_locks = 1;
	for (size_t i = 0; i < c->nobjs; i++)
		idmap_put(&tab.idx, cont_obj_key(c->objs[i].pid, c->objs[i].addr), i);
	for (size_t i = 0; i < n; i++) {
		const struct cont_lock_ev *e = &ev[i];
		const struct m_thread *t = model_thread(m, e->tid);
		uint32_t pid = t ? t->pid : e->tid;
		struct cont_obj *ob;
		size_t oi, k;

		c->lock_events++;
		ob = cont_obj_get(&tab, pid, e->addr, &oi);
		if (!ob->waits)
			ob->kind = CK_MUTEX;
		switch (e->op) {
		case LOCK_OP_ACQUIRE:
			ob->acquisitions++;
			GROW(open, capopen, nopen + 1);
			open[nopen++] = (struct open_hold){.addr = e->addr, .ts = e->ts,
							   .tid = e->tid, .oi = oi};
			break;
		case LOCK_OP_RELEASE:
			for (k = nopen; k-- > 0;)
				if (open[k].tid == e->tid && open[k].addr == e->addr)
					break;
			if (k == (size_t)-1) {
				c->lock_unmatched++;
				break;
			}
			close_hold(c, m, &open[k], e->ts, &mk);
			open[k] = open[--nopen];
			break;
		case LOCK_OP_TRY_FAIL:
			ob->trylock_fail++;
			break;
		default:
			break;
		}
	}
	for (size_t k = 0; k < nopen; k++)	/* still held at the end: contended or not */
		close_hold(c, m, &open[k], 0, &mk);
	sweep_marks(c, &mk);
	free(mk.v);
	free(fw);
	free(open);
	idmap_free(&tab.idx);
}
