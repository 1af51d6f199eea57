/* report_timeline.c — `conlab report timeline`: builds the timeline and hands it to the renderer
 * of the chosen format; also the JSON form (intervals for scripts). */
#include <string.h>
#include <sys/wait.h>

#include "lib/json.h"
#include "render/perfetto.h"
#include "render/report.h"
#include "analysis/timeline.h"
#include "lib/syscall_table.h"
#include "lib/util.h"
#include "trace/trace.h"

static void json_iv(struct json *j, const struct timeline *tl, const struct tl_iv *v)
{
	json_obj_begin(j, NULL);
	json_kv_u64(j, "start_ns", v->start - tl->trace_t0);
	json_kv_u64(j, "end_ns", v->end - tl->trace_t0);
	json_kv_str(j, "state", th_state_name(v->state));
	if (v->state == TH_RUNNING)
		json_kv_u64(j, "cpu", v->cpu);
	if (v->state == TH_BLOCKED) {
		json_kv_str(j, "reason", wait_kind_name(v->kind));
		json_kv_str(j, "object", v->name >= 0 ? tl_name(tl, v->name) : NULL);
		json_kv_hex(j, "address", v->obj);
		if (v->holder)
			json_kv_u64(j, "holder", v->holder);
		if (v->waker)
			json_kv_u64(j, "woken_by", v->waker);
		if (v->timed_out)
			json_kv_bool(j, "timed_out", 1);
		if (v->site)	/* the Python code that waited, from its Python stack */
			json_kv_str(j, "python", tl_name(tl, (int32_t)v->site - 1));
	}
	if (v->flags & TLF_LOST) {
		json_kv_str(j, "unknown_because", "events lost");
		json_kv_str(j, "last_seen", th_state_name(v->guess));
	} else if (v->state == TH_UNKNOWN && (v->flags & IV_INFERRED)) {
		json_kv_str(j, "unknown_because", "before the first event");
	}
	if (v->flags & IV_UNCERTAIN)
		json_kv_bool(j, "uncertain", 1);
	json_obj_end(j);
}

/* One thread: its totals by state and reason, how it ended, its intervals. */
static void json_lane(struct json *j, const struct timeline *tl, const struct tl_lane *l)
{
	struct tl_cursor c;

	json_obj_begin(j, NULL);
	json_kv_u64(j, "tid", l->tid);
	json_kv_str(j, "comm", l->comm);
	/* the thread's span in the window (its first and last interval): a program's own
	 * window, from its first thread to its last, without the interpreter's start-up, is
	 * max(end_ns) - min(start_ns) of its workers */
	json_kv_u64(j, "start_ns", l->first - tl->trace_t0);
	json_kv_u64(j, "end_ns", l->last - tl->trace_t0);
	json_kv_u64(j, "on_cpu_ns", l->time_in[TH_RUNNING]);
	json_kv_u64(j, "runnable_ns", l->time_in[TH_RUNNABLE]);
	json_kv_u64(j, "blocked_ns", l->time_in[TH_BLOCKED]);
	json_kv_u64(j, "unknown_ns", l->time_in[TH_UNKNOWN]);
	json_kv_u64(j, "lost_ns", l->lost_ns);
	json_obj_begin(j, "blocked_by_reason_ns");
	for (int k = 1; k < WK_NKINDS; k++)
		if (l->blocked_kind[k])
			json_kv_u64(j, wait_kind_name(k), l->blocked_kind[k]);
	json_obj_end(j);
	json_kv_u64(j, "wakeups_received", l->wakeups_in);
	json_kv_u64(j, "wakeups_given", l->wakeups_out);
	json_kv_bool(j, "ended_in_wait", l->ended_in_wait);
	if (l->ended_in_wait) {
		json_obj_begin(j, "ended_wait");
		json_kv_str(j, "reason", wait_kind_name(l->end_kind));
		json_kv_str(j, "object", l->end_name >= 0 ? tl_name(tl, l->end_name) : NULL);
		json_kv_u64(j, "ended_by", l->end_by);
		json_obj_end(j);
	}
	json_arr_begin(j, "intervals");
	tl_cursor_ivs(&c, tl, l);
	for (const struct tl_iv *v; (v = tl_next(&c));)
		json_iv(j, tl, v);
	tl_cursor_end(&c);
	json_arr_end(j);
	json_obj_end(j);
}

