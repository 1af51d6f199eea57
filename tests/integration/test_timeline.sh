#!/bin/bash
# test_timeline.sh — `conlab timeline` on a real producer/consumer run: the lanes, the wait
# reasons and the wakeup arrows match the program's own log; the Perfetto file decodes; the
# HTML page loads in headless Chromium without console errors.
source "$(dirname "$0")/lib.sh"
require_bpf timeline

OUT=$TMP/pc.out
JSON=$TMP/pc.json
"$CONLAB" timeline --quiet --trace "$TMP/pc.clab" --format json -o "$JSON" -- \
	"$WL/pcqueue" --items 300 --consumers 1 --consume-us 100 --stall-ms 0 > "$OUT" 2> "$TMP/err"
check "timeline records and renders json" test -s "$JSON"
PT=$(lastkv "$OUT" producer_tid)
CT=$(lastkv "$OUT" consumer_tids)
PW=$(lastkv "$OUT" producer_waits)
CW=$(lastkv "$OUT" consumer_waits)
echo "     program log: producer $PT waited $PW times, consumer $CT waited $CW times"

export PT CT PW CW
# lanes: both threads, under the pcqueue process, named as the program named them
check "lanes for producer and consumer" pyjson "$JSON" "any(t['tid']==$PT and t['comm']=='producer' for p in j['processes'] for t in p['threads']) and any(t['tid']==$CT and t['comm']=='consumer-0' for p in j['processes'] for t in p['threads'])"

# arrows by (waker, wakee, reason, object)
cat > "$TMP/arrows.py" <<'PY'
import json, os, sys
j = json.load(open(sys.argv[1]))
pt, ct, pw, cw = (int(os.environ[k]) for k in ('PT', 'CT', 'PW', 'CW'))
def n(waker, wakee, reason, obj):
    return sum(1 for w in j['wakeups'] if w['waker'] == waker and w['wakee'] == wakee
               and w['reason'] == reason and w['object'] == obj)
c2p = n(ct, pt, 'condvar', 'not_full')
p2c = n(pt, ct, 'condvar', 'not_empty')
print('     timeline: consumer->producer via not_full %d, producer->consumer via not_empty %d'
      % (c2p, p2c))
# as many arrows as the program counted waits, at most, and some whenever it waited at all
# (a fast consumer may never wait: then there is nothing to draw)
ok = (0 < c2p <= pw if pw else c2p == 0) and (0 < p2c <= cw if cw else p2c == 0)
# a condvar or mutex hand-off always has a thread as its waker (sched_waking runs in it)
ok = ok and all(w['waker'] != 0 for w in j['wakeups'] if w['reason'] in ('condvar', 'mutex'))
# nobody is woken through the other side's condvar
ok = ok and n(pt, ct, 'condvar', 'not_full') == 0 and n(ct, pt, 'condvar', 'not_empty') == 0
# every condvar arrow into the producer matches one of its blocked intervals with that waker
thr = {t['tid']: t for p in j['processes'] for t in p['threads']}
ivs = [i for i in thr[pt]['intervals'] if i.get('reason') == 'condvar'
       and i.get('object') == 'not_full' and i.get('woken_by') == ct]
ok = ok and len(ivs) == c2p
# the mutex is named and its holder, when known, is the other thread
mx = [i for t in (pt, ct) for i in thr[t]['intervals'] if i.get('reason') == 'mutex']
ok = ok and all(i['object'] == 'pcq_lock' and i.get('holder', pt + ct - 0) in (pt, ct) for i in mx)
sys.exit(0 if ok else 1)
PY
check "arrows match the program's log" python3 "$TMP/arrows.py" "$JSON"

