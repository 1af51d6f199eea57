/* livedeadlock.c — live wait-for tracking from switch-out context, and lock-order reports. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor/doctor.h"
#include "lib/json.h"
#include "doctor/livedeadlock.h"
#include "analysis/lockorder.h"
#include "analysis/waitgraph.h"
#include "render/lockorder_report.h"
#include "model/futexkind.h"
#include "model/model.h"
#include "python/pylockwatch.h"
#include "capture/preload_shm.h"
#include "capture/recorder.h"
#include "symbols/symbolize.h"
#include "trace/trace.h"
#include "lib/util.h"
#include "syscalls.h"


struct lthread {
	pid_t tid;
	int blocked;		/* asleep, not in a timed sleep */
	uint64_t since;
	uint64_t addr;		/* futex it waits on */
	pid_t owner;		/* its owner (a mutex's, a Python Lock's), 0 when not known */
};

struct live {
	pid_t pid;		/* the command's process */
	uint64_t closed_ts;	/* when the cycle's last edge formed (CLOCK_MONOTONIC) */
	struct lthread *t;
	size_t n, cap;
	struct lockorder lo;
	struct symbolizer *sym;	/* made while the process is alive */
	struct doctor_opts dopts;
	enum on_deadlock action;
	double stall;
	int reported, found_live;
	struct doctor *diag;	/* the live finding, kept for a JSON report */
	uint64_t stall_from;	/* a stall counts from here (after an unconfirmed one) */
	size_t unconfirmed;	/* suspected deadlocks a snapshot did not confirm */
	int verbose;
	struct pylw py;		/* --locks on a CPython command: its Locks' owners and names */
	size_t py_cycles;	/* potential deadlocks between Python Locks said so far */
	uint64_t py_searched;	/* when they were last looked for */
	size_t py_named_upto;	/* edges of lo named when first seen */
};

static struct lthread *thr(struct live *l, pid_t tid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].tid == tid)
			return &l->t[i];
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->t = xrealloc(l->t, l->cap * sizeof(*l->t));
	}
	memset(&l->t[l->n], 0, sizeof(l->t[0]));
	l->t[l->n].tid = tid;
	return &l->t[l->n++];
}

static void forget(struct live *l, pid_t tid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].tid == tid) {
			l->t[i] = l->t[--l->n];
			return;
		}
}

static void py_potential(struct live *l, uint64_t now, int force);

/* Report with the doctor while the process is alive, then do what was asked. */
static int act(struct live *l, const char *why)
{
	pid_t pid = l->pid;
	struct doctor *d = NULL;
	int rc;

	/* The events are read a few ms after they happen: confirm with a snapshot, now, while
	 * the process is alive (threads that moved on in the meantime were not deadlocked). */
	rc = doctor_take(pid, &l->dopts, &d);
	if (rc != DOCTOR_FOUND) {
		if (l->verbose)
			fprintf(stderr, "conlab: %s in pid %d, not confirmed by a snapshot\n", why,
				(int)pid);
		doctor_result_free(d);
		l->unconfirmed++;
		return 0;
	}
	l->reported = 1;
	l->found_live = 1;
	if (l->closed_ts)
		fprintf(stderr, "conlab: %s in pid %d (reported %.1f ms after its last edge)\n",
			why, (int)pid, (now_mono_ns() - l->closed_ts) / 1e6);
	else
		fprintf(stderr, "conlab: %s in pid %d\n", why, (int)pid);
	/* JSON is one document with the potential deadlocks known at the end: kept till then */
	if (l->dopts.format == DOCTOR_JSON) {
		l->diag = d;
	} else {
		doctor_render(d, "live", NULL);
		doctor_result_free(d);
	}
	/* the last chance to name the Python locks of new potential deadlocks: after the kill
	 * there is no process to read them from */
	py_potential(l, now_mono_ns(), 1);
	switch (l->action) {
	case ON_STOP:
		kill(pid, SIGSTOP);
		fprintf(stderr, "conlab: pid %d left stopped (gdb -p %d; kill -KILL %d)\n",
			(int)pid, (int)pid, (int)pid);
		return REC_HOOK_STOP;
	case ON_KILL:
		kill(pid, SIGKILL);
		return REC_HOOK_KILLED;
	default:
		return 0;
	}
}

static struct lthread *find_thread(struct live *l, pid_t tid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].tid == tid)
			return &l->t[i];
	return NULL;
}

/* The threads as a wait-for graph (the doctor's, analysis/waitgraph.c): graph thread i is
 * l->t[i], a mutex wait an edge to the owner. */
