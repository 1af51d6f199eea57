/* report_summary.c — `conlab report summary`: where each thread's time went. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "lib/json.h"
#include "model/conns.h"
#include "model/model.h"
#include "model/procsyms.h"
#include "model/pystacks.h"
#include "render/report.h"
#include "lib/util.h"

/* The summary reads the blocked intervals (futex waits, messages between processes) and the
 * threads' totals; no event stream, no futex calls. */
void report_summary_keep(const struct report_opts *o, struct m_keep *k)
{
	report_keep_state(o, k);
	k->history = HIST_BLOCKED;
	k->message_wakeups_only = 1;
}

/* A futex address aggregated over all blocked intervals on it. */
struct fx_agg {
	uint64_t addr;		/* the futex word; for a wait of threading's Condition, the made-up
				 * pc of the Python line that waits (py_line) */
	uint8_t py_line;
	uint32_t holder;	/* a join's joined thread, when known */
	uint32_t pid;
	uint32_t waits;
	uint64_t total, max;
	uint32_t kinds[WK_NKINDS];
};

static int cmp_agg(const void *a, const void *b)
{
	const struct fx_agg *x = a, *y = b;

	return x->total < y->total ? 1 : x->total > y->total ? -1 : 0;
}

static int agg_kind(const struct fx_agg *a)
{
	int best = WK_FUTEX;

	for (int k = 0; k < WK_NKINDS; k++)
		if (a->kinds[k] > a->kinds[best])
			best = k;
	return best;
}

static struct fx_agg *aggregate_futexes(const struct model *m, size_t *n)
{
	struct idmap idx = {};
	struct fx_agg *v = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];

		for (size_t k = 0; k < t->niv; k++) {
			const struct m_interval *iv = &t->iv[k];
			uint64_t d = iv->end - iv->start, key, site, obj;
			int64_t at;

			if (iv->state != TH_BLOCKED || wait_kind_class(iv->w.kind) != BC_FUTEX)
				continue;
			/* a wait of threading's Condition sleeps on a waiter Lock of its own (a new
			 * one each time, malloc giving a thread the same address whatever the
			 * Condition): counted by the Python line that waits, as contention does */
			site = iv->w.py && iv->w.kind == WK_CONDVAR ?
				model_py_wait_site(m, iv->w.stack_id) : 0;
			obj = site ? site : iv->w.obj;
			/* an address is per process unless shared; key on both */
			key = obj * 31 + t->pid;
			at = idmap_get(&idx, key);
			if (at < 0) {
				GROW(v, cap, *n + 1);
				at = (*n)++;
				memset(&v[at], 0, sizeof(v[at]));
				v[at].addr = obj;
				v[at].py_line = site != 0;
				v[at].pid = t->pid;
				idmap_put(&idx, key, at);
			}
			if (iv->w.kind == WK_JOIN && iv->w.holder && !v[at].holder)
				v[at].holder = iv->w.holder;
			v[at].waits++;
			v[at].total += d;
			if (d > v[at].max)
				v[at].max = d;
			v[at].kinds[iv->w.kind]++;
		}
	}
	idmap_free(&idx);
	qsort(v, *n, sizeof(*v), cmp_agg);
	return v;
}

/* A futex's name: the global it is in, "fork_m[1]"; mutexes (40 bytes) by array element. */
/* A futex word's name: what the recorder read in a Python process (a Lock's, the GIL's parts),
 * else a global's symbol; NULL when neither. */
static const char *fx_name(const struct model *m, struct procsyms *ps, const struct fx_agg *a,
			   char *buf, size_t n)
{
	const char *py = a->py_line ? NULL : model_sync_name(m, a->pid, a->addr, NULL);
	int k = agg_kind(a);

	/* "Barrier._wait (threading.py:725)", as the timeline says */
	if (a->py_line && !model_py_site_name(m, a->addr, "", buf, n))
		return buf;
	if (k == WK_JOIN && a->holder) {	/* "join(worker-0 4242)", as contention says */
		snprintf(buf, n, "join(%s %u)", model_comm(m, a->holder, "?"), a->holder);
		return buf;
	}
	if (py) {
		snprintf(buf, n, "%s", py);
		return buf;
	}
	if (procsyms_data(ps, a->pid, a->addr, k == WK_MUTEX || k == WK_LOCK ? 40 : 0, buf, n))
		return NULL;
	return buf;
}

