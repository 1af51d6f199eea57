#!/bin/bash
# tests/bench/readback.sh [BUILD] [EVENTS] — reading a trace back: peak memory and time of each
# report over one large trace (make bench; not part of make test).
#
# Writes a synthetic trace of EVENTS records (default 10 million, or $READBACK_EVENTS): two
# pairs of threads ping-ponging over futexes on two CPUs, the record mix of a recorded
# ping-pong, its chunks interleaved as the ring buffer hands them over (tests/bench/gentrace.c,
# built here against the build's libconlab.a). Then runs each report once under
# /usr/bin/time and prints its seconds, peak resident memory, and bytes per event: the peak
# over the events, and beside it the growth over the same report of a 1,000-event trace
# (what the events cost, without the binary and its libraries). Windowed reports read 10% of
# the trace from its middle. READBACK_TRACE=FILE reads a recorded trace instead (the window is
# then 10% of its middle too, from the summary's span); READBACK_ONLY=REGEX runs only the
# reports whose row name matches.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$ROOT/build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
EVENTS=${2:-${READBACK_EVENTS:-10000000}}
CONLAB=$B/conlab
TMP=$(mktemp -d /tmp/conlab-readback.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

if [ ! -x /usr/bin/time ]; then
	echo "readback: needs /usr/bin/time (Debian package time)"
	exit 0
fi
cc -std=gnu11 -O2 -D_GNU_SOURCE -I"$B" -I"$ROOT/bpf" -I"$ROOT/tools" \
	"$ROOT/tests/bench/gentrace.c" "$B/libconlab.a" -lzstd -lz -o "$TMP/gentrace" || exit 1

read -r small _ < <("$TMP/gentrace" "$TMP/small.clab" 1000)
s=$(date +%s.%N)
if [ -n "${READBACK_TRACE:-}" ]; then
	ln -s "$(realpath "$READBACK_TRACE")" "$TMP/big.clab"
	head=$("$CONLAB" report summary -i "$TMP/big.clab" | head -1)
	events=$(echo "$head" | grep -o '[0-9]* events' | grep -o '[0-9]*')
	span=$(echo "$head" | grep -o '[0-9.]* [mu]*s traced' |
		awk '{m = $2 == "ms" ? 1e6 : $2 == "us" ? 1e3 : 1e9; printf "%.0f", $1 * m}')
	what="recorded"
else
	read -r events span < <("$TMP/gentrace" "$TMP/big.clab" "$EVENTS")
	what="written"
fi
e=$(date +%s.%N)
size=$(stat -L -c %s "$TMP/big.clab")
printf 'trace: %d events over %.3f s of trace time, %d bytes (%.1f bytes/event), %s in %.1f s\n' \
	"$events" "$(echo "$span / 1000000000" | bc -l)" "$size" \
	"$(echo "$size / $events" | bc -l)" "$what" "$(echo "$e - $s" | bc)"
from=$(echo "scale=6; $span * 0.45 / 1000000000" | bc)
to=$(echo "scale=6; $span * 0.55 / 1000000000" | bc)

# run NAME ARGS...: one report over both traces; prints its row (only the rows whose name
# READBACK_ONLY, an extended regular expression, matches, when it is set)
run() {
	local name=$1 base out
	shift
	[[ -z ${READBACK_ONLY:-} || $name =~ $READBACK_ONLY ]] || return 0
	/usr/bin/time -f '%e %M' -o "$TMP/t.small" "$CONLAB" report "$@" -i "$TMP/small.clab" \
		-o "$TMP/out" 2> /dev/null
	/usr/bin/time -f '%e %M' -o "$TMP/t.big" "$CONLAB" report "$@" -i "$TMP/big.clab" \
		-o "$TMP/out" 2> "$TMP/err"
	out=$(tail -1 "$TMP/t.big")
	base=$(tail -1 "$TMP/t.small" | cut -d' ' -f2)
	if ! [[ $out =~ ^[0-9.]+\ [0-9]+$ ]]; then
		printf '  %-36s failed: %s\n' "$name" "$(tail -1 "$TMP/err")"
		return
	fi
	set -- $out
	printf '  %-36s %8.2f %10.1f %10.1f %10.1f\n' "$name" "$1" "$(echo "$2 / 1024" | bc -l)" \
		"$(echo "$2 * 1024 / $events" | bc -l)" \
		"$(echo "($2 - $base) * 1024 / ($events - $small)" | bc -l)"
	# the row as the README's table has it
	README_ROWS+=$(printf '| `%s` | %.1f | %s MiB | %.1f |' "$name" "$1" \
		"$(echo "$2 / 1024" | bc -l | awk '{ printf($1 < 10 ? "%.1f" : "%.0f", $1) }')" \
		"$(echo "$2 * 1024 / $events" | bc -l)")$'\n'
}
README_ROWS=

printf '  %-36s %8s %10s %10s %10s\n' "conlab report" "seconds" "peak MiB" "B/event" "growth B/ev"
run summary summary
run "contention" contention
run "deadlock" deadlock
run "timeline (text)" timeline
run "timeline --format json" timeline --format json
run "timeline --format html" timeline --format html
run "timeline --format perfetto" timeline --format perfetto
run "timeline --from/--to (10%)" timeline --from "$from" --to "$to"
run "timeline --from/--to --format perfetto" timeline --format perfetto --from "$from" --to "$to"
run "contention --from/--to (10%)" contention --from "$from" --to "$to"
printf '\nIn the README'"'"'s form (%s, %s, load average %s):\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
	"$(uname -n)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| `conlab report` | seconds | peak RSS | bytes/event |\n|---|---|---|---|\n%s' "$README_ROWS"