static void build_graph(struct live *l, struct waitgraph *g)
{
	waitgraph_init(g);
	wg_add_process(g, l->pid, 0, NULL, NULL);
	for (size_t i = 0; i < l->n; i++) {
		const struct lthread *x = &l->t[i];
		int ti = wg_add_thread(g, x->tid, l->pid, NULL, x->blocked ? WG_BLOCKED : WG_RUNNING);

		if (x->blocked && x->owner) {
			int o = wg_object(g, l->pid, WG_MUTEX, x->addr);

			g->threads[ti].obj = o;
			g->objects[o].owner = x->owner;
		}
	}
}

/* Does t's wait close a cycle of the wait-for graph? The graph is built only when t's owner
 * waits for a mutex too: a running owner closes nothing, and most contended waits are so. */
static int closes_cycle(struct live *l, struct lthread *t)
{
	const struct lthread *o = find_thread(l, t->owner);
	int ti = (int)(t - l->t), found = 0;
	struct waitgraph g;

	if (!o || !o->blocked || !o->owner)
		return 0;
	build_graph(l, &g);
	waitgraph_analyze(&g);
	for (size_t f = 0; f < g.nfindings && !found; f++)
		for (size_t k = 0; k < g.findings[f].nthreads; k++)
			found |= g.findings[f].kind == WG_F_CYCLE && g.findings[f].threads[k] == ti;
	waitgraph_free(&g);
	return found;
}

/* A Python Lock's owner changed: a thread already asleep on it may close a cycle now (the
 * probe that says who took it can come after the other thread went to sleep on it). */
static int owner_changed(struct live *l, uint64_t sem, uint64_t ts)
{
	pid_t owner = pylw_owner(&l->py, sem);

	for (size_t i = 0; i < l->n; i++) {
		struct lthread *t = &l->t[i];

		if (!t->blocked || t->addr != sem || t->tid == owner)
			continue;
		t->owner = owner;
		if (owner && !l->reported && !l->closed_ts && closes_cycle(l, t))
			l->closed_ts = ts;
	}
	return 0;
}

static int on_event(void *ctx, const struct ev_hdr *h)
{
	struct live *l = ctx;

	switch (h->type) {
	case EV_EXEC:
		/* the command's exec: its pid is the process we diagnose */
		if (!l->pid) {
			l->pid = ((const struct ev_exec *)h)->pid;
			/* now, while it is alive: the program's own code and locks are mapped */
			l->sym = symbolizer__new_pid(l->pid);
			pylw_start(&l->py, l->pid);
		}
		break;
	case EV_SWITCH_SLEEP: {
		const struct ev_switch_sleep *s = (const void *)h;
		struct lthread *t = thr(l, h->tid);

		t->blocked = s->nr != NR_NANOSLEEP && s->nr != NR_CLOCK_NANOSLEEP;
		t->since = h->ts;
		t->owner = 0;
		if (s->nr == NR_FUTEX) {
			struct futex_wait w;
			struct futex_kind k;
			uint32_t op = s->arg1 & FUTEX_CMD_MASK;

			futex_wait_of_switch(&w, s);
			futex_classify(&w, &k);
			if (k.kind == FK_MUTEX && k.owner) {
				/* a mutex wait with its owner (model/futexkind.c, docs/design.md) */
				t->addr = s->arg0;
				t->owner = (pid_t)k.owner;
			} else if (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET) {
				/* a Python Lock's semaphore: its owner from the probes, if they saw it */
				t->addr = s->arg0;
				t->owner = pylw_owner(&l->py, s->arg0);
				/* a Lock waited on by its holder is released by another thread (a
				 * Condition's waiter lock): a wait for that thread, not for itself */
				if (t->owner == t->tid)
					t->owner = 0;
			}
		}
		if (t->owner && !l->reported && !l->closed_ts && closes_cycle(l, t))
			l->closed_ts = h->ts;	/* the last edge: the report says how long after */
		break;
	}
	case EV_SWITCH: {
		const struct ev_switch *s = (const void *)h;

		if (s->next_tid)
			thr(l, s->next_tid)->blocked = 0;
		/* an exiting thread is still switched (preempted) after its exit event: only its
		 * final switch-out, dead, ends it; forgetting it at the exit alone brought it back */
		if (h->tid && s->prev_state == TS_DEAD)
			forget(l, h->tid);
		else if (h->tid && s->prev_state == TS_RUNNABLE)
			thr(l, h->tid)->blocked = 0;
		break;
	}
	case EV_WAKEUP:
	case EV_WAKEUP_NEW:
		thr(l, h->tid)->blocked = 0;
		break;
	case EV_EXIT:
		forget(l, h->tid);
		break;
	case EV_LOCK_EDGE: {
		struct lo_edge e;

		if (!l->sym && l->pid)
			l->sym = symbolizer__new_pid(l->pid);
		if (pylw_edge(&l->py, (const void *)h, &e))
			lockorder_add(&l->lo, &e);
		break;
	}
	case EV_LOCK: {
		uint64_t sem;

		if (((const struct ev_lock *)h)->op == LOCK_OP_HELD_OVERFLOW)
			lockorder_overflow(&l->lo, h->tid);
		sem = pylw_lock_event(&l->py, (const void *)h);
		if (sem)
			return owner_changed(l, sem, h->ts);
		break;
	}
	}
	return 0;
}

