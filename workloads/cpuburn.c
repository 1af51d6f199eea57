// SPDX-License-Identifier: GPL-2.0
/*
 * cpuburn - N threads "burn-i" spin on the CPU for --ms each (benchmarks, overhead checks).
 */
#include <pthread.h>
#include "wl.h"

static const char usage[] =
	"Usage: cpuburn [--ms N] [--threads N]\n"
	"\n"
	"Threads burn-0..burn-N-1 each spin on the CPU (no syscalls) for N ms.\n"
	"\n"
	"  --ms N       CPU time per thread (default 200)\n"
	"  --threads N  number of threads (default 2)\n"
	"  -h, --help   this text\n"
	"\n"
	"Last line: threads= ms= cpu_ns_total= wall_ns= tids=T,..\n";

struct burner {
	int id, tid;
	uint64_t cpu_ns;
	pthread_t thread;
};

static long burn_ms = 200;

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static WL_NOINLINE void burn(uint64_t ns)
{
	uint64_t x = 1;

	/* check the thread's CPU clock rarely: the loop is register-only work */
	while (thread_cpu_ns() < ns)
		for (int i = 0; i < 10000; i++) {
			x = x * 6364136223846793005ull + 1;
			__asm__ volatile("" : "+r"(x));
		}
}

static void *burner_main(void *arg)
{
	struct burner *b = arg;

	wl_name("burn-%d", b->id);
	b->tid = wl_tid();
	burn((uint64_t)burn_ms * 1000000ull);
	b->cpu_ns = thread_cpu_ns();
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ms", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	long nthreads = 2;
	uint64_t start, cpu = 0;
	struct burner *b;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': burn_ms = wl_num(optarg, "ms"); break;
		case 't': nthreads = wl_num(optarg, "threads"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	wl_name("cpuburn");
	b = calloc(nthreads ? nthreads : 1, sizeof(*b));
	if (!b)
		wl_die("allocate threads");
	start = wl_now_ns();
	for (long i = 0; i < nthreads; i++) {
		b[i].id = i;
		wl_check(pthread_create(&b[i].thread, NULL, burner_main, &b[i]), "create thread");
	}
	for (long i = 0; i < nthreads; i++) {
		pthread_join(b[i].thread, NULL);
		cpu += b[i].cpu_ns;
	}
	printf("threads=%ld ms=%ld cpu_ns_total=%llu wall_ns=%llu tids=", nthreads, burn_ms,
	       (unsigned long long)cpu, (unsigned long long)(wl_now_ns() - start));
	for (long i = 0; i < nthreads; i++)
		printf("%d%s", b[i].tid, i + 1 < nthreads ? "," : "");
	printf("\n");
	free(b);
	return 0;
}
