/* cmd_contention.c — `conlab contention`: record a program, then report its contention. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "capture/recorder.h"
#include "render/report.h"

static const char usage[] =
	"usage: conlab contention [--format text|json|folded] [-o OUT] [--sort KEY] [--top N]\n"
	"                         [--trace FILE] [--duration S] [--no-stacks] [--locks]\n"
	"                         (-p PID[,PID...] | -- COMMAND [ARGS...])\n"
	"\n"
	"Record a program, then tell which sync objects made its threads wait: per object its\n"
	"name (global symbol, struct.field, or the call site that waits on it), kind (mutex,\n"
	"rwlock, semaphore, condvar, join, GIL, futex), waits, total/avg/max wait, log2\n"
	"histogram, the threads that waited and the threads that held it meanwhile, the waiting\n"
	"callers with file:line, and per thread the share of its life spent waiting.\n"
	"Condvar, join and GIL waits are listed apart from lock contention.\n"
	"\n"
	"  -p, --pid PID       trace a running process until Ctrl-C or --duration\n"
	"  --format FMT        text (default), json, or folded (stacks for flamegraph.pl)\n"
	"  -o, --output OUT    write the report to OUT instead of stdout\n"
	"  --sort KEY          total (default), waits, max, avg, name, hold\n"
	"  --top N             rows per table (default 20)\n"
	"  --trace FILE        keep the trace in FILE (`conlab report contention -i FILE`)\n"
	"  --duration S        stop recording after S seconds\n"
	"  --no-stacks         no user stacks (callers from the return address only)\n"
	"  --locks             lock uprobes: every acquisition's hold time and the count of\n"
	"                      uncontended acquisitions (costs ~0.5 us per lock call)\n"
	"\n"
	"examples:\n"
	"  conlab contention -- ./build/workloads/table --locks global\n"
	"  conlab contention -p 1234 --duration 5 --format json\n"
	"  conlab contention --format folded -- ./prog | flamegraph.pl > waits.svg\n";

int cmd_contention(int argc, char **argv)
{
	struct cli c;
	int r = cli_parse(&c, argc, argv, usage, 1, NULL, NULL, NULL);

	if (r)
		return r - 1;
	return cli_record_and_report(&c, "contention");
}
