/* test_pyrecord.c — Python thread names in a recording: what the recorder writes again, the
 * record's framing, and what the model makes of it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/model.h"
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
	model_finish(&m, 40);
	assert_string_equal(model_comm(&m, PID + 1, "-"), "teller-1");
	assert_string_equal(model_comm(&m, PID + 2, "-"), "ThreadPoolExecu");
	assert_string_equal(model_comm(&m, PID, "-"), "MainThread");
	/* the process keeps its program's name */
	assert_string_equal(model_process(&m, PID)->comm, "python3");
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_written_once_per_change),
		cmocka_unit_test(test_record_min_size),
		cmocka_unit_test(test_model_shows_the_python_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
