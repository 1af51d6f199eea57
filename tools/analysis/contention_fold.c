/*
 * contention_fold.c — the tables of contention_build() made as the records pass, for a report
 * that should not hold the whole history (see contention.h, contention_fold_new).
 *
 * The model hands each thread's intervals over as it closes them (struct m_fold). A wait (a
 * blocked interval on a sync object) is held until the interval after it closes: woken but not
 * yet on a CPU, it still waits, so it is counted when its waiter gets a CPU back. What its
 * holder did meanwhile is read when its blocked part ends, from the holder's recent intervals:
 * every thread keeps its intervals back to the start of the oldest wait open at the time (any
 * thread may be the one that ends it) and no further. A wait still open a while later (one
 * that would pin the history for long: a join, a thread idle on a condvar) notes instead what
 * its holder had done so far (its time per state within the window), or when the holder is not
 * known yet every thread's, and pins nothing: what the holder did meanwhile is then the
 * difference between its totals when the wait ends and the note.
 *
 * What only the end of the trace says is kept apart by the waits' own kind (enum wait_kind)
 * and mapped then: whether a process is Python (its sem_t waits are Python locks), whether a
 * semaphore-like word is a condvar's (model_wait_is_condvar). The contended holds replay the
 * hand-offs in time order, those no later wait can precede; for the objects whose semaphore
 * waits may turn out to be locks (Python) once with them and once without.
 *
 * The tables come out in contention_build()'s order (thread by thread, each thread's waits in
 * time order): each object, caller, waiter and holder remembers the first wait that made it,
 * by (thread, wait number), and is sorted by it at the end.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/contention_fold_int.h"
#include "lib/util.h"

/* Recompute the oldest open wait's start after this many intervals. */
#define HORIZON_EVERY 1024
/* Replay the hand-offs when this many wait. */
#define HANDOFF_BATCH 4096
/* A counted wait a futex return may still mark: a call's `from` is when it went to sleep, so a
 * later call's is after this return (1 µs: the unit of a call's time past 4.29 s); a return
 * not recorded leaves a wait unmarked after a second. */
#define RECENT_SLACK_NS 1000ull
#define RECENT_STALE_NS 1000000000ull

static struct cf_thread *fold_thread(struct contention_fold *f, const struct model *m,
				     const struct m_thread *t)
{
	/* every thread the model has: a hook may read another (a holder) while holding one */
	if (f->nth < m->nthreads) {
		GROW(f->th, f->cap_th, m->nthreads);
		f->nth = m->nthreads;
	}
	return &f->th[t - m->threads];
}

/* ---- the threads' recent history ---------------------------------------------------------- */

static uint64_t clipped(const struct contention_fold *f, const struct model *m, uint64_t s,
			uint64_t e)
{
	uint64_t from, to;

	window(f, m, &from, &to);
	s = max64(s, from);
	e = min64(e, to);
	return e > s ? e - s : 0;
}

static size_t history_search(const struct cf_thread *ft, uint64_t ts);

/* h's time per state within the window up to x: its totals less what its recent intervals
 * after x hold, plus its open interval up to x (read while its history after x is kept). */
static void totals_at(struct contention_fold *f, const struct model *m, const struct m_thread *h,
		      uint64_t x, uint64_t *out)
{
	struct cf_thread *fh = fold_thread(f, m, h);

	memcpy(out, fh->total, sizeof(fh->total));
	for (size_t i = history_search(fh, x); i < fh->n; i++) {
		uint64_t start = i == fh->head ? fh->head_start : fh->iv[i - 1].end;
		uint64_t d = clipped(f, m, max64(start, x), fh->iv[i].end);

		out[fh->iv[i].state] -= d;
		if (fh->iv[i].asleep)
			out[5] -= d;
	}
	if (!m->finished && h->state != TH_EXITED && x > h->since) {
		uint64_t d = clipped(f, m, h->since, x);

		out[h->state] += d;
		if (h->state == TH_BLOCKED && wait_kind_class(h->wait.kind) != BC_FUTEX)
			out[5] += d;
	}
}

