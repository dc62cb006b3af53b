#!/usr/bin/env bash
# delta against its peer on the benchmark database (mariadb_bench.sh): the rows after an id —
# the newest third of `tickets` (text) and of `attachments` (blobs), 500,000 rows at the
# default size — copied into empty tables of another database on the same server.
#   migrate delta (batches of 1000, an upsert and a fsynced journal checkpoint per batch)
#   vs  mysqldump --where 'id > N' | mariadb   (extended INSERTs of up to 16 MB, no journal)
# BENCH.md goal: >= 20,000 rows/s with batches of 1000 on loopback.
#
# Run by hand, not by CI. Environment knobs:
#   MIGRATE=path     the binary (default: build/migrate in the source tree)
#   ROWS=1500000     rows of the generated database (the delta is a third of them)
#   ROUNDS=3         rounds of both commands in turn, after one warm-up round (interleave.sh)
#   PORT=22501       the benchmark server's loopback port
#   QUIET=1          start each round only when nothing else runs (see interleave.sh)
#   BENCH_DIR=dir    where the server and journals go (default: a new dir under /var/tmp); KEEP=1 keeps it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MIGRATE=${MIGRATE:-$root/build/migrate}
ROWS=${ROWS:-1500000}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-22501}

source "$here/interleave.sh"
bench_setup delta.sh hyperfine jq mysqldump mariadb
server=$work/server
trap 'bash "$here/mariadb_bench.sh" stop "$server" "$PORT" > /dev/null 2>&1 || true; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT

echo "== server and data"
bash "$here/mariadb_bench.sh" start "$server" "$PORT"
bash "$here/mariadb_bench.sh" generate "$server" bench_delta_src "$ROWS"
client() { bash "$here/mariadb_bench.sh" client "$server" -N -B "$@"; }
tickets=$((ROWS * 2 / 3))
attachments=$((ROWS - tickets))
since_tickets=$((tickets - tickets / 3))
since_attachments=$((attachments - attachments / 3))
delta_rows=$(client -e "SELECT (SELECT COUNT(*) FROM bench_delta_src.tickets WHERE id > $since_tickets)
                             + (SELECT COUNT(*) FROM bench_delta_src.attachments WHERE id > $since_attachments)")
echo "delta:   $delta_rows rows (tickets id > $since_tickets, attachments id > $since_attachments)"

# The target: the same tables, empty, before every run of every command.
cat > prepare.sh <<SH
bash "$here/mariadb_bench.sh" client "$server" -e "DROP DATABASE IF EXISTS bench_delta_dst; CREATE DATABASE bench_delta_dst;
  CREATE TABLE bench_delta_dst.tickets LIKE bench_delta_src.tickets;
  CREATE TABLE bench_delta_dst.attachments LIKE bench_delta_src.attachments"
rm -rf "$work/j.jsonl" "$work/j.jsonl.logs"
SH

export MIGRATE_BENCH_PW=migrate-test-pw
cat > delta.yaml <<YAML
version: 1
name: delta-bench
connections:
  src: { type: mysql, socket: "$server/sock", user: migrate, password: "\${secret:MIGRATE_BENCH_PW}", database: bench_delta_src }
  dst: { type: mysql, socket: "$server/sock", user: migrate, password: "\${secret:MIGRATE_BENCH_PW}", database: bench_delta_dst }
phases:
  - id: p
    steps:
      - id: delta
        kind: delta
        with:
          source: src
          target: dst
          watermark: id
          batch: 1000
          tables:
            - { table: tickets, since: "$since_tickets" }
            - { table: attachments, since: "$since_attachments" }
YAML
dump="mysqldump --no-defaults --socket=$server/sock -uroot --single-transaction --no-create-info --skip-triggers"
peer="{ $dump --where='id > $since_tickets' bench_delta_src tickets; $dump --where='id > $since_attachments' bench_delta_src attachments; } | mariadb --no-defaults --socket=$server/sock -uroot bench_delta_dst"

echo "== rounds"
interleave delta "$ROUNDS" "bash $work/prepare.sh" \
    -n "migrate delta (batch 1000)" "$MIGRATE run $work/delta.yaml --rehearsal --yes --journal $work/j.jsonl" \
    -n "mysqldump --where, piped to mariadb" "$peer"

# Both left the same rows behind: the last run of each is checked against the source.
fingerprint() {  # DB TABLE SINCE
  client -e "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, $([ "$2" = tickets ] && echo "customer, status, subject, body, amount, created" || echo "ticket_id, name, mime, HEX(content), HEX(sha1)")))) FROM $1.$2 WHERE id > $3"
}
bash prepare.sh
$MIGRATE run delta.yaml --rehearsal --yes --journal j.jsonl > /dev/null
for table in tickets attachments; do
  since=$([ "$table" = tickets ] && echo "$since_tickets" || echo "$since_attachments")
  [ "$(fingerprint bench_delta_src "$table" "$since")" = "$(fingerprint bench_delta_dst "$table" "$since")" ] ||
    { echo "delta.sh: migrate's copy of $table differs from the source" >&2; exit 1; }
done
echo "check:   migrate's copy equals the source (count and CRC32 sum of every column)"
echo "journal: $(jq -r 'select(.ev == "step.end") | "rows \(.metrics.rows), batches \(.metrics.batches), rows_per_second \(.metrics.rows_per_second)"' j.jsonl)"
echo "         $(jq -r 'select(.ev == "step.checkpoint")' j.jsonl | grep -c '"step.checkpoint"') step.checkpoint records"

echo
echo "== $delta_rows rows; median of $ROUNDS rounds (load at the end: $(cat delta.load))"
echo
echo "| command | median | min–max | rows/s | × migrate | CPU (user+sys) |"
echo "|---|---|---|---|---|---|"
jq -s -r --argjson rows "$delta_rows" '
    def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def fmt: (. * 100 | round) / 100;
    (.[0].results | map(.command)) as $order
    | [.[].results[]] as $all
    | [$order[] as $c | [$all[] | select(.command == $c)]
       | {command: $c, wall: (map(.times[0]) | median), lo: (map(.times[0]) | min), hi: (map(.times[0]) | max),
          cpu: (map(.user + .system) | median)}]
    | .[0].wall as $base
    | .[] | "| " + .command + " | " + (.wall | fmt | tostring) + " s | " + (.lo | fmt | tostring) + "–"
        + (.hi | fmt | tostring) + " s | " + ($rows / .wall | round | tostring) + " | "
        + (.wall / $base | fmt | tostring) + "× | " + (.cpu | fmt | tostring) + " s |"' delta.round-*.json
