#!/bin/bash
# test_lab.sh — conlab lab end to end, with BPF: every lab's reference solution must pass
# `conlab lab check`, its broken variant must fail on the key expectation; optional labs
# must say what is missing; `lab run` must record, report and write the timeline files.
source "$(dirname "$0")/lib.sh"

require_bpf "lab"

PYWL=$(cd "$(dirname "$0")/../../workloads/python" && pwd)

names=$("$CONLAB" lab list --names)
n=$(echo "$names" | grep -c .)
[ "$n" -ge 18 ] && pass "lab list --names: $n labs" || fail "lab list --names" "only $n labs"
check "lab list" bash -c "'$CONLAB' lab list | grep -q '^6 .*06-granularity.*ready'"

fakes=
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
	# a program that does nothing but print what the reference printed must fail: the
	# key is measured on the trace of the run being checked, not read from its output.
	# Checked in the background (its runs mostly wait) and collected at the end.
	grep -v '^conlab:' "$TMP/$lab-ref/reference.out" > "$TMP/$lab-fake.txt" 2>/dev/null
	# the text is in the program itself: a submission runs sandboxed, alone in its folder
	python3 -c 'import sys; open(sys.argv[2], "w").write("import sys\nsys.stdout.write(%r)\n"
		% open(sys.argv[1]).read())' "$TMP/$lab-fake.txt" "$TMP/$lab-fake.py"
	( "$CONLAB" lab check "$lab" --program "$TMP/$lab-fake.py" --keys -q -d "$TMP/$lab-fake" \
		> "$TMP/$lab-fake.result" 2>&1; echo "rc=$?" >> "$TMP/$lab-fake.result" ) &
	fakes="$fakes $lab"
	# the key expectations only: the others may read further variants, and cost their runs
	out=$("$CONLAB" lab check "$lab" --variant broken --keys -q -d "$TMP/$lab-broken" 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q '^FAIL \[key\]'; then
		pass "$lab: broken fails on the key expectation"
	else
		fail "$lab: broken" "exit $rc: $(echo "$out" | tail -4 | tr '\n' ' ')"
	fi
done

wait
for lab in $fakes; do
	out=$(cat "$TMP/$lab-fake.result")
	if [ -s "$TMP/$lab-fake.txt" ] && echo "$out" | grep -q '^rc=1$' &&
		echo "$out" | grep -q '^FAIL \[key\]'; then
		pass "$lab: a program printing the reference's output fails on the key expectation"
	else
		fail "$lab: printout only" "$(echo "$out" | grep '\[key\]\|^rc=' | head -3 | tr '\n' ' ')"
	fi
done

# a student's program: the Python race workload stands in for one. The submission is a
# folder (main.py and the wl.py it imports): the sandbox copies it whole.
mkdir -p "$TMP/race-py"
cp "$PYWL/race.py" "$TMP/race-py/main.py"
cp "$PYWL/wl.py" "$TMP/race-py/wl.py"
out=$("$CONLAB" lab check 01-race --program "$TMP/race-py" -d "$TMP/student" 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "running reference: .*python3 /tmp/conlab-sandbox-.*/work/main.py --variant locked"; then
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

# predict first: answers given with --predict, answer fields hidden, then shown beside the trace
out=$(timeout 120 "$CONLAB" lab run 01 --predict "0; 3" --no-ask -d "$TMP/predict" < /dev/null 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '^== Predict' && echo "$out" | grep -q ' result=? ' &&
	echo "$out" | grep -q 'you predicted: 3' &&
	echo "$out" | grep -q 'measured: *3 *(len(summary.processes\[0\].threads))' &&
	echo "$out" | grep -q '^  \* broken' && [ -s "$TMP/predict/predictions.md" ]; then
	pass "lab run --predict: variants listed, answers hidden, predictions beside the measured"
else
	fail "lab run --predict" "exit $rc: $(echo "$out" | grep -A3 'predict\|Predict' | head -8 | tr '\n' ' ')"
fi
# no terminal and no --predict: the questions are printed, nothing waits for an answer
out=$(timeout 120 "$CONLAB" lab run 15 -d "$TMP/predict15" < /dev/null 2>&1)
rc=$?
[ $rc = 0 ] && echo "$out" | grep -q 'not asked: no terminal' &&
	echo "$out" | grep -q 'died inside its wait' &&
	pass "lab run without a terminal: predictions not waited for; the timeline marks the daemon" ||
	fail "lab run without a terminal" "exit $rc: $(echo "$out" | tail -3 | tr '\n' ' ')"

finish
