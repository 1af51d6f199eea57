/* livedeadlock.c — live wait-for tracking from switch-out context, and lock-order reports. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"
#include "json.h"
#include "livedeadlock.h"
#include "lockorder.h"
#include "recorder.h"
#include "symbolize.h"
#include "trace.h"
#include "util.h"

#define NR_FUTEX 202
#define NR_NANOSLEEP 35
#define NR_CLOCK_NANOSLEEP 230

enum on_deadlock { ON_KILL, ON_STOP, ON_CONTINUE };

struct lthread {
	pid_t tid;
	int blocked;		/* asleep, not in a timed sleep */
	uint64_t since;
	uint64_t addr;		/* mutex it waits on */
	pid_t owner;		/* its owner, 0 when not a mutex wait */
};

struct live {
	pid_t pid;		/* the command's process */
	struct lthread *t;
	size_t n, cap;
	struct lockorder lo;
	struct symbolizer *sym;	/* made while the process is alive */
	struct doctor_opts dopts;
	enum on_deadlock action;
	double stall;
	int reported, found_live;
	uint64_t lost_hint;
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

/* Report with the doctor while the process is alive, then do what was asked. */
static int act(struct live *l, const char *why)
{
	pid_t pid = l->pid;

	l->reported = 1;
	l->found_live = 1;
	fprintf(stderr, "conlab: %s in pid %d\n", why, (int)pid);
	doctor_run(pid, &l->dopts);
	switch (l->action) {
	case ON_STOP:
		kill(pid, SIGSTOP);
		fprintf(stderr, "conlab: pid %d left stopped (gdb -p %d; kill -KILL %d)\n",
			(int)pid, (int)pid, (int)pid);
		return 1;
	case ON_KILL:
		kill(pid, SIGKILL);
		return 1;
	default:
		return 0;
	}
}

/* Does following mutex owners from t come back to t? */
static int closes_cycle(struct live *l, struct lthread *t)
{
	pid_t cur = t->owner;

	for (int hops = 0; hops < 64 && cur; hops++) {
		struct lthread *o = NULL;

		if (cur == t->tid)
			return 1;
		for (size_t i = 0; i < l->n; i++)
			if (l->t[i].tid == cur)
				o = &l->t[i];
		if (!o || !o->blocked || !o->owner)
			return 0;
		cur = o->owner;
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
		}
		break;
	case EV_SWITCH_SLEEP: {
		const struct ev_switch_sleep *s = (const void *)h;
		struct lthread *t = thr(l, h->tid);
		int op = s->arg1 & 127;

		t->blocked = s->nr != NR_NANOSLEEP && s->nr != NR_CLOCK_NANOSLEEP;
		t->since = h->ts;
		t->owner = 0;
		/* a contended glibc mutex: word 2, owner tid at +8 (DESIGN.md §1) */
		if (s->nr == NR_FUTEX && (op == 0 || op == 9) && s->word0 == 2 && s->word8) {
			t->addr = s->arg0;
			t->owner = s->word8;
		}
		if (t->owner && !l->reported && closes_cycle(l, t))
			return act(l, "deadlock: a wait-for cycle closed");
		break;
	}
	case EV_SWITCH: {
		const struct ev_switch *s = (const void *)h;

		if (s->next_tid)
			thr(l, s->next_tid)->blocked = 0;
		if (h->tid && s->prev_state == TS_RUNNABLE)
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
	case EV_LOCK_EDGE:
		if (!l->sym && l->pid)
			l->sym = symbolizer__new_pid(l->pid);
		lockorder_add_record(&l->lo, (const void *)h);
		break;
	case EV_LOCK:
		if (((const struct ev_lock *)h)->op == LOCK_OP_HELD_OVERFLOW)
			lockorder_overflow(&l->lo, h->tid);
		break;
	}
	return 0;
}

static int on_tick(void *ctx, uint64_t now)
{
	struct live *l = ctx;
	uint64_t oldest = now;

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
	return act(l, "stall: every thread blocked without a timeout");
}

/* ---- reports of potential deadlocks ---- */

static void code_str(struct live *l, uint64_t pc, char *buf, size_t n)
{
	struct sym_code c = {0};

	if (l->sym && !symbolizer__code(l->sym, pc, SYM_RETADDR, &c) && c.func) {
		if (c.file)
			snprintf(buf, n, "%s (%s:%d)", c.func, strrchr(c.file, '/') ?
				 strrchr(c.file, '/') + 1 : c.file, c.line);
		else
			snprintf(buf, n, "%s+%#llx", c.func, (unsigned long long)c.off);
	} else {
		snprintf(buf, n, "%#llx", (unsigned long long)pc);
	}
}

static void lock_str(struct live *l, uint64_t addr, char *buf, size_t n)
{
	char name[128];

	if (l->sym && !symbolizer__data_sized(l->sym, addr, 40, name, sizeof(name)))
		snprintf(buf, n, "%s (%#llx)", name, (unsigned long long)addr);
	else
		snprintf(buf, n, "%#llx", (unsigned long long)addr);
}

/* User stacks by id, from the trace's EV_META_STACK records. */
static const struct ev_meta_stack *find_stack(const struct trace *tr, int32_t id)
{
	if (!tr || id < 0)
		return NULL;
	for (size_t i = 0; i < tr->nrec; i++)
		if (tr->rec[i]->type == EV_META_STACK && (int32_t)tr->rec[i]->tid == id)
			return (const void *)tr->rec[i];
	return NULL;
}

static void report_text(FILE *f, struct live *l, const struct lo_cycle *c, size_t nc,
			const struct trace *tr)
{
	char a[160], b[160], s1[192], s2[192];
	size_t real = 0;

	for (size_t i = 0; i < nc; i++) {
		const struct lo_cycle *cy = &c[i];

		fprintf(f, "\n%s #%zu: lock-order inversion over %zu locks, %zu threads%s\n",
			cy->guarded ? "guarded inversion (not a deadlock)" : "POTENTIAL DEADLOCK",
			cy->guarded ? i + 1 : ++real, cy->n, cy->n, "");
		if (cy->guarded) {
			lock_str(l, cy->gate, a, sizeof(a));
			fprintf(f, "  guarded_by: %s is held across every edge\n", a);
		}
		for (size_t k = 0; k < cy->n; k++) {
			const struct lo_edge *e = &l->lo.e[cy->edges[k]];
			const struct ev_meta_stack *st = find_stack(tr, e->stack_id);

			lock_str(l, e->from, a, sizeof(a));
			lock_str(l, e->to, b, sizeof(b));
			code_str(l, e->from_ret, s1, sizeof(s1));
			code_str(l, e->to_ret, s2, sizeof(s2));
			fprintf(f, "  thread %d holds %s%s (taken at %s)\n    then takes %s%s at %s\n",
				(int)e->tid, a, e->flags & LEF_FROM_READ ? " for reading" : "", s1, b,
				e->flags & LEF_TO_READ ? " for reading" : "", s2);
			for (uint32_t fr = 0; st && fr < st->nframes && fr < 8; fr++) {
				uint64_t pc = ((const uint64_t *)(st + 1))[fr];

				code_str(l, pc, s1, sizeof(s1));
				fprintf(f, "      #%u %s\n", fr, s1);
			}
		}
	}
	for (size_t i = 0; i < l->lo.noverflow; i++)
		fprintf(f, "\nthread %d held more than 16 locks at once: the locks past the 16th "
			"were not tracked (edges from them are missing)\n", (int)l->lo.overflow_tids[i]);
	if (!nc)
		fprintf(f, "no lock-order inversion (%zu lock-order edges seen)\n", l->lo.n);
}

static void report_json(FILE *f, struct live *l, const struct lo_cycle *c, size_t nc,
			const struct trace *tr, const struct record_result *res)
{
	struct json j;
	char buf[192];
	size_t real = 0;

	for (size_t i = 0; i < nc; i++)
		real += !c[i].guarded;
	json_init(&j, f, 1);
	json_obj_begin(&j, NULL);
	json_kv_u64(&j, "version", 1);
	json_kv_i64(&j, "pid", l->pid);
	json_kv_str(&j, "source", "live");
	json_obj_begin(&j, "summary");
	json_kv_u64(&j, "deadlocks", real + l->found_live);
	json_kv_u64(&j, "lock_order_edges", l->lo.n);
	json_kv_u64(&j, "lost", res->lost);
	json_obj_end(&j);
	json_arr_begin(&j, "deadlocks");
	for (size_t i = 0; i < nc; i++) {
		const struct lo_cycle *cy = &c[i];

		json_obj_begin(&j, NULL);
		json_kv_str(&j, "kind", "potential");
		snprintf(buf, sizeof(buf), "lock-order inversion over %zu locks", cy->n);
		json_kv_str(&j, "summary", buf);
		if (cy->guarded) {
			lock_str(l, cy->gate, buf, sizeof(buf));
			json_kv_str(&j, "guarded_by", buf);
		}
		json_arr_begin(&j, "edges");
		for (size_t k = 0; k < cy->n; k++) {
			const struct lo_edge *e = &l->lo.e[cy->edges[k]];
			const struct ev_meta_stack *st = find_stack(tr, e->stack_id);

			json_obj_begin(&j, NULL);
			lock_str(l, e->from, buf, sizeof(buf));
			json_kv_str(&j, "from", buf);
			lock_str(l, e->to, buf, sizeof(buf));
			json_kv_str(&j, "to", buf);
			json_kv_i64(&j, "tid", e->tid);
			code_str(l, e->from_ret, buf, sizeof(buf));
			json_kv_str(&j, "from_site", buf);
			code_str(l, e->to_ret, buf, sizeof(buf));
			json_kv_str(&j, "to_site", buf);
			json_arr_begin(&j, "stack");
			code_str(l, e->to_ret, buf, sizeof(buf));
			json_str(&j, buf);
			for (uint32_t fr = 0; st && fr < st->nframes; fr++) {
				code_str(l, ((const uint64_t *)(st + 1))[fr], buf, sizeof(buf));
				json_str(&j, buf);
			}
			json_arr_end(&j);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_arr_begin(&j, "held_overflow_tids");
	for (size_t i = 0; i < l->lo.noverflow; i++)
		json_i64(&j, l->lo.overflow_tids[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

static const char usage[] =
	"Usage: conlab deadlock [--locks] [--on-deadlock stop|kill|continue] [--stall S]\n"
	"                       [--format text|json] [-o FILE] -- CMD [ARGS]\n"
	"\n"
	"Run CMD and catch deadlocks as they happen: a wait-for cycle through mutex owners is\n"
	"reported when it closes (the hung-process report, stacks symbolized while alive);\n"
	"ownerless or cross-process hangs when every thread has been blocked for --stall seconds.\n"
	"\n"
	"  --locks              also find the deadlocks that could happen: lock uprobes on glibc\n"
	"                       (mutex, rwlock, semaphore) and cycles in the lock-order graph\n"
	"  --on-deadlock ACT    kill (default), stop (SIGSTOP, left for a debugger), continue\n"
	"  --stall S            seconds every thread must be blocked (default 5, 0 = off)\n"
	"  -f, --format FMT     text (default) or json\n"
	"  -o, --output FILE    the report to FILE\n"
	"\n"
	"Exit status: 0 nothing found, 1 a deadlock (real or potential) found, 2 error.\n";

int deadlock_live(int argc, char **argv)
{
	static const struct option opts[] = {
		{"locks", no_argument, NULL, 'L'},
		{"on-deadlock", required_argument, NULL, 'D'},
		{"stall", required_argument, NULL, 'S'},
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0}
	};
	struct live l = {.action = ON_KILL, .stall = 5};
	struct record_opts ro = {.buffer = 16u << 20, .stacks = 1};
	struct record_result res;
	struct trace tr = {0};
	struct lo_cycle *cyc = NULL;
	const char *out = NULL;
	char tpath[] = "/tmp/conlab-deadlock-XXXXXX";
	int json = 0, c, fd, rc = 2;
	FILE *f = stdout;
	size_t nc, real = 0;

	l.dopts.format = DOCTOR_TEXT;
	l.dopts.max_frames = 64;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'L': ro.locks = REC_LOCKS_ORDER; break;
		case 'D':
			if (!strcmp(optarg, "kill")) l.action = ON_KILL;
			else if (!strcmp(optarg, "stop")) l.action = ON_STOP;
			else if (!strcmp(optarg, "continue")) l.action = ON_CONTINUE;
			else { errmsg("invalid --on-deadlock '%s' (stop, kill, continue)", optarg); return 2; }
			break;
		case 'S': l.stall = atof(optarg); break;
		case 'f':
			if (!strcmp(optarg, "json")) json = 1;
			else if (strcmp(optarg, "text")) { errmsg("invalid --format '%s'", optarg); return 2; }
			break;
		case 'o': out = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		errmsg("deadlock -- CMD: no command given");
		return 2;
	}
	l.dopts.format = json ? DOCTOR_JSON : DOCTOR_TEXT;
	l.dopts.output = out;
	lockorder_init(&l.lo);
	fd = mkstemp(tpath);
	if (fd < 0) {
		errmsg("cannot create a temporary trace: %s", strerror(errno));
		return 2;
	}
	close(fd);
	ro.output = tpath;
	ro.cmd = argv + optind;
	ro.on_event = on_event;
	ro.on_tick = on_tick;
	ro.hook_ctx = &l;
	if (record_run(&ro, &res))
		goto out;
	if (trace_load(&tr, tpath))
		memset(&tr, 0, sizeof(tr));
	nc = lockorder_cycles(&l.lo, &cyc);
	for (size_t i = 0; i < nc; i++)
		real += !cyc[i].guarded;
	if (!(json && l.found_live)) {
		if (out && !(f = fopen(out, l.found_live ? "a" : "w"))) {
			errmsg("cannot open %s: %s", out, strerror(errno));
			goto out;
		}
		if (json)
			report_json(f, &l, cyc, nc, &tr, &res);
		else if (ro.locks || !l.found_live)
			report_text(f, &l, cyc, nc, &tr);
		if (!json && res.lost)
			fprintf(f, "lost events: %llu\n", (unsigned long long)res.lost);
		if (f != stdout)
			fclose(f);
	}
	rc = (l.found_live || real) ? 1 : 0;
out:
	free(cyc);
	trace_free(&tr);
	unlink(tpath);
	if (l.sym)
		symbolizer__free(l.sym);
	lockorder_free(&l.lo);
	free(l.t);
	return rc;
}
