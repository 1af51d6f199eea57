/*
 * timeline_fold.c — the text chart of timeline_build() over the whole trace, made as the
 * records pass (see timeline.h, timeline_fold_new): a report on a long trace holds no history.
 *
 * The model hands each thread's intervals over as it closes them (struct m_fold), each
 * thread's in time order. The window is the trace's span, which the model knows up front (the
 * reader's first pass: model.span_first, span_last) and which is checked at the end. A piece
 * (an interval clipped to the window) goes at once into its lane's columns and totals, and a
 * running piece into the parallelism sweep: its starts and ends are swept in time order up to
 * the earliest time a later piece can still begin (the start of a running interval not closed
 * yet, or now).
 *
 * What only the end of the trace says is kept apart and mapped then: whether a
 * semaphore-like word is a condvar's (model_wait_is_condvar: its time per column is kept per
 * word), which lane a thread is drawn in and what its waits' objects are named (the wakeups
 * are counted per thread by what names their wait: the object, and for an fd how many of the
 * recorder's fd records came at or before the wait, which is all its name depends on), and
 * whether a thread ended inside its last wait (that wait, and the first futex call of its tid
 * that returned at or after it).
 *
 * Lost events change the intervals they cover after the fact: a report reads a trace with
 * them whole (keep.whole_if_lost), and the fold refuses a model that has them.
 */
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "analysis/timeline_int.h"
#include "model/pystacks.h"
#include "lib/util.h"

/* Sweep the parallelism after this many intervals. */
#define SWEEP_EVERY 512

/* A semaphore-like word a thread waited on: a condvar's or not is known at the end. */
struct tf_sem {
	uint64_t obj;
	uint64_t ns;		/* its blocked time */
	uint64_t *cell;		/* its time per column, as the thread's cells */
};

/* A thread's wakeups through waits named alike (the fields its wait's name reads). */
struct tf_pair {
	uint64_t obj;
	uint64_t start;		/* of its first wait: an fd is named as it was then */
	uint64_t first_ts;	/* its first wakeup */
	uint32_t th, seq;	/* the thread (model index), its arrow number of the first */
	uint32_t waker, holder, fdep, count;
	int32_t stack_id;	/* a Python Condition wait's stack, which names it (py) */
	int16_t nr;
	uint8_t kind, py;
};

/* A thread's last blocked interval and the first futex call of its tid at or after its end. */
struct tf_last {
	struct m_interval iv;
	uint64_t wk_ts;		/* its wakeup's time */
	int16_t waker_nr;
	uint8_t have, woken, called;
	struct m_futex call;
};

struct tf_thread {
	struct tl_cell *cells;	/* columns [cell0, cell0 + ncells) */
	int cell0, ncells;
	struct tf_sem *sem;
	size_t nsem, cap_sem;
	size_t pieces;
	uint64_t time_in[TH_NSTATES];
	uint64_t blocked_kind[WK_NKINDS];
	uint32_t narrows, nkernel;
	struct tf_last last;
	struct m_futex run;	/* the first of its latest calls that returned at one time */
	int seen, has_run;
	int64_t prev;		/* the thread before it with its tid (model index), -1 none */
};

struct timeline_fold {
	struct m_fold hooks;
	int ncell;
	int ends_only;		/* timeline_fold_new(0): the span and the last waits, no chart */
	uint64_t t0, t1;
	int spanned;
	uint64_t end;		/* the intervals' latest end */
	struct tf_thread *th;	/* by model thread index */
	size_t nth, cap_th;
	struct tf_pair *pair;
	size_t npair, cap_pair;
	struct idmap pair_index;
	struct idmap tid_last;	/* tid -> the newest thread seen with it */
	/* parallelism: the running pieces' starts (+1) and ends (-1) not swept yet */
	int64_t *ev;
	size_t nev, cap_ev;
	uint64_t last;		/* swept up to */
	int64_t cur;
	uint64_t *par_time;
	size_t cap_par;
	uint32_t max_par;
	size_t until_sweep;
};

