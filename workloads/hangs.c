// SPDX-License-Identifier: GPL-2.0
/*
 * hangs - lab 18: hangs that are not lock cycles.
 *
 *   lostwakeup - "signaller" signals ready_cond before "waiter" waits; the waiter does not
 *                check a predicate, so it waits forever on a condvar nobody will signal.
 *   semleak    - workers take a permit of pool_sem and leak it on an error path; the last
 *                worker waits forever for a permit whose holders have exited.
 *   forklock   - "log-holder" holds log_lock while main forks; the child's copy of log_lock
 *                is owned by a thread that does not exist in the child: the child blocks
 *                forever, and the parent waits for the child in waitpid().
 *   pipe       - the parent waitpid()s for a child that writes more than a pipe holds; the
 *                parent reads only after waitpid returns: a cross-process cycle.
 * --fixed runs the corrected version of each (they all finish).
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/wait.h>
#include "wl.h"

static const char usage[] =
	"Usage: hangs --kind lostwakeup|semleak|forklock|pipe [--fixed] [--delay-ms N]\n"
	"             [--permits N] [--hold-ms N] [--bytes N]\n"
	"\n"
	"Lab 18: hangs without a lock cycle. Every kind HANGS ON PURPOSE unless --fixed is\n"
	"given; kill the process group (the forklock and pipe kinds leave a child).\n"
	"\n"
	"  --kind K      lostwakeup (default), semleak, forklock, pipe\n"
	"  --fixed       the corrected program: finishes\n"
	"  --delay-ms N  lostwakeup: waiter's work before it waits (default 50)\n"
	"  --permits N   semleak: permits in pool_sem, all leaked (default 2)\n"
	"  --hold-ms N   forklock: how long log-holder keeps log_lock (default 200)\n"
	"  --bytes N     pipe: bytes the child writes (default 1048576)\n"
	"  -h, --help    this text\n"
	"\n"
	"Last line, printed and flushed before the hang:\n"
	"  hang=lostwakeup object=ready_cond mutex=ready_lock waiter= signaller=\n"
	"    signaller_exited=1\n"
	"  hang=semleak object=pool_sem permits= leaked= leakers=T,.. leakers_exited=1 waiter=\n"
	"  hang=forklock object=log_lock owner_tid= owner_in_child=0 parent= child= child_tid=\n"
	"  hang=pipe parent= child= bytes= pipe_capacity=\n"
	"With --fixed: hang=none kind= ... (the counts of the run)\n";

enum kind { LOSTWAKEUP, SEMLEAK, FORKLOCK, PIPE };

pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
int ready;

sem_t pool_sem;
pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	enum kind kind;
	int fixed;
	long delay_ms, permits, hold_ms, bytes;
	sem_t started;
} ctx = { .delay_ms = 50, .permits = 2, .hold_ms = 200, .bytes = 1 << 20 };

/* ---- lostwakeup ---- */

static WL_NOINLINE void wait_ready(void)
{
	pthread_mutex_lock(&ready_lock);
	if (ctx.fixed) {
		while (!ready)
			pthread_cond_wait(&ready_cond, &ready_lock);
	} else {
		/* the bug: no predicate, so a signal sent earlier is lost */
		pthread_cond_wait(&ready_cond, &ready_lock);
	}
	pthread_mutex_unlock(&ready_lock);
}

static WL_NOINLINE void signal_ready(void)
{
	pthread_mutex_lock(&ready_lock);
	ready = 1;
	pthread_cond_signal(&ready_cond);
	pthread_mutex_unlock(&ready_lock);
}

static void *waiter_main(void *arg)
{
	int *tid = arg;

	wl_name("waiter");
	*tid = wl_tid();
	sem_post(&ctx.started);
	wl_sleep_ms(ctx.delay_ms);	/* some work before it gets to the wait */
	wait_ready();
	return NULL;
}

static void *signaller_main(void *arg)
{
	int *tid = arg;

	wl_name("signaller");
	*tid = wl_tid();
	signal_ready();
	return NULL;
}

