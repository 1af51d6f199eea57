/*
 * timeline_spool.c — the timeline of a trace of any length, in a window or not, for what
 * draws every interval (JSON, HTML, Perfetto, a window's text chart): see timeline.h,
 * timeline_spool_new.
 *
 * As the model closes an interval it goes, with the wakeup that ended it, to a spool on disk
 * (lib/spool.h) when the window draws it or its wakeup, and through the text chart's fold
 * in its ends-only form (timeline_fold.c, ncell 0), which knows at the end whether the span
 * was the one known up front and which threads ended inside their last wait; a thread with a piece in the window gets a
 * lane. At the end the spool is sorted by thread and read once, lane by lane, through the
 * same steps as timeline_build(): the pieces go to a spool of their own, each lane a range of
 * it; the arrows, the ends of futex waits (for the bursts) and the running pieces' starts and
 * ends (for the parallelism) to spools sorted as timeline_build() sorts them, then fed in
 * that order to the same sweeps. So what the report holds is the model, the lanes and what
 * the sweeps hold at one time, not the history; the output is timeline_build()'s.
 *
 * A futex call's return marks the blocked intervals on its word since its first sleep as
 * timed and timed out (model.c): with futex calls in the trace (or when the reader's first
 * pass did not say), a thread's intervals are held back from its first futex wait on until
 * its next futex return, or until a wait in another syscall (a later call's first sleep comes
 * after it).
 *
 * Perfetto mirrors probe records: the switches and wakeups among them are spooled too, 32
 * bytes each; the others (forks, execs, exits: the marks) stay in the model's event stream,
 * the spool referring to them by index.
 */
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "analysis/timeline_int.h"
#include "lib/syscall_table.h"
#include "lib/util.h"

/* A closed interval of a thread: iv.wakeup is 0 when wk_* hold the wakeup that ended it. */
struct ts_iv {
	struct m_interval iv;
	uint64_t wk_ts, wk_obj;
	uint32_t wk_waker;
	int16_t wk_nr;
	uint16_t pad;
	uint32_t th;		/* the model's thread index */
};

/* A record Perfetto mirrors: a switch or a wakeup as recorded (a switch to sleep without its
 * reason), or a fork, exec or exit as its index in the model's event stream. */
union ts_rec {
	struct ev_hdr hdr;
	struct ev_switch sw;
	struct ev_wakeup wk;
	struct {
		struct ev_hdr hdr;
		uint64_t at;
	} ref;
};

struct ts_thread {
	struct ts_iv *held;	/* held back for a futex return; the first one a futex wait */
	size_t nheld, cap_held;
	uint32_t n;		/* its intervals spooled so far */
	int drawn;		/* it has a piece in the window: a lane */
};

struct timeline_spool {
	struct m_fold hooks;
	struct timeline_fold *fold;	/* the text chart's: the span, the ends in waits */
	const struct m_fold *fh;
	struct spool *ivs;		/* struct ts_iv, grouped by thread, each thread's in order */
	struct spool *recs;		/* union ts_rec, in time order; NULL: not for Perfetto */
	uint64_t rec_types;		/* the types that go into it (bit 1 << type) */
	struct ts_thread *th;		/* by model thread index */
	size_t nth, cap_th;
	size_t nstream;			/* the model's event stream seen so far */
	struct tl_opts o;		/* the window */
};

static uint32_t ts_iv_thread(const void *r)
{
	return ((const struct ts_iv *)r)->th;
}

static struct ts_thread *spool_thread(struct timeline_spool *s, const struct model *m,
				      const struct m_thread *t)
{
	if (s->nth < m->nthreads) {
		GROW(s->th, s->cap_th, m->nthreads);
		s->nth = m->nthreads;
	}
	return &s->th[t - m->threads];
}

static void release_held(struct timeline_spool *s, struct ts_thread *tt)
{
	for (size_t i = 0; i < tt->nheld; i++)
		spool_add(s->ivs, &tt->held[i]);
	tt->nheld = 0;
}

