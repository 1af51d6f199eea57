#!/bin/bash
# test_doctor_undisturbed.sh — `conlab deadlock -p` must not change what the program does.
#
# Five programs whose blocking call a stop would end early or restart (workloads/blocked.c):
# a child writing 1 MiB to a pipe its parent reads only after waiting for it, a socket write
# with part of its data sent, a recv(MSG_WAITALL) holding part of its data, nanosleep and
# epoll_wait with timeouts. They run as children of one shell, and the doctor diagnoses that
# tree 20 times, so every run reads every program. Afterwards:
#   - the three hanging programs have not moved: every thread still in the same syscall with
#     the same arguments and registers (/proc/TID/syscall) and the same context-switch counts
#     (a thread that was stopped or woken, even if its call was restarted, counts a switch);
#   - the sleepers' own checks (each call returned 0 after one voluntary switch: no EINTR, no
#     hidden restart) found nothing, as in their runs without the doctor;
#   - each diagnosis named the pipe cycle (cross-process) and stopped no thread.
# The same for the hung Python programs of docs/python.md on Debian's python3 (10 processes in
# a second tree), with a Python pipe writer and Python sleepers (workloads/python/blocked.py);
# each diagnosis must also name every finding by its Python threads, locks and lines.
# Controls: SIGSTOP + SIGCONT, which does what a ptrace stop does to these calls, is seen by
# every program, so the checks above can fail.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { skip doctor-undisturbed "needs root"; finish; }
BL=$WL/blocked
RUNS=20

