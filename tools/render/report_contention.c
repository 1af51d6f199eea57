/* report_contention.c — `conlab report contention`: text, JSON and folded stacks. */
#include <stdlib.h>
#include <string.h>

#include "model/conns.h"
#include "analysis/contention.h"
#include "lib/json.h"
#include "model/model.h"
#include "model/procsyms.h"
#include "render/log2hist.h"
#include "render/report.h"
#include "symbols/symbolize.h"
#include "lib/util.h"

/* ---- names through the symbolizer, one per process, made when first asked ---------------- */

static int sym_data(void *ctx, uint32_t pid, uint64_t addr, uint64_t size, char *name, size_t n)
{
	return procsyms_data(ctx, pid, addr, size, name, n);
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static int sym_code(void *ctx, uint32_t pid, uint64_t pc, int retaddr, struct cont_frame *f)
{
	struct symbolizer *s = procsyms_get(ctx, pid);
	struct sym_code c;
	const char *file;

	if (!s || symbolizer__code(s, pc, retaddr ? SYM_RETADDR : 0, &c))
		return -1;
	copy_str(f->func, sizeof(f->func), c.func);
	file = c.file ? strrchr(c.file, '/') : NULL;
	copy_str(f->file, sizeof(f->file), file ? file + 1 : c.file);
	f->line = c.line;
	copy_str(f->module, sizeof(f->module), c.module);
	f->in_main = c.in_main;
	return 0;
}

/* The model's EV_LOCK records (when the recording had lock uprobes), as contention takes them. */
static struct cont_lock_ev *lock_events(const struct model *m, size_t *n)
{
	struct cont_lock_ev *v = xcalloc(m->rec.nlock + 1, sizeof(*v));

	for (size_t i = 0; i < m->rec.nlock; i++) {
		const struct ev_lock *e = m->rec.lock[i];

		v[i] = (struct cont_lock_ev){.ts = e->hdr.ts, .addr = e->addr,
					     .ret_addr = e->ret_addr, .tid = e->hdr.tid, .op = e->op};
	}
	*n = m->rec.nlock;
	return v;
}

/*
 * What the report keeps: the contention tables are folded as the intervals close
 * (analysis/contention_fold.c); the model keeps only what the connections table reads. The
 * lock uprobes' records are matched against the whole history: a trace with them is read again
 * whole.
 */
void report_contention_keep(const struct report_opts *o, struct m_keep *k)
{
	report_keep_state(o, k);
	k->history = HIST_MESSAGES;
	k->message_wakeups_only = 1;
	k->fold = contention_fold_hooks(contention_fold_new(o->from_ns, o->to_ns));
	k->whole_if_types = M_KEEP_TYPE(EV_LOCK);
}

/* ---- text ---------------------------------------------------------------------------------- */

/* "func (file:line)", "func+0x12 [module]" or "0x..." */
static const char *frame_str(char *buf, size_t n, const struct cont_frame *f)
{
	if (f->func[0] && f->file[0] && f->line)
		snprintf(buf, n, "%s (%s:%d)", f->func, f->file, f->line);
	else if (f->func[0])
		snprintf(buf, n, "%s [%s]", f->func, f->module[0] ? f->module : "?");
	else if (f->module[0])
		snprintf(buf, n, "0x%llx [%s]", (unsigned long long)f->pc, f->module);
	else
		snprintf(buf, n, "0x%llx", (unsigned long long)f->pc);
	return buf;
}

static const char *top_caller(char *buf, size_t n, const struct cont_obj *o)
{
	if (!o->ncallers || o->callers[0].top < 0 || !o->callers[0].nframes)
		return "-";
	return frame_str(buf, n, &o->callers[0].frames[o->callers[0].top]);
}

static const char *holders_str(char *buf, size_t n, const struct model *m,
			       const struct cont_obj *o)
{
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < o->nholders && i < 2 && len + 1 < n; i++)
		len += snprintf(buf + len, n - len, "%s%s", i ? "," : "",
				model_comm(m, o->holders[i].tid, "?"));
	if (o->nholders > 2 && len + 1 < n)
		snprintf(buf + len, n - len, ",+%zu", o->nholders - 2);
	return o->nholders ? buf : "-";
}

