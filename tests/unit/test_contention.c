/* test_contention.c — contention aggregation and naming on synthetic event sequences. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/contention.h"
#include "model/model.h"
#include "model/pystacks.h"

/*
 * Every table contention_build() makes here is made again by the fold (contention_fold.c) from
 * the same records, and must be the same: the records fed are kept (feed) and replayed through
 * a model that keeps no history (same_as_fold).
 */
static struct fed {
	struct ev_hdr **rec;
	size_t n;
	uint64_t end;	/* model_finish's */
} fed;

static void fed_clear(void)
{
	for (size_t i = 0; i < fed.n; i++)
		free(fed.rec[i]);
	free(fed.rec);
	memset(&fed, 0, sizeof(fed));
}

static void feed(struct model *m, const struct ev_hdr *h)
{
	fed.rec = realloc(fed.rec, (fed.n + 1) * sizeof(*fed.rec));
	fed.rec[fed.n] = malloc(h->size);
	memcpy(fed.rec[fed.n++], h, h->size);
	model_event(m, h);
}

static void finish(struct model *m, uint64_t end)
{
	fed.end = end;
	model_finish(m, end);
}

static void same_parties(const struct cont_party *a, const struct cont_party *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].tid, b[i].tid);
		assert_int_equal(a[i].waits, b[i].waits);
		assert_int_equal(a[i].ns, b[i].ns);
		assert_int_equal(a[i].handoffs, b[i].handoffs);
		assert_int_equal(a[i].max_ns, b[i].max_ns);
	}
}

static void same_obj(const struct cont_obj *a, const struct cont_obj *b)
{
	assert_int_equal(a->addr, b->addr);
	assert_int_equal(a->pid, b->pid);
	assert_int_equal(a->kind, b->kind);
	assert_memory_equal(a->kind_votes, b->kind_votes, sizeof(a->kind_votes));
	assert_int_equal(a->waits, b->waits);
	assert_int_equal(a->wait_total, b->wait_total);
	assert_int_equal(a->wait_max, b->wait_max);
	assert_int_equal(a->blocked_total, b->blocked_total);
	assert_int_equal(a->timed_out, b->timed_out);
	assert_memory_equal(a->hist, b->hist, sizeof(a->hist));
	assert_int_equal(a->nwaiters, b->nwaiters);
	same_parties(a->waiters, b->waiters, a->nwaiters);
	assert_int_equal(a->nholders, b->nholders);
	same_parties(a->holders, b->holders, a->nholders);
	assert_int_equal(a->holder_unknown_ns, b->holder_unknown_ns);
	assert_memory_equal(a->holder_state_ns, b->holder_state_ns, sizeof(a->holder_state_ns));
	assert_int_equal(a->holder_sleep_ns, b->holder_sleep_ns);
	assert_int_equal(a->chold_n, b->chold_n);
	assert_int_equal(a->chold_total, b->chold_total);
	assert_int_equal(a->chold_max, b->chold_max);
	assert_int_equal(a->ncallers, b->ncallers);
	for (size_t i = 0; i < a->ncallers; i++) {
		assert_int_equal(a->callers[i].ret_addr, b->callers[i].ret_addr);
		assert_int_equal(a->callers[i].stack_id, b->callers[i].stack_id);
		assert_int_equal(a->callers[i].waits, b->callers[i].waits);
		assert_int_equal(a->callers[i].ns, b->callers[i].ns);
	}
}

struct fed_at {
	struct ev_hdr *h;
	size_t i;	/* order fed: equal times keep it, as the trace reader does */
};

static int cmp_fed(const void *x, const void *y)
{
	const struct fed_at *a = x, *b = y;

	if (a->h->ts != b->h->ts)
		return a->h->ts < b->h->ts ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

/* The records fed in time order (as a trace is read: the tests feed each thread's in order,
 * not always all of them), through a model that keeps everything and one that folds. */
static void same_as_fold(const struct model *m, const struct cont_opts *o)
{
	struct fed_at *rec = calloc(fed.n + 1, sizeof(*rec));
	uint64_t from = o && o->from ? o->from - m->t_first : 0;
	uint64_t to = o && o->to ? o->to - m->t_first : 0;
	struct contention_fold *f = contention_fold_new(from, to);
	struct contention c, d;
	struct model wm, fm;

	for (size_t i = 0; i < fed.n; i++)
		rec[i] = (struct fed_at){fed.rec[i], i};
	qsort(rec, fed.n, sizeof(*rec), cmp_fed);
	model_init(&wm);
	model_init(&fm);
	fm.keep.history = HIST_MESSAGES;
	fm.keep.message_wakeups_only = 1;
	fm.keep.no_futex_calls = 1;
	fm.keep.fold = contention_fold_hooks(f);
	for (size_t i = 0; i < fed.n; i++) {
		model_event(&wm, rec[i].h);
		model_event(&fm, rec[i].h);
	}
	model_finish(&wm, fed.end);
	model_finish(&fm, fed.end);
	contention_build(&c, &wm, o);
	assert_ptr_equal(contention_fold_of(&fm), f);
	contention_fold_finish(f, &fm, &d);
	assert_int_equal(d.duration, c.duration);
	assert_int_equal(d.waits_total, c.waits_total);
	assert_int_equal(d.nobjs, c.nobjs);
	for (size_t i = 0; i < c.nobjs; i++)
		same_obj(&c.objs[i], &d.objs[i]);
	assert_int_equal(d.nthreads, c.nthreads);
	for (size_t i = 0; i < c.nthreads; i++) {
		const struct cont_thread *a = &c.threads[i], *b = &d.threads[i];

		assert_int_equal(a->tid, b->tid);
		assert_int_equal(a->pid, b->pid);
		assert_string_equal(a->comm, b->comm);
		assert_int_equal(a->life, b->life);
		assert_memory_equal(a->wait_ns, b->wait_ns, sizeof(a->wait_ns));
		assert_int_equal(a->nobjs, b->nobjs);
		assert_memory_equal(a->objs, b->objs, a->nobjs * sizeof(*a->objs));
	}
	contention_free(&c);
	contention_free(&d);
	model_free(&wm);
	model_free(&fm);
	free(rec);
}

/* contention_build(), checked against the fold */
static void build(struct contention *c, const struct model *m, const struct cont_opts *o)
{
	contention_build(c, m, o);
	same_as_fold(m, o);
}

#define model_init(m) (fed_clear(), model_init(m))
#define model_free(m) (fed_clear(), model_free(m))
#define model_event(m, h) feed(m, h)
#define model_finish(m, end) finish(m, end)
#define contention_build(c, m, o) build(c, m, o)

#define PID 100
#define A 101
#define B 102
#define C 103
#define HOT 0x601000	/* "hot_lock" for the fake symbolizer */
#define COLD 0x601040	/* "cold_lock" */
#define HEAP 0x7f0000a000	/* a heap mutex: no symbol */
#define CV 0x601100	/* a condition variable */
#define SEM 0x601200	/* a semaphore */
#define CALLER 0x401010	/* return address into lock_counted (table.c:42) */
#define CALLER2 0x401020	/* update_bucket (table.c:60) */
#define LIBC 0x7fff00001000	/* __lll_lock_wait in libc */

#define FUTEX_WAIT_PRIV 128
#define FUTEX_WAIT_BITSET_PRIV (9 | 128)

static void task(struct model *m, uint64_t ts, uint32_t tid, const char *comm)
{
	struct ev_meta_task t = {{ts, tid, EV_META_TASK, sizeof(t)}, PID, 1, ""};

	strncpy(t.comm, comm, sizeof(t.comm) - 1);
	model_event(m, &t.hdr);
}

static void sw(struct model *m, uint64_t ts, uint32_t prev, uint32_t next)
{
	struct ev_switch s = {{ts, prev, EV_SWITCH, sizeof(s)}, next, 0, TS_RUNNABLE, 0};

	model_event(m, &s.hdr);
}

/* prev blocks in futex(addr, op, val) with the words seen at block time */
static void block(struct model *m, uint64_t ts, uint32_t prev, uint64_t addr, uint32_t op,
		  uint32_t val, uint32_t w0, uint32_t w4, uint32_t w8, uint64_t ret, int32_t stack)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, prev, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.prev_state = TS_SLEEPING;
	s.nr = 202;
	s.arg0 = addr;
	s.arg1 = op;
	s.arg2 = val;
	s.word0 = w0;
	s.word4 = w4;
	s.word8 = w8;
	s.ret_addr = ret;
	s.stack_id = stack;
	model_event(m, &s.sw.hdr);
}

