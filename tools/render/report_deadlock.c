/*
 * report_deadlock.c — `conlab report deadlock`: the deadlocks a trace shows.
 *
 * Real ones: threads whose last wait is on a mutex held by another thread whose last wait is,
 * in turn, on a mutex held by the next, back to the first, all blocked at one instant (a cycle
 * of the wait-for graph at the end of the trace; a deadlocked program killed by `conlab
 * deadlock` still shows it). Potential ones: cycles of the lock-order edges the lock uprobes
 * recorded (EV_LOCK_EDGE, `--locks`). Exit status 1 when either is found.
 */
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "lib/json.h"
#include "render/lockorder_report.h"
#include "model/model.h"
#include "analysis/waitgraph.h"
#include "render/deadlock_json.h"
#include "render/report.h"
#include "python/pylockwatch.h"
#include "lib/util.h"

/* A thread's last wait, when it is a mutex wait with a known owner and no timeout. */
struct last_wait {
	const struct m_thread *t;
	struct m_wait w;
	uint64_t start, end;
};

/* The end-of-trace check reads each thread's last mutex wait (and whether it blocked again),
 * the lock records and the threads' final states. */
void report_deadlock_keep(const struct report_opts *o, struct m_keep *k)
{
	report_keep_state(o, k);
	k->history = HIST_LAST_MUTEX;
}

static int last_mutex_wait(const struct model *m, const struct m_thread *t, struct last_wait *lw)
{
	const struct m_interval *iv = NULL;

	/*
	 * The thread's last mutex wait (model_finish closed the current one). It can be part of a
	 * deadlock only if nothing released it: the thread is still in it at the end, or the wait
	 * ended otherwise than by a futex wake on that mutex (a kill) and the thread then died.
	 */
	for (size_t i = t->niv; i-- > 0;)
		if (t->iv[i].state == TH_BLOCKED && t->iv[i].w.kind == WK_MUTEX) {
			iv = &t->iv[i];
			break;
		}
	if (!iv)
		return 0;
	if (iv->wakeup >= 0 && (size_t)iv->wakeup < m->nwakeups) {
		const struct m_wakeup *wk = &m->wakeups[iv->wakeup];

		if (wk->waker_nr == NR_FUTEX && wk->obj == iv->w.obj)
			return 0;	/* handed over: the lock was released */
	}
	/*
	 * It went on living after the wait: released by something else than a futex wake, it ran
	 * on and blocked again. A thread woken by the kill that ends a deadlock, whose death the
	 * trace ended too early to show, has not blocked again and still counts.
	 */
	if (!t->exited)
		for (const struct m_interval *j = iv + 1; j < t->iv + t->niv; j++)
			if (j->state == TH_BLOCKED)
				return 0;
	lw->w = iv->w;
	lw->start = iv->start;
	lw->end = iv->end ? iv->end : m->t_last;
	if (!t->exited && t->state == TH_BLOCKED && iv == &t->iv[t->niv - 1])
		lw->end = UINT64_MAX;
	lw->t = t;
	return lw->w.kind == WK_MUTEX && lw->w.holder && lw->w.holder != t->tid && !lw->w.timed;
}

/* The last waits as a wait-for graph: graph thread i is lw[i], waiting on its mutex, whose
 * owner is the holder the futex classifier read; the graph's cycle finder does the rest. */
static void build_graph(const struct model *m, struct lo_report *rep, const struct last_wait *lw,
			size_t n, struct waitgraph *g)
{
	char name[192];

	waitgraph_init(g);
	for (size_t i = 0; i < n; i++) {
		pid_t pid = (pid_t)lw[i].t->pid;
		int ti = wg_add_thread(g, (pid_t)lw[i].t->tid, pid, lw[i].t->comm, WG_BLOCKED);
		struct wg_object *o;

		if (wg_find_process(g, pid) < 0) {
			const struct m_process *p = model_process(m, (uint32_t)pid);

			wg_add_process(g, pid, p ? (pid_t)p->ppid : 0, model_comm(m, (uint32_t)pid, "?"),
				       p ? p->exe : NULL);
		}
		g->threads[ti].obj = wg_object(g, pid, WG_MUTEX, lw[i].w.obj);
		o = &g->objects[g->threads[ti].obj];
		o->owner = (pid_t)lw[i].w.holder;
		lo_report_lock_name(rep, pid, lw[i].w.obj, name, sizeof(name));
		wg_set_str(&o->name, name);
	}
}

