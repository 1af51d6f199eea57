// SPDX-License-Identifier: GPL-2.0
/*
 * pylocks.c — Python locks and what waits on them (see pylocks.h).
 *
 * 3.11 frame facts this relies on (measured, docs/python.md): a frame's slots are its locals
 * (co_nlocalsplus of them) then its value stack; `stacktop` counts the live slots of every
 * frame but the executing one, where it is -1 and slots above the real depth may hold stale
 * pointers. On the executing frame, the slots below the lowest one that references the lock
 * being waited for are certainly live, and no others are used.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/pystacks.h"
#include "python/pylocks.h"
#include "python/pynames.h"
#include "python/pyread.h"
#include "lib/util.h"
#include "analysis/waitgraph.h"


/* LK_SEMLOCK: a multiprocessing Lock's, RLock's or Semaphore's _multiprocessing.SemLock, whose
 * holder another process may be (pylocks_semlock_holder) */
enum lk { LK_NONE, LK_LOCK, LK_RLOCK, LK_SEMLOCK };

struct held {
	uint64_t lock;
	pid_t tid;
	size_t frame;		/* index in the holder's frames */
	int line;		/* of the `with` that took it; 0: unknown */
};

struct pyl {
	struct py_reader *r;
	struct waitgraph *g;
	pid_t pid;
	struct held *held;
	size_t nheld, cap_held;
	uint64_t *tstate_locks;	/* per r->threads: its Thread's _tstate_lock, read once */
	int tstate_read;
	const struct pylock_owners *owners;	/* seen by lock probes, NULL */
	int by_sem;		/* naming searches match a lock by its semaphore, not by address */
	enum lk found_kind;	/* by_sem: the kind of the lock found */
	uint64_t found;		/* by_sem: the lock found */
};

/* What one thread waits on, as far as its frames say. */
struct pywait {
	uint64_t lock;		/* the lock object whose semaphore is the futex */
	enum lk kind;
	int low_slot;		/* lowest value-stack slot of frame 0 referencing it, -1 */
	uint64_t obj;		/* the Python object the program waits on (lock or its owner) */
	const char *type;	/* its Python type, for people */
	const char *method;	/* the method of type the program called ("get", "join"), or NULL */
	size_t frame;		/* the frame the wait is made at, named from */
};

static enum lk lock_kind(struct py_reader *r, uint64_t obj)
{
	const char *tn = py_type_name(r, obj);

	if (!tn)
		return LK_NONE;
	if (!strcmp(tn, "_thread.lock"))
		return LK_LOCK;
	if (!strcmp(tn, "_thread.RLock"))
		return LK_RLOCK;
	if (!strcmp(tn, "_multiprocessing.SemLock"))
		return LK_SEMLOCK;
	return LK_NONE;
}

/* The semaphore a lock's waiters sleep on: a threading lock's own, or a multiprocessing
 * Lock's, RLock's, Semaphore's... _multiprocessing.SemLock handle (the sem_t in shared
 * memory). */
static uint64_t lock_sem(struct py_reader *r, uint64_t lock, enum lk k)
{
	uint64_t sem = 0;
	uint32_t at = k == LK_RLOCK ? r->L->rlock_sem :
		      k == LK_SEMLOCK ? r->L->semlock_handle : r->L->lock_sem;

	py_read_ptr(r, lock + at, &sem);
	return sem;
}

/* What a SemLock is to the program: an RLock (kind 0), a Lock (a semaphore of at most 1) or
 * a Semaphore. */
static const char *semlock_type(struct py_reader *r, uint64_t semlock)
{
	int32_t kind = -1, maxvalue = 0;

	py_read(r, semlock + r->L->semlock_kind, &kind, 4);
	py_read(r, semlock + r->L->semlock_maxvalue, &maxvalue, 4);
	return kind == 0 ? "multiprocessing.RLock" :
	       maxvalue == 1 ? "multiprocessing.Lock" : "multiprocessing.Semaphore";
}

/* A name found for a SemLock reaches it through the program's object: "lock._semlock" is
 * the program's `lock`. */
