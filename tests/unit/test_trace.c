/* test_trace.c — the trace file: round trip, truncation, corruption, versions; each with the
 * zstd-compressed chunks the recorder writes (packed) and with plain ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "trace/trace.h"

#include "tmpfile_fixture.h"

static void write_switches(const char *path, int n, uint64_t ts0, int packed)
{
	struct trace_writer w;

	assert_int_equal(trace_writer_open(&w, path, -1, -1), 0);
	assert_int_equal(w.compress, 1);	/* the default */
	w.compress = packed;
	for (int i = 0; i < n; i++) {
		struct ev_switch s = {{ts0 + (uint64_t)i * 10, 100 + i % 3, EV_SWITCH, sizeof(s)},
				      200, 1, TS_RUNNABLE, 3};

		assert_int_equal(trace_write(&w, &s, sizeof(s)), 0);
		if (i % 1000 == 999)
			trace_flush(&w);
	}
	assert_int_equal(trace_writer_close(&w), 0);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void round_trip(void **state, int packed)
{
	struct fixture *f = *state;
	struct trace t;
	struct stat st;

	write_switches(f->path, 5000, 1000, packed);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(trace_load(&t, f->path), 0);
	assert_int_equal(t.nrec, 5000);
	assert_int_equal(t.stats.truncated, 0);
	assert_int_equal(t.stats.bad_chunks, 0);
	for (size_t i = 1; i < t.nrec; i++)
		assert_true(t.rec[i - 1]->ts <= t.rec[i]->ts);
	assert_int_equal(((const struct ev_switch *)t.rec[7])->next_tid, 200);
	assert_int_equal(t.stats.chunks, 5);
	trace_free(&t);
	/* what compression is for: a few bytes per record instead of sizeof(struct ev_switch) */
	if (packed)
		assert_true(st.st_size < 5000 * (off_t)sizeof(struct ev_switch) / 4);
}

static void test_round_trip(void **state) { round_trip(state, 1); }
static void test_round_trip_plain(void **state) { round_trip(state, 0); }

static void test_sorted_by_time(void **state)
{
	struct fixture *f = *state;
	struct trace_writer w;
	struct trace t;
	uint64_t ts[] = {50, 10, 30, 10, 20};

	assert_int_equal(trace_writer_open(&w, f->path, -1, -1), 0);
	for (int i = 0; i < 5; i++) {
		struct ev_rename r = {{ts[i], (uint32_t)i, EV_RENAME, sizeof(r)}, "x"};

		trace_write(&w, &r, sizeof(r));
	}
	trace_writer_close(&w);
	assert_int_equal(trace_load(&t, f->path), 0);
	assert_int_equal(t.nrec, 5);
	/* equal times keep file order: tid 1 before tid 3 */
	assert_int_equal(t.rec[0]->tid, 1);
	assert_int_equal(t.rec[1]->tid, 3);
	assert_int_equal(t.rec[4]->tid, 0);
	trace_free(&t);
}

/* Equal times keep their file order across chunks too (the records of packed chunks live in
 * buffers of their own, in no particular address order). */
static void test_equal_times_across_chunks(void **state)
{
	struct fixture *f = *state;
	struct trace_writer w;
	struct trace t;

	assert_int_equal(trace_writer_open(&w, f->path, -1, -1), 0);
	for (uint32_t i = 0; i < 3000; i++) {
		struct ev_rename r = {{10, i, EV_RENAME, sizeof(r)}, "x"};

		trace_write(&w, &r, sizeof(r));
		if (i % 1000 == 999)
			trace_flush(&w);
	}
	trace_writer_close(&w);
	assert_int_equal(trace_load(&t, f->path), 0);
	assert_int_equal(t.nrec, 3000);
	for (uint32_t i = 0; i < 3000; i++)
		assert_int_equal(t.rec[i]->tid, i);
	trace_free(&t);
}

