#!/bin/bash
# tests/run-all.sh BUILD_DIR — everything `make test` runs: unit tests, workload checks,
# integration tests with real BPF. Prints one totals line per suite and exits non-zero if
# any suite failed.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
status=0
start=$(date +%s)
"$ROOT"/tests/run-unit.sh "$B" || status=1
"$ROOT"/tests/workloads/run.sh "$B" || status=1
"$ROOT"/tests/run-integration.sh "$B" || status=1
echo "all tests: $([ $status = 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - start )) s"
exit $status
