/* test_timeline.c — interval construction, reasons, arrows, lost-event gaps and parallelism
 * from synthetic events; the renderers' output for a small fixed model. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "render/report.h"
#include "analysis/timeline.h"
#include "render/perfetto.h"

#define PID 100
#define A 101
#define B 102
#define C 103
#define MUTEX 0x5000

/* The model plus the records fed to it (the timeline reads fork/exec/exit marks from them). */
struct fx {
	struct model m;
	const struct ev_hdr *rec[8192];
	size_t n;
};

static void feed(struct fx *f, const void *ev, size_t size)
{
	void *copy = malloc(size);

	memcpy(copy, ev, size);
	assert_true(f->n < 8192);
	f->rec[f->n++] = copy;
	model_event(&f->m, copy);
	model_set_stream(&f->m, f->rec, f->n);	/* the fixture's records are the event stream */
}

static void task(struct fx *f, uint64_t ts, uint32_t tid, const char *comm)
{
	struct ev_meta_task t = {{ts, tid, EV_META_TASK, sizeof(t)}, PID, 1, ""};

	strncpy(t.comm, comm, sizeof(t.comm) - 1);
	feed(f, &t, sizeof(t));
}

static void sw(struct fx *f, uint64_t ts, uint32_t prev, uint32_t next, int state, int cpu)
{
	struct ev_switch s = {{ts, prev, EV_SWITCH, sizeof(s)}, next, cpu, state, 0};

	feed(f, &s, sizeof(s));
}

/* prev blocks in a glibc mutex wait: futex(addr, FUTEX_WAIT_PRIVATE, 2), owner at +8; flags
 * SWF_TIMED for pthread_mutex_timedlock's */
static void block_mutex_as(struct fx *f, uint64_t ts, uint32_t prev, uint32_t owner, uint8_t flags)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, prev, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.prev_state = TS_SLEEPING;
	s.sw.flags = flags;
	s.nr = 202;
	s.arg0 = MUTEX;
	s.arg1 = 128;
	s.arg2 = 2;
	s.word0 = 2;
	s.word8 = owner;
	s.stack_id = -1;
	feed(f, &s, sizeof(s));
}

static void block_mutex(struct fx *f, uint64_t ts, uint32_t prev, uint32_t owner)
{
	block_mutex_as(f, ts, prev, owner, 0);
}

static void wake(struct fx *f, uint64_t ts, uint32_t wakee, uint32_t waker)
{
	struct ev_wakeup w = {{ts, wakee, EV_WAKEUP, sizeof(w)}, MUTEX, waker, 202, 0};

	feed(f, &w, sizeof(w));
}

static void lost(struct fx *f, uint64_t ts, uint64_t ringbuf)
{
	struct ev_meta_lost l = {{ts, 0, EV_META_LOST, sizeof(l)}};

	l.count[LOST_RINGBUF] = ringbuf;
	feed(f, &l, sizeof(l));
}

static void fx_free(struct fx *f)
{
	for (size_t i = 0; i < f->n; i++)
		free((void *)f->rec[i]);
	model_free(&f->m);
}

/* the text chart folded is the whole build's, and so are JSON, HTML and Perfetto spooled
 * (below) */
static void same_as_fold(struct fx *f, uint64_t end);
static void same_as_spool(struct fx *f, uint64_t end);

/* A and B start together; A waits for the mutex B holds, B hands it over at 50. With
 * `with_loss`, events were lost between 30 and 40. */
static void scenario(struct fx *f, int with_loss)
{
	memset(f, 0, sizeof(*f));
	model_init(&f->m);
	task(f, 0, A, "alpha");
	task(f, 0, B, "beta");
	sw(f, 10, 0, A, TS_RUNNABLE, 0);
	sw(f, 10, 0, B, TS_RUNNABLE, 1);
	block_mutex(f, 20, A, B);
	if (with_loss) {
		lost(f, 30, 0);
		lost(f, 40, 5);
	}
	wake(f, 50, A, B);
	sw(f, 60, 0, A, TS_RUNNABLE, 0);
	model_finish(&f->m, 100);
}

static const struct tl_lane *lane(const struct timeline *tl, uint32_t tid)
{
	int l = tl_lane_of(tl, tid);

	assert_true(l >= 0);
	return &tl->lanes[l];
}

/* A pid used by two processes one after the other: each thread gets exactly one lane. */
static void test_pid_reuse_one_lane_per_thread(void **state)
{
	struct tl_opts o = {.symbolize = 0};
	struct ev_exit ex = {{30, PID, EV_EXIT, sizeof(ex)}, PID, 0, EXITF_GROUP_DEAD, 0};
	struct ev_fork fk = {{40, PID, EV_FORK, sizeof(fk)}, C, C, PID, 0, "again"};
	struct timeline tl;
	struct fx f = {0};

	(void)state;
	model_init(&f.m);
	task(&f, 1, PID, "first");
	sw(&f, 10, 0, PID, TS_RUNNABLE, 0);
	feed(&f, &ex, sizeof(ex));
	sw(&f, 31, PID, 0, TS_DEAD, 0);
	task(&f, 35, C, "parent");
	sw(&f, 36, 0, C, TS_RUNNABLE, 1);
	feed(&f, &fk, sizeof(fk));	/* a new process reuses the pid */
	sw(&f, 50, 0, PID, TS_RUNNABLE, 0);
	sw(&f, 60, PID, 0, TS_RUNNABLE, 0);
	model_finish(&f.m, 70);
	assert_int_equal(timeline_build(&tl, &f.m, &o), 0);
	assert_true(tl.nlanes <= f.m.nthreads);
	timeline_free(&tl);
	same_as_fold(&f, 70);
	same_as_spool(&f, 70);
	fx_free(&f);
}