static const char *exit_str(char *buf, size_t n, const struct m_process *p)
{
	if (!p->exited || p->exit_code < 0)
		snprintf(buf, n, "-");
	else if (WIFSIGNALED(p->exit_code))
		snprintf(buf, n, "sig %d", WTERMSIG(p->exit_code));
	else
		snprintf(buf, n, "%d", WEXITSTATUS(p->exit_code));
	return buf;
}

static uint64_t off_cpu(const struct m_thread *t)
{
	return t->time_in[TH_BLOCKED];
}

static size_t threads_of(const struct model *m, uint32_t pid)
{
	size_t n = 0;

	for (size_t k = 0; k < m->nthreads; k++)
		n += m->threads[k].pid == pid;
	return n;
}

/* What a kernel tracer cannot see, said where it matters: a process that ran on one thread,
 * when it is a Python interpreter (coroutines, gevent, asyncio) or the traced program itself
 * (its parent not traced), not each helper a shell script or a pyenv shim runs on the way. */
static const char one_thread_note[] =
	"one kernel thread: any concurrency inside it (coroutines, green threads, an event loop's "
	"tasks) is scheduled in user space, where the kernel does not see it";

static int one_thread_matters(const struct model *m, const struct m_process *p)
{
	return threads_of(m, p->pid) == 1 &&
	       (model_is_python(m, p->pid) || model_process_root(m, p->pid) == p->pid);
}

/* Did the trace see this thread do anything (-a names every thread of the machine)? */
static int seen_active(const struct m_thread *t)
{
	return t->time_in[TH_RUNNING] || t->time_in[TH_RUNNABLE] || t->time_in[TH_BLOCKED] ||
	       t->switches || t->wakeups_received || t->exited || t->futex_waits;
}

static void text_thread(FILE *out, const struct m_thread *t)
{
	char a[16], b[16], c[16], d[5][16];

	fprintf(out, "    %-16s %7u %10s %10s %10s", t->comm[0] ? t->comm : "?", t->tid,
		fmt_dur(a, sizeof(a), t->time_in[TH_RUNNING]),
		fmt_dur(b, sizeof(b), t->time_in[TH_RUNNABLE]), fmt_dur(c, sizeof(c), off_cpu(t)));
	for (int k = 0; k < BC_NCLASSES; k++)
		fprintf(out, " %9s", t->blocked_in[k] ? fmt_dur(d[k], 16, t->blocked_in[k]) : "-");
	if (t->uncertain_ns)
		fprintf(out, "  (%s uncertain: events lost)", fmt_dur(a, sizeof(a), t->uncertain_ns));
	fputc('\n', out);
}

