#!/bin/bash
# test_io_gil.sh — conlab io on event loops (C epoll server, asyncio twin: blocked and fixed)
# and conlab report gil on CPython threads and a process pool.
source "$(dirname "$0")/lib.sh"
require_bpf io_gil

# io_run NAME CMD...: conlab io with a JSON report in $TMP/NAME.json, the program's output in
# $TMP/NAME.out
io_run() {
	local name=$1
	shift
	"$CONLAB" io --quiet --format json -o "$TMP/$name.json" --trace "$TMP/$name.clab" -- "$@" \
		> "$TMP/$name.out" 2> "$TMP/$name.err"
}

# --- C epoll server, blocking handler: the gap is found, with its syscall and line ---------
if io_run ep_sleep "$WL/epoll_server" --handler sleep --requests 20 --slow 2 --block-ms 100; then
	LT=$(lastkv "$TMP/ep_sleep.out" loop_tid)
	IT=$(lastkv "$TMP/ep_sleep.out" iterations)
	BUSY=$(lastkv "$TMP/ep_sleep.out" busy_ns)
	check "epoll sleep: the loop thread is found, epoll_wait, every iteration" pyjson \
		"$TMP/ep_sleep.json" "[l for l in j['loops'] if l['tid']==$LT and l['wait_syscall']=='epoll_wait' and l['waits']==$IT]"
	check "epoll sleep: longest gap about the 100 ms block" pyjson "$TMP/ep_sleep.json" \
		"[l for l in j['loops'] if l['tid']==$LT and 95e6 <= l['gaps']['max_ns'] < 400e6]"
	check "epoll sleep: busy time agrees with the loop's own count" pyjson "$TMP/ep_sleep.json" \
		"[l for l in j['loops'] if l['tid']==$LT and abs(l['busy_ns']-$BUSY) < 0.1*$BUSY + 2e6]"
	check "epoll sleep: clock_nanosleep named, twice, ~100 ms, at the handler's line" pyjson \
		"$TMP/ep_sleep.json" "[b for l in j['loops'] if l['tid']==$LT for b in l['blocking_calls'] if b['syscall']=='clock_nanosleep' and b['count']==2 and 95e6 <= b['max_ns'] < 300e6 and ('epoll_server.c' in b['site'] or 'wl.h' in b['site'])]" \
		"[(b['syscall'], b['count'], b['max_ns'], b['site'], b['ret_addr']) for l in j['loops'] if l['tid']==$LT for b in l['blocking_calls']]"
	check "epoll sleep: text names the blocked loop" grep -q \
		"loop thread blocked .* in clock_nanosleep at" \
		<("$CONLAB" report io -i "$TMP/ep_sleep.clab")
	PORT=$(lastkv "$TMP/ep_sleep.out" port)
	check "epoll sleep: fd types: the epoll fd the loop waits on" pyjson "$TMP/ep_sleep.json" \
		"[f for l in j['loops'] if l['tid']==$LT for f in l['fds'] if f['role']=='wait' and f['type']=='epoll']"
	check "epoll sleep: fd types: the listening socket on 127.0.0.1:$PORT" pyjson \
		"$TMP/ep_sleep.json" "[f for l in j['loops'] if l['tid']==$LT for f in l['process_fds'] if f['type']=='tcp' and f['listening'] and f['desc'].endswith('127.0.0.1:$PORT')]"
	check "epoll sleep: fd types: a client connection 127.0.0.1 → 127.0.0.1:$PORT" pyjson \
		"$TMP/ep_sleep.json" "[f for l in j['loops'] if l['tid']==$LT for f in l['process_fds'] if f['type']=='tcp' and not f['listening'] and f['desc'].startswith('tcp 127.0.0.1:') and f['desc'].endswith('→127.0.0.1:$PORT')]"
	check "epoll sleep: fd types: the 10 ms timerfd and the eventfd" pyjson "$TMP/ep_sleep.json" \
		"[1 for l in j['loops'] if l['tid']==$LT if [f for f in l['process_fds'] if f['type']=='timerfd' and '10.0 ms' in f['desc']] and [f for f in l['process_fds'] if f['type']=='eventfd']]"
