#!/bin/bash
# test_python_doctor.sh — `conlab deadlock -p PID` on hung CPython programs, read as Python:
# threading names, Python lines, the locks named as the program names them, holders, the
# cycle. On Debian's python3 (3.11) and, where installed, an unstripped 3.11 (pyenv's).
# Every expected name and line comes from the program itself (its truth line, grep -n).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { skip python-doctor "needs root (/proc/PID/syscall and memory of any process)"; finish; }
DEB=/usr/bin/python3
if ! "$DEB" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
	skip python-doctor "Debian's python3 3.11 is not installed (make deps installs it)"
	finish
fi

# run_py NAME PY SCRIPT [ARGS...]: start a workload in its own session, wait for its truth line
# (hang=) and for every thread to sleep; sets OUT and PID
run_py() {
	local name=$1 i
	setsid "$2" "$PYWL/$3" "${@:4}" > "$TMP/$name.out" 2> "$TMP/$name.stderr" &
	_pids+=("$!")
	disown	# killed on purpose: no "Killed" job notice
	for ((i = 0; i < 200; i++)); do
		grep -q '^hang=' "$TMP/$name.out" 2>/dev/null && break
		sleep 0.05
	done
	OUT=$TMP/$name.out
	PID=$(lastkv "$OUT" pid)
	wait_blocked "$PID" 10
}

# doctor NAME PID KIND: the JSON report in $TMP/NAME.json, exit status in RC. The program's
# logic makes the hang certain once the truth line is out; a thread may still be on its way
# to its last wait (taking the GIL back) on a busy machine, so ask again until the finding
# the program is built to have is there (at most 20 times).
doctor() {
	local i
	for ((i = 0; i < 20; i++)); do
		"$CONLAB" deadlock -p "$2" --format json -o "$TMP/$1.json" 2> "$TMP/$1.err"
		RC=$?
		pj "$TMP/$1.json" "len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == '$3'" &&
			return
		sleep 0.25
	done
}

# line FILE PATTERN: the line number of the one line of a workload matching PATTERN
line() { grep -n -- "$2" "$PYWL/$1" | head -1 | cut -d: -f1; }

# pj FILE EXPR: lib.sh's pyjson through Debian's python3 (a pyenv shim first on PATH costs
# half a second a call)
pj() {
	"$DEB" -c 'import json,sys
j=json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "($2)"
}

# stop PID...: kill a workload and its process group
stop() {
	local p
	for p in "$@"; do kill -KILL -- -"$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
}

# ---- the bank ABBA: two tellers, `with src.lock: ... with dst.lock:` ---------------------------
bank() {
	local tag=$1 py=$2 L
	run_py "bank-$tag" "$py" bank_abba.py
	L=$(line bank_abba.py "with dst.lock:")
	T1=$(lastkv "$OUT" teller1)
	T2=$(lastkv "$OUT" teller2)
	doctor "bank-$tag" "$PID" cycle
	[ "$RC" = 1 ] && pass "bank $tag: exit 1" || fail "bank $tag: exit 1" "rc=$RC $(cat "$TMP/bank-$tag.err")"
	check "bank $tag: a cycle of teller-1 and teller-2 over alice.lock and bob.lock at line $L" \
		pj "$TMP/bank-$tag.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'cycle' and
sorted((t['tid'], t['name'], t['at']['function'], t['at']['line']) for t in j['deadlocks'][0]['threads']) ==
  [($T1, 'teller-1', 'transfer', $L), ($T2, 'teller-2', 'transfer', $L)] and
sorted((o['name'], o['type'], o['expr'], o['held_as']) for o in j['deadlocks'][0]['objects']) ==
  [('alice.lock', 'Lock', 'dst.lock', 'alice.lock'), ('bob.lock', 'Lock', 'dst.lock', 'bob.lock')] and
{o['name']: o['owner'] for o in j['deadlocks'][0]['objects']} == {'alice.lock': $T1, 'bob.lock': $T2} and
[(t['tid'], t['name']) for t in j['deadlocks'][0]['blocked_behind']] == [($PID, 'MainThread')]"
	check "bank $tag: Python stacks innermost first (transfer, teller, threading)" pj "$TMP/bank-$tag.json" "
all([f['function'] for f in t['python']][:3] == ['transfer', 'teller', 'Thread.run']
    for t in j['threads'] if t['name'] and t['name'].startswith('teller'))"
	check "bank $tag: the process is named as CPython 3.11" pj "$TMP/bank-$tag.json" "
j['processes'][0]['runtime'].startswith('CPython 3.11') and j['warning'] is None"
	"$CONLAB" deadlock -p "$PID" > "$TMP/bank-$tag.txt" 2>&1
	check "bank $tag: text says who holds what, by Python names" grep -q \
		"teller-1 (tid $T1) holds alice.lock and waits for Lock bob.lock (dst.lock), held by teller-2 (tid $T2)" \
		"$TMP/bank-$tag.txt"
	check "bank $tag: text shows the line as a traceback does" grep -q \
		"File \"$PYWL/bank_abba.py\", line $L, in transfer" "$TMP/bank-$tag.txt"
	"$CONLAB" deadlock -p "$PID" --native > "$TMP/bank-$tag-native.txt" 2>&1
	check "bank $tag: --native adds the C frames" grep -q "PyThread_acquire_lock_timed" \
		"$TMP/bank-$tag-native.txt"
	check "bank $tag: --native puts transfer under its eval-loop frame" awk \
		'/_PyEval_EvalFrameDefault/ { getline n; if (n ~ /line [0-9]+, in transfer$/) f = 1 }
		 END { exit !f }' "$TMP/bank-$tag-native.txt"
	if grep -q "PyThread_acquire_lock_timed" "$TMP/bank-$tag.txt"; then
		fail "bank $tag: no C frames without --native"
	else
		pass "bank $tag: no C frames without --native"
	fi
	stop "$PID"
}
bank debian "$DEB"

