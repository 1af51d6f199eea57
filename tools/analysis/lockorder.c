/* lockorder.c — cycles in the lock-order graph, filtered for what cannot deadlock. */
#include <stdlib.h>
#include <string.h>

#include "analysis/lockorder.h"
#include "lib/util.h"

void lockorder_init(struct lockorder *lo)
{
	memset(lo, 0, sizeof(*lo));
}

void lockorder_free(struct lockorder *lo)
{
	free(lo->e);
	free(lo->overflow_tids);
	memset(lo, 0, sizeof(*lo));
}

void lockorder_add(struct lockorder *lo, const struct lo_edge *e)
{
	/* the kernel sends an edge again when its dedup map is full: keep one */
	for (size_t i = 0; i < lo->n; i++) {
		const struct lo_edge *x = &lo->e[i];

		if (x->from == e->from && x->to == e->to && x->tid == e->tid && x->pid == e->pid &&
		    x->from_gen == e->from_gen && x->to_gen == e->to_gen && x->flags == e->flags &&
		    x->nheld == e->nheld && !memcmp(x->held, e->held, sizeof(x->held)))
			return;
	}
	if (lo->n == lo->cap) {
		lo->cap = lo->cap ? lo->cap * 2 : 64;
		lo->e = xrealloc(lo->e, lo->cap * sizeof(*lo->e));
	}
	lo->e[lo->n++] = *e;
}

static int same_order(const struct lo_edge *a, const struct lo_edge *b)
{
	return a->pid == b->pid && a->from == b->from && a->to == b->to &&
	       a->from_gen == b->from_gen && a->to_gen == b->to_gen;
}

size_t lockorder_shared(const struct lockorder *lo, uint16_t flags)
{
	size_t n = 0;

	for (size_t i = 0; i < lo->n; i++) {
		const struct lo_edge *a = &lo->e[i];
		int counted = 0, other = 0;

		if ((a->flags & flags) != flags)
			continue;
		/* counted once, at its first edge; shared when another thread's edge has it too */
		for (size_t k = 0; k < lo->n && !counted; k++) {
			const struct lo_edge *b = &lo->e[k];

			if ((b->flags & flags) != flags || !same_order(a, b))
				continue;
			if (k < i)
				counted = 1;
			else if (b->tid != a->tid)
				other = 1;
		}
		if (!counted && other)
			n++;
	}
	return n;
}

void lockorder_add_record(struct lockorder *lo, const struct ev_lock_edge *r)
{
	struct lo_edge e = {
		.from = r->from, .to = r->to, .from_gen = r->from_gen, .to_gen = r->to_gen,
		.tid = r->hdr.tid, .pid = r->pid, .from_ret = r->from_ret, .to_ret = r->to_ret,
		.stack_id = r->stack_id, .flags = r->flags,
		.nheld = r->nheld < LOCK_EDGE_HELD ? r->nheld : LOCK_EDGE_HELD,
	};

	/* into a semaphore a trywait took: not an edge unless pylockwatch.h made it one */
	if (r->flags & LEF_TO_TRY)
		return;
	memcpy(e.held, r->held, e.nheld * sizeof(e.held[0]));
	lockorder_add(lo, &e);
}

void lockorder_overflow(struct lockorder *lo, pid_t tid)
{
	for (size_t i = 0; i < lo->noverflow; i++)
		if (lo->overflow_tids[i] == tid)
			return;
	lo->overflow_tids = xrealloc(lo->overflow_tids, (lo->noverflow + 1) * sizeof(pid_t));
	lo->overflow_tids[lo->noverflow++] = tid;
}

/* ---- search ---- */

/* One end of an edge, for numbering the nodes by sorting (a node per lock and generation). */
struct lo_end {
	uint64_t addr;
	uint32_t gen;
	pid_t pid;
	size_t pos;		/* 2 * edge + (0 from, 1 to) */
};

struct search {
	const struct lockorder *lo;
	size_t nnodes;
	size_t *efrom, *eto;		/* node index of each edge's ends */
	/* edges leaving node u: eout[eout_at[u] .. eout_at[u + 1]), by edge index; its distinct
	 * successor nodes, ascending: succ[succ_at[u] .. succ_at[u + 1]) */
	size_t *eout_at, *eout, *succ_at, *succ;
	size_t path[LO_MAX_CYCLE];	/* nodes of the cycle being built */
	size_t pick[LO_MAX_CYCLE];	/* chosen edge per hop */
	struct lo_cycle *out;
	size_t nout, cap;
	uint64_t (*sigs)[2 * LO_MAX_CYCLE];
	/* the best assignment of the current node cycle */
	int found_free, found_guarded;
	size_t best[LO_MAX_CYCLE];
	uint64_t best_gate;
};