static void test_intervals_reasons_arrows(void **state)
{
	struct tl_opts o = {.symbolize = 0};
	struct timeline tl;
	struct fx f;
	const struct tl_lane *a;
	char buf[256];

	(void)state;
	scenario(&f, 0);
	assert_int_equal(timeline_build(&tl, &f.m, &o), 0);
	assert_int_equal(tl.nprocs, 1);
	assert_int_equal(tl.nlanes, 2);
	assert_int_equal(tl.t0, 10);
	assert_int_equal(tl.t1, 100);
	a = lane(&tl, A);
	assert_int_equal(a->n, 4);
	assert_int_equal(a->iv[0].state, TH_RUNNING);
	assert_int_equal(a->iv[0].cpu, 0);
	assert_int_equal(a->iv[1].state, TH_BLOCKED);
	assert_int_equal(a->iv[1].kind, WK_MUTEX);
	assert_int_equal(a->iv[1].start, 20);
	assert_int_equal(a->iv[1].end, 50);
	assert_int_equal(a->iv[1].holder, B);
	assert_int_equal(a->iv[1].waker, B);
	assert_string_equal(tl_name(&tl, a->iv[1].name), "0x5000");
	tl_describe(&tl, &a->iv[1], buf, sizeof(buf));
	assert_string_equal(buf, "mutex 0x5000 held by beta (102), woken by beta (102)");
	assert_int_equal(a->iv[2].state, TH_RUNNABLE);
	assert_int_equal(a->iv[3].state, TH_RUNNING);
	assert_int_equal(a->time_in[TH_BLOCKED], 30);
	assert_int_equal(a->blocked_kind[WK_MUTEX], 30);
	/* one arrow: beta -> alpha through the mutex, at the wakeup */
	assert_int_equal(tl.narrows, 1);
	assert_int_equal(tl.arrows[0].ts, 50);
	assert_int_equal(tl.arrows[0].waker, B);
	assert_int_equal(tl.arrows[0].wakee, A);
	assert_int_equal(tl.arrows[0].kind, WK_MUTEX);
	assert_int_equal(tl.lanes[tl.arrows[0].from_lane].tid, B);
	/* parallelism: 2 on [10,20) and [60,100), 1 on [20,60) */
	assert_int_equal(tl.max_par, 2);
	assert_int_equal(tl.par_time[2], 50);
	assert_int_equal(tl.par_time[1], 40);
	assert_int_equal(tl.par_time[0], 0);
	timeline_free(&tl);
	fx_free(&f);
}

static void wake_nr(struct fx *f, uint64_t ts, uint32_t wakee, uint32_t waker, int16_t nr)
{
	struct ev_wakeup w = {{ts, wakee, EV_WAKEUP, sizeof(w)}, MUTEX, waker, nr, 0};

	feed(f, &w, sizeof(w));
}

/* alpha, beta and gamma, threads of one process; alpha and beta run from 10 */
static void abc_running(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	model_init(&f->m);
	task(f, 0, A, "alpha");
	task(f, 0, B, "beta");
	task(f, 0, C, "gamma");
	sw(f, 10, 0, A, TS_RUNNABLE, 0);
	sw(f, 10, 0, B, TS_RUNNABLE, 1);
}

/* A and B released together by C: one burst of 2; A's next wait ends alone (a wakeup reported
 * with no waker still counts). B's last wait is ended by C's exit_group: B died waiting. */
static void test_bursts_and_ended_in_wait(void **state)
{
	struct tl_opts o = {.symbolize = 0};
	struct timeline tl;
	struct fx f;

	(void)state;
	abc_running(&f);
	block_mutex(&f, 20, A, C);
	block_mutex(&f, 30, B, C);
	sw(&f, 40, 0, C, TS_RUNNABLE, 0);
	wake(&f, 1000, A, C);
	wake(&f, 1050, B, C);
	sw(&f, 1100, C, A, TS_RUNNABLE, 0);
	sw(&f, 1100, 0, B, TS_RUNNABLE, 1);
	block_mutex(&f, 2000, A, C);
	wake(&f, 500000, A, 0);
	sw(&f, 500100, 0, A, TS_RUNNABLE, 1);
	block_mutex(&f, 600000, B, C);
	wake_nr(&f, 800000, B, C, 231);	/* exit_group */
	model_finish(&f.m, 900000);
	assert_int_equal(timeline_build(&tl, &f.m, &o), 0);
	assert_int_equal(tl.nbursts, 3);
	assert_int_equal(tl.bursts[0].ts, 1000);
	assert_int_equal(tl.bursts[0].last, 1050);
	assert_int_equal(tl.bursts[0].wakees, 2);
	assert_int_equal(tl.bursts[0].waker, C);
	assert_int_equal(tl.bursts[1].wakees, 1);
	assert_int_equal(tl.bursts[1].waker, 0);
	assert_int_equal(tl.bursts[2].ts, 800000);
	assert_false(lane(&tl, A)->ended_in_wait);
	assert_true(lane(&tl, B)->ended_in_wait);
	assert_int_equal(lane(&tl, B)->end_by, C);
	assert_int_equal(lane(&tl, B)->end_kind, WK_MUTEX);
	timeline_free(&tl);
	same_as_fold(&f, 900000);
	same_as_spool(&f, 900000);
	fx_free(&f);
}

