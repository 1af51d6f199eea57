#!/bin/bash
# test_dist.sh — processes that talk over sockets: the messages between traced processes
# (a client/server pair with a known count: N requests and N replies are N arrows each way,
# in the timeline's JSON and HTML and in the summary's connections), a relay's split of each
# request's time (a client, a relay that holds each message, a worker), `conlab lab service`
# (the broker's folder, not-ready reports, clean-up on SIGINT, nothing left running), and the
# distributed labs (19, 20, 23) failing a program that only prints the expected last line.
# The labs' references and broken variants run in test_lab.sh like every lab's.
source "$(dirname "$0")/lib.sh"

require_bpf "dist"
# Debian's interpreter: a version manager's `python3` shim costs most of a second a start
PY=/usr/bin/python3
pyjson() {
	"$PY" -c 'import json,sys
j=json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}
FAKE=$ROOT/tests/integration/data/fake-rabbitmq-server
N=20

# ---- a program that only prints the expected last line fails each lab ---------------------
# Started first, in the background, and collected at the end: a submission runs sandboxed,
# in a fresh environment, so lab 20's starts a real broker (seconds of waiting) whatever
# CONLAB_RABBITMQ_SERVER says. The service checks below look only at their own processes. A lab
# that is not runnable here refuses (exit 2, naming what is missing): skipped.
printer() {	# printer FILE LINE: a Python program that prints LINE and does nothing else
	printf 'print("%s")\n' "$2" > "$1"
}
printer "$TMP/mpi.py" "ranks=4 ring=18 expected=18 allreduce=6 late=-1 late_ms=0 barrier_ms=0,0,0,0 pids=1,2,3,4"
printer "$TMP/celery.py" "tasks=9 short=8 slow_ms=800 worker_procs=2 short_wait_max_ms=10"
printer "$TMP/pyro.py" "clients=4 call_ms=300 servertype=thread server_threads=4 elapsed_ms=310 client_max_ms=305"
printers=
for l in "19-mpi mpi" "20-celery celery" "23-pyro pyro"; do
	set -- $l
	( "$CONLAB" lab check "$1" --program "$TMP/$2.py" -d "$TMP/printer-$1" \
		> "$TMP/printer-$1.result" 2>&1; echo "rc=$?" >> "$TMP/printer-$1.result" ) &
	printers="$printers $1"
done

# ---- a client and a server: N requests, N replies, each sent to a blocked reader ----------
if "$CONLAB" record --quiet -o "$TMP/pair.clab" -- "$PY" "$PYWL/sock_pair.py" --messages $N \
	> "$TMP/pair.out" 2> "$TMP/pair.err"; then
	srv=$(lastkv "$TMP/pair.out" server)
	cli=$(lastkv "$TMP/pair.out" client)
	"$CONLAB" report timeline -i "$TMP/pair.clab" --format json -o "$TMP/pair.tl.json" 2>/dev/null
	check "pair: $N message arrows client -> server" pyjson "$TMP/pair.tl.json" \
		"len([w for w in j['wakeups'] if w['message'] and w['waker'] == $cli and w['wakee'] == $srv]) == $N"
	check "pair: $N message arrows server -> client" pyjson "$TMP/pair.tl.json" \
		"len([w for w in j['wakeups'] if w['message'] and w['waker'] == $srv and w['wakee'] == $cli]) == $N"
	check "pair: the arrows come from sendto" pyjson "$TMP/pair.tl.json" \
		"all(w.get('waker_syscall') == 'sendto' for w in j['wakeups'] if w['message'] and w['waker'] in ($srv, $cli) and w['wakee'] in ($srv, $cli))"
	"$CONLAB" report summary -i "$TMP/pair.clab" --format json -o "$TMP/pair.sum.json" 2>/dev/null
	check "pair: summary connections, $N messages each way" pyjson "$TMP/pair.sum.json" \
		"sorted((c['writer_pid'], c['reader_pid'], c['messages']) for c in j['connections'] if {c['writer_pid'], c['reader_pid']} == {$srv, $cli}) == sorted([($cli, $srv, $N), ($srv, $cli, $N)])"
	# request i is answered by reply i; reply i by request i+1 (the last one by nothing)
	check "pair: every request answered, every reply but the last" pyjson "$TMP/pair.sum.json" \
		"sorted((c['writer_pid'], c['answered']) for c in j['connections'] if {c['writer_pid'], c['reader_pid']} == {$srv, $cli}) == sorted([($cli, $N), ($srv, $N - 1)])"
	"$CONLAB" report contention -i "$TMP/pair.clab" --format json -o "$TMP/pair.ct.json" 2>/dev/null
	check "pair: contention lists the connections too" pyjson "$TMP/pair.ct.json" \
		"sum(c['messages'] for c in j['connections'] if c['writer_pid'] == $cli and c['reader_pid'] == $srv) == $N"
	check "pair: summary text shows the connection" bash -c \
		"'$CONLAB' report summary -i '$TMP/pair.clab' | grep -A3 '^messages between traced processes' | grep -q 'python3/$cli -> python3/$srv .* $N '"
	"$CONLAB" report timeline -i "$TMP/pair.clab" --format html -o "$TMP/pair.html" 2>/dev/null
	check "pair: HTML marks $((2 * N)) message arrows" "$PY" -c '
