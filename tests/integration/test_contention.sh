#!/bin/bash
# test_contention.sh — conlab contention on workloads that measure their own lock waits.
source "$(dirname "$0")/lib.sh"

require_bpf contention

# within PCT percent (or SLACK ns) of the workload's own number
near() { "$PYH" -c "import sys; a,b,p,s=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=max(b*p/100,s) else 1)" "$@"; }

# --- a hot and a cold lock; the holder sleeps with the hot one held ------------------------
out=$TMP/ll.out
if "$CONLAB" contention --quiet --format json -o "$TMP/ll.json" --trace "$TMP/ll.clab" -- \
	"$WL/lockloop" --threads 3 --iters 300 --hold-sleep-us 100 --cold-every 10 --work 1000 \
	> "$out" 2>"$TMP/ll.err"; then
	pass "contention -- lockloop runs"
else
	fail "contention -- lockloop runs" "$(tail -2 "$TMP/ll.err")"
fi
want=$(lastkv "$out" wait_ns_total)
check "hot lock on top, by name" pyjson "$TMP/ll.json" \
	"[o for o in j['objects'] if o['contention']][0]['name'] == 'shared_lock'"
check "hot lock is a mutex held by the workers" pyjson "$TMP/ll.json" \
	"(lambda o: o['kind'] == 'mutex' and len(o['holders']) >= 2 and
	  all(h['comm'].startswith('lockloop-') for h in o['holders']))([o for o in j['objects'] if o['contention']][0])"
got=$("$PYH" -c "import json; print([o for o in json.load(open('$TMP/ll.json'))['objects'] if o['name']=='shared_lock'][0]['wait_ns_total'])")
check "hot lock total wait $got within 15% of the workload's $want" near "$got" "$want" 15 0
check "cold lock below the hot one" pyjson "$TMP/ll.json" \
	"all(o['wait_ns_total'] < [o for o in j['objects'] if o['contention']][0]['wait_ns_total'] for o in j['objects'] if o['name'] == 'cold_lock')"
# every hold sleeps 100 us, so some waits overlap a holder's sleep; how much of the wait that is
# depends on the machine's load (a preempted holder is runnable, not asleep): only that it is seen
check "holder seen asleep while holding" pyjson "$TMP/ll.json" \
	"[o for o in j['objects'] if o['contention']][0]['holder_state_ns']['asleep_or_io'] > 0"
check "waiting caller is lock_timed (lockloop.c:N), below it critical" pyjson "$TMP/ll.json" \
	"(lambda c: c['frames'][c['top']]['func'] == 'lock_timed' and
	  c['frames'][c['top']]['file'] == 'lockloop.c' and c['frames'][c['top']]['line'] > 0 and
	  c['frames'][c['top'] + 1]['func'] == 'critical')([o for o in j['objects'] if o['contention']][0]['callers'][0])"
check "joins are not lock contention" pyjson "$TMP/ll.json" \
	"([o for o in j['objects'] if o['kind'] == 'join'] and
	  all(not o['contention'] and o['name'].startswith('join(') for o in j['objects'] if o['kind'] == 'join'))"
check "per thread waits add up to the object's" pyjson "$TMP/ll.json" \
	"(sum(x['wait_ns'] for t in j['threads'] for x in t['objects'] if x['name'] == 'shared_lock')
	  == [o for o in j['objects'] if o['contention']][0]['wait_ns_total'])"
check "report shows lost events" pyjson "$TMP/ll.json" "'lost_events' in j"

"$CONLAB" report contention -i "$TMP/ll.clab" > "$TMP/ll.txt" 2>&1
check "text: header, lost line, table row" grep -q "^shared_lock  *mutex" "$TMP/ll.txt"
check "text: lost events line" grep -q "^lost events:" "$TMP/ll.txt"
check "text: caller with file:line" grep -q "lock_timed (lockloop.c:[0-9]*)" "$TMP/ll.txt"
"$CONLAB" report contention -i "$TMP/ll.clab" --format folded > "$TMP/ll.folded" 2>&1
check "folded: stacks end in the lock with a weight" \
	grep -qE "^lockloop;.*;critical_\(lockloop\.c:[0-9]+\);lock_timed_\(lockloop\.c:[0-9]+\);shared_lock_\[mutex\] [0-9]+$" "$TMP/ll.folded"
