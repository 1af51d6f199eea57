#!/bin/bash
# tests/bench/run.sh BUILD — every benchmark (make bench). Not tests: they print figures and
# ratios measured side by side in one run; nothing here passes or fails on a time.
# BENCH=name1,name2 runs a subset (names of tests/bench/*.sh without .sh).
DIR=$(cd "$(dirname "$0")" && pwd)
B=${1:-build}
for s in "$DIR"/*.sh; do
	n=$(basename "$s" .sh)
	case $n in run|lib) continue ;; esac	# the runner and the helpers it sources
	# minutes of lab checks, a determinism check rather than a figure: only when asked
	if [ "$n" = labs-repeat ] && ! echo ",${BENCH:-}," | grep -q ",$n,"; then continue; fi
	if [ -n "${BENCH:-}" ] && ! echo ",$BENCH," | grep -q ",$n,"; then continue; fi
	echo "== bench: $n"
	bash "$s" "$B" || echo "(bench $n failed: exit $?)"
	echo
done
