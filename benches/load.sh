#!/usr/bin/env bash
# `make bench`, part two: load on the release build over loopback with wrk. One server worker is
# pinned to core 0 and wrk to core 1 (where the machine has two), and the cases run in
# interleaved rounds so that drift on a shared machine hits every case alike. The ceiling is a
# bare actix-web hello world (benches/hello.rs, same actix-web, same profile) served in the same
# rounds. Every distinct-token case is set against its crypto bound from the same round, the
# same tokens served by the hello world plus one bare `jsonwebtoken::decode` a request
# (benches/hello.rs with a JWKS); each round also times that decode on the server's core with
# criterion, for the bound computed as 1 / (1 / hello + decode), as earlier runs did. A ratio is
# taken within a round, between runs seconds apart (/health and the cached token between two
# hello world runs, each distinct-token case right after its bound), so that drift between runs
# cancels, and reported as the median over the rounds with the lowest and highest round. Prints
# req/s and p50/p99 per case (medians over the rounds), those ratios, the JWKS fetches made
# during the load, and each server's peak RSS; then one round with two server workers and two
# wrk threads, nothing pinned, as measured.
#
# With BASELINE=<git revision>, that revision's server is built too and served beside this
# one: /health, the cached token and distinct RS256 tokens each run against it right after
# their own case, and the report adds this tree's share of the baseline (an A/B within one run);
# the cached token is then compared at two workers too.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/stats.sh

# Nine short rounds rather than five long ones: on a shared machine two runs seconds apart can
# differ by a tenth, and the median of nine ratios is steadier than that of five.
ROUNDS=${ROUNDS:-9}
SECONDS_PER_CASE=${SECONDS_PER_CASE:-3}
CONNECTIONS=${CONNECTIONS:-32}
UNCACHED_PORT=18080
CACHED_PORT=18081
HELLO_PORT=18082
TWO_WORKERS_PORT=18083
TWO_WORKERS_CACHED_PORT=18084
NODE_PORT=18085
BOUND_PORT=18086
BASELINE_UNCACHED_PORT=18087
BASELINE_CACHED_PORT=18088
BASELINE_TWO_WORKERS_CACHED_PORT=18089
FASTIFY_VERSION=5.12.8
JOSE_VERSION=6.2.18

install_missing wrk
server_name=$(sed -n 's/^default-run = "\(.*\)"$/\1/p' Cargo.toml)
server_binary=target/release/$server_name

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	[ -n "${BASELINE:-}" ] && git worktree remove --force "$work/baseline" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# The baseline first, into the same target directory (its dependencies are shared), then set
# aside before this tree's build takes the binary's place.
if [ -n "${BASELINE:-}" ]; then
	git worktree add --quiet --detach "$work/baseline" "$BASELINE"
	CARGO_TARGET_DIR=$PWD/target cargo build --release --quiet --locked \
		--manifest-path "$work/baseline/Cargo.toml" --bin "$server_name"
	cp "$server_binary" "$work/baseline-server"
fi
cargo build --release --quiet --bins --example hello

