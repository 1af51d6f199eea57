// SPDX-License-Identifier: GPL-2.0
/* test_waitgraph.c — liveness, cycles and root causes on synthetic snapshots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/waitgraph.h"

static int setup(void **state)
{
	struct waitgraph *g = calloc(1, sizeof(*g));

	waitgraph_init(g);
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	waitgraph_free(*state);
	free(*state);
	return 0;
}

/* tid waits on a lock of its process at addr, held by owner (0: none) */
static void wait_on(struct waitgraph *g, pid_t tid, enum wg_obj_kind k, uint64_t addr,
		    pid_t owner)
{
	int t = wg_find_thread(g, tid);
	int o = wg_object(g, g->threads[t].pid, k, addr);

	g->threads[t].state = WG_BLOCKED;
	g->threads[t].obj = o;
	g->objects[o].owner = owner;
}

static void threads(struct waitgraph *g, pid_t pid, int n)
{
	if (wg_find_process(g, pid) < 0)
		wg_add_process(g, pid, 1, "proc", NULL);
	for (int i = 0; i < n; i++)
		wg_add_thread(g, pid + i, pid, "t", WG_RUNNING);
}

static int has_thread(const struct waitgraph *g, const struct wg_finding *f, pid_t tid)
{
	for (size_t i = 0; i < f->nthreads; i++)
		if (g->threads[f->threads[i]].tid == tid)
			return 1;
	return 0;
}

static void test_abba(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 100, 3);
	wait_on(g, 101, WG_MUTEX, 0xa0, 102);
	wait_on(g, 102, WG_MUTEX, 0xb0, 101);
	wait_on(g, 100, WG_JOIN, 101, 101);		/* main joins the first worker */
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_CYCLE);
	assert_int_equal(g->findings[0].nthreads, 2);
	assert_true(has_thread(g, &g->findings[0], 101));
	assert_true(has_thread(g, &g->findings[0], 102));
	/* cycle order starts at the lowest tid; objects[i] is what threads[i] waits for */
	assert_int_equal(g->threads[g->findings[0].threads[0]].tid, 101);
	assert_int_equal(g->objects[g->findings[0].objects[0]].addr, 0xa0);
	assert_int_equal(g->findings[0].nbehind, 1);
	assert_int_equal(g->threads[g->findings[0].behind[0]].tid, 100);
	assert_int_equal(g->nstuck, 3);
}

static void test_philo_five_cycle_once(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 200, 6);
	for (int i = 0; i < 5; i++)
		wait_on(g, 201 + i, WG_MUTEX, 0x1000 + 40 * (uint64_t)((i + 1) % 5),
			201 + (i + 1) % 5);
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_CYCLE);
	assert_int_equal(g->findings[0].nthreads, 5);
	assert_int_equal(g->findings[0].nobjects, 5);
	assert_false(g->threads[0].stuck);		/* main is running */
	/* analysing twice gives the same result */
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->nstuck, 5);
}

static void test_two_cycles_smallest_first(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 300, 5);
	wait_on(g, 300, WG_MUTEX, 1, 301);
	wait_on(g, 301, WG_MUTEX, 2, 302);
	wait_on(g, 302, WG_MUTEX, 3, 300);
	wait_on(g, 303, WG_MUTEX, 4, 304);
	wait_on(g, 304, WG_MUTEX, 5, 303);
	assert_int_equal(waitgraph_analyze(g), 2);
	assert_int_equal(g->findings[0].nthreads, 2);
	assert_int_equal(g->findings[1].nthreads, 3);
}

static void test_self_deadlock(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 400, 1);
	wait_on(g, 400, WG_MUTEX, 0x40, 400);
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_CYCLE);
	assert_int_equal(g->findings[0].nthreads, 1);
}

static void test_chain_to_running_owner_is_not_stuck(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 500, 4);
	g->threads[3].state = WG_TIMED;			/* 503 sleeps holding the lock */
	wait_on(g, 500, WG_MUTEX, 1, 501);
	wait_on(g, 501, WG_MUTEX, 2, 502);
	wait_on(g, 502, WG_MUTEX, 3, 503);
	assert_int_equal(waitgraph_analyze(g), 0);
	assert_int_equal(g->nstuck, 0);
}

