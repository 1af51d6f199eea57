#!/bin/bash
# deadlock -- CMD: live cycles (abba, philo) and lock-order inversions (--locks with uprobes and
# --locks=preload) on workloads with known truth; one JSON document for both kinds; the kept
# trace read again by `report deadlock`.
source "$(dirname "$0")/lib.sh"
require_bpf deadlock_live

out=$TMP/abba.txt
timeout 60 "$CONLAB" deadlock --on-deadlock kill -- "$WL/abba" >"$out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "DEADLOCK 1 (cycle)" "$out"; then pass "abba: live cycle, exit 1"; else fail "abba: live cycle" "rc=$rc $(tail -3 "$out")"; fi

# a live cycle and the potential one in one document; the trace kept for report deadlock
timeout 60 "$CONLAB" deadlock --locks --quiet --format json -o "$TMP/abba.json" --trace "$TMP/abba.clab" \
	-- "$WL/abba" >/dev/null 2>&1
rc=$?
if [ $rc = 1 ] && pyjson "$TMP/abba.json" "[d['kind'] for d in j['deadlocks']].count('cycle')==1 and [d['kind'] for d in j['deadlocks']].count('potential')==1 and j['summary']['deadlocks']==2 and all(set(e)>={'from','to','tid','stack'} for d in j['deadlocks'] if d['kind']=='potential' for e in d['edges'])"; then
	pass "abba --locks json: cycle and potential in one document"; else fail "abba --locks json" "rc=$rc"; fi
"$CONLAB" report deadlock -i "$TMP/abba.clab" --format json -o "$TMP/abba.report.json" 2>"$TMP/abba.report.err"
rc=$?
if [ $rc = 1 ] && pyjson "$TMP/abba.report.json" "sorted(d['kind'] for d in j['deadlocks'])==['cycle','potential'] and len([d for d in j['deadlocks'] if d['kind']=='cycle'][0]['threads'])==2"; then
	pass "report deadlock on the kept trace: cycle and potential, exit 1"; else fail "report deadlock" "rc=$rc $(cat "$TMP/abba.report.err")"; fi
# conlab killed it: the trace goes on until the program is gone, every thread dead by SIGKILL
"$CONLAB" report summary -i "$TMP/abba.clab" --format json -o "$TMP/abba.summary.json" 2>/dev/null
if pyjson "$TMP/abba.summary.json" "[(p['exit_code'], [t['exited'] for t in p['threads']]) for p in j['processes']] == [(137, [True, True, True])]"; then
	pass "the kept trace ends with the killed program: 3 threads exited, status 137"
else fail "the kept trace ends with the killed program" "$(head -c 300 "$TMP/abba.summary.json")"; fi

out=$TMP/philo.txt
timeout 60 "$CONLAB" deadlock -- "$WL/philo" --variant naive >"$out" 2>&1
if grep -q "lock cycle between 5 threads" "$out"; then pass "philo naive: 5-cycle"; else fail "philo naive: 5-cycle" "$(tail -3 "$out")"; fi

# installed (make install): conlab finds its preload library in PREFIX/lib/conlab
if make -s -C "$ROOT" --no-print-directory install OUTPUT="$B" DESTDIR="$TMP/inst" PREFIX=/usr \
	> /dev/null 2>&1; then
	timeout 60 "$TMP/inst/usr/bin/conlab" deadlock --quiet --locks=preload --format json \
		-o "$TMP/installed.json" -- "$WL/lockorder" --variant inverted --iters 200 > /dev/null 2>&1
	rc=$?
	if [ $rc = 1 ] && pyjson "$TMP/installed.json" "[d['kind'] for d in j['deadlocks']] == ['potential']"; then
		pass "installed conlab: --locks=preload finds its library"
	else fail "installed conlab: --locks=preload" "rc=$rc"; fi
else
	fail "make install DESTDIR=..." "$(make -s -C "$ROOT" install OUTPUT="$B" DESTDIR="$TMP/inst" 2>&1 | tail -1)"
fi

