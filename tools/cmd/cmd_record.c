/* cmd_record.c — `conlab record`: trace a program into a file. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "capture/recorder.h"

static const char usage[] =
	"usage: conlab record [-o FILE] [--duration S] [--buffer SIZE] [--no-stacks] [--locks] [--gil]\n"
	"                     (-p PID[,PID...] | -a | -- COMMAND [ARGS...])\n"
	"\n"
	"Record the threads, processes and waits of a program into a trace file: context\n"
	"switches with the reason of every sleep (futex word and mutex owner, syscall and its\n"
	"arguments), wakeups with the waker, fork/exec/exit, thread names, futex calls.\n"
	"Children forked by the target are followed from their first instruction.\n"
	"\n"
	"  -o, --output FILE   trace file (default conlab.clab; created 0600)\n"
	"  -p, --pid PID       trace a running process (all its threads and later children)\n"
	"  -a, --all           trace every process on the machine but conlab\n"
	"  --duration S        stop after S seconds (e.g. 10, 500ms)\n"
	"  --buffer SIZE       kernel ring buffer size (default 16M); raise it if events are lost\n"
	"  --no-stacks         do not capture user stacks when threads block\n"
	"  --no-futex-calls    no futex call records: cheaper on futex-heavy programs, but no\n"
	"                      timeouts (GIL inference) and no futex call counts\n"
	"  --no-loop-waits     no event-loop wait records (epoll_wait, poll, ...): the io report\n"
	"                      then sees only the waits that sleep\n"
	"  --locks             lock uprobes on glibc (placed on instructions the kernel emulates):\n"
	"                      every acquire/release and lock-order edges; costs ~1-3 us a lock\n"
	"  --gil               GIL uprobes on CPython's take_gil/drop_gil (unstripped interpreters,\n"
	"                      e.g. pyenv builds): exact GIL hold intervals for `report gil`\n"
	"  --quiet             no live status line\n"
	"  --sandbox SPEC      run COMMAND confined (an unprivileged user, limits, cgroups, no\n"
	"                      network): what `conlab lab check` uses for submissions\n"
	"  -v, --verbose       show libbpf's messages\n"
	"\n"
	"Ctrl-C or SIGTERM stop the recording cleanly. With a COMMAND, conlab exits with the\n"
	"command's status; under sudo the command runs as the invoking user.\n"
	"\n"
	"examples:\n"
	"  conlab record -o run.clab -- ./build/workloads/philo --variant ordered\n"
	"  conlab record -p 1234 --duration 5\n"
	"  conlab report summary -i run.clab\n";

int cmd_record(int argc, char **argv)
{
	struct record_result res;
	struct cli c;
	int r = cli_parse(&c, argc, argv, usage, 0, NULL, NULL, NULL);

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
