#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/workloads/run.sh [BUILD_DIR]
#
# Runs every lab workload with small parameters and checks its ground-truth line (the last
# line of stdout: key=value pairs separated by spaces). Hanging variants must still be
# blocked after a second, every thread asleep (state S in /proc/PID/task/*/stat); they are
# then killed with their whole session. One line per check, then the totals.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
W=$B/workloads
PY=$ROOT/workloads/python
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
skipped=0
LAST=
HANG_PID=

ok()   { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
skip() { echo "skip $1: $2"; skipped=$((skipped + 1)); }

# well_formed LINE: one or more key=value tokens, nothing else
well_formed() {
	[ -n "$1" ] || return 1
	local tok
	for tok in $1; do
		[[ $tok =~ ^[A-Za-z_][A-Za-z0-9_]*=[^[:space:]]*$ ]] || return 1
	done
}

# get KEY: the value of KEY in $LAST
get() {
	local tok
	for tok in $LAST; do
		[ "${tok%%=*}" = "$1" ] && { echo "${tok#*=}"; return 0; }
	done
	echo ""
	return 1
}

# run NAME CMD...: run to completion (30 s at most: a guard against a hang, not a time limit
# of the check; a loaded machine slows a Python start a lot); sets LAST; 0 when exit 0 + good line
run() {
	local name=$1 rc
	shift
	timeout 30 "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	LAST=$(tail -n 1 "$TMP/out")
	if [ $rc -ne 0 ]; then
		fail "$name" "exit $rc ($(head -c 200 "$TMP/err" | tr '\n' ' '))"
		return 1
	fi
	if ! well_formed "$LAST"; then
		fail "$name" "bad ground-truth line: '$LAST'"
		return 1
	fi
	return 0
}

# expect NAME CONDITION-DESCRIPTION TEST-EXPRESSION...: after run, check a condition
expect() {
	local name=$1 why=$2
	shift 2
	if "$@"; then ok "$name"; else fail "$name" "$why; got: $LAST"; fi
}

# run_ok NAME CMD...: run and only check exit status and line
run_ok() {
	local name=$1
	shift
	run "$name" "$@" && ok "$name"
}

# all threads of every process in session $1 are sleeping (S)
session_asleep() {
	local p t st n=0
	for p in $(pgrep -s "$1"); do
		for t in /proc/"$p"/task/*; do
			st=$(sed 's/^.*) \(.\).*/\1/' "$t/stat" 2>/dev/null) || continue
			[ -z "$st" ] && continue
			n=$((n + 1))
			[ "$st" = S ] || { echo "task ${t##*/} state $st"; return 1; }
		done
	done
	[ $n -gt 0 ] || { echo "no tasks"; return 1; }
}

# hang NAME KEY=VALUE NPROCS CMD...: must still be blocked after 1 s, all threads in S,
# NPROCS processes in its session, and a last line with KEY=VALUE printed before the hang
hang() {
	local name=$1 want=$2 nprocs=$3 pid why= n
	shift 3
	setsid "$@" >"$TMP/hang" 2>/dev/null &
	pid=$!
	# wait for what the program's logic fixes (its line printed, every thread asleep), not a
	# fixed time: on a loaded machine an interpreter can take seconds to get there
	for n in $(seq 100); do
		sleep 0.1
		LAST=$(tail -n 1 "$TMP/hang")
		well_formed "$LAST" && session_asleep "$pid" > /dev/null && break
		kill -0 "$pid" 2>/dev/null || break
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		why="exited instead of hanging"
	elif ! well_formed "$LAST"; then
		why="bad ground-truth line: '$LAST'"
	elif [ "$(get "${want%%=*}")" != "${want#*=}" ]; then
		why="expected $want"
	elif ! why=$(session_asleep "$pid"); then
		why="not all asleep: $why"
	else
		n=$(pgrep -s "$pid" | wc -l)
		[ "$n" -eq "$nprocs" ] && why= || why="$n processes, expected $nprocs"
	fi
	kill -KILL -- -"$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ -z "$why" ]; then ok "$name"; else fail "$name" "$why"; fi
}

ge() { [ -n "$1" ] && [ "$1" -ge "$2" ]; }
lt() { [ -n "$1" ] && [ "$1" -lt "$2" ]; }
eq() { [ "$1" = "$2" ]; }

# ---- C workloads ---------------------------------------------------------------------------

CPROGS="race biglock pool procs iothreads table abba lockorder philo pcqueue sempool rwlock
	barrier barber daemon epoll_server uring_server green hangs pingpong cpuburn lockloop"
for p in $CPROGS; do
	if [ ! -x "$W/$p" ]; then
		if [ "$p" = uring_server ]; then
			skip "$p" "not built (no liburing-dev)"
		else
			fail "$p" "$W/$p not built"
		fi
		continue
	fi
	if timeout 5 "$W/$p" --help >"$TMP/out" 2>&1 && grep -q Usage "$TMP/out"; then
		ok "$p --help"
	else
		fail "$p --help" "no usage text or non-zero exit"
	fi
done

# lab 1: the racy counter is checked statistically
run_ok "race unlocked" "$W/race" --variant unlocked
nz=0
for i in 1 2 3 4 5; do
	run "race call #$i" "$W/race" --variant call --iters 5000000 || continue
	[ "$(get result)" != 0 ] && nz=$((nz + 1))
done
if [ $nz -ge 3 ]; then ok "race call lost updates ($nz/5 runs)"
else fail "race call lost updates" "result was 0 in $((5 - nz)) of 5 runs"; fi
run "race locked" "$W/race" --variant locked --iters 1000000 && \
	expect "race locked" "result 0 and lock waits" eq "$(get result)/$(( $(get lock_waits) > 0 ))" "0/1"

# lab 2
run "biglock gil" "$W/biglock" --threads 3 --ms 40 && \
	expect "biglock gil" "switches and timed-out waits" ge "$(get timeouts)" 1
run "biglock free" "$W/biglock" --mode free --threads 2 --ms 40 && \
	expect "biglock free" "no switches" eq "$(get switches)" 0

# lab 3
run "pool threads" "$W/pool" --workers 2 --tasks 10 --work-us 2000 && \
	{ sum=$(get checksum); expect "pool threads" "10 tasks done" eq "$(get done)" 10; }
run "pool processes" "$W/pool" --mode processes --workers 2 --tasks 10 --work-us 2000 && \
	expect "pool processes" "same checksum as threads" eq "$(get checksum)" "${sum:-x}"

# lab 4
run "procs fork" "$W/procs" --method fork --children 3 --work-ms 5 && \
	expect "procs fork" "3 forks, 0 execs" eq "$(get forks)/$(get execs)/$(get failed)" "3/0/0"
run "procs spawn" "$W/procs" --method spawn --children 3 --work-ms 5 && \
	expect "procs spawn" "3 forks, 3 execs" eq "$(get forks)/$(get execs)/$(get failed)" "3/3/0"
run "procs forkserver" "$W/procs" --method forkserver --children 3 --work-ms 5 && \
	expect "procs forkserver" "4 forks, 1 exec" eq "$(get forks)/$(get execs)/$(get failed)" \
	"4/1/0"

# lab 5
# I/O waits overlap: over the run, on average at least 2 of the 4 threads were waiting at once
# (the waits as the program measured them, over its own wall time: a busy machine stretches both)
run "iothreads io" "$W/iothreads" --mode io --threads 4 --tasks 8 --task-ms 20 && \
	expect "iothreads io" "waits overlap: >= 2 of 4 threads waiting on average" ge \
	"$(( $(get blocked_ns_total) * 100 / $(get wall_ns) ))" 200
run "iothreads socket" "$W/iothreads" --io socket --threads 4 --tasks 8 --task-ms 20 && \
	expect "iothreads socket" "waits overlap: >= 2 of 4 threads waiting on average" ge \
	"$(( $(get blocked_ns_total) * 100 / $(get wall_ns) ))" 200
run_ok "iothreads cpu" "$W/iothreads" --mode cpu --threads 2 --tasks 4 --task-ms 10

# lab 6
run "table global" "$W/table" --ops 30000 && \
	expect "table global" "sum = expected_sum" eq "$(get sum)" "$(get expected_sum)"
# how often the two threads collide is the scheduler's doing (on a busy CPU they may take turns
# and never meet), so only what the logic fixes is checked: no update lost, and the hottest lock
# of the striped table is a stripe
run "table striped" "$W/table" --locks striped --ops 30000 && \
	expect "table striped" "sum = expected_sum" eq "$(get sum)" "$(get expected_sum)" && \
	expect "table striped hottest" "the hottest lock is a stripe" eq "$(get hottest | cut -c1-12)" \
		"stripe_lock["

# lab 7
hang "abba hangs" hang=abba 1 "$W/abba"
run "abba --no-hang" "$W/abba" --no-hang --iters 100 && \
	expect "abba --no-hang" "hang=none" eq "$(get hang)" none

# lab 8
for v in inverted global gated trylock rwread; do
	case $v in inverted|gated) inv=1 ;; *) inv=0 ;; esac
	run "lockorder $v" "$W/lockorder" --variant $v --iters 200 && \
		expect "lockorder $v" "inversion=$inv" eq "$(get inversion)" $inv