static void semlock_name(char *name)
{
	size_t len = strlen(name), k = strlen("._semlock");

	if (len > k && !strcmp(name + len - k, "._semlock"))
		name[len - k] = 0;
}

/* pynames' matcher for by_sem: is value a Lock, RLock or SemLock whose semaphore is target? */
static int sem_of(void *ctx, uint64_t value, uint64_t target)
{
	struct pyl *c = ctx;
	enum lk k;

	if (!py_ptr_ok(value))
		return 0;
	k = lock_kind(c->r, value);
	if (k == LK_NONE || lock_sem(c->r, value, k) != target)
		return 0;
	c->found_kind = k;
	c->found = value;
	return 1;
}

/* A namer for target as c looks for it (by address, or by_sem by its semaphore). */
static struct py_namer namer(struct pyl *c, uint64_t target)
{
	return (struct py_namer){ c->r, target, c->by_sem ? sem_of : NULL, c };
}

static int name_in(struct pyl *c, const struct py_frame *fr, uint64_t target, int where,
		   char *out, size_t n)
{
	struct py_namer nm = namer(c, target);

	return py_name_in(&nm, fr, where, out, n);
}

static int name_object(struct pyl *c, const struct py_frame *fr, uint64_t target, char *out,
		       size_t n, char *local, size_t nl)
{
	struct py_namer nm = namer(c, target);

	return py_name_object(&nm, fr, out, n, local, nl);
}

/* P a lock, or a builtin method bound to one: the lock (and the method's name), else 0. */
static uint64_t as_lock(struct py_reader *r, uint64_t p, enum lk *k, char *meth, size_t n)
{
	const char *tn;
	uint64_t ml, self, name;

	meth[0] = 0;
	*k = lock_kind(r, p);
	if (*k != LK_NONE)
		return p;
	tn = py_type_name(r, p);
	if (!tn || strcmp(tn, "builtin_function_or_method") ||
	    py_read_ptr(r, p + r->L->cfunc_ml, &ml) ||
	    py_read_ptr(r, p + r->L->cfunc_self, &self) || !py_ptr_ok(ml) ||
	    (*k = lock_kind(r, self)) == LK_NONE)
		return 0;
	if (!py_read_ptr(r, ml, &name) && name && !py_read(r, name, meth, n - 1))
		meth[n - 1] = 0;
	return self;
}

/* ---- what a thread waits on --------------------------------------------------------------- */

static void find_lock(struct pyl *c, const struct py_thread *pt, uint64_t futex, struct pywait *w)
{
	uint64_t slots[PY_MAX_SLOTS];
	char meth[32];

	for (size_t k = 0; k < pt->nframes && k < 2 && !w->lock; k++) {
		int nl, n = py_frame_slots(c->r, &pt->frames[k], slots, PY_MAX_SLOTS, &nl);

		for (int i = 0; i < n; i++) {
			enum lk kind;
			uint64_t l;

			if (!py_ptr_ok(slots[i]) ||
			    !(l = as_lock(c->r, slots[i], &kind, meth, sizeof(meth))) ||
			    lock_sem(c->r, l, kind) != futex)
				continue;
			if (!w->lock) {
				w->lock = l;
				w->kind = kind;
				w->frame = k;
			}
			if (k == 0 && i >= nl) {
				w->low_slot = i;
				break;
			}
		}
	}
}

/* Classes whose methods wait for the program: a wait made inside one is a wait on its self. */
static const char *waitable_class(const char *qualname)
{
	static const char *const classes[] = {
		"Condition", "Event", "Semaphore", "BoundedSemaphore", "Barrier", "Thread",
		"Queue", "LifoQueue", "PriorityQueue", "SimpleQueue", "BaseProcess", "Future",
	};
	/* methods that wait: Thread.run or Queue.task_done on the stack say nothing of a wait */
	static const char *const methods[] = {
		"wait", "wait_for", "_wait", "join", "_wait_for_tstate_lock", "acquire",
		"__enter__", "get", "put", "result", "exception",
	};
	const char *dot = strchr(qualname, '.');
	size_t len = dot ? (size_t)(dot - qualname) : 0;
	int waits = 0;

	for (size_t i = 0; dot && i < sizeof(methods) / sizeof(methods[0]); i++)
		waits |= !strcmp(dot + 1, methods[i]);
	for (size_t i = 0; waits && i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i]) == len && !strncmp(qualname, classes[i], len))
			return !strcmp(classes[i], "BaseProcess") ? "Process" : classes[i];
	return NULL;
}

