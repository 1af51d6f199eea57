/* cmd_record.c — `conlab record`: trace a program into a file. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "capture/recorder.h"

static const struct cli_cmd cmd = {
	.name = "record",
	.who = CLI_RECORD,
	.head = 
	"usage: conlab record [-o FILE] [--duration S] [--buffer SIZE] [--no-stacks] [--locks[=HOW]]\n"
	"                     [--gil] (-p PID[,PID...] | -a | -- COMMAND [ARGS...])\n"
	"\n"
	"Record the threads, processes and waits of a program into a trace file: context\n"
	"switches with the reason of every sleep (futex word and mutex owner, syscall and its\n"
	"arguments), wakeups with the waker, fork/exec/exit, thread names.\n"
	"Children forked by the target are followed from their first instruction.\n",
	.tail = 
	"Ctrl-C or SIGTERM stop the recording cleanly. With a COMMAND, conlab exits with the\n"
	"command's status; under sudo the command runs as the invoking user.\n"
	"\n"
	"examples:\n"
	"  conlab record -o run.clab -- ./build/workloads/philo --variant ordered\n"
	"  conlab record -p 1234 --duration 5\n"
	"  conlab report summary -i run.clab\n",
};

int cmd_record(int argc, char **argv)
{
	struct record_result res;
	struct cli c;
	int r = cli_parse(&c, argc, argv, &cmd);

	if (r)
		return r - 1;
	c.rec.output = c.trace_path ? c.trace_path : "conlab.clab";
	if (record_run(&c.rec, &res))
		return res.exit_status >= 0 ? record_exit_code(&res) : 2;
	if (res.exit_status >= 0 && res.reason == STOP_COMMAND_EXIT)
		fprintf(stderr, "conlab: %s exited with status %d\n", c.rec.cmd[0],
			record_exit_code(&res));
	return c.rec.cmd ? record_exit_code(&res) : 0;
}