done

# lab 9
hang "philo naive hangs" hang=philo 1 "$W/philo"
for v in ordered waiter; do
	run "philo $v" "$W/philo" --variant $v --meals 10 && \
		expect "philo $v" "10 meals each" eq "$(get meals)" "10,10,10,10,10"
done

# lab 10
run "pcqueue ok size 1" "$W/pcqueue" --items 1000 && \
	expect "pcqueue ok size 1" "all consumed" eq "$(get consumed)/$(get stalled)" "1000/0"
run "pcqueue ok size 1000" "$W/pcqueue" --size 1000 --items 1000 && \
	expect "pcqueue ok size 1000" "all consumed" eq "$(get consumed)/$(get stalled)" "1000/0"
run "pcqueue onecond" "$W/pcqueue" --variant onecond --items 5000 --stall-ms 200 && \
	expect "pcqueue onecond" "a stall, or a complete run" \
	eval '[ "$(get stalled)" = 1 ] || [ "$(get consumed)" = 5000 ]'
run "pcqueue if" "$W/pcqueue" --variant if --items 2000 --stall-ms 200 && \
	expect "pcqueue if" "stalled=0|1 and counts" \
	eval '[ -n "$(get bad_gets)" ] && [[ $(get stalled) =~ ^[01]$ ]]'
