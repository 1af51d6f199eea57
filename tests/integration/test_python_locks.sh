#!/bin/bash
# test_python_locks.sh — `conlab deadlock --locks -- python3 PROG` on Debian's python3 (3.11):
# the Lock owners the semaphore probes see. The ABBA taken with bare acquire() calls (a snapshot
# cannot know its holders) is caught live as the full cycle, holders included; a lock-order
# inversion that never hangs is reported with the Python names of its locks and threads. A
# recording names threads that started and ended between two of its polls.
# Every expected tid, name and line comes from the program itself (its truth line, grep -n).
. "$(dirname "$0")/lib.sh"

require_bpf python-locks
DEB=/usr/bin/python3
if ! "$DEB" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
	skip python-locks "Debian's python3 3.11 is not installed (make deps installs it)"
	finish
fi

# pj FILE EXPR: a JSON check through Debian's python3 (a pyenv shim on PATH is slow)
pj() {
	"$DEB" -c 'import json,sys
j=json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "($2)"
}

# both PATTERN FILE JSON EXPR: a line in FILE and a fact of conlab's JSON report
both() { grep -qF -- "$1" "$2" && pj "$3" "$4"; }

line() { grep -n -- "$2" "$PYWL/$1" | head -1 | cut -d: -f1; }

# ---- the bare-acquire() ABBA, live: the cycle with both holders -------------------------------
# abba_lock.py makes the hang certain (each thread holds its first lock at a barrier before
# taking the second); conlab kills it once the cycle is reported. WL_PYTHON_NAMES=1: its threads
# have their threading names only (comm stays python3), so a report that names them read them;
# the JSON run keeps its trace for the recorded reports below.
L=$(line abba_lock.py "second.acquire()        # never")
for fmt in json text; do
	keep=()
	[ $fmt = json ] && keep=(--trace "$TMP/abba.clab")
	WL_PYTHON_NAMES=1 timeout 60 "$CONLAB" deadlock --locks --quiet --format $fmt \
		-o "$TMP/abba.$fmt" "${keep[@]}" -- "$DEB" "$PYWL/abba_lock.py" \
		> "$TMP/abba.$fmt.out" 2> "$TMP/abba.$fmt.err"
	echo $? > "$TMP/abba.$fmt.rc"
done
OUT=$TMP/abba.json.out
A1=$(lastkv "$OUT" holder_a)
A2=$(lastkv "$OUT" holder_b)
# conlab's stderr is the program's too: each status line is checked with what only conlab wrote
check "abba --locks: the cycle caught live" both \
	"deadlock: a wait-for cycle closed in pid $(lastkv "$OUT" pid)" "$TMP/abba.json.err" \
	"$TMP/abba.json" "j['source'] == 'live' and 'cycle' in [d['kind'] for d in j['deadlocks']]"
[ "$(cat "$TMP/abba.json.rc")" = 1 ] && pass "abba --locks: exit status 1" ||
	fail "abba --locks: exit status 1" "rc=$(cat "$TMP/abba.json.rc")"
check "abba --locks: a cycle of abba-1 and abba-2 at line $L, each Lock held by the other (seen by the probes)" \
	pj "$TMP/abba.json" "
j['source'] == 'live' and
[d['kind'] for d in j['deadlocks']].count('cycle') == 1 and
[sorted((t['tid'], t['name'], t['at']['function'], t['at']['line']) for t in d['threads'])
 for d in j['deadlocks'] if d['kind'] == 'cycle'][0] ==
  sorted([($A1, 'abba-1', 'path', $L), ($A2, 'abba-2', 'path', $L)]) and
[sorted((o['name'], o['type'], o['owner'], o['held_by'], o['held_as']) for o in d['objects'])
 for d in j['deadlocks'] if d['kind'] == 'cycle'][0] ==
  [('lock_a', 'Lock', $A1, 'probes', 'lock_a'), ('lock_b', 'Lock', $A2, 'probes', 'lock_b')]"
check "abba --locks: the same two locks listed as a potential deadlock by Python name" pj "$TMP/abba.json" "
[sorted((e['from'], e['to'], e['thread']) for e in d['edges']) for d in j['deadlocks']
 if d['kind'] == 'potential'] ==
  [[('lock_a (Lock)', 'lock_b (Lock)', 'abba-1'), ('lock_b (Lock)', 'lock_a (Lock)', 'abba-2')]]"
