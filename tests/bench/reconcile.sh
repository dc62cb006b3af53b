#!/usr/bin/env bash
# reconcile against its peers on the benchmark database (mariadb_bench.sh: tickets and
# attachments, 1.5 M rows with text and blobs), generated alike on two servers of its own:
#   migrate reconcile, checksum of both tables (chunks of 10000, MD5 per row, the key range
#     of any difference named)    vs
#   CHECKSUM TABLE tickets, attachments on both servers at once (a whole-table CRC: says
#     whether a table differs, not where)
#   mariadb-dump --single-transaction --hex-blob | sha256sum on both servers at once
#   migrate reconcile, row counts only (the cheapest check; the floor of a run)
# Each side's commands run on both servers at the same time, as migrate does.
#
# Run by hand, not by CI. Environment knobs:
#   MIGRATE=path   the binary (default: build-bench/migrate in the source tree)
#   ROWS=1500000   rows of the generated database
#   ROUNDS=5       rounds of all commands in turn, after one warm-up round (interleave.sh)
#   PORT_BASE      the servers listen on PORT_BASE+22 and +23 (default $MIGRATE_TEST_PORT_BASE or 23480)
#   QUIET=1        start each round only when nothing else runs (see interleave.sh)
#   BENCH_DIR=dir  where the servers' data goes (default: a new dir under /var/tmp); KEEP=1 keeps it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MIGRATE=${MIGRATE:-$root/build-bench/migrate}
ROWS=${ROWS:-1500000}
ROUNDS=${ROUNDS:-5}
base=${PORT_BASE:-${MIGRATE_TEST_PORT_BASE:-23480}}
source_port=$((base + 22))
target_port=$((base + 23))
export BENCH_DB_PW=migrate-test-pw

source "$here/interleave.sh"
bench_setup reconcile.sh hyperfine jq mariadb mariadb-dump sha256sum
stop_servers() {
    bash "$here/mariadb_bench.sh" stop "$work/source" "$source_port" > /dev/null 2>&1 || true
    bash "$here/mariadb_bench.sh" stop "$work/target" "$target_port" > /dev/null 2>&1 || true
}
if [ "${KEEP:-0}" = 1 ]; then trap stop_servers EXIT; else trap 'stop_servers; rm -rf "$work"' EXIT; fi

echo "== servers on 127.0.0.1:$source_port and :$target_port, $ROWS rows each"
bash "$here/mariadb_bench.sh" start "$work/source" "$source_port" > source.log 2>&1 &
bash "$here/mariadb_bench.sh" start "$work/target" "$target_port" > target.log 2>&1 &
wait
bash "$here/mariadb_bench.sh" generate "$work/source" bench "$ROWS" &
bash "$here/mariadb_bench.sh" generate "$work/target" bench "$ROWS" &
wait
echo "server:  $(bash "$here/mariadb_bench.sh" client "$work/source" -N -e 'SELECT VERSION()')"

cat > checksum.yaml <<YAML
version: 1
name: reconcile-bench
connections:
  source: { type: mysql, host: 127.0.0.1, port: $source_port, user: migrate, password: "\${secret:BENCH_DB_PW}", database: bench }
  target: { type: mysql, host: 127.0.0.1, port: $target_port, user: migrate, password: "\${secret:BENCH_DB_PW}", database: bench }
phases:
  - id: p
    steps:
      - id: compare
        kind: reconcile
        with:
          source: source
          target: target
          checks:
            - { table: tickets, checksum: true, chunk: 10000 }
            - { table: attachments, checksum: true, chunk: 10000 }
YAML
sed 's/^          checks:$/          tables: [tickets, attachments]/; /checksum: true/d' checksum.yaml > count.yaml

# The data must be equal, or the timings compare different work.
"$MIGRATE" run checksum.yaml --rehearsal --yes --journal check.jsonl > check.out 2>&1 || { cat check.out; exit 1; }
jq -r 'select(.ev == "step.end") | "check:   \(.metrics.rows_compared) rows, \(.metrics.chunks) chunks, \(.outputs.differences) differences"' check.jsonl

both() {  # both COMMAND-FOR-PORT: the same command on both servers at once
    echo "bash -c '$(printf "$1" "$source_port") & $(printf "$1" "$target_port") & wait'"
}
client="mariadb --no-defaults -h127.0.0.1 -P%s -umigrate -p$BENCH_DB_PW -N bench"
dump="mariadb-dump --no-defaults -h127.0.0.1 -P%s -umigrate -p$BENCH_DB_PW --single-transaction --hex-blob --skip-dump-date bench tickets attachments"

interleave reconcile "$ROUNDS" 'rm -rf j.jsonl j.jsonl.logs' \
    -n "migrate reconcile: checksum" "$MIGRATE run checksum.yaml --rehearsal --yes --journal j.jsonl" \
    -n "CHECKSUM TABLE tickets, attachments, both servers" "$(both "$client -e \"CHECKSUM TABLE tickets, attachments\" > /dev/null")" \
    -n "mariadb-dump --single-transaction --hex-blob, sha256sum, both servers" "$(both "$dump | sha256sum > /dev/null")" \
    -n "migrate reconcile: row counts" "$MIGRATE run count.yaml --rehearsal --yes --journal j.jsonl"

echo
echo "| command | median | min–max | s per million rows | time vs migrate checksum | client CPU (user+sys) | runs |"
echo "|---|---:|---:|---:|---:|---:|---:|"
jq -s -r --argjson rows "$ROWS" '
    def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def fmt: if . >= 10 then (. * 10 | round) / 10 else (. * 1000 | round) / 1000 end;
    (.[0].results | map(.command)) as $order
    | [.[].results[]] as $all
    | [$order[] as $c | [$all[] | select(.command == $c)] | {command: $c, walls: map(.times[0]), cpus: map(.user + .system)}]
    | map(. + {wall: (.walls | median), cpu: (.cpus | median), lo: (.walls | min), hi: (.walls | max), n: (.walls | length)})
    | .[0].wall as $base
    | .[] | "| " + .command + " | " + (.wall | fmt | tostring) + " s | " + (.lo | fmt | tostring) + "–" + (.hi | fmt | tostring) + " s | "
        + (.wall / ($rows / 1e6) | fmt | tostring) + " s | " + (.wall / $base * 100 | round / 100 | tostring) + "× | "
        + (.cpu | fmt | tostring) + " s | " + (.n | tostring) + " |"' reconcile.round-*.json
echo
echo "load at the end: $(cat reconcile.load)"
