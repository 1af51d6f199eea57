/* test_lab.c — the lab file parser, the expectation evaluator and the JSON reader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonread.h"
#include "lab/lab.h"

static const char *report_json =
	"{\"objects\": ["
	"  {\"name\": \"join(x)\", \"kind\": \"join\", \"contention\": false, \"waits\": 1,"
	"   \"wait_ns_total\": 500},"
	"  {\"name\": \"table_lock\", \"kind\": \"mutex\", \"contention\": true, \"waits\": 40,"
	"   \"wait_ns_total\": 1000},"
	"  {\"name\": \"stripe\\u005b1]\", \"kind\": \"mutex\", \"contention\": true, \"waits\": 2,"
	"   \"wait_ns_total\": 100}],"
	" \"spans\": [{\"start_ns\": 0, \"end_ns\": 10}, {\"start_ns\": 5, \"end_ns\": 15},"
	"   {\"start_ns\": 10, \"end_ns\": 20}, {\"start_ns\": 12, \"end_ns\": 13}],"
	" \"series\": [1, 2.5, -3e2], \"empty\": [], \"nothing\": null,"
	" \"text\": \"a\\\"b\\n\\u00e9\"}";

static const char *fixed_json =
	"{\"objects\": [{\"name\": \"stripe\", \"contention\": true, \"wait_ns_total\": 150}]}";

struct docs {
	struct jv report, fixed, ground;
};

static const struct jv *doc(void *ctx, const char *variant, const char *source, char *why,
			    size_t n)
{
	struct docs *d = ctx;

	if (!strcmp(source, "ground") && !variant)
		return &d->ground;
	if (!strcmp(source, "contention"))
		return variant && !strcmp(variant, "fixed") ? &d->fixed : &d->report;
	snprintf(why, n, "no %s here", source);
	return NULL;
}

static int setup(void **state)
{
	struct docs *d = calloc(1, sizeof(*d));
	char err[200];

	assert_int_equal(jv_parse(report_json, strlen(report_json), &d->report, err, sizeof(err)),
			 0);
	assert_int_equal(jv_parse(fixed_json, strlen(fixed_json), &d->fixed, err, sizeof(err)), 0);
	jv_set_num(jv_obj_add(&d->ground, "result"), 0);
	jv_set_str(jv_obj_add(&d->ground, "hang"), "none");
	{
		struct jv *m = jv_obj_add(&d->ground, "meals");

		jv_set_num(jv_arr_add(m), 10);
		jv_set_num(jv_arr_add(m), 8);
		jv_set_num(jv_arr_add(m), 12);
	}
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct docs *d = *state;

	jv_free(&d->report);
	jv_free(&d->fixed);
	jv_free(&d->ground);
	free(d);
	return 0;
}

/* Evaluate one expectation; returns 1 pass, 0 fail, -1 error; measured copied out. */
static int check(void **state, const char *text, char *measured, size_t n)
{
	struct lab_expect e;
	struct lab_result r;
	char err[256];

	if (lab_expect_parse(&e, text, err, sizeof(err))) {
		fail_msg("parse '%s': %s", text, err);
		return -2;
	}
	lab_eval(&e, doc, *state, &r);
	lab_expect_free(&e);
	if (measured)
		snprintf(measured, n, "%s", r.measured);
	return r.error ? -1 : r.pass;
}

static void test_json_values(void **state)
{
	struct docs *d = *state;
	const struct jv *o = jv_get(&d->report, "objects"), *t;

	assert_non_null(o);
	assert_int_equal(o->type, JV_ARR);
	assert_int_equal(o->n, 3);
	assert_string_equal(jv_get(jv_at(o, 2), "name")->str, "stripe[1]");
	assert_int_equal(jv_get(jv_at(o, 0), "contention")->type, JV_BOOL);
	t = jv_get(&d->report, "text");
	assert_string_equal(t->str, "a\"b\n\xc3\xa9");
	assert_true(jv_at(jv_get(&d->report, "series"), 2)->num == -300);
	assert_int_equal(jv_get(&d->report, "nothing")->type, JV_NULL);
	assert_null(jv_at(o, 3));
	assert_null(jv_get(o, "x"));
}

