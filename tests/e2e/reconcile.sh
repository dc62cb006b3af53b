#!/usr/bin/env bash
# reconcile against the suite's two MariaDB servers: two equal copies (50,000 rows with
# groups, DECIMAL balances, NULLs, blobs, utf8mb4, JSON; a composite key) pass every check;
# a row changed, one deleted and one added on the target are each named by table and key
# range (and key), per group and in the sums, and fail the step; `fail_on_mismatch: false`
# records them and succeeds, with a report file; tolerance; unknown table and column; wrong
# password; the dry run; a server restarted mid-check.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mariadb_lib.sh"
MARIADB_SH=$(cd "$(dirname "$0")" && pwd)/mariadb.sh
SOURCE_PORT=${MIGRATE_TEST_MYSQL_SOURCE_PORT:?}
TARGET_PORT=${MIGRATE_TEST_MYSQL_TARGET_PORT:?}
PRIVATE_PORT=$(( ${MIGRATE_TEST_PORT_BASE:-18480} + 23 ))  # a server of this test's own, restarted mid-step
DB=e2e_reconcile

require_fixture_servers

# The same deterministic data on a server: `docs` (50,000 rows) and `doc_lines` (composite key).
make_data() {
  db "$1" -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4"
  db "$1" "$DB" <<'SQL'
CREATE TABLE docs (
  id INT PRIMARY KEY,
  type VARCHAR(20) NOT NULL,
  balance DECIMAL(14,2),
  note TEXT CHARACTER SET utf8mb4,
  data BLOB,
  created DATETIME,
  stamp TIMESTAMP NULL,
  attrs JSON
);
INSERT INTO docs
SELECT seq, ELT(1 + seq % 4, 'invoice', 'order', 'credit', 'receipt'),
       IF(seq % 11 = 0, NULL, (seq * 37 % 100000) / 100 - 250),
       IF(seq % 7 = 0, NULL, CONCAT('ünïcødé ✓ 😀 ', seq, IF(seq % 3 = 0, '', ' ''quoted'' \\ back'))),
       IF(seq % 5 = 0, NULL, UNHEX(SHA2(seq, 256))),
       '2024-01-01' + INTERVAL seq MINUTE,
       FROM_UNIXTIME(1700000000 + seq),
       JSON_OBJECT('id', seq, 'tags', JSON_ARRAY('a', seq % 3))
FROM seq_1_to_50000;
CREATE TABLE doc_lines (doc_id INT, line INT, sku VARCHAR(20), qty INT, PRIMARY KEY (doc_id, line));
INSERT INTO doc_lines SELECT d.seq, l.seq, CONCAT('SKU-', d.seq * l.seq % 97), l.seq * 2 FROM seq_1_to_3000 d, seq_1_to_4 l;
CREATE TABLE nokey (a INT, b INT);
INSERT INTO nokey VALUES (1, 2);
SQL
}
make_data "$SOURCE_PORT" & make_data "$TARGET_PORT"; wait

connections() {  # [TARGET_PASSWORD_SECRET]
  cat <<YAML
connections:
  source: { type: mysql, host: 127.0.0.1, port: $SOURCE_PORT, user: migrate, password: "\${secret:MIGRATE_TEST_DB_PW}", database: $DB }
  target: { type: mysql, host: 127.0.0.1, port: $TARGET_PORT, user: migrate, password: "\${secret:${1:-MIGRATE_TEST_DB_PW}}", database: $DB }
YAML
}

# compare_head NAME [TARGET_PASSWORD_SECRET]: a runbook up to its reconcile step's source and target
compare_head() {
  cat <<YAML
version: 1
name: reconcile-$1
$(connections "${2:-}")
phases:
  - id: p
    steps:
      - id: compare
        kind: reconcile
        with:
          source: source
          target: target
YAML
}
# book NAME [EXTRA_WITH_LINES] [TARGET_PASSWORD_SECRET]: the full set of checks
book() {
  { compare_head "$1" "${3:-}"; cat <<YAML
          tables: [doc_lines]
          checks:
            - { table: docs, count: true }
            - { table: docs, group_by: type, name: documents by type }
            - { table: docs, sum: [balance, id] }
            - { table: docs, checksum: true, chunk: 10000 }
            - { table: doc_lines, checksum: true, chunk: 1000 }
            - { table: docs, checksum: true, chunk: 7000, columns: [balance], where: "type = 'credit'" }
${2:-}
YAML
  } > "$1.yaml"
}
diffs() { events "$1" step.end | jq -c '.differences[]'; }
has_diff() {  # JOURNAL JQ-CONDITION: some difference matches
  [ "$(diffs "$1" | jq -c "select($2)" | wc -l)" -ge 1 ] || { echo "     no difference matches $2 in:"; diffs "$1" | sed 's/^/     /'; false; }
}

