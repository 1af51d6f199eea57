/* timeline.c — lanes, reasons, arrows, marks and parallelism from the model (see timeline.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "lib/idmap.h"
#include "model/procsyms.h"
#include "model/conns.h"
#include "model/pystacks.h"
#include "analysis/timeline_int.h"
#include "lib/syscall_table.h"
#include "lib/util.h"

int32_t tl_intern(struct tl_ctx *c, const char *s)
{
	struct timeline *tl = c->tl;
	uint64_t h = idmap_str_key(0, s);
	int64_t at = idmap_get(&c->name_index, h);

	if (at >= 0 && !strcmp(tl->names[at], s))
		return at;
	GROW(tl->names, tl->cap_names, tl->nnames + 1);
	tl->names[tl->nnames] = xstrdup(s);
	if (at < 0)
		idmap_put(&c->name_index, h, tl->nnames);
	return tl->nnames++;
}

int tl_wait_kind(const struct model *m, uint32_t pid, int kind)
{
	return kind == WK_SEMAPHORE && model_is_python(m, pid) ? WK_LOCK : kind;
}

/* The name of a futex word: a Python Lock's name the recorder read, a global's symbol from the
 * process's maps, else its address. */
static int32_t futex_name(struct tl_ctx *c, int proc, uint64_t addr)
{
	const char *py = model_sync_name(c->m, c->tl->procs[proc].pid, addr, NULL);
	char buf[160];
	int64_t at;

	at = idmap_get(&c->addr_names[proc], addr);
	if (at >= 0)
		return at;
	buf[0] = 0;
	if (py)
		snprintf(buf, sizeof(buf), "%s", py);
	/* a pthread_mutex_t is 40 bytes: arrays of them are named by element */
	if (!buf[0] && c->o->symbolize)
		procsyms_data(&c->syms, c->tl->procs[proc].pid, addr, 40, buf, sizeof(buf));
	if (!buf[0])
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)addr);
	at = tl_intern(c, buf);
	idmap_put(&c->addr_names[proc], addr, at);
	return at;
}

/* What a blocked interval waits on; fds by what they are when the recording saw them
 * ("pipe:[12345] from producer (pid 42)", "tcp 127.0.0.1:40000→127.0.0.1:8080"). */
int32_t tl_wait_name(struct tl_ctx *c, int proc, const struct m_wait *w, uint64_t ts)
{
	char buf[192];
	const char *sc;

	switch (w->kind) {
	case WK_JOIN:
		if (w->holder) {
			snprintf(buf, sizeof(buf), "thread %u", w->holder);
			return tl_intern(c, buf);
		}
		return futex_name(c, proc, w->obj);
	case WK_CONDVAR: {
		/* glibc condvars wait on __g_signals inside the 48-byte object: name the object */
		const char *nm, *plus;
		int32_t at;

		/* threading's Condition: by the line that waits */
		if (w->py && !model_py_site_name(c->m, model_py_wait_site(c->m, w->stack_id), "",
						 buf, sizeof(buf)))
			return tl_intern(c, buf);
		at = futex_name(c, proc, w->obj);
		nm = c->tl->names[at];
		plus = strrchr(nm, '+');

		if (plus && plus != nm && strtoull(plus + 1, NULL, 16) < 48) {
			snprintf(buf, sizeof(buf), "%.*s", (int)(plus - nm), nm);
			return tl_intern(c, buf);
		}
		return at;
	}
	case WK_MUTEX: case WK_LOCK: case WK_RWLOCK: case WK_SEMAPHORE: case WK_FUTEX:
		return futex_name(c, proc, w->obj);
	case WK_READ: case WK_WRITE: case WK_ACCEPT:
		if (!fd_describe(c->m, c->tl->procs[proc].pid, (int32_t)w->obj, ts, buf, sizeof(buf)))
			snprintf(buf, sizeof(buf), "fd %lld", (long long)(int32_t)w->obj);
		return tl_intern(c, buf);
	case WK_POLL:
		sc = syscall_name(w->nr);
		if (w->nr == NR_EPOLL_WAIT || w->nr == NR_EPOLL_PWAIT || w->nr == NR_EPOLL_PWAIT2)
			snprintf(buf, sizeof(buf), "%s fd %lld", sc ? sc : "epoll",
				 (long long)(int32_t)w->obj);
		else
			snprintf(buf, sizeof(buf), "%s", sc ? sc : "poll");
		return tl_intern(c, buf);
	case WK_CHILD:
		if ((int64_t)w->obj <= 0)
			return tl_intern(c, "any child");
		snprintf(buf, sizeof(buf), "pid %lld", (long long)(int64_t)w->obj);
		return tl_intern(c, buf);
	case WK_OTHER:
		sc = w->nr >= 0 ? syscall_name(w->nr) : NULL;
		if (sc)
			return tl_intern(c, sc);
		if (w->nr >= 0) {
			snprintf(buf, sizeof(buf), "syscall %d", w->nr);
			return tl_intern(c, buf);
		}
		return tl_intern(c, "in the kernel");
	default:
		return -1;
	}
}

