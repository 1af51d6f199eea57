/*
 * report_io.c — `conlab report io`: every event loop thread, idle vs busy, the busy gaps and
 * what blocked inside them, the loop's timers and their lag, the fds it touches.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "analysis/loops.h"
#include "model/model.h"
#include "model/pystacks.h"
#include "model/procsyms.h"
#include "render/log2hist.h"
#include "render/report.h"
#include "symbols/symbolize.h"
#include "lib/syscall_table.h"
#include "lib/util.h"

struct io_ctx {
	const struct model *m;
	const struct report_opts *o;
	struct loops L;
	struct procsyms syms;	/* one offline symbolizer per process, made on first use */
};

static struct symbolizer *symbolizer_for(struct io_ctx *c, uint32_t pid)
{
	return procsyms_get(&c->syms, pid);
}

static int in_libc(const struct sym_code *sc)
{
	return sym_system_module(sc->module);
}

static const char *fmt_site(const struct sym_code *sc, uint64_t pc, char *buf, size_t n)
{
	if (sc->file && sc->line) {
		const char *b = strrchr(sc->file, '/');

		snprintf(buf, n, "%s:%d (%s)", b ? b + 1 : sc->file, sc->line, sc->func ? sc->func : "??");
	} else if (sc->func) {
		snprintf(buf, n, "%s+0x%" PRIx64 " (%s)", sc->func, sc->off,
			 sc->module ? sc->module : "?");
	} else if (sc->module) {
		snprintf(buf, n, "%s@0x%" PRIx64, sc->module, pc);
	} else {
		snprintf(buf, n, "0x%" PRIx64, pc);
	}
	return buf;
}

/*
 * Where a blocking call was made: the first frame of its user stack outside the C library
 * (the libc wrapper says only "clock_nanosleep"), else the recorded return address.
 * "slow_sleep (epoll_server.c:74)", "time_sleep+0x5c (python3.11)", or "?".
 */
static const char *site(struct io_ctx *c, uint32_t pid, const struct m_wait *w, char *buf,
			size_t n)
{
	struct symbolizer *s = symbolizer_for(c, pid);
	const struct m_stack *st = w->stack_id >= 0 ? model_stack(c->m, w->stack_id) : NULL;
	struct sym_code sc, leaf = {};
	uint64_t leaf_pc = 0;

	/* a Python stack (model/pystacks.h): the innermost Python frame made the call, e.g. the
	 * coroutine that blocked the event loop */
	for (uint32_t i = 0; s && st && i < st->n; i++)
		if (model_py_pc(c->m, st->ips[i]) && !symbolizer__code(s, st->ips[i], 0, &sc))
			return fmt_site(&sc, st->ips[i], buf, n);
	for (uint32_t i = 0; s && st && i < st->n; i++) {
		if (!st->ips[i] || symbolizer__code(s, st->ips[i], i ? SYM_RETADDR : 0, &sc))
			continue;
		if (!in_libc(&sc))
			return fmt_site(&sc, st->ips[i], buf, n);
		if (!leaf_pc) {
			leaf = sc;
			leaf_pc = st->ips[i];
		}
	}
	if (w->ret_addr && s && !symbolizer__code(s, w->ret_addr, SYM_RETADDR, &sc) &&
	    !in_libc(&sc))
		return fmt_site(&sc, w->ret_addr, buf, n);
	if (leaf_pc) {
		/* the C library's wrapper only: the caller's frame is lost without frame pointers */
		char tmp[160];

		snprintf(buf, n, "%s, caller unknown", fmt_site(&leaf, leaf_pc, tmp, sizeof(tmp)));
		return buf;
	}
	if (!w->ret_addr) {
		snprintf(buf, n, "?");
		return buf;
	}
	if (!s || symbolizer__code(s, w->ret_addr, SYM_RETADDR, &sc))
		memset(&sc, 0, sizeof(sc));
	return fmt_site(&sc, w->ret_addr, buf, n);
}

