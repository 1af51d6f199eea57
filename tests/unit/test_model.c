/* test_model.c — the thread state machine on synthetic event sequences. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/model.h"

#define PID 100
#define A 101
#define B 102
#define MUTEX 0x5000

static void task(struct model *m, uint64_t ts, uint32_t tid, const char *comm)
{
	struct ev_meta_task t = {{ts, tid, EV_META_TASK, sizeof(t)}, PID, 1, ""};

	strncpy(t.comm, comm, sizeof(t.comm) - 1);
	model_event(m, &t.hdr);
}

static void sw(struct model *m, uint64_t ts, uint32_t prev, uint32_t next, int state, int cpu)
{
	struct ev_switch s = {{ts, prev, EV_SWITCH, sizeof(s)}, next, cpu, state, 0};

	model_event(m, &s.hdr);
}

/* prev blocks in futex(addr, op, val) with the words seen at block time */
static void sleep_futex(struct model *m, uint64_t ts, uint32_t prev, uint32_t next, uint64_t addr,
			uint32_t op, uint32_t val, uint32_t w0, uint32_t w4, uint32_t w8)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, prev, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.next_tid = next;
	s.sw.prev_state = TS_SLEEPING;
	s.nr = 202;
	s.arg0 = addr;
	s.arg1 = op;
	s.arg2 = val;
	s.word0 = w0;
	s.word4 = w4;
	s.word8 = w8;
	s.stack_id = -1;
	model_event(m, &s.sw.hdr);
}

static void wake(struct model *m, uint64_t ts, uint32_t wakee, uint32_t waker, uint64_t obj)
{
	struct ev_wakeup w = {{ts, wakee, EV_WAKEUP, sizeof(w)}, obj, waker, 202, 0};

	model_event(m, &w.hdr);
}

/* prev goes to sleep in syscall nr (no futex) */
static void sleep_in(struct model *m, uint64_t ts, uint32_t prev, uint32_t next, int nr)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, prev, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.next_tid = next;
	s.sw.prev_state = TS_SLEEPING;
	s.nr = nr;
	s.stack_id = -1;
	model_event(m, &s.sw.hdr);
}

static void wake_nr(struct model *m, uint64_t ts, uint32_t wakee, uint32_t waker, int nr)
{
	struct ev_wakeup w = {{ts, wakee, EV_WAKEUP, sizeof(w)}, 0, waker, (int16_t)nr, 0};

	model_event(m, &w.hdr);
}

static void exit_ev(struct model *m, uint64_t ts, uint32_t tid)
{
	struct ev_exit e = {};

	e.hdr = (struct ev_hdr){ts, tid, EV_EXIT, sizeof(e)};
	e.pid = PID;
	e.exit_code = 9;
	model_event(m, &e.hdr);
}

/* A model with threads A and B of PID, A just switched in on CPU 0. */
static void start_a_and_b(struct model *m)
{
	model_init(m);
	task(m, 0, A, "a");
	task(m, 0, B, "b");
	sw(m, 10, 0, A, TS_RUNNABLE, 0);
}

/* The probe's waker is the current task, which in an interrupt (the timer that ends a sleep, a
 * disk) is whatever ran on that CPU: a waker is kept only from a syscall that can wake the
 * wait, or on its way out. */
static void test_sleep_woken_by_timer(void **state)
{
	struct model m;
	const struct m_thread *a;
	uint32_t wakers[6];
	size_t n = 0;

	(void)state;
	start_a_and_b(&m);
	sleep_in(&m, 20, A, B, 230);		/* clock_nanosleep; B runs in user space */
	wake_nr(&m, 40, A, B, -1);		/* the timer, in B's context */
	sw(&m, 50, B, A, TS_RUNNABLE, 0);
	sleep_in(&m, 60, A, B, 230);
	wake_nr(&m, 70, A, B, 234);		/* B's tgkill: a signal ends it early */
	sw(&m, 80, B, A, TS_RUNNABLE, 0);
	sleep_in(&m, 90, A, B, 34);		/* pause(): B in a syscall that sends nothing */
	wake_nr(&m, 95, A, B, 0);
	sw(&m, 96, B, A, TS_RUNNABLE, 0);
	sleep_in(&m, 100, A, B, 0);		/* read(): B's write would wake it */
	wake_nr(&m, 110, A, B, 1);
	sw(&m, 111, B, A, TS_RUNNABLE, 0);
	sleep_in(&m, 120, A, B, 0);		/* an interrupt in B's user space ends it: a disk */
	wake_nr(&m, 130, A, B, -1);
	sw(&m, 131, B, A, TS_RUNNABLE, 0);
	sleep_in(&m, 140, A, B, 0);		/* B, killed in user space, closes the pipe */
	exit_ev(&m, 145, B);
	wake_nr(&m, 150, A, B, -1);
	model_finish(&m, 160);
	a = model_thread(&m, A);
	for (size_t i = 0; i < a->niv; i++)
		if (a->iv[i].state == TH_BLOCKED && n < 6)
			wakers[n++] = a->iv[i].waker;
	assert_int_equal(n, 6);
	assert_int_equal(wakers[0], 0);
	assert_int_equal(wakers[1], B);
	assert_int_equal(wakers[2], 0);
	assert_int_equal(wakers[3], B);		/* a write: B's */
	assert_int_equal(wakers[4], 0);
	assert_int_equal(wakers[5], B);		/* on its way out */
	model_free(&m);
}

