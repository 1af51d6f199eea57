// SPDX-License-Identifier: GPL-2.0
/*
 * waitgraph.c — liveness, cycles and root causes in a wait-for graph.
 *
 * Nodes are threads [0, T) and processes [T, T + P). A blocked thread depends on wakers:
 * the owner thread of the lock it wants, or (for waits with no owner) any thread of its
 * process, or (pipes, children) any thread of the peer processes. Liveness spreads
 * backwards from the live threads through those dependencies in one BFS; what it never
 * reaches is stuck. Among stuck nodes the wait-for edges form a graph whose strongly
 * connected components hold the cycles; every other stuck thread is assigned, by a second
 * backwards BFS, to the finding its waits lead to.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/idmap.h"
#include "lib/util.h"
#include "analysis/waitgraph.h"

/* Compressed adjacency: the edges of node i are to[start[i] .. start[i + 1]). */
struct csr {
	int *start;
	int *to;
};

struct edge {
	int from, to;
};

struct analysis {
	struct waitgraph *g;
	int nt, np, nn;		/* threads, processes, nodes */
	int *proc_of;		/* thread -> process node index (nt + p) or -1 */
	char *live;
	char *stuck;		/* per node */
	struct edge *deps;	/* waiter -> waker, for liveness */
	size_t ndeps, cap_deps;
	char *external;		/* per thread: something outside could end its wait */
	struct edge *wait;	/* stuck waiter -> what it waits for */
	size_t nwait, cap_wait;
	int *finding_of;	/* per node */
	struct idmap tids;	/* tid -> thread index */
};

static const char *const state_names[WG_NSTATES] = {
	[WG_RUNNING] = "running",   [WG_BLOCKED] = "blocked", [WG_TIMED] = "sleeping",
	[WG_EXTERNAL] = "waiting-input", [WG_STOPPED] = "stopped", [WG_DISK] = "disk",
	[WG_ZOMBIE] = "zombie",     [WG_UNKNOWN] = "unknown",
};

static const char *const kind_names[WG_NKINDS] = {
	[WG_MUTEX] = "mutex",	  [WG_RWLOCK] = "rwlock", [WG_CONDVAR] = "condvar",
	[WG_SEMAPHORE] = "semaphore", [WG_BARRIER] = "barrier", [WG_JOIN] = "join",
	[WG_FUTEX] = "futex",	  [WG_PIPE] = "pipe",	  [WG_SOCKET] = "socket",
	[WG_CHILD] = "child-wait",
};

const char *wg_state_name(enum wg_state s)
{
	return s < WG_NSTATES ? state_names[s] : "unknown";
}

const char *wg_kind_name(enum wg_obj_kind k)
{
	return k < WG_NKINDS ? kind_names[k] : "futex";
}

const char *wg_finding_name(enum wg_finding_kind k)
{
	switch (k) {
	case WG_F_CYCLE: return "cycle";
	case WG_F_CROSS_PROCESS: return "cross-process";
	case WG_F_ORPHANED_OWNER: return "orphaned-owner";
	case WG_F_NO_OWNER: return "no-owner";
	}
	return "unknown";
}

int wg_kind_has_owner(enum wg_obj_kind k)
{
	return k == WG_MUTEX || k == WG_RWLOCK || k == WG_JOIN;
}

int wg_kind_has_peers(enum wg_obj_kind k)
{
	return k == WG_PIPE || k == WG_SOCKET || k == WG_CHILD;
}

void waitgraph_init(struct waitgraph *g)
{
	memset(g, 0, sizeof(*g));
}

static void free_findings(struct waitgraph *g)
{
	for (size_t i = 0; i < g->nfindings; i++) {
		free(g->findings[i].threads);
		free(g->findings[i].objects);
		free(g->findings[i].behind);
		free(g->findings[i].pids);
	}
	free(g->findings);
	g->findings = NULL;
	g->nfindings = g->cap_findings = 0;
}