static void test_lost_events_are_unknown_gaps(void **state)
{
	struct tl_opts o = {0};
	struct timeline tl;
	struct fx f;
	const struct tl_lane *a, *b;

	(void)state;
	scenario(&f, 1);
	assert_int_equal(timeline_build(&tl, &f.m, &o), 0);
	a = lane(&tl, A);
	/* running, blocked (uncertain), gap, blocked (uncertain), runnable, running */
	assert_int_equal(a->n, 6);
	assert_int_equal(a->iv[1].state, TH_BLOCKED);
	assert_int_equal(a->iv[1].end, 30);
	assert_true(a->iv[1].flags & IV_UNCERTAIN);
	assert_int_equal(a->iv[2].state, TH_UNKNOWN);
	assert_int_equal(a->iv[2].start, 30);
	assert_int_equal(a->iv[2].end, 40);
	assert_true(a->iv[2].flags & TLF_LOST);
	assert_int_equal(a->iv[2].guess, TH_BLOCKED);
	assert_int_equal(a->iv[3].state, TH_BLOCKED);
	assert_int_equal(a->iv[3].start, 40);
	/* no state is invented inside the gap, for any thread */
	for (size_t i = 0; i < tl.nlanes; i++)
		for (size_t k = 0; k < tl.lanes[i].n; k++) {
			const struct tl_iv *v = &tl.lanes[i].iv[k];

			if (v->start < 40 && v->end > 30)
				assert_int_equal(v->state, TH_UNKNOWN);
		}
	b = lane(&tl, B);
	assert_int_equal(b->time_in[TH_UNKNOWN], 10);
	assert_int_equal(b->lost_ns, 10);
	assert_int_equal(tl.lost, 5);
	/* the gap counts as nobody on a CPU we know of */
	assert_int_equal(tl.par_time[2], 10 + 40);
	assert_true(tl.arrows[0].flags == 0 || (tl.arrows[0].flags & IV_UNCERTAIN));
	timeline_free(&tl);
	fx_free(&f);
}

static void test_window(void **state)
{
	struct tl_opts o = {.from_ns = 15, .to_ns = 45};	/* relative to t0 = 10 */
	struct timeline tl;
	struct fx f;
	const struct tl_lane *a;

	(void)state;
	scenario(&f, 0);
	assert_int_equal(timeline_build(&tl, &f.m, &o), 0);
	assert_int_equal(tl.t0, 25);
	assert_int_equal(tl.t1, 55);
	a = lane(&tl, A);
	assert_int_equal(a->iv[0].start, 25);
	assert_int_equal(a->iv[0].state, TH_BLOCKED);
	assert_int_equal(a->iv[a->n - 1].end, 55);
	assert_int_equal(tl.narrows, 1);
	timeline_free(&tl);
	o.from_ns = 200;
	assert_int_not_equal(timeline_build(&tl, &f.m, &o), 0);
	fx_free(&f);
}

static char *render(int fmt, int loss, size_t *len)
{
	struct report_opts ro = {.format = fmt, .width = 80};
	struct tl_opts o = {0};
	struct timeline tl;
	struct fx f;
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);

	scenario(&f, loss);
	assert_int_equal(timeline_build(&tl, &f.m, &o), 0);
	switch (fmt) {
	case FMT_TEXT: assert_int_equal(timeline_render_text(&tl, &f.m, &ro, out), 0); break;
	case FMT_JSON: assert_int_equal(timeline_render_json(&tl, &f.m, out), 0); break;
	case FMT_HTML: assert_int_equal(timeline_render_html(&tl, &f.m, out), 0); break;
	default:
		assert_int_equal(timeline_render_perfetto(&tl, &f.m, out), 0);
	}
	fclose(out);
	timeline_free(&tl);
	fx_free(&f);
	return buf;
}

static const char *row_of(const char *text, const char *label)
{
	const char *r = strstr(text, label);

	assert_non_null(r);
	return r;
}

static void test_text(void **state)
{
	size_t n;
	char *t = render(FMT_TEXT, 0, &n), *row, *nl;

	(void)state;
	assert_null(strchr(t, '\033'));	/* no colour unless asked */
	row = (char *)row_of(t, " alpha 101");
	nl = strchr(row, '\n');
	assert_non_null(nl);
	assert_true(nl - row <= 80);
	*nl = 0;
	assert_non_null(strchr(row + 22, '0'));	/* running on CPU 0 */
	assert_non_null(strchr(row + 22, 'L'));	/* waiting for the lock */
	assert_non_null(strchr(row + 22, '+'));	/* runnable after the hand-off */
	assert_non_null(strstr(nl + 1, "-> alpha(101)"));
	assert_non_null(strstr(nl + 1, "lost events: 0") || strstr(t, "lost events: 0"));
	free(t);
	t = render(FMT_TEXT, 1, &n);
	row = (char *)row_of(t, " beta 102");
	nl = strchr(row, '\n');
	*nl = 0;
	assert_non_null(strchr(row + 22, '?'));	/* the gap */
	assert_non_null(strstr(nl + 1, "lost events: 5") || strstr(t, "lost events: 5"));
	free(t);
}