hang "pcqueue onecond --stay" stalled=1 1 \
	"$W/pcqueue" --variant onecond --items 1000000 --stall-ms 300 --stay

# lab 11
run "sempool" "$W/sempool" --permits 3 --workers 6 --rounds 3 --hold-ms 10 && \
	expect "sempool" "max_inside = 3" eq "$(get max_inside)" 3

# lab 12
run "rwlock reader" "$W/rwlock" --policy reader --ms 200 && \
	expect "rwlock reader" "writer starved (> 150 ms)" ge "$(get writer_max_wait_ns)" 150000000
run "rwlock nostarve" "$W/rwlock" --policy nostarve --ms 200 && \
	expect "rwlock nostarve" "writer wait bounded (< 50 ms)" lt "$(get writer_max_wait_ns)" \
	50000000
run "rwlock writer" "$W/rwlock" --policy writer --ms 200 && \
	expect "rwlock writer" "writer wait bounded (< 50 ms)" lt "$(get writer_max_wait_ns)" \
	50000000

# lab 13
run "barrier ok" "$W/barrier" --rounds 10 && \
	expect "barrier ok" "nobody early" eq "$(get early)" 0
run "barrier broken" "$W/barrier" --variant broken --rounds 10 && \
	expect "barrier broken" "threads through early" ge "$(get early)" 1

# lab 14
run "barber" "$W/barber" --customers 20 && \
	expect "barber" "served + balks = customers" eq "$(( $(get served) + $(get balks) ))" 20

# lab 15
run "daemon daemon" "$W/daemon" && \
	expect "daemon daemon" "worker killed in its wait" \
	eq "$(get worker_finished)/$(get worker_waiting_at_exit)" "0/1"
run "daemon joined" "$W/daemon" --variant joined && \
	expect "daemon joined" "worker finished" eq "$(get worker_finished)" 1

# lab 16
for s in epoll_server uring_server; do
	[ -x "$W/$s" ] || { skip "$s handlers" "not built"; continue; }
	run "$s sleep" "$W/$s" --handler sleep --requests 6 --slow 1 --block-ms 150 && \
		expect "$s sleep" "loop gap > 100 ms" ge "$(get max_gap_ns)" 100000000
	run "$s cpu" "$W/$s" --handler cpu --requests 6 --slow 1 --block-ms 150 && \
		expect "$s cpu" "loop gap > 100 ms" ge "$(get max_gap_ns)" 100000000
	run "$s thread" "$W/$s" --handler thread --requests 6 --slow 1 --block-ms 150 && \
		expect "$s thread" "loop gap < 20 ms" lt "$(get max_gap_ns)" 20000000
	run "$s ok" "$W/$s" --handler ok --requests 6 && \
		expect "$s ok" "6 replies" eq "$(get replies)" 6
done

# lab 17
run "green" "$W/green" --hog-ms 50 && \
	expect "green" "one kernel thread, a 50 ms stall" \
	eval '[ "$(get tids_used)" = 1 ] && ge "$(get max_loop_gap_ns)" 50000000'

