#!/bin/bash
# test_lab.sh — conlab lab end to end, with BPF: every lab's reference solution must pass
# `conlab lab check`, its broken variant must fail on the key expectation, and a program that
# only prints the reference's output must fail on it too; optional labs must say what is
# missing; `lab run` must record, report and write the timeline files.
#
# Time: the references of the labs whose keys measure timing or parallelism (`batch serial`
# in the lab file, and the distributed labs) run first, one at a time with nothing else of
# this script running; the other labs, whose keys the programs' logic fixes, run two at a
# time (LAB_JOBS=N to change), each lab's printout-only program beside its broken variant.
# `lab list` (which probes every lab's needs) runs once, and helpers use Debian's python3
# directly: a version manager's shim costs most of a second a start.
source "$(dirname "$0")/lib.sh"

require_bpf "lab"

T0=$SECONDS
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# the distributed labs whose keys are times keep to themselves as well
SERIAL_EXTRA=" 19-mpi 23-pyro "

names=$("$CONLAB" lab list --names)
n=$(echo "$names" | grep -c .)
[ "$n" -ge 18 ] && pass "lab list --names: $n labs" || fail "lab list --names" "only $n labs"
# `lab list` probes every lab's needs (seconds): once
list=$("$CONLAB" lab list)
echo "$list" | grep -q '^6 .*06-granularity.*ready' && pass "lab list" ||
	fail "lab list" "$(echo "$list" | head -3 | tr '\n' ' ')"

# lab_ref LAB: the reference's full check; then the printout-only program from its output
lab_ref() {
	local lab=$1
	"$CONLAB" lab check "$lab" -q -d "$TMP/$lab-ref" > "$TMP/$lab.ref" 2>&1
	echo "rc=$?" >> "$TMP/$lab.ref"
	grep -v '^conlab:' "$TMP/$lab-ref/reference.out" > "$TMP/$lab-fake.txt" 2>/dev/null
	# the text is in the program itself: a submission runs sandboxed, alone in its folder
	"$PY" -c 'import sys; open(sys.argv[2], "w").write("import sys\nsys.stdout.write(%r)\n"
		% open(sys.argv[1]).read())' "$TMP/$lab-fake.txt" "$TMP/$lab-fake.py"
}

# lab_fake LAB: the program printing the reference's output, graded on the key expectations:
# the key is measured on the trace of the run being checked, not read from its output
lab_fake() {
	"$CONLAB" lab check "$1" --program "$TMP/$1-fake.py" --keys -q -d "$TMP/$1-fake" \
		> "$TMP/$1.fake" 2>&1
	echo "rc=$?" >> "$TMP/$1.fake"
}

# lab_broken LAB: the broken variant, on the key expectations only (the others may read
# further variants, and cost their runs)
lab_broken() {
	"$CONLAB" lab check "$1" --variant broken --keys -q -d "$TMP/$1-broken" \
		> "$TMP/$1.broken" 2>&1
	echo "rc=$?" >> "$TMP/$1.broken"
}

# lab_job LAB: a lab whose keys its programs' logic fixes: the reference, then the
# printout-only program and the broken variant at once
lab_job() {
	local f
	lab_ref "$1"
	lab_fake "$1" &
	f=$!
	lab_broken "$1"
	wait $f
}

# run_job KIND:LAB: one job of the pool (xargs -P runs it in a bash of its own)
run_job() {
	local t=$SECONDS
	case $1 in
	job:*) lab_job "${1#job:}" ;;
	rest:*) lab_broken "${1#rest:}"; lab_fake "${1#rest:}" ;;
	esac
	echo "   ($1: $((SECONDS - t)) s)"
}
export -f lab_ref lab_fake lab_broken lab_job run_job
export CONLAB TMP PY

# report LAB: pass or fail the lab's three checks from their results
report() {
	local lab=$1 out
	out=$(cat "$TMP/$lab.ref")
	if echo "$out" | grep -q '^rc=0$' && ! echo "$out" | grep -q '^FAIL'; then
		pass "$lab: reference passes"
	else
		fail "$lab: reference" "$(echo "$out" | grep -A1 '^FAIL\|^rc=' | head -6 | tr '\n' ' ')"
	fi
	out=$(cat "$TMP/$lab.broken")
	if echo "$out" | grep -q '^rc=1$' && echo "$out" | grep -q '^FAIL \[key\]'; then
		pass "$lab: broken fails on the key expectation"
	else
		fail "$lab: broken" "$(echo "$out" | tail -4 | tr '\n' ' ')"
	fi
	out=$(cat "$TMP/$lab.fake")
	if [ -s "$TMP/$lab-fake.txt" ] && echo "$out" | grep -q '^rc=1$' &&
		echo "$out" | grep -q '^FAIL \[key\]'; then
		pass "$lab: a program printing the reference's output fails on the key expectation"
	else
		fail "$lab: printout only" "$(echo "$out" | grep '\[key\]\|^rc=' | head -3 | tr '\n' ' ')"
	fi
}

serial= parallel= ready=
for lab in $names; do
	status=$(echo "$list" | awk -v l="$lab" '$2 == l' | grep -o 'needs: .*')
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
	ready="$ready $lab"
	f=$ROOT/workloads/labs/$lab.lab
	if grep -q '^batch[[:space:]]*serial' "$f" 2>/dev/null || [[ $SERIAL_EXTRA == *" $lab "* ]]; then
		serial="$serial $lab"
	elif grep -q '^service' "$f" 2>/dev/null; then
		# a broker a run (most of a minute each): first, so that the others fill the time
		parallel="job:$lab $parallel"
	else
		parallel="$parallel job:$lab"
	fi
done

