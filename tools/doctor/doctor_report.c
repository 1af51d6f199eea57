// SPDX-License-Identifier: GPL-2.0
/*
 * doctor_report.c — findings in plain words, JSON and DOT.
 *
 * A held lock's acquisition site is not in a snapshot (only where each thread is now), so the
 * text says where the holder *is now* — its innermost frame in the program that is not the
 * wait itself — and says so, rather than pretend it is where the lock was taken.
 */
#include <inttypes.h>
#include <string.h>

#include "doctor/doctor_pyreport.h"
#include "doctor/doctor_report.h"
#include "symbols/symbolize.h"
#include "render/deadlock_json.h"
#include "lib/json.h"
#include "lib/util.h"

static const char *base_name(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;

	return b ? b + 1 : p;
}

static const char *thread_label(const struct waitgraph *g, pid_t tid, char *buf, size_t n)
{
	int t = wg_find_thread(g, tid);

	if (t < 0)
		snprintf(buf, n, "tid %d", (int)tid);
	else	/* a Python thread by its threading name, which 3.11 does not give the kernel */
		snprintf(buf, n, "%s (tid %d)", g->threads[t].name ? g->threads[t].name :
			 g->threads[t].comm, (int)tid);
	return buf;
}

/* "take_fork (philo.c:63)" for a frame; "??" when nothing is known */
static const char *frame_where(const struct wg_frame *fr, char *buf, size_t n)
{
	if (fr->func && fr->file)
		snprintf(buf, n, "%s (%s:%d)", fr->func, base_name(fr->file), fr->line);
	else if (fr->func)
		snprintf(buf, n, "%s (%s)", fr->func, fr->module ? fr->module : "??");
	else if (fr->file)
		snprintf(buf, n, "?? (%s:%d)", base_name(fr->file), fr->line);
	else
		snprintf(buf, n, "?? (%s)", fr->module ? fr->module : "??");
	return buf;
}

/* Frames in the C library and the dynamic loader are the mechanics of the wait, not the
 * program's reason for it. */
static int system_frame(const struct wg_frame *fr)
{
	return !fr->module || sym_system_module(fr->module);
}

/* The k-th frame (0-based) outside the C library, or NULL. */
static const struct wg_frame *main_frame(const struct wg_thread *t, int k)
{
	for (size_t i = 0; i < t->nstack; i++)
		if (!system_frame(&t->stack[i]) && t->stack[i].func && k-- == 0)
			return &t->stack[i];
	return NULL;
}

/* What the thread waits for, in words: "mutex fork_m[2], held by philo-2 (tid 813)". */
/* A Python object: "Lock dst.lock, held by teller-2 (tid 12)", "Queue jobs". */
static void py_wait_words(const struct waitgraph *g, const struct wg_object *o, char *buf,
			  size_t n)
{
	char what[200], who[96];

	dr_py_object(o, what, sizeof(what));
	if (o->kind == WG_JOIN && o->type && !strcmp(o->type, "Future"))
		snprintf(buf, n, "%s, whose task runs in %s", what,
			 thread_label(g, o->owner, who, sizeof(who)));
	else if (o->kind == WG_JOIN)
		snprintf(buf, n, "%s to finish (join): %s", what,
			 thread_label(g, o->owner, who, sizeof(who)));
	else if (o->kind == WG_MUTEX && o->owner)
		snprintf(buf, n, "%s, held by %s", what, thread_label(g, o->owner, who, sizeof(who)));
	else if (o->kind == WG_MUTEX)
		snprintf(buf, n, "%s (holder not known)", what);
	else if (o->kind == WG_SEMAPHORE && o->value >= 0)
		snprintf(buf, n, "%s (count %" PRId64 ")", what, o->value);
	else
		snprintf(buf, n, "%s", what);
}

