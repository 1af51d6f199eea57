/*
 * report_gil.c — `conlab report gil`: for each CPython process, the GIL's hand-offs and their
 * causes, each thread's share of wanting-to-run time spent waiting for the GIL, and the
 * parallelism achieved (in one process and across a pool of processes).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/gilprobe.h"
#include "analysis/gil.h"
#include "lib/json.h"
#include "model/model.h"
#include "model/procsyms.h"
#include "render/log2hist.h"
#include "render/report.h"
#include "symbols/symbolize.h"
#include "lib/util.h"

enum gil_syms_state {
	SYMS_UNKNOWN = 0,	/* the interpreter file could not be read */
	SYMS_ABSENT,		/* stripped: no take_gil in .symtab */
	SYMS_PRESENT,
};

/* Does the interpreter (or libpython) keep take_gil/drop_gil in its symbol table? */
/* Can the GIL be probed in this interpreter file (take_gil and drop_gil in its .symtab)? */
static int elf_has_take_gil(const char *path)
{
	struct gil_syms g;
	int rc = gilprobe_find(path, &g);

	return rc < 0 ? SYMS_UNKNOWN : rc ? SYMS_PRESENT : SYMS_ABSENT;
}

static int interp_syms(const struct model *m, uint32_t pid, char *path, size_t n)
{
	const struct m_process *p = model_process(m, pid);
	char v[16];
	int best = SYMS_UNKNOWN;

	path[0] = 0;
	for (size_t i = 0; p && i < p->maps.n; i++) {
		const struct map_entry *e = &p->maps.v[i];
		int s;

		if (!(e->prot & 4) || !gil_python_version(e->path, v, sizeof(v)))
			continue;	/* PROT_EXEC mappings of python3.x / libpython3.x */
		s = elf_has_take_gil(e->path);
		snprintf(path, n, "%s", e->path);
		if (s > best)
			best = s;
	}
	return best;
}

static const char *tname(const struct gil_process *g, uint32_t tid, char *buf, size_t n)
{
	for (size_t i = 0; i < g->nthreads; i++)
		if (g->threads[i].tid == tid) {
			snprintf(buf, n, "%s/%u", g->threads[i].comm[0] ? g->threads[i].comm : "?", tid);
			return buf;
		}
	snprintf(buf, n, tid ? "tid %u" : "?", tid);
	return buf;
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * a / b : 0.0;
}

static const char *syms_text(int s)
{
	switch (s) {
	case SYMS_PRESENT:
		return "the interpreter has take_gil/drop_gil symbols but the recording has no GIL "
		       "uprobe events (record with --gil, or `conlab gil`): inferred from futex waits";
	case SYMS_ABSENT:
		return "take_gil/drop_gil are not in the interpreter's symbol table (stripped): "
		       "inferred from futex waits";
	default:
		return "the interpreter file could not be read: inferred from futex waits";
	}
}