export APP_ENV=development APP__DEV_ISSUER__KEY_FILE="$work/keys.json"
wait_for() { # url [any: an error status counts as an answer]
	local fail=-f
	[ $# -eq 2 ] && fail=""
	for _ in $(seq 1 100); do
		curl -s $fail -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "nothing answered $1" >&2
	exit 1
}
start() { # port cache-size [workers, unpinned]
	local pin=$server_core
	[ "${3:-1}" -ne 1 ] && pin=""
	APP__SERVER__PORT=$1 APP__SERVER__WORKERS=${3:-1} APP__AUTH__TOKEN_CACHE_SIZE=$2 \
		RUST_LOG=warn,issuer_trust::jwks=info $pin "${binary:-$server_binary}" >"$work/server-$1.log" 2>&1 &
	pids+=($!)
	wait_for "http://127.0.0.1:$1/ready"
}
start $UNCACHED_PORT 0
start $CACHED_PORT 10000
if [ -n "${BASELINE:-}" ]; then
	binary=$work/baseline-server start $BASELINE_UNCACHED_PORT 0
	binary=$work/baseline-server start $BASELINE_CACHED_PORT 10000
fi
PORT=$HELLO_PORT $server_core target/release/examples/hello >"$work/hello.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$HELLO_PORT/"

tokens() { # port alg count file
	APP__SERVER__PORT=$1 TOKEN_ALG=$2 TOKEN_COUNT=$3 TOKEN_SCOPE="items:read" target/release/dev-token >"$4"
}
tokens $UNCACHED_PORT RS256 1000 "$work/rs256.txt"
tokens $UNCACHED_PORT EdDSA 1000 "$work/eddsa.txt"
tokens $UNCACHED_PORT ES256 1000 "$work/es256.txt"
tokens $CACHED_PORT EdDSA 1 "$work/repeated.txt"
if [ -n "${BASELINE:-}" ]; then
	tokens $BASELINE_UNCACHED_PORT RS256 1000 "$work/rs256-baseline.txt"
	tokens $BASELINE_CACHED_PORT EdDSA 1 "$work/repeated-baseline.txt"
fi

# The issuer and audience the tokens carry, read from the first one's payload.
claim() { python3 benches/claim.py "$(head -1 "$work/rs256.txt")" "$1"; }
issuer=$(claim iss) audience=$(claim aud)

# The crypto bound served: the hello world plus one bare decode, with the service's keys.
curl -sf "http://127.0.0.1:$UNCACHED_PORT/.well-known/jwks.json" >"$work/jwks.json"
ISSUER=$issuer AUDIENCE=$audience JWKS_FILE="$work/jwks.json" PORT=$BOUND_PORT \
	$server_core target/release/examples/hello >"$work/bound.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$BOUND_PORT/"

# The Node.js comparison, in the template repository where Node.js and npm are installed:
# fastify and jose (pinned, installed into a scratch directory) verifying the same RS256 tokens
# against the same JWKS, one process pinned like the service. A generated service has no peer.
node_case=""
if [ -f benches/fastify-jose.mjs ] && command -v node >/dev/null && command -v npm >/dev/null; then
	mkdir -p "$work/node" && cp benches/fastify-jose.mjs "$work/node/"
	echo '{"type": "module", "private": true}' >"$work/node/package.json"
	(cd "$work/node" && npm install --silent --no-audit --no-fund "fastify@$FASTIFY_VERSION" "jose@$JOSE_VERSION" >/dev/null)
	ISSUER=$issuer AUDIENCE=$audience JWKS_URL="http://127.0.0.1:$UNCACHED_PORT/.well-known/jwks.json" \
		PORT=$NODE_PORT $server_core node "$work/node/fastify-jose.mjs" >"$work/node.log" 2>&1 &
	pids+=($!)
	wait_for "http://127.0.0.1:$NODE_PORT/api/v1/me" any
	node_case=fastify-jose-rs256
fi

cat >"$work/tokens.lua" <<'LUA'
local tokens, next_token = {}, 1
local path = "/api/v1/me"
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  path = args[2] or path
end
request = function()
  local token = tokens[next_token]
  next_token = next_token % #tokens + 1
  return wrk.format("GET", path, { Authorization = "Bearer " .. token })
end
LUA

fetches() { grep -c "signing key(s)" "$work/server-$UNCACHED_PORT.log" "$work/server-$CACHED_PORT.log" | awk -F: '{n += $2} END {print n}'; }

run() { # case url-or-port [token file [path]]; one token is sent as a fixed header, several by the Lua script
	local out="$work/$1.$round.txt"
	local load=(wrk -t"${WRK_THREADS:-1}" -c"$CONNECTIONS" -d"${SECONDS_PER_CASE}s" --latency)
	if [[ $2 == http* ]]; then
		$client_core "${load[@]}" "$2" >"$out"
	elif [ $# -eq 2 ]; then
		$client_core "${load[@]}" "http://127.0.0.1:$2/health" >"$out"
	elif [ "$(wc -l <"$3")" -eq 1 ]; then
		$client_core "${load[@]}" -H "Authorization: Bearer $(cat "$3")" "http://127.0.0.1:$2/api/v1/me" >"$out"
	else
		$client_core "${load[@]}" -s "$work/tokens.lua" "http://127.0.0.1:$2" -- "$3" ${4:+"$4"} >"$out"
	fi
	if grep -q "Non-2xx" "$out"; then
		echo "case $1 had non-2xx answers:" >&2
		cat "$out" >&2
		exit 1
	fi
}

# The bare decode of each family, in µs: criterion's median, measured on the server's core.
bare_decode() { # round
	$server_core cargo bench --quiet --bench verify -- --warm-up-time 1 --measurement-time 2 \
		'^(RS256|EdDSA|ES256)/bare' >/dev/null 2>&1
	for family in RS256 EdDSA ES256; do
		criterion_median_ns "$family/bare jsonwebtoken__decode" |
			awk -v f="$family" '{printf "%s %.2f\n", f, $1 / 1000}'
	done >"$work/bare.$1.txt"
}
cargo bench --quiet --bench verify --no-run 2>/dev/null

# Warm-up: every path once, then count fetches from here on.
for port in $UNCACHED_PORT $CACHED_PORT; do wrk -t1 -c4 -d1s "http://127.0.0.1:$port/health" >/dev/null; done
round=0
run warmup $UNCACHED_PORT "$work/rs256.txt"
fetches_before=$(fetches)

# Each case runs next to what it is measured against: /health and the cached token between two
# hello world runs, each distinct-token case right after its bound.
cases="hello-actix health repeated-cached hello-actix-after bound-rs256 rs256-distinct bound-eddsa eddsa-distinct bound-es256 es256-distinct $node_case"
for round in $(seq 1 "$ROUNDS"); do
	run hello-actix "http://127.0.0.1:$HELLO_PORT/"
	run health $UNCACHED_PORT
	run repeated-cached $CACHED_PORT "$work/repeated.txt"
	run hello-actix-after "http://127.0.0.1:$HELLO_PORT/"
	run bound-rs256 $BOUND_PORT "$work/rs256.txt" /RS256
	run rs256-distinct $UNCACHED_PORT "$work/rs256.txt"
	if [ -n "${BASELINE:-}" ]; then
		run health-baseline $BASELINE_UNCACHED_PORT
		run repeated-cached-baseline $BASELINE_CACHED_PORT "$work/repeated-baseline.txt"
		run rs256-distinct-baseline $BASELINE_UNCACHED_PORT "$work/rs256-baseline.txt"
	fi
	run bound-eddsa $BOUND_PORT "$work/eddsa.txt" /EdDSA
	run eddsa-distinct $UNCACHED_PORT "$work/eddsa.txt"
	run bound-es256 $BOUND_PORT "$work/es256.txt" /ES256
	run es256-distinct $UNCACHED_PORT "$work/es256.txt"
	[ -n "$node_case" ] && run "$node_case" $NODE_PORT "$work/rs256.txt"
	bare_decode "$round"
done
fetches_after=$(fetches)

# The cached server's memory with its cache full (the default 10,000 entries): 12,000 distinct
# tokens, each sent until every one has been verified and offered to the cache.
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
rss_before_fill=$(rss_kib "${pids[1]}")
tokens $CACHED_PORT EdDSA 12000 "$work/fill.txt"
round=fill
run cache-fill $CACHED_PORT "$work/fill.txt"
rss_after_fill=$(rss_kib "${pids[1]}")

to_us() { awk '{v = $1; if (v ~ /us$/) print v + 0; else if (v ~ /ms$/) print v * 1000; else if (v ~ /s$/) print v * 1000000}'; }

rps_of() { awk '/Requests\/sec/ {print $2}' "$work/$1.$2.txt"; }
# The hello world of a round: the mean of its two runs, before and after /health and the cache.
hello_of() { # round
	awk -v a="$(rps_of hello-actix "$1")" -v b="$(rps_of hello-actix-after "$1")" 'BEGIN {print (a + b) / 2}'
}
# A case's share of the hello world in one round.
of_hello() { # case family round
	awk -v rps="$(rps_of "$1" "$3")" -v hello="$(hello_of "$3")" 'BEGIN {print 100 * rps / hello}'
}
# A distinct-token case's share of its crypto bound in one round: against the bound served, and
# against 1 / (1/hello + criterion's bare decode).
of_served_bound() { # case family round
	awk -v rps="$(rps_of "$1" "$3")" -v bound="$(rps_of "bound-${2,,}" "$3")" \
		'BEGIN {print 100 * rps / bound}'
}
of_bound() { # case family round
	awk -v rps="$(rps_of "$1" "$3")" -v hello="$(hello_of "$3")" \
		-v bare="$(awk -v f="$2" '$1 == f {print $2}' "$work/bare.$3.txt")" \
		'BEGIN {print 100 * rps * (1e6 / hello + bare) / 1e6}'
}
family_of() { case $1 in rs256-* | *-rs256) echo RS256 ;; eddsa-*) echo EdDSA ;; es256-*) echo ES256 ;; esac; }
median_over_rounds() { # function case family
	for round in $(seq 1 "$ROUNDS"); do "$1" "$2" "$3" "$round"; done | median | awk '{printf "%.1f%%", $1}'
}
spread_over_rounds() { # function case family: the lowest and highest round
	for round in $(seq 1 "$ROUNDS"); do "$1" "$2" "$3" "$round"; done | sort -g |
		awk 'NR == 1 {low = $1} {high = $1} END {printf "%.1f–%.1f%%", low, high}'
}
echo
echo "Ratios are taken within each round (a case against the hello world or the bound run beside it),"
echo "then the median over the $ROUNDS rounds, with the lowest and highest round."
echo
echo "| case | req/s (median of $ROUNDS) | of bare actix-web | rounds | of its bound served | rounds | of 1/(1/hello + decode) | p50 | p99 |"
echo "|---|---|---|---|---|---|---|---|---|"
for case in $cases; do
	rps=$(cat "$work/$case".*.txt | awk '/Requests\/sec/ {print $2}' | median)
	p50=$(cat "$work/$case".*.txt | awk '$1 == "50%" {print $2}' | to_us | median)
	p99=$(cat "$work/$case".*.txt | awk '$1 == "99%" {print $2}' | to_us | median)
	family=$(family_of "$case")
	ratio=$(median_over_rounds of_hello "$case" "$family")
	ratio_spread=$(spread_over_rounds of_hello "$case" "$family")
	served="–" served_spread="–" bound="–"
	if [[ $case != bound-* ]] && [ -n "$family" ]; then
		served=$(median_over_rounds of_served_bound "$case" "$family")
		served_spread=$(spread_over_rounds of_served_bound "$case" "$family")
		bound=$(median_over_rounds of_bound "$case" "$family")
	fi
	printf '| %s | %.0f | %s | %s | %s | %s | %s | %.0f µs | %.0f µs |\n' "$case" "$rps" "$ratio" \
		"$ratio_spread" "$served" "$served_spread" "$bound" "$p50" "$p99"
