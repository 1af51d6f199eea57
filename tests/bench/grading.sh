#!/bin/bash
# tests/bench/grading.sh BUILD [N] — grade a class of N submissions of lab 01 (default 40):
# `conlab lab check 01 --submissions DIR`, each submission sandboxed, with --jobs 1 and with
# the default (every CPU); prints wall time, CPU time (conlab, recorders, reports and the
# programs) and seconds per submission. The class: the race workload's copies (they pass),
# a few that print a wrong answer, one endless loop and one fork bomb (stopped by the limits).
set -u
B=${1:-build}
N=${2:-40}
source "$(dirname "$0")/lib.sh"
T=$(mktemp -d /tmp/conlab-bench-grading.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/subs"
for ((i = 0; i < N - 4; i++)); do cp "$B/workloads/race" "$T/subs/student$(printf %03d "$i")"; done
printf 'print("result=12 lock_waits=0")\n' > "$T/subs/wrong1.py"
printf 'print("result=-3 lock_waits=0")\n' > "$T/subs/wrong2.py"
printf 'while True:\n    pass\n' > "$T/subs/loop.py"
printf 'import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n' \
	> "$T/subs/forkbomb.py"
for jobs in 1 default; do
	rm -rf "$T/res"
	opt=()
	[ "$jobs" = default ] || opt=(--jobs "$jobs")
	/usr/bin/time -f "%e %U %S" -o "$T/time" "$B/conlab" lab check 01 --submissions "$T/subs" \
		--results "$T/res" --time-limit 10 "${opt[@]}" > "$T/out" 2> "$T/err"
	rc=$?
	read -r wall user sys < <(tail -n 1 "$T/time")	# after "Command exited with ..."
	line=$(grep '^class summary' "$T/out")
	echo "grading: $N submissions of lab 01, --jobs $jobs: wall $wall s, CPU $(awk \
		"BEGIN {printf \"%.1f\", $user + $sys}") s (user $user, sys $sys)," \
		"$(awk "BEGIN {printf \"%.2f\", $wall / $N}") s a submission (exit $rc)"
	echo "  $line"
	eval "wall_$jobs=$wall"
done
echo "grading: every CPU vs one at a time: $(ratio "$wall_1" "$wall_default") faster"
left=$(ps -u nobody -o pid=,stat= | awk '$2 !~ /^Z/' | wc -l)
echo "grading: processes of the sandbox user left running: $left"