static void test_json(void **state)
{
	size_t n;
	char *t = render(FMT_JSON, 1, &n);

	(void)state;
	assert_non_null(strstr(t, "\"state\":\"blocked\",\"reason\":\"mutex\",\"object\":\"0x5000\""));
	assert_non_null(strstr(t, "\"holder\":102"));
	assert_non_null(strstr(t, "\"unknown_because\":\"events lost\""));
	assert_non_null(strstr(t, "\"waker\":102,\"wakee\":101"));
	assert_non_null(strstr(t, "\"lost_events\":5"));
	free(t);
}

/* A protobuf walker: every length-delimited field of the given numbers is parsed as a nested
 * message; counts fields by path "1/1/2/4" (packet/ftrace_events/event/sched_switch). */
static int walk(const uint8_t *p, size_t n, const char *path, const char *want, int *hits,
		int depth)
{
	size_t i = 0;

	while (i < n) {
		uint64_t key = 0, v = 0, len;
		int sh = 0;
		char sub[64];

		do {
			if (i >= n)
				return -1;
			key |= (uint64_t)(p[i] & 0x7f) << sh;
			sh += 7;
		} while (p[i++] & 0x80);
		snprintf(sub, sizeof(sub), "%s%s%llu", path, *path ? "/" : "",
			 (unsigned long long)(key >> 3));
		if (!strcmp(sub, want))
			(*hits)++;
		switch (key & 7) {
		case 0:
			do {
				if (i >= n)
					return -1;
			} while (p[i++] & 0x80);
			break;
		case 1:
			i += 8;
			break;
		case 2:
			sh = 0;
			do {
				if (i >= n)
					return -1;
				v |= (uint64_t)(p[i] & 0x7f) << sh;
				sh += 7;
			} while (p[i++] & 0x80);
			len = v;
			if (i + len > n)
				return -1;
			/* descend into the messages we know; strings stay leaves */
			if (depth < 3 && (depth == 0 || !strncmp(sub, "1/1", 3) || !strncmp(sub, "1/11", 4)))
				if (walk(p + i, len, sub, want, hits, depth + 1) && depth == 0)
					return -1;
			i += len;
			break;
		default:
			return -1;
		}
	}
	return i == n ? 0 : -1;
}

static int count(const char *buf, size_t n, const char *want)
{
	int hits = 0;

	assert_int_equal(walk((const uint8_t *)buf, n, "", want, &hits, 0), 0);
	return hits;
}

static void test_perfetto(void **state)
{
	size_t n;
	char *t = render(FMT_PERFETTO, 0, &n);

	(void)state;
	assert_true(n > 0);
	assert_int_equal(count(t, n, "1/2"), 1);		/* one process tree */
	assert_int_equal(count(t, n, "1/60"), 3);		/* waits tracks x2 + parallelism */
	assert_int_equal(count(t, n, "1/1/2"), 5);		/* 4 switches + 1 waking */
	/* track events: wait begin + end, the waker's instant, 4 counter steps (2, 1, 2, 0) */
	assert_int_equal(count(t, n, "1/11"), 2 + 1 + 4);
	assert_int_equal(count(t, n, "1/11/47"), 1);		/* flow out of the waker */
	assert_int_equal(count(t, n, "1/11/48"), 1);		/* ... into the end of the wait */
	free(t);
}

static void test_html(void **state)
{
	size_t n;
	char *t = render(FMT_HTML, 1, &n);

	(void)state;
	assert_non_null(strstr(t, "<canvas"));
	assert_non_null(strstr(t, "\"comm\":\"alpha\""));
	assert_null(strstr(t, "http://"));
	assert_null(strstr(t, "https://"));
	assert_null(strstr(t, "src="));		/* nothing fetched */
	/* exactly the two script elements of the page: data cannot close them */
	assert_non_null(strstr(t, "</script></body></html>"));
	free(t);
}

/* ---- the text chart folded as the intervals close (analysis/timeline_fold.c) ------------- */

static char *text_of(const struct timeline *tl, const struct model *m, int width)
{
	struct report_opts ro = {.format = FMT_TEXT, .width = width, .top = 1000};
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);

	assert_int_equal(timeline_render_text(tl, m, &ro, out), 0);
	fclose(out);
	return buf;
}

/* The fixture's records again through a model that keeps no history and folds the chart: the
 * text is the whole build's, byte for byte, at several widths. */