static void add_piece(struct tl_ctx *c, struct tl_lane *l, const struct tl_iv *p)
{
	uint64_t d = p->end - p->start;

	if (!l->n)
		l->first = p->start;
	l->last = p->end;
	l->time_in[p->state] += d;
	if (p->state == TH_BLOCKED)
		l->blocked_kind[p->kind] += d;
	if (p->flags & TLF_LOST)
		l->lost_ns += d;
	if (c->piece) {
		c->piece(c, l, p);
	} else {
		GROW_RAW(l->iv, l->cap, l->n + 1);
		l->iv[l->n] = *p;
	}
	l->n++;
}

/* The innermost Python frame of a wait with a Python stack (model/pystacks.h), as 1 + its
 * index in names; 0 for any other wait. */
static uint32_t py_site(struct tl_ctx *c, const struct m_wait *w)
{
	const struct m_stack *st =
		w->stack_id >= PY_STACK_ID_BASE ? model_stack(c->m, w->stack_id) : NULL;
	char buf[300];

	for (uint32_t i = 0; st && i < st->n; i++) {
		const struct m_pyframe *f = model_py_pc(c->m, st->ips[i]);
		const char *b;

		if (!f)
			continue;
		if (!f->qualname)
			return 0;
		b = f->file && strrchr(f->file, '/') ? strrchr(f->file, '/') + 1 : f->file;
		snprintf(buf, sizeof(buf), "%s (%s:%d)", f->qualname, b ? b : "?", f->line);
		return (uint32_t)tl_intern(c, buf) + 1;
	}
	return 0;
}

void tl_add_interval(struct tl_ctx *c, struct tl_lane *l, const struct m_interval *iv, int proc)
{
	const struct model *m = c->m;
	struct tl_iv p = {.name = -1};
	uint64_t s = iv->start, e = iv->end;

	if (s < c->tl->t0)
		s = c->tl->t0;
	if (e > c->tl->t1)
		e = c->tl->t1;
	if (s >= e)
		return;
	p.state = iv->state;
	p.flags = iv->flags;
	p.cpu = iv->cpu;
	if (iv->state == TH_BLOCKED) {
		p.kind = tl_wait_kind(m, c->tl->procs[proc].pid, iv->w.kind);
		p.obj = iv->w.obj;
		p.holder = iv->w.holder;
		p.waker = iv->waker;
		p.timed_out = iv->w.timed_out;
		p.name = tl_wait_name(c, proc, &iv->w, iv->start);
		p.site = py_site(c, &iv->w);
	}
	for (size_t k = 0; k < m->nlosses && s < e; k++) {
		const struct m_loss_window *w = &m->losses[k];

		if (w->to <= s || w->from >= e)
			continue;
		if (w->from > s) {
			p.start = s;
			p.end = w->from;
			add_piece(c, l, &p);
		}
		struct tl_iv gap = p;

		gap.start = w->from > s ? w->from : s;
		gap.end = w->to < e ? w->to : e;
		gap.guess = p.state;
		gap.state = TH_UNKNOWN;
		gap.kind = WK_NONE;
		gap.name = -1;
		gap.flags |= TLF_LOST | IV_UNCERTAIN;
		add_piece(c, l, &gap);
		s = gap.end;
	}
	if (s < e) {
		p.start = s;
		p.end = e;
		add_piece(c, l, &p);
	}
}

static int cmp_par(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;	/* [ts, delta] pairs; ts compared unsigned */

	if (x[0] != y[0])
		return (uint64_t)x[0] < (uint64_t)y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];	/* ends before starts at the same time */
}

