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
# Controls: SIGSTOP + SIGCONT, which does what a ptrace stop does to these calls, is seen by
# every program, so the checks above can fail.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { skip doctor-undisturbed "needs root"; finish; }
BL=$WL/blocked
RUNS=20

# state PID...: per thread of each process: tid, state letter, syscall line, switch counts
state() {
	local p s
	for p in "$@"; do
		for s in /proc/"$p"/task/*; do
			echo "${s##*/} $(sed 's/.*) //' "$s/stat" | cut -c1) $(cat "$s/syscall")" \
				"$(grep ctxt_switches "$s/status" | tr -s '\t\n' '  ')"
		done
	done
}

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
state $HUNG > "$TMP/before"

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
state $HUNG > "$TMP/after"
touch "$TMP/stop"
wait_line "$TMP/nanosleep.out" '^result=' 3
wait_line "$TMP/epoll.out" '^result=' 3

check "$RUNS diagnoses: exit 1, the pipe's cross-process cycle each time, no thread stopped" \
	python3 - "$TMP" "$RUNS" "$PP" "$PC" <<'PY'
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
	python3 - "$TMP" "$RUNS" "$SW" "$PR" "$PC" <<'PY'
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
check "the sleepers were seen asleep in their calls, with stacks" python3 - "$TMP" "$RUNS" \
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
	python3 - "$TMP" "$PP" "$PC" <<'PY'
import json, sys
tmp, pp, pc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
j = json.load(open(f"{tmp}/proc.json"))
assert open(f"{tmp}/proc.rc").read().strip() == "1"
assert j["snapshot"]["regs_source"] == "proc" and j["snapshot"]["threads_stopped"] == 0
assert ("cross-process", sorted([pp, pc])) in [(d["kind"], sorted(d["pids"])) for d in j["deadlocks"]]
w = [t for t in j["threads"] if t["tid"] == pc][0]
assert "write_once" in [f["function"] for f in w["stack"]], w["stack"]
PY
if diff "$TMP/before" "$TMP/after" > "$TMP/diff"; then
	pass "pipe, socket write, partial read: every thread in the same call, same switch counts"
else
	fail "pipe, socket write, partial read: every thread in the same call, same switch counts" \
		"$(tr '\n' ' ' < "$TMP/diff")"
fi
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
	wait_line "$TMP/c.$k" '^sleeping=' 5
	p=$(lastkv "$TMP/c.$k" pid)
	# stop it inside a sleep: its syscall is the sleep (nanosleep is clock_nanosleep, 230)
	for ((i = 0; i < 100; i++)); do
		case $(cut -d' ' -f1 /proc/"$p"/syscall 2>/dev/null) in 230|35|232|281) break ;; esac
		sleep 0.01
	done
	kill -STOP "$p"
	sleep 0.05
	kill -CONT "$p"
done
touch "$TMP/stop2"
for k in nanosleep epoll; do wait_line "$TMP/c.$k" '^result=' 3; done
check "control: a stopped nanosleep is restarted, seen as an extra switch" \
	grep -qE '^result=nanosleep calls=[0-9]+ disturbed=[1-9][0-9]* eintr=0 extra_switches=[1-9]' \
	"$TMP/c.nanosleep"
check "control: a stopped epoll_wait fails with EINTR" \
	grep -qE '^result=epoll calls=[0-9]+ disturbed=[1-9][0-9]* eintr=[1-9]' "$TMP/c.epoll"

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
