// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_deadlock.c — `conlab deadlock -p PID` (the doctor, doctor.h) and `conlab deadlock -- CMD`
 * (live detection, livedeadlock.h): the options and the help.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "doctor/doctor.h"
#include "doctor/livedeadlock.h"
#include "doctor/stackwalk.h"
#include "lib/util.h"

static const char usage[] =
	"Usage: conlab deadlock -p PID [--format text|json|dot] [-o FILE] [--no-stacks]\n"
	"                       [--no-children] [--max-frames N] [--native] [--stop-running]\n"
	"\n"
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
	"line (stderr and report), and the C view.\n"
	"\n"
	"  -p, --pid PID        the process to diagnose\n"
	"  -f, --format FMT     text (default), json, or dot (the wait-for graph)\n"
	"  -o, --output FILE    write the report to FILE instead of stdout\n"
	"      --no-stacks      no C stacks: /proc and memory only\n"
	"                       (Python stacks come from memory: they are still there)\n"
	"      --no-children    leave child processes out\n"
	"      --max-frames N   frames per stack (default 64)\n"
	"      --native         Python threads: the C frames too, each eval-loop frame with\n"
	"                       the Python frames it runs\n"
	"      --stop-running   also take the stacks of running threads by STOPPING them, one\n"
	"                       at a time (ptrace); a thread that enters a blocking call just\n"
	"                       then may see it end early (EINTR, a short read or write)\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status:\n"
	"  0  nothing is stuck\n"
	"  1  a deadlock (or other permanent hang) was found\n"
	"  2  error: no such process, not permitted, a kernel thread or a zombie, bad usage\n"
	"\n"
	"Examples:\n"
	"  conlab deadlock -p $(pidof philo)\n"
	"  conlab deadlock -p 4242 --format json -o hang.json\n"
	"  conlab deadlock -p 4242 --format dot | dot -Tsvg > waitfor.svg\n";

int cmd_deadlock(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-stacks", no_argument, NULL, 'S' },
		{ "no-children", no_argument, NULL, 'C' },
		{ "max-frames", required_argument, NULL, 'M' },
		{ "native", no_argument, NULL, 'N' },
		{ "stop-running", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct doctor_opts o = { .format = DOCTOR_TEXT, .max_frames = STACKWALK_MAX_FRAMES };
	long pid = 0;
	char *end;
	int c;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			return deadlock_live(argc, argv);
		}
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || pid <= 0 || pid > INT32_MAX) {
				errmsg("invalid pid '%s'", optarg);
				return DOCTOR_ERROR;
			}
			break;
		case 'f':
			if (!strcmp(optarg, "text"))
				o.format = DOCTOR_TEXT;
			else if (!strcmp(optarg, "json"))
				o.format = DOCTOR_JSON;
			else if (!strcmp(optarg, "dot"))
				o.format = DOCTOR_DOT;
			else {
				errmsg("unknown format '%s' (text, json or dot)", optarg);
				return DOCTOR_ERROR;
			}
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'S':
			o.no_stacks = 1;
			break;
		case 'C':
			o.no_children = 1;
			break;
		case 'N':
			o.native = 1;
			break;
		case 'R':
			o.stop_running = 1;
			break;
		case 'M':
			o.max_frames = strtoul(optarg, &end, 10);
			if (*end || !o.max_frames || o.max_frames > STACKWALK_MAX_FRAMES * 2) {
				errmsg("invalid --max-frames '%s' (1-%d)", optarg,
				       STACKWALK_MAX_FRAMES * 2);
				return DOCTOR_ERROR;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return DOCTOR_ERROR;
		}
	}
	if (optind < argc) {
		errmsg("unexpected argument '%s'", argv[optind]);
		return DOCTOR_ERROR;
	}
	if (!pid) {
		errmsg("deadlock needs -p PID (see conlab deadlock --help)");
		return DOCTOR_ERROR;
	}
	return doctor_run((pid_t)pid, &o);
}
