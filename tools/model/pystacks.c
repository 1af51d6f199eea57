// SPDX-License-Identifier: GPL-2.0
/* pystacks.c — Python stacks merged into the model's wait stacks (see pystacks.h). */
#include <stdlib.h>
#include <string.h>

#include "lib/idmap.h"
#include "lib/util.h"
#include "model/model.h"
#include "model/pystacks.h"
#include "symbols/symbolize.h"

/* One merged stack: a native stack id and the Python frames on top of it. */
struct py_merge {
	int32_t native;		/* < 0: none */
	uint32_t pid;
	uint32_t n;
	uint32_t *frames;	/* indexes into m_python.frames, innermost first */
};

struct m_sync_name {
	uint32_t pid;
	uint64_t addr;
	char type[16];
	char *name;
};

/* An edge's two acquisitions: indexes into m_python.frames, innermost first. */
struct m_lock_py {
	uint32_t tid;
	uint64_t from, to;
	uint32_t nfrom, nto;
	uint32_t fr[2 * LOCK_PY_FRAMES];
};

struct m_python {
	struct m_pyframe *frames;
	size_t nframes, cap_frames;
	struct idmap frame_index;	/* hash of (pid, code, prev_instr) -> frames[] */
	struct py_merge *merges;
	size_t nmerges, cap_merges;
	struct idmap merge_index;	/* hash of (pid, native, frames) -> merges[] */
	struct m_sync_name *names;	/* Python Locks by futex address (EV_META_SYNC_NAME) */
	size_t nnames, cap_names;
	struct m_lock_py *locks;	/* EV_LOCK_PY, in trace order */
	size_t nlocks, cap_locks;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

static struct m_python *py_of(struct model *m)
{
	if (!m->py)
		m->py = xcalloc(1, sizeof(*m->py));
	return m->py;
}

/* The frame entry of (pid, code, prev_instr), made when first seen. */
static uint32_t frame_get(struct m_python *py, uint32_t pid, uint64_t code, uint64_t pi)
{
	uint64_t key = mix(mix(mix(0, pid), code), pi);
	int64_t at = idmap_get(&py->frame_index, key);
	struct m_pyframe *f;

	if (at >= 0) {
		f = &py->frames[at];
		if (f->pid == pid && f->code == code && f->prev_instr == pi)
			return (uint32_t)at;
	}
	GROW(py->frames, py->cap_frames, py->nframes + 1);
	f = &py->frames[py->nframes];
	memset(f, 0, sizeof(*f));
	f->pid = pid;
	f->code = code;
	f->prev_instr = pi;
	if (at < 0)
		idmap_put(&py->frame_index, key, (uint32_t)py->nframes);
	return (uint32_t)py->nframes++;
}

void model_py_frame(struct model *m, const struct ev_hdr *h)
{
	const struct ev_meta_py_frame *e = (const void *)h;
	struct m_python *py = py_of(m);
	size_t room = h->size - sizeof(*e), ql;
	const char *q = (const char *)(e + 1);
	struct m_pyframe *f;
	uint32_t at;

	ql = strnlen(q, room);
	if (ql >= room)
		return;		/* no file after the name: not a frame record */
	/* frame_get() may move the array: index it after the call */
	at = frame_get(py, h->tid, e->code, e->prev_instr);
	f = &py->frames[at];
	free(f->qualname);
	free(f->file);
	f->qualname = xstrdup(q);
	ql++;
	room = strnlen(q + ql, room - ql);
	f->file = xmalloc(room + 1);
	memcpy(f->file, q + ql, room);
	f->file[room] = 0;
	f->line = e->line;
}

static int32_t merge_get(struct m_python *py, uint32_t pid, int32_t native, const uint32_t *fr,
			 uint32_t n)
{
	uint64_t key = mix(mix(mix(1, pid), (uint32_t)native), n);
	struct py_merge *g;
	int64_t at;

	for (uint32_t i = 0; i < n; i++)
		key = mix(key, fr[i]);
	at = idmap_get(&py->merge_index, key);
	if (at >= 0) {
		g = &py->merges[at];
		if (g->pid == pid && g->native == native && g->n == n &&
		    !memcmp(g->frames, fr, n * sizeof(*fr)))
			return PY_STACK_ID_BASE + (int32_t)at;
	}
	GROW(py->merges, py->cap_merges, py->nmerges + 1);
	g = &py->merges[py->nmerges];
	g->native = native;
	g->pid = pid;
	g->n = n;
	g->frames = xmalloc(n * sizeof(*fr) + 1);
	memcpy(g->frames, fr, n * sizeof(*fr));
	if (at < 0)
		idmap_put(&py->merge_index, key, (uint32_t)py->nmerges);
	return PY_STACK_ID_BASE + (int32_t)py->nmerges++;
}

static int is_threading_py(const char *file)
{
	const char *b = strrchr(file, '/');

	return !strcmp(b ? b + 1 : file, "threading.py");
}

int py_stdlib_file(const char *file)
{
	return file && strstr(file, "/lib/python3.") && !strstr(file, "-packages/");
}

/* file is the standard library's dir/name ("concurrent/futures/thread.py") */
static int is_stdlib_file(const char *file, const char *dir_name)
{
	size_t n = strlen(file), k = strlen(dir_name);

	return n > k && file[n - k - 1] == '/' && !strcmp(file + n - k, dir_name);
}

/*
 * The standard library's functions that sleep on a queue.SimpleQueue, a C object whose get()
 * waits on its own Lock while the queue is empty: a lock wait with one of them innermost is a
 * worker waiting for work (or a pool's handler for results), not contention.
 */
static const struct {
	const char *file, *qualname;
} simplequeue_getters[] = {
	{"concurrent/futures/thread.py", "_worker"},		/* ThreadPoolExecutor */
	{"multiprocessing/pool.py", "worker"},			/* ThreadPool's workers */
	{"multiprocessing/pool.py", "Pool._handle_tasks"},	/* any Pool's task handler */
	{"multiprocessing/pool.py", "Pool._handle_results"},	/* ThreadPool's result handler */
};

int py_wait_kind_of_frame(const char *qualname, const char *file)
{
	if (!qualname || !file)
		return 0;
	for (size_t i = 0; i < sizeof(simplequeue_getters) / sizeof(simplequeue_getters[0]); i++)
		if (!strcmp(qualname, simplequeue_getters[i].qualname) &&
		    is_stdlib_file(file, simplequeue_getters[i].file))
			return WK_CONDVAR;
	if (!is_threading_py(file))
		return 0;
	if (!strcmp(qualname, "Condition.wait"))
		return WK_CONDVAR;
	if (!strcmp(qualname, "Thread._wait_for_tstate_lock"))
		return WK_JOIN;
	return 0;
}

/* A wait on a Lock whose innermost Python frame is threading's own waiting code is what that
 * code waits for (py_wait_kind_of_frame). The recorder names a frame before the first stack
 * that uses it (EV_META_PY_FRAME), so the kind is known before the wait ends. */
static void py_wait_kind(struct m_thread *t, const struct m_pyframe *inner)
{
	int k;

	if (t->wait.kind != WK_SEMAPHORE && !(t->wait.kind == WK_CONDVAR && t->wait.sem_posted))
		return;
	k = py_wait_kind_of_frame(inner->qualname, inner->file);
	if (!k)
		return;
	t->wait.kind = (uint8_t)k;
	t->wait.py = 1;
}

void model_py_stack(struct model *m, const struct ev_hdr *h)
{
	const struct ev_py_stack *e = (const void *)h;
	struct m_thread *t = model_thread(m, h->tid);
	struct m_python *py;
	uint32_t fr[PY_STACK_MAX], n;

	/* the wait this stack belongs to began at this very switch-out */
	if (!t || t->state != TH_BLOCKED || t->since != h->ts ||
	    t->wait.stack_id >= PY_STACK_ID_BASE)
		return;
	n = (uint32_t)((h->size - offsetof(struct ev_py_stack, frames)) / sizeof(e->frames[0]));
	if (e->nframes < n)
		n = e->nframes;
	if (n > PY_STACK_MAX)
		n = PY_STACK_MAX;
	if (!n)
		return;
	py = py_of(m);
	for (uint32_t i = 0; i < n; i++)
		fr[i] = frame_get(py, e->pid, e->frames[i].code, e->frames[i].prev_instr);
	t->wait.stack_id = merge_get(py, e->pid, t->wait.stack_id, fr, n);
	py_wait_kind(t, &py->frames[fr[0]]);
}

uint64_t model_py_wait_site(const struct model *m, int32_t stack_id)
{
	const struct py_merge *g;

	if (!m->py || stack_id < PY_STACK_ID_BASE ||
	    (size_t)(stack_id - PY_STACK_ID_BASE) >= m->py->nmerges)
		return 0;
	g = &m->py->merges[stack_id - PY_STACK_ID_BASE];
	/* the waiting frame, or below it when it is threading's (Condition.wait_for, Thread.join
	 * are threading's too): an executor's worker waits on its own line */
	for (uint32_t k = 0; k < g->n; k++) {
		const struct m_pyframe *f = &m->py->frames[g->frames[k]];

		if (!f->qualname || !f->file)
			return 0;
		if ((strncmp(f->qualname, "Condition.", 10) && strncmp(f->qualname, "Thread.", 7)) ||
		    !is_threading_py(f->file))
			return PYPC_TAG | g->frames[k];
	}
	return 0;
}

void model_py_finish(struct model *m)
{
	struct m_python *py = m->py;

	for (size_t i = 0; py && i < py->nmerges; i++) {
		const struct py_merge *g = &py->merges[i];
		const struct m_stack *nat = model_stack(m, g->native);
		/* taken now: growing m->stacks below moves the native stack's entry */
		const uint64_t *nat_ips = nat ? nat->ips : NULL;
		uint32_t nn = nat ? nat->n : 0, named = 0, np;
		struct m_stack *s;

		/* no frame the recorder could name (the process exec'd or ended before it read
		 * them, or the walk read another program's memory right after an exec): the
		 * native stack alone */
		for (uint32_t k = 0; k < g->n; k++)
			named += py->frames[g->frames[k]].qualname != NULL;
		np = named ? g->n : 0;

		GROW(m->stacks, m->cap_stacks, m->nstacks + 1);
		s = &m->stacks[m->nstacks];
		s->id = PY_STACK_ID_BASE + (int32_t)i;
		s->n = np + nn;
		s->ips = xmalloc((size_t)s->n * 8 + 8);
		if (nn)
			memcpy(s->ips, nat_ips, (size_t)nn * 8);
		for (uint32_t k = 0; k < np; k++)
			s->ips[nn + k] = PYPC_TAG | g->frames[k];
		idmap_put(&m->stack_index, (uint32_t)s->id, (uint32_t)m->nstacks);
		m->nstacks++;
	}
}

void model_lock_py(struct model *m, const struct ev_hdr *h)
{
	const struct ev_lock_py *e = (const void *)h;
	struct m_python *py = py_of(m);
	struct m_lock_py *l;

	GROW(py->locks, py->cap_locks, py->nlocks + 1);
	l = &py->locks[py->nlocks++];
	memset(l, 0, sizeof(*l));
	l->tid = h->tid;
	l->from = e->from;
	l->to = e->to;
	l->nfrom = e->nfrom < LOCK_PY_FRAMES ? e->nfrom : LOCK_PY_FRAMES;
	l->nto = e->nto < LOCK_PY_FRAMES ? e->nto : LOCK_PY_FRAMES;
	for (uint32_t i = 0; i < l->nfrom; i++)
		l->fr[i] = frame_get(py, e->pid, e->frames[i].code, e->frames[i].prev_instr);
	for (uint32_t i = 0; i < l->nto; i++)
		l->fr[LOCK_PY_FRAMES + i] = frame_get(py, e->pid, e->frames[LOCK_PY_FRAMES + i].code,
						     e->frames[LOCK_PY_FRAMES + i].prev_instr);
}

int model_lock_sites(const struct model *m, uint32_t tid, uint64_t from, uint64_t to,
		     struct m_lock_sites *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; m->py && i < m->py->nlocks; i++) {
		const struct m_lock_py *l = &m->py->locks[i];

