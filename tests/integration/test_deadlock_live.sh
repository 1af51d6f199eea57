#!/bin/bash
# deadlock -- CMD: live cycles (abba, philo) and lock-order inversions (--locks) on workloads
# with known truth.
source "$(dirname "$0")/lib.sh"
require_bpf

out=$TMP/abba.txt
timeout 60 "$CONLAB" deadlock --on-deadlock kill -- "$WL/abba" >"$out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "DEADLOCK 1 (cycle)" "$out"; then pass "abba: live cycle, exit 1"; else fail "abba: live cycle" "rc=$rc $(tail -3 "$out")"; fi

out=$TMP/philo.txt
timeout 60 "$CONLAB" deadlock -- "$WL/philo" --variant naive >"$out" 2>&1
if grep -q "lock cycle between 5 threads" "$out"; then pass "philo naive: 5-cycle"; else fail "philo naive: 5-cycle" "$(tail -3 "$out")"; fi

lo() { timeout 60 "$CONLAB" deadlock --locks --format json -o "$TMP/$1.json" -- "$WL/lockorder" --variant "$1" --iters 200 >/dev/null 2>&1; echo $?; }
rc=$(lo inverted)
if [ "$rc" = 1 ] && pyjson "$TMP/inverted.json" "sum(1 for d in j['deadlocks'] if d['kind']=='potential' and 'guarded_by' not in d and len(d['edges'])==2)==1"; then
	pass "lockorder inverted: potential"; else fail "lockorder inverted" "rc=$rc"; fi
for v in global rwread trylock gated; do
	rc=$(lo $v)
	if [ "$rc" = 0 ] && pyjson "$TMP/$v.json" "j['summary']['deadlocks']==0 and j['summary']['lock_order_edges']>0"; then
		pass "lockorder $v: no deadlock"; else fail "lockorder $v" "rc=$rc"; fi
done
if pyjson "$TMP/gated.json" "sum(1 for d in j['deadlocks'] if 'guarded_by' in d)==1"; then
	pass "lockorder gated: listed with guarded_by"; else fail "lockorder gated: guarded_by"; fi

finish