static void same_as_fold(struct fx *f, uint64_t end)
{
	static const int widths[] = {80, 61, 133, 40};
	struct tl_opts o = {.symbolize = 1};

	for (size_t w = 0; w < sizeof(widths) / sizeof(*widths); w++) {
		struct report_opts ro = {.format = FMT_TEXT, .width = widths[w]};
		struct timeline_fold *fold =
			timeline_fold_new(timeline_text_width(&ro) - TL_TEXT_LABEL - 1);
		struct timeline tl, ftl;
		struct model fm;
		char *whole, *folded;

		assert_int_equal(timeline_build(&tl, &f->m, &o), 0);
		model_init(&fm);
		fm.keep.history = HIST_NONE;
		fm.keep.no_futex_calls = 1;
		fm.keep.fold = timeline_fold_hooks(fold);
		fm.span_first = f->m.t_first;	/* as the reader's first pass knows them */
		fm.span_last = tl.t1;
		for (size_t i = 0; i < f->n; i++)
			model_event(&fm, f->rec[i]);
		model_finish(&fm, end);
		model_set_stream(&fm, f->rec, f->n);
		assert_ptr_equal(timeline_fold_of(&fm), fold);
		assert_int_equal(timeline_fold_finish(fold, &fm, &ftl), 0);
		/* nothing of the history was kept */
		for (size_t i = 0; i < fm.nthreads; i++)
			assert_int_equal(fm.threads[i].niv, 0);
		assert_true(fm.nwakeups <= 1);
		assert_int_equal(fm.nfutexes, 0);
		for (size_t i = 0; i < ftl.nlanes; i++)
			assert_int_equal(ftl.lanes[i].n, 0);
		/* what the text rounds, exactly */
		assert_int_equal(ftl.nlanes, tl.nlanes);
		for (size_t i = 0; i < ftl.nlanes; i++) {
			assert_memory_equal(ftl.lanes[i].time_in, tl.lanes[i].time_in,
					    sizeof(tl.lanes[i].time_in));
			assert_memory_equal(ftl.lanes[i].blocked_kind, tl.lanes[i].blocked_kind,
					    sizeof(tl.lanes[i].blocked_kind));
		}
		assert_int_equal(ftl.max_par, tl.max_par);
		assert_memory_equal(ftl.par_time, tl.par_time,
				    (tl.max_par + 1) * sizeof(*tl.par_time));
		assert_int_equal(ftl.narrows, tl.narrows);
		assert_int_equal(ftl.kernel_wakeups, tl.kernel_wakeups);
		whole = text_of(&tl, &f->m, widths[w]);
		folded = text_of(&ftl, &fm, widths[w]);
		assert_string_equal(folded, whole);
		free(whole);
		free(folded);
		timeline_free(&tl);
		timeline_free(&ftl);
		model_free(&fm);
	}
}

/* ---- JSON, HTML and Perfetto spooled as the intervals close (analysis/timeline_spool.c) --- */

static char *format_of(const struct timeline *tl, const struct model *m, int format, size_t *n)
{
	char *buf = NULL;
	FILE *out;

	if (format == FMT_TEXT) {
		buf = text_of(tl, m, 100);
		*n = strlen(buf);
		return buf;
	}
	out = open_memstream(&buf, n);
	if (format == FMT_JSON)
		assert_int_equal(timeline_render_json(tl, m, out), 0);
	else if (format == FMT_HTML)
		assert_int_equal(timeline_render_html(tl, m, out), 0);
	else
		assert_int_equal(timeline_render_perfetto(tl, m, out), 0);
	fclose(out);
	return buf;
}

/* The fixture's records again through a model that keeps no history, its intervals (and the
 * switches and wakeups Perfetto mirrors) spooled: each format is the whole build's, byte for
 * byte, over the whole trace and in a window of its middle (there the text chart too), with
 * the spools in memory and with them on disk. */
static void same_as_spool(struct fx *f, uint64_t end)
{
	static const char *budget[] = {NULL, "1K"};
	static const int formats[] = {FMT_JSON, FMT_HTML, FMT_PERFETTO, FMT_TEXT};
	uint64_t types = 0, span = f->m.t_last - f->m.t_first, last = f->m.t_last;

	for (size_t i = 0; i < f->n; i++)
		types |= f->rec[i]->type < 64 ? 1ull << f->rec[i]->type : 0;
	for (size_t i = 0; i < f->m.nthreads; i++)	/* the span's end, as tl_begin() finds it */
		if (f->m.threads[i].niv && f->m.threads[i].iv[f->m.threads[i].niv - 1].end > last)
			last = f->m.threads[i].iv[f->m.threads[i].niv - 1].end;
	for (size_t b = 0; b < 2; b++)
		for (size_t k = 0; k < 8; k++) {
			int format = formats[k % 4], window = k >= 4;
			struct tl_opts o = {.symbolize = 1};
			struct timeline_spool *sp;
			struct timeline tl, stl;
			struct model sm;
			char *whole, *spooled;
			size_t nw, ns;

			if (format == FMT_TEXT && !window)
				continue;	/* the whole trace's text is folded (above) */
			if (window) {
				o.from_ns = span / 3 + 1;
				o.to_ns = span * 2 / 3;
			}
			sp = timeline_spool_new(format == FMT_PERFETTO ? PERFETTO_STREAM_TYPES : 0,
						o.from_ns, o.to_ns);

			if (budget[b])
				setenv("CONLAB_SPOOL_BYTES", budget[b], 1);
			else
				unsetenv("CONLAB_SPOOL_BYTES");
			assert_int_equal(timeline_build(&tl, &f->m, &o), 0);
			model_init(&sm);
			sm.keep = (struct m_keep){
				.history = HIST_NONE, .no_futex_calls = 1,
				.stream_types = M_KEEP_TYPE(EV_FORK) | M_KEEP_TYPE(EV_EXEC) |
						M_KEEP_TYPE(EV_EXIT),
				.from_ns = o.from_ns, .to_ns = o.to_ns,
				.fold = timeline_spool_hooks(sp)};
			sm.span_first = f->m.t_first;
			sm.span_last = last;
			sm.span_types = types;
			for (size_t i = 0; i < f->n; i++)
				model_event(&sm, f->rec[i]);
			model_finish(&sm, end);
			assert_ptr_equal(timeline_spool_of(&sm), sp);
			assert_int_equal(timeline_spool_finish(sp, &sm, &stl), 0);
			for (size_t i = 0; i < sm.nthreads; i++)	/* no history was kept */
				assert_int_equal(sm.threads[i].niv, 0);
			for (size_t i = 0; i < stl.nlanes; i++)
				assert_null(stl.lanes[i].iv);
			whole = format_of(&tl, &f->m, format, &nw);
			spooled = format_of(&stl, &sm, format, &ns);
			assert_int_equal(ns, nw);
			assert_memory_equal(spooled, whole, nw);
			free(whole);
			free(spooled);
			timeline_free(&tl);
			timeline_free(&stl);
			model_free(&sm);
		}
	unsetenv("CONLAB_SPOOL_BYTES");
}

