#!/usr/bin/env bash
# Whole-system AssumeRole benchmark (issue 3). In one run, on this machine:
#   1. keyless STS answering a trivial route (GET /health) — the same server doing no work;
#   2. keyless STS answering V3-signed AssumeRole from 64 RAM users (64 keep-alive connections);
#   3. moto's server (PyPI moto[server]) answering AWS STS AssumeRole, the same load shape.
# Prints one JSON line per run and the ratios. Figures go to docs/benchmarks.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${CONNS:-64}
SECS=${SECS:-10}

cargo build --release -q -p keyless -p keyless-loadgen
BIN=target/release
DATA=$(mktemp -d)
"$BIN/keyless" up --data-dir "$DATA" --port 0 >/dev/null 2>&1 &
KPID=$!
trap 'kill $KPID 2>/dev/null || true; [ -n "${MPID:-}" ] && kill $MPID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do [ -f "$DATA/endpoints.env" ] && break; sleep 0.1; done

trivial=$("$BIN/keyless-loadgen" --env "$DATA/endpoints.env" --target trivial --connections "$CONNS" --seconds "$SECS")
echo "$trivial"
assume=$("$BIN/keyless-loadgen" --env "$DATA/endpoints.env" --target assume-role --connections "$CONNS" --seconds "$SECS" --users 64)
echo "$assume"

moto=""
if [ ! -x .venv-bench/bin/moto_server ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q 'moto[server]==5.0.28'
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv-bench/bin/moto_server -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MPID=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
moto=$("$BIN/keyless-loadgen" --target moto --url "127.0.0.1:$PORT" --connections "$CONNS" --seconds "$SECS")
echo "$moto"

python3 - "$trivial" "$assume" "$moto" <<'PY'
import json, sys
t, a, m = (json.loads(x) for x in sys.argv[1:4])
print(json.dumps({
  "assume_role_rps": a["throughput_rps"], "assume_role_p99_ms": a["latency_ms"]["p99"],
  "trivial_rps": t["throughput_rps"], "moto_assume_role_rps": m["throughput_rps"],
  "assume_role_vs_trivial": round(a["throughput_rps"] / t["throughput_rps"], 3),
  "keyless_vs_moto": round(a["throughput_rps"] / max(m["throughput_rps"], 1), 1),
}))
PY
