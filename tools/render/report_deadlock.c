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
#include "render/report.h"
#include "lib/util.h"

#define MAX_CYCLE 16

/* A thread's last wait, when it is a mutex wait with a known owner and no timeout. */
struct last_wait {
	const struct m_thread *t;
	struct m_wait w;
	uint64_t start, end;
};

struct rcycle {
	size_t n;
	size_t idx[MAX_CYCLE];	/* in the last_wait array; idx[i] waits for idx[i + 1]'s lock */
};

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

/* Cycles whose waits all overlap at one instant. A cycle seen where events were lost could be
 * an artefact of the missing events: it is counted in *uncertain and not reported as one. */
static size_t find_cycles(const struct model *m, struct last_wait *lw, size_t n,
			  struct rcycle **out, size_t *uncertain)
{
	struct rcycle *c = NULL;
	size_t nc = 0;

	for (size_t a = 0; a < n; a++) {
		struct rcycle cy = {.n = 1, .idx = {a}};
		uint64_t lo = lw[a].start, hi = lw[a].end;
		size_t cur = a;
		int closed = 0, smallest = 1;

		while (cy.n < MAX_CYCLE) {
			size_t next = n;

			for (size_t b = 0; b < n; b++)
				if (lw[b].t->tid == lw[cur].w.holder && lw[b].t->pid == lw[cur].t->pid)
					next = b;
			if (next == n)
				break;
			/* every wait of the cycle at one instant */
			lo = lw[next].start > lo ? lw[next].start : lo;
			hi = lw[next].end < hi ? lw[next].end : hi;
			if (lo >= hi)
				break;
			if (next == a) {
				closed = 1;
				break;
			}
			cy.idx[cy.n++] = next;
			cur = next;
		}
		if (!closed)
			continue;
		/* found once: from its thread with the lowest tid */
		for (size_t k = 1; k < cy.n; k++)
			smallest &= lw[cy.idx[k]].t->tid > lw[a].t->tid;
		if (!smallest)
			continue;
		if (m->nlosses && model_uncertain(m, lo, hi == UINT64_MAX ? m->t_last : hi)) {
			(*uncertain)++;
			continue;
		}
		c = xrealloc(c, (nc + 1) * sizeof(*c));
		c[nc++] = cy;
	}
	*out = c;
	return nc;
}

struct ctx {
	const struct model *m;
	struct lo_report *rep;
	struct last_wait *lw;
	struct rcycle *cyc;
	size_t ncyc;
	size_t nuncertain;	/* cycles across lost events, not reported */
};