for mode in uprobes preload; do
	lo() { timeout 60 "$CONLAB" deadlock --quiet --locks=$mode --format json -o "$TMP/$1.$mode.json" -- "$WL/lockorder" --variant "$1" --iters 200 >/dev/null 2>&1; echo $?; }
	rc=$(lo inverted)
	if [ "$rc" = 1 ] && pyjson "$TMP/inverted.$mode.json" "sum(1 for d in j['deadlocks'] if d['kind']=='potential' and 'guarded_by' not in d and len(d['edges'])==2)==1"; then
		pass "lockorder inverted ($mode): potential"; else fail "lockorder inverted ($mode)" "rc=$rc"; fi
	# named from the maps saved in the trace, though the program is gone when conlab reports
	if pyjson "$TMP/inverted.$mode.json" "sorted(e['from'].split()[0] for e in j['deadlocks'][0]['edges'])==['lock_a','lock_b'] and all(e['to_site'].split(' (')[0] in ('path_one','path_two') and ' (lockorder.c:' in e['to_site'] for e in j['deadlocks'][0]['edges'])"; then
		pass "lockorder inverted ($mode): lock_a/lock_b at lockorder.c:LINE"; else fail "lockorder inverted ($mode): names" "$(head -c 600 "$TMP/inverted.$mode.json")"; fi
	for v in global rwread trylock gated; do
		rc=$(lo $v)
		if [ "$rc" = 0 ] && pyjson "$TMP/$v.$mode.json" "j['summary']['deadlocks']==0 and j['summary']['lock_order_edges']>0"; then
			pass "lockorder $v ($mode): no deadlock"; else fail "lockorder $v ($mode)" "rc=$rc"; fi
	done
	if pyjson "$TMP/gated.$mode.json" "sum(1 for d in j['deadlocks'] if 'guarded_by' in d and d['guarded_by'].startswith('gate_lock'))==1"; then
		pass "lockorder gated ($mode): listed with guarded_by gate_lock"; else fail "lockorder gated ($mode): guarded_by"; fi
done

# the Python ABBA (threading.Lock is a sem_t: no owner to follow), started through whatever
# `python3` is on PATH (a pyenv shim execs through bash and its children): the stall check
# catches it, and the lock-order edges name it a potential deadlock too
out=$TMP/pyabba.json
timeout 60 "$CONLAB" deadlock --quiet --locks=preload --stall 2 --format json -o "$out" \
	-- python3 "$PYWL/abba_lock.py" >/dev/null 2>&1
rc=$?
if [ $rc = 1 ] && pyjson "$out" "sorted(d['kind'] for d in j['deadlocks'])==['no-owner','potential']"; then
	pass "python abba (preload): stall reported as no-owner, and the potential deadlock"
else
	fail "python abba (preload)" "rc=$rc"
fi

# text: names in the uprobe report of a program that has exited
out=$TMP/inverted.txt
"$CONLAB" deadlock --quiet --locks=uprobes -- "$WL/lockorder" --variant inverted --iters 200 >"$out" 2>&1
if grep -q "holds lock_a (0x[0-9a-f]*) (taken at path_one (lockorder.c:[0-9]*))" "$out"; then
	pass "lockorder inverted text: named"; else fail "lockorder inverted text" "$(grep holds "$out")"; fi

# --locks alone: the interposer library for a dynamically linked command, the uprobes where the
# library cannot go (a static program); with --trace too, whose edges then come from the library
mode_of() { "$CONLAB" deadlock --locks "$@" 2>&1 >/dev/null | grep -m1 -- '--locks: '; }
m=$(mode_of -- "$WL/lockorder" --variant global --iters 20)
if [[ $m == *"through libconlab-preload.so"* ]]; then
	pass "--locks on a dynamic program: preload"; else fail "--locks on a dynamic program" "$m"; fi
m=$(mode_of -- /sbin/ldconfig -p)
if [[ $m == *"uprobes (/sbin/ldconfig is statically linked)"* ]]; then
	pass "--locks on a static program: uprobes, and why"; else fail "--locks on a static program" "$m"; fi
m=$(mode_of --trace "$TMP/kept.clab" -- "$WL/lockorder" --variant inverted --iters 20)
"$CONLAB" report deadlock -i "$TMP/kept.clab" --format json -o "$TMP/kept.json" 2>/dev/null
rc=$?
if [[ $m == *"through libconlab-preload.so"* ]] && [ $rc = 1 ] && pyjson "$TMP/kept.json" \
	"[d['kind'] for d in j['deadlocks']]==['potential'] and sorted(e['from'].split()[0] for e in j['deadlocks'][0]['edges'])==['lock_a','lock_b']"; then
	pass "--locks=preload with --trace: the library's edges in the kept trace, report deadlock finds the inversion"
else fail "--locks=preload with --trace" "$m rc=$rc"; fi
# -p: the library cannot be put into a running process
if ! "$CONLAB" record --locks=preload -o "$TMP/pre.clab" -p $$ >/dev/null 2>"$TMP/pre.err" &&
	[ "$(wc -l < "$TMP/pre.err")" = 1 ] && grep -q "needs a command conlab starts" "$TMP/pre.err" &&
	[ ! -e "$TMP/pre.clab" ]; then
	pass "record --locks=preload -p: one line, non-zero, no file"; else fail "record --locks=preload -p" "$(cat "$TMP/pre.err")"; fi

finish
