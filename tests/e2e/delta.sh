#!/usr/bin/env bash
# delta steps against the suite's MariaDB servers on loopback: rows changed after a timestamp
# and after an id copied (and no others), a second delta from the first one's watermark, kill -9
# and --resume, a target restarted mid-copy, refused rows quarantined with the server's reason,
# max_quarantined, the journal's checkpoints and metrics, the forecast, bad input, a dry run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mariadb_lib.sh"
MARIADB_SH=$(cd "$(dirname "$0")" && pwd)/mariadb.sh
SOURCE_PORT=${MIGRATE_TEST_MYSQL_SOURCE_PORT:?}
TARGET_PORT=${MIGRATE_TEST_MYSQL_TARGET_PORT:?}
PRIVATE_PORT=$(( ${MIGRATE_TEST_PORT_BASE:-18480} + 22 ))  # a target of this test's own, to restart
DB=e2e_delta

require_fixture_servers
for port in "$SOURCE_PORT" "$TARGET_PORT"; do
  db "$port" -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
done

connection() {  # NAME PORT [PASSWORD_SECRET]
  echo "  $1: { type: mysql, host: 127.0.0.1, port: $2, user: migrate, password: \"\${secret:${3:-MIGRATE_TEST_DB_PW}}\", database: $DB }"
}
# A runbook's head: the connections `source` and TARGET_NAME (default `target`), any further
# connection lines, and one phase whose steps follow.
header() {  # NAME [TARGET_NAME TARGET_PORT [MORE_CONNECTIONS]]
  printf 'version: 1\nname: %s\nconnections:\n%s\n%s\n' "$1" "$(connection source "$SOURCE_PORT")" \
    "$(connection "${2:-target}" "${3:-$TARGET_PORT}")"
  [ -z "${4:-}" ] || printf '%s\n' "$4"
  printf 'phases:\n  - id: p\n    steps:\n'
}
both() { db "$SOURCE_PORT" "$DB" -e "$1"; db "$TARGET_PORT" "$DB" -e "$1"; }
# An order-independent fingerprint of a query's rows: count and sum of CRC32s.
fingerprint() {  # PORT TABLE COLUMNS [WHERE]
  db "$1" "$DB" -e "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', $3))), 0) FROM $2 ${4:+WHERE $4}"
}
same_rows() {  # TABLE COLUMNS [WHERE] [TARGET_PORT]
  local a b
  a=$(fingerprint "$SOURCE_PORT" "$1" "$2" "${3:-}")
  b=$(fingerprint "${4:-$TARGET_PORT}" "$1" "$2" "${3:-}")
  [ "$a" = "$b" ] || { echo "     source: $a  target: $b"; false; }
}

# ---- rows changed after a timestamp, and leads created after an id
ORDER_COLUMNS="id, kind, amount, HEX(note), HEX(data), COALESCE(doc, 'null'), updated_at"
both "CREATE TABLE orders (id INT PRIMARY KEY, kind VARCHAR(20) NOT NULL, amount DECIMAL(12,2), note TEXT,
        data BLOB, doc JSON, updated_at DATETIME(6) NOT NULL, KEY (updated_at)) CHARSET utf8mb4;
      CREATE TABLE leads (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), created DATE);
      INSERT INTO orders SELECT seq, 'invoice', seq * 1.25, CONCAT('order ', seq), NULL, NULL, '2026-01-01 10:00:00'
        FROM seq_1_to_500;
      INSERT INTO leads SELECT seq, CONCAT('lead ', seq), '2026-01-01' FROM seq_1_to_100"