# ---- two equal copies
book equal
expect_exit 0 "equal copies pass every check" "$MIGRATE" run equal.yaml --rehearsal --yes --journal equal.jsonl
end=$(events equal.jsonl step.end)
check "no difference" test "$(echo "$end" | jq -r .outputs.differences)" = 0
check "seven checks" test "$(echo "$end" | jq -r .metrics.checks)" = 7
check "every check ok" test "$(echo "$end" | jq -r '[.checks[].result] | unique | join(",")')" = ok
# count 50000 + groups 50000 + sums 50000 + checksum 50000 + doc_lines 12000 (twice: count and checksum) + credits 12500
check "rows compared counted on the source" test "$(echo "$end" | jq -r .metrics.rows_compared)" = 236500
# docs: 5 chunks + below + above; doc_lines 12 + 2; credits 2 + 2
check "chunks counted" test "$(echo "$end" | jq -r .metrics.chunks)" = 25
check "the terminal says no difference" contains last.out "no difference"

# ---- a difference in the middle, one row missing, one row added at the end
db "$TARGET_PORT" "$DB" -e "UPDATE docs SET note = 'changed' WHERE id = 25000;
  DELETE FROM docs WHERE id = 33333;
  INSERT INTO docs VALUES (50001, 'credit', 10.50, 'extra', NULL, NOW(), NULL, NULL);
  UPDATE doc_lines SET qty = 0 WHERE doc_id = 1500 AND line = 3;
  UPDATE docs SET note = '' WHERE id = 7"  # NULL before
book differ
expect_exit 1 "differences fail the step" "$MIGRATE" run differ.yaml --rehearsal --yes --journal differ.jsonl
cp last.out differ.out
error=$(events differ.jsonl step.end | jq -r .error)
check "the error counts them" contains <(echo "$error") "differences; first:"
check "the changed row: its chunk, same count" has_diff differ.jsonl \
  '.check == "checksum of docs" and .where == "id 20001..30000" and .difference == "contents" and .keys == ["id 25000: differs"]'
check "the deleted row: its chunk, one row fewer" has_diff differ.jsonl \
  '.check == "checksum of docs" and .where == "id 30001..40000" and .source == "10000 rows" and .target == "9999 rows" and .keys == ["id 33333: missing on the target"]'
check "the added row: beyond the source's last key" has_diff differ.jsonl \
  '.check == "checksum of docs" and .where == "id > 50000" and .difference == "+1 rows" and .keys == ["id 50001: only on the target"]'
check "NULL made '' is a difference" has_diff differ.jsonl \
  '.check == "checksum of docs" and .where == "id 1..10000" and .keys == ["id 7: differs"]'
check "a composite key's range and key" has_diff differ.jsonl \
  '.table == "doc_lines" and .where == "(doc_id, line) (1251, 1)..(1500, 4)" and .keys == ["(doc_id, line) (1500, 3): differs"]'
check "the filtered checksum sees the added credit" has_diff differ.jsonl \
  '.check == "checksum of docs" and .where == "id > 49998" and .keys == ["id 50001: only on the target"]'
check "the group that lost a row, with both counts" has_diff differ.jsonl \
  '.check == "documents by type" and .where == "type=order" and .source == "12500" and .target == "12499" and .difference == "-1"'
check "the group that gained one" has_diff differ.jsonl '.where == "type=credit" and .source == "12500" and .target == "12501"'
balance_33333=$(db "$SOURCE_PORT" "$DB" -e "SELECT balance FROM docs WHERE id = 33333")
sum_source=$(db "$SOURCE_PORT" "$DB" -e "SELECT SUM(balance) FROM docs")
sum_target=$(db "$TARGET_PORT" "$DB" -e "SELECT SUM(balance) FROM docs")
gap=$(db "$SOURCE_PORT" -e "SELECT CAST($sum_target AS DECIMAL(20,2)) - CAST($sum_source AS DECIMAL(20,2))")
check "the sums, both, exactly ($sum_source vs $sum_target)" has_diff differ.jsonl \
  ".where == \"balance\" and .source == \"$sum_source\" and .target == \"$sum_target\" and (.difference | ltrimstr(\"+\")) == \"$gap\""
check "the id sum differs by 50001 - 33333" has_diff differ.jsonl '.where == "id" and .difference == "+16668"'
check "the counts are equal (one gone, one added): no count difference" \
  test "$(diffs differ.jsonl | jq -c 'select(.check == "count of docs")' | wc -l)" = 0
check "the check summaries say which differ" \
  test "$(events differ.jsonl step.end | jq -r '[.checks[] | select(.result == "differs") | .check] | join("|")')" \
  = "documents by type|sum of balance, id in docs|checksum of docs|checksum of doc_lines|checksum of docs"