/* a glibc mutex wait: value 2, owner at +8 */
static void block_mutex(struct model *m, uint64_t ts, uint32_t tid, uint64_t addr, uint32_t owner)
{
	block(m, ts, tid, addr, FUTEX_WAIT_PRIV, 2, 2, 0, owner, CALLER, -1);
}

static void nanosleep_block(struct model *m, uint64_t ts, uint32_t tid)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, tid, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.prev_state = TS_SLEEPING;
	s.nr = 35;	/* nanosleep */
	s.stack_id = -1;
	model_event(m, &s.sw.hdr);
}

static void wake(struct model *m, uint64_t ts, uint32_t wakee, uint32_t waker, uint64_t obj)
{
	struct ev_wakeup w = {{ts, wakee, EV_WAKEUP, sizeof(w)}, obj, waker, 202, 0};

	model_event(m, &w.hdr);
}

/* a wait: blocked [t0, t1), woken by waker at t1, on a CPU at t2 */
static void wait_on(struct model *m, uint32_t tid, uint64_t addr, uint32_t owner, uint32_t waker,
		    uint64_t t0, uint64_t t1, uint64_t t2)
{
	block_mutex(m, t0, tid, addr, owner);
	wake(m, t1, tid, waker, addr);
	sw(m, t2, 0, tid);
}

static void start(struct model *m)
{
	model_init(m);
	task(m, 0, PID, "main");
	task(m, 0, A, "worker-a");
	task(m, 0, B, "worker-b");
	task(m, 0, C, "worker-c");
	sw(m, 1, 0, A);
	sw(m, 1, 0, B);
	sw(m, 1, 0, C);
}

/* ---- fake symbolizer ---- */

static int fake_data(void *ctx, uint32_t pid, uint64_t addr, uint64_t size, char *name, size_t n)
{
	(void)ctx;
	(void)pid;
	(void)size;
	if (addr == HOT)
		snprintf(name, n, "hot_lock");
	else if (addr == COLD)
		snprintf(name, n, "cold_lock");
	else if (addr == CV)
		snprintf(name, n, "ready_cv");
	else if (addr == CV + 0x28 || addr == CV + 0x2c)
		snprintf(name, n, "ready_cv+0x%llx", (unsigned long long)(addr - CV));
	else
		return -1;
	return 0;
}

static int fake_code(void *ctx, uint32_t pid, uint64_t pc, int retaddr, struct cont_frame *f)
{
	(void)ctx;
	(void)pid;
	(void)retaddr;
	if (pc == CALLER) {
		snprintf(f->func, sizeof(f->func), "lock_counted");
		snprintf(f->file, sizeof(f->file), "table.c");
		f->line = 42;
		f->in_main = 1;
	} else if (pc == CALLER2) {
		snprintf(f->func, sizeof(f->func), "update_bucket");
		snprintf(f->file, sizeof(f->file), "table.c");
		f->line = 60;
		f->in_main = 1;
	} else if (pc == LIBC) {
		snprintf(f->func, sizeof(f->func), "__lll_lock_wait");
		snprintf(f->module, sizeof(f->module), "libc.so.6");
	} else {
		return -1;
	}
	return 0;
}

static const struct cont_resolver fake = {fake_data, fake_code, NULL};

static void analyse(struct contention *c, struct model *m, uint64_t end)
{
	model_finish(m, end);
	contention_build(c, m, NULL);
	contention_name(c, m, &fake);
	contention_sort(c, CS_TOTAL);
}