void tl_par_begin(struct tl_par_sweep *w, struct timeline *tl, struct spool *out)
{
	memset(w, 0, sizeof(*w));
	w->tl = tl;
	w->out = out;
	w->last = tl->t0;
	w->step = (struct tl_par){tl->t0, 0};
	tl->max_par = 0;
	GROW(tl->par_time, w->cap_time, 1);
}

/* The step drawn so far is complete: into the series. */
static void par_emit(struct tl_par_sweep *w)
{
	struct timeline *tl = w->tl;

	if (w->out) {
		if (spool_add(w->out, &w->step))
			w->err = -1;
		return;
	}
	GROW(tl->par, tl->cap_par, tl->npar + 1);
	tl->par[tl->npar++] = w->step;
}

/* Every change at the instant w->at is in: its step. */
static void par_settle(struct tl_par_sweep *w)
{
	if (w->cur < 0)
		w->cur = 0;
	if (w->step.ts == w->at) {
		w->step.n = w->cur;
	} else if (w->step.n != w->cur) {
		par_emit(w);
		w->step = (struct tl_par){w->at, w->cur};
	}
}

void tl_par_event(struct tl_par_sweep *w, uint64_t ts, int64_t delta)
{
	struct timeline *tl = w->tl;

	if (w->open && ts != w->at)
		par_settle(w);	/* settle every change at an instant before drawing it */
	if (w->cur >= 0 && w->cur <= (int64_t)tl->max_par && ts >= w->last)
		tl->par_time[w->cur] += ts - w->last;
	w->last = ts;
	w->cur += delta;
	w->at = ts;
	w->open = 1;
	if (w->cur > (int64_t)tl->max_par) {
		tl->max_par = w->cur;
		GROW(tl->par_time, w->cap_time, tl->max_par + 1);
	}
}

int tl_par_end(struct tl_par_sweep *w)
{
	struct timeline *tl = w->tl;

	if (w->open)
		par_settle(w);
	par_emit(w);
	if (tl->t1 > w->last && w->cur >= 0 && w->cur <= (int64_t)tl->max_par)
		tl->par_time[w->cur] += tl->t1 - w->last;
	return w->err;
}

static void build_parallelism(struct timeline *tl)
{
	struct tl_par_sweep w;
	size_t n = 0;
	int64_t *ev;

	for (size_t i = 0; i < tl->nlanes; i++)
		n += tl->lanes[i].n;
	ev = xmalloc((2 * n + 1) * 2 * sizeof(*ev));
	n = 0;
	for (size_t i = 0; i < tl->nlanes; i++)
		for (size_t k = 0; k < tl->lanes[i].n; k++) {
			const struct tl_iv *v = &tl->lanes[i].iv[k];

			if (v->state != TH_RUNNING)
				continue;
			ev[2 * n] = v->start, ev[2 * n + 1] = 1, n++;
			ev[2 * n] = v->end, ev[2 * n + 1] = -1, n++;
		}
	qsort(ev, n, 2 * sizeof(*ev), cmp_par);
	tl_par_begin(&w, tl, NULL);
	for (size_t i = 0; i < n; i++)
		tl_par_event(&w, ev[2 * i], ev[2 * i + 1]);
	tl_par_end(&w);
	free(ev);
}

static void add_mark(struct timeline *tl, const struct tl_mark *mk)
{
	GROW(tl->marks, tl->cap_marks, tl->nmarks + 1);
	tl->marks[tl->nmarks++] = *mk;
}

static void build_marks(struct tl_ctx *c, const struct ev_hdr *const *rec, size_t nrec)
{
	struct timeline *tl = c->tl;

	for (size_t i = 0; i < nrec; i++) {
		const struct ev_hdr *h = rec[i];
		struct tl_mark mk = {.ts = h->ts, .tid = h->tid, .name = -1};

		if (h->ts < tl->t0 || h->ts > tl->t1)
			continue;
		switch (h->type) {
		case EV_FORK: {
			const struct ev_fork *f = (const void *)h;

			mk.kind = f->flags & FORKF_THREAD ? TLM_THREAD : TLM_FORK;
			mk.pid = f->child_pid;
			mk.other = mk.kind == TLM_FORK ? f->parent_pid : f->parent_tid;
			break;
		}
		case EV_EXEC: {
			const struct ev_exec *e = (const void *)h;
			char fn[sizeof(e->filename) + 1];

			memcpy(fn, e->filename, sizeof(e->filename));
			fn[sizeof(e->filename)] = 0;
			mk.kind = TLM_EXEC;
			mk.pid = e->pid;
			mk.name = tl_intern(c, fn);
			break;
		}
		case EV_EXIT: {
			const struct ev_exit *e = (const void *)h;

			mk.kind = TLM_EXIT;
			mk.pid = e->pid;
			mk.other = !!(e->flags & EXITF_GROUP_DEAD);
			mk.code = e->exit_code;
			break;
		}
		default:
			continue;
		}
		mk.lane = tl_lane_of(tl, mk.tid);
		add_mark(tl, &mk);
	}
}

