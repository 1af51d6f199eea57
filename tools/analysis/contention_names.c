/* contention_names.c — objects named (symbol, struct.field, call site) and their callers'
 * frames, objects of one lock merged (contention_name, see contention.h). */
#include <stdlib.h>
#include <string.h>

#include "analysis/contention.h"
#include "analysis/contention_int.h"
#include "events.h"
#include "model/model.h"
#include "model/pystacks.h"
#include "lib/util.h"

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
	uint32_t n = 0, have_ret = 0, py_top = CONT_MAX_FRAMES, py_own = CONT_MAX_FRAMES;

	/* a Python stack (model/pystacks.h): its innermost frame of the program's own code is the
	 * caller (a Semaphore's waits sleep in threading's Condition.wait: the line that matters
	 * is the program's `with slots:`), else its innermost frame; the return address is inside
	 * the interpreter */
	if (st)
		for (uint32_t i = 0; i < st->n; i++)
			have_ret |= st->ips[i] == cl->ret_addr || model_py_pc(m, st->ips[i]);
	for (uint32_t i = 0; st && i < st->n && n < CONT_MAX_FRAMES; i++) {
		struct cont_frame f;

		if (!st->ips[i])
			break;
		resolve_frame(r, pid, st->ips[i], i > 0, &f);
		if (py_top == CONT_MAX_FRAMES && model_py_pc(m, st->ips[i]))
			py_top = n;
		if (py_own == CONT_MAX_FRAMES && model_py_pc(m, st->ips[i]) &&
		    !py_stdlib_file(model_py_pc(m, st->ips[i])->file))
			py_own = n;
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
	if (py_top < n)
		cl->top = py_own < n ? py_own : py_top;	/* the Python code that waited */
	if (cl->top < 0 && n)
		cl->top = 0;
	cl->nframes = n;
}

/* Most time first; ties by what the caller is, so the order never depends on the order the
 * waits were seen in (a folded report and one of the whole history print the same). */
static int cmp_caller(const void *a, const void *b)
{
	const struct cont_caller *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? 1 : -1;
	if (x->waits != y->waits)
		return x->waits < y->waits ? 1 : -1;
	if (x->stack_id != y->stack_id)
		return x->stack_id < y->stack_id ? -1 : 1;
	return x->ret_addr < y->ret_addr ? -1 : x->ret_addr > y->ret_addr;
}

static const char *kind_prefix(int k)
{
	return cont_kind_is_lock(k) ? "lock" : cont_kind_name(k);
}

static void merge_parties(struct cont_party **dv, size_t *dn, const struct cont_party *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cont_party *p = cont_party_get(dv, dn, v[i].tid);

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
		struct cont_caller *cl = cont_caller_get(d, s->callers[k].ret_addr, s->callers[k].stack_id);

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
				for (int kd = 0; kd < CK_NKINDS; kd++)
					t->objs[j].kind_ns[kd] += t->objs[k].kind_ns[kd];
				if (t->objs[k].max_ns > t->objs[j].max_ns)
					t->objs[j].max_ns = t->objs[k].max_ns;
			} else {
				t->objs[keep++] = t->objs[k];
			}
		}
		t->nobjs = keep;
	}
}