# the report folds the waits as the records pass: the same as from the whole history
same_as_whole() {
	local tr=$1 what=$2
	shift 2
	"$CONLAB" report contention -i "$tr" "$@" > "$TMP/fold.out" 2>&1
	CONLAB_REPORT_WHOLE=1 "$CONLAB" report contention -i "$tr" "$@" > "$TMP/whole.out" 2>&1
	check "$what: the same as from the whole history" cmp -s "$TMP/fold.out" "$TMP/whole.out"
}
same_as_whole "$TMP/ll.clab" "text"
same_as_whole "$TMP/ll.clab" "json" --format json
same_as_whole "$TMP/ll.clab" "--from/--to, json" --format json --from 0.05 --to 0.2
if "$CONLAB" report contention -i "$TMP/ll.clab" --sort nonsense > /dev/null 2>"$TMP/err"; then
	fail "bad --sort refused" "exit 0"
else
	check "bad --sort refused with one line" test "$(wc -l < "$TMP/err")" = 1
fi
"$CONLAB" report contention -i "$TMP/ll.clab" --sort waits --format json -o "$TMP/w.json"
check "--sort waits" pyjson "$TMP/w.json" \
	"[o['waits'] for o in j['objects']] == sorted([o['waits'] for o in j['objects']], reverse=True)"

# --- --locks: every acquisition, uncontended ones counted, by the uprobes and by the library --
for via in uprobes preload; do
	"$CONLAB" contention --quiet --locks=$via --format json -o "$TMP/lk.$via.json" -- \
		"$WL/lockloop" --threads 2 --iters 500 --cold-every 10 --hold-sleep-us 100 > "$TMP/lk.out" 2>"$TMP/lk.err"
	check "--locks=$via: exit 0" test $? = 0
	check "--locks=$via: every acquisition of both locks" pyjson "$TMP/lk.$via.json" \
		"{o['name']: o['acquisitions']['count'] for o in j['objects'] if o['name'] in ('shared_lock', 'cold_lock')} == {'shared_lock': 900, 'cold_lock': 100}"
	check "--locks=$via: uncontended + contended = acquisitions, holds measured" pyjson "$TMP/lk.$via.json" \
		"all(o['acquisitions']['uncontended'] <= o['acquisitions']['count'] and o['acquisitions']['holds'] == o['acquisitions']['count'] for o in j['objects'] if o['name'] in ('shared_lock', 'cold_lock'))"
	# each hold sleeps 100 us: the holds' average is at least that, by either way of seeing them
	check "--locks=$via: shared_lock's holds average at least the 100 us each sleeps" pyjson "$TMP/lk.$via.json" \
		"[o['acquisitions']['hold_ns_total'] >= 100000 * o['acquisitions']['holds'] for o in j['objects'] if o['name'] == 'shared_lock'] == [True]"
done
# a ring of 4096 calls (--buffer 64K) for 200,000: the library waits for conlab to read it
# rather than drop a call, so every acquisition is still there
"$CONLAB" contention --quiet --locks=preload --buffer 64K --format json -o "$TMP/lk.small.json" -- \
	"$WL/race" --variant locked --iters 50000 >/dev/null 2>&1
check "--locks=preload, a ring 1/50 of the calls: all 100000 acquisitions of counter_lock" pyjson "$TMP/lk.small.json" \
	"[o['acquisitions']['count'] for o in j['objects'] if o['name'] == 'counter_lock'] == [100000]"
# the joins' caller is main at its pthread_join lines, though main's stack also holds the
# threads' start routine (side_main), a pointer into the program's code that no call precedes
JL=$(grep -n 'pthread_join(' "$ROOT/workloads/race.c" | cut -d: -f1 | tr '\n' ',')
check "joins: called from main (race.c:$JL), not from the start routine on its stack" pyjson "$TMP/lk.small.json" \
	"(lambda js: len(js) >= 1 and all(c['frames'][c['top']]['func'] == 'main' and c['frames'][c['top']]['line'] in ($JL) for o in js for c in o['callers']))([o for o in j['objects'] if o['kind'] == 'join'])"

# --- global vs striped locks ----------------------------------------------------------------
for locks in global striped; do
	"$CONLAB" contention --quiet --format json -o "$TMP/t-$locks.json" -- "$WL/table" --locks $locks \
		--threads 3 --ops 2000 --hold-ns 20000 --think-ns 20000 > "$TMP/t-$locks.out" 2>/dev/null
	want=$(lastkv "$TMP/t-$locks.out" wait_ns_total)
	got=$("$PYH" -c "import json; print(sum(o['wait_ns_total'] for o in json.load(open('$TMP/t-$locks.json'))['objects'] if o['name'].startswith(('table_lock','stripe_lock'))))")
	check "table --locks $locks: wait $got within 15% of $want (or 2 ms)" near "$got" "$want" 15 2000000
done
check "global: table_lock on top" pyjson "$TMP/t-global.json" \
	"[o for o in j['objects'] if o['contention']][0]['name'] == 'table_lock'"
