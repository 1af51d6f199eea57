/* cmd_timeline.c — `conlab timeline`: record a program, then draw its timeline. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "capture/recorder.h"
#include "render/report.h"

static const struct cli_cmd cmd = {
	.name = "timeline",
	.who = CLI_TIMELINE,
	.head = 
	"usage: conlab timeline [--format text|perfetto|html|json] [-o OUT] [--from S] [--to S]\n"
	"                       [--trace FILE] [--duration S] [--no-stacks]\n"
	"                       (-p PID[,PID...] | -a | -- COMMAND [ARGS...])\n"
	"\n"
	"Record a program, then draw every thread's life: one lane per thread grouped under its\n"
	"process (processes as a tree, fork/exec/exit marked), running (on which CPU), runnable,\n"
	"blocked and on what (the lock and its holder, condvar, semaphore, join, sleep, read or\n"
	"write on an fd, poll, wait for a child), unknown where events were lost; who woke whom\n"
	"and through which object; time per state and reason; parallelism over time.\n"
	"The text format colours the lanes on a terminal (NO_COLOR turns that off).\n",
	.tail = 
	"examples:\n"
	"  conlab timeline -- ./build/workloads/pcqueue --items 200\n"
	"  conlab timeline --format html -o pc.html -- ./build/workloads/pcqueue\n"
	"  conlab timeline --format perfetto -o pc.perfetto-trace -p 1234 --duration 2\n",
};

int cmd_timeline(int argc, char **argv)
{
	struct cli c;
	int r = cli_parse(&c, argc, argv, &cmd);

	if (r)
		return r - 1;
	return cli_record_and_report(&c, "timeline");
}
