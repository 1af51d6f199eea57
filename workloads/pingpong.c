// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong - threads "ping" and "pong" hand a token back and forth through a futex word or
 * through two pipes: every round is two blocking waits and two wakeups (benchmarks).
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include "wl.h"

static const char usage[] =
	"Usage: pingpong [--mode futex|pipe] [--rounds N]\n"
	"\n"
	"Threads ping and pong pass a token N times: futex = FUTEX_WAIT/FUTEX_WAKE on the word\n"
	"turn; pipe = a byte through pipe_ab / pipe_ba.\n"
	"\n"
	"  --mode M    futex (default) or pipe\n"
	"  --rounds N  round trips (default 10000)\n"
	"  -h, --help  this text\n"
	"\n"
	"Last line: mode= rounds= elapsed_ns= ns_per_round= ping_tid= pong_tid= futex_waits=\n";

enum mode { FUTEX, PIPE };

_Atomic int turn;		/* futex word: 0 = ping's turn, 1 = pong's */
int pipe_ab[2], pipe_ba[2];

static struct {
	enum mode mode;
	long rounds;
	_Atomic long futex_waits;
} ctx = { .rounds = 10000 };

struct player {
	const char *name;
	int me, tid;
	pthread_t thread;
};

static WL_NOINLINE void futex_wait_turn(int me)
{
	int v;

	while ((v = atomic_load(&turn)) != me) {
		atomic_fetch_add(&ctx.futex_waits, 1);
		syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
	}
}

static WL_NOINLINE void futex_pass(int to)
{
	atomic_store(&turn, to);
	syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *player_main(void *arg)
{
	struct player *p = arg;
	char tok = 'x';

	wl_name("%s", p->name);
	p->tid = wl_tid();
	for (long i = 0; i < ctx.rounds; i++) {
		if (ctx.mode == FUTEX) {
			futex_wait_turn(p->me);
			futex_pass(!p->me);
		} else if (p->me == 0) {
			if (write(pipe_ab[1], &tok, 1) != 1 || read(pipe_ba[0], &tok, 1) != 1)
				wl_die("pass the token");
		} else {
			if (read(pipe_ab[0], &tok, 1) != 1 || write(pipe_ba[1], &tok, 1) != 1)
				wl_die("pass the token");
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "futex", "pipe", NULL };
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct player ping = { .name = "ping", .me = 0 }, pong = { .name = "pong", .me = 1 };
	uint64_t start, elapsed;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': ctx.mode = wl_choice(optarg, "mode", modes); break;
		case 'r': ctx.rounds = wl_num(optarg, "rounds"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	wl_name("pingpong");
	if (pipe(pipe_ab) || pipe(pipe_ba))
		wl_die("create pipes");
	start = wl_now_ns();
	wl_check(pthread_create(&ping.thread, NULL, player_main, &ping), "create ping");
	wl_check(pthread_create(&pong.thread, NULL, player_main, &pong), "create pong");
	pthread_join(ping.thread, NULL);
	pthread_join(pong.thread, NULL);
	elapsed = wl_now_ns() - start;
	printf("mode=%s rounds=%ld elapsed_ns=%llu ns_per_round=%llu ping_tid=%d pong_tid=%d "
	       "futex_waits=%ld\n", modes[ctx.mode], ctx.rounds, (unsigned long long)elapsed,
	       (unsigned long long)(ctx.rounds ? elapsed / ctx.rounds : 0), ping.tid, pong.tid,
	       atomic_load(&ctx.futex_waits));
	return 0;
}