/* Objects i and k change places, the threads' references with them. */
static void swap_obj(struct contention *c, size_t i, size_t k)
{
	struct cont_obj o = c->objs[i];

	c->objs[i] = c->objs[k];
	c->objs[k] = o;
	for (size_t n = 0; n < c->nthreads; n++)
		for (size_t j = 0; j < c->threads[n].nobjs; j++) {
			struct cont_twait *w = &c->threads[n].objs[j];

			w->obj = w->obj == i ? k : w->obj == k ? i : w->obj;
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

/* A join's holder is the joined thread: a thread of the process (a wait a kill ended has the
 * killer for its waker), or whatever a pthread_join's futex word said. */
static int joined_thread(const struct model *m, const struct cont_obj *o)
{
	const struct m_thread *t = model_thread(m, o->holders[0].tid);

	return !model_is_python(m, o->pid) || (t && t->pid == o->pid);
}

/*
 * One object in several processes: a forked child has its parent's shared memory at the same
 * address, so waits with shared futex ops on one address by processes of one tree are on one
 * object (a multiprocessing.Lock, a pshared semaphore), which the contention tables count
 * once, under the lowest pid, with the waiters and holders of every process.
 */
static void merge_shared(struct contention *c, const struct model *m, uint8_t *dead)
{
	for (size_t i = 0; i < c->nobjs; i++) {
		int merged = 0;

		if (dead[i] || !c->objs[i].shared || c->objs[i].acquisitions)
			continue;
		for (size_t k = i + 1; k < c->nobjs; k++) {
			struct cont_obj *a = &c->objs[i], *b = &c->objs[k];

			if (dead[k] || !b->shared || b->acquisitions || b->addr != a->addr ||
			    b->kind != a->kind || b->pid == a->pid ||
			    model_process_root(m, a->pid) != model_process_root(m, b->pid))
				continue;
			if (b->pid < a->pid)
				swap_obj(c, i, k);
			a = &c->objs[i];
			b = &c->objs[k];
			if (!a->named && b->named) {
				memcpy(a->name, b->name, sizeof(a->name));
				a->named = 1;
			}
			merge_obj(c, i, k);
			dead[k] = 1;
			merged = 1;
		}
		if (merged && c->objs[i].ncallers > 1)
			qsort(c->objs[i].callers, c->objs[i].ncallers, sizeof(*c->objs[i].callers),
			      cmp_caller);
	}
}

void contention_name(struct contention *c, const struct model *m, const struct cont_resolver *r)
{
	uint8_t *dead;

	for (size_t i = 0; i < c->nobjs; i++) {
		struct cont_obj *o = &c->objs[i];
		const char *pyname;

		qsort(o->callers, o->ncallers, sizeof(*o->callers), cmp_caller);
		for (size_t k = 0; k < o->ncallers; k++)
			caller_frames(&o->callers[k], m, o->pid, r);
		o->named = 0;
		if (o->kind == CK_JOIN && o->nholders && joined_thread(m, o)) {
			snprintf(o->name, sizeof(o->name), "join(%s %u)",
				 model_comm(m, o->holders[0].tid, "?"), o->holders[0].tid);
			continue;
		}
		/* a Python join that never ended: by the program's line that joins */
		if (o->kind == CK_JOIN && o->ncallers && !model_sync_name(m, o->pid, o->addr, NULL) &&
		    !model_py_site_name(m, model_py_wait_site(m, o->callers[0].stack_id), "join@",
					o->name, sizeof(o->name)))
			continue;
		/* a Python Condition wait is counted on the line that waits (cont_wait_addr) */
		if (o->kind == CK_CONDVAR &&
		    !model_py_site_name(m, o->addr, "condvar@", o->name, sizeof(o->name)))
			continue;
		/* a Python Lock, by the name the recorder read while the program ran */
		if ((pyname = model_sync_name(m, o->pid, o->addr, NULL))) {
			snprintf(o->name, sizeof(o->name), "%s", pyname);
			o->named = 1;
			continue;
		}
		if (r && r->data && !r->data(r->ctx, o->pid, o->addr, kind_size(o->kind), o->name,
					     sizeof(o->name)) && o->name[0]) {
			o->named = 1;
			strip_inner_offset(o);
			continue;
		}
		if (o->kind == CK_GIL) {
			snprintf(o->name, sizeof(o->name), "GIL%s@0x%llx",
				 o->kind_votes[CK_MUTEX] || o->kind_votes[CK_LOCK] ? " mutex" : "",
				 (unsigned long long)o->addr);
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
				/* into the lowest address, whatever order the objects came in */
				if (c->objs[k].addr < c->objs[i].addr)
					swap_obj(c, i, k);
				merge_obj(c, i, k);
				dead[k] = 1;
			}
		if (c->objs[i].ncallers > 1)
			qsort(c->objs[i].callers, c->objs[i].ncallers, sizeof(*c->objs[i].callers),
			      cmp_caller);
	}
	merge_shared(c, m, dead);
	compact(c, dead);
	free(dead);
}
