// SPDX-License-Identifier: GPL-2.0
/*
 * epoll_server - lab 16: an event loop blocked by its handler.
 *
 * Thread "loop" runs an epoll echo server on 127.0.0.1 (an ephemeral port) with a 10 ms
 * timerfd tick; thread "client" connects and sends --requests fixed-size requests one after
 * the other, --slow of them marked slow. A slow request runs the --handler:
 *   ok     - no extra work: echo at once.
 *   sleep  - nanosleep(--block-ms) inside the handler, on the loop thread: the loop stops.
 *   cpu    - spin --block-ms on the loop thread: the loop stops, on CPU.
 *   thread - hand the request to thread "worker", which sleeps and replies itself: the loop
 *            keeps turning.
 * The loop measures itself: time inside epoll_wait (idle), the longest gap between a return
 * from epoll_wait and the next call (busy), and how late its ticks were served.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include "wl.h"

#define MSG 16
#define MAX_FD 1024

static const char usage[] =
	"Usage: epoll_server [--handler ok|sleep|cpu|thread] [--requests N] [--slow N]\n"
	"                    [--block-ms N] [--tick-ms N]\n"
	"\n"
	"Lab 16: an epoll echo server (thread loop) loaded by a client thread over 127.0.0.1.\n"
	"\n"
	"  --handler H   what a slow request does: ok, sleep (default), cpu, thread\n"
	"  --requests N  requests sent (default 20)\n"
	"  --slow N      of which slow, spread evenly (default 2)\n"
	"  --block-ms N  the slow handler's sleep or spin (default 200)\n"
	"  --tick-ms N   the loop's timer period (default 10)\n"
	"  -h, --help    this text\n"
	"\n"
	"Last line: handler= requests= slow= block_ms= replies= port= loop_tid= client_tid=\n"
	"  worker_tid= iterations= idle_ns= busy_ns= max_gap_ns= ticks= max_tick_lag_ns=\n"
	"  max_latency_ns=\n";

enum handler { H_OK, H_SLEEP, H_CPU, H_THREAD };

struct conn {
	char buf[MSG];
	int have;
};

static struct {
	enum handler handler;
	long requests, slow, block_ms, tick_ms;
	int listen_fd, stop_fd, port;
	int loop_tid, client_tid, worker_tid;
	long iterations, replies, ticks;
	uint64_t idle_ns, busy_ns, max_gap_ns, max_tick_lag_ns, max_latency_ns;
	struct conn conns[MAX_FD];
	/* the worker's queue of connection fds */
	pthread_mutex_t work_lock;
	pthread_cond_t work_cond;
	int work_fd[64], work_n, work_stop;
} ctx = { .handler = H_SLEEP, .requests = 20, .slow = 2, .block_ms = 200, .tick_ms = 10,
	  .work_lock = PTHREAD_MUTEX_INITIALIZER, .work_cond = PTHREAD_COND_INITIALIZER };

static WL_NOINLINE void reply(int fd, const char *msg)
{
	if (write(fd, msg, MSG) != MSG)
		wl_die("write reply");
	__atomic_add_fetch(&ctx.replies, 1, __ATOMIC_RELAXED);
}

static WL_NOINLINE void slow_sleep(void)
{
	wl_sleep_ms(ctx.block_ms);
}

static WL_NOINLINE void slow_cpu(void)
{
	wl_spin_ns((uint64_t)ctx.block_ms * 1000000ull);
}

static void *worker_main(void *arg)
{
	char msg[MSG];

	(void)arg;
	wl_name("worker");
	ctx.worker_tid = wl_tid();
	pthread_mutex_lock(&ctx.work_lock);
	for (;;) {
		while (!ctx.work_n && !ctx.work_stop)
			pthread_cond_wait(&ctx.work_cond, &ctx.work_lock);
		if (!ctx.work_n)
			break;
		int fd = ctx.work_fd[--ctx.work_n];

		pthread_mutex_unlock(&ctx.work_lock);
		slow_sleep();
		memset(msg, 0, sizeof(msg));
		memcpy(msg, "done-slow", 9);
		reply(fd, msg);
		pthread_mutex_lock(&ctx.work_lock);
	}
	pthread_mutex_unlock(&ctx.work_lock);
	return NULL;
}

