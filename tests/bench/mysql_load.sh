#!/usr/bin/env bash
# mysql.load against its peers on the benchmark database (mariadb_bench.sh: 2 tables,
# 1.5 M rows, text and blobs), each loading into an empty database on the same server, in
# rounds that take the commands in turn (interleave.sh). BENCH.md's goal: load <= 0.8 x
# `mysql < dump.sql`.
#
#   mysql < dump.sql               the mariadb client, one mariadb-dump --hex-blob file
#   myloader -t 2                  mydumper -t 2's directory
#   migrate, dump directory        mysql.load of a dump directory (zstd; threads: 2)
#   migrate, defer_keys: false     the same, secondary keys made with the tables (as before)
#   migrate, load_data: false      the same, the INSERTs run as they are (as before)
#   migrate, plain dump.sql        mysql.load of the same file the mariadb client reads
#   migrate, plain, defer_keys: false   the same, secondary keys made with the tables (as before)
#
# migrate also hashes every file, checks the dump first, and journals a checkpoint per table.
# The dump directory is written per docs/dump-format.md by tests/e2e/make_dump_dir.sh.
#
# Run by hand, not by CI. See tests/bench/README.md. Environment knobs:
#   MIGRATE=path   the binary (default: build-bench/migrate in the source tree)
#   ROWS=1500000   rows of the generated database
#   ROUNDS=3       rounds of all commands in turn, after one warm-up round
#   PORT=19495     the benchmark server's port (loopback)
#   QUIET=1        start each round only when nothing else runs (see interleave.sh)
#   BENCH_DIR=dir  where the data goes (default: a new dir under /var/tmp); KEEP=1 keeps it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MIGRATE=${MIGRATE:-$root/build-bench/migrate}
ROWS=${ROWS:-1500000}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-19495}
export MIGRATE_TEST_DB_PW=migrate-test-pw

source "$here/interleave.sh"
bench_setup mysql_load.sh hyperfine jq zstd mariadb mariadb-dump mydumper myloader
trap 'bash "$here/mariadb_bench.sh" stop "$work/server" "$PORT" > /dev/null 2>&1 || true; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT
echo "tools:   $(mariadb --version), $(mydumper --version)"

bash "$here/mariadb_bench.sh" start "$work/server" "$PORT"
bash "$here/mariadb_bench.sh" generate "$work/server" bench_src "$ROWS"
echo "server:  $(bash "$here/mariadb_bench.sh" client "$work/server" -N -e 'SELECT VERSION()')"
auth=(-h127.0.0.1 -P"$PORT" -umigrate -p"$MIGRATE_TEST_DB_PW")
# mydumper and myloader parse options with glib: a value is its own argument.
my_auth=(-h 127.0.0.1 -P "$PORT" -u migrate -p "$MIGRATE_TEST_DB_PW")

echo "== the dumps"
mariadb-dump --no-defaults "${auth[@]}" --single-transaction --hex-blob bench_src > dump.sql
rm -rf mydumper && mydumper "${my_auth[@]}" -B bench_src -t 2 --trx-consistency-only -o mydumper
bash "$root/tests/e2e/make_dump_dir.sh" "$PORT" bench_src dumpdir zstd
sql_bytes=$(stat -c %s dump.sql)
echo "dump.sql: $sql_bytes bytes; mydumper: $(du -sb mydumper | cut -f1) bytes; dump dir (zstd): $(du -sb dumpdir | cut -f1) bytes"
cat dump.sql mydumper/* dumpdir/* > /dev/null

runbook() {  # FILE FROM [MORE-WITH, e.g. ", defer_keys: false"]
    cat > "$1" <<YAML
version: 1
name: bench-load
connections:
  target: { type: mysql, host: 127.0.0.1, port: $PORT, user: migrate, password: "\${secret:MIGRATE_TEST_DB_PW}" }
phases:
  - id: p
    steps:
      - { id: load, kind: mysql.load, with: { connection: target, from: "$2", database: bench_dst, threads: 2${3:-} } }
YAML
}
runbook dir.yaml "$work/dumpdir"
runbook plain.yaml "$work/dump.sql"
runbook dir-keys.yaml "$work/dumpdir" ", defer_keys: false"
runbook dir-inserts.yaml "$work/dumpdir" ", load_data: false"
runbook plain-keys.yaml "$work/dump.sql" ", defer_keys: false"

client="mariadb --no-defaults ${auth[*]}"
clean="$client -e 'DROP DATABASE IF EXISTS bench_dst' && rm -rf j.jsonl j.jsonl.logs"
interleave load "$ROUNDS" "$clean" \
    -n "mysql < dump.sql" "$client -e 'CREATE DATABASE bench_dst' && $client bench_dst < dump.sql" \
    -n "myloader -t 2" "myloader ${my_auth[*]} -d mydumper -B bench_dst -t 2 -o" \
    -n "migrate mysql.load, dump directory (zstd, threads 2)" "$MIGRATE run dir.yaml --rehearsal --yes --journal j.jsonl" \
    -n "migrate mysql.load, dump directory, defer_keys: false" "$MIGRATE run dir-keys.yaml --rehearsal --yes --journal j.jsonl" \
    -n "migrate mysql.load, dump directory, load_data: false" "$MIGRATE run dir-inserts.yaml --rehearsal --yes --journal j.jsonl" \
    -n "migrate mysql.load, plain dump.sql" "$MIGRATE run plain.yaml --rehearsal --yes --journal j.jsonl" \
    -n "migrate mysql.load, plain dump.sql, defer_keys: false" "$MIGRATE run plain-keys.yaml --rehearsal --yes --journal j.jsonl"

# Both of migrate's loads, checked: the same rows as the source.
for book in dir.yaml plain.yaml; do
    eval "$clean"
    "$MIGRATE" run $book --rehearsal --yes --journal j.jsonl > /dev/null
    for table in tickets attachments; do
        src=$($client -N -e "CHECKSUM TABLE bench_src.$table" | cut -f2)
        dst=$($client -N -e "CHECKSUM TABLE bench_dst.$table" | cut -f2)
        [ "$src" = "$dst" ] || { echo "$book: bench_dst.$table differs from the source ($dst vs $src)" >&2; exit 1; }
    done
    echo "checked: $book loads bench_dst equal to bench_src (CHECKSUM TABLE)"
done

echo
interleave_header "SQL MB/s" mysql
interleave_table load "$sql_bytes"