/* A blocked interval a later futex return may mark: a futex wait, or one we cannot tell. */
static int futex_wait(const struct m_interval *v)
{
	return v->state == TH_BLOCKED && (v->w.nr < 0 || syscall_wait(v->w.nr) == SW_FUTEX);
}

static void on_interval(void *ctx, const struct model *m, const struct m_thread *t,
			const struct m_interval *v)
{
	struct timeline_spool *s = ctx;
	struct ts_thread *tt = spool_thread(s, m, t);
	struct ts_iv r = {.iv = *v, .th = t - m->threads};

	/* the window as timeline_build() will clip to it, from the span known up front */
	uint64_t t0 = m->span_first + s->o.from_ns,
		 t1 = s->o.to_ns ? m->span_first + s->o.to_ns : UINT64_MAX;
	int piece = (v->start > t0 ? v->start : t0) < (v->end < t1 ? v->end : t1);

	s->fh->interval(s->fh->ctx, m, t, v);
	tt->drawn |= piece;
	r.iv.wakeup = -1;
	if (v->wakeup >= 0 && (size_t)v->wakeup < m->nwakeups) {
		const struct m_wakeup *wk = &m->wakeups[v->wakeup];

		r.iv.wakeup = 0;
		r.wk_ts = wk->ts;
		r.wk_obj = wk->obj;
		r.wk_waker = wk->waker;
		r.wk_nr = wk->waker_nr;
	}
	if (!piece && (r.iv.wakeup < 0 || r.wk_ts < t0 || r.wk_ts > t1))
		return;	/* neither drawn nor an arrow: outside the window */
	tt->n++;	/* its intervals reach the spool in their order (held ones first) */
	if ((m->span_types && !(m->span_types & M_KEEP_TYPE(EV_FUTEX))) || m->finished) {
		release_held(s, tt);
		spool_add(s->ivs, &r);
		return;
	}
	if (v->state == TH_BLOCKED && !futex_wait(v))
		release_held(s, tt);	/* a later call's first sleep comes after this one */
	if (tt->nheld || futex_wait(v)) {
		GROW_RAW(tt->held, tt->cap_held, tt->nheld + 1);
		tt->held[tt->nheld++] = r;
		return;
	}
	spool_add(s->ivs, &r);
}

/* As model.c marks its history: the blocked intervals on the word since the call's first
 * sleep; then no later return reaches the ones held. */
static void on_futex_return(void *ctx, const struct model *m, const struct m_thread *t,
			    uint64_t from, uint64_t uaddr, int timed, int timed_out,
			    const struct m_futex *call)
{
	struct timeline_spool *s = ctx;
	struct ts_thread *tt = spool_thread(s, m, t);

	s->fh->futex_return(s->fh->ctx, m, t, from, uaddr, timed, timed_out, call);
	for (size_t i = tt->nheld; i-- > 0;) {
		struct m_interval *iv = &tt->held[i].iv;

		if (iv->end < from)
			break;
		if (iv->state == TH_BLOCKED && iv->w.obj == uaddr) {
			iv->w.timed = !!timed;
			iv->w.timed_out = !!timed_out;
		}
	}
	release_held(s, tt);
}

static void on_record(void *ctx, const struct model *m, const struct ev_hdr *h)
{
	struct timeline_spool *s = ctx;
	union ts_rec r = {0};

	if (!s->recs || h->type >= 64 || !(s->rec_types & M_KEEP_TYPE(h->type)) ||
	    h->ts < m->t_first + s->o.from_ns || (s->o.to_ns && h->ts > m->t_first + s->o.to_ns))
		return;	/* (the window as model_keep_stream() has it) */
	switch (h->type) {
	case EV_SWITCH:
	case EV_SWITCH_SLEEP:
		memcpy(&r.sw, h, sizeof(r.sw));
		break;
	case EV_WAKEUP:
	case EV_WAKEUP_NEW:
		memcpy(&r.wk, h, sizeof(r.wk));
		break;
	default:	/* kept in the event stream: the caller asked for these types there */
		if (m->nstream == s->nstream)
			return;	/* not kept: nor drawn */
		r.ref.hdr = *h;
		r.ref.at = m->nstream - 1;
		break;
	}
	s->nstream = m->nstream;
	spool_add(s->recs, &r);
}

