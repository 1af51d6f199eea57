// SPDX-License-Identifier: GPL-2.0
/*
 * stackwalk.c — every thread's stack, read around the threads rather than by stopping them.
 *
 * Reading, unwinding and reading again: the second reading proves the first still holds (see
 * taskregs_same_wait), so a stack is reported only when the thread did not run while its
 * memory was read. A thread that ran is unwound again from its new registers, up to
 * STACKWALK_ROUNDS readings; one that keeps running is live and reported so.
 *
 * Running threads are stopped only on request, with PTRACE_SEIZE + PTRACE_INTERRUPT rather
 * than PTRACE_ATTACH: a seized thread gets no signal, so a walker killed by SIGKILL mid-stop
 * leaves no SIGSTOP queued, and the kernel's detach lets the thread run on.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "doctor/stackwalk.h"
#include "doctor/unwind.h"
#include "lib/util.h"

struct pending {
	struct task_regs r;	/* the reading being unwound */
	uint64_t *pcs;
	uint8_t *ret;
	size_t n;
	const char *err;
	int done;
};

struct walker {
	const struct stackwalk_opts *o;
	stackwalk_cb cb;
	void *arg;
	struct stackwalk_stats *st;
	struct unwinder *u;
	pid_t pid;
	size_t max;
	struct task_regs *live;	/* threads found running, or that kept moving */
	size_t nlive, cap_live;
};

static int cmp_tid(const void *a, const void *b)
{
	const struct task_regs *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static const struct task_regs *find(const struct task_regs *v, size_t n, pid_t tid)
{
	struct task_regs key = { .tid = tid };

	return bsearch(&key, v, n, sizeof(*v), cmp_tid);
}

static void report(struct walker *w, const struct stackwalk_thread *t)
{
	struct stackwalk_stats *st = w->st;

	st->threads++;
	switch (t->status) {
	case SW_ASLEEP: st->asleep++; break;
	case SW_STOPPED: st->stopped++; break;
	case SW_RUNNING: st->running++; break;
	case SW_MOVED: st->moved++; break;
	case SW_GONE: break;
	}
	if ((t->status == SW_ASLEEP || t->status == SW_STOPPED) && t->err)
		st->failed++;
	w->cb(t, w->arg);
}

static void report_plain(struct walker *w, pid_t tid, enum stackwalk_status s, const char *err)
{
	struct stackwalk_thread t = { .tid = tid, .status = s, .err = err };

	report(w, &t);
}

static void add_live(struct walker *w, const struct task_regs *r)
{
	GROW(w->live, w->cap_live, w->nlive + 1);
	w->live[w->nlive++] = *r;
}

static int read_sorted(struct walker *w, struct task_regs **v, size_t *n)
{
	int err = taskregs_read(w->o->regs, w->pid, v, n);

	if (*n)
		qsort(*v, *n, sizeof(**v), cmp_tid);
	return err;
}

/* One round: unwind every pending thread, read the registers again, settle who held still. */
static size_t round_once(struct walker *w, struct pending *p, size_t np)
{
	struct task_regs *now = NULL;
	size_t nnow = 0, left = 0;

	for (size_t i = 0; i < np; i++)
		if (!p[i].done)
			p[i].n = unwinder_walk(w->u, &p[i].r, p[i].pcs, p[i].ret, w->max, &p[i].err);
	read_sorted(w, &now, &nnow);
	for (size_t i = 0; i < np; i++) {
		const struct task_regs *b;

		if (p[i].done)
			continue;
		b = find(now, nnow, p[i].r.tid);
		if (!b) {
			p[i].done = 1;
			report_plain(w, p[i].r.tid, SW_GONE, "exited while it was read");
		} else if (taskregs_same_wait(&p[i].r, b)) {
			struct stackwalk_thread t = {
				.tid = b->tid, .status = SW_ASLEEP, .regs = &p[i].r, .pcs = p[i].pcs,
				.retaddr = p[i].ret, .n = p[i].n, .err = p[i].err,
			};

			p[i].done = 1;
			report(w, &t);
		} else if (taskregs_asleep(b)) {
			/* it ran and sleeps again: its new wait is read next round */
			p[i].r = *b;
			w->st->rereads++;
			left++;
		} else {
			p[i].done = 1;
			add_live(w, b);
		}
	}
	free(now);
	return left;
}

static void walk_asleep(struct walker *w, const struct task_regs *first, size_t n)
{
	struct pending *p = xcalloc(n ? n : 1, sizeof(*p));
	size_t np = 0, left;

	for (size_t i = 0; i < n; i++) {
		if (first[i].state == 'Z' || first[i].state == 'X') {
			report_plain(w, first[i].tid, SW_GONE, "exited");
		} else if (!taskregs_asleep(&first[i])) {
			add_live(w, &first[i]);
		} else {
			p[np].r = first[i];
			p[np].pcs = xmalloc(w->max * sizeof(*p[np].pcs));
			p[np].ret = xmalloc(w->max);
			np++;
		}
	}
	left = np;
	for (int round = 0; round < STACKWALK_ROUNDS && left; round++)
		left = round_once(w, p, np);
	for (size_t i = 0; i < np; i++) {
		if (!p[i].done)
			add_live(w, &p[i].r);	/* it moved at every reading: live */
		free(p[i].pcs);
		free(p[i].ret);
	}
	free(p);
}

/* ---- stopping running threads (stop_running) ---------------------------------------------- */

/*
 * Stop tid without a signal. 0 with *sig = the signal it was about to take when it stopped
 * there (given back at the detach), or -errno (not permitted, gone).
 */
static int seize(pid_t tid, int *sig)
{
	int status, err;

	*sig = 0;
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL))
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL)) {
		err = errno;
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return -err;
	}
	while (waitpid(tid, &status, __WALL) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFSTOPPED(status))
		return -ESRCH;	/* it exited meanwhile */
	/* PTRACE_EVENT_STOP: our interrupt, or a group stop; else a signal-delivery stop */
	if (status >> 16 != PTRACE_EVENT_STOP)
		*sig = WSTOPSIG(status);
	return 0;
}