/* New edges between Python Locks: name their locks and threads now, while the process lives
 * (its threads may have ended by the report), and say each new potential deadlock at once.
 * `force`: now, not after the 20 ms since the last search (a deadlock is about to be acted on). */
static void py_potential(struct live *l, uint64_t now, int force)
{
	struct lo_cycle *cyc;
	size_t n, real = 0;
	char a[160], b[160];

	/* at most every 20 ms: a program whose Condition waits make new edges all the time is
	 * not searched at every drain; but at once for a lock or thread not named yet, which
	 * may be gone in a few ms (a program that ends right after its inversion) */
	if (l->py.named_edges == l->py.py_edges)
		return;
	if (!force && now - l->py_searched < 20000000ull &&
	    !pylw_unnamed(&l->py, &l->lo, l->py_named_upto))
		return;
	l->py_searched = now;
	l->py.named_edges = l->py.py_edges;
	n = lockorder_cycles(&l->lo, &cyc);
	pylw_name(&l->py, &l->lo, l->py_named_upto, cyc, n);
	l->py_named_upto = l->lo.n;
	for (size_t i = 0; i < n; i++) {
		const struct lo_edge *e0 = &l->lo.e[cyc[i].edges[0]];

		if (cyc[i].guarded || !(e0->flags & LO_PY) || ++real <= l->py_cycles)
			continue;
		pylw_lock_label(&l->py, e0->from, a, sizeof(a));
		pylw_lock_label(&l->py, e0->to, b, sizeof(b));
		/* in name order: the same line whichever edge the search met first */
		fprintf(stderr, "conlab: potential deadlock between Python locks %s and %s%s "
			"(named while pid %d runs)\n", strcmp(a, b) < 0 ? a : b,
			strcmp(a, b) < 0 ? b : a, cyc[i].n > 2 ? " and more" : "", (int)l->pid);
	}
	if (real > l->py_cycles)
		l->py_cycles = real;
	free(cyc);
}

static int on_tick(void *ctx, uint64_t now)
{
	struct live *l = ctx;
	uint64_t oldest = now;

	py_potential(l, now, 0);
	/* a cycle closed in the events just read: act now that all of them are in (an owner
	 * another CPU's probe reported can come after the wait that needed it) */
	if (l->closed_ts && !l->reported) {
		int rc = act(l, "deadlock: a wait-for cycle closed");

		if (!l->reported)
			l->closed_ts = 0;	/* not confirmed: the next cycle is looked for */
		if (rc)
			return rc;
	}

	if (l->reported || l->stall <= 0 || !l->n)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!l->t[i].blocked)
			return 0;
		if (l->t[i].since < oldest)
			oldest = l->t[i].since;
	}
	/* the newest sleeper decides: every thread blocked for --stall seconds */
	for (size_t i = 0; i < l->n; i++)
		if (now - l->t[i].since < (uint64_t)(l->stall * 1e9))
			return 0;
	if (now - l->stall_from < (uint64_t)(l->stall * 1e9))
		return 0;
	l->stall_from = now;
	return act(l, "stall: every thread blocked without a timeout");
}

/* ---- the report at the end ---- */

struct ending {
	struct live *l;
	struct lo_report *rep;
	const struct record_result *res;
	const struct model *m;
};

static void extra_summary(struct json *j, void *ctx)
{
	struct ending *e = ctx;

	json_kv_u64(j, "potential", e->rep->real);
	json_kv_u64(j, "lock_order_edges", e->l->lo.n);
	/* between two Python Locks (or RLocks): what a Python program's own nesting made */
	json_kv_u64(j, "python_lock_edges", e->l->py.py_edges);
	json_kv_u64(j, "python_shared_orders", lockorder_shared(&e->l->lo, LO_PY));
	json_kv_u64(j, "lost", e->res->lost);
}

static void extra_json(struct json *j, void *ctx)
{
	lo_report_json(j, ((struct ending *)ctx)->rep);
}

static void overflow_json(struct json *j, const struct lockorder *lo)
{
	json_arr_begin(j, "held_overflow_tids");
	for (size_t i = 0; i < lo->noverflow; i++)
		json_i64(j, lo->overflow_tids[i]);
	json_arr_end(j);
}