static void text_row(FILE *out, const struct model *m, const struct cont_obj *o, int w)
{
	char a[16], b[16], c[16], h[64], tc[160];

	fprintf(out, "%-*.*s %-9s %7llu %9s %9s %9s  %-24.24s %s\n", w, w, o->name,
		cont_kind_name(o->kind), (unsigned long long)o->waits,
		fmt_dur(a, sizeof(a), o->wait_total),
		fmt_dur(b, sizeof(b), o->waits ? o->wait_total / o->waits : 0),
		fmt_dur(c, sizeof(c), o->wait_max), holders_str(h, sizeof(h), m, o),
		top_caller(tc, sizeof(tc), o));
}

static void text_hist(FILE *out, const struct cont_obj *o)
{
	static const struct log2hist_style st = {"    ", 8, LH_EMPTY_SHOW, 1};
	uint64_t h[CONT_HIST_BUCKETS];
	int any = 0;

	for (int i = 0; i < CONT_HIST_BUCKETS; i++)
		any |= (h[i] = o->hist[i]) != 0;
	if (!any)
		return;
	fprintf(out, "  wait histogram:\n");
	log2hist_text(out, h, CONT_HIST_BUCKETS, &st);
}

static void text_detail(FILE *out, const struct model *m, const struct cont_obj *o)
{
	char a[16], b[16], c[16], f[160];
	uint64_t hs = 0;

	fprintf(out, "\n%s (%s at 0x%llx, pid %u): %llu waits, %s total, %s max", o->name,
		cont_kind_name(o->kind), (unsigned long long)o->addr, o->pid,
		(unsigned long long)o->waits, fmt_dur(a, sizeof(a), o->wait_total),
		fmt_dur(b, sizeof(b), o->wait_max));
	if (o->timed_out)
		fprintf(out, ", %llu timed out", (unsigned long long)o->timed_out);
	fputc('\n', out);
	fprintf(out, "  waiters:");
	for (size_t i = 0; i < o->nwaiters && i < 8; i++)
		fprintf(out, "%s %s (%u) %s/%u", i ? "," : "",
			model_comm(m, o->waiters[i].tid, "?"), o->waiters[i].tid,
			fmt_dur(a, sizeof(a), o->waiters[i].ns), o->waiters[i].waits);
	fputc('\n', out);
	if (o->nholders) {
		fprintf(out, "  %s while they waited:",
			cont_kind_is_lock(o->kind) || o->kind == CK_JOIN ? "held by" : "woken by");
		for (size_t i = 0; i < o->nholders && i < 8; i++)
			fprintf(out, "%s %s (%u) %s/%u", i ? "," : "",
				model_comm(m, o->holders[i].tid, "?"), o->holders[i].tid,
				fmt_dur(a, sizeof(a), o->holders[i].ns), o->holders[i].waits);
		if (o->holder_unknown_ns)
			fprintf(out, ", unknown %s", fmt_dur(a, sizeof(a), o->holder_unknown_ns));
		fputc('\n', out);
	}
	for (int s = 0; s < 5; s++)
		hs += o->holder_state_ns[s];
	if (hs && cont_kind_is_lock(o->kind)) {
		fprintf(out, "  the holder meanwhile: running %.0f%%, runnable %.0f%%, blocked %.0f%%",
			100.0 * o->holder_state_ns[TH_RUNNING] / hs,
			100.0 * o->holder_state_ns[TH_RUNNABLE] / hs,
			100.0 * o->holder_state_ns[TH_BLOCKED] / hs);
		if (o->holder_sleep_ns)
			fprintf(out, " (%s asleep or in I/O holding it)",
				fmt_dur(a, sizeof(a), o->holder_sleep_ns));
		fputc('\n', out);
	}
	if (o->chold_n)
		fprintf(out, "  contended holds: %llu, avg %s, max %s (from a waiter's wakeup to its "
			"release)\n", (unsigned long long)o->chold_n,
			fmt_dur(a, sizeof(a), o->chold_total / o->chold_n),
			fmt_dur(b, sizeof(b), o->chold_max));
	if (o->acquisitions)
		fprintf(out, "  acquisitions: %llu, uncontended %llu (%.1f%%), holds avg %s max %s, "
			"total %s\n", (unsigned long long)o->acquisitions,
			(unsigned long long)o->uncontended,
			100.0 * o->uncontended / o->acquisitions,
			fmt_dur(a, sizeof(a), o->hold_n ? o->hold_total / o->hold_n : 0),
			fmt_dur(b, sizeof(b), o->hold_max), fmt_dur(c, sizeof(c), o->hold_total));
	if (o->acquisitions)
		fprintf(out, "  calls that found it held by another thread: %llu; most holding it at "
			"once: %u\n", (unsigned long long)o->found_held, o->max_holders);
	text_hist(out, o);
	if (o->ncallers)
		fprintf(out, "  waiting callers:\n");
	for (size_t i = 0; i < o->ncallers && i < 4; i++) {
		const struct cont_caller *cl = &o->callers[i];
		int first = cl->top >= 0 ? cl->top : 0;

		fprintf(out, "    %u waits, %s\n", cl->waits, fmt_dur(a, sizeof(a), cl->ns));
		if (!cl->nframes)
			fprintf(out, "      (no stack)\n");
		for (uint32_t k = first; k < cl->nframes && k < (uint32_t)first + 8; k++)
			fprintf(out, "      %s%s\n", k == (uint32_t)first ? "" : "<- ",
				frame_str(f, sizeof(f), &cl->frames[k]));
	}
}

