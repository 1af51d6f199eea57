// SPDX-License-Identifier: GPL-2.0
/*
 * procs - lab 4: processes, fork, exec and the start methods of a process pool.
 *
 *   fork       - the parent forks --children workers; no exec (multiprocessing "fork").
 *   spawn      - the parent forks each worker and the worker execs this program afresh
 *                (/proc/self/exe --role worker): one exec per worker ("spawn").
 *   forkserver - the parent forks and execs one server (--role server), the server forks
 *                the workers without exec ("forkserver").
 * Each worker names itself "worker-i", burns --work-ms of CPU and exits with status 0.
 */
#include <sys/wait.h>
#include "wl.h"

static const char usage[] =
	"Usage: procs [--method fork|spawn|forkserver] [--children N] [--exec] [--work-ms N]\n"
	"\n"
	"Lab 4: a tree of processes made the way a process pool's start method makes them.\n"
	"\n"
	"  --method M    fork (default), spawn (fork + exec per worker), forkserver\n"
	"  --exec        same as --method spawn\n"
	"  --children N  worker processes (default 4)\n"
	"  --work-ms N   CPU time per worker (default 20)\n"
	"  -h, --help    this text\n"
	"\n"
	"Last line: method= children= forks= execs= exits= failed= parent= server= pids=P,..\n"
	"  (forks and execs count what the program itself did, after its own start)\n";

enum method { FORK, SPAWN, FORKSERVER };

static struct {
	enum method method;
	long children, work_ms;
	int role_worker, role_server;
	long id;
} ctx = { .children = 4, .work_ms = 20 };

static WL_NOINLINE void worker(long id)
{
	uint64_t end = wl_now_ns() + (uint64_t)ctx.work_ms * 1000000ull, x = (uint64_t)id;

	wl_name("worker-%ld", id);
	while (wl_now_ns() < end)
		for (int i = 0; i < 1000; i++) {
			x = x * 6364136223846793005ull + 1;
			__asm__ volatile("" : "+r"(x));
		}
	_exit(0);
}

static void exec_self(const char *role, long n)
{
	char nbuf[32], wbuf[32];

	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	snprintf(wbuf, sizeof(wbuf), "%ld", ctx.work_ms);
	execl("/proc/self/exe", "procs", "--role", role, "--id", nbuf, "--children", nbuf,
	      "--work-ms", wbuf, (char *)NULL);
	perror("exec /proc/self/exe");
	_exit(127);
}

/* Fork @n workers; with @exec each execs a fresh copy of the program. Returns failures. */
static long fork_workers(long n, int exec, pid_t *pids)
{
	long failed = 0;
	int status;

	for (long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			wl_die("fork");
		if (pid == 0) {
			if (exec)
				exec_self("worker", i);
			worker(i);
		}
		pids[i] = pid;
	}
	for (long i = 0; i < n; i++)
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	return failed;
}

int main(int argc, char **argv)
{
	static const char *const methods[] = { "fork", "spawn", "forkserver", NULL };
	static const char *const roles[] = { "worker", "server", NULL };
	static const struct option opts[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "exec", no_argument, NULL, 'e' },
		{ "children", required_argument, NULL, 'c' },
		{ "work-ms", required_argument, NULL, 'w' },
		{ "role", required_argument, NULL, 'r' },	/* internal: after exec */
		{ "id", required_argument, NULL, 'i' },		/* internal: after exec */
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	long forks = 0, execs = 0, failed = 0;
	pid_t *pids, server = 0;
	int c, status;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': ctx.method = wl_choice(optarg, "method", methods); break;
		case 'e': ctx.method = SPAWN; break;
		case 'c': ctx.children = wl_num(optarg, "children"); break;
		case 'w': ctx.work_ms = wl_num(optarg, "work-ms"); break;
		case 'r':
			if (wl_choice(optarg, "role", roles))
				ctx.role_server = 1;
			else
				ctx.role_worker = 1;
			break;
		case 'i': ctx.id = wl_num(optarg, "id"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	pids = calloc(ctx.children ? ctx.children : 1, sizeof(*pids));
	if (!pids)
		wl_die("allocate");
	if (ctx.role_worker)
		worker(ctx.id);
	if (ctx.role_server) {
		wl_name("forkserver");
		return fork_workers(ctx.children, 0, pids) ? 1 : 0;
	}

	wl_name("procs-main");
	fflush(stdout);
	switch (ctx.method) {
	case FORK:
		failed = fork_workers(ctx.children, 0, pids);
		forks = ctx.children;
		break;
	case SPAWN:
		failed = fork_workers(ctx.children, 1, pids);
		forks = execs = ctx.children;
		break;
	case FORKSERVER:
		server = fork();
		if (server < 0)
			wl_die("fork");
		if (server == 0)
			exec_self("server", ctx.children);
		if (waitpid(server, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
		forks = ctx.children + 1;
		execs = 1;
		break;
	}
	printf("method=%s children=%ld forks=%ld execs=%ld exits=%ld failed=%ld parent=%d "
	       "server=%d pids=", methods[ctx.method], ctx.children, forks, execs, forks, failed,
	       getpid(), server);
	if (ctx.method == FORKSERVER)
		printf("unknown");	/* forked by the server, not by us */
	for (long i = 0; ctx.method != FORKSERVER && i < ctx.children; i++)
		printf("%d%s", pids[i], i + 1 < ctx.children ? "," : "");
	printf("\n");
	free(pids);
	return failed ? 1 : 0;
}
