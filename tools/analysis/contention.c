/* contention.c — per sync object aggregation of the model's futex waits (see contention.h). */
#include <stdlib.h>
#include <string.h>

#include "analysis/contention.h"
#include "analysis/contention_int.h"
#include "events.h"
#include "model/model.h"
#include "model/pystacks.h"
#include "lib/util.h"

const char *cont_kind_name(int k)
{
	static const char *n[] = {"mutex", "rwlock", "lock", "pylock", "semaphore", "futex",
				  "condvar", "join", "gil"};

	return k >= 0 && k < CK_NKINDS ? n[k] : "?";
}

int cont_kind_is_lock(int k)
{
	return k >= CK_MUTEX && k <= CK_PYLOCK;
}

int cont_hist_bucket(uint64_t ns)
{
	int b = ns ? 63 - __builtin_clzll(ns) : 0;

	return b < CONT_HIST_BUCKETS ? b : CONT_HIST_BUCKETS - 1;
}

/*
 * The object kind of one wait. In CPython (3.11/3.12) pthread condition variables are used by
 * the GIL (and the switch condition beside it); every Python-level lock (threading.Lock, RLock,
 * and the Condition, Event and Queue built on them) is a sem_t. The waits of threading's
 * Condition.wait and Thread.join on their Locks come with the kind their Python stack says
 * (model/pystacks.h): a condition variable, a join.
 */
int cont_wk(const struct m_wait *w)
{
	return w->py && w->kind == WK_CONDVAR ? CONT_WK_PYCOND : w->kind;
}

uint64_t cont_wait_addr(const struct model *m, const struct m_wait *w)
{
	uint64_t site = w->py && w->kind == WK_CONDVAR ? model_py_wait_site(m, w->stack_id) : 0;

	return site ? site : w->obj;
}

int cont_kind_of_wait(int wk, int python)
{
	switch (wk) {
	case CONT_WK_PYCOND:
		return CK_CONDVAR;
	case WK_MUTEX:
		return CK_MUTEX;
	case WK_RWLOCK:
		return CK_RWLOCK;
	case WK_LOCK:
		return CK_LOCK;
	case WK_SEMAPHORE:
		return python ? CK_PYLOCK : CK_SEMAPHORE;
	case WK_CONDVAR:
		return python ? CK_GIL : CK_CONDVAR;
	case WK_JOIN:
		return CK_JOIN;
	case WK_FUTEX:
		return CK_FUTEX;
	default:
		return -1;
	}
}

static int cont_kind_of(const struct model *m, const struct m_thread *t, int wk)
{
	return cont_kind_of_wait(wk, model_is_python(m, t->pid));
}

/* An object's kind from its waits: a mutex whose owner field read 0 at one wait (released in
 * between) still is a mutex; otherwise the most frequent kind wins. */
int cont_vote_kind(const struct cont_obj *o)
{
	int best = CK_FUTEX;

	if (o->kind_votes[CK_MUTEX] && !o->kind_votes[CK_GIL] && !o->kind_votes[CK_CONDVAR])
		return CK_MUTEX;
	for (int k = 0; k < CK_NKINDS; k++)
		if (o->kind_votes[k] > o->kind_votes[best])
			best = k;
	return best;
}

/* ---- small growable arrays -------------------------------------------------------------- */

struct cont_party *cont_party_get(struct cont_party **v, size_t *n, uint32_t tid)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].tid == tid)
			return &(*v)[i];
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].tid = tid;
	return &(*v)[(*n)++];
}

const struct cont_party *cont_party_find(const struct cont_party *v, size_t n, uint32_t tid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].tid == tid)
			return &v[i];
	return NULL;
}

struct cont_caller *cont_caller_get(struct cont_obj *o, uint64_t ret_addr, int32_t stack_id)
{
	struct cont_caller *c;

	for (size_t i = 0; i < o->ncallers; i++)
		if (o->callers[i].ret_addr == ret_addr && o->callers[i].stack_id == stack_id)
			return &o->callers[i];
	o->callers = xrealloc(o->callers, (o->ncallers + 1) * sizeof(*o->callers));
	c = &o->callers[o->ncallers++];
	memset(c, 0, sizeof(*c));
	c->ret_addr = ret_addr;
	c->stack_id = stack_id;
	c->top = -1;
	return c;
}