# firstkv FILE KEY: value of KEY in the first line of FILE
firstkv() {
	head -n 1 "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# wait_line FILE REGEX [SECONDS]: until FILE has a line matching REGEX
wait_line() {
	local i
	for ((i = 0; i < ${3:-5} * 20; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# ---- without the doctor: the sleepers' checks pass on their own --------------------------
"$BL" --kind nanosleep --ms 20 --calls 10 > "$TMP/alone.nanosleep" 2>&1 &
a1=$!
"$BL" --kind epoll --ms 20 --calls 10 > "$TMP/alone.epoll" 2>&1 &
a2=$!
wait "$a1" "$a2"
for k in nanosleep epoll; do
	check "$k without the doctor: 10 calls, each returned 0 after one sleep" \
		grep -q "^result=$k calls=10 disturbed=0 " "$TMP/alone.$k"
done

# ---- the tree: five programs under one shell ------------------------------------------------
for k in pipe sockwrite partread nanosleep epoll; do : > "$TMP/$k.out"; done
setsid bash -c "
	'$BL' --kind pipe > '$TMP/pipe.out' 2>&1 &
	'$BL' --kind sockwrite > '$TMP/sockwrite.out' 2>&1 &
	'$BL' --kind partread > '$TMP/partread.out' 2>&1 &
	'$BL' --kind nanosleep --ms 100 --calls 0 --until '$TMP/stop' > '$TMP/nanosleep.out' 2>&1 &
	'$BL' --kind epoll --ms 100 --calls 0 --until '$TMP/stop' > '$TMP/epoll.out' 2>&1 &
	wait" &
ROOTP=$!
_pids+=("$ROOTP")
ok=1
wait_line "$TMP/pipe.out" '^hang=pipe' && wait_line "$TMP/sockwrite.out" '^hang=sockwrite' &&
	wait_line "$TMP/partread.out" '^hang=partread' &&
	wait_line "$TMP/nanosleep.out" '^sleeping=' && wait_line "$TMP/epoll.out" '^sleeping=' || ok=0
PP=$(lastkv "$TMP/pipe.out" parent)
PC=$(lastkv "$TMP/pipe.out" child)
SW=$(lastkv "$TMP/sockwrite.out" pid)
PR=$(lastkv "$TMP/partread.out" pid)
HUNG="$ROOTP $PP $PC $SW $PR"
for p in $HUNG; do wait_blocked "$p" 5 || ok=0; done
[ "$ok" = 1 ] && pass "five programs blocked in their calls" ||
	fail "five programs blocked in their calls" "$(cat "$TMP"/*.out | tr '\n' ' ')"
thread_state $HUNG > "$TMP/before"

t0=$(date +%s%N)
for ((i = 1; i <= RUNS; i++)); do
	"$CONLAB" deadlock -p "$ROOTP" --format json -o "$TMP/run$i.json" 2> "$TMP/run$i.err"
	echo $? > "$TMP/run$i.rc"
done
t1=$(date +%s%N)
echo "     ($RUNS diagnoses of 7 processes in $(( (t1 - t0) / 1000000 )) ms)"
# and once with the registers from /proc (the fallback without BPF)
CONLAB_REGS=proc "$CONLAB" deadlock -p "$ROOTP" --format json -o "$TMP/proc.json" 2> /dev/null
echo $? > "$TMP/proc.rc"
thread_state $HUNG > "$TMP/after"
touch "$TMP/stop"
wait_line "$TMP/nanosleep.out" '^result=' 3
wait_line "$TMP/epoll.out" '^result=' 3

check "$RUNS diagnoses: exit 1, the pipe's cross-process cycle each time, no thread stopped" \
	"$PYH" - "$TMP" "$RUNS" "$PP" "$PC" <<'PY'
import json, sys
tmp, runs, pp, pc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(1, runs + 1):
    rc = open(f"{tmp}/run{i}.rc").read().strip()
    assert rc == "1", f"run {i}: exit {rc}: {open(f'{tmp}/run{i}.err').read()}"
    j = json.load(open(f"{tmp}/run{i}.json"))
    kinds = [(d["kind"], sorted(d["pids"])) for d in j["deadlocks"]]
    assert ("cross-process", sorted([pp, pc])) in kinds, f"run {i}: {kinds}"
    assert j["snapshot"]["threads_stopped"] == 0 and j["snapshot"]["stop_max_us"] == 0, f"run {i}"
PY
check "the blocked threads' stacks were read in place (write_once, recv_all on their stacks)" \
	"$PYH" - "$TMP" "$RUNS" "$SW" "$PR" "$PC" <<'PY'
import json, sys
tmp, runs, *pids = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:])
want = {pids[0]: "write_once", pids[1]: "recv_all", pids[2]: "write_once"}
for i in range(1, runs + 1):
    j = json.load(open(f"{tmp}/run{i}.json"))
    for t in j["threads"]:
        if t["tid"] in want:
            fns = [f["function"] for f in t["stack"]]
            assert want[t["tid"]] in fns and t["stop_us"] == 0, f"run {i} tid {t['tid']}: {fns}"
PY
check "the sleepers were seen asleep in their calls, with stacks" "$PYH" - "$TMP" "$RUNS" \
	"$(firstkv "$TMP/nanosleep.out" tid)" "$(firstkv "$TMP/epoll.out" tid)" <<'PY'
import json, sys
tmp, runs, *tids = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:])
seen = set()
for i in range(1, runs + 1):
    for t in json.load(open(f"{tmp}/run{i}.json"))["threads"]:
        if t["tid"] in tids and t["state"] == "sleeping" and \
           any(f["function"] == "sleep_once" for f in t["stack"]):
            seen.add(t["tid"])
assert seen == set(tids), seen
PY
check "registers from /proc: exit 1, the same cycle, stacks through write_once, no stop" \
	"$PYH" - "$TMP" "$PP" "$PC" <<'PY'
import json, sys
tmp, pp, pc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
j = json.load(open(f"{tmp}/proc.json"))
assert open(f"{tmp}/proc.rc").read().strip() == "1"
assert j["snapshot"]["regs_source"] == "proc" and j["snapshot"]["threads_stopped"] == 0
assert ("cross-process", sorted([pp, pc])) in [(d["kind"], sorted(d["pids"])) for d in j["deadlocks"]]
w = [t for t in j["threads"] if t["tid"] == pc][0]
assert "write_once" in [f["function"] for f in w["stack"]], w["stack"]
PY
same_state "pipe, socket write, partial read: every thread in the same call, same switch counts" \
	"$TMP/before" "$TMP/after"