void tl_build_lanes(struct tl_ctx *c, size_t (*fill)(struct tl_ctx *c, struct tl_lane *l,
						      const struct m_thread *t, void *arg),
		    void *arg)
{
	const struct model *m = c->m;
	struct timeline *tl = c->tl;

	/* a reused pid can make two process entries match one thread: one lane per thread */
	char *placed = xcalloc(m->nthreads + 1, 1);

	tl->lanes = xcalloc(m->nthreads + 1, sizeof(*tl->lanes));
	for (size_t p = 0; p < tl->nprocs; p++) {
		struct tl_proc *pr = &tl->procs[p];

		pr->first_lane = tl->nlanes;
		/* the leader first, then the others in the order they appeared */
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < m->nthreads; i++) {
				const struct m_thread *t = &m->threads[i];
				struct tl_lane *l = &tl->lanes[tl->nlanes];

				if (placed[i] || t->pid != pr->pid ||
				    (pass == 0) != (t->tid == t->pid))
					continue;
				placed[i] = 1;
				memset(l, 0, sizeof(*l));
				l->tid = t->tid;
				l->pid = t->pid;
				l->proc = p;
				l->th = i;
				memcpy(l->comm, t->comm, CLAB_COMM_LEN);
				l->born = t->flags & IV_INFERRED ? 0 : t->born;
				l->died = t->died;
				if (!fill(c, l, t, arg)) {
					free(l->iv);
					free(l->cells);
					continue;
				}
				idmap_put(&tl->lane_index, l->tid, tl->nlanes);
				tl->nlanes++;
			}
		pr->nlanes = tl->nlanes - pr->first_lane;
	}
	free(placed);
}

/* A lane's pieces: the thread's intervals in the window. */
static size_t fill_intervals(struct tl_ctx *c, struct tl_lane *l, const struct m_thread *t,
			     void *arg)
{
	(void)arg;
	for (size_t k = 0; k < t->niv; k++)
		tl_add_interval(c, l, &t->iv[k], l->proc);
	return l->n;
}

/* k is t's last blocked interval */
static int last_wait(const struct m_thread *t, size_t k)
{
	for (size_t i = k + 1; i < t->niv; i++)
		if (t->iv[i].state == TH_BLOCKED)
			return 0;
	return 1;
}

/*
 * The wakeup of a killed thread delivered to an idle CPU is reported from there, with no
 * waker: then how the thread ended tells. Its exit record says it died inside a futex call
 * (the fatal signal ended the wait), or the futex call of the wait, when recorded, returned
 * -ERESTARTSYS and the thread died without another wait.
 */
int tl_killed_in_call(const struct m_thread *t, const struct m_futex *f,
		      const struct m_interval *iv)
{
	if (t->died_in_futex && iv->w.nr >= 0 && syscall_wait(iv->w.nr) == SW_FUTEX)
		return 1;
	return f && f->uaddr == iv->w.obj && f->ret == -512;
}

static int killed_in_call(const struct model *m, const struct m_thread *t,
			  const struct m_interval *iv)
{
	for (size_t i = 0; i < m->nfutexes; i++) {
		const struct m_futex *f = &m->futexes[i];

		if (f->tid != t->tid || f->ts < iv->end)
			continue;
		return tl_killed_in_call(t, f, iv);
	}
	return tl_killed_in_call(t, NULL, iv);
}

void tl_ended_in_wait(struct tl_ctx *c, struct tl_lane *l, const struct m_interval *iv,
		      uint32_t by)
{
	l->ended_in_wait = 1;
	l->end_kind = tl_wait_kind(c->m, l->pid, iv->w.kind);
	l->end_name = tl_wait_name(c, l->proc, &iv->w, iv->start);
	l->end_by = by;
}