static struct tf_thread *fold_thread(struct timeline_fold *f, const struct model *m,
				     const struct m_thread *t)
{
	size_t i = t - m->threads;
	struct tf_thread *ft;

	if (f->nth < m->nthreads) {
		GROW(f->th, f->cap_th, m->nthreads);
		f->nth = m->nthreads;
	}
	ft = &f->th[i];
	if (!ft->seen) {
		ft->seen = 1;
		ft->prev = idmap_get(&f->tid_last, t->tid);
		idmap_put(&f->tid_last, t->tid, i);
	}
	return ft;
}

/* ---- the columns --------------------------------------------------------------------------- */

/* t's columns (and its words') cover [c0, c1] from here */
static void widen(struct tf_thread *ft, int c0, int c1)
{
	int lo = ft->ncells && ft->cell0 < c0 ? ft->cell0 : c0;
	int hi = ft->ncells && ft->cell0 + ft->ncells - 1 > c1 ? ft->cell0 + ft->ncells - 1 : c1;
	int n = hi - lo + 1, at = ft->ncells ? ft->cell0 - lo : 0;
	struct tl_cell *cells;

	if (ft->ncells && lo == ft->cell0 && n == ft->ncells)
		return;
	cells = xcalloc(n, sizeof(*cells));
	if (ft->ncells)
		memcpy(cells + at, ft->cells, ft->ncells * sizeof(*cells));
	for (size_t i = 0; i < ft->nsem; i++) {
		uint64_t *c = xcalloc(n, sizeof(*c));

		memcpy(c + at, ft->sem[i].cell, ft->ncells * sizeof(*c));
		free(ft->sem[i].cell);
		ft->sem[i].cell = c;
	}
	free(ft->cells);
	ft->cells = cells;
	ft->cell0 = lo;
	ft->ncells = n;
}

static struct tf_sem *sem_of(struct tf_thread *ft, uint64_t obj)
{
	for (size_t i = 0; i < ft->nsem; i++)
		if (ft->sem[i].obj == obj)
			return &ft->sem[i];
	GROW(ft->sem, ft->cap_sem, ft->nsem + 1);
	ft->sem[ft->nsem] = (struct tf_sem){.obj = obj,
					    .cell = xcalloc(ft->ncells + 1, sizeof(uint64_t))};
	return &ft->sem[ft->nsem++];
}

/* ---- parallelism --------------------------------------------------------------------------- */