/* ", pid 12 (a), pid 13 (b)" after buf's text: the processes that could end o's wait */
static void add_peers(char *buf, size_t n, const struct waitgraph *g, const struct wg_object *o)
{
	char who[96];
	size_t len;

	for (size_t i = 0; i < o->npeers; i++) {
		len = strlen(buf);
		snprintf(buf + len, n - len, "%s %s", i ? "," : "",
			 wg_proc_label(g, o->peers[i], who, sizeof(who)));
	}
	if (!o->npeers) {
		len = strlen(buf);
		snprintf(buf + len, n - len, " nobody");
	}
}

static void wait_words(const struct waitgraph *g, const struct wg_thread *t, char *buf, size_t n)
{
	const struct wg_object *o;
	char name[160], who[96];

	if (t->obj < 0) {
		snprintf(buf, n, "%s", t->wait_desc ? t->wait_desc : "nothing known");
		return;
	}
	o = &g->objects[t->obj];
	wg_object_name(o, name, sizeof(name));
	if (o->type) {
		py_wait_words(g, o, buf, n);
		return;
	}
	switch (o->kind) {
	case WG_MUTEX:
	case WG_RWLOCK:
		if (o->owner)
			snprintf(buf, n, "%s %s, %s by %s", wg_kind_name(o->kind), name,
				 o->kind == WG_RWLOCK ? "write-held" : "held",
				 thread_label(g, o->owner, who, sizeof(who)));
		else
			snprintf(buf, n, "%s %s (holder not recorded)", wg_kind_name(o->kind), name);
		break;
	case WG_JOIN:
		snprintf(buf, n, "thread %s to exit (pthread_join)",
			 thread_label(g, o->owner, who, sizeof(who)));
		break;
	case WG_CONDVAR:
		snprintf(buf, n, "condition variable %s", name);
		break;
	case WG_SEMAPHORE:
		if (o->value >= 0)
			snprintf(buf, n, "semaphore %s (count %" PRId64 ")", name, o->value);
		else
			snprintf(buf, n, "semaphore %s", name);
		break;
	case WG_BARRIER:
		snprintf(buf, n, "barrier %s", name);
		break;
	case WG_FUTEX:
		snprintf(buf, n, "futex %s (value %" PRId64 ")", name, o->value);
		break;
	case WG_PIPE:
		snprintf(buf, n, "%s %s; the %s end is held by", o->value ? "room in" : "data from",
			 name, o->value ? "read" : "write");
		add_peers(buf, n, g, o);
		break;
	case WG_SOCKET:
		snprintf(buf, n, "%s %s (a Unix socket); its peer is held by",
			 o->value ? "room in" : "data from", name);
		add_peers(buf, n, g, o);
		break;
	case WG_CHILD:
		if ((int64_t)o->addr > 0)
			snprintf(buf, n, "child %s to exit (%s)",
				 wg_proc_label(g, (pid_t)o->addr, who, sizeof(who)),
				 t->wait_desc ? t->wait_desc : "wait");
		else
			snprintf(buf, n, "any of its %zu children to exit (%s)", o->npeers,
				 t->wait_desc ? t->wait_desc : "wait");
		break;
	default:
		snprintf(buf, n, "%s", name);
	}
}

/* A Python thread's stack is its Python frames; with --native, the C frames with the Python
 * ones each eval-loop frame runs printed under it (as pystack merges them). */
static void print_stack(FILE *f, const struct wg_thread *t, const char *indent, int native)
{
	char where[512], pyindent[64];
	size_t py = 0;

	if (t->nlang && !native) {
		dr_py_print_stack(f, t, indent);
		return;
	}
	snprintf(pyindent, sizeof(pyindent), "%s      ", indent);
	if (t->stack_err && !t->nstack)
		fprintf(f, "%s(no stack: %s)\n", indent, t->stack_err);
	for (size_t i = 0; i < t->nstack; i++) {
		const struct wg_frame *fr = &t->stack[i];

		if (fr->func)
			snprintf(where, sizeof(where), "%s+%#" PRIx64, fr->func, fr->off);
		else
			snprintf(where, sizeof(where), "??");
		fprintf(f, "%s#%-2zu 0x%016" PRIx64 " %s", indent, i, fr->pc, where);
		if (fr->file)
			fprintf(f, " (%s:%d)", base_name(fr->file), fr->line);
		else
			fprintf(f, " (%s)", fr->module ? fr->module : "??");
		fputc('\n', f);
		if (fr->func && !strcmp(fr->func, "_PyEval_EvalFrameDefault"))
			while (py < t->nlang) {
				dr_py_print_frame(f, t->pid, &t->lang[py], pyindent);
				if (t->lang[py++].entry)
					break;
			}
	}
	if (py < t->nlang)
		fprintf(f, "%s(Python frames not matched to a C frame:)\n", indent);
	for (; py < t->nlang; py++)
		dr_py_print_frame(f, t->pid, &t->lang[py], pyindent);
}