static int run_lostwakeup(void)
{
	pthread_t w, s;
	int wtid = 0, stid = 0;

	sem_init(&ctx.started, 0, 0);
	wl_check(pthread_create(&w, NULL, waiter_main, &wtid), "create waiter");
	sem_wait(&ctx.started);
	wl_check(pthread_create(&s, NULL, signaller_main, &stid), "create signaller");
	pthread_join(s, NULL);
	if (!ctx.fixed) {
		printf("signaller (tid %d) signalled ready_cond and exited; "
		       "nobody will signal again\n", stid);
		printf("hang=lostwakeup pid=%d object=ready_cond mutex=ready_lock waiter=%d "
		       "signaller=%d signaller_exited=1\n", getpid(), wtid, stid);
		fflush(stdout);
	}
	pthread_join(w, NULL);
	printf("hang=none kind=lostwakeup waiter=%d signaller=%d ready=%d\n", wtid, stid, ready);
	return 0;
}

/* ---- semleak ---- */

struct sem_worker {
	int id, tid;
	int fail;
	pthread_t thread;
};

static WL_NOINLINE int do_job(struct sem_worker *w)
{
	return w->fail ? -EIO : 0;
}

static WL_NOINLINE void *sem_worker_main(void *arg)
{
	struct sem_worker *w = arg;

	wl_name("worker-%d", w->id);
	w->tid = wl_tid();
	sem_post(&ctx.started);
	sem_wait(&pool_sem);
	if (do_job(w) < 0) {
		if (ctx.fixed)
			sem_post(&pool_sem);
		return NULL;	/* the bug: the permit leaks on the error path */
	}
	sem_post(&pool_sem);
	return NULL;
}

static int run_semleak(void)
{
	long n = ctx.permits;
	struct sem_worker *w = calloc(n + 1, sizeof(*w));

	if (!w)
		wl_die("allocate workers");
	sem_init(&pool_sem, 0, n);
	sem_init(&ctx.started, 0, 0);
	for (long i = 0; i < n; i++) {
		w[i].id = i;
		w[i].fail = 1;
		wl_check(pthread_create(&w[i].thread, NULL, sem_worker_main, &w[i]),
			 "create worker");
		pthread_join(w[i].thread, NULL);
	}
	w[n].id = n;
	wl_check(pthread_create(&w[n].thread, NULL, sem_worker_main, &w[n]), "create worker");
	sem_wait(&ctx.started);
	for (long i = 0; i < n; i++)
		sem_wait(&ctx.started);
	if (!ctx.fixed) {
		printf("hang=semleak pid=%d object=pool_sem permits=%ld leaked=%ld leakers=",
		       getpid(), n, n);
		for (long i = 0; i < n; i++)
			printf("%d%s", w[i].tid, i + 1 < n ? "," : "");
		printf(" leakers_exited=1 waiter=%d waiter_name=worker-%ld\n", w[n].tid, n);
		fflush(stdout);
	}
	pthread_join(w[n].thread, NULL);
	int left;

	sem_getvalue(&pool_sem, &left);
	printf("hang=none kind=semleak permits=%ld workers=%ld failed=%ld permits_left=%d\n",
	       n, n + 1, n, left);
	free(w);
	return 0;
}

/* ---- forklock ---- */

static WL_NOINLINE void log_line(const char *msg)
{
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s\n", msg);
	pthread_mutex_unlock(&log_lock);
}

static void *holder_main(void *arg)
{
	int *tid = arg;

	wl_name("log-holder");
	pthread_mutex_lock(&log_lock);
	*tid = wl_tid();
	sem_post(&ctx.started);
	wl_sleep_ms(ctx.hold_ms);	/* a long log write, in the parent */
	pthread_mutex_unlock(&log_lock);
	return NULL;
}

static void atfork_prepare(void) { pthread_mutex_lock(&log_lock); }
static void atfork_release(void) { pthread_mutex_unlock(&log_lock); }

