/* render_text_timeline.c — the timeline in a terminal: one row per thread, one glyph per time
 * cell (the state that filled most of the cell), a legend, the wakeups and the summary. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "render/report.h"
#include "analysis/timeline.h"
#include "lib/util.h"

/* Glyph classes: CPU digits come first (running), then the rest. */
enum glyph {
	G_RUN = 0,	/* drawn as the CPU number */
	G_RUNNABLE,
	G_LOCK,
	G_CONDVAR,
	G_SEM,
	G_JOIN,
	G_FUTEX,
	G_SLEEP,
	G_READ,
	G_WRITE,
	G_POLL,
	G_ACCEPT,
	G_CHILD,
	G_SIGNAL,
	G_OTHER,
	G_UNKNOWN,
	G_EXITED,
	G_NGLYPHS
};

static const char glyph_char[G_NGLYPHS] = {'#', '+', 'L', 'C', 'S', 'J', 'F', 'z', 'r', 'w',
					   'p', 'a', 'c', 's', 'o', '?', 'x'};
static const char *const glyph_desc[G_NGLYPHS] = {
	"running (CPU number)", "runnable", "lock/mutex", "condvar", "semaphore", "join",
	"futex", "sleep", "read", "write", "poll/epoll", "accept", "wait child", "signal",
	"other", "unknown", "exited"};
/* ANSI colours: green running, yellow runnable, red locks, magenta condvars, blue I/O */
static const char *const glyph_color[G_NGLYPHS] = {
	"32", "33", "31;1", "35", "35", "36", "31", "36", "34", "34", "34", "34", "36", "36", "37",
	"90", "90"};

/* The glyph of a column's class of time (tl_class: a state, or a blocked wait's kind). */
static int glyph_of(int cls)
{
	switch (cls) {
	case TH_RUNNING: return G_RUN;
	case TH_RUNNABLE: return G_RUNNABLE;
	case TH_EXITED: return G_EXITED;
	case TH_UNKNOWN: return G_UNKNOWN;
	default: break;
	}
	switch (cls - TH_NSTATES) {
	case WK_MUTEX: case WK_LOCK: case WK_RWLOCK: return G_LOCK;
	case WK_CONDVAR: return G_CONDVAR;
	case WK_SEMAPHORE: return G_SEM;
	case WK_JOIN: return G_JOIN;
	case WK_FUTEX: return G_FUTEX;
	case WK_SLEEP: return G_SLEEP;
	case WK_READ: return G_READ;
	case WK_WRITE: return G_WRITE;
	case WK_POLL: return G_POLL;
	case WK_ACCEPT: return G_ACCEPT;
	case WK_CHILD: return G_CHILD;
	case WK_SIGNAL: return G_SIGNAL;
	default: return G_OTHER;
	}
}

/* The lane's columns: the fold's, or spread from its intervals. */
static void lane_cells(const struct timeline *tl, const struct tl_lane *l, struct tl_cell *cells,
		       int ncell)
{
	struct tl_cursor c;

	memset(cells, 0, ncell * sizeof(*cells));
	if (l->cells) {
		for (int i = 0; i < l->ncells && l->cell0 + i < ncell; i++)
			cells[l->cell0 + i] = l->cells[i];
		return;
	}
	tl_cursor_ivs(&c, tl, l);
	for (const struct tl_iv *v; (v = tl_next(&c));)
		tl_cells_add(cells, 0, NULL, ncell, tl->t0, tl->t1, v);
	tl_cursor_end(&c);
}

