#!/bin/bash
# tests/bench/python_locks.sh BUILD [N] — what `conlab deadlock --locks` costs a CPython program
# per threading.Lock acquire/release pair: N (default 200000) `with lock:` pairs in one thread
# (uncontended: a sem_trywait and its uretprobe, a sem_post) and N/20 pairs handed between two
# threads (contended: the waiter's sem_wait and its uretprobe too), timed by the program itself:
# the thread's CPU time for the uncontended loop (a trap is spent in that thread, and a busy
# machine's preemptions are not counted), wall time for the hand-offs. Plain and under the
# probes side by side in one run; BASE=OTHER_BUILD adds a column for another conlab build (the
# cost before a change).
set -u
B=${1:-build}
N=${2:-200000}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/conlab-bench-pylocks.XXXXXX)
trap 'rm -rf "$T"' EXIT

cat > "$T/pairs.py" <<'PYEOF'
import sys, threading, time
n, mode = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
if mode == "uncontended":
    t0 = time.thread_time()
    for _ in range(n):
        with lock:
            pass
    dt = time.thread_time() - t0
else:
    # two threads hand a token back and forth through two Locks: every acquire waits
    ping, pong = threading.Lock(), threading.Lock()
    ping.acquire(); pong.acquire()
    def other():
        for _ in range(n):
            ping.acquire()
            pong.release()
    t = threading.Thread(target=other)
    t.start()
    t0 = time.perf_counter()
    for _ in range(n):
        ping.release()
        pong.acquire()
    dt = time.perf_counter() - t0
    t.join()
print(f"ns_per_pair={dt / n * 1e9:.0f}")
PYEOF

run() {	# run BUILD MODE PAIRS: ns per pair (BUILD "": no conlab)
	local b=$1 mode=$2 n=$3
	if [ -z "$b" ]; then
		"$PY" "$T/pairs.py" "$n" "$mode"
	else
		"$b/conlab" deadlock --locks=uprobes --quiet --stall 0 -- "$PY" "$T/pairs.py" "$n" "$mode" \
			2>/dev/null
	fi | sed -n 's/^ns_per_pair=//p'
}

echo "python_locks: CPython 3.11 ($PY), one threading.Lock acquire/release pair, load $(cut -d' ' -f1 /proc/loadavg)"
printf "%-12s %8s %10s %12s %10s" case pairs plain_ns locks_ns added_us
[ -n "${BASE:-}" ] && printf " %12s" base_ns
echo
for mode in uncontended contended; do
	n=$N
	[ $mode = contended ] && n=$((N / 20))
	p=$(run "" $mode $n)
	l=$(run "$B" $mode $n)
	printf "%-12s %8d %10s %12s %10s" $mode $n "$p" "$l" \
		"$(awk -v p="$p" -v l="$l" 'BEGIN { printf "%.2f", (l - p) / 1000 }')"
	[ -n "${BASE:-}" ] && printf " %12s" "$(run "$BASE" $mode $n)"
	echo
done
echo "(contended: a pair is a release and an acquire that waits, in each of two threads)"