static int cmp_ev(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	if (x[0] != y[0])
		return (uint64_t)x[0] < (uint64_t)y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Every start and end before `upto` (no piece still to come begins before it), in time order:
 * the time at each count of threads on a CPU, as timeline_build()'s sweep adds it up. */
static void sweep(struct timeline_fold *f, uint64_t upto)
{
	size_t i, k = 0;

	if (f->nev > 1)
		qsort(f->ev, f->nev / 2, 2 * sizeof(*f->ev), cmp_ev);
	for (i = 0; i < f->nev; i += 2) {
		uint64_t ts = f->ev[i];

		if (ts >= upto)
			break;
		if (ts > f->last) {
			f->par_time[f->cur] += ts - f->last;
			f->last = ts;
		}
		f->cur += f->ev[i + 1];
		if (f->cur > (int64_t)f->max_par) {
			f->max_par = f->cur;
			GROW(f->par_time, f->cap_par, f->max_par + 1);
		}
	}
	for (; i < f->nev; i++)
		f->ev[k++] = f->ev[i];
	f->nev = k;
}

/* The earliest a running piece not closed yet can begin: a running thread's since, or now. */
static uint64_t sweep_horizon(const struct model *m)
{
	uint64_t h = m->t_last;

	for (size_t i = 0; i < m->nthreads; i++)
		if (m->threads[i].state == TH_RUNNING && m->threads[i].since < h)
			h = m->threads[i].since;
	return h;
}

static void running_piece(struct timeline_fold *f, const struct model *m, uint64_t s, uint64_t e)
{
	GROW_RAW(f->ev, f->cap_ev, f->nev + 4);
	f->ev[f->nev++] = s;
	f->ev[f->nev++] = 1;
	f->ev[f->nev++] = e;
	f->ev[f->nev++] = -1;
	if (!m->finished && !f->until_sweep--) {
		sweep(f, sweep_horizon(m));
		f->until_sweep = SWEEP_EVERY;
	}
}

/* ---- the hooks ----------------------------------------------------------------------------- */

/* What names a wait (tl_wait_name reads these), as a key of its thread's wakeups. */
static void pair_fields(const struct model *m, const struct m_interval *v, struct tf_pair *p)
{
	const struct m_wait *w = &v->w;

	p->kind = w->kind;
	p->nr = -1;
	switch (w->kind) {
	case WK_JOIN:
		p->holder = w->holder;
		p->obj = w->obj;
		break;
	case WK_CONDVAR:
		/* a wait of threading's Condition is named by the line that waits, not by its
		 * waiter Lock (a new one each time): its Python wait site is the key */
		p->obj = w->obj;
		if (w->py) {
			p->py = 1;
			p->stack_id = w->stack_id;
			p->obj = model_py_wait_site(m, w->stack_id);
		}
		break;
	case WK_MUTEX: case WK_LOCK: case WK_RWLOCK: case WK_SEMAPHORE:
	case WK_FUTEX: case WK_CHILD:
		p->obj = w->obj;
		break;
	case WK_READ: case WK_WRITE: case WK_ACCEPT: {
		/* the fd records at or before the wait's start (they come in time order) */
		size_t lo = 0, hi = m->fdt.n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (m->fdt.v[mid].ts <= v->start)
				lo = mid + 1;
			else
				hi = mid;
		}
		p->fdep = lo;
		p->obj = (uint32_t)(int32_t)w->obj;
		break;
	}
	case WK_POLL:
		p->obj = w->obj;
		p->nr = w->nr;
		break;
	case WK_OTHER:
		p->nr = w->nr;
		break;
	default:
		break;
	}
}

static int same_key(const struct tf_pair *x, const struct tf_pair *y)
{
	return x->th == y->th && x->waker == y->waker && x->obj == y->obj &&
	       x->holder == y->holder && x->fdep == y->fdep && x->nr == y->nr &&
	       x->kind == y->kind && x->py == y->py;
}

static void count_wakeup(struct timeline_fold *f, const struct model *m, struct tf_thread *ft,
			 const struct m_thread *t, const struct m_interval *v)
{
	struct tf_pair p = {.th = t - m->threads, .waker = v->waker};
	uint64_t key;
	int64_t at;

	if (!v->waker) {
		ft->nkernel++;
		return;
	}
	pair_fields(m, v, &p);
	key = (((uint64_t)p.th << 32 | p.waker) * 0x9e3779b97f4a7c15ull) ^ p.obj * 31 ^
	      ((uint64_t)p.holder << 20) ^ ((uint64_t)p.fdep << 40) ^
	      ((uint64_t)(uint16_t)p.nr << 8) ^ p.kind;
	while ((at = idmap_get(&f->pair_index, key)) >= 0 && !same_key(&f->pair[at], &p))
		key++;
	if (at < 0) {
		p.start = v->start;
		p.first_ts = m->wakeups[v->wakeup].ts;
		p.seq = ft->narrows;
		GROW_RAW(f->pair, f->cap_pair, f->npair + 1);
		at = f->npair++;
		f->pair[at] = p;
		idmap_put(&f->pair_index, key, at);
	}
	f->pair[at].count++;
	ft->narrows++;
}