/* A hot and a cold lock: the hot one first, totals include the runnable delay after wakeup. */
static void test_hot_cold(void **state)
{
	struct model m;
	struct contention c;
	const struct cont_obj *hot, *cold;

	(void)state;
	start(&m);
	wait_on(&m, A, HOT, B, B, 100, 10100, 10200);		/* 10100 */
	wait_on(&m, B, HOT, A, A, 20000, 40000, 40000);		/* 20000 */
	wait_on(&m, C, HOT, A, A, 20000, 30000, 30500);		/* 10500 */
	wait_on(&m, C, COLD, A, A, 50000, 50900, 51000);	/* 1000 */
	analyse(&c, &m, 60000);

	assert_int_equal(c.nobjs, 2);
	hot = &c.objs[0];
	cold = &c.objs[1];
	assert_string_equal(hot->name, "hot_lock");
	assert_true(hot->named);
	assert_string_equal(cold->name, "cold_lock");
	assert_int_equal(hot->kind, CK_MUTEX);
	assert_int_equal(hot->waits, 3);
	assert_int_equal(hot->wait_total, 10100 + 20000 + 10500);
	assert_int_equal(hot->blocked_total, 10000 + 20000 + 10000);
	assert_int_equal(hot->wait_max, 20000);
	assert_int_equal(cold->wait_total, 1000);
	/* histogram: 10100 and 10500 in [8192, 16384), 20000 in [16384, 32768) */
	assert_int_equal(hot->hist[13], 2);
	assert_int_equal(hot->hist[14], 1);
	assert_int_equal(cont_hist_bucket(1), 0);
	assert_int_equal(cont_hist_bucket(1024), 10);
	/* waiters and holders, sorted by time */
	assert_int_equal(hot->nwaiters, 3);
	assert_int_equal(hot->waiters[0].tid, B);
	const struct cont_party *ha = cont_party_find(hot->holders, hot->nholders, A);

	assert_non_null(ha);
	assert_int_equal(ha->waits, 2);
	assert_int_equal(ha->ns, 30500);
	assert_int_equal(ha->handoffs, 2);
	assert_int_equal(hot->holders[0].tid, A);
	/* per thread */
	int found = 0;

	for (size_t i = 0; i < c.nthreads; i++)
		if (c.threads[i].tid == C) {
			found = 1;
			assert_int_equal(c.threads[i].nobjs, 2);
			assert_string_equal(c.objs[c.threads[i].objs[0].obj].name, "hot_lock");
			assert_int_equal(c.threads[i].objs[0].ns, 10500);
			assert_int_equal(c.threads[i].wait_ns[CK_MUTEX], 11500);
			assert_int_equal(c.threads[i].life, 60000);
		}
	assert_true(found);
	/* by count the order is the same; by name cold_lock comes first */
	contention_sort(&c, CS_NAME);
	assert_string_equal(c.objs[0].name, "cold_lock");
	for (size_t i = 0; i < c.nthreads; i++)
		if (c.threads[i].tid == C)
			assert_string_equal(c.objs[c.threads[i].objs[0].obj].name, "hot_lock");
	contention_free(&c);
	model_free(&m);
}

/* Condvar and join waits are their own kinds, not lock contention. */
static void test_condvar_join_apart(void **state)
{
	struct model m;
	struct contention c;
	const struct cont_obj *cv, *join;
	uint64_t join_word = 0x7f00001000;

	(void)state;
	start(&m);
	/* A waits on a condvar (bitset wait, futex value = the sequence) for 50000 */
	block(&m, 100, A, CV, FUTEX_WAIT_BITSET_PRIV, 6, 6, 0, 0, CALLER, -1);
	wake(&m, 50100, A, B, CV);
	sw(&m, 50100, 0, A);
	/* main joins C: FUTEX_WAIT on C's tid word, value = C's tid */
	sw(&m, 1, 0, PID);
	block(&m, 200, PID, join_word, FUTEX_WAIT_PRIV, C, C, 0, 0, CALLER, -1);
	wake(&m, 90000, PID, C, join_word);
	sw(&m, 90000, 0, PID);
	/* a small real mutex wait */
	wait_on(&m, B, HOT, C, C, 1000, 2000, 2000);
	analyse(&c, &m, 100000);

	cv = contention_find(&c, PID, CV);
	join = contention_find(&c, PID, join_word);
	assert_non_null(cv);
	assert_non_null(join);
	assert_int_equal(cv->kind, CK_CONDVAR);
	assert_int_equal(join->kind, CK_JOIN);
	assert_false(cont_kind_is_lock(cv->kind));
	assert_false(cont_kind_is_lock(join->kind));
	assert_true(cont_kind_is_lock(contention_find(&c, PID, HOT)->kind));
	assert_string_equal(cv->name, "ready_cv");
	assert_string_equal(join->name, "join(worker-c 103)");
	/* condvar: the signaller is recorded as the waker, not as a holder-of-a-lock */
	assert_int_equal(cv->holders[0].tid, B);
	for (size_t i = 0; i < c.nthreads; i++)
		if (c.threads[i].tid == PID) {
			assert_int_equal(c.threads[i].wait_ns[CK_JOIN], 89800);
			assert_int_equal(c.threads[i].wait_ns[CK_MUTEX], 0);
		}
	contention_free(&c);
	model_free(&m);
}

/* A heap lock is named by the call site of its waiters; the lost caller frame is put back. */
static void test_heap_name_and_callers(void **state)
{
	struct model m;
	struct contention c;
	struct {
		struct ev_meta_stack s;
		uint64_t ips[2];
	} st = {{{0, 7, EV_META_STACK, sizeof(st)}, 2, 0}, {LIBC, CALLER2}};
	const struct cont_obj *o;
	const struct cont_caller *cl;

	(void)state;
	start(&m);
	model_event(&m, &st.s.hdr);
	block(&m, 100, A, HEAP, FUTEX_WAIT_PRIV, 2, 2, 0, B, CALLER, 7);
	wake(&m, 5100, A, B, HEAP);
	sw(&m, 5100, 0, A);
	analyse(&c, &m, 10000);

	o = contention_find(&c, PID, HEAP);
	assert_non_null(o);
	assert_string_equal(o->name, "lock@lock_counted (table.c:42)");
	assert_false(o->named);
	assert_int_equal(o->ncallers, 1);
	cl = &o->callers[0];
	/* __lll_lock_wait, then the frame FP unwinding lost (lock_counted), then update_bucket */
	assert_int_equal(cl->nframes, 3);
	assert_string_equal(cl->frames[0].func, "__lll_lock_wait");
	assert_int_equal(cl->top, 1);
	assert_string_equal(cl->frames[1].func, "lock_counted");
	assert_int_equal(cl->frames[1].line, 42);
	assert_string_equal(cl->frames[2].func, "update_bucket");
	contention_free(&c);

	/* without any symbol: the address */
	contention_build(&c, &m, NULL);
	contention_name(&c, &m, NULL);
	assert_string_equal(c.objs[0].name, "lock@0x7f0000a000");
	contention_free(&c);
	model_free(&m);
}

