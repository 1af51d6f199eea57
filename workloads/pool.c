// SPDX-License-Identifier: GPL-2.0
/*
 * pool - lab 3: the same CPU-bound map on a thread pool or on a process pool.
 *
 * threads:   workers "pool-i" take task numbers from a shared counter under task_lock.
 * processes: forked workers "proc-i" read task numbers from task_pipe (4-byte writes are
 *            atomic) and write results back through result_pipe; the parent collects them.
 * Every task computes the same function of its number for --work-us of CPU.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "wl.h"

static const char usage[] =
	"Usage: pool [--mode threads|processes] [--workers N] [--tasks N] [--work-us N]\n"
	"\n"
	"Lab 3: a CPU-bound map over a pool of threads (pool-i) or of processes (proc-i).\n"
	"\n"
	"  --mode M     threads (default) or processes (fork + pipes)\n"
	"  --workers N  pool size (default 4)\n"
	"  --tasks N    tasks (default 40)\n"
	"  --work-us N  CPU time per task (default 5000)\n"
	"  -h, --help   this text\n"
	"\n"
	"Last line: mode= workers= tasks= done= checksum= cpu_ns_total= wall_ns=\n"
	"  parallelism_x100= workers_tids=T,.. (tids are pids for processes)\n";

pthread_mutex_t task_lock = PTHREAD_MUTEX_INITIALIZER;
int task_pipe[2], result_pipe[2];

static struct {
	int processes;
	long workers, tasks, work_us;
	long next_task, done;
	uint64_t checksum, cpu_ns;
	int *tids;
} ctx = { .workers = 4, .tasks = 40, .work_us = 5000 };

struct result {
	uint64_t value;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The task: a hash chain over its number, for about work_us of CPU time. */
static WL_NOINLINE uint64_t run_task(long n)
{
	uint64_t end = thread_cpu_ns() + (uint64_t)ctx.work_us * 1000, x = (uint64_t)n + 1;

	do {
		for (int i = 0; i < 2000; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			__asm__ volatile("" : "+r"(x));
		}
	} while (thread_cpu_ns() < end);
	return (uint64_t)n * 2654435761u;	/* the map's result: independent of timing */
}

static WL_NOINLINE long next_task(void)
{
	long n = -1;

	pthread_mutex_lock(&task_lock);
	if (ctx.next_task < ctx.tasks)
		n = ctx.next_task++;
	pthread_mutex_unlock(&task_lock);
	return n;
}

static void *thread_worker(void *arg)
{
	long id = (long)arg, n;
	uint64_t sum = 0, done = 0;

	wl_name("pool-%ld", id);
	ctx.tids[id] = wl_tid();
	while ((n = next_task()) >= 0) {
		sum += run_task(n);
		done++;
	}
	pthread_mutex_lock(&task_lock);
	ctx.checksum += sum;
	ctx.done += done;
	ctx.cpu_ns += thread_cpu_ns();
	pthread_mutex_unlock(&task_lock);
	return NULL;
}

static void run_threads(void)
{
	pthread_t *t = calloc(ctx.workers, sizeof(*t));

	if (!t)
		wl_die("allocate threads");
	for (long i = 0; i < ctx.workers; i++)
		wl_check(pthread_create(&t[i], NULL, thread_worker, (void *)i), "create worker");
	for (long i = 0; i < ctx.workers; i++)
		pthread_join(t[i], NULL);
	free(t);
}

static WL_NOINLINE void process_worker(long id)
{
	struct result r = { 0 };
	int32_t n;

	wl_name("proc-%ld", id);
	close(task_pipe[1]);
	close(result_pipe[0]);
	while (read(task_pipe[0], &n, sizeof(n)) == sizeof(n)) {
		r.value = run_task(n);
		if (write(result_pipe[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
	}
	_exit(0);
}

static void run_processes(void)
{
	struct result r;

	if (pipe(task_pipe) || pipe(result_pipe))
		wl_die("create pipes");
	fflush(stdout);
	for (long i = 0; i < ctx.workers; i++) {
		pid_t pid = fork();

		if (pid < 0)
			wl_die("fork");
		if (pid == 0)
			process_worker(i);
		ctx.tids[i] = pid;
	}
	close(task_pipe[0]);
	close(result_pipe[1]);
	for (int32_t n = 0; n < ctx.tasks; n++)
		if (write(task_pipe[1], &n, sizeof(n)) != sizeof(n))
			wl_die("send task");
	close(task_pipe[1]);	/* workers see EOF when the queue is drained */
	while (read(result_pipe[0], &r, sizeof(r)) == sizeof(r)) {
		ctx.checksum += r.value;
		ctx.done++;
	}
	/* the workers' CPU time is read from RUSAGE_CHILDREN once they are reaped */
	for (long i = 0; i < ctx.workers; i++)
		waitpid(ctx.tids[i], NULL, 0);
}

static uint64_t children_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "threads", "processes", NULL };
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "workers", required_argument, NULL, 'w' },
		{ "tasks", required_argument, NULL, 't' },
		{ "work-us", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t start, wall;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': ctx.processes = wl_choice(optarg, "mode", modes); break;
		case 'w': ctx.workers = wl_num(optarg, "workers"); break;
		case 't': ctx.tasks = wl_num(optarg, "tasks"); break;
		case 'u': ctx.work_us = wl_num(optarg, "work-us"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.workers < 1)
		ctx.workers = 1;
	wl_name("pool-main");
	signal(SIGPIPE, SIG_IGN);
	ctx.tids = calloc(ctx.workers, sizeof(*ctx.tids));
	if (!ctx.tids)
		wl_die("allocate");
	start = wl_now_ns();
	if (ctx.processes) {
		run_processes();
		ctx.cpu_ns = children_cpu_ns();
	} else {
		run_threads();
	}
	wall = wl_now_ns() - start;
	printf("mode=%s workers=%ld tasks=%ld done=%ld checksum=%llu cpu_ns_total=%llu "
	       "wall_ns=%llu parallelism_x100=%llu workers_tids=", modes[ctx.processes],
	       ctx.workers, ctx.tasks, ctx.done, (unsigned long long)ctx.checksum,
	       (unsigned long long)ctx.cpu_ns, (unsigned long long)wall,
	       (unsigned long long)(wall ? ctx.cpu_ns * 100 / wall : 0));
	for (long i = 0; i < ctx.workers; i++)
		printf("%d%s", ctx.tids[i], i + 1 < ctx.workers ? "," : "");
	printf("\n");
	free(ctx.tids);
	return 0;
}