check "the metric counts every difference" test "$(events differ.jsonl step.end | jq -r .metrics.differences)" = 10
check "the terminal shows the table" contains differ.out "id 30001..40000"
check "with the keys under it" contains differ.out "    id 33333: missing on the target"
check "and the table's header" grep -qE "^ *check +table +where +source +target +difference" differ.out

# ---- report only: the step succeeds, the differences recorded, a report written
book report "          fail_on_mismatch: false
          report: $WORK/report.json"
expect_exit 0 "fail_on_mismatch: false succeeds" "$MIGRATE" run report.yaml --rehearsal --yes --journal report.jsonl
check "the output counts the differences" test "$(events report.jsonl step.end | jq -r .outputs.differences)" = 10
check "the journal holds them" test "$(diffs report.jsonl | wc -l)" = 10
check "the report file holds them" test "$(jq '.differences | length' report.json)" = 10
check "no partial report left" test ! -e report.json.partial
book report_text "          fail_on_mismatch: false
          report: $WORK/report.txt"
expect_exit 0 "a text report" "$MIGRATE" run report_text.yaml --rehearsal --yes --journal report_text.jsonl
check "the text report names the range" contains report.txt "id 20001..30000"

# ---- tolerance: 5 rows of 1000 missing on the target
for port in "$SOURCE_PORT" "$TARGET_PORT"; do
  db "$port" "$DB" -e "CREATE TABLE accounts (id INT PRIMARY KEY, kind CHAR(1), balance DECIMAL(12,2));
    INSERT INTO accounts SELECT seq, IF(seq % 2, 'a', 'b'), 100.00 FROM seq_1_to_1000"
done
db "$TARGET_PORT" "$DB" -e "DELETE FROM accounts WHERE id <= 5"
tolerance_book() {  # NAME COUNT-TOLERANCE SUM-TOLERANCE GROUP-TOLERANCE
  { compare_head "$1"; cat <<YAML
          checks:
            - { table: accounts, count: true, tolerance: "$2" }
            - { table: accounts, sum: balance, tolerance: "$3" }
            - { table: accounts, group_by: kind, tolerance: "$4" }
YAML
  } > "$1.yaml"
}
tolerance_book within "1%" "500" "3"
expect_exit 0 "differences within tolerance pass" "$MIGRATE" run within.yaml --rehearsal --yes --journal within.jsonl
check "and are recorded as tolerated" test "$(diffs within.jsonl | jq -c 'select(.tolerated)' | wc -l)" = 4
check "the output counts none" test "$(events within.jsonl step.end | jq -r .outputs.differences)" = 0
check "the summaries say within tolerance" \
  test "$(events within.jsonl step.end | jq -r '[.checks[].result] | unique | join(",")')" = "within tolerance"
tolerance_book outside "0.4%" "499.99" "2"
expect_exit 1 "differences outside tolerance fail" "$MIGRATE" run outside.yaml --rehearsal --yes --journal outside.jsonl
check "all three checks differ (one group within)" test "$(events outside.jsonl step.end | jq -r .metrics.differences)" = 3
check "the count by its numbers" has_diff outside.jsonl '.where == "rows" and .source == "1000" and .target == "995" and .tolerated == false'
check "the sum exactly" has_diff outside.jsonl '.where == "balance" and .source == "100000.00" and .target == "99500.00" and .difference == "-500.00"'

# ---- bad input
cat > unknown.yaml <<YAML
version: 1
name: reconcile-unknown
$(connections)
phases:
  - id: p
    steps:
      - { id: t, kind: reconcile, on_failure: continue, with: { source: source, target: target, checks: [ { table: docz, count: true } ] } }
      - { id: c, kind: reconcile, on_failure: continue, with: { source: source, target: target, checks: [ { table: docs, sum: balanse, name: balances } ] } }
      - { id: k, kind: reconcile, on_failure: continue, with: { source: source, target: target, checks: [ { table: nokey, checksum: true } ] } }
YAML
expect_exit 0 "the failures are recorded (on_failure: continue)" "$MIGRATE" run unknown.yaml --rehearsal --yes --journal unknown.jsonl
check "all three failed" test "$(events unknown.jsonl step.end | jq -r .status | sort | uniq -c | tr -s ' ')" = " 3 failed"
check "naming the check, the table, the side and a likely name" contains <(events unknown.jsonl step.end | jq -r 'select(.step=="t") | .error') \
  "check 'count of docz': table 'docz' does not exist on the source (connection 'source' (127.0.0.1:$SOURCE_PORT)); did you mean 'docs'?"
check "an unknown column names the check and the column" contains <(events unknown.jsonl step.end | jq -r 'select(.step=="c") | .error') \
  "check 'balances': column 'balanse' does not exist in table 'docs' on the source"
