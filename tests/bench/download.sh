#!/usr/bin/env bash
# download vs curl and aria2c on loopback nginx (BENCH.md), in rounds that take the commands
# in turn (interleave.sh), so a change in the machine's load hits every command alike:
#   1. unthrottled: a SIZE_MB file (default 1024) — curl -o (the base of the ratios; goal:
#      migrate with hashing >= 0.9 x curl's speed), curl -o then sha256 (openssl), aria2c -x4,
#      migrate with its SHA-256 computed on the fly (connections 1 and 4);
#   2. each connection capped by nginx `limit_rate 4m`: a CAPPED_MB file (default 64) —
#      aria2c -x8 -s8 -k1M (the base; goal: migrate >= aria2c), aria2c -x16 (its most),
#      curl, migrate with 8 connections and with `connections: auto` (4, doubled to 16
#      when that doubles the rate); afterwards migrate's files are compared with the
#      served one (cmp), as these runbooks have no sha256 to check them.
# --prepare deletes the output, the journal and its logs before every command, so each one
# fetches everything. migrate also journals (fsynced) and fsyncs the file; the peers do not.
#
# Run by hand, not by CI. See tests/bench/README.md. Needs nginx, curl, aria2c, hyperfine,
# jq, openssl. Usage:
#   tests/bench/download.sh [MIGRATE_BINARY]   (default: $MIGRATE, else build-bench/migrate
#                                               in the source tree)
# Environment knobs:
#   RUNS=5         rounds of all commands in turn, after one warm-up round; the capped group
#                  runs at most 3 (curl alone takes CAPPED_MB / 4 s per run)
#   SIZE_MB=1024   the unthrottled file
#   CAPPED_MB=64   the capped file
#   PORT=18590     nginx's port (loopback)
#   CAPPED_ONLY=1  only the capped group
#   QUIET=1        start each round only when nothing else runs (see interleave.sh)
#   BENCH_DIR=dir  where the data goes (default: a new dir under /var/tmp); KEEP=1 keeps it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MIGRATE=$(realpath -m "${1:-${MIGRATE:-$root/build-bench/migrate}}")
RUNS=${RUNS:-5}
SIZE_MB=${SIZE_MB:-1024}
CAPPED_MB=${CAPPED_MB:-64}
PORT=${PORT:-18590}
CAPPED_ROUNDS=$(( RUNS < 3 ? RUNS : 3 ))

source "$here/interleave.sh"
source "$here/nginx_lib.sh"
bench_setup download.sh hyperfine jq nginx curl aria2c openssl
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT
chmod 755 "$work"  # nginx workers run as nobody
echo "tools:   $(curl --version | head -1 | cut -d' ' -f1-2), $(aria2c --version | head -1), $(nginx -v 2>&1 | cut -d' ' -f3)"

mkdir -p www/capped out
[ -n "${CAPPED_ONLY:-}" ] || head -c $((SIZE_MB << 20)) /dev/urandom > www/big.bin
head -c $((CAPPED_MB << 20)) /dev/urandom > www/capped/capped.bin
bench_nginx_start "$work" "$PORT" "location /capped/ { limit_rate 4m; }"
sleep 0.3
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
        with: { url: "$2", to: out, connections: $3, max_connections: ${6:-$3}, ${4:+sha256: "$4", }${5:+min_segment: $5, } }
YAML
}
if [ -z "${CAPPED_ONLY:-}" ]; then
  BIG_SHA=$(openssl dgst -sha256 -r www/big.bin | cut -c1-64)
  runbook m1 "$URL/big.bin" 1 "$BIG_SHA"
  runbook m4 "$URL/big.bin" 4 "$BIG_SHA"
fi
runbook mcap "$URL/capped/capped.bin" 8 "" "1MiB"
runbook mauto "$URL/capped/capped.bin" auto "" "1MiB" 16
runbook m16 "$URL/capped/capped.bin" 16 "" "1MiB"
clean='rm -rf out j.jsonl j.jsonl.logs big.bin capped.bin; mkdir -p out'

if [ -z "${CAPPED_ONLY:-}" ]; then
  echo "== unthrottled, ${SIZE_MB} MiB, $RUNS rounds"
  interleave unthrottled "$RUNS" "$clean" \
    -n "curl -o" "curl -fso out/big.bin $URL/big.bin" \
    -n "curl -o, then fsync (sync FILE: durable, as migrate)" "curl -fso out/big.bin $URL/big.bin && sync out/big.bin" \
    -n "curl -o, then sha256 (openssl)" "curl -fso out/big.bin $URL/big.bin && openssl dgst -sha256 out/big.bin" \
    -n "aria2c -x4 -s4" "aria2c -q -x4 -s4 -k1M --file-allocation=none -d out -o big.bin $URL/big.bin" \
    -n "migrate download, 1 connection, sha256 on" "$MIGRATE run m1.yaml --journal j.jsonl --rehearsal --yes" \
    -n "migrate download, 4 connections, sha256 on" "$MIGRATE run m4.yaml --journal j.jsonl --rehearsal --yes"
fi
echo "== each connection capped at 4 MiB/s, ${CAPPED_MB} MiB, $CAPPED_ROUNDS rounds"
interleave capped "$CAPPED_ROUNDS" "$clean" \
  -n "aria2c -x8 -s8 -k1M" "aria2c -q -x8 -s8 -k1M --file-allocation=none -d out -o capped.bin $URL/capped/capped.bin" \
  -n "aria2c -x16 -s16 -k1M (aria2's most)" "aria2c -q -x16 -s16 -k1M --file-allocation=none -d out -o capped.bin $URL/capped/capped.bin" \
  -n "curl -o" "curl -fso out/capped.bin $URL/capped/capped.bin" \
  -n "migrate download, 8 connections" "$MIGRATE run mcap.yaml --journal j.jsonl --rehearsal --yes" \
  -n "migrate download, 16 connections" "$MIGRATE run m16.yaml --journal j.jsonl --rehearsal --yes" \
  -n "migrate download, connections: auto (4, doubled up to 16)" "$MIGRATE run mauto.yaml --journal j.jsonl --rehearsal --yes"

# The capped runbook has no sha256: check migrate's file against the served one.
eval "$clean"
"$MIGRATE" run mcap.yaml --journal j.jsonl --rehearsal --yes > /dev/null
cmp out/capped.bin www/capped/capped.bin
eval "$clean"
"$MIGRATE" run mauto.yaml --journal j.jsonl --rehearsal --yes > /dev/null
cmp out/capped.bin www/capped/capped.bin
echo "checked: migrate's capped downloads (8 and auto) equal the served file (cmp)"

if [ -z "${CAPPED_ONLY:-}" ]; then
  echo
  interleave_header throughput "curl -o"
  interleave_table unthrottled $((SIZE_MB << 20))
fi
echo
interleave_header throughput "aria2c -x8"
interleave_table capped $((CAPPED_MB << 20))