static void test_orphaned_owner(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 600, 2);
	wait_on(g, 600, WG_JOIN, 601, 601);
	wait_on(g, 601, WG_MUTEX, 0x60, 999);		/* 999 is not in the process */
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_ORPHANED_OWNER);
	assert_int_equal(g->findings[0].nthreads, 1);
	assert_true(has_thread(g, &g->findings[0], 601));
	assert_int_equal(g->findings[0].nbehind, 1);
}

static void test_zombie_owner_is_orphaned(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 650, 2);
	g->threads[1].state = WG_ZOMBIE;
	wait_on(g, 650, WG_MUTEX, 0x60, 651);
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_ORPHANED_OWNER);
}

static void test_lost_wakeup(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 700, 2);
	wait_on(g, 701, WG_CONDVAR, 0x70, 0);
	wait_on(g, 700, WG_JOIN, 701, 701);
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_NO_OWNER);
	assert_int_equal(g->findings[0].nthreads, 1);
	assert_true(has_thread(g, &g->findings[0], 701));
	assert_int_equal(g->findings[0].nbehind, 1);
}

static void test_condvar_with_live_thread_is_not_stuck(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 800, 3);
	g->threads[2].state = WG_TIMED;			/* could still signal */
	wait_on(g, 801, WG_CONDVAR, 0x80, 0);
	wait_on(g, 800, WG_JOIN, 801, 801);
	assert_int_equal(waitgraph_analyze(g), 0);
	assert_int_equal(g->nstuck, 0);
}

static void test_no_owner_groups_per_process(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 900, 3);				/* a Python ABBA: semaphores only */
	wait_on(g, 900, WG_SEMAPHORE, 0x10, 0);
	wait_on(g, 901, WG_SEMAPHORE, 0x20, 0);
	wait_on(g, 902, WG_SEMAPHORE, 0x30, 0);
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_NO_OWNER);
	assert_int_equal(g->findings[0].nthreads, 3);
	assert_int_equal(g->findings[0].nobjects, 3);
}

static void test_pipe_wait4_cross_process(void **state)
{
	struct waitgraph *g = *state;
	int o;

	threads(g, 1000, 1);				/* parent */
	threads(g, 1100, 1);				/* child */
	g->procs[1].ppid = 1000;
	o = wg_object(g, 1000, WG_CHILD, 1100);
	wg_add_peer(&g->objects[o], 1100);
	g->threads[0].state = WG_BLOCKED;
	g->threads[0].obj = o;
	o = wg_object(g, 1100, WG_PIPE, 4242);
	wg_add_peer(&g->objects[o], 1000);		/* the parent holds the read end */
	g->threads[1].state = WG_BLOCKED;
	g->threads[1].obj = o;
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_CROSS_PROCESS);
	assert_int_equal(g->findings[0].nthreads, 2);
	assert_int_equal(g->findings[0].npids, 2);
}

/* Both ends of a socket pair held by both processes, each reading its own: the cycle goes
 * through the two processes, not through each one's wait on itself. */
static void test_socket_pair_both_reading(void **state)
{
	struct waitgraph *g = *state;
	int o;

	threads(g, 2000, 1);				/* parent */
	threads(g, 2100, 1);				/* child */
	for (int i = 0; i < 2; i++) {
		o = wg_object(g, g->threads[i].pid, WG_SOCKET, 500 + i);
		wg_add_peer(&g->objects[o], 2000);
		wg_add_peer(&g->objects[o], 2100);
		g->threads[i].state = WG_BLOCKED;
		g->threads[i].obj = o;
	}
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_CROSS_PROCESS);
	assert_int_equal(g->findings[0].nthreads, 2);
	assert_int_equal(g->findings[0].npids, 2);
}

