#!/bin/bash
# tests/bench/drain.sh BUILD — how many events a second conlab records with none lost, on a
# switch storm: PAIRS unpinned futex ping-pong pairs at once (each pair 4 records and more a
# round trip, spread over both CPUs). Prints, per mode, the events, the storm's own wall time
# and the rate recorded in it, the losses, and the recorder's CPU per event (drain,
# metadata, compression, writing: one CPU of it is the rate the consumer could keep up with).
# The storm is what the machine can produce: where its rate is below the consumer's ceiling,
# the producer side (the traced threads and their probes) is the limit, not the drain. So a
# second storm is made without the kernel: lockloop --work 0 (two threads locking one mutex)
# under record --locks=preload, whose library writes a record per lock call in the process;
# its rate is events over the loop's own elapsed time.
set -u
B=${1:-build}
CONLAB=$B/conlab
WL=$B/workloads
RUNS=${RUNS:-3}
PAIRS=${PAIRS:-4}
ROUNDS=${ROUNDS:-50000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

source "$(dirname "$0")/lib.sh"

# the storm: PAIRS pingpong processes at once; last line storm_ns=
cat > "$TMP/storm.sh" <<EOF
#!/bin/sh
t0=\$(date +%s%N)
for i in \$(seq $PAIRS); do "$WL/pingpong" --rounds $ROUNDS > /dev/null & done
wait
echo storm_ns=\$((\$(date +%s%N) - t0))
EOF
chmod +x "$TMP/storm.sh"

: > "$TMP/base"
for v in full futex locks; do : > "$TMP/$v.rate"; : > "$TMP/$v.cpu"; : > "$TMP/$v.lost"; : > "$TMP/$v.ev"; done
# note V NS: the events, rate, losses and recorder CPU of mode V's run, from its stderr and
# the storm's own time NS
note() {
	local v=$1 ns=$2 ev
	ev=$(sed -n 's/.*recorded \([0-9]*\) events.*/\1/p' "$TMP/$v.err")
	echo "$ev" >> "$TMP/$v.ev"
	awk "BEGIN {print $ev / ($ns / 1e9)}" >> "$TMP/$v.rate"
	sed -n 's/.*, \([0-9]*\) lost$/\1/p' "$TMP/$v.err" >> "$TMP/$v.lost"
	sed -n 's/.*recorder CPU .* ms.*, \([0-9]*\) ns\/event/\1/p' "$TMP/$v.err" >> "$TMP/$v.cpu"
}

for ((i = 0; i < RUNS; i++)); do
	"$TMP/storm.sh" > "$TMP/o"; kv "$TMP/o" storm_ns >> "$TMP/base"
	for v in full futex; do
		opts=""
		[ $v = futex ] && opts="--futex-calls"	# a record per futex call too
		# shellcheck disable=SC2086
		CONLAB_BPF_STATS=1 "$CONLAB" record --quiet $opts -o "$TMP/$v.clab" -- "$TMP/storm.sh" \
			> "$TMP/o" 2> "$TMP/$v.err"
		note $v "$(kv "$TMP/o" storm_ns)"
	done
	CONLAB_BPF_STATS=1 "$CONLAB" record --quiet --locks=preload -o "$TMP/locks.clab" -- \
		"$WL/lockloop" --work 0 --iters $((ROUNDS * 4)) > "$TMP/o" 2> "$TMP/locks.err"
	note locks "$(kv "$TMP/o" elapsed_ns)"
done
echo "drain: $PAIRS unpinned futex ping-pong pairs x $ROUNDS rounds (locks: lockloop --work 0"
echo "--iters $((ROUNDS * 4)) under --locks=preload), median of $RUNS runs"
printf '  untraced storm %.0f ms\n' "$(awk "BEGIN {print $(median < "$TMP/base") / 1e6}")"
for v in full futex locks; do
	printf '  conlab %-5s %8.0f events, %.2f M events/s recorded, lost %s (max of runs), recorder %s ns/event (ceiling %.1f M/s per CPU)\n' \
		"$v" "$(median < "$TMP/$v.ev")" "$(awk "BEGIN {print $(median < "$TMP/$v.rate") / 1e6}")" \
		"$(sort -n "$TMP/$v.lost" | tail -1)" "$(median < "$TMP/$v.cpu")" \
		"$(awk "BEGIN {c = $(median < "$TMP/$v.cpu"); print c ? 1e3 / c : 0}")"
done
