/* test_spool.c — records as written or sorted, in memory and over the budget (lib/spool.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/spool.h"

/* 24 bytes: a window of 64 KiB is not a whole number of them, nor is a budget of 4096. */
struct rec {
	uint64_t key, seq, check;
};

#define NREC 100000

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* n records with keys from a fixed LCG; keys of 16 bits, so that many are equal and the
 * sequence number decides */
static struct rec *make_recs(size_t n)
{
	struct rec *r = calloc(n, sizeof(*r));
	uint64_t x = 42;

	for (size_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		r[i].key = x >> 48;
		r[i].seq = i;
		r[i].check = r[i].key * 31 + i;
	}
	return r;
}

static struct spool *fill(const struct rec *r, size_t n, int sorted)
{
	struct spool *s = spool_new(sizeof(*r), sorted ? cmp_rec : NULL);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(spool_add(s, &r[i]), 0);
	assert_int_equal(spool_count(s), n);
	assert_int_equal(spool_seal(s), 0);
	return s;
}

/* Records [from, to) of s are want[from, to), and no more (to past the end: to the end). */
static void check_range(struct spool *s, const struct rec *want, uint64_t from, uint64_t to)
{
	uint64_t end = to < spool_count(s) ? to : spool_count(s), i = from;
	struct spool_cursor c;
	const struct rec *r;

	spool_cursor(&c, s, from, to);
	while ((r = spool_next(&c))) {
		assert_true(i < end);
		assert_memory_equal(r, &want[i], sizeof(*r));
		i++;
	}
	assert_int_equal(i, from < end ? end : from);
	assert_null(spool_next(&c));
	spool_cursor_end(&c);
}

/* The ranges at the edges: the ends, a budget of records (170), a window of them (2730). */
static void check_ranges(struct spool *s, const struct rec *want, uint64_t n)
{
	static const uint64_t edges[][2] = {
		{0, 1}, {0, 170}, {169, 171}, {170, 341}, {2729, 2731}, {2730, 5461},
		{12345, 67890}, {50000, 50000}, {99959, 99961}, {99999, 100000}, {0, 100000},
	};

	for (size_t k = 0; k < sizeof(edges) / sizeof(edges[0]); k++)
		if (edges[k][1] <= n)
			check_range(s, want, edges[k][0], edges[k][1]);
}

static void budget(const char *bytes)
{
	if (bytes)
		setenv("CONLAB_SPOOL_BYTES", bytes, 1);
	else
		unsetenv("CONLAB_SPOOL_BYTES");
}

/* TMPDIR set to dir (NULL: unset); returns what it was, for restore_tmpdir() */
static char *set_tmpdir(const char *dir)
{
	char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;

	if (dir)
		setenv("TMPDIR", dir, 1);
	else
		unsetenv("TMPDIR");
	return old;
}

static void restore_tmpdir(char *old)
{
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
}

static void test_memory_as_written(void **state)
{
	struct rec *r = make_recs(1000);
	struct spool *s;

	(void)state;
	budget(NULL);
	s = fill(r, 1000, 0);
	assert_int_equal(spool_on_disk(s), 0);
	check_range(s, r, 0, 1000);
	check_range(s, r, 10, 20);
	check_range(s, r, 999, 5000);	/* the end is the count */
	check_range(s, r, 20, 10);	/* nothing */
	spool_free(s);
	free(r);
}

static void test_memory_sorted(void **state)
{
	struct rec *r = make_recs(1000);
	struct spool_cursor c;
	struct spool *s;

	(void)state;
	budget(NULL);
	s = spool_new(sizeof(*r), cmp_rec);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(spool_add(s, &r[i]), 0);
	spool_cursor(&c, s, 0, 1000);	/* not sealed: nothing to read yet */
	assert_null(spool_next(&c));
	spool_cursor_end(&c);
	assert_int_equal(spool_seal(s), 0);
	qsort(r, 1000, sizeof(*r), cmp_rec);
	assert_int_equal(spool_on_disk(s), 0);
	check_range(s, r, 0, 1000);
	check_range(s, r, 500, 501);
	spool_free(s);
	free(r);
}

