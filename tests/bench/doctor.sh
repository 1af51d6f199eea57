#!/bin/bash
# tests/bench/doctor.sh BUILD [THREADS] — time `conlab deadlock -p` on a process with THREADS
# blocked threads (default 1000; target: under 0.25 s), with the stack walk split into reading
# registers (BPF task iterator, of which loading it), reading stack memory and unwinding; no
# thread may be stopped or moved.
set -u
B=${1:-build}
N=${2:-1000}
OUT=$(mktemp /tmp/conlab-bench-doctor.XXXXXX)
setsid "$B/workloads/manythreads" --threads "$N" > "$OUT" 2>&1 &
PID=$!
trap 'kill -KILL "$PID" 2>/dev/null; rm -f "$OUT" "$OUT".*' EXIT
for ((i = 0; i < 200; i++)); do grep -q '^hang=' "$OUT" && break; sleep 0.05; done
sleep 0.5
switches() { cat /proc/"$PID"/task/*/status | grep -c ctxt; cat /proc/"$PID"/task/*/status | grep ctxt | md5sum; }
before=$(switches)
for run in 1 2 3 4 5; do
	t0=$(date +%s%N)
	"$B/conlab" deadlock -p "$PID" --format json -o "$OUT.json"
	rc=$?
	t1=$(date +%s%N)
	python3 - "$OUT.json" "$(( (t1 - t0) / 1000000 ))" "$rc" "$N" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); s = j['snapshot']
print(f"doctor: {sys.argv[4]} blocked threads: wall {sys.argv[2]} ms (exit {sys.argv[3]}), "
      f"/proc {s['proc_ms']:.1f} ms, stacks {s['stacks_ms']:.1f} ms = registers "
      f"{s['regs_ms']:.1f} ms ({s['regs_source']}, load {s['regs_load_ms']:.1f}) + memory "
      f"{s['memory_ms']:.1f} ms + unwinding {s['unwind_ms']:.1f} ms + symbols/setup, "
      f"stacks {s['stacks_taken']}/{j['summary']['threads']}, stopped {s['threads_stopped']}, "
      f"reread {s['rereads']}, deadlocks {len(j['deadlocks'])} "
      f"({j['deadlocks'][0]['kind'] if j['deadlocks'] else '-'}, "
      f"{len(j['deadlocks'][0]['blocked_behind']) if j['deadlocks'] else 0} behind)")
PY
done
stopped=$(grep -l '^State:.*[Tt] ' /proc/"$PID"/task/*/status 2>/dev/null | wc -l)
echo "doctor: threads left stopped afterwards: $stopped"
[ "$before" = "$(switches)" ] && echo "doctor: context switches of the target's threads: unchanged" ||
	echo "doctor: context switches of the target's threads: CHANGED"
