// SPDX-License-Identifier: GPL-2.0
/*
 * blocked - blocking calls that a debugger's stop would end early or restart, and that report
 * it: the programs `conlab deadlock -p` must leave exactly as they were.
 *
 *   pipe      - the parent waits for its child before reading; the child writes 1 MiB to the
 *               pipe in one write(): both hang forever (the child has filled the pipe).
 *   sockwrite - one write() of 1 MiB to a UNIX stream socket nobody reads: part of the data
 *               is in the peer's queue, the rest waits for room, forever.
 *   partread  - recv(MSG_WAITALL) of 1 MiB after 1000 bytes were sent: it holds the 1000
 *               bytes and waits for the rest, forever.
 *   nanosleep - nanosleep() of --ms in a loop, each call checked.
 *   epoll     - epoll_wait() with a --ms timeout on an idle pipe, in a loop, each call checked.
 *
 * A stop (SIGSTOP, PTRACE_INTERRUPT) ends the first three with a short count, and makes
 * epoll_wait fail with EINTR; nanosleep is restarted by the kernel, invisibly but for the
 * thread's voluntary context switches: one per undisturbed sleep, more when it was stopped.
 * The hanging kinds print "disturbed=..." and exit 3 when their call returns; the sleeping
 * kinds count the calls that did not return as an undisturbed call does.
 */
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <pthread.h>
#include <semaphore.h>
#include "wl.h"

static const char usage[] =
	"Usage: blocked --kind pipe|sockwrite|partread|nanosleep|epoll [--bytes N] [--ms N]\n"
	"               [--calls N] [--until FILE]\n"
	"\n"
	"One blocking call a stop would disturb, checked. pipe, sockwrite and partread HANG ON\n"
	"PURPOSE (kill the process group: pipe leaves a child); if their call ever returns they\n"
	"print disturbed=... and exit 3.\n"
	"\n"
	"  --kind K      pipe (default), sockwrite, partread, nanosleep, epoll\n"
	"  --bytes N     pipe, sockwrite, partread: bytes of the one call (default 1048576)\n"
	"  --ms N        nanosleep, epoll: length of each sleep (default 20)\n"
	"  --calls N     nanosleep, epoll: calls to make (default 10; 0: until --until)\n"
	"  --until FILE  nanosleep, epoll: stop once FILE exists (checked between calls)\n"
	"  -h, --help    this text\n"
	"\n"
	"Lines:\n"
	"  hang=pipe pid= parent= child= bytes=            (before the hang)\n"
	"  hang=sockwrite pid= tid= bytes= queued=         (queued: bytes already sent)\n"
	"  hang=partread pid= tid= bytes= got=\n"
	"  sleeping=nanosleep|epoll pid= tid= ms=          (before the first call)\n"
	"  result=nanosleep|epoll calls= disturbed= eintr= extra_switches= min_us= max_us=\n"
	"    (last line; exit 0 when disturbed=0, else 3)\n"
	"  disturbed=write|recv ret= errno=               (a hanging call returned: exit 3)\n";

enum kind { PIPE, SOCKWRITE, PARTREAD, NANOSLEEP, EPOLL };

static struct {
	enum kind kind;
	long bytes, ms, calls;
	const char *until;
	int sv[2];
	pid_t writer_tid;
	sem_t never;
} ctx = { .bytes = 1 << 20, .ms = 20, .calls = 10 };

static char *big_buffer(void)
{
	char *buf = malloc((size_t)ctx.bytes);

	if (!buf)
		wl_die("malloc");
	memset(buf, 'x', (size_t)ctx.bytes);
	return buf;
}

static void report_return(const char *call, ssize_t ret)
{
	printf("disturbed=%s ret=%zd errno=%d expected=never\n", call, ret, ret < 0 ? errno : 0);
	fflush(stdout);
	_exit(3);
}

/* ---- the hanging kinds ---- */

static WL_NOINLINE void write_once(int fd, const char *buf)
{
	report_return("write", write(fd, buf, (size_t)ctx.bytes));
}

static int run_pipe(void)
{
	int pfd[2], status = 0;
	char *buf = big_buffer();
	pid_t child;

	if (pipe(pfd))
		wl_die("create pipe");
	fflush(stdout);
	child = fork();
	if (child < 0)
		wl_die("fork");
	if (child == 0) {
		wl_name("pipe-writer");
		close(pfd[0]);
		write_once(pfd[1], buf);
	}
	wl_name("pipe-parent");
	close(pfd[1]);
	printf("hang=pipe pid=%d parent=%d child=%d bytes=%ld\n", getpid(), getpid(), child,
	       ctx.bytes);
	fflush(stdout);
	waitpid(child, &status, 0);	/* the bug: the child cannot finish before we read */
	printf("disturbed=waitpid child_status=%d expected=never\n", status);
	return 3;
}