check "abba --locks text: who holds what and waits for what, by Python names" grep -q \
	"abba-1 (tid $(lastkv "$TMP/abba.text.out" holder_a)) holds lock_a and waits for Lock lock_b (second), held by abba-2 (tid $(lastkv "$TMP/abba.text.out" holder_b))" \
	"$TMP/abba.text"
check "abba --locks text: the line as a traceback shows it, and how the holder is known" \
	sh -c "grep -q 'File \"$PYWL/abba_lock.py\", line $L, in path' '$TMP/abba.text' &&
	       grep -q 'it took lock_b with acquire() (seen by the lock probes) and holds it in path (abba_lock.py:$L)' '$TMP/abba.text'"

# the recording of that run: the two threads by their Python names in the recorded reports (the
# recorder reads the names of a thread until it has one, before the cycle is acted on)
NAMES="[($A1, 'abba-1'), ($A2, 'abba-2')]"
for kind in contention summary timeline; do
	"$CONLAB" report $kind -i "$TMP/abba.clab" --format json > "$TMP/abba.$kind.json" 2> /dev/null
done
check "abba recorded: contention names abba-1 and abba-2 by tid" pj "$TMP/abba.contention.json" \
	"sorted((t['tid'], t['comm']) for t in j['threads'] if t['tid'] in ($A1, $A2)) == $NAMES"
check "abba recorded: summary names them" pj "$TMP/abba.summary.json" \
	"sorted((t['tid'], t['comm']) for p in j['processes'] for t in p['threads'] if t['tid'] in ($A1, $A2)) == $NAMES"
check "abba recorded: timeline lanes name them, and the main thread MainThread" pj \
	"$TMP/abba.timeline.json" "sorted((t['tid'], t['comm']) for p in j['processes'] for t in p['threads']
if t['tid'] in ($A1, $A2)) == $NAMES and
[t['comm'] for p in j['processes'] for t in p['threads'] if t['tid'] == p['pid']] == ['MainThread']"
# the Python stack the switch probe walked when each thread blocked for good: the caller of each
# deadlocked wait is path() at the second acquire (the program holds both threads at a barrier
# and waits 50 ms before it, ten polls of the recorder after their start)
check "abba recorded: the deadlocked waits are called from path at line $L, by Python stack" \
	pj "$TMP/abba.contention.json" "sorted(w['tid'] for o in j['objects'] for c in o['callers'][:1]
if c['frames'] and (c['frames'][c['top']]['func'], c['frames'][c['top']]['line']) == ('path', $L)
for w in o['waiters']) == sorted([$A1, $A2])"
check "abba recorded: the timeline's last wait of each (its hover) says path (abba_lock.py:$L)" \
	pj "$TMP/abba.timeline.json" "sorted(t['tid'] for p in j['processes'] for t in p['threads']
if [i.get('python') for i in t['intervals'] if i['state'] == 'blocked'][-1:] == ['path (abba_lock.py:$L)']) == sorted([$A1, $A2])"
# the recorder names each Lock a thread sleeps on as the doctor does, while the program runs
check "abba recorded: the two deadlocked Locks are named lock_a and lock_b, as the program names them" \
	pj "$TMP/abba.contention.json" "sorted(o['name'] for o in j['objects'] if o['kind'] == 'pylock'
and o['name'] in ('lock_a', 'lock_b') and [w for w in o['waiters'] if w['tid'] in ($A1, $A2)]) == ['lock_a', 'lock_b']"
check "abba recorded: the timeline says what each waits on last by that name" pj "$TMP/abba.timeline.json" "
sorted([i.get('object') for i in t['intervals'] if i['state'] == 'blocked'][-1] for p in j['processes']
for t in p['threads'] if t['tid'] in ($A1, $A2)) == ['lock_a', 'lock_b']"
check "abba recorded: contention text names a waiter abba-N (tid)" grep -qE \
	"waiters: .*(abba-1 \($A1\)|abba-2 \($A2\))" <("$CONLAB" report contention -i "$TMP/abba.clab")