/* Note the totals of the holder of t's open wait, or of every thread when it is not known
 * yet; 0: not worth it (the history it pins is smaller than every thread's note). */
static int note_wait(struct contention_fold *f, const struct model *m, const struct m_thread *t,
		     size_t kept)
{
	struct cf_thread *ft = &f->th[t - m->threads];
	size_t n = t->wait.holder ? 1 : f->nth;

	/* every thread's note costs 6 totals a thread; a kept interval 16 bytes: note when the
	 * history kept is more than 4 times that */
	if (!t->wait.holder && kept < 12 * f->nth)
		return 0;
	ft->note = xcalloc(n * NOTE_LEN, sizeof(*ft->note));
	ft->nnote = n;
	ft->note_since = t->since;
	ft->note_one = t->wait.holder != 0;
	if (t->wait.holder) {
		const struct m_thread *h = model_thread(m, t->wait.holder);

		if (h)
			totals_at(f, m, h, t->since, ft->note);
		return 1;
	}
	for (size_t i = 0; i < n && i < m->nthreads; i++)
		totals_at(f, m, &m->threads[i], t->since, ft->note + i * NOTE_LEN);
	return 1;
}

/* Each thread's horizon: the start of the oldest wait open now (in the window) that it may be
 * the holder of: one whose holder is known (a mutex's owner, a joined thread) is its holder's
 * only; one whose holder is not known yet is anyone's (whoever wakes the waiter). */
static void horizons_update(struct contention_fold *f, const struct model *m, uint64_t now)
{
	uint64_t from, to, anyone = now;
	size_t kept = 0;

	window(f, m, &from, &to);
	for (size_t i = 0; i < f->nth; i++) {
		f->th[i].open = now;
		kept += f->th[i].n - f->th[i].head;
	}
	for (size_t i = 0; i < m->nthreads && i < f->nth; i++) {
		const struct m_thread *t = &m->threads[i], *h;
		struct cf_thread *ft = &f->th[i];

		if (t->state != TH_BLOCKED || cont_kind_of_wait(t->wait.kind, 0) < 0 ||
		    t->since >= to)
			continue;
		if (ft->note && ft->note_since == t->since)
			continue;	/* noted: it pins nothing */
		if (ft->note) {
			free(ft->note);
			ft->note = NULL;
		}
		if (t->since < f->last_update && note_wait(f, m, t, kept))
			continue;
		h = t->wait.holder ? model_thread(m, t->wait.holder) : NULL;
		if (!t->wait.holder)
			anyone = min64(anyone, t->since);
		else if (h && (size_t)(h - m->threads) < f->nth)
			f->th[h - m->threads].open = min64(f->th[h - m->threads].open, t->since);
	}
	for (size_t i = 0; i < f->nth; i++) {
		struct cf_thread *ft = &f->th[i];

		ft->horizon = max64(ft->horizon, max64(from, min64(anyone, ft->open)));
	}
	f->last_update = now;
}

static void history_add(struct contention_fold *f, const struct model *m, struct cf_thread *ft,
			const struct m_interval *v)
{
	if (!m->finished && !f->until_horizon--) {
		horizons_update(f, m, v->end);
		f->until_horizon = HORIZON_EVERY;
	}
	/* what no open wait overlaps is read no more (not while model_finish closes them: the
	 * waits it closes are read at the end) */
	while (!m->finished && ft->head < ft->n && ft->iv[ft->head].end <= ft->horizon)
		ft->head_start = ft->iv[ft->head++].end;
	if (ft->head && ft->head >= ft->n / 2) {
		memmove(ft->iv, ft->iv + ft->head, (ft->n - ft->head) * sizeof(*ft->iv));
		ft->n -= ft->head;
		ft->head = 0;
	}
	if (ft->head == ft->n)
		ft->head_start = v->start;
	GROW_RAW(ft->iv, ft->cap, ft->n + 1);
	ft->iv[ft->n++] = (struct cf_iv){
		.end = v->end, .state = v->state,
		.asleep = v->state == TH_BLOCKED && wait_kind_class(v->w.kind) != BC_FUTEX};
	if (v->state < 5) {
		uint64_t d = clipped(f, m, v->start, v->end);

		ft->total[v->state] += d;
		if (ft->iv[ft->n - 1].asleep)
			ft->total[5] += d;
	}
}

