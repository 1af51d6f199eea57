/* loops.c — loop threads and their busy gaps (see loops.h). */
#include <stdlib.h>
#include <string.h>

#include "lib/idmap.h"
#include "analysis/loops.h"
#include "lib/util.h"

#define DEFAULT_MIN_CALLS 5
#define DEFAULT_BLOCK_NS 1000000ull
/* Deadlines closer than this to the previous one are the same timer asked again. */
#define SAME_DEADLINE_NS 100000ull

const char *wait_sys_name(int sys)
{
	static const char *n[WAIT_SYS_N] = {"epoll_wait", "epoll_pwait", "epoll_pwait2", "poll",
					    "ppoll", "select", "pselect6", "io_uring_enter"};

	return sys >= 0 && sys < WAIT_SYS_N ? n[sys] : "?";
}

uint64_t waitcall_dur(const struct ev_waitcall *c)
{
	return c->flags & WAITF_DUR_US ? (uint64_t)c->dur * 1000 : c->dur;
}

static uint64_t call_enter(const struct ev_waitcall *c)
{
	uint64_t d = waitcall_dur(c);

	return c->hdr.ts > d ? c->hdr.ts - d : 0;
}

static int log2_bucket(uint64_t v)
{
	int b = 0;

	while (v > 1 && b < LOOP_HIST - 1) {
		v >>= 1;
		b++;
	}
	return b;
}

