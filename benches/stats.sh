# Sourced by the bench scripts: the readings they take, the tools they install and how they
# pin the server and the load generator.

# The median of the numbers on standard input, one a line.
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Criterion's median time per iteration, in ns, of the benchmark saved under
# target/criterion/<path> (criterion's directory names: `::` becomes `__`).
criterion_median_ns() { # path
	sed -E 's/.*"median":\{"confidence_interval":\{[^}]*\},"point_estimate":([0-9.e+-]+).*/\1/' \
		"target/criterion/$1/new/estimates.json"
}

# Installs each missing tool from Debian's packages.
install_missing() { # tool...
	local tool sudo
	for tool in "$@"; do
		command -v "$tool" >/dev/null && continue
		echo "installing $tool from Debian's packages" >&2
		sudo=$([ "$(id -u)" = 0 ] || echo sudo)
		$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$tool" >/dev/null
	done
}

# The server on core 0 and the load generator on core 1, where there are two cores to pin.
server_core="" client_core=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	server_core="taskset -c 0"
	client_core="taskset -c 1"
fi
