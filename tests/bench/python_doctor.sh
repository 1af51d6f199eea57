#!/bin/bash
# tests/bench/python_doctor.sh BUILD [THREADS] — `conlab deadlock -p` on a CPython process with
# THREADS (default 200) named threads blocked on one Lock (target: under 0.5 s), with and
# without the C stacks, and gdb's `thread apply all py-bt` beside it where gdb has the debug
# information of the very interpreter build (pyenv's 3.11 carries it and its python-gdb.py;
# Debian's python3.11-dbg must be the exact version of python3.11, else it is left out).
set -u
B=${1:-build}
N=${2:-200}
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/lib.sh"
PY=/usr/bin/python3
WL=$DIR/../../workloads/python/many_blocked.py
T=$(mktemp -d /tmp/conlab-bench-pydoctor.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

# start PY NAME: the workload under interpreter PY; sets PID
start() {
	setsid "$1" "$WL" --threads "$N" > "$T/$2.out" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	disown
	for ((i = 0; i < 200; i++)); do grep -q '^hang=' "$T/$2.out" && break; sleep 0.05; done
	sleep 0.5
}

# ms CMD...: wall milliseconds of one run of CMD (output in $T/last)
ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" > "$T/last" 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

runs() {	# NAME CMD...: five runs, the median
	local name=$1 i
	shift
	for i in 1 2 3 4 5; do ms "$@"; done > "$T/r.$name"
	printf '  %-34s %6s ms (median of 5)\n' "$name" "$(median < "$T/r.$name")"
}

if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
	echo "python-doctor: skipped: $PY is not CPython 3.11"
	exit 0
fi
echo "python-doctor: $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs, Linux $(uname -r)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
start "$PY" debian
echo "python-doctor: $N threads blocked on one Lock, Debian's $("$PY" -V 2>&1) (target: under 500 ms)"
runs "conlab deadlock (Python + C stacks)" "$B/conlab" deadlock -p "$PID" --format json -o "$T/d.json"
"$PY" - "$T/d.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
named = sum(1 for t in j['threads'] if t.get('name'))
d = j['deadlocks'][0] if j['deadlocks'] else None
print(f"    {named}/{len(j['threads'])} threads named, Python read in "
      f"{j['snapshot']['python_ms']:.1f} ms, "
      f"{sum(1 for t in j['threads'] if t.get('python'))} Python stacks, "
      f"finding: {d['kind'] if d else '-'} with {len(d['blocked_behind']) if d else 0} behind")
PYEOF
runs "conlab deadlock --no-stacks (Python)" "$B/conlab" deadlock -p "$PID" --no-stacks
runs "conlab deadlock --native" "$B/conlab" deadlock -p "$PID" --native

DBG=$(dpkg-query -W -f '${Version}' python3.11-dbg 2>/dev/null)
REL=$(dpkg-query -W -f '${Version}' python3.11 2>/dev/null)
if [ -n "$DBG" ] && [ "$DBG" = "$REL" ] && command -v gdb > /dev/null; then
	runs "gdb py-bt (python3.11-dbg)" gdb -batch -p "$PID" -ex 'thread apply all py-bt'
else
	echo "  gdb py-bt on Debian's build: skipped: python3.11-dbg (${DBG:-not installed}) is not" \
		"the version of python3.11 ($REL); installing it would upgrade the interpreter"
fi
kill -KILL "$PID"
echo "python-doctor: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

PYENV=${PYENV_ROOT:-/root/.pyenv}/versions
U=$(ls -d "$PYENV"/3.11.*/bin/python3.11 2>/dev/null | head -1)
if [ -n "$U" ] && [ -r "$U-gdb.py" ] && command -v gdb > /dev/null; then
	start "$U" pyenv
	echo "python-doctor: the same on an unstripped $("$U" -V 2>&1) ($U)"
	runs "conlab deadlock (Python + C stacks)" "$B/conlab" deadlock -p "$PID"
	runs "conlab deadlock --no-stacks (Python)" "$B/conlab" deadlock -p "$PID" --no-stacks
	runs "gdb py-bt (its python-gdb.py)" gdb -batch -p "$PID" -ex "source $U-gdb.py" \
		-ex 'thread apply all py-bt'
	grep -c "^Traceback\|File \"" "$T/last" | sed 's/^/    gdb printed /; s/$/ frame lines/'
	kill -KILL "$PID"
else
	echo "  gdb py-bt on an unstripped 3.11: skipped: no pyenv 3.11 with python3.11-gdb.py under $PYENV"
fi