/* A write in another traced process: a message over a socket, a pipe... (conns.h). */
static int is_message(const struct model *m, const struct m_wakeup *wk, const struct m_thread *t)
{
	const struct m_thread *w = model_thread(m, wk->waker);

	return w && w->pid != t->pid && conn_write_syscall(wk->waker_nr);
}

void tl_make_arrow(struct tl_ctx *c, const struct m_thread *t, int to,
		   const struct m_interval *iv, const struct m_wakeup *wk, uint64_t seq,
		   struct tl_arrow *a)
{
	const struct model *m = c->m;
	struct timeline *tl = c->tl;

	a->seq = seq;
	a->ts = wk->ts;
	a->obj = iv->w.obj;
	a->waker_obj = wk->obj;
	a->waker = wk->waker;
	a->wakee = t->tid;
	a->to_lane = to;
	a->from_lane = tl_lane_of(tl, wk->waker);
	a->name = tl_wait_name(c, tl->lanes[to].proc, &iv->w, iv->start);
	a->waker_nr = wk->waker_nr;
	a->kind = tl_wait_kind(m, t->pid, iv->w.kind);
	a->flags = iv->flags & IV_UNCERTAIN;
	a->msg = is_message(m, wk, t);
	if (m->nlosses && model_uncertain(m, wk->ts, wk->ts))
		a->flags |= IV_UNCERTAIN;
	tl->lanes[to].wakeups_in++;
	if (a->from_lane >= 0)
		tl->lanes[a->from_lane].wakeups_out++;
}

static void build_arrows(struct tl_ctx *c)
{
	const struct model *m = c->m;
	struct timeline *tl = c->tl;

	/* waits are in time order per lane; merge by sorting at the end */
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];
		int to = tl_lane_of(tl, t->tid);
		uint32_t made = 0;

		if (to < 0 || tl->lanes[to].pid != t->pid)
			continue;
		for (size_t k = 0; k < t->niv; k++) {
			const struct m_interval *iv = &t->iv[k];
			const struct m_wakeup *wk;
			struct tl_arrow *a;

			if (iv->state != TH_BLOCKED || iv->wakeup < 0 ||
			    (size_t)iv->wakeup >= m->nwakeups)
				continue;
			wk = &m->wakeups[iv->wakeup];
			if (wk->ts < tl->t0 || wk->ts > tl->t1)
				continue;
			if (!wk->waker) {
				tl->kernel_wakeups++;
				if (t->died && last_wait(t, k) && killed_in_call(m, t, iv))
					tl_ended_in_wait(c, &tl->lanes[to], iv, 0);
				continue;
			}
			GROW(tl->arrows, tl->cap_arrows, tl->narrows + 1);
			a = &tl->arrows[tl->narrows++];
			tl_make_arrow(c, t, to, iv, wk, (uint64_t)i << 32 | made++, a);
			if (wk->waker_nr == NR_EXIT_GROUP && wk->waker != t->tid &&
			    a->from_lane >= 0 && tl->lanes[a->from_lane].pid == t->pid &&
			    last_wait(t, k))
				tl_ended_in_wait(c, &tl->lanes[to], iv, wk->waker);
		}
	}
}

int tl_cmp_wait_end(const void *a, const void *b)
{
	const struct tl_wait_end *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->lane != y->lane)
		return x->lane < y->lane ? -1 : 1;
	return (x->k > y->k) - (x->k < y->k);
}

int tl_burst_wait(const struct tl_lane *l, const struct tl_iv *iv, uint64_t t1)
{
	return iv->state == TH_BLOCKED && wait_kind_class(iv->kind) == BC_FUTEX &&
	       !iv->timed_out && iv->end < t1 && !(l->died && iv->end >= l->died);
}

void tl_bursts_begin(struct tl_bursts *u, struct timeline *tl, struct spool *out)
{
	memset(u, 0, sizeof(*u));
	u->tl = tl;
	u->out = out;
}

/* Spooling: the bursts before [0, upto] are complete (the search below stops at a burst too old
 * to grow, so it never reaches those before it). */
static void bursts_flush(struct tl_bursts *u, size_t upto)
{
	for (size_t i = 0; i <= upto; i++)
		if (spool_add(u->out, &u->b[i]))
			u->err = -1;
	memmove(u->b, u->b + upto + 1, (u->n - upto - 1) * sizeof(*u->b));
	u->n -= upto + 1;
}