# After the backup: new orders (every type of value), changed ones, and one changed without
# touching its timestamp (a delta cannot see it: it must stay as it was on the target).
db "$SOURCE_PORT" "$DB" -e "
  INSERT INTO orders SELECT 500 + seq, IF(seq % 2, 'invoice', 'credit'), seq * -3.5, CONCAT('Zürich ☃ 😀 ''q'' \\\\ ', seq),
    IF(seq % 3 = 0, NULL, UNHEX(CONCAT('00FF27', HEX(seq), '5C0A0D1A'))), JSON_OBJECT('n', seq, 's', 'ä\"'),
    TIMESTAMPADD(SECOND, seq, '2026-02-01 00:00:00.250000') FROM seq_1_to_300;
  UPDATE orders SET kind = 'changed', amount = NULL, updated_at = '2026-02-01 12:00:00' WHERE id BETWEEN 101 AND 150;
  UPDATE orders SET note = 'silently changed' WHERE id = 7;
  INSERT INTO leads (name, created) SELECT CONCAT('new lead ', seq), '2026-02-02' FROM seq_1_to_50"
cat > book.yaml <<YAML
$(header delta-e2e)
      - id: orders
        kind: delta
        with:
          source: source
          target: target
          since: "2026-01-15 00:00:00"
          tables: [ { table: orders, watermark: updated_at } ]
          batch: 64
      - id: leads
        kind: delta
        with: { source: source, target: target, since: "100", watermark: id, tables: [leads] }
      - id: orders-again
        kind: delta
        with: { source: source, target: target, since: "\${steps.orders.watermark}", watermark: updated_at, tables: [orders] }
      - id: leads-again
        kind: delta
        with: { source: source, target: target, since: "\${steps.leads.watermark}", watermark: id, tables: [leads] }
YAML
expect_exit 0 "copy the changes after a timestamp and after an id" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl
end_of() { events j.jsonl step.end | jq -r --arg s "$1" "select(.step==\$s) | $2"; }
check "350 orders copied (300 new, 50 changed)" test "$(end_of orders .metrics.rows)" = 350
check "the changed and new orders are equal on both sides" same_rows orders "$ORDER_COLUMNS" "id > 100 AND id != 7"
check "binary, utf8mb4, NULLs and JSON came over byte for byte" \
  test "$(fingerprint "$TARGET_PORT" orders "$ORDER_COLUMNS" "id > 500")" = "$(fingerprint "$SOURCE_PORT" orders "$ORDER_COLUMNS" "id > 500")"
check "a row changed before the watermark's column moved was not copied" \
  test "$(db "$TARGET_PORT" "$DB" -e "SELECT note FROM orders WHERE id = 7")" = "order 7"
check "50 leads copied after id 100" test "$(end_of leads .metrics.rows)" = 50
check "the leads are equal" same_rows leads "id, name, created"
check "the new watermark is the highest copied timestamp" test "$(end_of orders .outputs.watermark)" = "2026-02-01 12:00:00.000000"
check "and id" test "$(end_of leads .outputs.watermark)" = 150
check "watermarks per table as JSON" test "$(end_of leads .outputs.watermarks | jq -r .leads)" = 150
check "a second delta from the new timestamp copies only the rows of that instant" test "$(end_of orders-again .metrics.rows)" = 50
check "a second delta from the new id copies nothing" test "$(end_of leads-again .metrics.rows)" = 0
check "one step.checkpoint per committed batch" test "$(events j.jsonl step.checkpoint | jq -c 'select(.step=="orders")' | wc -l)" = "$(end_of orders .metrics.batches)"
check "batches of 64: 6 for 350 rows" test "$(end_of orders .metrics.batches)" = 6
check "the last checkpoint holds the cursor (the last changed order: the highest timestamp, then id)" test "$(events j.jsonl step.checkpoint | jq -r 'select(.step=="orders") | .state.tables[0].after.key[0]' | tail -1)" = 150
lag=$(end_of orders .metrics.watermark_lag_ms)
check "watermark_lag_ms: from the watermark to the copy (over 1 day)" test "${lag:-0}" -gt 86400000
check "an id watermark records no lag" test "$(end_of leads .metrics.watermark_lag_ms)" = null
check "rows_per_second recorded" test "$(end_of orders .metrics.rows_per_second)" -gt 0
expect_exit 0 "the forecast uses the delta's rows and lag" "$MIGRATE" estimate book.yaml --journal j.jsonl --lag 44h
check "rows expected for a 44h lag" contains last.out "with a 44.0h lag expect"

