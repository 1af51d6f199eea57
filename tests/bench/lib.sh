#!/bin/bash
# tests/bench/lib.sh — sourced by the benchmarks: medians, key=value fields of a workload's
# last line, ratios, and the table of per-tool medians against the untraced one.

# median of the numbers on stdin (nothing for no input)
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# kv FILE KEY: the value of KEY= on the last line of FILE (the workloads' ground-truth line)
kv() { tail -n 1 "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# ratio A B: "1.23x"
ratio() { awk "BEGIN {printf \"%.2fx\", $1 / $2}"; }

# ratio_table DIR UNIT FMT TOOL...: for each TOOL, the median of DIR/r.TOOL (one figure a line)
# printed with FMT (a printf number format) and UNIT, and its ratio to DIR/r.untraced.
ratio_table() {
	local dir=$1 unit=$2 fmt=$3 base t n m
	shift 3
	base=$(grep . "$dir/r.untraced" | median)
	for t in "$@"; do
		n=$(grep -c . "$dir/r.$t")
		if [ "$n" = 0 ]; then
			printf '  %-16s failed to run\n' "$t"
			continue
		fi
		m=$(grep . "$dir/r.$t" | median)
		printf "  %-16s $fmt %s  %8.3fx  (%d runs)\n" "$t" "$m" "$unit" \
			"$(awk "BEGIN {print $m / $base}")" "$n"
	done
}
