#!/bin/bash
# tests/run-unit.sh BUILD_DIR — run every cmocka unit test binary (no root needed); one totals
# line at the end, as the other suites print.
B=${1:-build}
pass=0 failed=()
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "== $(basename "$t")"
	if "$t"; then pass=$((pass + 1)); else failed+=("$(basename "$t")"); fi
done
echo "unit: $pass passed, ${#failed[@]} failed${failed:+ (${failed[*]})}"
[ ${#failed[@]} = 0 ]
