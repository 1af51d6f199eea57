#!/bin/bash
# tests/bench/contention.sh BUILD — overhead of `conlab contention` (with and without lock
# uprobes), side by side in one run with the untraced program and the anchors that run here:
# `perf lock record` (Debian linux-perf), a bpftrace futex one-liner (when bpftrace is
# installed) and Valgrind's DRD. Two workloads: a contended mutex (table --locks global) and
# an uncontended lock-heavy loop (lockloop, one thread). The figure is the workload's own
# elapsed_ns (thread start to join), so tool start-up and report time are not counted.
# Runs are interleaved so drift on a shared VM hits every configuration alike; medians and
# ratios to the untraced median. Target: conlab without --locks <= 1.05x.
set -u
B=${1:-build}
CONLAB=$B/conlab
WL=$B/workloads
RUNS=${RUNS:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

source "$(dirname "$0")/lib.sh"

tools=(untraced conlab conlab-locks)
perf lock record -q -o "$TMP/probe.data" -- true > /dev/null 2>&1 && tools+=(perf-lock)
command -v bpftrace > /dev/null && tools+=(bpftrace-futex)
command -v valgrind > /dev/null && tools+=(drd)

# run TOOL CMD...: one run under TOOL, prints the workload's elapsed_ns (empty on failure)
run() {
	local tool=$1
	shift
	case $tool in
	untraced) "$@" ;;
	conlab) "$CONLAB" contention --quiet -o "$TMP/rep" --trace "$TMP/t.clab" -- "$@" 2>/dev/null ;;
	conlab-locks) "$CONLAB" contention --quiet --locks -o "$TMP/rep" --trace "$TMP/t.clab" -- "$@" \
		2>/dev/null ;;
	perf-lock) perf lock record -q -o "$TMP/perf.data" -- "$@" 2>/dev/null ;;
	bpftrace-futex)
		# the classic futex wait-time one-liner, keyed by address and 6 user frames
		bpftrace -q -e 'tracepoint:syscalls:sys_enter_futex /pid == cpid/ { @s[tid] = nsecs;
			@a[tid] = args->uaddr; } tracepoint:syscalls:sys_exit_futex /@s[tid]/ {
			@w[@a[tid], ustack(6)] = sum(nsecs - @s[tid]); delete(@s[tid]); }' \
			-c "$*" 2>/dev/null | grep -E '^threads=|^locks=' ;;
	drd) valgrind -q --tool=drd "$@" 2>/dev/null ;;
	esac > "$TMP/o"
	kv "$TMP/o" elapsed_ns
}

bench() {
	local name=$1
	shift
	for t in "${tools[@]}"; do : > "$TMP/r.$t"; done
	for ((i = 0; i < RUNS; i++)); do
		for t in "${tools[@]}"; do
			# DRD is 20-100x slower: one run is enough to place it
			[ "$t" = drd ] && [ "$i" -gt 0 ] && continue
			run "$t" "$@" >> "$TMP/r.$t"
		done
	done
	printf '%s (%s)\n' "$name" "$*"
	ratio_table "$TMP" ns %12.0f "${tools[@]}"
}

bench "contended mutex" "$WL/table" --locks global --threads 2 --ops 20000 --hold-ns 2000 \
	--think-ns 2000
bench "uncontended lock loop" "$WL/lockloop" --threads 1 --iters 2000000 --work 20
