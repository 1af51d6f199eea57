// SPDX-License-Identifier: GPL-2.0
/* pylockwatch.c — a CPython command's Locks from the semaphore probes (see pylockwatch.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/procmem.h"
#include "lib/util.h"
#include "python/pyfind.h"
#include "python/pylockwatch.h"
#include "python/pyread.h"
#include "symbols/procmaps.h"

#define MAPS_EVERY_NS 50000000ull	/* a site outside the known text re-reads the maps */

static pid_t owner_cb(void *ctx, pid_t pid, uint64_t sem)
{
	struct pylw *w = ctx;

	return pid == w->pid ? pylw_owner(w, sem) : 0;
}

void pylw_init(struct pylw *w)
{
	memset(w, 0, sizeof(*w));
	w->owners.owner = owner_cb;
	w->owners.ctx = w;
}

static void free_names(struct pylw_name *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

void pylw_free(struct pylw *w)
{
	free(w->text);
	free(w->own);
	free(w->tids);
	free_names(w->locks, w->nlocks);
	free_names(w->threads, w->nthreads);
	pylw_init(w);
}

void pylw_start(struct pylw *w, pid_t pid)
{
	w->pid = pid;
}

static int interp_file(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strncmp(b, "python3", 7) || !strncmp(b, "libpython3", 10);
}

static void read_text(struct pylw *w)
{
	struct proc_maps m = { 0 };

	w->maps_ns = now_mono_ns();
	if (procmaps_read(&m, w->pid, 0))
		return;
	w->ntext = 0;
	for (size_t i = 0; i < m.n; i++) {
		if (!(m.v[i].prot & MAP_PROT_X) || !interp_file(m.v[i].path))
			continue;
		w->text = xrealloc(w->text, (w->ntext + 1) * sizeof(*w->text));
		w->text[w->ntext][0] = m.v[i].start;
		w->text[w->ntext][1] = m.v[i].end;
		w->ntext++;
	}
	procmaps_free(&m);
}

int pylw_interp_site(struct pylw *w, uint64_t pc)
{
	for (int pass = 0; pass < 2 && w->pid; pass++) {
		for (size_t i = 0; i < w->ntext; i++)
			if (pc >= w->text[i][0] && pc < w->text[i][1])
				return 1;
		/* libpython is mapped after the exec: look again, not on every miss */
		if (pass || now_mono_ns() - w->maps_ns < MAPS_EVERY_NS)
			break;
		read_text(w);
	}
	return 0;
}

/* Is tid a thread of the command's process? Asked once per tid. */
static int ours(struct pylw *w, pid_t tid)
{
	char path[64];

	for (size_t i = 0; i < w->ntids; i++)
		if (w->tids[i].tid == tid)
			return w->tids[i].ours;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)w->pid, (int)tid);
	GROW(w->tids, w->cap_tids, w->ntids + 1);
	w->tids[w->ntids] = (struct pylw_tid){ tid, w->pid && !access(path, F_OK) };
	return w->tids[w->ntids++].ours;
}

static void set_owner(struct pylw *w, uint64_t sem, pid_t tid)
{
	for (size_t i = 0; i < w->nown; i++)
		if (w->own[i].sem == sem) {
			if (tid)
				w->own[i].tid = tid;
			else
				w->own[i] = w->own[--w->nown];
			return;
		}
	if (!tid)
		return;
	GROW(w->own, w->cap_own, w->nown + 1);
	w->own[w->nown++] = (struct pylw_owner){ sem, tid };
}

uint64_t pylw_lock_event(struct pylw *w, const struct ev_lock *e)
{
	if (!w->pid)
		return 0;
	switch (e->op) {
	case LOCK_OP_SEM_TAKEN:
		/* a C extension's counting semaphore has no one owner: only the interpreter's */
		if (!pylw_interp_site(w, e->ret_addr) || !ours(w, e->hdr.tid))
			return 0;
		set_owner(w, e->addr, e->hdr.tid);
		return e->addr;
	case LOCK_OP_RELEASE:
		/* a Lock may be released by any thread: the post ends the hold wherever it was */
		if (!pylw_owner(w, e->addr) || !ours(w, e->hdr.tid))
			return 0;
		set_owner(w, e->addr, 0);
		return e->addr;
	default:
		return 0;
	}
}

pid_t pylw_owner(const struct pylw *w, uint64_t sem)
{
	for (size_t i = 0; i < w->nown; i++)
		if (w->own[i].sem == sem)
			return w->own[i].tid;
	return 0;
}

