// SPDX-License-Identifier: GPL-2.0
/*
 * doctor.c — the doctor's engine, behind `conlab deadlock -p PID` and the live mode's
 * confirmation (see doctor.h).
 *
 * The recipe: snapshot /proc and memory (no stop) → read each sleeping thread's stack from its
 * saved registers and memory, without stopping it, and symbolize it (running threads only
 * with --stop-running) → reclassify waits with the stack → name the objects → read the waits
 * again (what moved is not stuck) → analyze → render.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/procmem.h"
#include "doctor/doctor.h"
#include "doctor/doctor_python.h"
#include "doctor/doctor_report.h"
#include "lib/idmap.h"
#include "symbols/procmaps.h"
#include "doctor/snapshot.h"
#include "doctor/stackwalk.h"
#include "doctor/taskregs.h"
#include "symbols/symbolize.h"
#include "lib/util.h"

struct doctor {
	const struct doctor_opts *o;
	struct doctor_opts opts;	/* o points here: a kept diagnosis outlives the caller's */
	struct snapshot snap;
	struct symbolizer **syms;	/* per process of snap.g.procs, lazily */
	struct idmap tids;		/* tid -> thread index */
	pid_t walking;			/* the process being walked */
	size_t moved;			/* threads found live while their stacks were read */
	struct doctor_meta meta;
	char warning[512];
};

static struct symbolizer *sym_for(struct doctor *d, pid_t pid)
{
	int p = wg_find_process(&d->snap.g, pid);

	if (p < 0)
		return NULL;
	if (!d->syms[p])
		d->syms[p] = symbolizer__new_pid(pid);
	return d->syms[p];
}

