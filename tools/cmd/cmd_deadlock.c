// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_deadlock.c — `conlab deadlock -p PID` (the doctor, doctor.h) and `conlab deadlock -- CMD`
 * (live detection, livedeadlock.h): their options, declared once, and the help made from them.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/options.h"
#include "doctor/doctor.h"
#include "doctor/livedeadlock.h"
#include "doctor/stackwalk.h"
#include "lib/util.h"
#include "python/pyrecord.h"

/* Which mode takes an option: `who` of the table below. */
enum { DOCTOR_MODE = 1, LIVE_MODE = 2 };

enum {
	OPT_NO_STACKS = 0x100,
	OPT_NO_CHILDREN,
	OPT_MAX_FRAMES,
	OPT_NATIVE,
	OPT_STOP_RUNNING,
	OPT_LOCKS,
	OPT_ON_DEADLOCK,
	OPT_STALL,
	OPT_DURATION,
	OPT_TRACE,
	OPT_QUIET,
	OPT_SANDBOX,
};

static const struct optdef table[] = {
	{"pid", 'p', required_argument, "PID", "the process to diagnose", DOCTOR_MODE},
	{"format", 'f', required_argument, "FMT", "text (default), json, or dot (the wait-for "
	 "graph)", DOCTOR_MODE},
	{"format", 'f', required_argument, "FMT", "text (default) or json (the doctor's schema; "
	 "deadlocks[] holds the live cycle and the potential ones, kind cycle / potential)",
	 LIVE_MODE},
	{"output", 'o', required_argument, "FILE", "write the report to FILE instead of stdout",
	 DOCTOR_MODE | LIVE_MODE},
	{"no-stacks", OPT_NO_STACKS, no_argument, NULL, "no C stacks: /proc and memory only "
	 "(Python stacks come from memory: they are still there)", DOCTOR_MODE},
	{"no-children", OPT_NO_CHILDREN, no_argument, NULL, "leave child processes out",
	 DOCTOR_MODE},
	{"max-frames", OPT_MAX_FRAMES, required_argument, "N", "frames per stack (default 64, at "
	 "most 128)", DOCTOR_MODE},
	{"native", OPT_NATIVE, no_argument, NULL, "Python threads: the C frames too, each "
	 "eval-loop frame with the Python frames it runs", DOCTOR_MODE},
	{"stop-running", OPT_STOP_RUNNING, no_argument, NULL, "also take the stacks of running "
	 "threads by STOPPING them, one at a time (ptrace); a thread that enters a blocking call "
	 "just then may see it end early (EINTR, a short read or write)", DOCTOR_MODE},
	{"locks", OPT_LOCKS, optional_argument, "HOW", "also find the deadlocks that could happen "
	 "(lock-order inversions), from glibc's mutex, rwlock and semaphore calls. HOW: preload "
	 "(an interposer library loaded into CMD with LD_PRELOAD: no trap per lock call; not for "
	 "static or set-id programs), uprobes (lock uprobes on glibc: a breakpoint trap per lock "
	 "call), or auto (default: preload when it reaches CMD; uprobes "
	 "for a python command, whose probes also know who holds each threading.Lock, so a "
	 "cycle through Locks taken with acquire() is caught live)", LIVE_MODE},
	{"on-deadlock", OPT_ON_DEADLOCK, required_argument, "ACT", "kill (default), stop "
	 "(SIGSTOP, left for a debugger), continue", LIVE_MODE},
	{"stall", OPT_STALL, required_argument, "S", "seconds every thread must be blocked for an "
	 "ownerless hang to be reported (default 5, 0 = off)", LIVE_MODE},
	{"duration", OPT_DURATION, required_argument, "S", "stop watching after S seconds (the "
	 "command keeps running)", LIVE_MODE},
	{"trace", OPT_TRACE, required_argument, "FILE", "keep the trace in FILE (conlab report "
	 "deadlock -i FILE and the other reports read it)", LIVE_MODE},
	{"quiet", OPT_QUIET, no_argument, NULL, "no status line", LIVE_MODE},
	{"sandbox", OPT_SANDBOX, required_argument, "SPEC", "run CMD confined, as conlab record "
	 "--sandbox does", LIVE_MODE},
	{"verbose", 'v', no_argument, NULL, "also say when a suspected cycle was not confirmed by "
	 "a snapshot", LIVE_MODE},
	{"help", 'h', no_argument, NULL, "this text", DOCTOR_MODE | LIVE_MODE},
	{0},
};

