/* cmd_io.c — `conlab io`: record a program, then report on its event loops. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "capture/recorder.h"
#include "render/report.h"

static const struct cli_cmd cmd = {
	.name = "io",
	.who = CLI_IO,
	.head = 
	"usage: conlab io [--format text|json] [-o OUT] [--trace FILE] [--duration S] [--top N]\n"
	"                 [--no-stacks] (-p PID[,PID...] | -a | -- COMMAND [ARGS...])\n"
	"\n"
	"Record a program, then report on every event loop thread in it: a thread that keeps\n"
	"calling epoll_wait, epoll_pwait(2), poll, ppoll, select, pselect6 or io_uring_enter.\n"
	"Time inside the wait is idle; the gap between a return and the next wait is busy. For\n"
	"each loop: idle vs busy, the distribution of busy gaps, the longest gaps and what they\n"
	"did (on CPU, runnable, or blocked: in which syscall, on which fd, from which line), the\n"
	"blocking calls made on the loop thread, the timeouts it asked for and how late it came\n"
	"back, and the fds it waits on and that woke it. Any runtime: C, libuv, Python asyncio.\n",
	.tail = 
	"examples:\n"
	"  conlab io -- ./build/workloads/epoll_server --handler sleep\n"
	"  conlab io -- python3 workloads/python/asyncio_loop.py --handler sleep\n"
	"  conlab io -p 1234 --duration 5 --format json\n",
};

int cmd_io(int argc, char **argv)
{
	struct cli c;
	int r = cli_parse(&c, argc, argv, &cmd);

	if (r)
		return r - 1;
	/* a Python asyncio loop's thread also takes and drops the GIL: record that too */
	c.rec.gil = 1;
	return cli_record_and_report(&c, "io");
}
