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
ROUNDS=${ROUNDS:-5}
# Where the cost is: untraced; full recording; without user stacks; without the loop-wait
# probes (--no-loop-waits: scheduler, futex and process probes only). Alternated per
# round, medians at the end.
: > "$T/rates"
for round in $(seq "$ROUNDS"); do
	"$T/eload" "$SECS" > "$T/plain.out"
	"$B/conlab" record --quiet -o "$T/t.clab" -- "$T/eload" "$SECS" > "$T/traced.out" 2> "$T/err" ||
		{ echo "io bench: conlab record failed: $(tail -1 "$T/err")"; exit 1; }
	"$B/conlab" record --quiet --no-stacks -o "$T/ns.clab" -- "$T/eload" "$SECS" > "$T/nostk.out" 2>&1
	"$B/conlab" record --no-loop-waits --quiet -o "$T/nw.clab" -- "$T/eload" "$SECS" \
		> "$T/nowait.out" 2>&1
	p=$(rate "$T/plain.out"); t=$(rate "$T/traced.out"); n=$(rate "$T/nostk.out")
	w=$(rate "$T/nowait.out")
	echo "$p $t $n $w" >> "$T/rates"
	calls=$("$B/conlab" report io -i "$T/t.clab" --format json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["wait_calls"])')
	awk -v p="$p" -v t="$t" -v n="$n" -v w="$w" -v r="$round" -v c="$calls" -v s="$SECS" 'BEGIN {
		printf "io: round %d: untraced %.0f req/s; traced %.0f (%.3fx), --no-stacks %.0f " \
		       "(%.3fx), no loop-wait probes %.0f (%.3fx); %d loop waits recorded (%.0f/s)\n",
		       r, p, t, p / t, n, p / n, w, p / w, c, c / s }'
done
med() { sort -n -k"$1" "$T/rates" | awk -v k="$1" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
awk -v p="$(med 1)" -v t="$(med 2)" -v n="$(med 3)" -v w="$(med 4)" 'BEGIN {
	printf "io: median req/s: untraced %.0f, traced %.0f (%.3fx, target <= 1.05x), " \
	       "--no-stacks %.0f (%.3fx), without the loop-wait probes %.0f (%.3fx)\n",
	       p, t, p / t, n, p / n, w, p / w
	printf "io: cost per request: traced +%.2f us, of which loop-wait probes %.2f us, user " \
	       "stacks %.2f us, the rest (scheduler, futex probes) %.2f us\n",
	       1e6 / t - 1e6 / p, 1e6 / t - 1e6 / w, 1e6 / t - 1e6 / n, 1e6 / w - 1e6 / p }'

# The GIL uprobes: a Python loop of os.write + os.read on a pipe drops and takes the GIL twice
# per iteration (PyEval_SaveThread / RestoreThread around each call): ns per iteration
# untraced, recorded, recorded --gil; the difference of the last two over 2 is one pair.
cat > "$T/gilloop.py" <<'PY'
import os, sys, time
n = int(sys.argv[1]); r, w = os.pipe(); t0 = time.perf_counter_ns()
for _ in range(n):
    os.write(w, b"x"); os.read(r, 1)
print("ns_per_iter=%d" % ((time.perf_counter_ns() - t0) // n))
PY
nsit() { sed -n 's/^ns_per_iter=//p' "$1" | tail -1; }
: > "$T/gil"
for round in 1 2 3; do
	python3 "$T/gilloop.py" 200000 > "$T/g0.out"
	"$B/conlab" record --quiet -o "$T/g1.clab" -- python3 "$T/gilloop.py" 200000 > "$T/g1.out" 2>&1
	"$B/conlab" record --quiet --gil -o "$T/g2.clab" -- python3 "$T/gilloop.py" 200000 \
		> "$T/g2.out" 2>&1
	echo "$(nsit "$T/g0.out") $(nsit "$T/g1.out") $(nsit "$T/g2.out")" >> "$T/gil"
done
gm() { sort -n -k"$1" "$T/gil" | awk -v k="$1" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
gilrecs=$("$B/conlab" dump -i "$T/g2.clab" | grep -c ' gil ' || true)
awk -v a="$(gm 1)" -v b="$(gm 2)" -v c="$(gm 3)" -v g="$gilrecs" 'BEGIN {
	if (g == 0) { printf "gil: no GIL uprobe records (stripped interpreter?): %d ns/iter " \
	       "untraced, %d recorded\n", a, b; exit }
	printf "gil: os.write+os.read loop, median ns per iteration (2 drop_gil + 2 take_gil with " \
	       "returns): untraced %d, recorded %d, recorded --gil %d: the GIL uprobes add %d ns " \
	       "per drop+take pair (%d GIL records)\n", a, b, c, (c - b) / 2, g }'