check "the hangs survive: no call returned" \
	sh -c "! grep -h '^disturbed=' '$TMP/pipe.out' '$TMP/sockwrite.out' '$TMP/partread.out'"
for k in nanosleep epoll; do
	check "$k with the doctor: every call returned 0 after one sleep, as without it" \
		grep -qE "^result=$k calls=[1-9][0-9]* disturbed=0 " "$TMP/$k.out"
done

# ---- controls: a stop is seen by each program --------------------------------------------
for p in "$PC" "$SW" "$PR"; do kill -STOP "$p"; done
sleep 0.1
for p in "$PC" "$SW" "$PR"; do kill -CONT "$p"; done
wait_line "$TMP/pipe.out" '^disturbed=write ret=[0-9]+ ' 3
wait_line "$TMP/sockwrite.out" '^disturbed=write ret=[0-9]+ ' 3
wait_line "$TMP/partread.out" '^disturbed=recv ret=1000 ' 3
check "control: SIGSTOP ends the pipe write short, the hang is gone" \
	grep -qE '^disturbed=write ret=[0-9]+ ' "$TMP/pipe.out"
check "control: SIGSTOP ends the socket write with its partial count" \
	grep -qE '^disturbed=write ret=[0-9]+ ' "$TMP/sockwrite.out"
check "control: SIGSTOP ends the partial read with its 1000 bytes" \
	grep -qE '^disturbed=recv ret=1000 ' "$TMP/partread.out"
kill -KILL -- "-$ROOTP" 2> /dev/null

rm -f "$TMP/stop2"
for k in nanosleep epoll; do
	setsid "$BL" --kind "$k" --ms 400 --calls 0 --until "$TMP/stop2" > "$TMP/c.$k" 2>&1 &
	_pids+=("$!")
done
for k in nanosleep epoll; do
	wait_line "$TMP/c.$k" '^sleeping=' 20
	p=$(lastkv "$TMP/c.$k" pid)
	# stop it inside a sleep: its syscall is the sleep (nanosleep is clock_nanosleep, 230);
	# three times, in three calls: a stop that falls between two calls is not counted
	for ((n = 0; n < 3; n++)); do
		for ((i = 0; i < 100; i++)); do
			case $(cut -d' ' -f1 /proc/"$p"/syscall 2>/dev/null) in
			230|35|232|281) break ;;
			esac
			sleep 0.01
		done
		kill -STOP "$p"
		sleep 0.05
		kill -CONT "$p"
		sleep 0.45
	done
done
touch "$TMP/stop2"
for k in nanosleep epoll; do wait_line "$TMP/c.$k" '^result=' 10; done
check "control: a stopped nanosleep is restarted, seen as an extra switch" \
	grep -qE '^result=nanosleep calls=[0-9]+ disturbed=[1-9][0-9]* eintr=0 extra_switches=[1-9]' \
	"$TMP/c.nanosleep"
check "control: a stopped epoll_wait fails with EINTR" \
	grep -qE '^result=epoll calls=[0-9]+ disturbed=[1-9][0-9]* eintr=[1-9]' "$TMP/c.epoll"

# ---- Python: the hung programs of docs/python.md, under Debian's python3 ---------------------
# Five hanging programs (the teller ABBA with `with src.lock`, the explicit-acquire ABBA, a
# Queue whose worker died, a multiprocessing join-before-get across two processes, two asyncio
# tasks awaiting each other) and workloads/python/blocked.py: a child's 1 MiB os.write() to a
# pipe its parent reads only after waiting for it, time.sleep() and Queue.get(timeout=) that
# check their own calls. One shell holds them all; the doctor diagnoses that tree 20 times.
DEB=/usr/bin/python3
PB=$PYWL/blocked.py