/* prev switches out into a wait in syscall nr on arg0 (futex words as seen), next in */
static void block_on(struct fx *f, uint64_t ts, uint32_t prev, uint32_t next, int cpu, int nr,
		     uint64_t arg0, uint32_t op, uint32_t val, uint32_t w0, uint32_t w4,
		     uint32_t w8)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, prev, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.next_tid = next;
	s.sw.cpu = cpu;
	s.sw.prev_state = TS_SLEEPING;
	s.nr = nr;
	s.arg0 = arg0;
	s.arg1 = op;
	s.arg2 = val;
	s.word0 = w0;
	s.word4 = w4;
	s.word8 = w8;
	s.stack_id = -1;
	feed(f, &s, sizeof(s));
}

static void wake_by(struct fx *f, uint64_t ts, uint32_t wakee, uint32_t waker, int16_t nr,
		    uint64_t obj)
{
	struct ev_wakeup w = {{ts, wakee, EV_WAKEUP, sizeof(w)}, obj, waker, nr, 0};

	feed(f, &w, sizeof(w));
}

static void futex_ret(struct fx *f, uint64_t ts, uint32_t tid, uint64_t addr, int32_t ret)
{
	struct ev_futex e = {{ts, tid, EV_FUTEX, sizeof(e)}, addr, 0x89, 0, ret, 50, 0, 0};

	feed(f, &e, sizeof(e));
}

/* what fd 3 of PID is from ts on */
static void fd_is(struct fx *f, uint64_t ts, const char *desc)
{
	struct {
		struct ev_meta_fd e;
		char desc[32];
	} r = {{{ts, PID, EV_META_FD, sizeof(r)}, 7, 3, 1, 0}, ""};

	strncpy(r.desc, desc, sizeof(r.desc) - 1);
	feed(f, &r, sizeof(r));
}

static uint32_t rnd(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 16;
}

/*
 * Four threads on two CPUs over thousands of intervals (the fold sweeps the parallelism
 * several times): mutex, semaphore, condvar, read and sleep waits, woken by each other or the
 * kernel; a word that waits like a semaphore until a late wait says it is a condvar's; fd 3
 * named differently over time; a thread that exits and whose tid comes back; one that dies in
 * a futex wait the kernel ended (its call returned -ERESTARTSYS), one whose wait its process's
 * exit_group ended; a fork, an exec (of exe) and exits for the marks.
 */
