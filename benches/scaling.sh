#!/usr/bin/env bash
# `make bench`, part three: how verification scales from one thread to two, in rounds. One
# criterion run of the scaling groups (benches/verify.rs, `scaling`) measures each group's
# 1-thread and then its 2-thread throughput seconds apart, and on a shared machine one such pair
# can land on either side of a neighbour's burst (the same build's cached ratio has read 1.59
# and 2.16 in runs a minute apart). So the groups run ROUNDS times; each round gives each group
# one ratio, 2-thread elements/s over 1-thread, both from that round, and the ratio reported is
# the median over the rounds, with the lowest and highest round and the median throughputs.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/stats.sh

ROUNDS=${ROUNDS:-5}
GROUPS_MEASURED=("uncached" "cached" "cached, 5,000 tokens")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo bench --quiet --bench verify --no-run 2>/dev/null

# One group's median time per iteration from `threads` threads, in ns.
median_ns() { # group threads
	criterion_median_ns "EdDSA $1, threads at once/$2 thread(s)"
}

for round in $(seq 1 "$ROUNDS"); do
	cargo bench --quiet --bench verify -- --warm-up-time 1 --measurement-time 2 \
		'threads at once' >/dev/null 2>&1
	for index in "${!GROUPS_MEASURED[@]}"; do
		group=${GROUPS_MEASURED[$index]}
		# An iteration verifies one token per thread: elements/s is threads / time.
		awk -v one="$(median_ns "$group" 1)" -v two="$(median_ns "$group" 2)" \
			'BEGIN {printf "%.1f %.1f %.4f\n", 1e6 / one, 2e6 / two, 2 * one / two}' \
			>>"$work/$index.txt"
	done
done

echo
echo "Scaling of verification, 2 threads over 1 (criterion, $ROUNDS rounds; per round both from that round):"
echo
echo "| group | 1 thread, k/s (median) | 2 threads, k/s (median) | 2 over 1 (median) | rounds | each round |"
echo "|---|---|---|---|---|---|"
for index in "${!GROUPS_MEASURED[@]}"; do
	file="$work/$index.txt"
	one=$(awk '{print $1}' "$file" | median)
	two=$(awk '{print $2}' "$file" | median)
	ratio=$(awk '{print $3}' "$file" | median)
	spread=$(awk '{print $3}' "$file" | sort -g | awk 'NR == 1 {low = $1} {high = $1} END {printf "%.2f–%.2f", low, high}')
	each=$(awk '{printf "%.2f ", $3}' "$file")
	printf '| EdDSA %s | %.1f | %.1f | %.2f | %s | %s|\n' "${GROUPS_MEASURED[$index]}" "$one" "$two" \
		"$ratio" "$spread" "$each"
done