/* Walk out of the standard library: through frames of waitable classes the object becomes
 * their self (Condition.wait inside Queue.join is a wait on the Queue), and the first frame
 * after that run (or the first of the program's own) is where the wait is made. */
static void find_object(struct pyl *c, const struct py_thread *pt, struct pywait *w)
{
	int in_run = 0;

	w->obj = w->lock;
	w->type = w->kind == LK_RLOCK ? "RLock" : w->kind == LK_SEMLOCK ? semlock_type(c->r, w->lock) :
		  w->lock ? "Lock" : NULL;
	w->frame = 0;
	w->method = NULL;
	if (!w->lock) {
		/* not a lock: the wait is made where the program's own code is (or the innermost
		 * frame when every frame is the library's) */
		for (size_t k = 0; k < pt->nframes; k++)
			if (!py_stdlib_file(pt->frames[k].file)) {
				w->frame = k;
				return;
			}
		return;
	}
	for (size_t k = 0; k < pt->nframes; k++) {
		const struct py_frame *fr = &pt->frames[k];
		const char *cls = waitable_class(fr->qualname);
		const char *self = py_local_name(c->r, fr->code, 0);
		uint64_t obj = 0;

		w->frame = k;
		if (!py_stdlib_file(fr->file))
			return;
		if (cls && self && !strcmp(self, "self") &&
		    (obj = py_frame_self(c->r, fr->addr))) {
			w->obj = obj;
			w->type = cls;
			w->method = strchr(fr->qualname, '.') + 1;	/* the outermost of the run */
			in_run = 1;
		} else if (in_run) {
			return;
		}
	}
	if (pt->nframes)
		w->frame = pt->nframes - 1;
}

/* ---- holders -------------------------------------------------------------------------------- */

static void held_add(struct pyl *c, uint64_t lock, pid_t tid, size_t frame, int line)
{
	for (size_t i = 0; i < c->nheld; i++)
		if (c->held[i].lock == lock)
			return;
	GROW(c->held, c->cap_held, c->nheld + 1);
	c->held[c->nheld++] = (struct held){ lock, tid, frame, line };
}

/* Locks held by `with` in each frame of a thread: __exit__ of a locked Lock on its live
 * value stack. low_slot bounds the executing frame (-1: not used). */
static void scan_with(struct pyl *c, const struct py_thread *pt, int low_slot)
{
	struct py_reader *r = c->r;
	uint64_t slots[PY_MAX_SLOTS];
	char meth[32];

	for (size_t k = 0; k < pt->nframes; k++) {
		const struct py_frame *fr = &pt->frames[k];
		int nl, n = py_frame_slots(r, fr, slots, PY_MAX_SLOTS, &nl), top = n;
		int32_t stacktop;

		if (fr->top)
			top = low_slot;
		else if (!py_read(r, fr->addr + r->L->fr_stacktop, &stacktop, 4))
			top = stacktop >= nl && stacktop <= n ? stacktop : -1;
		else
			top = -1;
		for (int i = nl; i < top; i++) {
			enum lk kind;
			uint64_t l;
			uint8_t locked = 0;

			if (!py_ptr_ok(slots[i]) ||
			    !(l = as_lock(r, slots[i], &kind, meth, sizeof(meth))) ||
			    kind != LK_LOCK || strcmp(meth, "__exit__"))
				continue;
			if (!py_read(r, l + r->L->lock_locked, &locked, 1) && locked == 1)
				held_add(c, l, pt->tid, k, py_with_line(r, fr, i - nl));
		}
	}
}

static const struct held *held_find(const struct pyl *c, uint64_t lock)
{
	for (size_t i = 0; i < c->nheld; i++)
		if (c->held[i].lock == lock)
			return &c->held[i];
	return NULL;
}

