/* report.c — the registry of report kinds and the common report path. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/json.h"
#include "model/model.h"
#include "render/report.h"
#include "capture/target.h"
#include "trace/trace.h"
#include "lib/util.h"

static const struct report_kind kinds[] = {
	{"summary", report_summary, FMT_BIT(FMT_TEXT) | FMT_BIT(FMT_JSON), ROPT_TOP,
	 "per process and thread: on-CPU, runnable and blocked time by reason; top futex waits",
	 "futex waits and connections listed (default 10 and 15)", report_summary_keep},
	{"timeline", report_timeline,
	 FMT_BIT(FMT_TEXT) | FMT_BIT(FMT_JSON) | FMT_BIT(FMT_PERFETTO) | FMT_BIT(FMT_HTML),
	 ROPT_TOP | ROPT_WINDOW,
	 "per thread lanes: running, runnable, blocked on what; who woke whom; parallelism",
	 "text: waker-woken pairs listed under the lanes (default 15)", report_timeline_keep},
	{"io", report_io, FMT_BIT(FMT_TEXT) | FMT_BIT(FMT_JSON), ROPT_TOP,
	 "event loops: idle vs busy, longest busy gaps and the blocking calls in them, timers",
	 "longest gaps shown per loop (default 5)", report_keep_state},
	{"gil", report_gil, FMT_BIT(FMT_TEXT) | FMT_BIT(FMT_JSON), ROPT_TOP,
	 "CPython: GIL hand-offs (forced vs voluntary), GIL wait share per thread, parallelism",
	 "hand-offs listed per process (default 12)"},
	{"deadlock", report_deadlock, FMT_BIT(FMT_TEXT) | FMT_BIT(FMT_JSON), 0,
	 "wait-for cycles at the end of the trace; lock-order inversions from --locks (exit 1)",
	 NULL, report_deadlock_keep},
	{"contention", report_contention, FMT_BIT(FMT_TEXT) | FMT_BIT(FMT_JSON) | FMT_BIT(FMT_FOLDED),
	 ROPT_SORT | ROPT_TOP | ROPT_WINDOW,
	 "per sync object: waits, holders, waiters, callers; condvar/join/GIL apart",
	 "rows per table (default 20; connections 15)", report_contention_keep},
};

void report_keep_state(const struct report_opts *o, struct m_keep *k)
{
	(void)o;
	k->no_futex_calls = 1;
}

const struct report_kind *report_kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	return NULL;
}

void report_kinds_usage(FILE *f)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		fprintf(f, "  %-11s %s [", kinds[i].name, kinds[i].help);
		for (int k = 0, first = 1; k < FMT_NFORMATS; k++)
			if (kinds[i].formats & FMT_BIT(k)) {
				fprintf(f, "%s%s", first ? "" : " ", format_name(k));
				first = 0;
			}
		fprintf(f, "]\n");
	}
}

static const char *const format_names[FMT_NFORMATS] = {"text", "json", "perfetto", "html", "dot",
						       "folded"};

int parse_format(const char *s)
{
	for (int i = 0; i < FMT_NFORMATS; i++)
		if (!strcmp(s, format_names[i]))
			return i;
	return -1;
}

const char *format_name(int f)
{
	return f >= 0 && f < FMT_NFORMATS ? format_names[f] : "?";
}

void report_lost_line(const struct model *m, FILE *out)
{
	uint64_t lost = model_lost_total(m);

	if (!lost) {
		fprintf(out, "lost events: 0\n");
		return;
	}
	fprintf(out, "lost events: %llu (ring buffer %llu, untracked children %llu, untimed futex "
		"calls %llu) — intervals around the losses are marked uncertain\n",
		(unsigned long long)lost, (unsigned long long)m->lost[LOST_RINGBUF],
		(unsigned long long)m->lost[LOST_TASKMAP], (unsigned long long)m->lost[LOST_FUTEXMAP]);
}

void report_json_lost(const struct model *m, struct json *j)
{
	json_kv_u64(j, "lost_events", model_lost_total(m));
	json_obj_begin(j, "lost");
	json_kv_u64(j, "ringbuf", m->lost[LOST_RINGBUF]);
	json_kv_u64(j, "taskmap", m->lost[LOST_TASKMAP]);
	json_kv_u64(j, "futexmap", m->lost[LOST_FUTEXMAP]);
	json_kv_u64(j, "stacks", m->lost[LOST_STACK]);
	json_kv_u64(j, "user_reads", m->lost[LOST_USER_READ]);
	json_kv_u64(j, "waitmap", m->lost[LOST_WAITMAP]);
	json_kv_u64(j, "lockmap", m->lost[LOST_LOCKMAP]);
	json_obj_end(j);
	/* per CPU, cumulative, the kinds that lose records */
	json_arr_begin(j, "lost_per_cpu");
	for (size_t c = 0; c < m->nlost_cpu; c++) {
		const uint64_t *v = &m->lost_cpu[c * LOST_NKINDS];

		json_obj_begin(j, NULL);
		json_kv_u64(j, "cpu", c);
		json_kv_u64(j, "ringbuf", v[LOST_RINGBUF]);
		json_kv_u64(j, "taskmap", v[LOST_TASKMAP]);
		json_kv_u64(j, "futexmap", v[LOST_FUTEXMAP]);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_kv_u64(j, "loss_windows", m->nlosses);
}

