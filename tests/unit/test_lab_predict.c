/* test_lab_predict.c — the Predict section: items, their measured expressions, the answer
 * fields hidden from the program's output, and predictions given with --predict. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonread.h"
#include "lab/lab_predict.h"

static const char *section =
	"Answer before you run it:\n"
	"\n"
	"1. Will the counter end at 0? If not,\n"
	"   how far off? measured: `ground.result`\n"
	"2. How many threads? measured: `len(summary.processes[0].threads) + ground.extra`\n"
	"3. Why?\n";

static void test_parse(void **state)
{
	struct lab_predict p;
	char err[256];

	(void)state;
	assert_int_equal(lab_predict_parse(&p, section, err, sizeof(err)), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.v[0].question, "Will the counter end at 0? If not, how far off?");
	assert_string_equal(p.v[0].expr, "ground.result");
	assert_string_equal(p.v[1].expr, "len(summary.processes[0].threads) + ground.extra");
	assert_null(p.v[2].expr);
	assert_string_equal(p.v[2].question, "Why?");
	assert_int_equal(p.nhidden, 2);
	assert_string_equal(p.hidden[0], "result");
	assert_string_equal(p.hidden[1], "extra");
	lab_predict_free(&p);
}

static void test_bad(void **state)
{
	struct lab_predict p;
	char err[256];

	(void)state;
	assert_int_equal(lab_predict_parse(&p, "1. x measured: `ground.`\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Predict item 1"));
	assert_int_equal(lab_predict_parse(&p, "1. x measured: `ground.a\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "closing"));
}

static void test_hide(void **state)
{
	struct lab_predict p;
	char err[256], line[256] = "variant=call result=-815 expected=0 extra=1,2\n";

	(void)state;
	assert_int_equal(lab_predict_parse(&p, section, err, sizeof(err)), 0);
	lab_predict_hide(&p, line, sizeof(line));
	assert_string_equal(line, "variant=call result=? expected=0 extra=?\n");
	strcpy(line, "no fields here, result: 3");
	lab_predict_hide(&p, line, sizeof(line));
	assert_string_equal(line, "no fields here, result: 3");
	lab_predict_free(&p);
}

static void test_answers(void **state)
{
	struct lab_predict p;
	char err[256], *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(lab_predict_parse(&p, section, err, sizeof(err)), 0);
	/* given answers: nothing is read from the input, fewer answers than questions is fine */
	lab_predict_ask(&p, " 0 ;  3", 1, NULL, out);
	fclose(out);
	assert_string_equal(p.v[0].answer, "0");
	assert_string_equal(p.v[1].answer, "3");
	assert_null(p.v[2].answer);
	assert_non_null(strstr(buf, "your prediction: (none)"));
	free(buf);
	lab_predict_free(&p);
}

static void test_not_interactive(void **state)
{
	struct lab_predict p;
	char err[256], *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(lab_predict_parse(&p, section, err, sizeof(err)), 0);
	lab_predict_ask(&p, NULL, 0, NULL, out);	/* no terminal: print, never read */
	fclose(out);
	assert_null(p.v[0].answer);
	assert_non_null(strstr(buf, "--predict"));
	free(buf);
	lab_predict_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_hide),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_not_interactive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