/* Waits until the writer has queued part of its data, says so, then sleeps for good. */
static void *sock_watch(void *arg)
{
	int queued = 0, prev = -1;

	(void)arg;
	wl_name("sock-watch");
	while (queued <= 0 || queued != prev) {
		prev = queued;
		wl_sleep_ms(20);
		if (ioctl(ctx.sv[1], FIONREAD, &queued))
			wl_die("FIONREAD");
	}
	printf("hang=sockwrite pid=%d tid=%d bytes=%ld queued=%d\n", getpid(), ctx.writer_tid,
	       ctx.bytes, queued);
	fflush(stdout);
	sem_wait(&ctx.never);
	return NULL;
}

static int run_sockwrite(void)
{
	char *buf = big_buffer();
	pthread_t t;

	wl_name("sock-writer");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, ctx.sv))
		wl_die("socketpair");
	ctx.writer_tid = wl_tid();
	sem_init(&ctx.never, 0, 0);
	wl_check(pthread_create(&t, NULL, sock_watch, NULL), "pthread_create");
	write_once(ctx.sv[0], buf);
	return 3;
}

static WL_NOINLINE void recv_all(int fd, char *buf)
{
	report_return("recv", recv(fd, buf, (size_t)ctx.bytes, MSG_WAITALL));
}

static int run_partread(void)
{
	char *buf = big_buffer();
	const size_t part = 1000;

	wl_name("part-reader");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, ctx.sv))
		wl_die("socketpair");
	if (write(ctx.sv[1], buf, part) != (ssize_t)part)
		wl_die("write");
	printf("hang=partread pid=%d tid=%d bytes=%ld got=%zu\n", getpid(), wl_tid(), ctx.bytes,
	       part);
	fflush(stdout);
	recv_all(ctx.sv[0], buf);
	return 3;
}

/* ---- the sleeping kinds ---- */

static long voluntary_switches(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		wl_die("getrusage");
	return ru.ru_nvcsw;
}

static WL_NOINLINE int sleep_once(int ep)
{
	struct timespec ts = { ctx.ms / 1000, (ctx.ms % 1000) * 1000000 };
	struct epoll_event ev;

	if (ctx.kind == NANOSLEEP)
		return nanosleep(&ts, NULL);
	return epoll_wait(ep, &ev, 1, (int)ctx.ms);
}

static int run_sleeps(void)
{
	const char *name = ctx.kind == NANOSLEEP ? "nanosleep" : "epoll";
	long calls = 0, disturbed = 0, eintr = 0, extra = 0;
	uint64_t min_ns = UINT64_MAX, max_ns = 0;
	int ep = -1, pfd[2];

	wl_name("sleeper");
	if (ctx.kind == EPOLL) {
		struct epoll_event ev = { .events = EPOLLIN };

		ep = epoll_create1(0);
		if (ep < 0 || pipe(pfd) || epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev))
			wl_die("epoll on an idle pipe");
	}
	printf("sleeping=%s pid=%d tid=%d ms=%ld\n", name, getpid(), wl_tid(), ctx.ms);
	fflush(stdout);
	while (ctx.calls ? calls < ctx.calls : 1) {
		long sw0 = voluntary_switches(), dsw;
		uint64_t t0 = wl_now_ns(), dt;
		int rc = sleep_once(ep);

		dt = wl_now_ns() - t0;
		dsw = voluntary_switches() - sw0;
		calls++;
		/* undisturbed: returned 0 (slept its time, no event) after going to sleep once */
		if (rc != 0 || dsw != 1) {
			disturbed++;
			eintr += rc < 0 && errno == EINTR;
			extra += dsw > 1;
		}
		min_ns = dt < min_ns ? dt : min_ns;
		max_ns = dt > max_ns ? dt : max_ns;
		if (ctx.until && !access(ctx.until, F_OK))
			break;
	}
	printf("result=%s calls=%ld disturbed=%ld eintr=%ld extra_switches=%ld min_us=%llu "
	       "max_us=%llu\n", name, calls, disturbed, eintr, extra,
	       (unsigned long long)(min_ns / 1000), (unsigned long long)(max_ns / 1000));
	return disturbed ? 3 : 0;
}

int main(int argc, char **argv)
{
	static const char *const kinds[] = { "pipe", "sockwrite", "partread", "nanosleep",
					     "epoll", NULL };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			wl_usage(usage, 0);
		if (i + 1 >= argc)
			wl_usage(usage, 2);
		if (!strcmp(a, "--kind"))
			ctx.kind = (enum kind)wl_choice(argv[++i], a + 2, kinds);
		else if (!strcmp(a, "--bytes"))
			ctx.bytes = wl_num(argv[++i], a + 2);
		else if (!strcmp(a, "--ms"))
			ctx.ms = wl_num(argv[++i], a + 2);
		else if (!strcmp(a, "--calls"))
			ctx.calls = wl_num(argv[++i], a + 2);
		else if (!strcmp(a, "--until"))
			ctx.until = argv[++i];
		else
			wl_usage(usage, 2);
	}
	if (ctx.bytes < 1 || ctx.ms < 1 || (!ctx.calls && !ctx.until))
		wl_usage(usage, 2);
	switch (ctx.kind) {
	case PIPE: return run_pipe();
	case SOCKWRITE: return run_sockwrite();
	case PARTREAD: return run_partread();
	default: return run_sleeps();
	}
}
