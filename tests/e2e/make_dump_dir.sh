#!/usr/bin/env bash
# Writes a dump directory exactly as docs/dump-format.md describes it (format version 1),
# from a database on a test server, with mariadb-dump per table, zstd or gzip, sha256sum
# and jq: what mysql.load's tests read until mysql.dump writes such directories itself.
#
#   make_dump_dir.sh PORT DATABASE DIR [zstd|gzip] [VIEW...]
#
# VIEWs are listed in the manifest in the order given (a view before the view it reads
# tests the load's retry); without them, the database's views in name order. The user is
# migrate with $MIGRATE_TEST_DB_PW (default migrate-test-pw).
set -euo pipefail
port=$1 db=$2 dir=$3 compression=${4:-zstd}
shift $(($# < 4 ? $# : 4))
password=${MIGRATE_TEST_DB_PW:-migrate-test-pw}
case "$compression" in
zstd) suffix=.zst; compress() { zstd -q -c; } ;;
gzip) suffix=.gz; compress() { gzip -n -c; } ;;
*) echo "compression must be zstd or gzip" >&2; exit 2 ;;
esac
client=(mariadb --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P"$port" -umigrate -p"$password" -N -B)
dumper=(mariadb-dump --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P"$port" -umigrate -p"$password" --compact --skip-comments)

rm -rf "$dir"
mkdir -p "$dir"
entries=$(mktemp)
trap 'rm -f "$entries"' EXIT

# One file: SQL on stdin, compressed into DIR/NAME; prints its manifest entry.
write_file() {
  local name=$1 raw
  # No client command: mariadb-dump's first line (the sandbox mode) is not in the format.
  sed '/^\/\*M!999999/d' > "$dir/.raw"
  raw=$(stat -c %s "$dir/.raw")
  compress < "$dir/.raw" > "$dir/$name"
  rm -f "$dir/.raw"
  jq -n --arg file "$name" --argjson bytes "$(stat -c %s "$dir/$name")" --argjson raw "$raw" \
    --arg sha "$(sha256sum "$dir/$name" | cut -d' ' -f1)" '{file: $file, bytes: $bytes, raw_bytes: $raw, sha256: $sha}'
}

# A name with every byte outside [A-Za-z0-9_-] written %XX.
file_name() {
  local name=$1 out="" i c
  for ((i = 0; i < ${#name}; i++)); do
    c=${name:i:1}
    if [[ $c =~ [A-Za-z0-9_-] ]]; then out+=$c; else out+=$(printf '%%%02X' "'$c"); fi
  done
  echo "$out"
}

header() {
  printf '%s\n' "/*!40101 SET NAMES utf8mb4 */;" "/*!40103 SET TIME_ZONE='+00:00' */;" \
    "/*!40014 SET FOREIGN_KEY_CHECKS=0, UNIQUE_CHECKS=0 */;" "/*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;"
}

for table in $("${client[@]}" -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='$db' AND TABLE_TYPE='BASE TABLE' ORDER BY TABLE_NAME"); do
  base=$(file_name "$table")
  rows=$("${client[@]}" "$db" -e "SELECT COUNT(*) FROM \`$table\`")
  schema=$("${dumper[@]}" --no-data --add-drop-table --skip-triggers "$db" "$table" | write_file "$base.schema.sql$suffix")
  data=$({ header; "${dumper[@]}" --no-create-info --skip-triggers --hex-blob --complete-insert --tz-utc \
    --net-buffer-length=1048576 "$db" "$table"; } | write_file "$base.data.sql$suffix" | jq --argjson rows "$rows" '. + {rows: $rows}')
  triggers=null
  if [ "$("${client[@]}" -e "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA='$db' AND EVENT_OBJECT_TABLE='$table'")" != 0 ]; then
    triggers=$("${dumper[@]}" --no-data --no-create-info --triggers "$db" "$table" | write_file "$base.triggers.sql$suffix")
  fi
  jq -n --arg name "$table" --argjson rows "$rows" --argjson schema "$schema" --argjson data "$data" \
    --argjson triggers "$triggers" '{name: $name, rows: $rows, snapshot: 0, schema: $schema, data: [$data], triggers: $triggers}' >> "$entries"
done
tables=$(jq -s . "$entries")

views=()
if [ $# -gt 0 ]; then views=("$@"); else
  views=($("${client[@]}" -e "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA='$db' ORDER BY TABLE_NAME"))
fi
: > "$entries"
for view in ${views[@]+"${views[@]}"}; do
  entry=$("${client[@]}" "$db" -e "SHOW CREATE VIEW \`$view\`" | cut -f2 |
    perl -pe 's/^CREATE .*? VIEW `/CREATE OR REPLACE VIEW `/; s/$/;/' | write_file "$(file_name "$view").view.sql$suffix")
  echo "$entry" | jq --arg name "$view" '{name: $name} + .' >> "$entries"
done
view_list=$(jq -s . "$entries")

routines=null
if [ "$("${client[@]}" -e "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='$db'")" != 0 ]; then
  routines=$("${dumper[@]}" --no-data --no-create-info --skip-triggers --routines "$db" | write_file "routines.sql$suffix")
fi

jq -n --arg db "$db" --arg compression "$compression" --arg version "$("${client[@]}" -e 'SELECT VERSION()')" \
  --argjson tables "$tables" --argjson views "$view_list" --argjson routines "$routines" '{
    format: "migrate-dump", format_version: 1, written_by: "tests/e2e/make_dump_dir.sh",
    started: "2026-11-22T10:00:00.000Z", finished: "2026-11-22T10:00:01.000Z", complete: true,
    database: $db, compression: $compression,
    server: {version: $version, connection: "test"},
    snapshot: {binlog_file: null, binlog_position: null, gtid: null, consistent: true, connections: 1},
    options: {schema: true, data: true, triggers: true, views: true, routines: true, include: [], exclude: []},
    excluded: [], tables: $tables, views: $views, routines: $routines, snapshots: []}' > "$dir/migrate-dump.json"
echo "migrate-dump 1 sha256=$(sha256sum "$dir/migrate-dump.json" | cut -d' ' -f1)" > "$dir/migrate-dump.complete"
