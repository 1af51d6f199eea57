// SPDX-License-Identifier: GPL-2.0
/*
 * pyrecord.c — Python thread names for a recording (see pyrecord.h).
 *
 * When to read. A Thread is in threading._active, under its name, before its start() returns
 * (_bootstrap_inner registers it, then sets the _started event start() waits for), and 3.11
 * never puts the name in comm, so the name can only be read from memory while the process
 * lives. The recorder says when a thread appears (its EV_FORK, drained within a poll, 5 ms);
 * the process is then read at every poll until that thread has a name (or for PENDING_NS: a
 * thread started by _thread or by C code never gets one), so a thread is named at the first
 * poll after it registered, before a deadlock it takes part in can be acted on (the recorder
 * reads before its hooks run). Every READ_EVERY_NS after that, for renames (`t.name = `) and
 * the threads of a process found already running. A read is only thread states and one dict:
 * tens of process_vm_readv calls, a few tens of µs of the recorder's time, none of the
 * target's (nothing is stopped). The last read is at the end of the recording, for the
 * processes still alive. A thread that starts and ends between two polls keeps its comm.
 *
 * Only what changed is written, so a recording holds one record per thread and name.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/procmem.h"
#include "lib/util.h"
#include "python/pyfind.h"
#include "python/pyread.h"
#include "python/pyrecord.h"
#include "trace/trace.h"

#define READ_EVERY_NS 100000000ull	/* 100 ms: renames, threads found running */
#define PENDING_NS 2000000000ull	/* a new thread not named after 2 s never will be */
#define NAME_READS 50000		/* read budget of one pass (a pass takes tens) */

struct pyrec_proc {
	pid_t pid;
	unsigned version;
	uint64_t runtime;
	int unreadable;		/* the version's layout is not known: never read again */
	pid_t *pending;		/* new threads not named yet: read at every poll */
	size_t npending, cap_pending;
	uint64_t pending_until;	/* then give up on them */
	uint64_t next_ns;	/* the next periodic read */
	struct pyrec_names names;
};

struct pyrec {
	struct pyrec_proc *v;
	size_t n, cap;
};

int pyrec_names_update(struct pyrec_names *ns, pid_t tid, const char *name)
{
	struct pyrec_name *e = NULL;

	for (size_t i = 0; i < ns->n; i++)
		if (ns->v[i].tid == tid) {
			e = &ns->v[i];
			break;
		}
	if (e && !strncmp(e->name, name, sizeof(e->name) - 1))
		return 0;
	if (!e) {
		GROW(ns->v, ns->cap, ns->n + 1);
		e = &ns->v[ns->n++];
		e->tid = tid;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	return 1;
}

void pyrec_names_free(struct pyrec_names *ns)
{
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static struct pyrec_proc *find(struct pyrec *st, pid_t pid)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->v[i].pid == pid)
			return &st->v[i];
	return NULL;
}

static ssize_t read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return procmem_read(*(pid_t *)ctx, addr, buf, len);
}

static void write_name(struct trace_writer *w, pid_t pid, pid_t tid, const char *name)
{
	struct ev_meta_thread_name rec = {};

	rec.hdr.ts = now_mono_ns();
	rec.hdr.tid = (uint32_t)tid;
	rec.hdr.type = EV_META_THREAD_NAME;
	rec.pid = (uint32_t)pid;
	rec.runtime = TNR_PYTHON;
	trace_write2(w, &rec, sizeof(rec), name, strlen(name) + 1);
}

/* One pass over a process's thread states and threading._active; the changed names written. */
static void read_names(struct pyrec_proc *p, struct trace_writer *w)
{
	struct py_reader r;
	pid_t pid = p->pid;

	if (py_reader_init(&r, read_pid, &pid, p->version, p->runtime)) {
		p->unreadable = 1;
		py_reader_free(&r);
		return;
	}
	r.no_frames = 1;
	r.max_reads = NAME_READS;
	if (!py_read_threads(&r) && py_read_thread_names(&r) > 0)
		for (size_t i = 0; i < r.nthreads; i++) {
			const struct py_thread *t = &r.threads[i];

			if (t->tid <= 0 || !t->name)
				continue;
			if (pyrec_names_update(&p->names, t->tid, t->name))
				write_name(w, pid, t->tid, t->name);
			for (size_t k = 0; k < p->npending; k++)
				if (p->pending[k] == t->tid)
					p->pending[k--] = p->pending[--p->npending];
		}
	py_reader_free(&r);
}

static void *pr_open(void)
{
	return xcalloc(1, sizeof(struct pyrec));
}

/* Maps changed: a process not known as CPython yet is looked for the interpreter (only files
 * named python3.N or libpython3.N are opened, so another program costs a scan of its maps). */
static void pr_maps(void *vst, pid_t pid, const struct proc_maps *m)
{
	struct pyrec *st = vst;
	struct pyrec_proc *p;
	struct py_found f;

	if (find(st, pid) || py_find(pid, m, &f) <= 0)
		return;
	GROW(st->v, st->cap, st->n + 1);
	p = &st->v[st->n++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->version = f.version;
	p->runtime = f.runtime;
}

static void pr_thread(void *vst, pid_t pid, pid_t tid)
{
	struct pyrec_proc *p = find(vst, pid);

	if (!p)
		return;
	GROW(p->pending, p->cap_pending, p->npending + 1);
	p->pending[p->npending++] = tid;
	p->pending_until = now_mono_ns() + PENDING_NS;
}

static void pr_tick(void *vst, uint64_t now, struct trace_writer *w)
{
	struct pyrec *st = vst;

	for (size_t i = 0; i < st->n; i++) {
		struct pyrec_proc *p = &st->v[i];

		if (p->npending && now >= p->pending_until)
			p->npending = 0;
		if (p->unreadable || (!p->npending && now < p->next_ns))
			continue;
		p->next_ns = now + READ_EVERY_NS;
		read_names(p, w);
	}
}

static void pr_forget(void *vst, pid_t pid)
{
	struct pyrec *st = vst;
	struct pyrec_proc *p = find(st, pid);

	if (!p)
		return;
	pyrec_names_free(&p->names);
	free(p->pending);
	*p = st->v[--st->n];
}

static void pr_close(void *vst, struct trace_writer *w)
{
	struct pyrec *st = vst;

	for (size_t i = 0; i < st->n; i++) {
		if (w && !st->v[i].unreadable)
			read_names(&st->v[i], w);
		pyrec_names_free(&st->v[i].names);
		free(st->v[i].pending);
	}
	free(st->v);
	free(st);
}

const struct record_lang pyrecord_lang = {
	.open = pr_open,
	.maps = pr_maps,
	.thread = pr_thread,
	.tick = pr_tick,
	.forget = pr_forget,
	.close = pr_close,
};