/* The thread whose Thread._tstate_lock is lock (a join waits on it), or NULL. */
static const struct py_thread *joined_thread(struct pyl *c, uint64_t lock)
{
	struct py_reader *r = c->r;

	if (!c->tstate_read) {
		c->tstate_read = 1;
		c->tstate_locks = xcalloc(r->nthreads ? r->nthreads : 1, 8);
		for (size_t i = 0; i < r->nthreads; i++)
			if (r->threads[i].thread_obj)
				c->tstate_locks[i] = py_attr(r, r->threads[i].thread_obj,
							     "_tstate_lock");
	}
	for (size_t i = 0; i < r->nthreads; i++)
		if (c->tstate_locks[i] == lock)
			return &r->threads[i];
	return NULL;
}

/* ---- putting it in the graph ---------------------------------------------------------------- */

/* "move (bank.py:14)": the frame's function, and line (0: the frame's own). */
static void where(const struct py_frame *fr, int line, char *buf, size_t n)
{
	const char *b = strrchr(fr->file, '/') ? strrchr(fr->file, '/') + 1 : fr->file;

	snprintf(buf, n, "%s (%s:%d)", fr->qualname, b, line ? line : fr->line);
}

static void describe_holder(struct pyl *c, struct wg_object *o, const struct held *h)
{
	const struct py_thread *ht = py_thread_by_tid(c->r, h->tid);
	char expr[128], local[128], at[320];

	o->kind = WG_MUTEX;
	o->owner = h->tid;
	if (!ht || h->frame >= ht->nframes)
		return;
	if (name_object(c, &ht->frames[h->frame], h->lock, expr, sizeof(expr), local,
			sizeof(local)))
		wg_set_str(&o->held_as, expr);
	where(&ht->frames[h->frame], h->line, at, sizeof(at));
	wg_set_str(&o->held_at, at);
}

/* A Lock whose holder the lock probes saw take it: the holder's innermost frame of the
 * program's own code that reaches it by a local (the frame it was taken in, or a caller that
 * handed it down) says its name there. */
static int probed_holder(struct pyl *c, struct wg_object *o, uint64_t lock)
{
	pid_t tid = c->owners->owner(c->owners->ctx, c->pid, lock_sem(c->r, lock, LK_LOCK));
	const struct py_thread *ht = tid ? py_thread_by_tid(c->r, tid) : NULL;
	char expr[128], local[128], at[320];

	if (!tid)
		return 0;
	o->owner = tid;
	o->held_probe = 1;
	for (size_t k = 0; ht && k < ht->nframes; k++) {
		if (py_stdlib_file(ht->frames[k].file) ||
		    !name_in(c, &ht->frames[k], lock, PY_IN_LOCALS, local, sizeof(local)) ||
		    !name_object(c, &ht->frames[k], lock, expr, sizeof(expr), local,
				 sizeof(local)))
			continue;
		wg_set_str(&o->held_as, expr);
		where(&ht->frames[k], 0, at, sizeof(at));
		wg_set_str(&o->held_at, at);
		break;
	}
	return 1;
}

