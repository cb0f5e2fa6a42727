#!/usr/bin/env bash
# Credential-endpoint benchmark (issue 4), in one run on this machine:
#   1. the agent's credentials URI (GET, 64 keep-alive connections), its resident memory sampled;
#   2. a bare HTTP server (hyper, `keyless-loadgen --target serve`) returning the same bytes;
#   3. deploy-to-Running for a one-instance service, 10 times (median).
# Needs the compat venv (.venv, created by ./scripts/test).
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${CONNS:-64}
SECS=${SECS:-8}
cargo build --release -q -p keyless -p keyless-loadgen
BIN=target/release
DATA=$(mktemp -d)
"$BIN/keyless" up --data-dir "$DATA" --port 0 >"$DATA/up.log" 2>&1 &
KPID=$!
trap 'kill $KPID 2>/dev/null || true; [ -n "${SPID:-}" ] && kill $SPID 2>/dev/null || true; sleep 1; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do [ -f "$DATA/endpoints.env" ] && break; sleep 0.1; done

info=$(.venv/bin/python bench/eas_deploy.py "$DATA" uri)
uri=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["uri"])' "$info")
hostport=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p.netloc)' "$uri")
path=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p.path)' "$uri")
curl -s "$uri" > "$DATA/body.json"
APID=$(pgrep -f "keyless agent .*--listen $hostport" | head -1)

# Sample the agent's RSS while it is under load.
( peak=0; for _ in $(seq $((SECS * 10 + 20))); do
    r=$(awk '/VmRSS/ {print $2}' /proc/$APID/status 2>/dev/null || echo 0); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.1
  done; echo "$peak" > "$DATA/agent_rss_kib" ) &
SAMPLER=$!
agent=$("$BIN/keyless-loadgen" --target get-url --url "$hostport" --path "$path" --connections "$CONNS" --seconds "$SECS")
echo "$agent"
wait $SAMPLER
"$BIN/keyless-loadgen" --target serve --url 127.0.0.1:0 --body-file "$DATA/body.json" > "$DATA/serve.addr" &
SPID=$!
for _ in $(seq 50); do [ -s "$DATA/serve.addr" ] && break; sleep 0.1; done
bare=$("$BIN/keyless-loadgen" --target get-url --url "$(cat "$DATA/serve.addr")" --path / --connections "$CONNS" --seconds "$SECS")
echo "$bare"
deploy=$(.venv/bin/python bench/eas_deploy.py "$DATA" deploy 10)
echo "$deploy"
python3 - "$agent" "$bare" "$(cat "$DATA/agent_rss_kib")" "$deploy" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"agent_rps": a["throughput_rps"], "agent_p99_ms": a["latency_ms"]["p99"],
                  "bare_rps": b["throughput_rps"], "bare_p99_ms": b["latency_ms"]["p99"],
                  "agent_vs_bare": round(a["throughput_rps"] / b["throughput_rps"], 3),
                  "agent_peak_rss_mib": round(int(sys.argv[3]) / 1024, 2),
                  "deploy_to_running_median_s": json.loads(sys.argv[4])["median_s"]}))
PY