# lab 18
for k in lostwakeup semleak; do
	hang "hangs $k" hang=$k 1 "$W/hangs" --kind $k
done
for k in forklock pipe; do
	hang "hangs $k" hang=$k 2 "$W/hangs" --kind $k
done
for k in lostwakeup semleak forklock pipe; do
	run "hangs $k --fixed" "$W/hangs" --kind $k --fixed && \
		expect "hangs $k --fixed" "hang=none" eq "$(get hang)" none
done

# benchmarks
for m in futex pipe; do
	run "pingpong $m" "$W/pingpong" --mode $m --rounds 2000 && \
		expect "pingpong $m" "2000 rounds" eq "$(get rounds)" 2000
done
run "cpuburn" "$W/cpuburn" --ms 50 --threads 2 && \
	expect "cpuburn" "about 100 ms of CPU" ge "$(get cpu_ns_total)" 95000000
run "lockloop" "$W/lockloop" --iters 20000 && \
	expect "lockloop" "counter = expected" eq "$(get counter)" "$(get expected)"
run "lockloop --nested" "$W/lockloop" --iters 20000 --nested --work 0 && \
	expect "lockloop --nested" "counter = expected" eq "$(get counter)" "$(get expected)"

# ---- Python twins --------------------------------------------------------------------------

# Debian's python3, the course's interpreter (`{python}` of the labs), when there: a pyenv
# `python3` on PATH is a shell shim that costs about 1 s a start
PY3=python3
[ -x /usr/bin/python3 ] && PY3=/usr/bin/python3
if ! command -v "$PY3" >/dev/null; then
	skip "python workloads" "python3 not found"
