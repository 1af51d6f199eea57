/* test_report_deadlock.c — `report deadlock` on synthetic models: a real ABBA cycle is found,
 * also when the kill that ended it is in the trace and only one death is; the same cycle formed
 * while events were lost is not reported as a deadlock, nor one a futex wake released. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "render/report.h"
#include "trace/trace.h"

#define PID 100
#define A 101
#define B 102
#define C 103

static void feed(struct model *m, void *rec)
{
	model_event(m, rec);
}

static void task(struct model *m, uint32_t tid, const char *comm)
{
	struct ev_meta_task t = {{1, tid, EV_META_TASK, sizeof(t)}, PID, 1, ""};

	strncpy(t.comm, comm, sizeof(t.comm) - 1);
	feed(m, &t);
}

/* tid blocks at ts on a glibc mutex at addr whose __owner is holder */
static void block_on(struct model *m, uint64_t ts, uint32_t tid, uint64_t addr, uint32_t holder)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, tid, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.prev_state = TS_SLEEPING;
	s.nr = 202;
	s.arg0 = addr;
	s.arg1 = 0x80;	/* FUTEX_WAIT_PRIVATE */
	s.arg2 = 2;
	s.word0 = 2;
	s.word8 = holder;
	s.stack_id = -1;
	feed(m, &s);
}

/* How the synthetic trace goes on after the ABBA cycle formed. */
enum ending {
	END_BLOCKED,	/* both still blocked */
	END_KILLED,	/* a kill wakes both, A dies, the trace ends before B's death */
	END_RELEASED,	/* A's futex wake on lock 2 releases B */
	END_MOVED_ON,	/* a signal wakes B, which runs on and sleeps elsewhere */
	END_BEHIND,	/* both still blocked, and C waits for lock 1 too */
};

static void wakeup(struct model *m, uint64_t ts, uint32_t tid, int16_t nr, uint64_t arg0)
{
	struct ev_wakeup w = {{ts, tid, EV_WAKEUP, sizeof(w)}, arg0, 1, nr, 0};

	feed(m, &w);
}

static char *run_report(int losses, enum ending end, int want_rc)
{
	struct model m;
	struct report_opts o = {.format = FMT_JSON};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	model_init(&m);
	task(&m, A, "a");
	task(&m, B, "b");
	struct ev_meta_lost l = {};

	/* in time order: counters read at 5 (nothing lost) and at 25 (3 lost in between) */
	l.hdr = (struct ev_hdr){5, 0, EV_META_LOST, sizeof(l)};
	feed(&m, &l);
	block_on(&m, 10, A, 0x1000, B);	/* A waits for lock 1, held by B */
	block_on(&m, 20, B, 0x2000, A);	/* B waits for lock 2, held by A */
	l.hdr.ts = 25;
	l.count[LOST_RINGBUF] = losses ? 3 : 0;
	feed(&m, &l);
	if (end == END_KILLED) {
		struct ev_exit x = {{42, A, EV_EXIT, sizeof(x)}, PID, 9, 0, 0};

		wakeup(&m, 40, A, 62, PID);	/* kill(PID, SIGKILL) */
		wakeup(&m, 41, B, 62, PID);
		feed(&m, &x);
	} else if (end == END_RELEASED) {
		wakeup(&m, 40, B, 202, 0x2000);
	} else if (end == END_MOVED_ON) {
		struct ev_switch_sleep s = {};

		wakeup(&m, 40, B, 62, PID);
		s.sw.hdr = (struct ev_hdr){50, B, EV_SWITCH_SLEEP, sizeof(s)};
		s.sw.prev_state = TS_SLEEPING;
		s.nr = 230;	/* clock_nanosleep */
		s.stack_id = -1;
		feed(&m, &s);
	} else if (end == END_BEHIND) {
		task(&m, C, "c");
		block_on(&m, 30, C, 0x1000, B);
	}
	model_finish(&m, 100);
	rc = report_deadlock(&m, &o, f);
	fclose(f);
	model_free(&m);
	assert_int_equal(rc, want_rc);
	return buf;
}

static void test_cycle_found(void **state)
{
	char *out = run_report(0, END_BLOCKED, 1);

	(void)state;
	assert_non_null(strstr(out, "\"cycles\": 1"));
	assert_non_null(strstr(out, "\"cycles_across_lost_events\": 0"));
	free(out);
}

static void test_cycle_across_losses_not_reported(void **state)
{
	char *out = run_report(1, END_BLOCKED, 0);

	(void)state;
	assert_non_null(strstr(out, "\"cycles\": 0"));
	assert_non_null(strstr(out, "\"cycles_across_lost_events\": 1"));
	free(out);
}

/* `conlab deadlock --on-deadlock kill` stops recording at its kill: the trace may hold the
 * wakeups and only some of the deaths. The cycle was there all the same. */
static void test_cycle_ended_by_kill(void **state)
{
	char *out = run_report(0, END_KILLED, 1);

	(void)state;
	assert_non_null(strstr(out, "\"cycles\": 1"));
	free(out);
}

static void test_released_wait_is_no_cycle(void **state)
{
	char *out = run_report(0, END_RELEASED, 0);

	(void)state;
	assert_non_null(strstr(out, "\"cycles\": 0"));
	free(out);
}

static void test_thread_that_moved_on_is_no_cycle(void **state)
{
	char *out = run_report(0, END_MOVED_ON, 0);

	(void)state;
	assert_non_null(strstr(out, "\"cycles\": 0"));
	free(out);
}

/* The cycle in the one deadlock shape: a thread waiting for one of its locks is behind it. */
static void test_cycle_in_the_doctors_shape(void **state)
{
	char *out = run_report(0, END_BEHIND, 1);

	(void)state;
	assert_non_null(strstr(out, "\"cycles\": 1"));
	assert_non_null(strstr(out, "\"summary\": \"lock cycle between 2 threads of pid 100 (?)\""));
	assert_non_null(strstr(out, "\"waits_for\": \"0x1000\""));
	assert_non_null(strstr(out, "\"since_s\""));
	assert_non_null(strstr(out, "\"blocked_behind\": [\n        {\n          \"tid\": 103"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cycle_found),
		cmocka_unit_test(test_cycle_across_losses_not_reported),
		cmocka_unit_test(test_cycle_ended_by_kill),
		cmocka_unit_test(test_released_wait_is_no_cycle),
		cmocka_unit_test(test_thread_that_moved_on_is_no_cycle),
		cmocka_unit_test(test_cycle_in_the_doctors_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
