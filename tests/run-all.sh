#!/bin/bash
# tests/run-all.sh BUILD_DIR — everything `make test` runs: unit tests, workload checks,
# integration tests with real BPF, the unit tests again under ASan+UBSan (BUILD-san) and a
# short fuzz run (BUILD-fuzz, 20 s; `make fuzz` runs longer). Prints one totals line per
# suite and exits non-zero if any suite failed.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
status=0
start=$(date +%s)
"$ROOT"/tests/run-unit.sh "$B" || status=1
"$ROOT"/tests/workloads/run.sh "$B" || status=1
"$ROOT"/tests/run-integration.sh "$B" || status=1
"$ROOT"/tests/run-san.sh "$B" || status=1
"$ROOT"/tests/fuzz/run.sh "$B" "${FUZZ_TEST_SECONDS:-20}" || status=1
echo "all tests: $([ $status = 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - start )) s"
exit $status
