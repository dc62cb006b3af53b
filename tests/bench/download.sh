#!/usr/bin/env bash
# download vs curl and aria2c, side by side in one run, on loopback nginx (BENCH.md):
#   1. unthrottled: a SIZE_MB file (default 1024) — curl -o, aria2c -x4, migrate with its
#      SHA-256 computed on the fly (connections 1 and 4), and curl + sha256 afterwards;
#   2. each connection capped by nginx `limit_rate 4m`: a CAPPED_MB file (default 64) —
#      curl, aria2c -x8 -s8 -k1M, migrate with 8 connections.
# Needs nginx, curl, aria2, hyperfine, jq, openssl. Usage:
#   tests/bench/download.sh [MIGRATE_BINARY]      (RUNS, SIZE_MB, CAPPED_MB, KEEP=1)
set -euo pipefail
MIGRATE=$(realpath "${1:-build-bench/migrate}")
RUNS=${RUNS:-5}
SIZE_MB=${SIZE_MB:-1024}
CAPPED_MB=${CAPPED_MB:-64}
PORT=${PORT:-18590}
source "$(dirname "$0")/nginx_lib.sh"
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/migrate-bench-download.XXXXXX")
chmod 755 "$WORK"  # nginx workers run as nobody
cd "$WORK"
mkdir -p www/capped logs tmp out
cleanup() { [ -f nginx.pid ] && kill "$(cat nginx.pid)" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
head -c $((SIZE_MB << 20)) /dev/urandom > www/big.bin
head -c $((CAPPED_MB << 20)) /dev/urandom > www/capped/capped.bin
bench_nginx_start "$WORK" "$PORT" "location /capped/ { limit_rate 4m; }"
sleep 0.3
BIG_SHA=$(openssl dgst -sha256 -r www/big.bin | cut -c1-64)
URL=http://127.0.0.1:$PORT
runbook() {  # runbook NAME URL CONNECTIONS [SHA256] [MIN_SEGMENT]
  cat > "$1.yaml" <<YAML
version: 1
name: bench-download
phases:
  - id: fetch
    steps:
      - id: get
        kind: download
        with: { url: "$2", to: out, connections: $3, max_connections: $3, ${4:+sha256: "$4", }${5:+min_segment: $5, } }
YAML
}
runbook m1 "$URL/big.bin" 1 "$BIG_SHA"
runbook m4 "$URL/big.bin" 4 "$BIG_SHA"
runbook mcap "$URL/capped/capped.bin" 8 "" "1MiB"
clean='rm -rf out j.jsonl j.jsonl.logs big.bin capped.bin; mkdir -p out'
echo "== unthrottled, ${SIZE_MB} MiB, $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
[ -n "${CAPPED_ONLY:-}" ] || hyperfine --warmup 1 --runs "$RUNS" --prepare "$clean" --export-json unthrottled.json \
  -n "curl -o" "curl -fso out/big.bin $URL/big.bin" \
  -n "curl -o, then sha256 (openssl)" "curl -fso out/big.bin $URL/big.bin && openssl dgst -sha256 out/big.bin" \
  -n "aria2c -x4 -s4" "aria2c -q -x4 -s4 -k1M --file-allocation=none -d out -o big.bin $URL/big.bin" \
  -n "migrate download, 1 connection, sha256 on" "$MIGRATE run m1.yaml --journal j.jsonl --rehearsal --yes" \
  -n "migrate download, 4 connections, sha256 on" "$MIGRATE run m4.yaml --journal j.jsonl --rehearsal --yes"
echo "== each connection capped at 4 MiB/s, ${CAPPED_MB} MiB"
hyperfine --runs "$(( RUNS < 3 ? RUNS : 3 ))" --prepare "$clean" --export-json capped.json \
  -n "curl -o" "curl -fso out/capped.bin $URL/capped/capped.bin" \
  -n "aria2c -x8 -s8 -k1M" "aria2c -q -x8 -s8 -k1M --file-allocation=none -d out -o capped.bin $URL/capped/capped.bin" \
  -n "migrate download, 8 connections" "$MIGRATE run mcap.yaml --journal j.jsonl --rehearsal --yes"
for f in $([ -n "${CAPPED_ONLY:-}" ] && echo capped || echo unthrottled capped); do
  echo "== $f: median seconds"
  jq -r '.results[] | "\(.median | . * 1000 | round / 1000)\t\(.command)"' $f.json
done