/* The first of t's recent intervals that ends after ts. */
static size_t history_search(const struct cf_thread *ft, uint64_t ts)
{
	size_t lo = ft->head, hi = ft->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ft->iv[mid].end <= ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void overlap_add(struct cf_wait *w, uint64_t a, uint64_t b, uint64_t s, uint64_t e,
			int state, int asleep)
{
	s = max64(s, a);
	e = min64(e, b);
	if (e <= s || state >= 5)
		return;
	w->hs[state] += e - s;
	if (asleep)
		w->hsleep += e - s;
}

/* What the holder of wait w (of thread t) did during its blocked part, clipped to the window:
 * holder_overlap() of contention.c over the holder's recent intervals and its open one. */
static void holder_overlap_of(struct contention_fold *f, const struct model *m,
			      const struct m_thread *t, struct cf_wait *w)
{
	uint32_t holder = w->w.holder;
	const struct m_thread *h;
	struct cf_thread *fh;
	uint64_t from, to, a, b;

	w->overlap = 1;
	if (!holder && w->waker != t->tid)
		holder = w->waker;
	h = holder ? model_thread(m, holder) : NULL;
	if (!h || h == t)
		return;
	if (w->note) {		/* the difference of its totals */
		uint64_t now[NOTE_LEN], zero[NOTE_LEN] = {0};
		/* a Python join's holder is known from its end (the joined thread woke it) */
		const uint64_t *at = w->note_one ? w->note
				     : (size_t)(h - m->threads) < w->nnote
					     ? w->note + (h - m->threads) * NOTE_LEN
					     : zero;

		totals_at(f, m, h, w->end, now);
		for (int s = 0; s < 5; s++)
			w->hs[s] = now[s] - at[s];
		w->hsleep = now[5] - at[5];
		return;
	}
	window(f, m, &from, &to);
	a = max64(w->start, from);
	b = min64(w->end, to);
	fh = fold_thread(f, m, h);
	for (size_t i = history_search(fh, a); i < fh->n; i++) {
		uint64_t start = i == fh->head ? fh->head_start : fh->iv[i - 1].end;

		if (start >= b)
			break;
		overlap_add(w, a, b, start, fh->iv[i].end, fh->iv[i].state, fh->iv[i].asleep);
	}
	if (!m->finished && h->state != TH_EXITED)
		overlap_add(w, a, b, h->since, UINT64_MAX, h->state,
			    h->state == TH_BLOCKED && wait_kind_class(h->wait.kind) != BC_FUTEX);
}

static void holder_meanwhile(struct contention_fold *f, const struct model *m,
			     const struct m_thread *t, struct cf_wait *w)
{
	holder_overlap_of(f, m, t, w);
	free(w->note);
	w->note = NULL;
}

/* ---- contended holds: the hand-offs in time order ---------------------------------------- */

static int cmp_handoff(const void *x, const void *y)
{
	const struct cf_handoff *a = x, *b = y;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->acquire != b->acquire)
		return a->acquire ? -1 : 1;
	return a->key < b->key ? -1 : a->key > b->key;
}

static void handoff(struct contention_fold *f, const struct cf_handoff *e)
{
	struct cf_obj *o = &f->ob[e->obj];

	for (int v = e->sem; v < 2; v++) {
		uint64_t d;

		if (e->acquire) {
			o->owner[v] = e->tid;
			o->since[v] = e->ts;
			continue;
		}
		if (!o->owner[v] || e->tid != o->owner[v] || e->ts < o->since[v])
			continue;
		d = e->ts - o->since[v];
		o->chn[v]++;
		o->chtotal[v] += d;
		o->chmax[v] = max64(o->chmax[v], d);
		o->owner[v] = 0;
	}
}