# ---- kill -9 in the middle, then --resume: every row once, none missing
both "CREATE TABLE big (id BIGINT PRIMARY KEY, grp INT NOT NULL, payload VARCHAR(100), changed DATETIME NOT NULL, KEY (changed))"
db "$SOURCE_PORT" "$DB" -e "INSERT INTO big SELECT seq, seq % 17, REPEAT(CHAR(65 + seq % 26), 1 + seq % 90),
  TIMESTAMPADD(SECOND, seq DIV 7, '2026-03-01') FROM seq_1_to_200000"
BIG_COLUMNS="id, grp, payload, changed"
cat > big.yaml <<YAML
$(header delta-kill)
      - id: copy-big
        kind: delta
        with: { source: source, target: target, since: "2026-01-01", watermark: changed, tables: [big], batch: 1000 }
YAML
"$MIGRATE" run big.yaml --rehearsal --yes --journal big.jsonl > big.out 2>&1 &
pid=$!
some_batches() { local n; n=$(grep -c '"step.checkpoint"' big.jsonl 2> /dev/null); [ "${n:-0}" -ge 15 ]; }
check "the copy got going" wait_for 60 some_batches
kill -9 "$pid"; wait "$pid" 2> /dev/null
copied_before=$(db "$TARGET_PORT" "$DB" -e "SELECT COUNT(*) FROM big")
check "it was killed in the middle" test "$copied_before" -gt 0 -a "$copied_before" -lt 200000
check "the journal verifies after kill -9" "$MIGRATE" journal verify big.jsonl
expect_exit 0 "--resume completes the copy" "$MIGRATE" run big.yaml --rehearsal --yes --journal big.jsonl --resume
check "it went on from the last committed batch" contains last.out "going on from the last committed batch"
check "target equals source: 200000 rows, same fingerprint" same_rows big "$BIG_COLUMNS"
check "no row copied twice in the counts either" test "$(events big.jsonl step.end | jq -r .metrics.rows)" = 200000
check "one batch per 1000 rows in all" test "$(events big.jsonl step.checkpoint | jq -r .state.batches | tail -1)" = 200
speed=$(events big.jsonl step.end | jq -r .metrics.rows_per_second)
echo "     (rows/s after the resume: $speed)"

# ---- refused rows: quarantined with the server's reason; the rest copied
both "CREATE TABLE parents (id INT PRIMARY KEY);
      CREATE TABLE docs (id INT PRIMARY KEY, number VARCHAR(20) NOT NULL UNIQUE, parent INT NOT NULL, note VARCHAR(50),
        changed DATETIME NOT NULL, KEY (changed));
      INSERT INTO parents SELECT seq FROM seq_1_to_10"
db "$TARGET_PORT" "$DB" -e "ALTER TABLE docs MODIFY note VARCHAR(8), ADD FOREIGN KEY (parent) REFERENCES parents (id);
  INSERT INTO docs VALUES (9000, 'D-77', 1, 'upgrade', '2026-01-01')"
db "$SOURCE_PORT" "$DB" -e "INSERT INTO parents VALUES (99);
  INSERT INTO docs SELECT seq, CONCAT('D-', seq), 1 + seq % 10, 'ok', TIMESTAMPADD(SECOND, seq, '2026-04-01') FROM seq_1_to_2500;
  UPDATE docs SET parent = 99 WHERE id IN (5, 1200, 2400);
  UPDATE docs SET note = 'far too long for the target' WHERE id = 1700"