/* The holder sleeps with the lock held: what it did meanwhile is reported. Contended holds run
 * from the wakeup that handed a thread the lock to the wakeup it sends on release. */
static void test_sleeping_holder_and_holds(void **state)
{
	struct model m;
	struct contention c;
	const struct cont_obj *o;

	(void)state;
	start(&m);
	/* B got HOT through a wait (on a CPU at 1000) */
	wait_on(&m, B, HOT, A, A, 500, 900, 1000);
	/* B sleeps 2000..9000 holding it; A waits for it 1500..9500 */
	block_mutex(&m, 1500, A, HOT, B);
	nanosleep_block(&m, 2000, B);
	wake(&m, 9000, B, 0, 0);
	sw(&m, 9000, 0, B);
	wake(&m, 9500, A, B, HOT);	/* B releases at 9500 */
	sw(&m, 9600, 0, A);
	analyse(&c, &m, 20000);

	o = contention_find(&c, PID, HOT);
	assert_non_null(o);
	assert_int_equal(o->waits, 2);
	assert_int_equal(o->holders[0].tid, B);
	assert_int_equal(o->holders[0].ns, 8100);
	/* B during A's blocked 1500..9500: running 500, blocked (asleep) 7000, running 500;
	 * A during B's blocked 500..900: running 400 */
	assert_int_equal(o->holder_state_ns[TH_BLOCKED], 7000);
	assert_int_equal(o->holder_sleep_ns, 7000);
	assert_int_equal(o->holder_state_ns[TH_RUNNING], 500 + 500 + 400);
	/* B acquired at 1000 (after its wait), released at 9500 */
	assert_int_equal(o->chold_n, 1);
	assert_int_equal(o->chold_max, 8500);
	contention_free(&c);
	model_free(&m);
}

/* With lock uprobes: every acquisition, its hold, and which ones never waited. */
static void test_lock_events(void **state)
{
	struct model m;
	struct contention c;
	const struct cont_obj *hot, *quiet;
	const struct cont_lock_ev ev[] = {
		{1000, HOT, CALLER, B, LOCK_OP_ACQUIRE},
		{1200, HOT, CALLER, A, LOCK_OP_TRY_FAIL},
		{1400, HOT, CALLER, A, LOCK_OP_ACQUIRE},	/* the call's entry; then it waits */
		{5000, HOT, CALLER, B, LOCK_OP_RELEASE},
		{6500, HOT, CALLER, A, LOCK_OP_RELEASE},
		{7000, COLD, CALLER, C, LOCK_OP_ACQUIRE},	/* never contended */
		{7100, COLD, CALLER, C, LOCK_OP_RELEASE},
		{7200, COLD, CALLER, C, LOCK_OP_ACQUIRE},
		{7300, COLD, CALLER, C, LOCK_OP_RELEASE},
		{7400, COLD, CALLER, A, LOCK_OP_RELEASE},	/* never acquired: counted */
	};

	(void)state;
	start(&m);
	wait_on(&m, A, HOT, B, B, 1500, 5000, 5900);
	model_finish(&m, 10000);
	contention_build(&c, &m, NULL);
	contention_add_locks(&c, &m, ev, sizeof(ev) / sizeof(ev[0]));
	contention_name(&c, &m, &fake);
	contention_sort(&c, CS_TOTAL);

	assert_true(c.have_locks);
	assert_int_equal(c.lock_unmatched, 1);
	hot = contention_find(&c, PID, HOT);
	quiet = contention_find(&c, PID, COLD);
	assert_non_null(hot);
	assert_non_null(quiet);
	assert_int_equal(hot->acquisitions, 2);
	assert_int_equal(hot->uncontended, 1);
	assert_int_equal(hot->trylock_fail, 1);
	assert_int_equal(hot->hold_n, 2);
	assert_int_equal(hot->hold_max, 4000);
	/* A's hold runs from the end of its wait (on a CPU at 5900) to 6500 */
	assert_int_equal(hot->hold_total, 4000 + 600);
	/* A called while B held it; one holder at a time */
	assert_int_equal(hot->found_held, 1);
	assert_int_equal(hot->max_holders, 1);
	assert_int_equal(quiet->found_held, 0);
	assert_int_equal(quiet->max_holders, 1);
	assert_int_equal(quiet->waits, 0);
	assert_int_equal(quiet->acquisitions, 2);
	assert_int_equal(quiet->uncontended, 2);
	assert_int_equal(quiet->hold_total, 200);
	assert_string_equal(quiet->name, "cold_lock");
	assert_string_equal(c.objs[0].name, "hot_lock");
	contention_sort(&c, CS_HOLD);
	assert_string_equal(c.objs[0].name, "hot_lock");
	contention_free(&c);
	model_free(&m);
}

/* a futex wait call returning at ts (ret -11: the word had changed, no sleep) */
static void futex_call(struct model *m, uint64_t ts, uint32_t tid, uint64_t addr, int32_t ret)
{
	struct ev_futex f = {{ts, tid, EV_FUTEX, sizeof(f)}, addr, FUTEX_WAIT_BITSET_PRIV, 0, ret,
			     300, 0, 0};

	model_event(m, &f.hdr);
}

/* A semaphore of 2 permits: how many held it at once, and the calls that found it taken. A
 * call that got its permit after a futex wait that did not sleep starts its hold there. */
