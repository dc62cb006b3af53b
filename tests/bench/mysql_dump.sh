#!/usr/bin/env bash
# mysql.dump against its peers on the same generated database, side by side in one hyperfine
# run: migrate (dump + zstd + SHA-256 + in-line test) vs `mydumper -t 2` uncompressed and
# compressed, `mysqldump --single-transaction --hex-blob` piped to `gzip -9` and to `zstd`.
#
#   tests/bench/mysql_dump.sh [ROWS=1500000] [RUNS=3]
#
# Needs the built binary (MIGRATE, default build/migrate), mariadb-server, mydumper,
# mysqldump, hyperfine, zstd. Starts its own server (tests/bench/mariadb_bench.sh) on
# 127.0.0.1:$((MIGRATE_TEST_PORT_BASE + 22)) under a temporary directory, and stops it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rows=${1:-1500000}
runs=${2:-3}
MIGRATE=${MIGRATE:-$root/build/migrate}
port=$((${MIGRATE_TEST_PORT_BASE:-20480} + 22))
work=$(mktemp -d "${TMPDIR:-/tmp}/migrate-bench-dump.XXXXXX")
server=$work/server
trap 'bash "$here/mariadb_bench.sh" stop "$server" "$port" > /dev/null 2>&1 || true; rm -rf "$work"' EXIT

bash "$here/mariadb_bench.sh" start "$server" "$port" source > "$work/server.log" 2>&1 || { cat "$work/server.log"; exit 1; }
bash "$here/mariadb_bench.sh" generate "$server" bench "$rows"

export MIGRATE_BENCH_PW=migrate-test-pw
cat > "$work/dump.yaml" <<YAML
version: 1
name: bench-dump
vars: { level: "1" }
connections:
  source: { type: mysql, host: 127.0.0.1, port: $port, user: migrate, password: "\${secret:MIGRATE_BENCH_PW}", database: bench }
phases:
  - id: p
    steps:
      - { id: dump, kind: mysql.dump, with: { connection: source, to: "$work/migrate", threads: 2, level: "\${level}" } }
YAML
conn="--host=127.0.0.1 --port=$port --user=migrate --password=$MIGRATE_BENCH_PW"
mysqldump_cmd="mysqldump --no-defaults $conn --single-transaction --hex-blob bench"
cd "$work"
hyperfine --runs "$runs" --export-markdown "$work/results.md" --export-json "$work/results.json" \
  --prepare "rm -rf $work/migrate $work/mydumper $work/journal.jsonl* $work/dump.sql.*; sync" \
  -n "migrate mysql.dump (zstd 1, 2 connections)" "$MIGRATE run $work/dump.yaml --rehearsal --yes --journal $work/journal.jsonl" \
  -n "migrate mysql.dump (zstd 3, 2 connections)" "$MIGRATE run $work/dump.yaml --rehearsal --yes --journal $work/journal.jsonl --set level=3" \
  -n "mydumper -t 2 (uncompressed)" "mydumper $conn -B bench -t 2 --trx-consistency-only -o $work/mydumper" \
  -n "mydumper -t 2 -c (gzip)" "mydumper $conn -B bench -t 2 --trx-consistency-only -c -o $work/mydumper" \
  -n "mysqldump | zstd" "$mysqldump_cmd | zstd -q > $work/dump.sql.zst" \
  -n "mysqldump | gzip -9" "$mysqldump_cmd | gzip -9 > $work/dump.sql.gz"
cat "$work/results.md"
# The sizes of one more run of each compressed output (hyperfine's --prepare removed them).
"$MIGRATE" run "$work/dump.yaml" --rehearsal --yes --journal "$work/sizes.jsonl" > /dev/null
du -sb "$work/migrate" | awk '{print "migrate (zstd 1): " $1 " bytes"}'
eval "$mysqldump_cmd" | zstd -q > "$work/dump.sql.zst"
ls -l "$work"/dump.sql.zst | awk '{print "mysqldump | zstd: " $5 " bytes"}'
