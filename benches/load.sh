#!/usr/bin/env bash
# `make bench`, part two: load on the release build over loopback with wrk. One server worker is
# pinned to core 0 and wrk to core 1 (where the machine has two), and the cases run in
# interleaved rounds so that drift on a shared machine hits every case alike. Each round also
# times a bare `jsonwebtoken::decode` per signing family on the server's core (criterion), so
# every distinct-token case is set against its crypto bound from the same round: one bare
# decode added to /health's per-request cost. Prints req/s and p50/p99 per case (medians over
# the rounds), each case's ratio to /health and to its crypto bound, the JWKS fetches made
# during the load, and each server's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SECONDS_PER_CASE=${SECONDS_PER_CASE:-5}
CONNECTIONS=${CONNECTIONS:-32}
UNCACHED_PORT=18080
CACHED_PORT=18081

if ! command -v wrk >/dev/null; then
	echo "installing wrk from Debian's packages" >&2
	apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --bins
server_binary=target/release/$(sed -n 's/^default-run = "\(.*\)"$/\1/p' Cargo.toml)

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

server_core="" client_core=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	server_core="taskset -c 0"
	client_core="taskset -c 1"
fi

export APP_ENV=development APP__DEV_ISSUER__KEY_FILE="$work/keys.json"
start() { # port cache-size
	APP__SERVER__PORT=$1 APP__SERVER__WORKERS=1 APP__AUTH__TOKEN_CACHE_SIZE=$2 \
		RUST_LOG=warn,app::auth::jwks=info $server_core "$server_binary" >"$work/server-$1.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$1/ready" >/dev/null && return 0
		sleep 0.1
	done
	echo "the server on port $1 never became ready" >&2
	exit 1
}
start $UNCACHED_PORT 0
start $CACHED_PORT 10000

tokens() { # port alg count file
	APP__SERVER__PORT=$1 TOKEN_ALG=$2 TOKEN_COUNT=$3 TOKEN_SCOPE="items:read" target/release/dev-token >"$4"
}
tokens $UNCACHED_PORT RS256 1000 "$work/rs256.txt"
tokens $UNCACHED_PORT EdDSA 1000 "$work/eddsa.txt"
tokens $UNCACHED_PORT ES256 1000 "$work/es256.txt"
tokens $CACHED_PORT EdDSA 1 "$work/repeated.txt"

cat >"$work/tokens.lua" <<'LUA'
local tokens, next_token = {}, 1
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
end
request = function()
  local token = tokens[next_token]
  next_token = next_token % #tokens + 1
  return wrk.format("GET", "/api/v1/me", { Authorization = "Bearer " .. token })
end
LUA

fetches() { grep -c "signing key(s)" "$work/server-$UNCACHED_PORT.log" "$work/server-$CACHED_PORT.log" | awk -F: '{n += $2} END {print n}'; }

