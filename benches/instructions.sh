#!/usr/bin/env bash
# `make instructions`: what one request costs in CPU instructions, counted by valgrind's
# callgrind. Unlike req/s, the count is the same whatever else the machine is doing, so it can
# be compared across runs and on a busy machine. Each case is one release server (one worker)
# under callgrind: warmed with 100 requests, counters zeroed, then REQUESTS requests on one
# keep-alive connection; the count is divided by REQUESTS. The bare actix-web hello world
# (benches/hello.rs) is the ceiling, as in benches/load.sh, and the same server verifying each
# token with one bare `jsonwebtoken::decode` is each family's crypto bound.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-1000}
PORT=${PORT:-18290}
# Line tables only, in a target directory of its own, so the normal release build is untouched.
TARGET=target/instructions

if ! command -v valgrind >/dev/null; then
	echo "installing valgrind from Debian's packages" >&2
	apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi
CARGO_TARGET_DIR=$TARGET CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
	cargo build --release --quiet --locked --bins --example hello
server_binary=$TARGET/release/$(sed -n 's/^default-run = "\(.*\)"$/\1/p' Cargo.toml)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/client.py" <<'PY'
import http.client, sys
port, path, count, token = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
headers = {"Authorization": "Bearer " + token} if token else {}
connection = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(count):
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"{path}: {response.status}")
PY

export APP_ENV=development APP__SERVER__PORT=$PORT APP__SERVER__WORKERS=1 RUST_LOG=warn \
	APP__DEV_ISSUER__KEY_FILE="$work/keys.json" PORT
# Instructions per request for one case: name path token [server command...]
measure() {
	local name=$1 path=$2 token=$3
	shift 3
	local out="$work/$name.callgrind"
	valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >"$work/$name.log" 2>&1 &
	local pid=$!
	for _ in $(seq 1 300); do
		curl -sf "http://127.0.0.1:$PORT/" -o /dev/null 2>/dev/null && break
		curl -sf "http://127.0.0.1:$PORT/ready" -o /dev/null 2>/dev/null && break
		sleep 0.2
	done
	python3 "$work/client.py" "$PORT" "$path" 100 "$token"
	callgrind_control -z "$pid" >/dev/null 2>&1
	python3 "$work/client.py" "$PORT" "$path" "$REQUESTS" "$token"
	callgrind_control -d "$pid" >/dev/null 2>&1
	kill -INT "$pid"
	wait "$pid" || true
	local total
	total=$(cat "$out".* | awk '/^summary:/ {n += $2} END {print n}')
	echo "$name $((total / REQUESTS))"
}

token() { # alg
	TOKEN_ALG=$1 TOKEN_SCOPE="items:read" "$TARGET/release/dev-token"
}
# The development issuer's keys must exist before tokens are signed with them.
"$TARGET/release/dev-token" >/dev/null
# The bound's keys, issuer and audience: the service's JWKS, and the claims its tokens carry.
"$server_binary" >"$work/jwks-server.log" 2>&1 &
jwks_server=$!
for _ in $(seq 1 100); do
	curl -sf "http://127.0.0.1:$PORT/.well-known/jwks.json" -o "$work/jwks.json" && break
	sleep 0.1
done
kill "$jwks_server" && wait "$jwks_server" || true
claim() { python3 benches/claim.py "$(token RS256)" "$1"; }
issuer=$(claim iss) audience=$(claim aud)

{
	measure hello-actix / "" "$TARGET/release/examples/hello"
	measure health /health "" "$server_binary"
	APP__AUTH__TOKEN_CACHE_SIZE=10000 measure me-cached /api/v1/me "$(token EdDSA)" "$server_binary"
	for alg in RS256 EdDSA ES256; do
		APP__AUTH__TOKEN_CACHE_SIZE=0 measure "me-$alg-uncached" /api/v1/me "$(token $alg)" "$server_binary"
		JWKS_FILE="$work/jwks.json" ISSUER=$issuer AUDIENCE=$audience \
			measure "bound-$alg" "/$alg" "$(token $alg)" "$TARGET/release/examples/hello"
	done
} >"$work/counts.txt"

hello=$(awk '$1 == "hello-actix" {print $2}' "$work/counts.txt")
echo "| case | instructions a request | bare actix-web over this case | its bound over this case |"
echo "|---|---|---|---|"
while read -r name count; do
	alg=${name#me-}
	bound=$(awk -v b="bound-${alg%-uncached}" '$1 == b {print $2}' "$work/counts.txt")
	awk -v n="$name" -v c="$count" -v h="$hello" -v b="${bound:-0}" 'BEGIN {
		printf "| %s | %d | %.1f%% | %s |\n", n, c, 100 * h / c, b ? sprintf("%.1f%%", 100 * b / c) : "–"
	}'
done <"$work/counts.txt"