void tl_bursts_add(struct tl_bursts *u, const struct tl_wait_end *e)
{
	struct tl_burst *b = NULL;
	size_t k;

	for (k = u->n; k-- > 0;) {
		struct tl_burst *o = &u->b[k];

		if (e->ts - o->last > TL_BURST_GAP_NS)
			break;	/* the bursts before are older still */
		if (o->obj == e->obj && o->pid == e->pid) {
			b = o;
			break;
		}
	}
	if (u->out && ++u->added >= 4096 && !b) {
		u->added = 0;
		/* the newest burst too old to grow, and every one before it, are complete */
		for (k = u->n; k-- > 0;)
			if (e->ts - u->b[k].last > TL_BURST_GAP_NS) {
				bursts_flush(u, k);
				break;
			}
	}
	if (!b) {
		GROW(u->b, u->cap, u->n + 1);
		b = &u->b[u->n++];
		*b = (struct tl_burst){.ts = e->ts, .obj = e->obj, .pid = e->pid, .waker = e->waker,
				       .name = e->name, .kind = e->kind};
	} else if (b->waker != e->waker) {
		b->waker = 0;
	}
	b->last = e->ts;
	b->wakees++;
}

int tl_bursts_end(struct tl_bursts *u)
{
	if (!u->out) {
		u->tl->bursts = u->b;
		u->tl->nbursts = u->n;
		u->tl->cap_bursts = u->cap;
		return 0;
	}
	if (u->n)
		bursts_flush(u, u->n - 1);
	free(u->b);
	return u->err;
}

/*
 * Group the ends of futex waits into bursts: waits on one object of one process that ended
 * close together. Built from the waits, not the arrows: a wakeup delivered to an idle CPU is
 * reported from there, with no waker, and a barrier's release must still count. The waker
 * is kept when every wakeup of the burst names the same one.
 */
static void build_bursts(struct timeline *tl)
{
	struct tl_wait_end *v = NULL;
	struct tl_bursts u;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < tl->nlanes; i++) {
		const struct tl_lane *l = &tl->lanes[i];

		for (size_t k = 0; k < l->n; k++) {
			const struct tl_iv *iv = &l->iv[k];

			if (!tl_burst_wait(l, iv, tl->t1))
				continue;
			GROW(v, cap, n + 1);
			v[n++] = (struct tl_wait_end){.ts = iv->end, .obj = iv->obj, .pid = l->pid,
						      .waker = iv->waker, .name = iv->name,
						      .kind = iv->kind, .lane = i, .k = k};
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), tl_cmp_wait_end);
	tl_bursts_begin(&u, tl, NULL);
	for (size_t i = 0; i < n; i++)
		tl_bursts_add(&u, &v[i]);
	tl_bursts_end(&u);
	free(v);
}

uint64_t tl_flow_id(uint32_t wakee, uint64_t ts)
{
	return ((uint64_t)wakee << 40) ^ ts ^ 0x5a5a000000000000ull;
}

/* The pieces an arrow from a traced waker ends at (TLF_FLOW): by wakee and time. */
static void mark_flows(struct timeline *tl)
{
	struct idmap ends = {0};

	for (size_t i = 0; i < tl->narrows; i++)
		if (tl->arrows[i].from_lane >= 0)
			idmap_put(&ends, tl_flow_id(tl->arrows[i].wakee, tl->arrows[i].ts), i);
	for (size_t i = 0; i < tl->nlanes; i++) {
		struct tl_lane *l = &tl->lanes[i];

		for (size_t k = 0; k < l->n; k++)
			if (l->iv[k].waker && idmap_get(&ends, tl_flow_id(l->tid, l->iv[k].end)) >= 0)
				l->iv[k].flags |= TLF_FLOW;
	}
	idmap_free(&ends);
}