const struct ev_hdr *tl_spooled_record(const void *slot, const struct model *m)
{
	const union ts_rec *r = slot;

	switch (r->hdr.type) {
	case EV_SWITCH: case EV_SWITCH_SLEEP: case EV_WAKEUP: case EV_WAKEUP_NEW:
		return &r->hdr;
	default:	/* on_record() referred only to records in the stream */
		return m->stream[r->ref.at];
	}
}

static void release(void *ctx)
{
	struct timeline_spool *s = ctx;

	if (s->fh->release)
		s->fh->release(s->fh->ctx);
	spool_free(s->ivs);
	spool_free(s->recs);
	for (size_t i = 0; i < s->nth; i++)
		free(s->th[i].held);
	free(s->th);
	free(s);
}

struct timeline_spool *timeline_spool_new(uint64_t records, uint64_t from_ns, uint64_t to_ns)
{
	struct timeline_spool *s = xcalloc(1, sizeof(*s));

	s->o = (struct tl_opts){.from_ns = from_ns, .to_ns = to_ns, .symbolize = 1};
	s->fold = timeline_fold_new(0);	/* the ends only: the chart is drawn here */
	s->fh = timeline_fold_hooks(s->fold);
	s->ivs = spool_new_grouped(sizeof(struct ts_iv), ts_iv_thread);
	if (records)
		s->recs = spool_new(sizeof(union ts_rec), NULL);
	s->rec_types = records;
	s->hooks = (struct m_fold){.interval = on_interval, .futex_return = on_futex_return,
				   .record = on_record, .release = release, .ctx = s};
	return s;
}

const struct m_fold *timeline_spool_hooks(struct timeline_spool *s)
{
	return &s->hooks;
}

struct timeline_spool *timeline_spool_of(const struct model *m)
{
	const struct m_fold *h = m->keep.fold;

	return h && h->interval == on_interval ? h->ctx : NULL;
}

/* ---- the end ------------------------------------------------------------------------------- */

/* What the lanes are built into: the spools the sweeps read, the arrow of the interval being
 * added (its end gets TLF_FLOW when a traced thread woke it). */
struct ts_build {
	struct spool *pieces, *arrows, *ends, *running;
	uint64_t flow_at;	/* the end of the interval being added, when it has such an arrow */
	int lane;
};

static void put_piece(struct tl_ctx *c, struct tl_lane *l, const struct tl_iv *p)
{
	struct ts_build *b = c->piece_arg;
	struct tl_iv q = *p;

	if (q.waker && b->flow_at && q.end == b->flow_at)
		q.flags |= TLF_FLOW;
	spool_add(b->pieces, &q);
	if (tl_burst_wait(l, &q, c->tl->t1)) {
		struct tl_wait_end e = {.ts = q.end, .obj = q.obj, .pid = l->pid, .waker = q.waker,
					.name = q.name, .kind = q.kind, .lane = b->lane, .k = l->n};

		spool_add(b->ends, &e);
	}
	if (q.state == TH_RUNNING) {
		int64_t ev[4] = {(int64_t)q.start, 1, (int64_t)q.end, -1};

		spool_add(b->running, ev);
		spool_add(b->running, ev + 2);
	}
}