else
	fail "epoll sleep: conlab io ran" "$(tail -2 "$TMP/ep_sleep.err")"
fi

# --- the fixed version: the slow work is on a worker thread, no gap over the bound ----------
if io_run ep_thread "$WL/epoll_server" --handler thread --requests 20 --slow 2 --block-ms 100; then
	LT=$(lastkv "$TMP/ep_thread.out" loop_tid)
	check "epoll thread: no busy gap over 30 ms" pyjson "$TMP/ep_thread.json" \
		"[l for l in j['loops'] if l['tid']==$LT and l['gaps']['max_ns'] < 30e6]"
	check "epoll thread: no blocking call of 30 ms on the loop" pyjson "$TMP/ep_thread.json" \
		"[l for l in j['loops'] if l['tid']==$LT and not [b for b in l['blocking_calls'] if b['max_ns'] >= 30e6]]"
else
	fail "epoll thread: conlab io ran" "$(tail -2 "$TMP/ep_thread.err")"
fi

# --- the asyncio twin: same finding with no runtime support; its timers run late -----------
if io_run as_sleep python3 "$PYWL/asyncio_loop.py" --handler sleep --requests 12 --slow 2 \
	--block-ms 100; then
	LT=$(lastkv "$TMP/as_sleep.out" loop_tid)
	check "asyncio sleep: loop found on epoll_wait" pyjson "$TMP/as_sleep.json" \
		"[l for l in j['loops'] if l['tid']==$LT and l['wait_syscall'].startswith('epoll')]"
	check "asyncio sleep: clock_nanosleep ~100 ms on the loop thread, twice" pyjson \
		"$TMP/as_sleep.json" "[b for l in j['loops'] if l['tid']==$LT for b in l['blocking_calls'] if b['syscall']=='clock_nanosleep' and b['count']==2 and 95e6 <= b['max_ns'] < 300e6]" \
		"[(b['syscall'], b['count'], b['max_ns'], b['site'], b['ret_addr']) for l in j['loops'] if l['tid']==$LT for b in l['blocking_calls']]"
	# the Python stack at the blocking switch-out names the coroutine and its line
	LS=$(grep -n "time.sleep(block_ms / 1000)         # the bug" "$PYWL/asyncio_loop.py" | cut -d: -f1)
	check "asyncio sleep: the blocking call is made by the coroutine handle at line $LS" pyjson \
		"$TMP/as_sleep.json" "[b['site'] for l in j['loops'] if l['tid']==$LT for b in l['blocking_calls'] if b['syscall']=='clock_nanosleep'] == ['asyncio_loop.py:$LS (handle)']"
	check "asyncio sleep: the text says so" grep -q \
		"loop thread blocked .* in clock_nanosleep at asyncio_loop.py:$LS (handle)" \
		<("$CONLAB" report io -i "$TMP/as_sleep.clab")
	check "asyncio sleep: its 10 ms ticker came back late, by most of the block" pyjson \
		"$TMP/as_sleep.json" "[l for l in j['loops'] if l['tid']==$LT and l['timer_lag']['max_ns'] > 50e6 and [t for t in l['timeouts'] if 5000 <= t['timeout_us'] <= 10000]]"
else
	fail "asyncio sleep: conlab io ran" "$(tail -2 "$TMP/as_sleep.err")"
fi
if io_run as_thread python3 "$PYWL/asyncio_loop.py" --handler thread --requests 12 --slow 2 \
	--block-ms 100; then
	LT=$(lastkv "$TMP/as_thread.out" loop_tid)
	check "asyncio to_thread: no busy gap over 50 ms" pyjson "$TMP/as_thread.json" \
		"[l for l in j['loops'] if l['tid']==$LT and l['gaps']['max_ns'] < 50e6]"
else
	fail "asyncio to_thread: conlab io ran" "$(tail -2 "$TMP/as_thread.err")"
fi

