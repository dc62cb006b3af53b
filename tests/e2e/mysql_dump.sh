#!/usr/bin/env bash
# mysql.dump against the suite's MariaDB servers on loopback: every column type dumped and
# loaded back with the real mariadb client, compared row for row; triggers, views, routines;
# the field ignore list; an unknown table in `include`; one snapshot across two connections
# while a writer works; kill -9 and --resume keeping finished tables; a server restarted
# mid-dump (retried, finished tables kept); the lock refused (one connection); a wrong
# password kept secret; a dry run that writes nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mariadb_lib.sh"
SOURCE_PORT=${MIGRATE_TEST_MYSQL_SOURCE_PORT:?}
TARGET_PORT=${MIGRATE_TEST_MYSQL_TARGET_PORT:?}
DB=e2e_dump

require_fixture_servers
for name in types field consist big; do
  db "$SOURCE_PORT" -e "DROP DATABASE IF EXISTS ${DB}_$name; CREATE DATABASE ${DB}_$name CHARACTER SET utf8mb4"
  db "$TARGET_PORT" -e "DROP DATABASE IF EXISTS ${DB}_$name; CREATE DATABASE ${DB}_$name CHARACTER SET utf8mb4"
done

# book NAME DATABASE WITH-LINES...: a runbook of one mysql.dump step on the source.
book() {
  local name=$1 database=$2; shift 2
  {
    echo "version: 1"
    echo "name: dump-$name"
    echo "connections:"
    echo "  source: { type: mysql, host: 127.0.0.1, port: $SOURCE_PORT, user: ${DUMP_USER:-migrate}, password: \"\${secret:${DUMP_PW_SECRET:-MIGRATE_TEST_DB_PW}}\", database: $database }"
    echo "phases:"
    echo "  - id: p"
    echo "    steps:"
    echo "      - id: dump"
    echo "        kind: mysql.dump"
    echo "        with:"
    echo "          connection: source"
    for line in "$@"; do echo "          $line"; done
  } > "$name.yaml"
}

