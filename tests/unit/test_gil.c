/* test_gil.c — the GIL inferred from futex waits, on synthetic events (times in µs). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "analysis/gil.h"
#include "capture/gilprobe.h"
#include "model/model.h"

#define PID 300
#define A 300		/* the main thread: holds the GIL first */
#define B 301
#define C 302
#define GIL 0x7f0000001000ull
#define SWITCH_COND (GIL + 0x60)
#define SEM 0x7f0000009000ull
#define US(x) ((uint64_t)(x) * 1000)
#define OP_WAIT_BITSET_PRIVATE 0x89

static void task(struct model *m, uint32_t tid, const char *comm)
{
	struct ev_meta_task t = {{0, tid, EV_META_TASK, sizeof(t)}, PID, 1, ""};

	strncpy(t.comm, comm, sizeof(t.comm) - 1);
	model_event(m, &t.hdr);
}

static void maps(struct model *m, const char *path)
{
	struct {
		struct ev_meta_maps mm;
		char path[64];
	} r = {};

	r.mm.hdr = (struct ev_hdr){0, PID, EV_META_MAPS, sizeof(r)};
	r.mm.start = 0x400000;
	r.mm.end = 0x500000;
	r.mm.prot = 5;
	strncpy(r.path, path, sizeof(r.path) - 1);
	model_event(m, &r.mm.hdr);
}

static void run(struct model *m, uint64_t us, uint32_t tid)
{
	struct ev_switch s = {{US(us), 0, EV_SWITCH, sizeof(s)}, tid, 0, TS_RUNNABLE, 0};

	model_event(m, &s.hdr);
}

/* The scenarios' futex calls are recorded (--futex-calls), or not (the default): then only the
 * switch-outs say which waits were given a timeout. */
static int with_calls = 1;

/* tid sleeps in futex(addr, FUTEX_WAIT_BITSET) — a condvar wait (word 2, so no semaphore);
 * timed: with a timeout (take_gil's) */
static void cond_block_as(struct model *m, uint64_t us, uint32_t tid, uint64_t addr, int timed)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){US(us), tid, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.prev_state = TS_SLEEPING;
	s.sw.flags = timed ? SWF_TIMED : 0;
	s.nr = NR_FUTEX;
	s.arg0 = addr;
	s.arg1 = OP_WAIT_BITSET_PRIVATE;
	s.arg2 = 2;
	s.word0 = 2;
	s.stack_id = -1;
	model_event(m, &s.sw.hdr);
}

static void cond_block(struct model *m, uint64_t us, uint32_t tid, uint64_t addr)
{
	cond_block_as(m, us, tid, addr, addr != SWITCH_COND);
}

/* a Lock.acquire(timeout=...) */
static void sem_block(struct model *m, uint64_t us, uint32_t tid, uint64_t addr)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){US(us), tid, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.prev_state = TS_SLEEPING;
	s.sw.flags = SWF_TIMED;
	s.nr = NR_FUTEX;
	s.arg0 = addr;
	s.arg1 = OP_WAIT_BITSET_PRIVATE;
	s.arg2 = 0;
	s.word0 = 0;
	s.word4 = 1;	/* one waiter: a sem_t */
	s.stack_id = -1;
	model_event(m, &s.sw.hdr);
}

static void io_block(struct model *m, uint64_t us, uint32_t tid)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){US(us), tid, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.prev_state = TS_SLEEPING;
	s.nr = NR_READ;
	s.arg0 = 3;
	s.stack_id = -1;
	model_event(m, &s.sw.hdr);
}

static void wake(struct model *m, uint64_t us, uint32_t wakee, uint32_t waker)
{
	struct ev_wakeup w = {{US(us), wakee, EV_WAKEUP, sizeof(w)}, GIL, waker,
			      waker ? NR_FUTEX : -1, 0};

	model_event(m, &w.hdr);
}

