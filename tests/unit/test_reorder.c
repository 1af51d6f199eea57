/* test_reorder.c — the CPUs' record batches put back in time order (capture/reorder.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "capture/reorder.h"

/* A batch of bare headers stamped ts[0..n), each tagged by its tid. */
static size_t batch(uint8_t *out, const uint64_t *ts, const uint32_t *tid, int n)
{
	for (int i = 0; i < n; i++) {
		struct ev_hdr h = {.ts = ts[i], .tid = tid[i], .type = EV_SWITCH,
				   .size = sizeof(struct ev_hdr)};

		memcpy(out + i * sizeof(h), &h, sizeof(h));
	}
	return n * sizeof(struct ev_hdr);
}

struct seen {
	uint64_t ts[280];
	uint32_t tid[280];
	int n;
};

static int collect(void *ctx, const struct ev_hdr *h, size_t size)
{
	struct seen *s = ctx;

	assert_int_equal(size, h->size);
	s->ts[s->n] = h->ts;
	s->tid[s->n++] = h->tid;
	return 0;
}

/* Two CPUs' batches, the later-stamped one drained first: released in time order, and only
 * what is older than the cut. */
static void test_interleaves_and_cuts(void **state)
{
	uint8_t b[512];
	struct reorder ro = {0};
	struct seen s = {0};
	const uint64_t t1[] = {30, 40, 50}, t0[] = {10, 20, 35, 60};
	const uint32_t c1[] = {1, 1, 1}, c0[] = {0, 0, 0, 0};

	(void)state;
	assert_int_equal(reorder_add(&ro, b, batch(b, t1, c1, 3)), 50);
	assert_int_equal(reorder_add(&ro, b, batch(b, t0, c0, 4)), 60);
	assert_int_equal(reorder_release(&ro, 45, collect, &s), 5);
	const uint64_t want[] = {10, 20, 30, 35, 40};

	for (int i = 0; i < 5; i++)
		assert_int_equal(s.ts[i], want[i]);
	assert_int_equal(ro.n, 2);
	/* what is held comes out at the next cut, still in order, nothing late */
	assert_int_equal(reorder_release(&ro, UINT64_MAX, collect, &s), 2);
	assert_int_equal(s.ts[5], 50);
	assert_int_equal(s.ts[6], 60);
	assert_int_equal(ro.late, 0);
	assert_int_equal(ro.n, 0);
	reorder_free(&ro);
}

/* Records with the same time keep the order they arrived in (a switch, then its stack). */
static void test_ties_keep_arrival_order(void **state)
{
	uint8_t b[512];
	struct reorder ro = {0};
	struct seen s = {0};
	const uint64_t t[] = {7, 7, 7, 7};
	const uint32_t tid[] = {4, 3, 2, 1};

	(void)state;
	reorder_add(&ro, b, batch(b, t, tid, 4));
	reorder_release(&ro, UINT64_MAX, collect, &s);
	for (int i = 0; i < 4; i++)
		assert_int_equal(s.tid[i], tid[i]);
	reorder_free(&ro);
}

/* A record that arrives after a cut past its time is still handed on, and counted late. */
static void test_late_record(void **state)
{
	uint8_t b[512];
	struct reorder ro = {0};
	struct seen s = {0};
	const uint64_t t[] = {100}, old[] = {90};
	const uint32_t tid[] = {1};

	(void)state;
	reorder_add(&ro, b, batch(b, t, tid, 1));
	assert_int_equal(reorder_release(&ro, 200, collect, &s), 1);
	reorder_add(&ro, b, batch(b, old, tid, 1));
	assert_int_equal(reorder_release(&ro, 300, collect, &s), 1);
	assert_int_equal(s.ts[1], 90);
	assert_int_equal(ro.late, 1);
	reorder_free(&ro);
}

/* A batch whose sizes do not add up: the whole records before the bad one, and a count. */
static void test_malformed_batch(void **state)
{
	uint8_t b[512];
	struct reorder ro = {0};
	struct seen s = {0};
	const uint64_t t[] = {1, 2, 3};
	const uint32_t tid[] = {1, 2, 3};
	size_t n = batch(b, t, tid, 3);
	struct ev_hdr bad;

	(void)state;
	memcpy(&bad, b + sizeof(bad), sizeof(bad));
	bad.size = 4000;	/* past the batch's end */
	memcpy(b + sizeof(bad), &bad, sizeof(bad));
	reorder_add(&ro, b, n);
	assert_int_equal(ro.malformed, 1);
	assert_int_equal(reorder_release(&ro, UINT64_MAX, collect, &s), 1);
	assert_int_equal(s.ts[0], 1);
	reorder_add(&ro, b, 5);	/* shorter than a header */
	assert_int_equal(ro.malformed, 2);
	assert_int_equal(ro.n, 0);
	reorder_free(&ro);
}

/* Many batches, each sorted, their times interleaved (seven CPUs' stages and what was held):
 * every record comes out once, in time order, equal times in arrival order. */
static void test_many_runs(void **state)
{
	enum { NB = 7, PER = 40 };
	uint8_t b[PER * sizeof(struct ev_hdr)];
	struct reorder ro = {0};
	struct seen *s = calloc(1, sizeof(*s));
	uint64_t ts[PER], x = 12345;
	uint32_t tid[PER];

	(void)state;
	for (int k = 0; k < NB; k++) {
		uint64_t t = k < 3 ? 0 : 100;	/* after the cut at 100, nothing older comes */

		for (int i = 0; i < PER; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			t += (x >> 60);		/* steps of 0-15: ties within and across batches */
			ts[i] = t;
			tid[i] = k * PER + i;	/* arrival order */
		}
		reorder_add(&ro, b, batch(b, ts, tid, PER));
		if (k == 2) {	/* a release in between: the held rest is a run of its own */
			size_t before = ro.n;

			assert_true(reorder_release(&ro, 100, collect, s) <= before);
		}
	}
	reorder_release(&ro, UINT64_MAX, collect, s);
	assert_int_equal(s->n, NB * PER);
	assert_int_equal(ro.late, 0);
	for (int i = 1; i < s->n; i++) {
		assert_true(s->ts[i - 1] <= s->ts[i]);
		if (s->ts[i - 1] == s->ts[i])
			assert_true(s->tid[i - 1] < s->tid[i]);
	}
	free(s);
	reorder_free(&ro);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interleaves_and_cuts),
		cmocka_unit_test(test_ties_keep_arrival_order),
		cmocka_unit_test(test_late_record),
		cmocka_unit_test(test_malformed_batch),
		cmocka_unit_test(test_many_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
