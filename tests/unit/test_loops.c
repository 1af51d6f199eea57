/* test_loops.c — loop detection, busy gaps and their split, timers and lag, on synthetic
 * events. Times in µs via US(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "analysis/loops.h"
#include "model/model.h"

#define PID 200
#define LOOP 201
#define CLIENT 202
#define EPFD 5
#define US(x) ((uint64_t)(x) * 1000)

struct fixture {
	struct model m;
	struct ev_waitcall calls[64];
	const struct ev_waitcall *ptr[64];
	size_t n;
};

static void task(struct model *m, uint64_t ts, uint32_t tid, const char *comm)
{
	struct ev_meta_task t = {{ts, tid, EV_META_TASK, sizeof(t)}, PID, 1, ""};

	strncpy(t.comm, comm, sizeof(t.comm) - 1);
	model_event(m, &t.hdr);
}

static void run(struct model *m, uint64_t ts, uint32_t tid)
{
	struct ev_switch s = {{ts, 0, EV_SWITCH, sizeof(s)}, tid, 0, TS_RUNNABLE, 0};

	model_event(m, &s.hdr);
}

static void block(struct model *m, uint64_t ts, uint32_t tid, int32_t nr, uint64_t arg0,
		  uint64_t ret_addr)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, tid, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.prev_state = TS_SLEEPING;
	s.nr = nr;
	s.arg0 = arg0;
	s.ret_addr = ret_addr;
	s.stack_id = -1;
	model_event(m, &s.sw.hdr);
}

static void wake(struct model *m, uint64_t ts, uint32_t wakee, uint32_t waker, int16_t nr,
		 uint64_t obj)
{
	struct ev_wakeup w = {{ts, wakee, EV_WAKEUP, sizeof(w)}, obj, waker, nr, 0};

	model_event(m, &w.hdr);
}

/* A wait call from enter to exit (µs), as the BPF side emits it at exit. */
static void call(struct fixture *f, uint64_t enter_us, uint64_t exit_us, int32_t timeout_us,
		 int32_t ret)
{
	struct ev_waitcall *c = &f->calls[f->n];

	memset(c, 0, sizeof(*c));
	c->hdr = (struct ev_hdr){US(exit_us), LOOP, EV_WAITCALL, sizeof(*c)};
	c->arg0 = EPFD;
	c->timeout_us = timeout_us;
	c->dur = (uint32_t)(US(exit_us) - US(enter_us));
	c->ret = ret;
	c->sys = WAIT_SYS_EPOLL_WAIT;
	f->ptr[f->n] = c;
	f->n++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	model_init(&f->m);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	model_free(&f->m);
	free(f);
	return 0;
}

/*
 * A loop: 6 waits of 1 ms each (infinite timeout) with 100 µs busy gaps on CPU, except the
 * third gap, which blocks 50 ms in nanosleep from 0x401234 — the blocked handler.
 */
static void blocked_loop(struct fixture *f)
{
	uint64_t t = 1000;
	struct model *m = &f->m;

	task(m, 0, LOOP, "loop");
	task(m, 0, CLIENT, "client");
	run(m, US(t), LOOP);
	for (int i = 0; i < 6; i++) {
		/* the wait: the thread sleeps in epoll_wait and is woken by the client's write */
		block(m, US(t) + 100, LOOP, NR_EPOLL_WAIT, EPFD, 0);
		wake(m, US(t + 1000) - 200, LOOP, CLIENT, NR_WRITE, 7);
		run(m, US(t + 1000) - 100, LOOP);
		call(f, t, t + 1000, -1, 1);
		t += 1000;
		if (i == 2) {	/* the busy gap with the blocking call */
			block(m, US(t + 20), LOOP, NR_CLOCK_NANOSLEEP, 0, 0x401234);
			wake(m, US(t + 50020), LOOP, 0, -1, 0);
			run(m, US(t + 50030), LOOP);
			t += 50100;
		} else {
			t += 100;
		}
	}
	model_finish(m, US(t + 10));
}