# pyexpect RUNS JSON...: every report names each program's finding as the program makes it,
# in Python terms (threads, locks, lines); the truth comes in $TMP/py.truth
cat > "$TMP/pyexpect.py" <<'PY'
import json, sys
t = dict(kv.split("=", 1) for kv in open(sys.argv[1]).read().split())
T = {k: int(v) for k, v in t.items() if v.isdigit()}
def at(d):
    return sorted((x["pid"], x["tid"], x["name"], x["at"]["function"], x["at"]["line"])
                  for x in d["threads"])
def objs(d):
    return sorted((o["name"], o["type"], o["owner"]) for o in d["objects"])
want = {
    ("cycle", (T["bank"],)): ([(T["bank"], T["teller1"], "teller-1", "transfer", T["Lbank"]),
                               (T["bank"], T["teller2"], "teller-2", "transfer", T["Lbank"])],
                              [("alice.lock", "Lock", T["teller1"]),
                               ("bob.lock", "Lock", T["teller2"])]),
    ("no-owner", (T["acq"],)): (sorted([(T["acq"], T["waiter_b"], "abba-1", "path", T["Lacq"]),
                                        (T["acq"], T["waiter_a"], "abba-2", "path", T["Lacq"])]),
                                [("lock_a", "Lock", None), ("lock_b", "Lock", None)]),
    ("no-owner", (T["queue"],)): ([(T["queue"], T["queue"], "MainThread", "main", T["Lqueue"])],
                                  [("jobs", "Queue", None)]),
    ("cross-process", tuple(sorted((T["mp"], T["mpchild"])))): (
        sorted([(T["mp"], T["mp"], "MainThread", "main", T["Lmp"]),
                (T["mpchild"], T["feeder"], "QueueFeederThread", "Connection._send", T["Lsend"])]),
        None),
    ("cross-process", tuple(sorted((T["pipe"], T["pipechild"])))): (
        sorted([(T["pipe"], T["pipe"], "MainThread", "run_pipe", T["Lwait"]),
                (T["pipechild"], T["pipechild"], "MainThread", "write_once", T["Lwrite"])]),
        None),
}
tasks = [("consumer", "pending", "Event data_ready", "consume", T["Lconsume"]),
         ("producer", "pending", "Event consumer_ready", "produce", T["Lproduce"])]
bad = []
for f in sys.argv[2:]:
    try:
        j = json.load(open(f))
        got = {(d["kind"], tuple(sorted(d["pids"]))): d for d in j["deadlocks"]}
        assert sorted(got) == sorted(want), f"findings {sorted(got)}"
        for k, (threads, objects) in want.items():
            assert at(got[k]) == threads, f"{k}: {at(got[k])}"
            assert objects is None or objs(got[k]) == objects, f"{k}: {objs(got[k])}"
        aio = [p for p in j["processes"] if p["pid"] == T["aio"]][0]
        ts = sorted((x["name"], x["state"], x["awaits"], x["coroutines"][0]["function"],
                     x["coroutines"][0]["line"]) for x in aio["tasks"]
                    if x["name"] in ("producer", "consumer"))
        assert ts == tasks, f"asyncio tasks {ts}"
        s = j["snapshot"]
        assert s["threads_stopped"] == 0 and s["stop_max_us"] == 0, f"stopped {s}"
    except Exception as e:
        bad.append(f"{f.rsplit('/', 1)[-1]}: {e}")
print("; ".join(bad[:2]))
sys.exit(1 if bad else 0)
PY

