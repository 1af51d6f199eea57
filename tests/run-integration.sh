#!/bin/bash
# tests/run-integration.sh BUILD_DIR — run every integration test script; totals at the end.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
passed=0 failed=0 skipped=0 status=0
for t in "$ROOT"/tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	echo "== $(basename "$t")"
	t0=$(date +%s)
	out=$(bash "$t" "$B" 2>&1)
	rc=$?
	echo "$out"
	echo "   ($(basename "$t" .sh): $(( $(date +%s) - t0 )) s)"
	line=$(echo "$out" | grep -E '^[a-z_0-9-]+: [0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -z "$line" ]; then
		echo "FAIL $(basename "$t"): exited $rc without a totals line"
		failed=$((failed + 1)); status=1; continue
	fi
	set -- $(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/')
	passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0}))
	[ "$rc" = 0 ] || status=1
done
echo "integration: $passed passed, $failed failed, $skipped skipped"
exit $status