quarantine_book() {  # MAX
  cat > q.yaml <<YAML
$(header delta-quarantine)
      - id: docs
        kind: delta
        with: { source: source, target: target, since: "2026-03-01", watermark: changed, tables: [docs], max_quarantined: $1 }
YAML
}
quarantine_book 5
expect_exit 0 "refused rows do not stop the copy under max_quarantined" "$MIGRATE" run q.yaml --rehearsal --yes --journal q.jsonl
QFILE=q.jsonl.logs/docs.quarantine.jsonl
check "5 rows quarantined" test "$(events q.jsonl step.end | jq -r .metrics.quarantined)" = 5
check "in the default file beside the journal, one line each" test "$(wc -l < "$QFILE")" = 5
check "the quarantined ids" test "$(jq -r '.key.id' "$QFILE" | sort -n | tr '\n' ' ')" = "5 77 1200 1700 2400 "
check "a foreign key's reason from the server" contains <(jq -r 'select(.key.id == "5") | .reason' "$QFILE") "foreign key constraint fails"
check "a value too long" contains <(jq -r 'select(.key.id == "1700") | .reason' "$QFILE") "Data too long for column 'note'"
check "a row whose unique number the target gives another row is refused, not merged" \
  contains <(jq -r 'select(.key.id == "77") | .reason' "$QFILE") "another row with this row's value of a unique key"
check "the target's own row is untouched" test "$(db "$TARGET_PORT" "$DB" -e "SELECT id FROM docs WHERE number = 'D-77'")" = 9000
check "the rows are in the quarantine record" test "$(jq -r 'select(.key.id == "1200") | .row.parent' "$QFILE")" = 99
check "with the server's errno" test "$(jq -r 'select(.key.id == "1700") | .error' "$QFILE")" = 1406
check "the other 2495 rows were copied" same_rows docs "id, number, parent, note, changed" "id NOT IN (5, 77, 1200, 1700, 2400) AND id < 9000"
db "$TARGET_PORT" "$DB" -e "DELETE FROM docs WHERE id < 9000"
rm -rf q.jsonl q.jsonl.logs
quarantine_book 2
expect_exit 1 "more refused rows than max_quarantined fail the step" "$MIGRATE" run q.yaml --rehearsal --yes --journal q.jsonl
error=$(events q.jsonl step.end | jq -r .error)
check "the error says how many, the limit and where the rows are" \
  contains <(echo "$error") "table 'docs': 4 rows quarantined, more than max_quarantined 2; the rows and the server's reasons are in $WORK/q.jsonl.logs/docs.quarantine.jsonl"
check "not retried" test "$(events q.jsonl step.end | jq -r .attempts)" = 1
check "the batches before were copied" test "$(db "$TARGET_PORT" "$DB" -e "SELECT COUNT(*) FROM docs WHERE id < 1000")" = 997

# ---- bad input: an unknown table, a since that is no date, a wrong password; the dry run
export MIGRATE_TEST_WRONG_PW='wrong-Pw-Dx41-secret'
cat > bad.yaml <<YAML
$(header delta-bad target "$TARGET_PORT" "$(connection wrong "$TARGET_PORT" MIGRATE_TEST_WRONG_PW)")
      - { id: unknown, kind: delta, on_failure: continue, with: { source: source, target: target, since: "2026-01-01", watermark: updated_at, tables: [ordres] } }
      - { id: notadate, kind: delta, on_failure: continue, with: { source: source, target: target, since: "yesterday", watermark: updated_at, tables: [orders] } }
      - { id: password, kind: delta, on_failure: continue, with: { source: source, target: wrong, since: "2026-01-01", watermark: updated_at, tables: [orders] } }
YAML
expect_exit 0 "bad input fails the steps (on_failure: continue lets the run go on)" "$MIGRATE" run bad.yaml --rehearsal --yes --journal bad.jsonl --log-file bad.log
cp last.out bad.out
bad_error() { events bad.jsonl step.end | jq -r --arg s "$1" 'select(.step==$s) | .error'; }
check "an unknown table is named, with a suggestion" contains <(bad_error unknown) \
  "table 'ordres' is not in database '$DB' on connection 'source' (127.0.0.1:$SOURCE_PORT); did you mean 'orders'?"