check "a table without a key asks for one" contains <(events unknown.jsonl step.end | jq -r 'select(.step=="k") | .error') \
  "table 'nokey' has no primary key"
{ compare_head invalid; cat <<YAML
          checks:
            - { table: docs, count: true, tolerence: 5 }
            - { table: docs, checksum: true, tolerance: 1% }
            - { table: docs, sum: balance, tolerance: lots }
            - { table: docs }
YAML
} > invalid.yaml
expect_exit 2 "mistakes in checks are found before the run" "$MIGRATE" validate invalid.yaml
check "an unknown field, at its line" contains last.err "invalid.yaml:15:43: check 1: unknown field 'tolerence'; did you mean 'tolerance'?"
check "tolerance with a checksum" contains last.err "invalid.yaml:16:57: check 2: 'tolerance' does not apply to a checksum"
check "a bad tolerance" contains last.err "invalid.yaml:17:55: check 3: bad tolerance 'lots'"
check "a check without what to compare" contains last.err "invalid.yaml:18:15: check 4 needs one of: count, group_by, sum, checksum"

export MIGRATE_TEST_WRONG_PW='wrong-Pw-Rc77q-secret'
book wrong "" MIGRATE_TEST_WRONG_PW
expect_exit 1 "a wrong password fails" "$MIGRATE" run wrong.yaml --rehearsal --yes --journal wrong.jsonl --log-file wrong.log
cp last.out wrong.out; cp last.err wrong.err
check "naming the connection" contains <(events wrong.jsonl step.end | jq -r .error) \
  "connection 'target' (127.0.0.1:$TARGET_PORT): cannot connect: Access denied"
for f in wrong.jsonl wrong.log wrong.out wrong.err; do
  check "the password is not in $f" not_contains "$f" "$MIGRATE_TEST_WRONG_PW"
done

# ---- the dry run: connects, checks names, says what it will compare, compares nothing
book dry
expect_exit 0 "a dry run passes" "$MIGRATE" run dry.yaml --dry-run
check "it connected to both" test "$(grep -c "accepts connections" last.out)" = 2
check "it says what each check compares" contains last.out "check 'checksum of doc_lines': checksums of chunks of 1000 rows in table doc_lines, by key (doc_id, line)"
check "with the filter" contains last.out "where type = 'credit'"
check "it compared nothing" not_contains last.out "rows compared"
check "it wrote no journal" test ! -e journals
expect_exit 1 "the dry run finds an unknown table" "$MIGRATE" run unknown.yaml --dry-run
check "and names it" contains last.out "table 'docz' does not exist on the source"

# ---- a server restarted during a checksum: the step retries and completes
trap 'bash "$MARIADB_SH" stop "$WORK/private" "$PRIVATE_PORT"; cleanup_e2e' EXIT
if bash "$MARIADB_SH" start "$WORK/private" "$PRIVATE_PORT" > private.log 2>&1; then
  make_data "$PRIVATE_PORT"
  cat > restart.yaml <<YAML
version: 1
name: reconcile-restart
connections:
  source: { type: mysql, host: 127.0.0.1, port: $SOURCE_PORT, user: migrate, password: "\${secret:MIGRATE_TEST_DB_PW}", database: $DB }
  private: { type: mysql, host: 127.0.0.1, port: $PRIVATE_PORT, user: migrate, password: "\${secret:MIGRATE_TEST_DB_PW}", database: $DB }
phases:
  - id: p
    steps:
      - id: compare
        kind: reconcile
        retry: { attempts: 20, backoff: 500ms, max_backoff: 1s }
        with:
          source: source
          target: private
          checks:
            - { table: docs, checksum: true, chunk: 200, where: "id <= 4000 AND SLEEP(0.001) = 0" }
YAML
  "$MIGRATE" run restart.yaml --rehearsal --yes --journal restart.jsonl > restart.out 2>&1 &
  runner=$!
  checking() { [ "$(db "$PRIVATE_PORT" -e "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%BIT_XOR%' AND id != CONNECTION_ID()")" -ge 1 ]; }
  check "the step is checking chunks on the private server" wait_for 30 checking
  bash "$MARIADB_SH" stop "$WORK/private" "$PRIVATE_PORT"
  sleep 1
  bash "$MARIADB_SH" restart "$WORK/private" "$PRIVATE_PORT" >> private.log 2>&1
  wait "$runner"
  check "the run ended ok after the restart" test $? = 0
  check "the step was retried" test "$(events restart.jsonl step.retry | wc -l)" -ge 1
  check "the retry names the target" contains <(events restart.jsonl step.retry | head -1) "connection 'private' (127.0.0.1:$PRIVATE_PORT)"
  check "and found the copies equal" \
    test "$(events restart.jsonl step.end | jq -r .outputs.differences)" = 0
else
  FAILED=$((FAILED + 1)); echo "FAIL could not start a private MariaDB on $PRIVATE_PORT:"; cat private.log
fi
finish