void waitgraph_free(struct waitgraph *g)
{
	for (size_t i = 0; i < g->nthreads; i++) {
		struct wg_thread *t = &g->threads[i];

		for (size_t k = 0; k < t->nstack; k++) {
			free(t->stack[k].func);
			free(t->stack[k].file);
			free(t->stack[k].module);
		}
		free(t->stack);
		for (size_t k = 0; k < t->nlang; k++) {
			free(t->lang[k].func);
			free(t->lang[k].file);
		}
		free(t->lang);
		free(t->name);
		free(t->wait_desc);
		free(t->stack_err);
	}
	for (size_t i = 0; i < g->nobjects; i++) {
		free(g->objects[i].peers);
		free(g->objects[i].name);
		free(g->objects[i].note);
		free(g->objects[i].type);
		free(g->objects[i].held_as);
		free(g->objects[i].expr);
		free(g->objects[i].held_at);
	}
	for (size_t i = 0; i < g->nprocs; i++) {
		free(g->procs[i].exe);
		free(g->procs[i].runtime);
		for (size_t k = 0; k < g->procs[i].ntasks; k++) {
			struct wg_task *t = &g->procs[i].tasks[k];

			free(t->name);
			free(t->awaits);
			for (size_t f = 0; f < t->nchain; f++) {
				free(t->chain[f].func);
				free(t->chain[f].file);
			}
			free(t->chain);
		}
		free(g->procs[i].tasks);
		free(g->procs[i].tasks_note);
	}
	free_findings(g);
	free(g->threads);
	free(g->objects);
	free(g->procs);
	memset(g, 0, sizeof(*g));
}

void wg_set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

