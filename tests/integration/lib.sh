#!/bin/bash
# tests/integration/lib.sh — sourced by every integration test (tests/integration/test_*.sh).
#
# Each test script is run by tests/run-integration.sh with the build dir as $1. It reports
# checks with pass/fail/skip, and ends with `finish`, which prints its totals line.
# Integration tests load BPF for real: they skip (with the reason) only where BPF is truly
# unavailable, and CONLAB_REQUIRE_BPF=1 (CI) turns such a skip into a failure.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
CONLAB=$B/conlab
WL=$B/workloads
PYWL=$ROOT/workloads/python
TMP=$(mktemp -d /tmp/conlab-test.XXXXXX)
_passed=0
_failed=0
_skipped=0
_pids=()

cleanup_lib() {
	for p in "${_pids[@]}"; do
		kill -KILL -- "-$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup_lib EXIT

pass() { echo "ok   $1"; _passed=$((_passed + 1)); }
fail() { echo "FAIL $1: ${2:-}"; _failed=$((_failed + 1)); }
skip() {
	if [ "${CONLAB_REQUIRE_BPF:-0}" = 1 ]; then
		fail "$1" "skipped but CONLAB_REQUIRE_BPF=1: ${2:-}"
	else
		echo "skip $1: ${2:-}"
		_skipped=$((_skipped + 1))
	fi
}

# check NAME COMMAND...: pass when the command succeeds, fail with its output otherwise
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(echo "$out" | tail -3 | tr '\n' ' ')"; fi
}

# Can this machine load BPF? Sets BPF_REASON when not.
bpf_available() {
	BPF_REASON=
	if [ "$(id -u)" != 0 ]; then BPF_REASON="not root"; return 1; fi
	if [ ! -r /sys/kernel/btf/vmlinux ]; then BPF_REASON="no kernel BTF"; return 1; fi
	local out
	if ! out=$("$CONLAB" record -o "$TMP/probe.clab" --quiet -- /bin/true 2>&1); then
		BPF_REASON="conlab cannot load BPF here: $(echo "$out" | head -1)"
		return 1
	fi
	return 0
}

# require_bpf NAME: skip the whole script when BPF is unavailable
require_bpf() {
	if ! bpf_available; then
		skip "$1" "$BPF_REASON"
		finish
	fi
}

# start_bg VAR COMMAND...: start a program in its own session, remember it for cleanup
start_bg() {
	local __var=$1
	shift
	setsid "$@" > "$TMP/bg.$$.$RANDOM.out" 2>&1 &
	local pid=$!
	_pids+=("$pid")
	printf -v "$__var" '%s' "$pid"
}

# wait_blocked PID [SECONDS]: wait until every thread of PID sleeps (state S or D)
wait_blocked() {
	local pid=$1 limit=${2:-5} i st all
	for ((i = 0; i < limit * 20; i++)); do
		all=1
		for st in /proc/"$pid"/task/*/stat; do
			[ -r "$st" ] || { all=0; break; }
			case "$(sed 's/.*) //' "$st" | cut -c1)" in S|D) ;; *) all=0 ;; esac
		done
		[ "$all" = 1 ] && [ -d /proc/"$pid" ] && return 0
		sleep 0.05
	done
	return 1
}

# thread_state PID...: one line per thread of each process: tid, state letter, its syscall line
# (number, arguments, stack and instruction pointers) and its context-switch counts. A thread
# that was stopped or woken, even for a call the kernel restarted, counts a switch: two equal
# outputs mean nothing moved any thread in between.
thread_state() {
	local p s
	for p in "$@"; do
		for s in /proc/"$p"/task/*; do
			echo "${s##*/} $(sed 's/.*) //' "$s/stat" | cut -c1) $(cat "$s/syscall")" \
				"$(grep ctxt_switches "$s/status" | tr -s '\t\n' '  ')"
		done
	done
}

# same_state NAME BEFORE AFTER: pass when two thread_state outputs are equal, else fail with
# the lines that differ
same_state() {
	local d
	if d=$(diff "$2" "$3"); then pass "$1"; else fail "$1" "$(echo "$d" | tr '\n' ' ')"; fi
}

# The interpreter of the checks' own helpers (JSON, arithmetic): Debian's when there, which
# starts in 0.1 s; a pyenv `python3` on PATH is a shell shim that costs about 1 s a start.
# Programs under test keep `python3` where the test means the one on PATH.
PYH=python3
[ -x /usr/bin/python3 ] && PYH=/usr/bin/python3

# jq-like checks without jq: pyjson FILE 'python expression over j' ['what to show'] -> exit
# status; when the check fails, the third expression's value is printed (check shows it), so a
# failure says what the report held instead
pyjson() {
	"$PYH" -c 'import json,sys
j=json.load(open(sys.argv[1]))
r=eval(sys.argv[2])
if not r and len(sys.argv) > 3:
    print(repr(eval(sys.argv[3]))[:400])
sys.exit(0 if r else 1)' "$@"
}

# lastkv FILE KEY: value of KEY in the last line of key=value pairs of FILE
lastkv() {
	tail -n 1 "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

finish() {
	echo "$(basename "$0" .sh): $_passed passed, $_failed failed, $_skipped skipped"
	[ "$_failed" = 0 ]
	exit $?
}