/* A blocked interval: the wakeup that ended it, and it as the thread's last so far. */
static void blocked(struct timeline_fold *f, const struct model *m, struct tf_thread *ft,
		    const struct m_thread *t, const struct m_interval *v)
{
	struct tf_last *l = &ft->last;

	*l = (struct tf_last){.iv = *v, .have = 1, .woken = v->wakeup >= 0};
	if (v->wakeup >= 0 && (size_t)v->wakeup < m->nwakeups) {
		l->waker_nr = m->wakeups[v->wakeup].waker_nr;
		l->wk_ts = m->wakeups[v->wakeup].ts;
		if (!f->ends_only)
			count_wakeup(f, m, ft, t, v);
	}
	/* a call of its tid may have returned at the same time before it closed */
	if (ft->has_run && ft->run.ts >= v->end) {
		l->call = ft->run;
		l->called = 1;
	}
}

static void on_interval(void *ctx, const struct model *m, const struct m_thread *t,
			const struct m_interval *v)
{
	struct timeline_fold *f = ctx;
	struct tf_thread *ft = fold_thread(f, m, t);
	struct tl_iv p = {.state = v->state, .flags = v->flags, .cpu = v->cpu, .name = -1};
	uint64_t d;
	int c0, c1;

	if (!f->spanned) {
		f->t0 = m->span_first;
		f->t1 = m->span_last;
		f->last = f->t0;
		f->spanned = 1;
	}
	if (v->end > f->end)
		f->end = v->end;
	if (f->t1 <= f->t0)
		return;	/* no span known up front: refused at the end */
	if (v->state == TH_BLOCKED)
		blocked(f, m, ft, t, v);
	if (f->ends_only)
		return;
	p.start = v->start > f->t0 ? v->start : f->t0;
	p.end = v->end < f->t1 ? v->end : f->t1;
	if (p.start >= p.end)
		return;
	d = p.end - p.start;
	ft->pieces++;
	ft->time_in[p.state] += d;
	tl_cells_span(f->ncell, f->t0, f->t1, p.start, p.end, &c0, &c1);
	if (c0 <= c1)
		widen(ft, c0, c1);
	if (v->state == TH_BLOCKED) {
		p.kind = v->w.kind;
		if (p.kind == WK_SEMAPHORE) {
			struct tf_sem *s = sem_of(ft, v->w.obj);

			s->ns += d;
			tl_cells_add(ft->cells, ft->cell0, s->cell, f->ncell, f->t0, f->t1, &p);
			return;
		}
		ft->blocked_kind[p.kind] += d;
	}
	tl_cells_add(ft->cells, ft->cell0, NULL, f->ncell, f->t0, f->t1, &p);
	if (v->state == TH_RUNNING)
		running_piece(f, m, p.start, p.end);
}

/* The first call of a tid at or after the end of its threads' last waits. */
static void on_futex_return(void *ctx, const struct model *m, const struct m_thread *t,
			    uint64_t from, uint64_t uaddr, int timed, int timed_out,
			    const struct m_futex *call)
{
	struct timeline_fold *f = ctx;
	struct tf_thread *ft = fold_thread(f, m, t);

	(void)from, (void)uaddr, (void)timed, (void)timed_out;
	if (!ft->has_run || ft->run.ts != call->ts) {
		ft->run = *call;
		ft->has_run = 1;
	}
	for (int64_t i = t - m->threads; i >= 0; i = f->th[i].prev) {
		struct tf_last *l = &f->th[i].last;

		if (l->have && l->called && i != t - m->threads)
			break;	/* and so were the ones before it */
		if (l->have && !l->called && call->ts >= l->iv.end) {
			l->call = *call;
			l->called = 1;
		}
	}
}