/* the futex call's return: a timed bitset wait */
static void futex_ret(struct model *m, uint64_t us, uint32_t tid, uint64_t addr, uint64_t dur_us,
		      int timed_out, int timed)
{
	struct ev_futex f = {{US(us), tid, EV_FUTEX, sizeof(f)}, addr, OP_WAIT_BITSET_PRIVATE, 2,
			     timed_out ? -110 : 0, (uint32_t)US(dur_us), timed ? FUTEXF_TIMEOUT : 0,
			     FUTEX_SYS_FUTEX};

	if (with_calls)
		model_event(m, &f.hdr);
}

/*
 * A runs Python; B wants the GIL: its 5 ms wait times out (it asks A to drop), it waits
 * again, and A drops and wakes it 490 µs later, then waits on switch_cond until B signals.
 * Then C waits for the GIL held by B; B blocks in read (a voluntary release) and wakes C.
 */
static void convoy(struct model *m)
{
	maps(m, "/usr/bin/python3.11");
	task(m, A, "python3");
	task(m, B, "worker-0");
	task(m, C, "worker-1");
	run(m, 0, A);
	run(m, 0, B);
	cond_block(m, 10, B, GIL);
	wake(m, 5010, B, 0);			/* the timeout */
	run(m, 5010, B);
	futex_ret(m, 5012, B, GIL, 5002, 1, 1);
	cond_block(m, 5020, B, GIL);
	wake(m, 5510, B, A);			/* A dropped it */
	cond_block(m, 5515, A, SWITCH_COND);	/* A waits until B took it */
	run(m, 5520, B);
	futex_ret(m, 5522, B, GIL, 502, 0, 1);
	wake(m, 5600, A, B);
	run(m, 5600, A);
	futex_ret(m, 5601, A, SWITCH_COND, 86, 0, 0);
	/* C wants it now, B holds it; B blocks in IO, releasing it: C is signalled */
	run(m, 5700, C);
	cond_block(m, 5710, C, GIL);
	wake(m, 7000, C, B);
	io_block(m, 7005, B);
	run(m, 7010, C);
	futex_ret(m, 7012, C, GIL, 1302, 0, 1);
	/* a Lock.acquire(timeout=...): timed bitset on a semaphore, many timeouts — not the GIL */
	for (int i = 0; i < 3; i++) {
		sem_block(m, 8000 + i * 1000, A, SEM);
		wake(m, 8900 + i * 1000, A, 0);
		run(m, 8900 + i * 1000, A);
		futex_ret(m, 8901 + i * 1000, A, SEM, 900, 1, 1);
	}
	model_finish(m, US(12000));
}

/* What the convoy shows either way: the GIL, one timeout of the switch interval (interval_est)
 * whose hand-off from A to B was forced after B waited `waited`, and B's voluntary one to C. */
static void convoy_found(const struct gil_process *g, uint64_t interval_est, uint64_t waited)
{
	assert_int_equal(g->gil_addr, GIL);	/* not the semaphore with more timeouts */
	assert_int_equal(g->waits, 3);
	assert_int_equal(g->timeouts, 1);
	assert_int_equal(g->interval_est, interval_est);
	assert_int_equal(g->nhandoffs, 2);
	assert_int_equal(g->forced, 1);
	assert_int_equal(g->voluntary, 1);
	assert_int_equal(g->handoffs[0].from, A);
	assert_int_equal(g->handoffs[0].to, B);
	assert_true(g->handoffs[0].forced);
	assert_int_equal(g->handoffs[0].waited, waited);
	assert_int_equal(g->handoffs[1].from, B);
	assert_int_equal(g->handoffs[1].to, C);
	assert_false(g->handoffs[1].forced);
}

