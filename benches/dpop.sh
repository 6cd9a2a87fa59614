#!/usr/bin/env bash
# `make bench`, part four: what remembering DPoP proofs in Redis costs against this replica's
# memory. Two servers of the release build, one worker each pinned to core 0 (wrk on core 1),
# one with the memory replay store and one with a redis-server on loopback, each answering
# `GET /api/v1/me` with a DPoP-bound token (its verification cached) and a fresh proof a request,
# so every request checks and records one proof. The two cases run in interleaved rounds and
# each round's Redis share of memory is taken within it; reported as the median over rounds
# with the spread, beside req/s, p50/p99 and the round trip a proof costs (1/redis − 1/memory).
# Installs redis-server and wrk from Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/stats.sh

ROUNDS=${ROUNDS:-5}
SECONDS_PER_CASE=${SECONDS_PER_CASE:-3}
CONNECTIONS=${CONNECTIONS:-32}
# Proofs made for each case of each round: more than a case can use in its seconds, since each
# is accepted once.
PROOFS=${PROOFS:-80000}
MEMORY_PORT=18090
REDIS_STORE_PORT=18091
REDIS_PORT=18092

install_missing wrk redis-server
server_binary=target/release/$(sed -n 's/^default-run = "\(.*\)"$/\1/p' Cargo.toml)
cargo build --release --quiet --bins

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)

export APP_ENV=development APP__DEV_ISSUER__KEY_FILE="$work/keys.json" DPOP_KEY_FILE="$work/client.pem"
start() { # port [store]
	APP__SERVER__PORT=$1 APP__SERVER__WORKERS=1 APP__AUTH__DPOP_REPLAY_CACHE_SIZE=4000000 \
		APP__AUTH__DPOP_REPLAY_STORE=${2:-memory} APP__REDIS__URL="redis://127.0.0.1:$REDIS_PORT" \
		RUST_LOG=warn $server_core "$server_binary" >"$work/server-$1.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$1/ready" && return 0
		sleep 0.1
	done
	echo "the server on port $1 never became ready" >&2
	exit 1
}
start $MEMORY_PORT memory
start $REDIS_STORE_PORT redis

thumbprint=$(DPOP_THUMBPRINT=1 target/release/dpop-proof)
token_for() { APP__SERVER__PORT=$1 TOKEN_CNF_JKT=$thumbprint target/release/dev-token; }
proofs_for() { # port token file
	APP__SERVER__PORT=$1 DPOP_URL="http://127.0.0.1:$1/api/v1/me" DPOP_TOKEN=$2 DPOP_COUNT=$PROOFS \
		target/release/dpop-proof >"$3"
}
memory_token=$(token_for $MEMORY_PORT)
redis_token=$(token_for $REDIS_STORE_PORT)

cat >"$work/dpop.lua" <<'LUA'
local proofs, next_proof, token = {}, 1, ""
init = function(args)
  token = args[1]
  for line in io.lines(args[2]) do proofs[#proofs + 1] = line end
end
request = function()
  local proof = proofs[next_proof]
  next_proof = next_proof + 1
  return wrk.format("GET", "/api/v1/me", { Authorization = "DPoP " .. token, DPoP = proof })
end
LUA

run() { # case port token round
	local proofs="$work/proofs.txt"
	proofs_for "$2" "$3" "$proofs"
	$client_core wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_CASE}s" --latency -s "$work/dpop.lua" \
		"http://127.0.0.1:$2" -- "$3" "$proofs" >"$work/$1.$4.txt"
	if grep -q "Non-2xx" "$work/$1.$4.txt"; then
		echo "case $1 had non-2xx answers (more requests than proofs? raise PROOFS):" >&2
		cat "$work/$1.$4.txt" >&2
		exit 1
	fi
}

for round in $(seq 1 "$ROUNDS"); do
	run dpop-memory $MEMORY_PORT "$memory_token" "$round"
	run dpop-redis $REDIS_STORE_PORT "$redis_token" "$round"
done

rps_of() { awk '/Requests\/sec/ {print $2}' "$work/$1.$2.txt"; }
to_us() { awk '{v = $1; if (v ~ /us$/) print v + 0; else if (v ~ /ms$/) print v * 1000; else if (v ~ /s$/) print v * 1000000}'; }
echo
echo "DPoP proofs checked and recorded, one worker pinned, $CONNECTIONS connections, $ROUNDS rounds:"
echo
echo "| case | req/s (median) | p50 | p99 |"
echo "|---|---|---|---|"
for case in dpop-memory dpop-redis; do
	printf '| %s | %.0f | %.0f µs | %.0f µs |\n' "$case" \
		"$(cat "$work/$case".*.txt | awk '/Requests\/sec/ {print $2}' | median)" \
		"$(cat "$work/$case".*.txt | awk '$1 == "50%" {print $2}' | to_us | median)" \
		"$(cat "$work/$case".*.txt | awk '$1 == "99%" {print $2}' | to_us | median)"
done
shares=$(for round in $(seq 1 "$ROUNDS"); do
	awk -v r="$(rps_of dpop-redis "$round")" -v m="$(rps_of dpop-memory "$round")" 'BEGIN {print 100 * r / m}'
done)
costs=$(for round in $(seq 1 "$ROUNDS"); do
	awk -v r="$(rps_of dpop-redis "$round")" -v m="$(rps_of dpop-memory "$round")" 'BEGIN {print 1e6 / r - 1e6 / m}'
done)
echo
echo "Redis store as a share of the memory store: $(echo "$shares" | median | awk '{printf "%.1f%%", $1}')" \
	"(rounds $(echo "$shares" | sort -g | awk 'NR == 1 {l = $1} {h = $1} END {printf "%.1f–%.1f%%", l, h}'))"
echo "server time a proof costs with Redis: $(echo "$costs" | median | awk '{printf "%.1f µs", $1}')"
echo "raw req/s by round:"
for case in dpop-memory dpop-redis; do
	echo "  $case: $(for round in $(seq 1 "$ROUNDS"); do printf '%s ' "$(rps_of "$case" "$round")"; done)"
done
echo "peak RSS: memory store $(awk '/VmHWM/ {print $2, $3}' "/proc/${pids[1]}/status"), Redis store $(awk '/VmHWM/ {print $2, $3}' "/proc/${pids[2]}/status")"