static void resolve_lock(struct pyl *c, struct wg_object *o, const struct pywait *w)
{
	struct py_reader *r = c->r;
	const struct py_thread *jt;
	const struct held *h;
	uint64_t owner = 0;
	uint8_t locked = 0;
	char note[256];

	if (w->kind == LK_SEMLOCK) {
		/* its holder may be any process that shares it: pylocks_semlock_holder() asks
		 * each one (doctor_python.c) */
		o->kind = strcmp(w->type, "multiprocessing.Semaphore") ? WG_MUTEX : WG_SEMAPHORE;
		o->owner = 0;
		return;
	}
	if (w->kind == LK_RLOCK) {
		const struct py_thread *ot;

		py_read_ptr(r, w->lock + r->L->rlock_owner, &owner);
		ot = py_thread_by_pthread(r, owner);
		o->kind = WG_MUTEX;
		o->owner = ot ? ot->tid : 0;
		if (owner && !ot)
			wg_set_str(&o->note, "its owner thread is not a thread of this interpreter "
				   "any more: it exited while holding it");
		return;
	}
	if ((jt = joined_thread(c, w->lock))) {
		o->kind = WG_JOIN;
		o->owner = jt->tid;
		wg_set_str(&o->type, "Thread");
		if (w->obj == w->lock && jt->name) {
			/* reached as its lock (threading._shutdown): the Thread by its name */
			snprintf(note, sizeof(note), "'%s'", jt->name);
			wg_set_str(&o->name, note);
			wg_set_str(&o->expr, NULL);
		}
		return;
	}
	if ((h = held_find(c, w->lock))) {
		describe_holder(c, o, h);
		return;
	}
	py_read(r, w->lock + r->L->lock_locked, &locked, 1);
	o->kind = WG_MUTEX;
	o->owner = 0;
	if (locked == 1 && c->owners && probed_holder(c, o, w->lock))
		return;
	if (locked == 1 && !strcmp(w->type, "Lock")) {
		snprintf(note, sizeof(note), "taken with a bare acquire(): which thread holds it "
			 "cannot be known from a snapshot "
			 "(conlab deadlock --locks -- CMD records it)");
		wg_set_str(&o->note, note);
	}
}

static int queue_class(const char *type)
{
	return !strcmp(type, "Queue") || !strcmp(type, "LifoQueue") ||
	       !strcmp(type, "PriorityQueue");
}

/* How many items a queue.Queue (or its Lifo/Priority kin) holds: the length of its `queue`
 * attribute, a deque or a list, both variable-size objects; -1 when it cannot be read. */
static int64_t queue_len(struct py_reader *r, uint64_t q)
{
	uint64_t items = py_attr(r, q, "queue");
	int64_t n;

	if (!py_ptr_ok(items) || py_read(r, items + r->L->var_size, &n, sizeof(n)) || n < 0)
		return -1;
	return n;
}

/* The thread of a ThreadPoolExecutor running the task of Future fut: the one in whose
 * _WorkItem.run the work item's future is fut; 0 when none (not started, or in another
 * process: a ProcessPoolExecutor's). */
static pid_t future_runner(struct pyl *c, uint64_t fut)
{
	struct py_reader *r = c->r;

	for (size_t i = 0; i < r->nthreads; i++) {
		const struct py_frame *fr = py_thread_frame(&r->threads[i], "_WorkItem.run",
							    "concurrent/futures/thread.py");
		uint64_t self = fr ? py_frame_self(r, fr->addr) : 0;

		if (self && py_attr(r, self, "future") == fut)
			return r->threads[i].tid;
	}
	return 0;
}

/* Condition-like objects: nobody owns them; say what the program waits for. */
static void resolve_condition(struct pyl *c, struct wg_object *o, const struct pywait *w)
{
	struct py_reader *r = c->r;
	int64_t v;
	char note[256], state[16];
	pid_t runner;

	o->kind = WG_CONDVAR;
	o->owner = 0;
	if (!strcmp(w->type, "Semaphore") || !strcmp(w->type, "BoundedSemaphore")) {
		o->kind = WG_SEMAPHORE;
		if (!py_long(r, py_attr(r, w->obj, "_value"), &v))
			o->value = v;
	} else if (queue_class(w->type) && w->method && !strcmp(w->method, "join") &&
		   !py_long(r, py_attr(r, w->obj, "unfinished_tasks"), &v) && v > 0) {
		snprintf(note, sizeof(note), "%ld task%s put on it %s never marked done: join() "
			 "returns when task_done() was called for every task put (did its worker "
			 "die?)", (long)v, v == 1 ? "" : "s", v == 1 ? "was" : "were");
		wg_set_str(&o->note, note);
	} else if (!strcmp(w->type, "Future") &&
		   !py_str(r, py_attr(r, w->obj, "_state"), state, sizeof(state))) {
		/* concurrent.futures: a task not started yet waits for a free worker of its
		 * executor; one that waits for another task of the same pool from inside it
		 * holds the worker that other task needs */
		if (!strcmp(state, "PENDING")) {
			wg_set_str(&o->note, "its task has not started: it is queued until a worker "
				   "of its executor is free (is every worker waiting, like this one, "
				   "for a task queued behind it?)");
		} else if (!strcmp(state, "RUNNING") && (runner = future_runner(c, w->obj))) {
			/* waiting for it is waiting for that worker to finish the task */
			o->kind = WG_JOIN;
			o->owner = runner;
		}
	} else if (queue_class(w->type) && w->method && !strcmp(w->method, "get") &&
		   queue_len(r, w->obj) == 0) {
		wg_set_str(&o->note, "it is empty, and get() returns only when another thread "
			   "puts an item on it (one stop item per consumer?)");
	}
}