int tl_cmp_arrow(const void *a, const void *b)
{
	const struct tl_arrow *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

int tl_begin(struct tl_ctx *c, struct timeline *tl, const struct model *m, const struct tl_opts *o)
{
	uint64_t end = m->t_last;

	memset(c, 0, sizeof(*c));
	c->tl = tl;
	c->m = m;
	c->o = o;
	memset(tl, 0, sizeof(*tl));
	/* the model may close its intervals after the last event (the recording's end) */
	for (size_t i = 0; i < m->nthreads; i++)
		if (m->threads[i].niv && m->threads[i].iv[m->threads[i].niv - 1].end > end)
			end = m->threads[i].iv[m->threads[i].niv - 1].end;
	tl->trace_t0 = m->t_first;
	tl->t0 = m->t_first + o->from_ns;
	tl->t1 = o->to_ns ? m->t_first + o->to_ns : end;
	if (tl->t1 > end)
		tl->t1 = end;
	if (o->from_ns && tl->t0 >= tl->t1)
		return fail("empty time window: --from is at or after --to or the trace's end (%.3f s)",
			    (end - m->t_first) / 1e9);
	tl->lost = model_lost_total(m);
	for (int k = 0; k < AN_NKINDS; k++)
		tl->anomalies += m->anomalies[k];
	tl_build_procs(c);
	procsyms_init(&c->syms, m);
	c->addr_names = xcalloc(tl->nprocs + 1, sizeof(*c->addr_names));
	return 0;
}

void tl_end(struct tl_ctx *c)
{
	struct timeline *tl = c->tl;

	build_marks(c, c->m->stream, c->m->nstream);
	for (size_t i = 0; i < tl->nlanes; i++) {
		const struct tl_lane *l = &tl->lanes[i];

		for (int s = 0; s < TH_NSTATES; s++)
			tl->time_in[s] += l->time_in[s];
		for (int k = 0; k < WK_NKINDS; k++)
			tl->blocked_kind[k] += l->blocked_kind[k];
		tl->lost_ns += l->lost_ns;
		tl->nintervals += l->n;
	}
	for (size_t p = 0; p < tl->nprocs; p++)
		idmap_free(&c->addr_names[p]);
	procsyms_free(&c->syms);
	free(c->addr_names);
	idmap_free(&c->name_index);
}

int timeline_build(struct timeline *tl, const struct model *m, const struct tl_opts *o)
{
	struct tl_ctx c;

	if (tl_begin(&c, tl, m, o))
		return -1;
	tl_build_lanes(&c, fill_intervals, NULL);
	build_arrows(&c);
	qsort(tl->arrows, tl->narrows, sizeof(*tl->arrows), tl_cmp_arrow);
	mark_flows(tl);
	build_parallelism(tl);
	build_bursts(tl);
	tl_end(&c);
	return 0;
}

void timeline_free(struct timeline *tl)
{
	for (size_t i = 0; i < tl->nlanes; i++) {
		free(tl->lanes[i].iv);
		free(tl->lanes[i].cells);
	}
	free(tl->pairs);
	for (size_t i = 0; i < tl->nnames; i++)
		free(tl->names[i]);
	free(tl->names);
	free(tl->lanes);
	free(tl->procs);
	free(tl->arrows);
	free(tl->bursts);
	free(tl->marks);
	free(tl->par);
	free(tl->par_time);
	idmap_free(&tl->lane_index);
	spool_free(tl->sp_iv);
	spool_free(tl->sp_arrows);
	spool_free(tl->sp_bursts);
	spool_free(tl->sp_par);
	spool_free(tl->sp_records);
	memset(tl, 0, sizeof(*tl));
}

/* ---- reading the sequences ----------------------------------------------------------------- */

static void cursor_on(struct tl_cursor *c, const void *arr, size_t rsize, uint64_t from,
		      uint64_t n, struct spool *sp)
{
	memset(c, 0, sizeof(*c));
	c->rsize = rsize;
	if (sp) {
		spool_cursor(&c->sc, sp, from, from + n);
		return;
	}
	c->arr = arr;
	c->i = from;
	c->n = arr ? from + n : 0;
}

void tl_cursor_ivs(struct tl_cursor *c, const struct timeline *tl, const struct tl_lane *l)
{
	cursor_on(c, l->iv, sizeof(*l->iv), tl->sp_iv ? l->iv0 : 0, l->n, tl->sp_iv);
}

void tl_cursor_arrows(struct tl_cursor *c, const struct timeline *tl)
{
	cursor_on(c, tl->arrows, sizeof(*tl->arrows), 0, tl->narrows, tl->sp_arrows);
}

void tl_cursor_bursts(struct tl_cursor *c, const struct timeline *tl)
{
	cursor_on(c, tl->bursts, sizeof(*tl->bursts), 0, tl->nbursts, tl->sp_bursts);
}

void tl_cursor_par(struct tl_cursor *c, const struct timeline *tl)
{
	cursor_on(c, tl->par, sizeof(*tl->par), 0, tl->npar, tl->sp_par);
}

void tl_cursor_records(struct tl_cursor *c, const struct timeline *tl, const struct model *m)
{
	if (tl->sp_records)
		cursor_on(c, NULL, 0, 0, spool_count(tl->sp_records), tl->sp_records);
	else
		cursor_on(c, m->stream, sizeof(*m->stream), 0, m->nstream, NULL);
}

const void *tl_next(struct tl_cursor *c)
{
	if (!c->arr)
		return c->sc.s ? spool_next(&c->sc) : NULL;
	if (c->i >= c->n)
		return NULL;
	return (const char *)c->arr + c->i++ * c->rsize;
}

const struct ev_hdr *tl_next_record(struct tl_cursor *c, const struct model *m)
{
	const void *r = tl_next(c);

	if (!r)
		return NULL;
	return c->arr ? *(const struct ev_hdr *const *)r : tl_spooled_record(r, m);
}

const char *tl_spool_error(const struct timeline *tl)
{
	struct spool *v[] = {tl->sp_iv, tl->sp_arrows, tl->sp_bursts, tl->sp_par, tl->sp_records};

	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++)
		if (spool_error(v[i]))
			return spool_error(v[i]);
	return NULL;
}

