#!/bin/bash
# tests/bench/io.sh BUILD [SECONDS] — the loop-wait probes' cost on a loaded epoll server:
# requests/s of an epoll echo server on 127.0.0.1 driven flat out by 2 client threads (no
# think time: every request is an epoll_wait, a read and a write on the loop thread), untraced
# and under `conlab record`, side by side, 5 rounds alternated, then the medians (this VM's
# loopback rate swings by 2x between runs: read the medians). Target: ratio <= 1.05x.
# (build/workloads/epoll_server paces its client with a 5 ms think time, so it cannot load a
# loop; this bench builds its own flat-out twin.)
set -u
B=${1:-build}
SECS=${2:-2}
T=$(mktemp -d /tmp/conlab-bench-io.XXXXXX)
trap 'rm -rf "$T"' EXIT
cat > "$T/eload.c" <<'C'
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, ep, lfd;
static volatile int stop;
static long served[2];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *client(void *arg)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char buf[16] = "ping";
	long n = 0;

	if (connect(fd, (void *)&a, sizeof(a)))
		exit(2);
	while (!stop) {
		if (write(fd, buf, 16) != 16 || read(fd, buf, 16) <= 0)
			break;
		n++;
	}
	served[(long)arg] = n;
	close(fd);
	return NULL;
}

static void *loop(void *arg)
{
	struct epoll_event ev = {.events = EPOLLIN}, evs[16];
	char buf[16];

	(void)arg;
	for (;;) {
		int n = epoll_wait(ep, evs, 16, 100);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c = accept(lfd, NULL, NULL);

				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
			} else if (read(fd, buf, 16) > 0) {
				if (write(fd, buf, 16) != 16)
					close(fd);
			} else {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
		if (stop && n == 0)
			return NULL;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	struct epoll_event ev = {.events = EPOLLIN};
	double secs = argc > 1 ? atof(argv[1]) : 2, t0;
	pthread_t l, c[2];

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(lfd, (void *)&a, sizeof(a)) || listen(lfd, 8) || getsockname(lfd, (void *)&a, &al))
		return 2;
	port = ntohs(a.sin_port);
	ep = epoll_create1(0);
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	pthread_create(&l, NULL, loop, NULL);
	t0 = now();
	for (long i = 0; i < 2; i++)
		pthread_create(&c[i], NULL, client, (void *)i);
	while (now() - t0 < secs)
		usleep(10000);
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(c[i], NULL);
	printf("requests_per_s=%.0f\n", (served[0] + served[1]) / (now() - t0));
	pthread_join(l, NULL);
	return 0;
}
C
cc -O2 -pthread -o "$T/eload" "$T/eload.c" || { echo "io bench: cannot build the load program"; exit 1; }
rate() { sed -n 's/^requests_per_s=//p' "$1" | tail -1; }
for round in 1 2 3 4 5; do
	"$T/eload" "$SECS" > "$T/plain.out"
	"$B/conlab" record --quiet -o "$T/t.clab" -- "$T/eload" "$SECS" > "$T/traced.out" 2> "$T/err" ||
		{ echo "io bench: conlab record failed: $(tail -1 "$T/err")"; exit 1; }
	p=$(rate "$T/plain.out")
	t=$(rate "$T/traced.out")
	echo "$p $t" >> "$T/rates"
	calls=$("$B/conlab" report io -i "$T/t.clab" --format json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["wait_calls"])')
	awk -v p="$p" -v t="$t" -v r="$round" -v c="$calls" -v s="$SECS" 'BEGIN {
		printf "io: round %d: untraced %.0f req/s, traced %.0f req/s: %.3fx slower " \
		       "(target <= 1.05x); %d loop waits recorded (%.0f/s)\n", r, p, t, p / t, c, c / s }'
done
sort -n -k1 "$T/rates" | awk '{ p[NR] = $1 } END { print p[int((NR + 1) / 2)] }' > "$T/pm"
sort -n -k2 "$T/rates" | awk '{ t[NR] = $2 } END { print t[int((NR + 1) / 2)] }' > "$T/tm"
awk -v p="$(cat "$T/pm")" -v t="$(cat "$T/tm")" 'BEGIN {
	printf "io: median untraced %.0f req/s, traced %.0f req/s: %.3fx (target <= 1.05x)\n", p, t, p / t }'
