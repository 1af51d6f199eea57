/* gil.c — the GIL inferred from futex waits (see gil.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "capture/gilprobe.h"
#include "analysis/gil.h"
#include "lib/idmap.h"
#include "lib/util.h"

#define ETIMEDOUT_RET (-110)
/* Waits of one thread closer than this belong to one take_gil episode (the loop in take_gil
 * re-waits within microseconds after a timeout; 1 ms leaves room for a runnable delay). */
#define EPISODE_GAP_NS 1000000ull
/* A holder that blocks on a condvar this soon after waking a waiter was asked to drop (the
 * forced switch: it waits on switch_cond, then for the GIL again). */
#define DROP_WINDOW_NS 2000000ull

static void detect_python(const struct m_process *p, struct gil_process *g)
{
	char v[16];

	/* after an exec the new program is what counts (a fork of python exec'ing ldconfig
	 * still carries the parent's maps until the recorder re-reads them) */
	if (p->execs && p->exe) {
		if (gil_python_version(p->exe, v, sizeof(v))) {
			g->is_python = 1;
			snprintf(g->version, sizeof(g->version), "%s", v);
		} else {
			const char *b = strrchr(p->exe, '/');

			if (strncmp(b ? b + 1 : p->exe, "python", 6))
				return;
		}
	}
	for (size_t i = 0; i < p->maps.n; i++)
		if (gil_python_version(p->maps.v[i].path, v, sizeof(v))) {
			g->is_python = 1;
			if (strlen(v) > strlen(g->version))
				snprintf(g->version, sizeof(g->version), "%s", v);
		}
	if (!g->is_python && (gil_python_version(p->exe, v, sizeof(v)) ||
			      gil_python_version(p->comm, v, sizeof(v)))) {
		g->is_python = 1;
		snprintf(g->version, sizeof(g->version), "%s", v);
	}
	if (!g->is_python && p->cmdline) {
		char first[256];

		snprintf(first, sizeof(first), "%s", p->cmdline);
		first[strcspn(first, " ")] = 0;
		if (gil_python_version(first, v, sizeof(v))) {
			g->is_python = 1;
			snprintf(g->version, sizeof(g->version), "%s", v);
		}
	}
}

/* glibc's condvar waits on one of two words, __g_signals[0] and [1], side by side in an
 * 8-byte aligned pair: one key for both. */
static uint64_t cond_key(uint64_t addr)
{
	return addr & ~7ull;
}

static int thread_in(const struct model *m, uint32_t tid, uint32_t pid)
{
	const struct m_thread *t = model_thread(m, tid);

	return t && t->pid == pid;
}

/* One futex wait of a thread: a futex call when the recording has them (--futex-calls: from
 * its first sleep to its return, so the runnable delay after the wakeup is in it, and its
 * result says whether it timed out), else a blocked interval in one (the sleep itself; timed
 * out when no thread woke it, model.c). */
struct cond_wait {
	uint64_t addr, from, to;
	uint32_t tid;
	uint8_t timed;		/* a timed condvar wait: FUTEX_WAIT_BITSET with a timeout */
	uint8_t timed_out;
};

/* pid's futex waits, each thread's in time order. */
static struct cond_wait *cond_waits(const struct model *m, uint32_t pid, size_t *n)
{
	struct cond_wait *v = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; m->futex_calls && i < m->nfutexes; i++) {
		const struct m_futex *f = &m->futexes[i];
		uint32_t cmd = f->op & FUTEX_CMD_MASK;

		if ((cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT) || !thread_in(m, f->tid, pid))
			continue;
		GROW(v, cap, *n + 1);
		v[(*n)++] = (struct cond_wait){
			.addr = f->uaddr, .from = f->ts > f->dur ? f->ts - f->dur : 0, .to = f->ts,
			.tid = f->tid,
			.timed = cmd == FUTEX_WAIT_BITSET && (f->flags & FUTEXF_TIMEOUT),
			.timed_out = f->ret == ETIMEDOUT_RET};
	}
	for (size_t i = 0; !m->futex_calls && i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];

		for (size_t k = 0; t->pid == pid && k < t->niv; k++) {
			const struct m_interval *iv = &t->iv[k];

			if (iv->state != TH_BLOCKED || wait_kind_class(iv->w.kind) != BC_FUTEX)
				continue;
			GROW(v, cap, *n + 1);
			v[(*n)++] = (struct cond_wait){
				.addr = iv->w.obj, .from = iv->start, .to = iv->end, .tid = t->tid,
				.timed = iv->w.timed && iv->w.kind == WK_CONDVAR,
				.timed_out = iv->w.timed_out};
		}
	}
	return v;
}