static void storm(struct fx *f, const char *exe)
{
	static const uint32_t tids[4] = {201, 202, 203, 204};
	uint32_t x = 7, cpu_of[2] = {0, 0};
	int state[4] = {0};	/* 0 runnable, 1 running, 2 blocked */
	struct ev_fork fk = {{5, PID, EV_FORK, sizeof(fk)}, 1, 1, PID, 0, "storm"};
	struct ev_exec ex = {{6, PID, EV_EXEC, sizeof(ex)}, PID, PID, "storm", ""};
	uint64_t ts = 10;

	strncpy(ex.filename, exe, sizeof(ex.filename) - 1);
	memset(f, 0, sizeof(*f));
	model_init(&f->m);
	feed(f, &fk, sizeof(fk));
	feed(f, &ex, sizeof(ex));
	for (int i = 0; i < 4; i++)
		task(f, 7, tids[i], "worker");
	fd_is(f, 8, "pipe:[7]");
	while (f->n < 7900) {
		int c = rnd(&x) % 2, t = rnd(&x) % 4, r = rnd(&x) % 100;
		uint32_t cur = cpu_of[c];

		ts += 1 + rnd(&x) % 40;
		if (r < 3) {
			fd_is(f, ts, (ts / 20000) % 2 ? "pipe:[7]" : "tcp 127.0.0.1:1->2");
		} else if (cur && r < 45) {	/* the running thread waits on something */
			int k = rnd(&x) % 6, ci = cur - tids[0], n = -1;
			uint32_t next;

			for (int i = 0; i < 4; i++)
				if (!state[(t + i) % 4])
					n = (t + i) % 4;
			next = n >= 0 ? tids[n] : 0;
			if (k == 0)	/* a mutex the next thread holds */
				block_on(f, ts, cur, next, c, 202, MUTEX, 128, 2, 2, 0,
					 tids[(ci + 1) % 4]);
			else if (k == 1)	/* a semaphore */
				block_on(f, ts, cur, next, c, 202, 0x8000, 0x89, 0, 0, 1, 0);
			else if (k == 2)	/* a condvar's word, until the end sem-like */
				block_on(f, ts, cur, next, c, 202, 0x9028, 0x189, 0, 0, 2, 0);
			else if (k == 3)
				block_on(f, ts, cur, next, c, 0, 3, 0, 0, 0, 0, 0);
			else
				block_on(f, ts, cur, next, c, 35, 0, 0, 0, 0, 0, 0);
			state[ci] = 2;
			cpu_of[c] = n >= 0 ? tids[n] : 0;
			if (n >= 0)
				state[n] = 1;
		} else if (cur && r < 60) {	/* preempted */
			int n = !state[t] ? t : -1;

			sw(f, ts, cur, n >= 0 ? tids[n] : 0, TS_RUNNABLE, c);
			state[cur - tids[0]] = 0;
			cpu_of[c] = n >= 0 ? tids[n] : 0;
			if (n >= 0)
				state[n] = 1;
		} else if (!cur && !state[t]) {
			sw(f, ts, 0, tids[t], TS_RUNNABLE, c);
			cpu_of[c] = tids[t];
			state[t] = 1;
		} else if (state[t] == 2) {	/* woken by whoever runs, or the kernel */
			uint32_t by = r % 3 ? cpu_of[r % 2] : 0;

			wake_by(f, ts, tids[t], by, by ? 202 : -1, MUTEX);
			if (r % 5 == 0)
				futex_ret(f, ts + 1, tids[t], 0x8000, r % 2 ? 0 : -110);
			state[t] = 0;
		}
	}
	/* the late wait that tells 0x9028 is a condvar's (nothing at its +4's +4) */
	for (int c = 0; c < 2; c++)
		if (cpu_of[c]) {
			block_on(f, ts + 100, cpu_of[c], 0, c, 202, 0x902c, 0x189, 0, 0, 0, 0);
			state[cpu_of[c] - tids[0]] = 2;
			cpu_of[c] = 0;
		}
	ts += 1000;
	/* 201 runs, waits on MUTEX; the kernel ends it, its call returns -ERESTARTSYS, it dies */
	for (int i = 0; i < 4; i++)
		if (state[i] == 2)
			wake_by(f, ts, tids[i], 0, -1, 0);
	sw(f, ts + 10, 0, 201, TS_RUNNABLE, 0);
	sw(f, ts + 10, 0, 202, TS_RUNNABLE, 1);
	block_on(f, ts + 20, 201, 0, 0, 202, MUTEX, 128, 2, 2, 0, 204);
	block_on(f, ts + 30, 202, 203, 1, 202, MUTEX, 128, 2, 2, 0, 204);
	wake_by(f, ts + 40, 201, 0, -1, 0);
	futex_ret(f, ts + 50, 201, MUTEX, -512);
	{
		struct ev_exit e = {{ts + 60, 201, EV_EXIT, sizeof(e)}, PID, 9, 0, 0};

		feed(f, &e, sizeof(e));
	}
	sw(f, ts + 61, 201, 0, TS_DEAD, 0);
	/* 201 again: a new thread of the process with the old tid, which runs and sleeps */
	{
		struct ev_fork t = {{ts + 65, 201, EV_FORK, sizeof(t)}, 203, PID, PID, FORKF_THREAD,
				    "reborn"};

		feed(f, &t, sizeof(t));
	}
	sw(f, ts + 70, 0, 201, TS_RUNNABLE, 0);
	block_on(f, ts + 80, 201, 0, 0, 35, 0, 0, 0, 0, 0, 0);
	/* 203 ends the process: 202's wait ends with the exit_group */
	wake_by(f, ts + 90, 202, 203, 231, 0);
	{
		struct ev_exit e = {{ts + 95, 203, EV_EXIT, sizeof(e)}, PID, 0, EXITF_GROUP_DEAD,
				    0};

		feed(f, &e, sizeof(e));
	}
	model_finish(&f->m, 0);
}

/* prev blocks in a timed glibc mutex wait (pthread_mutex_timedlock): its switch says SWF_TIMED */
static void block_mutex_timed(struct fx *f, uint64_t ts, uint32_t prev, uint32_t owner)
{
	block_mutex_as(f, ts, prev, owner, SWF_PREV_TRACED | SWF_TIMED);
}

static void thread_exit(struct fx *f, uint64_t ts, uint32_t tid, uint32_t flags, int32_t nr)
{
	struct ev_exit e = {{ts, tid, EV_EXIT, sizeof(e)}, PID, 9, flags, nr};

	feed(f, &e, sizeof(e));
}

/* Without futex call records (the default recording): a timed wait is told by its switch-out,
 * its timeout by who woke it (the kernel, or an interrupt in another call: timed out; a wake
 * on its word: not), and a thread woken by nobody that exits from inside its futex call died
 * in that wait, one that exits through exit() returned from it. */
