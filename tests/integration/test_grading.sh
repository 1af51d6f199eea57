#!/bin/bash
# test_grading.sh — grading a class with `conlab lab check LAB --submissions DIR`: hostile
# submissions (fork bomb, memory hog, endless loop, deleting the teacher's file, writing /etc,
# reaching a listener on the host's loopback, killing its parent and every process it may)
# each fail with the reason and harm nothing; the good one is graded as usual; nothing is
# left running; a killed batch resumes; the Gradescope and JUnit files parse.
source "$(dirname "$0")/lib.sh"

require_bpf "grading"

# a lab of the test's own, quick to run: the race workload's locked variant, three
# expectations with weights (key 3, the others 1: max score 5)
export CONLAB_LABS=$TMP/labs
mkdir "$CONLAB_LABS"
cat > "$CONLAB_LABS/90-grading.lab" <<'EOF'
name    90-grading
title   Grading test
batch   parallel
variant reference  {wl}/race --variant locked --iters 2000
expect key weight=3 ground.result == 0 -- every ++ and -- survives
expect len(summary.processes[0].threads) == 3 -- main, inc and dec
expect run.exit == 0 -- it ends cleanly
EOF

# refusals need no BPF run
out=$("$CONLAB" lab check 90 --program "$WL/race" --user root 2>&1)
[ $? = 2 ] && echo "$out" | grep -q "refusing to run submissions as root" &&
	pass "--user root is refused" || fail "--user root" "$out"
out=$("$CONLAB" lab check 90 --submissions "$TMP" --program "$WL/race" 2>&1)
[ $? = 2 ] && echo "$out" | grep -q "no --program" && pass "--submissions excludes --program" ||
	fail "--submissions with --program" "$out"
out=$("$CONLAB" lab check 90 --program "$WL/race" --format xml 2>&1)
[ $? = 2 ] && echo "$out" | grep -q "unknown --format" && pass "--format: unknown format" ||
	fail "--format xml" "$out"

# the teacher's folder, reachable by everyone as a course folder would be
chmod 755 "$TMP"
mkdir -m 755 "$TMP/teacher"
echo precious > "$TMP/teacher/precious.txt"
port=$((20000 + RANDOM % 20000))
start_bg listener "$PYH" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
open(sys.argv[2] + ".up", "w").close()
c, _ = s.accept(); open(sys.argv[2], "w").write("reached\n")' "$port" "$TMP/reached"
for i in $(seq 50); do [ -e "$TMP/reached.up" ] && break; sleep 0.1; done

S=$TMP/subs
mkdir "$S"
cp "$WL/race" "$S/good"	# the reference itself stands in for a good submission
mkdir "$S/folder"		# a folder submission: its main.py runs, with its module beside it
printf 'import helper\nhelper.run()\n' > "$S/folder/main.py"
printf 'def run():\n    print("result=1 lock_waits=0")\n' > "$S/folder/helper.py"
# prints what the key expectation wants and nothing else: must not pass
printf '#!/bin/sh\necho result=0 lock_waits=5\n' > "$S/printer"
chmod +x "$S/printer"
printf 'import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n' > "$S/forkbomb.py"
printf 'hog = []\nwhile True:\n    hog.append(b"x" * (16 << 20))\n' > "$S/memhog.py"
printf 'while True:\n    pass\n' > "$S/loop.py"
printf 'import os\nos.remove("%s")\n' "$TMP/teacher/precious.txt" > "$S/deleter.py"
printf 'open("/etc/conlab-grading-test", "w").write("x")\n' > "$S/etc.py"
printf 'import socket\nsocket.create_connection(("127.0.0.1", %d), timeout=1).sendall(b"hi")\n' \
	"$port" > "$S/net.py"
cat > "$S/killer.py" <<'EOF'
import os, signal
try:
    os.kill(-1, signal.SIGKILL)   # every process the sandbox user may signal
except OSError:
    pass
os.kill(os.getppid(), signal.SIGKILL)
EOF