/* "clock_nanosleep", "read on fd 7 (pipe:[123] from producer (pid 42))", "futex (mutex 0x..)",
 * "futex (condvar GIL)":
 * an fd is named by what it was at ts (the recorder's /proc scans) */
static const char *what(const struct model *m, uint32_t pid, uint64_t ts, const struct m_wait *w,
			char *buf, size_t n)
{
	const char *sc = w->nr >= 0 ? syscall_name(w->nr) : NULL;
	char nrbuf[24], fdd[160];

	if (!sc) {
		snprintf(nrbuf, sizeof(nrbuf), w->nr >= 0 ? "syscall %d" : "a kernel wait", w->nr);
		sc = nrbuf;
	}
	switch (w->kind) {
	case WK_READ: case WK_WRITE: case WK_ACCEPT: case WK_POLL:
		if (fd_describe(m, pid, (int32_t)w->obj, ts, fdd, sizeof(fdd)))
			snprintf(buf, n, "%s on fd %" PRId64 " (%s)", sc, (int64_t)w->obj, fdd);
		else
			snprintf(buf, n, "%s on fd %" PRId64, sc, (int64_t)w->obj);
		break;
	case WK_MUTEX: case WK_LOCK: case WK_RWLOCK: case WK_CONDVAR: case WK_SEMAPHORE:
	case WK_JOIN: {
		/* a Python process's own names first: "GIL", "acct.lock" */
		const char *py = model_sync_name(m, pid, w->obj, NULL);

		if (py)
			snprintf(buf, n, "%s (%s %s)", sc, wait_kind_name(w->kind), py);
		else
			snprintf(buf, n, "%s (%s 0x%" PRIx64 ")", sc, wait_kind_name(w->kind), w->obj);
		break;
	}
	default:
		snprintf(buf, n, "%s", sc);
		break;
	}
	return buf;
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * a / b : 0.0;
}

static const struct log2hist_style gap_hist = {"    ", 7, LH_EMPTY_FOLD, 0};

static const char *role_text(const struct loop_fd *f, const struct model *m, char *buf, size_t n)
{
	const struct m_thread *t;
	const char *sc;

	switch (f->role) {
	case LFD_WAIT:
		snprintf(buf, n, "the loop waits on it (%u waits)", f->other);
		break;
	case LFD_BLOCKING: {
		char a[16], b[16];

		snprintf(buf, n, "blocking calls in busy gaps: %u read%s (%s), %u write%s (%s)%s",
			 f->reads, f->reads == 1 ? "" : "s", fmt_dur(a, sizeof(a), f->read_ns),
			 f->writes, f->writes == 1 ? "" : "s", fmt_dur(b, sizeof(b), f->write_ns),
			 f->other ? ", accepts" : "");
		break;
	}
	default:
		t = f->waker ? model_thread(m, f->waker) : NULL;
		sc = f->waker_nr >= 0 ? syscall_name(f->waker_nr) : NULL;
		if (!f->waker)
			snprintf(buf, n, "woke the loop %u× from interrupt context or an untraced "
				 "task (timer, network, kernel thread)", f->other);
		else
			snprintf(buf, n, "woke the loop %u×: %s (tid %u) in %s", f->other,
				 t && t->comm[0] ? t->comm : "?", f->waker,
				 sc ? sc : f->waker_nr >= 0 ? "a syscall" : "no syscall");
		break;
	}
	return buf;
}

/* Every fd the recorder saw in the process (closed or reused ones once per description). */
static void text_proc_fds(const struct model *m, uint32_t pid, int max, FILE *out)
{
	const struct fdtable *t = &m->fdt;
	int shown = 0, more = 0;
	char d[160];

	for (size_t i = 0; i < t->n; i++) {
		const struct m_fd *f = &t->v[i];

		if (f->pid != pid || f->kind == FDK_CLOSED)
			continue;
		/* sorted by fd then time: skip a record that repeats the previous description */
		if (i && t->v[i - 1].pid == pid && t->v[i - 1].fd == f->fd &&
		    !strcmp(t->v[i - 1].desc, f->desc))
			continue;
		if (!shown && !more)
			fprintf(out, "  fds of process %u (from /proc while recording):\n", pid);
		if (shown >= max) {
			more++;
			continue;
		}
		fprintf(out, "    fd %-7d %-8s %s\n", f->fd, fd_kind_name(f->kind),
			fd_describe(m, pid, f->fd, f->ts, d, sizeof(d)) ? d : f->desc);
		shown++;
	}
	if (more)
		fprintf(out, "    ... %d more\n", more);
	if (!shown && !more)
		fprintf(out, "  fds of process %u: not recorded (a trace without fd records)\n", pid);
}

