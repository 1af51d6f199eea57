#!/bin/bash
# tests/bench/soak.sh BUILD_DIR [SECONDS] — a long recording of a busy workload: does the
# recorder keep constant memory and a stable event rate? (make bench; not part of make test)
#
# Records `philo --variant ordered` (five threads taking and releasing forks, about 40,000
# events/s here) for SECONDS (default 600, or $SOAK_SECONDS) and samples every $SOAK_STEP
# seconds (default 10) the recorder's resident memory and the trace's growth. Prints the RSS
# curve, the rate curve, and the verdict as ratios: RSS at the end / RSS after warm-up, and
# the slowest / fastest interval's rate. Then the summary report of the whole file (its time,
# peak memory, lost events). The trace is deleted afterwards unless SOAK_KEEP=1.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
SECS=${2:-${SOAK_SECONDS:-600}}
STEP=${SOAK_STEP:-10}
DIR=${SOAK_DIR:-$(mktemp -d /tmp/conlab-soak.XXXXXX)}
TRACE=$DIR/soak.clab
CONLAB=$B/conlab

if [ "$(id -u)" != 0 ]; then
	echo "soak: needs root (BPF)"
	exit 0
fi
cleanup() {
	[ -n "${rp:-}" ] && kill -KILL -- "-$rp" 2> /dev/null
	[ "${SOAK_KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT

echo "soak: recording philo --variant ordered for ${SECS}s, a sample every ${STEP}s"
setsid "$CONLAB" record -o "$TRACE" --quiet --duration "$SECS" -- \
	"$B/workloads/philo" --variant ordered --ms $(((SECS + 30) * 1000)) \
	> "$DIR/wl.out" 2> "$DIR/rec.err" &
rp=$!
start=$(date +%s.%N)
prev_size=0
prev_t=0
printf '%8s %10s %10s %12s\n' "t(s)" "rss(KiB)" "trace(MB)" "MB/s"
samples=()
while kill -0 "$rp" 2> /dev/null; do
	sleep "$STEP"
	rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' /proc/"$rp"/status 2> /dev/null)
	[ -n "$rss" ] || break
	size=$(stat -c %s "$TRACE")
	t=$(echo "$(date +%s.%N) - $start" | bc)
	# the last moments belong to the shutdown (final drain, close), not to the steady state
	[ "$(echo "$t > $SECS - 1" | bc)" = 1 ] && continue
	rate=$(echo "scale=3; ($size - $prev_size) / 1000000 / ($t - $prev_t)" | bc)
	printf '%8.0f %10d %10.1f %12.3f\n' "$t" "$rss" "$(echo "$size / 1000000" | bc -l)" "$rate"
	samples+=("$t $rss $rate")
	prev_size=$size
	prev_t=$t
done
wait "$rp"
rc=$?
echo "recorder: exit $rc; $(tail -1 "$DIR/rec.err" | sed 's/^conlab: //')"

# The verdict. The first samples are warm-up (the kernel's stack map and the maps of the
# process fill in); memory after it must stay flat and the rate must not drift.
printf '%s\n' "${samples[@]}" | awk -v warm=30 '
	$1 >= warm { n++; if (!r0) r0 = $2; rl = $2; if ($2 > rmax) rmax = $2
		if (!lo || $3 < lo) lo = $3; if ($3 > hi) hi = $3; sum += $3; sq += $3 * $3 }
	END {
		if (n < 2) { print "soak: too short for a verdict (need samples after " warm " s)"; exit }
		m = sum / n; sd = sqrt(sq / n - m * m)
		printf "rss after warm-up %d KiB, at the end %d KiB, peak %d KiB: end/start %.3f\n",
			r0, rl, rmax, rl / r0
		printf "rate %.3f MB/s mean, slowest/fastest %.3f, coefficient of variation %.3f\n",
			m, lo / hi, sd / m
	}'

if [ -s "$TRACE" ]; then
	/usr/bin/time -f '%e %M' -o "$DIR/time" "$CONLAB" report summary -i "$TRACE" \
		> "$DIR/summary.txt" 2> "$DIR/summary.err"
	src=$?
	read -r el mem < "$DIR/time"
	echo "report summary of $(($(stat -c %s "$TRACE") / 1000000)) MB: exit $src, ${el}s, peak RSS $((mem / 1024)) MiB"
	sed -n '1,2p' "$DIR/summary.txt"
fi