R=$TMP/results
"$CONLAB" lab check 90 --submissions "$S" --results "$R" --format junit --jobs 2 \
	--time-limit 2 --memory-limit 128M --procs-limit 16 > "$TMP/batch.out" 2> "$TMP/batch.err"
rc=$?
[ $rc = 1 ] && grep -q '^class summary: lab 90-grading, 10 submissions, 10 graded, 1 pass' \
	"$TMP/batch.out" && pass "batch: 10 submissions graded, only the good one passes" ||
	fail "batch" "exit $rc: $(head -3 "$TMP/batch.out") $(tail -3 "$TMP/batch.err")"
grep -q "^grading 90-grading: 10/10 done" "$TMP/batch.err" && pass "batch: progress on stderr" ||
	fail "batch progress" "$(tail -2 "$TMP/batch.err")"

# status: what each program did, as the result says it
want() {	# want NAME PYTHON-CONDITION-ON-j DESCRIPTION
	if pyjson "$R/$1.json" "$2"; then pass "$1: $3"; else
		fail "$1: $3" "$("$PYH" -c 'import json,sys; j=json.load(open(sys.argv[1]))
print(j["status"], j["score"])' "$R/$1.json" 2>&1)"; fi
}
want good 'j["passed"] and j["score"] == j["max_score"] == 5 and j["status"] == "exit 0"' \
	"graded beside the others, every expectation holds"
want folder '(j["status"] == "exit 0" and not j["expectations"][0]["pass"] and
	j["expectations"][0]["measured"] == "1")' "a folder runs its main.py with its module"
want printer '(j["expectations"][0]["pass"] and not j["expectations"][1]["pass"] and
	j["score"] == 4)' "printing the answer is not enough"
want forkbomb '"process limit of 16 reached" in j["status"] and not j["passed"]' \
	"fork bomb stopped by the process limit"
want memhog '"memory limit of 128 MiB" in j["status"] or "MemoryError" in j["status"]' \
	"memory hog stopped by the memory limit"
want loop 'j["status"].startswith("stopped: still running at the wall-time limit of 2 s")' \
	"endless loop stopped at the wall-time limit"
want deleter '"PermissionError" in j["status"]' "cannot delete the teacher's file"
want etc '"PermissionError" in j["status"]' "cannot write to /etc"
want net '"ConnectionRefusedError" in j["status"]' "its loopback is not the host's"
want killer '"PermissionError" in j["status"]' "cannot kill its parent"

[ "$(cat "$TMP/teacher/precious.txt" 2>/dev/null)" = precious ] &&
	pass "the teacher's file is untouched" || fail "teacher's file" "gone or changed"
[ ! -e /etc/conlab-grading-test ] && pass "nothing written to /etc" ||
	{ fail "/etc" "/etc/conlab-grading-test exists"; rm -f /etc/conlab-grading-test; }
[ ! -e "$TMP/reached" ] && kill -0 "$listener" 2>/dev/null &&
	pass "the host's loopback listener was not reached (and is alive)" ||
	fail "listener" "reached or killed"
left=$(ps -u nobody -o pid=,stat=,args= | awk '$2 !~ /^Z/')
[ -z "$left" ] && pass "no process of the sandbox user left running" || fail "left running" "$left"
left=$(ls -d /tmp/conlab-sandbox-* /sys/fs/cgroup/unified/conlab/conlab-sandbox-* \
	/sys/fs/cgroup/conlab/conlab-sandbox-* /sys/fs/cgroup/pids/conlab-sandbox-* 2>/dev/null)
[ -z "$left" ] && pass "no sandbox directory or cgroup left" || fail "sandbox left" "$left"
grep -q '^common failures:' "$TMP/batch.out" &&
	grep -Eq '^ +[23]  stopped: still running at the wall-time limit of 2 s' "$TMP/batch.out" &&
	grep -q '^  2/10  \[key\] ground.result == 0' "$TMP/batch.out" &&
	pass "class summary: passes per expectation, common failures, outcomes" ||
	fail "summary" "$(cat "$TMP/batch.out")"

