#!/bin/bash
# tests/bench/python_stacks.sh BUILD — what the Python stacks cost the traced program: the
# kernel's run time of the sched_switch program (CONLAB_BPF_STATS) with the Python stack walk on
# (the default) and off (CONLAB_PY_STACKS=0), side by side in one run:
#   - a Python ping-pong: two threads pass a token through two threading.Locks, each at a
#     Python depth of D frames (D = 2 and 20), so every round is two blocking switch-outs of a
#     Python thread; the added cost per blocking switch = the difference of the program's total
#     run time divided by the EV_PY_STACK records of the run (target: at most 1.5 µs);
#   - the C ping-pong: no CPython process, so the walk is never reached (py_nprocs is 0): the
#     ns per run of sched_switch on and off should be the same within noise.
#   - the GIL workload: the program's own wall time untraced and recorded with the stacks on and
#     off, as ratios.
# Runs alternate on and off; medians of RUNS (default 5).
set -u
B=${1:-build}
CONLAB=$B/conlab
RUNS=${RUNS:-5}
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
source "$(dirname "$0")/lib.sh"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
	echo "python-stacks: skipped: $PY is not CPython 3.11"
	exit 0
fi
cat > "$TMP/pp.py" <<'EOF'
import sys, threading, time
n, depth = int(sys.argv[1]), int(sys.argv[2])
a, b = threading.Lock(), threading.Lock()
a.acquire(); b.acquire()
def deep(d, f):
    return deep(d - 1, f) if d > 0 else f()
def other():
    for _ in range(n):
        a.acquire(); b.release()
def main():
    for _ in range(n):
        a.release(); b.acquire()
t = threading.Thread(target=deep, args=(depth, other)); t.start()
t0 = time.perf_counter_ns(); deep(depth, main); t.join()
print(f"ns={time.perf_counter_ns() - t0}")
EOF

# run ON NAME CMD...: one recording with CONLAB_PY_STACKS=ON; appends "total_ns runs stacks"
run() {
	local on=$1 name=$2
	shift 2
	CONLAB_PY_STACKS=$on CONLAB_BPF_STATS=1 "$CONLAB" record --quiet -o "$TMP/r.clab" -- "$@" \
		> /dev/null 2> "$TMP/err"
	local line runs ns stacks
	line=$(grep 'bpf tp_switch ' "$TMP/err")
	runs=$(echo "$line" | awk '{print $4}')
	ns=$(echo "$line" | awk '{print $6}')
	stacks=$("$CONLAB" dump -i "$TMP/r.clab" | grep -ac ' pystack ')
	echo "$((runs * ns)) $runs $stacks" >> "$TMP/$name.$on"
}

# per_stack NAME: median over runs of (total on - total off) / stacks on, in ns
per_stack() {
	paste -d' ' "$TMP/$1.1" "$TMP/$1.0" |
		awk '$3 > 0 {printf "%.0f\n", ($1 - $4) / $3}' | median
}
col() { awk "{print \$$2}" "$TMP/$1" | median; }

echo "python-stacks: $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs, Linux $(uname -r)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg), $("$PY" -V 2>&1) (Debian)"
for d in 2 20; do
	for ((i = 0; i < RUNS; i++)); do
		run 1 "py$d" "$PY" "$TMP/pp.py" 20000 "$d"
		run 0 "py$d" "$PY" "$TMP/pp.py" 20000 "$d"
	done
	printf '  Python ping-pong, depth %2d: sched_switch %s ns/run on, %s off; %s Python stacks a run;' \
		"$d" "$(awk '{printf "%.0f\n", $1 / $2}' "$TMP/py$d.1" | median)" \
		"$(awk '{printf "%.0f\n", $1 / $2}' "$TMP/py$d.0" | median)" "$(col "py$d.1" 3)"
	printf ' added %s ns per blocking switch (target <= 1500)\n' "$(per_stack "py$d")"
done
for ((i = 0; i < RUNS; i++)); do
	run 1 c taskset -c 0 "$B/workloads/pingpong" --rounds 20000
	run 0 c taskset -c 0 "$B/workloads/pingpong" --rounds 20000
done
printf '  C ping-pong: sched_switch %s ns/run with Python stacks on, %s off (no CPython process: the walk is never reached)\n' \
	"$(awk '{printf "%.0f\n", $1 / $2}' "$TMP/c.1" | median)" \
	"$(awk '{printf "%.0f\n", $1 / $2}' "$TMP/c.0" | median)"

# The GIL workload (workloads/python/gil.py: 4 threads of pure-Python loops, 100 ms of CPU each,
# the GIL handed over every switch interval, each hand-off a blocking switch of a Python
# thread): its own wall time untraced, recorded with the Python stacks on and off.
GILPY=$(cd "$(dirname "$0")/../.." && pwd)/workloads/python/gil.py
gil_run() {
	local name=$1
	shift
	"$@" "$PY" "$GILPY" --threads 4 --ms 100 > "$TMP/g.out" 2> /dev/null
	kv "$TMP/g.out" wall_ns >> "$TMP/gil.$name"
}
for ((i = 0; i < RUNS; i++)); do
	gil_run untraced
	gil_run on env CONLAB_PY_STACKS=1 "$CONLAB" record --quiet -o "$TMP/g.clab" --
	gil_run off env CONLAB_PY_STACKS=0 "$CONLAB" record --quiet -o "$TMP/g.clab" --
done
u=$(median < "$TMP/gil.untraced")
printf '  GIL workload (4 threads): %.0f ms untraced; recorded %s with Python stacks, %s without\n' \
	"$(awk "BEGIN {print $u / 1e6}")" "$(ratio "$(median < "$TMP/gil.on")" "$u")" \
	"$(ratio "$(median < "$TMP/gil.off")" "$u")"