# ---- an inversion that never hangs: named while the program runs ---------------------------------
# lock_order.py takes the two orders one after the other, keeps its threads alive and waits
# for a line on stdin: it is sent once conlab has said the potential deadlock (names are read
# from the live process), so nothing depends on how fast either side is
inversion() {
	local tag=$1 i
	shift
	mkfifo "$TMP/in.$tag"
	exec 3<> "$TMP/in.$tag"
	timeout 60 "$CONLAB" deadlock --locks --quiet --stall 0 --format json -o "$TMP/$tag.json" \
		--trace "$TMP/$tag.clab" -- "$DEB" "$PYWL/lock_order.py" --wait-stdin "$@" < "$TMP/in.$tag" \
		> "$TMP/$tag.out" 2> "$TMP/$tag.err" &
	local cpid=$!
	for ((i = 0; i < 400; i++)); do
		grep -q "^inversion=" "$TMP/$tag.out" 2>/dev/null &&
			{ [ "$tag" = ordered ] || grep -q "potential deadlock between Python" "$TMP/$tag.err"; } &&
			break
		sleep 0.05
	done
	echo >&3
	exec 3>&-
	wait $cpid
	RC=$?
}

inversion inverted
OUT=$TMP/inverted.out
[ "$RC" = 1 ] && pass "inversion: exit 1 (a potential deadlock)" || fail "inversion: exit 1" "rc=$RC $(tail -2 "$TMP/inverted.err")"
check "inversion: said while it ran, by Python names" both \
	"potential deadlock between Python locks audit_lock (Lock) and ledger.lock (Lock) (named while pid $(lastkv "$OUT" pid) runs)" \
	"$TMP/inverted.err" "$TMP/inverted.json" "[d['kind'] for d in j['deadlocks']] == ['potential']"
check "inversion: left took ledger.lock then audit_lock, right the other order, by name and tid" \
	pj "$TMP/inverted.json" "
len(j['deadlocks']) == 1 and j['deadlocks'][0]['kind'] == 'potential' and
sorted((e['from'], e['to'], e['tid'], e['thread'], e['python']) for e in j['deadlocks'][0]['edges']) ==
  [('audit_lock (Lock)', 'ledger.lock (Lock)', $(lastkv "$OUT" right), 'right', True),
   ('ledger.lock (Lock)', 'audit_lock (Lock)', $(lastkv "$OUT" left), 'left', True)]"

# where each thread took each lock, from the program's source: the probes' Python frames,
# innermost first (the thread's function, then threading's Thread.run that called it)
LL1=$(line lock_order.py "^    ledger.lock.acquire()")
LL2=$(line lock_order.py "^    audit_lock.acquire()")
RL1=$(line lock_order.py "^    with first:")
RL2=$(line lock_order.py "^        with second:")
check "inversion: the Python lines of both edges, left $LL1 then $LL2, right $RL1 then $RL2" \
	pj "$TMP/inverted.json" "
sorted((e['thread'], [(f['function'], f['file'].split('/')[-1], f['line']) for f in e['from_python'][:1]],
        [(f['function'], f['file'].split('/')[-1], f['line']) for f in e['to_python'][:1]],
        [f['function'] for f in e['from_python'][1:2] + e['to_python'][1:2]])
       for e in j['deadlocks'][0]['edges']) ==
  [('left', [('left', 'lock_order.py', $LL1)], [('left', 'lock_order.py', $LL2)], ['Thread.run'] * 2),
   ('right', [('right', 'lock_order.py', $RL1)], [('right', 'lock_order.py', $RL2)], ['Thread.run'] * 2)]"
# the same from the trace it kept, as text: each edge's lines under its thread
"$CONLAB" report deadlock -i "$TMP/inverted.clab" > "$TMP/inverted.txt" 2>&1
RC=$?
check "inversion recorded: exit 1, each edge with its lines, innermost first (report deadlock)" \
	"$DEB" -c 'import re,sys
t = open(sys.argv[1]).read()
rc, left, right, ll1, ll2, rl1, rl2 = sys.argv[2:]
def edge(who, tid, a, b):
    return re.search(r"^  %s \(tid %s\) holds .+ taken at lock_order\.py:%s in %s\n"
                     r"      from threading\.py:\d+ in Thread\.run\n(      from .*\n)*"
                     r"    then takes .+ at lock_order\.py:%s in %s\n"
                     r"      from threading\.py:\d+ in Thread\.run\n" % (who, tid, a, who, b, who), t, re.M)