static void draw_lane(const struct timeline *tl, const struct tl_lane *l, struct tl_cell *cells,
		      int ncell, const struct report_opts *o, FILE *out)
{
	lane_cells(tl, l, cells, ncell);
	for (int c = 0; c < ncell; c++) {
		uint64_t t[G_NGLYPHS] = {0};
		int best = -1;
		char ch;

		for (int k = 0; k < TL_NCLASSES; k++)
			t[glyph_of(k)] += cells[c].t[k];
		for (int g = 0; g < G_NGLYPHS; g++)
			if (t[g] && (best < 0 || t[g] > t[best]))
				best = g;
		if (best < 0) {
			fputc(' ', out);
			continue;
		}
		ch = glyph_char[best];
		if (best == G_RUN && cells[c].cpu < 10)
			ch = '0' + cells[c].cpu;
		/* a cell mostly made of guesses across lost events says so */
		if (best != G_UNKNOWN && cells[c].uncertain * 2 > cells[c].total)
			ch = '!';
		if (o->color)
			fprintf(out, "\033[%sm%c\033[0m", ch == '!' ? "90" : glyph_color[best], ch);
		else
			fputc(ch, out);
	}
}

static void axis(const struct timeline *tl, int label, int ncell, FILE *out)
{
	double span = (tl->t1 - tl->t0) / 1e9, from = (tl->t0 - tl->trace_t0) / 1e9;
	char line[1024];
	int n = ncell < (int)sizeof(line) - 1 ? ncell : (int)sizeof(line) - 1;

	memset(line, ' ', n);
	line[n] = 0;
	fprintf(out, "%*s", label, "");
	for (int c = 0; c < n; c += 20) {
		char tick[24];
		int len = snprintf(tick, sizeof(tick), "|%.3fs", from + span * c / ncell);

		if (c + len <= n)
			memcpy(line + c, tick, len);
	}
	fprintf(out, "%s\n", line);
}

static const char *lane_name(const struct timeline *tl, uint32_t tid, char *buf, size_t n)
{
	int l = tl_lane_of(tl, tid);

	snprintf(buf, n, "%s(%u)", l >= 0 ? tl->lanes[l].comm : "?", tid);
	return buf;
}

/* "process 812 pcqueue  fork@0.001s by 811  exec@... ", wrapped at the terminal's width */
static void proc_header(const struct timeline *tl, const struct tl_proc *p, int width, FILE *out)
{
	int col = fprintf(out, "%*s%s %u %s", p->depth * 2, "", p->depth ? "`- process" : "process",
			  p->pid, p->comm[0] ? p->comm : "?");

	for (size_t i = 0; i < tl->nmarks; i++) {
		const struct tl_mark *mk = &tl->marks[i];
		double at = (mk->ts - tl->trace_t0) / 1e9;
		char item[160];

		if (mk->pid != p->pid)
			continue;
		if (mk->kind == TLM_FORK)
			snprintf(item, sizeof(item), "  fork@%.3fs by %u", at, mk->other);
		else if (mk->kind == TLM_EXEC)
			snprintf(item, sizeof(item), "  exec@%.3fs %.50s", at, tl_name(tl, mk->name));
		else if (mk->kind == TLM_EXIT && mk->other)
			snprintf(item, sizeof(item), "  exit@%.3fs %s %d", at,
				 WIFSIGNALED(mk->code) ? "signal" : "status",
				 WIFSIGNALED(mk->code) ? WTERMSIG(mk->code) : WEXITSTATUS(mk->code));
		else
			continue;
		if (col + (int)strlen(item) > width) {
			fprintf(out, "\n%*s", p->depth * 2 + 2, "");
			col = p->depth * 2 + 2;
		}
		col += fprintf(out, "%s", item);
	}
	fputc('\n', out);
}

/* Under the lane of a thread that never came back from its last wait: the process ended
 * under it (a daemon thread killed while waiting), which the lane alone does not say. */
static void ended_in_wait_line(const struct timeline *tl, const struct tl_lane *l, int label,
			       FILE *out)
{
	char by[48];

	fprintf(out, "%*s^ died inside its wait (%s%s%s): the process exited under it, ended by %s\n",
		label, "", wait_kind_name(l->end_kind), l->end_name >= 0 ? " on " : "",
		l->end_name >= 0 ? tl_name(tl, l->end_name) : "",
		lane_name(tl, l->end_by, by, sizeof(by)));
}