/* One complete request on @fd: "F..." (fast) or "S..." (slow). */
static WL_NOINLINE void handle_request(int fd, char *msg)
{
	if (msg[0] == 'S') {
		switch (ctx.handler) {
		case H_OK:
			break;
		case H_SLEEP:
			slow_sleep();	/* the bug: a blocking call on the loop thread */
			break;
		case H_CPU:
			slow_cpu();	/* the bug: a long computation on the loop thread */
			break;
		case H_THREAD:
			pthread_mutex_lock(&ctx.work_lock);
			if (ctx.work_n < (int)WL_ARRAY_SIZE(ctx.work_fd))
				ctx.work_fd[ctx.work_n++] = fd;
			pthread_cond_signal(&ctx.work_cond);
			pthread_mutex_unlock(&ctx.work_lock);
			return;
		}
	}
	reply(fd, msg);
}

static void *loop_main(void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[16];
	struct itimerspec its = { 0 };
	int ep, tfd, running = 1;
	uint64_t period = (uint64_t)ctx.tick_ms * 1000000ull, next_tick, last_ret = 0;

	(void)arg;
	wl_name("loop");
	ctx.loop_tid = wl_tid();
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tfd < 0)
		wl_die("create epoll/timerfd");
	its.it_value.tv_nsec = its.it_interval.tv_nsec = period % 1000000000;
	its.it_value.tv_sec = its.it_interval.tv_sec = period / 1000000000;
	next_tick = wl_now_ns() + period;
	timerfd_settime(tfd, 0, &its, NULL);
	ev.data.fd = ctx.listen_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, ctx.listen_fd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.fd = ctx.stop_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, ctx.stop_fd, &ev);

	while (running) {
		uint64_t t_enter = wl_now_ns(), t_ret;
		int n;

		if (last_ret) {
			uint64_t gap = t_enter - last_ret;

			ctx.busy_ns += gap;
			if (gap > ctx.max_gap_ns)
				ctx.max_gap_ns = gap;
		}
		n = epoll_wait(ep, evs, WL_ARRAY_SIZE(evs), -1);
		t_ret = wl_now_ns();
		ctx.idle_ns += t_ret - t_enter;
		last_ret = t_ret;
		ctx.iterations++;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == ctx.stop_fd) {
				running = 0;
			} else if (fd == tfd) {
				uint64_t exp;

				if (read(tfd, &exp, sizeof(exp)) == sizeof(exp)) {
					uint64_t lag = t_ret > next_tick ? t_ret - next_tick : 0;

					if (lag > ctx.max_tick_lag_ns)
						ctx.max_tick_lag_ns = lag;
					ctx.ticks += exp;
					next_tick += exp * period;
				}
			} else if (fd == ctx.listen_fd) {
				int c = accept4(ctx.listen_fd, NULL, NULL,
						SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (c >= 0 && c < MAX_FD) {
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				} else if (c >= 0) {
					close(c);
				}
			} else {
				struct conn *cn = &ctx.conns[fd];
				ssize_t r = read(fd, cn->buf + cn->have, MSG - cn->have);

				if (r <= 0) {
					if (r == 0 || errno != EAGAIN) {
						epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
						close(fd);
					}
					continue;
				}
				cn->have += r;
				if (cn->have == MSG) {
					cn->have = 0;
					handle_request(fd, cn->buf);
				}
			}
		}
	}
	close(tfd);
	close(ep);
	return NULL;
}