/* r into e, a Python edge when py (an interpreter's semaphore call): 1 to keep it. */
static int edge_of(const struct ev_lock_edge *r, int py, struct lo_edge *e)
{
	*e = (struct lo_edge){
		.from = r->from, .to = r->to, .from_gen = r->from_gen, .to_gen = r->to_gen,
		.tid = r->hdr.tid, .pid = r->pid, .from_ret = r->from_ret, .to_ret = r->to_ret,
		.stack_id = r->stack_id, .flags = r->flags,
		.nheld = r->nheld < LOCK_EDGE_HELD ? r->nheld : LOCK_EDGE_HELD,
	};
	memcpy(e->held, r->held, (size_t)e->nheld * sizeof(e->held[0]));
	if (r->flags & LEF_TO_TRY) {
		if (!py)
			return 0;	/* a C trylock: it cannot block */
		e->flags &= ~LEF_TO_TRY;
	}
	if (py)
		e->flags |= LO_PY;
	return 1;
}

int pylw_edge(struct pylw *w, const struct ev_lock_edge *r, struct lo_edge *e)
{
	int py = (r->flags & LEF_SEM) && r->pid == (uint32_t)w->pid &&
		 pylw_interp_site(w, r->to_ret);

	if (!edge_of(r, py, e))
		return 0;
	w->py_edges += py;
	return 1;
}

int pylw_edge_recorded(const struct proc_maps *maps, const struct ev_lock_edge *r,
		       struct lo_edge *e)
{
	const struct map_entry *me = maps ? procmaps_find(maps, r->to_ret) : NULL;
	int py = (r->flags & LEF_SEM) && me && (me->prot & MAP_PROT_X) && interp_file(me->path);

	return edge_of(r, py, e);
}

static struct pylw_name *name_of(struct pylw_name *v, size_t n, uint64_t key)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].key == key)
			return &v[i];
	return NULL;
}

const char *pylw_lock_name(const struct pylw *w, uint64_t sem, const char **type)
{
	const struct pylw_name *n = name_of(w->locks, w->nlocks, sem);

	if (!n || !n->name)
		return NULL;
	if (type)
		*type = n->type;
	return n->name;
}

const char *pylw_thread_name(const struct pylw *w, pid_t tid)
{
	const struct pylw_name *n = name_of(w->threads, w->nthreads, (uint64_t)tid);

	return n ? n->name : NULL;
}

void pylw_lock_label(const struct pylw *w, uint64_t sem, char *buf, size_t n)
{
	const char *type = NULL, *name = pylw_lock_name(w, sem, &type);

	if (name)
		snprintf(buf, n, "%s (%s)", name, type);
	else
		snprintf(buf, n, "a Lock (semaphore %#llx)", (unsigned long long)sem);
}

void pylw_thread_label(const struct pylw *w, pid_t tid, char *buf, size_t n)
{
	const char *name = pylw_thread_name(w, tid);

	if (name)
		snprintf(buf, n, "%s (tid %d)", name, (int)tid);
	else
		snprintf(buf, n, "thread %d", (int)tid);
}

static ssize_t read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return procmem_read(*(pid_t *)ctx, addr, buf, len);
}

/* Named again at each pass: a freed Lock's semaphore address is reused by the next one. */
static size_t name_lock(struct pylw *w, struct py_reader *r, uint64_t sem)
{
	struct pylw_name *n = name_of(w->locks, w->nlocks, sem);
	const char *type = NULL;
	char buf[160];

	if (pylocks_name_sem(r, sem, buf, sizeof(buf), &type))
		return 0;
	if (!n) {
		GROW(w->locks, w->cap_locks, w->nlocks + 1);
		n = &w->locks[w->nlocks++];
		*n = (struct pylw_name){ sem, NULL, NULL };
	}
	free(n->name);
	n->name = xstrdup(buf);
	n->type = type;
	return 1;
}

static size_t name_thread(struct pylw *w, struct py_reader *r, pid_t tid)
{
	const struct py_thread *pt = py_thread_by_tid(r, tid);

	if (name_of(w->threads, w->nthreads, (uint64_t)tid) || !pt || !pt->name)
		return 0;	/* a thread not named yet (or gone) is looked for again */
	GROW(w->threads, w->cap_threads, w->nthreads + 1);
	w->threads[w->nthreads++] = (struct pylw_name){ (uint64_t)tid, xstrdup(pt->name), NULL };
	return 1;
}