/* The same for a timed futex wait (a GIL wait, a Condition wait with a timeout): a waker in a
 * futex call on another word, or in any other call that cannot end it, is the interrupt that
 * found it there; the wait timed out and no thread woke it. A wake on its own word is kept. */
static void test_timed_futex_woken_by_timer(void **state)
{
	struct model m;
	const struct m_thread *a;
	struct ev_wakeup w;
	uint32_t wakers[3];
	int timed_out[3];
	size_t n = 0;

	(void)state;
	start_a_and_b(&m);
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = 20 + 100 * (uint64_t)i;
		struct ev_switch_sleep s = {};

		s.sw.hdr = (struct ev_hdr){t0, A, EV_SWITCH_SLEEP, sizeof(s)};
		s.sw.next_tid = B;
		s.sw.prev_state = TS_SLEEPING;
		s.sw.flags = SWF_TIMED;
		s.nr = 202;
		s.arg0 = 0x1000;		/* a condvar's word, waited on with a timeout */
		s.arg1 = 9;			/* FUTEX_WAIT_BITSET */
		s.stack_id = -1;
		model_event(&m, &s.sw.hdr);
		/* B in a read, in a futex call on another word, then waking this one */
		w = (struct ev_wakeup){{t0 + 50, A, EV_WAKEUP, sizeof(w)}, i == 1 ? 0x2000 : 0x1000,
				       B, (int16_t)(i == 0 ? 0 : 202), 0};
		model_event(&m, &w.hdr);
		sw(&m, t0 + 60, B, A, TS_RUNNABLE, 0);
	}
	model_finish(&m, 400);
	a = model_thread(&m, A);
	for (size_t i = 0; i < a->niv; i++)
		if (a->iv[i].state == TH_BLOCKED && n < 3) {
			wakers[n] = a->iv[i].waker;
			timed_out[n++] = a->iv[i].w.timed_out;
		}
	assert_int_equal(n, 3);
	assert_int_equal(wakers[0], 0);
	assert_int_equal(timed_out[0], 1);
	assert_int_equal(wakers[1], 0);
	assert_int_equal(timed_out[1], 1);
	assert_int_equal(wakers[2], B);
	assert_int_equal(timed_out[2], 0);
	model_free(&m);
}

static void test_preemption(void **state)
{
	struct model m;
	struct m_thread *a;

	(void)state;
	model_init(&m);
	task(&m, 0, A, "a");
	sw(&m, 10, 0, A, TS_RUNNABLE, 0);
	sw(&m, 30, A, 0, TS_RUNNABLE, 0);	/* preempted */
	sw(&m, 50, 0, A, TS_RUNNABLE, 1);
	model_finish(&m, 60);
	a = model_thread(&m, A);
	assert_non_null(a);
	assert_int_equal(a->time_in[TH_RUNNING], 20 + 10);
	assert_int_equal(a->time_in[TH_RUNNABLE], 20);
	assert_int_equal(a->preemptions, 1);
	assert_int_equal(a->state, TH_RUNNING);
	assert_int_equal(a->cpu, 1);
	for (int k = 0; k < AN_NKINDS; k++)
		assert_int_equal(m.anomalies[k], 0);
	model_free(&m);
}

