#!/bin/bash
# test_lab.sh — conlab lab end to end, with BPF: every lab's reference solution must pass
# `conlab lab check`, its broken variant must fail on the key expectation; optional labs
# must say what is missing; `lab run` must record, report and write the timeline files.
source "$(dirname "$0")/lib.sh"

require_bpf "lab"

names=$("$CONLAB" lab list --names)
n=$(echo "$names" | grep -c .)
[ "$n" -ge 18 ] && pass "lab list --names: $n labs" || fail "lab list --names" "only $n labs"
check "lab list" bash -c "'$CONLAB' lab list | grep -q '^6 .*06-granularity.*ready'"

for lab in $names; do
	status=$("$CONLAB" lab list | awk -v l="$lab" '$2 == l' | grep -o 'needs: .*')
	if [ -n "$status" ]; then
		# not runnable here: check must refuse, naming what is missing
		out=$("$CONLAB" lab check "$lab" -q -d "$TMP/$lab" 2>&1)
		rc=$?
		if [ $rc = 2 ] && echo "$out" | grep -q "missing\|--program"; then
			pass "$lab: not runnable here, says why ($status)"
		else
			fail "$lab: not runnable" "exit $rc: $out"
		fi
		continue
	fi
	out=$("$CONLAB" lab check "$lab" -q -d "$TMP/$lab-ref" 2>&1)
	rc=$?
	if [ $rc = 0 ] && ! echo "$out" | grep -q '^FAIL'; then
		pass "$lab: reference passes"
	else
		fail "$lab: reference" "exit $rc: $(echo "$out" | grep -A1 '^FAIL' | head -6 | tr '\n' ' ')"
	fi
	out=$("$CONLAB" lab check "$lab" --variant broken -q -d "$TMP/$lab-broken" 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q '^FAIL \[key\]'; then
		pass "$lab: broken fails on the key expectation"
	else
		fail "$lab: broken" "exit $rc: $(echo "$out" | tail -4 | tr '\n' ' ')"
	fi
done

# a student's program: the race workload itself stands in for one
out=$("$CONLAB" lab check 01-race --program "$WL/race" -d "$TMP/student" 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "running reference: /tmp/conlab-sandbox-.*/work/race --variant locked"; then
	pass "lab check --program gets the reference's arguments"
else
	fail "lab check --program" "exit $rc: $(echo "$out" | head -3 | tr '\n' ' ')"
fi
out=$("$CONLAB" lab check 01 --program "$TMP/nonexistent" 2>&1)
[ $? = 2 ] && pass "lab check --program: a missing program is an error" \
	|| fail "lab check missing program" "$out"
out=$("$CONLAB" lab check nosuchlab 2>&1)
[ $? = 2 ] && echo "$out" | grep -q "no lab" && pass "lab check: unknown lab" \
	|| fail "unknown lab" "$out"

# lab run: record, the sheet's sections, the reports, the timeline files
out=$("$CONLAB" lab run granularity --no-ask --reveal -d "$TMP/run" < /dev/null 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '== What to look at' &&
	echo "$out" | grep -q 'table_lock' && echo "$out" | grep -q '== Questions' &&
	echo "$out" | grep -q '== Explanation' && [ -s "$TMP/run/broken.clab" ]; then
	pass "lab run: sheet, contention report, questions, explanation"
else
	fail "lab run" "exit $rc: $(echo "$out" | tail -5 | tr '\n' ' ')"
fi
if "$CONLAB" report --help | grep -q '^  timeline.*html'; then
	[ -s "$TMP/run/timeline.html" ] && [ -s "$TMP/run/timeline.perfetto-trace" ] &&
		pass "lab run: timeline.html and timeline.perfetto-trace" ||
		fail "lab run timeline files" "$(ls "$TMP/run")"
fi

finish