python_undisturbed() {
	local i p ok=1 k
	"$DEB" "$PB" --kind sleep --ms 20 --calls 10 > "$TMP/alone.pysleep" 2>&1 &
	a1=$!
	"$DEB" "$PB" --kind queue --ms 20 --calls 10 > "$TMP/alone.pyqueue" 2>&1 &
	a2=$!
	wait "$a1" "$a2"
	for k in sleep queue; do
		check "python $k without the doctor: 10 calls, each slept its time once" \
			grep -q "^result=$k calls=10 disturbed=0 " "$TMP/alone.py$k"
	done

	setsid bash -c "
		'$DEB' '$PYWL/bank_abba.py' > '$TMP/py.bank' 2> /dev/null &
		'$DEB' '$PYWL/abba_lock.py' > '$TMP/py.acq' 2> /dev/null &
		'$DEB' '$PYWL/queue_dead_worker.py' > '$TMP/py.queue' 2> /dev/null &
		'$DEB' '$PYWL/mp_join_before_get.py' > '$TMP/py.mp' 2> /dev/null &
		'$DEB' '$PYWL/asyncio_stuck.py' > '$TMP/py.aio' 2> /dev/null &
		'$DEB' '$PB' --kind pipe > '$TMP/py.pipe' 2>&1 &
		'$DEB' '$PB' --kind sleep --ms 100 --calls 0 --until '$TMP/pystop' > '$TMP/py.sleep' 2>&1 &
		'$DEB' '$PB' --kind queue --ms 100 --calls 0 --until '$TMP/pystop' > '$TMP/py.qget' 2>&1 &
		wait" &
	PROOT=$!
	_pids+=("$PROOT")
	disown	# killed on purpose: no "Killed" job notice
	for k in bank acq queue mp aio pipe; do wait_line "$TMP/py.$k" '^hang=' 10 || ok=0; done
	for k in sleep qget; do wait_line "$TMP/py.$k" '^sleeping=' 10 || ok=0; done
	{
		for k in bank acq queue mp aio pipe; do echo "$k=$(lastkv "$TMP/py.$k" pid)"; done
		echo "teller1=$(lastkv "$TMP/py.bank" teller1) teller2=$(lastkv "$TMP/py.bank" teller2)"
		echo "waiter_a=$(lastkv "$TMP/py.acq" waiter_a) waiter_b=$(lastkv "$TMP/py.acq" waiter_b)"
		echo "mpchild=$(lastkv "$TMP/py.mp" child) pipechild=$(lastkv "$TMP/py.pipe" child)"
		echo "Lbank=$(grep -n 'with dst.lock:' "$PYWL/bank_abba.py" | head -1 | cut -d: -f1)"
		echo "Lacq=$(grep -n 'second.acquire()        # never' "$PYWL/abba_lock.py" | head -1 | cut -d: -f1)"
		echo "Lqueue=$(grep -n '^    jobs.join()' "$PYWL/queue_dead_worker.py" | head -1 | cut -d: -f1)"
		echo "Lmp=$(grep -n 'child.join()' "$PYWL/mp_join_before_get.py" | head -1 | cut -d: -f1)"
		echo "Lwait=$(grep -n 'os.waitpid(child, 0)' "$PB" | head -1 | cut -d: -f1)"
		echo "Lwrite=$(grep -n 'n = os.write(fd, data)' "$PB" | head -1 | cut -d: -f1)"
		echo "Lconsume=$(grep -n 'await data_ready.wait()' "$PYWL/asyncio_stuck.py" | head -1 | cut -d: -f1)"
		echo "Lproduce=$(grep -n 'await consumer_ready.wait()' "$PYWL/asyncio_stuck.py" | head -1 | cut -d: -f1)"
		# the feeder thread's write in the interpreter's own library
		echo "Lsend=$(grep -n 'n = write(self._handle, buf)' \
			/usr/lib/python3.11/multiprocessing/connection.py | cut -d: -f1)"
	} > "$TMP/py.truth"
	. "$TMP/py.truth" 2> /dev/null
	PHUNG="$PROOT $bank $acq $queue $mp $mpchild $aio $pipe $pipechild"
	for p in $PHUNG; do wait_blocked "$p" 10 || ok=0; done
	feeder=$(ls /proc/"$mpchild"/task 2> /dev/null | grep -vx "$mpchild" | head -1)
	echo "feeder=$feeder" >> "$TMP/py.truth"
	[ "$ok" = 1 ] && pass "python: eight programs started, six hung, every thread asleep" ||
		fail "python: eight programs started, six hung, every thread asleep" \
			"$(cat "$TMP"/py.* | tr '\n' ' ')"
	# The programs' logic makes each hang certain once its truth line is out, but a thread
	# may still be on its way into its last wait (the acquire ABBA sleeps 50 ms first, a
	# thread takes the GIL back): ask until every finding is there (at most 40 times) before
	# taking the state the diagnoses must leave alone.
	for ((i = 0; i < 40; i++)); do
		"$CONLAB" deadlock -p "$PROOT" --format json -o "$TMP/pysettle.json" 2> /dev/null
		"$DEB" "$TMP/pyexpect.py" "$TMP/py.truth" "$TMP/pysettle.json" > /dev/null && break
		sleep 0.25
	done
	thread_state $PHUNG > "$TMP/pybefore"

	t0=$(date +%s%N)
	for ((i = 1; i <= RUNS; i++)); do
		"$CONLAB" deadlock -p "$PROOT" --format json -o "$TMP/py$i.json" 2> "$TMP/py$i.err"
		echo $? > "$TMP/py$i.rc"
	done
	t1=$(date +%s%N)
	echo "     ($RUNS diagnoses of 10 Python processes in $(( (t1 - t0) / 1000000 )) ms)"
	for p in $PHUNG; do thread_state "$p" > "$TMP/pyafter.$p"; done
	for p in $PHUNG; do cat "$TMP/pyafter.$p"; done > "$TMP/pyafter"
	touch "$TMP/pystop"
	wait_line "$TMP/py.sleep" '^result=' 10
	wait_line "$TMP/py.qget" '^result=' 10

	check "python, $RUNS diagnoses: exit 1 each time" \
		sh -c "cat '$TMP'/py[0-9]*.rc | sort -u | tr -d '\n' | grep -qx 1"
	check "python, $RUNS diagnoses: each named every finding by Python threads, locks and lines; no thread stopped" \
		"$DEB" "$TMP/pyexpect.py" "$TMP/py.truth" $(seq -f "$TMP/py%g.json" 1 "$RUNS")
	check "python: the sleepers were seen in their calls, with their Python stacks" \
		"$DEB" - "$TMP" "$RUNS" "$(firstkv "$TMP/py.sleep" tid)" "$(firstkv "$TMP/py.qget" tid)" <<'PY'
import json, sys
tmp, runs, *tids = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:])
seen = set()
for i in range(1, runs + 1):
    for t in json.load(open(f"{tmp}/py{i}.json"))["threads"]:
        fns = [f["function"] for f in t.get("python", [])]
        if t["tid"] in tids and t["state"] == "sleeping" and t["stop_us"] == 0 and \
           "sleep_once" in fns and fns[fns.index("sleep_once") + 1:][:1] == ["run_sleeps"]:
            seen.add(t["tid"])