/* The cycles of the graph whose waits all overlap at one instant. A cycle seen where events
 * were lost could be an artefact of the missing events: it is counted in *uncertain and not
 * reported as one. Returns the findings kept, as indices into g->findings. */
static size_t find_cycles(const struct model *m, const struct last_wait *lw,
			  struct waitgraph *g, size_t **out, size_t *uncertain)
{
	size_t *keep, nk = 0;

	waitgraph_analyze(g);
	keep = xcalloc(g->nfindings + 1, sizeof(*keep));
	for (size_t f = 0; f < g->nfindings; f++) {
		const struct wg_finding *fd = &g->findings[f];
		uint64_t lo = 0, hi = UINT64_MAX;

		/* mutexes of one process: a cycle through another is not this report's */
		if (fd->kind != WG_F_CYCLE)
			continue;
		for (size_t k = 0; k < fd->nthreads; k++) {
			const struct last_wait *w = &lw[fd->threads[k]];

			lo = w->start > lo ? w->start : lo;
			hi = w->end < hi ? w->end : hi;
		}
		if (lo >= hi)
			continue;	/* never all blocked at once */
		if (m->nlosses && model_uncertain(m, lo, hi == UINT64_MAX ? m->t_last : hi)) {
			(*uncertain)++;
			continue;
		}
		keep[nk++] = f;
	}
	*out = keep;
	return nk;
}

struct ctx {
	const struct model *m;
	struct lo_report *rep;
	struct last_wait *lw;
	struct waitgraph g;
	size_t *cyc;		/* kept findings of g */
	size_t ncyc;
	size_t nuncertain;	/* cycles across lost events, not reported */
};

static void text_cycles(FILE *f, struct ctx *c)
{
	char a[192], b[192];

	for (size_t i = 0; i < c->ncyc; i++) {
		const struct wg_finding *fd = &c->g.findings[c->cyc[i]];
		pid_t pid = (pid_t)c->lw[fd->threads[0]].t->pid;

		wg_finding_summary(&c->g, fd, a, sizeof(a));
		fprintf(f, "\nDEADLOCK %zu (cycle): %s\n", i + 1, a);
		for (size_t k = 0; k < fd->nthreads; k++) {
			const struct last_wait *w = &c->lw[fd->threads[k]];
			const struct m_stack *st = model_stack(c->m, w->w.stack_id);

			lo_report_lock_name(c->rep, pid, w->w.obj, a, sizeof(a));
			fprintf(f, "  %s (tid %u) waits for %s, held by tid %u, since %.3f s\n",
				w->t->comm, w->t->tid, a, w->w.holder,
				(w->start - c->m->t_first) / 1e9);
			if (w->w.ret_addr) {
				lo_report_code_name(c->rep, pid, w->w.ret_addr, b, sizeof(b));
				fprintf(f, "      at %s\n", b);
			}
			for (uint32_t fr = 0; st && fr < st->n && fr < 8; fr++) {
				lo_report_code_name(c->rep, pid, st->ips[fr], b, sizeof(b));
				fprintf(f, "      #%u %s\n", fr, b);
			}
		}
	}
}

/* What the trace knows of a thread in a cycle besides the graph: when its wait began and the
 * code it waits from. */
static void trace_thread(struct json *j, const struct waitgraph *g, int ti, void *ctx)
{
	struct ctx *c = ctx;
	const struct last_wait *w = &c->lw[ti];
	char buf[192];

	lo_report_code_name(c->rep, g->threads[ti].pid, w->w.ret_addr, buf, sizeof(buf));
	json_kv_str(j, "site", w->w.ret_addr ? buf : NULL);
	json_kv_f64(j, "since_s", (w->start - c->m->t_first) / 1e9);
}

static void json_cycles(struct json *j, struct ctx *c)
{
	const struct deadlock_json_hooks h = { trace_thread, NULL, c };

	for (size_t i = 0; i < c->ncyc; i++)
		deadlock_json_finding(j, &c->g, &c->g.findings[c->cyc[i]], &h);
}

