#!/bin/bash
# tests/run-san.sh BUILD_DIR — the unit tests built with AddressSanitizer and UBSan (any
# finding, leaks included, fails the test) in the instrumented tree BUILD-fuzz that the fuzz
# harness shares (share-gen.sh), never mixed with the normal build.
# Totals line "san-unit: N passed, N failed".
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
S=$B-fuzz
passed=0
failed=0
. "$ROOT/tests/share-gen.sh"
if ! out=$(instrumented_make "$B" unit-bins 2>&1); then
	echo "FAIL sanitizer build: $(echo "$out" | tail -3 | tr '\n' ' ')"
	echo "san-unit: 0 passed, 1 failed"
	exit 1
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "$S"/tests/test_*; do
	[ -x "$t" ] || continue
	if out=$("$t" 2>&1); then
		echo "ok   $(basename "$t") (address,undefined)"
		passed=$((passed + 1))
	else
		echo "FAIL $(basename "$t") (address,undefined):"
		echo "$out" | grep -E 'ERROR|SUMMARY|runtime error|FAILED|\[  FAILED' | head -5
		failed=$((failed + 1))
	fi
done
echo "san-unit: $passed passed, $failed failed"
[ "$failed" = 0 ]
