# Sourced by benches/load.sh and benches/scaling.sh: the two readings both take.

# The median of the numbers on standard input, one a line.
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Criterion's median time per iteration, in ns, of the benchmark saved under
# target/criterion/<path> (criterion's directory names: `::` becomes `__`).
criterion_median_ns() { # path
	sed -E 's/.*"median":\{"confidence_interval":\{[^}]*\},"point_estimate":([0-9.e+-]+).*/\1/' \
		"target/criterion/$1/new/estimates.json"
}