check "a since that is no date and time" contains <(bad_error notadate) "since 'yesterday' is not a date and time"
check "a wrong password names the connection" contains <(bad_error password) "connection 'wrong' (127.0.0.1:$TARGET_PORT): cannot connect: Access denied"
for f in bad.jsonl bad.log bad.out; do
  check "the password is not in $f" not_contains "$f" "$MIGRATE_TEST_WRONG_PW"
done
cat > unvalid.yaml <<YAML
$(header delta-invalid)
      - { id: d, kind: delta, with: { source: source, target: target, since: "1", tables: [ { table: t, watermark: id, keys: [id] }, plain ] } }
YAML
expect_exit 2 "validate finds a misspelt table field and a table without watermark" "$MIGRATE" validate unvalid.yaml
check "the field, with a suggestion" contains last.err "unknown field 'keys' of a table; did you mean 'key'?"
check "the table without watermark" contains last.err "table 'plain' has no watermark column"
db "$SOURCE_PORT" "$DB" -e "INSERT INTO leads VALUES (151, 'dry', '2026-03-01')"
expect_exit 0 "a dry run counts the rows to copy" "$MIGRATE" run book.yaml --dry-run
check "and says how many" contains last.out "table 'leads': 51 rows to copy (id > '100', up to '151')"
check "a since from an earlier step's output is left for the run" contains last.out "table 'orders': since comes from an earlier step"
check "it copied nothing" test "$(db "$TARGET_PORT" "$DB" -e "SELECT COUNT(*) FROM leads")" = 150

# ---- a private target server stopped and started again mid-copy: the step retries and completes
trap 'bash "$MARIADB_SH" stop "$WORK/private" "$PRIVATE_PORT"; cleanup_e2e' EXIT
if bash "$MARIADB_SH" start "$WORK/private" "$PRIVATE_PORT" > private.log 2>&1; then
  db "$PRIVATE_PORT" -e "CREATE DATABASE $DB"
  db "$PRIVATE_PORT" "$DB" -e "CREATE TABLE big (id BIGINT PRIMARY KEY, grp INT NOT NULL, payload VARCHAR(100), changed DATETIME NOT NULL, KEY (changed))"
  cat > restart.yaml <<YAML
$(header delta-restart private "$PRIVATE_PORT")
      - id: through-restart
        kind: delta
        retry: { attempts: 30, backoff: 500ms, max_backoff: 1s }
        with: { source: source, target: private, since: "2026-01-01", watermark: changed, tables: [big], batch: 500 }
YAML
  "$MIGRATE" run restart.yaml --rehearsal --yes --journal restart.jsonl > restart.out 2>&1 &
  runner=$!
  restart_batches() { local n; n=$(grep -c '"step.checkpoint"' restart.jsonl 2> /dev/null); [ "${n:-0}" -ge 20 ]; }
  check "the copy got going" wait_for 60 restart_batches
  bash "$MARIADB_SH" stop "$WORK/private" "$PRIVATE_PORT"
  sleep 1
  bash "$MARIADB_SH" restart "$WORK/private" "$PRIVATE_PORT" >> private.log 2>&1
  wait "$runner"
  check "the run ended ok after the restart" test $? = 0
  check "the step was retried" test "$(events restart.jsonl step.retry | wc -l)" -ge 1
  check "the retry names the connection" contains <(events restart.jsonl step.retry | head -1) "connection 'private' (127.0.0.1:$PRIVATE_PORT)"
  check "every row arrived once" same_rows big "$BIG_COLUMNS" "" "$PRIVATE_PORT"
else
  FAILED=$((FAILED + 1)); echo "FAIL could not start a private MariaDB on $PRIVATE_PORT:"; cat private.log
fi
finish