static void test_convoy(void **state)
{
	struct model m;
	struct gil_report r;
	const struct gil_process *g;
	const struct gil_thread *b = NULL, *c = NULL, *a = NULL;

	(void)state;
	model_init(&m);
	convoy(&m);
	gil_analyze(&r, &m);
	assert_int_equal(r.nprocs, 1);
	assert_int_equal(r.npython, 1);
	g = &r.procs[0];
	assert_true(g->is_python);
	assert_string_equal(g->version, "3.11");
	convoy_found(g, US(5002), US(5522 - 10));
	for (size_t i = 0; i < g->nthreads; i++) {
		if (g->threads[i].tid == A)
			a = &g->threads[i];
		if (g->threads[i].tid == B)
			b = &g->threads[i];
		if (g->threads[i].tid == C)
			c = &g->threads[i];
	}
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	/* B slept 5000 + 490 µs on the GIL; the runnable moment after the timeout is not GIL wait */
	assert_int_equal(b->gil_wait, US(5000 + 490));
	assert_int_equal(b->waits, 2);
	assert_int_equal(b->timeouts, 1);
	assert_int_equal(b->forced, 1);
	assert_int_equal(c->gil_wait, US(1290));
	assert_int_equal(c->voluntary, 1);
	/* A's switch_cond wait is part of the GIL's cost; its semaphore waits are not */
	assert_int_equal(a->gil_wait, US(85));
	assert_int_equal(a->blocked_other, US(3 * 900));
	gil_free(&r);
	model_free(&m);
}

/* The same from the switch-outs and wakeups alone: each wait is its sleep (the runnable moment
 * after it is not in it), and B's first timed out because no thread woke it. */
static void test_convoy_without_calls(void **state)
{
	struct model m;
	struct gil_report r;
	const struct gil_process *g;

	(void)state;
	with_calls = 0;
	model_init(&m);
	convoy(&m);
	with_calls = 1;
	assert_int_equal(m.futex_calls, 0);
	gil_analyze(&r, &m);
	g = &r.procs[0];
	convoy_found(g, US(5000), US(5510 - 10));
	assert_int_equal(g->gil_wait, US(5000 + 490 + 1290 + 85));
	gil_free(&r);
	model_free(&m);
}

static void test_not_python(void **state)
{
	struct model m;
	struct gil_report r;

	(void)state;
	model_init(&m);
	maps(&m, "/usr/bin/epoll_server");
	task(&m, A, "epoll_server");
	run(&m, 0, A);
	cond_block(&m, 10, A, GIL);
	wake(&m, 5010, A, 0);
	run(&m, 5010, A);
	futex_ret(&m, 5012, A, GIL, 5002, 1, 1);
	model_finish(&m, US(6000));
	gil_analyze(&r, &m);
	assert_int_equal(r.npython, 0);
	assert_int_equal(r.nprocs, 1);
	assert_false(r.procs[0].is_python);
	assert_int_equal(r.procs[0].gil_addr, 0);
	assert_int_equal(r.procs[0].nhandoffs, 0);
	gil_free(&r);
	model_free(&m);
}

static void test_version_from_path(void **state)
{
	char v[16];

	(void)state;
	assert_string_equal(gil_python_version("/usr/bin/python3.11", v, sizeof(v)), "3.11");
	assert_string_equal(gil_python_version("/opt/lib/libpython3.12.so.1.0", v, sizeof(v)),
			    "3.12");
	assert_string_equal(gil_python_version("python3", v, sizeof(v)), "3");
	assert_null(gil_python_version("/usr/bin/bash", v, sizeof(v)));
	assert_null(gil_python_version("/usr/bin/mypython3-helper", v, sizeof(v)));
	assert_null(gil_python_version(NULL, v, sizeof(v)));
}

/* EV_GIL records; the caller address says the cause (the fake classifier below) */
#define CALLER_BREAKER 0x1000
#define CALLER_SAVE 0x2000
static struct ev_gil gev[16];
static size_t ngev;

static void gil_ev(uint64_t us, uint32_t tid, uint32_t op, uint64_t caller)
{
	gev[ngev] = (struct ev_gil){{US(us), tid, EV_GIL, sizeof(struct ev_gil)}, caller, PID, op};
	ngev++;
}

