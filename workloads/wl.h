/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wl.h - small helpers shared by the lab workloads (header only, all static).
 *
 * Every workload names its threads through prctl(PR_SET_NAME) so the kernel's comm shows
 * them, measures its own waits with CLOCK_MONOTONIC, and ends stdout with one ground-truth
 * line of key=value pairs that tests compare with what conlab reports.
 */
#ifndef CONLAB_WL_H
#define CONLAB_WL_H

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WL_NOINLINE __attribute__((noinline))
#define WL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Name the calling thread (kernel comm, 15 chars max). */
static inline void wl_name(const char *fmt, ...)
{
	char buf[16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	prctl(PR_SET_NAME, buf, 0, 0, 0);
}

static inline int wl_tid(void)
{
	return (int)syscall(SYS_gettid);
}

static inline uint64_t wl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleep with nanosleep (a blocking syscall the tracer sees as a sleep). */
static inline void wl_sleep_us(uint64_t us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline void wl_sleep_ms(uint64_t ms)
{
	wl_sleep_us(ms * 1000);
}

/* Spin on the CPU for about @ns (no syscalls). */
static inline void wl_spin_ns(uint64_t ns)
{
	uint64_t end = wl_now_ns() + ns;

	while (wl_now_ns() < end)
		;
}

static inline uint64_t wl_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spin until the calling thread has used @ns more CPU time (robust to preemption). */
static inline void wl_spin_cpu_ns(uint64_t ns)
{
	uint64_t end = wl_thread_cpu_ns() + ns;

	while (wl_thread_cpu_ns() < end)
		;
}

/* xorshift64*: a tiny seeded generator, so runs repeat with the same --seed. */
static inline uint64_t wl_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Parse a non-negative integer flag value or exit with a one-line error. */
static inline long wl_num(const char *arg, const char *flag)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno || end == arg || *end || v < 0) {
		fprintf(stderr, "invalid value for --%s: '%s'\n", flag, arg);
		exit(2);
	}
	return v;
}

/* Pick @arg among @names (NULL-terminated); exit with an error when absent. */
static inline int wl_choice(const char *arg, const char *flag, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(arg, names[i]))
			return i;
	fprintf(stderr, "invalid value for --%s: '%s' (one of:", flag, arg);
	for (int i = 0; names[i]; i++)
		fprintf(stderr, " %s", names[i]);
	fprintf(stderr, ")\n");
	exit(2);
}

static inline void wl_die(const char *what)
{
	fprintf(stderr, "failed to %s: %s\n", what, strerror(errno));
	exit(1);
}

/* pthread functions return the error instead of setting errno. */
static inline void wl_check(int err, const char *what)
{
	if (err) {
		errno = err;
		wl_die(what);
	}
}

/* Print the usage text and exit: 0 for --help, 2 for a bad flag. */
static inline void wl_usage(const char *text, int code)
{
	fputs(text, code ? stderr : stdout);
	exit(code);
}

#endif /* CONLAB_WL_H */