		if (l->tid != tid || l->from != from || l->to != to)
			continue;
		out->nfrom = l->nfrom;
		out->nto = l->nto;
		for (uint32_t k = 0; k < l->nfrom; k++)
			out->from[k] = &m->py->frames[l->fr[k]];
		for (uint32_t k = 0; k < l->nto; k++)
			out->to[k] = &m->py->frames[l->fr[LOCK_PY_FRAMES + k]];
		return 0;
	}
	return -1;
}

const struct m_pyframe *model_py_pc(const struct model *m, uint64_t pc)
{
	uint64_t i = pc & ~PYPC_TAG;

	if ((pc & 0xff00000000000000ull) != PYPC_TAG || !m->py || i >= m->py->nframes)
		return NULL;
	return &m->py->frames[i];
}

int model_py_site_name(const struct model *m, uint64_t pc, const char *prefix, char *buf,
		       size_t n)
{
	const struct m_pyframe *f = model_py_pc(m, pc);
	const char *b;

	if (!f || !f->qualname)
		return -1;
	b = strrchr(f->file, '/');
	snprintf(buf, n, "%s%s (%s:%d)", prefix, f->qualname, b ? b + 1 : f->file, f->line);
	return 0;
}

void model_py_symbols(const struct model *m, uint32_t pid, struct symbolizer *s)
{
	for (size_t i = 0; m->py && i < m->py->nframes; i++) {
		const struct m_pyframe *f = &m->py->frames[i];
		struct sym_code c = {.module = "python", .in_main = 1};

		if (f->pid != pid)
			continue;
		c.func = f->qualname ? f->qualname : "?";
		c.file = f->file;
		c.line = f->line;
		symbolizer__set_code(s, PYPC_TAG | i, &c);
	}
}

