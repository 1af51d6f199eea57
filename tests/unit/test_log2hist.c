/* test_log2hist.c — the one log2 histogram printer in each report's style. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/log2hist.h"

static char *print(const uint64_t *h, size_t n, const struct log2hist_style *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	log2hist_text(f, h, n, st);
	fclose(f);
	return buf;
}

/* buckets 10 (1.0 us) and 16 (65.5 us) with counts 1 and 4 */
static void fill(uint64_t *h)
{
	memset(h, 0, 32 * sizeof(*h));
	h[10] = 1;
	h[16] = 4;
}

static void test_framed_shows_empty_rows(void **state)
{
	static const struct log2hist_style st = {"    ", 8, LH_EMPTY_SHOW, 1};
	uint64_t h[32];
	char *s;

	(void)state;
	fill(h);
	s = print(h, 32, &st);
	assert_string_equal(s,
		"       1.0 us .. 2.0 us           1 |**********                              |\n"
		"       2.0 us .. 4.1 us           0 |                                        |\n"
		"       4.1 us .. 8.2 us           0 |                                        |\n"
		"       8.2 us .. 16.4 us          0 |                                        |\n"
		"      16.4 us .. 32.8 us          0 |                                        |\n"
		"      32.8 us .. 65.5 us          0 |                                        |\n"
		"      65.5 us .. 131.1 us         4 |****************************************|\n");
	free(s);
}

static void test_fold_and_skip(void **state)
{
	static const struct log2hist_style fold = {"  ", 7, LH_EMPTY_FOLD, 0};
	static const struct log2hist_style skip = {"    ", 6, LH_EMPTY_SKIP, 0};
	uint64_t h[32];
	char *s;

	(void)state;
	fill(h);
	s = print(h, 32, &fold);
	assert_string_equal(s,
		"  [   1.0 us,    2.0 us)       1 ##########\n"
		"  ...                   \n"
		"  [  65.5 us,  131.1 us)       4 ########################################\n");
	free(s);
	h[11] = 1;	/* two empty buckets between: each its row */
	h[16] = 0;
	h[14] = 3;
	s = print(h, 32, &fold);
	assert_non_null(strstr(s, "[   4.1 us,    8.2 us)       0 \n"));
	free(s);
	fill(h);
	s = print(h, 32, &skip);
	assert_string_equal(s,
		"    [   1.0 us,    2.0 us)      1 ##########\n"
		"    [  65.5 us,  131.1 us)      4 ########################################\n");
	free(s);
	memset(h, 0, sizeof(h));
	s = print(h, 32, &skip);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framed_shows_empty_rows),
		cmocka_unit_test(test_fold_and_skip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