/* A thread reading a socket whose peer only its own process holds waits on itself. */
static void test_socket_peer_only_ours(void **state)
{
	struct waitgraph *g = *state;
	int o;

	threads(g, 2200, 1);
	o = wg_object(g, 2200, WG_SOCKET, 600);
	wg_add_peer(&g->objects[o], 2200);
	g->threads[0].state = WG_BLOCKED;
	g->threads[0].obj = o;
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_CYCLE);
	assert_int_equal(g->findings[0].nthreads, 1);
}

static void test_pipe_reader_running_is_live(void **state)
{
	struct waitgraph *g = *state;
	int o;

	threads(g, 1200, 2);
	threads(g, 1300, 1);
	o = wg_object(g, 1300, WG_PIPE, 77);
	wg_add_peer(&g->objects[o], 1200);
	g->threads[2].state = WG_BLOCKED;
	g->threads[2].obj = o;
	o = wg_object(g, 1200, WG_CHILD, 1300);
	wg_add_peer(&g->objects[o], 1300);
	g->threads[0].state = WG_BLOCKED;		/* 1200 waits, but 1201 runs */
	g->threads[0].obj = o;
	assert_int_equal(waitgraph_analyze(g), 0);
}

static void test_external_peer_is_live(void **state)
{
	struct waitgraph *g = *state;
	int o;

	threads(g, 1400, 1);
	o = wg_object(g, 1400, WG_PIPE, 78);
	wg_add_peer(&g->objects[o], 5555);		/* not in the snapshot */
	g->threads[0].state = WG_BLOCKED;
	g->threads[0].obj = o;
	assert_int_equal(waitgraph_analyze(g), 0);
}

static void test_chain_through_three_processes(void **state)
{
	struct waitgraph *g = *state;
	int o;

	threads(g, 1500, 1);
	threads(g, 1600, 1);
	threads(g, 1700, 1);
	o = wg_object(g, 1500, WG_CHILD, 1600);
	wg_add_peer(&g->objects[o], 1600);
	g->threads[0].state = WG_BLOCKED;
	g->threads[0].obj = o;
	o = wg_object(g, 1600, WG_CHILD, 1700);
	wg_add_peer(&g->objects[o], 1700);
	g->threads[1].state = WG_BLOCKED;
	g->threads[1].obj = o;
	o = wg_object(g, 1700, WG_PIPE, 79);
	wg_add_peer(&g->objects[o], 1500);
	g->threads[2].state = WG_BLOCKED;
	g->threads[2].obj = o;
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].kind, WG_F_CROSS_PROCESS);
	assert_int_equal(g->findings[0].nthreads, 3);
	assert_int_equal(g->findings[0].npids, 3);
}

static void test_many_waiters_one_cycle(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 2000, 1002);
	wait_on(g, 2000, WG_MUTEX, 1, 2001);
	wait_on(g, 2001, WG_MUTEX, 2, 2000);
	for (int i = 2; i < 1002; i++)
		wait_on(g, 2000 + i, WG_MUTEX, 1, 2001);
	assert_int_equal(waitgraph_analyze(g), 1);
	assert_int_equal(g->findings[0].nthreads, 2);
	assert_int_equal(g->findings[0].nbehind, 1000);
	assert_int_equal(g->nstuck, 1002);
}

static void test_unknown_block_is_not_stuck(void **state)
{
	struct waitgraph *g = *state;

	threads(g, 3000, 1);
	g->threads[0].state = WG_BLOCKED;		/* blocked, but on nothing we know */
	assert_int_equal(waitgraph_analyze(g), 0);
	assert_int_equal(g->nstuck, 0);
	assert_string_equal(wg_kind_name(WG_CHILD), "child-wait");
	assert_string_equal(wg_finding_name(WG_F_ORPHANED_OWNER), "orphaned-owner");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_abba, setup, teardown),
		cmocka_unit_test_setup_teardown(test_philo_five_cycle_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_cycles_smallest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_deadlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_to_running_owner_is_not_stuck, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_orphaned_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zombie_owner_is_orphaned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_wakeup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_condvar_with_live_thread_is_not_stuck, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_owner_groups_per_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipe_wait4_cross_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipe_reader_running_is_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_peer_is_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_through_three_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_waiters_one_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_block_is_not_stuck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_pair_both_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_peer_only_ours, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