static void text_loop(struct io_ctx *c, const struct loop *l, FILE *out)
{
	const struct model *m = c->m;
	uint64_t span = l->last - l->first;
	char a[32], b[32], d[32], e[160], s[256];
	int top = c->o->top ? c->o->top : 5;

	fprintf(out, "\nloop thread %s (tid %u, pid %u): %s on fd %" PRIu64 ", %" PRIu64
		" waits, %" PRIu64 " events%s\n", l->comm[0] ? l->comm : "?", l->tid, l->pid,
		wait_sys_name(l->sys), l->wait_fd, l->ncalls, l->events,
		l->uncertain ? " (overlaps lost events: uncertain)" : "");
	fprintf(out, "  idle %s (%.1f%%), busy %s (%.1f%%) over %s\n",
		fmt_dur(a, sizeof(a), l->idle), pct(l->idle, span), fmt_dur(b, sizeof(b), l->busy),
		pct(l->busy, span), fmt_dur(d, sizeof(d), span));
	if (!l->ngaps)
		return;
	fprintf(out, "  busy gaps: %" PRIu64 ", p50 %s, p99 %s, max %s\n", l->ngaps,
		fmt_dur(a, sizeof(a), l->gap_p50), fmt_dur(b, sizeof(b), l->gap_p99),
		fmt_dur(d, sizeof(d), l->gap_max));
	fprintf(out, "  in the gaps: on CPU %s, runnable %s, blocked %s\n",
		fmt_dur(a, sizeof(a), l->gap_on_cpu), fmt_dur(b, sizeof(b), l->gap_runnable),
		fmt_dur(d, sizeof(d), l->gap_blocked));
	log2hist_text(out, l->hist, LOOP_HIST, &gap_hist);
	fprintf(out, "  longest busy gaps:\n");
	for (size_t i = 0; i < l->ntop && (int)i < top; i++) {
		const struct loop_gap *g = &l->top[i];

		fprintf(out, "    at %8.3f s  %9s: on CPU %s, runnable %s, blocked %s",
			(g->start - m->t_first) / 1e9, fmt_dur(a, sizeof(a), g->end - g->start),
			fmt_dur(b, sizeof(b), g->on_cpu), fmt_dur(d, sizeof(d), g->runnable),
			fmt_dur(e, sizeof(e), g->blocked));
		if (g->w.kind != WK_NONE && g->w_dur) {
			char w[256];

			fprintf(out, "; longest: %s in %s at %s", fmt_dur(a, sizeof(a), g->w_dur),
				what(m, l->pid, g->start, &g->w, w, sizeof(w)),
				site(c, l->pid, &g->w, s, sizeof(s)));
		}
		fprintf(out, "%s\n", g->uncertain ? " (uncertain)" : "");
	}
	int any = 0;

	for (size_t i = 0; i < l->nblocks; i++) {
		const struct loop_block *bl = &l->blocks[i];
		char w[256];

		if (bl->max < c->L.o.block_ns)
			continue;
		if (!any++)
			fprintf(out, "  blocking calls on the loop thread (at least %s):\n",
				fmt_dur(a, sizeof(a), c->L.o.block_ns));
		fprintf(out, "    loop thread blocked %s in %s at %s", fmt_dur(a, sizeof(a), bl->max),
			what(m, l->pid, bl->max_at, &bl->w, w, sizeof(w)),
			site(c, l->pid, &bl->w, s, sizeof(s)));
		if (bl->count > 1)
			fprintf(out, " (%u times, %s in all)", bl->count,
				fmt_dur(b, sizeof(b), bl->total));
		fputc('\n', out);
	}
	if (!any)
		fprintf(out, "  no blocking call of %s or more on the loop thread\n",
			fmt_dur(a, sizeof(a), c->L.o.block_ns));

	fprintf(out, "  timeouts asked (the loop's timer schedule):");
	for (size_t i = 0; i < l->ntimeouts; i++) {
		if (l->timeouts[i].us < 0)
			fprintf(out, " none×%" PRIu64, l->timeouts[i].count);
		else
			fprintf(out, " %s×%" PRIu64, fmt_dur(a, sizeof(a), l->timeouts[i].us * 1000ull),
				l->timeouts[i].count);
	}
	if (l->timeouts_other)
		fprintf(out, " other×%" PRIu64, l->timeouts_other);
	fputc('\n', out);
	if (l->zero_timeout_calls)
		fprintf(out, "    %" PRIu64 " waits with timeout 0: work was already queued\n",
			l->zero_timeout_calls);
	if (l->lag_n)
		fprintf(out, "  timer lag (deadline = wait entry + timeout, to the next return "
			"from a wait): %" PRIu64 " deadlines, avg %s, max %s at %.3f s\n", l->lag_n,
			fmt_dur(a, sizeof(a), l->lag_sum / l->lag_n), fmt_dur(b, sizeof(b), l->lag_max),
			(l->lag_max_at - m->t_first) / 1e9);
	else
		fprintf(out, "  timer lag: no finite timeouts, so no deadline to measure against "
			"(timers are fds, e.g. timerfd, or there are none)\n");
	if (l->nfds) {
		fprintf(out, "  fds it used (roles from the syscalls seen):\n");
		for (size_t i = 0; i < l->nfds; i++) {
			const struct loop_fd *f = &l->fds[i];
			char d[160];

			if (f->role == LFD_WAKER && f->fd == (uint64_t)-1) {
				fprintf(out, "    %-10s %s\n", "-", role_text(f, m, s, sizeof(s)));
				continue;
			}
			fprintf(out, "    fd %-7" PRIu64 " %s%s\n", f->fd, role_text(f, m, s, sizeof(s)),
				f->role == LFD_WAKER && f->pid != l->pid ? " (another process)" : "");
			if (fd_describe(m, f->pid, (int32_t)f->fd, l->first, d, sizeof(d)))
				fprintf(out, "               is %s\n", d);
		}
	}
	text_proc_fds(m, l->pid, top * 4, out);
}

