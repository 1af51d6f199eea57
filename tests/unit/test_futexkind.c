/*
 * test_futexkind.c — the one futex classifier on synthetic words: the model's three-word
 * window (what the probe reads at switch-out) and the doctor's wide one, with and without an
 * expectation from the stack.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "syscalls.h"
#include "model/futexkind.h"

#define ADDR 0x7f0000001000ull	/* 8-aligned */
#define SELF 100
#define OTHER 101
#define PRIV FUTEX_PRIVATE_FLAG

/* The model's window: the words at +0, +4, +8 from a switch-out record. */
static void model_wait(struct futex_wait *w, uint64_t addr, uint32_t op, uint32_t val,
		       uint32_t w0, uint32_t w4, uint32_t w8)
{
	struct ev_switch_sleep e = {};

	e.sw.hdr.tid = SELF;
	e.nr = NR_FUTEX;
	e.arg0 = addr;
	e.arg1 = op;
	e.arg2 = val;
	e.word0 = w0;
	e.word4 = w4;
	e.word8 = w8;
	futex_wait_of_switch(w, &e);
}

/* The doctor's window: every word read, all zero until set. */
static void doctor_wait(struct futex_wait *w, uint64_t addr, uint32_t op, uint32_t val)
{
	futex_wait_init(w, addr, op, val, SELF);
	w->lo = -FK_BEFORE;
	w->hi = FK_AFTER;
	w->ok = ~0u;
}

static void set(struct futex_wait *w, int off, uint32_t v)
{
	w->words[(FK_BEFORE + off) / 4] = v;
}

static int other_is_thread(const void *ctx, uint32_t tid)
{
	(void)ctx;
	return tid == OTHER;
}

static struct futex_kind classify(const struct futex_wait *w)
{
	struct futex_kind k;

	futex_classify(w, &k);
	return k;
}

static void test_mutex_and_lock(void **state)
{
	struct futex_wait w;
	struct futex_kind k;

	(void)state;
	/* __lll_lock_wait: value 2, owner at +8 */
	model_wait(&w, ADDR, FUTEX_WAIT | PRIV, 2, 2, 0, OTHER);
	k = classify(&w);
	assert_int_equal(k.kind, FK_MUTEX);
	assert_int_equal(k.owner, OTHER);
	assert_int_equal(k.value, 2);
	/* a timed lock (__lll_clocklock_wait) waits with FUTEX_WAIT_BITSET: still the mutex */
	model_wait(&w, ADDR, FUTEX_WAIT_BITSET | PRIV, 2, 2, 0, OTHER);
	assert_int_equal(classify(&w).kind, FK_MUTEX);
	/* no owner, or not a tid (above pid_max): a glibc-internal lock */
	model_wait(&w, ADDR, FUTEX_WAIT | PRIV, 2, 2, 0, 0);
	assert_int_equal(classify(&w).kind, FK_LOCK);
	model_wait(&w, ADDR, FUTEX_WAIT | PRIV, 2, 2, 0, 0x500000);
	k = classify(&w);
	assert_int_equal(k.kind, FK_LOCK);
	assert_int_equal(k.owner, 0);
	/* a PI lock names its owner in the word */
	model_wait(&w, ADDR, FUTEX_LOCK_PI | PRIV, 0, 0x80000000u | OTHER, 0, 0);
	k = classify(&w);
	assert_int_equal(k.kind, FK_MUTEX);
	assert_int_equal(k.owner, OTHER);
}

static void test_mutex_kind_word(void **state)
{
	struct futex_wait w;
	struct futex_kind k;

	(void)state;
	/* the doctor sees __kind at +16: checked when looked at */
	doctor_wait(&w, ADDR, FUTEX_WAIT, 2);
	set(&w, 0, 2);
	set(&w, 8, OTHER);
	set(&w, 16, 128);	/* PTHREAD_MUTEX_PSHARED */
	k = classify(&w);
	assert_int_equal(k.kind, FK_MUTEX);
	assert_int_equal(k.shared, 1);
	set(&w, 16, 0x10000);	/* no mutex kind has this bit */
	assert_int_equal(classify(&w).kind, FK_LOCK);
	/* looked at but unreadable: no owner to trust */
	doctor_wait(&w, ADDR, FUTEX_WAIT | PRIV, 2);
	w.ok = 0;
	assert_int_equal(classify(&w).kind, FK_LOCK);
	/* the stack says mutex: a mutex, its owner unknown */
	w.expect = FK_MUTEX;
	k = classify(&w);
	assert_int_equal(k.kind, FK_MUTEX);
	assert_int_equal(k.owner, 0);
}

static void test_join(void **state)
{
	struct futex_wait w;
	struct futex_kind k;

	(void)state;
	model_wait(&w, ADDR, FUTEX_WAIT_BITSET, OTHER, OTHER, 0, 0);
	w.is_thread = other_is_thread;
	k = classify(&w);
	assert_int_equal(k.kind, FK_JOIN);
	assert_int_equal(k.owner, OTHER);
	/* the word moved on: the thread exited, not a join any more */
	model_wait(&w, ADDR, FUTEX_WAIT_BITSET, OTHER, 0, 0, 0);
	w.is_thread = other_is_thread;
	assert_int_not_equal(classify(&w).kind, FK_JOIN);
	/* no thread known: no join */
	model_wait(&w, ADDR, FUTEX_WAIT_BITSET, OTHER, OTHER, 0, 0);
	assert_int_not_equal(classify(&w).kind, FK_JOIN);
	/* a thread does not join itself */
	model_wait(&w, ADDR, FUTEX_WAIT_BITSET, SELF, SELF, 0, 0);
	w.is_thread = other_is_thread;
	assert_int_not_equal(classify(&w).kind, FK_JOIN);
}

