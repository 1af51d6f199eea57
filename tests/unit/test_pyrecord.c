/* test_pyrecord.c — Python thread names in a recording: what the recorder writes again, the
 * record's framing, and what the model makes of it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "model/pystacks.h"
#include "python/pyrecord.h"
#include "trace/trace.h"

#define PID 300

/* An EV_META_THREAD_NAME record with its name, padded as trace_write2 pads it. */
struct name_rec {
	struct ev_meta_thread_name r;
	char name[64];
};

static const struct ev_hdr *name_rec(struct name_rec *n, uint64_t ts, uint32_t pid, uint32_t tid,
				     const char *name)
{
	size_t len = strlen(name) + 1;

	memset(n, 0, sizeof(*n));
	n->r.hdr.ts = ts;
	n->r.hdr.tid = tid;
	n->r.hdr.type = EV_META_THREAD_NAME;
	n->r.hdr.size = (sizeof(n->r) + len + 7) & ~7u;
	n->r.pid = pid;
	n->r.runtime = TNR_PYTHON;
	memcpy(n->name, name, len);
	return &n->r.hdr;
}

static void test_names_written_once_per_change(void **state)
{
	struct pyrec_names ns = {0};

	(void)state;
	assert_int_equal(pyrec_names_update(&ns, 11, "teller-1"), 1);
	assert_int_equal(pyrec_names_update(&ns, 12, "teller-2"), 1);
	assert_int_equal(pyrec_names_update(&ns, 11, "teller-1"), 0);
	assert_int_equal(pyrec_names_update(&ns, 12, "teller-2"), 0);
	/* a rename (`t.name = ...`) is written again */
	assert_int_equal(pyrec_names_update(&ns, 11, "auditor"), 1);
	assert_int_equal(pyrec_names_update(&ns, 11, "auditor"), 0);
	assert_int_equal(ns.n, 2);
	pyrec_names_free(&ns);
	assert_int_equal(ns.n, 0);
}

static void test_record_min_size(void **state)
{
	(void)state;
	/* the fixed part and at least the name's NUL */
	assert_int_equal(ev_min_size(EV_META_THREAD_NAME), sizeof(struct ev_meta_thread_name) + 1);
}

static void fork_thread(struct model *m, uint64_t ts, uint32_t tid)
{
	struct ev_fork f = {{ts, tid, EV_FORK, sizeof(f)}, PID, PID, PID, FORKF_THREAD, "python3"};

	model_event(m, &f.hdr);
}

static void set_comm(struct model *m, uint64_t ts, uint32_t tid, const char *comm)
{
	struct ev_rename r = {{ts, tid, EV_RENAME, sizeof(r)}};

	strncpy(r.comm, comm, sizeof(r.comm) - 1);
	model_event(m, &r.hdr);
}

static void test_model_shows_the_python_name(void **state)
{
	struct ev_meta_task t = {{0, PID, EV_META_TASK, sizeof(t)}, PID, 1, "python3"};
	struct name_rec n;
	struct model m;

	(void)state;
	model_init(&m);
	model_event(&m, &t.hdr);
	fork_thread(&m, 10, PID + 1);
	fork_thread(&m, 11, PID + 2);
	model_event(&m, name_rec(&n, 20, PID, PID + 1, "teller-1"));
	/* longer than comm: cut to its 15 bytes */
	model_event(&m, name_rec(&n, 21, PID, PID + 2, "ThreadPoolExecutor-0_0"));
	model_event(&m, name_rec(&n, 22, PID, PID, "MainThread"));
	/* a tid of another process (reused, or a bad record): not applied */
	model_event(&m, name_rec(&n, 23, PID + 50, PID + 1, "intruder"));
	/* an empty name changes nothing */
	model_event(&m, name_rec(&n, 24, PID, PID + 1, ""));
	/* a thread the program named itself keeps that name, whichever record comes first */
	fork_thread(&m, 25, PID + 3);
	fork_thread(&m, 26, PID + 4);
	model_event(&m, name_rec(&n, 27, PID, PID + 3, "Thread-3"));
	set_comm(&m, 28, PID + 3, "worker");
	set_comm(&m, 29, PID + 4, "loop");
	model_event(&m, name_rec(&n, 30, PID, PID + 4, "Thread-4"));
	model_finish(&m, 40);
	assert_string_equal(model_comm(&m, PID + 1, "-"), "teller-1");
	assert_string_equal(model_comm(&m, PID + 2, "-"), "ThreadPoolExecu");
	assert_string_equal(model_comm(&m, PID, "-"), "MainThread");
	assert_string_equal(model_comm(&m, PID + 3, "-"), "worker");
	assert_string_equal(model_comm(&m, PID + 4, "-"), "loop");
	/* the process keeps its program's name */
	assert_string_equal(model_process(&m, PID)->comm, "python3");
	model_free(&m);
}