static void test_holders_at_once(void **state)
{
	struct model m;
	struct contention c;
	const struct cont_obj *o;
	const struct cont_lock_ev ev[] = {
		{1000, SEM, CALLER, A, LOCK_OP_ACQUIRE},
		{2000, SEM, CALLER, B, LOCK_OP_ACQUIRE},
		{500000, SEM, CALLER, C, LOCK_OP_ACQUIRE},	/* the call's entry */
		{1000000, SEM, CALLER, A, LOCK_OP_RELEASE},
		{1100000, SEM, CALLER, B, LOCK_OP_RELEASE},
		{2000000, SEM, CALLER, C, LOCK_OP_RELEASE},
		{3000000, SEM, CALLER, A, LOCK_OP_ACQUIRE},	/* still held at the end */
	};

	(void)state;
	start(&m);
	futex_call(&m, 1000500, C, SEM, -11);	/* C took A's permit after its release */
	futex_call(&m, 1000600, C, SEM + 4, -11);	/* another word: not this object */
	model_finish(&m, 4000000);
	contention_build(&c, &m, NULL);
	contention_add_locks(&c, &m, ev, sizeof(ev) / sizeof(ev[0]));
	o = contention_find(&c, PID, SEM);
	assert_non_null(o);
	assert_int_equal(o->acquisitions, 4);
	assert_int_equal(o->max_holders, 2);
	/* B's call during A's hold, C's during A's and B's; A's last call found it free */
	assert_int_equal(o->found_held, 2);
	contention_free(&c);
	model_free(&m);
}

/* Per waiter and per thread: the longest wait as well as the total. */
static void test_longest_wait(void **state)
{
	struct model m;
	struct contention c;
	const struct cont_obj *o;
	const struct cont_thread *t = NULL;

	(void)state;
	start(&m);
	wait_on(&m, A, HOT, B, B, 100, 300, 400);	/* 300 */
	wait_on(&m, A, HOT, B, B, 1000, 3000, 3100);	/* 2100 */
	wait_on(&m, C, HOT, B, B, 5000, 5500, 5600);	/* 600 */
	analyse(&c, &m, 10000);
	o = contention_find(&c, PID, HOT);
	assert_non_null(o);
	assert_int_equal(o->waiters[0].tid, A);
	assert_int_equal(o->waiters[0].ns, 2400);
	assert_int_equal(o->waiters[0].max_ns, 2100);
	assert_int_equal(o->waiters[1].max_ns, 600);
	assert_int_equal(o->holders[0].max_ns, 2100);
	for (size_t i = 0; i < c.nthreads; i++)
		if (c.threads[i].tid == A)
			t = &c.threads[i];
	assert_non_null(t);
	assert_int_equal(t->nobjs, 1);
	assert_int_equal(t->objs[0].max_ns, 2100);
	contention_free(&c);
	model_free(&m);
}

/* In a Python process, pthread condvar waits are GIL hand-offs. */
static void test_python_gil(void **state)
{
	struct model m;
	struct contention c;
	struct ev_exec ex = {{0, PID, EV_EXEC, sizeof(ex)}, PID, PID, "python3", "/usr/bin/python3"};

	(void)state;
	model_init(&m);
	model_event(&m, &ex.hdr);
	task(&m, 0, A, "python3");
	sw(&m, 1, 0, A);
	block(&m, 100, A, CV, FUTEX_WAIT_BITSET_PRIV, 4, 4, 0, 0, 0, -1);
	wake(&m, 5100, A, PID, CV);
	sw(&m, 5100, 0, A);
	analyse(&c, &m, 6000);
	assert_int_equal(c.nobjs, 1);
	assert_int_equal(c.objs[0].kind, CK_GIL);
	assert_false(cont_kind_is_lock(CK_GIL));
	assert_string_equal(cont_kind_name(CK_GIL), "gil");
	contention_free(&c);
	model_free(&m);
}

/* ---- Python: threading's waits by their innermost frame ---- */

#define SEM_WAIT_OP (9 | 128 | 256)	/* sem_wait: FUTEX_WAIT_BITSET, private, CLOCK_REALTIME */
#define WAITER1 0x7f0000b000	/* a Condition.wait's waiter Lock (a sem_t) */
#define WAITER2 0x7f0000c000
#define PYLOCK 0x7f0000d000	/* a threading.Lock the program takes */
#define TSTATE 0x7f0000e000	/* a Thread's _tstate_lock */
#define GILCV 0x7f0000f000	/* the GIL's pthread_cond_t; its mutex 48 bytes on */

enum { F_WAIT, F_GET, F_CONS, F_TSTATE, F_JOIN, F_MAIN, F_XFER, F_WAITFOR, F_BARRIER };

static const struct {
	const char *q, *file;
	int line;
} pyf[] = {
	[F_WAIT] = {"Condition.wait", "/usr/lib/python3.11/threading.py", 327},
	[F_GET] = {"Queue.get", "/usr/lib/python3.11/queue.py", 171},
	[F_CONS] = {"consumer", "/lab/prog.py", 12},
	[F_TSTATE] = {"Thread._wait_for_tstate_lock", "/usr/lib/python3.11/threading.py", 1139},
	[F_JOIN] = {"Thread.join", "/usr/lib/python3.11/threading.py", 1119},
	[F_MAIN] = {"main", "/lab/prog.py", 30},
	[F_XFER] = {"transfer", "/lab/prog.py", 20},
	[F_WAITFOR] = {"Condition.wait_for", "/usr/lib/python3.11/threading.py", 360},
	[F_BARRIER] = {"Barrier._wait", "/usr/lib/python3.11/threading.py", 700},
};

/* frame i is code 0x5000 + i * 0x100 at instruction +0x10 */
static void pyframe(struct model *m, uint64_t ts, int i)
{
	struct {
		struct ev_meta_py_frame r;
		char tail[96];
	} e = {};
	size_t ql = strlen(pyf[i].q) + 1, fl = strlen(pyf[i].file) + 1;

	e.r.hdr = (struct ev_hdr){ts, PID, EV_META_PY_FRAME, 0};
	e.r.hdr.size = (sizeof(e.r) + ql + fl + 7) & ~7u;
	e.r.code = 0x5000 + i * 0x100;
	e.r.prev_instr = e.r.code + 0x10;
	e.r.line = pyf[i].line;
	memcpy(e.tail, pyf[i].q, ql);
	memcpy(e.tail + ql, pyf[i].file, fl);
	model_event(m, &e.r.hdr);
}

