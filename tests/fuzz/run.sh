#!/bin/bash
# tests/fuzz/run.sh BUILD_DIR SECONDS — fuzz the trace reader, the model and every report.
#
#   1. build tests/fuzz/fuzz_trace.c with clang, -fsanitize=fuzzer,address,undefined, against
#      the tools objects compiled with -fsanitize=fuzzer-no-link in their own tree BUILD-fuzz;
#   2. record a few real traces with BUILD/conlab (forks, execs, a thread storm, an overloaded
#      run with lost events) and cut them into small seed traces (seeds.py);
#   3. replay the seeds, then fuzz for SECONDS (libFuzzer -max_total_time).
#
# Crashes are kept as BUILD-fuzz/crash-*; replay one with BUILD-fuzz/fuzz/fuzz_trace FILE.
# Prints a totals line "fuzz: N passed, N failed" (one check per step) and exits non-zero on
# any failure. `make fuzz` runs it for FUZZ_SECONDS (60); `make test` for 10 seconds.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-build}
SECS=${2:-60}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
F=$B-fuzz
FUZZER=$F/fuzz/fuzz_trace
CLANG=${CLANG:-clang}
passed=0
failed=0

ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: ${2:-}"; failed=$((failed + 1)); }
totals() {
	echo "fuzz: $passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit $?
}

# 1. build (the BPF parts are the main build's: only the C objects are compiled again)
. "$ROOT/tests/share-gen.sh"
if ! out=$(CLANG=$CLANG instrumented_make "$B" "$FUZZER" 2>&1); then
	bad "build the fuzz harness" "$(echo "$out" | tail -3 | tr '\n' ' ')"
	totals
fi
ok "build the fuzz harness ($FUZZER)"

# 2. seeds from real traces, made now (nothing binary is kept in the repository)
SEEDS=$F/seeds
TRACES=$F/traces
rm -rf "$SEEDS" "$TRACES"
mkdir -p "$SEEDS" "$TRACES"
rec() {
	local name=$1
	shift
	timeout 60 "$B/conlab" record --quiet -o "$TRACES/$name.clab" "$@" > /dev/null 2>&1 ||
		echo "note: recording $name failed (exit $?)"
}
if [ "$(id -u)" = 0 ] && [ -x "$B/conlab" ] &&
	"$B/conlab" record --quiet -o "$TRACES/true.clab" -- /bin/true > /dev/null 2>&1; then
	W=$B/workloads
	rec pingpong -- "$W/pingpong" --rounds 300
	rec philo -- "$W/philo" --variant ordered --meals 5
	rec procs -- "$W/procs" --method spawn --children 3 --work-ms 5
	rec exec -- sh -c "exec $W/pingpong --mode pipe --rounds 200"
	rec storm -- python3 -c 'import threading
ts = [threading.Thread(target=lambda: None) for _ in range(300)]
[t.start() for t in ts]; [t.join() for t in ts]'
	rec lost --buffer 4096 -- sh -c "for i in 1 2 3 4; do $W/pingpong --rounds 3000 & done; wait"
	rec pcqueue -- "$W/pcqueue" --variant ok --items 200
else
	echo "note: cannot record here (needs root and BPF): seeding from parser inputs only"
fi
if out=$(python3 "$ROOT/tests/fuzz/seeds.py" "$SEEDS" "$TRACES"/*.clab 2>&1); then
	echo "$out"
	ok "seed corpus ($(ls "$SEEDS" | wc -l) inputs)"
else
	bad "seed corpus" "$out"
fi

# 3. replay the seeds, then fuzz. Reports go to /dev/null and conlab's messages (fd 2) are
# closed: libFuzzer keeps its own copy of stderr for its findings.
COMMON=(-max_len=65536 -rss_limit_mb=2048 -timeout=20 -close_fd_mask=2
	-artifact_prefix="$F/" -print_final_stats=1)
if out=$("$FUZZER" "${COMMON[@]}" -runs=0 "$SEEDS" 2>&1); then
	ok "replay the seeds"
else
	bad "replay the seeds" "$(echo "$out" | grep -E 'ERROR|SUMMARY|Test unit written' | head -3 | tr '\n' ' ')"
fi
WORK=$F/corpus
mkdir -p "$WORK"
LOG=$F/fuzz.log
"$FUZZER" "${COMMON[@]}" -max_total_time="$SECS" "$WORK" "$SEEDS" > "$LOG" 2>&1
rc=$?
stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$LOG" |
	sed 's/^stat:://' | tr -s ' \n' ' ')
cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$LOG" | tail -1)
if [ "$rc" = 0 ]; then
	ok "fuzz ${SECS}s: $stats$cov"
else
	bad "fuzz ${SECS}s" "exit $rc; $(grep -E 'ERROR|SUMMARY|Test unit written' "$LOG" | head -3 | tr '\n' ' ') (log $LOG)"
fi
totals