static void text_cycle(FILE *f, const struct waitgraph *g, const struct wg_finding *fd)
{
	char who[96], what[512], held[160], at[256], now[256];

	for (size_t i = 0; i < fd->nthreads; i++) {
		const struct wg_thread *t = &g->threads[fd->threads[i]];
		const struct wg_object *prev = &g->objects[fd->objects[(i + fd->nthreads - 1) %
								   fd->nthreads]];
		const struct wg_frame *w = main_frame(t, 0), *h = main_frame(t, 1);

		wait_words(g, t, what, sizeof(what));
		fprintf(f, "  %s", thread_label(g, t->tid, who, sizeof(who)));
		if (fd->kind == WG_F_CROSS_PROCESS)
			fprintf(f, " of %s", wg_proc_label(g, t->pid, held, sizeof(held)));
		if (wg_kind_has_owner(prev->kind) && prev->owner == t->tid)
			fprintf(f, " holds %s and", prev->held_as ? prev->held_as :
				wg_object_name(prev, held, sizeof(held)));
		fprintf(f, " waits for %s\n", what);
		if (t->nlang) {
			dr_py_print_frame(f, t->pid, dr_py_wait_frame(t), "      ");
			if (prev->held_at && prev->owner == t->tid && prev->held_probe)
				fprintf(f, "      it took %s with acquire() (seen by the lock probes) "
					"and holds it in %s\n", prev->held_as ? prev->held_as : "it",
					prev->held_at);
			else if (prev->held_at && prev->owner == t->tid)
				fprintf(f, "      it holds %s in a `with` block of %s\n",
					prev->held_as ? prev->held_as : "it", prev->held_at);
			continue;
		}
		if (w)
			fprintf(f, "      waiting at %s", frame_where(w, at, sizeof(at)));
		if (h && wg_kind_has_owner(prev->kind) && prev->owner == t->tid)
			fprintf(f, "; holder is now at %s (where %s was taken is not recorded)",
				frame_where(h, now, sizeof(now)), held);
		if (w)
			fputc('\n', f);
	}
}

static void text_terminal(FILE *f, const struct waitgraph *g, const struct wg_finding *fd)
{
	char who[96], what[512], at[256], pl[96];

	for (size_t i = 0; i < fd->nthreads; i++) {
		const struct wg_thread *t = &g->threads[fd->threads[i]];
		const struct wg_object *o = &g->objects[t->obj];
		const struct wg_frame *w = main_frame(t, 0);

		wait_words(g, t, what, sizeof(what));
		fprintf(f, "  %s waits for %s", thread_label(g, t->tid, who, sizeof(who)), what);
		if (t->nlang) {
			fputc('\n', f);
			dr_py_print_frame(f, t->pid, dr_py_wait_frame(t), "      ");
		} else {
			if (w)
				fprintf(f, "\n      at %s", frame_where(w, at, sizeof(at)));
			fputc('\n', f);
		}
		if (fd->kind == WG_F_ORPHANED_OWNER && i == 0) {
			fprintf(f, "      tid %d does not exist in %s", (int)o->owner,
				wg_proc_label(g, t->pid, pl, sizeof(pl)));
			if (o->owner_elsewhere)
				fprintf(f, ": it is a thread of %s",
					wg_proc_label(g, o->owner_elsewhere, pl, sizeof(pl)));
			else
				fprintf(f, " (nor anywhere now): its holder exited without unlocking, or "
					   "the lock was held by another thread when this process forked");
			fputc('\n', f);
		}
		if (fd->kind == WG_F_NO_OWNER && !o->type) {
			if (o->kind == WG_CONDVAR)
				fprintf(f, "      no live thread is left to signal it: a lost wakeup "
					   "(signalled before the wait, no predicate loop)?\n");
			else if (o->kind == WG_SEMAPHORE)
				fprintf(f, "      no live thread is left to post it: permits leaked on "
					   "an error path, or a lock (Python threading.Lock) held "
					   "forever?\n");
		}
		if (o->note)
			fprintf(f, "      %s\n", o->note);
	}
}