/* EV_PY_STACK of tid at ts, innermost first */
static void pystack(struct model *m, uint64_t ts, uint32_t tid, int n, const int *fr)
{
	struct ev_py_stack e = {};

	e.hdr = (struct ev_hdr){ts, tid, EV_PY_STACK, 0};
	e.hdr.size = offsetof(struct ev_py_stack, frames) + n * sizeof(e.frames[0]);
	e.pid = PID;
	e.nframes = n;
	for (int i = 0; i < n; i++) {
		e.frames[i].code = 0x5000 + fr[i] * 0x100;
		e.frames[i].prev_instr = e.frames[i].code + 0x10;
	}
	model_event(m, &e.hdr);
}

/* tid sleeps on a Python Lock at ts (w0: the semaphore's value read at the switch) with this
 * Python stack; waker posts it at t1, tid runs at t1 */
static void py_wait(struct model *m, uint32_t tid, uint64_t addr, uint32_t w0, int n,
		    const int *fr, uint32_t waker, uint64_t t0, uint64_t t1)
{
	block(m, t0, tid, addr, SEM_WAIT_OP, 0, w0, 1, 0, 0, -1);
	pystack(m, t0, tid, n, fr);
	wake(m, t1, tid, waker, addr);
	sw(m, t1, 0, tid);
}

static const struct cont_obj *obj_at(const struct contention *c, uint64_t addr)
{
	for (size_t i = 0; i < c->nobjs; i++)
		if (c->objs[i].addr == addr)
			return &c->objs[i];
	return NULL;
}

static const struct cont_thread *thread_of(const struct contention *c, uint32_t tid)
{
	for (size_t i = 0; i < c->nthreads; i++)
		if (c->threads[i].tid == tid)
			return &c->threads[i];
	return NULL;
}

static const struct m_interval *first_blocked(const struct m_thread *t)
{
	for (size_t k = 0; k < t->niv; k++)
		if (t->iv[k].state == TH_BLOCKED)
			return &t->iv[k];
	fail();
	return NULL;
}

static void test_py_wait_kind_of_frame(void **state)
{
	(void)state;
	assert_int_equal(py_wait_kind_of_frame("Condition.wait", "/usr/lib/python3.11/threading.py"),
			 WK_CONDVAR);
	assert_int_equal(py_wait_kind_of_frame("Condition.wait", "threading.py"), WK_CONDVAR);
	assert_int_equal(py_wait_kind_of_frame("Thread._wait_for_tstate_lock",
					       "/x/lib/python3.11/threading.py"), WK_JOIN);
	/* the program's own class of that name, another file of the stdlib, no name */
	assert_int_equal(py_wait_kind_of_frame("Condition.wait", "/lab/mythreading.py"), 0);
	assert_int_equal(py_wait_kind_of_frame("Condition.wait", "/lab/threading.pyc"), 0);
	assert_int_equal(py_wait_kind_of_frame("Condition._acquire_restore",
					       "/usr/lib/python3.11/threading.py"), 0);
	assert_int_equal(py_wait_kind_of_frame("Thread.join", "/usr/lib/python3.11/threading.py"),
			 0);
	assert_int_equal(py_wait_kind_of_frame(NULL, NULL), 0);
	/* a worker asleep in a queue.SimpleQueue's get(): waiting for work, not for a lock */
	assert_int_equal(py_wait_kind_of_frame("_worker",
					       "/usr/lib/python3.11/concurrent/futures/thread.py"),
			 WK_CONDVAR);
	assert_int_equal(py_wait_kind_of_frame("worker", "/usr/lib/python3.11/multiprocessing/pool.py"),
			 WK_CONDVAR);
	assert_int_equal(py_wait_kind_of_frame("Pool._handle_tasks",
					       "/usr/lib/python3.11/multiprocessing/pool.py"), WK_CONDVAR);
	/* a program's own _worker, or one in a file of that name elsewhere */
	assert_int_equal(py_wait_kind_of_frame("_worker", "/lab/thread.py"), 0);
	assert_int_equal(py_wait_kind_of_frame("_worker", "/lab/myconcurrent/futures/thread.py"), 0);
	assert_int_equal(py_wait_kind_of_frame("worker", "/usr/lib/python3.11/concurrent/futures/thread.py"),
			 0);
}

/*
 * A Queue's consumer waiting in Condition.wait on its waiter Lock waits for a notify, main's
 * join() in Thread._wait_for_tstate_lock on the joined thread's tstate Lock: condvar and join,
 * not lock contention; a Lock the program takes stays a pylock; the GIL's mutex beside its
 * condvar is the GIL's. The fold makes the same tables (build).
 */