/* Note tid of an edge when its thread has ended (no thread state lists it) and it was not
 * looked for yet: looked for in threading._dangling once. */
static void note_gone(struct pylw *w, struct py_reader *r, const struct lo_edge *e,
		      pid_t **gone, size_t *n, size_t *cap)
{
	if (!(e->flags & LO_PY) || e->pid != w->pid || py_thread_by_tid(r, e->tid) ||
	    name_of(w->threads, w->nthreads, (uint64_t)e->tid))
		return;
	for (size_t i = 0; i < *n; i++)
		if ((*gone)[i] == e->tid)
			return;
	GROW(*gone, *cap, *n + 1);
	(*gone)[(*n)++] = e->tid;
}

/*
 * The threads of the edges that ended before a pass read them (a program whose threads take
 * their locks and end within milliseconds): named from their Thread objects, which
 * threading._dangling holds while the program keeps them. One walk a pass for all of them,
 * and each tid only once: one no Thread names keeps its number (recorded as tried, name NULL).
 */
static size_t name_gone(struct pylw *w, struct py_reader *r, const struct lockorder *lo,
			size_t from, const struct lo_cycle *cyc, size_t ncyc)
{
	pid_t *gone = NULL;
	size_t n = 0, cap = 0, found = 0;
	char **names;

	for (size_t i = from; i < lo->n; i++)
		note_gone(w, r, &lo->e[i], &gone, &n, &cap);
	for (size_t c = 0; c < ncyc; c++)
		for (size_t k = 0; k < cyc[c].n; k++)
			note_gone(w, r, &lo->e[cyc[c].edges[k]], &gone, &n, &cap);
	if (!n)
		return 0;
	names = xcalloc(n, sizeof(*names));
	py_read_dangling_names(r, gone, n, names);
	for (size_t i = 0; i < n; i++) {
		GROW(w->threads, w->cap_threads, w->nthreads + 1);
		w->threads[w->nthreads++] = (struct pylw_name){ (uint64_t)gone[i], names[i], NULL };
		found += names[i] != NULL;
	}
	free(names);
	free(gone);
	return found;
}

/* The edge's locks and thread: how many names were found. */
static size_t name_edge(struct pylw *w, struct py_reader *r, const struct lo_edge *e)
{
	if (!(e->flags & LO_PY) || e->pid != w->pid)
		return 0;
	return name_lock(w, r, e->from) + name_lock(w, r, e->to) + name_thread(w, r, e->tid);
}

int pylw_unnamed(const struct pylw *w, const struct lockorder *lo, size_t from)
{
	for (size_t i = from; i < lo->n; i++) {
		const struct lo_edge *e = &lo->e[i];

		if ((e->flags & LO_PY) && e->pid == w->pid &&
		    (!name_of(w->locks, w->nlocks, e->from) || !name_of(w->locks, w->nlocks, e->to) ||
		     !name_of(w->threads, w->nthreads, (uint64_t)e->tid)))
			return 1;
	}
	return 0;
}

size_t pylw_name(struct pylw *w, const struct lockorder *lo, size_t from,
		 const struct lo_cycle *cyc, size_t ncyc)
{
	struct proc_maps m = { 0 };
	struct py_reader r;
	struct py_found f;
	size_t found = 0;
	pid_t pid = w->pid;

	if (!pid || (from >= lo->n && !ncyc))
		return 0;
	if (procmaps_read(&m, pid, 0))
		return 0;
	if (py_find(pid, &m, &f) <= 0) {
		procmaps_free(&m);
		return 0;
	}
	procmaps_free(&m);
	if (py_reader_init(&r, read_pid, &pid, f.version, f.runtime) || py_read_threads(&r)) {
		py_reader_free(&r);
		return 0;
	}
	py_read_thread_names(&r);
	for (size_t i = from; i < lo->n; i++)
		found += name_edge(w, &r, &lo->e[i]);
	for (size_t c = 0; c < ncyc; c++)
		for (size_t k = 0; k < cyc[c].n; k++)
			found += name_edge(w, &r, &lo->e[cyc[c].edges[k]]);
	if (!r.partial)	/* a thread state missing from a cut walk may still be running */
		found += name_gone(w, &r, lo, from, cyc, ncyc);
	py_reader_free(&r);
	return found;
}
