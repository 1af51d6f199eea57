/* timeline_chart.c — what the text chart draws of a timeline: each lane's time by column and
 * the wakeup pairs (see timeline.h), from the intervals and arrows or from the fold's. */
#include <stdlib.h>
#include <string.h>

#include "analysis/timeline_int.h"
#include "lib/idmap.h"
#include "lib/util.h"

void tl_cells_span(int ncell, uint64_t t0, uint64_t t1, uint64_t start, uint64_t end, int *c0,
		   int *c1)
{
	double span = (double)(t1 - t0);

	*c0 = (start - t0) / span * ncell;
	*c1 = (end - t0) / span * ncell;
	if (*c1 >= ncell)
		*c1 = ncell - 1;
	if (*c0 < 0)
		*c0 = 0;
}

void tl_cells_add(struct tl_cell *cells, int lo, uint64_t *to, int ncell, uint64_t t0,
		  uint64_t t1, const struct tl_iv *v)
{
	double span = (double)(t1 - t0);
	int cls = tl_class(v->state, v->kind), c0, c1;

	tl_cells_span(ncell, t0, t1, v->start, v->end, &c0, &c1);
	for (int c = c0; c <= c1; c++) {
		struct tl_cell *cell = &cells[c - lo];
		uint64_t cs = t0 + span * c / ncell, ce = t0 + span * (c + 1) / ncell;
		uint64_t s = v->start > cs ? v->start : cs, e = v->end < ce ? v->end : ce;
		uint64_t d = e > s ? e - s : 0;

		if (!d && v->end > v->start)
			continue;
		d += !d;	/* an instant still counts a little */
		if (to)
			to[c - lo] += d;
		else
			cell->t[cls] += d;
		cell->total += d;
		if (v->flags & IV_UNCERTAIN)
			cell->uncertain += d;
		if (v->state == TH_RUNNING && d >= cell->t[TH_RUNNING] / 2)
			cell->cpu = v->cpu;
	}
}

static int cmp_pair(const void *a, const void *b)
{
	const struct tl_pair *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->first_ts != y->first_ts)
		return x->first_ts < y->first_ts ? -1 : 1;
	return (x->first_ord > y->first_ord) - (x->first_ord < y->first_ord);
}

static uint64_t pair_key(const struct tl_pair *p)
{
	return ((uint64_t)p->waker * 2654435761u) ^ ((uint64_t)p->wakee << 32) ^
	       ((uint64_t)p->kind << 24) ^ (uint64_t)(uint32_t)p->name * 40503u;
}

static int same_pair(const struct tl_pair *x, const struct tl_pair *y)
{
	return x->waker == y->waker && x->wakee == y->wakee && x->kind == y->kind &&
	       x->name == y->name;
}

/* p counted into v (an index by pair_key, probed on from a key another pair holds) */
void tl_pair_add(struct tl_pair **v, size_t *n, size_t *cap, struct idmap *idx,
		 const struct tl_pair *p)
{
	uint64_t key = pair_key(p);
	int64_t at;

	while ((at = idmap_get(idx, key)) >= 0 && !same_pair(&(*v)[at], p))
		key++;
	if (at < 0) {
		GROW(*v, *cap, *n + 1);
		at = (*n)++;
		(*v)[at] = *p;
		(*v)[at].count = 0;
		idmap_put(idx, key, at);
	} else if (p->first_ts < (*v)[at].first_ts ||
		   (p->first_ts == (*v)[at].first_ts && p->first_ord < (*v)[at].first_ord)) {
		(*v)[at].first_ts = p->first_ts;
		(*v)[at].first_ord = p->first_ord;
	}
	(*v)[at].count += p->count;
}

void tl_pairs_sort(struct tl_pair *v, size_t n)
{
	if (n)
		qsort(v, n, sizeof(*v), cmp_pair);
}

struct tl_pair *tl_pairs(const struct timeline *tl, size_t *n)
{
	struct idmap idx = {};
	struct tl_pair *v = NULL;
	struct tl_cursor c;
	size_t cap = 0;

	*n = 0;
	if (tl->pairs) {
		*n = tl->npairs;
		v = xcalloc(tl->npairs + 1, sizeof(*v));
		memcpy(v, tl->pairs, tl->npairs * sizeof(*v));
		return v;
	}
	tl_cursor_arrows(&c, tl);
	for (const struct tl_arrow *a; (a = tl_next(&c));) {
		struct tl_pair p = {a->waker, a->wakee, a->name, a->kind, 1, a->ts, a->seq};

		tl_pair_add(&v, n, &cap, &idx, &p);
	}
	tl_cursor_end(&c);
	idmap_free(&idx);
	tl_pairs_sort(v, *n);
	return v;
}
