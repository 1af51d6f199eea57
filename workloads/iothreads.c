// SPDX-License-Identifier: GPL-2.0
/*
 * iothreads - lab 5: threads that block in I/O overlap; threads that compute compete.
 *
 * --threads N workers "io-i" (or "cpu-i") share --tasks tasks. An io task blocks for
 * --task-ms: in nanosleep (--io sleep) or in recv() on a UDP socket on 127.0.0.1 that
 * nobody writes to, with SO_RCVTIMEO = task-ms (--io socket). A cpu task spins for task-ms
 * of CPU time.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include "wl.h"

static const char usage[] =
	"Usage: iothreads [--mode io|cpu] [--threads N] [--tasks N] [--task-ms N]\n"
	"                 [--io sleep|socket]\n"
	"\n"
	"Lab 5: N threads share tasks that block (io) or compute (cpu) for task-ms each.\n"
	"\n"
	"  --mode M     io (default) or cpu\n"
	"  --threads N  worker threads (default 4)\n"
	"  --tasks N    tasks (default 16)\n"
	"  --task-ms N  length of one task (default 20)\n"
	"  --io K       io tasks: sleep (nanosleep, default) or socket (recv with a timeout)\n"
	"  -h, --help   this text\n"
	"\n"
	"Last line: mode= io= threads= tasks= task_ms= wall_ns= serial_ns= speedup_x100=\n"
	"  blocked_ns_total= tids=T,..\n";

pthread_mutex_t task_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	int cpu, sock;
	long threads, tasks, task_ms;
	long next;
	uint64_t blocked_ns;
	int *tids;
} ctx = { .threads = 4, .tasks = 16, .task_ms = 20 };

static WL_NOINLINE long take_task(void)
{
	long n = -1;

	pthread_mutex_lock(&task_lock);
	if (ctx.next < ctx.tasks)
		n = ctx.next++;
	pthread_mutex_unlock(&task_lock);
	return n;
}

static WL_NOINLINE void io_task(int fd)
{
	char buf[64];

	if (fd < 0) {
		wl_sleep_ms(ctx.task_ms);
		return;
	}
	/* nothing is ever sent: recv blocks until SO_RCVTIMEO expires */
	if (recv(fd, buf, sizeof(buf), 0) >= 0)
		return;
}

static WL_NOINLINE void cpu_task(void)
{
	wl_spin_cpu_ns((uint64_t)ctx.task_ms * 1000000ull);
}

static int open_socket(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = ctx.task_ms / 1000, .tv_usec = ctx.task_ms % 1000 * 1000 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		wl_die("open a UDP socket on 127.0.0.1");
	return fd;
}

static void *worker_main(void *arg)
{
	long id = (long)arg;
	int fd = -1;
	uint64_t blocked = 0;

	wl_name("%s-%ld", ctx.cpu ? "cpu" : "io", id);
	ctx.tids[id] = wl_tid();
	if (!ctx.cpu && ctx.sock)
		fd = open_socket();
	while (take_task() >= 0) {
		uint64_t t0 = wl_now_ns();

		if (ctx.cpu) {
			cpu_task();
		} else {
			io_task(fd);
			blocked += wl_now_ns() - t0;
		}
	}
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&task_lock);
	ctx.blocked_ns += blocked;
	pthread_mutex_unlock(&task_lock);
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "io", "cpu", NULL };
	static const char *const ios[] = { "sleep", "socket", NULL };
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "tasks", required_argument, NULL, 'n' },
		{ "task-ms", required_argument, NULL, 'l' },
		{ "io", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	pthread_t *t;
	uint64_t start, wall, serial;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': ctx.cpu = wl_choice(optarg, "mode", modes); break;
		case 't': ctx.threads = wl_num(optarg, "threads"); break;
		case 'n': ctx.tasks = wl_num(optarg, "tasks"); break;
		case 'l': ctx.task_ms = wl_num(optarg, "task-ms"); break;
		case 'i': ctx.sock = wl_choice(optarg, "io", ios); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.threads < 1)
		ctx.threads = 1;
	wl_name("iothreads");
	t = calloc(ctx.threads, sizeof(*t));
	ctx.tids = calloc(ctx.threads, sizeof(*ctx.tids));
	if (!t || !ctx.tids)
		wl_die("allocate");
	start = wl_now_ns();
	for (long i = 0; i < ctx.threads; i++)
		wl_check(pthread_create(&t[i], NULL, worker_main, (void *)i), "create worker");
	for (long i = 0; i < ctx.threads; i++)
		pthread_join(t[i], NULL);
	wall = wl_now_ns() - start;
	serial = (uint64_t)ctx.tasks * ctx.task_ms * 1000000ull;
	printf("mode=%s io=%s threads=%ld tasks=%ld task_ms=%ld wall_ns=%llu serial_ns=%llu "
	       "speedup_x100=%llu blocked_ns_total=%llu tids=", modes[ctx.cpu],
	       ctx.cpu ? "none" : ios[ctx.sock], ctx.threads, ctx.tasks, ctx.task_ms,
	       (unsigned long long)wall, (unsigned long long)serial,
	       (unsigned long long)(wall ? serial * 100 / wall : 0),
	       (unsigned long long)ctx.blocked_ns);
	for (long i = 0; i < ctx.threads; i++)
		printf("%d%s", ctx.tids[i], i + 1 < ctx.threads ? "," : "");
	printf("\n");
	free(t);
	free(ctx.tids);
	return 0;
}