/* A thread that ended before a read found its name: the name, written after its exit, is
 * that thread's (no second thread of that tid appears); a tid used again by a new thread
 * gets the new thread's name. */
static void test_model_names_an_ended_thread(void **state)
{
	struct ev_meta_task t = {{0, PID, EV_META_TASK, sizeof(t)}, PID, 1, "python3"};
	struct ev_exit x = {{12, PID + 1, EV_EXIT, sizeof(x)}, PID, 0, 0, 0};
	struct ev_switch out = {{13, PID + 1, EV_SWITCH, sizeof(out)}, 0, 0, TS_DEAD, 0};
	struct name_rec n;
	struct model m;
	size_t nthreads;

	(void)state;
	model_init(&m);
	model_event(&m, &t.hdr);
	fork_thread(&m, 10, PID + 1);
	model_event(&m, &x.hdr);
	model_event(&m, &out.hdr);	/* its last switch-out: it has ended */
	nthreads = m.nthreads;
	model_event(&m, name_rec(&n, 20, PID, PID + 1, "brief-0"));
	assert_int_equal(m.nthreads, nthreads);
	assert_string_equal(model_thread(&m, PID + 1)->comm, "brief-0");
	/* the tid again, in a new thread: the next name is the new one's */
	fork_thread(&m, 30, PID + 1);
	model_event(&m, name_rec(&n, 31, PID, PID + 1, "brief-1"));
	model_finish(&m, 40);
	assert_int_equal(m.nthreads, nthreads + 1);
	assert_string_equal(model_comm(&m, PID + 1, "-"), "brief-1");
	for (size_t i = 0, seen = 0; i < m.nthreads; i++)
		if (m.threads[i].tid == PID + 1)
			assert_string_equal(m.threads[i].comm, seen++ ? "brief-1" : "brief-0");
	model_free(&m);
}

/* tid blocks in clock_nanosleep at ts with native stack id sid (-1 none) */
static void block(struct model *m, uint64_t ts, uint32_t tid, int32_t sid)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, tid, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.prev_state = TS_SLEEPING;
	s.nr = 230;
	s.stack_id = sid;
	model_event(m, &s.sw.hdr);
}

static void run(struct model *m, uint64_t ts, uint32_t tid)
{
	struct ev_switch s = {{ts, 0, EV_SWITCH, sizeof(s)}, tid, 0, TS_RUNNABLE, 0};

	model_event(m, &s.hdr);
}

/* EV_PY_STACK of tid at ts: frames (code, prev_instr) */
static void pystack(struct model *m, uint64_t ts, uint32_t tid, int n, const uint64_t *cp)
{
	struct ev_py_stack e = {};

	e.hdr = (struct ev_hdr){ts, tid, EV_PY_STACK, 0};
	e.hdr.size = offsetof(struct ev_py_stack, frames) + n * sizeof(e.frames[0]);
	e.pid = PID;
	e.nframes = n;
	for (int i = 0; i < n; i++) {
		e.frames[i].code = cp[2 * i];
		e.frames[i].prev_instr = cp[2 * i + 1];
	}
	model_event(m, &e.hdr);
}

static void pyframe(struct model *m, uint64_t code, uint64_t pi, int line, const char *q,
		    const char *f)
{
	struct {
		struct ev_meta_py_frame r;
		char tail[64];
	} e = {};
	size_t ql = strlen(q) + 1, fl = strlen(f) + 1;

	e.r.hdr = (struct ev_hdr){100, PID, EV_META_PY_FRAME, 0};
	e.r.hdr.size = (sizeof(e.r) + ql + fl + 7) & ~7u;
	e.r.code = code;
	e.r.prev_instr = pi;
	e.r.line = line;
	memcpy(e.tail, q, ql);
	memcpy(e.tail + ql, f, fl);
	model_event(m, &e.r.hdr);
}

/* Frame records before any stack, each new: the frame table grows while a frame is filled in
 * (a record that indexed the table before growing it wrote through a stale pointer). */
