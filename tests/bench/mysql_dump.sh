#!/usr/bin/env bash
# mysql.dump against its peers on the same generated database (mariadb_bench.sh: 2 tables,
# ROWS rows, text and blobs), in rounds that take the commands in turn (interleave.sh), so a
# change in the machine's load hits every command alike. BENCH.md's goals: dump + compress +
# hash <= 1.2 x `mydumper -t 2` uncompressed, and >= 4 x faster than `mysqldump | gzip -9`.
#
#   mydumper -t 2 (uncompressed)   the base of the ratios (--trx-consistency-only)
#   migrate mysql.dump             zstd 1 and zstd 3, 2 connections; migrate also hashes
#                                  (SHA-256), tests the stream in line, fsyncs and journals
#   mydumper -t 2 -c               its own gzip compression
#   mysqldump | zstd, | gzip -9    --single-transaction --hex-blob, one stream
#
# --prepare removes every output and runs `sync` before each command. After the rounds,
# one more run of migrate and of `mysqldump | zstd` gives the output sizes, and the size of
# mysqldump's SQL text (the table's throughput is those bytes / median).
#
#   tests/bench/mysql_dump.sh [ROWS=1500000] [ROUNDS=3]
#
# Run by hand, not by CI. See tests/bench/README.md. Needs the built binary (MIGRATE,
# default build/migrate in the source tree), mariadb-server, mydumper, mysqldump, hyperfine,
# jq, zstd. Starts its own server (tests/bench/mariadb_bench.sh, binary log on) on
# 127.0.0.1:$((MIGRATE_TEST_PORT_BASE + 22)) (MIGRATE_TEST_PORT_BASE defaults to 20480)
# and stops it. Environment knobs besides the arguments (ROWS and ROUNDS may also be set
# there):
#   QUIET=1        start each round only when nothing else runs (see interleave.sh)
#   BENCH_DIR=dir  where the data goes (default: a new dir under /var/tmp); KEEP=1 keeps it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
rows=${1:-${ROWS:-1500000}}
rounds=${2:-${ROUNDS:-3}}
MIGRATE=$(realpath -m "${MIGRATE:-$root/build/migrate}")
port=$((${MIGRATE_TEST_PORT_BASE:-20480} + 22))

source "$here/interleave.sh"
bench_setup mysql_dump.sh hyperfine jq zstd gzip mariadb mysqldump mydumper
server=$work/server
trap 'bash "$here/mariadb_bench.sh" stop "$server" "$port" > /dev/null 2>&1 || true; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT
echo "tools:   $(mysqldump --version 2>/dev/null), $(mydumper --version), $(zstd --version | grep -o 'v[0-9.]*')"

bash "$here/mariadb_bench.sh" start "$server" "$port" source > "$work/server.log" 2>&1 || { cat "$work/server.log"; exit 1; }
bash "$here/mariadb_bench.sh" generate "$server" bench "$rows"
echo "server:  $(bash "$here/mariadb_bench.sh" client "$server" -N -e 'SELECT VERSION()')"

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

# The labels are Markdown table cells: a pipe in them is written \|.
clean="rm -rf $work/migrate $work/mydumper $work/journal.jsonl* $work/dump.sql.*; sync"
interleave dump "$rounds" "$clean" \
  -n "mydumper -t 2 (uncompressed)" "mydumper $conn -B bench -t 2 --trx-consistency-only -o $work/mydumper" \
  -n "migrate mysql.dump (zstd 1, 2 connections)" "$MIGRATE run $work/dump.yaml --rehearsal --yes --journal $work/journal.jsonl" \
  -n "migrate mysql.dump (zstd 3, 2 connections)" "$MIGRATE run $work/dump.yaml --rehearsal --yes --journal $work/journal.jsonl --set level=3" \
  -n "mydumper -t 2 -c (gzip)" "mydumper $conn -B bench -t 2 --trx-consistency-only -c -o $work/mydumper" \
  -n "mysqldump \\| zstd" "$mysqldump_cmd | zstd -q > $work/dump.sql.zst" \
  -n "mysqldump \\| gzip -9" "$mysqldump_cmd | gzip -9 > $work/dump.sql.gz"

# The sizes of one more run of each compressed output (--prepare removed them).
eval "$clean"
"$MIGRATE" run "$work/dump.yaml" --rehearsal --yes --journal "$work/sizes.jsonl" > /dev/null
eval "$mysqldump_cmd" | zstd -q > "$work/dump.sql.zst"
sql_bytes=$(zstd -dc "$work/dump.sql.zst" | wc -c)
echo
echo "sizes: migrate (zstd 1) $(du -sb "$work/migrate" | cut -f1) bytes; mysqldump | zstd $(stat -c %s "$work/dump.sql.zst") bytes; mysqldump's SQL $sql_bytes bytes"
echo
interleave_header "SQL MB/s" "mydumper -t 2"
interleave_table dump "$sql_bytes"