/* One finding: what it is, its threads and objects, who is blocked behind it, its stacks. */
static void text_finding(FILE *f, const struct waitgraph *g, const struct doctor_meta *m,
			 size_t i)
{
	const struct wg_finding *fd = &g->findings[i];
	char a[128], buf[512];

	wg_finding_summary(g, fd, buf, sizeof(buf));
	fprintf(f, "\nDEADLOCK %zu (%s): %s\n", i + 1, wg_finding_name(fd->kind), buf);
	if (fd->kind == WG_F_CYCLE || fd->kind == WG_F_CROSS_PROCESS)
		text_cycle(f, g, fd);
	else
		text_terminal(f, g, fd);
	for (size_t k = 0; k < fd->nbehind; k++) {
		const struct wg_thread *t = &g->threads[fd->behind[k]];

		wait_words(g, t, buf, sizeof(buf));
		fprintf(f, "%s  %s waits for %s\n", k ? "" : "  blocked behind it:\n",
			thread_label(g, t->tid, a, sizeof(a)), buf);
	}
	if (!m->with_stacks)
		return;
	fprintf(f, "  stacks:\n");
	for (size_t k = 0; k < fd->nthreads; k++) {
		const struct wg_thread *t = &g->threads[fd->threads[k]];

		fprintf(f, "    %s:\n", thread_label(g, t->tid, a, sizeof(a)));
		print_stack(f, t, "      ", m->native);
	}
}

/* The threads in no finding: their state, what they wait for, and where. */
static void text_not_stuck(FILE *f, const struct waitgraph *g, const struct doctor_meta *m)
{
	char a[128], buf[512];
	size_t nrun = 0;

	for (size_t i = 0; i < g->nthreads; i++)
		nrun += !g->threads[i].stuck && g->threads[i].state != WG_ZOMBIE;
	if (!nrun)
		return;
	fprintf(f, "\nnot stuck (%zu):\n", nrun);
	for (size_t i = 0; i < g->nthreads; i++) {
		const struct wg_thread *t = &g->threads[i];

		if (t->stuck || t->state == WG_ZOMBIE)
			continue;
		fprintf(f, "  %-24s %-13s", thread_label(g, t->tid, a, sizeof(a)),
			wg_state_name(t->state));
		if (t->obj >= 0) {
			wait_words(g, t, buf, sizeof(buf));
			fprintf(f, " %s %s", t->state == WG_TIMED ? "timed wait for" : "waits for", buf);
			if (t->state == WG_BLOCKED)
				fprintf(f, " (a live thread can still end it)");
		} else if (t->wait_desc) {
			fprintf(f, " %s", t->wait_desc);
		}
		fputc('\n', f);
		if (t->nlang && t->state != WG_RUNNING) {
			dr_py_print_frame(f, t->pid, dr_py_wait_frame(t), "      ");
		} else if (m->with_stacks && t->nstack && t->state != WG_RUNNING) {
			const struct wg_frame *w = main_frame(t, 0);

			if (w)
				fprintf(f, "      at %s\n", frame_where(w, buf, sizeof(buf)));
		}
	}
}