/* Replay the hand-offs before `until`: no wait counted later has one as early. */
static void handoffs_replay(struct contention_fold *f, uint64_t until)
{
	size_t n = 0;

	if (!f->nhv)
		return;
	qsort(f->hv, f->nhv, sizeof(*f->hv), cmp_handoff);
	while (n < f->nhv && f->hv[n].ts < until)
		handoff(f, &f->hv[n++]);
	memmove(f->hv, f->hv + n, (f->nhv - n) * sizeof(*f->hv));
	f->nhv -= n;
}

/* A wait counted now hands off at its end (the acquire, clipped to the window) and at its
 * wakeup (the release): the earliest later hand-off is a pending wait's wakeup, or now. */
static void handoffs_flush(struct contention_fold *f, const struct model *m, uint64_t now)
{
	uint64_t from, to, until;

	if (f->nhv < HANDOFF_BATCH)
		return;
	window(f, m, &from, &to);
	until = min64(now, to);
	for (size_t i = 0; i < f->nth; i++)
		if (f->th[i].pending)
			until = min64(until, f->th[i].pend.end);
	handoffs_replay(f, until);
}

static void handoff_add(struct contention_fold *f, uint64_t ts, uint64_t key, uint32_t obj,
			uint32_t tid, int acquire, int sem)
{
	GROW_RAW(f->hv, f->cap_hv, f->nhv + 1);
	f->hv[f->nhv++] = (struct cf_handoff){.ts = ts, .key = key, .obj = obj, .tid = tid,
					      .acquire = acquire, .sem = sem};
}

/* ---- counting a wait ---------------------------------------------------------------------- */

/* The party of tid in *v, with the key of the first wait that made it. */
static struct cont_party *party(struct cont_party **v, size_t *n, uint64_t **keys, uint32_t tid,
				uint64_t key)
{
	size_t had = *n;
	struct cont_party *p = cont_party_get(v, n, tid);

	if (*n > had) {
		*keys = xrealloc(*keys, *n * sizeof(**keys));
		(*keys)[*n - 1] = key;
	}
	return p;
}

static void thread_wait(struct cf_thread *ft, uint32_t obj, const struct cf_wait *w, uint64_t d)
{
	size_t k;

	for (k = 0; k < ft->nobjs && ft->objs[k].obj != obj; k++)
		;
	if (k == ft->nobjs) {
		ft->objs = xrealloc(ft->objs, (k + 1) * sizeof(*ft->objs));
		ft->wk_obj_ns = xrealloc(ft->wk_obj_ns, (k + 1) * sizeof(*ft->wk_obj_ns));
		ft->objs[k] = (struct cont_twait){.obj = obj};
		memset(ft->wk_obj_ns[k], 0, sizeof(ft->wk_obj_ns[k]));
		ft->nobjs++;
	}
	ft->objs[k].waits++;
	ft->objs[k].ns += d;
	ft->objs[k].max_ns = max64(ft->objs[k].max_ns, d);
	ft->wk_obj_ns[k][cont_wk(&w->w)] += d;
}

static void recent_add(struct cf_thread *ft, const struct cf_wait *w, uint32_t obj)
{
	size_t keep = 0;

	/* a wait long over whose call's return was not recorded is no more marked */
	for (size_t i = 0; i < ft->nrecent; i++)
		if (ft->recent[i].end + RECENT_STALE_NS >= w->end)
			ft->recent[keep++] = ft->recent[i];
	ft->nrecent = keep;
	GROW(ft->recent, ft->cap_recent, ft->nrecent + 1);
	ft->recent[ft->nrecent++] = (struct cf_recent){.end = w->end, .uaddr = w->w.obj,
						       .obj = obj, .timed_out = w->w.timed_out};
}