static void truncated(void **state, int packed)
{
	struct fixture *f = *state;
	struct trace t;
	off_t full;

	write_switches(f->path, 3000, 0, packed);
	full = file_size(f->path);
	/* cut inside the last chunk: the first two chunks (2000 records) survive */
	assert_int_equal(truncate(f->path, full - 100), 0);
	assert_int_equal(trace_load(&t, f->path), 0);
	assert_int_equal(t.nrec, 2000);
	assert_int_equal(t.stats.truncated, 1);
	assert_true(t.stats.dropped_bytes > 0);
	trace_free(&t);
}

static void test_truncated(void **state) { truncated(state, 1); }
static void test_truncated_plain(void **state) { truncated(state, 0); }

static void corrupt_chunk_skipped(void **state, int packed)
{
	struct fixture *f = *state;
	struct trace t;
	int fd;
	char junk = 0x5a;

	write_switches(f->path, 3000, 0, packed);
	/* flip a byte inside the first chunk's payload: its crc fails, the others read */
	fd = open(f->path, O_WRONLY);
	assert_true(pwrite(fd, &junk, 1, TRACE_HEADER_SIZE + 16 + 100) == 1);
	close(fd);
	assert_int_equal(trace_load(&t, f->path), 0);
	assert_int_equal(t.nrec, 2000);
	assert_int_equal(t.stats.bad_chunks, 1);
	trace_free(&t);
}

static void test_corrupt_chunk_skipped(void **state) { corrupt_chunk_skipped(state, 1); }
static void test_corrupt_chunk_skipped_plain(void **state) { corrupt_chunk_skipped(state, 0); }

/* A file of one CLCZ chunk holding payload (len bytes, crc right), then nothing. */
static size_t packed_file(uint8_t *buf, const void *payload, uint32_t len)
{
	struct trace_file_header h = {};
	struct chunk_header ch = {TRACE_ZCHUNK_MAGIC, len, 1, 0};

	memcpy(h.magic, TRACE_MAGIC, 8);
	h.version = CLAB_WIRE_VERSION;
	h.header_size = TRACE_HEADER_SIZE;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + 48, payload, len);
	ch.crc = crc32(0, buf + 48, len);
	memcpy(buf + 32, &ch, sizeof(ch));
	memset(buf + 48 + len, 0, 7);
	return 48 + ((len + 7) & ~7u);
}

/* Packed chunks whose crc is right but whose zstd frame is not what a writer makes: each is a
 * bad chunk, never a crash and never records. */
static void test_bad_packed_chunks(void **state)
{
	struct ev_rename r = {{1, 2, EV_RENAME, sizeof(r)}, "x"};
	uint8_t frame[256], buf[512];
	size_t n = ZSTD_compress(frame, sizeof(frame), &r, sizeof(r), 1);
	struct trace t;

	(void)state;
	assert_false(ZSTD_isError(n));
	/* the good one reads */
	assert_int_equal(trace_load_mem(&t, buf, packed_file(buf, frame, n), "mem"), 0);
	assert_int_equal(t.nrec, 1);
	trace_free(&t);
	/* a byte too many inside the frame's length */
	frame[n] = 0;
	assert_int_equal(trace_load_mem(&t, buf, packed_file(buf, frame, n + 1), "mem"), 0);
	assert_int_equal(t.nrec, 0);
	assert_int_equal(t.stats.bad_chunks, 1);
	trace_free(&t);
	/* a damaged frame */
	frame[n / 2] ^= 0xff;
	frame[n - 1] ^= 0xff;
	assert_int_equal(trace_load_mem(&t, buf, packed_file(buf, frame, n), "mem"), 0);
	assert_int_equal(t.nrec, 0);
	assert_int_equal(t.stats.bad_chunks, 1);
	trace_free(&t);
	/* not a frame at all */
	memset(frame, 0x41, 64);
	assert_int_equal(trace_load_mem(&t, buf, packed_file(buf, frame, 64), "mem"), 0);
	assert_int_equal(t.nrec, 0);
	assert_int_equal(t.stats.bad_chunks, 1);
	trace_free(&t);
}

