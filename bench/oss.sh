#!/usr/bin/env bash
# OSS benchmark (issue 5), in one run on this machine:
#   1. authenticated GETs of 4 KiB objects (V1 signatures with STS credentials of a role with
#      AliyunOSSReadOnlyAccess), 64 keep-alive connections, against keyless;
#   2. nginx (Debian's nginx-light) serving the same files without authentication, same load;
#   3. a 64 MiB PUT to keyless vs `dd` writing 64 MiB to the same disk with fsync;
#   4. keyless's resident memory sampled during a 1 GiB streaming PUT.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${CONNS:-64}
SECS=${SECS:-8}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || { echo "nginx not found: apt-get install nginx-light" >&2; exit 1; }
cargo build --release -q -p keyless -p keyless-loadgen
BIN=target/release
DATA=$(mktemp -d -p "$PWD" .bench-oss.XXXX)
"$BIN/keyless" up --data-dir "$DATA/k" --port 0 >"$DATA/up.log" 2>&1 &
KPID=$!
trap 'kill $KPID 2>/dev/null || true; [ -f "$DATA/nginx.pid" ] && kill "$(cat "$DATA/nginx.pid")" 2>/dev/null || true; sleep 1; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do [ -f "$DATA/k/endpoints.env" ] && break; sleep 0.1; done
source "$DATA/k/endpoints.env"

# Objects: uploaded through keyless (and mirrored to disk for nginx) by the load generator.
mkdir -p "$DATA/www"
keyless_get=$("$BIN/keyless-loadgen" --target oss-get --env "$DATA/k/endpoints.env" --objects 100 --size 4096 \
  --body-file "$DATA/www" --connections "$CONNS" --seconds "$SECS")
echo "$keyless_get"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$DATA/nginx.conf" <<NGX
user root;
worker_processes 2;
pid $DATA/nginx.pid;
error_log $DATA/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$PORT; root $DATA/www; }
}
NGX
"$NGINX" -c "$DATA/nginx.conf"
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
nginx_get=$("$BIN/keyless-loadgen" --target plain-get --url "127.0.0.1:$PORT" --path "/$KEYLESS_OSS_BUCKET" \
  --objects 100 --connections "$CONNS" --seconds "$SECS")
echo "$nginx_get"

# 64 MiB: keyless PUT vs the disk with fsync (same filesystem as the data dir).
put=$("$BIN/keyless-loadgen" --target oss-put --env "$DATA/k/endpoints.env" --size $((64 << 20)))
echo "$put"
t0=$(date +%s.%N); dd if=/dev/zero of="$DATA/dd.bin" bs=1M count=64 conv=fsync 2>/dev/null; t1=$(date +%s.%N)
disk=$(python3 -c "print(round($t1 - $t0, 4))")
# The ETag (MD5) every simple PUT must compute, alone, over the same 64 MiB: the bound of a PUT here.
t0=$(date +%s.%N); md5sum "$DATA/dd.bin" >/dev/null; t1=$(date +%s.%N)
md5s=$(python3 -c "print(round($t1 - $t0, 4))")
echo "{\"target\":\"md5sum-64MiB\",\"seconds\":$md5s}"
echo "{\"target\":\"dd-64MiB-fsync\",\"seconds\":$disk}"

# 1 GiB streaming PUT: keyless's RSS sampled every 100 ms.
( peak=0; base=$(awk '/VmRSS/ {print $2}' /proc/$KPID/status); for _ in $(seq 600); do
    r=$(awk '/VmRSS/ {print $2}' /proc/$KPID/status 2>/dev/null || echo 0); [ "$r" -gt "$peak" ] && peak=$r
    [ -f "$DATA/put1g.done" ] && break; sleep 0.1
  done; echo "$base $peak" > "$DATA/rss" ) &
SAMPLER=$!
big=$("$BIN/keyless-loadgen" --target oss-put --env "$DATA/k/endpoints.env" --size $((1 << 30)))
touch "$DATA/put1g.done"; wait $SAMPLER
echo "$big"
python3 - "$keyless_get" "$nginx_get" "$put" "$disk" "$(cat "$DATA/rss")" "$big" "$md5s" <<'PY'
import json, sys
k, n, p = (json.loads(x) for x in sys.argv[1:4])
disk_s = float(sys.argv[4]); base, peak = (int(x) for x in sys.argv[5].split())
big = json.loads(sys.argv[6]); md5_mibs = 64 / float(sys.argv[7])
disk_mibs = 64 / disk_s
print(json.dumps({
  "keyless_get_rps": k["throughput_rps"], "keyless_get_p99_ms": k["latency_ms"]["p99"],
  "nginx_get_rps": n["throughput_rps"], "keyless_vs_nginx": round(k["throughput_rps"] / n["throughput_rps"], 3),
  "put_64mib_mib_s": p["mib_per_s"], "disk_64mib_mib_s": round(disk_mibs, 1),
  "put_vs_disk": round(p["mib_per_s"] / disk_mibs, 3),
  "md5_64mib_mib_s": round(md5_mibs, 1), "put_vs_md5": round(p["mib_per_s"] / md5_mibs, 3),
  "put_1gib_mib_s": big["mib_per_s"], "rss_before_mib": round(base / 1024, 1), "rss_peak_during_1gib_mib": round(peak / 1024, 1),
}))
PY
