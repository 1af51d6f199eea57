/* test_grade.c — grading: weights and `batch` in lab files, scores, the result formats read
 * back, the sandbox spec and its refusal of root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/grade.h"
#include "lib/jsonread.h"
#include "lab/lab.h"
#include "capture/sandbox.h"

static const char *lab_text = "name 90-t\n"
			      "title T\n"
			      "batch serial\n"
			      "variant reference /bin/true\n"
			      "expect key weight=3 ground.x == 1 -- the key\n"
			      "expect ground.y == 2\n"
			      "expect key ground.z == \"a<b&\" -- quoted \"note\"\n";

static const struct jv *doc(void *ctx, const char *variant, const char *source, char *why,
			    size_t n)
{
	(void)variant;
	if (!strcmp(source, "ground"))
		return ctx;
	snprintf(why, n, "no %s", source);
	return NULL;
}

static void load(struct lab *l)
{
	char err[512];

	assert_int_equal(lab_parse(l, lab_text, "t.lab", err, sizeof(err)), 0);
}

static void test_weights_and_batch(void **state)
{
	struct lab l;
	char err[512];

	(void)state;
	load(&l);
	assert_true(l.batch_serial);
	assert_int_equal(l.nexpects, 3);
	assert_true(grade_weight(&l.expects[0]) == 3);
	assert_true(grade_weight(&l.expects[1]) == 1);	/* default */
	assert_true(grade_weight(&l.expects[2]) == 2);	/* key default */
	assert_string_equal(l.expects[0].text, "ground.x == 1");
	lab_free(&l);
	assert_int_equal(lab_parse(&l, "name a\ntitle b\nvariant r x\nbatch sometimes\n", "b.lab",
				   err, sizeof(err)), -1);
	assert_non_null(strstr(err, "b.lab:4: batch is serial or parallel"));
	assert_int_equal(lab_parse(&l, "name a\ntitle b\nvariant r x\nexpect weight=-1 a == 1\n",
				   "b.lab", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "weight= wants a positive number"));
	assert_int_equal(lab_parse(&l, "name a\ntitle b\nvariant r x\nexpect weight=2x a == 1\n",
				   "b.lab", err, sizeof(err)), -1);
}

/* ground {x: 1, y: 5, z: "a<b&"}: the first and third hold, score 3 + 2 of 6 */
static void grade_it(struct lab *l, struct grade *g, struct jv *ground)
{
	char err[256];
	const char *text = "{\"x\": 1, \"y\": 5, \"z\": \"a<b&\"}";

	assert_int_equal(jv_parse(text, strlen(text), ground, err, sizeof(err)), 0);
	load(l);
	grade_eval(g, l, doc, ground, "alice");
	snprintf(g->status, sizeof(g->status), "exit 0");
}

static void test_scores_and_json_roundtrip(void **state)
{
	struct lab l;
	struct grade g, back;
	struct jv ground;
	char path[] = "/tmp/conlab-test-grade-XXXXXX", err[256];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	grade_it(&l, &g, &ground);
	assert_true(g.score == 5 && g.max_score == 6);
	assert_false(g.passed);
	assert_false(g.items[1].pass);
	assert_string_equal(g.items[1].measured, "5");
	assert_int_equal(grade_write_file(&g, GRADE_JSON, path), 0);
	assert_int_equal(grade_load_json(&back, path, err, sizeof(err)), 0);
	assert_string_equal(back.submission, "alice");
	assert_string_equal(back.status, "exit 0");
	assert_true(back.score == 5 && back.max_score == 6 && back.n == 3);
	assert_true(back.items[0].key && back.items[0].pass && back.items[0].weight == 3);
	assert_string_equal(back.items[2].note, "quoted \"note\"");
	assert_string_equal(back.items[1].wanted, "2");
	grade_free(&back);
	/* a gradescope file is not a conlab result */
	assert_int_equal(grade_write_file(&g, GRADE_GRADESCOPE, path), 0);
	assert_int_equal(grade_load_json(&back, path, err, sizeof(err)), -1);
	unlink(path);
	grade_free(&g);
	jv_free(&ground);
	lab_free(&l);
}