/* The GIL's condvar: the address with the most timed condvar waits (timeouts weigh more) in
 * this process, leaving out semaphores (Python's Lock.acquire(timeout=) is a timed bitset
 * wait on a sem_t; the model tells those apart by the waiter count at +4). */
static uint64_t find_gil(const struct model *m, uint32_t pid, const struct cond_wait *cw,
			 size_t ncw)
{
	struct idmap idx = {}, sem = {};
	uint64_t *addr = NULL, *score = NULL, best = 0, best_score = 0;
	size_t n = 0, cap = 0, cap2 = 0;

	/* per key: blocked intervals the model took for a semaphore vs for a condvar; a
	 * condvar's pair of words can look like a sem_t, so only a clear majority counts */
	struct idmap sidx = {};
	int64_t *sembal = NULL;
	size_t ns = 0, capb = 0;

	for (size_t i = 0; i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];

		if (t->pid != pid)
			continue;
		for (size_t k = 0; k < t->niv; k++) {
			const struct m_interval *iv = &t->iv[k];
			/* a threading Condition's or join's wait is on a Lock: a semaphore */
			int is_sem = iv->w.kind == WK_SEMAPHORE || iv->w.py;
			int64_t at;

			if (iv->state != TH_BLOCKED || (!is_sem && iv->w.kind != WK_CONDVAR))
				continue;
			at = idmap_get(&sidx, cond_key(iv->w.obj));
			if (at < 0) {
				GROW(sembal, capb, ns + 1);
				sembal[ns] = 0;
				idmap_put(&sidx, cond_key(iv->w.obj), ns);
				at = ns++;
			}
			sembal[at] += is_sem ? 1 : -3;
		}
	}
	for (size_t i = 0; i < sidx.cap; i++)
		if (sidx.vals[i] && sembal[sidx.vals[i] - 1] > 0)
			idmap_put(&sem, sidx.keys[i], 0);
	idmap_free(&sidx);
	free(sembal);
	for (size_t i = 0; i < ncw; i++) {
		const struct cond_wait *w = &cw[i];
		int64_t k;

		if (!w->timed || idmap_get(&sem, cond_key(w->addr)) >= 0)
			continue;
		k = idmap_get(&idx, cond_key(w->addr));
		if (k < 0) {
			GROW(addr, cap, n + 1);
			GROW(score, cap2, n + 1);
			addr[n] = cond_key(w->addr);
			score[n] = 0;
			idmap_put(&idx, cond_key(w->addr), n);
			k = n++;
		}
		score[k] += w->timed_out ? 4 : 1;
		if (score[k] > best_score) {
			best_score = score[k];
			best = addr[k];
		}
	}
	idmap_free(&idx);
	idmap_free(&sem);
	free(addr);
	free(score);
	return best;
}

static struct gil_thread *gthread(struct gil_process *g, uint32_t tid)
{
	for (size_t i = 0; i < g->nthreads; i++)
		if (g->threads[i].tid == tid)
			return &g->threads[i];
	return NULL;
}

/* The blocked interval of t that ended the futex call returning at ts (its waker). */
static const struct m_interval *wait_interval(const struct m_thread *t, uint64_t from, uint64_t to,
					      uint64_t addr)
{
	for (size_t k = t->niv; k-- > 0;) {
		const struct m_interval *iv = &t->iv[k];

		if (iv->start > to)
			continue;
		if (iv->end < from)
			break;
		if (iv->state == TH_BLOCKED && cond_key(iv->w.obj) == addr)
			return iv;
	}
	return NULL;
}

/* After waking the waiter at ts, did the holder go on to wait on a condvar (it was asked to
 * drop: forced) or block elsewhere / keep running (voluntary)? 1 forced, 0 voluntary, -1
 * unknown. */
static int holder_dropped_on_request(const struct model *m, uint32_t holder, uint64_t ts)
{
	const struct m_thread *t = holder ? model_thread(m, holder) : NULL;

	if (!t)
		return -1;
	for (size_t k = 0; k < t->niv; k++) {
		const struct m_interval *iv = &t->iv[k];

		if (iv->state != TH_BLOCKED || iv->end + 1000 < ts)
			continue;
		if (iv->start > ts + DROP_WINDOW_NS)
			return 0;
		return iv->w.kind == WK_CONDVAR && !iv->w.py ? 1 : 0;
	}
	return 0;
}

