// SPDX-License-Identifier: GPL-2.0
/*
 * stackwalk.c — one thread at a time: stop it with PTRACE_SEIZE + PTRACE_INTERRUPT, let libdwfl
 * read its registers and unwind with .eh_frame/.debug_frame, detach. We time the window and
 * keep termination signals out of it.
 *
 * libdwfl can attach by itself, but with PTRACE_ATTACH, which stops the thread by sending it
 * SIGSTOP: a walker killed by SIGKILL between the attach and the stop leaves that SIGSTOP
 * queued, and the whole target stops for good once the kernel detaches it. A seized thread
 * gets no signal; a dead tracer's seized threads just run on.
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "stackwalk.h"
#include "util.h"

struct walk {
	stackwalk_cb cb;
	void *arg;
	size_t max;
	uint64_t *pcs;
	uint8_t *ret;
	size_t n;
	struct stackwalk_stats *st;
	sigset_t term;
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	w->pcs[w->n] = pc;
	/* an activation (innermost or signal frame) is the exact pc, others return addresses */
	w->ret[w->n] = !activation;
	w->n++;
	return w->n < w->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

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

static int thread_cb(Dwfl_Thread *thread, void *arg)
{
	struct walk *w = arg;
	pid_t tid = dwfl_thread_tid(thread);
	uint64_t t0, dt;
	const char *err = NULL;
	sigset_t pending;
	int rc, sig;

	w->n = 0;
	t0 = now_mono_ns();
	rc = seize(tid, &sig);
	if (rc) {
		err = strerror(-rc);
	} else {
		rc = dwfl_thread_getframes(thread, frame_cb, w);
		ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
		/* an unwinder error after some frames is the usual end of a stack, not a failure */
		if (rc == -1 && w->n == 0)
			err = dwfl_errmsg(-1);
	}
	dt = now_mono_ns() - t0;
	w->st->threads++;
	if (err)
		w->st->failed++;
	w->st->stop_sum_ns += dt;
	if (dt > w->st->stop_max_ns)
		w->st->stop_max_ns = dt;
	w->cb(tid, w->pcs, w->ret, w->n, dt, err, w->arg);

	if (!sigpending(&pending)) {
		for (int sig = 1; sig < NSIG; sig++) {
			if (sigismember(&w->term, sig) && sigismember(&pending, sig)) {
				w->st->interrupted = 1;
				return DWARF_CB_ABORT;
			}
		}
	}
	return DWARF_CB_OK;
}

int stackwalk_pid(pid_t pid, size_t max_frames, stackwalk_cb cb, void *arg,
		  struct stackwalk_stats *st, char *errbuf, size_t errlen)
{
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
	};
	struct walk w = { .cb = cb, .arg = arg, .st = st };
	sigset_t old;
	uint64_t t0 = now_mono_ns();
	Dwfl *dwfl;
	int err, rc = 0;

	memset(st, 0, sizeof(*st));
	if (errlen)
		errbuf[0] = 0;
	w.max = max_frames ? max_frames : STACKWALK_MAX_FRAMES;
	w.pcs = xmalloc(w.max * sizeof(*w.pcs));
	w.ret = xmalloc(w.max);
	dwfl = dwfl_begin(&callbacks);
	if (!dwfl) {
		snprintf(errbuf, errlen, "failed to start libdwfl: %s", dwfl_errmsg(-1));
		rc = -ENOMEM;
		goto out;
	}
	dwfl_report_begin(dwfl);
	err = dwfl_linux_proc_report(dwfl, pid);
	dwfl_report_end(dwfl, NULL, NULL);
	if (err) {
		snprintf(errbuf, errlen, "failed to read the maps of %d: %s", (int)pid,
			 err > 0 ? strerror(err) : dwfl_errmsg(-1));
		rc = err > 0 ? -err : -ESRCH;
		goto out;
	}
	/* true: the threads are stopped by seize(), not by libdwfl */
	err = dwfl_linux_proc_attach(dwfl, pid, true);
	if (err) {
		snprintf(errbuf, errlen, "failed to attach to %d: %s", (int)pid,
			 err > 0 ? strerror(err) : dwfl_errmsg(-1));
		rc = err > 0 ? -err : -EPERM;
		goto out;
	}

	sigemptyset(&w.term);
	sigaddset(&w.term, SIGINT);
	sigaddset(&w.term, SIGTERM);
	sigaddset(&w.term, SIGHUP);
	sigaddset(&w.term, SIGQUIT);
	sigprocmask(SIG_BLOCK, &w.term, &old);
	if (dwfl_getthreads(dwfl, thread_cb, &w) == -1 && !st->threads) {
		snprintf(errbuf, errlen, "failed to walk the threads of %d: %s", (int)pid,
			 dwfl_errmsg(-1));
		rc = -ESRCH;
	}
	/* every thread is detached by now: a held signal may end us from here on */
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	if (dwfl)
		dwfl_end(dwfl);
	free(w.pcs);
	free(w.ret);
	st->total_ns = now_mono_ns() - t0;
	return rc;
}