# text: 80 columns, no colour with NO_COLOR
NO_COLOR=1 COLUMNS=80 "$CONLAB" report timeline -i "$TMP/pc.clab" > "$TMP/pc.txt"
check "text fits 80 columns" awk 'length($0) > 80 { exit 1 }' "$TMP/pc.txt"
check "text has no colour under NO_COLOR" bash -c "! grep -q $'\033' '$TMP/pc.txt'"
check "text names the producer's lane" grep -q "producer $PT" "$TMP/pc.txt"
check "text shows lost events" grep -q "^lost events:" "$TMP/pc.txt"
# the whole trace's text is folded as the records pass: the same as from the whole history
for w in 61 80 200; do
	NO_COLOR=1 COLUMNS=$w "$CONLAB" report timeline -i "$TMP/pc.clab" > "$TMP/fold.txt" 2>&1
	NO_COLOR=1 COLUMNS=$w CONLAB_REPORT_WHOLE=1 "$CONLAB" report timeline -i "$TMP/pc.clab" \
		> "$TMP/whole.txt" 2>&1
	check "text, $w columns: folded the same as from the whole history" \
		cmp -s "$TMP/fold.txt" "$TMP/whole.txt"
done
# ... and on a Python program: a wakeup through threading's Condition (here a Barrier's) is
# named by the line that waits, not by its waiter Lock's address, folded or not (10 rounds in
# which worker-0, sleeping a third of worker-2's time, reaches the barrier first)
"$CONLAB" record --quiet -o "$TMP/bar.clab" -- "$PYH" "$PYWL/barrier.py" --threads 3 \
	--rounds 10 > "$TMP/bar.out" 2>&1
NO_COLOR=1 "$CONLAB" report timeline -i "$TMP/bar.clab" --top 200 > "$TMP/bar.fold.txt" 2>&1
NO_COLOR=1 CONLAB_REPORT_WHOLE=1 "$CONLAB" report timeline -i "$TMP/bar.clab" --top 200 \
	> "$TMP/bar.whole.txt" 2>&1
check "python: text folded the same as from the whole history" \
	cmp -s "$TMP/bar.fold.txt" "$TMP/bar.whole.txt"
check "python: the barrier's wakeups are named by its line in threading.py, none by an address" \
	bash -c "grep -q -- '-> worker-0.* condvar Barrier.*(threading.py:[0-9]*)' '$TMP/bar.fold.txt' &&
		 ! grep -q -- ' condvar 0x' '$TMP/bar.fold.txt'"
# the summary's futex table names them the same way: the barrier's waits by its line (each
# worker's waiter Lock counted together), main's join of worker-0 by the thread
"$CONLAB" report summary -i "$TMP/bar.clab" --format json -o "$TMP/bar.sum.json"
W0=$("$PYH" -c "import json, sys
j = json.load(open(sys.argv[1]))
print([t['tid'] for p in j['processes'] for t in p['threads'] if t['comm'] == 'worker-0'][0])" \
	"$TMP/bar.sum.json")
check "python: the summary names the barrier's waits by its line (no address of its own) and main's join by worker-0" \
	pyjson "$TMP/bar.sum.json" "(
len([f for f in j['futexes'] if f['kind'] == 'condvar' and f['addr'] is None and
     f['name'].startswith('Barrier.') and '(threading.py:' in f['name']]) == 1 and
[f['name'] for f in j['futexes'] if f['kind'] == 'join' and 'worker-0' in f['name']] ==
  ['join(worker-0 $W0)'])" "[(f['name'], f['kind']) for f in j['futexes']]"

# JSON, HTML and Perfetto (and a window's text) are built from spools as the records pass (the
# intervals, and the switches and wakeups Perfetto mirrors): the same as from the whole
# history, and the same with every spool on disk (a 4 KiB budget); whole and in a window of
# the middle of the run (from the summary's span)
span=$("$CONLAB" report summary -i "$TMP/pc.clab" --format json |
	"$PYH" -c "import json, sys; print(json.load(sys.stdin)['duration_ns'])")