/* add_wait() of contention.c: thread t's pending wait ended at wend. */
static void count_wait(struct contention_fold *f, const struct model *m, const struct m_thread *t,
		       struct cf_thread *ft, uint64_t wend)
{
	struct contention *c = &f->c;
	struct cf_wait *w = &ft->pend;
	uint64_t from, to, start, end, bend, d, key;
	uint32_t holder = w->w.holder;
	struct cont_obj *ob;
	struct cf_obj *fo;
	struct cont_party *p;
	size_t oi, had = c->nobjs, ncl;

	ft->pending = 0;
	window(f, m, &from, &to);
	if (wend <= from) {
		free(w->note);
		w->note = NULL;
		return;
	}
	if (!w->overlap)
		holder_meanwhile(f, m, t, w);
	start = max64(w->start, from);
	end = min64(wend, to);
	bend = min64(w->end, end);
	d = end - start;
	key = (uint64_t)(t - m->threads) << 32 | ft->seq++;

	ob = cont_obj_get(&f->tab, t->pid, cont_wait_addr(m, &w->w), &oi);
	if (c->nobjs > had) {
		GROW(f->ob, f->cap_ob, c->nobjs);
		f->nob = c->nobjs;
		f->ob[oi].key = key;
	}
	fo = &f->ob[oi];
	fo->wk_votes[cont_wk(&w->w)]++;
	ob->shared |= w->w.shared;
	ob->waits++;
	ob->wait_total += d;
	ob->blocked_total += bend > start ? bend - start : 0;
	ob->wait_max = max64(ob->wait_max, d);
	ob->timed_out += w->w.timed_out;
	ob->hist[cont_hist_bucket(d)]++;
	c->waits_total++;

	p = party(&ob->waiters, &ob->nwaiters, &fo->waiter_key, t->tid, key);
	p->waits++;
	p->ns += d;
	p->max_ns = max64(p->max_ns, d);

	if (!holder && w->waker != t->tid)
		holder = w->waker;
	if (holder) {
		p = party(&ob->holders, &ob->nholders, &fo->holder_key, holder, key);
		p->waits++;
		p->ns += d;
		p->max_ns = max64(p->max_ns, d);
		if (w->waker == holder)
			p->handoffs++;
		for (int s = 0; s < 5; s++)
			ob->holder_state_ns[s] += w->hs[s];
		ob->holder_sleep_ns += w->hsleep;
	} else {
		ob->holder_unknown_ns += d;
	}

	ncl = ob->ncallers;
	struct cont_caller *cl = cont_caller_get(ob, w->w.ret_addr, w->w.stack_id);

	if (ob->ncallers > ncl) {
		fo->caller_key = xrealloc(fo->caller_key, ob->ncallers * sizeof(*fo->caller_key));
		fo->caller_key[ob->ncallers - 1] = key;
	}
	cl->waits++;
	cl->ns += d;
	thread_wait(ft, oi, w, d);
	recent_add(ft, w, oi);

	if (w->w.kind == WK_MUTEX || w->w.kind == WK_RWLOCK || w->w.kind == WK_LOCK ||
	    w->w.kind == WK_SEMAPHORE) {
		int sem = w->w.kind == WK_SEMAPHORE;

		handoff_add(f, end, key, oi, t->tid, 1, sem);
		if (w->waker && w->waker != t->tid)
			handoff_add(f, w->end, key, oi, w->waker, 0, sem);
	}
}

/* ---- the model's hooks -------------------------------------------------------------------- */

static void on_interval(void *ctx, const struct model *m, const struct m_thread *t,
			const struct m_interval *v)
{
	struct contention_fold *f = ctx;
	struct cf_thread *ft = fold_thread(f, m, t);
	uint64_t from, to;

	if (ft->pending)	/* wait_end(): the runnable stretch right after it, if that is v */
		count_wait(f, m, t, ft,
			   v->state == TH_RUNNABLE && v->start == ft->pend.end ? v->end
									  : ft->pend.end);
	if (!ft->seen)
		ft->first_start = v->start;
	ft->seen = 1;
	ft->last_end = v->end;
	history_add(f, m, ft, v);
	window(f, m, &from, &to);
	if (v->state == TH_BLOCKED && cont_kind_of_wait(v->w.kind, 0) >= 0 && v->start < to) {
		ft->pend = (struct cf_wait){.start = v->start, .end = v->end, .w = v->w,
					    .waker = v->waker};
		ft->pending = 1;
		if (ft->note && ft->note_since == v->start) {	/* the wait noted */
			ft->pend.note = ft->note;
			ft->pend.nnote = ft->nnote;
			ft->pend.note_one = ft->note_one;
			ft->note = NULL;
		}
		if (!m->finished)
			holder_meanwhile(f, m, t, &ft->pend);
	}
	handoffs_flush(f, m, v->end);
}