static void test_json_errors(void **state)
{
	static const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "[1] x", "\"abc", "01x",
				    "[tru]", "{\"a\":1,}", "\"\\q\"", "-", ".5"};
	char deep[600], err[200];
	struct jv v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(jv_parse(bad[i], strlen(bad[i]), &v, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "at byte"));
	}
	memset(deep, '[', sizeof(deep));
	assert_int_equal(jv_parse(deep, sizeof(deep), &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "deeper"));
	assert_int_equal(jv_parse(" [ ] ", 5, &v, err, sizeof(err)), 0);
	assert_int_equal(v.type, JV_ARR);
	jv_free(&v);
}

static void test_paths_and_filters(void **state)
{
	char m[256];

	assert_int_equal(check(state, "contention.objects[1].name == \"table_lock\"", m, 256), 1);
	assert_int_equal(check(state, "contention.objects[-1].waits == 2", m, 256), 1);
	assert_int_equal(check(state, "contention.objects[\"0\"] == 1", m, 256), -1);
	/* a filter, then an index into the selection */
	assert_int_equal(check(state, "contention.objects[contention==true][0].name == "
			       "\"table_lock\"", m, 256), 1);
	assert_int_equal(check(state, "contention.objects[kind!=\"mutex\"][0].name == \"join(x)\"",
			       m, 256), 1);
	assert_int_equal(check(state, "len(contention.objects[kind==\"mutex\"]) == 2", m, 256), 1);
	assert_int_equal(check(state, "len(contention.objects[kind==\"rwlock\"]) == 0", m, 256), 1);
	/* filters chain: each one keeps or drops the elements the one before selected */
	assert_int_equal(check(state, "len(contention.objects[kind==\"mutex\"][waits==2]) == 1", m,
			       256), 1);
	assert_int_equal(check(state, "contention.objects[kind==\"mutex\"][waits!=2][0].name == "
			       "\"table_lock\"", m, 256), 1);
	assert_int_equal(check(state, "len(contention.objects[kind==\"mutex\"][waits==3]) == 0", m,
			       256), 1);
	/* a filter's value may be a selection: equal to one of its values (or, with !=, none) */
	assert_int_equal(check(state, "len(contention.objects[waits==contention.objects[*].waits]) "
			       "== 3", m, 256), 1);
	assert_int_equal(check(state, "len(contention.objects[name!=contention.objects[kind==\"mutex\"]"
			       ".name]) == 1", m, 256), 1);
	assert_int_equal(check(state, "len(contention.objects[name==\"table_lock\"]) == 1", m, 256),
			 1);
	assert_int_equal(check(state, "sum(contention.objects[*].waits) == 43", m, 256), 1);
	assert_int_equal(check(state, "max(contention.series) == 2.5", m, 256), 1);
	assert_int_equal(check(state, "min(ground.meals) >= 8", m, 256), 1);
	assert_int_equal(check(state, "avg(ground.meals) == 10", m, 256), 1);
	assert_int_equal(check(state, "len(contention.empty) == 0", m, 256), 1);
	assert_int_equal(check(state, "sum(contention.empty) == 0", m, 256), 1);
	/* filters one after the other narrow the selection: both hold */
	assert_int_equal(check(state, "len(contention.objects[kind==\"mutex\"][contention==true]) "
			       "== 2", m, 256), 1);
	assert_int_equal(check(state, "len(contention.objects[kind==\"mutex\"][name==\"join(x)\"]) "
			       "== 0", m, 256), 1);
	assert_int_equal(check(state, "contention.objects[contention==true][kind==\"mutex\"][-1]"
			       ".waits == 2", m, 256), 1);
}