else
	run "py race plain" "$PY3" "$PY/race.py" --variant plain --iters 100000 && \
		expect "py race plain" "a result" eval '[ -n "$(get result)" ]'
	nz=0
	for i in 1 2 3; do
		run "py race call #$i" "$PY3" "$PY/race.py" --variant call --iters 1000000 || continue
		[ "$(get result)" != 0 ] && nz=$((nz + 1))
	done
	if [ $nz -ge 2 ]; then ok "py race call lost updates ($nz/3 runs)"
	else fail "py race call lost updates" "result was 0 in $((3 - nz)) of 3 runs"; fi
	run "py race locked" "$PY3" "$PY/race.py" --variant locked --iters 50000 && \
		expect "py race locked" "result 0" eq "$(get result)" 0

	run "py gil" "$PY3" "$PY/gil.py" --threads 2 --ms 50 && \
		expect "py gil" "parallelism about 1" lt "$(get parallelism_x100)" 130

	for m in threads processes tpe ppe dummy; do
		run "py pools $m" "$PY3" "$PY/pools.py" --mode $m --workers 2 --tasks 6 --work-ms 5 &&
			expect "py pools $m" "6 tasks done" eq "$(get done)" 6
	done
	for m in fork spawn forkserver; do
		run "py start_methods $m" "$PY3" "$PY/start_methods.py" --method $m --workers 2 \
			--tasks 4 && expect "py start_methods $m" "result" eq "$(get result)" 14
	done
	run "py io_threads io" "$PY3" "$PY/io_threads.py" --threads 4 --tasks 8 && \
		expect "py io_threads io" "waits overlap: >= 2 of 4 threads waiting on average" ge \
		"$(( $(get waited_ns_total) * 100 / $(get wall_ns) ))" 200
	run "py io_threads cpu" "$PY3" "$PY/io_threads.py" --mode cpu --threads 2 --tasks 4 \
		--task-ms 10 && expect "py io_threads cpu" "no speedup" lt "$(get speedup_x100)" 140
	for s in 1 1000; do
		run "py queue_pc maxsize $s" "$PY3" "$PY/queue_pc.py" --maxsize $s --items 1000 && \
			expect "py queue_pc maxsize $s" "all consumed" eq "$(get consumed)" 1000
	done
	run "py daemon_threads daemon" "$PY3" "$PY/daemon_threads.py" && \
		expect "py daemon_threads daemon" "worker killed in its wait" \
		eq "$(get worker_finished)/$(get worker_waiting_at_exit)" "0/1"
	run "py daemon_threads joined" "$PY3" "$PY/daemon_threads.py" --variant joined && \
		expect "py daemon_threads joined" "worker finished" eq "$(get worker_finished)" 1
	run "py asyncio sleep" "$PY3" "$PY/asyncio_loop.py" --handler sleep --requests 6 \
		--slow 1 --block-ms 150 && \
		expect "py asyncio sleep" "tick lag > 100 ms" ge "$(get max_tick_lag_ns)" 100000000
	run "py asyncio thread" "$PY3" "$PY/asyncio_loop.py" --handler thread --requests 6 \
		--slow 1 --block-ms 150 && \
		expect "py asyncio thread" "tick lag < 50 ms" lt "$(get max_tick_lag_ns)" 50000000
	run "py mp_ipc global" "$PY3" "$PY/mp_ipc.py" --mode global --items 20 && \
		expect "py mp_ipc global" "the parent never sees the child's global" eq "$(get result)" 0
	for m in queue pipe value manager; do
		run "py mp_ipc $m" "$PY3" "$PY/mp_ipc.py" --mode $m --items 20 && \
			expect "py mp_ipc $m" "the child's sum" eq "$(get result)" "$(get expected)"
	done
	run "py start_cost" "$PY3" "$PY/start_cost.py" --n 5 --hold-ms 20 && \
		expect "py start_cost" "a child's memory" ge "$(get process_rss_kb)" 1
	for m in gather sequential tasks; do
		run "py async_gather $m" "$PY3" "$PY/async_gather.py" --mode $m --tasks 3 --rounds 2 \
			--delay-ms 5 && expect "py async_gather $m" "6 coroutines" eq "$(get done)" 6
	done
	for m in threading locks; do
		run "py thread_module $m" "$PY3" "$PY/thread_module.py" --api $m --job-ms 5 && \
			expect "py thread_module $m" "3 finished" eq "$(get finished)" 3
	done
	run "py thread_module thread" "$PY3" "$PY/thread_module.py" --api thread --job-ms 20 && \
		expect "py thread_module thread" "none finished" eq "$(get finished)" 0
	run "py abba_lock ordered" "$PY3" "$PY/abba_lock.py" --ordered --iters 50 && \
		expect "py abba_lock ordered" "no hang" eq "$(get hang)" none
	for m in global striped; do
		run "py table $m" "$PY3" "$PY/table.py" --locks $m --ops 500 && \
			expect "py table $m" "no update lost" eq "$(get sum)" "$(get expected_sum)"
	done
	run "py barber" "$PY3" "$PY/barber.py" --customers 5 --cut-ms 2 && \
		expect "py barber" "every customer served, one at a time" eq \
			"$(get served):$(get max_in_chair)" 5:1
	run "py barber broken" "$PY3" "$PY/barber.py" --variant broken --customers 5 --cut-ms 2 && \
		expect "py barber broken" "every customer served" eq "$(get served)" 5
	run "py green_frameworks threads" "$PY3" "$PY/green_frameworks.py" --framework threads \
		--sleeps 2 --sleep-ms 5 --cpu-ms 5 && \
		expect "py green_frameworks threads" "4 kernel threads" eq "$(get tids_used)" 4
	for fw in twisted eventlet; do
		if /usr/bin/python3 -c "import $fw" 2>/dev/null; then
			run "py green_frameworks $fw" /usr/bin/python3 "$PY/green_frameworks.py" \
				--framework $fw --sleeps 2 --sleep-ms 5 --cpu-ms 5 && \
				expect "py green_frameworks $fw" "one thread" eq "$(get tids_used)" 1
		else
			skip "py green_frameworks $fw" "apt-get install python3-$fw"
		fi
	done
	run "py generators" "$PY3" "$PY/generators.py" && \
		expect "py generators" "one kernel thread" eq "$(get kernel_threads)" 1
	run "py gevent_green threads" "$PY3" "$PY/gevent_green.py" --mode threads --workers 4 \
		--sleeps 3 --cpu-ms 20 && \
		expect "py gevent_green threads" "5 kernel threads" eq "$(get tids_used)" 5
	gpy=
	for py in python3 /usr/bin/python3; do
		"$py" -c 'import gevent' 2>/dev/null && { gpy=$py; break; }
	done
	if [ -z "$gpy" ]; then
		skip "py gevent_green gevent" "gevent not installed (apt-get install python3-gevent)"
	else
		run "py gevent_green gevent" "$gpy" "$PY/gevent_green.py" --workers 4 --sleeps 3 \
			--cpu-ms 20 && \
			expect "py gevent_green gevent" "one kernel thread" eq "$(get tids_used)" 1
	fi
	hang "py abba_lock hangs" hang=abba 1 "$PY3" "$PY/abba_lock.py"
	run "py abba_lock --no-hang" "$PY3" "$PY/abba_lock.py" --no-hang --iters 100 && \
		expect "py abba_lock --no-hang" "hang=none" eq "$(get hang)" none
fi

echo "workloads: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