uint64_t cont_obj_key(uint32_t pid, uint64_t addr)
{
	return addr ^ ((uint64_t)pid << 47) ^ ((uint64_t)pid >> 17);
}

static int64_t obj_lookup(const struct contention *c, const struct idmap *idx, uint32_t pid,
			  uint64_t addr)
{
	int64_t at = idmap_get(idx, cont_obj_key(pid, addr));

	if (at >= 0 && c->objs[at].pid == pid && c->objs[at].addr == addr)
		return at;
	if (at < 0)
		return -1;
	for (size_t i = 0; i < c->nobjs; i++)	/* a key collision: rare, search */
		if (c->objs[i].pid == pid && c->objs[i].addr == addr)
			return i;
	return -1;
}

struct cont_obj *cont_obj_get(struct objtab *t, uint32_t pid, uint64_t addr, size_t *index)
{
	struct contention *c = t->c;
	int64_t at = obj_lookup(c, &t->idx, pid, addr);
	struct cont_obj *o;

	if (at < 0) {
		GROW(c->objs, t->cap, c->nobjs + 1);
		at = c->nobjs++;
		o = &c->objs[at];
		memset(o, 0, sizeof(*o));
		o->pid = pid;
		o->addr = addr;
		o->kind = CK_FUTEX;
		if (idmap_get(&t->idx, cont_obj_key(pid, addr)) < 0)
			idmap_put(&t->idx, cont_obj_key(pid, addr), at);
	}
	*index = at;
	return &c->objs[at];
}

const struct cont_obj *contention_find(const struct contention *c, uint32_t pid, uint64_t addr)
{
	for (size_t i = 0; i < c->nobjs; i++)
		if (c->objs[i].pid == pid && c->objs[i].addr == addr)
			return &c->objs[i];
	return NULL;
}