static int any_of(const struct contention *c, int lock)
{
	for (size_t i = 0; i < c->nobjs; i++)
		if (cont_kind_is_lock(c->objs[i].kind) == lock && c->objs[i].waits)
			return 1;
	return 0;
}

#define NAME_MIN 28
#define NAME_MAX 48

/* A row of the lock table (lock 1) or of the table of other waits (lock 0). */
static int shown(const struct cont_obj *o, int lock)
{
	return cont_kind_is_lock(o->kind) == lock && (o->waits || o->acquisitions);
}

static void text_table(FILE *out, const struct model *m, const struct contention *c, int lock,
		       int top)
{
	int rows = 0, w = NAME_MIN;

	/* the NAME column is as wide as the longest name shown, within bounds: a Python wait's
	 * name ends in the line that says where ("condvar@Event.wait (threading.py:622)") */
	for (size_t i = 0; i < c->nobjs && rows < top; i++)
		if (shown(&c->objs[i], lock)) {
			int len = (int)strlen(c->objs[i].name);

			w = len > w ? (len < NAME_MAX ? len : NAME_MAX) : w;
			rows++;
		}
	fprintf(out, "%-*s %-9s %7s %9s %9s %9s  %-24s %s\n", w, "NAME", "KIND", "WAITS", "TOTAL",
		"AVG", "MAX", "HOLDERS", "TOP CALLER");
	rows = 0;
	for (size_t i = 0; i < c->nobjs && rows < top; i++)
		if (shown(&c->objs[i], lock)) {
			text_row(out, m, &c->objs[i], w);
			rows++;
		}
}