check "striped: stripes named by element, no table_lock" pyjson "$TMP/t-striped.json" \
	"(not [o for o in j['objects'] if o['name'] == 'table_lock'] and
	  all(o['name'].startswith('stripe_lock[') for o in j['objects'] if o['kind'] == 'mutex'))"

# --- condition variables are not mutex contention --------------------------------------------
"$CONLAB" contention --quiet --format json -o "$TMP/pc.json" -- "$WL/pcqueue" --items 300 \
	--consume-us 200 > "$TMP/pc.out" 2>/dev/null
check "pcqueue: condvar waits are kind condvar, named, apart" pyjson "$TMP/pc.json" \
	"([o for o in j['objects'] if o['kind'] == 'condvar' and o['name'] in ('not_full', 'not_empty')] and
	  all(not o['contention'] for o in j['objects'] if o['kind'] == 'condvar'))"
full=$(lastkv "$TMP/pc.out" full_ns)
got=$("$PYH" -c "import json; print(sum(o['wait_ns_total'] for o in json.load(open('$TMP/pc.json'))['objects'] if o['name']=='not_full'))")
# The producer's own clock around pthread_cond_wait also runs while it takes the queue's mutex
# back after the signal (a wait on another object, longer the busier the machine): conlab's
# condvar wait is at most the program's and not far below it.
check "pcqueue: producer's wait on not_full $got within its own $full, at least a quarter" \
	"$PYH" -c "import sys; g, f = map(float, sys.argv[1:]); sys.exit(0 if f / 4 <= g <= f * 1.02 + 2e6 else 1)" "$got" "$full"