assert seen == set(tids), seen
PY
	same_state "python: every thread of the six hung programs in the same call, same switch counts" \
		"$TMP/pybefore" "$TMP/pyafter"
	check "python: the child's pipe write never returned" \
		sh -c "! grep -q '^disturbed=' '$TMP/py.pipe'"
	for k in sleep qget; do
		check "python $k with the doctor: every call slept its time once, as without it" \
			grep -qE "^result=(sleep|queue) calls=[1-9][0-9]* disturbed=0 " "$TMP/py.$k"
	done

	# controls: a stop is seen by the state check, by the pipe writer and by the sleepers
	for k in sleep queue; do
		setsid "$DEB" "$PB" --kind $k --ms 100 --calls 0 --until "$TMP/pystop2" \
			> "$TMP/pyc.$k" 2>&1 &
		_pids+=("$!")
	done
	for p in $bank $acq $queue $mp $aio $pipechild; do kill -STOP "$p"; done
	sleep 0.1
	for p in $bank $acq $queue $mp $aio $pipechild; do kill -CONT "$p"; done
	wait_line "$TMP/py.pipe" '^disturbed=write ret=[0-9]+ ' 3
	check "python control: SIGSTOP ends the child's pipe write short" \
		grep -qE '^disturbed=write ret=[0-9]+ ' "$TMP/py.pipe"
	moved=
	for p in $bank $acq $queue $mp $aio; do
		thread_state "$p" | cmp -s - "$TMP/pyafter.$p" && moved="$moved $p"
	done
	check "python control: SIGSTOP + SIGCONT of each hung program is seen in its threads' state" \
		test -z "$moved"
	# stop each sleeper inside its call (clock_nanosleep 230, futex 202), three times in
	# three different calls: a stop that falls between two calls is not counted
	for k in sleep queue; do
		wait_line "$TMP/pyc.$k" '^sleeping=' 20
		p=$(lastkv "$TMP/pyc.$k" pid)
		for ((n = 0; n < 3; n++)); do
			for ((i = 0; i < 100; i++)); do
				case $(cut -d' ' -f1 /proc/"$p"/syscall 2> /dev/null) in
				230|202) break ;;
				esac
				sleep 0.01
			done
			kill -STOP "$p"
			sleep 0.05
			kill -CONT "$p"
			sleep 0.15
		done
	done
	touch "$TMP/pystop2"
	for k in sleep queue; do wait_line "$TMP/pyc.$k" '^result=' 10; done
	for k in sleep queue; do
		check "python control: a stopped $k is restarted, seen as an extra switch" \
			grep -qE "^result=$k calls=[0-9]+ disturbed=[1-9][0-9]* extra_switches=[1-9]" \
			"$TMP/pyc.$k"
	done
	kill -KILL -- "-$PROOT" 2> /dev/null
}
if [ -x "$DEB" ] && "$DEB" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2> /dev/null
then
	python_undisturbed
