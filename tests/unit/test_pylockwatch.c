/* test_pylockwatch.c — Python Lock owners and edges from the semaphore probes' records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "analysis/lockorder.h"
#include "python/pylockwatch.h"
#include "lib/util.h"	/* before cmocka.h: its fail() macro */

#include <cmocka.h>

#define TEXT_LO 0x400000ull	/* the interpreter's code, as the maps would say */
#define TEXT_HI 0x800000ull
#define IN_PY 0x5898dbull	/* a call site of sem_trywait in it */
#define IN_C 0x7f0000001234ull	/* a C extension's */

/* This process stands for the command: its own threads are the command's. */
static void setup(struct pylw *w)
{
	pylw_init(w);
	pylw_start(w, getpid());
	w->text = xcalloc(1, sizeof(*w->text));
	w->text[0][0] = TEXT_LO;
	w->text[0][1] = TEXT_HI;
	w->ntext = 1;
	w->maps_ns = now_mono_ns() + 3600000000000ull;	/* never read the real maps */
}

static struct ev_lock lk(uint32_t op, uint64_t sem, uint64_t ret)
{
	struct ev_lock e = { .addr = sem, .ret_addr = ret, .op = op };

	e.hdr.tid = (uint32_t)getpid();
	e.hdr.type = EV_LOCK;
	return e;
}

static void test_owner_follows_take_and_post(void **state)
{
	struct pylw w;
	struct ev_lock e;

	(void)state;
	setup(&w);
	e = lk(LOCK_OP_SEM_TAKEN, 0xa0, IN_PY);
	assert_int_equal(pylw_lock_event(&w, &e), 0xa0);
	assert_int_equal(pylw_owner(&w, 0xa0), getpid());
	e = lk(LOCK_OP_RELEASE, 0xa0, IN_PY);
	assert_int_equal(pylw_lock_event(&w, &e), 0xa0);
	assert_int_equal(pylw_owner(&w, 0xa0), 0);
	/* a post of a semaphore nobody holds changes nothing */
	assert_int_equal(pylw_lock_event(&w, &e), 0);
	pylw_free(&w);
}

static void test_c_semaphores_have_no_owner(void **state)
{
	struct pylw w;
	struct ev_lock e;

	(void)state;
	setup(&w);
	e = lk(LOCK_OP_SEM_TAKEN, 0xb0, IN_C);
	assert_int_equal(pylw_lock_event(&w, &e), 0);
	assert_int_equal(pylw_owner(&w, 0xb0), 0);
	/* other ops (a contention recording's acquire) are not owners */
	e = lk(LOCK_OP_ACQUIRE, 0xb0, IN_PY);
	assert_int_equal(pylw_lock_event(&w, &e), 0);
	assert_int_equal(pylw_owner(&w, 0xb0), 0);
	pylw_free(&w);
}

static void test_other_process_threads_ignored(void **state)
{
	struct pylw w;
	struct ev_lock e;

	(void)state;
	setup(&w);
	e = lk(LOCK_OP_SEM_TAKEN, 0xc0, IN_PY);
	e.hdr.tid = 1;		/* init: not a thread of this process */
	assert_int_equal(pylw_lock_event(&w, &e), 0);
	assert_int_equal(pylw_owner(&w, 0xc0), 0);
	pylw_free(&w);
}

static struct ev_lock_edge edge_rec(uint64_t from, uint64_t to, uint16_t flags, uint64_t to_ret)
{
	struct ev_lock_edge r = { .from = from, .to = to, .flags = flags, .to_ret = to_ret,
				  .pid = (uint32_t)getpid() };

	r.hdr.tid = 42;
	return r;
}

static void test_trywait_edges(void **state)
{
	struct pylw w;
	struct lo_edge e;
	struct ev_lock_edge r;
	struct lockorder lo;

	(void)state;
	setup(&w);
	/* a CPython acquire(): a trywait from the interpreter, kept as a Python edge */
	r = edge_rec(0xa0, 0xb0, LEF_SEM | LEF_TO_TRY, IN_PY);
	assert_int_equal(pylw_edge(&w, &r, &e), 1);
	assert_int_equal(e.flags & (LEF_TO_TRY | LO_PY), LO_PY);
	assert_int_equal(e.tid, 42);
	/* a C program's sem_trywait cannot block: no edge */
	r = edge_rec(0xa0, 0xb0, LEF_SEM | LEF_TO_TRY, IN_C);
	assert_int_equal(pylw_edge(&w, &r, &e), 0);
	/* a C sem_wait is an edge, not a Python one */
	r = edge_rec(0xa0, 0xb0, LEF_SEM, IN_C);
	assert_int_equal(pylw_edge(&w, &r, &e), 1);
	assert_int_equal(e.flags & LO_PY, 0);
	/* the record path for traces: a flagged trywait edge is never an edge by itself */
	lockorder_init(&lo);
	r = edge_rec(0xa0, 0xb0, LEF_SEM | LEF_TO_TRY, IN_PY);
	lockorder_add_record(&lo, &r);
	assert_int_equal(lo.n, 0);
	lockorder_free(&lo);
	assert_int_equal(w.py_edges, 1);
	pylw_free(&w);
}

static void test_labels_without_names(void **state)
{
	struct pylw w;
	char buf[96];

	(void)state;
	setup(&w);
	pylw_lock_label(&w, 0xd0, buf, sizeof(buf));
	assert_string_equal(buf, "a Lock (semaphore 0xd0)");
	pylw_thread_label(&w, 77, buf, sizeof(buf));
	assert_string_equal(buf, "thread 77");
	pylw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_follows_take_and_post),
		cmocka_unit_test(test_c_semaphores_have_no_owner),
		cmocka_unit_test(test_other_process_threads_ignored),
		cmocka_unit_test(test_trywait_edges),
		cmocka_unit_test(test_labels_without_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