run() { # case port [token file]; one token is sent as a fixed header, several by the Lua script
	local out="$work/$1.$round.txt"
	local load=(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_CASE}s" --latency)
	if [ $# -eq 2 ]; then
		$client_core "${load[@]}" "http://127.0.0.1:$2/health" >"$out"
	elif [ "$(wc -l <"$3")" -eq 1 ]; then
		$client_core "${load[@]}" -H "Authorization: Bearer $(cat "$3")" "http://127.0.0.1:$2/api/v1/me" >"$out"
	else
		$client_core "${load[@]}" -s "$work/tokens.lua" "http://127.0.0.1:$2" -- "$3" >"$out"
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
		sed -E 's/.*"median":\{"confidence_interval":\{[^}]*\},"point_estimate":([0-9.e+-]+).*/\1/' \
			"target/criterion/$family/bare jsonwebtoken__decode/new/estimates.json" |
			awk -v f="$family" '{printf "%s %.2f\n", f, $1 / 1000}'
	done >"$work/bare.$1.txt"
}
cargo bench --quiet --bench verify --no-run 2>/dev/null

# Warm-up: every path once, then count fetches from here on.
for port in $UNCACHED_PORT $CACHED_PORT; do wrk -t1 -c4 -d1s "http://127.0.0.1:$port/health" >/dev/null; done
round=0
run warmup $UNCACHED_PORT "$work/rs256.txt"
fetches_before=$(fetches)

cases="health rs256-distinct eddsa-distinct es256-distinct repeated-cached"
for round in $(seq 1 "$ROUNDS"); do
	run health $UNCACHED_PORT
	run rs256-distinct $UNCACHED_PORT "$work/rs256.txt"
	run eddsa-distinct $UNCACHED_PORT "$work/eddsa.txt"
	run es256-distinct $UNCACHED_PORT "$work/es256.txt"
	run repeated-cached $CACHED_PORT "$work/repeated.txt"
	bare_decode "$round"
done
fetches_after=$(fetches)

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
to_us() { awk '{v = $1; if (v ~ /us$/) print v + 0; else if (v ~ /ms$/) print v * 1000; else if (v ~ /s$/) print v * 1000000}'; }

rps_of() { awk '/Requests\/sec/ {print $2}' "$work/$1.$2.txt"; }
health_rps=$(cat "$work"/health.*.txt | awk '/Requests\/sec/ {print $2}' | median)
# A distinct-token case's share of its crypto bound in one round: 1 / (1/health + bare decode).
of_bound() { # case family round
	awk -v rps="$(rps_of "$1" "$3")" -v health="$(rps_of health "$3")" \
		-v bare="$(awk -v f="$2" '$1 == f {print $2}' "$work/bare.$3.txt")" \
		'BEGIN {print 100 * rps * (1e6 / health + bare) / 1e6}'
}
family_of() { case $1 in rs256-*) echo RS256 ;; eddsa-*) echo EdDSA ;; es256-*) echo ES256 ;; esac; }
echo
echo "| case | req/s (median of $ROUNDS) | ratio to /health | of its crypto bound | p50 | p99 |"
echo "|---|---|---|---|---|---|"
for case in $cases; do
	rps=$(cat "$work/$case".*.txt | awk '/Requests\/sec/ {print $2}' | median)
	p50=$(cat "$work/$case".*.txt | awk '$1 == "50%" {print $2}' | to_us | median)
	p99=$(cat "$work/$case".*.txt | awk '$1 == "99%" {print $2}' | to_us | median)
	ratio=$(awk -v a="$rps" -v b="$health_rps" 'BEGIN {printf "%.1f%%", 100 * a / b}')
	bound="–"
	if family=$(family_of "$case") && [ -n "$family" ]; then
		bound=$(for round in $(seq 1 "$ROUNDS"); do of_bound "$case" "$family" "$round"; done | median |
			awk '{printf "%.1f%%", $1}')
	fi
	printf '| %s | %.0f | %s | %s | %.0f µs | %.0f µs |\n' "$case" "$rps" "$ratio" "$bound" "$p50" "$p99"
done
echo
echo "raw req/s by round:"
for case in $cases; do
	echo "  $case: $(for round in $(seq 1 "$ROUNDS"); do awk '/Requests\/sec/ {printf "%s ", $2}' "$work/$case.$round.txt"; done)"
done
echo "bare decode by round (µs, criterion median on the server's core):"
for round in $(seq 1 "$ROUNDS"); do echo "  round $round: $(tr '\n' ' ' <"$work/bare.$round.txt")"; done
echo "JWKS fetches during the load rounds: $((fetches_after - fetches_before))"
echo "peak RSS, server without token cache: $(awk '/VmHWM/ {print $2, $3}' "/proc/${pids[0]}/status")"
echo "peak RSS, server with token cache: $(awk '/VmHWM/ {print $2, $3}' "/proc/${pids[1]}/status")"