int wg_add_process(struct waitgraph *g, pid_t pid, pid_t ppid, const char *comm, const char *exe)
{
	struct wg_process *p;

	GROW(g->procs, g->cap_procs, g->nprocs + 1);
	p = &g->procs[g->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->ppid = ppid;
	snprintf(p->comm, sizeof(p->comm), "%s", comm ? comm : "");
	p->exe = exe ? xstrdup(exe) : NULL;
	return (int)g->nprocs++;
}

int wg_add_thread(struct waitgraph *g, pid_t tid, pid_t pid, const char *comm, enum wg_state st)
{
	struct wg_thread *t;

	GROW(g->threads, g->cap_threads, g->nthreads + 1);
	t = &g->threads[g->nthreads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->pid = pid;
	snprintf(t->comm, sizeof(t->comm), "%s", comm ? comm : "");
	t->state = st;
	t->obj = -1;
	t->finding = -1;
	t->lang_wait = -1;
	return (int)g->nthreads++;
}

int wg_object(struct waitgraph *g, pid_t pid, enum wg_obj_kind kind, uint64_t addr)
{
	struct wg_object *o;

	for (size_t i = g->nobjects; i-- > 0;) {
		o = &g->objects[i];
		if (o->addr == addr && o->pid == pid && o->kind == kind)
			return (int)i;
	}
	GROW(g->objects, g->cap_objects, g->nobjects + 1);
	o = &g->objects[g->nobjects];
	memset(o, 0, sizeof(*o));
	o->addr = addr;
	o->pid = pid;
	o->kind = kind;
	o->value = -1;
	return (int)g->nobjects++;
}

void wg_add_peer(struct wg_object *o, pid_t pid)
{
	for (size_t i = 0; i < o->npeers; i++)
		if (o->peers[i] == pid)
			return;
	o->peers = xrealloc(o->peers, (o->npeers + 1) * sizeof(*o->peers));
	o->peers[o->npeers++] = pid;
}

int wg_find_thread(const struct waitgraph *g, pid_t tid)
{
	for (size_t i = 0; i < g->nthreads; i++)
		if (g->threads[i].tid == tid)
			return (int)i;
	return -1;
}

int wg_find_process(const struct waitgraph *g, pid_t pid)
{
	for (size_t i = 0; i < g->nprocs; i++)
		if (g->procs[i].pid == pid)
			return (int)i;
	return -1;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void add_edge(struct edge **v, size_t *n, size_t *cap, int from, int to)
{
	GROW(*v, *cap, *n + 1);
	(*v)[*n].from = from;
	(*v)[*n].to = to;
	(*n)++;
}

/* Forward (reverse = 0) or backward adjacency of an edge list over nn nodes. */
static void csr_build(struct csr *c, const struct edge *e, size_t n, int nn, int reverse)
{
	int *fill;

	c->start = xcalloc((size_t)nn + 1, sizeof(int));
	c->to = xmalloc((n ? n : 1) * sizeof(int));
	for (size_t i = 0; i < n; i++)
		c->start[(reverse ? e[i].to : e[i].from) + 1]++;
	for (int i = 0; i < nn; i++)
		c->start[i + 1] += c->start[i];
	fill = xmalloc(((size_t)nn + 1) * sizeof(int));
	memcpy(fill, c->start, ((size_t)nn + 1) * sizeof(int));
	for (size_t i = 0; i < n; i++) {
		int a = reverse ? e[i].to : e[i].from, b = reverse ? e[i].from : e[i].to;

		c->to[fill[a]++] = b;
	}
	free(fill);
}

static void csr_free(struct csr *c)
{
	free(c->start);
	free(c->to);
}

/* The thread owning o, when it is in the graph and alive; -1 otherwise. */
static int owner_index(const struct analysis *a, const struct wg_object *o)
{
	const struct waitgraph *g = a->g;
	int t;

	if (!o->owner)
		return -1;
	t = (int)idmap_get(&a->tids, (uint64_t)o->owner);
	if (t < 0 || g->threads[t].state == WG_ZOMBIE)
		return -1;
	return t;
}

/* An owner-kind wait whose owner is named but gone: nothing will ever release it. */
static int is_orphaned(const struct analysis *a, const struct wg_object *o)
{
	return wg_kind_has_owner(o->kind) && o->owner && owner_index(a, o) < 0;
}

/* No owner to wait for: anyone in the process (or, shared, in any process) may end it. */
static int is_ownerless(const struct wg_object *o)
{
	if (wg_kind_has_peers(o->kind))
		return 0;
	return !wg_kind_has_owner(o->kind) || !o->owner;
}

static int proc_node(struct analysis *a, pid_t pid)
{
	int p = wg_find_process(a->g, pid);

	return p < 0 ? -1 : a->nt + p;
}

/* ---- liveness ----------------------------------------------------------------------------- */

static void liveness(struct analysis *a)
{
	struct waitgraph *g = a->g;
	struct csr rev;
	int *queue = xmalloc((size_t)a->nn * sizeof(int));
	int qh = 0, qt = 0;

	for (int i = 0; i < a->nt; i++) {
		struct wg_thread *t = &g->threads[i];
		struct wg_object *o;

		if (t->state == WG_ZOMBIE)
			continue;
		if (t->state != WG_BLOCKED || t->obj < 0) {
			a->live[i] = 1;
			continue;
		}
		o = &g->objects[t->obj];
		if (wg_kind_has_peers(o->kind)) {
			if (o->peers_external)
				a->external[i] = 1;
			for (size_t k = 0; k < o->npeers; k++) {
				int pn = proc_node(a, o->peers[k]);

				if (pn < 0)
					a->external[i] = 1;
				else
					add_edge(&a->deps, &a->ndeps, &a->cap_deps, i, pn);
			}
		} else if (!is_ownerless(o)) {
			int ot = owner_index(a, o);

			if (ot >= 0)
				add_edge(&a->deps, &a->ndeps, &a->cap_deps, i, ot);
		} else {
			if (o->shared) {
				for (int p = 0; p < a->np; p++)
					add_edge(&a->deps, &a->ndeps, &a->cap_deps, i, a->nt + p);
			} else if (a->proc_of[i] >= 0) {
				add_edge(&a->deps, &a->ndeps, &a->cap_deps, i, a->proc_of[i]);
			}
		}
		if (a->external[i])
			a->live[i] = 1;
	}
	/* a process is live when one of its threads is: that dependency runs thread -> process */
	for (int i = 0; i < a->nt; i++)
		if (a->proc_of[i] >= 0)
			add_edge(&a->deps, &a->ndeps, &a->cap_deps, a->proc_of[i], i);

	csr_build(&rev, a->deps, a->ndeps, a->nn, 1);
	for (int i = 0; i < a->nt; i++)
		if (a->live[i])
			queue[qt++] = i;
	while (qh < qt) {
		int n = queue[qh++];

		for (int k = rev.start[n]; k < rev.start[n + 1]; k++) {
			int m = rev.to[k];

			if (a->live[m])
				continue;
			a->live[m] = 1;
			queue[qt++] = m;
		}
	}
	csr_free(&rev);
	free(queue);

	for (int i = 0; i < a->nt; i++) {
		struct wg_thread *t = &g->threads[i];

		t->stuck = t->state == WG_BLOCKED && t->obj >= 0 && !a->live[i];
		a->stuck[i] = (char)t->stuck;
		if (t->stuck)
			g->nstuck++;
	}
	for (int p = 0; p < a->np; p++)
		a->stuck[a->nt + p] = !a->live[a->nt + p];
}

/* ---- wait-for edges among stuck nodes ---------------------------------------------------- */

static void wait_edges(struct analysis *a)
{
	struct waitgraph *g = a->g;

	for (int i = 0; i < a->nt; i++) {
		struct wg_object *o;

		if (!a->stuck[i])
			continue;
		o = &g->objects[g->threads[i].obj];
		if (wg_kind_has_peers(o->kind)) {
			/* a process that kept both ends (a parent that forked with a Pipe's two
			 * Connections) waits on itself too; when other stuck processes hold it as
			 * well, the cycle to show goes through them */
			int others = 0;

			for (size_t k = 0; k < o->npeers; k++) {
				int pn = proc_node(a, o->peers[k]);

				others |= pn >= 0 && a->stuck[pn] && pn != a->proc_of[i];
			}
			for (size_t k = 0; k < o->npeers; k++) {
				int pn = proc_node(a, o->peers[k]);

				if (pn >= 0 && a->stuck[pn] && !(others && pn == a->proc_of[i]))
					add_edge(&a->wait, &a->nwait, &a->cap_wait, i, pn);
			}
		} else if (!is_ownerless(o)) {
			int ot = owner_index(a, o);

			if (ot >= 0 && a->stuck[ot])
				add_edge(&a->wait, &a->nwait, &a->cap_wait, i, ot);
		}
		/* a stuck process waits for each of its stuck threads */
		if (a->proc_of[i] >= 0 && a->stuck[a->proc_of[i]])
			add_edge(&a->wait, &a->nwait, &a->cap_wait, a->proc_of[i], i);
	}
}

/* Tarjan's algorithm without recursion: comp[n] = component id, size[c] = its node count. */
static int scc(const struct csr *c, int nn, int *comp, int *size)
{
	int *index = xmalloc((size_t)nn * sizeof(int)), *low = xmalloc((size_t)nn * sizeof(int));
	int *stack = xmalloc((size_t)nn * sizeof(int)), *onstack = xcalloc((size_t)nn, sizeof(int));
	int *cs_node = xmalloc((size_t)nn * sizeof(int)), *cs_edge = xmalloc((size_t)nn * sizeof(int));
	int idx = 0, sp = 0, ncomp = 0;

	for (int i = 0; i < nn; i++)
		index[i] = -1;
	for (int root = 0; root < nn; root++) {
		int csp = 0;

		if (index[root] >= 0)
			continue;
		cs_node[csp] = root;
		cs_edge[csp++] = c->start[root];
		index[root] = low[root] = idx++;
		stack[sp++] = root;
		onstack[root] = 1;
		while (csp) {
			int v = cs_node[csp - 1];

			if (cs_edge[csp - 1] < c->start[v + 1]) {
				int w = c->to[cs_edge[csp - 1]++];

				if (index[w] < 0) {
					index[w] = low[w] = idx++;
					stack[sp++] = w;
					onstack[w] = 1;
					cs_node[csp] = w;
					cs_edge[csp++] = c->start[w];
				} else if (onstack[w] && index[w] < low[v]) {
					low[v] = index[w];
				}
				continue;
			}
			if (low[v] == index[v]) {
				int w;

				size[ncomp] = 0;
				do {
					w = stack[--sp];
					onstack[w] = 0;
					comp[w] = ncomp;
					size[ncomp]++;
				} while (w != v);
				ncomp++;
			}
			csp--;
			if (csp && low[v] < low[cs_node[csp - 1]])
				low[cs_node[csp - 1]] = low[v];
		}
	}
	free(index);
	free(low);
	free(stack);
	free(onstack);
	free(cs_node);
	free(cs_edge);
	return ncomp;
}

/* Shortest cycle through s inside its component (BFS); length or 0, nodes into out. */
static int shortest_cycle(const struct csr *c, const int *comp, int nn, int s, int *out)
{
	int *prev = xmalloc((size_t)nn * sizeof(int)), *queue = xmalloc((size_t)nn * sizeof(int));
	int qh = 0, qt = 0, last = -1, len = 0;

	for (int i = 0; i < nn; i++)
		prev[i] = -2;
	queue[qt++] = s;
	prev[s] = -1;
	while (qh < qt && last < 0) {
		int v = queue[qh++];

		for (int k = c->start[v]; k < c->start[v + 1]; k++) {
			int w = c->to[k];

			if (comp[w] != comp[s])
				continue;
			if (w == s) {
				last = v;
				break;
			}
			if (prev[w] == -2) {
				prev[w] = v;
				queue[qt++] = w;
			}
		}
	}
	if (last >= 0) {
		for (int v = last; v != -1; v = prev[v])
			out[len++] = v;
		/* reverse into s -> ... -> last order */
		for (int i = 0; i < len / 2; i++) {
			int t = out[i];

			out[i] = out[len - 1 - i];
			out[len - 1 - i] = t;
		}
	}
	free(prev);
	free(queue);
	return len;
}

static struct wg_finding *new_finding(struct waitgraph *g, enum wg_finding_kind kind)
{
	struct wg_finding *f;

	GROW(g->findings, g->cap_findings, g->nfindings + 1);
	f = &g->findings[g->nfindings++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	return f;
}

static void push_int(int **v, size_t *n, int x, int unique)
{
	if (unique)
		for (size_t i = 0; i < *n; i++)
			if ((*v)[i] == x)
				return;
	*v = xrealloc(*v, (*n + 1) * sizeof(int));
	(*v)[(*n)++] = x;
}

static void push_pid(pid_t **v, size_t *n, pid_t x)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == x)
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(pid_t));
	(*v)[(*n)++] = x;
}

struct cyc {
	int *nodes;
	int len;
};

static int cyc_cmp(const void *x, const void *y)
{
	const struct cyc *a = x, *b = y;

	if (a->len != b->len)
		return a->len - b->len;
	return a->nodes[0] - b->nodes[0];
}

/* Rotate so the cycle starts at its first thread with the lowest tid: a stable reading order. */
static void rotate_cycle(const struct analysis *a, int *nodes, int len)
{
	int best = -1;
	int *tmp;

	for (int i = 0; i < len; i++) {
		if (nodes[i] >= a->nt)
			continue;
		if (best < 0 || a->g->threads[nodes[i]].tid < a->g->threads[nodes[best]].tid)
			best = i;
	}
	if (best <= 0)
		return;
	tmp = xmalloc((size_t)len * sizeof(int));
	for (int i = 0; i < len; i++)
		tmp[i] = nodes[(best + i) % len];
	memcpy(nodes, tmp, (size_t)len * sizeof(int));
	free(tmp);
}

static void find_cycles(struct analysis *a, const struct csr *fwd)
{
	struct waitgraph *g = a->g;
	int *comp = xmalloc((size_t)a->nn * sizeof(int)), *size = xmalloc((size_t)a->nn * sizeof(int));
	int *seen = xcalloc((size_t)a->nn, sizeof(int));
	int *buf = xmalloc((size_t)a->nn * sizeof(int)), *buf2 = xmalloc((size_t)a->nn * sizeof(int));
	struct cyc *cycles = NULL;
	size_t ncyc = 0, cap = 0;

	scc(fwd, a->nn, comp, size);
	for (int s = 0; s < a->nn; s++) {
		int len;

		/* one cycle per component: the shortest through its first stuck thread */
		if (!a->stuck[s] || s >= a->nt || seen[comp[s]])
			continue;
		len = shortest_cycle(fwd, comp, a->nn, s, buf);
		if (!len)
			continue;
		seen[comp[s]] = 1;
		/* a shorter cycle may pass through another thread of the same component */
		for (int t = s + 1; t < a->nt; t++) {
			int l2;

			if (comp[t] != comp[s] || !a->stuck[t])
				continue;
			l2 = shortest_cycle(fwd, comp, a->nn, t, buf2);
			if (l2 && l2 < len) {
				len = l2;
				memcpy(buf, buf2, (size_t)len * sizeof(int));
			}
		}
		GROW(cycles, cap, ncyc + 1);
		cycles[ncyc].nodes = xmalloc((size_t)len * sizeof(int));
		memcpy(cycles[ncyc].nodes, buf, (size_t)len * sizeof(int));
		cycles[ncyc].len = len;
		rotate_cycle(a, cycles[ncyc].nodes, len);
		ncyc++;
	}
	qsort(cycles, ncyc, sizeof(*cycles), cyc_cmp);

	for (size_t c = 0; c < ncyc; c++) {
		struct wg_finding *f = new_finding(g, WG_F_CYCLE);
		int fi = (int)g->nfindings - 1;
		pid_t first_pid = 0;

		for (int k = 0; k < cycles[c].len; k++) {
			int n = cycles[c].nodes[k];
			struct wg_thread *t;

			a->finding_of[n] = fi;
			/* a pipe a thread waits on in its own process is still a plain cycle */
			if (n >= a->nt)
				continue;
			t = &g->threads[n];
			if (!first_pid)
				first_pid = t->pid;
			else if (t->pid != first_pid)
				f->kind = WG_F_CROSS_PROCESS;
			push_int(&f->threads, &f->nthreads, n, 0);
			push_int(&f->objects, &f->nobjects, t->obj, 0);
			push_pid(&f->pids, &f->npids, t->pid);
		}
		free(cycles[c].nodes);
	}
	free(cycles);
	free(comp);
	free(size);
	free(seen);
	free(buf);
	free(buf2);
}

/* Stuck threads whose own wait is the root cause: an orphaned lock or an ownerless wait. */
static void find_terminals(struct analysis *a)
{
	struct waitgraph *g = a->g;

	for (int i = 0; i < a->nt; i++) {
		struct wg_thread *t = &g->threads[i];
		struct wg_object *o;
		struct wg_finding *f = NULL;
		enum wg_finding_kind kind;
		int fi = -1;

		if (!a->stuck[i] || a->finding_of[i] >= 0)
			continue;
		o = &g->objects[t->obj];
		if (is_orphaned(a, o))
			kind = WG_F_ORPHANED_OWNER;
		else if (is_ownerless(o) || (wg_kind_has_peers(o->kind) && !o->npeers))
			kind = WG_F_NO_OWNER;
		else
			continue;
		/* orphaned: one finding per lock; no-owner: one per process */
		for (size_t k = 0; k < g->nfindings; k++) {
			struct wg_finding *h = &g->findings[k];

			if (h->kind != kind || !h->nthreads)
				continue;
			if (kind == WG_F_ORPHANED_OWNER && h->objects[0] != t->obj)
				continue;
			if (kind == WG_F_NO_OWNER && g->threads[h->threads[0]].pid != t->pid)
				continue;
			f = h;
			fi = (int)k;
			break;
		}
		if (!f) {
			f = new_finding(g, kind);
			fi = (int)g->nfindings - 1;
		}
		push_int(&f->threads, &f->nthreads, i, 0);
		push_int(&f->objects, &f->nobjects, t->obj, 1);
		push_pid(&f->pids, &f->npids, t->pid);
		a->finding_of[i] = fi;
	}
}

/* Every other stuck thread: the finding its waits lead to, claimed in finding order. */
static void assign_behind(struct analysis *a, const struct csr *fwd)
{
	struct waitgraph *g = a->g;
	struct edge *e = NULL;
	size_t ne = 0, cap = 0;
	struct csr rev;
	int *queue = xmalloc((size_t)a->nn * sizeof(int));
	int qh = 0, qt = 0;

	for (int v = 0; v < a->nn; v++)
		for (int k = fwd->start[v]; k < fwd->start[v + 1]; k++)
			add_edge(&e, &ne, &cap, v, fwd->to[k]);
	csr_build(&rev, e, ne, a->nn, 1);
	for (size_t f = 0; f < g->nfindings; f++)
		for (int v = 0; v < a->nn; v++)
			if (a->finding_of[v] == (int)f)
				queue[qt++] = v;
	while (qh < qt) {
		int v = queue[qh++];

		for (int k = rev.start[v]; k < rev.start[v + 1]; k++) {
			int w = rev.to[k];

			if (a->finding_of[w] >= 0 || !a->stuck[w])
				continue;
			a->finding_of[w] = a->finding_of[v];
			queue[qt++] = w;
			if (w < a->nt) {
				struct wg_finding *f = &g->findings[a->finding_of[v]];

				push_int(&f->behind, &f->nbehind, w, 0);
			}
		}
	}
	for (int i = 0; i < a->nt; i++)
		g->threads[i].finding = a->stuck[i] ? a->finding_of[i] : -1;
	csr_free(&rev);
	free(e);
	free(queue);
}

/* An asyncio loop that can never wake: it sleeps with no callback ready, no timer and no
 * descriptor watched but its own, every other thread of its process is stuck (none left to
 * call it), and a task is pending: that task waits for ever. */
static int loop_stalled(const struct waitgraph *g, const struct wg_process *p)
{
	size_t pending = 0;

	if (!p->loop.tid || p->loop.ready || p->loop.scheduled || p->loop.fds != WG_LOOP_OWN_FDS)
		return 0;
	for (size_t k = 0; k < p->ntasks; k++)
		pending += !strcmp(p->tasks[k].state, "pending");
	if (!pending)
		return 0;
	for (size_t i = 0; i < g->nthreads; i++) {
		const struct wg_thread *t = &g->threads[i];

		if (t->pid != p->pid)
			continue;
		if (t->tid == p->loop.tid ? t->state == WG_RUNNING : !t->stuck)
			return 0;	/* running: it may yet schedule something */
	}
	return 1;
}

size_t waitgraph_analyze(struct waitgraph *g)
{
	struct analysis a = { .g = g };
	struct csr fwd;

	free_findings(g);
	g->nstuck = 0;
	a.nt = (int)g->nthreads;
	a.np = (int)g->nprocs;
	a.nn = a.nt + a.np;
	a.proc_of = xmalloc(((size_t)a.nt + 1) * sizeof(int));
	a.live = xcalloc((size_t)a.nn + 1, 1);
	a.stuck = xcalloc((size_t)a.nn + 1, 1);
	a.external = xcalloc((size_t)a.nt + 1, 1);
	a.finding_of = xmalloc(((size_t)a.nn + 1) * sizeof(int));
	for (int i = 0; i < a.nn; i++)
		a.finding_of[i] = -1;
	for (int i = 0; i < a.nt; i++) {
		int p = wg_find_process(g, g->threads[i].pid);

		a.proc_of[i] = p < 0 ? -1 : a.nt + p;
		idmap_put(&a.tids, (uint64_t)g->threads[i].tid, (uint32_t)i);
		g->threads[i].finding = -1;
		g->threads[i].stuck = 0;
	}

	liveness(&a);
	wait_edges(&a);
	csr_build(&fwd, a.wait, a.nwait, a.nn, 0);
	find_cycles(&a, &fwd);
	find_terminals(&a);
	assign_behind(&a, &fwd);
	for (size_t i = 0; i < g->nprocs; i++)
		g->procs[i].loop.stalled = loop_stalled(g, &g->procs[i]);

	csr_free(&fwd);
	free(a.proc_of);
	free(a.live);
	free(a.stuck);
	free(a.external);
	free(a.deps);
	free(a.wait);
	free(a.finding_of);
	idmap_free(&a.tids);
	return g->nfindings;
}