static void end_episode(const struct model *m, struct gil_process *g, struct gil_thread *gt,
			uint64_t start, uint64_t end, int timed_out, uint64_t last_from)
{
	const struct m_thread *t = model_thread(m, gt->tid);
	const struct m_interval *iv = t ? wait_interval(t, last_from, end, g->gil_addr) : NULL;
	uint32_t from = iv ? iv->waker : 0;
	uint64_t woke = iv ? iv->end : end;
	int forced = timed_out;
	struct gil_handoff *h;

	if (!forced && from && from != gt->tid)
		forced = holder_dropped_on_request(m, from, woke) == 1;
	gt->acquisitions++;
	if (forced)
		gt->forced++, g->forced++;
	else
		gt->voluntary++, g->voluntary++;
	if (end - start > gt->episode_max)
		gt->episode_max = end - start;
	g->handoffs = xrealloc(g->handoffs, (g->nhandoffs + 1) * sizeof(*g->handoffs));
	h = &g->handoffs[g->nhandoffs++];
	h->ts = woke;
	h->waited = end - start;
	h->from = from == gt->tid ? 0 : from;
	h->to = gt->tid;
	h->forced = forced;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_handoff(const void *a, const void *b)
{
	const struct gil_handoff *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int log2_bucket(uint64_t v)
{
	int b = 0;

	while (v > 1 && b < GIL_HIST - 1) {
		v >>= 1;
		b++;
	}
	return b;
}

/* The GIL's futexes: its condvar, its mutex, and (FORCE_SWITCHING) switch_cond and
 * switch_mutex, all in one struct _gil_runtime_state of about 200 bytes. */
#define GIL_STRUCT_SPAN 256

static int on_gil(const struct gil_process *g, uint64_t addr)
{
	return addr + GIL_STRUCT_SPAN >= g->gil_addr && addr <= g->gil_addr + GIL_STRUCT_SPAN;
}

/* While more than its main thread lived: from the first other thread's birth to the last
 * one's end; on-CPU time of every thread of the process clipped to that window. */
static void thread_window(const struct model *m, struct gil_process *g)
{
	uint64_t from = 0, to = 0;

	for (size_t i = 0; i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];

		if (t->pid != g->pid || t->tid == g->pid || !t->niv)
			continue;
		if (!from || t->iv[0].start < from)
			from = t->iv[0].start;
		if (t->iv[t->niv - 1].end > to)
			to = t->iv[t->niv - 1].end;
	}
	if (to <= from)
		return;
	g->mt_from = from;
	g->mt_wall = to - from;
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];

		if (t->pid != g->pid)
			continue;
		for (size_t k = 0; k < t->niv; k++) {
			const struct m_interval *iv = &t->iv[k];
			uint64_t s = iv->start > from ? iv->start : from;
			uint64_t e = iv->end < to ? iv->end : to;

			if (iv->state == TH_RUNNING && e > s)
				g->mt_on_cpu += e - s;
		}
	}
}

/* The process's threads and their times, from the model; its wall time. */
static void process_threads(const struct model *m, struct gil_process *g)
{
	uint64_t first = 0, last = 0;

	for (size_t i = 0; i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];
		struct gil_thread *gt;

		if (t->pid != g->pid)
			continue;
		if (t->niv) {
			if (!first || t->iv[0].start < first)
				first = t->iv[0].start;
			if (t->iv[t->niv - 1].end > last)
				last = t->iv[t->niv - 1].end;
		}
		gt = gthread(g, t->tid);
		if (!gt) {
			g->threads = xrealloc(g->threads, (g->nthreads + 1) * sizeof(*g->threads));
			gt = &g->threads[g->nthreads++];
			memset(gt, 0, sizeof(*gt));
			gt->tid = t->tid;
		}
		memcpy(gt->comm, t->comm, CLAB_COMM_LEN);
		gt->on_cpu += t->time_in[TH_RUNNING];
		gt->runnable += t->time_in[TH_RUNNABLE];
		gt->blocked_other += t->time_in[TH_BLOCKED];
		g->on_cpu += t->time_in[TH_RUNNING];
	}
	g->wall = last > first ? last - first : 0;
}