/* Output to a file: created 0600 without following a symlink, written through a temp file and
 * renamed into place so that a reader never sees half a report. */
static FILE *open_output(const char *path, char *tmp, size_t n)
{
	int fd;

	snprintf(tmp, n, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		errmsg("cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	return fdopen(fd, "w");
}

int parse_top(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return end != s && !*end && v >= 1 && v <= 100000 ? (int)v : -1;
}

int report_check_opts(const char *kind, const struct report_opts *o)
{
	const struct report_kind *k = report_kind_find(kind);

	if (!k) {
		errmsg("unknown report '%s' (see conlab report --help)", kind);
		return 2;
	}
	if (!(k->formats & FMT_BIT(o->format))) {
		errmsg("report %s has no %s format", kind, format_name(o->format));
		return 2;
	}
	if (o->sort && !(k->opts & ROPT_SORT)) {
		errmsg("report %s has no --sort", kind);
		return 2;
	}
	if (o->top && !(k->opts & ROPT_TOP)) {
		errmsg("report %s has no --top", kind);
		return 2;
	}
	if ((o->from_ns || o->to_ns) && !(k->opts & ROPT_WINDOW)) {
		errmsg("report %s has no --from/--to (the whole trace only)", kind);
		return 2;
	}
	return 0;
}

int report_run(const char *kind, const struct report_opts *o)
{
	const struct report_kind *k = report_kind_find(kind);
	struct trace_stats stats;
	struct m_keep keep = {0};
	struct model m;
	char tmp[4096];
	FILE *out = stdout;
	int ret;

	if (report_check_opts(kind, o))
		return 2;
	/* CONLAB_REPORT_WHOLE=1: the whole history, as every report read it before it kept only
	 * what it reads or folded it (the tests check that the output is the same); the records
	 * it draws one by one (the timeline's marks) are still its event stream */
	if (k->keep)
		k->keep(o, &keep);
	if (getenv("CONLAB_REPORT_WHOLE")) {
		if (keep.fold && keep.fold->release)
			keep.fold->release(keep.fold->ctx);
		keep = m_keep_whole(&keep);
	}
	if (model_from_file(&m, o->input, &keep, &stats))
		return 2;
	trace_warn_damage(&stats, o->input);
	if (o->output && strcmp(o->output, "-")) {
		out = open_output(o->output, tmp, sizeof(tmp));
		if (!out) {
			ret = 2;
			goto done;
		}
		/* a timeline of a long trace writes gigabytes: a write call per 1 MiB, not 4 KiB */
		setvbuf(out, NULL, _IOFBF, 1 << 20);
	}
	ret = k->fn(&m, o, out);
	if (out != stdout) {
		if (ret == 2) {		/* failed (a line said why): no half-written file */
			fclose(out);
			unlink(tmp);
		} else if (fflush(out) || ferror(out)) {
			errmsg("failed to write %s: %s", o->output, strerror(errno));
			fclose(out);
			unlink(tmp);
			ret = 2;
		} else {
			int uid, gid;

			fclose(out);
			if (rename(tmp, o->output)) {
				errmsg("cannot write %s: %s", o->output, strerror(errno));
				unlink(tmp);
				ret = 2;
			} else {
				invoking_user(&uid, &gid);
				if (uid >= 0 && chown(o->output, uid, gid))
					errmsg("cannot give %s to uid %d", o->output, uid);
			}
		}
	} else {
		fflush(stdout);
	}
done:
	model_free(&m);
	return ret;
}
