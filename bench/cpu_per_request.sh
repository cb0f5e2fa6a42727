#!/usr/bin/env bash
# Server CPU time per request, for comparing two builds of keyless in one run (issue 10's "no
# benchmark more than 5% worse"). Throughput on a 2-core machine shared with the load generator
# moves ±15 % between runs; the server's own CPU time (utime + stime from /proc/<pid>/stat) per
# request answered is far steadier, because it does not depend on who got the cores.
#
#   bench/cpu_per_request.sh NEW_BIN_DIR OLD_BIN_DIR [ROUNDS]
#
# Each round runs, for each build in alternation (NEW, OLD): a fresh `keyless up` on its own data
# dir, then `keyless-loadgen` (from NEW_BIN_DIR, the same client for both) for SECS seconds of
# each target in TARGETS (default: trivial assume-role). Prints one JSON line per measurement and
# a summary of medians and NEW/OLD ratios.
set -euo pipefail
NEW=$1
OLD=$2
ROUNDS=${3:-3}
SECS=${SECS:-5}
CONNS=${CONNS:-64}
TARGETS=${TARGETS:-"trivial assume-role"}
LOADGEN="$NEW/keyless-loadgen"
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() { # label bindir target
  local label=$1 bin=$2 target=$3 data pid before after res
  data=$(mktemp -d)
  "$bin/keyless" up --data-dir "$data" --port 0 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -f "$data/endpoints.env" ] && break; sleep 0.1; done
  before=$(cpu_ticks "$pid")
  res=$("$LOADGEN" --env "$data/endpoints.env" --target "$target" --connections "$CONNS" \
    --seconds "$SECS" --users 64)
  after=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$data"
  python3 - "$label" "$target" "$res" "$before" "$after" "$(getconf CLK_TCK)" <<'PY' | tee -a "$OUT"
import json, sys
label, target, res, b, a, hz = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
# The load generator counts requests after a 1 s warm-up; the server's CPU covers both, so the
# warm-up's requests are estimated at the measured rate (the same correction for both builds).
secs = res["seconds"]
n = (res["ok"] + res["errors"]) * (secs + 1.0) / secs
cpu_s = (a - b) / hz
print(json.dumps({"build": label, "target": target, "rps": res["throughput_rps"],
                  "server_cpu_s": round(cpu_s, 2), "requests": int(n),
                  "server_us_per_request": round(cpu_s * 1e6 / max(n, 1), 2)}))
PY
}

for r in $(seq "$ROUNDS"); do
  for t in $TARGETS; do
    measure new "$NEW" "$t"
    measure old "$OLD" "$t"
  done
done

python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for t in sorted({r["target"] for r in rows}):
    med = {b: statistics.median(r["server_us_per_request"] for r in rows if r["target"] == t and r["build"] == b) for b in ("new", "old")}
    rps = {b: statistics.median(r["rps"] for r in rows if r["target"] == t and r["build"] == b) for b in ("new", "old")}
    print(json.dumps({"target": t, "new_us_per_request": med["new"], "old_us_per_request": med["old"],
                      "cpu_new_over_old": round(med["new"] / med["old"], 3),
                      "rps_new": rps["new"], "rps_old": rps["old"], "rps_new_over_old": round(rps["new"] / rps["old"], 3)}))
PY