static void *client_main(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(ctx.port) };
	long every = ctx.slow ? ctx.requests / ctx.slow : 0;
	int fd;

	(void)arg;
	wl_name("client");
	ctx.client_tid = wl_tid();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		wl_die("connect to the server");
	for (long i = 0; i < ctx.requests; i++) {
		char msg[MSG] = { 0 };
		int slow = every && i % every == every / 2 && i / every < ctx.slow;
		uint64_t t0 = wl_now_ns(), d;
		int got = 0;

		snprintf(msg, sizeof(msg), "%c-req-%d", slow ? 'S' : 'F', (int)(i % 1000000));
		if (write(fd, msg, MSG) != MSG)
			wl_die("send request");
		while (got < MSG) {
			ssize_t r = read(fd, msg + got, MSG - got);

			if (r <= 0)
				wl_die("read reply");
			got += r;
		}
		d = wl_now_ns() - t0;
		if (d > ctx.max_latency_ns)
			ctx.max_latency_ns = d;
		wl_sleep_ms(5);		/* think time between requests */
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const handlers[] = { "ok", "sleep", "cpu", "thread", NULL };
	static const struct option opts[] = {
		{ "handler", required_argument, NULL, 'H' },
		{ "requests", required_argument, NULL, 'n' },
		{ "slow", required_argument, NULL, 's' },
		{ "block-ms", required_argument, NULL, 'b' },
		{ "tick-ms", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	pthread_t loop, client, worker;
	uint64_t one = 1;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': ctx.handler = wl_choice(optarg, "handler", handlers); break;
		case 'n': ctx.requests = wl_num(optarg, "requests"); break;
		case 's': ctx.slow = wl_num(optarg, "slow"); break;
		case 'b': ctx.block_ms = wl_num(optarg, "block-ms"); break;
		case 't': ctx.tick_ms = wl_num(optarg, "tick-ms"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.slow > ctx.requests)
		ctx.slow = ctx.requests;
	if (ctx.tick_ms < 1)
		ctx.tick_ms = 1;
	wl_name("epoll-main");
	ctx.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctx.listen_fd < 0 || bind(ctx.listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(ctx.listen_fd, 16) || getsockname(ctx.listen_fd, (struct sockaddr *)&a, &alen))
		wl_die("listen on 127.0.0.1");
	ctx.port = ntohs(a.sin_port);
	ctx.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (ctx.stop_fd < 0)
		wl_die("create eventfd");
	if (ctx.handler == H_THREAD)
		wl_check(pthread_create(&worker, NULL, worker_main, NULL), "create worker");
	wl_check(pthread_create(&loop, NULL, loop_main, NULL), "create loop");
	wl_check(pthread_create(&client, NULL, client_main, NULL), "create client");
	pthread_join(client, NULL);
	if (write(ctx.stop_fd, &one, sizeof(one)) != sizeof(one))
		wl_die("stop the loop");
	pthread_join(loop, NULL);
	if (ctx.handler == H_THREAD) {
		pthread_mutex_lock(&ctx.work_lock);
		ctx.work_stop = 1;
		pthread_cond_signal(&ctx.work_cond);
		pthread_mutex_unlock(&ctx.work_lock);
		pthread_join(worker, NULL);
	}
	printf("handler=%s requests=%ld slow=%ld block_ms=%ld replies=%ld port=%d loop_tid=%d "
	       "client_tid=%d worker_tid=%d iterations=%ld idle_ns=%llu busy_ns=%llu "
	       "max_gap_ns=%llu ticks=%ld max_tick_lag_ns=%llu max_latency_ns=%llu\n",
	       handlers[ctx.handler], ctx.requests, ctx.slow, ctx.block_ms, ctx.replies, ctx.port,
	       ctx.loop_tid, ctx.client_tid, ctx.worker_tid, ctx.iterations,
	       (unsigned long long)ctx.idle_ns, (unsigned long long)ctx.busy_ns,
	       (unsigned long long)ctx.max_gap_ns, ctx.ticks,
	       (unsigned long long)ctx.max_tick_lag_ns, (unsigned long long)ctx.max_latency_ns);
	return 0;
}
