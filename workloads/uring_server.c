// SPDX-License-Identifier: GPL-2.0
/*
 * uring_server - lab 16, io_uring twin of epoll_server.
 *
 * Thread "loop" serves an echo protocol on 127.0.0.1 (ephemeral port) through one io_uring:
 * accept, recv and send requests, a timeout request re-armed every --tick-ms, and a read on
 * an eventfd to stop. Its idle time is spent in io_uring_enter (io_uring_submit_and_wait).
 * Thread "client" sends --requests fixed-size requests, --slow of them slow; the --handler
 * of a slow request behaves as in epoll_server (ok, sleep, cpu on the loop; thread hands it
 * to "worker", which sleeps and sends the reply itself).
 */
#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include "wl.h"

#define MSG 16
#define MAX_FD 1024

static const char usage[] =
	"Usage: uring_server [--handler ok|sleep|cpu|thread] [--requests N] [--slow N]\n"
	"                    [--block-ms N] [--tick-ms N]\n"
	"\n"
	"Lab 16: an io_uring echo server (thread loop) loaded by a client thread over 127.0.0.1.\n"
	"\n"
	"  --handler H   what a slow request does: ok, sleep (default), cpu, thread\n"
	"  --requests N  requests sent (default 20)\n"
	"  --slow N      of which slow, spread evenly (default 2)\n"
	"  --block-ms N  the slow handler's sleep or spin (default 200)\n"
	"  --tick-ms N   the loop's timeout period (default 10)\n"
	"  -h, --help    this text\n"
	"\n"
	"Last line: handler= requests= slow= block_ms= replies= port= loop_tid= client_tid=\n"
	"  worker_tid= iterations= idle_ns= busy_ns= max_gap_ns= ticks= max_tick_lag_ns=\n"
	"  max_latency_ns=\n";

enum handler { H_OK, H_SLEEP, H_CPU, H_THREAD };
enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_TICK, OP_STOP };

#define UDATA(op, fd) (((uint64_t)(op) << 32) | (uint32_t)(fd))

static struct {
	enum handler handler;
	long requests, slow, block_ms, tick_ms;
	int listen_fd, stop_fd, port;
	int loop_tid, client_tid, worker_tid;
	long iterations, replies, ticks;
	uint64_t idle_ns, busy_ns, max_gap_ns, max_tick_lag_ns, max_latency_ns;
	char bufs[MAX_FD][MSG];
	uint64_t stop_val;
	struct __kernel_timespec tick_ts;
	pthread_mutex_t work_lock;
	pthread_cond_t work_cond;
	int work_fd[64], work_n, work_stop;
} ctx = { .handler = H_SLEEP, .requests = 20, .slow = 2, .block_ms = 200, .tick_ms = 10,
	  .work_lock = PTHREAD_MUTEX_INITIALIZER, .work_cond = PTHREAD_COND_INITIALIZER };

static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	if (!sqe) {
		fprintf(stderr, "failed to get an io_uring sqe\n");
		exit(1);
	}
	return sqe;
}

static void arm_accept(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	io_uring_prep_accept(sqe, ctx.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, UDATA(OP_ACCEPT, ctx.listen_fd));
}

static void arm_recv(struct io_uring *ring, int fd)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	io_uring_prep_recv(sqe, fd, ctx.bufs[fd], MSG, MSG_WAITALL);
	io_uring_sqe_set_data64(sqe, UDATA(OP_RECV, fd));
}

static void arm_send(struct io_uring *ring, int fd)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	io_uring_prep_send(sqe, fd, ctx.bufs[fd], MSG, 0);
	io_uring_sqe_set_data64(sqe, UDATA(OP_SEND, fd));
}

static void arm_tick(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	io_uring_prep_timeout(sqe, &ctx.tick_ts, 0, 0);
	io_uring_sqe_set_data64(sqe, UDATA(OP_TICK, 0));
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
		char msg[MSG] = "done-slow";

		pthread_mutex_unlock(&ctx.work_lock);
		slow_sleep();
		if (send(fd, msg, MSG, 0) != MSG)
			wl_die("send reply");
		__atomic_add_fetch(&ctx.replies, 1, __ATOMIC_RELAXED);
		pthread_mutex_lock(&ctx.work_lock);
	}
	pthread_mutex_unlock(&ctx.work_lock);
	return NULL;
}