static int fake_cause(void *ctx, uint32_t pid, uint64_t ret)
{
	(void)ctx;
	assert_int_equal(pid, PID);
	return ret == CALLER_BREAKER ? GC_FORCED : ret == CALLER_SAVE ? GC_BLOCKING : GC_OTHER;
}

/* The convoy with uprobes: A holds, B waits 5.5 ms and gets it when A is forced to drop; C
 * waits until B drops around its read. Exact holders, causes and waits, method uprobes. */
static void test_uprobes(void **state)
{
	struct model m;
	struct gil_report r;
	const struct ev_gil *ev[16];
	const struct gil_process *g;
	const struct gil_thread *tb = NULL, *tc = NULL;

	(void)state;
	model_init(&m);
	convoy(&m);
	ngev = 0;
	gil_ev(0, A, GIL_TAKE_START, CALLER_SAVE);
	gil_ev(1, A, GIL_TAKE_DONE, 0);
	gil_ev(5, B, GIL_TAKE_START, CALLER_SAVE);
	gil_ev(5505, A, GIL_DROP, CALLER_BREAKER);
	gil_ev(5521, B, GIL_TAKE_DONE, 0);
	gil_ev(5700, C, GIL_TAKE_START, CALLER_SAVE);
	gil_ev(7001, B, GIL_DROP, CALLER_SAVE);
	gil_ev(7011, C, GIL_TAKE_DONE, 0);
	for (size_t i = 0; i < ngev; i++)
		ev[i] = &gev[i];
	gil_analyze_uprobes(&r, &m, ev, ngev, fake_cause, NULL);
	assert_int_equal(r.nprocs, 1);
	g = &r.procs[0];
	assert_int_equal(g->method, GIL_UPROBES);
	assert_int_equal(g->nhandoffs, 2);
	assert_int_equal(g->handoffs[0].from, A);
	assert_int_equal(g->handoffs[0].to, B);
	assert_int_equal(g->handoffs[0].cause, GC_FORCED);
	assert_int_equal(g->handoffs[0].held, US(5504));
	assert_int_equal(g->handoffs[0].waited, US(5516));
	assert_int_equal(g->handoffs[1].from, B);
	assert_int_equal(g->handoffs[1].to, C);
	assert_int_equal(g->handoffs[1].cause, GC_BLOCKING);
	assert_int_equal(g->forced, 1);
	assert_int_equal(g->voluntary, 1);
	assert_int_equal(g->nholds, 2);
	assert_int_equal(g->drops[GC_FORCED], 1);
	assert_int_equal(g->drops[GC_BLOCKING], 1);
	assert_int_equal(g->interval_est, US(5504));
	for (size_t i = 0; i < g->nthreads; i++) {
		if (g->threads[i].tid == B)
			tb = &g->threads[i];
		if (g->threads[i].tid == C)
			tc = &g->threads[i];
	}
	assert_non_null(tb);
	assert_non_null(tc);
	/* asleep inside take_gil: B from 10 to 5010 and 5020 to 5510; C from 5710 to 7000 */
	assert_int_equal(tb->gil_wait, US(5000 + 490));
	assert_int_equal(tc->gil_wait, US(1290));
	assert_int_equal(tb->held, US(7001 - 5521));
	gil_free(&r);
	model_free(&m);
}

static void test_cause_names(void **state)
{
	(void)state;
	assert_int_equal(gil_cause_of_caller("eval_frame_handle_pending"), GC_FORCED);
	assert_int_equal(gil_cause_of_caller("_Py_HandlePending"), GC_FORCED);
	assert_int_equal(gil_cause_of_caller("PyEval_SaveThread"), GC_BLOCKING);
	assert_int_equal(gil_cause_of_caller("take_gil"), GC_EXIT);
	assert_int_equal(gil_cause_of_caller(NULL), GC_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convoy),
		cmocka_unit_test(test_convoy_without_calls),
		cmocka_unit_test(test_not_python),
		cmocka_unit_test(test_version_from_path),
		cmocka_unit_test(test_uprobes),
		cmocka_unit_test(test_cause_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