static int text(const struct model *m, const struct report_opts *o, FILE *out)
{
	char a[32], b[32];
	size_t nfx;
	struct fx_agg *fx = aggregate_futexes(m, &nfx);
	int top = o->top ? o->top : 10;
	struct procsyms ps;

	procsyms_init(&ps, m);

	fprintf(out, "conlab summary: %s traced, %zu processes, %zu threads, %llu events\n",
		fmt_dur(a, sizeof(a), m->t_last - m->t_first), m->nprocs, m->nthreads,
		(unsigned long long)m->events);
	report_lost_line(m, out);
	if (m->exit_status >= 0) {
		if (WIFSIGNALED(m->exit_status))
			fprintf(out, "command killed by signal %d\n", WTERMSIG(m->exit_status));
		else
			fprintf(out, "command exited with status %d\n", WEXITSTATUS(m->exit_status));
	}
	size_t quiet = 0;

	for (size_t i = 0; i < m->nprocs; i++) {
		const struct m_process *p = &m->procs[i];
		int any = 0;

		for (size_t k = 0; k < m->nthreads; k++)
			if (m->threads[k].pid == p->pid) {
				if (seen_active(&m->threads[k]))
					any = 1;
				else
					quiet++;
			}
		if (!any && !p->forks && !p->execs)
			continue;
		fprintf(out, "\nprocess %u (%s), parent %u, %u exec%s, %u fork%s, exit %s\n", p->pid,
			p->comm, p->ppid, p->execs, p->execs == 1 ? "" : "s", p->forks,
			p->forks == 1 ? "" : "s", exit_str(a, sizeof(a), p));
		if (p->cmdline)
			fprintf(out, "  command: %s\n", p->cmdline);
		if (one_thread_matters(m, p))
			fprintf(out, "  note: %s\n", one_thread_note);
		fprintf(out, "    %-16s %7s %10s %10s %10s %9s %9s %9s %9s %9s\n", "THREAD", "TID",
			"ON-CPU", "RUNNABLE", "OFF-CPU", "futex", "sleep", "io", "child", "other");
		for (size_t k = 0; k < m->nthreads; k++)
			if (m->threads[k].pid == p->pid && seen_active(&m->threads[k]))
				text_thread(out, &m->threads[k]);
	}
	if (quiet)
		fprintf(out, "\n(%zu thread%s with no event while traced not shown; --format json "
			"lists them)\n", quiet, quiet == 1 ? "" : "s");
	int orphans = 0;

	for (size_t k = 0; k < m->nthreads; k++)
		if (!model_process(m, m->threads[k].pid)) {
			if (!orphans++)
				fprintf(out, "\nthreads of unknown processes\n");
			text_thread(out, &m->threads[k]);
		}
	if (nfx) {
		/* NAME as wide as the longest shown (20 to 40): a Python line's name is long */
		size_t rows = nfx < (size_t)top ? nfx : (size_t)top;
		char (*nm)[96] = xcalloc(rows ? rows : 1, sizeof(*nm));
		int w = 20;

		for (size_t i = 0; i < rows; i++) {
			int len;

			if (!fx_name(m, &ps, &fx[i], nm[i], sizeof(nm[i])))
				snprintf(nm[i], sizeof(nm[i]), "-");
			len = (int)strlen(nm[i]);
			w = len > w ? (len < 40 ? len : 40) : w;
		}
		fprintf(out, "\ntop futex waits (by total wait)\n");
		fprintf(out, "  %-*s %-18s %7s %-10s %7s %10s %10s\n", w, "NAME", "ADDRESS", "PID",
			"KIND", "WAITS", "TOTAL", "MAX");
		for (size_t i = 0; i < rows; i++) {
			char addr[24] = "-";	/* a Python line has no futex address of its own */

			if (!fx[i].py_line)
				snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)fx[i].addr);
			fprintf(out, "  %-*.*s %-18s %7u %-10s %7u %10s %10s\n", w, w, nm[i], addr,
				fx[i].pid, wait_kind_name(agg_kind(&fx[i])), fx[i].waits,
				fmt_dur(a, sizeof(a), fx[i].total), fmt_dur(b, sizeof(b), fx[i].max));
		}
		free(nm);
	}
	conns_model_text(m, o->top ? o->top : 15, out);
	for (int k = 0; k < AN_NKINDS; k++)
		if (m->anomalies[k])
			fprintf(out, "note: %llu × %s (events missing or out of order%s)\n",
				(unsigned long long)m->anomalies[k], anomaly_name(k),
				k == AN_SWITCH_OUT_NOT_RUNNING ? "; the kernel sometimes resumes a "
				"preempted thread without a switch event, perf sees none either" : "");
	procsyms_free(&ps);
	free(fx);
	return 0;
}

static void json_thread(struct json *j, const struct model *m, const struct m_thread *t)
{
	json_obj_begin(j, NULL);
	json_kv_u64(j, "tid", t->tid);
	json_kv_str(j, "comm", t->comm);
	json_kv_u64(j, "on_cpu_ns", t->time_in[TH_RUNNING]);
	json_kv_u64(j, "runnable_ns", t->time_in[TH_RUNNABLE]);
	json_kv_u64(j, "off_cpu_ns", off_cpu(t));
	json_obj_begin(j, "blocked_ns");
	for (int k = 0; k < BC_NCLASSES; k++)
		json_kv_u64(j, block_class_name(k), t->blocked_in[k]);
	json_obj_end(j);
	json_kv_u64(j, "switches", t->switches);
	json_kv_u64(j, "preemptions", t->preemptions);
	json_kv_u64(j, "wakeups", t->wakeups_received);
	if (m->futex_calls) {	/* recorded with --futex-calls */
		json_kv_u64(j, "futex_wait_calls", t->futex_waits);
		json_kv_u64(j, "futex_wake_calls", t->futex_wakes);
	}
	json_kv_bool(j, "exited", t->exited);
	json_kv_u64(j, "uncertain_ns", t->uncertain_ns);
	json_obj_end(j);
}