/* The first interval of t that ends after ts (intervals are in time order). */
size_t cont_iv_search(const struct m_thread *t, uint64_t ts)
{
	size_t lo = 0, hi = t->niv;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->iv[mid].end <= ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* What holder h did during [from, to): ns per state, and ns blocked on something that is not
 * a futex (a holder sleeping or doing I/O with the lock held). */
static void holder_overlap(struct cont_obj *o, const struct m_thread *h, uint64_t from, uint64_t to)
{
	for (size_t i = cont_iv_search(h, from); i < h->niv && h->iv[i].start < to; i++) {
		const struct m_interval *iv = &h->iv[i];
		uint64_t a = iv->start > from ? iv->start : from, b = iv->end < to ? iv->end : to;

		if (b <= a || iv->state >= 5)
			continue;
		o->holder_state_ns[iv->state] += b - a;
		if (iv->state == TH_BLOCKED && wait_kind_class(iv->w.kind) != BC_FUTEX)
			o->holder_sleep_ns += b - a;
	}
}

/* Lock hand-off points for the contended hold estimate. */
struct handoff {
	uint64_t ts;
	uint32_t obj, tid;
	uint8_t acquire;	/* 1: tid got the lock after a wait; 0: tid released it (woke one) */
};

static int cmp_handoff(const void *a, const void *b)
{
	const struct handoff *x = a, *y = b;

	if (x->obj != y->obj)
		return x->obj < y->obj ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (int)y->acquire - (int)x->acquire;
}

/* A row for thread t, alive from born to died (the whole build and the fold both make them). */
struct cont_thread *cont_thread_add(struct contention *c, size_t *cap, const struct m_thread *t,
				    uint64_t born, uint64_t died)
{
	struct cont_thread *ct;

	GROW(c->threads, *cap, c->nthreads + 1);
	ct = &c->threads[c->nthreads++];
	memset(ct, 0, sizeof(*ct));
	ct->tid = t->tid;
	ct->pid = t->pid;
	memcpy(ct->comm, t->comm, sizeof(ct->comm));
	ct->comm[sizeof(ct->comm) - 1] = 0;
	ct->life = died > born ? died - born : 0;
	return ct;
}

static struct cont_thread *thread_get(struct contention *c, size_t *cap, const struct m_thread *t,
				      const struct model *m)
{
	uint64_t born = t->born, died = t->died;

	if (!died)	/* alive at the end: its history runs to the end of the trace */
		died = t->niv ? t->iv[t->niv - 1].end : m->t_last;

	if (t->niv && (!born || t->iv[0].start < born))
		born = t->iv[0].start;
	return cont_thread_add(c, cap, t, born, died);
}

static void thread_add(struct cont_thread *ct, uint32_t obj, uint64_t ns, int kind)
{
	for (size_t i = 0; i < ct->nobjs; i++)
		if (ct->objs[i].obj == obj) {
			ct->objs[i].waits++;
			ct->objs[i].ns += ns;
			ct->objs[i].kind_ns[kind] += ns;
			if (ns > ct->objs[i].max_ns)
				ct->objs[i].max_ns = ns;
			return;
		}
	ct->objs = xrealloc(ct->objs, (ct->nobjs + 1) * sizeof(*ct->objs));
	ct->objs[ct->nobjs] = (struct cont_twait){.obj = obj, .waits = 1, .ns = ns, .max_ns = ns};
	ct->objs[ct->nobjs++].kind_ns[kind] = ns;
}

/* The lock hand-offs seen so far: each waiter's acquisition and its waker's release. */
struct handoffs {
	struct handoff *v;
	size_t n, cap;
};

/* Who held the object while t waited, as far as the trace says. */
static void add_holder(struct cont_obj *ob, const struct model *m, const struct m_thread *t,
		       const struct m_interval *iv, uint64_t start, uint64_t bend, uint64_t d)
{
	/* the owner read at switch-out, else the thread that woke us (it released the lock,
	 * posted the semaphore, signalled, exited) */
	uint32_t holder = iv->w.holder;
	struct cont_party *h;
	const struct m_thread *ht;

	if (!holder && iv->waker != t->tid)
		holder = iv->waker;
	if (!holder) {
		ob->holder_unknown_ns += d;
		return;
	}
	h = cont_party_get(&ob->holders, &ob->nholders, holder);
	ht = model_thread(m, holder);
	h->waits++;
	h->ns += d;
	if (d > h->max_ns)
		h->max_ns = d;
	if (iv->waker == holder)
		h->handoffs++;
	if (ht && ht != t)
		holder_overlap(ob, ht, start, bend);
}

/* When thread t's wait (interval k) ended: woken but not yet on a CPU, it still waits. */
static uint64_t wait_end(const struct m_thread *t, size_t k)
{
	if (k + 1 < t->niv && t->iv[k + 1].state == TH_RUNNABLE && t->iv[k + 1].start == t->iv[k].end)
		return t->iv[k + 1].end;
	return t->iv[k].end;
}

/* One wait of thread t (interval k, kind), clipped to [from, to): counted on its object, its
 * waiter, holder and caller, and the thread; a lock's hand-off noted. */
static void add_wait(struct contention *c, struct objtab *tab, const struct model *m,
		     const struct m_thread *t, size_t k, int kind, uint64_t from, uint64_t to,
		     struct cont_thread *ct, struct handoffs *hv)
{
	const struct m_interval *iv = &t->iv[k];
	uint64_t start = iv->start, bend = iv->end, end = wait_end(t, k), d;
	struct cont_party *w;
	struct cont_caller *cl;
	struct cont_obj *ob;
	size_t oi;

	start = start > from ? start : from;
	end = end < to ? end : to;
	bend = bend < end ? bend : end;
	d = end - start;

	ob = cont_obj_get(tab, t->pid, cont_wait_addr(m, &iv->w), &oi);
	ob->shared |= iv->w.shared;
	ob->kind_votes[kind]++;
	ob->waits++;
	ob->wait_total += d;
	ob->blocked_total += bend > start ? bend - start : 0;
	if (d > ob->wait_max)
		ob->wait_max = d;
	ob->timed_out += iv->w.timed_out;
	ob->hist[cont_hist_bucket(d)]++;
	c->waits_total++;

	w = cont_party_get(&ob->waiters, &ob->nwaiters, t->tid);
	w->waits++;
	w->ns += d;
	if (d > w->max_ns)
		w->max_ns = d;
	add_holder(ob, m, t, iv, start, bend, d);
	cl = cont_caller_get(ob, iv->w.ret_addr, iv->w.stack_id);
	cl->waits++;
	cl->ns += d;
	ct->wait_ns[kind] += d;
	thread_add(ct, oi, d, kind);

	if (cont_kind_is_lock(kind)) {
		GROW(hv->v, hv->cap, hv->n + 2);
		hv->v[hv->n++] = (struct handoff){.ts = end, .obj = oi, .tid = t->tid, .acquire = 1};
		if (iv->waker && iv->waker != t->tid)
			hv->v[hv->n++] = (struct handoff){.ts = iv->end, .obj = oi, .tid = iv->waker};
	}
}

/* Contended holds: a thread got the lock at the end of its wait and held it until it woke the
 * next waiter. Without lock uprobes this is all we know of hold times. */
static void contended_holds(struct contention *c, struct handoffs *hv)
{
	qsort(hv->v, hv->n, sizeof(*hv->v), cmp_handoff);
	for (size_t i = 0; i < hv->n;) {
		uint32_t obj = hv->v[i].obj, owner = 0;
		uint64_t since = 0;
		struct cont_obj *ob = &c->objs[obj];

		for (; i < hv->n && hv->v[i].obj == obj; i++) {
			const struct handoff *h = &hv->v[i];
			uint64_t d;

			if (h->acquire) {
				owner = h->tid;
				since = h->ts;
				continue;
			}
			if (!owner || h->tid != owner || h->ts < since)
				continue;
			d = h->ts - since;
			if (cont_kind_is_lock(ob->kind)) {
				ob->chold_n++;
				ob->chold_total += d;
				if (d > ob->chold_max)
					ob->chold_max = d;
			}
			owner = 0;
		}
	}
}

/*
 * CPython's GIL (3.11, 3.12: struct _gil_runtime_state) is a pthread condvar followed by its
 * mutex, then the switch condvar and its mutex. A glibc mutex 4 or 8 bytes past a word the GIL's
 * waits sleep on (__g_signals[1] or [0], the last words of the 48-byte pthread_cond_t) is that
 * mutex, taken in take_gil and drop_gil; a futex 24 bytes before such a word is the condvar's
 * __g_refs, which pthread_cond_signal waits on for the old group's waiters to leave. Waits on
 * either are the GIL's hand-off, not contention of the program's.
 */
static int gil_word(const struct contention *c, uint32_t pid, uint64_t addr)
{
	const struct cont_obj *o = contention_find(c, pid, addr);

	return o && o->kind == CK_GIL;
}

void cont_gil_parts(struct contention *c)
{
	for (size_t i = 0; i < c->nobjs; i++) {
		struct cont_obj *o = &c->objs[i];

		if (!(((o->kind == CK_MUTEX || o->kind == CK_LOCK) &&
		       (gil_word(c, o->pid, o->addr - 4) || gil_word(c, o->pid, o->addr - 8))) ||
		      (o->kind == CK_FUTEX && gil_word(c, o->pid, o->addr + 24))))
			continue;
		o->kind = CK_GIL;
		o->chold_n = o->chold_total = o->chold_max = 0;
		for (size_t k = 0; k < c->nthreads; k++) {
			struct cont_thread *t = &c->threads[k];

			for (size_t j = 0; j < t->nobjs; j++) {
				struct cont_twait *w = &t->objs[j];

				if (w->obj != i)
					continue;
				for (int kd = 0; kd < CK_NKINDS; kd++) {
					if (kd == CK_GIL)
						continue;
					t->wait_ns[kd] -= w->kind_ns[kd];
					t->wait_ns[CK_GIL] += w->kind_ns[kd];
					w->kind_ns[CK_GIL] += w->kind_ns[kd];
					w->kind_ns[kd] = 0;
				}
			}
		}
	}
}

void contention_build(struct contention *c, const struct model *m, const struct cont_opts *o)
{
	struct objtab tab = {.c = c};
	struct handoffs hv = {0};
	size_t capth = 0;
	uint64_t from = o && o->from ? o->from : 0, to = o && o->to ? o->to : UINT64_MAX;

	memset(c, 0, sizeof(*c));
	c->duration = m->t_last > m->t_first ? m->t_last - m->t_first : 0;
	if (o && (o->from || o->to)) {
		uint64_t a = from > m->t_first ? from : m->t_first;
		uint64_t b = to < m->t_last ? to : m->t_last;

		c->duration = b > a ? b - a : 0;
	}
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];
		struct cont_thread *ct = NULL;

		for (size_t k = 0; k < t->niv; k++) {
			const struct m_interval *iv = &t->iv[k];
			int kind = iv->state == TH_BLOCKED ? cont_kind_of(m, t, cont_wk(&iv->w)) : -1;

			if (kind < 0 || wait_end(t, k) <= from || iv->start >= to)
				continue;
			if (!ct)
				ct = thread_get(c, &capth, t, m);
			add_wait(c, &tab, m, t, k, kind, from, to, ct, &hv);
		}
	}
	for (size_t i = 0; i < c->nobjs; i++)
		c->objs[i].kind = cont_vote_kind(&c->objs[i]);
	contended_holds(c, &hv);
	cont_gil_parts(c);
	free(hv.v);
	idmap_free(&tab.idx);
}

