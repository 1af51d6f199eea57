/* cmd_gil.c — `conlab gil`: record a Python program with the GIL uprobes, then report on it. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "capture/recorder.h"
#include "render/report.h"

static const char usage[] =
	"usage: conlab gil [--format text|json] [-o OUT] [--trace FILE] [--duration S] [--top N]\n"
	"                  [--no-stacks] (-p PID[,PID...] | -- COMMAND [ARGS...])\n"
	"\n"
	"Record a CPython program, then report on its GIL: which thread held it when, the\n"
	"hand-offs and their cause (forced after the switch interval, or released around blocking\n"
	"IO), how much of each thread's wanting-to-run time went to waiting for the GIL, and the\n"
	"parallelism achieved. With an unstripped interpreter (take_gil/drop_gil in its symbol\n"
	"table, as pyenv builds have) the GIL is read from uprobes on those functions; otherwise\n"
	"it is inferred from the futex waits, and the report says so.\n"
	"\n"
	"  -p, --pid PID       trace a running process until Ctrl-C or --duration\n"
	"  --format FMT        text (default) or json\n"
	"  -o, --output OUT    write the report to OUT instead of stdout\n"
	"  --trace FILE        keep the trace in FILE (`conlab report gil -i FILE`)\n"
	"  --duration S        stop recording after S seconds\n"
	"  --top N             hand-offs listed per process (default 12)\n"
	"\n"
	"examples:\n"
	"  conlab gil -- python3 workloads/python/gil.py --threads 4\n"
	"  conlab gil -- python3 workloads/python/pools.py --mode processes\n";

int cmd_gil(int argc, char **argv)
{
	struct cli c;
	int r = cli_parse(&c, argc, argv, usage, 1, NULL, NULL, NULL);

	if (r)
		return r - 1;
	c.rec.gil = 1;
	return cli_record_and_report(&c, "gil");
}
