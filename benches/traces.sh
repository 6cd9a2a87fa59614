#!/usr/bin/env bash
# `make bench`, part five: what tracing costs a request. Three servers of the release build, one
# worker each pinned to core 0 (wrk on core 1): export off (no OTEL_* variables), export on with
# every request sampled, and export on with one trace in ten sampled
# (`parentbased_traceidratio`), all three exporting to an OTLP/HTTP sink (benches/hello.rs,
# `POST /v1/traces`) beside wrk on core 1. `/health` and a repeated token (its verification
# cached) run in interleaved rounds; each exporting server's share of the silent one is taken
# within a round, reported as the median over rounds with the spread, with the server time a
# request's spans cost (1/on - 1/off) and the spans each server dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/stats.sh

ROUNDS=${ROUNDS:-5}
SECONDS_PER_CASE=${SECONDS_PER_CASE:-3}
CONNECTIONS=${CONNECTIONS:-32}
OFF_PORT=18093
ON_PORT=18094
SAMPLED_PORT=18095
SINK_PORT=18096

install_missing wrk
server_binary=target/release/$(sed -n 's/^default-run = "\(.*\)"$/\1/p' Cargo.toml)
cargo build --release --quiet --bins --example hello

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

PORT=$SINK_PORT $client_core target/release/examples/hello >"$work/sink.log" 2>&1 &
pids+=($!)

export APP_ENV=development APP__DEV_ISSUER__KEY_FILE="$work/keys.json"
start() { # port [OTEL variable=value...]
	local port=$1
	shift
	env APP__SERVER__PORT="$port" APP__SERVER__WORKERS=1 RUST_LOG=warn "$@" \
		$server_core "$server_binary" >"$work/server-$port.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/ready" && return 0
		sleep 0.1
	done
	echo "the server on port $port never became ready" >&2
	exit 1
}
sink=OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$SINK_PORT
start $OFF_PORT
start $ON_PORT "$sink"
start $SAMPLED_PORT "$sink" OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1

token_for() { APP__SERVER__PORT=$1 TOKEN_SCOPE="items:read" target/release/dev-token; }
run() { # case port round [token]
	local out="$work/$1.$3.txt" url="http://127.0.0.1:$2/health" auth=()
	if [ $# -eq 4 ]; then
		url="http://127.0.0.1:$2/api/v1/me"
		auth=(-H "Authorization: Bearer $4")
	fi
	$client_core wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_CASE}s" --latency "${auth[@]}" "$url" >"$out"
	if grep -q "Non-2xx" "$out"; then
		echo "case $1 had non-2xx answers:" >&2
		cat "$out" >&2
		exit 1
	fi
}

exports="on sampled"
port_of() { case $1 in off) echo $OFF_PORT ;; on) echo $ON_PORT ;; sampled) echo $SAMPLED_PORT ;; esac; }
for round in $(seq 1 "$ROUNDS"); do
	for export in off $exports; do
		port=$(port_of $export)
		run "health-$export" "$port" "$round"
		run "cached-$export" "$port" "$round" "$(token_for "$port")"
	done
done

rps_of() { awk '/Requests\/sec/ {print $2}' "$work/$1.$2.txt"; }
to_us() { awk '{v = $1; if (v ~ /us$/) print v + 0; else if (v ~ /ms$/) print v * 1000; else if (v ~ /s$/) print v * 1000000}'; }
echo
echo "Tracing, one worker pinned, $CONNECTIONS connections, $ROUNDS rounds:"
echo
echo "| case | req/s (median) | share of export off | rounds | server time a request's spans cost | p50 | p99 |"
echo "|---|---|---|---|---|---|---|"
for path in health cached; do
	for export in off $exports; do
		case=$path-$export
		shares=$(for round in $(seq 1 "$ROUNDS"); do
			awk -v e="$(rps_of "$case" "$round")" -v o="$(rps_of "$path-off" "$round")" 'BEGIN {print 100 * e / o}'
		done)
		costs=$(for round in $(seq 1 "$ROUNDS"); do
			awk -v e="$(rps_of "$case" "$round")" -v o="$(rps_of "$path-off" "$round")" 'BEGIN {print 1e6 / e - 1e6 / o}'
		done)
		printf '| %s | %.0f | %s | %s | %s | %.0f µs | %.0f µs |\n' "$case" \
			"$(cat "$work/$case".*.txt | awk '/Requests\/sec/ {print $2}' | median)" \
			"$(echo "$shares" | median | awk '{printf "%.1f %%", $1}')" \
			"$(echo "$shares" | sort -g | awk 'NR == 1 {l = $1} {h = $1} END {printf "%.1f–%.1f %%", l, h}')" \
			"$(echo "$costs" | median | awk '{printf "%.2f µs", $1}')" \
			"$(cat "$work/$case".*.txt | awk '$1 == "50%" {print $2}' | to_us | median)" \
			"$(cat "$work/$case".*.txt | awk '$1 == "99%" {print $2}' | to_us | median)"
	done
done
echo
for export in $exports; do
	echo "spans dropped by the server exporting ($export):" \
		"$(curl -sf "http://127.0.0.1:$(port_of $export)/metrics" | grep '^trace_spans_dropped_total' | tr '\n' ' ')"
done
echo "peak RSS: off $(awk '/VmHWM/ {print $2, $3}' "/proc/${pids[1]}/status"), on $(awk '/VmHWM/ {print $2, $3}' "/proc/${pids[2]}/status"), sampled $(awk '/VmHWM/ {print $2, $3}' "/proc/${pids[3]}/status")"