/* ---- sorting ------------------------------------------------------------------------------ */

int contention_sort_key(const char *s)
{
	static const char *n[] = {"total", "waits", "max", "avg", "name", "hold"};

	if (!s)
		return CS_TOTAL;
	for (int i = 0; i < (int)(sizeof(n) / sizeof(n[0])); i++)
		if (!strcmp(s, n[i]))
			return i;
	return -1;
}

static int sort_key;

static uint64_t obj_val(const struct cont_obj *o, int key)
{
	switch (key) {
	case CS_WAITS:
		return o->waits;
	case CS_MAX:
		return o->wait_max;
	case CS_AVG:
		return o->waits ? o->wait_total / o->waits : 0;
	case CS_HOLD:
		return o->hold_n ? o->hold_total : o->chold_total;
	default:
		return o->wait_total;
	}
}

static int cmp_obj(const void *a, const void *b)
{
	const struct cont_obj *x = *(const struct cont_obj *const *)a;
	const struct cont_obj *y = *(const struct cont_obj *const *)b;
	uint64_t vx, vy;

	if (sort_key == CS_NAME) {
		int r = strcmp(x->name, y->name);

		if (r)
			return r;
	}
	vx = obj_val(x, sort_key);
	vy = obj_val(y, sort_key);
	if (vx != vy)
		return vx < vy ? 1 : -1;
	if (x->wait_total != y->wait_total)
		return x->wait_total < y->wait_total ? 1 : -1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_party(const void *a, const void *b)
{
	const struct cont_party *x = a, *y = b;

	return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_twait(const void *a, const void *b)
{
	const struct cont_twait *x = a, *y = b;

	return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

static int cmp_thread(const void *a, const void *b)
{
	const struct cont_thread *x = a, *y = b;

	return x->pid != y->pid ? (x->pid > y->pid) - (x->pid < y->pid)
				: (x->tid > y->tid) - (x->tid < y->tid);
}

/* Not reentrant (qsort has no context argument): reports run one at a time. */
void contention_sort(struct contention *c, int key)
{
	const struct cont_obj **p = xcalloc(c->nobjs + 1, sizeof(*p));
	struct cont_obj *sorted = xcalloc(c->nobjs + 1, sizeof(*sorted));
	uint32_t *newidx = xcalloc(c->nobjs + 1, sizeof(*newidx));

	sort_key = key;
	for (size_t i = 0; i < c->nobjs; i++)
		p[i] = &c->objs[i];
	qsort(p, c->nobjs, sizeof(*p), cmp_obj);
	for (size_t i = 0; i < c->nobjs; i++) {
		sorted[i] = *p[i];
		newidx[p[i] - c->objs] = i;
		qsort(sorted[i].waiters, sorted[i].nwaiters, sizeof(struct cont_party), cmp_party);
		qsort(sorted[i].holders, sorted[i].nholders, sizeof(struct cont_party), cmp_party);
	}
	free(c->objs);
	c->objs = sorted;
	for (size_t i = 0; i < c->nthreads; i++) {
		struct cont_thread *t = &c->threads[i];

		for (size_t k = 0; k < t->nobjs; k++)
			t->objs[k].obj = newidx[t->objs[k].obj];
		qsort(t->objs, t->nobjs, sizeof(*t->objs), cmp_twait);
	}
	qsort(c->threads, c->nthreads, sizeof(*c->threads), cmp_thread);
	free(p);
	free(newidx);
}

void contention_free(struct contention *c)
{
	for (size_t i = 0; i < c->nobjs; i++) {
		free(c->objs[i].waiters);
		free(c->objs[i].holders);
		free(c->objs[i].callers);
	}
	for (size_t i = 0; i < c->nthreads; i++)
		free(c->threads[i].objs);
	free(c->objs);
	free(c->threads);
	memset(c, 0, sizeof(*c));
}