/* Exactly the budget stays in memory; one more record goes to the file. */
static void test_budget_edge(void **state)
{
	struct rec *r = make_recs(171);
	struct spool *s;

	(void)state;
	budget("4096");		/* 170 records of 24 bytes */
	s = fill(r, 170, 1);
	assert_int_equal(spool_on_disk(s), 0);
	spool_free(s);
	s = fill(r, 171, 1);
	assert_int_equal(spool_on_disk(s), 1);
	qsort(r, 171, sizeof(*r), cmp_rec);
	check_range(s, r, 0, 171);
	spool_free(s);
	budget(NULL);
	free(r);
}

static void sorted_on_disk(const char *bytes)
{
	struct rec *r = make_recs(NREC);
	struct spool *s;

	budget(bytes);
	s = fill(r, NREC, 1);
	budget(NULL);
	assert_int_equal(spool_on_disk(s), 1);
	qsort(r, NREC, sizeof(*r), cmp_rec);
	check_ranges(s, r, NREC);
	spool_free(s);
	free(r);
}

/* 589 runs, read a record at a time; 37 runs, read 71 records at a time. */
static void test_disk_sorted(void **state)
{
	(void)state;
	sorted_on_disk("4096");
	sorted_on_disk("64K");
}

static void test_disk_as_written(void **state)
{
	struct rec *r = make_recs(NREC);
	struct spool *s;

	(void)state;
	budget("4096");
	s = fill(r, NREC, 0);	/* 588 budgets to the file, 40 records left in memory */
	budget(NULL);
	assert_int_equal(spool_on_disk(s), 1);
	check_ranges(s, r, NREC);
	check_range(s, r, 99900, 99970);	/* across the file's end into memory */
	spool_free(s);
	free(r);
}

/* Two cursors read one spool by turns, each record still whole after the other's step. */
static void interleaved(int sorted)
{
	struct rec *r = make_recs(NREC);
	struct spool_cursor a, b;
	const struct rec *x, *y;
	struct spool *s;
	uint64_t i = 0;

	budget("4096");
	s = fill(r, NREC, sorted);
	budget(NULL);
	if (sorted)
		qsort(r, NREC, sizeof(*r), cmp_rec);
	spool_cursor(&a, s, 0, NREC / 2);
	spool_cursor(&b, s, NREC / 2, NREC);
	for (; (x = spool_next(&a)); i++) {
		y = spool_next(&b);
		assert_non_null(y);
		assert_memory_equal(x, &r[i], sizeof(*x));
		assert_memory_equal(y, &r[NREC / 2 + i], sizeof(*y));
	}
	assert_int_equal(i, NREC / 2);
	assert_null(spool_next(&b));
	spool_cursor_end(&a);
	spool_cursor_end(&b);
	spool_free(s);
	free(r);
}

static void test_two_cursors(void **state)
{
	(void)state;
	interleaved(1);
	interleaved(0);
}

/* Grouped: by group (a small integer), each group's records in the order added, in memory and
 * over many runs on disk: what a stable sort by group gives. */
static uint32_t rec_group(const void *r)
{
	return ((const struct rec *)r)->key % 37;
}