/* A thread's run of GIL waits with no gap longer than EPISODE_GAP_NS: one want of the GIL. */
struct episode {
	uint64_t start, last;
	uint64_t last_from;	/* its latest wait's start */
	int open;		/* a wait is in it */
	int timed_out;		/* one of its waits timed out */
};

/* The waits on the GIL's condvar: counts, timeouts and each thread's episodes; the timed-out
 * waits' durations go to *tdur (the switch interval). */
static void gil_waits(const struct model *m, struct gil_process *g, const struct cond_wait *cw,
		      size_t ncw, uint64_t **tdur, size_t *ntd)
{
	struct episode *ep = xcalloc(g->nthreads, sizeof(*ep));
	size_t cap = 0;

	for (size_t i = 0; i < ncw; i++) {
		const struct cond_wait *w = &cw[i];
		uint64_t dur = w->to - w->from;
		struct gil_thread *gt;
		struct episode *e;

		if (cond_key(w->addr) != g->gil_addr || !(gt = gthread(g, w->tid)))
			continue;
		e = &ep[gt - g->threads];
		gt->waits++;
		gt->gil_wait += dur;
		g->waits++;
		g->gil_wait += dur;
		if (w->timed_out) {
			gt->timeouts++;
			g->timeouts++;
			g->timeout_hist[log2_bucket(dur)]++;
			GROW(*tdur, cap, *ntd + 1);
			(*tdur)[(*ntd)++] = dur;
		}
		if (e->open && w->from > e->last + EPISODE_GAP_NS) {
			end_episode(m, g, gt, e->start, e->last, e->timed_out, e->last_from);
			e->open = 0;
		}
		if (!e->open) {
			e->start = w->from;
			e->timed_out = 0;
			e->open = 1;
		}
		e->last_from = w->from;
		e->last = w->to;
		e->timed_out |= w->timed_out;
	}
	for (size_t ti = 0; ti < g->nthreads; ti++)
		if (ep[ti].open)
			end_episode(m, g, &g->threads[ti], ep[ti].start, ep[ti].last,
				    ep[ti].timed_out, ep[ti].last_from);
	free(ep);
}

/* GIL wait = time asleep on the GIL (the futex calls' durations also hold the runnable delay
 * after the wakeup, which is counted as runnable); it is not "blocked elsewhere". */
static void gil_asleep(const struct model *m, struct gil_process *g)
{
	g->gil_wait = 0;
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];
		struct gil_thread *gt;

		if (t->pid != g->pid || !(gt = gthread(g, t->tid)))
			continue;
		gt->gil_wait = 0;
		for (size_t k = 0; k < t->niv; k++)
			if (t->iv[k].state == TH_BLOCKED && on_gil(g, t->iv[k].w.obj))
				gt->gil_wait += t->iv[k].end - t->iv[k].start;
		gt->blocked_other = gt->blocked_other > gt->gil_wait ? gt->blocked_other - gt->gil_wait
								      : 0;
		g->gil_wait += gt->gil_wait;
	}
}

static void analyze_process(const struct model *m, struct gil_process *g)
{
	uint64_t *tdur = NULL;
	size_t ntd = 0, ncw = 0;
	struct cond_wait *cw;

	process_threads(m, g);
	thread_window(m, g);
	if (!g->is_python)
		return;
	cw = cond_waits(m, g->pid, &ncw);
	g->gil_addr = find_gil(m, g->pid, cw, ncw);
	if (!g->gil_addr || !g->nthreads) {
		free(cw);
		return;
	}
	gil_waits(m, g, cw, ncw, &tdur, &ntd);
	free(cw);
	gil_asleep(m, g);
	if (ntd) {
		qsort(tdur, ntd, sizeof(*tdur), cmp_u64);
		g->interval_est = tdur[ntd / 2];
	}
	qsort(g->handoffs, g->nhandoffs, sizeof(*g->handoffs), cmp_handoff);
	/* a waiter whose last wait timed out took a GIL dropped in between, woken by nobody:
	 * the previous holder is the last thread seen taking it */
	for (size_t i = 1; i < g->nhandoffs; i++)
		if (!g->handoffs[i].from && g->handoffs[i - 1].to != g->handoffs[i].to)
			g->handoffs[i].from = g->handoffs[i - 1].to;
	free(tdur);
}