# --- the GIL ----------------------------------------------------------------------------------
# gil_run NAME ARGS...: record a Python program (with $GIL_RECORD_OPTS), write the gil report
# as JSON. Without its uprobes the GIL is inferred from the futex waits: their blocked
# intervals, or the futex calls when recorded (--futex-calls).
gil_run() {
	local name=$1
	shift
	# shellcheck disable=SC2086
	"$CONLAB" record --quiet ${GIL_RECORD_OPTS:-} -o "$TMP/$name.clab" -- \
		python3 "$@" > "$TMP/$name.out" \
		2> "$TMP/$name.err" &&
		"$CONLAB" report gil -i "$TMP/$name.clab" --format json > "$TMP/$name.json"
}
PROC="[p for p in j['processes'] if p['pid']==j['processes'][0]['pid']][0]"
# How much of their time the workers waited for a CPU rather than ran, calibrated in the same
# run: a timed GIL wait ends on time plus the delay before it runs again, which a busy machine
# stretches, so upper bounds on waits and holds scale with it (lower bounds are the program's).
BUSY="(1 + sum(t['runnable_ns'] for t in $PROC['threads'] if t['comm'].startswith('worker')) / max(1, sum(t['on_cpu_ns'] for t in $PROC['threads'] if t['comm'].startswith('worker'))))"

# WL_PYTHON_NAMES=1: the workers are named through threading only, as in a plain Python
# program (3.11 leaves their comm "python3"): the names in the report were read from memory
if WL_PYTHON_NAMES=1 gil_run gil4 "$PYWL/gil.py" --threads 4 --ms 100; then
	TIDS=$(lastkv "$TMP/gil4.out" tids)
	check "gil 4 threads: each worker by its threading name and tid (the kernel's name is python3)" \
		pyjson "$TMP/gil4.json" "sorted((t['tid'], t['comm']) for t in $PROC['threads'] if t['tid'] in [$TIDS]) == [(tid, f'worker-{i}') for i, tid in enumerate([$TIDS])] and [t['comm'] for t in $PROC['threads'] if t['tid'] == $PROC['pid']] == ['MainThread']"
	check "gil 4 threads: the text report says worker-0/${TIDS%%,*}" grep -q \
		"worker-0/${TIDS%%,*} " <("$CONLAB" report gil -i "$TMP/gil4.clab")
	# the minor version comes from the interpreter's mappings, which the recorder reads after
	# the exec and may read before it when `python3` is a wrapper that execs it (pyenv): then
	# the command's own name says only "3"
	check "gil 4 threads: CPython found, GIL futex inferred" pyjson "$TMP/gil4.json" \
		"$PROC['gil_addr'] and $PROC['method']=='futex-inferred' and $PROC['version'].startswith('3')"
	# The GIL lets one thread run at a time: their summed on-CPU time is at most about the
	# wall time while they ran (how much below depends on what else the CPUs run).
	check "gil 4 threads: summed on-CPU at most about the wall time while they ran" pyjson \
		"$TMP/gil4.json" "(0 < $PROC['threaded_parallelism'] <= 1.3 and
len([t for t in $PROC['threads'] if t['comm'].startswith('worker') and t['on_cpu_ns'] > 0]) == 4)"
	check "gil 4 threads: hand-off waits time out near 5 ms" pyjson "$TMP/gil4.json" \
		"3.5e6 <= $PROC['switch_interval_est_ns'] <= 8e6 * $BUSY and $PROC['timeouts'] >= 20"
	check "gil 4 threads: hand-offs mostly forced" pyjson "$TMP/gil4.json" \
		"$PROC['forced'] > $PROC['voluntary']"
	# while one holds the GIL (running or preempted), the other three wait for it
	check "gil 4 threads: each worker waited for the GIL more than a third of its running time" \
		pyjson "$TMP/gil4.json" "len([t for t in $PROC['threads'] if t['comm'].startswith('worker') and t['gil_wait_ns'] > 0.3*(t['on_cpu_ns']+t['gil_wait_ns'])]) == 4"
else
	fail "gil 4 threads: recorded" "$(tail -2 "$TMP/gil4.err")"
fi
if gil_run gil4fast "$PYWL/gil.py" --threads 4 --ms 100 --switch-ms 1; then
	check "gil setswitchinterval(0.001): timeouts near 1 ms" pyjson "$TMP/gil4fast.json" \
		"0.6e6 <= $PROC['switch_interval_est_ns'] <= 2.5e6 * $BUSY and $PROC['timeouts'] >= 50"