sys.exit(0 if rc == "1" and edge("left", left, ll1, ll2) and edge("right", right, rl1, rl2) else 1)' \
	"$TMP/inverted.txt" "$RC" "$(lastkv "$OUT" left)" "$(lastkv "$OUT" right)" "$LL1" "$LL2" "$RL1" "$RL2"

inversion ordered --ordered
[ "$RC" = 0 ] && pass "ordered: exit 0" || fail "ordered: exit 0" "rc=$RC"
check "ordered: one lock order, no potential deadlock" pj "$TMP/ordered.json" \
	"j['deadlocks'] == [] and j['summary']['lock_order_edges'] > 0"

# --locks=preload takes a Python Lock's acquire() (a semaphore trywait) for a trylock, which
# makes no edge: on a Python command it says so, rather than a silent "no lock-order inversion"
timeout 60 "$CONLAB" deadlock --quiet --locks=preload --stall 0 -- "$DEB" "$PYWL/lock_order.py" \
	> "$TMP/preload.out" 2> "$TMP/preload.err"
check "--locks=preload on Python: one line says its inversions are not found" grep -q \
	"^conlab: --locks=preload: a Python Lock's acquire() is a semaphore trywait.*inversions between Python Locks are not found" \
	"$TMP/preload.err"

# the same inversion by threads that end as soon as they are done, each joined before the next
# starts: a thread no longer runs when conlab reads the names, and is named from the Thread
# object the program keeps (threading._dangling), whichever of the two it finds
inversion ended --threads-end
OUT=$TMP/ended.out
check "threads ended: the potential deadlock's edges by left and right, tids and names" \
	pj "$TMP/ended.json" "
sorted((e['tid'], e['thread']) for e in j['deadlocks'][0]['edges']) ==
  [($(lastkv "$OUT" left), 'left'), ($(lastkv "$OUT" right), 'right')]"

# ---- threads that end between two polls: named from the Thread objects the program keeps ------
# short_lived_threads.py runs 8 named threads of about 1 ms each, one after another, joins each
# and keeps them (most start and end between two of the recorder's polls, 5 ms apart). The
# recording is stopped once the program has printed their tids, while it still runs and holds
# them: its last read finds every one, whether or not a poll caught it alive.
mkfifo "$TMP/in.brief"
exec 3<> "$TMP/in.brief"
"$CONLAB" record --quiet -o "$TMP/brief.clab" -- "$DEB" "$PYWL/short_lived_threads.py" \
	--wait-stdin < "$TMP/in.brief" > "$TMP/brief.out" 2> "$TMP/brief.err" &
RPID=$!
for ((i = 0; i < 400; i++)); do
	grep -q "^pid=" "$TMP/brief.out" 2>/dev/null && break
	sleep 0.05
done
kill -INT $RPID
wait $RPID
RC=$?
echo >&3	# the program ends once the recording has
exec 3>&-
BRIEF="list(zip([$(lastkv "$TMP/brief.out" tids)], '$(lastkv "$TMP/brief.out" names)'.split(',')))"
"$CONLAB" report summary -i "$TMP/brief.clab" --format json > "$TMP/brief.summary.json" 2> /dev/null
"$CONLAB" report timeline -i "$TMP/brief.clab" --format json > "$TMP/brief.timeline.json" 2> /dev/null
check "short-lived threads recorded: exit 0, the 8 threads the program made" pj \
	"$TMP/brief.summary.json" "$RC == 0 and len($BRIEF) == 8 and [p['threads_created']
for p in j['processes'] if p['pid'] == $(lastkv "$TMP/brief.out" pid)] == [8]"
check "short-lived threads recorded: the summary names each brief-N by its tid" \
	pj "$TMP/brief.summary.json" "sorted((t['tid'], t['comm']) for p in j['processes']
for t in p['threads'] if t['tid'] in dict($BRIEF)) == sorted($BRIEF)"
check "short-lived threads recorded: so do the timeline's lanes" \
	pj "$TMP/brief.timeline.json" "sorted((t['tid'], t['comm']) for p in j['processes']
for t in p['threads'] if t['tid'] in dict($BRIEF)) == sorted($BRIEF)"

finish