# timing labs: their references one at a time. Their broken variants fail their keys by
# logic (no GIL in a C program, no second process) or fail them further when disturbed (a
# longer wait, more loop wake-ups), and the printout-only programs do no work: both run
# beside the logic labs.
for lab in $serial; do
	t=$SECONDS
	lab_ref "$lab"
	echo "   ($lab reference: $((SECONDS - t)) s)"
done
echo "   (timing labs' references, one at a time: $((SECONDS - T0)) s)"
# lab check --program, lab run: in the background of the logic labs
others() {
	# a student's program: a copy of the Python race workload, alone in its folder. It
	# imports the lab's helper module (wl.py), which the sandbox puts beside it.
	mkdir -p "$TMP/race-py"
	cp "$PYWL/race.py" "$TMP/race-py/mine.py"
	"$CONLAB" lab check 01-race --program "$TMP/race-py/mine.py" -d "$TMP/student" \
		> "$TMP/o.student" 2>&1
	echo "rc=$?" >> "$TMP/o.student"
	"$CONLAB" lab run granularity --no-ask --reveal -d "$TMP/run" < /dev/null \
		> "$TMP/o.run" 2>&1
	echo "rc=$?" >> "$TMP/o.run"
	timeout 120 "$CONLAB" lab run 01 --predict "0; 3" --no-ask -d "$TMP/predict" \
		< /dev/null > "$TMP/o.predict" 2>&1
	echo "rc=$?" >> "$TMP/o.predict"
	timeout 120 "$CONLAB" lab run 15 -d "$TMP/predict15" < /dev/null > "$TMP/o.predict15" 2>&1
	echo "rc=$?" >> "$TMP/o.predict15"
}
others &
others_pid=$!

# the rest two jobs at a time: the logic labs, and the timing labs' broken variants and
# printout-only programs
for lab in $serial; do
	parallel="$parallel rest:$lab"
done
printf '%s\n' $parallel | xargs -P "${LAB_JOBS:-2}" -I JOB bash -c 'run_job JOB'
wait $others_pid
echo "   (all labs: $((SECONDS - T0)) s)"

for lab in $ready; do
	report "$lab"
done

out=$(cat "$TMP/o.student")
if echo "$out" | grep -q '^rc=0$' &&
	echo "$out" | grep -q "running reference: .*python3 /tmp/conlab-sandbox-.*/work/mine.py --variant locked"; then
	pass "lab check --program gets the reference's arguments, and the lab's wl.py beside it"
else
	fail "lab check --program" "$(echo "$out" | head -3 | tr '\n' ' ')"
fi
# the MPI lab's printout-only program ran as its reference does: four ranks under mpirun
if [[ " $ready " == *" 19-mpi "* ]]; then
	grep -q '^conlab: mpirun.openmpi exited' "$TMP/19-mpi-fake/reference.err" &&
		[ "$(grep -c '^ranks=' "$TMP/19-mpi-fake/reference.out")" = 4 ] &&
		pass "lab check --program: the student's program runs under the reference's mpirun" ||
		fail "lab check --program under mpirun" "$(head -3 "$TMP/19-mpi-fake/reference.err")"
fi
out=$("$CONLAB" lab check 01 --program "$TMP/nonexistent" 2>&1)
[ $? = 2 ] && pass "lab check --program: a missing program is an error" \
	|| fail "lab check missing program" "$out"
out=$("$CONLAB" lab check nosuchlab 2>&1)
[ $? = 2 ] && echo "$out" | grep -q "no lab" && pass "lab check: unknown lab" \
	|| fail "unknown lab" "$out"

# lab run: record, the sheet's sections, the reports, the timeline files
out=$(cat "$TMP/o.run")
if echo "$out" | grep -q '^rc=0$' && echo "$out" | grep -q '== What to look at' &&
	echo "$out" | grep -q 'table_lock' && echo "$out" | grep -q '== Questions' &&
	echo "$out" | grep -q '== Explanation' && [ -s "$TMP/run/broken.clab" ]; then
	pass "lab run: sheet, contention report, questions, explanation"
else
	fail "lab run" "$(echo "$out" | tail -5 | tr '\n' ' ')"
fi
if "$CONLAB" report --help | grep -q '^  timeline.*html'; then
	[ -s "$TMP/run/timeline.html" ] && [ -s "$TMP/run/timeline.perfetto-trace" ] &&
		pass "lab run: timeline.html and timeline.perfetto-trace" ||
		fail "lab run timeline files" "$(ls "$TMP/run")"
fi

# predict first: answers given with --predict, answer fields hidden, then shown beside the trace
out=$(cat "$TMP/o.predict")
if echo "$out" | grep -q '^rc=0$' && echo "$out" | grep -q '^== Predict' &&
	echo "$out" | grep -q ' result=? ' && echo "$out" | grep -q 'you predicted: 3' &&
	echo "$out" | grep -q 'measured: *3 *(len(summary.processes\[0\].threads))' &&
	echo "$out" | grep -q '^  \* broken' && [ -s "$TMP/predict/predictions.md" ]; then
	pass "lab run --predict: variants listed, answers hidden, predictions beside the measured"
else
	fail "lab run --predict" "$(echo "$out" | grep -A3 'predict\|Predict\|^rc=' | head -8 | tr '\n' ' ')"
fi
# no terminal and no --predict: the questions are printed, nothing waits for an answer
out=$(cat "$TMP/o.predict15")
echo "$out" | grep -q '^rc=0$' && echo "$out" | grep -q 'not asked: no terminal' &&
	echo "$out" | grep -q 'died inside its wait' &&
	pass "lab run without a terminal: predictions not waited for; the timeline marks the daemon" ||
	fail "lab run without a terminal" "$(echo "$out" | tail -3 | tr '\n' ' ')"

echo "   (test_lab: $((SECONDS - T0)) s)"
finish