static void resolve_thread(struct pyl *c, struct wg_thread *t, const struct py_thread *pt)
{
	struct waitgraph *g = c->g;
	struct wg_object *o = t->obj >= 0 ? &g->objects[t->obj] : NULL;
	struct pywait w = { .low_slot = -1 };
	char expr[128], local[128];

	if (o && (o->kind == WG_SEMAPHORE || o->kind == WG_FUTEX || o->kind == WG_MUTEX) &&
	    o->pid == t->pid)
		find_lock(c, pt, o->addr, &w);
	find_object(c, pt, &w);
	t->lang_wait = (int)w.frame;
	if (!w.lock)
		return;
	scan_with(c, pt, w.low_slot);
	if (o->type)
		return;		/* a second waiter of the same object */
	wg_set_str(&o->type, w.type);
	wg_set_str(&o->note, NULL);	/* what the C view guessed: the Python view says more */
	if (w.kind != LK_SEMLOCK)
		o->value = -1;	/* a multiprocessing one's count is its semaphore's */
	/* no expression reaches it: Python's own repr, not the C view's address words */
	snprintf(expr, sizeof(expr), "<%s object at %#" PRIx64 ">", w.type, w.obj);
	wg_set_str(&o->name, expr);
	for (size_t k = w.frame; k < pt->nframes && k < w.frame + 4; k++)
		if (name_object(c, &pt->frames[k], w.obj, expr, sizeof(expr), local,
				sizeof(local))) {
			if (w.kind == LK_SEMLOCK) {
				semlock_name(expr);
				semlock_name(local);
			}
			wg_set_str(&o->name, expr);
			wg_set_str(&o->expr, local[0] ? local : NULL);
			break;
		}
}


/* A multiprocessing Queue's feeder thread writes the Queue's pipe; its own process has the
 * read end too (a copy made by fork) but reads it only through get(). When no thread of the
 * process is in get(), only the other processes can make room. */
static void feeder_pipes(struct pyl *c, pid_t pid)
{
	struct py_reader *r = c->r;
	struct waitgraph *g = c->g;
	int getter = 0;

	for (size_t i = 0; i < r->nthreads; i++)
		getter |= py_thread_frame(&r->threads[i], "Queue.get", "multiprocessing/queues.py") != NULL;
	for (size_t i = 0; i < g->nthreads && !getter; i++) {
		struct wg_thread *t = &g->threads[i];
		const struct py_thread *pt = t->pid == pid ? py_thread_by_tid(r, t->tid) : NULL;
		struct wg_object *o = t->obj >= 0 ? &g->objects[t->obj] : NULL;
		size_t k, n = 0;

		if (!pt || !o || o->kind != WG_PIPE || o->value != 1 ||
		    !py_thread_frame(pt, "Queue._feed", "multiprocessing/queues.py"))
			continue;
		for (k = 0; k < o->npeers; k++)
			if (o->peers[k] != pid)
				o->peers[n++] = o->peers[k];
		if (n == o->npeers)
			continue;
		o->npeers = n;
		wg_set_str(&o->note, "the multiprocessing.Queue's feeder thread: no thread of its "
			   "process calls get(), so only the other end's process can make room");
	}
}