/* A whole request arrived on @fd: queue the reply, or hand it to the worker. */
static WL_NOINLINE void handle_request(struct io_uring *ring, int fd)
{
	if (ctx.bufs[fd][0] == 'S') {
		switch (ctx.handler) {
		case H_OK:
			break;
		case H_SLEEP:
			slow_sleep();	/* the bug: a blocking call on the loop thread */
			break;
		case H_CPU:
			slow_cpu();
			break;
		case H_THREAD:
			pthread_mutex_lock(&ctx.work_lock);
			if (ctx.work_n < (int)WL_ARRAY_SIZE(ctx.work_fd))
				ctx.work_fd[ctx.work_n++] = fd;
			pthread_cond_signal(&ctx.work_cond);
			pthread_mutex_unlock(&ctx.work_lock);
			arm_recv(ring, fd);	/* the client waits for the reply first */
			return;
		}
	}
	arm_send(ring, fd);
}

static void *loop_main(void *arg)
{
	struct io_uring ring;
	uint64_t period = (uint64_t)ctx.tick_ms * 1000000ull, tick_due, last_ret = 0;
	int running = 1, err;

	(void)arg;
	wl_name("loop");
	ctx.loop_tid = wl_tid();
	err = io_uring_queue_init(64, &ring, 0);
	if (err < 0) {
		errno = -err;
		wl_die("set up io_uring");
	}
	ctx.tick_ts.tv_sec = period / 1000000000;
	ctx.tick_ts.tv_nsec = period % 1000000000;
	arm_accept(&ring);
	struct io_uring_sqe *sqe = get_sqe(&ring);

	io_uring_prep_read(sqe, ctx.stop_fd, &ctx.stop_val, sizeof(ctx.stop_val), 0);
	io_uring_sqe_set_data64(sqe, UDATA(OP_STOP, ctx.stop_fd));
	arm_tick(&ring);
	tick_due = wl_now_ns() + period;

	while (running) {
		struct io_uring_cqe *cqe;
		uint64_t t_enter = wl_now_ns(), t_ret;
		unsigned head, seen = 0;

		if (last_ret) {
			uint64_t gap = t_enter - last_ret;

			ctx.busy_ns += gap;
			if (gap > ctx.max_gap_ns)
				ctx.max_gap_ns = gap;
		}
		err = io_uring_submit_and_wait(&ring, 1);
		t_ret = wl_now_ns();
		ctx.idle_ns += t_ret - t_enter;
		last_ret = t_ret;
		ctx.iterations++;
		if (err < 0 && err != -EINTR) {
			errno = -err;
			wl_die("wait on io_uring");
		}
		io_uring_for_each_cqe(&ring, head, cqe) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			int op = ud >> 32, fd = (int)(uint32_t)ud, res = cqe->res;

			seen++;
			switch (op) {
			case OP_STOP:
				running = 0;
				break;
			case OP_TICK: {
				uint64_t lag = t_ret > tick_due ? t_ret - tick_due : 0;

				if (lag > ctx.max_tick_lag_ns)
					ctx.max_tick_lag_ns = lag;
				ctx.ticks++;
				arm_tick(&ring);
				tick_due = t_ret + period;
				break;
			}
			case OP_ACCEPT:
				if (res >= 0 && res < MAX_FD)
					arm_recv(&ring, res);
				else if (res >= 0)
					close(res);
				arm_accept(&ring);
				break;
			case OP_RECV:
				if (res == MSG)
					handle_request(&ring, fd);
				else
					close(fd);
				break;
			case OP_SEND:
				if (res == MSG) {
					__atomic_add_fetch(&ctx.replies, 1, __ATOMIC_RELAXED);
					arm_recv(&ring, fd);
				} else {
					close(fd);
				}
				break;
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
	io_uring_queue_exit(&ring);
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
		wl_sleep_ms(5);
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
	wl_name("uring-main");
	ctx.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
	       handlers[ctx.handler], ctx.requests, ctx.slow, ctx.block_ms,
	       __atomic_load_n(&ctx.replies, __ATOMIC_RELAXED), ctx.port, ctx.loop_tid,
	       ctx.client_tid, ctx.worker_tid, ctx.iterations, (unsigned long long)ctx.idle_ns,
	       (unsigned long long)ctx.busy_ns, (unsigned long long)ctx.max_gap_ns, ctx.ticks,
	       (unsigned long long)ctx.max_tick_lag_ns, (unsigned long long)ctx.max_latency_ns);
	return 0;
}