done
echo
echo "raw req/s by round:"
for case in $cases; do
	echo "  $case: $(for round in $(seq 1 "$ROUNDS"); do awk '/Requests\/sec/ {printf "%s ", $2}' "$work/$case.$round.txt"; done)"
done
echo "bare decode by round (µs, criterion median on the server's core):"
for round in $(seq 1 "$ROUNDS"); do echo "  round $round: $(tr '\n' ' ' <"$work/bare.$round.txt")"; done
if [ -n "$node_case" ]; then
	awk -v a="$(cat "$work"/rs256-distinct.*.txt | awk '/Requests\/sec/ {print $2}' | median)" \
		-v b="$(cat "$work/$node_case".*.txt | awk '/Requests\/sec/ {print $2}' | median)" \
		'BEGIN {printf "distinct RS256 against fastify + jose: %.2fx\n", a / b}'
fi
if [ -n "${BASELINE:-}" ]; then
	# This tree's share of the baseline, taken within each round.
	of_baseline() { # case family round
		awk -v a="$(rps_of "$1" "$3")" -v b="$(rps_of "$1-baseline" "$3")" 'BEGIN {print 100 * a / b}'
	}
	for case in health repeated-cached rs256-distinct; do
		echo "A/B: $case at this tree is $(median_over_rounds of_baseline "$case" "") of $BASELINE's" \
			"(rounds $(spread_over_rounds of_baseline "$case" ""))"
	done