void pylocks_resolve(struct py_reader *r, struct waitgraph *g, pid_t pid,
		     const struct pylock_owners *owners)
{
	struct pyl c = { .r = r, .g = g, .pid = pid, .owners = owners };
	uint8_t *done = xcalloc(g->nobjects ? g->nobjects : 1, 1);	/* objects resolved */
	struct pywait w;

	/* first every thread's waits (which also finds the held locks on the executing frames
	 * of waiting threads), then the holders of what they wait on */
	for (size_t i = 0; i < g->nthreads; i++) {
		const struct py_thread *pt = g->threads[i].pid == pid ?
			py_thread_by_tid(r, g->threads[i].tid) : NULL;

		if (pt)
			resolve_thread(&c, &g->threads[i], pt);
	}
	for (size_t i = 0; i < r->nthreads; i++)
		scan_with(&c, &r->threads[i], -1);	/* caller frames of every thread */
	for (size_t i = 0; i < g->nthreads; i++) {
		struct wg_thread *t = &g->threads[i];
		const struct py_thread *pt = t->pid == pid ? py_thread_by_tid(r, t->tid) : NULL;
		struct wg_object *o = t->obj >= 0 ? &g->objects[t->obj] : NULL;

		if (!pt || !o || !o->type || done[t->obj])
			continue;	/* not Python's, or said by a waiter before */
		memset(&w, 0, sizeof(w));
		w.low_slot = -1;
		find_lock(&c, pt, o->addr, &w);
		find_object(&c, pt, &w);
		if (!w.lock)
			continue;
		done[t->obj] = 1;
		if (w.obj == w.lock)
			resolve_lock(&c, o, &w);
		else if (!strcmp(w.type, "Thread") || !strcmp(w.type, "Process"))
			resolve_lock(&c, o, &w);	/* a join: the Thread's lock says whose */
		else
			resolve_condition(&c, o, &w);
	}
	feeder_pipes(&c, pid);
	free(done);
	free(c.held);
	free(c.tstate_locks);
}

/* The main module's name for the lock whose semaphore is sem, as c finds it: 0, or -1. */
static int name_sem_main(struct pyl *c, uint64_t sem, char *out, size_t n)
{
	struct py_reader *r = c->r;
	struct py_namer nm;
	uint64_t modules, mod, dict;

	out[0] = 0;
	if (py_read_ptr(r, r->interp + r->L->is_modules, &modules) || !py_ptr_ok(modules))
		return -1;
	mod = py_dict_get(r, modules, "__main__");
	if (!mod || py_read_ptr(r, mod + r->L->mod_dict, &dict) || !py_ptr_ok(dict))
		return -1;
	nm = namer(c, sem);
	return py_name_in_dict(&nm, dict, out, n) ? -1 : 0;
}

int pylocks_name_sem(struct py_reader *r, uint64_t sem, char *out, size_t n, const char **type)
{
	struct pyl c = { .r = r, .by_sem = 1 };

	if (name_sem_main(&c, sem, out, n))
		return -1;
	*type = c.found_kind == LK_RLOCK ? "RLock" : "Lock";
	if (c.found_kind == LK_SEMLOCK) {
		*type = "multiprocessing";
		semlock_name(out);
	}
	return 0;
}

pid_t pylocks_semlock_holder(struct py_reader *r, uint64_t sem, char *name, size_t n,
			     int *count)
{
	struct pyl c = { .r = r, .by_sem = 1 };
	const struct py_thread *ht;
	uint64_t last = 0;

	*count = 0;
	if (name_sem_main(&c, sem, name, n)) {
		/* no global reaches it: a local of a frame (a lock handed down to a function) */
		name[0] = 0;
		for (size_t i = 0; i < r->nthreads && !c.found; i++)
			for (size_t k = 0; k < r->threads[i].nframes && !c.found; k++)
				if (!name_in(&c, &r->threads[i].frames[k], sem, PY_IN_LOCALS, name, n))
					name[0] = 0;
	}
	if (!c.found || c.found_kind != LK_SEMLOCK)
		return 0;
	semlock_name(name);
	/* count: how many times this process's copy was acquired and not released (a forked
	 * child's copy starts at 0); last_tid: the thread ident that took it */
	if (py_read(r, c.found + r->L->semlock_count, count, 4) || *count <= 0 ||
	    py_read_ptr(r, c.found + r->L->semlock_last_tid, &last))
		return 0;
	ht = py_thread_by_pthread(r, last);
	return ht ? ht->tid : 0;
}
