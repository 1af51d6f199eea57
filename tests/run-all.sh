#!/bin/bash
# tests/run-all.sh BUILD_DIR — everything `make test` runs: unit tests, workload checks,
# integration tests with real BPF, the unit tests again under ASan+UBSan and a short fuzz run
# (both in BUILD-fuzz, 10 s of fuzzing; `make fuzz` runs longer). Prints one totals line per
# suite and exits non-zero if any suite failed.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
status=0
start=$(date +%s)
# suite NAME CMD...: run one suite, then say how long it took (where the 10 minutes go)
suite() {
	local name=$1 t0=$(date +%s)
	shift
	"$@" || status=1
	echo "($name: $(( $(date +%s) - t0 )) s)"
}
suite unit "$ROOT"/tests/run-unit.sh "$B"
suite workloads "$ROOT"/tests/workloads/run.sh "$B"
# The instrumented tree the sanitizer and fuzz suites share builds while the integration tests
# run, at the lowest priority: those tests mostly wait for the programs they trace, and the
# half minute of compiling then costs nothing. The suites make it again (up to date by then:
# nothing to do, or whatever a failed prebuild left undone).
case $B in /*) AB=$B ;; *) AB=$ROOT/$B ;; esac
( renice -n 19 $BASHPID && . "$ROOT/tests/share-gen.sh" &&
	instrumented_make "$AB" unit-bins "$AB-fuzz/fuzz/fuzz_trace" ) > /dev/null 2>&1 &
prebuild=$!
suite integration "$ROOT"/tests/run-integration.sh "$B"
wait $prebuild
suite sanitizers "$ROOT"/tests/run-san.sh "$B"
suite fuzz "$ROOT"/tests/fuzz/run.sh "$B" "${FUZZ_TEST_SECONDS:-10}"
echo "all tests: $([ $status = 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - start )) s"
exit $status
