#!/bin/bash
# tests/bench/timeline.sh — timeline report speed and output sizes for a ~1 million event
# trace, beside `perf sched record` + `perf sched timehist` on the same workload.
# Targets: under 1 s for the text and Perfetto forms. Usage: tests/bench/timeline.sh [BUILD]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$ROOT/build}
CONLAB=$B/conlab
ITEMS=${ITEMS:-80000}
TMP=$(mktemp -d /tmp/conlab-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
WORK=("$B/workloads/pcqueue" --items "$ITEMS" --consumers 1 --stall-ms 0)

secs() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

"$CONLAB" record --quiet --buffer 256M -o "$TMP/t.clab" -- "${WORK[@]}" > /dev/null 2> "$TMP/rec.err"
events=$(grep -o 'recorded [0-9]* events' "$TMP/rec.err" | grep -o '[0-9]*')
lost=$(grep -o '[0-9]* lost' "$TMP/rec.err" | tail -1)
echo "workload: pcqueue --items $ITEMS: $events events recorded ($lost), trace $(size "$TMP/t.clab") bytes"
printf "%-22s %9s %12s\n" "conlab report timeline" "seconds" "bytes"
for f in text perfetto json html; do
	t=$(secs env NO_COLOR=1 "$CONLAB" report timeline -i "$TMP/t.clab" --format "$f" -o "$TMP/out.$f")
	printf "  --format %-12s %9.3f %12s\n" "$f" "$t" "$(size "$TMP/out.$f")"
	eval "t_$f=$t"
done
t=$(secs "$CONLAB" report summary -i "$TMP/t.clab")
printf "  %-21s %9.3f   (loading the trace + the model alone)\n" "report summary" "$t"

if command -v perf > /dev/null && perf sched record -o "$TMP/p.data" -- "${WORK[@]}" > /dev/null 2> "$TMP/perf.err"; then
	psamples=$(grep -o '([0-9]* samples)' "$TMP/perf.err" | grep -o '[0-9]*')
	t=$(secs perf sched timehist -i "$TMP/p.data")
	perf sched timehist -i "$TMP/p.data" > "$TMP/timehist.txt" 2> /dev/null
	echo "perf sched record (system-wide): $psamples samples, $(size "$TMP/p.data") bytes"
	printf "  %-21s %9.3f %12s (%s lines)\n" "perf sched timehist" "$t" "$(size "$TMP/timehist.txt")" \
		"$(wc -l < "$TMP/timehist.txt")"
	echo "ratios: timehist / conlab text $(echo "scale=2; $t / $t_text" | bc)," \
	     "timehist / conlab perfetto $(echo "scale=2; $t / $t_perfetto" | bc)"
else
	echo "perf sched: not available here ($(head -1 "$TMP/perf.err" 2>/dev/null))"
fi

# The HTML page of the same trace in headless Chromium: load, parse and first draw (the
# screenshot is taken once the page has drawn).
if command -v chromium > /dev/null; then
	prof=$(mktemp -d "$TMP/chromium.XXXXXX")
	t=$(secs timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --user-data-dir="$prof" --window-size=1280,700 \
		--screenshot="$TMP/page.png" "file://$TMP/out.html")
	printf "  %-21s %9.3f   (headless Chromium: load and draw the %s-byte page)\n" \
		"html in a browser" "$t" "$(size "$TMP/out.html")"
fi