static void test_semaphore(void **state)
{
	struct futex_wait w;

	(void)state;
	/* sem_wait: value 0, a waiter at +4, private (0) the inverse of FUTEX_PRIVATE_FLAG */
	model_wait(&w, ADDR, FUTEX_WAIT_BITSET | PRIV, 0, 0, 1, 0);
	assert_int_equal(classify(&w).kind, FK_SEMAPHORE);
	assert_int_equal(classify(&w).shared, 0);
	model_wait(&w, ADDR, FUTEX_WAIT_BITSET, 0, 0, 3, 128);	/* process-shared */
	assert_int_equal(classify(&w).kind, FK_SEMAPHORE);
	assert_int_equal(classify(&w).shared, 1);
	/* `private` that does not match the op, no waiter, or not 8-aligned: a condvar */
	model_wait(&w, ADDR, FUTEX_WAIT_BITSET | PRIV, 0, 0, 1, 128);
	assert_int_equal(classify(&w).kind, FK_CONDVAR);
	model_wait(&w, ADDR, FUTEX_WAIT_BITSET | PRIV, 0, 0, 0, 0);
	assert_int_equal(classify(&w).kind, FK_CONDVAR);
	model_wait(&w, ADDR + 4, FUTEX_WAIT_BITSET | PRIV, 0, 0, 1, 0);
	assert_int_equal(classify(&w).kind, FK_CONDVAR);
	/* the doctor also sees the padding at +12 */
	doctor_wait(&w, ADDR, FUTEX_WAIT_BITSET | PRIV, 0);
	set(&w, 4, 2);
	assert_int_equal(classify(&w).kind, FK_SEMAPHORE);
	set(&w, 12, 7);
	assert_int_equal(classify(&w).kind, FK_FUTEX);
}

static void test_condvar(void **state)
{
	struct futex_wait w;
	struct futex_kind k;

	(void)state;
	/* the model cannot see __g_refs: a bitset wait that is no semaphore is presumed one */
	model_wait(&w, ADDR + 40, FUTEX_WAIT_BITSET | PRIV, 0, 0, 0, 0);
	k = classify(&w);
	assert_int_equal(k.kind, FK_CONDVAR);
	assert_int_equal(k.obj, ADDR + 40);
	/* the doctor checks: __g_refs[0] at -24, __wrefs at -4 from __g_signals[0] (+40) */
	doctor_wait(&w, ADDR + 40, FUTEX_WAIT_BITSET | PRIV, 0);
	assert_int_equal(classify(&w).kind, FK_FUTEX);
	set(&w, -24, 2);
	set(&w, -4, 8);
	k = classify(&w);
	assert_int_equal(k.kind, FK_CONDVAR);
	assert_int_equal(k.obj, ADDR);
	/* __g_signals[1] (+44): __wrefs is 8 bytes back */
	doctor_wait(&w, ADDR + 44, FUTEX_WAIT_BITSET | PRIV, 0);
	set(&w, -24, 2);
	set(&w, -8, 8);
	assert_int_equal(classify(&w).obj, ADDR);
	/* the stack says condvar: the start from the word's offset */
	doctor_wait(&w, ADDR + 44, FUTEX_WAIT_BITSET | PRIV, 0);
	w.expect = FK_CONDVAR;
	k = classify(&w);
	assert_int_equal(k.kind, FK_CONDVAR);
	assert_int_equal(k.obj, ADDR);
	/* FUTEX_WAIT_REQUEUE_PI is a condvar by its op */
	model_wait(&w, ADDR, FUTEX_WAIT_REQUEUE_PI, 0, 0, 0, 0);
	assert_int_equal(classify(&w).kind, FK_CONDVAR);
}

static void test_expected_kinds(void **state)
{
	struct futex_wait w;
	struct futex_kind k;

	(void)state;
	/* rwlock: the waiter on __writers_futex (+12 from the start)... */
	doctor_wait(&w, ADDR + 12, FUTEX_WAIT_BITSET | PRIV, 1);
	set(&w, -12 + 24, OTHER);	/* __cur_writer */
	set(&w, -12 + 28, 0);		/* __shared */
	set(&w, -8 + 28, 5);		/* an impossible __shared for the other base */
	w.expect = FK_RWLOCK;
	k = classify(&w);
	assert_int_equal(k.kind, FK_RWLOCK);
	assert_int_equal(k.obj, ADDR);
	assert_int_equal(k.owner, OTHER);
	/* ... only when the stack says so */
	w.expect = FK_NONE;
	assert_int_not_equal(classify(&w).kind, FK_RWLOCK);
	w.expect = FK_BARRIER;
	assert_int_equal(classify(&w).kind, FK_BARRIER);
	/* a join the words do not confirm is no join, nor anything else */
	doctor_wait(&w, ADDR, FUTEX_WAIT_BITSET | PRIV, 0);
	w.expect = FK_JOIN;
	assert_int_equal(classify(&w).kind, FK_FUTEX);
}

static void test_not_a_wait(void **state)
{
	struct futex_wait w;

	(void)state;
	model_wait(&w, ADDR, FUTEX_WAKE | PRIV, 1, 0, 0, 0);
	assert_int_equal(classify(&w).kind, FK_NOT_WAIT);
	assert_string_equal(futex_kind_name(FK_NOT_WAIT), "not-a-wait");
	assert_string_equal(futex_kind_name(FK_SEMAPHORE), "semaphore");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutex_and_lock),
		cmocka_unit_test(test_mutex_kind_word),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_semaphore),
		cmocka_unit_test(test_condvar),
		cmocka_unit_test(test_expected_kinds),
		cmocka_unit_test(test_not_a_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