static void on_futex_return(void *ctx, const struct model *m, const struct m_thread *t,
			    uint64_t from, uint64_t uaddr, int timed, int timed_out,
			    const struct m_futex *call)
{
	struct contention_fold *f = ctx;
	struct cf_thread *ft = fold_thread(f, m, t);
	size_t keep = 0;

	(void)timed;
	(void)call;
	if (ft->pending && ft->pend.end >= from && ft->pend.w.obj == uaddr)
		ft->pend.w.timed_out = timed_out;
	for (size_t i = 0; i < ft->nrecent; i++) {
		struct cf_recent *r = &ft->recent[i];

		if (r->end >= from && r->uaddr == uaddr) {
			f->c.objs[r->obj].timed_out += (uint64_t)timed_out - r->timed_out;
			r->timed_out = timed_out;
		}
		/* a later call began after this one returned: it marks none of these */
		if (r->end + RECENT_SLACK_NS >= m->t_last)
			ft->recent[keep++] = *r;
	}
	ft->nrecent = keep;
}

static void fold_free(struct contention_fold *f)
{
	for (size_t i = 0; i < f->nth; i++) {
		free(f->th[i].note);
		free(f->th[i].pend.note);
		free(f->th[i].iv);
		free(f->th[i].recent);
		free(f->th[i].objs);
		free(f->th[i].wk_obj_ns);
	}
	for (size_t i = 0; i < f->nob; i++) {
		free(f->ob[i].caller_key);
		free(f->ob[i].waiter_key);
		free(f->ob[i].holder_key);
	}
	free(f->th);
	free(f->ob);
	free(f->hv);
	idmap_free(&f->tab.idx);
	contention_free(&f->c);
	free(f);
}

static void on_release(void *ctx)
{
	fold_free(ctx);
}

struct contention_fold *contention_fold_new(uint64_t from_ns, uint64_t to_ns)
{
	struct contention_fold *f = xcalloc(1, sizeof(*f));

	f->hooks = (struct m_fold){.interval = on_interval, .futex_return = on_futex_return,
				   .release = on_release, .ctx = f};
	f->from_ns = from_ns;
	f->to_ns = to_ns;
	f->tab.c = &f->c;
	return f;
}

const struct m_fold *contention_fold_hooks(struct contention_fold *f)
{
	return &f->hooks;
}

struct contention_fold *contention_fold_of(const struct model *m)
{
	const struct m_fold *h = m->keep.fold;

	return h && h->interval == on_interval ? h->ctx : NULL;
}

void contention_fold_finish(struct contention_fold *f, const struct model *m,
			    struct contention *c)
{
	uint64_t from, to;

	if (!f->built) {
		for (size_t i = 0; i < f->nth && i < m->nthreads; i++)
			if (f->th[i].pending)
				count_wait(f, m, &m->threads[i], &f->th[i], f->th[i].pend.end);
		handoffs_replay(f, UINT64_MAX);
		cf_tables_finish(f, m);
		cont_gil_parts(&f->c);
		window(f, m, &from, &to);
		f->c.duration = m->t_last > m->t_first ? m->t_last - m->t_first : 0;
		if (f->from_ns || f->to_ns) {
			uint64_t a = max64(from, m->t_first), b = min64(to, m->t_last);

			f->c.duration = b > a ? b - a : 0;
		}
		f->built = 1;
	}
	*c = f->c;
	memset(&f->c, 0, sizeof(f->c));
	f->tab.c = &f->c;
}