# --- Python: threading.Lock and the GIL ------------------------------------------------------
if command -v python3 > /dev/null; then
	"$CONLAB" contention --quiet --format json -o "$TMP/py.json" --trace "$TMP/py.clab" -- \
		python3 "$PYWL/race.py" --variant locked --iters 200000 --sure-waits \
		> "$TMP/py.out" 2>/dev/null
	inc=$(lastkv "$TMP/py.out" inc_tid)
	dec=$(lastkv "$TMP/py.out" dec_tid)
	same_as_whole "$TMP/py.clab" "python: json" --format json
	check "python: GIL hand-offs are kind gil, not contention" pyjson "$TMP/py.json" \
		"all(not o['contention'] for o in j['objects'] if o['kind'] == 'gil')"
	# the two threads run Python code at once (a barrier starts them): the one without the GIL
	# sleeps on its condvar until the holder drops it, so there are GIL waits, named by part
	check "python: the GIL's waits are named GIL, its other words by their part" pyjson "$TMP/py.json" \
		"([o for o in j['objects'] if o['kind'] == 'gil' and o['name'] == 'GIL'] and
		  all(o['name'] in ('GIL', 'GIL mutex', 'GIL switch', 'GIL switch mutex')
		      for o in j['objects'] if o['kind'] == 'gil'))"
	"$CONLAB" report summary -i "$TMP/py.clab" --format json -o "$TMP/py-sum.json" 2>/dev/null
	check "python: the summary's futex table names the GIL's words as contention does" \
		pyjson "$TMP/py-sum.json" "[f for f in j['futexes'] if f['name'] == 'GIL']"
	# --sure-waits: both slept once in acquire() while main held the Lock
	check "python: the threading.Lock waits of inc/dec are pylock contention" pyjson "$TMP/py.json" \
		"[o for o in j['objects'] if o['kind'] == 'pylock' and o['contention'] and
		  {w['tid'] for w in o['waiters']} >= {$inc, $dec}]"
	# a Queue's waits in Condition.wait and main's join(): --sure-waits makes consumer-0 sleep
	# in get() before the first put, and main in join(consumer-0) before the end markers
	"$CONLAB" contention --quiet --format json -o "$TMP/qpc.json" --trace "$TMP/qpc.clab" -- \
		"$PYH" "$PYWL/queue_pc.py" --sure-waits --items 200 > "$TMP/qpc.out" 2>/dev/null
	cons=$(lastkv "$TMP/qpc.out" consumer_tids)
	qmain=$(lastkv "$TMP/qpc.out" main_tid)
	check "python: queue_pc --sure-waits ran" test "$(lastkv "$TMP/qpc.out" consumed)" = 200
	check "python: consumer-0's waits in Queue.get are a condvar, not lock contention" \
		pyjson "$TMP/qpc.json" \
		"[o for o in j['objects'] if o['kind'] == 'condvar' and not o['contention'] and
		  o['name'].startswith('condvar@Queue.get (queue.py:') and
		  $cons in [w['tid'] for w in o['waiters']]]"
	check "python: main's join() of consumer-0 is a join, held by consumer-0" \
		pyjson "$TMP/qpc.json" \
		"[o for o in j['objects'] if o['kind'] == 'join' and not o['contention'] and
		  o['name'] == 'join(consumer-0 $cons)' and $qmain in [w['tid'] for w in o['waiters']]
		  and o['holders'][0]['tid'] == $cons]"
	check "python: no Condition.wait or join row under lock contention" pyjson "$TMP/qpc.json" \
		"not [o for o in j['objects'] if o['contention'] and
		      o['name'].startswith(('lock@Condition.', 'lock@Thread._wait_for_tstate_lock'))]"
	same_as_whole "$TMP/qpc.clab" "python queue: text"
	sed -n '/^lock contention/,/^waiting for an event/p' "$TMP/fold.out" > "$TMP/qpc-locks.txt"
	sed -n '/^waiting for an event/,/^$/p' "$TMP/fold.out" > "$TMP/qpc-events.txt"
	check "python queue: text lists the join as an event" \
		grep -q "^join(consumer-0 $cons) *join " "$TMP/qpc-events.txt"
	check "python queue: text lists the Queue's condvar as an event" \
		grep -q "^condvar@Queue.get (queue.py:[0-9]*) *condvar " "$TMP/qpc-events.txt"
	check "python queue: text lists no Condition.wait or join lock" \
		sh -c '! grep -q "^lock@\(Condition\.\|Thread\._wait_for\)" "$1"' - "$TMP/qpc-locks.txt"
	same_as_whole "$TMP/qpc.clab" "python queue: json" --format json
	"$CONLAB" report timeline -i "$TMP/qpc.clab" --format json -o "$TMP/qpc-tl.json" 2>/dev/null
	check "python queue: timeline says join of consumer-0 and the condvar of Queue.get" \
		pyjson "$TMP/qpc-tl.json" \
		"(lambda th: [i for i in th[$qmain]['intervals'] if i.get('reason') == 'join' and
		   i.get('holder') == $cons] and [i for i in th[$cons]['intervals']
		   if i.get('reason') == 'condvar' and i.get('object', '').startswith('Queue.get (queue.py:')])(
		   {t['tid']: t for p in j['processes'] for t in p['threads']})"
	# one multiprocessing.Lock, two processes waiting for it: one object (mp_lock makes both
	# children sleep on it while the parent holds it). Each holds it 50 ms, so the second
	# child waits and lives that long: the recorder names the lock at a poll in between
	"$CONLAB" contention --quiet --format json -o "$TMP/mpl.json" -- "$PYH" "$PYWL/mp_lock.py" \
		--children 2 --hold-ms 50 > "$TMP/mpl.out" 2>/dev/null
	kids=$(lastkv "$TMP/mpl.out" children)
	check "python: a multiprocessing.Lock two children waited for is one object with both" \
		pyjson "$TMP/mpl.json" \
		"[o for o in j['objects'] if o['kind'] == 'pylock' and
		  {w['tid'] for w in o['waiters']} >= {${kids:-0}}]"
	check "python: that Lock is named as the program names it (its global lock)" \
		pyjson "$TMP/mpl.json" "[o for o in j['objects'] if o['kind'] == 'pylock' and o['name'] == 'lock']"
	# an executor's worker waiting for work sleeps on its SimpleQueue's Lock, from C code:
	# --idle-wait makes that wait sure, and the map's first submit ends it
	"$CONLAB" contention --quiet --format json -o "$TMP/tpe.json" -- "$PYH" "$PYWL/pools.py" \
		--mode tpe --workers 1 --tasks 4 --work-ms 10 --idle-wait > "$TMP/tpe.out" 2>/dev/null
	wk=$(lastkv "$TMP/tpe.out" worker_tids)
	check "python: a ThreadPoolExecutor worker waiting for work is a condvar at its get(), not a lock" \
		pyjson "$TMP/tpe.json" \
		"([o for o in j['objects'] if o['kind'] == 'condvar' and not o['contention'] and
		   o['name'].startswith('condvar@_worker (thread.py:') and
		   ${wk:-0} in [w['tid'] for w in o['waiters']]] and
		  not [o for o in j['objects'] if o['kind'] == 'pylock' and
		       ${wk:-0} in [w['tid'] for w in o['waiters']]])"
fi

# --- -p PID ---------------------------------------------------------------------------------
start_bg bgpid "$WL/lockloop" --threads 2 --iters 100000000 --hold-sleep-us 50
sleep 0.2
"$CONLAB" contention --quiet -p "$bgpid" --duration 1 --format json -o "$TMP/p.json" 2>/dev/null
check "-p PID --duration: shared_lock on top" pyjson "$TMP/p.json" \
	"(lambda o: o['name'] == 'shared_lock' and o['waits'] > 0)([o for o in j['objects'] if o['contention']][0])"
kill "$bgpid" 2>/dev/null

finish