static int run_forklock(void)
{
	pthread_t h;
	int htid = 0, status;
	pid_t child;
	int pfd[2];

	if (ctx.fixed)
		pthread_atfork(atfork_prepare, atfork_release, atfork_release);
	if (pipe(pfd))
		wl_die("create pipe");
	sem_init(&ctx.started, 0, 0);
	wl_check(pthread_create(&h, NULL, holder_main, &htid), "create log-holder");
	sem_wait(&ctx.started);
	fflush(stdout);
	child = fork();
	if (child < 0)
		wl_die("fork");
	if (child == 0) {
		int tid;

		wl_name("fork-child");
		tid = wl_tid();
		close(pfd[0]);
		if (write(pfd[1], &tid, sizeof(tid)) != sizeof(tid))
			_exit(1);
		close(pfd[1]);
		log_line("child: started");	/* blocks forever without --fixed */
		_exit(0);
	}
	close(pfd[1]);
	int ctid = 0;

	if (read(pfd[0], &ctid, sizeof(ctid)) != sizeof(ctid))
		wl_die("read child tid");
	close(pfd[0]);
	/* the line says the hang is in place: only once the holder has released log_lock in the
	 * parent and gone is every thread left blocked for good (printed earlier, it raced with
	 * the holder's wakeup) */
	pthread_join(h, NULL);
	if (!ctx.fixed) {
		printf("hang=forklock pid=%d object=log_lock owner_tid=%d owner_name=log-holder "
		       "owner_in_child=0 parent=%d child=%d child_tid=%d\n",
		       getpid(), htid, getpid(), child, ctid);
		fflush(stdout);
	}
	if (waitpid(child, &status, 0) < 0)
		wl_die("wait for child");
	printf("hang=none kind=forklock parent=%d child=%d child_status=%d holder=%d\n",
	       getpid(), child, WIFEXITED(status) ? WEXITSTATUS(status) : -1, htid);
	return 0;
}

/* ---- pipe ---- */

static WL_NOINLINE void write_all(int fd, long bytes)
{
	char buf[4096];

	memset(buf, 'x', sizeof(buf));
	while (bytes > 0) {
		ssize_t n = write(fd, buf, bytes < (long)sizeof(buf) ? (size_t)bytes : sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		bytes -= n;
	}
}

static WL_NOINLINE long read_all(int fd)
{
	char buf[4096];
	long total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			wl_die("read pipe");
		}
		total += n;
	}
	return total;
}

static int run_pipe(void)
{
	int pfd[2], status = 0, cap;
	long got = 0;
	pid_t child;

	if (pipe(pfd))
		wl_die("create pipe");
	cap = fcntl(pfd[0], F_GETPIPE_SZ);
	fflush(stdout);
	child = fork();
	if (child < 0)
		wl_die("fork");
	if (child == 0) {
		wl_name("pipe-writer");
		close(pfd[0]);
		write_all(pfd[1], ctx.bytes);
		_exit(0);
	}
	wl_name("pipe-parent");
	close(pfd[1]);
	if (ctx.fixed) {
		got = read_all(pfd[0]);
		waitpid(child, &status, 0);
	} else {
		printf("hang=pipe pid=%d parent=%d child=%d bytes=%ld pipe_capacity=%d "
		       "parent_waits=waitpid child_waits=write\n",
		       getpid(), getpid(), child, ctx.bytes, cap);
		fflush(stdout);
		waitpid(child, &status, 0);	/* forever when bytes > the pipe's capacity */
		got = read_all(pfd[0]);
	}
	printf("hang=none kind=pipe parent=%d child=%d bytes=%ld read=%ld pipe_capacity=%d\n",
	       getpid(), child, ctx.bytes, got, cap);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const kinds[] = { "lostwakeup", "semleak", "forklock", "pipe", NULL };
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "fixed", no_argument, NULL, 'f' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "permits", required_argument, NULL, 'p' },
		{ "hold-ms", required_argument, NULL, 'H' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': ctx.kind = wl_choice(optarg, "kind", kinds); break;
		case 'f': ctx.fixed = 1; break;
		case 'd': ctx.delay_ms = wl_num(optarg, "delay-ms"); break;
		case 'p': ctx.permits = wl_num(optarg, "permits"); break;
		case 'H': ctx.hold_ms = wl_num(optarg, "hold-ms"); break;
		case 'b': ctx.bytes = wl_num(optarg, "bytes"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	wl_name("hangs-main");
	signal(SIGPIPE, SIG_IGN);

	switch (ctx.kind) {
	case LOSTWAKEUP: return run_lostwakeup();
	case SEMLEAK: return run_semleak();
	case FORKLOCK: return run_forklock();
	case PIPE: return run_pipe();
	}
	return 1;
}
