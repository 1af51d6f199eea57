/* cmd_contention.c — `conlab contention`: record a program, then report its contention. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "capture/recorder.h"
#include "render/report.h"

static const struct cli_cmd cmd = {
	.name = "contention",
	.who = CLI_CONTENTION,
	.head = 
	"usage: conlab contention [--format text|json|folded] [-o OUT] [--sort KEY] [--top N]\n"
	"                         [--trace FILE] [--duration S] [--no-stacks] [--locks[=HOW]]\n"
	"                         (-p PID[,PID...] | -a | -- COMMAND [ARGS...])\n"
	"\n"
	"Record a program, then tell which sync objects made its threads wait: per object its\n"
	"name (global symbol, struct.field, or the call site that waits on it), kind (mutex,\n"
	"rwlock, semaphore, condvar, join, GIL, futex), waits, total/avg/max wait, log2\n"
	"histogram, the threads that waited and the threads that held it meanwhile, the waiting\n"
	"callers with file:line, and per thread the share of its life spent waiting.\n"
	"Condvar, join and GIL waits are listed apart from lock contention.\n",
	.tail = 
	"examples:\n"
	"  conlab contention -- ./build/workloads/table --locks global\n"
	"  conlab contention -p 1234 --duration 5 --format json\n"
	"  conlab contention --format folded -- ./prog | flamegraph.pl > waits.svg\n",
};

int cmd_contention(int argc, char **argv)
{
	struct cli c;
	int r = cli_parse(&c, argc, argv, &cmd);

	if (r)
		return r - 1;
	return cli_record_and_report(&c, "contention");
}
