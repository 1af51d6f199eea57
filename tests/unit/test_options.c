/* test_options.c — options declared once: the set a command takes, getopt's short string, and
 * the help lines (aligned, wrapped at 80 columns), all from the same rows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/options.h"

enum { A = 1, B = 2 };

static const struct optdef table[] = {
	{"pid", 'p', required_argument, "PID", "the process", A | B},
	{"locks", 0x100, optional_argument, "HOW", "how to see lock calls: a long text that has to "
	 "be wrapped because it does not fit in the fifty-odd columns left of a line", B},
	{"verbose", 'v', no_argument, NULL, "more", A},
	{"help", 'h', no_argument, NULL, "this text", A | B},
	{0},
};

static char *help_of(const struct optset *s)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	optset_help(f, s);
	fclose(f);
	return buf;
}

static void test_take_by_command(void **state)
{
	struct optset s = {0};
	char shorts[16];
	struct option *o;

	(void)state;
	optset_take(&s, table, A);
	assert_int_equal(s.n, 3);
	o = optset_getopt(&s, shorts, sizeof(shorts));
	assert_string_equal(shorts, "+p:vh");
	assert_string_equal(o[0].name, "pid");
	assert_int_equal(o[0].has_arg, required_argument);
	assert_null(o[3].name);	/* the terminator getopt_long wants */
	assert_non_null(optset_find(&s, 'v'));
	assert_null(optset_find(&s, 0x100));	/* B's option is not A's */
	free(o);
}

static void test_optional_argument(void **state)
{
	struct optset s = {0};
	char shorts[16], *h;
	struct option *o;

	(void)state;
	optset_take(&s, table, B);
	o = optset_getopt(&s, shorts, sizeof(shorts));
	assert_string_equal(shorts, "+p:h");	/* a long-only option has no letter */
	assert_int_equal(o[1].has_arg, optional_argument);
	free(o);
	h = help_of(&s);
	assert_non_null(strstr(h, "      --locks[=HOW]"));
	free(h);
}

static void test_help_aligned_and_wrapped(void **state)
{
	struct optset s = {0};
	char *h, *line, *save = NULL;
	int lines = 0;

	(void)state;
	optset_take(&s, table, B);
	h = help_of(&s);
	assert_non_null(strstr(h, "  -p, --pid PID"));
	for (line = strtok_r(h, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_true(strlen(line) <= 80);
		lines++;
	}
	assert_true(lines >= 4);	/* the long text took more than one line */
	free(h);
}

static void test_help_text_per_command(void **state)
{
	struct optset s = {0};
	char *h;

	(void)state;
	optset_add_with_help(&s, &table[0], "made for this command");
	h = help_of(&s);
	assert_non_null(strstr(h, "made for this command"));
	assert_null(strstr(h, "the process"));
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_by_command),
		cmocka_unit_test(test_optional_argument),
		cmocka_unit_test(test_help_aligned_and_wrapped),
		cmocka_unit_test(test_help_text_per_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