/* The lock-order edges the --locks probes recorded. */
static void lock_edges(const struct model *m, struct lockorder *lo)
{
	lockorder_init(lo);
	for (size_t i = 0; i < m->rec.nlock_edge; i++) {
		const struct ev_lock_edge *r = m->rec.lock_edge[i];
		const struct m_process *p = model_process(m, r->pid);
		struct lo_edge e;

		/* an edge into a CPython Lock taken by a trywait is one (Lock.acquire() tries,
		 * then waits), as `conlab deadlock --locks` decides it */
		if (pylw_edge_recorded(p ? &p->maps : NULL, r, &e))
			lockorder_add(lo, &e);
	}
	for (size_t i = 0; i < m->rec.nlock; i++)
		if (m->rec.lock[i]->op == LOCK_OP_HELD_OVERFLOW)
			lockorder_overflow(lo, m->rec.lock[i]->hdr.tid);
}

static void write_json(FILE *out, struct ctx *c, const struct lockorder *lo)
{
	struct json j;

	json_init(&j, out, 1);
	json_obj_begin(&j, NULL);
	json_kv_u64(&j, "version", 1);
	json_kv_str(&j, "source", "trace");
	json_obj_begin(&j, "summary");
	json_kv_u64(&j, "deadlocks", c->ncyc + c->rep->real);
	json_kv_u64(&j, "cycles", c->ncyc);
	json_kv_u64(&j, "cycles_across_lost_events", c->nuncertain);
	json_kv_u64(&j, "potential", c->rep->real);
	json_kv_u64(&j, "lock_order_edges", lo->n);
	json_obj_end(&j);
	report_json_lost(c->m, &j);
	json_arr_begin(&j, "deadlocks");
	json_cycles(&j, c);
	lo_report_json(&j, c->rep);
	json_arr_end(&j);
	json_arr_begin(&j, "held_overflow_tids");
	for (size_t i = 0; i < lo->noverflow; i++)
		json_i64(&j, lo->overflow_tids[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

static void write_text(FILE *out, struct ctx *c, const struct lockorder *lo)
{
	size_t n = c->ncyc + c->rep->real;

	fprintf(out, "conlab report deadlock: %zu deadlock%s (%zu cycle%s, %zu potential), "
		"%zu lock-order edges\n", n, n == 1 ? "" : "s", c->ncyc, c->ncyc == 1 ? "" : "s",
		c->rep->real, lo->n);
	text_cycles(out, c);
	if (!lo->n)
		fprintf(out, "\nno lock-order edges in this trace (record with --locks for "
			"potential deadlocks)\n");
	else
		lo_report_text(out, c->rep);
	if (!c->ncyc)
		fprintf(out, "\nno wait-for cycle at the end of the trace\n");
	if (c->nuncertain)
		fprintf(out, "%zu wait-for cycle%s formed while events were lost: not reported, "
			"they could be made of missing events\n", c->nuncertain,
			c->nuncertain == 1 ? "" : "s");
	report_lost_line(c->m, out);
}

int report_deadlock(const struct model *m, const struct report_opts *o, FILE *out)
{
	struct lockorder lo;
	struct lo_report rep;
	struct ctx c = {.m = m, .rep = &rep};
	size_t nlw = 0;
	int rc;

	lock_edges(m, &lo);
	lo_report_init(&rep, &lo, m, NULL, 0);
	c.lw = xcalloc(m->nthreads ? m->nthreads : 1, sizeof(*c.lw));
	for (size_t i = 0; i < m->nthreads; i++)
		nlw += last_mutex_wait(m, &m->threads[i], &c.lw[nlw]);
	build_graph(m, &rep, c.lw, nlw, &c.g);
	c.ncyc = find_cycles(m, c.lw, &c.g, &c.cyc, &c.nuncertain);
	if (o->format == FMT_JSON)
		write_json(out, &c, &lo);
	else
		write_text(out, &c, &lo);
	rc = c.ncyc + rep.real ? 1 : 0;
	free(c.cyc);
	waitgraph_free(&c.g);
	free(c.lw);
	lo_report_free(&rep);
	lockorder_free(&lo);
	return rc;
}