void model_py_sync_name(struct model *m, const struct ev_hdr *h)
{
	const struct ev_meta_sync_name *e = (const void *)h;
	char name[256];
	size_t n = strnlen((const char *)(e + 1), h->size - sizeof(*e));
	struct m_python *py;
	struct m_sync_name *s;

	if (!n)
		return;
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, e + 1, n);
	name[n] = 0;
	py = py_of(m);
	/* a later record for the same address (a new Lock where a freed one was) wins */
	for (size_t i = 0; i < py->nnames; i++)
		if (py->names[i].pid == h->tid && py->names[i].addr == e->addr) {
			free(py->names[i].name);
			py->names[i].name = xstrdup(name);
			memcpy(py->names[i].type, e->type, sizeof(e->type));
			py->names[i].type[sizeof(e->type) - 1] = 0;
			return;
		}
	GROW(py->names, py->cap_names, py->nnames + 1);
	s = &py->names[py->nnames++];
	s->pid = h->tid;
	s->addr = e->addr;
	memcpy(s->type, e->type, sizeof(e->type));
	s->type[sizeof(s->type) - 1] = 0;
	s->name = xstrdup(name);
}

const char *model_sync_name(const struct model *m, uint32_t pid, uint64_t addr, const char **type)
{
	for (size_t i = 0; m->py && i < m->py->nnames; i++)
		if (m->py->names[i].pid == pid && m->py->names[i].addr == addr) {
			if (type)
				*type = m->py->names[i].type;
			return m->py->names[i].name;
		}
	return NULL;
}

void model_py_free(struct model *m)
{
	struct m_python *py = m->py;

	if (!py)
		return;
	for (size_t i = 0; i < py->nframes; i++) {
		free(py->frames[i].qualname);
		free(py->frames[i].file);
	}
	for (size_t i = 0; i < py->nmerges; i++)
		free(py->merges[i].frames);
	free(py->frames);
	free(py->merges);
	for (size_t i = 0; i < py->nnames; i++)
		free(py->names[i].name);
	free(py->names);
	free(py->locks);
	idmap_free(&py->frame_index);
	idmap_free(&py->merge_index);
	free(py);
	m->py = NULL;
}