# ---- locks reached through a subscript: named as the code names them, held since their `with` --
run_py shelves "$DEB" shelves_abba.py
L=$(line shelves_abba.py "with shelves\[dst\].guard:")
H=$(line shelves_abba.py "with shelves\[src\].guard:")
doctor shelves "$PID" cycle
check "shelves ABBA: shelves['a'].guard and shelves['b'].guard, reached as shelves[dst].guard, held since line $H" \
	pj "$TMP/shelves.json" "
sorted((t['name'], t['at']['line']) for t in j['deadlocks'][0]['threads']) ==
  [('clerk-1', $L), ('clerk-2', $L)] and
sorted((o['name'], o['expr'], o['held_as'], o['held_at']) for o in j['deadlocks'][0]['objects']) ==
  [(\"shelves['a'].guard\", 'shelves[dst].guard', \"shelves['a'].guard\", 'move (shelves_abba.py:$H)'),
   (\"shelves['b'].guard\", 'shelves[dst].guard', \"shelves['b'].guard\", 'move (shelves_abba.py:$H)')] and
{o['name']: o['owner'] for o in j['deadlocks'][0]['objects']} ==
  {\"shelves['a'].guard\": $(lastkv "$OUT" clerk1), \"shelves['b'].guard\": $(lastkv "$OUT" clerk2)}"
stop "$PID"

# ---- the same ABBA with bare acquire(): no holder can be known from memory --------------------
run_py acquire "$DEB" abba_lock.py
L=$(line abba_lock.py "second.acquire()        # never")
doctor acquire "$PID" no-owner
check "acquire ABBA: both waits at line $L on lock_a and lock_b, holder said unknowable" pj "$TMP/acquire.json" "
len(j['deadlocks']) == 1 and
sorted((t['tid'], t['name'], t['at']['line']) for t in j['deadlocks'][0]['threads']) ==
  sorted([($(lastkv "$OUT" waiter_a), 'abba-2', $L), ($(lastkv "$OUT" waiter_b), 'abba-1', $L)]) and
sorted((o['name'], o['type'], o['expr'], o['owner']) for o in j['deadlocks'][0]['objects']) ==
  [('lock_a', 'Lock', 'second', None), ('lock_b', 'Lock', 'second', None)] and
all('bare acquire()' in o['note'] and '--locks' in o['note'] for o in j['deadlocks'][0]['objects'])"
stop "$PID"

# ---- RLocks: the owner is in the lock ---------------------------------------------------------------
run_py rlock "$DEB" rlock_abba.py
L=$(line rlock_abba.py "with second:")
doctor rlock "$PID" cycle
check "RLock ABBA: a cycle with each RLock's owner, at line $L in Ledger.post" pj "$TMP/rlock.json" "
len(j['deadlocks']) == 1 and
sorted((t['name'], t['at']['function'], t['at']['line']) for t in j['deadlocks'][0]['threads']) ==
  [('left', 'Ledger.post', $L), ('right', 'Ledger.post', $L)] and
{(o['name'], o['type'], o['owner']) for o in j['deadlocks'][0]['objects']} ==
  {('ledger.index', 'RLock', $(lastkv "$OUT" right)), ('ledger.journal', 'RLock', $(lastkv "$OUT" left))}"
stop "$PID"

# ---- Queue.join() whose worker died ---------------------------------------------------------------
run_py queue "$DEB" queue_dead_worker.py
L=$(line queue_dead_worker.py "    jobs.join()")
doctor queue "$PID" no-owner
check "dead worker: MainThread waits at line $L on Queue jobs with its unfinished tasks" pj "$TMP/queue.json" "
len(j['deadlocks']) == 1 and
[(t['name'], t['at']['function'], t['at']['line']) for t in j['deadlocks'][0]['threads']] == [('MainThread', 'main', $L)] and
[(o['name'], o['type']) for o in j['deadlocks'][0]['objects']] == [('jobs', 'Queue')] and
j['deadlocks'][0]['objects'][0]['note'].startswith('$(lastkv "$OUT" unfinished) tasks put on it were never marked done')"
check "dead worker: the worker's own traceback was printed (it died)" grep -q "RuntimeError: job 3 failed" \
	"$TMP/queue.stderr"
stop "$PID"

# ---- a pool's tasks wait for tasks queued behind them ---------------------------------------------
run_py pool "$DEB" pool_self_wait.py --workers 2
L=$(line pool_self_wait.py "return fut.result()")
doctor pool "$PID" no-owner
W1=$(lastkv "$OUT" workers | cut -d, -f1)
W2=$(lastkv "$OUT" workers | cut -d, -f2)
check "pool: both workers wait at line $L for Future fut, its task not started" pj "$TMP/pool.json" "
sorted((t['tid'], t['at']['function'], t['at']['line']) for t in j['deadlocks'][0]['threads']) ==
  sorted([($W1, 'outer', $L), ($W2, 'outer', $L)]) and
{(o['name'], o['type']) for o in j['deadlocks'][0]['objects']} == {('fut', 'Future')} and
all(o['note'].startswith('its task has not started') for o in j['deadlocks'][0]['objects'])"
M=$(lastkv "$OUT" main_tid)
check "pool: main waits behind it, for futs[0], whose task the first worker runs" pj "$TMP/pool.json" "
[b['tid'] for b in j['deadlocks'][0]['blocked_behind']] == [$M] and
[(t['wait']['name'], t['wait']['type'], t['wait']['kind'], t['wait']['owner'])
 for t in j['threads'] if t['tid'] == $M] == [('futs[0]', 'Future', 'join', $W1)]"
stop "$PID"

# ---- a stop marker short: the consumer left waits in get() on an empty Queue -----------------------
run_py stops "$DEB" queue_pc.py --consumers 3 --stops 2 --items 50
L=$(line queue_pc.py "item = q.get()")
doctor stops "$PID" no-owner
check "missing stop marker: the consumer without one waits at line $L on Queue q, said to be empty" pj "$TMP/stops.json" "
len(j['deadlocks']) == 1 and
[(t['tid'], t['at']['function'], t['at']['line']) for t in j['deadlocks'][0]['threads']] == [($(lastkv "$OUT" waiting), 'consumer', $L)] and
[(o['name'], o['type']) for o in j['deadlocks'][0]['objects']] == [('q', 'Queue')] and
j['deadlocks'][0]['objects'][0]['note'].startswith('it is empty')"
check "missing stop marker: Queue.join's note is not given to a get()" pj "$TMP/stops.json" "
'never marked done' not in j['deadlocks'][0]['objects'][0]['note']"
stop "$PID"

# ---- multiprocessing: join() before get() -----------------------------------------------------------
run_py mp "$DEB" mp_join_before_get.py
CHILD=$(lastkv "$OUT" child)
wait_blocked "$CHILD" 10
L=$(line mp_join_before_get.py "child.join()")
doctor mp "$PID" cross-process
check "join before get: one cross-process cycle, parent at line $L, the child's feeder on the pipe" pj "$TMP/mp.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'cross-process' and
sorted(j['deadlocks'][0]['pids']) == sorted([$PID, $CHILD]) and
sorted((t['pid'], t['name'], t['at']['function']) for t in j['deadlocks'][0]['threads']) ==
  sorted([($PID, 'MainThread', 'main'), ($CHILD, 'QueueFeederThread', 'Connection._send')]) and
[t['at']['line'] for t in j['deadlocks'][0]['threads'] if t['pid'] == $PID] == [$L] and
[(t['pid'], t['name']) for t in j['deadlocks'][0]['blocked_behind']] == [($CHILD, 'MainThread')]"
check "join before get: the child's main thread joins its feeder (a Thread join, not a semaphore)" pj "$TMP/mp.json" "
[(t['wait']['kind'], t['wait']['type']) for t in j['threads'] if t['tid'] == $CHILD] == [('join', 'Thread')]"
stop "$PID"

# ---- a multiprocessing.Pipe whose two ends both wait in recv(): Unix sockets, not the outside --
run_py recv "$DEB" hangs.py --kind recv
CHILD=$(lastkv "$OUT" child)
wait_blocked "$CHILD" 10
L=$(line hangs.py "got = ours.recv()  ")
doctor recv "$PID" cross-process
check "Pipe recv on both ends: a cross-process cycle on the two sockets, main at line $L" pj "$TMP/recv.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'cross-process' and
sorted(j['deadlocks'][0]['pids']) == sorted([$PID, $CHILD]) and
sorted(o['kind'] for o in j['deadlocks'][0]['objects']) == ['socket', 'socket'] and
all(sorted(o['peers']) == sorted([$PID, $CHILD]) for o in j['deadlocks'][0]['objects']) and
[(t['at']['function'], t['at']['line']) for t in j['deadlocks'][0]['threads'] if t['pid'] == $PID] == [('recv', $L)] and
[t['at']['function'] for t in j['deadlocks'][0]['threads'] if t['pid'] == $CHILD] == ['echo']"
stop "$PID"

# ---- a multiprocessing.Lock the parent holds while it joins the children that wait for it -------
# Its holder is read from the parent's own copy of the lock (count, last_tid): the semaphore has
# no owner field. Forked children map it where the parent does, spawned ones elsewhere.
for start in fork spawn; do
	run_py "mp$start" "$DEB" mp_lock.py --join-first --children 2 --start "$start"
	KIDS=$(lastkv "$OUT" children)
	L=$(line mp_lock.py "    with lock:")
	doctor "mp$start" "$PID" cross-process
	check "multiprocessing.Lock ($start): held by the parent's main thread, a cross-process cycle with the children waiting at line $L" pj "$TMP/mp$start.json" "
len(j['deadlocks']) == 1 and $PID in j['deadlocks'][0]['pids'] and
[(o['type'], o['name'], o['owner'], o['owner_pid']) for o in j['deadlocks'][0]['objects'] if o['kind'] == 'mutex'] == [('multiprocessing.Lock', 'lock', $PID, $PID)] and
all(t['at']['line'] == $L for t in j['deadlocks'][0]['threads'] if t['pid'] in [$KIDS])"
	stop "$PID"
done
# a Semaphore(1) has no owner: the permit the parent took and kept is said
run_py mpsem "$DEB" mp_lock.py --join-first --children 1 --semaphore
doctor mpsem "$PID" no-owner
check "multiprocessing.Semaphore: no owner, the parent's permit said" pj "$TMP/mpsem.json" "
[(o['type'], o['name'], o['note']) for o in j['deadlocks'][0]['objects'] if o['kind'] == 'semaphore'] ==
  [('multiprocessing.Semaphore', 'lock', 'permits taken and not given back: 1 by pid $PID (last taken by tid $PID)')]"
stop "$PID"

# ---- asyncio: two tasks each waiting for the other's Event; no thread is blocked -------------------
run_py aio "$DEB" asyncio_stuck.py
LP=$(line asyncio_stuck.py "await consumer_ready.wait()")
LC=$(line asyncio_stuck.py "await data_ready.wait()")
"$CONLAB" deadlock -p "$PID" --format json -o "$TMP/aio.json" 2> "$TMP/aio.err"
check "asyncio: the tasks, what each awaits, and their coroutine lines" pj "$TMP/aio.json" "
sorted((t['name'], t['state'], t['awaits'], [(c['function'], c['line']) for c in t['coroutines']][:1])
       for t in j['processes'][0]['tasks'] if t['state'] != 'finished') ==
  [('Task-1', 'pending', 'gather()', [('main', $(line asyncio_stuck.py "await asyncio.gather"))]),
   ('consumer', 'pending', 'Event data_ready', [('consume', $LC)]),
   ('producer', 'pending', 'Event consumer_ready', [('produce', $LP)])] and
all([c['function'] for c in t['coroutines']][1:] == ['Event.wait']
    for t in j['processes'][0]['tasks'] if t['name'] in ('producer', 'consumer'))"
"$CONLAB" deadlock -p "$PID" > "$TMP/aio.txt" 2>&1
RC=$?
check "asyncio: text lists the tasks, each awaiting the other's Event by its name" grep -q \
	"^  producer (pending) awaits Event consumer_ready" "$TMP/aio.txt"
check "asyncio: the loop can never wake (no callback, timer or descriptor but its own)" pj \
	"$TMP/aio.json" "j['processes'][0]['event_loop'] ==
  {'tid': $PID, 'ready': 0, 'scheduled': 0, 'fds_watched': 1, 'stalled': True}"
check "asyncio: the text says its tasks wait for ever, exit status 1" bash -c "[ $RC = 1 ] &&
	grep -q 'asyncio event loop of pid $PID can never wake' '$TMP/aio.txt'"
stop "$PID"

# ---- the same, serving a port: a client could still wake the loop --------------------------------
run_py aiol "$DEB" asyncio_stuck.py --listen
"$CONLAB" deadlock -p "$PID" --format json -o "$TMP/aiol.json" 2> "$TMP/aiol.err"
"$CONLAB" deadlock -p "$PID" > "$TMP/aiol.txt" 2>&1
RC=$?
check "asyncio --listen: the loop watches its listening socket too, so it is not stalled" pj \
	"$TMP/aiol.json" "j['processes'][0]['event_loop']['fds_watched'] == 2 and
  j['processes'][0]['event_loop']['stalled'] is False"
check "asyncio --listen: the text says no deadlock, exit status 0" bash -c "[ $RC = 0 ] &&
	grep -q '^no deadlock' '$TMP/aiol.txt'"
stop "$PID"

# ---- a C program is not read as Python --------------------------------------------------------------
setsid "$WL/abba" > "$TMP/cabba.out" 2>&1 &
_pids+=("$!")
disown
for ((i = 0; i < 100; i++)); do grep -q '^hang=' "$TMP/cabba.out" && break; sleep 0.05; done
PID=$(lastkv "$TMP/cabba.out" pid)
wait_blocked "$PID" 5
doctor cabba "$PID" cycle
check "C program: no Python view, no warning" pj "$TMP/cabba.json" "
j['warning'] is None and j['processes'][0]['runtime'] is None and
all('python' not in t and t['name'] is None for t in j['threads'])"
stop "$PID"

# ---- an unstripped 3.11 and an unknown version (pyenv's, where installed) ------------------------
PYENV=${PYENV_ROOT:-/root/.pyenv}/versions
U311=$(ls -d "$PYENV"/3.11.*/bin/python3.11 2>/dev/null | head -1)
if [ -n "$U311" ]; then
	bank unstripped "$U311"
else
	skip "bank unstripped" "no unstripped CPython 3.11 (pyenv's) under $PYENV"
fi
U312=$(ls -d "$PYENV"/3.12.*/bin/python3.12 2>/dev/null | head -1)
if [ -n "$U312" ]; then
	run_py v312 "$U312" bank_abba.py
	"$CONLAB" deadlock -p "$PID" --format json -o "$TMP/v312.json" 2> "$TMP/v312.err"
	RC=$?
	check "CPython 3.12: one line on stderr, the C view, exit 1" pj "$TMP/v312.json" "
$RC == 1 and open('$TMP/v312.err').read() == 'conlab: pid $PID: CPython 3.12: layout not known, native frames only\n' and
'CPython 3.12: layout not known' in j['warning'] and
all('python' not in t for t in j['threads']) and j['deadlocks'][0]['kind'] == 'no-owner'"
	# the recorder says it too, once for the process (three threads), and records the C view
	"$CONLAB" record -p "$PID" --duration 0.2 -o "$TMP/v312.clab" 2> "$TMP/v312rec.err"
	check "CPython 3.12 recorded: the same line on stderr, the recording made" \
		grep -qxF "conlab: pid $PID: CPython 3.12: layout not known, native frames only" \
		"$TMP/v312rec.err"
	[ "$(grep -c 'layout not known' "$TMP/v312rec.err")" = 1 ] && [ -s "$TMP/v312.clab" ] &&
		pass "CPython 3.12 recorded: said once, not per thread" ||
		fail "CPython 3.12 recorded: said once" "$(cat "$TMP/v312rec.err")"
	stop "$PID"
else
	skip "unknown version" "no CPython 3.12 (pyenv's) under $PYENV to stand for one"
fi

finish