static int cmp_group_then_seq(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	uint32_t gx = rec_group(x), gy = rec_group(y);

	if (gx != gy)
		return gx < gy ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static void test_grouped(void **state)
{
	static const char *budgets[] = {NULL, "4096", "64K"};
	struct rec *r = make_recs(NREC), *want = make_recs(NREC);

	(void)state;
	qsort(want, NREC, sizeof(*want), cmp_group_then_seq);
	for (size_t b = 0; b < 3; b++) {
		struct spool_cursor c;
		struct spool *s;
		size_t i = 0;

		budget(budgets[b]);
		s = spool_new_grouped(sizeof(*r), rec_group);
		for (size_t k = 0; k < NREC; k++)
			assert_int_equal(spool_add(s, &r[k]), 0);
		assert_int_equal(spool_seal(s), 0);
		assert_int_equal(spool_on_disk(s), budgets[b] != NULL);
		spool_cursor(&c, s, 0, NREC);
		for (const struct rec *x; (x = spool_next(&c)); i++)
			assert_memory_equal(x, &want[i], sizeof(*x));
		assert_int_equal(i, NREC);
		spool_cursor_end(&c);
		/* on disk a group's records are read from each run in turn: ranges that begin
		 * and end anywhere */
		check_ranges(s, want, NREC);
		spool_free(s);
	}
	budget(NULL);
	free(r);
	free(want);
}

static void test_empty(void **state)
{
	struct spool_cursor c;

	(void)state;
	for (int sorted = 0; sorted < 2; sorted++) {
		struct spool *s = fill(NULL, 0, sorted);

		assert_int_equal(spool_count(s), 0);
		assert_int_equal(spool_on_disk(s), 0);
		spool_cursor(&c, s, 0, 10);
		assert_null(spool_next(&c));
		spool_cursor_end(&c);
		spool_free(s);
	}
}

/* What f wrote on stderr while it ran, NUL-terminated in buf. */
static void capture_stderr(void (*f)(void *), void *arg, char *buf, size_t n)
{
	FILE *t = tmpfile();
	int saved = dup(2);
	size_t got;

	fflush(stderr);
	dup2(fileno(t), 2);
	f(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(t);
	got = fread(buf, 1, n - 1, t);
	buf[got] = 0;
	fclose(t);
}

/* What a spool did after an error: the add that failed, then what later calls returned. */
struct failing {
	int sorted;
	size_t failed_at;	/* the index of the record whose add failed */
	int add_after, seal, cursor_yields;
	char error[256];	/* spool_error() then */
};

/* The spool's calls once one of them failed: every one fails and a cursor yields nothing. */
static void after_failure(struct failing *f, struct spool *s, const struct rec *r)
{
	struct spool_cursor c;

	f->add_after = spool_add(s, r);
	f->seal = spool_seal(s);
	spool_cursor(&c, s, 0, spool_count(s));
	f->cursor_yields = spool_next(&c) != NULL;
	spool_cursor_end(&c);
	snprintf(f->error, sizeof(f->error), "%s", spool_error(s) ? spool_error(s) : "");
}

/* Run with stderr captured: no assertion in here, so that a failed one is not reported into
 * the capture. */
static void add_until_failure(void *arg)
{
	struct failing *f = arg;
	struct rec *r = make_recs(NREC);
	struct spool *s = spool_new(sizeof(*r), f->sorted ? cmp_rec : NULL);
	size_t i = 0;

	while (i < NREC && !spool_add(s, &r[i]))
		i++;
	f->failed_at = i;
	after_failure(f, s, r);
	spool_free(s);
	free(r);
}

static void assert_failed_for_good(const struct failing *f)
{
	assert_int_equal(f->add_after, -1);
	assert_int_equal(f->seal, -1);
	assert_int_equal(f->cursor_yields, 0);
}

/* The spool printed nothing (its caller says what failed, once) and kept one line. */
static void assert_kept(const char *printed, const struct failing *f, const char *error)
{
	assert_string_equal(printed, "");
	assert_string_equal(f->error, error);
}

static void test_no_tmpdir(void **state)
{
	struct failing f = { .sorted = 1 };
	char err[512], *tmpdir;

	(void)state;
	budget("4096");
	tmpdir = set_tmpdir("/nonexistent/conlab-spool-test");
	capture_stderr(add_until_failure, &f, err, sizeof(err));
	restore_tmpdir(tmpdir);
	budget(NULL);
	assert_int_equal(f.failed_at, 170);	/* the first record over the budget */
	assert_failed_for_good(&f);
	assert_kept(err, &f, "cannot create a temporary file in "
		    "/nonexistent/conlab-spool-test: No such file or directory");
}

/* A file size limit stands for a full disk: a write stops short at it, the next fails
 * (EFBIG, SIGXFSZ ignored). Returns the limit it replaced. */
static struct rlimit limit_file_size(rlim_t bytes)
{
	struct rlimit old, rl;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	rl = old;
	rl.rlim_cur = bytes;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	return old;
}

static void test_disk_full(void **state)
{
	struct failing f = { .sorted = 0 };
	struct rlimit old;
	char err[512], *tmpdir;

	(void)state;
	budget("4096");
	tmpdir = set_tmpdir(NULL);	/* /tmp */
	old = limit_file_size(100000);
	capture_stderr(add_until_failure, &f, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	restore_tmpdir(tmpdir);
	budget(NULL);
	/* budgets of 4080 bytes: the 25th, written when record 25 * 170 comes, passes 100000 */
	assert_int_equal(f.failed_at, 25 * 170);
	assert_failed_for_good(&f);
	assert_kept(err, &f, "cannot write a temporary file in /tmp: File too large");
}

/* The runs fit, the merged copy of them does not: the seal fails. */
struct sealing {
	int adds_failed, on_disk, seal;
	struct failing after;
};

static void seal_over_limit(void *arg)
{
	struct sealing *st = arg;
	struct rec *r = make_recs(10000);
	struct spool *s = spool_new(sizeof(*r), cmp_rec);

	for (size_t i = 0; i < 10000; i++)
		st->adds_failed += spool_add(s, &r[i]) != 0;
	st->on_disk = spool_on_disk(s);
	st->seal = spool_seal(s);
	after_failure(&st->after, s, r);
	spool_free(s);
	free(r);
}

static void test_merge_fails(void **state)
{
	struct sealing st = { 0 };
	struct rlimit old;
	char err[512], *tmpdir;

	(void)state;
	budget("4096");
	tmpdir = set_tmpdir(NULL);
	old = limit_file_size(10000 * sizeof(struct rec) + 50000);
	capture_stderr(seal_over_limit, &st, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	restore_tmpdir(tmpdir);
	budget(NULL);
	assert_int_equal(st.adds_failed, 0);
	assert_int_equal(st.on_disk, 1);
	assert_int_equal(st.seal, -1);
	assert_failed_for_good(&st.after);
	assert_kept(err, &st.after, "cannot write a temporary file in /tmp: File too large");
}

/* Marks in open[] the descriptors open on a deleted conlab-spool-* file; returns the one
 * marked now that was not before, -1 when none or more than one. */
#define MAX_FD 1024
static int new_spool_fd(char *open)
{
	char link[64], target[4096];
	int found = -1, more = 0;

	for (int fd = 3; fd < MAX_FD; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		if (!strstr(target, "/conlab-spool-") || !strstr(target, " (deleted)") || open[fd])
			continue;
		open[fd] = 1;
		more += found >= 0;
		found = fd;
	}
	return more ? -1 : found;
}

/* A read error: the file turns write-only under two cursors. */
struct reading {
	struct spool *s;
	struct spool_cursor *a;
	int a_yields, b_yields, c_yields;
};

static void read_broken(void *arg)
{
	struct reading *rd = arg;
	struct spool_cursor b, c;

	spool_cursor(&b, rd->s, NREC / 2, NREC);
	rd->b_yields = spool_next(&b) != NULL;
	rd->a_yields = spool_next(rd->a) != NULL;	/* its window is read, the spool failed */
	spool_cursor(&c, rd->s, 0, 1);
	rd->c_yields = spool_next(&c) != NULL;
	spool_cursor_end(&b);
	spool_cursor_end(&c);
}

static void test_read_error(void **state)
{
	struct rec *r = make_recs(NREC);
	struct spool_cursor a;
	struct reading rd = { .a = &a };
	char err[512], *tmpdir, open_before[MAX_FD] = { 0 };
	int fd, wo;

	(void)state;
	new_spool_fd(open_before);	/* those a failed test left open */
	budget("4096");
	tmpdir = set_tmpdir(NULL);
	rd.s = fill(r, NREC, 1);
	restore_tmpdir(tmpdir);
	budget(NULL);
	spool_cursor(&a, rd.s, 0, NREC);
	assert_non_null(spool_next(&a));
	fd = new_spool_fd(open_before);
	assert_true(fd >= 0);
	wo = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(wo >= 0);
	assert_int_equal(dup2(wo, fd), fd);
	close(wo);
	capture_stderr(read_broken, &rd, err, sizeof(err));
	assert_int_equal(rd.b_yields, 0);
	assert_int_equal(rd.a_yields, 0);
	assert_int_equal(rd.c_yields, 0);
	assert_string_equal(err, "");
	assert_string_equal(spool_error(rd.s), "cannot read a temporary file in /tmp: "
			    "Bad file descriptor");
	assert_int_equal(spool_seal(rd.s), -1);
	spool_cursor_end(&a);
	spool_free(rd.s);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_as_written),
		cmocka_unit_test(test_memory_sorted),
		cmocka_unit_test(test_budget_edge),
		cmocka_unit_test(test_disk_sorted),
		cmocka_unit_test(test_disk_as_written),
		cmocka_unit_test(test_two_cursors),
		cmocka_unit_test(test_grouped),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_no_tmpdir),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_merge_fails),
		cmocka_unit_test(test_read_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