import json, re, sys
d = json.loads(re.search(r"<script type=.application/json. id=.data.>(.*?)</script>",
                         open(sys.argv[1]).read(), re.S).group(1))
ar = d["arrows"]
sys.exit(0 if sum(ar[i + 5] for i in range(0, len(ar), 6)) >= 2 * int(sys.argv[2]) else 1)' \
		"$TMP/pair.html" $N
	"$CONLAB" report timeline -i "$TMP/pair.clab" --format perfetto -o "$TMP/pair.pftrace" 2>/dev/null
	# to the main thread of the other process: python3, or MainThread once conlab has read
	# its Python name (the program imports threading)
	msgs=$(grep -a -o -E 'message to (python3|MainThread)' "$TMP/pair.pftrace" | wc -l)
	[ "$msgs" -ge $((2 * N)) ] && pass "pair: Perfetto names $msgs waker instants 'message to'" \
		|| fail "pair: Perfetto" "$msgs 'message to python3' instants, wanted >= $((2 * N))"
else
	fail "pair: recording" "$(tail -2 "$TMP/pair.err" | tr '\n' ' ')"
fi

# ---- a relay: client -> relay -> worker -> relay -> client, R requests ---------------------
# The relay holds each request HOLD ms before it passes it on, the worker works WORK ms on it;
# every message finds its reader waiting (the program makes sure), so each connection carries
# R messages. The bounds are the program's logic: each request is at least HOLD ms in the
# relay and WORK ms in the worker, and the two together fit in the client's round trips.
R=10 HOLD=50 WORK=20
if "$CONLAB" record --quiet -o "$TMP/relay.clab" -- "$PY" "$PYWL/relay_pair.py" --messages $R \
	--hold-ms $HOLD --work-ms $WORK > "$TMP/relay.out" 2> "$TMP/relay.err"; then
	rl=$(lastkv "$TMP/relay.out" relay)
	wk=$(lastkv "$TMP/relay.out" worker)
	cl=$(lastkv "$TMP/relay.out" client)
	rt=$(sed -n 's/^roundtrip_ms=//p' "$TMP/relay.out")
	"$CONLAB" report summary -i "$TMP/relay.clab" --format json -o "$TMP/relay.sum.json" 2>/dev/null
	cn="[c for c in j['connections'] if (c['writer_pid'], c['reader_pid']) =="
	check "relay: $R requests passed on to the worker, each paired, each answered" pyjson \
		"$TMP/relay.sum.json" "[(c['messages'], c['relayed'], c['relayed_answered']) for c in $cn ($rl, $wk)]] == [($R, $R, $R)]"
	check "relay: each request at least $HOLD ms in the relay" pyjson "$TMP/relay.sum.json" \
		"[c['in_relay_ns_total'] >= $R * $HOLD * 10**6 for c in $cn ($rl, $wk)]] == [True]"
	check "relay: each request at least $WORK ms in the worker" pyjson "$TMP/relay.sum.json" \
		"[c['in_reader_ns_total'] >= $R * $WORK * 10**6 for c in $cn ($rl, $wk)]] == [True]"
	check "relay: relay + worker time within the client's round trips ($rt ms)" pyjson \
		"$TMP/relay.sum.json" "[c['in_relay_ns_total'] + c['in_reader_ns_total'] <= $rt * 10**6 for c in $cn ($rl, $wk)]] == [True]"
	# the answers go back through the relay: paired with the worker's; client and worker relay nothing
	check "relay: the $R answers passed back to the client; nothing relayed by the others" pyjson \
		"$TMP/relay.sum.json" "[c['relayed'] for c in $cn ($rl, $cl)]] == [$R] and sum(c['relayed'] for c in j['connections'] if c['writer_pid'] in ($wk, $cl)) == 0 and j['relay_split']['relayed'] == 2 * $R"
	"$CONLAB" report contention -i "$TMP/relay.clab" --format json -o "$TMP/relay.ct.json" 2>/dev/null
	check "relay: contention JSON has the split" pyjson "$TMP/relay.ct.json" \
		"j['relay_split'] == json.load(open('$TMP/relay.sum.json'))['relay_split']"
	check "relay: summary text shows the relay's row" bash -c \
		"'$CONLAB' report summary -i '$TMP/relay.clab' | grep -A3 '^requests passed on by a relay' | grep -q 'python3/$rl -> python3/$wk .* $R  *[0-9.]* ms  *[0-9.]* ms  *$R '"