/* No live finding: the same schema as the doctor's, deadlocks[] holding the potential ones. */
static void report_json(FILE *f, struct ending *e)
{
	struct json j;

	json_init(&j, f, 1);
	json_obj_begin(&j, NULL);
	json_kv_u64(&j, "version", 1);
	json_kv_i64(&j, "pid", e->l->pid);
	json_kv_str(&j, "source", "live");
	json_obj_begin(&j, "summary");
	json_kv_u64(&j, "deadlocks", e->rep->real);
	extra_summary(&j, e);
	json_obj_end(&j);
	json_arr_begin(&j, "deadlocks");
	lo_report_json(&j, e->rep);
	json_arr_end(&j);
	overflow_json(&j, &e->l->lo);
	json_obj_end(&j);
	json_end(&j);
}

void live_opts_init(struct live_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->rec.buffer = 16u << 20;
	o->rec.stacks = 1;
	o->rec.status = 1;
	o->action = ON_KILL;
	o->stall = 5;
}

int deadlock_live(const struct live_opts *o)
{
	struct live l = {.action = o->action, .stall = o->stall, .verbose = o->verbose};
	struct record_opts ro = o->rec;
	struct record_result res;
	struct trace_stats tst;
	struct model m;
	struct lo_report rep;
	struct ending end = {.l = &l, .rep = &rep, .res = &res, .m = &m};
	const char *out = o->output, *keep = o->trace;
	char tpath[] = "/tmp/conlab-deadlock-XXXXXX";
	int json = o->json, fd, rc = 2, have_model = 0;
	FILE *f = stdout;

	l.dopts.max_frames = 64;
	/* lock-order edges, and who holds each Python Lock (pylockwatch.h); the recorder chooses
	 * the library or the uprobes (REC_VIA_*) */
	ro.locks = o->rec.locks ? REC_LOCKS_ORDER | REC_LOCKS_OWNERS : 0;
	l.dopts.format = json ? DOCTOR_JSON : DOCTOR_TEXT;
	l.dopts.output = out;
	lockorder_init(&l.lo);
	pylw_init(&l.py);
	l.dopts.owners = &l.py.owners;
	if (keep) {
		ro.output = keep;
	} else {
		fd = mkstemp(tpath);
		if (fd < 0) {
			errmsg("cannot create a temporary trace: %s", strerror(errno));
			return 2;
		}
		close(fd);
		ro.output = tpath;
	}
	/* CPython's Lock.acquire() first tries sem_trywait, which the library takes for a
	 * trylock (no edge): only the uprobes tell the interpreter's trywait apart by its site */
	if (ro.locks && ro.locks_via == REC_VIA_PRELOAD && preload_python_cmd(ro.cmd[0]))
		fprintf(stderr, "conlab: --locks=preload: a Python Lock's acquire() is a semaphore "
			"trywait, which the library counts as a trylock (no lock-order edge): "
			"inversions between Python Locks are not found (--locks=uprobes, the default "
			"for a Python command, finds them)\n");
	ro.on_event = on_event;
	ro.on_tick = on_tick;
	ro.hook_ctx = &l;
	if (record_run(&ro, &res))
		goto out;
	if (!model_from_file(&m, ro.output, NULL, &tst))
		have_model = 1;
	lo_report_init(&rep, &l.lo, have_model ? &m : NULL, l.sym, l.pid);
	pylw_name(&l.py, &l.lo, l.py_named_upto, rep.cyc, rep.ncyc);	/* still running (--duration) */
	rep.py = &l.py;
	if (json && l.diag) {
		struct doctor_extra x = {rep.real, extra_summary, extra_json, NULL, &end};

		doctor_render(l.diag, "live", &x);
	} else if (!(json && l.found_live)) {
		if (out && !(f = fopen(out, l.found_live ? "a" : "w"))) {
			errmsg("cannot open %s: %s", out, strerror(errno));
			goto report_done;
		}
		if (json)
			report_json(f, &end);
		else if (ro.locks || !l.found_live)
			lo_report_text(f, &rep);
		if (!json && ro.locks)
			fprintf(f, "%zu lock-order edge%s seen\n", l.lo.n, l.lo.n == 1 ? "" : "s");
		if (!json)
			fprintf(f, "lost events: %llu\n", (unsigned long long)res.lost);
		if (f != stdout)
			fclose(f);
	}
	rc = (l.found_live || rep.real) ? 1 : 0;
report_done:
	lo_report_free(&rep);
out:
	if (have_model)
		model_free(&m);
	if (!keep)
		unlink(tpath);
	doctor_result_free(l.diag);
	if (l.sym)
		symbolizer__free(l.sym);
	lockorder_free(&l.lo);
	pylw_free(&l.py);
	free(l.t);
	return rc;
}