/* What is known of the process's GIL: how it was measured, parallelism, hand-off counts. */
static void text_gil_head(const struct model *m, const struct gil_process *g, FILE *out)
{
	char a[32], b[32], c[32], path[512];
	int syms = interp_syms(m, g->pid, path, sizeof(path));

	fprintf(out, "\nprocess %u (%s): CPython %s\n", g->pid, g->comm,
		g->version[0] ? g->version : "?");
	if (g->method == GIL_UPROBES)
		fprintf(out, "  GIL: uprobes on take_gil/drop_gil in %s: exact hold intervals\n",
			path[0] ? path : "the interpreter");
	else
		fprintf(out, "  GIL: %s\n", syms_text(syms));
	fprintf(out, "  parallelism: on CPU %s over %s wall = %.2f× (1.00× = one thread at a time)\n",
		fmt_dur(a, sizeof(a), g->on_cpu), fmt_dur(b, sizeof(b), g->wall),
		g->wall ? (double)g->on_cpu / g->wall : 0.0);
	if (g->mt_wall)
		fprintf(out, "  while its threads ran (%s from %.3f s): on CPU %s = %.2f×\n",
			fmt_dur(a, sizeof(a), g->mt_wall), (g->mt_from - m->t_first) / 1e9,
			fmt_dur(b, sizeof(b), g->mt_on_cpu), (double)g->mt_on_cpu / g->mt_wall);
	if (g->method == GIL_UPROBES) {
		fprintf(out, "  GIL held %s in %zu holds; threads slept %s waiting for it in take_gil\n",
			fmt_dur(a, sizeof(a), g->held), g->nholds, fmt_dur(b, sizeof(b), g->gil_wait));
		fprintf(out, "  drops: %" PRIu64 " forced after the switch interval, %" PRIu64
			" around a blocking call, %" PRIu64 " at thread exit, %" PRIu64 " other",
			g->drops[GC_FORCED], g->drops[GC_BLOCKING], g->drops[GC_EXIT],
			g->drops[GC_OTHER]);
		if (g->interval_est)
			fprintf(out, "; switch interval about %s (median hold ended by a forced drop)",
				fmt_dur(c, sizeof(c), g->interval_est));
		fputc('\n', out);
		fprintf(out, "  hand-offs to another thread: %zu — forced %" PRIu64 ", voluntary %"
			PRIu64 "\n", g->nhandoffs, g->forced, g->voluntary);
	} else if (!g->gil_addr) {
		fprintf(out, "  no GIL waits seen: no thread of this process had to wait for the GIL "
			"(one thread, or threads that mostly block in IO with the GIL released)\n");
	} else {
		fprintf(out, "  GIL condvar futex 0x%" PRIx64 ": %" PRIu64 " waits (%s), %" PRIu64
			" timed out", g->gil_addr, g->waits, fmt_dur(a, sizeof(a), g->gil_wait),
			g->timeouts);
		if (g->interval_est)
			fprintf(out, "; switch interval about %s (median timed-out wait)",
				fmt_dur(b, sizeof(b), g->interval_est));
		fputc('\n', out);
		fprintf(out, "  hand-offs after a wait: %zu — forced after the switch interval %" PRIu64
			", voluntary release (the holder blocked or finished) %" PRIu64 "\n",
			g->nhandoffs, g->forced, g->voluntary);
	}
}

/* One row a thread: where its time went, and its GIL waits. */
static void text_gil_threads(const struct gil_process *g, FILE *out)
{
	char a[32], b[32], c[32], d[32], n1[48];

	fprintf(out, "    %-20s %9s %9s %9s %6s %9s %7s %8s %7s %7s %9s%s\n", "THREAD", "ON-CPU",
		"RUNNABLE", "GIL-WAIT", "GIL%", "BLOCKED", "WAITS", "TIMEOUTS", "FORCED", "VOLUNT",
		"MAX-WAIT", g->method == GIL_UPROBES ? "      HELD" : "");
	for (size_t i = 0; i < g->nthreads; i++) {
		const struct gil_thread *t = &g->threads[i];
		uint64_t want = t->on_cpu + t->runnable + t->gil_wait;
		char e[32];

		fprintf(out, "    %-20s %9s %9s %9s %5.1f%% %9s %7" PRIu64 " %8" PRIu64 " %7" PRIu64
			" %7" PRIu64 " %9s", tname(g, t->tid, n1, sizeof(n1)),
			fmt_dur(a, sizeof(a), t->on_cpu), fmt_dur(b, sizeof(b), t->runnable),
			fmt_dur(c, sizeof(c), t->gil_wait), pct(t->gil_wait, want),
			fmt_dur(d, sizeof(d), t->blocked_other), t->waits, t->timeouts, t->forced,
			t->voluntary, t->episode_max ? fmt_dur(e, sizeof(e), t->episode_max) : "-");
		if (g->method == GIL_UPROBES)
			fprintf(out, " %9s", fmt_dur(e, sizeof(e), t->held));
		fputc('\n', out);
	}
	fprintf(out, "    (GIL%% = GIL-WAIT / (ON-CPU + RUNNABLE + GIL-WAIT): the share of the time "
		"it wanted to run spent waiting for the GIL)\n");
}

