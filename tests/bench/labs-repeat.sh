#!/bin/bash
# tests/bench/labs-repeat.sh BUILD [RUNS] [LAB...] — is lab grading deterministic? Runs
# `conlab lab check` RUNS times (default 10) on every ready lab's reference (or the LABs
# named) while one CPU is kept busy by a spinning shell, and prints passes per lab. Exit 1
# if any lab's reference failed once. IDLE=1 runs without the busy CPU.
# Not part of `make bench` by default (minutes): BENCH=labs-repeat make bench, or run it.
B=${1:-build}
RUNS=${2:-10}
shift 2 2>/dev/null
CONLAB=$(cd "$B" && pwd)/conlab
OUT=$(mktemp -d /tmp/conlab-labs-repeat.XXXXXX)
hog=
cleanup() {
	[ -n "$hog" ] && kill "$hog" 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT
if [ -z "${IDLE:-}" ]; then
	sh -c 'while :; do :; done' &
	hog=$!
	echo "one CPU kept busy by pid $hog"
fi
labs="$*"
if [ -z "$labs" ]; then
	labs=$("$CONLAB" lab list | awk 'NR > 1 && $NF == "ready" {print $2}')
fi
bad=0
printf '%-22s %s\n' LAB "PASSES (of $RUNS) / failing expectations"
for lab in $labs; do
	ok=0
	failed=""
	for i in $(seq "$RUNS"); do
		out=$("$CONLAB" lab check "$lab" -q -d "$OUT/$lab-$i" 2>&1)
		if [ $? = 0 ]; then
			ok=$((ok + 1))
		else
			failed="$failed$(echo "$out" | grep '^FAIL ' | grep -v '^FAIL:' | cut -c1-70 |
				sed 's/^/\n    /')"
		fi
		rm -rf "$OUT/$lab-$i"
	done
	printf '%-22s %d/%d\n' "$lab" "$ok" "$RUNS"
	[ -n "$failed" ] && echo -e "$failed" | grep . | sort | uniq -c
	[ "$ok" = "$RUNS" ] || bad=1
done
exit $bad
