#!/bin/bash
# tests/bench/record.sh BUILD — overhead of `conlab record`, side by side in one run with the
# untraced program and `perf sched record`, on a context-switch-heavy workload (two threads
# ping-ponging through a futex) and a CPU-bound one. Runs are interleaved (untraced, conlab,
# perf, untraced, ...) so drift on a shared VM hits all three alike; we report the median
# of each and the ratios. Also: events/s, bytes per event, lost events.
set -u
B=${1:-build}
CONLAB=$B/conlab
WL=$B/workloads
RUNS=${RUNS:-7}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
have_perf=0
perf sched record -o "$TMP/probe.data" -- true > /dev/null 2>&1 && have_perf=1

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
kv() { tail -n 1 "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

bench() {
	local name=$1 key=$2
	shift 2
	: > "$TMP/base" ; : > "$TMP/conlab" ; : > "$TMP/perf"
	for ((i = 0; i < RUNS; i++)); do
		"$@" > "$TMP/o" 2>/dev/null; kv "$TMP/o" "$key" >> "$TMP/base"
		"$CONLAB" record --quiet -o "$TMP/t.clab" -- "$@" > "$TMP/o" 2> "$TMP/err"
		kv "$TMP/o" "$key" >> "$TMP/conlab"
		if [ $have_perf = 1 ]; then
			perf sched record -q -o "$TMP/perf.data" -- "$@" > "$TMP/o" 2>/dev/null
			kv "$TMP/o" "$key" >> "$TMP/perf"
		fi
	done
	local b c p ev bytes lost pev psize
	b=$(median < "$TMP/base"); c=$(median < "$TMP/conlab")
	ev=$(sed -n 's/.*recorded \([0-9]*\) events.*/\1/p' "$TMP/err")
	lost=$(sed -n 's/.*, \([0-9]*\) lost$/\1/p' "$TMP/err")
	bytes=$(stat -c %s "$TMP/t.clab")
	printf '%-28s untraced %10.0f ns   conlab %10.0f ns  (%.3fx)' "$name" "$b" "$c" \
		"$(awk "BEGIN {print $c / $b}")"
	if [ $have_perf = 1 ]; then
		p=$(median < "$TMP/perf")
		printf '   perf sched record %10.0f ns  (%.3fx)' "$p" "$(awk "BEGIN {print $p / $b}")"
	fi
	echo
	printf '%-28s conlab: %s events, %.1f bytes/event, %s lost' "" "$ev" \
		"$(awk "BEGIN {print $bytes / $ev}")" "$lost"
	if [ $have_perf = 1 ]; then
		pev=$(perf script -i "$TMP/perf.data" 2>/dev/null | wc -l)
		psize=$(stat -c %s "$TMP/perf.data")
		printf ';  perf sched: %s events, %.1f bytes/event' "$pev" "$(awk "BEGIN {print $psize / $pev}")"
	fi
	echo
}

echo "record overhead: median of $RUNS interleaved runs (wall time of the measured section)"
bench "ping-pong (futex, 20k rounds)" elapsed_ns "$WL/pingpong" --rounds 20000
bench "CPU-bound (2 threads x 300ms)" wall_ns "$WL/cpuburn" --threads 2 --ms 300
