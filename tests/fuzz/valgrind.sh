#!/bin/bash
# tests/fuzz/valgrind.sh BUILD_DIR — every report kind in every format it has, under
# valgrind's memcheck, over real traces (a clean one, an overloaded one with lost events, a
# fork/exec one and a truncated copy): no invalid access, no definite or indirect leak.
# Run by `make fuzz` after the fuzzer (not by `make test`: it takes minutes).
# Totals line "valgrind: N passed, N failed".
#
# No recording runs while valgrind does: a uprobe on code a valgrind'd program executes
# kills it with SIGTRAP (docs/design.md), so the traces are all made first.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
CONLAB=$B/conlab
W=$B/workloads
T=$(mktemp -d /tmp/conlab-vg.XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0
failed=0

if ! command -v valgrind > /dev/null; then
	echo "valgrind: not installed (apt-get install valgrind)"
	echo "valgrind: 0 passed, 1 failed"
	exit 1
fi
"$CONLAB" record -o "$T/philo.clab" --quiet -- "$W/philo" --variant ordered --meals 10 \
	> /dev/null 2>&1
"$CONLAB" record -o "$T/lost.clab" --quiet --buffer 4096 -- \
	sh -c "for i in 1 2 3 4; do $W/pingpong --rounds 2000 & done; wait" > /dev/null 2>&1
"$CONLAB" record -o "$T/procs.clab" --quiet -- "$W/procs" --method spawn --children 3 \
	> /dev/null 2>&1
[ -s "$T/philo.clab" ] && head -c $(($(stat -c %s "$T/philo.clab") * 2 / 3)) "$T/philo.clab" \
	> "$T/cut.clab"

"$CONLAB" report --help | sed -n 's/^  \([a-z][a-z_-]*\) .*\[\(.*\)\]$/\1 \2/p' > "$T/kinds"
while read -r kind formats; do
	for f in $formats; do
		for tr in "$T"/*.clab; do
			valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
				--error-exitcode=99 "$CONLAB" report "$kind" -i "$tr" --format "$f" \
				-o "$T/out" > /dev/null 2> "$T/vg.err" < /dev/null
			rc=$?
			name="$kind --format $f $(basename "$tr")"
			if [ "$rc" = 99 ] || grep -q '^==[0-9]*== ' "$T/vg.err"; then
				echo "FAIL $name: $(grep -m3 '^==' "$T/vg.err" | tr '\n' ' ')"
				failed=$((failed + 1))
			elif [ "$rc" -ge 128 ]; then
				echo "FAIL $name: killed by signal $((rc - 128))"
				failed=$((failed + 1))
			else
				echo "ok   $name (exit $rc)"
				passed=$((passed + 1))
			fi
		done
	done
done < "$T/kinds"
echo "valgrind: $passed passed, $failed failed"
[ "$failed" = 0 ]