/* What the snapshot saw change, the verdict when nothing was found, and what it cost. */
static void text_footer(FILE *f, const struct waitgraph *g, const struct doctor_meta *m)
{
	char d1[32], d2[32];
	int stalled = 0;

	if (m->changed)
		fprintf(f, "\n%zu thread%s changed what %s waiting for while we looked: making "
			   "progress, not stuck.\n", m->changed, m->changed == 1 ? "" : "s",
			m->changed == 1 ? "it was" : "they were");
	for (size_t i = 0; i < g->nprocs; i++)
		if (g->procs[i].loop.stalled) {
			fprintf(f, "\nno thread is deadlocked, but the asyncio event loop of pid %d "
				   "can never wake: its pending tasks wait for ever (above).\n",
				(int)g->procs[i].pid);
			stalled = 1;
		}
	if (!g->nfindings && !stalled)
		fprintf(f, "\nno deadlock: every blocked thread can still be woken by a live "
			   "thread, a timeout or the outside world.\n");
	if (m->with_stacks && m->stacks_stopped)
		fprintf(f, "\nsnapshot: %s; %zu running thread%s stopped one at a time, longest stop "
			   "%s\n", fmt_dur(d1, sizeof(d1), m->total_ns), m->stacks_stopped,
			m->stacks_stopped == 1 ? "" : "s", fmt_dur(d2, sizeof(d2), m->stop_max_ns));
	else if (m->with_stacks)
		fprintf(f, "\nsnapshot: %s; no thread stopped (stacks of sleeping threads read "
			   "in place)\n", fmt_dur(d1, sizeof(d1), m->total_ns));
}

void doctor_report_text(FILE *f, const struct waitgraph *g, const struct doctor_meta *m)
{
	char a[128];

	fprintf(f, "conlab deadlock: %s: %zu process%s, %zu thread%s, %zu stuck, %zu deadlock%s\n",
		wg_proc_label(g, m->pid, a, sizeof(a)), g->nprocs, g->nprocs == 1 ? "" : "es",
		g->nthreads, g->nthreads == 1 ? "" : "s", g->nstuck, g->nfindings,
		g->nfindings == 1 ? "" : "s");
	if (m->warning)
		fprintf(f, "warning: %s\n", m->warning);
	for (size_t i = 0; i < g->nfindings; i++)
		text_finding(f, g, m, i);
	text_not_stuck(f, g, m);
	dr_py_print_tasks(f, g);
	if (m->extra && m->extra->text)
		m->extra->text(f, m->extra->ctx);
	text_footer(f, g, m);
}

/* ---- JSON --------------------------------------------------------------------------------- */

/* A Python thread of a finding: the frame that made the wait. */
static void py_thread(struct json *j, const struct waitgraph *g, int ti, void *ctx)
{
	const struct wg_thread *t = &g->threads[ti];
	const struct wg_langframe *lf;

	(void)ctx;
	if (!t->nlang)
		return;
	lf = dr_py_wait_frame(t);
	json_obj_begin(j, "at");
	json_kv_str(j, "function", lf->func);
	json_kv_str(j, "file", lf->file);
	json_kv_i64(j, "line", lf->line);
	json_obj_end(j);
}

static void py_object(struct json *j, const struct wg_object *o, void *ctx)
{
	(void)ctx;
	dr_py_json_object(j, o);
}

static const struct deadlock_json_hooks py_hooks = { py_thread, py_object, NULL };

static void json_snapshot_meta(struct json *j, const struct doctor_meta *m)
{
	json_obj_begin(j, "snapshot");
	json_kv_f64(j, "proc_ms", m->proc_ns / 1e6);
	json_kv_f64(j, "stacks_ms", m->stacks_ns / 1e6);
	json_kv_f64(j, "python_ms", m->python_ns / 1e6);
	json_kv_f64(j, "total_ms", m->total_ns / 1e6);
	json_kv_f64(j, "stop_max_us", m->stop_max_ns / 1e3);
	json_kv_f64(j, "stop_avg_us",
		    m->stacks_stopped ? m->stop_sum_ns / 1e3 / (double)m->stacks_stopped : 0);
	json_kv_u64(j, "stacks_taken", m->stacks_taken);
	json_kv_u64(j, "stacks_failed", m->stacks_failed);
	json_kv_u64(j, "changed", m->changed);
	json_kv_bool(j, "interrupted", m->interrupted);
	json_kv_str(j, "regs_source", m->regs_source);
	json_kv_f64(j, "regs_ms", m->regs_ns / 1e6);
	json_kv_f64(j, "regs_load_ms", m->regs_load_ns / 1e6);
	json_kv_f64(j, "memory_ms", m->mem_ns / 1e6);
	json_kv_f64(j, "unwind_ms", m->unwind_ns / 1e6);
	json_kv_u64(j, "threads_stopped", m->stacks_stopped);
	json_kv_u64(j, "running_not_read", m->stacks_running);
	json_kv_u64(j, "moved_not_read", m->stacks_moved);
	json_kv_u64(j, "rereads", m->rereads);
	json_obj_end(j);
}