int gil_analyze(struct gil_report *r, const struct model *m)
{
	memset(r, 0, sizeof(*r));
	r->wall = m->t_last - m->t_first;
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct m_process *p = &m->procs[i];
		struct gil_process *g;
		int any = 0;

		for (size_t k = 0; k < m->nthreads && !any; k++)
			any = m->threads[k].pid == p->pid;
		if (!any)
			continue;
		r->procs = xrealloc(r->procs, (r->nprocs + 1) * sizeof(*r->procs));
		g = &r->procs[r->nprocs++];
		memset(g, 0, sizeof(*g));
		g->pid = p->pid;
		memcpy(g->comm, p->comm, CLAB_COMM_LEN);
		detect_python(p, g);
		analyze_process(m, g);
		if (g->is_python) {
			r->npython++;
			r->python_on_cpu += g->on_cpu;
		}
	}
	return 0;
}

void gil_free(struct gil_report *r)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		free(r->procs[i].threads);
		free(r->procs[i].handoffs);
		free(r->procs[i].holds);
	}
	free(r->procs);
	memset(r, 0, sizeof(*r));
}

/* ---- exact: GIL uprobes ------------------------------------------------------------------- */

int gil_cause_of_caller(const char *func)
{
	if (!func)
		return GC_OTHER;
	/* 3.10/3.11: eval_frame_handle_pending; 3.12/3.13: _Py_HandlePending */
	if (!strcmp(func, "eval_frame_handle_pending") || !strcmp(func, "_Py_HandlePending") ||
	    !strncmp(func, "_PyEval_EvalFrameDefault", 24))
		return GC_FORCED;
	if (!strcmp(func, "PyEval_SaveThread"))
		return GC_BLOCKING;
	if (!strcmp(func, "take_gil") || !strcmp(func, "PyEval_ReleaseThread") ||
	    !strncmp(func, "_PyThreadState_DeleteCurrent", 28))
		return GC_EXIT;
	return GC_OTHER;
}

const char *gil_cause_name(int c)
{
	static const char *n[GC_NCAUSES] = {"other", "switch-interval", "blocking-call",
					    "thread-exit"};

	return c >= 0 && c < GC_NCAUSES ? n[c] : "other";
}

/* Time thread t spent blocked within [from, to]: its sleep inside take_gil. */
static uint64_t blocked_within(const struct m_thread *t, uint64_t from, uint64_t to)
{
	uint64_t sum = 0;

	for (size_t k = 0; t && k < t->niv; k++) {
		const struct m_interval *iv = &t->iv[k];
		uint64_t s = iv->start > from ? iv->start : from;
		uint64_t e = iv->end < to ? iv->end : to;

		if (iv->start > to)
			break;
		if (iv->state == TH_BLOCKED && e > s)
			sum += e - s;
	}
	return sum;
}

struct gil_tstate {
	uint64_t want, hold;	/* take_gil entered / returned, 0 none open */
};

/* Walking one process's GIL records in time order. */
struct gil_walk {
	const struct model *m;
	struct gil_process *g;
	struct gil_tstate *ts;		/* per g->threads */
	uint64_t *forced_holds;		/* holds ended by a forced drop: the switch interval */
	size_t nfh, cap_fh, cap_h, cap_holds;
	uint32_t last_tid;		/* who held it last */
	uint64_t last_drop_held;	/* how long, when it was dropped since */
	int last_cause;			/* why it was dropped */
};

/* The exact data replaces the inferred episodes and hand-offs. */
static void forget_inferred(struct gil_process *g)
{
	free(g->handoffs);
	g->handoffs = NULL;
	g->nhandoffs = 0;
	g->forced = g->voluntary = 0;
	g->method = GIL_UPROBES;
	g->gil_wait = 0;
	for (size_t i = 0; i < g->nthreads; i++) {
		struct gil_thread *gt = &g->threads[i];

		gt->blocked_other += gt->gil_wait;	/* undo the inference's split */
		gt->gil_wait = gt->waits = gt->acquisitions = gt->forced = gt->voluntary = 0;
		gt->episode_max = 0;
	}
}