static void json_processes(struct json *j, const struct timeline *tl)
{
	json_arr_begin(j, "processes");
	for (size_t p = 0; p < tl->nprocs; p++) {
		const struct tl_proc *pr = &tl->procs[p];

		json_obj_begin(j, NULL);
		json_kv_u64(j, "pid", pr->pid);
		json_kv_u64(j, "ppid", pr->ppid);
		json_kv_str(j, "comm", pr->comm);
		json_kv_str(j, "cmdline", pr->cmdline);
		json_kv_u64(j, "depth", pr->depth);
		json_kv_bool(j, "exited", pr->exited);
		json_arr_begin(j, "threads");
		for (size_t i = pr->first_lane; i < pr->first_lane + pr->nlanes; i++)
			json_lane(j, tl, &tl->lanes[i]);
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* Who woke whom, and the bursts where one thread woke several at once. */
static void json_wakeups(struct json *j, const struct timeline *tl)
{
	struct tl_cursor c;

	json_arr_begin(j, "wakeups");
	tl_cursor_arrows(&c, tl);
	for (const struct tl_arrow *a; (a = tl_next(&c));) {
		json_obj_begin(j, NULL);
		json_kv_u64(j, "ts_ns", a->ts - tl->trace_t0);
		json_kv_u64(j, "waker", a->waker);
		json_kv_u64(j, "wakee", a->wakee);
		json_kv_str(j, "reason", wait_kind_name(a->kind));
		json_kv_str(j, "object", a->name >= 0 ? tl_name(tl, a->name) : NULL);
		json_kv_hex(j, "address", a->obj);
		if (a->waker_nr >= 0)
			json_kv_str(j, "waker_syscall", syscall_name(a->waker_nr));
		if (a->flags & IV_UNCERTAIN)
			json_kv_bool(j, "uncertain", 1);
		/* a write on a socket or pipe in another process woke it */
		json_kv_bool(j, "message", a->msg);
		json_obj_end(j);
	}
	tl_cursor_end(&c);
	json_arr_end(j);
	json_kv_u64(j, "kernel_wakeups", tl->kernel_wakeups);
	json_arr_begin(j, "bursts");
	tl_cursor_bursts(&c, tl);
	for (const struct tl_burst *b; (b = tl_next(&c));) {
		json_obj_begin(j, NULL);
		json_kv_u64(j, "ts_ns", b->ts - tl->trace_t0);
		json_kv_u64(j, "span_ns", b->last - b->ts);
		json_kv_u64(j, "waker", b->waker);
		json_kv_u64(j, "wakees", b->wakees);
		json_kv_str(j, "reason", wait_kind_name(b->kind));
		json_kv_str(j, "object", b->name >= 0 ? tl_name(tl, b->name) : NULL);
		json_kv_hex(j, "address", b->obj);
		json_obj_end(j);
	}
	tl_cursor_end(&c);
	json_arr_end(j);
}

/* Forks, new threads, execs and exits. */
static void json_marks(struct json *j, const struct timeline *tl)
{
	json_arr_begin(j, "marks");
	for (size_t i = 0; i < tl->nmarks; i++) {
		const struct tl_mark *mk = &tl->marks[i];

		json_obj_begin(j, NULL);
		json_kv_u64(j, "ts_ns", mk->ts - tl->trace_t0);
		json_kv_str(j, "kind", tl_mark_name(mk->kind));
		json_kv_u64(j, "pid", mk->pid);
		json_kv_u64(j, "tid", mk->tid);
		if (mk->kind == TLM_FORK) {
			json_kv_u64(j, "parent", mk->other);
		} else if (mk->kind == TLM_THREAD) {
			json_kv_u64(j, "creator", mk->other);
		} else if (mk->kind == TLM_EXEC) {
			json_kv_str(j, "file", tl_name(tl, mk->name));
		} else if (mk->kind == TLM_EXIT) {
			json_kv_bool(j, "process_ended", mk->other);
			json_kv_i64(j, "status", mk->code);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* Totals over every lane, and how many threads were on a CPU at once over time. */
static void json_summary(struct json *j, const struct timeline *tl)
{
	uint64_t multi = 0, ended = 0;
	struct tl_cursor c;

	tl_cursor_bursts(&c, tl);
	for (const struct tl_burst *b; (b = tl_next(&c));)
		multi += b->wakees >= 2;
	tl_cursor_end(&c);
	for (size_t i = 0; i < tl->nlanes; i++)
		ended += tl->lanes[i].ended_in_wait;
	json_obj_begin(j, "summary");
	json_kv_u64(j, "on_cpu_ns", tl->time_in[TH_RUNNING]);
	json_kv_u64(j, "runnable_ns", tl->time_in[TH_RUNNABLE]);
	json_kv_u64(j, "blocked_ns", tl->time_in[TH_BLOCKED]);
	json_kv_u64(j, "unknown_ns", tl->time_in[TH_UNKNOWN]);
	json_kv_u64(j, "lost_ns", tl->lost_ns);
	json_obj_begin(j, "blocked_by_reason_ns");
	for (int k = 1; k < WK_NKINDS; k++)
		if (tl->blocked_kind[k])
			json_kv_u64(j, wait_kind_name(k), tl->blocked_kind[k]);
	json_obj_end(j);
	json_kv_u64(j, "wake_bursts", multi);	/* bursts that woke 2 or more */
	json_kv_u64(j, "threads_ended_in_wait", ended);
	json_obj_begin(j, "parallelism");
	json_kv_f64(j, "average", tl_avg_par(tl));
	json_kv_u64(j, "max", tl->max_par);
	json_arr_begin(j, "time_at_ns");
	for (uint32_t n = 0; n <= tl->max_par; n++)
		json_u64(j, tl->par_time[n]);
	json_arr_end(j);
	json_arr_begin(j, "series");
	tl_cursor_par(&c, tl);
	for (const struct tl_par *p; (p = tl_next(&c));) {
		json_arr_begin(j, NULL);
		json_u64(j, p->ts - tl->trace_t0);
		json_u64(j, p->n);
		json_arr_end(j);
	}
	tl_cursor_end(&c);
	json_arr_end(j);
	json_obj_end(j);
	json_obj_end(j);
}

int timeline_render_json(const struct timeline *tl, const struct model *m, FILE *out)
{
	struct json j;

	json_init(&j, out, 0);
	json_obj_begin(&j, NULL);
	json_kv_u64(&j, "from_ns", tl->t0 - tl->trace_t0);
	json_kv_u64(&j, "to_ns", tl->t1 - tl->trace_t0);
	json_kv_u64(&j, "duration_ns", m->t_last - m->t_first);
	json_kv_u64(&j, "events", m->events);
	report_json_lost(m, &j);
	json_kv_u64(&j, "anomalies", tl->anomalies);
	json_processes(&j, tl);
	json_wakeups(&j, tl);
	json_marks(&j, tl);
	json_summary(&j, tl);
	json_obj_end(&j);
	json_end(&j);
	return 0;
}

/* The marks need forks, execs and exits; Perfetto draws every probe record. Only those in the
 * window are kept, and with --from/--to the history only where the window needs it. */
void report_timeline_keep(const struct report_opts *o, struct m_keep *k)
{
	const uint64_t marks = M_KEEP_TYPE(EV_FORK) | M_KEEP_TYPE(EV_EXEC) | M_KEEP_TYPE(EV_EXIT);

	k->stream_types = o->format == FMT_PERFETTO ? PERFETTO_STREAM_TYPES : marks;
	k->from_ns = o->from_ns;
	k->to_ns = o->to_ns;
	k->history_window = o->from_ns || o->to_ns;
	/* The text chart of the whole trace is folded as the intervals close (analysis/
	 * timeline_fold.c): no history. Lost events change the intervals they cover after the
	 * fact: such a trace is read whole. */
	if (o->format == FMT_TEXT && !k->history_window) {
		k->history = HIST_NONE;
		k->no_futex_calls = 1;
		k->whole_if_lost = 1;
		k->fold = timeline_fold_hooks(
			timeline_fold_new(timeline_text_width(o) - TL_TEXT_LABEL - 1));
	} else {
		/* JSON, HTML, Perfetto and a window's text draw every interval in the window: they
		 * go to a spool on disk as they close (analysis/timeline_spool.c), and so do the
		 * switches and wakeups Perfetto mirrors; the marks stay in the event stream */
		k->history = HIST_NONE;
		k->history_window = 0;
		k->no_futex_calls = 1;
		k->whole_if_lost = 1;
		k->whole_stream_types = k->stream_types;
		k->stream_types = marks;
		k->fold = timeline_spool_hooks(timeline_spool_new(
			o->format == FMT_PERFETTO ? PERFETTO_STREAM_TYPES : 0, o->from_ns, o->to_ns));
	}
}

/* The fold could not make the chart (lost events, a span the reader's first pass did not
 * see): the trace read again whole, keeping what the report draws of its records. */
static int whole_again(const struct model *m, const struct report_opts *o, FILE *out)
{
	struct m_keep k = m_keep_whole(&m->keep);
	struct trace_stats st;
	struct model wm;
	int ret;

	if (!o->input || model_from_file(&wm, o->input, &k, &st))
		return 2;
	ret = report_timeline(&wm, o, out);
	model_free(&wm);
	return ret;
}

int report_timeline(const struct model *m, const struct report_opts *o, FILE *out)
{
	struct tl_opts to = {.from_ns = o->from_ns, .to_ns = o->to_ns, .symbolize = 1};
	struct timeline tl;
	int ret;

	if (!m->events || m->t_last <= m->t_first) {
		errmsg("the trace holds no scheduling events: nothing to draw");
		return 2;
	}
	if (timeline_fold_of(m)) {
		if (timeline_fold_finish(timeline_fold_of(m), m, &tl))
			return whole_again(m, o, out);
	} else if (timeline_spool_of(m)) {
		ret = timeline_spool_finish(timeline_spool_of(m), m, &tl);
		if (ret == -1)
			return whole_again(m, o, out);
		if (ret)
			return 2;
	} else if (timeline_build(&tl, m, &to)) {
		return 2;
	}
	switch (o->format) {
	case FMT_JSON:
		ret = timeline_render_json(&tl, m, out);
		break;
	case FMT_PERFETTO:
		ret = timeline_render_perfetto(&tl, m, out);
		break;
	case FMT_HTML:
		ret = timeline_render_html(&tl, m, out);
		break;
	default:
		ret = timeline_render_text(&tl, m, o, out);
		break;
	}
	if (tl_spool_error(&tl)) {	/* reading it back failed: the output is cut short */
		errmsg("%s", tl_spool_error(&tl));
		ret = -1;
	}
	timeline_free(&tl);
	return ret ? 2 : 0;
}