static void test_junit_escapes(void **state)
{
	struct lab l;
	struct grade g;
	struct jv ground;
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	(void)state;
	grade_it(&l, &g, &ground);
	grade_write(&g, GRADE_JUNIT, f);
	fclose(f);
	assert_non_null(strstr(buf, "<testsuites name=\"conlab lab 90-t\" tests=\"3\" failures=\"1\""));
	assert_non_null(strstr(buf, "name=\"ground.z == &quot;a&lt;b&amp;&quot;\"/>"));
	assert_non_null(strstr(buf, "<failure message=\"measured 5, wanted == 2\""));
	assert_null(strstr(buf, "a<b"));
	free(buf);
	grade_free(&g);
	jv_free(&ground);
	lab_free(&l);
}

static void test_sandbox_spec(void **state)
{
	struct sandbox s = {0}, back;
	char spec[8192], err[256];

	(void)state;
	s.uid = 65534;
	s.gid = 65534;
	s.lim.cpu_s = 7;
	s.as_bytes = 1 << 30;
	s.nproc = 64;
	s.lim.files = 256;
	s.lim.fsize = 1 << 20;
	s.netns = 1;
	snprintf(s.dir, sizeof(s.dir), "/tmp/x/work");
	snprintf(s.cgroups[0], PATH_MAX, "/sys/fs/cgroup/conlab/a");
	s.ncgroups = 1;
	assert_int_equal(sandbox_spec_format(&s, spec, sizeof(spec)), 0);
	assert_int_equal(sandbox_spec_parse(&back, spec, err, sizeof(err)), 0);
	assert_int_equal(back.uid, 65534);
	assert_true(back.lim.cpu_s == 7 && back.as_bytes == 1 << 30 && back.nproc == 64);
	assert_true(back.netns && back.ncgroups == 1);
	assert_string_equal(back.cgroups[0], "/sys/fs/cgroup/conlab/a");
	assert_string_equal(back.dir, "/tmp/x/work");
	/* never root, never without a user or a directory, nothing unknown */
	assert_int_equal(sandbox_spec_parse(&back, "uid=0,gid=0,dir=/tmp", err, sizeof(err)), -1);
	assert_int_equal(sandbox_spec_parse(&back, "dir=/tmp", err, sizeof(err)), -1);
	assert_int_equal(sandbox_spec_parse(&back, "uid=5,gid=5", err, sizeof(err)), -1);
	assert_int_equal(sandbox_spec_parse(&back, "uid=5,gid=5,dir=/t,x=1", err, sizeof(err)),
			 -1);
	assert_int_equal(sandbox_spec_parse(&back, "uid=5,gid=5,dir=rel", err, sizeof(err)), -1);
	assert_int_equal(sandbox_spec_parse(&back, "uid=-5,gid=5,dir=/t", err, sizeof(err)), -1);
	{
		int uid, gid;

		assert_int_equal(sandbox_user("root", &uid, &gid), -1);
		assert_int_equal(sandbox_user("0", &uid, &gid), -1);
		assert_int_equal(sandbox_user("nobody", &uid, &gid), 0);
		assert_true(uid > 0);
	}
}

static void test_options(void **state)
{
	struct grade_opts o = {0};

	(void)state;
	assert_int_equal(grade_opt(&o, GO_FORMAT, "gradescope"), 0);
	assert_int_equal(o.format, GRADE_GRADESCOPE);
	assert_int_equal(grade_opt(&o, GO_FORMAT, "yaml"), -1);
	assert_int_equal(grade_opt(&o, GO_MEMORY, "256M"), 0);
	assert_true(o.memory_limit == 256ULL << 20);
	assert_int_equal(grade_opt(&o, GO_MEMORY, "lots"), -1);
	assert_int_equal(grade_opt(&o, GO_TIME, "500ms"), 0);
	assert_true(o.time_limit == 0.5);
	assert_int_equal(grade_opt(&o, GO_JOBS, "0"), -1);
	assert_int_equal(grade_opt(&o, GO_PROCS, "16"), 0);
	assert_int_equal(o.procs_limit, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weights_and_batch),
		cmocka_unit_test(test_scores_and_json_roundtrip),
		cmocka_unit_test(test_junit_escapes),
		cmocka_unit_test(test_sandbox_spec),
		cmocka_unit_test(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