/* gt took the GIL at ts: its wait, and a hand-off when another thread had it. */
static void took(struct gil_walk *w, struct gil_thread *gt, struct gil_tstate *st, uint64_t ts)
{
	struct gil_process *g = w->g;
	uint64_t waited = st->want ? ts - st->want : 0;
	uint64_t slept = st->want ? blocked_within(model_thread(w->m, gt->tid), st->want, ts) : 0;

	gt->takes++;
	gt->gil_wait += slept;
	g->gil_wait += slept;
	if (slept) {
		gt->waits++;
		g->waits++;
	}
	if (waited > gt->episode_max)
		gt->episode_max = waited;
	if (w->last_tid && w->last_tid != gt->tid) {
		struct gil_handoff *h;

		GROW(g->handoffs, w->cap_h, g->nhandoffs + 1);
		h = &g->handoffs[g->nhandoffs++];
		memset(h, 0, sizeof(*h));
		h->ts = ts;
		h->waited = waited;
		h->from = w->last_tid;
		h->to = gt->tid;
		h->cause = (uint8_t)w->last_cause;
		h->forced = w->last_cause == GC_FORCED;
		h->held = w->last_drop_held;
		gt->acquisitions++;
		if (h->forced)
			gt->forced++, g->forced++;
		else
			gt->voluntary++, g->voluntary++;
	}
	st->want = 0;
	st->hold = ts;
	w->last_tid = gt->tid;	/* the holder now, whoever held it before */
	w->last_drop_held = 0;
}

/* gt dropped the GIL at ts, for cause c: the hold it ends. */
static void dropped(struct gil_walk *w, struct gil_thread *gt, struct gil_tstate *st,
		    uint64_t ts, int c)
{
	struct gil_process *g = w->g;

	g->drops[c]++;
	w->last_drop_held = 0;
	if (st->hold && ts >= st->hold) {
		struct gil_hold *hd;
		uint64_t d = ts - st->hold;

		GROW(g->holds, w->cap_holds, g->nholds + 1);
		hd = &g->holds[g->nholds++];
		hd->from = st->hold;
		hd->to = ts;
		hd->tid = gt->tid;
		hd->cause = (uint8_t)c;
		gt->held += d;
		g->held += d;
		w->last_drop_held = d;
		if (c == GC_FORCED) {
			GROW(w->forced_holds, w->cap_fh, w->nfh + 1);
			w->forced_holds[w->nfh++] = d;
		}
	}
	st->hold = 0;
	w->last_tid = gt->tid;
	w->last_cause = c;
}

static void uprobes_process(const struct model *m, struct gil_process *g,
			    const struct ev_gil *const *ev, size_t n, gil_cause_fn cause, void *ctx)
{
	struct gil_walk w = { .m = m, .g = g, .last_cause = GC_OTHER };

	w.ts = xcalloc(g->nthreads, sizeof(*w.ts));
	forget_inferred(g);
	for (size_t i = 0; i < n; i++) {
		const struct ev_gil *e = ev[i];
		struct gil_thread *gt;
		struct gil_tstate *st;
		int c;

		if (e->pid != g->pid || !(gt = gthread(g, e->hdr.tid)))
			continue;
		st = &w.ts[gt - g->threads];
		switch (e->op) {
		case GIL_TAKE_START:
			st->want = e->hdr.ts;
			break;
		case GIL_TAKE_DONE:
			took(&w, gt, st, e->hdr.ts);
			break;
		case GIL_DROP:
			c = cause ? cause(ctx, g->pid, e->ret_addr) : GC_OTHER;
			dropped(&w, gt, st, e->hdr.ts, c < 0 || c >= GC_NCAUSES ? GC_OTHER : c);
			break;
		}
	}
	for (size_t i = 0; i < g->nthreads; i++) {
		struct gil_thread *gt = &g->threads[i];

		gt->blocked_other = gt->blocked_other > gt->gil_wait ?
				    gt->blocked_other - gt->gil_wait : 0;
	}
	/* the switch interval: the median hold that ended in a forced drop */
	if (w.nfh) {
		qsort(w.forced_holds, w.nfh, sizeof(*w.forced_holds), cmp_u64);
		g->interval_est = w.forced_holds[w.nfh / 2];
	}
	free(w.forced_holds);
	free(w.ts);
}

int gil_analyze_uprobes(struct gil_report *r, const struct model *m, const struct ev_gil *const *ev,
			size_t n, gil_cause_fn cause, void *ctx)
{
	gil_analyze(r, m);
	for (size_t i = 0; i < r->nprocs; i++) {
		struct gil_process *g = &r->procs[i];
		int any = 0;

		for (size_t k = 0; k < n && !any; k++)
			any = ev[k]->pid == g->pid;
		if (!any)
			continue;
		if (!g->is_python) {	/* the probes say it is, whatever its name */
			g->is_python = 1;
			r->npython++;
			r->python_on_cpu += g->on_cpu;
		}
		uprobes_process(m, g, ev, n, cause, ctx);
	}
	return 0;
}