static void test_frames_first(void **state)
{
	struct model m;
	char q[32];

	(void)state;
	model_init(&m);
	for (int i = 0; i < 40; i++) {
		snprintf(q, sizeof(q), "f%d", i);
		pyframe(&m, 0xc0de00 + (uint64_t)i * 0x100, 0xc0de00 + (uint64_t)i * 0x100 + 8, i + 1,
			q, "x.py");
	}
	for (int i = 0; i < 40; i++) {
		const struct m_pyframe *f = model_py_pc(&m, PYPC_TAG | (uint64_t)i);

		assert_non_null(f);
		assert_int_equal(f->line, i + 1);
		assert_string_equal(f->file, "x.py");
	}
	model_free(&m);
}

static void test_python_stack_on_the_wait(void **state)
{
	struct ev_meta_task t = {{0, PID, EV_META_TASK, sizeof(t)}, PID, 1, "python3"};
	struct {
		struct ev_meta_stack s;
		uint64_t ips[2];
	} nat = {{{100, 7, EV_META_STACK, sizeof(nat)}, 2, 0}, {0x1111, 0x2222}};
	const uint64_t fr[] = {0xc0de1, 0xc0de1 + 0xc0, 0xc0de2, 0xc0de2 + 0xd0};
	const uint64_t bad[] = {0xbad0, 0xbad0 + 0x10};
	const struct m_thread *th;
	const struct m_stack *st;
	const struct m_pyframe *f;
	struct model m;
	int blocked = 0;

	(void)state;
	model_init(&m);
	model_event(&m, &t.hdr);
	run(&m, 5, PID);
	block(&m, 10, PID, 7);
	pystack(&m, 10, PID, 2, fr);
	run(&m, 20, PID);
	block(&m, 30, PID, 7);
	pystack(&m, 30, PID, 2, fr);	/* the same stack again: the same merged id */
	run(&m, 40, PID);
	pystack(&m, 45, PID, 2, fr);	/* not at a switch-out: ignored */
	block(&m, 50, PID, -1);		/* blocked with no Python stack */
	run(&m, 60, PID);
	block(&m, 62, PID, 7);
	pystack(&m, 62, PID, 1, bad);	/* frames never named: the native stack alone */
	run(&m, 64, PID);
	model_event(&m, &nat.s.hdr);	/* the native stack comes later, as recorded */
	/* other stacks up to the table's capacity: the merged ones make it grow (and move) */
	for (uint32_t id = 100; m.nstacks < m.cap_stacks; id++) {
		nat.s.hdr.tid = id;
		model_event(&m, &nat.s.hdr);
	}
	pyframe(&m, 0xc0de1, 0xc0de1 + 0xc0, 42, "handle", "/srv/app.py");
	model_finish(&m, 70);

	th = model_thread(&m, PID);
	assert_non_null(th);
	/* the waits from 10 and 30 carry the merged stack, the one from 50 none */
	for (size_t i = 0; i < th->niv; i++) {
		const struct m_interval *iv = &th->iv[i];

		if (iv->state != TH_BLOCKED)
			continue;
		assert_true(iv->start == 10 || iv->start == 30 || iv->start == 50 ||
			    iv->start == 62);
		assert_int_equal(iv->w.stack_id, iv->start == 50 ? -1 :
						 iv->start == 62 ? PY_STACK_ID_BASE + 1 :
						 PY_STACK_ID_BASE);
		blocked++;
	}
	assert_int_equal(blocked, 4);
	st = model_stack(&m, PY_STACK_ID_BASE + 1);
	assert_non_null(st);
	assert_int_equal(st->n, 2);
	assert_int_equal(st->ips[1], 0x2222);
	st = model_stack(&m, PY_STACK_ID_BASE);
	assert_non_null(st);
	/* the native frames, then the Python ones, innermost first */
	assert_int_equal(st->n, 4);
	assert_int_equal(st->ips[0], 0x1111);
	assert_int_equal(st->ips[1], 0x2222);
	assert_null(model_py_pc(&m, st->ips[1]));
	f = model_py_pc(&m, st->ips[2]);
	assert_non_null(f);
	assert_string_equal(f->qualname, "handle");
	assert_string_equal(f->file, "/srv/app.py");
	assert_int_equal(f->line, 42);
	/* a frame whose name never came (the process was gone): known by pc, no name */
	f = model_py_pc(&m, st->ips[3]);
	assert_non_null(f);
	assert_null(f->qualname);
	assert_int_equal(f->code, 0xc0de2);
	/* a made-up pc beyond the table is no frame */
	assert_null(model_py_pc(&m, PYPC_TAG | 999));
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_written_once_per_change),
		cmocka_unit_test(test_record_min_size),
		cmocka_unit_test(test_model_shows_the_python_name),
		cmocka_unit_test(test_model_names_an_ended_thread),
		cmocka_unit_test(test_frames_first),
		cmocka_unit_test(test_python_stack_on_the_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