# JUnit XML as CI systems read it: one suite a submission, failures counted right
"$PYH" - "$R/junit.xml" <<'EOF' && pass "junit.xml parses and its counts agree" || fail "junit.xml" "see above"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
assert len(suites) == 10, len(suites)
total = 0
for s in suites:
    cases = s.findall("testcase")
    total += len(cases)
    assert int(s.get("tests")) == len(cases) == 3
    f = sum(1 for c in cases if c.find("failure") is not None)
    e = sum(1 for c in cases if c.find("error") is not None)
    assert (int(s.get("failures")), int(s.get("errors"))) == (f, e), s.get("name")
    assert all(c.get("name") and c.get("classname") for c in cases)
good = [s for s in suites if s.get("name") == "good"][0]
assert good.get("failures") == "0" and good.get("errors") == "0"
assert int(root.get("tests")) == total
EOF

# resumable: results already there are not graded again; a killed batch goes on where it was
"$CONLAB" lab check 90 --submissions "$S" --results "$R" > "$TMP/again.out" 2> "$TMP/again.err"
grep -q "^10 of 10 submissions already have a result" "$TMP/again.err" &&
	grep -q "10 graded, 1 pass" "$TMP/again.out" && pass "batch again: nothing graded twice" ||
	fail "batch again" "$(cat "$TMP/again.err")"
S2=$TMP/subs2
mkdir "$S2"
for n in a b; do printf '#!/bin/sh\necho result=0 lock_waits=0\n' > "$S2/$n"; chmod +x "$S2/$n"; done
"$CONLAB" lab check 90 --submissions "$S2" --results "$TMP/r2" --jobs 1 > /dev/null 2>&1 &
bpid=$!
for i in $(seq 300); do [ -e "$TMP/r2/a.json" ] && break; sleep 0.1; done
{ kill -KILL $bpid; wait $bpid; } 2>/dev/null
ino=$(stat -c %i "$TMP/r2/a.json" 2>/dev/null)
sleep 0.5
"$CONLAB" lab check 90 --submissions "$S2" --results "$TMP/r2" --jobs 1 > "$TMP/r2.out" 2> "$TMP/r2.err"
if [ -n "$ino" ] && [ "$(stat -c %i "$TMP/r2/a.json")" = "$ino" ] &&
	grep -q "^1 of 2 submissions already have a result" "$TMP/r2.err" &&
	grep -q "2 submissions, 2 graded" "$TMP/r2.out" && ! ls "$TMP/r2"/*.tmp 2>/dev/null; then
	pass "a killed batch resumes: finished results kept, the rest graded"
else
	fail "killed batch" "$(cat "$TMP/r2.err") $(head -1 "$TMP/r2.out")"
fi

# Gradescope's results.json for one submission
"$CONLAB" lab check 90 --program "$S/printer" --format gradescope --output "$TMP/results.json" \
	-d "$TMP/gs" > /dev/null 2>&1
rc=$?
"$PYH" - "$TMP/results.json" <<'EOF' && [ $rc = 1 ] && pass "gradescope results.json: tests[] with scores, exit 1" || fail "gradescope" "exit $rc"
import json, sys
j = json.load(open(sys.argv[1]))
assert isinstance(j["score"], (int, float)) and isinstance(j["output"], str)
assert len(j["tests"]) == 3
for t in j["tests"]:
    assert isinstance(t["name"], str) and isinstance(t["output"], str)
    assert isinstance(t["score"], (int, float)) and isinstance(t["max_score"], (int, float))
    assert t["status"] in ("passed", "failed") and 0 <= t["score"] <= t["max_score"]
assert abs(sum(t["score"] for t in j["tests"]) - j["score"]) < 1e-9
assert j["tests"][0]["status"] == "passed" and j["tests"][0]["max_score"] == 3
assert j["tests"][1]["status"] == "failed" and j["score"] == 4, j["score"]
EOF

{ kill -KILL "$listener"; wait "$listener"; } 2>/dev/null
finish