static int get_regs(pid_t tid, struct task_regs *t)
{
	struct user_regs_struct u;

	if (ptrace(PTRACE_GETREGS, tid, NULL, &u))
		return -errno;
	/* DWARF order (taskregs.h) */
	const unsigned long long r[TREGS_NREGS] = {
		u.rax, u.rdx, u.rcx, u.rbx, u.rsi, u.rdi, u.rbp, u.rsp, u.r8,
		u.r9, u.r10, u.r11, u.r12, u.r13, u.r14, u.r15, u.rip,
	};

	for (int i = 0; i < TREGS_NREGS; i++)
		t->regs[i] = r[i];
	t->regs_ok = TREGS_ALL;
	t->nr = (long)u.orig_rax;
	return 0;
}

static int term_pending(const sigset_t *term)
{
	sigset_t pending;

	if (sigpending(&pending))
		return 0;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(term, sig) && sigismember(&pending, sig))
			return 1;
	return 0;
}

static void stop_one(struct walker *w, struct task_regs *t, uint64_t *pcs, uint8_t *ret)
{
	struct stackwalk_thread r = { .tid = t->tid, .status = SW_STOPPED, .regs = t,
				      .pcs = pcs, .retaddr = ret };
	uint64_t t0 = now_mono_ns();
	int rc, sig;

	rc = seize(t->tid, &sig);
	if (rc) {
		r.err = strerror(-rc);
	} else {
		rc = get_regs(t->tid, t);
		if (rc)
			r.err = strerror(-rc);
		else
			r.n = unwinder_walk(w->u, t, pcs, ret, w->max, &r.err);
		ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)sig);
	}
	r.stop_ns = now_mono_ns() - t0;
	w->st->stop_sum_ns += r.stop_ns;
	if (r.stop_ns > w->st->stop_max_ns)
		w->st->stop_max_ns = r.stop_ns;
	report(w, &r);
}

static void walk_live(struct walker *w)
{
	uint64_t *pcs = xmalloc(w->max * sizeof(*pcs));
	uint8_t *ret = xmalloc(w->max);
	sigset_t term, old;

	sigemptyset(&term);
	sigaddset(&term, SIGINT);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGHUP);
	sigaddset(&term, SIGQUIT);
	for (size_t i = 0; i < w->nlive; i++) {
		struct task_regs *t = &w->live[i];
		int was_running = !taskregs_asleep(t);

		if (!w->o->stop_running || w->st->interrupted || !w->u) {
			report_plain(w, t->tid, was_running ? SW_RUNNING : SW_MOVED, NULL);
			continue;
		}
		sigprocmask(SIG_BLOCK, &term, &old);
		stop_one(w, t, pcs, ret);
		/* detached by now: a held signal may end us from here on */
		if (term_pending(&term))
			w->st->interrupted = 1;
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	free(pcs);
	free(ret);
}

int stackwalk_pid(pid_t pid, const struct stackwalk_opts *o, stackwalk_cb cb, void *arg,
		  struct stackwalk_stats *st, char *errbuf, size_t errlen)
{
	struct walker w = { .o = o, .cb = cb, .arg = arg, .st = st, .pid = pid };
	uint64_t t0 = now_mono_ns(), regs0 = o->regs->ns;
	struct task_regs *first = NULL;
	size_t nfirst = 0;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (errlen)
		errbuf[0] = 0;
	w.max = o->max_frames ? o->max_frames : STACKWALK_MAX_FRAMES;
	w.u = unwinder_new(pid, errbuf, errlen);
	if (!w.u) {
		rc = -ESRCH;
		goto out;
	}
	rc = read_sorted(&w, &first, &nfirst);
	if (rc || !nfirst) {
		snprintf(errbuf, errlen, "failed to read the threads of %d: %s", (int)pid,
			 strerror(rc ? -rc : ESRCH));
		rc = rc ? rc : -ESRCH;
		goto out;
	}
	walk_asleep(&w, first, nfirst);
	walk_live(&w);
	st->mem_ns = unwinder_stats(w.u)->mem_ns;
	st->unwind_ns = unwinder_stats(w.u)->unwind_ns;
out:
	unwinder_free(w.u);
	free(first);
	free(w.live);
	st->regs_ns = o->regs->ns - regs0;
	st->total_ns = now_mono_ns() - t0;
	return rc;
}