static int held_has(const struct lo_edge *e, uint64_t g)
{
	for (int i = 0; i < e->nheld; i++)
		if (e->held[i] == g)
			return 1;
	return 0;
}

/* A gate: a lock held across every chosen edge (and not one of the cycle's locks). */
static uint64_t common_gate(struct search *s, size_t n)
{
	const struct lo_edge *first = &s->lo->e[s->pick[0]];

	for (int i = 0; i < first->nheld; i++) {
		uint64_t g = first->held[i];
		int all = 1;

		for (size_t k = 1; k < n && all; k++)
			all = held_has(&s->lo->e[s->pick[k]], g);
		if (all)
			return g;
	}
	return 0;
}

/* Choose edges hop by hop: distinct threads, conflicting modes at every lock. */
static void assign(struct search *s, size_t n, size_t hop)
{
	if (s->found_free)
		return;
	if (hop == n) {
		const struct lo_edge *last = &s->lo->e[s->pick[n - 1]];
		const struct lo_edge *first = &s->lo->e[s->pick[0]];
		uint64_t gate;

		/* the lock closing the cycle: read-read does not block */
		if ((last->flags & LEF_TO_READ) && (first->flags & LEF_FROM_READ))
			return;
		gate = common_gate(s, n);
		if (!gate) {
			s->found_free = 1;
			memcpy(s->best, s->pick, sizeof(s->best));
		} else if (!s->found_guarded) {
			s->found_guarded = 1;
			s->best_gate = gate;
			memcpy(s->best, s->pick, sizeof(s->best));
		}
		return;
	}
	for (size_t x = s->eout_at[s->path[hop]]; x < s->eout_at[s->path[hop] + 1]; x++) {
		size_t i = s->eout[x];
		const struct lo_edge *e = &s->lo->e[i];
		int ok = 1;

		if (s->eto[i] != s->path[(hop + 1) % n])
			continue;
		for (size_t k = 0; k < hop && ok; k++)
			ok = s->lo->e[s->pick[k]].tid != e->tid;
		if (!ok)
			continue;
		if (hop > 0 && (s->lo->e[s->pick[hop - 1]].flags & LEF_TO_READ) &&
		    (e->flags & LEF_FROM_READ))
			continue;
		s->pick[hop] = i;
		assign(s, n, hop + 1);
		if (s->found_free)
			return;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void record_cycle(struct search *s, size_t n)
{
	uint64_t sig[2 * LO_MAX_CYCLE] = {};
	struct lo_cycle *c;

	s->found_free = s->found_guarded = 0;
	assign(s, n, 0);
	if (!s->found_free && !s->found_guarded)
		return;
	/* the same code paths on other lock instances are the same finding */
	for (size_t k = 0; k < n; k++) {
		sig[2 * k] = s->lo->e[s->best[k]].from_ret;
		sig[2 * k + 1] = s->lo->e[s->best[k]].to_ret;
	}
	qsort(sig, 2 * n, sizeof(sig[0]), cmp_u64);
	for (size_t i = 0; i < s->nout; i++)
		if (s->out[i].n == n && !memcmp(s->sigs[i], sig, sizeof(sig)))
			return;
	if (s->nout == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->out = xrealloc(s->out, s->cap * sizeof(*s->out));
		s->sigs = xrealloc(s->sigs, s->cap * sizeof(*s->sigs));
	}
	memcpy(s->sigs[s->nout], sig, sizeof(sig));
	c = &s->out[s->nout++];
	memset(c, 0, sizeof(*c));
	c->n = n;
	memcpy(c->edges, s->best, n * sizeof(size_t));
	c->guarded = !s->found_free;
	c->gate = c->guarded ? s->best_gate : 0;
}

/* Elementary cycles whose smallest node is path[0]: each found once. */
static void dfs(struct search *s, size_t depth)
{
	size_t cur = s->path[depth - 1];

	for (size_t x = s->succ_at[cur]; x < s->succ_at[cur + 1]; x++) {
		size_t v = s->succ[x];
		int on_path = 0;

		if (v < s->path[0])
			continue;
		if (v == s->path[0]) {
			if (depth >= 2)
				record_cycle(s, depth);
			continue;
		}
		for (size_t k = 0; k < depth; k++)
			on_path |= s->path[k] == v;
		if (on_path || depth == LO_MAX_CYCLE)
			continue;
		s->path[depth] = v;
		dfs(s, depth + 1);
	}
}

static int cmp_cycle(const void *a, const void *b)
{
	const struct lo_cycle *x = a, *y = b;

	if (x->guarded != y->guarded)
		return x->guarded - y->guarded;
	return (x->n > y->n) - (x->n < y->n);
}

static int cmp_end(const void *a, const void *b)
{
	const struct lo_end *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->gen != y->gen)
		return x->gen < y->gen ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/*
 * Number the nodes (a lock: address, generation, process) in the order they first appear in
 * the edges, and list each node's edges and successors: the search follows these lists, so a
 * graph of thousands of edges (a Python program's Condition waits each make a new lock) is
 * searched in time proportional to the paths it has, not to nodes times edges at every step.
 */
static void index_graph(struct search *s)
{
	const struct lockorder *lo = s->lo;
	size_t ne = 2 * lo->n, *first, *rank, *pairs;
	struct lo_end *ends = xcalloc(ne, sizeof(*ends));
	size_t *node = xcalloc(ne, sizeof(size_t));

	for (size_t i = 0; i < lo->n; i++) {
		ends[2 * i] = (struct lo_end){lo->e[i].from, lo->e[i].from_gen, lo->e[i].pid, 2 * i};
		ends[2 * i + 1] = (struct lo_end){lo->e[i].to, lo->e[i].to_gen, lo->e[i].pid,
						  2 * i + 1};
	}
	qsort(ends, ne, sizeof(*ends), cmp_end);
	/* groups of equal ends; each group's first position decides its number */
	first = xcalloc(ne, sizeof(size_t));
	for (size_t k = 0; k < ne; k++) {
		int same = k && ends[k].addr == ends[k - 1].addr && ends[k].gen == ends[k - 1].gen &&
			   ends[k].pid == ends[k - 1].pid;

		if (!same)
			first[s->nnodes++] = ends[k].pos;	/* the group's smallest pos */
		node[ends[k].pos] = s->nnodes - 1;
	}
	/* pairs (first position, group), sorted: a group's rank is its node number */
	rank = xcalloc(s->nnodes ? s->nnodes : 1, sizeof(size_t));
	pairs = xcalloc(s->nnodes ? s->nnodes : 1, 2 * sizeof(size_t));
	for (size_t g = 0; g < s->nnodes; g++) {
		pairs[2 * g] = first[g];
		pairs[2 * g + 1] = g;
	}
	qsort(pairs, s->nnodes, 2 * sizeof(size_t), cmp_size);	/* first positions differ */
	for (size_t r = 0; r < s->nnodes; r++)
		rank[pairs[2 * r + 1]] = r;
	free(pairs);
	s->efrom = xcalloc(lo->n ? lo->n : 1, sizeof(size_t));
	s->eto = xcalloc(lo->n ? lo->n : 1, sizeof(size_t));
	for (size_t i = 0; i < lo->n; i++) {
		s->efrom[i] = rank[node[2 * i]];
		s->eto[i] = rank[node[2 * i + 1]];
	}
	s->eout_at = xcalloc(s->nnodes + 1, sizeof(size_t));
	s->eout = xcalloc(lo->n ? lo->n : 1, sizeof(size_t));
	for (size_t i = 0; i < lo->n; i++)
		s->eout_at[s->efrom[i] + 1]++;
	for (size_t u = 0; u < s->nnodes; u++)
		s->eout_at[u + 1] += s->eout_at[u];
	{
		size_t *fill = xcalloc(s->nnodes + 1, sizeof(size_t));

		memcpy(fill, s->eout_at, (s->nnodes + 1) * sizeof(size_t));
		for (size_t i = 0; i < lo->n; i++)
			s->eout[fill[s->efrom[i]]++] = i;
		free(fill);
	}
	s->succ_at = xcalloc(s->nnodes + 1, sizeof(size_t));
	s->succ = xcalloc(lo->n ? lo->n : 1, sizeof(size_t));
	for (size_t u = 0, n = 0; u < s->nnodes; u++) {
		size_t start = n;

		for (size_t x = s->eout_at[u]; x < s->eout_at[u + 1]; x++)
			s->succ[n++] = s->eto[s->eout[x]];
		qsort(s->succ + start, n - start, sizeof(size_t), cmp_size);
		for (size_t a = start + 1, b = start + 1; a <= n; a++) {	/* each once */
			if (a == n) {
				n = b;
				break;
			}
			if (s->succ[a] != s->succ[b - 1])
				s->succ[b++] = s->succ[a];
		}
		s->succ_at[u + 1] = n;
	}
	free(first);
	free(rank);
	free(node);
	free(ends);
}

size_t lockorder_cycles(const struct lockorder *lo, struct lo_cycle **out)
{
	struct search s = {.lo = lo};

	*out = NULL;
	if (!lo->n)
		return 0;
	index_graph(&s);
	for (size_t n0 = 0; n0 < s.nnodes; n0++) {
		s.path[0] = n0;
		dfs(&s, 1);
	}
	if (s.nout)
		qsort(s.out, s.nout, sizeof(*s.out), cmp_cycle);
	free(s.efrom);
	free(s.eto);
	free(s.eout_at);
	free(s.eout);
	free(s.succ_at);
	free(s.succ);
	free(s.sigs);
	*out = s.out;
	return s.nout;
}