static void json_processes(struct json *j, const struct waitgraph *g)
{
	json_arr_begin(j, "processes");
	for (size_t i = 0; i < g->nprocs; i++) {
		json_obj_begin(j, NULL);
		json_kv_i64(j, "pid", g->procs[i].pid);
		json_kv_i64(j, "ppid", g->procs[i].ppid);
		json_kv_str(j, "comm", g->procs[i].comm);
		json_kv_str(j, "exe", g->procs[i].exe);
		json_kv_str(j, "runtime", g->procs[i].runtime);
		dr_py_json_tasks(j, &g->procs[i]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_thread(struct json *j, const struct waitgraph *g, const struct wg_thread *t)
{
	char buf[512];

	json_obj_begin(j, NULL);
	json_kv_i64(j, "tid", t->tid);
	json_kv_i64(j, "pid", t->pid);
	json_kv_str(j, "comm", t->comm);
	json_kv_str(j, "state", wg_state_name(t->state));
	dr_py_json_thread(j, t);
	json_kv_bool(j, "stuck", t->stuck);
	if (t->finding >= 0)
		json_kv_i64(j, "deadlock", t->finding);
	else
		json_kv_null(j, "deadlock");
	if (t->obj >= 0 || t->wait_desc) {
		json_obj_begin(j, "wait");
		json_kv_str(j, "desc", t->wait_desc);
		if (t->obj >= 0) {
			const struct wg_object *o = &g->objects[t->obj];

			json_kv_str(j, "kind", wg_kind_name(o->kind));
			json_kv_hex(j, "addr", o->addr);
			json_kv_str(j, "name", wg_object_name(o, buf, sizeof(buf)));
			json_kv_str(j, "type", o->type);
			if (o->owner)
				json_kv_i64(j, "owner", o->owner);
			else
				json_kv_null(j, "owner");
		}
		json_obj_end(j);
	} else {
		json_kv_null(j, "wait");
	}
	json_kv_f64(j, "stop_us", t->stop_ns / 1e3);
	json_kv_str(j, "stack_error", t->stack_err);
	json_arr_begin(j, "stack");
	for (size_t k = 0; k < t->nstack; k++) {
		const struct wg_frame *fr = &t->stack[k];

		json_obj_begin(j, NULL);
		json_kv_hex(j, "pc", fr->pc);
		json_kv_str(j, "function", fr->func);
		json_kv_u64(j, "offset", fr->off);
		json_kv_str(j, "file", fr->file);
		if (fr->line)
			json_kv_i64(j, "line", fr->line);
		else
			json_kv_null(j, "line");
		json_kv_str(j, "module", fr->module);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

void doctor_report_json(FILE *f, const struct waitgraph *g, const struct doctor_meta *m)
{
	struct json j;

	json_init(&j, f, 1);
	json_obj_begin(&j, NULL);
	json_kv_i64(&j, "version", 1);
	json_kv_i64(&j, "pid", m->pid);
	json_kv_str(&j, "source", m->source ? m->source : "snapshot");
	json_kv_str(&j, "warning", m->warning);

	json_obj_begin(&j, "summary");
	json_kv_u64(&j, "processes", g->nprocs);
	json_kv_u64(&j, "threads", g->nthreads);
	json_kv_u64(&j, "stuck", g->nstuck);
	json_kv_u64(&j, "deadlocks", g->nfindings + (m->extra ? m->extra->count : 0));
	if (m->extra && m->extra->summary)
		m->extra->summary(&j, m->extra->ctx);
	json_obj_end(&j);

	json_snapshot_meta(&j, m);
	json_processes(&j, g);

	json_arr_begin(&j, "deadlocks");
	for (size_t i = 0; i < g->nfindings; i++)
		deadlock_json_finding(&j, g, &g->findings[i], &py_hooks);
	if (m->extra && m->extra->json)
		m->extra->json(&j, m->extra->ctx);
	json_arr_end(&j);

	json_arr_begin(&j, "threads");
	for (size_t i = 0; i < g->nthreads; i++)
		json_thread(&j, g, &g->threads[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

/* ---- DOT ---------------------------------------------------------------------------------- */

static void dot_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

void doctor_report_dot(FILE *f, const struct waitgraph *g, const struct doctor_meta *m)
{
	char name[160];

	fprintf(f, "digraph waitfor {\n\trankdir=LR;\n\tnode [fontname=\"monospace\"];\n");
	fprintf(f, "\tlabel=\"conlab deadlock -p %d: %zu stuck, %zu deadlock(s)\";\n", (int)m->pid,
		g->nstuck, g->nfindings);
	for (size_t p = 0; p < g->nprocs; p++) {
		fprintf(f, "\tsubgraph cluster_%d {\n\t\tlabel=\"pid %d (", (int)g->procs[p].pid,
			(int)g->procs[p].pid);
		dot_escape(f, g->procs[p].comm);
		fprintf(f, ")\";\n\t\tp%d [shape=box3d, label=\"process %d\"];\n",
			(int)g->procs[p].pid, (int)g->procs[p].pid);
		for (size_t i = 0; i < g->nthreads; i++) {
			const struct wg_thread *t = &g->threads[i];

			if (t->pid != g->procs[p].pid)
				continue;
			fprintf(f, "\t\tt%d [shape=box, label=\"", (int)t->tid);
			dot_escape(f, t->comm);
			fprintf(f, "\\ntid %d\\n%s\"%s];\n", (int)t->tid, wg_state_name(t->state),
				t->stuck ? ", color=red, penwidth=2" : "");
		}
		fprintf(f, "\t}\n");
	}
	for (size_t i = 0; i < g->nobjects; i++) {
		const struct wg_object *o = &g->objects[i];

		fprintf(f, "\to%zu [shape=ellipse, label=\"%s\\n", i, wg_kind_name(o->kind));
		dot_escape(f, wg_object_name(o, name, sizeof(name)));
		fprintf(f, "\"];\n");
		if (wg_kind_has_owner(o->kind) && o->owner) {
			if (wg_find_thread(g, o->owner) >= 0)
				fprintf(f, "\to%zu -> t%d [label=\"%s\", style=dashed];\n", i,
					(int)o->owner, o->kind == WG_JOIN ? "exit of" : "held by");
			else
				fprintf(f, "\tgone%d [shape=box, style=dotted, label=\"tid %d\\n(not "
					   "here)\"];\n\to%zu -> gone%d [label=\"held by\", "
					   "style=dashed];\n", (int)o->owner, (int)o->owner, i,
					(int)o->owner);
		}
		for (size_t k = 0; k < o->npeers; k++)
			if (wg_find_process(g, o->peers[k]) >= 0)
				fprintf(f, "\to%zu -> p%d [label=\"%s\", style=dashed];\n", i,
					(int)o->peers[k], o->kind == WG_CHILD ? "exit of" : "other end");
	}
	for (size_t i = 0; i < g->nthreads; i++) {
		const struct wg_thread *t = &g->threads[i];

		if (t->obj >= 0)
			fprintf(f, "\tt%d -> o%d [label=\"waits\"%s];\n", (int)t->tid, t->obj,
				t->stuck ? ", color=red" : "");
	}
	fprintf(f, "}\n");
}
