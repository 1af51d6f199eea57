/* contention.c — per sync object aggregation of the model's futex waits (see contention.h). */
#include <stdlib.h>
#include <string.h>

#include "analysis/contention.h"
#include "events.h"
#include "model/model.h"
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

static int is_python(const struct model *m, uint32_t pid)
{
	const struct m_process *p = model_process(m, pid);
	const char *s;

	if (!p)
		return 0;
	s = p->exe ? strrchr(p->exe, '/') : NULL;
	s = s ? s + 1 : p->exe ? p->exe : p->comm;
	return !strncmp(s, "python", 6) || !strncmp(p->comm, "python", 6);
}

/*
 * The object kind of one wait. In CPython (3.11/3.12) pthread condition variables are used by
 * the GIL (and the switch condition beside it); every Python-level lock (threading.Lock, RLock,
 * and the Condition, Event and Queue built on them) is a sem_t.
 */
static int cont_kind_of(const struct model *m, const struct m_thread *t, int wk)
{
	switch (wk) {
	case WK_MUTEX:
		return CK_MUTEX;
	case WK_RWLOCK:
		return CK_RWLOCK;
	case WK_LOCK:
		return CK_LOCK;
	case WK_SEMAPHORE:
		return is_python(m, t->pid) ? CK_PYLOCK : CK_SEMAPHORE;
	case WK_CONDVAR:
		return is_python(m, t->pid) ? CK_GIL : CK_CONDVAR;
	case WK_JOIN:
		return CK_JOIN;
	case WK_FUTEX:
		return CK_FUTEX;
	default:
		return -1;
	}
}

/* An object's kind from its waits: a mutex whose owner field read 0 at one wait (released in
 * between) still is a mutex; otherwise the most frequent kind wins. */
static int vote_kind(const struct cont_obj *o)
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

static struct cont_party *party_get(struct cont_party **v, size_t *n, uint32_t tid)
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

static struct cont_caller *caller_get(struct cont_obj *o, uint64_t ret_addr, int32_t stack_id)
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

/* Objects by (pid, addr). */
struct objtab {
	struct contention *c;
	size_t cap;
	struct idmap idx;
};

static uint64_t obj_key(uint32_t pid, uint64_t addr)
{
	return addr ^ ((uint64_t)pid << 47) ^ ((uint64_t)pid >> 17);
}

static int64_t obj_lookup(const struct contention *c, const struct idmap *idx, uint32_t pid,
			  uint64_t addr)
{
	int64_t at = idmap_get(idx, obj_key(pid, addr));

	if (at >= 0 && c->objs[at].pid == pid && c->objs[at].addr == addr)
		return at;
	if (at < 0)
		return -1;
	for (size_t i = 0; i < c->nobjs; i++)	/* a key collision: rare, search */
		if (c->objs[i].pid == pid && c->objs[i].addr == addr)
			return i;
	return -1;
}