static void test_arithmetic_and_functions(void **state)
{
	char m[256];

	assert_int_equal(check(state, "ratio(sum(fixed:contention.objects[contention==true]"
			       ".wait_ns_total), sum(contention.objects[contention==true]"
			       ".wait_ns_total)) <= 0.2", m, 256), 1);
	assert_string_equal(m, "0.1364");
	assert_int_equal(check(state, "(1 + 2) * 3 - 4 / 2 == 7", m, 256), 1);
	assert_int_equal(check(state, "-ground.result == 0", m, 256), 1);
	assert_int_equal(check(state, "abs(0 - 5) == 5", m, 256), 1);
	assert_int_equal(check(state, "100_000 == 1e5", m, 256), 1);
	assert_int_equal(check(state, "exists(contention.missing) == 0", m, 256), 1);
	assert_int_equal(check(state, "exists(contention.objects) == 1", m, 256), 1);
	assert_int_equal(check(state, "default(contention.series[7], 42) == 42", m, 256), 1);
	assert_int_equal(check(state, "default(contention.series[0], 42) == 1", m, 256), 1);
	assert_int_equal(check(state, "contention.objects[0].contention == false", m, 256), 1);
	assert_int_equal(check(state, "ground.hang == \"none\"", m, 256), 1);
	assert_int_equal(check(state, "ground.hang != \"abba\"", m, 256), 1);
	assert_int_equal(check(state, "ground.result > 0", m, 256), 0);
	assert_string_equal(m, "0");
	/* 5-15, 10-20 and 12-13 at once; 0-10 has ended when 10-20 starts */
	assert_int_equal(check(state, "overlap(contention.spans) == 3", m, 256), 1);
	assert_int_equal(check(state, "overlap(contention.spans[start_ns!=12]) == 2", m, 256), 1);
	assert_int_equal(check(state, "overlap(contention.empty) == 0", m, 256), 1);
	/* 0-20 covered without a break; 12-13 alone is one period too */
	assert_int_equal(check(state, "periods(contention.spans) == 1", m, 256), 1);
	assert_int_equal(check(state, "periods(contention.spans[start_ns!=5]) == 2", m, 256), 1);
	assert_int_equal(check(state, "periods(contention.empty) == 0", m, 256), 1);
}

static void test_eval_errors(void **state)
{
	char m[256];

	assert_int_equal(check(state, "contention.nope == 1", m, 256), -1);
	assert_non_null(strstr(m, "no member 'nope'"));
	assert_int_equal(check(state, "contention.objects[9].waits == 1", m, 256), -1);
	assert_non_null(strstr(m, "out of range"));
	assert_int_equal(check(state, "contention.objects[*].waits == 1", m, 256), -1);
	assert_non_null(strstr(m, "3 values"));
	assert_int_equal(check(state, "contention.objects == 1", m, 256), -1);
	assert_int_equal(check(state, "timeline.x == 1", m, 256), -1);
	assert_non_null(strstr(m, "no timeline here"));
	assert_int_equal(check(state, "ratio(1, ground.result) == 1", m, 256), -1);
	assert_int_equal(check(state, "1 / 0 == 1", m, 256), -1);
	assert_int_equal(check(state, "ground.hang < 3", m, 256), -1);
	assert_int_equal(check(state, "max(contention.empty) == 0", m, 256), -1);
	assert_int_equal(check(state, "nosuch(1) == 1", m, 256), -1);
	assert_int_equal(check(state, "overlap(contention.series) == 1", m, 256), -1);
	assert_non_null(strstr(m, "start_ns"));
}

static void test_expect_syntax(void **state)
{
	static const char *bad[] = {"ground.result", "ground.result = 0", "ground.result == ",
				    "ground.[0] == 1", "len(ground.x == 1", "\"abc == 1",
				    "ground.result == 0 0", "x[1.5] == 1", "x[a>1] == 1"};
	struct lab_expect e;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(lab_expect_parse(&e, bad[i], err, sizeof(err)), -1);
		assert_true(err[0] != 0);
	}
	assert_int_equal(lab_expect_parse(&e, "key ground.result == 0 -- the note", err,
					  sizeof(err)), 0);
	assert_true(e.key);
	assert_string_equal(e.note, "the note");
	assert_string_equal(e.text, "ground.result == 0");
	assert_int_equal(e.cmp, CMP_EQ);
	lab_expect_free(&e);
}

