// SPDX-License-Identifier: GPL-2.0
/*
 * manythreads - a process with many blocked threads, for the doctor's benchmark.
 *
 * main takes "gate", starts --threads N threads that all block on it, then joins the first
 * one: main waits for mt-0, mt-0 waits for gate held by main. One 2-cycle, N-1 threads behind.
 */
#include <pthread.h>
#include "wl.h"

static const char usage[] =
	"Usage: manythreads [--threads N]\n"
	"\n"
	"Starts N threads (default 1000) that all block on one mutex held by main, which then\n"
	"joins the first thread: HANGS ON PURPOSE; kill it.\n"
	"\n"
	"Last line (before the hang): hang=manythreads pid= threads= cycle=manythreads,mt-0\n";

pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static struct {
	long threads;
	pthread_barrier_t started;
} ctx = { .threads = 1000 };

static void *blocked_main(void *arg)
{
	wl_name("mt-%ld", (long)(intptr_t)arg);
	pthread_barrier_wait(&ctx.started);
	pthread_mutex_lock(&gate);
	pthread_mutex_unlock(&gate);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	pthread_attr_t attr;
	pthread_t first = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': ctx.threads = wl_num(optarg, "threads"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.threads < 1)
		ctx.threads = 1;
	wl_name("manythreads");
	pthread_mutex_lock(&gate);
	pthread_barrier_init(&ctx.started, NULL, (unsigned)ctx.threads + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);	/* thousands of threads, little memory */
	for (long i = 0; i < ctx.threads; i++) {
		pthread_t t;

		wl_check(pthread_create(&t, &attr, blocked_main, (void *)(intptr_t)i), "create thread");
		if (!i)
			first = t;
	}
	pthread_barrier_wait(&ctx.started);
	printf("hang=manythreads pid=%d threads=%ld cycle=manythreads,mt-0\n", getpid(),
	       ctx.threads);
	fflush(stdout);
	pthread_join(first, NULL);
	return 0;
}