static void add_warning(struct doctor *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_warning(struct doctor *d, const char *fmt, ...)
{
	size_t len = strlen(d->warning);
	va_list ap;

	if (len && len + 3 < sizeof(d->warning)) {
		strcat(d->warning, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(d->warning + len, sizeof(d->warning) - len, fmt, ap);
	va_end(ap);
}

/* An unknown version or a partial read: said in the report and, as one line, on stderr (a
 * report written to a file would hide it). */
static void python_warning(void *ctx, const char *line)
{
	errmsg("%s", line);
	add_warning(ctx, "%s", line);
}

/* The registers the stack was unwound from belong to the wait the snapshot classified: same
 * syscall, same stack and instruction pointers (both come from the same saved registers). */
static int same_call(const struct snap_thread *st, const struct task_regs *r)
{
	if (st->nr != r->nr)
		return 0;
	return st->nr < 0 || (st->sp == r->regs[TREGS_SP] && st->pc == r->regs[TREGS_PC]);
}

/* A thread the snapshot saw waiting ran while we looked: live, whatever it waited for. */
static void mark_live(struct doctor *d, struct wg_thread *t, const char *why)
{
	if (t->state == WG_RUNNING || t->state == WG_ZOMBIE)
		return;
	t->state = WG_RUNNING;
	wg_set_str(&t->wait_desc, why);
	d->moved++;
}

/* Process q maps the byte at file offset off of path, executable: its address there. */
static int same_code_in(const struct snap_proc *q, const char *path, uint64_t off, uint64_t *addr)
{
	for (size_t i = 0; q->maps_ok && i < q->maps.n; i++) {
		const struct map_entry *e = &q->maps.v[i];

		if ((e->prot & MAP_PROT_X) && off >= e->pgoff && off - e->pgoff < e->end - e->start &&
		    !strcmp(e->path, path)) {
			*addr = e->start + (off - e->pgoff);
			return 1;
		}
	}
	return 0;
}

/*
 * The symbolizer for a pc of process pi, and the address to look up there. Processes of the
 * same program (the children of a fork, several runs of one binary) share the symbolizer of
 * the first of them that maps the same file: libdwfl then reads (and inflates) a library's
 * debug information once per diagnosis instead of once per process.
 */
static struct symbolizer *sym_for_pc(struct doctor *d, int pi, uint64_t pc, uint64_t *look)
{
	const struct waitgraph *g = &d->snap.g;
	const struct snap_proc *p = &d->snap.sp[pi];
	const struct map_entry *e = p->maps_ok ? procmaps_find(&p->maps, pc) : NULL;

	*look = pc;
	if (e && e->path[0] == '/' && !strstr(e->path, " (deleted)") && g->procs[pi].exe) {
		uint64_t off = e->pgoff + (pc - e->start);

		for (int q = 0; q < pi; q++)
			if (d->syms[q] && g->procs[q].exe && !strcmp(g->procs[q].exe, g->procs[pi].exe) &&
			    same_code_in(&d->snap.sp[q], e->path, off, look))
				return d->syms[q];
	}
	return sym_for(d, g->procs[pi].pid);
}

static void set_stack(struct doctor *d, int64_t ti, const struct stackwalk_thread *w)
{
	int pi = wg_find_process(&d->snap.g, d->walking);
	struct wg_thread *t = &d->snap.g.threads[ti];
	const char *funcs[STACKWALK_MAX_FRAMES * 2];
	size_t n = w->n;

	t->stop_ns = w->stop_ns;
	if (w->err)
		wg_set_str(&t->stack_err, w->err);
	t->stack = xcalloc(n ? n : 1, sizeof(*t->stack));
	for (size_t i = 0; i < n; i++) {
		struct wg_frame *fr = &t->stack[i];
		struct sym_code c = { 0 };

		struct symbolizer *sym;
		uint64_t look;

		fr->pc = w->pcs[i];
		sym = pi >= 0 ? sym_for_pc(d, pi, w->pcs[i], &look) : NULL;
		if (sym)
			symbolizer__code(sym, look, w->retaddr[i] ? SYM_RETADDR : 0, &c);
		fr->func = c.func ? xstrdup(c.func) : NULL;
		fr->off = c.off;
		fr->file = c.file ? xstrdup(c.file) : NULL;
		fr->line = c.line;
		fr->module = c.module ? xstrdup(c.module) : NULL;
		fr->in_main = c.in_main;
		if (i < sizeof(funcs) / sizeof(funcs[0]))
			funcs[i] = c.func;
	}
	t->nstack = n;
	snapshot_refine(&d->snap, (int)ti, funcs, n < STACKWALK_MAX_FRAMES * 2 ? n : 0);
}

static void on_stack(const struct stackwalk_thread *w, void *arg)
{
	struct doctor *d = arg;
	int64_t ti = idmap_get(&d->tids, (uint64_t)w->tid);
	struct wg_thread *t;

	if (ti < 0)
		return;		/* a thread born after the snapshot */
	t = &d->snap.g.threads[ti];
	switch (w->status) {
	case SW_ASLEEP:
		if (!same_call(&d->snap.st[ti], w->regs)) {
			mark_live(d, t, "its wait changed during the snapshot: making progress");
			break;
		}
		set_stack(d, ti, w);
		break;
	case SW_STOPPED:
		set_stack(d, ti, w);
		break;
	case SW_RUNNING:
		mark_live(d, t, "running");
		wg_set_str(&t->stack_err, "running: not stopped (--stop-running takes its stack)");
		break;
	case SW_MOVED:
		mark_live(d, t, "ran while its stack was read: making progress");
		wg_set_str(&t->stack_err, "live: it ran at every reading (--stop-running takes "
					  "its stack)");
		break;
	case SW_GONE:
		if (t->state != WG_ZOMBIE) {
			t->state = WG_ZOMBIE;
			wg_set_str(&t->wait_desc, "exited during the snapshot");
			d->moved++;
		}
		break;
	}
}

static void walk_stacks(struct doctor *d)
{
	struct waitgraph *g = &d->snap.g;
	struct taskregs regs;
	struct stackwalk_opts wo = {
		.max_frames = d->o->max_frames, .stop_running = d->o->stop_running, .regs = &regs,
	};

	taskregs_open(&regs);
	d->meta.regs_load_ns = regs.load_ns;
	d->meta.regs_ns += regs.load_ns;
	for (size_t p = 0; p < g->nprocs && !d->meta.interrupted; p++) {
		struct stackwalk_stats st;
		char err[256];

		d->walking = g->procs[p].pid;
		if (stackwalk_pid(d->walking, &wo, on_stack, d, &st, err, sizeof(err)))
			add_warning(d, "no stacks for pid %d: %s", (int)d->walking, err);
		d->meta.stacks_ns += st.total_ns;
		d->meta.regs_ns += st.regs_ns;
		d->meta.mem_ns += st.mem_ns;
		d->meta.unwind_ns += st.unwind_ns;
		d->meta.stop_sum_ns += st.stop_sum_ns;
		if (st.stop_max_ns > d->meta.stop_max_ns)
			d->meta.stop_max_ns = st.stop_max_ns;
		d->meta.stacks_taken += st.asleep + st.stopped - st.failed;
		d->meta.stacks_failed += st.failed;
		d->meta.stacks_running += st.running;
		d->meta.stacks_moved += st.moved;
		d->meta.stacks_stopped += st.stopped;
		d->meta.rereads += st.rereads;
		if (st.interrupted) {
			d->meta.interrupted = 1;
			add_warning(d, "interrupted: some stacks were not taken");
		}
	}
	/* the reader's fallback is worth a word: stacks from sp and pc alone are often short */
	if (regs.why[0] && regs.source == TREGS_PROC)
		add_warning(d, "registers from /proc (%s): stacks may be partial", regs.why);
	d->meta.regs_source = taskregs_source_name(&regs);
	taskregs_close(&regs);
}

static uint64_t kind_size(enum wg_obj_kind k)
{
	/* sizeof in glibc 2.36 x86-64: lets a stripped program's arrays be indexed */
	switch (k) {
	case WG_MUTEX: return 40;
	case WG_CONDVAR: return 48;
	case WG_SEMAPHORE: return 32;
	case WG_RWLOCK: return 56;
	case WG_BARRIER: return 32;
	default: return 0;
	}
}

/* The innermost frame outside libc of a thread waiting on object oi: "take_fork (philo.c:63)".
 * Sets *pylock when the waiter is in CPython's lock acquire (a threading.Lock). */
static int used_at(struct doctor *d, int oi, char *buf, size_t n, int *pylock)
{
	struct waitgraph *g = &d->snap.g;

	*pylock = 0;
	for (size_t i = 0; i < g->nthreads; i++) {
		const struct wg_thread *t = &g->threads[i];

		if (t->obj != oi)
			continue;
		for (size_t k = 0; k < t->nstack; k++)
			if (t->stack[k].func && !strcmp(t->stack[k].func, "lock_PyThread_acquire_lock"))
				*pylock = 1;
		for (size_t k = 0; k < t->nstack; k++) {
			const struct wg_frame *fr = &t->stack[k];

			if (!fr->func || !fr->module || sym_system_module(fr->module))
				continue;
			if (fr->file)
				snprintf(buf, n, "%s (%s:%d)", fr->func,
					 strrchr(fr->file, '/') ? strrchr(fr->file, '/') + 1 : fr->file,
					 fr->line);
			else
				snprintf(buf, n, "%s (%s)", fr->func, fr->module);
			return 1;
		}
	}
	return 0;
}

/* Not a global: the heap, a thread's stack, or an anonymous mapping. */
static void name_by_region(struct doctor *d, int oi)
{
	struct waitgraph *g = &d->snap.g;
	struct wg_object *o = &g->objects[oi];
	int p = wg_find_process(g, o->pid);
	const struct map_entry *e = p >= 0 ? procmaps_find(&d->snap.sp[p].maps, o->addr) : NULL;
	char name[160], where[256], note[320];
	/* where the object is, said after its address (the kind is said by the sentence) */
	const char *region = "in anonymous memory";
	int pylock;

	if (e && e->path && !strcmp(e->path, "[stack]"))
		region = "on a stack";
	else if (e && e->path && !strcmp(e->path, "[heap]"))
		region = "on the heap";
	else if (e && (!e->path || !e->path[0]))
		region = "on the heap";	/* malloc arenas of threads are anonymous mappings */
	if (e) {
		for (size_t i = 0; i < g->nthreads; i++) {
			const struct snap_thread *st = &d->snap.st[i];

			/* a thread's stack is the mapping its stack pointer is in */
			if (g->threads[i].pid == o->pid && st->sp >= e->start && st->sp < e->end &&
			    st->nr >= 0) {
				snprintf(name, sizeof(name), "%#" PRIx64 " on the stack of %s (tid %d)",
					 o->addr, g->threads[i].comm, (int)g->threads[i].tid);
				wg_set_str(&o->name, name);
				region = NULL;
				break;
			}
		}
	}
	if (used_at(d, oi, where, sizeof(where), &pylock)) {
		snprintf(note, sizeof(note), "no variable names it; it is used at %s", where);
		wg_set_str(&o->note, note);
	}
	if (pylock) {
		/* CPython 3.11/3.12: a threading.Lock is a sem_t, its futex the lock's address */
		snprintf(name, sizeof(name), "threading.Lock %#" PRIx64, o->addr);
		wg_set_str(&o->name, name);
	} else if (region && e && e->path && e->path[0] == '/') {
		/* the data of a file with no symbol for it (stripped): say which file */
		const char *base = strrchr(e->path, '/') + 1;

		snprintf(name, sizeof(name), "%#" PRIx64 " in %s (no symbol)", o->addr, base);
		wg_set_str(&o->name, name);
	} else if (region) {
		snprintf(name, sizeof(name), "%#" PRIx64 " %s", o->addr, region);
		wg_set_str(&o->name, name);
	}
}

static void name_objects(struct doctor *d)
{
	struct waitgraph *g = &d->snap.g;
	char name[256], lbl[96];

	for (size_t i = 0; i < g->nobjects; i++) {
		struct wg_object *o = &g->objects[i];
		struct symbolizer *sym;
		int t, p;

		switch (o->kind) {
		case WG_JOIN:
			t = wg_find_thread(g, o->owner);
			snprintf(name, sizeof(name), "thread %s (tid %d)", t >= 0 ? g->threads[t].comm : "?",
				 (int)o->owner);
			wg_set_str(&o->name, name);
			continue;
		case WG_CHILD:
			if ((int64_t)o->addr > 0) {
				p = wg_find_process(g, (pid_t)o->addr);
				snprintf(lbl, sizeof(lbl), " (%s)", p >= 0 ? g->procs[p].comm : "");
				snprintf(name, sizeof(name), "child %d%s", (int)o->addr,
					 p >= 0 ? lbl : "");
			} else {
				snprintf(name, sizeof(name), "any child");
			}
			wg_set_str(&o->name, name);
			continue;
		case WG_PIPE:
		case WG_SOCKET:
			snprintf(name, sizeof(name), "%s:[%" PRIu64 "]",
				 o->kind == WG_PIPE ? "pipe" : "socket", o->addr);
			wg_set_str(&o->name, name);
			continue;
		default:
			break;
		}
		sym = sym_for(d, o->pid);
		if (sym && !symbolizer__data_sized(sym, o->addr, kind_size(o->kind), name, sizeof(name)))
			wg_set_str(&o->name, name);
		else
			name_by_region(d, (int)i);
	}
}

static const char *proc_label_buf(const struct waitgraph *g, pid_t pid, char *buf, size_t n)
{
	int p = wg_find_process(g, pid);

	snprintf(buf, n, "pid %d (%s)", (int)pid, p >= 0 ? g->procs[p].comm : "?");
	return buf;
}

/* A lock whose owner is not a thread of its process: say what we know about the owner. */
static void explain_orphans(struct doctor *d)
{
	struct waitgraph *g = &d->snap.g;
	char note[512], pl[96];

	for (size_t i = 0; i < g->nobjects; i++) {
		struct wg_object *o = &g->objects[i];
		int p = wg_find_process(g, o->pid), pp, ot;
		const struct wg_process *proc, *parent;
		uint32_t powner = 0;

		/* a process-shared lock's owner in another process holds that very lock */
		if (!wg_kind_has_owner(o->kind) || o->kind == WG_JOIN || !o->owner || p < 0 ||
		    o->shared)
			continue;
		ot = wg_find_thread(g, o->owner);
		if (ot >= 0 && g->threads[ot].pid == o->pid)
			continue;
		proc = &g->procs[p];
		pp = wg_find_process(g, proc->ppid);
		parent = pp >= 0 ? &g->procs[pp] : NULL;
		if (o->owner_elsewhere && o->owner_elsewhere == proc->ppid) {
			snprintf(note, sizeof(note),
				 "tid %d is %s, a thread of the parent pid %d: the lock was held when "
				 "the parent forked this process, and this copy will never be released",
				 (int)o->owner, ot >= 0 ? g->threads[ot].comm : "a thread",
				 (int)proc->ppid);
		} else if (o->owner_elsewhere) {
			snprintf(note, sizeof(note), "tid %d is a thread of another process, %s",
				 (int)o->owner, ot >= 0 ? g->threads[ot].comm : "");
		} else if (parent && parent->exe && proc->exe && !strcmp(parent->exe, proc->exe)) {
			int got = o->kind == WG_MUTEX &&
				  procmem_read(parent->pid, o->addr + 8, &powner, 4) == 4;

			snprintf(note, sizeof(note),
				 "this process is a fork of %s running the same program: the lock was "
				 "most likely held by a thread of the parent when it forked%s",
				 proc_label_buf(g, parent->pid, pl, sizeof(pl)),
				 got ? (powner ? " (the parent's copy is held again now)" :
					 " (the parent's copy has since been released)") : "");
		} else {
			snprintf(note, sizeof(note),
				 "tid %d no longer exists: it exited (or was cancelled) while holding it",
				 (int)o->owner);
		}
		wg_set_str(&o->note, note);
	}
}

static int render(struct doctor *d)
{
	FILE *f = stdout;

	if (d->o->output) {
		f = fopen(d->o->output, "w");
		if (!f)
			return fail("cannot open %s: %s", d->o->output, strerror(errno));
	}
	switch (d->o->format) {
	case DOCTOR_JSON:
		doctor_report_json(f, &d->snap.g, &d->meta);
		break;
	case DOCTOR_DOT:
		doctor_report_dot(f, &d->snap.g, &d->meta);
		break;
	default:
		doctor_report_text(f, &d->snap.g, &d->meta);
	}
	if (f != stdout) {
		if (fclose(f))
			return fail("cannot write %s: %s", d->o->output, strerror(errno));
	} else {
		fflush(stdout);
	}
	return 0;
}

void doctor_result_free(struct doctor *d)
{
	if (!d)
		return;
	if (d->syms)
		for (size_t i = 0; i < d->snap.g.nprocs; i++)
			symbolizer__free(d->syms[i]);
	free(d->syms);
	idmap_free(&d->tids);
	snapshot_free(&d->snap);
	free(d);
}

/* A finding, or an asyncio loop that can never wake: something waits for ever. */
static int found(const struct waitgraph *g)
{
	for (size_t i = 0; i < g->nprocs; i++)
		if (g->procs[i].loop.stalled)
			return 1;
	return g->nfindings > 0;
}

int doctor_take(pid_t pid, const struct doctor_opts *o, struct doctor **out)
{
	struct doctor *d = xcalloc(1, sizeof(*d));
	uint64_t t0 = now_mono_ns(), t_py;
	int err;
	char path[64];

	*out = NULL;
	d->opts = *o;
	d->o = &d->opts;
	if (pid <= 0) {
		errmsg("invalid pid %d", (int)pid);
		goto fail;
	}
	if (pid == getpid()) {
		errmsg("pid %d is conlab itself", (int)pid);
		goto fail;
	}
	err = snapshot_take(&d->snap, pid, o->no_children ? 0 : SNAP_CHILDREN);
	if (err) {
		errmsg("%s", d->snap.err[0] ? d->snap.err : strerror(-err));
		goto fail;
	}
	d->syms = xcalloc(d->snap.g.nprocs, sizeof(*d->syms));
	for (size_t i = 0; i < d->snap.g.nthreads; i++)
		idmap_put(&d->tids, (uint64_t)d->snap.g.threads[i].tid, (uint32_t)i);
	d->meta.pid = pid;
	d->meta.source = "snapshot";
	d->meta.proc_ns = d->snap.proc_ns;
	d->meta.with_stacks = !o->no_stacks;
	if (!o->no_stacks)
		walk_stacks(d);
	name_objects(d);
	explain_orphans(d);
	d->meta.changed = snapshot_recheck(&d->snap) + d->moved;
	/* after the recheck: Python locks become mutexes and joins whose words are not glibc's */
	t_py = now_mono_ns();
	doctor_python(&d->snap, o->owners, python_warning, d);
	d->meta.python_ns = now_mono_ns() - t_py;
	d->meta.native = o->native;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (access(path, F_OK)) {
		errmsg("pid %d exited during the snapshot", (int)pid);
		goto fail;
	}
	waitgraph_analyze(&d->snap.g);
	d->meta.total_ns = now_mono_ns() - t0;
	d->meta.warning = d->warning[0] ? d->warning : NULL;
	*out = d;
	return found(&d->snap.g) ? DOCTOR_FOUND : DOCTOR_OK;
fail:
	doctor_result_free(d);
	return DOCTOR_ERROR;
}

int doctor_render(struct doctor *d, const char *source, const struct doctor_extra *x)
{
	if (source)
		d->meta.source = source;
	d->meta.extra = x;
	return render(d) ? DOCTOR_ERROR : (found(&d->snap.g) || (x && x->count)) ?
		DOCTOR_FOUND : DOCTOR_OK;
}

int doctor_run(pid_t pid, const struct doctor_opts *o)
{
	struct doctor *d;
	int rc = doctor_take(pid, o, &d);

	if (rc != DOCTOR_ERROR)
		rc = doctor_render(d, NULL, NULL);
	doctor_result_free(d);
	return rc;
}
