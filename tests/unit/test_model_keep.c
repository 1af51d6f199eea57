/* test_model_keep.c — what the model keeps for a report: the same records fed to a model that
 * keeps everything and to one that keeps part (the blocked intervals, each thread's last mutex
 * wait, a time window); the part must be exactly that part of the whole, and the totals the
 * whole's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/model.h"
#include "syscalls.h"

#define PID 100
#define A 101
#define B 102
#define MUTEX 0x5000
#define ROUNDS 100

static void sw(struct model *m, uint64_t ts, uint32_t prev, uint32_t next)
{
	struct ev_switch s = {{ts, prev, EV_SWITCH, sizeof(s)}, next, 0, TS_RUNNABLE, 0};

	model_event(m, &s.hdr);
}

/* prev goes to sleep: on the mutex (held by B: its tid in __owner) or in nanosleep */
static void sleep_on(struct model *m, uint64_t ts, uint32_t prev, uint32_t next, int mutex)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, prev, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.next_tid = next;
	s.sw.prev_state = TS_SLEEPING;
	s.nr = mutex ? NR_FUTEX : 35;	/* nanosleep */
	s.arg0 = mutex ? MUTEX : 0;
	s.arg1 = 128;			/* FUTEX_WAIT_PRIVATE */
	s.arg2 = 2;
	s.word0 = 2;
	s.word8 = B;
	s.stack_id = -1;
	model_event(m, &s.sw.hdr);
}

static void wake(struct model *m, uint64_t ts, uint32_t wakee, uint32_t waker)
{
	struct ev_wakeup w = {{ts, wakee, EV_WAKEUP, sizeof(w)}, MUTEX, waker, NR_FUTEX, 0};

	model_event(m, &w.hdr);
}

/* A waits on the mutex B holds, then sleeps on a timer, ROUNDS times; B runs in between. */
static void feed(struct model *m)
{
	struct ev_fork f = {{1, B, EV_FORK, sizeof(f)}, A, PID, PID, FORKF_THREAD, "b"};

	model_event(m, &f.hdr);
	for (uint64_t r = 0; r < ROUNDS; r++) {
		uint64_t t = 1000 + 1000 * r;

		sw(m, t, 0, A);
		wake(m, t + 50, A, B);	/* A still on its CPU: changes nothing */
		sleep_on(m, t + 100, A, B, 1);
		wake(m, t + 300, A, B);
		sleep_on(m, t + 400, B, A, 0);
		sleep_on(m, t + 500, A, 0, 0);
		wake(m, t + 900, A, 0);
		wake(m, t + 950, B, 0);
	}
	model_finish(m, 0);
}

static void build(struct model *m, const struct m_keep *k)
{
	model_init(m);
	if (k)
		m->keep = *k;
	feed(m);
}

static int same_iv(const struct m_interval *x, const struct m_interval *y)
{
	return x->start == y->start && x->end == y->end && x->state == y->state &&
	       x->w.kind == y->w.kind && x->w.obj == y->w.obj && x->waker == y->waker;
}

static void test_blocked_only(void **state)
{
	struct m_keep k = {.history = HIST_BLOCKED};
	struct model all, part;

	(void)state;
	build(&all, NULL);
	build(&part, &k);
	for (uint32_t tid = A; tid <= B; tid++) {
		const struct m_thread *ta = model_thread(&all, tid), *tp = model_thread(&part, tid);
		size_t j = 0;

		for (size_t i = 0; i < ta->niv; i++) {
			if (ta->iv[i].state != TH_BLOCKED)
				continue;
			assert_true(j < tp->niv);
			assert_true(same_iv(&ta->iv[i], &tp->iv[j]));
			/* its wakeup is kept, at its index, when it ended by one */
			if (ta->iv[i].wakeup >= 0) {
				assert_true(tp->iv[j].wakeup >= 0);
				assert_int_equal(part.wakeups[tp->iv[j].wakeup].ts,
						 all.wakeups[ta->iv[i].wakeup].ts);
			}
			j++;
		}
		assert_int_equal(j, tp->niv);
		assert_true(j >= ROUNDS);
		assert_memory_equal(ta->time_in, tp->time_in, sizeof(ta->time_in));
		assert_memory_equal(ta->blocked_in, tp->blocked_in, sizeof(ta->blocked_in));
	}
	/* the wakeups that end no blocked interval (A woken while running) are not kept */
	assert_true(part.nwakeups < all.nwakeups);
	model_free(&all);
	model_free(&part);
}

/* The summary's mode: of the wakeups, only messages (a waker writing): none here. */
static void test_message_wakeups_only(void **state)
{
	struct m_keep k = {.history = HIST_BLOCKED, .message_wakeups_only = 1};
	struct model part;
	const struct m_thread *t;

	(void)state;
	build(&part, &k);
	t = model_thread(&part, A);
	assert_true(t->niv >= 2 * ROUNDS);
	assert_int_equal(part.nwakeups, 0);
	for (size_t i = 0; i < t->niv; i++)
		assert_int_equal(t->iv[i].wakeup, -1);
	model_free(&part);
}

/* The connections table's mode: the waits a message ended (here B's write ends A's mutex wait
 * every third round) and the blocked interval after each, nothing else. */
