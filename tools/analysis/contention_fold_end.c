/* contention_fold_end.c — the fold's tables at the end of the trace (contention_fold.c): what
 * only the end says (is a process Python, is a semaphore-like word a condvar's), the threads'
 * table, and every table in the order contention_build() makes it. */
#include <stdlib.h>
#include <string.h>

#include "analysis/contention_fold_int.h"
#include "lib/util.h"

/* ---- the end: the kinds, the threads, contention_build()'s order ------------------------- */

struct key_index {
	uint64_t key;
	size_t i;
};

static int cmp_key(const void *x, const void *y)
{
	const struct key_index *a = x, *b = y;

	return a->key < b->key ? -1 : a->key > b->key;
}

/* Sort n elements of size sz at base by their keys (distinct), keys along. */
static void sort_by_key(void *base, size_t n, size_t sz, uint64_t *keys)
{
	struct key_index *v;
	uint8_t *copy;

	if (n < 2)
		return;
	v = xcalloc(n, sizeof(*v));
	copy = xcalloc(n, sz);
	for (size_t i = 0; i < n; i++)
		v[i] = (struct key_index){keys[i], i};
	qsort(v, n, sizeof(*v), cmp_key);
	memcpy(copy, base, n * sz);
	for (size_t i = 0; i < n; i++) {
		memcpy((uint8_t *)base + i * sz, copy + v[i].i * sz, sz);
		keys[i] = v[i].key;
	}
	free(copy);
	free(v);
}

/* A wait's object kind, the end of the trace known. */
static int final_kind(int wk, int python, int condvar)
{
	return cont_kind_of_wait(wk == WK_SEMAPHORE && condvar ? WK_CONDVAR : wk, python);
}

static void objects_finish(struct contention_fold *f, const struct model *m)
{
	struct contention *c = &f->c;

	for (size_t i = 0; i < c->nobjs; i++) {
		struct cont_obj *o = &c->objs[i];
		struct cf_obj *fo = &f->ob[i];
		int py = model_is_python(m, o->pid), cv = model_wait_is_condvar(m, o->pid, o->addr);
		int v = py && !cv;	/* its semaphore waits are Python locks */

		for (int wk = 0; wk < CONT_NWK; wk++)
			if (fo->wk_votes[wk])
				o->kind_votes[final_kind(wk, py, cv)] += fo->wk_votes[wk];
		o->kind = cont_vote_kind(o);
		if (cont_kind_is_lock(o->kind)) {
			o->chold_n = fo->chn[v];
			o->chold_total = fo->chtotal[v];
			o->chold_max = fo->chmax[v];
		}
		sort_by_key(o->callers, o->ncallers, sizeof(*o->callers), fo->caller_key);
		sort_by_key(o->waiters, o->nwaiters, sizeof(*o->waiters), fo->waiter_key);
		sort_by_key(o->holders, o->nholders, sizeof(*o->holders), fo->holder_key);
	}
}

/* Objects in the order of their first wait, thread by thread; the threads' indexes along. */
static void objects_order(struct contention_fold *f)
{
	struct contention *c = &f->c;
	struct key_index *v = xcalloc(c->nobjs + 1, sizeof(*v));
	struct cont_obj *objs = xcalloc(c->nobjs + 1, sizeof(*objs));
	struct cf_obj *fo = xcalloc(c->nobjs + 1, sizeof(*fo));
	uint32_t *newidx = xcalloc(c->nobjs + 1, sizeof(*newidx));

	for (size_t i = 0; i < c->nobjs; i++)
		v[i] = (struct key_index){f->ob[i].key, i};
	qsort(v, c->nobjs, sizeof(*v), cmp_key);
	for (size_t i = 0; i < c->nobjs; i++) {
		objs[i] = c->objs[v[i].i];
		fo[i] = f->ob[v[i].i];
		newidx[v[i].i] = i;
	}
	free(c->objs);
	c->objs = objs;
	free(f->ob);
	f->ob = fo;
	f->cap_ob = c->nobjs + 1;
	for (size_t i = 0; i < f->nth; i++)
		for (size_t k = 0; k < f->th[i].nobjs; k++)
			f->th[i].objs[k].obj = newidx[f->th[i].objs[k].obj];
	free(newidx);
	free(v);
}

/* thread_get() of contention.c: the threads that waited, by model index. */
static void threads_finish(struct contention_fold *f, const struct model *m)
{
	struct contention *c = &f->c;
	size_t cap = 0;

	for (size_t i = 0; i < f->nth; i++) {
		struct cf_thread *ft = &f->th[i];
		const struct m_thread *t = &m->threads[i];
		struct cont_thread *ct;
		uint64_t born = t->born, died = t->died;
		int py;

		if (!ft->nobjs)
			continue;
		if (!died)
			died = ft->seen ? ft->last_end : m->t_last;
		if (ft->seen && (!born || ft->first_start < born))
			born = ft->first_start;
		ct = cont_thread_add(c, &cap, t, born, died);
		py = model_is_python(m, t->pid);
		for (size_t k = 0; k < ft->nobjs; k++) {
			const struct cont_obj *o = &c->objs[ft->objs[k].obj];

			for (int wk = 0; wk < CONT_NWK; wk++) {
				uint64_t ns = ft->wk_obj_ns[k][wk];
				int kd;

				if (!ns)
					continue;
				kd = final_kind(wk, py, wk == WK_SEMAPHORE &&
						model_wait_is_condvar(m, o->pid, o->addr));
				ct->wait_ns[kd] += ns;
				ft->objs[k].kind_ns[kd] += ns;
			}
		}
		ct->objs = ft->objs;
		ct->nobjs = ft->nobjs;
		ft->objs = NULL;
		ft->nobjs = 0;
	}
}

void cf_tables_finish(struct contention_fold *f, const struct model *m)
{
	objects_finish(f, m);
	objects_order(f);
	threads_finish(f, m);
}