static int cmp_running(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;	/* [ts, delta]: ts unsigned, ends before starts */

	if (x[0] != y[0])
		return (uint64_t)x[0] < (uint64_t)y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* The interval as the whole model has it at the end: a semaphore-like word found to be a
 * condvar's, its wakeup as an m_wakeup. */
static void as_whole(const struct model *m, const struct m_thread *t, struct ts_iv *r,
		     struct m_wakeup *wk)
{
	if (r->iv.w.kind == WK_SEMAPHORE && model_wait_is_condvar(m, t->pid, r->iv.w.obj))
		r->iv.w.kind = WK_CONDVAR;
	*wk = (struct m_wakeup){.ts = r->wk_ts, .obj = r->wk_obj, .waker = r->wk_waker,
				.wakee = t->tid, .waker_nr = r->wk_nr};
}

/* Thread th's intervals: its pieces into lane l (NULL: it has none), its arrows into the lane
 * its tid is drawn in (as build_arrows() finds it). */
static void add_thread(struct tl_ctx *c, struct ts_build *b, struct spool *ivs, uint64_t from,
		       uint64_t n, uint32_t th, struct tl_lane *l)
{
	const struct model *m = c->m;
	const struct m_thread *t = &m->threads[th];
	struct timeline *tl = c->tl;
	int to = tl_lane_of(tl, t->tid);
	struct spool_cursor cur;
	uint32_t made = 0;

	if (to >= 0 && tl->lanes[to].pid != t->pid)
		to = -1;
	spool_cursor(&cur, ivs, from, from + n);
	for (const struct ts_iv *p; (p = spool_next(&cur));) {
		struct ts_iv r = *p;
		struct m_wakeup wk;
		struct tl_arrow a;
		int arrow;

		as_whole(m, t, &r, &wk);
		arrow = to >= 0 && r.iv.state == TH_BLOCKED && r.iv.wakeup >= 0 &&
			wk.ts >= tl->t0 && wk.ts <= tl->t1;
		b->flow_at = arrow && wk.waker && tl_lane_of(tl, wk.waker) >= 0 ? wk.ts : 0;
		/* the piece first: names are numbered in the order timeline_build() meets them */
		if (l)
			tl_add_interval(c, l, &r.iv, l->proc);
		if (arrow && !wk.waker) {
			tl->kernel_wakeups++;
		} else if (arrow) {
			tl_make_arrow(c, t, to, &r.iv, &wk, (uint64_t)th << 32 | made++, &a);
			spool_add(b->arrows, &a);
		}
	}
	spool_cursor_end(&cur);
}

/* A lane for each thread with a piece in the window. */
static size_t fill_window(struct tl_ctx *c, struct tl_lane *l, const struct m_thread *t,
			  void *arg)
{
	struct timeline_spool *s = arg;
	size_t i = t - c->m->threads;

	(void)l;
	return i < s->nth && s->th[i].drawn;
}

/* The first error of the spools v, in one line; -1. */
static int say_error(struct spool *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (spool_error(v[i]))
			return fail("%s", spool_error(v[i]));
	return fail("a temporary file failed");
}

/* Read a sorted spool into a sweep. */
static int sweep_par(struct timeline *tl, struct spool *running)
{
	struct tl_par_sweep w;
	struct spool_cursor cur;

	free(tl->par_time);
	tl->par_time = NULL;
	tl->sp_par = spool_new(sizeof(struct tl_par), NULL);
	tl_par_begin(&w, tl, tl->sp_par);
	spool_cursor(&cur, running, 0, spool_count(running));
	for (const int64_t *e; (e = spool_next(&cur));)
		tl_par_event(&w, e[0], e[1]);
	spool_cursor_end(&cur);
	return tl_par_end(&w) || spool_seal(tl->sp_par) ? -1 : 0;
}

static int sweep_bursts(struct timeline *tl, struct spool *ends)
{
	struct tl_bursts u;
	struct spool_cursor cur;

	tl->sp_bursts = spool_new(sizeof(struct tl_burst), NULL);
	tl_bursts_begin(&u, tl, tl->sp_bursts);
	spool_cursor(&cur, ends, 0, spool_count(ends));
	for (const struct tl_wait_end *e; (e = spool_next(&cur));)
		tl_bursts_add(&u, e);
	spool_cursor_end(&cur);
	return tl_bursts_end(&u) || spool_seal(tl->sp_bursts) ? -1 : 0;
}

/* Every lane's pieces and arrows from the spooled intervals, in timeline_build()'s order. */
static int build(struct timeline_spool *s, struct tl_ctx *c)
{
	struct timeline *tl = c->tl;
	const struct model *m = c->m;
	struct ts_build b = {
		.pieces = spool_new(sizeof(struct tl_iv), NULL),
		.arrows = spool_new(sizeof(struct tl_arrow), tl_cmp_arrow),
		.ends = spool_new(sizeof(struct tl_wait_end), tl_cmp_wait_end),
		.running = spool_new(2 * sizeof(int64_t), cmp_running),
	};
	uint64_t *first = xcalloc(m->nthreads + 1, sizeof(*first));
	char *drawn = xcalloc(m->nthreads + 1, 1);
	int err;

	for (size_t i = 0; i < m->nthreads; i++)
		first[i + 1] = first[i] + (i < s->nth ? s->th[i].n : 0);
	c->piece = put_piece;
	c->piece_arg = &b;
	for (size_t i = 0; i < tl->nlanes; i++) {
		struct tl_lane *l = &tl->lanes[i];

		l->iv0 = spool_count(b.pieces);
		b.lane = i;
		drawn[l->th] = 1;
		add_thread(c, &b, s->ivs, first[l->th], first[l->th + 1] - first[l->th], l->th, l);
	}
	for (size_t i = 0; i < m->nthreads; i++)	/* a thread without a lane: its arrows */
		if (!drawn[i])
			add_thread(c, &b, s->ivs, first[i], first[i + 1] - first[i], i, NULL);
	c->piece = NULL;
	free(first);
	free(drawn);
	err = spool_seal(b.pieces) || spool_seal(b.arrows) || spool_seal(b.ends) ||
	      spool_seal(b.running);
	tl->sp_iv = b.pieces;
	tl->sp_arrows = b.arrows;
	tl->narrows = spool_count(b.arrows);
	if (!err)
		err = sweep_par(tl, b.running) || sweep_bursts(tl, b.ends);
	tl->nbursts = tl->sp_bursts ? spool_count(tl->sp_bursts) : 0;
	tl->npar = tl->sp_par ? spool_count(tl->sp_par) : 0;
	if (err) {
		struct spool *v[] = {b.pieces, b.arrows, b.ends, b.running, tl->sp_par,
				     tl->sp_bursts};

		err = say_error(v, sizeof(v) / sizeof(*v));
	}
	spool_free(b.ends);
	spool_free(b.running);
	return err;
}

int timeline_spool_finish(struct timeline_spool *s, const struct model *m, struct timeline *tl)
{
	uint64_t end = tl_fold_end(s->fold, m);
	struct tl_ctx c;
	int err;

	for (size_t i = 0; i < s->nth; i++)
		release_held(s, &s->th[i]);
	if (!end)
		return -1;
	if (tl_begin(&c, tl, m, &s->o))
		return -2;	/* an empty window: said */
	/* the intervals' latest end (tl_begin() looks in the histories) */
	tl->t1 = s->o.to_ns && m->t_first + s->o.to_ns < end ? m->t_first + s->o.to_ns : end;
	tl_build_lanes(&c, fill_window, s);
	err = spool_seal(s->ivs) ? say_error(&s->ivs, 1) : build(s, &c);
	tl_fold_ends(s->fold, &c);
	if (!err && s->recs) {
		err = spool_seal(s->recs) ? say_error(&s->recs, 1) : 0;
		tl->sp_records = s->recs;
		s->recs = NULL;
	}
	tl_end(&c);
	if (err) {
		timeline_free(tl);
		return -2;
	}
	return 0;
}
