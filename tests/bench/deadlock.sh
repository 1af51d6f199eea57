#!/bin/bash
# tests/bench/deadlock.sh BUILD — the cost of finding potential deadlocks, side by side in one
# run: lockloop (2 threads; W units of register-only work, then lock a shared mutex, increment,
# unlock; --nested takes outer_lock first, so every iteration makes a lock-order edge) at
# W = 0 (lock-bound) and W = 200 (about 1 us of work per lock), under
#   untraced, conlab deadlock --locks=uprobes and =preload, conlab record --locks=uprobes and
#   =preload (an EV_LOCK record per call, what contention's hold times need), Helgrind, DRD, TSan (lockloop.c rebuilt with clang -fsanitize=thread -O2 -g) and bcc's
#   deadlock tool (bpfcc-tools) when it runs here (else the reason is printed).
# The figure is the workload's own ns_per_iter (elapsed from thread start to join / iterations
# per thread), so tool start-up and reports are not counted. Repetitions are interleaved so
# drift on a shared VM hits every configuration alike; medians, ratios to the untraced median.
# Valgrind and bcc run fewer iterations (ns_per_iter is per iteration either way) and never
# while conlab's uprobes are attached (each run ends before the next starts).
set -u
B=${1:-build}
CONLAB=$B/conlab
WL=$B/workloads
SRC=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-5}
ITERS=${ITERS:-200000}
SLOW_ITERS=${SLOW_ITERS:-10000}	# Valgrind, bcc: 20-500x slower
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

source "$(dirname "$0")/lib.sh"

tools=(untraced conlab-uprobes conlab-preload record-uprobes record-preload)
declare -A why
if command -v valgrind > /dev/null; then tools+=(helgrind drd); else why[helgrind]="valgrind not installed"; fi
if command -v clang > /dev/null &&
   clang -fsanitize=thread -O2 -g -pthread -I"$SRC/workloads" "$SRC/workloads/lockloop.c" \
	-o "$TMP/lockloop_tsan" 2> "$TMP/tsan.err"; then
	tools+=(tsan)
else
	why[tsan]="cannot build with clang -fsanitize=thread: $(head -c 200 "$TMP/tsan.err")"
fi
BCC=$(command -v deadlock-bpfcc || command -v deadlock || true)
LIBC=$(ldd "$WL/lockloop" | awk '/libc.so.6/ {print $3}')

# bcc's tool attaches to a running PID: hold the program stopped until it says Tracing...
run_bcc() {
	local p i
	bash -c 'kill -STOP $$; exec "$@"' bcc "$@" > "$TMP/o" 2>/dev/null &
	p=$!
	sleep 0.2
	timeout 120 "$BCC" --binary "$LIBC" "$p" > "$TMP/bcc.out" 2>&1 &
	for ((i = 0; i < 600; i++)); do
		grep -q Tracing "$TMP/bcc.out" && break
		kill -0 $! 2> /dev/null || break
		sleep 0.1
	done
	if ! grep -q Tracing "$TMP/bcc.out"; then
		kill -KILL "$p" 2> /dev/null
		wait "$p" 2> /dev/null
		wait 2> /dev/null
		: > "$TMP/o"
		return
	fi
	kill -CONT "$p"
	wait "$p"
	sleep 0.5
	kill -INT %2 2> /dev/null
	wait 2> /dev/null
}
if [ -n "$BCC" ]; then
	run_bcc "$WL/lockloop" --work 0 --iters 100
	if [ -s "$TMP/o" ]; then
		tools+=(bcc)
	else
		why[bcc]="$BCC does not run here: $(grep -v '^ \|^Traceback' "$TMP/bcc.out" | grep . | tail -n 2 | tr '\n' ' ' | head -c 300)"
	fi
else
	why[bcc]="bpfcc-tools not installed (apt-get install bpfcc-tools)"
fi

# run TOOL ARGS...: one run, prints ns_per_iter (empty on failure)
run() {
	local tool=$1
	shift
	case $tool in
	untraced) "$WL/lockloop" "$@" --iters "$ITERS" > "$TMP/o" 2>/dev/null ;;
	conlab-uprobes) "$CONLAB" deadlock --quiet --locks=uprobes -o "$TMP/rep" -- "$WL/lockloop" \
		"$@" --iters "$ITERS" > "$TMP/o" 2>/dev/null ;;
	record-uprobes|record-preload) "$CONLAB" record --quiet --locks=${tool#record-} \
		-o "$TMP/rec.clab" -- "$WL/lockloop" "$@" --iters "$ITERS" > "$TMP/o" 2>/dev/null ;;
	conlab-preload) "$CONLAB" deadlock --quiet --locks=preload -o "$TMP/rep" -- "$WL/lockloop" \
		"$@" --iters "$ITERS" > "$TMP/o" 2>/dev/null ;;
	helgrind) valgrind -q --tool=helgrind "$WL/lockloop" "$@" --iters "$SLOW_ITERS" \
		> "$TMP/o" 2>/dev/null ;;
	drd) valgrind -q --tool=drd "$WL/lockloop" "$@" --iters "$SLOW_ITERS" > "$TMP/o" 2>/dev/null ;;
	tsan) "$TMP/lockloop_tsan" "$@" --iters "$ITERS" > "$TMP/o" 2>/dev/null ;;
	bcc) run_bcc "$WL/lockloop" "$@" --iters "$SLOW_ITERS" ;;
	esac
	kv "$TMP/o" ns_per_iter
}

bench() {
	local name=$1
	shift
	for t in "${tools[@]}"; do : > "$TMP/r.$t"; done
	for ((i = 0; i < RUNS; i++)); do
		for t in "${tools[@]}"; do
			# the slow ones: three runs place them
			case $t in helgrind|drd|bcc) [ "$i" -ge 3 ] && continue ;; esac
			run "$t" "$@" >> "$TMP/r.$t"
		done
	done
	printf '%s (lockloop %s)\n' "$name" "$*"
	ratio_table "$TMP" ns/iteration %10.0f "${tools[@]}"
	local b
	b=$(grep . "$TMP/r.untraced" | median)
	for t in conlab-uprobes conlab-preload record-uprobes record-preload; do
		[ -s "$TMP/r.$t" ] && printf '  %-16s %+.2f us added per iteration\n' "$t" \
			"$(awk "BEGIN {print ($(grep . "$TMP/r.$t" | median) - $b) / 1e3}")"
	done
}

echo "iterations per thread: $ITERS (Valgrind, bcc: $SLOW_ITERS); $RUNS interleaved rounds"
echo "conlab-uprobes: deadlock --locks=uprobes; conlab-preload: deadlock --locks=preload;"
echo "record-uprobes, record-preload: record --locks=uprobes / =preload (an EV_LOCK record a call)."
echo "--locks alone picks preload for these (a dynamically linked program conlab starts)."
# what conlab itself measures at start and says about its lock probes
"$CONLAB" deadlock --locks=uprobes -o /dev/null -- "$WL/lockloop" --iters 10 2>&1 >/dev/null |
	grep -- '--locks: [0-9]' | sed 's/^conlab: /conlab says: /'
for t in helgrind tsan bcc; do
	[ -n "${why[$t]:-}" ] && echo "not measured: $t: ${why[$t]}"
done
bench "W=0, lock-bound" --work 0
bench "W=200, ~1 us of work per lock" --work 200
bench "W=0, nested (an edge per iteration)" --work 0 --nested
bench "W=200, nested" --work 200 --nested