static void text_proc(const struct model *m, const struct gil_process *g, int top, FILE *out)
{
	char a[32], b[32], n1[48], n2[48];

	text_gil_head(m, g, out);
	text_gil_threads(g, out);
	if (g->timeouts) {
		static const struct log2hist_style st = {"    ", 6, LH_EMPTY_SKIP, 0};

		fprintf(out, "  timed-out GIL waits by duration:\n");
		log2hist_text(out, g->timeout_hist, GIL_HIST, &st);
	}
	if (g->nhandoffs) {
		size_t n = g->nhandoffs < (size_t)top ? g->nhandoffs : (size_t)top;

		fprintf(out, "  who held it when (hand-offs, first %zu of %zu):\n", n, g->nhandoffs);
		for (size_t i = 0; i < n; i++) {
			const struct gil_handoff *h = &g->handoffs[i];

			if (g->method == GIL_UPROBES) {
				fprintf(out, "    at %8.3f s  %-22s held %9s, %-16s -> %-22s after "
					"waiting %s\n", (h->ts - m->t_first) / 1e9,
					tname(g, h->from, n1, sizeof(n1)),
					fmt_dur(b, sizeof(b), h->held), gil_cause_name(h->cause),
					tname(g, h->to, n2, sizeof(n2)), fmt_dur(a, sizeof(a), h->waited));
				continue;
			}
			fprintf(out, "    at %8.3f s  %-22s -> %-22s %-9s after waiting %s\n",
				(h->ts - m->t_first) / 1e9, tname(g, h->from, n1, sizeof(n1)),
				tname(g, h->to, n2, sizeof(n2)), h->forced ? "forced" : "voluntary",
				fmt_dur(a, sizeof(a), h->waited));
		}
	}
}

static int text(const struct model *m, const struct gil_report *r, const struct report_opts *o,
		FILE *out)
{
	char a[32], b[32];
	int top = o->top ? o->top : 12;

	fprintf(out, "conlab gil: %s traced, %zu CPython process%s\n",
		fmt_dur(a, sizeof(a), r->wall), r->npython, r->npython == 1 ? "" : "es");
	report_lost_line(m, out);
	if (!r->npython) {
		fprintf(out, "no CPython process found (no python3.x or libpython3.x mapping, exe or "
			"command)\n");
		return 0;
	}
	for (size_t i = 0; i < r->nprocs; i++)
		if (r->procs[i].is_python)
			text_proc(m, &r->procs[i], top, out);
	if (r->npython > 1)
		fprintf(out, "\nacross the %zu CPython processes: on CPU %s over %s = %.2f× "
			"(each process has its own GIL: no GIL waits across processes)\n",
			r->npython, fmt_dur(a, sizeof(a), r->python_on_cpu),
			fmt_dur(b, sizeof(b), r->wall),
			r->wall ? (double)r->python_on_cpu / r->wall : 0.0);
	return 0;
}

/* A process's GIL: how it was measured, the totals, the timeout histogram. */
static void json_gil_process(const struct model *m, const struct gil_process *g, struct json *j)
{
	char path[512];
	int syms = interp_syms(m, g->pid, path, sizeof(path));

	json_kv_u64(j, "pid", g->pid);
	json_kv_str(j, "comm", g->comm);
	json_kv_str(j, "version", g->version);
	json_kv_str(j, "method", g->method == GIL_UPROBES ? "uprobes" : "futex-inferred");
	json_kv_u64(j, "held_ns", g->held);
	json_kv_u64(j, "holds", g->nholds);
	json_obj_begin(j, "drops");
	for (int k = 0; k < GC_NCAUSES; k++)
		json_kv_u64(j, gil_cause_name(k), g->drops[k]);
	json_obj_end(j);
	json_kv_str(j, "gil_symbols", syms == SYMS_PRESENT ? "present" :
		    syms == SYMS_ABSENT ? "absent" : "unknown");
	if (g->gil_addr)
		json_kv_hex(j, "gil_addr", g->gil_addr);
	else
		json_kv_null(j, "gil_addr");
	json_kv_u64(j, "wall_ns", g->wall);
	json_kv_u64(j, "on_cpu_ns", g->on_cpu);
	json_kv_f64(j, "parallelism", g->wall ? (double)g->on_cpu / g->wall : 0.0);
	json_kv_u64(j, "threaded_wall_ns", g->mt_wall);
	json_kv_u64(j, "threaded_on_cpu_ns", g->mt_on_cpu);
	json_kv_f64(j, "threaded_parallelism",
		    g->mt_wall ? (double)g->mt_on_cpu / g->mt_wall : 0.0);
	json_kv_u64(j, "gil_wait_ns", g->gil_wait);
	json_kv_u64(j, "waits", g->waits);
	json_kv_u64(j, "timeouts", g->timeouts);
	json_kv_u64(j, "switch_interval_est_ns", g->interval_est);
	json_kv_u64(j, "handoffs", g->nhandoffs);
	json_kv_u64(j, "forced", g->forced);
	json_kv_u64(j, "voluntary", g->voluntary);
	json_arr_begin(j, "timeout_log2_hist");
	for (int k = 0; k < GIL_HIST; k++)
		json_u64(j, g->timeout_hist[k]);
	json_arr_end(j);
}