static void test_messages(void **state)
{
	struct m_keep k = {.history = HIST_MESSAGES, .message_wakeups_only = 1};
	struct model all, part;
	const struct m_thread *ta, *tp;
	size_t j = 0, after = 0;

	(void)state;
	for (int w = 0; w < 2; w++) {
		struct model *m = w ? &part : &all;
		struct ev_fork f = {{1, B, EV_FORK, sizeof(f)}, A, PID, PID, FORKF_THREAD, "b"};

		model_init(m);
		if (w)
			m->keep = k;
		model_event(m, &f.hdr);
		for (uint64_t r = 0; r < ROUNDS; r++) {
			uint64_t t = 1000 + 1000 * r;
			struct ev_wakeup wr = {{t + 300, A, EV_WAKEUP, sizeof(wr)}, 7, B, 1, 0};

			sw(m, t, 0, A);
			sleep_on(m, t + 100, A, B, 1);
			if (r % 3 == 0)
				model_event(m, &wr.hdr);	/* B's write(7, ...) */
			else
				wake(m, t + 300, A, B);
			sleep_on(m, t + 400, B, A, 0);
			sleep_on(m, t + 500, A, 0, 0);
			wake(m, t + 900, A, 0);
			wake(m, t + 950, B, 0);
		}
		model_finish(m, 0);
	}
	ta = model_thread(&all, A);
	tp = model_thread(&part, A);
	for (size_t i = 0; i < ta->niv; i++) {
		int message = ta->iv[i].state == TH_BLOCKED && ta->iv[i].wakeup >= 0 &&
			      all.wakeups[ta->iv[i].wakeup].waker_nr == 1;

		if (ta->iv[i].state != TH_BLOCKED || (!message && !after))
			continue;
		assert_true(j < tp->niv);
		assert_true(same_iv(&ta->iv[i], &tp->iv[j]));
		assert_int_equal(tp->iv[j].wakeup >= 0, message);
		j++;
		after = message;
	}
	assert_int_equal(j, tp->niv);
	assert_int_equal(j, 2 * ((ROUNDS + 2) / 3));
	assert_int_equal(part.nwakeups, (ROUNDS + 2) / 3);
	assert_int_equal(model_thread(&part, B)->niv, 0);
	model_free(&all);
	model_free(&part);
}

static void test_last_mutex_wait(void **state)
{
	struct m_keep k = {.history = HIST_LAST_MUTEX};
	struct model all, part;
	const struct m_thread *ta, *tp;
	const struct m_interval *last_mutex = NULL, *last_blocked = NULL;

	(void)state;
	build(&all, NULL);
	build(&part, &k);
	ta = model_thread(&all, A);
	tp = model_thread(&part, A);
	for (size_t i = 0; i < ta->niv; i++)
		if (ta->iv[i].state == TH_BLOCKED) {
			last_blocked = &ta->iv[i];
			if (ta->iv[i].w.kind == WK_MUTEX)
				last_mutex = &ta->iv[i];
		}
	assert_non_null(last_mutex);
	assert_int_equal(last_mutex->w.kind, WK_MUTEX);
	assert_int_equal(last_mutex->w.holder, B);
	/* the last mutex wait and the last blocked interval after it: two, whatever ROUNDS is */
	assert_int_equal(tp->niv, 2);
	assert_true(same_iv(&tp->iv[0], last_mutex));
	assert_true(same_iv(&tp->iv[1], last_blocked));
	assert_true(tp->iv[0].wakeup >= 0);
	assert_int_equal(part.wakeups[tp->iv[0].wakeup].waker, B);
	/* one wakeup kept per thread, the last mutex wait's, written over the one before */
	assert_int_equal(part.nwakeups, 1);
	assert_memory_equal(ta->time_in, tp->time_in, sizeof(ta->time_in));
	model_free(&all);
	model_free(&part);
}

static void test_window(void **state)
{
	/* the window [t_first + 30000, t_first + 40000]: rounds 30 to 40 */
	struct m_keep k = {.from_ns = 30000, .to_ns = 40000, .history_window = 1};
	struct model all, part;

	(void)state;
	build(&all, NULL);
	build(&part, &k);
	uint64_t t0 = all.t_first + k.from_ns, t1 = all.t_first + k.to_ns;

	for (uint32_t tid = A; tid <= B; tid++) {
		const struct m_thread *ta = model_thread(&all, tid), *tp = model_thread(&part, tid);
		const struct m_interval *after = NULL;
		size_t j = 0;

		for (size_t i = 0; i < ta->niv; i++) {
			const struct m_interval *iv = &ta->iv[i];

			if (iv->start > t1 && iv->state == TH_BLOCKED)
				after = iv;
			if (iv->end < t0 || iv->start > t1)
				continue;
			assert_true(same_iv(iv, &tp->iv[j]));
			if (iv->wakeup >= 0 && all.wakeups[iv->wakeup].ts <= t1) {
				assert_true(tp->iv[j].wakeup >= 0);
				assert_int_equal(part.wakeups[tp->iv[j].wakeup].ts, iv->end);
			}
			j++;
		}
		/* and the last blocked interval after the window, whether another one follows */
		assert_non_null(after);
		assert_int_equal(tp->niv, j + 1);
		assert_true(same_iv(&tp->iv[j], after));
		assert_true(j > 10 && j < ta->niv / 5);
		assert_memory_equal(ta->time_in, tp->time_in, sizeof(ta->time_in));
	}
	for (size_t i = 0; i < part.nwakeups; i++)
		assert_true(part.wakeups[i].ts >= t0 && part.wakeups[i].ts <= t1);
	model_free(&all);
	model_free(&part);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocked_only),
		cmocka_unit_test(test_message_wakeups_only),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_last_mutex_wait),
		cmocka_unit_test(test_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