/* What is shown, of how much, and the legend of the lane glyphs, wrapped at width. */
static void text_head(const struct timeline *tl, const struct model *m, int width, FILE *out)
{
	char a[32];

	fprintf(out, "conlab timeline: %s shown (%.3f-%.3f s of %.3f s)\n%zu processes, %zu threads, "
		"%llu events\n", fmt_dur(a, sizeof(a), tl->t1 - tl->t0),
		(tl->t0 - tl->trace_t0) / 1e9, (tl->t1 - tl->trace_t0) / 1e9,
		(m->t_last - m->t_first) / 1e9, tl->nprocs, tl->nlanes,
		(unsigned long long)m->events);
	report_lost_line(m, out);
	fprintf(out, "legend:");
	for (int g = 0, col = 7; g < G_NGLYPHS; g++) {
		char item[40];
		int len = snprintf(item, sizeof(item), " %s %s", g == G_RUN ? "0-9" :
				   (char[2]){glyph_char[g], 0}, glyph_desc[g]);

		if (col + len + 1 > width) {
			fprintf(out, "\n       ");
			col = 7;
		}
		fprintf(out, "%s%s", item, g + 1 < G_NGLYPHS ? "," : "");
		col += len + 1;
	}
	fprintf(out, "\n        ! uncertain (a guess across lost events), blank: no data\n\n");
}

/* The time axis, then a lane a thread, under its process's header. */
static void text_lanes(const struct timeline *tl, const struct report_opts *o, int width,
		       FILE *out)
{
	int label = TL_TEXT_LABEL, ncell = width - label - 1;
	struct tl_cell *cells = xcalloc(ncell, sizeof(*cells));

	axis(tl, label, ncell, out);
	for (size_t p = 0; p < tl->nprocs; p++) {
		const struct tl_proc *pr = &tl->procs[p];

		if (!pr->nlanes)
			continue;
		proc_header(tl, pr, width, out);
		for (size_t i = pr->first_lane; i < pr->first_lane + pr->nlanes; i++) {
			const struct tl_lane *l = &tl->lanes[i];
			char lab[64];

			snprintf(lab, sizeof(lab), "%*s%.*s %u", pr->depth * 2 + 1, "",
				 label - 9 - pr->depth * 2, l->comm, l->tid);
			fprintf(out, "%-*.*s", label, label, lab);
			draw_lane(tl, l, cells, ncell, o, out);
			fputc('\n', out);
			if (l->ended_in_wait)
				ended_in_wait_line(tl, l, label, out);
		}
	}
	free(cells);
}

/* Who woke whom, through what: the top pairs. */
static void text_wakeups(const struct timeline *tl, int top, FILE *out)
{
	char e[48], f[48];
	size_t nw;
	struct tl_pair *w = tl_pairs(tl, &nw);

	fprintf(out, "\nwakeups: %zu by threads, %llu by the kernel (timer, signal, I/O)\n",
		tl->narrows, (unsigned long long)tl->kernel_wakeups);
	if (nw)
		fprintf(out, "  %7s  %-22s    %-22s %s\n", "COUNT", "WAKER", "WOKEN", "THROUGH");
	for (size_t i = 0; i < nw && (int)i < top; i++)
		fprintf(out, "  %7u  %-22s -> %-22s %s %s\n", w[i].count,
			lane_name(tl, w[i].waker, e, sizeof(e)),
			lane_name(tl, w[i].wakee, f, sizeof(f)), wait_kind_name(w[i].kind),
			tl_name(tl, w[i].name));
	if (nw > (size_t)top)
		fprintf(out, "  ... %zu more pairs (--top N)\n", nw - top);
	free(w);
}