fi
echo "JWKS fetches during the load rounds: $((fetches_after - fetches_before))"
echo "peak RSS, server without token cache: $(awk '/VmHWM/ {print $2, $3}' "/proc/${pids[0]}/status")"
echo "peak RSS, server with token cache (full after the fill): $(awk '/VmHWM/ {print $2, $3}' "/proc/${pids[1]}/status")"
echo "RSS growth filling the cache: $((rss_after_fill - rss_before_fill)) kB, about $(((rss_after_fill - rss_before_fill) * 1024 / 10000)) bytes an entry"

# Two workers and two wrk threads sharing both cores, nothing pinned: what two cores give, as
# measured (the client takes its share of them).
# Tokens name their server's port as their issuer, as the development issuer does.
start $TWO_WORKERS_PORT 0 2
start $TWO_WORKERS_CACHED_PORT 10000 2
tokens $TWO_WORKERS_PORT RS256 1000 "$work/rs256-2w.txt"
tokens $TWO_WORKERS_CACHED_PORT EdDSA 1 "$work/repeated-2w.txt"
round=two-workers
WRK_THREADS=2 client_core="" run health-2w $TWO_WORKERS_PORT
WRK_THREADS=2 client_core="" run repeated-cached-2w $TWO_WORKERS_CACHED_PORT "$work/repeated-2w.txt"
WRK_THREADS=2 client_core="" run rs256-distinct-2w $TWO_WORKERS_PORT "$work/rs256-2w.txt"
echo "two workers, two wrk threads, unpinned (req/s): $(for case in health-2w repeated-cached-2w rs256-distinct-2w; do
	printf '%s %s  ' "$case" "$(rps_of "$case" two-workers)"
done)"

# With a baseline, the repeated token at two workers as well, each build in turn for every
# round: what serves two cores answering the same token shows only there.
if [ -n "${BASELINE:-}" ]; then
	binary=$work/baseline-server start $BASELINE_TWO_WORKERS_CACHED_PORT 10000 2
	tokens $BASELINE_TWO_WORKERS_CACHED_PORT EdDSA 1 "$work/repeated-2w-baseline.txt"
	for round in $(seq 1 "$ROUNDS"); do
		WRK_THREADS=2 client_core="" run repeated-cached-2w $TWO_WORKERS_CACHED_PORT "$work/repeated-2w.txt"
		WRK_THREADS=2 client_core="" run repeated-cached-2w-baseline $BASELINE_TWO_WORKERS_CACHED_PORT \
			"$work/repeated-2w-baseline.txt"
	done
	echo "A/B: repeated-cached-2w at this tree is $(median_over_rounds of_baseline repeated-cached-2w "")" \
		"of $BASELINE's (rounds $(spread_over_rounds of_baseline repeated-cached-2w ""))"
fi
