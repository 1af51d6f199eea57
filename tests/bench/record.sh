#!/bin/bash
# tests/bench/record.sh BUILD — overhead of `conlab record`, side by side in one run with the
# untraced program and `perf sched record`:
#   - a context-switch-bound ping-pong (two threads passing a token through a futex), pinned to
#     one CPU as in the research measurements (left free, the two threads bounce between the
#     VM's CPUs and the untraced time itself varies tenfold from run to run);
#   - a CPU-bound program.
# conlab runs three times: the default (switches and wakeups with their wait reasons and
# stacks, event-loop waits), light (--no-stacks --no-loop-waits: no syscall tracepoint at all)
# and with --futex-calls (a record per futex call, what --gil and --locks turn on).
# Runs are interleaved so drift on a shared VM hits every variant alike; medians, ratios to
# the untraced median, events, bytes per event, lost events. Then one more run of each conlab
# mode with CONLAB_BPF_STATS=1 (the kernel's run time per BPF program; kept out of the timed
# runs, since timing the programs costs them a little), and the README's table rows.
# "Empty hooks" is the floor under every mode: the same scheduler tracepoints with programs that
# do nothing (hooks.bpf.c, attached by hooks.c, both built here), no recorder at all.
set -u
B=${1:-build}
CONLAB=$B/conlab
WL=$B/workloads
RUNS=${RUNS:-7}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
have_perf=0
perf sched record -o "$TMP/probe.data" -- true > /dev/null 2>&1 && have_perf=1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HOOKS=""
clang -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I"$B" -c "$ROOT/tests/bench/hooks.bpf.c" \
	-o "$TMP/hooks.bpf.o" && cc -O2 "$ROOT/tests/bench/hooks.c" -lbpf -o "$TMP/hooks-run" &&
	"$TMP/hooks-run" "$TMP/hooks.bpf.o" true && HOOKS="$TMP/hooks-run $TMP/hooks.bpf.o"

source "$(dirname "$0")/lib.sh"

bench() {
	local name=$1 key=$2 tag=$3
	shift 3
	: > "$TMP/base"; : > "$TMP/perf"; : > "$TMP/hooks"
	for v in $VARIANTS; do : > "$TMP/$v"; done
	for ((i = 0; i < RUNS; i++)); do
		"$@" > "$TMP/o" 2>/dev/null; kv "$TMP/o" "$key" >> "$TMP/base"
		for v in $VARIANTS; do
			# shellcheck disable=SC2046
			"$CONLAB" record --quiet $(opts $v) -o "$TMP/$v.clab" -- "$@" > "$TMP/o" \
				2> "$TMP/$v.err"
			kv "$TMP/o" "$key" >> "$TMP/$v"
		done
		if [ $have_perf = 1 ]; then
			perf sched record -q -o "$TMP/perf.data" -- "$@" > "$TMP/o" 2>/dev/null
			kv "$TMP/o" "$key" >> "$TMP/perf"
		fi
		if [ -n "$HOOKS" ]; then
			$HOOKS "$@" > "$TMP/o" 2>/dev/null
			kv "$TMP/o" "$key" >> "$TMP/hooks"
		fi
	done
	local b f l x p="" pr="-" hr="-"
	b=$(median < "$TMP/base"); f=$(median < "$TMP/full"); l=$(median < "$TMP/light")
	x=$(median < "$TMP/futex")
	printf '%s\n  untraced %.1f ms | conlab %s | conlab light %s | conlab --futex-calls %s' \
		"$name" "$(awk "BEGIN {print $b / 1e6}")" "$(ratio "$f" "$b")" "$(ratio "$l" "$b")" \
		"$(ratio "$x" "$b")"
	if [ $have_perf = 1 ]; then
		p=$(median < "$TMP/perf")
		pr=$(ratio "$p" "$b")
		printf ' | perf sched record %s' "$pr"
	fi
	if [ -n "$HOOKS" ]; then
		hr=$(ratio "$(median < "$TMP/hooks")" "$b")
		printf ' | empty hooks %s' "$hr"
	fi
	echo
	local sizes=""
	for v in $VARIANTS; do
		local ev lost bytes
		ev=$(sed -n 's/.*recorded \([0-9]*\) events.*/\1/p' "$TMP/$v.err")
		lost=$(sed -n 's/.*, \([0-9]*\) lost$/\1/p' "$TMP/$v.err")
		bytes=$(stat -c %s "$TMP/$v.clab")
		printf '  conlab %-5s %8s events, %5.1f bytes/event, %s lost\n' "$v" "$ev" \
			"$(awk "BEGIN {print $bytes / ($ev ? $ev : 1)}")" "$lost"
		sizes="$sizes | $(awk "BEGIN {printf \"%.1f\", $bytes / ($ev ? $ev : 1)}") bytes/event"
	done
	if [ $have_perf = 1 ]; then
		local pev psize
		pev=$(perf script -i "$TMP/perf.data" 2>/dev/null | wc -l)
		psize=$(stat -c %s "$TMP/perf.data")
		printf '  perf sched   %8s events, %5.1f bytes/event\n' "$pev" \
			"$(awk "BEGIN {print $psize / ($pev ? $pev : 1)}")"
		sizes="$sizes | $(awk "BEGIN {printf \"%.0f\", $psize / ($pev ? $pev : 1)}") bytes/event"
	else
		sizes="$sizes | -"
	fi
	sizes="$sizes | -"
	# per BPF program: runs and ns a run, in one more run of each mode
	for v in $VARIANTS; do
		# shellcheck disable=SC2046
		CONLAB_BPF_STATS=1 "$CONLAB" record --quiet $(opts $v) -o "$TMP/s.clab" -- "$@" \
			> /dev/null 2> "$TMP/stats"
		echo "  conlab $v, per BPF program (runs, ns/run):$(sed -n \
			's/^conlab: bpf \([a-z_0-9]*\) *\([0-9]*\) runs *\([0-9]*\) ns.*/ \1 \2 x \3/p' \
			"$TMP/stats" | paste -sd, -)"
	done
	README_ROWS="$README_ROWS| $tag | $(ratio "$f" "$b") | $(ratio "$l" "$b") | $(ratio "$x" "$b") | $pr | $hr |
"
	[ -n "${SIZE_ROW:-}" ] || SIZE_ROW="| trace size, $tag$sizes |"
}

VARIANTS="full light futex"
# opts VARIANT: conlab record's options for it
opts() {
	case $1 in
	light) echo "--no-stacks --no-loop-waits" ;;
	futex) echo "--futex-calls" ;;
	esac
}
README_ROWS=""
SIZE_ROW=""
echo "record overhead: median of $RUNS interleaved runs, wall time of the measured section"
bench "ping-pong, futex, 20k rounds, both threads on CPU 0" elapsed_ns "futex ping-pong, both threads on one CPU" \
	taskset -c 0 "$WL/pingpong" --rounds 20000
bench "CPU-bound, 2 threads x 300 ms" wall_ns "CPU-bound, 2 threads" \
	"$WL/cpuburn" --threads 2 --ms 300
echo
echo "README form ($(date -u +%F), $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), load average $(cut -d" " -f1 /proc/loadavg)):"
echo "| workload | conlab | conlab light | conlab \`--futex-calls\` | \`perf sched record\` | empty hooks |"
echo "|---|---|---|---|---|---|"
printf '%s' "$README_ROWS"
echo "$SIZE_ROW"
