#!/bin/bash
# test_doctor.sh — `conlab deadlock -p PID` on real hanging workloads: the JSON must name the
# right kind, the exact threads and objects, and the target must keep running (not stopped).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { skip doctor "needs root (ptrace and /proc/PID/syscall of any process)"; finish; }

# run_wl NAME OUTVAR PIDVAR CMD...: start a workload in its own session, wait for its
# ground-truth line (hang=...) and for every thread to sleep
run_wl() {
	local name=$1 __out=$2 __pid=$3 i pid
	shift 3
	setsid "$@" > "$TMP/$name.out" 2>&1 &
	pid=$!
	_pids+=("$pid")
	for ((i = 0; i < 100; i++)); do
		grep -q '^hang=' "$TMP/$name.out" 2>/dev/null && break
		sleep 0.05
	done
	printf -v "$__out" '%s' "$TMP/$name.out"
	printf -v "$__pid" '%s' "$(lastkv "$TMP/$name.out" pid)"
	wait_blocked "$(lastkv "$TMP/$name.out" pid)" 5
	sleep 0.2
}

# not_stopped NAME PID...: every thread still alive and not in a stop state
not_stopped() {
	local name=$1 p st bad=
	shift
	for p in "$@"; do
		[ -d /proc/"$p" ] || { fail "$name" "pid $p is gone"; return; }
		for st in /proc/"$p"/task/*/stat; do
			case "$(sed 's/.*) //' "$st" | cut -c1)" in T|t) bad="$bad $st" ;; esac
		done
	done
	if [ -z "$bad" ]; then pass "$name"; else fail "$name" "stopped:$bad"; fi
}

# pj FILE EXPR: pyjson with a multi-line expression
pj() { pyjson "$1" "($2)"; }

# doctor NAME PID: run conlab deadlock, JSON into $TMP/NAME.json, exit status in $RC
doctor() {
	"$CONLAB" deadlock -p "$2" --format json -o "$TMP/$1.json" 2> "$TMP/$1.err"
	RC=$?
}

# ---- ABBA -----------------------------------------------------------------------------------
run_wl abba OUT PID "$WL/abba"
doctor abba "$PID"
[ "$RC" = 1 ] && pass "abba: exit 1" || fail "abba: exit 1" "rc=$RC $(cat "$TMP/abba.err")"
check "abba: one cycle of abba-1 and abba-2 over lock_a, lock_b" pj "$TMP/abba.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'cycle' and
sorted(t['tid'] for t in j['deadlocks'][0]['threads']) == sorted([$(lastkv "$OUT" holder_a), $(lastkv "$OUT" holder_b)]) and
sorted(o['name'] for o in j['deadlocks'][0]['objects']) == ['lock_a', 'lock_b'] and
all(o['kind'] == 'mutex' for o in j['deadlocks'][0]['objects']) and
[t['tid'] for t in j['deadlocks'][0]['blocked_behind']] == [$PID]"
check "abba: stacks symbolized to abba.c" pj "$TMP/abba.json" "
any(f['file'] and f['file'].endswith('abba.c') for t in j['threads'] for f in t['stack'])"
not_stopped "abba: target not left stopped" "$PID"

"$CONLAB" deadlock -p "$PID" > "$TMP/abba.txt"
check "abba: text says who holds what" grep -q "holds lock_a and waits for mutex lock_b" "$TMP/abba.txt"
"$CONLAB" deadlock -p "$PID" --format dot > "$TMP/abba.dot"
check "abba: dot graph" grep -q "digraph waitfor" "$TMP/abba.dot"

# ---- ABBA, static and stripped: no symbols, no debug info, the same cycle -----------------------
if gcc -static -O2 -pthread -I"$ROOT/workloads" "$ROOT/workloads/abba.c" -o "$TMP/abba-static" \
	2> "$TMP/static.err" && strip "$TMP/abba-static"; then
	run_wl abba-static OUT PID "$TMP/abba-static"
	doctor abba-static "$PID"
	[ "$RC" = 1 ] && pass "static stripped abba: exit 1" ||
		fail "static stripped abba: exit 1" "rc=$RC $(cat "$TMP/abba-static.err")"
	check "static stripped abba: the cycle, its objects named by address and file" pj "$TMP/abba-static.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'cycle' and
sorted(t['tid'] for t in j['deadlocks'][0]['threads']) == sorted([$(lastkv "$OUT" holder_a), $(lastkv "$OUT" holder_b)]) and
all('abba-static (no symbol)' in o['name'] for o in j['deadlocks'][0]['objects'])"
	not_stopped "static stripped abba: target not left stopped" "$PID"
else
	fail "static stripped abba: build" "$(head -2 "$TMP/static.err")"
fi

# ---- dining philosophers: one 5-cycle, reported once ---------------------------------------
run_wl philo OUT PID "$WL/philo" --variant naive
doctor philo "$PID"
check "philo: exactly one 5-cycle over fork_m[0..4]" pj "$TMP/philo.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'cycle' and
sorted(t['tid'] for t in j['deadlocks'][0]['threads']) == sorted([$(lastkv "$OUT" tids)]) and
sorted(o['name'] for o in j['deadlocks'][0]['objects']) == ['fork_m[%d]' % i for i in range(5)] and
[t['comm'] for t in j['deadlocks'][0]['threads']] == ['philo-%d' % i for i in range(5)]"
not_stopped "philo: target not left stopped" "$PID"

# ---- lost wakeup: a condvar nobody can signal -----------------------------------------------
run_wl lost OUT PID "$WL/hangs" --kind lostwakeup
doctor lost "$PID"
check "lostwakeup: no-owner on condvar ready_cond, waiter only, main behind it" pj "$TMP/lost.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'no-owner' and
[t['tid'] for t in j['deadlocks'][0]['threads']] == [$(lastkv "$OUT" waiter)] and
[(o['name'], o['kind']) for o in j['deadlocks'][0]['objects']] == [('ready_cond', 'condvar')] and
[t['tid'] for t in j['deadlocks'][0]['blocked_behind']] == [$PID]"
not_stopped "lostwakeup: target not left stopped" "$PID"

# ---- leaked semaphore -----------------------------------------------------------------------
run_wl sem OUT PID "$WL/hangs" --kind semleak
doctor sem "$PID"
check "semleak: no-owner on semaphore pool_sem with count 0" pj "$TMP/sem.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'no-owner' and
[t['tid'] for t in j['deadlocks'][0]['threads']] == [$(lastkv "$OUT" waiter)] and
[(o['name'], o['kind'], o['value']) for o in j['deadlocks'][0]['objects']] == [('pool_sem', 'semaphore', 0)]"
not_stopped "semleak: target not left stopped" "$PID"

# ---- lock held across fork: the owner is not a thread of the child --------------------------
run_wl fork OUT PID "$WL/hangs" --kind forklock
CHILD=$(lastkv "$OUT" child)
wait_blocked "$CHILD" 5
doctor fork "$PID"
check "forklock: orphaned-owner on log_lock in the child, parent behind it" pj "$TMP/fork.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'orphaned-owner' and
[t['tid'] for t in j['deadlocks'][0]['threads']] == [$(lastkv "$OUT" child_tid)] and
[(o['name'], o['kind'], o['owner'], o['pid']) for o in j['deadlocks'][0]['objects']] ==
  [('log_lock', 'mutex', $(lastkv "$OUT" owner_tid), $CHILD)] and
[t['tid'] for t in j['deadlocks'][0]['blocked_behind']] == [$PID]"
not_stopped "forklock: parent and child not left stopped" "$PID" "$CHILD"

# ---- wait4 on a child blocked writing a full pipe the parent reads only later ---------------
run_wl pipe OUT PID "$WL/hangs" --kind pipe
CHILD=$(lastkv "$OUT" child)
wait_blocked "$CHILD" 5
doctor pipe "$PID"
check "pipe: cross-process cycle parent(wait4) <-> child(pipe write)" pj "$TMP/pipe.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'cross-process' and
sorted(t['tid'] for t in j['deadlocks'][0]['threads']) == sorted([$PID, $CHILD]) and
sorted(o['kind'] for o in j['deadlocks'][0]['objects']) == ['child-wait', 'pipe'] and
sorted(j['deadlocks'][0]['pids']) == sorted([$PID, $CHILD])"
not_stopped "pipe: parent and child not left stopped" "$PID" "$CHILD"

# ---- Python: threading.Lock ABBA with bare acquire() (test_python_doctor.sh has the rest) ---
if "$PYH" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
	run_wl py OUT PID python3 "$PYWL/abba_lock.py"
	doctor py "$PID"
	check "python: no-owner over lock_a and lock_b, read as Python Locks" pj "$TMP/py.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'no-owner' and
{t['tid'] for t in j['deadlocks'][0]['threads']} >= {$(lastkv "$OUT" holder_a), $(lastkv "$OUT" holder_b)} and
{o['addr'] for o in j['deadlocks'][0]['objects']} >= {'$(lastkv "$OUT" futex_a)', '$(lastkv "$OUT" futex_b)'} and
sorted((o['name'], o['type']) for o in j['deadlocks'][0]['objects']) == [('lock_a', 'Lock'), ('lock_b', 'Lock')]"
	not_stopped "python: target not left stopped" "$PID"
else
	skip "python" "python3 on PATH is not CPython 3.11"
fi

# ---- busy but healthy: never called deadlocked ----------------------------------------------
setsid "$WL/philo" --variant ordered --ms 4000 > "$TMP/healthy.out" 2>&1 &
PID=$!
_pids+=("$PID")
sleep 0.5
doctor healthy "$PID"
[ "$RC" = 0 ] && pass "healthy: exit 0" || fail "healthy: exit 0" "rc=$RC $(cat "$TMP/healthy.err")"
check "healthy: no deadlocks, nothing stuck" pj "$TMP/healthy.json" "
j['deadlocks'] == [] and j['summary']['stuck'] == 0"
# A slow diagnosis on a loaded machine may outlast the program: then it has finished (the
# next check says it finished normally, which a stopped program cannot).
if [ -d /proc/"$PID" ]; then
	not_stopped "healthy: target not left stopped" "$PID"
else
	pass "healthy: target not left stopped (it had finished)"
fi
for ((i = 0; i < 100; i++)); do grep -q '^hang=none' "$TMP/healthy.out" && break; sleep 0.1; done
check "healthy: target finished its work normally" grep -q '^hang=none variant=ordered' "$TMP/healthy.out"

setsid sleep 30 > /dev/null 2>&1 &
PID=$!
_pids+=("$PID")
sleep 0.2
doctor sleep "$PID"
[ "$RC" = 0 ] && pass "sleeping process: exit 0" || fail "sleeping process: exit 0" "rc=$RC"

# ---- bad input: clear message, exit 2 -------------------------------------------------------
"$CONLAB" deadlock -p 999999999 > /dev/null 2> "$TMP/bad.err"
RC=$?
[ "$RC" = 2 ] && grep -q "pid" "$TMP/bad.err" && pass "bad pid: exit 2 with a message" ||
	fail "bad pid: exit 2 with a message" "rc=$RC $(cat "$TMP/bad.err")"
"$CONLAB" deadlock -p 2 > /dev/null 2> "$TMP/kthread.err"
RC=$?
[ "$RC" = 2 ] && grep -q "kernel thread" "$TMP/kthread.err" && pass "kernel thread: exit 2" ||
	fail "kernel thread: exit 2" "rc=$RC $(cat "$TMP/kthread.err")"
sh -c 'sleep 30 & exec sleep 0.1' &
ZP=$!
_pids+=("$ZP")
sleep 0.5
if grep -q '^State:.*Z' /proc/"$ZP"/status 2>/dev/null; then
	"$CONLAB" deadlock -p "$ZP" > /dev/null 2> "$TMP/zombie.err"
	RC=$?
	[ "$RC" = 2 ] && grep -q zombie "$TMP/zombie.err" && pass "zombie: exit 2" ||
		fail "zombie: exit 2" "rc=$RC $(cat "$TMP/zombie.err")"
fi
wait "$ZP" 2>/dev/null
"$CONLAB" deadlock --help | grep -q "Exit status" && pass "help documents exit codes" ||
	fail "help documents exit codes"

finish