/* A row a thread: its time by state, and the reason it waited longest on. */
static void text_threads(const struct timeline *tl, FILE *out)
{
	char a[32], b[32], c[32], d[32];

	fprintf(out, "\nper thread\n  %-16s %7s %8s %8s %8s %8s  %s\n", "THREAD", "TID", "ON-CPU",
		"RUNNABLE", "BLOCKED", "UNKNOWN", "MOST ON");
	for (size_t i = 0; i < tl->nlanes; i++) {
		const struct tl_lane *l = &tl->lanes[i];
		int k1 = -1;	/* the reason it waited longest on; JSON and HTML list them all */

		for (int k = 1; k < WK_NKINDS; k++)
			if (l->blocked_kind[k] && (k1 < 0 || l->blocked_kind[k] > l->blocked_kind[k1]))
				k1 = k;
		fprintf(out, "  %-16.16s %7u %8s %8s %8s %8s ", l->comm, l->tid,
			fmt_dur(a, sizeof(a), l->time_in[TH_RUNNING]),
			fmt_dur(b, sizeof(b), l->time_in[TH_RUNNABLE]),
			fmt_dur(c, sizeof(c), l->time_in[TH_BLOCKED]),
			fmt_dur(d, sizeof(d), l->time_in[TH_UNKNOWN]));
		if (k1 >= 0)
			fprintf(out, " %s %s", wait_kind_name(k1),
				fmt_dur(a, sizeof(a), l->blocked_kind[k1]));
		if (l->ended_in_wait)
			fprintf(out, "  (died inside its wait)");
		fputc('\n', out);
	}
}

/* The whole run: time by state, blocked time by reason, parallelism. */
static void text_totals(const struct timeline *tl, int width, FILE *out)
{
	char a[32], b[32], c[32], d[32], e[48];
	int col;

	fprintf(out, "\nrun: on-CPU %s, runnable %s, blocked %s,\n     unknown %s (%s of it from "
		"lost events)\n", fmt_dur(a, sizeof(a), tl->time_in[TH_RUNNING]),
		fmt_dur(b, sizeof(b), tl->time_in[TH_RUNNABLE]),
		fmt_dur(c, sizeof(c), tl->time_in[TH_BLOCKED]),
		fmt_dur(d, sizeof(d), tl->time_in[TH_UNKNOWN]), fmt_dur(e, sizeof(e), tl->lost_ns));
	col = fprintf(out, "blocked by reason:");
	for (int k = 1; k < WK_NKINDS; k++)
		if (tl->blocked_kind[k]) {
			if (col > width - 24) {
				fprintf(out, "\n   ");
				col = 3;
			}
			col += fprintf(out, " %s %s", wait_kind_name(k),
				       fmt_dur(a, sizeof(a), tl->blocked_kind[k]));
		}
	fprintf(out, "\nparallelism: average %.2f threads on a CPU, at most %u\n"
		"  share of time with n on a CPU:", tl_avg_par(tl), tl->max_par);
	for (uint32_t n = 0; n <= tl->max_par; n++) {
		double span = tl->t1 > tl->t0 ? (double)(tl->t1 - tl->t0) : 1;

		fprintf(out, " %u:%.0f%%", n, 100.0 * tl->par_time[n] / span);
	}
	fputc('\n', out);
}

int timeline_text_width(const struct report_opts *o)
{
	return o->width >= 40 ? o->width : 80;
}

int timeline_render_text(const struct timeline *tl, const struct model *m,
			 const struct report_opts *o, FILE *out)
{
	int width = timeline_text_width(o);

	text_head(tl, m, width, out);
	text_lanes(tl, o, width, out);
	text_wakeups(tl, o->top ? o->top : 15, out);
	text_threads(tl, out);
	text_totals(tl, width, out);
	if (tl->anomalies)
		fprintf(out, "note: %llu unexpected transitions in the model (events missing or out of "
			"order)\n", (unsigned long long)tl->anomalies);
	return 0;
}