static void test_timed_and_died_without_futex_calls(void **state)
{
	struct tl_opts o = {.symbolize = 0};
	struct timeline tl;
	struct fx f;
	size_t n = 0;
	int timed = 0, timed_out[4] = {-1, -1, -1, -1};

	(void)state;
	abc_running(&f);
	block_mutex_timed(&f, 20, A, C);
	block_mutex_timed(&f, 30, B, C);
	wake_by(&f, 1000, A, 0, -1, 0);		/* its timer */
	wake_by(&f, 1000, B, C, 202, MUTEX);	/* C's unlock */
	sw(&f, 1100, 0, A, TS_RUNNABLE, 0);
	sw(&f, 1100, 0, B, TS_RUNNABLE, 1);
	block_mutex_timed(&f, 2000, A, C);
	wake_by(&f, 3000, A, C, 0, 5);		/* an interrupt found C in a read: A's timer */
	sw(&f, 3100, 0, A, TS_RUNNABLE, 0);
	block_mutex(&f, 3200, B, C);		/* untimed, woken by C's unlock */
	wake_by(&f, 3300, B, C, 202, MUTEX);
	sw(&f, 3400, 0, B, TS_RUNNABLE, 1);
	/* the process is killed: A's untimed wait and B's end with no waker; A dies inside it, B
	 * had returned from its call */
	block_mutex(&f, 4000, A, C);
	block_mutex(&f, 4010, B, C);
	wake_by(&f, 5000, A, 0, -1, 0);
	wake_by(&f, 5000, B, 0, -1, 0);
	thread_exit(&f, 5100, A, EXITF_IN_SYSCALL, 202);
	thread_exit(&f, 5100, B, EXITF_IN_SYSCALL, 60);
	model_finish(&f.m, 6000);
	for (size_t i = 0; i < f.m.nthreads; i++) {
		const struct m_thread *t = &f.m.threads[i];

		for (size_t k = 0; k < t->niv; k++) {
			if (t->iv[k].state != TH_BLOCKED || t->iv[k].start >= 4000)
				continue;
			timed += t->iv[k].w.timed;
			if (n < 4)
				timed_out[n++] = (t->tid == A ? 0 : 10) + t->iv[k].w.timed_out;
		}
	}
	assert_int_equal(timed, 3);	/* A's two and B's first; not B's second */
	assert_int_equal(n, 4);
	assert_int_equal(timed_out[0], 1);	/* A's first: its timer */
	assert_int_equal(timed_out[1], 1);	/* A's second: its timer, in C's read */
	assert_int_equal(timed_out[2], 10);	/* B's first: C's unlock */
	assert_int_equal(timed_out[3], 10);	/* B's second: untimed */
	assert_true(model_thread(&f.m, A)->died_in_futex);
	assert_false(model_thread(&f.m, B)->died_in_futex);
	assert_int_equal(timeline_build(&tl, &f.m, &o), 0);
	assert_true(lane(&tl, A)->ended_in_wait);
	assert_int_equal(lane(&tl, A)->end_by, 0);
	assert_false(lane(&tl, B)->ended_in_wait);
	timeline_free(&tl);
	same_as_fold(&f, 6000);
	same_as_spool(&f, 6000);
	fx_free(&f);
}

/* The kinds of the storm's blocked intervals in the whole build: is k among them? */
static int storm_has_kind(struct fx *f, int k)
{
	struct tl_opts o = {.symbolize = 0};
	struct timeline tl;
	int has = 0;

	assert_int_equal(timeline_build(&tl, &f->m, &o), 0);
	for (size_t i = 0; i < tl.nlanes; i++)
		for (size_t j = 0; j < tl.lanes[i].n; j++)
			has |= tl.lanes[i].iv[j].state == TH_BLOCKED && tl.lanes[i].iv[j].kind == k;
	timeline_free(&tl);
	return has;
}

static void test_fold_same_text(void **state)
{
	struct fx f;

	(void)state;
	storm(&f, "/usr/bin/storm");
	same_as_fold(&f, 0);
	same_as_spool(&f, 0);
	assert_true(storm_has_kind(&f, WK_SEMAPHORE));
	assert_false(storm_has_kind(&f, WK_LOCK));
	fx_free(&f);
	/* in a CPython process the sem_t waits are Python Locks': drawn L, counted as lock */
	storm(&f, "/usr/bin/python3.11");
	same_as_fold(&f, 0);
	same_as_spool(&f, 0);
	assert_false(storm_has_kind(&f, WK_SEMAPHORE));
	assert_true(storm_has_kind(&f, WK_LOCK));
	assert_true(storm_has_kind(&f, WK_CONDVAR));
	fx_free(&f);
	scenario(&f, 0);
	same_as_fold(&f, 100);
	same_as_spool(&f, 100);
	fx_free(&f);
}

/* Lost events change the intervals before them: the fold refuses such a model (a report reads
 * the trace whole), and one whose span was not the one given up front. */
static void test_fold_refuses(void **state)
{
	struct fx f;

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct timeline_fold *fold = timeline_fold_new(57);
		struct timeline tl;
		struct model fm;

		scenario(&f, k == 0);
		model_init(&fm);
		fm.keep.history = HIST_NONE;
		fm.keep.fold = timeline_fold_hooks(fold);
		fm.span_first = f.m.t_first;
		fm.span_last = k == 0 ? 100 : 90;
		for (size_t i = 0; i < f.n; i++)
			model_event(&fm, f.rec[i]);
		model_finish(&fm, 100);
		assert_int_not_equal(timeline_fold_finish(fold, &fm, &tl), 0);
		model_free(&fm);
		fx_free(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intervals_reasons_arrows),
		cmocka_unit_test(test_bursts_and_ended_in_wait),
		cmocka_unit_test(test_timed_and_died_without_futex_calls),
		cmocka_unit_test(test_lost_events_are_unknown_gaps),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_pid_reuse_one_lane_per_thread),
		cmocka_unit_test(test_perfetto),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_fold_same_text),
		cmocka_unit_test(test_fold_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
