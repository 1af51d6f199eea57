// SPDX-License-Identifier: GPL-2.0
/* doctor_python.c — a snapshot's CPython processes read as Python (see doctor_python.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/procmem.h"
#include "doctor/doctor_python.h"
#include "python/pyasync.h"
#include "python/pyfind.h"
#include "python/pylocks.h"
#include "python/pyread.h"
#include "doctor/snapshot.h"
#include "lib/util.h"

static ssize_t read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return procmem_read(*(pid_t *)ctx, addr, buf, len);
}

/* Copy the reader's threads into the graph's threads of the same tids. */
static void fill_threads(struct waitgraph *g, pid_t pid, struct py_reader *r)
{
	for (size_t i = 0; i < g->nthreads; i++) {
		struct wg_thread *t = &g->threads[i];
		const struct py_thread *pt = t->pid == pid ? py_thread_by_tid(r, t->tid) : NULL;

		if (!pt)
			continue;
		if (pt->name)
			wg_set_str(&t->name, pt->name);
		t->lang = xcalloc(pt->nframes ? pt->nframes : 1, sizeof(*t->lang));
		for (size_t k = 0; k < pt->nframes; k++) {
			t->lang[k].func = xstrdup(pt->frames[k].qualname);
			t->lang[k].file = xstrdup(pt->frames[k].file);
			t->lang[k].line = pt->frames[k].line;
			t->lang[k].entry = pt->frames[k].entry;
		}
		t->nlang = pt->nframes;
	}
}

/* A CPython process of the snapshot, read: its reader stays open for the holders of the
 * multiprocessing locks, which may live in any process that shares one. */
struct pyproc {
	pid_t pid;		/* the reader's ctx: stays put */
	size_t p;		/* index in the snapshot's processes */
	int ok;
	struct py_reader r;
};

static int read_process(struct snapshot *s, size_t p, struct pyproc *pp,
			const struct pylock_owners *owners, doctor_python_warn warn, void *ctx)
{
	struct wg_process *proc = &s->g.procs[p];
	struct proc_maps own = { 0 };
	const struct proc_maps *maps = &s->sp[p].maps;
	struct py_reader *r = &pp->r;
	struct py_found f;
	char line[400];
	int found;

	pp->pid = proc->pid;
	pp->p = p;
	if (!s->sp[p].maps_ok) {
		if (procmaps_read(&own, pp->pid, 0))
			return 0;
		maps = &own;
	}
	found = py_find(pp->pid, maps, &f);
	procmaps_free(&own);
	if (found <= 0)
		return 0;
	if (py_reader_init(r, read_pid, &pp->pid, f.version, f.runtime)) {
		snprintf(line, sizeof(line), "pid %d: %s", (int)pp->pid, r->why);
		warn(ctx, line);
		py_reader_free(r);
		return 0;
	}
	if (py_read_threads(r)) {
		snprintf(line, sizeof(line), "pid %d: CPython %u.%u: %s, native frames only",
			 (int)pp->pid, f.version >> 8, f.version & 0xff, r->why);
		warn(ctx, line);
		py_reader_free(r);
		return 0;
	}
	py_read_thread_names(r);
	if (f.hexversion)
		snprintf(line, sizeof(line), "CPython %u.%u.%u", (unsigned)(f.hexversion >> 24),
			 (unsigned)(f.hexversion >> 16 & 0xff),
			 (unsigned)(f.hexversion >> 8 & 0xff));
	else
		snprintf(line, sizeof(line), "CPython %u.%u", f.version >> 8, f.version & 0xff);
	wg_set_str(&proc->runtime, line);
	fill_threads(&s->g, pp->pid, r);
	pylocks_resolve(r, &s->g, pp->pid, owners);
	py_read_tasks(r, proc);
	py_read_loop(r, proc);
	if (r->partial) {
		snprintf(line, sizeof(line), "pid %d: Python stacks partial: %s", (int)pp->pid,
			 r->why);
		warn(ctx, line);
	}
	pp->ok = 1;
	return 1;
}

/* Where process q maps what addr is in process p's memory: the same file (device and inode:
 * glibc creates a semaphore under a temporary name it then renames, so its creator's mapping
 * and an opener's have different paths) at the same offset. A multiprocessing lock's
 * semaphore is a file in /dev/shm; forked children have it at the same address, spawned ones
 * wherever they mapped it. 0 when q does not map it. */