else
	skip "python programs undisturbed" "Debian's python3 3.11 is not installed (make deps installs it)"
fi

# ---- running threads: listed, not read; read only when --stop-running asks --------------
start_bg cp "$WL/cpuburn" --threads 1 --ms 60000
for ((i = 0; i < 100; i++)); do [ "$(ls /proc/"$cp"/task 2> /dev/null | wc -l)" = 2 ] && break; sleep 0.05; done
"$CONLAB" deadlock -p "$cp" --format json -o "$TMP/burn.json" 2> /dev/null
"$CONLAB" deadlock -p "$cp" --format json -o "$TMP/burn-stop.json" --stop-running 2> /dev/null
check "a running thread: listed as running, no stack, not stopped" pyjson "$TMP/burn.json" "(
[(t['state'], t['stack'], t['stop_us']) for t in j['threads'] if t['comm'] == 'burn-0'] ==
  [('running', [], 0)] and j['snapshot']['threads_stopped'] == 0 and
j['snapshot']['running_not_read'] == 1)"
check "--stop-running: the running thread stopped once, its stack taken" pyjson "$TMP/burn-stop.json" "(
[t['state'] for t in j['threads'] if t['comm'] == 'burn-0'] == ['running'] and
any(f['function'] == 'burn' or (f['file'] or '').endswith('cpuburn.c')
    for t in j['threads'] if t['comm'] == 'burn-0' for f in t['stack']) and
j['snapshot']['threads_stopped'] == 1)"
"$CONLAB" deadlock --help | grep -q -- '--stop-running .*STOPPING' &&
	pass "help: --stop-running says it stops threads" || fail "help: --stop-running says it stops threads"

finish