static void json_gil_threads(const struct gil_process *g, struct json *j)
{
	json_arr_begin(j, "threads");
	for (size_t k = 0; k < g->nthreads; k++) {
		const struct gil_thread *t = &g->threads[k];

		json_obj_begin(j, NULL);
		json_kv_u64(j, "tid", t->tid);
		json_kv_str(j, "comm", t->comm);
		json_kv_u64(j, "on_cpu_ns", t->on_cpu);
		json_kv_u64(j, "runnable_ns", t->runnable);
		json_kv_u64(j, "gil_wait_ns", t->gil_wait);
		json_kv_u64(j, "blocked_other_ns", t->blocked_other);
		json_kv_u64(j, "waits", t->waits);
		json_kv_u64(j, "timeouts", t->timeouts);
		json_kv_u64(j, "acquisitions_after_wait", t->acquisitions);
		json_kv_u64(j, "forced", t->forced);
		json_kv_u64(j, "voluntary", t->voluntary);
		json_kv_u64(j, "max_wait_ns", t->episode_max);
		json_kv_u64(j, "held_ns", t->held);
		json_kv_u64(j, "takes", t->takes);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_gil_handoffs(const struct model *m, const struct gil_process *g, struct json *j)
{
	json_arr_begin(j, "handoff_list");
	for (size_t k = 0; k < g->nhandoffs; k++) {
		const struct gil_handoff *h = &g->handoffs[k];

		json_obj_begin(j, NULL);
		json_kv_u64(j, "ts_ns", h->ts - m->t_first);
		json_kv_u64(j, "from", h->from);
		json_kv_u64(j, "to", h->to);
		json_kv_u64(j, "waited_ns", h->waited);
		json_kv_str(j, "cause", h->forced ? "forced" : "voluntary");
		if (g->method == GIL_UPROBES) {
			json_kv_str(j, "release", gil_cause_name(h->cause));
			json_kv_u64(j, "from_held_ns", h->held);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

static int json(const struct model *m, const struct gil_report *r, FILE *out)
{
	struct json j;

	json_init(&j, out, 1);
	json_obj_begin(&j, NULL);
	json_kv_u64(&j, "duration_ns", r->wall);
	report_json_lost(m, &j);
	json_kv_u64(&j, "python_processes", r->npython);
	json_kv_u64(&j, "python_on_cpu_ns", r->python_on_cpu);
	json_kv_f64(&j, "parallelism", r->wall ? (double)r->python_on_cpu / r->wall : 0.0);
	json_arr_begin(&j, "processes");
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct gil_process *g = &r->procs[i];

		if (!g->is_python)
			continue;
		json_obj_begin(&j, NULL);
		json_gil_process(m, g, &j);
		json_gil_threads(g, &j);
		json_gil_handoffs(m, g, &j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
	return 0;
}

/* drop_gil's callers, symbolized with one offline symbolizer per process */
/* The cause of a GIL drop, from the function that called drop_gil. */
static int drop_cause(void *ctx, uint32_t pid, uint64_t ret_addr)
{
	struct symbolizer *s = procsyms_get(ctx, pid);
	struct sym_code sc;

	if (!s || !ret_addr || symbolizer__code(s, ret_addr, SYM_RETADDR, &sc))
		return GC_OTHER;
	return gil_cause_of_caller(sc.func);
}

int report_gil(const struct model *m, const struct report_opts *o, FILE *out)
{
	struct procsyms gc;
	struct gil_report r;
	int ret;

	procsyms_init(&gc, m);
	gil_analyze_uprobes(&r, m, m->rec.gil, m->rec.ngil, drop_cause, &gc);
	ret = o->format == FMT_JSON ? json(m, &r, out) : text(m, &r, o, out);
	gil_free(&r);
	procsyms_free(&gc);
	return ret;
}