static struct cont_obj *obj_get(struct objtab *t, uint32_t pid, uint64_t addr, size_t *index)
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
		if (idmap_get(&t->idx, obj_key(pid, addr)) < 0)
			idmap_put(&t->idx, obj_key(pid, addr), at);
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
static size_t iv_search(const struct m_thread *t, uint64_t ts)
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
	for (size_t i = iv_search(h, from); i < h->niv && h->iv[i].start < to; i++) {
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

static struct cont_thread *thread_get(struct contention *c, size_t *cap, const struct m_thread *t,
				      const struct model *m)
{
	struct cont_thread *ct;
	uint64_t born = t->born, died = t->died;

	if (!died)	/* alive at the end: its history runs to the end of the trace */
		died = t->niv ? t->iv[t->niv - 1].end : m->t_last;

	if (t->niv && (!born || t->iv[0].start < born))
		born = t->iv[0].start;
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

static void thread_add(struct cont_thread *ct, uint32_t obj, uint64_t ns)
{
	for (size_t i = 0; i < ct->nobjs; i++)
		if (ct->objs[i].obj == obj) {
			ct->objs[i].waits++;
			ct->objs[i].ns += ns;
			if (ns > ct->objs[i].max_ns)
				ct->objs[i].max_ns = ns;
			return;
		}
	ct->objs = xrealloc(ct->objs, (ct->nobjs + 1) * sizeof(*ct->objs));
	ct->objs[ct->nobjs++] = (struct cont_twait){.obj = obj, .waits = 1, .ns = ns,
						    .max_ns = ns};
}

void contention_build(struct contention *c, const struct model *m, const struct cont_opts *o)
{
	struct objtab tab = {.c = c};
	struct handoff *hv = NULL;
	size_t nhv = 0, caphv = 0, capth = 0;
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
			uint64_t start = iv->start, bend = iv->end, end = iv->end, d;
			int kind = iv->state == TH_BLOCKED ? cont_kind_of(m, t, iv->w.kind) : -1;
			uint32_t holder;
			struct cont_obj *ob;
			size_t oi;

			if (kind < 0)
				continue;
			/* woken but not yet on a CPU: still waiting for the object */
			if (k + 1 < t->niv && t->iv[k + 1].state == TH_RUNNABLE &&
			    t->iv[k + 1].start == iv->end)
				end = t->iv[k + 1].end;
			if (end <= from || start >= to)
				continue;
			start = start > from ? start : from;
			end = end < to ? end : to;
			bend = bend < end ? bend : end;
			d = end - start;

			if (!ct)
				ct = thread_get(c, &capth, t, m);
			ob = obj_get(&tab, t->pid, iv->w.obj, &oi);
			ob->kind_votes[kind]++;
			ob->waits++;
			ob->wait_total += d;
			ob->blocked_total += bend > start ? bend - start : 0;
			if (d > ob->wait_max)
				ob->wait_max = d;
			ob->timed_out += iv->w.timed_out;
			ob->hist[cont_hist_bucket(d)]++;
			c->waits_total++;

			struct cont_party *w = party_get(&ob->waiters, &ob->nwaiters, t->tid);

			w->waits++;
			w->ns += d;
			if (d > w->max_ns)
				w->max_ns = d;

			/* Who held it: the owner read at switch-out, else the thread that woke us
			 * (it released the lock, posted the semaphore, signalled, exited). */
			holder = iv->w.holder;
			if (!holder && iv->waker != t->tid)
				holder = iv->waker;
			if (holder) {
				struct cont_party *h = party_get(&ob->holders, &ob->nholders, holder);
				const struct m_thread *ht = model_thread(m, holder);

				h->waits++;
				h->ns += d;
				if (d > h->max_ns)
					h->max_ns = d;
				if (iv->waker == holder)
					h->handoffs++;
				if (ht && ht != t)
					holder_overlap(ob, ht, start, bend);
			} else {
				ob->holder_unknown_ns += d;
			}

			struct cont_caller *cl = caller_get(ob, iv->w.ret_addr, iv->w.stack_id);

			cl->waits++;
			cl->ns += d;

			ct->wait_ns[kind] += d;
			thread_add(ct, oi, d);

			if (cont_kind_is_lock(kind)) {
				GROW(hv, caphv, nhv + 2);
				hv[nhv++] = (struct handoff){.ts = end, .obj = oi, .tid = t->tid,
							     .acquire = 1};
				if (iv->waker && iv->waker != t->tid)
					hv[nhv++] = (struct handoff){.ts = iv->end, .obj = oi,
								     .tid = iv->waker};
			}
		}
	}
	for (size_t i = 0; i < c->nobjs; i++)
		c->objs[i].kind = vote_kind(&c->objs[i]);

	/* Contended holds: a thread got the lock at the end of its wait and held it until it
	 * woke the next waiter. Without lock uprobes this is all we know of hold times. */
	qsort(hv, nhv, sizeof(*hv), cmp_handoff);
	for (size_t i = 0; i < nhv;) {
		uint32_t obj = hv[i].obj, owner = 0;
		uint64_t since = 0;
		struct cont_obj *ob = &c->objs[obj];

		for (; i < nhv && hv[i].obj == obj; i++) {
			if (hv[i].acquire) {
				owner = hv[i].tid;
				since = hv[i].ts;
			} else if (owner && hv[i].tid == owner && hv[i].ts >= since) {
				uint64_t d = hv[i].ts - since;

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
	free(hv);
	idmap_free(&tab.idx);
}

/* ---- lock uprobes ------------------------------------------------------------------------ */

/* The end of t's last wait on addr that began in [from, to] (blocked, then runnable until it
 * ran and took the lock), or 0 when it did not wait there. */
static uint64_t waited_on(const struct m_thread *t, uint64_t addr, uint64_t from, uint64_t to)
{
	uint64_t end = 0;

	for (size_t i = iv_search(t, from); i < t->niv && t->iv[i].start <= to; i++) {
		const struct m_interval *iv = &t->iv[i];

		if (iv->state != TH_BLOCKED || iv->w.obj != addr || iv->start < from ||
		    wait_kind_class(iv->w.kind) != BC_FUTEX)
			continue;
		end = iv->end;
		if (i + 1 < t->niv && t->iv[i + 1].state == TH_RUNNABLE)
			end = t->iv[i + 1].end;
	}
	return end;
}

/* A futex wait call's return (blocked or not): after the last one inside a lock call, the
 * caller took the lock. */
struct fwait {
	uint32_t tid;
	uint64_t addr, ts;
};

static int cmp_fwait(const void *a, const void *b)
{
	const struct fwait *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* FUTEX_WAIT and FUTEX_WAIT_BITSET calls, by thread and word */
static struct fwait *futex_waits(const struct model *m, size_t *n)
{
	struct fwait *v = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < m->nfutexes; i++) {
		const struct m_futex *f = &m->futexes[i];
		uint32_t cmd = f->op & 127;

		if (cmd != 0 && cmd != 9)
			continue;
		GROW(v, cap, *n + 1);
		v[(*n)++] = (struct fwait){.tid = f->tid, .addr = f->uaddr, .ts = f->ts};
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_fwait);
	return v;
}

/* The return time of tid's last futex wait on addr in [from, to], or 0 */
static uint64_t last_fwait(const struct fwait *v, size_t n, uint32_t tid, uint64_t addr,
			   uint64_t from, uint64_t to)
{
	struct fwait key = {.tid = tid, .addr = addr, .ts = to};
	size_t lo = 0, hi = n;

	while (lo < hi) {	/* first element after key */
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_fwait(&v[mid], &key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || v[lo - 1].tid != tid || v[lo - 1].addr != addr || v[lo - 1].ts < from)
		return 0;
	return v[lo - 1].ts;
}

struct open_hold {
	uint64_t addr, ts;
	uint32_t tid;
	size_t oi;		/* the object, by index (objs[] may move) */
};

/* A point of an object's timeline: a lock call began, a hold began or ended. At one instant
 * ends come first, then calls, then starts: a call right at a release finds it free. */
enum { MK_END = 0, MK_CALL = 1, MK_START = 2 };

/*
 * How many hold an object at once is counted on holds that start this much later: a call
 * that got a permit without sleeping has no exact moment of success (the acquire record is
 * at the call's entry, and the uprobe on the poster's release fires microseconds after its
 * atomic increment), so without the margin a permit handed over in passing would count
 * twice. Holds shorter than the margin count as one holder for their instant.
 */
#define HOLD_OVERLAP_MARGIN_NS 20000

struct hold_mark {
	size_t oi;
	uint64_t ts;
	int what;	/* MK_* */
	int late;	/* 1: the timeline of starts delayed by the margin (holders at once) */
};

struct marks {
	struct hold_mark *v;
	size_t n, cap;
	const struct fwait *fw;	/* futex waits, to date the starts of holds */
	size_t nfw;
};

static void mark(struct marks *mk, size_t oi, uint64_t ts, int what, int late)
{
	GROW(mk->v, mk->cap, mk->n + 1);
	mk->v[mk->n++] = (struct hold_mark){.oi = oi, .ts = ts, .what = what, .late = late};
}

static int cmp_mark(const void *a, const void *b)
{
	const struct hold_mark *x = a, *y = b;

	if (x->oi != y->oi)
		return x->oi < y->oi ? -1 : 1;
	if (x->late != y->late)
		return x->late - y->late;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->what - y->what;
}

/* Per object, walk the holds in time order: the calls that began while someone held it (their
 * own hold starts later, at the end of their wait), and the most held at once. */
static void sweep_marks(struct contention *c, struct marks *mk)
{
	uint32_t held = 0;

	qsort(mk->v, mk->n, sizeof(*mk->v), cmp_mark);
	for (size_t i = 0; i < mk->n; i++) {
		const struct hold_mark *k = &mk->v[i];
		struct cont_obj *ob = &c->objs[k->oi];

		if (i && (k->oi != k[-1].oi || k->late != k[-1].late))
			held = 0;
		switch (k->what) {
		case MK_END:
			held -= held > 0;
			break;
		case MK_CALL:
			ob->found_held += held > 0;
			break;
		default:
			held++;
			if (k->late && held > ob->max_holders)
				ob->max_holders = held;
			break;
		}
	}
}

/* One hold [got, end] on both timelines. */
static void mark_hold(struct marks *mk, struct cont_obj *ob, size_t oi, uint64_t call,
		      uint64_t got, uint64_t end)
{
	mark(mk, oi, call, MK_CALL, 0);
	mark(mk, oi, got, MK_START, 0);
	mark(mk, oi, end, MK_END, 0);
	if (end > got + HOLD_OVERLAP_MARGIN_NS) {
		mark(mk, oi, got + HOLD_OVERLAP_MARGIN_NS, MK_START, 1);
		mark(mk, oi, end, MK_END, 1);
	} else if (!ob->max_holders) {
		ob->max_holders = 1;
	}
}

/* An acquisition ended: was it contended, and how long was the lock really held? The acquire
 * record is sent at the lock call's entry, so the hold starts at the end of the wait inside
 * the call when there was one. release 0: still held when the trace ended. */
static void close_hold(struct contention *c, const struct model *m, const struct open_hold *h,
		       uint64_t release, struct marks *mk)
{
	const struct m_thread *t = model_thread(m, h->tid);
	struct cont_obj *ob = &c->objs[h->oi];
	uint64_t end = release ? release : (m->t_last > h->ts ? m->t_last : h->ts);
	uint64_t got = t ? waited_on(t, h->addr, h->ts, end) : 0, d;

	if (!got)
		ob->uncontended++;
	got = got > h->ts && got <= end ? got : h->ts;
	/* a futex wait that did not sleep (the word changed) came later in the call */
	{
		uint64_t f = last_fwait(mk->fw, mk->nfw, h->tid, h->addr, got, end);

		mark_hold(mk, ob, h->oi, h->ts, f > got ? f : got, end);
	}
	if (!release)
		return;
	d = release - got;
	ob->hold_n++;
	ob->hold_total += d;
	if (d > ob->hold_max)
		ob->hold_max = d;
}

void contention_add_locks(struct contention *c, const struct model *m,
			  const struct cont_lock_ev *ev, size_t n)
{
	struct objtab tab = {.c = c, .cap = c->nobjs};
	struct open_hold *open = NULL;
	size_t nopen = 0, capopen = 0;
	struct marks mk = {0};
	struct fwait *fw = futex_waits(m, &mk.nfw);

	mk.fw = fw;
	c->have_locks = 1;
	for (size_t i = 0; i < c->nobjs; i++)
		idmap_put(&tab.idx, obj_key(c->objs[i].pid, c->objs[i].addr), i);
	for (size_t i = 0; i < n; i++) {
		const struct cont_lock_ev *e = &ev[i];
		const struct m_thread *t = model_thread(m, e->tid);
		uint32_t pid = t ? t->pid : e->tid;
		struct cont_obj *ob;
		size_t oi, k;

		c->lock_events++;
		ob = obj_get(&tab, pid, e->addr, &oi);
		if (!ob->waits)
			ob->kind = CK_MUTEX;
		switch (e->op) {
		case LOCK_OP_ACQUIRE:
			ob->acquisitions++;
			GROW(open, capopen, nopen + 1);
			open[nopen++] = (struct open_hold){.addr = e->addr, .ts = e->ts,
							   .tid = e->tid, .oi = oi};
			break;
		case LOCK_OP_RELEASE:
			for (k = nopen; k-- > 0;)
				if (open[k].tid == e->tid && open[k].addr == e->addr)
					break;
			if (k == (size_t)-1) {
				c->lock_unmatched++;
				break;
			}
			close_hold(c, m, &open[k], e->ts, &mk);
			open[k] = open[--nopen];
			break;
		case LOCK_OP_TRY_FAIL:
			ob->trylock_fail++;
			break;
		default:
			break;
		}
	}
	for (size_t k = 0; k < nopen; k++)	/* still held at the end: contended or not */
		close_hold(c, m, &open[k], 0, &mk);
	sweep_marks(c, &mk);
	free(mk.v);
	free(fw);
	free(open);
	idmap_free(&tab.idx);
}

/* ---- names and caller frames ------------------------------------------------------------ */

static uint64_t kind_size(int k)
{
	switch (k) {
	case CK_MUTEX: case CK_LOCK:
		return 40;	/* pthread_mutex_t */
	case CK_RWLOCK:
		return 56;	/* pthread_rwlock_t */
	case CK_CONDVAR: case CK_GIL:
		return 48;	/* pthread_cond_t */
	case CK_SEMAPHORE: case CK_PYLOCK:
		return 32;	/* sem_t */
	default:
		return 4;
	}
}

static void resolve_frame(const struct cont_resolver *r, uint32_t pid, uint64_t pc, int retaddr,
			  struct cont_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->pc = pc;
	if (r && r->code)
		r->code(r->ctx, pid, pc, retaddr, f);
}

/*
 * The caller stack of a wait: the frame-pointer stack through glibc loses the function that
 * called pthread_mutex_lock (glibc keeps no frame pointer, so the rbp chain jumps from the
 * libc frames to the caller's caller). The BPF side found that return address on the stack
 * (ret_addr): put it back before the first program frame unless the stack has it already.
 */
static void caller_frames(struct cont_caller *cl, const struct model *m, uint32_t pid,
			  const struct cont_resolver *r)
{
	const struct m_stack *st = cl->stack_id >= 0 ? model_stack(m, cl->stack_id) : NULL;
	uint32_t n = 0, have_ret = 0;

	if (st)
		for (uint32_t i = 0; i < st->n; i++)
			have_ret |= st->ips[i] == cl->ret_addr;
	for (uint32_t i = 0; st && i < st->n && n < CONT_MAX_FRAMES; i++) {
		struct cont_frame f;

		if (!st->ips[i])
			break;
		resolve_frame(r, pid, st->ips[i], i > 0, &f);
		if (f.in_main && cl->top < 0 && cl->ret_addr && !have_ret) {
			resolve_frame(r, pid, cl->ret_addr, 1, &cl->frames[n]);
			cl->top = n++;
			have_ret = 1;
			if (n >= CONT_MAX_FRAMES)
				break;
		}
		if (f.in_main && cl->top < 0)
			cl->top = n;
		cl->frames[n++] = f;
	}
	if (cl->ret_addr && !have_ret && n < CONT_MAX_FRAMES) {
		/* no program frame in the stack (or no stack): the return address is the caller */
		resolve_frame(r, pid, cl->ret_addr, 1, &cl->frames[n]);
		cl->top = n++;
	}
	if (cl->top < 0 && n)
		cl->top = 0;
	cl->nframes = n;
}

static int cmp_caller(const void *a, const void *b)
{
	const struct cont_caller *x = a, *y = b;

	return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

static const char *kind_prefix(int k)
{
	return cont_kind_is_lock(k) ? "lock" : cont_kind_name(k);
}

static void merge_parties(struct cont_party **dv, size_t *dn, const struct cont_party *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cont_party *p = party_get(dv, dn, v[i].tid);

		p->waits += v[i].waits;
		p->ns += v[i].ns;
		p->handoffs += v[i].handoffs;
		if (v[i].max_ns > p->max_ns)
			p->max_ns = v[i].max_ns;
	}
}

/* Fold src into dst: two futex words of one object (a condition variable waits on either of
 * its two __g_signals words). */
static void merge_obj(struct contention *c, size_t di, size_t si)
{
	struct cont_obj *d = &c->objs[di], *s = &c->objs[si];

	d->waits += s->waits;
	d->wait_total += s->wait_total;
	d->blocked_total += s->blocked_total;
	d->wait_max = s->wait_max > d->wait_max ? s->wait_max : d->wait_max;
	d->timed_out += s->timed_out;
	for (int i = 0; i < CONT_HIST_BUCKETS; i++)
		d->hist[i] += s->hist[i];
	merge_parties(&d->waiters, &d->nwaiters, s->waiters, s->nwaiters);
	merge_parties(&d->holders, &d->nholders, s->holders, s->nholders);
	d->holder_unknown_ns += s->holder_unknown_ns;
	for (int i = 0; i < 5; i++)
		d->holder_state_ns[i] += s->holder_state_ns[i];
	d->holder_sleep_ns += s->holder_sleep_ns;
	d->chold_n += s->chold_n;
	d->chold_total += s->chold_total;
	d->chold_max = s->chold_max > d->chold_max ? s->chold_max : d->chold_max;
	for (size_t k = 0; k < s->ncallers; k++) {
		struct cont_caller *cl = caller_get(d, s->callers[k].ret_addr, s->callers[k].stack_id);

		if (!cl->nframes && s->callers[k].nframes) {
			uint32_t w = cl->waits;
			uint64_t ns = cl->ns;

			*cl = s->callers[k];
			cl->waits += w;
			cl->ns += ns;
		} else {
			cl->waits += s->callers[k].waits;
			cl->ns += s->callers[k].ns;
		}
	}
	s->waits = 0;
	for (size_t i = 0; i < c->nthreads; i++) {
		struct cont_thread *t = &c->threads[i];
		size_t keep = 0;

		for (size_t k = 0; k < t->nobjs; k++)
			if (t->objs[k].obj == si)
				t->objs[k].obj = di;
		/* the thread may have waited on both words: one entry */
		for (size_t k = 0; k < t->nobjs; k++) {
			size_t j;

			for (j = 0; j < keep; j++)
				if (t->objs[j].obj == t->objs[k].obj)
					break;
			if (j < keep) {
				t->objs[j].waits += t->objs[k].waits;
				t->objs[j].ns += t->objs[k].ns;
				if (t->objs[k].max_ns > t->objs[j].max_ns)
					t->objs[j].max_ns = t->objs[k].max_ns;
			} else {
				t->objs[keep++] = t->objs[k];
			}
		}
		t->nobjs = keep;
	}
}

/* Drop merged objects (waits = 0 and no acquisitions), remapping the threads' indexes. */
static void compact(struct contention *c, const uint8_t *dead)
{
	size_t *map = xcalloc(c->nobjs + 1, sizeof(*map)), n = 0;

	for (size_t i = 0; i < c->nobjs; i++) {
		map[i] = n;
		if (dead[i]) {
			free(c->objs[i].waiters);
			free(c->objs[i].holders);
			free(c->objs[i].callers);
			continue;
		}
		c->objs[n++] = c->objs[i];
	}
	for (size_t i = 0; i < c->nthreads; i++)
		for (size_t k = 0; k < c->threads[i].nobjs; k++)
			c->threads[i].objs[k].obj = map[c->threads[i].objs[k].obj];
	c->nobjs = n;
	free(map);
}

/* A condition variable's futex words sit inside it: "cv+0x28" and "cv+0x2c" are "cv". */
static void strip_inner_offset(struct cont_obj *o)
{
	char *plus = strrchr(o->name, '+');

	if (plus && (o->kind == CK_CONDVAR || o->kind == CK_GIL) && !strncmp(plus, "+0x", 3) &&
	    strtoull(plus + 3, NULL, 16) < 48)
		*plus = 0;
}

void contention_name(struct contention *c, const struct model *m, const struct cont_resolver *r)
{
	uint8_t *dead;

	for (size_t i = 0; i < c->nobjs; i++) {
		struct cont_obj *o = &c->objs[i];

		qsort(o->callers, o->ncallers, sizeof(*o->callers), cmp_caller);
		for (size_t k = 0; k < o->ncallers; k++)
			caller_frames(&o->callers[k], m, o->pid, r);
		o->named = 0;
		if (o->kind == CK_JOIN && o->nholders) {
			const struct m_thread *t = model_thread(m, o->holders[0].tid);

			snprintf(o->name, sizeof(o->name), "join(%s %u)", t && t->comm[0] ?
				 t->comm : "thread", o->holders[0].tid);
			continue;
		}
		if (r && r->data && !r->data(r->ctx, o->pid, o->addr, kind_size(o->kind), o->name,
					     sizeof(o->name)) && o->name[0]) {
			o->named = 1;
			strip_inner_offset(o);
			continue;
		}
		if (o->kind == CK_GIL) {
			snprintf(o->name, sizeof(o->name), "GIL@0x%llx", (unsigned long long)o->addr);
			continue;
		}
		/* a heap object: name it by where it is waited on */
		if (o->ncallers && o->callers[0].top >= 0 && o->callers[0].nframes) {
			const struct cont_frame *f = &o->callers[0].frames[o->callers[0].top];

			/* a call site inside a library (no program frame) names nothing */
			if (!f->in_main)
				o->name[0] = 0;
			else if (f->func[0] && f->file[0] && f->line)
				snprintf(o->name, sizeof(o->name), "%s@%s (%s:%d)", kind_prefix(o->kind),
					 f->func, f->file, f->line);
			else if (f->func[0])
				snprintf(o->name, sizeof(o->name), "%s@%s", kind_prefix(o->kind),
					 f->func);
			else
				o->name[0] = 0;
			if (o->name[0])
				continue;
		}
		snprintf(o->name, sizeof(o->name), "%s@0x%llx", kind_prefix(o->kind),
			 (unsigned long long)o->addr);
	}
	/* one object under two futex words: merge them */
	dead = xcalloc(c->nobjs + 1, 1);
	for (size_t i = 0; i < c->nobjs; i++) {
		if (!c->objs[i].named || dead[i])
			continue;
		for (size_t k = i + 1; k < c->nobjs; k++)
			if (!dead[k] && c->objs[k].named && c->objs[k].pid == c->objs[i].pid &&
			    c->objs[k].kind == c->objs[i].kind && !c->objs[k].acquisitions &&
			    !c->objs[i].acquisitions && !strcmp(c->objs[k].name, c->objs[i].name)) {
				merge_obj(c, i, k);
				dead[k] = 1;
			}
	}
	compact(c, dead);
	free(dead);
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