static void release(void *ctx)
{
	struct timeline_fold *f = ctx;

	for (size_t i = 0; i < f->nth; i++) {
		for (size_t k = 0; k < f->th[i].nsem; k++)
			free(f->th[i].sem[k].cell);
		free(f->th[i].sem);
		free(f->th[i].cells);
	}
	free(f->th);
	free(f->pair);
	free(f->ev);
	free(f->par_time);
	idmap_free(&f->pair_index);
	idmap_free(&f->tid_last);
	free(f);
}

struct timeline_fold *timeline_fold_new(int ncell)
{
	struct timeline_fold *f = xcalloc(1, sizeof(*f));

	f->ncell = ncell > 0 ? ncell : 1;
	f->ends_only = ncell == 0;
	f->hooks = (struct m_fold){.interval = on_interval, .futex_return = on_futex_return,
				   .release = release, .ctx = f};
	f->until_sweep = SWEEP_EVERY;
	GROW(f->par_time, f->cap_par, 1);
	return f;
}

const struct m_fold *timeline_fold_hooks(struct timeline_fold *f)
{
	return &f->hooks;
}

struct timeline_fold *timeline_fold_of(const struct model *m)
{
	const struct m_fold *h = m->keep.fold;

	return h && h->interval == on_interval ? h->ctx : NULL;
}

/* ---- the end ------------------------------------------------------------------------------- */

static int wait_kind_at_end(const struct model *m, const struct m_thread *t, int kind,
			    uint64_t obj)
{
	if (kind == WK_SEMAPHORE && model_wait_is_condvar(m, t->pid, obj))
		return WK_CONDVAR;
	return tl_wait_kind(m, t->pid, kind);
}

/* A lane's columns and totals: the thread's, its semaphore-like words' time by what they were. */
static size_t fill_folded(struct tl_ctx *c, struct tl_lane *l, const struct m_thread *t,
			  void *arg)
{
	struct timeline_fold *f = arg;
	size_t i = t - c->m->threads;
	struct tf_thread *ft = i < f->nth ? &f->th[i] : NULL;

	if (!ft || !ft->pieces)
		return 0;
	memcpy(l->time_in, ft->time_in, sizeof(l->time_in));
	memcpy(l->blocked_kind, ft->blocked_kind, sizeof(l->blocked_kind));
	for (size_t k = 0; k < ft->nsem; k++) {
		const struct tf_sem *s = &ft->sem[k];
		int kind = wait_kind_at_end(c->m, t, WK_SEMAPHORE, s->obj);

		l->blocked_kind[kind] += s->ns;
		for (int n = 0; n < ft->ncells; n++)
			ft->cells[n].t[tl_class(TH_BLOCKED, kind)] += s->cell[n];
	}
	l->cells = ft->cells;
	l->cell0 = ft->cell0;
	l->ncells = ft->ncells;
	ft->cells = NULL;
	ft->ncells = 0;
	return ft->pieces;
}

/* The lane t's waits are drawn in, as build_arrows() finds it; -1 none. */
static int lane_of_thread(const struct timeline *tl, const struct m_thread *t)
{
	int to = tl_lane_of(tl, t->tid);

	return to >= 0 && tl->lanes[to].pid == t->pid ? to : -1;
}

/* The wakeup counts, and whether each thread ended inside its last wait. */
static void fold_arrows(struct timeline_fold *f, struct tl_ctx *c, int count)
{
	const struct model *m = c->m;
	struct timeline *tl = c->tl;

	for (size_t i = 0; i < m->nthreads && i < f->nth; i++) {
		const struct m_thread *t = &m->threads[i];
		const struct tf_thread *ft = &f->th[i];
		struct m_interval iv = ft->last.iv;
		int to = lane_of_thread(tl, t), from;

		if (to < 0)
			continue;
		if (count) {
			tl->narrows += ft->narrows;
			tl->kernel_wakeups += ft->nkernel;
		}
		if (!ft->last.have || !ft->last.woken || ft->last.wk_ts < tl->t0 ||
		    ft->last.wk_ts > tl->t1)
			continue;	/* (a window's: a wakeup outside it is not drawn) */
		iv.w.kind = wait_kind_at_end(m, t, iv.w.kind, iv.w.obj);
		if (!iv.waker) {
			const struct m_futex *call = ft->last.called ? &ft->last.call : NULL;

			if (t->died && tl_killed_in_call(t, call, &iv))
				tl_ended_in_wait(c, &tl->lanes[to], &iv, 0);
			continue;
		}
		from = tl_lane_of(tl, iv.waker);
		if (ft->last.waker_nr == NR_EXIT_GROUP && iv.waker != t->tid && from >= 0 &&
		    tl->lanes[from].pid == t->pid)
			tl_ended_in_wait(c, &tl->lanes[to], &iv, iv.waker);
	}
}