win=(--from "$(awk "BEGIN { printf \"%.6f\", $span * 0.3 / 1e9 }")"
     --to "$(awk "BEGIN { printf \"%.6f\", $span * 0.6 / 1e9 }")")
for f in json html perfetto text json+window html+window perfetto+window text+window; do
	args=(--format "${f%+window}")
	[ "$f" = "${f%+window}" ] || args+=("${win[@]}")
	[ "$f" = text ] && continue	# the whole trace's text is folded: checked above
	NO_COLOR=1 "$CONLAB" report timeline -i "$TMP/pc.clab" "${args[@]}" -o "$TMP/spool.out"
	NO_COLOR=1 CONLAB_SPOOL_BYTES=4K "$CONLAB" report timeline -i "$TMP/pc.clab" "${args[@]}" \
		-o "$TMP/disk.out"
	NO_COLOR=1 CONLAB_REPORT_WHOLE=1 "$CONLAB" report timeline -i "$TMP/pc.clab" "${args[@]}" \
		-o "$TMP/whole.out"
	check "$f: spooled the same as from the whole history" \
		bash -c "test -s '$TMP/spool.out' && cmp -s '$TMP/spool.out' '$TMP/whole.out'"
	check "$f: spooled to disk the same" cmp -s "$TMP/disk.out" "$TMP/whole.out"
done

# no temporary directory to spool into: one line that says so, exit 2, no half-written file
TMPDIR=/nonexistent/conlab CONLAB_SPOOL_BYTES=4K "$CONLAB" report timeline -i "$TMP/pc.clab" \
	--format json -o "$TMP/nodir.json" 2> "$TMP/nodir.err"
rc=$?
check "no temporary directory: exit 2, one line naming it, no output file" bash -c \
	"[ $rc = 2 ] && [ \$(wc -l < '$TMP/nodir.err') = 1 ] &&
	 grep -q 'temporary file in /nonexistent/conlab' '$TMP/nodir.err' && [ ! -e '$TMP/nodir.json' ]"

# perfetto: decodes; carries the threads and sched_switch events
"$CONLAB" report timeline -i "$TMP/pc.clab" --format perfetto -o "$TMP/pc.pftrace"
if command -v protoc > /dev/null; then
	check "perfetto decodes (protoc --decode_raw)" bash -c "protoc --decode_raw < '$TMP/pc.pftrace' > '$TMP/pc.decoded'"
	check "perfetto process tree names the threads" grep -q '"consumer-0"' "$TMP/pc.decoded"
	# every lock and condvar wait of the timeline is a slice named by its reason and object
	# (whether the mutex is ever contended depends on the run: only what the run had)
	check "perfetto has a wait slice for each lock and condvar the threads waited on" \
		"$PYH" -c "import json, sys
j = json.load(open('$JSON'))
d = open('$TMP/pc.decoded').read()
want = {(i['reason'], i['object']) for p in j['processes'] for t in p['threads']
        for i in t['intervals'] if i.get('reason') in ('mutex', 'condvar') and i.get('object')}
sys.exit(0 if (want or not ($PW or $CW)) and all('\"%s %s' % w in d for w in want) else 1)"
else
	skip "perfetto decode" "protoc not installed"
fi

# html in headless chromium
"$CONLAB" report timeline -i "$TMP/pc.clab" --format html -o "$TMP/pc.html"
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
	echo "skip html in chromium: chromium is not installed (apt-get install chromium)"
else
	flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	       --disable-background-networking --disable-component-update --disable-sync
	       --user-data-dir="$(mktemp -d "$TMP/chr.XXXX")")
	timeout 60 "$CHROME" "${flags[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=3000 \
		--dump-dom "file://$TMP/pc.html" > "$TMP/dom.html" 2> "$TMP/chrome.err"
	check "html page ran (data-ready)" grep -q 'data-ready="1"' "$TMP/dom.html"
	check "html lanes present" grep -q "data-tid=\"$PT\"" "$TMP/dom.html"
	check "html no console errors" bash -c "! grep -E 'CONSOLE.*(Error|Uncaught)|Uncaught' '$TMP/chrome.err'"
	timeout 60 "$CHROME" "${flags[@]}" --window-size=1280,600 --screenshot="$TMP/shot.png" \
		"file://$TMP/pc.html" > /dev/null 2>&1
	check "html screenshot taken" test -s "$TMP/shot.png"
	cp "$TMP/shot.png" "$B/timeline-screenshot.png" 2>/dev/null || true
fi
finish
