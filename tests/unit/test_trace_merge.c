/* test_trace_merge.c — reading a trace in bounded memory: the chunks' k-way merge gives the
 * order a sort of the whole file gives (time, then file order), opens only the chunks that
 * overlap in time, and the model keeps of the event stream only what a report asks for. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "trace/trace.h"

#include "tmpfile_fixture.h"

/* A rename record whose tid is its place in the file. */
static void put(struct trace_writer *w, uint64_t ts, uint32_t seq)
{
	struct ev_rename r = {{ts, seq, EV_RENAME, sizeof(r)}, "x"};

	assert_int_equal(trace_write(w, &r, sizeof(r)), 0);
}

/* A pseudo-random time: the chunks overlap every which way. */
static uint64_t scrambled(uint32_t i)
{
	return 1000 + (i * 2654435761u) % 397;
}

/* Times out of order inside chunks and across them, with many equal times: the reader hands
 * the records out by time, equal times in file order, each exactly once. */
static void merge_order(void **state, int packed)
{
	struct fixture *f = *state;
	struct trace_writer w;
	struct trace_reader r;
	const struct ev_hdr *h;
	uint64_t last_ts = 0;
	uint32_t last_seq = 0, n = 0;
	char seen[2000] = {0};

	assert_int_equal(trace_writer_open(&w, f->path, -1, -1), 0);
	w.compress = packed;
	for (uint32_t i = 0; i < 2000; i++) {
		put(&w, scrambled(i), i);
		if (i % 97 == 96)
			trace_flush(&w);	/* 21 chunks, all spanning the same times */
	}
	assert_int_equal(trace_writer_close(&w), 0);
	assert_int_equal(trace_open(&r, f->path), 0);
	assert_int_equal(r.stats.chunks, 21);
	assert_int_equal(r.stats.records, 2000);
	while ((h = trace_next(&r))) {
		assert_true(h->tid < 2000 && !seen[h->tid]);
		seen[h->tid] = 1;
		assert_int_equal(h->ts, scrambled(h->tid));
		if (n)
			assert_true(h->ts > last_ts || (h->ts == last_ts && h->tid > last_seq));
		last_ts = h->ts;
		last_seq = h->tid;
		n++;
	}
	assert_int_equal(n, 2000);
	assert_int_equal(r.handed, 2000);
	/* every chunk spans every time: all of them had to be open together */
	assert_int_equal(r.open_max, 21);
	trace_close(&r);
}

static void test_merge_order(void **state) { merge_order(state, 1); }
static void test_merge_order_plain(void **state) { merge_order(state, 0); }

/*
 * A recorder's chunks: in time order but for the ring buffer's reordering, which makes each
 * chunk begin a little before the previous one ends. Two chunks are open at a time, however
 * many the file holds; the order is still exact.
 */
static void test_merge_opens_few_chunks(void **state)
{
	struct fixture *f = *state;
	struct trace_writer w;
	struct trace_reader r;
	const struct ev_hdr *h;
	uint64_t last = 0, n = 0;

	assert_int_equal(trace_writer_open(&w, f->path, -1, -1), 0);
	for (uint32_t c = 0; c < 200; c++) {
		/* chunk c: times 100c .. 100c+99, written in two halves swapped, and its first
		 * record 50 earlier than the previous chunk's last */
		put(&w, c ? 100 * c - 50 : 0, 0);
		for (uint32_t i = 50; i < 100; i++)
			put(&w, 100 * c + i, 0);
		for (uint32_t i = 0; i < 50; i++)
			put(&w, 100 * c + i, 0);
		trace_flush(&w);
	}
	assert_int_equal(trace_writer_close(&w), 0);
	assert_int_equal(trace_open(&r, f->path), 0);
	while ((h = trace_next(&r))) {
		assert_true(h->ts >= last);
		last = h->ts;
		n++;
	}
	assert_int_equal(n, 200 * 101);
	assert_int_equal(r.open_max, 2);
	trace_close(&r);
}

/* The whole-file reader is the streaming one with copies: same records, same order. */
static void test_load_matches_stream(void **state)
{
	struct fixture *f = *state;
	struct trace_writer w;
	struct trace_reader r;
	struct trace t;
	size_t i = 0;

	assert_int_equal(trace_writer_open(&w, f->path, -1, -1), 0);
	for (uint32_t k = 0; k < 500; k++) {
		put(&w, scrambled(k), k);
		if (k % 50 == 49)
			trace_flush(&w);
	}
	assert_int_equal(trace_writer_close(&w), 0);
	assert_int_equal(trace_load(&t, f->path), 0);
	assert_int_equal(trace_open(&r, f->path), 0);
	for (const struct ev_hdr *h; (h = trace_next(&r)); i++) {
		assert_true(i < t.nrec);
		assert_memory_equal(h, t.rec[i], h->size);
	}
	assert_int_equal(i, t.nrec);
	trace_close(&r);
	trace_free(&t);
}

static void put_fork(struct trace_writer *w, uint64_t ts, uint32_t tid)
{
	struct ev_fork e = {{ts, tid, EV_FORK, sizeof(e)}, 1, 1, 1, FORKF_THREAD, "t"};

	assert_int_equal(trace_write(w, &e, sizeof(e)), 0);
}

static void put_switch(struct trace_writer *w, uint64_t ts, uint32_t tid)
{
	struct ev_switch e = {{ts, tid, EV_SWITCH, sizeof(e)}, tid + 1, 0, TS_RUNNABLE, 3};

	assert_int_equal(trace_write(w, &e, sizeof(e)), 0);
}

/* The model keeps of the stream the types and the window asked for, as copies that outlive
 * the reader; lock records it keeps whatever the report. */
static void test_model_keeps_what_is_asked(void **state)
{
	struct fixture *f = *state;
	struct trace_writer w;
	struct trace_stats st;
	struct model m;
	struct m_keep keep = {M_KEEP_TYPE(EV_FORK), 100, 300};
	struct ev_lock lk = {{1250, 7, EV_LOCK, sizeof(lk)}, 0x1000, 0x4000, LOCK_OP_ACQUIRE, 0};

	assert_int_equal(trace_writer_open(&w, f->path, -1, -1), 0);
	for (uint32_t i = 0; i < 10; i++) {
		put_switch(&w, 1000 + 50 * i, 10 + i);
		put_fork(&w, 1000 + 50 * i + 1, 20 + i);
	}
	trace_write(&w, &lk, sizeof(lk));
	assert_int_equal(trace_writer_close(&w), 0);

	assert_int_equal(model_from_file(&m, f->path, &keep, &st), 0);
	assert_int_equal(m.events, 21);
	assert_int_equal(m.t_first, 1000);
	/* forks at 1101 .. 1251 are within [1100, 1300] */
	assert_int_equal(m.nstream, 4);
	for (size_t i = 0; i < m.nstream; i++) {
		assert_int_equal(m.stream[i]->type, EV_FORK);
		assert_int_equal(m.stream[i]->ts, 1101 + 50 * i);
	}
	assert_int_equal(m.rec.nlock, 1);
	assert_int_equal(m.rec.lock[0]->addr, 0x1000);
	model_free(&m);

	/* nothing asked: no stream at all */
	assert_int_equal(model_from_file(&m, f->path, NULL, &st), 0);
	assert_int_equal(m.nstream, 0);
	assert_null(m.stream);
	assert_int_equal(m.rec.nlock, 1);
	model_free(&m);

	assert_int_equal(model_from_file(&m, "/nonexistent/x.clab", NULL, &st), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_order_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_opens_few_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_matches_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_keeps_what_is_asked, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
