#!/usr/bin/env bash
# `make fuzz-api`: property-based fuzzing of the running release build against its own OpenAPI
# document. Schemathesis (pinned, installed into .venv-tools on first use) generates requests
# from /openapi.json, valid and invalid, sends them with a token holding every scope and role
# any operation of that document requires (then again with a DPoP-bound token and a proof per
# request), and runs all of its checks: no 5xx, every status, content type, header and body
# as documented, invalid input refused, unsupported methods answered 405. Fails on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-18180}
MAX_EXAMPLES=${MAX_EXAMPLES:-200}
SEED=${SEED:-1}
SCHEMATHESIS_VERSION=4.32.5

if ! .venv-tools/bin/schemathesis --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
	echo "installing schemathesis $SCHEMATHESIS_VERSION into .venv-tools" >&2
	test -d .venv-tools || python3 -m venv .venv-tools
	.venv-tools/bin/pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
cargo build --release --quiet --locked --bins
release=${CARGO_TARGET_DIR:-target}/release
server_binary=$release/$(sed -n 's/^default-run = "\(.*\)"$/\1/p' Cargo.toml)

work=$(mktemp -d)
server=""
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

export APP_ENV=development APP__SERVER__PORT=$PORT APP__DEV_ISSUER__KEY_FILE="$work/keys.json"
RUST_LOG=warn "$server_binary" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
	curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break
	sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || { cat "$work/server.log" >&2; exit 1; }
# Every name in any operation's security requirement, granted both as a scope and as a role,
# so that the token passes every route whatever its declaration demands.
permissions=$(curl -sf "http://127.0.0.1:$PORT/openapi.json" | python3 -c '
import json, sys
document = json.load(sys.stdin)
names = {name
         for item in document["paths"].values()
         for operation in item.values()
         for requirement in operation.get("security", [])
         for scopes in requirement.values()
         for name in scopes}
print(" ".join(sorted(names)))')
# The authentication any operation's step-up demands (RFC 9470, `x-step-up`): its first `acr`
# value; the token's `auth_time` is now.
acr=$(curl -sf "http://127.0.0.1:$PORT/openapi.json" | python3 -c '
import json, sys
document = json.load(sys.stdin)
values = [value
          for item in document["paths"].values()
          for operation in item.values()
          for value in operation.get("x-step-up", {}).get("acr_values") or []]
print(values[0] if values else "")')
# An API whose routes ask for no scope or role (the example removed, say) is fuzzed with a
# token granting none.
echo "fuzzing with a token granting: ${permissions:-no scope or role}" >&2
token=$(TOKEN_SCOPE="$permissions" TOKEN_ROLES="${permissions// /,}" TOKEN_ACR="$acr" "$release/dev-token")

status=0
.venv-tools/bin/schemathesis run "http://127.0.0.1:$PORT/openapi.json" \
	--url "http://127.0.0.1:$PORT" \
	--header "Authorization: Bearer $token" \
	--checks all \
	--max-examples "$MAX_EXAMPLES" \
	--seed "$SEED" \
	--no-color || status=$?

# The same operations again with a DPoP-bound token, each request with a proof of its own
# (tests/fuzz_dpop.py), so the DPoP scheme and its header are fuzzed too.
export DPOP_KEY_FILE="$work/dpop-client.pem"
jkt=$(DPOP_THUMBPRINT=1 "$release/dpop-proof")
echo "fuzzing again with a DPoP-bound token (cnf.jkt $jkt), a proof per request" >&2
DPOP_TOKEN=$(TOKEN_SCOPE="$permissions" TOKEN_ROLES="${permissions// /,}" TOKEN_ACR="$acr" \
	TOKEN_CNF_JKT="$jkt" "$release/dev-token") \
	DPOP_BASE="http://127.0.0.1:$PORT" DPOP_PROOF_BINARY="$release/dpop-proof" \
	PYTHONPATH=tests SCHEMATHESIS_HOOKS=fuzz_dpop \
	.venv-tools/bin/schemathesis run "http://127.0.0.1:$PORT/openapi.json" \
	--url "http://127.0.0.1:$PORT" \
	--checks all \
	--max-examples "$MAX_EXAMPLES" \
	--seed "$SEED" \
	--no-color 2>&1 | tee "$work/dpop-fuzz.log" || status=$?
# Schemathesis only warns when its credentials are refused everywhere; here that is a failure.
if grep -q "Authentication failed" "$work/dpop-fuzz.log"; then
	echo "the DPoP-bound token or its proofs were refused" >&2
	status=1
fi

if grep -qi "panicked" "$work/server.log"; then
	echo "the server panicked:" >&2
	grep -i -A3 "panicked" "$work/server.log" >&2
	status=1
fi
kill -0 "$server" 2>/dev/null || { echo "the server died during the run" >&2; status=1; }
exit $status