uint64_t loops_hist_quantile(const uint64_t *hist, size_t nb, double q)
{
	uint64_t total = 0, acc = 0;

	for (size_t b = 0; b < nb; b++)
		total += hist[b];
	if (!total)
		return 0;
	for (size_t b = 0; b < nb; b++) {
		acc += hist[b];
		if (acc >= q * total)
			return 2ull << b;
	}
	return 2ull << (nb - 1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_block(const void *a, const void *b)
{
	const struct loop_block *x = a, *y = b;

	return x->max < y->max ? 1 : x->max > y->max ? -1 : 0;
}

static int cmp_timeout(const void *a, const void *b)
{
	const struct loop_timeout *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static int fd_kind(int k)
{
	return k == WK_READ || k == WK_WRITE || k == WK_ACCEPT || k == WK_POLL;
}

static void add_block(struct loop *l, const struct m_interval *iv, uint64_t d, uint64_t start)
{
	size_t i;

	/* same syscall from the same place: one line; fds are kept apart, futexes are not
	 * (their addresses say little to a reader of a loop report) */
	for (i = 0; i < l->nblocks; i++) {
		const struct m_wait *w = &l->blocks[i].w;

		if (w->nr == iv->w.nr && w->kind == iv->w.kind && w->ret_addr == iv->w.ret_addr &&
		    (!fd_kind(w->kind) || w->obj == iv->w.obj))
			break;
	}
	if (i == l->nblocks) {
		l->blocks = xrealloc(l->blocks, (l->nblocks + 1) * sizeof(*l->blocks));
		memset(&l->blocks[i], 0, sizeof(l->blocks[i]));
		l->blocks[i].w = iv->w;
		l->nblocks++;
	}
	l->blocks[i].count++;
	l->blocks[i].total += d;
	if (d > l->blocks[i].max) {
		l->blocks[i].max = d;
		l->blocks[i].max_at = start;
		l->blocks[i].w = iv->w;
	}
}

static struct loop_fd *get_fd(struct loop *l, uint64_t fd, uint32_t pid, int role, uint32_t waker,
			      int16_t waker_nr)
{
	for (size_t i = 0; i < l->nfds; i++) {
		struct loop_fd *f = &l->fds[i];

		if (f->fd == fd && f->pid == pid && f->role == role && f->waker == waker &&
		    f->waker_nr == waker_nr)
			return f;
	}
	l->fds = xrealloc(l->fds, (l->nfds + 1) * sizeof(*l->fds));
	memset(&l->fds[l->nfds], 0, sizeof(l->fds[0]));
	l->fds[l->nfds].fd = fd;
	l->fds[l->nfds].pid = pid;
	l->fds[l->nfds].role = role;
	l->fds[l->nfds].waker = waker;
	l->fds[l->nfds].waker_nr = waker_nr;
	return &l->fds[l->nfds++];
}

/* Keep the LOOP_TOP longest gaps, longest first. */
static void keep_top(struct loop *l, const struct loop_gap *g)
{
	size_t n = l->ntop, i;
	uint64_t d = g->end - g->start;

	if (n == LOOP_TOP && d <= l->top[n - 1].end - l->top[n - 1].start)
		return;
	if (n < LOOP_TOP)
		n++;
	for (i = n - 1; i > 0 && l->top[i - 1].end - l->top[i - 1].start < d; i--)
		l->top[i] = l->top[i - 1];
	l->top[i] = *g;
	l->ntop = n;
}

/* Split [a, b] of thread t with its intervals, from *pos on (gaps come in time order). */
static void split_gap(const struct model *m, const struct m_thread *t, size_t *pos,
		      struct loop *l, struct loop_gap *g)
{
	size_t k = *pos;

	while (k < t->niv && t->iv[k].end <= g->start)
		k++;
	*pos = k;
	for (; k < t->niv && t->iv[k].start < g->end; k++) {
		const struct m_interval *iv = &t->iv[k];
		uint64_t s = iv->start > g->start ? iv->start : g->start;
		uint64_t e = iv->end < g->end ? iv->end : g->end;
		uint64_t d = e > s ? e - s : 0;

		if (iv->flags & IV_UNCERTAIN)
			g->uncertain = 1;
		switch (iv->state) {
		case TH_RUNNING:
			g->on_cpu += d;
			break;
		case TH_RUNNABLE:
			g->runnable += d;
			break;
		case TH_BLOCKED:
			g->blocked += d;
			if (d > g->w_dur) {
				g->w_dur = d;
				g->w = iv->w;
			}
			add_block(l, iv, d, s);
			if (iv->w.kind == WK_READ || iv->w.kind == WK_WRITE ||
			    iv->w.kind == WK_ACCEPT) {
				struct loop_fd *f = get_fd(l, iv->w.obj, l->pid, LFD_BLOCKING, 0, -1);

				if (iv->w.kind == WK_WRITE) {
					f->writes++;
					f->write_ns += d;
				} else if (iv->w.kind == WK_READ) {
					f->reads++;
					f->read_ns += d;
				} else {
					f->other++;
					f->read_ns += d;
				}
			}
			break;
		default:
			break;
		}
	}
	if (m->nlosses && model_uncertain(m, g->start, g->end))
		g->uncertain = 1;
}

static void note_timeout(struct loop *l, int64_t us)
{
	for (size_t i = 0; i < l->ntimeouts; i++)
		if (l->timeouts[i].us == us) {
			l->timeouts[i].count++;
			return;
		}
	if (l->ntimeouts < LOOP_NTIMEOUTS) {
		l->timeouts[l->ntimeouts].us = us;
		l->timeouts[l->ntimeouts++].count = 1;
	} else {
		l->timeouts_other++;
	}
}

/* Wakeups of the loop thread that ended a wait: who writes to the loop, through which fd. */
static void note_wakers(const struct model *m, struct loop *l, const struct ev_waitcall *const *c,
			size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < m->nwakeups; i++) {
		const struct m_wakeup *wk = &m->wakeups[i];
		const struct m_thread *wt;
		struct loop_fd *f;

		if (wk->wakee != l->tid || wk->is_new)
			continue;
		while (j < n && c[j]->hdr.ts < wk->ts)
			j++;
		if (j == n || call_enter(c[j]) > wk->ts)
			continue;	/* not inside a wait: woken from a blocking call in a gap */
		wt = wk->waker ? model_thread(m, wk->waker) : NULL;
		if (!wt)	/* interrupt context or an untraced task: one line for all */
			f = get_fd(l, (uint64_t)-1, 0, LFD_WAKER, 0, -1);
		else
			f = get_fd(l, wk->waker_nr >= 0 ? wk->obj : (uint64_t)-1, wt->pid,
				   LFD_WAKER, wk->waker, wk->waker_nr);
		f->other++;
	}
}

/* The fds a loop's waits were on, and how often each: the one waited on most is its fd. */
struct wait_fds {
	struct idmap idx;
	uint64_t *fd;
	uint32_t *n;
	size_t nfd;
	uint64_t best_n;
};

static void count_fd(struct wait_fds *w, struct loop *l, uint64_t fd)
{
	int64_t idx = idmap_get(&w->idx, fd);

	if (idx < 0) {
		idx = (int64_t)w->nfd++;
		w->fd[idx] = fd;
		idmap_put(&w->idx, fd, idx);
	}
	if (++w->n[idx] > w->best_n) {
		w->best_n = w->n[idx];
		l->wait_fd = fd;
	}
}

/* Timer lag: the deadline wait i asked for, against the first return from a wait at or after
 * it (a deadline that falls in a busy gap is served late). *last_deadline: the previous one
 * measured, so that the waits of one deadline count once. */
static void timer_lag(struct loop *l, const struct ev_waitcall *const *c, size_t n, size_t i,
		      uint64_t *last_deadline)
{
	uint64_t dl = call_enter(c[i]) + (uint64_t)c[i]->timeout_us * 1000;
	size_t j = i;

	if (c[i]->timeout_us <= 0 ||
	    !(dl > *last_deadline + SAME_DEADLINE_NS || dl + SAME_DEADLINE_NS < *last_deadline))
		return;
	while (j < n && c[j]->hdr.ts < dl)
		j++;
	if (j < n) {
		uint64_t lag = c[j]->hdr.ts - dl;

		l->lag_n++;
		l->lag_sum += lag;
		l->lag_hist[log2_bucket(lag)]++;
		if (lag > l->lag_max) {
			l->lag_max = lag;
			l->lag_max_at = dl;
		}
	}
	*last_deadline = dl;
}

/* What one wait returned: events, a timeout, an error. */
static void count_result(struct loop *l, const struct ev_waitcall *c)
{
	if (c->ret > 0)
		l->events += c->ret;
	else if (c->ret == 0 && c->timeout_us >= 0)
		l->timed_out++;
	else if (c->ret < 0)
		l->errors++;
	if (c->timeout_us == 0)
		l->zero_timeout_calls++;
	note_timeout(l, c->timeout_us);
}

/* The busy gap from one wait's return to the next wait: where the loop's time went. */
static void add_gap(const struct model *m, const struct m_thread *t, size_t *pos, struct loop *l,
		    uint64_t start, uint64_t end, uint64_t *gaps, size_t *ng)
{
	struct loop_gap g = {.start = start, .end = end < start ? start : end};

	if (t)
		split_gap(m, t, pos, l, &g);
	l->busy += g.end - g.start;
	l->gap_on_cpu += g.on_cpu;
	l->gap_runnable += g.runnable;
	l->gap_blocked += g.blocked;
	l->uncertain |= g.uncertain;
	gaps[(*ng)++] = g.end - g.start;
	l->hist[log2_bucket(g.end - g.start)]++;
	keep_top(l, &g);
}

static void analyze_thread(const struct model *m, struct loop *l, const struct ev_waitcall *const *c,
			   size_t n, const struct loops_opts *o)
{
	const struct m_thread *t = model_thread(m, l->tid);
	uint64_t *gaps = xcalloc(n ? n : 1, sizeof(*gaps));
	uint64_t sys_count[WAIT_SYS_N] = {}, last_deadline = 0;
	size_t pos = 0, ng = 0;
	struct wait_fds wf = {
		.fd = xcalloc(n ? n : 1, sizeof(*wf.fd)), .n = xcalloc(n ? n : 1, sizeof(*wf.n)),
	};

	(void)o;
	if (t) {
		memcpy(l->comm, t->comm, CLAB_COMM_LEN);
		l->pid = t->pid;
	}
	l->ncalls = n;
	l->first = call_enter(c[0]);
	l->last = c[n - 1]->hdr.ts;
	for (size_t i = 0; i < n; i++) {
		l->idle += c[i]->hdr.ts - call_enter(c[i]);
		if (c[i]->sys < WAIT_SYS_N)
			sys_count[c[i]->sys]++;
		count_result(l, c[i]);
		count_fd(&wf, l, c[i]->arg0);
		timer_lag(l, c, n, i, &last_deadline);
		if (i + 1 < n)
			add_gap(m, t, &pos, l, c[i]->hdr.ts, call_enter(c[i + 1]), gaps, &ng);
	}
	for (int s = 0; s < WAIT_SYS_N; s++)
		if (sys_count[s] > sys_count[l->sys])
			l->sys = s;
	l->ngaps = ng;
	if (ng) {
		qsort(gaps, ng, sizeof(*gaps), cmp_u64);
		l->gap_p50 = gaps[(ng - 1) / 2];
		l->gap_p99 = gaps[(size_t)((ng - 1) * 0.99)];
		l->gap_max = gaps[ng - 1];
	}
	if (l->sys <= WAIT_SYS_EPOLL_PWAIT2 || l->sys == WAIT_SYS_IO_URING_ENTER)
		for (size_t i = 0; i < wf.nfd; i++)
			get_fd(l, wf.fd[i], l->pid, LFD_WAIT, 0, -1)->other += wf.n[i];
	note_wakers(m, l, c, n);
	qsort(l->blocks, l->nblocks, sizeof(*l->blocks), cmp_block);
	qsort(l->timeouts, l->ntimeouts, sizeof(*l->timeouts), cmp_timeout);
	idmap_free(&wf.idx);
	free(wf.n);
	free(wf.fd);
	free(gaps);
}

int loops_analyze(struct loops *out, const struct model *m, const struct ev_waitcall *const *calls,
		  size_t n, const struct loops_opts *o)
{
	struct idmap byt = {};
	size_t *count = NULL, cap = 0, nt = 0;
	uint32_t *tids = NULL;
	size_t tcap = 0;

	memset(out, 0, sizeof(*out));
	out->o.min_calls = o && o->min_calls ? o->min_calls : DEFAULT_MIN_CALLS;
	out->o.block_ns = o && o->block_ns ? o->block_ns : DEFAULT_BLOCK_NS;
	out->calls = n;
	for (size_t i = 0; i < n; i++) {
		int64_t k = idmap_get(&byt, calls[i]->hdr.tid);

		if (k < 0) {
			GROW(count, cap, nt + 1);
			GROW(tids, tcap, nt + 1);
			count[nt] = 0;
			tids[nt] = calls[i]->hdr.tid;
			idmap_put(&byt, calls[i]->hdr.tid, nt);
			k = nt++;
		}
		count[k]++;
	}
	for (size_t k = 0; k < nt; k++) {
		const struct ev_waitcall **mine;
		size_t nm = 0;
		struct loop *l;

		if (count[k] < out->o.min_calls)
			continue;
		mine = xmalloc(count[k] * sizeof(*mine));
		for (size_t i = 0; i < n; i++)
			if (calls[i]->hdr.tid == tids[k])
				mine[nm++] = calls[i];
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		l = &out->v[out->n++];
		memset(l, 0, sizeof(*l));
		l->tid = tids[k];
		analyze_thread(m, l, mine, nm, &out->o);
		free(mine);
	}
	idmap_free(&byt);
	free(count);
	free(tids);
	return 0;
}

void loops_free(struct loops *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].blocks);
		free(l->v[i].fds);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}
