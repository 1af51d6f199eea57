/* cmd_gil.c — `conlab gil`: record a Python program with the GIL uprobes, then report on it. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "capture/recorder.h"
#include "render/report.h"

static const struct cli_cmd cmd = {
	.name = "gil",
	.who = CLI_GIL,
	.head = 
	"usage: conlab gil [--format text|json] [-o OUT] [--trace FILE] [--duration S] [--top N]\n"
	"                  [--no-stacks] (-p PID[,PID...] | -a | -- COMMAND [ARGS...])\n"
	"\n"
	"Record a CPython program, then report on its GIL: which thread held it when, the\n"
	"hand-offs and their cause (forced after the switch interval, or released around blocking\n"
	"IO), how much of each thread's wanting-to-run time went to waiting for the GIL, and the\n"
	"parallelism achieved. With an unstripped interpreter (take_gil/drop_gil in its symbol\n"
	"table, as pyenv builds have) the GIL is read from uprobes on those functions; otherwise\n"
	"it is inferred from the futex waits, and the report says so.\n",
	.tail = 
	"examples:\n"
	"  conlab gil -- python3 workloads/python/gil.py --threads 4\n"
	"  conlab gil -- python3 workloads/python/pools.py --mode processes\n",
};

int cmd_gil(int argc, char **argv)
{
	struct cli c;
	int r = cli_parse(&c, argc, argv, &cmd);

	if (r)
		return r - 1;
	c.rec.gil = 1;
	return cli_record_and_report(&c, "gil");
}