static void test_mutex_block_and_wakeup(void **state)
{
	struct model m;
	struct m_thread *a;
	const struct m_interval *blk = NULL;

	(void)state;
	start_a_and_b(&m);
	/* A waits for a mutex held by B: futex(MUTEX, FUTEX_WAIT_PRIVATE, 2), __owner = B */
	sleep_futex(&m, 20, A, B, MUTEX, 0x80, 2, 2, 0, B);
	wake(&m, 120, A, B, MUTEX);
	sw(&m, 130, B, A, TS_RUNNABLE, 0);
	model_finish(&m, 140);
	a = model_thread(&m, A);
	for (size_t i = 0; i < a->niv; i++)
		if (a->iv[i].state == TH_BLOCKED)
			blk = &a->iv[i];
	assert_non_null(blk);
	assert_int_equal(blk->start, 20);
	assert_int_equal(blk->end, 120);
	assert_int_equal(blk->w.kind, WK_MUTEX);
	assert_int_equal(blk->w.holder, B);
	assert_int_equal(blk->waker, B);
	assert_int_equal(a->blocked_in[BC_FUTEX], 100);
	assert_int_equal(a->time_in[TH_RUNNABLE], 10);
	model_free(&m);
}

static void test_classify_join_sem_condvar(void **state)
{
	struct model m;
	struct m_thread *a;

	(void)state;
	model_init(&m);
	task(&m, 0, A, "a");
	task(&m, 0, B, "b");
	/* join: FUTEX_WAIT_BITSET on B's tid word with value B */
	sleep_futex(&m, 10, A, 0, 0x7000, 0x89, B, B, 0, 0);
	assert_int_equal(model_thread(&m, A)->wait.kind, WK_JOIN);
	assert_int_equal(model_thread(&m, A)->wait.holder, B);
	wake(&m, 20, A, B, 0x7000);
	sw(&m, 21, 0, A, TS_RUNNABLE, 0);
	/* semaphore: value 0, one waiter counted at +4, `private` (LLL_PRIVATE = 0) at +8 */
	sleep_futex(&m, 30, A, 0, 0x8000, 0x89, 0, 0, 1, 0);
	assert_int_equal(model_thread(&m, A)->wait.kind, WK_SEMAPHORE);
	wake(&m, 40, A, B, 0x8000);
	sw(&m, 41, 0, A, TS_RUNNABLE, 0);
	/* condvar: a bitset wait that is neither, even with a non-zero word after it */
	sleep_futex(&m, 50, A, 0, 0x9028, 0x89, 0, 0, 3, 77);
	a = model_thread(&m, A);
	assert_int_equal(a->wait.kind, WK_CONDVAR);
	model_finish(&m, 60);
	assert_int_equal(a->state, TH_BLOCKED);
	model_free(&m);
}

static void test_condvar_word_not_semaphore(void **state)
{
	struct model m;
	struct m_thread *a;

	(void)state;
	model_init(&m);
	task(&m, 0, A, "a");
	task(&m, 0, B, "b");
	/* the cond's g_signals[0] at 0x9028, with g_signals[1] = 2 at +4: looks like a sem_t */
	sleep_futex(&m, 10, A, 0, 0x9028, 0x189, 0, 0, 2, 0);
	wake(&m, 20, A, B, 0x9028);
	sw(&m, 21, 0, A, TS_RUNNABLE, 0);
	/* the other signal word, waited on with nothing at +4: a condvar for sure */
	sleep_futex(&m, 30, A, 0, 0x902c, 0x189, 0, 0, 0, 0);
	model_finish(&m, 40);
	a = model_thread(&m, A);
	for (size_t i = 0; i < a->niv; i++)
		if (a->iv[i].state == TH_BLOCKED)
			assert_int_equal(a->iv[i].w.kind, WK_CONDVAR);
	assert_int_equal(a->wait.kind, WK_CONDVAR);
	model_free(&m);
}

static void test_exit_while_blocked_and_anomaly(void **state)
{
	struct model m;
	struct ev_exit e = {{100, A, EV_EXIT, sizeof(e)}, PID, 0, EXITF_GROUP_DEAD, 0};

	(void)state;
	model_init(&m);
	task(&m, 0, A, "a");
	sw(&m, 10, 0, A, TS_RUNNABLE, 0);
	sleep_futex(&m, 20, A, 0, MUTEX, 0x80, 2, 2, 0, 4242);
	/* switched in again with no wakeup seen: counted, not hidden */
	sw(&m, 50, 0, A, TS_RUNNABLE, 0);
	assert_int_equal(m.anomalies[AN_SWITCH_IN_BLOCKED], 1);
	model_event(&m, &e.hdr);
	sw(&m, 110, A, 0, TS_DEAD, 0);
	model_finish(&m, 200);
	assert_int_equal(model_thread(&m, A)->state, TH_EXITED);
	assert_true(model_process(&m, PID)->exited);
	model_free(&m);
}

/* A thread preempted after its exit record and switched in again to finish tearing down, the
 * trace ending before its final switch-out: it exited, it is not running till the end. */
