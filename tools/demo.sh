#!/bin/bash
# tools/demo.sh BUILD — what `sudo make demo` shows: conlab on two bundled lab programs.
#  1. dining philosophers that finish (resource ordering): recorded, then the summary and the
#     contention report — which fork each philosopher waited for, how long, who held it;
#  2. dining philosophers that hang (everyone took the left fork): diagnosed in one command,
#     with no tracing beforehand;
#  3. the same for a Python program (two bank tellers, an ABBA on two threading.Locks) on
#     Debian's python3: threads, Locks and lines by their Python names.
set -u
B=${1:-build}
C=$B/conlab
W=$B/workloads
OUT=${CONLAB_DEMO_DIR:-$(mktemp -d /tmp/conlab-demo.XXXXXX)}

say() { printf '\n\033[1m== %s\033[0m\n$ %s\n\n' "$1" "$2"; }

if [ "$(id -u)" != 0 ]; then
	echo "conlab demo: run as root (sudo make demo): tracing loads BPF programs" >&2
	exit 1
fi

say "1. record five philosophers who take their forks in a global order" \
	"conlab record -o $OUT/philo.clab -- $W/philo --variant ordered --meals 20"
"$C" record -o "$OUT/philo.clab" -- "$W/philo" --variant ordered --meals 20 || exit 1

say "what each thread did with its time" "conlab report summary -i $OUT/philo.clab"
"$C" report summary -i "$OUT/philo.clab" || exit 1

if "$C" report --help | grep -q "^  contention "; then
	say "which locks cost how much, who held them, who waited" \
		"conlab report contention -i $OUT/philo.clab --top 5"
	"$C" report contention -i "$OUT/philo.clab" --top 5 || exit 1
fi

# hung: wait for its truth line, then diagnose it; killed after (its process group)
hang() {
	local out=$1
	shift
	setsid "$@" > "$out" 2>&1 &
	pid=$!
	disown	# killed on purpose below: no "Killed" job notice
	for _ in $(seq 1 50); do
		grep -q hang= "$out" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
	"$C" deadlock -p "$pid"
	rc=$?
	kill -KILL -- "-$pid" 2>/dev/null
	echo
	echo "conlab deadlock exited with $rc (1 = a deadlock was found)."
	[ "$rc" = 1 ]
}

say "2. five philosophers who all take the left fork first: a deadlock" \
	"$W/philo --variant naive &   conlab deadlock -p \$!"
hang "$OUT/naive.out" "$W/philo" --variant naive || exit 1

PY=/usr/bin/python3
if [ -x "$PY" ]; then
	say "3. the same in Python: two bank tellers, each 'with src.lock: with dst.lock:'" \
		"python3 workloads/python/bank_abba.py &   conlab deadlock -p \$!"
	hang "$OUT/bank.out" "$PY" "$(cd "$(dirname "$0")/.." && pwd)/workloads/python/bank_abba.py" || exit 1
fi
echo "Traces are in $OUT."