static void test_python_condition_and_join(void **state)
{
	static const int get[] = {F_WAIT, F_GET, F_CONS}, xfer[] = {F_XFER, F_MAIN};
	static const int barrier[] = {F_WAIT, F_WAITFOR, F_BARRIER, F_MAIN};
	static const int join[] = {F_TSTATE, F_JOIN, F_MAIN};
	struct ev_exec ex = {{0, PID, EV_EXEC, sizeof(ex)}, PID, PID, "python3", "/usr/bin/python3"};
	const struct cont_obj *o;
	const struct cont_thread *ta;
	const struct m_interval *iv;
	struct contention c;
	struct model m;
	uint64_t site;
	char want[96];

	(void)state;
	model_init(&m);
	model_event(&m, &ex.hdr);
	task(&m, 0, PID, "main");
	task(&m, 0, A, "consumer");
	task(&m, 0, B, "producer");
	for (int i = F_WAIT; i <= F_BARRIER; i++)
		pyframe(&m, 1, i);
	sw(&m, 1, 0, PID);
	sw(&m, 1, 0, A);
	sw(&m, 1, 0, B);
	py_wait(&m, A, WAITER1, 0, 3, get, B, 100, 1100);
	/* posted between sem_wait's check and the switch: the words read 1 */
	py_wait(&m, A, WAITER1, 1, 3, get, B, 2000, 2500);
	py_wait(&m, B, PYLOCK, 0, 2, xfer, A, 3000, 4000);
	py_wait(&m, B, WAITER2, 0, 4, barrier, A, 5000, 5500);
	wait_on(&m, A, GILCV + 48, B, B, 6000, 6100, 6100);
	/* pthread_cond_signal waiting on the GIL condvar's __g_refs[0] */
	block(&m, 6500, B, GILCV + 16, FUTEX_WAIT_PRIV, 1, 1, 0, 0, 0, -1);
	wake(&m, 6600, B, A, GILCV + 16);
	sw(&m, 6600, 0, B);
	block(&m, 7000, B, GILCV + 40, FUTEX_WAIT_BITSET_PRIV, 0, 0, 0, 0, 0, -1);
	wake(&m, 7300, B, A, GILCV + 40);
	sw(&m, 7300, 0, B);
	py_wait(&m, PID, TSTATE, 0, 3, join, A, 8000, 9000);

	model_finish(&m, 10000);
	iv = first_blocked(model_thread(&m, A));
	assert_int_equal(iv->w.kind, WK_CONDVAR);
	assert_true(iv->w.py);
	iv = first_blocked(model_thread(&m, PID));
	assert_int_equal(iv->w.kind, WK_JOIN);
	assert_int_equal(iv->w.holder, A);	/* the joined thread ended it */

	contention_build(&c, &m, NULL);
	contention_name(&c, &m, &fake);
	contention_sort(&c, CS_TOTAL);
	/* the consumer's waits, counted on the line that waits for the Condition */
	site = model_py_wait_site(&m, first_blocked(model_thread(&m, A))->w.stack_id);
	assert_non_null(model_py_pc(&m, site));
	assert_string_equal(model_py_pc(&m, site)->qualname, "Queue.get");
	o = obj_at(&c, site);
	assert_non_null(o);
	assert_int_equal(o->kind, CK_CONDVAR);
	assert_string_equal(o->name, "condvar@Queue.get (queue.py:171)");
	assert_int_equal(o->waits, 2);
	assert_int_equal(o->wait_total, 1000 + 500);
	assert_int_equal(o->holders[0].tid, B);
	/* its caller is the program's line, not threading's Condition.wait inside Queue.get */
	assert_int_equal(o->ncallers, 1);
	assert_non_null(model_py_pc(&m, o->callers[0].frames[o->callers[0].top].pc));
	assert_string_equal(model_py_pc(&m, o->callers[0].frames[o->callers[0].top].pc)->qualname,
			    "consumer");
	assert_null(obj_at(&c, WAITER1));
	/* below Condition.wait_for: the Barrier */
	for (o = NULL, site = 0; site < c.nobjs; site++)
		if (!strcmp(c.objs[site].name, "condvar@Barrier._wait (threading.py:700)"))
			o = &c.objs[site];
	assert_non_null(o);
	assert_int_equal(o->kind, CK_CONDVAR);
	/* the program's Lock */
	o = obj_at(&c, PYLOCK);
	assert_non_null(o);
	assert_int_equal(o->kind, CK_PYLOCK);
	/* main's join of the consumer */
	o = obj_at(&c, TSTATE);
	assert_non_null(o);
	assert_int_equal(o->kind, CK_JOIN);
	snprintf(want, sizeof(want), "join(consumer %u)", A);
	assert_string_equal(o->name, want);
	/* the GIL's mutex */
	o = obj_at(&c, GILCV + 48);
	assert_non_null(o);
	assert_int_equal(o->kind, CK_GIL);
	snprintf(want, sizeof(want), "GIL mutex@0x%llx", (unsigned long long)(GILCV + 48));
	assert_string_equal(o->name, want);
	assert_int_equal(obj_at(&c, GILCV + 40)->kind, CK_GIL);
	assert_int_equal(obj_at(&c, GILCV + 16)->kind, CK_GIL);
	/* only the program's Lock is lock contention */
	for (size_t i = 0; i < c.nobjs; i++)
		assert_true(cont_kind_is_lock(c.objs[i].kind) == (c.objs[i].addr == PYLOCK));
	ta = thread_of(&c, A);
	assert_int_equal(ta->wait_ns[CK_MUTEX], 0);
	assert_int_equal(ta->wait_ns[CK_PYLOCK], 0);
	assert_int_equal(ta->wait_ns[CK_CONDVAR], 1500);
	assert_int_equal(ta->wait_ns[CK_GIL], 100);
	assert_int_equal(thread_of(&c, PID)->wait_ns[CK_JOIN], 1000);
	contention_free(&c);
	model_free(&m);
}

/* A join that a kill ended (its waker is no thread of the process): not the joined thread's
 * doing, so the join is named by the program's line that joins. */
static void test_python_join_killed(void **state)
{
	static const int join[] = {F_TSTATE, F_JOIN, F_MAIN};
	struct ev_exec ex = {{0, PID, EV_EXEC, sizeof(ex)}, PID, PID, "python3", "/usr/bin/python3"};
	struct contention c;
	struct model m;

	(void)state;
	model_init(&m);
	model_event(&m, &ex.hdr);
	task(&m, 0, PID, "main");
	for (int i = F_WAIT; i <= F_BARRIER; i++)
		pyframe(&m, 1, i);
	sw(&m, 1, 0, PID);
	py_wait(&m, PID, TSTATE, 0, 3, join, 999, 100, 5000);
	analyse(&c, &m, 6000);
	assert_int_equal(first_blocked(model_thread(&m, PID))->w.holder, 0);
	assert_int_equal(c.nobjs, 1);
	assert_int_equal(c.objs[0].kind, CK_JOIN);
	assert_string_equal(c.objs[0].name, "join@main (prog.py:30)");
	contention_free(&c);
	model_free(&m);
}

/* A frame the recorder named only after the stack that used it (recordings made before it
 * named a frame first): the wait keeps the kind its futex words say. */
static void test_python_frame_named_late(void **state)
{
	static const int get[] = {F_WAIT, F_GET, F_CONS};
	struct ev_exec ex = {{0, PID, EV_EXEC, sizeof(ex)}, PID, PID, "python3", "/usr/bin/python3"};
	struct contention c;
	struct model m;

	(void)state;
	model_init(&m);
	model_event(&m, &ex.hdr);
	task(&m, 0, A, "consumer");
	sw(&m, 1, 0, A);
	py_wait(&m, A, WAITER1, 0, 3, get, B, 100, 1100);
	for (int i = F_WAIT; i <= F_CONS; i++)
		pyframe(&m, 1200, i);
	analyse(&c, &m, 2000);
	assert_int_equal(c.nobjs, 1);
	assert_int_equal(c.objs[0].addr, WAITER1);
	assert_int_equal(c.objs[0].kind, CK_PYLOCK);
	contention_free(&c);
	model_free(&m);
}