# load DIR PORT DATABASE: every file of a dump, in the load order, through the mariadb client.
load() {
  local dir=$1 port=$2 database=$3 kind f
  for kind in schema.sql data.sql 'data.[0-9]*.sql' triggers.sql view.sql; do
    for f in "$dir"/*.$kind.zst; do [ -e "$f" ] && zstdcat "$f"; done
  done > "$dir.load.sql"
  [ -e "$dir/routines.sql.zst" ] && zstdcat "$dir/routines.sql.zst" >> "$dir.load.sql"
  db "$port" "$database" < "$dir.load.sql"
}

# same_rows TABLE ORDER DB: the table's rows are the same in the source and the target's copy.
same_rows() {
  local query="SELECT * FROM \`$1\` ORDER BY $2"
  db "$SOURCE_PORT" "$3" -e "$query" > "rows.source"
  db "$TARGET_PORT" "$3" -e "$query" > "rows.target"
  diff rows.source rows.target > rows.diff || { echo "     rows differ:"; head -5 rows.diff; false; }
}
checksum() { db "$1" "$2" -e "CHECKSUM TABLE \`$3\`" | cut -f2; }
same_checksum() { [ "$(checksum "$SOURCE_PORT" "$1" "$2")" = "$(checksum "$TARGET_PORT" "$1" "$2")" ]; }
manifest() { jq -r "$2" "$1/migrate-dump.json"; }

# ---- every column type, NULLs, a generated column, a trigger, a view, routines, an odd name
db "$SOURCE_PORT" ${DB}_types <<'SQL'
CREATE TABLE types (
  id INT UNSIGNED PRIMARY KEY AUTO_INCREMENT,
  i INT, bu BIGINT UNSIGNED, ti TINYINT, d DECIMAL(30,8), f FLOAT, dbl DOUBLE,
  dt DATE, dtm DATETIME(6), ts TIMESTAMP(3) NULL DEFAULT NULL, tm TIME(2), y YEAR,
  c CHAR(10), vc VARCHAR(300), tx TEXT, mtx MEDIUMTEXT,
  bn BINARY(4), vb VARBINARY(300), bl BLOB, lbl LONGBLOB,
  bt BIT(12), e ENUM('a','b','c d'), s SET('x','y','z'), j JSON,
  g BIGINT AS (i * 2) VIRTUAL
) CHARACTER SET utf8mb4;
INSERT INTO types (id) VALUES (1);
INSERT INTO types (i, bu, ti, d, f, dbl, dt, dtm, ts, tm, y, c, vc, tx, mtx, bn, vb, bl, lbl, bt, e, s, j)
SELECT -2147483648, 18446744073709551615, -128, -12345678901234567890.12345678, 3.14159, -2.718281828459045e-300,
  '1000-01-01', '9999-12-31 23:59:59.999999', '2038-01-18 03:14:07.999', '-838:59:59.99', 2155,
  'it''s', CONCAT('😀 emoji ', 'quote '' dq " backslash \\ nl\n cr\r tab\t nul', CHAR(0), ' ctrlz', CHAR(26)),
  REPEAT('ünïcödé ✓ ', 1000), REPEAT('x', 70000),
  UNHEX('00FF0A27'), UNHEX(GROUP_CONCAT(LPAD(HEX(seq), 2, '0') ORDER BY seq SEPARATOR '')),
  UNHEX(GROUP_CONCAT(LPAD(HEX(255 - seq), 2, '0') ORDER BY seq SEPARATOR '')), REPEAT(UNHEX('5C27220D0A001A'), 100000),
  b'101010101010', 'c d', 'x,z', '{"k": "v\\"q", "n": [1, 2.5, null], "u": "😀"}'
FROM seq_0_to_255;
INSERT INTO types (i, bu, d, f, dbl, dt, dtm, ts, tm, y, c, vc, tx, bn, vb, bl, bt, e, s, j)
  VALUES (0, 0, 0, 0, 0, '2024-02-29', '2024-02-29 12:00:00', '1970-01-01 00:00:01', '00:00:00', 1901, '', '', '',
          '', '', '', b'0', 'a', '', '[]');
CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(100));
CREATE TRIGGER types_audit AFTER INSERT ON types FOR EACH ROW INSERT INTO audit (note) VALUES (CONCAT('row ', NEW.id));
CREATE TABLE `odd.name` (`we``ird` INT PRIMARY KEY);
INSERT INTO `odd.name` VALUES (7), (8);
CREATE VIEW positive AS SELECT id, i FROM types WHERE i > 0 OR i IS NULL;
DELIMITER ;;
CREATE PROCEDURE count_types(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM types; END;;
DELIMITER ;
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
SQL
book types ${DB}_types "to: $WORK/types"
expect_exit 0 "dump every column type" "$MIGRATE" run types.yaml --rehearsal --yes --journal types.jsonl
check "the completion marker holds the manifest's SHA-256" \
  test "$(cat types/migrate-dump.complete)" = "migrate-dump 1 sha256=$(sha256sum < types/migrate-dump.json | cut -d' ' -f1)"
check "the step's output is that SHA-256" \
  test "$(events types.jsonl step.end | jq -r .outputs.manifest_sha256)" = "$(sha256sum < types/migrate-dump.json | cut -d' ' -f1)"
check "the manifest is complete" test "$(manifest types .complete)" = true
check "it lists the three tables" test "$(manifest types '[.tables[].name] | sort | join(",")')" = "audit,odd.name,types"
check "with their rows" test "$(manifest types '.tables[] | select(.name=="types") | .rows')" = 3
check "the odd name is %-encoded" test -e "types/odd%2Ename.data.sql.zst"
check "the view and routines are there" test -e types/positive.view.sql.zst -a -e types/routines.sql.zst
check "each file's size and SHA-256 are recorded" bash -c "cd types && jq -r '.tables[] | (.schema, .data[], .triggers) | select(. != null) | \"\(.sha256)  \(.file)\"' migrate-dump.json | sha256sum -c --quiet"
check "every file tests whole" bash -c "zstd -tq types/*.zst"
check "SHA256SUMS lists every file and the manifest, and sha256sum -c accepts it" \
  bash -c "cd types && sha256sum -c --quiet SHA256SUMS && test \$(wc -l < SHA256SUMS) = \$(ls *.zst migrate-dump.json | wc -l)"
check "the metric rows counts every table" test "$(events types.jsonl step.end | jq -r .metrics.rows)" = 5
check "the files hold no database name" not_contains <(zstdcat types/*.zst) "${DB}_types"
check "binary values are hex, as --hex-blob writes" contains <(zstdcat types/types.data.sql.zst) "0x00ff0a27"
load types "$TARGET_PORT" ${DB}_types
check "the mariadb client loads the dump" test $? = 0
for table in types audit odd.name; do
  check "$table: every row equal after the round trip" same_rows "$table" 1 ${DB}_types
  check "$table: CHECKSUM TABLE equal" same_checksum ${DB}_types "$table"
done
check "HEX of the binary columns equal" test "$(db "$SOURCE_PORT" ${DB}_types -e 'SELECT MD5(GROUP_CONCAT(HEX(vb), HEX(bl), HEX(lbl), HEX(bt), HEX(bn))) FROM types')" = \
  "$(db "$TARGET_PORT" ${DB}_types -e 'SELECT MD5(GROUP_CONCAT(HEX(vb), HEX(bl), HEX(lbl), HEX(bt), HEX(bn))) FROM types')"
check "all 256 byte values survived" test "$(db "$TARGET_PORT" ${DB}_types -e 'SELECT LENGTH(vb), HEX(SUBSTR(vb, 1, 3)) FROM types WHERE id = 2')" = "$(printf '256\t000102')"
check "the generated column is computed again" test "$(db "$TARGET_PORT" ${DB}_types -e 'SELECT g FROM types WHERE id = 2')" = -4294967296
check "the trigger exists and fires" bash -c "db() { mariadb --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P$TARGET_PORT -umigrate -p$MIGRATE_TEST_DB_PW -N -B ${DB}_types \"\$@\"; }
  db -e 'INSERT INTO types (id) VALUES (100)'; test \"\$(db -e 'SELECT note FROM audit ORDER BY id DESC LIMIT 1')\" = 'row 100'"
check "the view exists" test "$(db "$TARGET_PORT" ${DB}_types -e 'SELECT COUNT(*) FROM positive')" = 2
check "the procedure exists" test "$(db "$TARGET_PORT" ${DB}_types -e 'CALL count_types(@n); SELECT @n')" = 4
check "the function exists" test "$(db "$TARGET_PORT" ${DB}_types -e 'SELECT twice(21)')" = 42

# ---- the same dump through mysql.load: the round trip of the two kinds
db "$TARGET_PORT" -e "DROP DATABASE IF EXISTS ${DB}_loaded"
cat > load-types.yaml <<YAML
version: 1
name: load-types
connections:
  target: { type: mysql, host: 127.0.0.1, port: $TARGET_PORT, user: migrate, password: "\${secret:MIGRATE_TEST_DB_PW}", database: ${DB}_loaded }
phases:
  - id: p
    steps:
      - id: load
        kind: mysql.load
        with: { connection: target, from: types }
YAML
expect_exit 0 "mysql.load loads the dump mysql.dump wrote" "$MIGRATE" run load-types.yaml --rehearsal --yes --journal load-types.jsonl
check "it counts the rows the manifest lists" test "$(events load-types.jsonl step.end | jq -r .metrics.rows)" = 5
for table in types audit odd.name; do
  query="SELECT * FROM \`$table\` ORDER BY 1"
  check "$table: every row equal after dump and load" \
    diff <(db "$SOURCE_PORT" ${DB}_types -e "$query") <(db "$TARGET_PORT" ${DB}_loaded -e "$query")
  check "$table: CHECKSUM TABLE equal after dump and load" \
    test "$(checksum "$SOURCE_PORT" ${DB}_types "$table")" = "$(checksum "$TARGET_PORT" ${DB}_loaded "$table")"
done
objects='SELECT COUNT(*) FROM positive; CALL count_types(@n); SELECT @n; SELECT twice(21)'
check "the view, procedure and function came through mysql.load" \
  test "$(db "$TARGET_PORT" ${DB}_loaded -e "$objects" | tr '\n' ' ')" = "$(db "$SOURCE_PORT" ${DB}_types -e "$objects" | tr '\n' ' ')"
check "the trigger came through mysql.load" test "$(db "$TARGET_PORT" ${DB}_loaded -e "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = '${DB}_loaded'")" = 1

# ---- the field ignore list against tables of those names
tables="qu_g_logs qu_g_mail_message_sources qu_g_eventqueues qu_g_eventsubscriptions qu_g_news qu_g_usernews
  qu_g_passwd_requests qu_g_queued_jobs qu_g_queued_plans qu_g_queue_items qu_g_queue_stats qu_g_sessions
  qu_g_session_values qu_g_token_buckets qu_la_browser_visits qu_la_conversations_search qu_la_message_drafts
  qu_la_page_visits qu_g_users qu_g_accounts qu_la_conversations qu_g_queue"
for t in $tables; do echo "CREATE TABLE $t (id INT PRIMARY KEY); INSERT INTO $t VALUES (1);"; done | db "$SOURCE_PORT" ${DB}_field
ignore_list="exclude: [qu_g_logs, qu_g_mail_message_sources, qu_g_eventqueues, qu_g_eventsubscriptions, qu_g_news, qu_g_usernews, qu_g_passwd_requests, qu_g_queued_jobs, qu_g_queued_plans, 'qu_g_queue_*', qu_g_sessions, qu_g_session_values, qu_g_token_buckets, qu_la_browser_visits, qu_la_conversations_search, qu_la_message_drafts, qu_la_page_visits]"
book field ${DB}_field "to: $WORK/field" "$ignore_list"
book fielddry ${DB}_field "to: $WORK/fielddry" "$ignore_list"
expect_exit 0 "a dry run passes" "$MIGRATE" run fielddry.yaml --dry-run
check "it lists the tables" contains last.out "table qu_g_users"
check "and the excluded" contains last.out "excluded: qu_g_eventqueues"
check "and creates nothing" test ! -e fielddry
expect_exit 0 "dump with the field ignore list" "$MIGRATE" run field.yaml --rehearsal --yes --journal field.jsonl
check "the kept tables are dumped" test "$(manifest field '[.tables[].name] | sort | join(",")')" = "qu_g_accounts,qu_g_queue,qu_g_users,qu_la_conversations"
check "the manifest lists the excluded" test "$(manifest field '.excluded | sort | join(",")')" = \
  "qu_g_eventqueues,qu_g_eventsubscriptions,qu_g_logs,qu_g_mail_message_sources,qu_g_news,qu_g_passwd_requests,qu_g_queue_items,qu_g_queue_stats,qu_g_queued_jobs,qu_g_queued_plans,qu_g_session_values,qu_g_sessions,qu_g_token_buckets,qu_g_usernews,qu_la_browser_visits,qu_la_conversations_search,qu_la_message_drafts,qu_la_page_visits"
check "no file of an excluded table" test -z "$(ls field | grep -E '^(qu_g_logs|qu_g_queue_items|qu_la_page_visits|qu_g_sessions)\.')"
check "a file of each kept table" test -e field/qu_g_queue.data.sql.zst -a -e field/qu_la_conversations.schema.sql.zst

# ---- gzip instead of zstd
book gz ${DB}_field "to: $WORK/gz" "include: ['qu_g_u*']" "compression: gzip" "level: 9"
expect_exit 0 "a gzip dump" "$MIGRATE" run gz.yaml --rehearsal --yes --journal gz.jsonl
check "its files are .gz and test whole" gzip -t gz/qu_g_users.data.sql.gz gz/qu_g_usernews.schema.sql.gz
check "the include glob chose two tables" test "$(manifest gz '[.tables[].name] | sort | join(",")')" = "qu_g_usernews,qu_g_users"
check "the data is there" contains <(zcat gz/qu_g_users.data.sql.gz) 'INSERT INTO `qu_g_users` (`id`) VALUES (1);'

# ---- an unknown table in the include list
book unknown ${DB}_field "to: $WORK/unknown" "include: [qu_g_users, qu_g_acounts]"
expect_exit 1 "an unknown table in 'include' fails the step" "$MIGRATE" run unknown.yaml --rehearsal --yes --journal unknown.jsonl
check "naming it, with a did-you-mean" test "$(events unknown.jsonl step.end | jq -r .error)" = \
  "'include': the database has no table 'qu_g_acounts'; did you mean 'qu_g_accounts'?"
check "writing no dump" test ! -e unknown/migrate-dump.complete
expect_exit 1 "the dry run finds it too" "$MIGRATE" run unknown.yaml --dry-run
check "and says so" contains last.out "no table 'qu_g_acounts'"

# ---- a directory that holds a finished dump
book done ${DB}_field "to: $WORK/field"
expect_exit 1 "a directory that holds a complete dump is refused" "$MIGRATE" run done.yaml --rehearsal --yes --journal done.jsonl
check "saying so" contains <(events done.jsonl step.end | jq -r .error) "already holds a complete dump"

# ---- one snapshot across two connections while a writer works
db "$SOURCE_PORT" ${DB}_consist <<'SQL'
CREATE TABLE orders (id INT PRIMARY KEY, pad VARCHAR(200)) ENGINE=InnoDB;
CREATE TABLE order_lines (id INT PRIMARY KEY, order_id INT, pad VARCHAR(200)) ENGINE=InnoDB;
INSERT INTO orders SELECT seq, REPEAT('o', 200) FROM seq_1_to_150000;
INSERT INTO order_lines SELECT seq, seq, REPEAT('l', 200) FROM seq_1_to_150000;
DELIMITER ;;
-- Writes until told to stop (a row in writer_stop), and never for more than 5 minutes: a
-- procedure goes on in the server after its client is killed.
CREATE TABLE writer_stop (id INT PRIMARY KEY) ENGINE=InnoDB;;
CREATE PROCEDURE writer()
BEGIN
  DECLARE k INT DEFAULT 1000000;
  DECLARE deadline DATETIME DEFAULT NOW() + INTERVAL 5 MINUTE;
  WHILE NOW() < deadline AND NOT EXISTS (SELECT 1 FROM writer_stop) DO
    START TRANSACTION;
    INSERT INTO orders VALUES (k, 'new');
    INSERT INTO order_lines VALUES (k, k, 'new');
    COMMIT;
    SET k = k + 1;
  END WHILE;
END;;
DELIMITER ;
SQL
db "$SOURCE_PORT" ${DB}_consist -e "CALL writer()" > /dev/null 2>&1 &
writer=$!
written() { [ "$(db "$SOURCE_PORT" ${DB}_consist -e 'SELECT COUNT(*) FROM orders WHERE id >= 1000000')" -gt 100 ]; }
check "the writer writes" wait_for 20 written
db "$SOURCE_PORT" ${DB}_consist -e "ANALYZE TABLE orders, order_lines" > /dev/null
book consist ${DB}_consist "to: $WORK/consist" "threads: 2" "routines: false" "chunk_rows: 40000"
expect_exit 0 "dump with two connections while the writer writes" "$MIGRATE" run consist.yaml --rehearsal --yes --journal consist.jsonl
db "$SOURCE_PORT" ${DB}_consist -e "INSERT INTO writer_stop VALUES (1)"
check "the writer stops when told" wait_for 30 eval '! kill -0 "$writer" 2> /dev/null'
kill "$writer" 2> /dev/null; wait "$writer" 2> /dev/null
check "the writer went on during the dump" test "$(db "$SOURCE_PORT" ${DB}_consist -e 'SELECT COUNT(*) FROM orders WHERE id >= 1000000')" -gt \
  "$(manifest consist '.tables[] | select(.name=="orders") | .rows - 150000')"
check "two connections read one snapshot" test "$(manifest consist '"\(.snapshot.connections) \(.snapshot.consistent)"')" = "2 true"
check "the binary log position is recorded" test "$(manifest consist '.snapshot.binlog_position')" -gt 0
check "and its file" contains <(manifest consist .snapshot.binlog_file) "."
check "both tables have the same rows" test "$(manifest consist '.tables[] | select(.name=="orders") | .rows')" = \
  "$(manifest consist '.tables[] | select(.name=="order_lines") | .rows')"
check "the big tables were cut into chunks by key range" test "$(manifest consist '.tables[] | select(.name=="orders") | .data | length')" -ge 3
check "named .data.00001 and on" test -e consist/orders.data.00001.sql.zst -a -e consist/orders.data.00002.sql.zst
check "whose rows add up to the table's" test "$(manifest consist '.tables[] | select(.name=="orders") | ([.data[].rows] | add) == .rows')" = true
check "the outputs carry the position" test "$(events consist.jsonl step.end | jq -r .outputs.binlog_position)" = "$(manifest consist .snapshot.binlog_position)"
load consist "$TARGET_PORT" ${DB}_consist
check "every order has its line in the dump" test "$(db "$TARGET_PORT" ${DB}_consist -e 'SELECT COUNT(*) FROM orders o LEFT JOIN order_lines l ON l.id = o.id WHERE l.id IS NULL')" = 0
check "and every line its order" test "$(db "$TARGET_PORT" ${DB}_consist -e 'SELECT COUNT(*) FROM order_lines l LEFT JOIN orders o ON l.id = o.id WHERE o.id IS NULL')" = 0

# ---- the global read lock refused (no RELOAD): one connection, still one snapshot
db "$SOURCE_PORT" -e "DROP USER IF EXISTS 'e2e_dump_ro'@'127.0.0.1'; CREATE USER 'e2e_dump_ro'@'127.0.0.1' IDENTIFIED BY 'ro-Pw-8812';
  GRANT SELECT, SHOW VIEW, TRIGGER, BINLOG MONITOR ON *.* TO 'e2e_dump_ro'@'127.0.0.1'"
export MIGRATE_TEST_RO_PW=ro-Pw-8812
DUMP_USER=e2e_dump_ro DUMP_PW_SECRET=MIGRATE_TEST_RO_PW book nolock ${DB}_consist "to: $WORK/nolock" "threads: 2" "routines: false"
expect_exit 0 "a user without RELOAD dumps too" "$MIGRATE" run nolock.yaml --rehearsal --yes --journal nolock.jsonl
check "it says it fell back to one connection" contains last.out "FLUSH TABLES WITH READ LOCK was refused"
check "the manifest says one connection, consistent" test "$(manifest nolock '"\(.snapshot.connections) \(.snapshot.consistent)"')" = "1 true"
check "the snapshot's binary log position is still known" test "$(manifest nolock '.snapshot.binlog_position')" -gt 0

# ---- kill -9 in the middle of the dump, then --resume
db "$SOURCE_PORT" ${DB}_big -e "CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(500), b BLOB);
  INSERT INTO big SELECT seq, REPEAT(MD5(seq), 12), RANDOM_BYTES(200) FROM seq_1_to_15000"
for t in s1 s2 s3 s4; do
  db "$SOURCE_PORT" ${DB}_big -e "CREATE TABLE $t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO $t SELECT seq, CONCAT('$t-', seq) FROM seq_1_to_1000"
done
book big ${DB}_big "to: $WORK/big" "threads: 2" "level: 19"
"$MIGRATE" run big.yaml --rehearsal --yes --journal big.jsonl > big1.out 2>&1 &
runner=$!
small_done() { [ "$(events big.jsonl step.checkpoint 2> /dev/null | wc -l)" -ge 4 ]; }
check "the small tables finish while the big one is read" wait_for 60 small_done
check "the big one is not finished yet" test -z "$(manifest big '.tables[] | select(.name=="big") | .name')"
kill -9 "$runner"; wait "$runner" 2> /dev/null
check "no completion marker after kill -9" test ! -e big/migrate-dump.complete
check "the manifest says unfinished" test "$(manifest big .complete)" = false
check "the big table's data is a .partial, not a finished file" test ! -e big/big.data.sql.zst
stat -c '%n %i %Y' big/s?.*.sql.zst > kept.before
expect_exit 0 "--resume finishes the dump" "$MIGRATE" run big.yaml --rehearsal --yes --journal big.jsonl --resume
check "it says it kept the finished tables" contains last.out "keeping 4 tables finished before"
stat -c '%n %i %Y' big/s?.*.sql.zst > kept.after
check "their files are the same files, untouched" diff kept.before kept.after
check "no .partial is left" test -z "$(ls big | grep partial)"
check "the marker matches the manifest" test "$(cat big/migrate-dump.complete)" = "migrate-dump 1 sha256=$(sha256sum < big/migrate-dump.json | cut -d' ' -f1)"
# Other tests write to the shared source server meanwhile: the snapshot may have moved.
check "consistent exactly when both attempts read at one position" \
  test "$(manifest big '"\(.snapshot.consistent) \(.snapshots | length)"')" = "true 1" -o \
       "$(manifest big '"\(.snapshot.consistent) \(.snapshots | length)"')" = "false 2"
check "the step reports 4 tables kept" test "$(events big.jsonl step.end | jq -r .metrics.tables_kept)" = 4
load big "$TARGET_PORT" ${DB}_big
for t in big s1 s2 s3 s4; do
  check "$t: equal to the source after the resumed dump" same_checksum ${DB}_big "$t"
done

# ---- the server restarted in the middle of the dump: the step retries, keeping finished tables
MARIADB_SH=$(cd "$(dirname "$0")" && pwd)/mariadb.sh
PRIVATE_PORT=$(( ${MIGRATE_TEST_PORT_BASE:-18480} + 20 ))
trap 'bash "$MARIADB_SH" stop "$WORK/private" "$PRIVATE_PORT"; cleanup_e2e' EXIT
if bash "$MARIADB_SH" start "$WORK/private" "$PRIVATE_PORT" source > private.log 2>&1; then
  db "$PRIVATE_PORT" -e "CREATE DATABASE ${DB}_restart"
  db "$PRIVATE_PORT" ${DB}_restart -e "CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(500), b BLOB);
    INSERT INTO big SELECT seq, REPEAT(MD5(seq), 12), RANDOM_BYTES(200) FROM seq_1_to_15000"
  for t in s1 s2 s3; do
    db "$PRIVATE_PORT" ${DB}_restart -e "CREATE TABLE $t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO $t SELECT seq, CONCAT('$t-', seq) FROM seq_1_to_1000"
  done
  cat > restart.yaml <<YAML
version: 1
name: dump-restart
connections:
  private: { type: mysql, host: 127.0.0.1, port: $PRIVATE_PORT, user: migrate, password: "\${secret:MIGRATE_TEST_DB_PW}", database: ${DB}_restart }
phases:
  - id: p
    steps:
      - id: dump
        kind: mysql.dump
        retry: { attempts: 20, backoff: 500ms, max_backoff: 1s }
        with: { connection: private, to: "$WORK/restart", threads: 2, level: 19 }
YAML
  "$MIGRATE" run restart.yaml --rehearsal --yes --journal restart.jsonl > restart.out 2>&1 &
  runner=$!
  three_done() { [ "$(events restart.jsonl step.checkpoint 2> /dev/null | wc -l)" -ge 3 ]; }
  check "the small tables finish while the big one is read" wait_for 60 three_done
  bash "$MARIADB_SH" stop "$WORK/private" "$PRIVATE_PORT"
  sleep 1
  bash "$MARIADB_SH" restart "$WORK/private" "$PRIVATE_PORT" >> private.log 2>&1
  wait "$runner"
  check "the run ended ok after the restart" test $? = 0
  check "the step was retried" test "$(events restart.jsonl step.retry | wc -l)" -ge 1
  check "the retry names the connection" contains <(events restart.jsonl step.retry | head -1) "connection 'private' (127.0.0.1:$PRIVATE_PORT)"
  check "the retry kept the three finished tables" test "$(events restart.jsonl step.end | jq -r .metrics.tables_kept)" = 3
  check "the dump is complete" test "$(manifest restart .complete)" = true -a -e restart/migrate-dump.complete
  db "$PRIVATE_PORT" -e "CREATE DATABASE ${DB}_restart_copy"
  load restart "$PRIVATE_PORT" ${DB}_restart_copy
  for t in big s1 s2 s3; do
    check "$t: equal to the source after the retried dump" test \
      "$(db "$PRIVATE_PORT" ${DB}_restart -e "CHECKSUM TABLE $t" | cut -f2)" = "$(db "$PRIVATE_PORT" ${DB}_restart_copy -e "CHECKSUM TABLE $t" | cut -f2)"
  done
else
  FAILED=$((FAILED + 1)); echo "FAIL could not start a private MariaDB on $PRIVATE_PORT:"; cat private.log
fi

# ---- a wrong password: the connection is named, the password shown nowhere
export MIGRATE_TEST_WRONG_PW='wrong-Pw-Dump77-secret'
DUMP_PW_SECRET=MIGRATE_TEST_WRONG_PW book wrong ${DB}_field "to: $WORK/wrong"
expect_exit 1 "a wrong password fails the step" "$MIGRATE" run wrong.yaml --rehearsal --yes --journal wrong.jsonl --log-file wrong.log
cp last.out wrong.out; cp last.err wrong.err
check "the error names the connection" contains <(events wrong.jsonl step.end | jq -r .error) \
  "connection 'source' (127.0.0.1:$SOURCE_PORT): cannot connect: Access denied for user 'migrate'"
for f in wrong.jsonl wrong.log wrong.out wrong.err; do
  check "the password is not in $f" not_contains "$f" "$MIGRATE_TEST_WRONG_PW"
done
check "no dump is left looking complete" test ! -e wrong/migrate-dump.complete

for name in types field consist big; do
  db "$SOURCE_PORT" -e "DROP DATABASE IF EXISTS ${DB}_$name"
  db "$TARGET_PORT" -e "DROP DATABASE IF EXISTS ${DB}_$name"
done
db "$SOURCE_PORT" -e "DROP USER IF EXISTS 'e2e_dump_ro'@'127.0.0.1'"
finish