static void test_finds_loop_and_splits_gaps(void **state)
{
	struct fixture *f = *state;
	struct loops L;
	const struct loop *l;

	blocked_loop(f);
	loops_analyze(&L, &f->m, f->ptr, f->n, NULL);
	assert_int_equal(L.n, 1);
	l = &L.v[0];
	assert_int_equal(l->tid, LOOP);
	assert_int_equal(l->pid, PID);
	assert_string_equal(l->comm, "loop");
	assert_int_equal(l->ncalls, 6);
	assert_int_equal(l->wait_fd, EPFD);
	assert_int_equal(l->sys, WAIT_SYS_EPOLL_WAIT);
	assert_int_equal(l->idle, US(6000));
	assert_int_equal(l->ngaps, 5);
	assert_int_equal(l->busy, US(4 * 100 + 50100));
	assert_int_equal(l->gap_max, US(50100));
	assert_int_equal(l->events, 6);
	/* the longest gap comes first and is mostly the nanosleep */
	assert_true(l->ntop >= 1);
	assert_int_equal(l->top[0].end - l->top[0].start, US(50100));
	assert_int_equal(l->top[0].blocked, US(50000));
	assert_int_equal(l->top[0].runnable, US(10));
	assert_int_equal(l->top[0].on_cpu, US(90));
	assert_int_equal(l->top[0].w.nr, NR_CLOCK_NANOSLEEP);
	assert_int_equal(l->top[0].w.ret_addr, 0x401234);
	/* the other gaps are on CPU */
	assert_int_equal(l->top[1].on_cpu, US(100));
	assert_int_equal(l->top[1].blocked, 0);
	/* the blocking call, called out with its duration */
	assert_true(l->nblocks >= 1);
	assert_int_equal(l->blocks[0].w.kind, WK_SLEEP);
	assert_int_equal(l->blocks[0].max, US(50000));
	assert_int_equal(l->blocks[0].count, 1);
	assert_true(l->blocks[0].max >= L.o.block_ns);
	/* the epoll sleeps are inside waits, so they are not gaps' blocked time */
	assert_int_equal(l->gap_blocked, US(50000));
	/* every wait had no timeout */
	assert_int_equal(l->ntimeouts, 1);
	assert_int_equal(l->timeouts[0].us, -1);
	assert_int_equal(l->timeouts[0].count, 6);
	assert_int_equal(l->lag_n, 0);
	/* fds: the epoll fd, and the client's writes on fd 7 that woke the loop 6 times */
	int saw_wait = 0, saw_waker = 0;

	for (size_t i = 0; i < l->nfds; i++) {
		if (l->fds[i].role == LFD_WAIT && l->fds[i].fd == EPFD)
			saw_wait = l->fds[i].other == 6;
		if (l->fds[i].role == LFD_WAKER && l->fds[i].fd == 7 && l->fds[i].waker == CLIENT)
			saw_waker = l->fds[i].other == 6;
	}
	assert_true(saw_wait);
	assert_true(saw_waker);
	loops_free(&L);
}

static void test_few_calls_is_not_a_loop(void **state)
{
	struct fixture *f = *state;
	struct loops L;

	task(&f->m, 0, LOOP, "once");
	call(f, 10, 20, 100, 0);
	call(f, 30, 40, 100, 0);
	model_finish(&f->m, US(50));
	loops_analyze(&L, &f->m, f->ptr, f->n, NULL);
	assert_int_equal(L.n, 0);
	assert_int_equal(L.calls, 2);
	loops_free(&L);
	/* with min_calls lowered, it is one */
	struct loops_opts o = {.min_calls = 2};

	loops_analyze(&L, &f->m, f->ptr, f->n, &o);
	assert_int_equal(L.n, 1);
	assert_int_equal(L.v[0].timed_out, 2);
	loops_free(&L);
}

/*
 * Timers: waits with a 10 ms timeout that time out on time (lag ~0), then one whose deadline
 * falls in a 30 ms busy gap: the loop comes back 20 ms late, with a zero-timeout wait.
 */
static void test_timer_lag(void **state)
{
	struct fixture *f = *state;
	struct loops L;
	const struct loop *l;

	task(&f->m, 0, LOOP, "asyncio");
	call(f, 0, 10000, 10000, 0);		/* deadline 10000, back at 10000 */
	call(f, 10010, 20010, 10000, 0);	/* deadline 20010, back at 20010 */
	call(f, 20020, 20030, 10000, 1);	/* an event; its deadline 30020 ... */
	/* ... falls in the busy gap 20030 .. 50030 */
	call(f, 50030, 50031, 0, 0);		/* served at 50031: 20 ms late */
	call(f, 50040, 60040, 10000, 0);
	model_finish(&f->m, US(60100));
	loops_analyze(&L, &f->m, f->ptr, f->n, NULL);
	assert_int_equal(L.n, 1);
	l = &L.v[0];
	assert_int_equal(l->zero_timeout_calls, 1);
	assert_int_equal(l->timeouts[0].us, 10000);
	assert_int_equal(l->timeouts[0].count, 4);
	assert_int_equal(l->lag_n, 4);
	assert_int_equal(l->lag_max, US(50031 - 30020));
	assert_int_equal(l->lag_max_at, US(30020));
	assert_int_equal(l->gap_max, US(30000));
	/* no thread history: the gap is unexplained, not invented */
	assert_int_equal(l->gap_on_cpu + l->gap_blocked + l->gap_runnable, 0);
	loops_free(&L);
}

static void test_long_wait_in_microseconds(void **state)
{
	struct fixture *f = *state;
	struct ev_waitcall c = {{US(6000000), LOOP, EV_WAITCALL, sizeof(c)}, 3, -1, 5000000, 0,
				WAIT_SYS_POLL, WAITF_DUR_US};

	(void)f;
	assert_int_equal(waitcall_dur(&c), 5000000000ull);
	assert_string_equal(wait_sys_name(WAIT_SYS_IO_URING_ENTER), "io_uring_enter");
	assert_string_equal(wait_sys_name(99), "?");
}

static void test_hist_quantile(void **state)
{
	uint64_t h[LOOP_HIST] = {};

	(void)state;
	assert_int_equal(loops_hist_quantile(h, LOOP_HIST, 0.5), 0);
	h[3] = 9;	/* [8, 16) */
	h[10] = 1;	/* [1024, 2048) */
	assert_int_equal(loops_hist_quantile(h, LOOP_HIST, 0.5), 16);
	assert_int_equal(loops_hist_quantile(h, LOOP_HIST, 0.99), 2048);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_finds_loop_and_splits_gaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_few_calls_is_not_a_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_lag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_wait_in_microseconds, setup, teardown),
		cmocka_unit_test(test_hist_quantile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