void tl_cursor_end(struct tl_cursor *c)
{
	if (c->sc.s)
		spool_cursor_end(&c->sc);
	memset(c, 0, sizeof(*c));
}

int tl_lane_of(const struct timeline *tl, uint32_t tid)
{
	return idmap_get(&tl->lane_index, tid);
}

const char *tl_name(const struct timeline *tl, int32_t idx)
{
	return idx >= 0 && (size_t)idx < tl->nnames ? tl->names[idx] : "";
}

const char *tl_label(const struct tl_iv *iv)
{
	if (iv->state == TH_BLOCKED)
		return wait_kind_name(iv->kind);
	return th_state_name(iv->state);
}

const char *tl_mark_name(int kind)
{
	static const char *n[] = {"fork", "thread", "exec", "exit"};

	return kind >= 0 && kind < TLM_NKINDS ? n[kind] : "?";
}

static void who(const struct timeline *tl, uint32_t tid, char *buf, size_t n)
{
	int l = tl_lane_of(tl, tid);

	if (l >= 0)
		snprintf(buf, n, "%s (%u)", tl->lanes[l].comm, tid);
	else
		snprintf(buf, n, "tid %u", tid);
}

const char *tl_describe(const struct timeline *tl, const struct tl_iv *iv, char *buf, size_t n)
{
	char a[48], b[48];
	size_t len;

	switch (iv->state) {
	case TH_RUNNING:
		snprintf(buf, n, "running on CPU %u", iv->cpu);
		break;
	case TH_RUNNABLE:
		snprintf(buf, n, "runnable (waiting for a CPU)");
		break;
	case TH_EXITED:
		snprintf(buf, n, "exited");
		break;
	case TH_BLOCKED:
		a[0] = b[0] = 0;
		if (iv->holder)
			who(tl, iv->holder, a, sizeof(a));
		if (iv->waker)
			who(tl, iv->waker, b, sizeof(b));
		snprintf(buf, n, "%s%s%s%s%s%s%s%s", wait_kind_name(iv->kind),
			 iv->name >= 0 ? " " : "", tl_name(tl, iv->name),
			 a[0] ? (iv->kind == WK_JOIN ? " of " : " held by ") : "", a,
			 b[0] ? ", woken by " : "", b, iv->timed_out ? " (timed out)" : "");
		break;
	default:
		if (iv->flags & TLF_LOST)
			snprintf(buf, n, "unknown: events lost (last seen %s)", th_state_name(iv->guess));
		else if (iv->flags & IV_INFERRED)
			snprintf(buf, n, "unknown: before its first event");
		else
			snprintf(buf, n, "unknown");
		break;
	}
	len = strlen(buf);
	if ((iv->flags & IV_UNCERTAIN) && !(iv->flags & TLF_LOST) && len + 12 < n)
		snprintf(buf + len, n - len, " [uncertain]");
	return buf;
}

double tl_avg_par(const struct timeline *tl)
{
	uint64_t span = tl->t1 > tl->t0 ? tl->t1 - tl->t0 : 0;

	return span ? (double)tl->time_in[TH_RUNNING] / span : 0;
}
