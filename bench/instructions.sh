#!/usr/bin/env bash
# Instructions per request of the server, for comparing two builds (issue 10's "no benchmark more
# than 5% worse"). Throughput on this 2-core machine moves ±15 % between runs; callgrind's
# instruction count does not depend on scheduling, so it shows a few-percent change reliably.
#
#   bench/instructions.sh NEW_BIN_DIR OLD_BIN_DIR
#
# For each build and each target in TARGETS (default `trivial assume-role oss-get`), a
# `keyless up` runs under `valgrind --tool=callgrind` twice: once serving LOW and once HIGH
# requests (per connection, CONNS connections, from NEW_BIN_DIR's `keyless-loadgen --requests`).
# Instructions per request = (Ir(HIGH) − Ir(LOW)) / (requests(HIGH) − requests(LOW)): start-up,
# set-up and shutdown cancel out. Prints one JSON line per target with both builds and the ratio.
set -euo pipefail
NEW=$1
OLD=$2
TARGETS=${TARGETS:-"trivial assume-role oss-get"}
CONNS=${CONNS:-4}
LOW=${LOW:-50}
HIGH=${HIGH:-300}
LOADGEN="$NEW/keyless-loadgen"
command -v valgrind >/dev/null || { echo "valgrind is required" >&2; exit 1; }

run() { # bindir target per_conn -> "Ir requests"
  local bin=$1 target=$2 n=$3 data pid out res extra=()
  data=$(mktemp -d)
  out="$data/callgrind.out"
  valgrind --tool=callgrind --callgrind-out-file="$out" --dump-instr=no \
    "$bin/keyless" up --data-dir "$data/k" --port 0 >/dev/null 2>"$data/vg.log" &
  pid=$!
  for _ in $(seq 600); do [ -f "$data/k/endpoints.env" ] && break; sleep 0.1; done
  [ "$target" = oss-get ] && extra=(--objects 20 --size 4096)
  res=$("$LOADGEN" --env "$data/k/endpoints.env" --target "$target" --connections "$CONNS" \
    --requests "$n" --users 4 "${extra[@]}")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$out" "$res" <<'PY'
import json, sys
ir = 0
for line in open(sys.argv[1]):
    if line.startswith("totals:") or line.startswith("summary:"):
        ir = int(line.split()[1])
r = json.loads(sys.argv[2])
print(ir, r["ok"] + r["errors"])
PY
  rm -rf "$data"
}

for t in $TARGETS; do
  line=()
  for b in "$NEW" "$OLD"; do
    read -r ir_lo n_lo < <(run "$b" "$t" "$LOW")
    read -r ir_hi n_hi < <(run "$b" "$t" "$HIGH")
    line+=("$ir_lo" "$n_lo" "$ir_hi" "$n_hi")
  done
  python3 - "$t" "${line[@]}" <<'PY'
import json, sys
t = sys.argv[1]
v = list(map(int, sys.argv[2:]))
per = lambda lo, nlo, hi, nhi: (hi - lo) / max(nhi - nlo, 1)
new, old = per(*v[0:4]), per(*v[4:8])
print(json.dumps({"target": t, "new_instructions_per_request": round(new), "old_instructions_per_request": round(old),
                  "new_over_old": round(new / old, 3), "requests": [v[1], v[3], v[5], v[7]]}))
PY
done