fi
if gil_run gil1 "$PYWL/gil.py" --threads 1 --ms 100; then
	check "gil 1 thread: (almost) no GIL timeouts" pyjson "$TMP/gil1.json" \
		"$PROC['timeouts'] <= 3"
fi
# the same from the futex calls' own results (--futex-calls)
if GIL_RECORD_OPTS=--futex-calls gil_run gil4calls "$PYWL/gil.py" --threads 4 --ms 100; then
	check "gil 4 threads, from the futex calls: timeouts near 5 ms, hand-offs mostly forced" \
		pyjson "$TMP/gil4calls.json" "($PROC['method']=='futex-inferred' and
3.5e6 <= $PROC['switch_interval_est_ns'] <= 8e6 * $BUSY and $PROC['timeouts'] >= 20 and
$PROC['forced'] > $PROC['voluntary'])"
else
	fail "gil 4 threads, from the futex calls: recorded" "$(tail -2 "$TMP/gil4calls.err")"
fi
if gil_run io4 "$PYWL/io_threads.py" --mode io --threads 4 --tasks 16 --task-ms 20; then
	check "gil io threads: the GIL is mostly free" pyjson "$TMP/io4.json" \
		"sum(t['gil_wait_ns'] for t in $PROC['threads'] if t['comm'].startswith('io')) < 0.1*sum(t['blocked_other_ns'] for t in $PROC['threads'] if t['comm'].startswith('io'))"
fi
if gil_run pool "$PYWL/pools.py" --mode processes --workers 2 --tasks 4 --work-ms 50; then
	check "gil process pool: several CPython processes, no GIL waits in the workers" pyjson \
		"$TMP/pool.json" "j['python_processes'] >= 3 and all(p['gil_wait_ns']==0 for p in j['processes'][1:] if p['on_cpu_ns'] > 20e6)"
	check "gil process pool: text says each process has its own GIL" grep -q \
		"each process has its own GIL" <("$CONLAB" report gil -i "$TMP/pool.clab")
fi

# --- the GIL from uprobes on take_gil/drop_gil (unstripped interpreters: pyenv builds) ---------
if "$CONLAB" gil --quiet --format json -o "$TMP/gilup.json" --trace "$TMP/gilup.clab" -- \
	python3 "$PYWL/gil.py" --threads 4 --ms 100 > "$TMP/gilup.out" 2> "$TMP/gilup.err"; then
	if pyjson "$TMP/gilup.json" "$PROC['gil_symbols']=='present'"; then
		check "gil uprobes: method uprobes, exact holds" pyjson "$TMP/gilup.json" \
			"$PROC['method']=='uprobes' and $PROC['holds'] >= 20 and $PROC['held_ns'] > 0"
		check "gil uprobes: every hand-off names its previous holder, a thread of the process" \
			pyjson "$TMP/gilup.json" "$PROC['handoff_list'] and all(h['from'] in [t['tid'] for t in $PROC['threads']] and h['from'] != h['to'] for h in $PROC['handoff_list'])"
		check "gil uprobes: 4 CPU-bound threads: hand-offs mostly forced by the switch interval" \
			pyjson "$TMP/gilup.json" "$PROC['forced'] > $PROC['voluntary'] and $PROC['drops']['switch-interval'] >= 20"
		check "gil uprobes: forced holds last about the 5 ms switch interval" pyjson \
			"$TMP/gilup.json" "3.5e6 <= $PROC['switch_interval_est_ns'] <= 10e6 * $BUSY"
		check "gil uprobes: text says uprobes and lists holders" grep -q \
			"switch-interval  -> worker" <("$CONLAB" report gil -i "$TMP/gilup.clab")
	else
		skip "gil uprobes: this python3's interpreter has no take_gil symbol (stripped)"
	fi
else
	fail "gil uprobes: conlab gil ran" "$(tail -2 "$TMP/gilup.err")"
fi

check "report gil on a C program: no CPython process" grep -q "no CPython process" \
	<("$CONLAB" report gil -i "$TMP/ep_sleep.clab")
check "report io rejects a bad format" bash -c "! '$CONLAB' report io -i '$TMP/ep_sleep.clab' --format dot"
finish
