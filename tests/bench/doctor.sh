#!/bin/bash
# tests/bench/doctor.sh BUILD [THREADS] — time `conlab deadlock -p` on a process with THREADS
# blocked threads (default 1000; target: under 0.25 s), with the stack walk split into reading
# registers (BPF task iterator, of which loading it), reading stack memory and unwinding; no
# thread may be stopped or moved. Prints the date, the machine and its load average first:
# wall times on a shared machine follow its load, CPU time (user + sys) much less.
set -u
B=${1:-build}
N=${2:-1000}
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/lib.sh"
OUT=$(mktemp /tmp/conlab-bench-doctor.XXXXXX)
setsid "$B/workloads/manythreads" --threads "$N" > "$OUT" 2>&1 &
PID=$!
disown
trap 'kill -KILL "$PID" 2>/dev/null; rm -f "$OUT" "$OUT".*' EXIT
for ((i = 0; i < 200; i++)); do grep -q '^hang=' "$OUT" && break; sleep 0.05; done
sleep 0.5
echo "doctor: $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs, Linux $(uname -r)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
switches() { cat /proc/"$PID"/task/*/status | grep -c ctxt; cat /proc/"$PID"/task/*/status | grep ctxt | md5sum; }
before=$(switches)
TIMEFORMAT='%R %U %S'
for run in 1 2 3 4 5; do
	{ time "$B/conlab" deadlock -p "$PID" --format json -o "$OUT.json" 2> /dev/null; } 2> "$OUT.time"
	rc=$?
	read -r wall user sys < "$OUT.time"
	python3 - "$OUT.json" "$wall" "$user" "$sys" "$rc" "$N" "$OUT.runs" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); s = j['snapshot']
wall, user, sys_ = (float(x) * 1000 for x in sys.argv[2:5])
print(f"doctor: {sys.argv[6]} blocked threads: wall {wall:.0f} ms, CPU {user + sys_:.0f} ms "
      f"(exit {sys.argv[5]}), /proc {s['proc_ms']:.1f} ms, stacks {s['stacks_ms']:.1f} ms = "
      f"registers {s['regs_ms']:.1f} ms ({s['regs_source']}, load {s['regs_load_ms']:.1f}) + "
      f"memory {s['memory_ms']:.1f} ms + unwinding {s['unwind_ms']:.1f} ms + symbols/setup, "
      f"stacks {s['stacks_taken']}/{j['summary']['threads']}, stopped {s['threads_stopped']}, "
      f"reread {s['rereads']}, deadlocks {len(j['deadlocks'])} "
      f"({j['deadlocks'][0]['kind'] if j['deadlocks'] else '-'}, "
      f"{len(j['deadlocks'][0]['blocked_behind']) if j['deadlocks'] else 0} behind)")
with open(sys.argv[7], "a") as f:
    print(wall, user + sys_, s['regs_ms'], s['memory_ms'], s['unwind_ms'], file=f)
PY
done
col() { cut -d' ' -f"$1" "$OUT.runs" | median; }
printf 'doctor: median of 5: wall %.0f ms, CPU %.0f ms (target: under 250 ms); registers %.1f ms, memory %.1f ms, unwinding %.1f ms\n' \
	"$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" "$(col 5)"
echo "doctor: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
stopped=$(grep -l '^State:.*[Tt] ' /proc/"$PID"/task/*/status 2>/dev/null | wc -l)
echo "doctor: threads left stopped afterwards: $stopped"
[ "$before" = "$(switches)" ] && echo "doctor: context switches of the target's threads: unchanged" ||
	echo "doctor: context switches of the target's threads: CHANGED"