/* The --from/--to window clips waits. */
static void test_window(void **state)
{
	struct model m;
	struct contention c;
	struct cont_opts o = {.from = 5000, .to = 8000};

	(void)state;
	start(&m);
	wait_on(&m, A, HOT, B, B, 1000, 6000, 6000);	/* 5000..6000 inside */
	wait_on(&m, A, COLD, B, B, 9000, 9500, 9500);	/* outside */
	model_finish(&m, 10000);
	contention_build(&c, &m, &o);
	assert_int_equal(c.nobjs, 1);
	assert_int_equal(c.objs[0].wait_total, 1000);
	assert_int_equal(c.duration, 3000);
	contention_free(&c);
	model_free(&m);
}

/* A condvar's waits on its two futex words are one object. */
static void test_condvar_words_merged(void **state)
{
	struct model m;
	struct contention c;

	(void)state;
	start(&m);
	block(&m, 100, A, CV + 0x28, FUTEX_WAIT_BITSET_PRIV, 6, 6, 0, 0, CALLER, -1);
	wake(&m, 1100, A, B, CV + 0x28);
	sw(&m, 1100, 0, A);
	block(&m, 2000, A, CV + 0x2c, FUTEX_WAIT_BITSET_PRIV, 7, 7, 0, 0, CALLER, -1);
	wake(&m, 4000, A, B, CV + 0x2c);
	sw(&m, 4000, 0, A);
	block(&m, 2000, C, CV + 0x2c, FUTEX_WAIT_BITSET_PRIV, 7, 7, 0, 0, CALLER, -1);
	wake(&m, 2500, C, B, CV + 0x2c);
	sw(&m, 2500, 0, C);
	analyse(&c, &m, 5000);
	assert_int_equal(c.nobjs, 1);
	assert_string_equal(c.objs[0].name, "ready_cv");
	assert_int_equal(c.objs[0].waits, 3);
	assert_int_equal(c.objs[0].wait_total, 1000 + 2000 + 500);
	assert_int_equal(c.objs[0].nwaiters, 2);
	for (size_t i = 0; i < c.nthreads; i++)
		if (c.threads[i].tid == A) {
			assert_int_equal(c.threads[i].nobjs, 1);
			assert_int_equal(c.threads[i].objs[0].ns, 3000);
			assert_int_equal(c.threads[i].objs[0].obj, 0);
		}
	contention_free(&c);
	model_free(&m);
}

/* Waits open across thousands of intervals (a join, a condvar wait no one's holder is known
 * of) while others hand a mutex back and forth: the fold notes their holders' totals instead
 * of keeping the history; the tables are the same (build checks it against the fold). */
static void test_long_waits(void **state)
{
	struct model m;
	struct contention c;
	const struct cont_obj *o;
	uint64_t join_word = 0x7f00001000, t = 1000;

	(void)state;
	start(&m);
	sw(&m, 2, 0, PID);
	block(&m, 10, PID, join_word, FUTEX_WAIT_PRIV, A, A, 0, 0, CALLER, -1);	/* joins A */
	block(&m, 20, C, CV, FUTEX_WAIT_BITSET_PRIV, 6, 6, 0, 0, CALLER2, -1);
	for (int r = 0; r < 3000; r++, t += 1000) {
		uint32_t w = r & 1 ? A : B, h = r & 1 ? B : A;

		block_mutex(&m, t, w, HOT, h);
		if (r % 7 == 0)
			nanosleep_block(&m, t + 100, h);	/* the holder asleep with it */
		if (r % 7 == 0)
			wake(&m, t + 300, h, 0, 0);
		wake(&m, t + 500, w, h, HOT);
		sw(&m, t + 600, 0, w);
	}
	wake(&m, t, C, B, CV);		/* B signals C */
	sw(&m, t + 10, 0, C);
	wake(&m, t + 20, PID, A, join_word);	/* A exits: main's join ends */
	sw(&m, t + 30, 0, PID);
	analyse(&c, &m, t + 100);

	o = contention_find(&c, PID, HOT);
	assert_non_null(o);
	assert_int_equal(o->waits, 3000);
	assert_true(o->holder_sleep_ns > 0);
	o = contention_find(&c, PID, join_word);
	assert_non_null(o);
	assert_int_equal(o->waits, 1);
	assert_true(o->holder_state_ns[TH_BLOCKED] > 0 && o->holder_state_ns[TH_RUNNING] > 0);
	o = contention_find(&c, PID, CV);
	assert_non_null(o);
	assert_true(o->holder_state_ns[TH_BLOCKED] > 0 && o->holder_state_ns[TH_RUNNING] > 0);
	contention_free(&c);
	model_free(&m);
}

static void test_sort_keys(void **state)
{
	(void)state;
	assert_int_equal(contention_sort_key(NULL), CS_TOTAL);
	assert_int_equal(contention_sort_key("waits"), CS_WAITS);
	assert_int_equal(contention_sort_key("hold"), CS_HOLD);
	assert_int_equal(contention_sort_key("bogus"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hot_cold),
		cmocka_unit_test(test_condvar_join_apart),
		cmocka_unit_test(test_heap_name_and_callers),
		cmocka_unit_test(test_sleeping_holder_and_holds),
		cmocka_unit_test(test_lock_events),
		cmocka_unit_test(test_holders_at_once),
		cmocka_unit_test(test_longest_wait),
		cmocka_unit_test(test_python_gil),
		cmocka_unit_test(test_py_wait_kind_of_frame),
		cmocka_unit_test(test_python_condition_and_join),
		cmocka_unit_test(test_python_join_killed),
		cmocka_unit_test(test_python_frame_named_late),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_condvar_words_merged),
		cmocka_unit_test(test_long_waits),
		cmocka_unit_test(test_sort_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
