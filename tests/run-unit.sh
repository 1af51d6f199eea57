#!/bin/bash
# tests/run-unit.sh BUILD_DIR — run every cmocka unit test binary (no root needed).
B=${1:-build}
status=0
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "== $(basename "$t")"
	"$t" || status=1
done
exit $status