/* A well-formed frame that inflates past the ratio recordings show is a bomb, not a chunk:
 * 4096 identical records (each 32 bytes) compress to a few dozen bytes. */
static void test_packed_bomb_refused(void **state)
{
	enum { N = 4096 };
	struct ev_rename *recs = calloc(N, sizeof(*recs));
	uint8_t frame[1024], buf[2048];
	size_t n;
	struct trace t;

	(void)state;
	for (int i = 0; i < N; i++)
		recs[i] = (struct ev_rename){{1, 2, EV_RENAME, sizeof(*recs)}, "x"};
	n = ZSTD_compress(frame, sizeof(frame), recs, N * sizeof(*recs), 1);
	free(recs);
	assert_false(ZSTD_isError(n));
	assert_true(n * TRACE_ZCHUNK_RATIO < N * sizeof(*recs));
	assert_int_equal(trace_load_mem(&t, buf, packed_file(buf, frame, n), "mem"), 0);
	assert_int_equal(t.nrec, 0);
	assert_int_equal(t.stats.bad_chunks, 1);
	trace_free(&t);
}

static void test_bad_files(void **state)
{
	struct fixture *f = *state;
	struct trace t;
	struct trace_file_header h = {};
	FILE *fp;

	/* empty */
	fp = fopen(f->path, "w");
	fclose(fp);
	assert_int_equal(trace_load(&t, f->path), -1);
	/* not a trace */
	fp = fopen(f->path, "w");
	fputs("hello, this is not a trace file at all", fp);
	fclose(fp);
	assert_int_equal(trace_load(&t, f->path), -1);
	/* newer version */
	memcpy(h.magic, TRACE_MAGIC, 8);
	h.version = CLAB_WIRE_VERSION + 1;
	h.header_size = TRACE_HEADER_SIZE;
	fp = fopen(f->path, "w");
	fwrite(&h, sizeof(h), 1, fp);
	fclose(fp);
	assert_int_equal(trace_load(&t, f->path), -1);
	/* missing */
	assert_int_equal(trace_load(&t, "/nonexistent/conlab.clab"), -1);
}

static void test_bad_records(void **state)
{
	struct trace t;
	uint8_t buf[256] = {};
	struct trace_file_header h = {};
	struct chunk_header ch = {};
	struct ev_hdr rec = {1, 2, EV_SWITCH, 8};	/* too small for a switch */

	(void)state;
	memcpy(h.magic, TRACE_MAGIC, 8);
	h.version = CLAB_WIRE_VERSION;
	h.header_size = TRACE_HEADER_SIZE;
	memcpy(buf, &h, sizeof(h));
	rec.size = 16;
	memcpy(buf + 48, &rec, sizeof(rec));
	ch.magic = TRACE_CHUNK_MAGIC;
	ch.len = 16;
	ch.nrec = 1;
	ch.crc = crc32(0, buf + 48, 16);
	memcpy(buf + 32, &ch, sizeof(ch));
	assert_int_equal(trace_load_mem(&t, buf, 64, "mem"), 0);
	assert_int_equal(t.nrec, 0);
	assert_int_equal(t.stats.bad_records, 1);
	trace_free(&t);
}

static void test_symlink_refused(void **state)
{
	struct fixture *f = *state;
	struct trace_writer w;
	char link[80];

	snprintf(link, sizeof(link), "%s.lnk", f->path);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(trace_writer_open(&w, link, -1, -1), -1);
	unlink(link);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sorted_by_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_equal_times_across_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_chunk_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_chunk_skipped_plain, setup, teardown),
		cmocka_unit_test(test_bad_packed_chunks),
		cmocka_unit_test(test_packed_bomb_refused),
		cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