static void text_cycles(FILE *f, struct ctx *c)
{
	char a[192], b[192];

	for (size_t i = 0; i < c->ncyc; i++) {
		const struct rcycle *cy = &c->cyc[i];
		pid_t pid = (pid_t)c->lw[cy->idx[0]].t->pid;

		fprintf(f, "\nDEADLOCK %zu (cycle): lock cycle between %zu threads of pid %d (%s)\n",
			i + 1, cy->n, (int)pid, model_comm(c->m, (uint32_t)pid, "?"));
		for (size_t k = 0; k < cy->n; k++) {
			const struct last_wait *w = &c->lw[cy->idx[k]];
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

static void json_cycles(struct json *j, struct ctx *c)
{
	char buf[192];

	for (size_t i = 0; i < c->ncyc; i++) {
		const struct rcycle *cy = &c->cyc[i];
		pid_t pid = (pid_t)c->lw[cy->idx[0]].t->pid;

		json_obj_begin(j, NULL);
		json_kv_str(j, "kind", "cycle");
		snprintf(buf, sizeof(buf), "lock cycle between %zu threads of pid %d (%s)", cy->n,
			 (int)pid, model_comm(c->m, (uint32_t)pid, "?"));
		json_kv_str(j, "summary", buf);
		json_arr_begin(j, "threads");
		for (size_t k = 0; k < cy->n; k++) {
			const struct last_wait *w = &c->lw[cy->idx[k]];
			/* it holds what the previous thread of the cycle waits for */
			const struct last_wait *prev = &c->lw[cy->idx[(k + cy->n - 1) % cy->n]];

			json_obj_begin(j, NULL);
			json_kv_i64(j, "tid", w->t->tid);
			json_kv_i64(j, "pid", w->t->pid);
			json_kv_str(j, "comm", w->t->comm);
			json_kv_hex(j, "waits_for", w->w.obj);
			json_arr_begin(j, "holds");
			json_hex(j, prev->w.obj);
			json_arr_end(j);
			lo_report_code_name(c->rep, pid, w->w.ret_addr, buf, sizeof(buf));
			json_kv_str(j, "at", w->w.ret_addr ? buf : NULL);
			json_kv_f64(j, "since_s", (w->start - c->m->t_first) / 1e9);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_arr_begin(j, "objects");
		for (size_t k = 0; k < cy->n; k++) {
			const struct last_wait *w = &c->lw[cy->idx[k]];

			json_obj_begin(j, NULL);
			json_kv_hex(j, "addr", w->w.obj);
			json_kv_i64(j, "pid", pid);
			lo_report_lock_name(c->rep, pid, w->w.obj, buf, sizeof(buf));
			json_kv_str(j, "name", buf);
			json_kv_str(j, "kind", "mutex");
			json_kv_i64(j, "owner", w->w.holder);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_arr_begin(j, "pids");
		json_i64(j, pid);
		json_arr_end(j);
		json_obj_end(j);
	}
}

int report_deadlock(const struct model *m, const struct report_opts *o, FILE *out)
{
	struct lockorder lo;
	struct lo_report rep;
	struct ctx c = {.m = m, .rep = &rep};
	size_t nlw = 0;
	int rc;

	lockorder_init(&lo);
	for (size_t i = 0; i < m->rec.nlock_edge; i++)
		lockorder_add_record(&lo, m->rec.lock_edge[i]);
	for (size_t i = 0; i < m->rec.nlock; i++)
		if (m->rec.lock[i]->op == LOCK_OP_HELD_OVERFLOW)
			lockorder_overflow(&lo, m->rec.lock[i]->hdr.tid);
	lo_report_init(&rep, &lo, m, NULL, 0);
	c.lw = xcalloc(m->nthreads ? m->nthreads : 1, sizeof(*c.lw));
	for (size_t i = 0; i < m->nthreads; i++)
		nlw += last_mutex_wait(m, &m->threads[i], &c.lw[nlw]);
	c.ncyc = find_cycles(m, c.lw, nlw, &c.cyc, &c.nuncertain);

	if (o->format == FMT_JSON) {
		struct json j;

		json_init(&j, out, 1);
		json_obj_begin(&j, NULL);
		json_kv_u64(&j, "version", 1);
		json_kv_str(&j, "source", "trace");
		json_obj_begin(&j, "summary");
		json_kv_u64(&j, "deadlocks", c.ncyc + rep.real);
		json_kv_u64(&j, "cycles", c.ncyc);
		json_kv_u64(&j, "cycles_across_lost_events", c.nuncertain);
		json_kv_u64(&j, "potential", rep.real);
		json_kv_u64(&j, "lock_order_edges", lo.n);
		json_obj_end(&j);
		report_json_lost(m, &j);
		json_arr_begin(&j, "deadlocks");
		json_cycles(&j, &c);
		lo_report_json(&j, &rep);
		json_arr_end(&j);
		json_arr_begin(&j, "held_overflow_tids");
		for (size_t i = 0; i < lo.noverflow; i++)
			json_i64(&j, lo.overflow_tids[i]);
		json_arr_end(&j);
		json_obj_end(&j);
		json_end(&j);
	} else {
		fprintf(out, "conlab report deadlock: %zu deadlock%s (%zu cycle%s, %zu potential), "
			"%zu lock-order edges\n", c.ncyc + rep.real, c.ncyc + rep.real == 1 ? "" : "s",
			c.ncyc, c.ncyc == 1 ? "" : "s", rep.real, lo.n);
		text_cycles(out, &c);
		if (!lo.n)
			fprintf(out, "\nno lock-order edges in this trace (record with --locks for "
				"potential deadlocks)\n");
		else
			lo_report_text(out, &rep);
		if (!c.ncyc)
			fprintf(out, "\nno wait-for cycle at the end of the trace\n");
		if (c.nuncertain)
			fprintf(out, "%zu wait-for cycle%s formed while events were lost: not reported, "
				"they could be made of missing events\n", c.nuncertain,
				c.nuncertain == 1 ? "" : "s");
		report_lost_line(m, out);
	}
	rc = c.ncyc + rep.real ? 1 : 0;
	free(c.cyc);
	free(c.lw);
	lo_report_free(&rep);
	lockorder_free(&lo);
	return rc;
}