else
	fail "relay: recording" "$(tail -2 "$TMP/relay.err" | tr '\n' ' ')"
fi

# ---- conlab lab service, with a stand-in broker: clean-up and not-ready ------------------
# The processes this script started for a service, told from the machine's others (other test
# runs may have brokers and Celery workers of their own) by their environment: TMPDIR=$TMP/svc
# or this tree's stand-in broker. ours [REGEX]: those whose command line matches REGEX.
ours() {
	local e pid cmd
	for e in $(grep -lzxF -e "TMPDIR=$TMP/svc" -e "CONLAB_RABBITMQ_SERVER=$FAKE" \
			/proc/[0-9]*/environ 2>/dev/null); do
		pid=${e#/proc/}; pid=${pid%/environ}
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
		cmd=$({ tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null)
		[ -n "$cmd" ] && echo "$cmd" | grep -qE "${1:-.}" && echo "$pid $cmd"
	done
}
leftovers() {	# processes of a service that should be gone, and its folders
	ours; ls -d "$TMP"/svc/conlab-rabbitmq.* 2>/dev/null
}
mkdir -p "$TMP/svc"
out=$(TMPDIR=$TMP/svc CONLAB_RABBITMQ_SERVER=$FAKE "$CONLAB" lab service rabbitmq -- \
	sh -c 'echo "$CONLAB_AMQP_URL"; ls "$TMPDIR"' 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '^amqp://guest:guest@127.0.0.1:[0-9]*//$' &&
	echo "$out" | grep -q '^conlab-rabbitmq\.'; then
	pass "lab service: runs the command with CONLAB_AMQP_URL, the broker's folder in TMPDIR"
else
	fail "lab service" "exit $rc: $out"
fi
[ -z "$(leftovers)" ] && pass "lab service: nothing left afterwards" \
	|| fail "lab service: left behind" "$(leftovers | tr '\n' ' ')"

setsid env TMPDIR="$TMP/svc" CONLAB_RABBITMQ_SERVER="$FAKE" "$CONLAB" lab service rabbitmq -- \
	sleep 60 > "$TMP/svc.out" 2>&1 &
svc=$!
_pids+=("$svc")
for i in $(seq 100); do pgrep -P "$svc" -x sleep > /dev/null && break; sleep 0.1; done
kill -INT "$svc"
for i in $(seq 100); do kill -0 "$svc" 2>/dev/null || break; sleep 0.1; done
if ! kill -0 "$svc" 2>/dev/null && [ -z "$(leftovers)" ]; then
	pass "lab service: SIGINT stops the command and the broker, removes the folder"
else
	fail "lab service: SIGINT" "$(leftovers | tr '\n' ' ') $(cat "$TMP/svc.out")"
fi

out=$(CONLAB_RABBITMQ_SERVER=/bin/false "$CONLAB" lab service rabbitmq -- true 2>&1)
rc=$?
[ $rc = 75 ] && [ "$(echo "$out" | grep -c .)" = 1 ] &&
	echo "$out" | grep -q '^conlab: service not ready: rabbitmq: rabbitmq-server exited' &&
	pass "lab service: a broker that dies says so in one line, exit 75" ||
	fail "lab service: broker dies" "exit $rc: $out"
"$PY" -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(30)' > "$TMP/port" &
holder=$!
for i in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
out=$(CONLAB_RABBITMQ_SERVER=$FAKE "$CONLAB" lab service rabbitmq --port "$(cat "$TMP/port")" -- true 2>&1)
rc=$?
kill "$holder" 2>/dev/null
[ $rc = 75 ] && echo "$out" | grep -q "port $(cat "$TMP/port") is taken" &&
	pass "lab service: a port taken is not ready" || fail "lab service: port taken" "exit $rc: $out"

# a lab whose broker cannot start is not ready: it fails with the reason, never passes
out=$(CONLAB_RABBITMQ_SERVER=/bin/false "$CONLAB" lab check 20-celery -q -d "$TMP/notready" 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q 'lab 20-celery is not ready: service not ready' &&
	! echo "$out" | grep -q '^PASS'; then
	pass "lab 20: a broker that cannot start fails every expectation, says why"
else
	fail "lab 20: not ready" "exit $rc: $(echo "$out" | head -4 | tr '\n' ' ')"
fi

# Ctrl-C on `conlab lab check` while a run is recorded: the run, its broker and its folder go
CONLAB_RABBITMQ_SERVER=$FAKE TMPDIR=$TMP/svc "$CONLAB" lab check 20-celery -q -d "$TMP/intr" \
	> "$TMP/intr.out" 2>&1 &
lab=$!
for i in $(seq 300); do [ -n "$(ours celery_lab.py)" ] && break; sleep 0.1; done
kill -INT "$lab"
wait "$lab"
rc=$?
sleep 0.2
if [ $rc = 130 ] && [ -z "$(leftovers)" ]; then
	pass "lab check: Ctrl-C stops the run, the broker and removes its folder"
else
	fail "lab check: Ctrl-C" "exit $rc, left: $(leftovers | head -3 | tr '\n' ' ')"
fi

# ---- the printers, collected ---------------------------------------------------------------
wait
for lab in $printers; do
	out=$(cat "$TMP/printer-$lab.result")
	if echo "$out" | grep -q '^rc=2$' && echo "$out" | grep -q 'missing'; then
		skip "lab $lab: a printer fails" "the lab is not runnable here"
		continue
	fi
	echo "$out" | grep -q '^rc=1$' && echo "$out" | grep -q '^FAIL \[key\]' &&
		pass "lab $lab: a program that only prints the expected line fails the key" ||
		fail "lab $lab: printer" "$(echo "$out" | tail -3 | tr '\n' ' ')"
done
# the printers' brokers ran in their sandboxes' folders ("running reference: ... /tmp/
# conlab-sandbox-XXXXXX/work/..."): nothing may be left with such a folder in its command line
boxes=$(cat "$TMP"/printer-*.result 2>/dev/null | grep -o '/tmp/conlab-sandbox-[A-Za-z0-9_-]*/' | sort -u)
left=$(for b in $boxes; do pgrep -af "$b"; done; leftovers)
[ -n "$boxes" ] || [ -z "$printers" ] || fail "labs: the sandboxes' folders" "not in the printers' output"
[ -z "$left" ] && pass "labs: no broker left running" || fail "labs: left behind" "$(echo "$left" | head -3 | tr '\n' ' ')"

finish