static const char synopsis[] =
	"Usage: conlab deadlock -p PID [--format text|json|dot] [-o FILE] [--no-stacks]\n"
	"                       [--no-children] [--max-frames N] [--native] [--stop-running]\n"
	"       conlab deadlock [--locks[=auto|uprobes|preload]] [--on-deadlock stop|kill|continue]\n"
	"                       [--stall S] [--duration S] [--trace FILE] [--format text|json]\n"
	"                       [-o FILE] -- CMD [ARGS]\n";

static const char doctor_text[] =
	"Diagnose a hung process now, with no tracing beforehand: which threads are stuck on\n"
	"what, lock cycles with the threads and locks involved, locks whose owner thread does\n"
	"not exist (held across fork), condition variables and semaphores nobody can signal\n"
	"any more, and waits across processes (wait4 on a child blocked on a full pipe).\n"
	"Threads that run, sleep with a timeout or wait for input are listed as not stuck.\n"
	"\n"
	"It reads /proc/PID/task/*/syscall and the futex words (process_vm_readv), and the stack\n"
	"of each sleeping thread from the registers saved when it entered the kernel (a BPF task\n"
	"iterator) and its memory. No thread is stopped, interrupted or signalled: a blocked\n"
	"call, even one that has moved part of its data, goes on as if nobody had looked.\n"
	"Running threads are listed as running, without a stack. Child processes are included.\n"
	"\n"
	"A CPython 3.11 process is read as Python, from its memory alone: threads by their\n"
	"threading names, Python stacks with lines, the lock, Queue, Event or Thread each one\n"
	"waits on named as the program names it (dst.lock), and who holds it where a snapshot\n"
	"can know: an RLock's owner, a Lock taken in a `with`, the thread a join() waits for;\n"
	"and its asyncio tasks with what each awaits. Another Python version: one warning\n"
	"line (stderr and report), and the C view.\n";

static const char live_text[] =
	"With -- CMD: run CMD and catch deadlocks as they happen. A wait-for cycle through mutex\n"
	"owners is reported when it closes (the hung-process report, stacks symbolized while\n"
	"alive); ownerless or cross-process hangs when every thread has been blocked for --stall\n"
	"seconds.\n";

static const char tail[] =
	"Exit status:\n"
	"  0  nothing is stuck (nothing found)\n"
	"  1  a deadlock (or other permanent hang; with --locks, a potential one) was found\n"
	"  2  error: no such process, not permitted, a kernel thread or a zombie, bad usage\n"
	"\n"
	"Examples:\n"
	"  conlab deadlock -p $(pidof philo)\n"
	"  conlab deadlock -p 4242 --format json -o hang.json\n"
	"  conlab deadlock -p 4242 --format dot | dot -Tsvg > waitfor.svg\n"
	"  conlab deadlock --locks -- ./build/workloads/abba\n";

static void help(FILE *f)
{
	struct optset s = {0};

	fprintf(f, "%s\n%s\n", synopsis, doctor_text);
	optset_take(&s, table, DOCTOR_MODE);
	optset_help(f, &s);
	fprintf(f, "\n%s\n", live_text);
	memset(&s, 0, sizeof(s));
	optset_take(&s, table, LIVE_MODE);
	optset_help(f, &s);
	fprintf(f, "\n%s", tail);
}

/* One option of `deadlock -p PID`; 0, or -1 after one error line. */
static int doctor_option(struct doctor_opts *o, long *pid, int key, const char *arg)
{
	char *end;

	switch (key) {
	case 'p':
		*pid = strtol(arg, &end, 10);
		if (end == arg || *end || *pid <= 0 || *pid > INT32_MAX)
			return fail("invalid pid '%s'", arg);
		return 0;
	case 'f':
		if (!strcmp(arg, "text"))
			o->format = DOCTOR_TEXT;
		else if (!strcmp(arg, "json"))
			o->format = DOCTOR_JSON;
		else if (!strcmp(arg, "dot"))
			o->format = DOCTOR_DOT;
		else
			return fail("unknown format '%s' (text, json or dot)", arg);
		return 0;
	case 'o':
		o->output = arg;
		return 0;
	case OPT_NO_STACKS:
		o->no_stacks = 1;
		return 0;
	case OPT_NO_CHILDREN:
		o->no_children = 1;
		return 0;
	case OPT_NATIVE:
		o->native = 1;
		return 0;
	case OPT_STOP_RUNNING:
		o->stop_running = 1;
		return 0;
	case OPT_MAX_FRAMES:
		o->max_frames = strtoul(arg, &end, 10);
		if (end == arg || *end || !o->max_frames || o->max_frames > STACKWALK_MAX_FRAMES * 2)
			return fail("invalid --max-frames '%s' (1-128)", arg);
		return 0;
	}
	return -1;
}

