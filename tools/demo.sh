#!/bin/bash
# tools/demo.sh BUILD — what `sudo make demo` shows: conlab on two bundled lab programs.
#  1. dining philosophers that finish (resource ordering): recorded, then the summary and the
#     contention report — which fork each philosopher waited for, how long, who held it;
#  2. dining philosophers that hang (everyone took the left fork): diagnosed in one command,
#     with no tracing beforehand.
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

say "2. five philosophers who all take the left fork first: a deadlock" \
	"$W/philo --variant naive &   conlab deadlock -p \$!"
setsid "$W/philo" --variant naive > "$OUT/naive.out" 2>&1 &
pid=$!
disown	# killed on purpose below: no "Killed" job notice
for _ in $(seq 1 50); do
	grep -q hang= "$OUT/naive.out" 2>/dev/null && break
	sleep 0.1
done
sleep 0.3
"$C" deadlock -p "$pid"
rc=$?
kill -KILL -- "-$pid" 2>/dev/null
echo
echo "conlab deadlock exited with $rc (1 = a deadlock was found). Traces are in $OUT."
[ "$rc" = 1 ]