static int json(const struct model *m, FILE *out)
{
	struct json j;
	size_t nfx;
	struct fx_agg *fx = aggregate_futexes(m, &nfx);
	struct procsyms ps;
	char nm[96];

	procsyms_init(&ps, m);
	json_init(&j, out, 1);
	json_obj_begin(&j, NULL);
	json_kv_u64(&j, "duration_ns", m->t_last - m->t_first);
	json_kv_u64(&j, "events", m->events);
	report_json_lost(m, &j);
	if (m->exit_status >= 0)
		json_kv_i64(&j, "exit_status", m->exit_status);
	else
		json_kv_null(&j, "exit_status");
	json_obj_begin(&j, "anomalies");
	json_kv_u64(&j, "switch_out_not_running", m->anomalies[AN_SWITCH_OUT_NOT_RUNNING]);
	json_kv_u64(&j, "switch_in_blocked", m->anomalies[AN_SWITCH_IN_BLOCKED]);
	json_kv_u64(&j, "switch_in_running", m->anomalies[AN_SWITCH_IN_RUNNING]);
	json_obj_end(&j);
	json_arr_begin(&j, "processes");
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct m_process *p = &m->procs[i];

		json_obj_begin(&j, NULL);
		json_kv_u64(&j, "pid", p->pid);
		json_kv_u64(&j, "ppid", p->ppid);
		json_kv_str(&j, "comm", p->comm);
		json_kv_str(&j, "cmdline", p->cmdline);
		json_kv_str(&j, "exe", p->exe);
		json_kv_u64(&j, "execs", p->execs);
		json_kv_u64(&j, "forks", p->forks);
		json_kv_u64(&j, "threads_created", p->threads_created);
		json_kv_bool(&j, "exited", p->exited);
		json_kv_u64(&j, "kernel_threads", threads_of(m, p->pid));
		if (one_thread_matters(m, p))
			json_kv_str(&j, "note", one_thread_note);
		if (p->exited && p->exit_code >= 0)
			json_kv_i64(&j, "exit_code", WIFEXITED(p->exit_code) ?
				    WEXITSTATUS(p->exit_code) : 128 + WTERMSIG(p->exit_code));
		else
			json_kv_null(&j, "exit_code");
		json_arr_begin(&j, "threads");
		for (size_t k = 0; k < m->nthreads; k++)
			if (m->threads[k].pid == p->pid)
				json_thread(&j, m, &m->threads[k]);
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_arr_begin(&j, "futexes");
	for (size_t i = 0; i < nfx; i++) {
		json_obj_begin(&j, NULL);
		if (fx[i].py_line)
			json_kv_null(&j, "addr");
		else
			json_kv_hex(&j, "addr", fx[i].addr);
		json_kv_str(&j, "name", fx_name(m, &ps, &fx[i], nm, sizeof(nm)));
		json_kv_u64(&j, "pid", fx[i].pid);
		json_kv_str(&j, "kind", wait_kind_name(agg_kind(&fx[i])));
		json_kv_u64(&j, "waits", fx[i].waits);
		json_kv_u64(&j, "wait_ns_total", fx[i].total);
		json_kv_u64(&j, "wait_ns_max", fx[i].max);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	conns_model_json(m, &j);
	json_obj_end(&j);
	json_end(&j);
	procsyms_free(&ps);
	free(fx);
	return 0;
}

int report_summary(const struct model *m, const struct report_opts *o, FILE *out)
{
	return o->format == FMT_JSON ? json(m, out) : text(m, o, out);
}