/* The threads' wakeups named, and counted by (waker, wakee, kind, name) as tl_pairs() does. */
static void fold_pairs(struct timeline_fold *f, struct tl_ctx *c)
{
	const struct model *m = c->m;
	struct timeline *tl = c->tl;
	struct idmap idx = {};
	size_t cap = 0;

	for (size_t i = 0; i < f->npair; i++) {
		const struct tf_pair *p = &f->pair[i];
		const struct m_thread *t = &m->threads[p->th];
		int to = lane_of_thread(tl, t);
		struct m_wait w = {.obj = p->obj, .holder = p->holder, .nr = p->nr,
				   .stack_id = p->py ? p->stack_id : -1, .py = p->py};
		struct tl_pair q = {.waker = p->waker, .wakee = t->tid, .count = p->count,
				    .first_ts = p->first_ts,
				    .first_ord = (uint64_t)p->th << 32 | p->seq};

		if (to < 0)
			continue;
		w.kind = q.kind = wait_kind_at_end(m, t, p->kind, p->obj);
		if (w.kind == WK_READ || w.kind == WK_WRITE || w.kind == WK_ACCEPT)
			w.obj = (uint64_t)(int64_t)(int32_t)p->obj;
		q.name = tl_wait_name(c, tl->lanes[to].proc, &w, p->start);
		tl_pair_add(&tl->pairs, &tl->npairs, &cap, &idx, &q);
	}
	idmap_free(&idx);
	tl_pairs_sort(tl->pairs, tl->npairs);
}

uint64_t tl_fold_end(const struct timeline_fold *f, const struct model *m)
{
	uint64_t end = m->t_last > f->end ? m->t_last : f->end;

	if (m->nlosses || (f->spanned && (f->t0 != m->t_first || f->t1 != end || f->t1 <= f->t0)))
		return 0;
	return end;
}

void tl_fold_ends(struct timeline_fold *f, struct tl_ctx *c)
{
	fold_arrows(f, c, 0);
}

int timeline_fold_finish(struct timeline_fold *f, const struct model *m, struct timeline *tl)
{
	struct tl_opts o = {.symbolize = 1};
	uint64_t end = tl_fold_end(f, m);
	struct tl_ctx c;

	if (!end || tl_begin(&c, tl, m, &o))
		return -1;
	tl->t1 = end;	/* the intervals' latest end (tl_begin() looks in the histories) */
	if (!f->spanned)	/* no interval at all */
		f->last = tl->t0;
	tl_build_lanes(&c, fill_folded, f);
	fold_arrows(f, &c, 1);
	fold_pairs(f, &c);
	sweep(f, UINT64_MAX);
	if (tl->t1 > f->last && f->cur >= 0 && f->cur <= (int64_t)f->max_par)
		f->par_time[f->cur] += tl->t1 - f->last;
	tl->max_par = f->max_par;
	tl->par_time = xcalloc(f->max_par + 1, sizeof(*tl->par_time));
	memcpy(tl->par_time, f->par_time, (f->max_par + 1) * sizeof(*tl->par_time));
	tl_end(&c);
	return 0;
}