static uint64_t same_file_addr(const struct snapshot *s, size_t p, uint64_t addr, size_t q)
{
	const struct map_entry *e = s->sp[p].maps_ok ? procmaps_find(&s->sp[p].maps, addr) : NULL;
	uint64_t off;

	if (!e || !e->inode || !s->sp[q].maps_ok)
		return 0;
	off = addr - e->start + e->pgoff;
	for (size_t i = 0; i < s->sp[q].maps.n; i++) {
		const struct map_entry *f = &s->sp[q].maps.v[i];

		if (f->inode == e->inode && f->dev == e->dev && off >= f->pgoff &&
		    off < f->pgoff + (f->end - f->start))
			return f->start + (off - f->pgoff);
	}
	return 0;
}

/* Process q's copy of o's SemLock, when q maps o's semaphore and holds it: the thread that took
 * it last (0: not held there), how many times (*count) and q's name for it. */
static pid_t holder_in(const struct snapshot *s, const struct wg_object *o, size_t p,
		       struct pyproc *q, char *name, size_t n, int *count)
{
	uint64_t at = q->ok ? same_file_addr(s, p, o->addr, q->p) : 0;

	*count = 0;
	return at ? pylocks_semlock_holder(&q->r, at, name, n, count) : 0;
}

/* The holder of a multiprocessing Lock or RLock a thread waits on: the process whose copy of
 * the lock says it took it, in any CPython process of the snapshot that maps its semaphore. */
static void lock_holder(struct snapshot *s, struct wg_object *o, size_t p, struct pyproc *pp,
			size_t n)
{
	char name[128];
	int count;

	for (size_t q = 0; q < n; q++) {
		pid_t tid = holder_in(s, o, p, &pp[q], name, sizeof(name), &count);

		if (!tid)
			continue;
		o->owner = tid;
		o->shared = 1;
		if (pp[q].pid != o->pid)
			o->owner_elsewhere = pp[q].pid;
		if (name[0] && (!o->name || strcmp(o->name, name)))
			wg_set_str(&o->held_as, name);
		return;
	}
	wg_set_str(&o->note, "no process read here holds it by its own copy of the lock (reached "
		   "from a global or a frame): its holder exited without releasing it, or holds "
		   "it through an object conlab did not read");
}

/* A multiprocessing.Semaphore has no holder: the processes that took permits and did not
 * give them back are said. */
static void semaphore_takers(struct snapshot *s, struct wg_object *o, size_t p,
			     struct pyproc *pp, size_t n)
{
	char name[128], note[512];
	size_t len = 0;
	int count;

	for (size_t q = 0; q < n && len < sizeof(note); q++) {
		pid_t tid = holder_in(s, o, p, &pp[q], name, sizeof(name), &count);

		if (tid)
			len += (size_t)snprintf(note + len, sizeof(note) - len,
						"%s%d by pid %d (last taken by tid %d)",
						len ? ", " : "permits taken and not given back: ",
						count, (int)pp[q].pid, (int)tid);
	}
	if (len)
		wg_set_str(&o->note, note);
}

/* What the other processes say of the multiprocessing locks threads wait on. */
static void semlock_holders(struct snapshot *s, struct pyproc *pp, size_t n)
{
	for (size_t i = 0; i < s->g.nobjects; i++) {
		struct wg_object *o = &s->g.objects[i];
		int p = wg_find_process(&s->g, o->pid);

		if (!o->type || strncmp(o->type, "multiprocessing.", 16) || o->owner || p < 0)
			continue;
		if (o->kind == WG_MUTEX)
			lock_holder(s, o, (size_t)p, pp, n);
		else if (o->kind == WG_SEMAPHORE)
			semaphore_takers(s, o, (size_t)p, pp, n);
	}
}

size_t doctor_python(struct snapshot *s, const struct pylock_owners *owners,
		     doctor_python_warn warn, void *ctx)
{
	struct pyproc *pp = xcalloc(s->g.nprocs ? s->g.nprocs : 1, sizeof(*pp));
	size_t n = 0;

	for (size_t p = 0; p < s->g.nprocs; p++)
		n += read_process(s, p, &pp[n], owners, warn, ctx) > 0;
	semlock_holders(s, pp, n);
	for (size_t i = 0; i < n; i++)
		py_reader_free(&pp[i].r);
	free(pp);
	return n;
}