static int text(struct io_ctx *c, FILE *out)
{
	const struct model *m = c->m;
	char a[32];

	fprintf(out, "conlab io: %s traced, %" PRIu64 " loop wait calls, %zu loop thread%s\n",
		fmt_dur(a, sizeof(a), m->t_last - m->t_first), c->L.calls, c->L.n,
		c->L.n == 1 ? "" : "s");
	report_lost_line(m, out);
	if (m->lost[LOST_WAITMAP])
		fprintf(out, "loop wait calls not recorded (in-flight map full): %" PRIu64 "\n",
			m->lost[LOST_WAITMAP]);
	if (!c->L.n) {
		fprintf(out, "no event loop found: no thread called epoll_wait/poll/select/"
			"io_uring_enter %zu times or more\n", c->L.o.min_calls);
		return 0;
	}
	for (size_t i = 0; i < c->L.n; i++)
		text_loop(c, &c->L.v[i], out);
	return 0;
}

/* "type" and "desc" of an fd, null when the recording has no record of it */
static void json_fd_type(const struct model *m, struct json *j, uint32_t pid, uint64_t fd,
			 uint64_t ts)
{
	const struct m_fd *f = fd == (uint64_t)-1 ? NULL : fdtable_at(&m->fdt, pid, (int32_t)fd, ts);
	char d[160];

	json_kv_str(j, "type", f ? fd_kind_name(f->kind) : NULL);
	json_kv_str(j, "desc", f && fd_describe(m, pid, (int32_t)fd, ts, d, sizeof(d)) ? d : NULL);
}