static int text(const struct model *m, const struct contention *c, const struct report_opts *o,
		FILE *out)
{
	char a[32];
	int top = o->top ? o->top : 20, detail = 0;

	fprintf(out, "conlab contention: %s traced, %zu threads, %zu sync objects, %llu waits\n",
		fmt_dur(a, sizeof(a), c->duration), m->nthreads, c->nobjs,
		(unsigned long long)c->waits_total);
	report_lost_line(m, out);
	if (c->have_locks)
		fprintf(out, "--locks: %llu lock calls recorded; every acquisition's hold time is "
			"shown\n", (unsigned long long)c->lock_events);
	else
		fprintf(out, "--locks: off (holds are measured for contended hand-offs only)\n");
	if (!c->nobjs) {
		fprintf(out, "\nno thread waited on a lock, condition, semaphore or join\n");
		return 0;
	}
	fprintf(out, "\nlock contention (mutex, rwlock, lock, pylock), by %s:\n",
		o->sort ? o->sort : "total wait");
	if (any_of(c, 1))
		text_table(out, m, c, 1, top);
	else
		fprintf(out, "  none\n");
	if (any_of(c, 0)) {
		fprintf(out, "\nwaiting for an event, not for a lock (semaphore, condvar, join, GIL, futex):\n");
		text_table(out, m, c, 0, top);
	}
	for (size_t i = 0; i < c->nobjs && detail < 3; i++)
		if (c->objs[i].waits && cont_kind_is_lock(c->objs[i].kind)) {
			text_detail(out, m, &c->objs[i]);
			detail++;
		}
	fprintf(out, "\nper thread (share of its life spent waiting):\n");
	fprintf(out, "  %-16s %7s %9s %6s %6s %6s  %s\n", "THREAD", "TID", "LIFE", "LOCKS",
		"EVENTS", "", "TOP OBJECTS");
	for (size_t i = 0; i < c->nthreads; i++) {
		const struct cont_thread *t = &c->threads[i];
		uint64_t lk = 0, ev = 0;

		for (int k = 0; k < CK_NKINDS; k++)
			*(cont_kind_is_lock(k) ? &lk : &ev) += t->wait_ns[k];
		fprintf(out, "  %-16s %7u %9s %5.1f%% %5.1f%% %6s ", t->comm[0] ? t->comm : "?",
			t->tid, fmt_dur(a, sizeof(a), t->life),
			t->life ? 100.0 * lk / t->life : 0.0, t->life ? 100.0 * ev / t->life : 0.0, "");
		for (size_t k = 0; k < t->nobjs && k < 3; k++)
			fprintf(out, " %s %s", c->objs[t->objs[k].obj].name,
				fmt_dur(a, sizeof(a), t->objs[k].ns));
		fputc('\n', out);
	}
	return 0;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void json_parties(struct json *j, const char *key, const struct model *m,
			 const struct cont_party *v, size_t n)
{
	json_arr_begin(j, key);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(j, NULL);
		json_kv_u64(j, "tid", v[i].tid);
		json_kv_str(j, "comm", model_comm(m, v[i].tid, "?"));
		json_kv_u64(j, "waits", v[i].waits);
		json_kv_u64(j, "wait_ns", v[i].ns);
		json_kv_u64(j, "handoffs", v[i].handoffs);
		json_kv_u64(j, "wait_ns_max", v[i].max_ns);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_frame(struct json *j, const struct cont_frame *f)
{
	json_obj_begin(j, NULL);
	json_kv_hex(j, "pc", f->pc);
	json_kv_str(j, "func", f->func[0] ? f->func : NULL);
	json_kv_str(j, "file", f->file[0] ? f->file : NULL);
	json_kv_u64(j, "line", f->line > 0 ? f->line : 0);
	json_kv_str(j, "module", f->module[0] ? f->module : NULL);
	json_obj_end(j);
}

static void json_obj(struct json *j, const struct model *m, const struct cont_obj *o)
{
	json_obj_begin(j, NULL);
	json_kv_hex(j, "addr", o->addr);
	json_kv_u64(j, "pid", o->pid);
	json_kv_str(j, "name", o->name);
	json_kv_bool(j, "named_by_symbol", o->named);
	json_kv_str(j, "kind", cont_kind_name(o->kind));
	/* a CPython process's: its pylocks, Conditions, joins and GIL are the program's Python */
	json_kv_bool(j, "python", model_is_python(m, o->pid));
	json_kv_bool(j, "contention", cont_kind_is_lock(o->kind));
	json_kv_u64(j, "waits", o->waits);
	json_kv_u64(j, "wait_ns_total", o->wait_total);
	json_kv_u64(j, "wait_ns_avg", o->waits ? o->wait_total / o->waits : 0);
	json_kv_u64(j, "wait_ns_max", o->wait_max);
	json_kv_u64(j, "blocked_ns_total", o->blocked_total);
	json_kv_u64(j, "timed_out", o->timed_out);
	json_arr_begin(j, "hist_log2_ns");
	for (int i = 0; i < CONT_HIST_BUCKETS; i++)
		json_u64(j, o->hist[i]);
	json_arr_end(j);
	json_parties(j, "holders", m, o->holders, o->nholders);
	json_kv_u64(j, "holder_unknown_ns", o->holder_unknown_ns);
	json_obj_begin(j, "holder_state_ns");
	json_kv_u64(j, "running", o->holder_state_ns[TH_RUNNING]);
	json_kv_u64(j, "runnable", o->holder_state_ns[TH_RUNNABLE]);
	json_kv_u64(j, "blocked", o->holder_state_ns[TH_BLOCKED]);
	json_kv_u64(j, "asleep_or_io", o->holder_sleep_ns);
	json_obj_end(j);
	json_parties(j, "waiters", m, o->waiters, o->nwaiters);
	json_obj_begin(j, "contended_holds");
	json_kv_u64(j, "count", o->chold_n);
	json_kv_u64(j, "ns_total", o->chold_total);
	json_kv_u64(j, "ns_max", o->chold_max);
	json_obj_end(j);
	json_obj_begin(j, "acquisitions");
	json_kv_u64(j, "count", o->acquisitions);
	json_kv_u64(j, "uncontended", o->uncontended);
	json_kv_u64(j, "trylock_failed", o->trylock_fail);
	json_kv_u64(j, "holds", o->hold_n);
	json_kv_u64(j, "hold_ns_total", o->hold_total);
	json_kv_u64(j, "hold_ns_max", o->hold_max);
	json_kv_u64(j, "found_held", o->found_held);
	json_kv_u64(j, "max_holders", o->max_holders);
	json_obj_end(j);
	json_arr_begin(j, "callers");
	for (size_t i = 0; i < o->ncallers; i++) {
		const struct cont_caller *cl = &o->callers[i];

		json_obj_begin(j, NULL);
		json_kv_u64(j, "waits", cl->waits);
		json_kv_u64(j, "wait_ns", cl->ns);
		json_kv_hex(j, "ret_addr", cl->ret_addr);
		json_kv_i64(j, "top", cl->top);
		json_arr_begin(j, "frames");
		for (uint32_t k = 0; k < cl->nframes; k++)
			json_frame(j, &cl->frames[k]);
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static int json(const struct model *m, const struct contention *c, FILE *out)
{
	struct json j;

	json_init(&j, out, 1);
	json_obj_begin(&j, NULL);
	json_kv_str(&j, "report", "contention");
	json_kv_u64(&j, "duration_ns", c->duration);
	report_json_lost(m, &j);
	json_kv_bool(&j, "lock_uprobes", c->have_locks);
	json_kv_u64(&j, "waits", c->waits_total);
	json_arr_begin(&j, "objects");
	for (size_t i = 0; i < c->nobjs; i++)
		json_obj(&j, m, &c->objs[i]);
	json_arr_end(&j);
	json_arr_begin(&j, "threads");
	for (size_t i = 0; i < c->nthreads; i++) {
		const struct cont_thread *t = &c->threads[i];

		json_obj_begin(&j, NULL);
		json_kv_u64(&j, "tid", t->tid);
		json_kv_u64(&j, "pid", t->pid);
		json_kv_str(&j, "comm", t->comm);
		json_kv_u64(&j, "life_ns", t->life);
		json_obj_begin(&j, "wait_ns_by_kind");
		for (int k = 0; k < CK_NKINDS; k++)
			if (t->wait_ns[k])
				json_kv_u64(&j, cont_kind_name(k), t->wait_ns[k]);
		json_obj_end(&j);
		json_arr_begin(&j, "objects");
		for (size_t k = 0; k < t->nobjs; k++) {
			const struct cont_obj *o = &c->objs[t->objs[k].obj];

			json_obj_begin(&j, NULL);
			json_kv_str(&j, "name", o->name);
			json_kv_hex(&j, "addr", o->addr);
			json_kv_str(&j, "kind", cont_kind_name(o->kind));
			json_kv_u64(&j, "waits", t->objs[k].waits);
			json_kv_u64(&j, "wait_ns", t->objs[k].ns);
			json_kv_u64(&j, "wait_ns_max", t->objs[k].max_ns);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	conns_model_json(m, &j);
	json_obj_end(&j);
	json_end(&j);
	return 0;
}

/* ---- folded stacks: "comm;root;...;caller;name [kind] wait_ns" for flamegraph.pl ---------- */

static void folded_name(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' || *s == ' ' ? '_' : *s, out);
}

static int folded(const struct model *m, const struct contention *c, FILE *out)
{
	char f[160];

	(void)m;
	for (size_t i = 0; i < c->nobjs; i++) {
		const struct cont_obj *o = &c->objs[i];
		const struct m_process *p = model_process(m, o->pid);

		for (size_t k = 0; k < o->ncallers; k++) {
			const struct cont_caller *cl = &o->callers[k];
			int first = cl->top >= 0 ? cl->top : 0;

			folded_name(out, p && p->comm[0] ? p->comm : "?");
			for (int n = (int)cl->nframes - 1; n >= first; n--) {
				fputc(';', out);
				folded_name(out, frame_str(f, sizeof(f), &cl->frames[n]));
			}
			fputc(';', out);
			folded_name(out, o->name);
			fprintf(out, "_[%s] %llu\n", cont_kind_name(o->kind),
				(unsigned long long)cl->ns);
		}
	}
	return 0;
}

int report_contention(const struct model *m, const struct report_opts *o, FILE *out)
{
	struct cont_opts co = {};
	struct contention c;
	struct procsyms sx;
	struct cont_resolver r = {.data = sym_data, .code = sym_code, .ctx = &sx};
	struct cont_lock_ev *lk;
	size_t nlk;
	int key = contention_sort_key(o->sort), ret;

	if (key < 0) {
		errmsg("unknown sort key '%s' (total, waits, max, avg, name, hold)", o->sort);
		return 2;
	}
	procsyms_init(&sx, m);
	if (o->from_ns)
		co.from = m->t_first + o->from_ns;
	if (o->to_ns)
		co.to = m->t_first + o->to_ns;
	if (contention_fold_of(m))
		contention_fold_finish(contention_fold_of(m), m, &c);
	else
		contention_build(&c, m, &co);
	lk = lock_events(m, &nlk);
	if (nlk)
		contention_add_locks(&c, m, lk, nlk);
	free(lk);
	contention_name(&c, m, &r);
	contention_sort(&c, key);
	if (o->format == FMT_JSON)
		ret = json(m, &c, out);
	else if (o->format == FMT_FOLDED)
		ret = folded(m, &c, out);
	else
		ret = text(m, &c, o, out);
	if (o->format == FMT_TEXT)	/* waits on another process: the messages that ended them */
		conns_model_text(m, o->top ? o->top : 15, out);
	contention_free(&c);
	procsyms_free(&sx);
	return ret;
}