static void test_exit_then_switched_in_again(void **state)
{
	struct model m;
	struct ev_exit e = {{100, A, EV_EXIT, sizeof(e)}, PID, 9, EXITF_GROUP_DEAD, 0};
	const struct m_thread *a;

	(void)state;
	model_init(&m);
	task(&m, 0, A, "a");
	sw(&m, 10, 0, A, TS_RUNNABLE, 0);
	model_event(&m, &e.hdr);
	sw(&m, 120, A, 0, TS_RUNNABLE, 0);	/* preempted while exiting */
	sw(&m, 130, 0, A, TS_RUNNABLE, 0);
	model_finish(&m, 1000);
	a = model_thread(&m, A);
	assert_int_equal(a->state, TH_EXITED);
	assert_true(a->exited);
	assert_int_equal(a->time_in[TH_RUNNING], 110);
	model_free(&m);
}

static void test_equal_time_across_cpus(void **state)
{
	struct model m;
	struct m_thread *b;

	(void)state;
	model_init(&m);
	task(&m, 0, A, "a");
	task(&m, 0, B, "b");
	sw(&m, 10, 0, B, TS_RUNNABLE, 1);
	sleep_futex(&m, 20, B, 0, MUTEX, 0x80, 2, 2, 0, A);
	/* wakeup and switch-in at the same nanosecond on two CPUs: no negative time */
	wake(&m, 30, B, A, MUTEX);
	sw(&m, 30, 0, B, TS_RUNNABLE, 0);
	model_finish(&m, 40);
	b = model_thread(&m, B);
	assert_int_equal(b->time_in[TH_RUNNABLE], 0);
	assert_int_equal(b->time_in[TH_RUNNING], 10 + 10);
	assert_int_equal(b->blocked_in[BC_FUTEX], 10);
	model_free(&m);
}

static void test_loss_marks_uncertain(void **state)
{
	struct model m;
	struct ev_meta_lost l = {};
	struct m_thread *a;
	int uncertain = 0;

	(void)state;
	model_init(&m);
	task(&m, 0, A, "a");
	sw(&m, 10, 0, A, TS_RUNNABLE, 0);
	l.hdr = (struct ev_hdr){1000, 0, EV_META_LOST, sizeof(l)};
	model_event(&m, &l.hdr);	/* nothing lost yet */
	sw(&m, 1500, A, 0, TS_RUNNABLE, 0);
	l.hdr.ts = 2000;
	l.count[LOST_RINGBUF] = 7;
	model_event(&m, &l.hdr);
	model_finish(&m, 3000);
	assert_int_equal(model_lost_total(&m), 7);
	a = model_thread(&m, A);
	for (size_t i = 0; i < a->niv; i++)
		if (a->iv[i].flags & IV_UNCERTAIN)
			uncertain++;
	assert_true(uncertain > 0);
	assert_true(model_uncertain(&m, 1200, 1300));
	assert_false(model_uncertain(&m, 10, 500));
	model_free(&m);
}

static void test_fork_exec_tree(void **state)
{
	struct model m;
	struct ev_fork f = {{10, 200, EV_FORK, sizeof(f)}, A, PID, 200, 0, "child"};
	struct ev_exec e = {{20, 200, EV_EXEC, sizeof(e)}, 200, 200, "sh", "/bin/sh"};
	struct ev_fork th = {{30, 201, EV_FORK, sizeof(th)}, 200, 200, 200, FORKF_THREAD, "sh"};
	struct m_process *c;

	(void)state;
	model_init(&m);
	task(&m, 0, PID, "parent");
	model_event(&m, &f.hdr);
	model_event(&m, &e.hdr);
	model_event(&m, &th.hdr);
	model_finish(&m, 40);
	c = model_process(&m, 200);
	assert_non_null(c);
	assert_int_equal(c->ppid, PID);
	assert_int_equal(c->execs, 1);
	assert_string_equal(c->exe, "/bin/sh");
	assert_int_equal(c->threads_created, 1);
	assert_int_equal(model_process(&m, PID)->forks, 1);
	assert_int_equal(model_thread(&m, 201)->pid, 200);
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preemption),
		cmocka_unit_test(test_mutex_block_and_wakeup),
		cmocka_unit_test(test_classify_join_sem_condvar),
		cmocka_unit_test(test_condvar_word_not_semaphore),
		cmocka_unit_test(test_exit_while_blocked_and_anomaly),
		cmocka_unit_test(test_exit_then_switched_in_again),
		cmocka_unit_test(test_equal_time_across_cpus),
		cmocka_unit_test(test_loss_marks_uncertain),
		cmocka_unit_test(test_fork_exec_tree),
		cmocka_unit_test(test_sleep_woken_by_timer),
		cmocka_unit_test(test_timed_futex_woken_by_timer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
