/* test_lockorder.c — cycle finding and the filters on synthetic lock-order graphs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "analysis/lockorder.h"

static void edge(struct lockorder *lo, uint64_t from, uint64_t to, pid_t tid, uint16_t flags,
		 uint64_t gate)
{
	struct lo_edge e = {.from = from, .to = to, .tid = tid, .pid = 1, .flags = flags,
			    .from_ret = 0x1000 + from, .to_ret = 0x2000 + to};

	if (gate) {
		e.held[0] = gate;
		e.nheld = 1;
	}
	lockorder_add(lo, &e);
}

static size_t cycles(struct lockorder *lo, struct lo_cycle **c)
{
	return lockorder_cycles(lo, c);
}

static void test_abba_two_threads(void **state)
{
	struct lockorder lo;
	struct lo_cycle *c;

	(void)state;
	lockorder_init(&lo);
	edge(&lo, 0xa, 0xb, 10, 0, 0);
	edge(&lo, 0xb, 0xa, 11, 0, 0);
	assert_int_equal(cycles(&lo, &c), 1);
	assert_int_equal(c[0].n, 2);
	assert_false(c[0].guarded);
	free(c);
	lockorder_free(&lo);
}

static void test_single_thread_is_not_a_deadlock(void **state)
{
	struct lockorder lo;
	struct lo_cycle *c;

	(void)state;
	lockorder_init(&lo);
	edge(&lo, 0xa, 0xb, 10, 0, 0);
	edge(&lo, 0xb, 0xa, 10, 0, 0);
	assert_int_equal(cycles(&lo, &c), 0);
	/* a second thread taking one of the orders makes it real */
	edge(&lo, 0xa, 0xb, 12, 0, 0);
	assert_int_equal(cycles(&lo, &c), 1);
	assert_false(c[0].guarded);
	free(c);
	lockorder_free(&lo);
}

static void test_gate_lock(void **state)
{
	struct lockorder lo;
	struct lo_cycle *c;

	(void)state;
	lockorder_init(&lo);
	edge(&lo, 0xa, 0xb, 10, 0, 0x9);
	edge(&lo, 0xb, 0xa, 11, 0, 0x9);
	assert_int_equal(cycles(&lo, &c), 1);
	assert_true(c[0].guarded);
	assert_int_equal(c[0].gate, 0x9);
	free(c);
	/* the same order once without the gate: a real one */
	edge(&lo, 0xb, 0xa, 13, 0, 0);
	assert_int_equal(cycles(&lo, &c), 1);
	assert_false(c[0].guarded);
	free(c);
	lockorder_free(&lo);
}

static void test_read_read(void **state)
{
	struct lockorder lo;
	struct lo_cycle *c;

	(void)state;
	lockorder_init(&lo);
	edge(&lo, 0xa, 0xb, 10, LEF_FROM_READ | LEF_TO_READ, 0);
	edge(&lo, 0xb, 0xa, 11, LEF_FROM_READ | LEF_TO_READ, 0);
	assert_int_equal(cycles(&lo, &c), 0);
	lockorder_free(&lo);
	/* a writer facing each reader conflicts */
	lockorder_init(&lo);
	edge(&lo, 0xa, 0xb, 10, 0, 0);
	edge(&lo, 0xb, 0xa, 11, LEF_FROM_READ | LEF_TO_READ, 0);
	assert_int_equal(cycles(&lo, &c), 1);
	free(c);
	lockorder_free(&lo);
	/* reader meets reader at a: no wait there */
	lockorder_init(&lo);
	edge(&lo, 0xa, 0xb, 10, LEF_FROM_READ, 0);
	edge(&lo, 0xb, 0xa, 11, LEF_TO_READ, 0);
	assert_int_equal(cycles(&lo, &c), 0);
	lockorder_free(&lo);
	lockorder_init(&lo);
	edge(&lo, 0xa, 0xb, 10, 0, 0);
	edge(&lo, 0xb, 0xa, 11, LEF_FROM_READ, 0);
	assert_int_equal(cycles(&lo, &c), 1);
	free(c);
	lockorder_free(&lo);
}

static void test_philosophers_smallest_first(void **state)
{
	struct lockorder lo;
	struct lo_cycle *c;

	(void)state;
	lockorder_init(&lo);
	for (int i = 0; i < 5; i++)
		edge(&lo, 0x10 + i, 0x10 + (i + 1) % 5, 20 + i, 0, 0);
	edge(&lo, 0x50, 0x51, 30, 0, 0);
	edge(&lo, 0x51, 0x50, 31, 0, 0);
	assert_int_equal(cycles(&lo, &c), 2);
	assert_int_equal(c[0].n, 2);
	assert_int_equal(c[1].n, 5);
	free(c);
	lockorder_free(&lo);
}

static void test_address_reuse_is_a_new_lock(void **state)
{
	struct lockorder lo;
	struct lo_cycle *c;
	struct lo_edge e1 = {.from = 0xa, .to = 0xb, .tid = 10, .pid = 1};
	struct lo_edge e2 = {.from = 0xb, .to = 0xa, .to_gen = 1, .tid = 11, .pid = 1};

	(void)state;
	lockorder_init(&lo);
	lockorder_add(&lo, &e1);
	lockorder_add(&lo, &e2);
	assert_int_equal(cycles(&lo, &c), 0);
	lockorder_free(&lo);
}

/* An order two threads agree on counts once; one thread's nesting, however often, does not;
 * another instance at the same address (generation) or a C edge is another order. */
static void test_shared_orders(void **state)
{
	struct lockorder lo;
	struct lo_edge later = {.from = 0xa, .to = 0xb, .to_gen = 1, .tid = 12, .pid = 1,
				.flags = LO_PY};

	(void)state;
	lockorder_init(&lo);
	edge(&lo, 0xa, 0xb, 10, LO_PY, 0);
	edge(&lo, 0xa, 0xb, 10, LO_PY, 0xc);	/* the same thread again, under another lock */
	edge(&lo, 0xd, 0xa, 10, LO_PY, 0);	/* its own join lock over it */
	edge(&lo, 0xe, 0xa, 11, LO_PY, 0);	/* the other's */
	assert_int_equal(lockorder_shared(&lo, LO_PY), 0);
	lockorder_add(&lo, &later);		/* 0xb freed and made again: not the same order */
	assert_int_equal(lockorder_shared(&lo, LO_PY), 0);
	edge(&lo, 0xa, 0xb, 11, LO_PY, 0);
	edge(&lo, 0xa, 0xb, 13, LO_PY, 0);	/* a third thread: still one order */
	edge(&lo, 0xf, 0x9, 10, 0, 0);
	edge(&lo, 0xf, 0x9, 11, 0, 0);		/* a C order shared: counted without the flag only */
	assert_int_equal(lockorder_shared(&lo, LO_PY), 1);
	assert_int_equal(lockorder_shared(&lo, 0), 2);
	lockorder_free(&lo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abba_two_threads),
		cmocka_unit_test(test_single_thread_is_not_a_deadlock),
		cmocka_unit_test(test_gate_lock),
		cmocka_unit_test(test_read_read),
		cmocka_unit_test(test_philosophers_smallest_first),
		cmocka_unit_test(test_address_reuse_is_a_new_lock),
		cmocka_unit_test(test_shared_orders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