static const char *lab_text =
	"# a lab\n"
	"name    06-granularity\n"
	"title   Lock granularity\n"
	"topic   locks\n"
	"needs   command python3 -- apt-get install python3\n"
	"needs   program\n"
	"show    contention timeline\n"
	"\n"
	"variant reference  {wl}/table --locks striped\n"
	"variant broken     hang=1.5 timeout=20 {wl}/table --locks global\n"
	"variant lo         capture=deadlock {wl}/lockorder\n"
	"expect key ground.result == 0 -- exact\n"
	"expect broken:run.hung == 1\n";

static void test_lab_parse(void **state)
{
	struct lab l;
	char err[512];

	(void)state;
	assert_int_equal(lab_parse(&l, lab_text, "t.lab", err, sizeof(err)), 0);
	assert_string_equal(l.name, "06-granularity");
	assert_int_equal(l.number, 6);
	assert_int_equal(l.nneeds, 2);
	assert_int_equal(l.needs[0].kind, NEED_COMMAND);
	assert_string_equal(l.needs[0].what, "python3");
	assert_string_equal(l.needs[0].hint, "apt-get install python3");
	assert_int_equal(l.needs[1].kind, NEED_PROGRAM);
	assert_int_equal(l.nshow, 2);
	assert_int_equal(l.nvariants, 3);
	assert_string_equal(l.variants[1].cmd, "{wl}/table --locks global");
	assert_true(l.variants[1].hang_s == 1.5);
	assert_true(l.variants[1].timeout_s == 20);
	assert_true(l.variants[0].timeout_s == 60);
	assert_true(l.variants[2].capture_deadlock);
	assert_string_equal(l.check_variant, "reference");
	assert_string_equal(l.run_variant, "reference");
	assert_int_equal(l.nexpects, 2);
	assert_true(l.expects[0].key);
	assert_int_equal(l.expects[1].line, 13);
	assert_non_null(lab_variant_find(&l, "broken"));
	assert_null(lab_variant_find(&l, "fixed"));
	lab_free(&l);
}

static void test_lab_parse_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"title x\nvariant a b\n", "'name' and 'title'"},
		{"name x\ntitle y\n", "no variant"},
		{"name x\ntitle y\nvariant a\n", "name and a command"},
		{"name x\ntitle y\nvariant a-b c\n", "letters, digits"},
		{"name x\ntitle y\nvariant a c\nvariant a d\n", "twice"},
		{"name x\ntitle y\nvariant a hang=zz c\n", "bad time"},
		{"name x\ntitle y\nvariant a capture=perf c\n", "unknown capture"},
		{"name x\ntitle y\nvariant a c\nneeds car x\n", "unknown need"},
		{"name x\ntitle y\nvariant a c\nneeds module\n", "wants a name"},
		{"name x\ntitle y\nvariant a c\nfrobnicate\n", "unknown keyword"},
		{"name x\nname y\n", "given twice"},
		{"name x\ntitle y\nvariant a c\nservice postgres\n", "unknown service"},
		{"name x\ntitle y\nvariant a c\nservice rabbitmq\nservice rabbitmq\n", "twice"},
		{"name x\ntitle y\nvariant a c\nexpect ground.x ==\n", ":4:"},
	};
	struct lab l;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(lab_parse(&l, bad[i].text, "t.lab", err, sizeof(err)), -1);
		if (!strstr(err, bad[i].want))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_json_values, setup, teardown),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test_setup_teardown(test_paths_and_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arithmetic_and_functions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eval_errors, setup, teardown),
		cmocka_unit_test(test_expect_syntax),
		cmocka_unit_test(test_lab_parse),
		cmocka_unit_test(test_lab_parse_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