/* One option of `deadlock -- CMD`; 0, or -1 after one error line. */
static int live_option(struct live_opts *o, int key, const char *arg)
{
	double s;

	switch (key) {
	case 'f':
		if (strcmp(arg, "json") && strcmp(arg, "text"))
			return fail("unknown format '%s' (text or json)", arg);
		o->json = !strcmp(arg, "json");
		return 0;
	case 'o':
		o->output = arg;
		return 0;
	case OPT_LOCKS:
		o->rec.locks = REC_LOCKS_ORDER;
		return cli_set_locks_via(&o->rec, arg);
	case OPT_ON_DEADLOCK:
		if (!strcmp(arg, "kill"))
			o->action = ON_KILL;
		else if (!strcmp(arg, "stop"))
			o->action = ON_STOP;
		else if (!strcmp(arg, "continue"))
			o->action = ON_CONTINUE;
		else
			return fail("invalid --on-deadlock '%s' (stop, kill, continue)", arg);
		return 0;
	case OPT_STALL:
		/* 0 turns it off; parse_seconds says -1 for what is not a time */
		s = parse_seconds(arg);
		if (s < 0)
			return fail("bad --stall '%s' (seconds, e.g. 5 or 500ms; 0 = off)", arg);
		o->stall = s;
		return 0;
	case OPT_DURATION:
		return cli_set_duration(&o->rec, arg);
	case OPT_TRACE:
		o->trace = arg;
		return 0;
	case OPT_QUIET:
		o->rec.status = 0;
		return 0;
	case OPT_SANDBOX:
		return cli_set_sandbox(&o->rec, arg);	/* lab check: a submission */
	case 'v':
		o->verbose = 1;
		return 0;
	}
	return -1;
}

int cmd_deadlock(int argc, char **argv)
{
	struct doctor_opts d = {.format = DOCTOR_TEXT, .max_frames = STACKWALK_MAX_FRAMES};
	struct live_opts l;
	struct optset s = {0};
	struct option *opts;
	char shorts[32];
	int mode = DOCTOR_MODE, c, err = 0;
	long pid = 0;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			mode = LIVE_MODE;
	live_opts_init(&l);
	l.rec.lang = &pyrecord_lang;	/* Python thread names in the trace */
	optset_take(&s, table, mode);
	opts = optset_getopt(&s, shorts, sizeof(shorts));
	opterr = 0;	/* an unknown option is refused below, by name */
	optind = 1;
	while (!err && (c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		if (c == 'h') {
			help(stdout);
			free(opts);
			return 0;
		}
		if (c == '?') {
			if (optopt && optset_find(&s, optopt))
				errmsg("%s needs a value", argv[optind - 1]);
			else
				errmsg("deadlock %s has no %s option (see conlab deadlock --help)",
				       mode == LIVE_MODE ? "-- CMD" : "-p PID", argv[optind - 1]);
			err = 1;
		} else if (mode == LIVE_MODE ? live_option(&l, c, optarg)
					     : doctor_option(&d, &pid, c, optarg)) {
			err = 1;
		}
	}
	free(opts);
	if (err) {
		fputs(synopsis, stderr);
		return DOCTOR_ERROR;
	}
	if (mode == LIVE_MODE) {
		if (optind >= argc) {
			errmsg("deadlock -- CMD: no command given");
			return DOCTOR_ERROR;
		}
		l.rec.cmd = argv + optind;
		return deadlock_live(&l);
	}
	if (optind < argc) {
		errmsg("unexpected argument '%s'", argv[optind]);
		return DOCTOR_ERROR;
	}
	if (!pid) {
		errmsg("deadlock needs -p PID (see conlab deadlock --help)");
		return DOCTOR_ERROR;
	}
	return doctor_run((pid_t)pid, &d);
}