static void json_wait(struct io_ctx *c, struct json *j, uint32_t pid, uint64_t ts,
		      const struct m_wait *w)
{
	char s[256];
	const char *sc = w->nr >= 0 ? syscall_name(w->nr) : NULL;

	json_kv_str(j, "syscall", sc);
	json_kv_i64(j, "nr", w->nr);
	json_kv_str(j, "kind", wait_kind_name(w->kind));
	json_kv_hex(j, "obj", w->obj);
	json_kv_hex(j, "ret_addr", w->ret_addr);
	json_kv_str(j, "site", site(c, pid, w, s, sizeof(s)));
	if (w->kind == WK_READ || w->kind == WK_WRITE || w->kind == WK_ACCEPT || w->kind == WK_POLL)
		json_fd_type(c->m, j, pid, (int32_t)w->obj, ts);
}

static void json_loop(struct io_ctx *c, struct json *j, const struct loop *l)
{
	json_obj_begin(j, NULL);
	json_kv_u64(j, "tid", l->tid);
	json_kv_u64(j, "pid", l->pid);
	json_kv_str(j, "comm", l->comm);
	json_kv_str(j, "wait_syscall", wait_sys_name(l->sys));
	json_kv_u64(j, "wait_fd", l->wait_fd);
	json_kv_u64(j, "waits", l->ncalls);
	json_kv_u64(j, "events", l->events);
	json_kv_u64(j, "span_ns", l->last - l->first);
	json_kv_u64(j, "idle_ns", l->idle);
	json_kv_u64(j, "busy_ns", l->busy);
	json_kv_u64(j, "timed_out", l->timed_out);
	json_kv_u64(j, "zero_timeout_waits", l->zero_timeout_calls);
	json_kv_u64(j, "errors", l->errors);
	json_kv_bool(j, "uncertain", l->uncertain);
	json_obj_begin(j, "gaps");
	json_kv_u64(j, "count", l->ngaps);
	json_kv_u64(j, "p50_ns", l->gap_p50);
	json_kv_u64(j, "p99_ns", l->gap_p99);
	json_kv_u64(j, "max_ns", l->gap_max);
	json_kv_u64(j, "on_cpu_ns", l->gap_on_cpu);
	json_kv_u64(j, "runnable_ns", l->gap_runnable);
	json_kv_u64(j, "blocked_ns", l->gap_blocked);
	json_arr_begin(j, "log2_hist");
	for (int i = 0; i < LOOP_HIST; i++)
		json_u64(j, l->hist[i]);
	json_arr_end(j);
	json_arr_begin(j, "longest");
	for (size_t i = 0; i < l->ntop; i++) {
		const struct loop_gap *g = &l->top[i];

		json_obj_begin(j, NULL);
		json_kv_u64(j, "start_ns", g->start - c->m->t_first);
		json_kv_u64(j, "dur_ns", g->end - g->start);
		json_kv_u64(j, "on_cpu_ns", g->on_cpu);
		json_kv_u64(j, "runnable_ns", g->runnable);
		json_kv_u64(j, "blocked_ns", g->blocked);
		json_kv_bool(j, "uncertain", g->uncertain);
		if (g->w.kind != WK_NONE && g->w_dur) {
			json_obj_begin(j, "longest_block");
			json_kv_u64(j, "dur_ns", g->w_dur);
			json_wait(c, j, l->pid, g->start, &g->w);
			json_obj_end(j);
		} else {
			json_kv_null(j, "longest_block");
		}
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
	json_arr_begin(j, "blocking_calls");
	for (size_t i = 0; i < l->nblocks; i++) {
		const struct loop_block *b = &l->blocks[i];

		if (b->max < c->L.o.block_ns)
			continue;
		json_obj_begin(j, NULL);
		json_kv_u64(j, "count", b->count);
		json_kv_u64(j, "total_ns", b->total);
		json_kv_u64(j, "max_ns", b->max);
		json_kv_u64(j, "max_at_ns", b->max_at - c->m->t_first);
		json_wait(c, j, l->pid, b->max_at, &b->w);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "timeouts");
	for (size_t i = 0; i < l->ntimeouts; i++) {
		json_obj_begin(j, NULL);
		json_kv_i64(j, "timeout_us", l->timeouts[i].us);
		json_kv_u64(j, "count", l->timeouts[i].count);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_begin(j, "timer_lag");
	json_kv_u64(j, "deadlines", l->lag_n);
	json_kv_u64(j, "avg_ns", l->lag_n ? l->lag_sum / l->lag_n : 0);
	json_kv_u64(j, "max_ns", l->lag_max);
	json_obj_end(j);
	json_arr_begin(j, "fds");
	for (size_t i = 0; i < l->nfds; i++) {
		const struct loop_fd *f = &l->fds[i];
		static const char *roles[] = {"wait", "blocking", "waker"};

		json_obj_begin(j, NULL);
		if (f->fd == (uint64_t)-1)
			json_kv_null(j, "fd");
		else
			json_kv_u64(j, "fd", f->fd);
		json_kv_u64(j, "pid", f->pid);
		json_kv_str(j, "role", roles[f->role]);
		json_kv_u64(j, "reads", f->reads);
		json_kv_u64(j, "writes", f->writes);
		json_kv_u64(j, "read_ns", f->read_ns);
		json_kv_u64(j, "write_ns", f->write_ns);
		json_kv_u64(j, "count", f->other);
		json_fd_type(c->m, j, f->pid, f->fd, l->first);
		if (f->role == LFD_WAKER) {
			json_kv_u64(j, "waker_tid", f->waker);
			json_kv_str(j, "waker_syscall",
				    f->waker_nr >= 0 ? syscall_name(f->waker_nr) : NULL);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "process_fds");
	for (size_t i = 0; i < c->m->fdt.n; i++) {
		const struct m_fd *f = &c->m->fdt.v[i];
		char d[160];

		if (f->pid != l->pid || f->kind == FDK_CLOSED)
			continue;
		json_obj_begin(j, NULL);
		json_kv_u64(j, "fd", f->fd);
		json_kv_u64(j, "seen_ns", f->ts > c->m->t_first ? f->ts - c->m->t_first : 0);
		json_kv_str(j, "type", fd_kind_name(f->kind));
		json_kv_u64(j, "inode", f->ino);
		json_kv_bool(j, "listening", !!(f->flags & FDF_LISTEN));
		json_kv_str(j, "desc", fd_describe(c->m, l->pid, f->fd, f->ts, d, sizeof(d)) ? d
											 : f->desc);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static int json(struct io_ctx *c, FILE *out)
{
	struct json j;

	json_init(&j, out, 1);
	json_obj_begin(&j, NULL);
	json_kv_u64(&j, "duration_ns", c->m->t_last - c->m->t_first);
	report_json_lost(c->m, &j);
	json_kv_u64(&j, "waitmap_lost", c->m->lost[LOST_WAITMAP]);
	json_kv_u64(&j, "wait_calls", c->L.calls);
	json_kv_u64(&j, "block_threshold_ns", c->L.o.block_ns);
	json_arr_begin(&j, "loops");
	for (size_t i = 0; i < c->L.n; i++)
		json_loop(c, &j, &c->L.v[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
	return 0;
}

int report_io(const struct model *m, const struct report_opts *o, FILE *out)
{
	struct io_ctx c = {.m = m, .o = o};
	int ret;

	procsyms_init(&c.syms, m);
	loops_analyze(&c.L, m, m->rec.waitcall, m->rec.nwaitcall, NULL);
	ret = o->format == FMT_JSON ? json(&c, out) : text(&c, out);
	procsyms_free(&c.syms);
	loops_free(&c.L);
	return ret;
}
