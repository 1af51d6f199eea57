/* test_report_deadlock.c — `report deadlock` on synthetic models: a real ABBA cycle is found,
 * also when the kill that ended it is in the trace and only one death is; the same cycle formed
 * while events were lost is not reported as a deadlock, nor one a futex wake released; a
 * recorded inversion between CPython Locks is, with the Python lines of both edges. */
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

/* ---- a recorded inversion between two CPython Locks (conlab deadlock --locks --trace) ---- */

#define IN_PY 0x5898dbull	/* the interpreter's call site of sem_trywait */
#define IN_C 0x7f0000001234ull	/* a C library's */

static void interp_maps(struct model *m)
{
	struct {
		struct ev_meta_maps mm;
		char path[32];
	} r = {};

	r.mm.hdr = (struct ev_hdr){1, PID, EV_META_MAPS, sizeof(r)};
	r.mm.start = 0x400000;
	r.mm.end = 0x800000;
	r.mm.prot = 5;
	strcpy(r.path, "/usr/bin/python3.11");
	feed(m, &r);
}

static void py_frame(struct model *m, uint64_t code, int line, const char *fn, const char *file)
{
	struct {
		struct ev_meta_py_frame f;
		char tail[96];
	} r = {};
	int n = snprintf(r.tail, sizeof(r.tail), "%s%c%s", fn, 0, file);

	r.f.hdr = (struct ev_hdr){2, PID, EV_META_PY_FRAME, (uint16_t)(sizeof(r.f) + n + 1)};
	r.f.code = code;
	r.f.prev_instr = code + (uint64_t)line;
	r.f.line = line;
	feed(m, &r);
}

static void sync_name(struct model *m, uint64_t addr, const char *name)
{
	struct {
		struct ev_meta_sync_name s;
		char name[32];
	} r = {};

	r.s.hdr = (struct ev_hdr){2, PID, EV_META_SYNC_NAME, sizeof(r)};
	r.s.addr = addr;
	strcpy(r.s.type, "Lock");
	strcpy(r.name, name);
	feed(m, &r);
}

/* tid took from at line l1 of code, then to at l2, both called from Thread.run (code 0x9000) */
static void py_edge(struct model *m, uint64_t ts, uint32_t tid, uint64_t from, uint64_t to,
		    uint64_t to_ret, uint64_t code, int l1, int l2)
{
	struct ev_lock_edge e = {.from = from, .to = to, .from_ret = to_ret, .to_ret = to_ret,
				 .pid = PID, .stack_id = -1, .flags = LEF_SEM | LEF_TO_TRY};
	struct ev_lock_py p = {.from = from, .to = to, .pid = PID, .nfrom = 2, .nto = 2};

	e.hdr = (struct ev_hdr){ts, tid, EV_LOCK_EDGE, sizeof(e)};
	feed(m, &e);
	p.hdr = (struct ev_hdr){ts, tid, EV_LOCK_PY, sizeof(p)};
	p.frames[0] = (struct ev_py_frame){code, code + (uint64_t)l1};
	p.frames[1] = (struct ev_py_frame){0x9000, 0x9000 + 975};
	p.frames[LOCK_PY_FRAMES] = (struct ev_py_frame){code, code + (uint64_t)l2};
	p.frames[LOCK_PY_FRAMES + 1] = p.frames[1];
	feed(m, &p);
}

static char *python_report(uint64_t to_ret, enum report_format fmt, int want_rc)
{
	struct model m;
	struct report_opts o = {.format = fmt};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	model_init(&m);
	task(&m, A, "left");
	task(&m, B, "right");
	interp_maps(&m);
	py_edge(&m, 10, A, 0xa0, 0xb0, to_ret, 0x7000, 34, 35);
	py_edge(&m, 20, B, 0xb0, 0xa0, to_ret, 0x8000, 45, 46);
	py_frame(&m, 0x7000, 34, "left", "/w/lock_order.py");
	py_frame(&m, 0x7000, 35, "left", "/w/lock_order.py");
	py_frame(&m, 0x8000, 45, "right", "/w/lock_order.py");
	py_frame(&m, 0x8000, 46, "right", "/w/lock_order.py");
	py_frame(&m, 0x9000, 975, "Thread.run", "/usr/lib/python3.11/threading.py");
	sync_name(&m, 0xa0, "ledger.lock");
	sync_name(&m, 0xb0, "audit_lock");
	model_finish(&m, 100);
	assert_int_equal(report_deadlock(&m, &o, f), want_rc);
	fclose(f);
	model_free(&m);
	return buf;
}

/* Each edge by its Python thread, Lock names and lines, innermost first. */
static void test_python_inversion_with_lines(void **state)
{
	char *out = python_report(IN_PY, FMT_TEXT, 1);

	(void)state;
	assert_non_null(strstr(out, "POTENTIAL DEADLOCK #1: lock-order inversion over 2 locks"));
	assert_non_null(strstr(out,
		"  left (tid 101) holds ledger.lock (Lock) taken at lock_order.py:34 in left\n"
		"      from threading.py:975 in Thread.run\n"
		"    then takes audit_lock (Lock) at lock_order.py:35 in left\n"
		"      from threading.py:975 in Thread.run\n"));
	assert_non_null(strstr(out,
		"  right (tid 102) holds audit_lock (Lock) taken at lock_order.py:45 in right\n"
		"      from threading.py:975 in Thread.run\n"
		"    then takes ledger.lock (Lock) at lock_order.py:46 in right\n"));
	free(out);
	out = python_report(IN_PY, FMT_JSON, 1);
	assert_non_null(strstr(out, "\"from\": \"ledger.lock (Lock)\""));
	assert_non_null(strstr(out, "\"thread\": \"left\""));
	assert_non_null(strstr(out, "\"from_python\": [\n"));
	assert_non_null(strstr(out, "\"function\": \"right\",\n"));
	assert_non_null(strstr(out, "\"line\": 46\n"));
	free(out);
}

/* The same trywaits from a C library cannot block: no edge, no inversion. */
static void test_c_trywaits_make_no_inversion(void **state)
{
	char *out = python_report(IN_C, FMT_TEXT, 0);

	(void)state;
	assert_non_null(strstr(out, "0 deadlocks (0 cycles, 0 potential), 0 lock-order edges"));
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
		cmocka_unit_test(test_python_inversion_with_lines),
		cmocka_unit_test(test_c_trywaits_make_no_inversion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
