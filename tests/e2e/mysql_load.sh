#!/usr/bin/env bash
# mysql.load against the suite's MariaDB servers: a dump directory (written per
# docs/dump-format.md by make_dump_dir.sh) with every column type, a trigger, views on
# views and a procedure, compared row for row with the source; plain mariadb-dump files as
# .sql, .sql.gz and .sql.zst; kill -9 mid-load and --resume; a private server restarted
# mid-load; refused input (no marker, a file cut short, a newer format, a statement the
# server refuses, tables that exist already); a dry run that writes nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mariadb_lib.sh"
E2E=$(cd "$(dirname "$0")" && pwd)
SOURCE_PORT=${MIGRATE_TEST_MYSQL_SOURCE_PORT:?}
TARGET_PORT=${MIGRATE_TEST_MYSQL_TARGET_PORT:?}
PRIVATE_PORT=$(( ${MIGRATE_TEST_PORT_BASE:-18480} + 21 ))  # a server of this test's own, to restart
P=e2e_load  # every database of this test begins so

require_fixture_servers
for port in "$SOURCE_PORT" "$TARGET_PORT"; do
  for old in $(db "$port" -e "SHOW DATABASES LIKE '${P}%'"); do db "$port" -e "DROP DATABASE \`$old\`"; done
done

# The rows of a table as INSERTs, one per row, in key order: equal text is equal data.
rows_of() {  # PORT DB TABLE
  mariadb-dump --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P"$1" -umigrate -p"$MIGRATE_TEST_DB_PW" --compact --skip-comments --hex-blob \
    --no-create-info --skip-extended-insert --order-by-primary --skip-triggers --tz-utc "$2" "$3" | grep -v '^/\*M!999999'
}
same_rows() {  # SOURCE_DB TARGET_DB TABLE: the target's rows are the source's
  local a b
  a=$(rows_of "$SOURCE_PORT" "$1" "$3"); b=$(rows_of "$TARGET_PORT" "$2" "$3")
  [ -n "$a" ] && [ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b") | head -5; false; }
}
count() { db "$1" "$2" -e "SELECT COUNT(*) FROM \`$3\`"; }
# A checksum of a table's rows that does not depend on their order or a primary key.
content_sum() { db "$1" "$2" -e "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, payload))) FROM \`$3\`"; }

connection() {  # NAME PORT [DATABASE]
  echo "  $1: { type: mysql, host: 127.0.0.1, port: $2, user: migrate, password: \"\${secret:MIGRATE_TEST_DB_PW}\"${3:+, database: $3} }"
}
book() {  # FILE STEP-WITH-YAML [STEP-EXTRA]: a runbook of one mysql.load step on the target
  cat > "$1" <<YAML
version: 1
name: load-e2e
connections:
$(connection target "$TARGET_PORT")
$(connection private "$PRIVATE_PORT")
phases:
  - id: p
    steps:
      - id: load
        kind: mysql.load
        ${3:-}
        with: $2
YAML
}
last_error() { events "$1" step.end | jq -r .error; }

# ---- the source: every column type, a trigger, views on views, a procedure
SRC=${P}_src
db "$SOURCE_PORT" -e "CREATE DATABASE $SRC CHARACTER SET utf8mb4"
all_bytes=$(printf '%02X' $(seq 0 255))
db "$SOURCE_PORT" "$SRC" <<SQL
CREATE TABLE every_type (
  id INT PRIMARY KEY, b BLOB, vb VARBINARY(300), bn BINARY(4), bits BIT(10),
  txt TEXT, vc VARCHAR(100) COLLATE utf8mb4_bin, latin VARCHAR(20) CHARACTER SET latin1,
  d DATE, dt DATETIME(6), ts TIMESTAMP NULL, tm TIME(3), yr YEAR,
  dec1 DECIMAL(30,10), f FLOAT, dbl DOUBLE, big BIGINT UNSIGNED, tiny TINYINT,
  js JSON, en ENUM('a','b','c'), st SET('x','y','z'), note VARCHAR(40),
  UNIQUE KEY by_big (big, id), KEY by_note (note), KEY by_day (d, dt)
);
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(100));
INSERT INTO every_type VALUES
  (1, UNHEX('$all_bytes'), 0x00FF27225C0D0A1A3B, 0x00010203, b'1010101010',
   'emoji 😀🚀 ünïcödé 中文 quote '' dquote " backslash \\\\ semicolon ; dash -- star /* */ nul', 'Ÿ ß ∑ 🙂', 'café',
   '1000-01-01', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07', '-838:59:59.000', 1901,
   '-12345678901234567890.0123456789', 1.5e-10, 3.141592653589793, 18446744073709551615, -128,
   '{"k": "v 😀", "n": [1, 2.5, null], "q": "a\\\\"b"}', 'c', 'x,z', CONCAT('row', CHAR(0 USING utf8mb4), 'one')),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL),
  (3, '', '', 0x00000000, b'0', '', '', '', '2024-02-29', '2024-02-29 12:00:00', '1970-01-01 00:00:01', '00:00:00', 2155,
   0, 0, 0, 0, 0, '[]', 'a', '', 'empty values');
INSERT INTO every_type (id, b, txt, dec1, js, note)
  SELECT seq + 10, UNHEX(SHA2(seq, 512)), REPEAT(CONCAT('text ', seq, ' 😀 '), seq % 50), seq / 7, JSON_OBJECT('seq', seq), 'generated'
  FROM seq_1_to_2000;
INSERT INTO audit (note) SELECT CONCAT('note ', seq) FROM seq_1_to_25;
CREATE TRIGGER every_type_added AFTER INSERT ON every_type FOR EACH ROW INSERT INTO audit (note) VALUES (CONCAT('added ', NEW.id));
CREATE VIEW v_ids AS SELECT id FROM every_type;
CREATE VIEW v_top AS SELECT MAX(id) AS top FROM v_ids;
DELIMITER //
CREATE PROCEDURE count_types(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM every_type; END//
DELIMITER ;
SQL
# v_top before v_ids: the load must try it again once v_ids is there.
bash "$E2E/make_dump_dir.sh" "$SOURCE_PORT" "$SRC" dump zstd v_top v_ids
check "the test dump directory was written" test -f dump/migrate-dump.complete

# ---- 1. a dump directory into a new database: every row, every type, every object
T1=${P}_dir
book dir.yaml "{ connection: target, from: $WORK/dump, database: $T1, threads: 2 }"
expect_exit 0 "a dump directory loads" "$MIGRATE" run dir.yaml --rehearsal --yes --journal dir.jsonl
check "the database was made" test "$(db "$TARGET_PORT" -e "SHOW DATABASES LIKE '$T1'")" = "$T1"
check "every_type: every row equal, all 256 byte values, emoji, NULLs" same_rows "$SRC" "$T1" every_type
check "audit: equal" same_rows "$SRC" "$T1" audit
check "the same table definition, its secondary keys added after the data" test \
  "$(db "$SOURCE_PORT" "$SRC" -e 'SHOW CREATE TABLE every_type')" = "$(db "$TARGET_PORT" "$T1" -e 'SHOW CREATE TABLE every_type')"
check "the 256 byte values survived" test "$(db "$TARGET_PORT" "$T1" -e 'SELECT HEX(b) FROM every_type WHERE id = 1')" = "$all_bytes"
check "the emoji survived" test "$(db "$TARGET_PORT" "$T1" -e 'SELECT vc FROM every_type WHERE id = 1')" = "Ÿ ß ∑ 🙂"
check "the view on a view works" test "$(db "$TARGET_PORT" "$T1" -e 'SELECT top FROM v_top')" = 2010
check "the procedure works" test "$(db "$TARGET_PORT" "$T1" -e 'CALL count_types(@n); SELECT @n')" = 2003
T1B=${P}_dir_inserts
book dir-inserts.yaml "{ connection: target, from: $WORK/dump, database: $T1B, threads: 2, load_data: false }"
expect_exit 0 "the same dump loads with load_data: false" "$MIGRATE" run dir-inserts.yaml --rehearsal --yes --journal dir-inserts.jsonl
check "as INSERTs only (metric load_data_statements 0)" test "$(events dir-inserts.jsonl step.end | jq .metrics.load_data_statements)" = 0
for table in every_type audit; do
  check "$table: INSERTs give the source's rows too" same_rows "$SRC" "$T1B" $table
done
check "LOAD DATA and INSERT: the same CHECKSUM TABLE" test "$(db "$TARGET_PORT" "$T1" -e 'CHECKSUM TABLE every_type' | cut -f2)" = "$(db "$TARGET_PORT" "$T1B" -e 'CHECKSUM TABLE every_type' | cut -f2)"
db "$TARGET_PORT" "$T1" -e "INSERT INTO every_type (id) VALUES (99999)"
check "the trigger added one audit row" test "$(count "$TARGET_PORT" "$T1" audit)" = $(( $(count "$SOURCE_PORT" "$SRC" audit) + 1 ))
end=$(events dir.jsonl step.end)
check "metric rows is the manifest's" test "$(echo "$end" | jq .metrics.rows)" = $(( 2003 + $(count "$SOURCE_PORT" "$SRC" audit) ))
check "metric tables" test "$(echo "$end" | jq .metrics.tables)" = 2
check "metric bytes is the SQL of the dump" test "$(echo "$end" | jq .metrics.bytes)" = "$(jq '[.tables[] | .schema.raw_bytes, (.data[].raw_bytes), (.triggers.raw_bytes // 0)] + [.views[].raw_bytes] + [.routines.raw_bytes] | add' dump/migrate-dump.json)"
check "metric statements" test "$(echo "$end" | jq .metrics.statements)" -gt 10
check "the data went in as LOAD DATA (metric load_data_statements)" test "$(echo "$end" | jq .metrics.load_data_statements)" -ge 2
check "a checkpoint per finished table" test "$(events dir.jsonl step.checkpoint | jq -r '.state.tables_done | length' | sort -n | tail -1)" = 2
check "progress in bytes" test "$(events dir.jsonl step.progress | head -1 | jq '.metrics.bytes_total')" -gt 0

# ---- 2. tables that exist are refused without replace; replaced with it
expect_exit 1 "loading over existing tables is refused" "$MIGRATE" run dir.yaml --rehearsal --yes --journal again.jsonl
check "naming the tables and what to do" contains <(last_error again.jsonl) "database \`$T1\` on connection 'target' (127.0.0.1:$TARGET_PORT) already has 4 tables of the dump: \`audit\`, \`every_type\`, \`v_ids\`, \`v_top\`; nothing was loaded. Set 'replace: true'"
check "the target kept its extra row" test "$(count "$TARGET_PORT" "$T1" every_type)" = 2004
book replace.yaml "{ connection: target, from: $WORK/dump, database: $T1, replace: true, tables: [every_*] }"
expect_exit 0 "replace: true loads them again (a glob chooses the table)" "$MIGRATE" run replace.yaml --rehearsal --yes --journal replace.jsonl
check "the replaced table equals the source again" same_rows "$SRC" "$T1" every_type
check "one table loaded" test "$(events replace.jsonl step.end | jq .metrics.tables)" = 1
book unknown.yaml "{ connection: target, from: $WORK/dump, database: ${P}_unknown, tables: [every_typo] }"
expect_exit 1 "an unknown table in 'tables' is refused" "$MIGRATE" run unknown.yaml --rehearsal --yes --journal unknown.jsonl
check "with a did-you-mean" contains <(last_error unknown.jsonl) "'tables': the dump has no table 'every_typo'; did you mean 'every_type'?"

# ---- 3. plain mariadb-dump files: .sql, .sql.gz, .sql.zst (DELIMITER for the trigger and procedure)
mariadb-dump --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P"$SOURCE_PORT" -umigrate -p"$MIGRATE_TEST_DB_PW" --single-transaction --hex-blob \
  --routines --triggers "$SRC" > plain.sql
gzip -c plain.sql > plain.sql.gz
zstd -q -c plain.sql > plain.sql.zst
cp plain.sql.zst misnamed.sql.gz
check "the plain dump has DELIMITER blocks" contains plain.sql "DELIMITER ;;"
for file in plain.sql plain.sql.gz plain.sql.zst misnamed.sql.gz; do
  T=${P}_plain_$(echo "$file" | tr -c 'a-z\n' '_')
  book plain.yaml "{ connection: target, from: $WORK/$file, database: $T }"
  expect_exit 0 "$file loads" "$MIGRATE" run plain.yaml --rehearsal --yes --journal "$file.jsonl"
  check "$file: every_type equal" same_rows "$SRC" "$T" every_type
  check "$file: every_type has the same definition (keys deferred and added)" test \
    "$(db "$SOURCE_PORT" "$SRC" -e 'SHOW CREATE TABLE every_type')" = "$(db "$TARGET_PORT" "$T" -e 'SHOW CREATE TABLE every_type')"
  check "$file: every_type's two plain keys were added after its rows (metric keys_deferred)" test \
    "$(events "$file.jsonl" step.end | jq .metrics.keys_deferred)" = 2
  check "$file: audit equal" same_rows "$SRC" "$T" audit
  check "$file: the procedure works" test "$(db "$TARGET_PORT" "$T" -e 'CALL count_types(@n); SELECT @n')" = 2003
  check "$file: the trigger is there" test "$(db "$TARGET_PORT" -e "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='$T'")" = 1
  check "$file: the views work" test "$(db "$TARGET_PORT" "$T" -e 'SELECT top FROM v_top')" = 2010
done
check "plain: a checkpoint at each table's DROP TABLE" test "$(events plain.sql.jsonl step.checkpoint | jq -r .state.statements_done | sort -n | tail -1)" -gt 5
expect_exit 1 "a plain file over a database with tables is refused" "$MIGRATE" run plain.yaml --rehearsal --yes --journal plain-again.jsonl
check "saying replace: true would load over them" contains <(last_error plain-again.jsonl) "which $WORK/misnamed.sql.gz may drop and recreate; nothing was loaded. Set 'replace: true'"

# ---- 4. bad input: no marker, a data file cut short, a newer format, a statement refused
cp -r dump nomarker && rm nomarker/migrate-dump.complete
book nomarker.yaml "{ connection: target, from: $WORK/nomarker, database: ${P}_nomarker }"
expect_exit 1 "a dump without its completion marker is refused" "$MIGRATE" run nomarker.yaml --rehearsal --yes --journal nomarker.jsonl
check "saying it is not complete" contains <(last_error nomarker.jsonl) "$WORK/nomarker is not a complete dump: migrate-dump.complete is missing"
check "no database was made" test -z "$(db "$TARGET_PORT" -e "SHOW DATABASES LIKE '${P}_nomarker'")"

cp -r dump cut
data_file=every_type.data.sql.zst
truncate -s $(( $(stat -c %s cut/$data_file) / 2 )) cut/$data_file
book cut.yaml "{ connection: target, from: $WORK/cut, database: ${P}_cut }"
expect_exit 1 "a data file cut short is refused" "$MIGRATE" run cut.yaml --rehearsal --yes --journal cut.jsonl
check "naming the file" contains <(last_error cut.jsonl) "$WORK/cut/$data_file has"
check "saying it is cut short and nothing loaded" contains <(last_error cut.jsonl) "the file is cut short; nothing was loaded"
check "no database was made" test -z "$(db "$TARGET_PORT" -e "SHOW DATABASES LIKE '${P}_cut'")"

# A file of the same size but other bytes: found by its SHA-256 as it streams; the table is dropped.
cp -r dump damaged
size=$(stat -c %s damaged/$data_file)
printf 'XXXX' | dd of=damaged/$data_file bs=1 seek=$(( size - 6 )) conv=notrunc 2> /dev/null
book damaged.yaml "{ connection: target, from: $WORK/damaged, database: ${P}_damaged }"
expect_exit 1 "a damaged data file fails the load" "$MIGRATE" run damaged.yaml --rehearsal --yes --journal damaged.jsonl
check "naming the file" contains <(last_error damaged.jsonl) "$data_file"
check "and the half-loaded table is dropped" contains <(last_error damaged.jsonl) "table \`every_type\` was half-loaded and is dropped"
check "it is not in the target" test -z "$(db "$TARGET_PORT" -e "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA='${P}_damaged' AND TABLE_NAME='every_type'")"

cp -r dump newer
jq '.format_version = 2' dump/migrate-dump.json > newer/migrate-dump.json
echo "migrate-dump 2 sha256=$(sha256sum newer/migrate-dump.json | cut -d' ' -f1)" > newer/migrate-dump.complete
book newer.yaml "{ connection: target, from: $WORK/newer, database: ${P}_newer }"
expect_exit 1 "a dump of a newer format is refused" "$MIGRATE" run newer.yaml --rehearsal --yes --journal newer.jsonl
check "with the contract's message" contains <(last_error newer.jsonl) "dump format version 2 is newer than this build of migrate reads (1)"

cp -r dump badsql
printf '%s\n' "INSERT INTO \`audit\` (\`id\`, \`note\`) VALUES (1,'first');" "" "INSERT INTO \`audit\` (\`id\`, \`note\`) VALUES (1,'again');" > badsql.sql
zstd -q -c badsql.sql > badsql/audit.data.sql.zst
jq --argjson bytes "$(stat -c %s badsql/audit.data.sql.zst)" --arg sha "$(sha256sum badsql/audit.data.sql.zst | cut -d' ' -f1)" \
  --argjson raw "$(stat -c %s badsql.sql)" \
  '(.tables[] | select(.name == "audit") | .data[0]) |= (.bytes = $bytes | .sha256 = $sha | .raw_bytes = $raw)' \
  dump/migrate-dump.json > badsql/migrate-dump.json
echo "migrate-dump 1 sha256=$(sha256sum badsql/migrate-dump.json | cut -d' ' -f1)" > badsql/migrate-dump.complete
book badsql.yaml "{ connection: target, from: $WORK/badsql, database: ${P}_badsql, threads: 1 }"
expect_exit 1 "a statement the server refuses fails the load" "$MIGRATE" run badsql.yaml --rehearsal --yes --journal badsql.jsonl
check "naming file, statement, line and the server's message" contains <(last_error badsql.jsonl) \
  "audit.data.sql.zst: statement 2 (line 3, INSERT INTO \`audit\` (\`id\`, \`note\`) VALUES (1,'again')): connection 'target' (127.0.0.1:$TARGET_PORT): Duplicate entry '1' for key 'PRIMARY' (error 1062)"
check "the journal's last checkpoint lists only the finished table" test "$(events badsql.jsonl step.checkpoint | tail -1 | jq -c .state.tables_done)" = '["every_type"]'

# ---- 5. a dry run checks the dump and the connection and writes nothing
book dry.yaml "{ connection: target, from: $WORK/dump, database: ${P}_dry }"
expect_exit 0 "a dry run passes" "$MIGRATE" run dry.yaml --dry-run
check "it read the dump" contains last.out "complete, 2 of 2 tables selected"
check "it connected" contains last.out "connection 'target' (127.0.0.1:$TARGET_PORT) accepts connections"
check "it made nothing" test -z "$(db "$TARGET_PORT" -e "SHOW DATABASES LIKE '${P}_dry'")"
book dryplain.yaml "{ connection: target, from: $WORK/misnamed.sql.gz, database: ${P}_dry }"
expect_exit 0 "a dry run of a plain file passes" "$MIGRATE" run dryplain.yaml --dry-run
check "it tells the compression by the bytes, not the name" contains last.out "SQL file $WORK/misnamed.sql.gz: "
check "(zstd)" contains last.out "iB, zstd"
check "it made nothing" test -z "$(db "$TARGET_PORT" -e "SHOW DATABASES LIKE '${P}_dry'")"
book drycut.yaml "{ connection: target, from: $WORK/cut, database: ${P}_dry }"
expect_exit 1 "a dry run finds the file cut short" "$MIGRATE" run drycut.yaml --dry-run
check "and names it" contains last.out "$data_file has"

# ---- 6. kill -9 in the middle of a big table, then --resume: equal to a clean load
BIG=${P}_bigsrc
db "$SOURCE_PORT" -e "CREATE DATABASE $BIG"
db "$SOURCE_PORT" "$BIG" <<SQL
CREATE TABLE big (id INT, payload VARCHAR(255));  -- no key: a row loaded twice would stay twice
INSERT INTO big SELECT seq, CONCAT(seq, ' ', REPEAT(SHA2(seq, 256), 3)) FROM seq_1_to_400000;
CREATE TABLE small1 (id INT PRIMARY KEY, payload VARCHAR(20));
INSERT INTO small1 SELECT seq, CONCAT('s1-', seq) FROM seq_1_to_100;
CREATE TABLE small2 (id INT PRIMARY KEY, payload VARCHAR(20));
INSERT INTO small2 SELECT seq, CONCAT('s2-', seq) FROM seq_1_to_50;
SQL
bash "$E2E/make_dump_dir.sh" "$SOURCE_PORT" "$BIG" bigdump gzip
# A table cut into chunk files (as mysql.dump cuts a big one): the chunks load side by side.
cp -r bigdump chunked
gzip -dc bigdump/big.data.sql.gz > big.data.sql
head -n 4 big.data.sql > header.sql
tail -n +5 big.data.sql | awk -v dir=chunked 'BEGIN { n = 1 } { print > (dir "/chunk" n) } /\);$/ { if (++lines % 30 == 0 && n < 3) n++ }'
entries=""
for n in 1 2 3; do
  name=$(printf 'big.data.%05d.sql.gz' "$n")
  cat header.sql "chunked/chunk$n" | gzip -1 > "chunked/$name"
  raw=$(cat header.sql "chunked/chunk$n" | wc -c)
  rm "chunked/chunk$n"
  entries+="{\"file\": \"$name\", \"bytes\": $(stat -c %s "chunked/$name"), \"raw_bytes\": $raw, \"sha256\": \"$(sha256sum "chunked/$name" | cut -d' ' -f1)\"},"
done
rm chunked/big.data.sql.gz
jq --argjson data "[${entries%,}]" '(.tables[] | select(.name == "big") | .data) = $data' bigdump/migrate-dump.json > chunked/migrate-dump.json
echo "migrate-dump 1 sha256=$(sha256sum chunked/migrate-dump.json | cut -d' ' -f1)" > chunked/migrate-dump.complete
check "the chunked dump has three data files for big" test "$(jq '.tables[] | select(.name == "big") | .data | length' chunked/migrate-dump.json)" = 3
book chunked.yaml "{ connection: target, from: $WORK/chunked, database: ${P}_chunked, threads: 2 }"
expect_exit 0 "a table in three chunk files loads" "$MIGRATE" run chunked.yaml --rehearsal --yes --journal chunked.jsonl
check "big: every row once" test "$(content_sum "$TARGET_PORT" ${P}_chunked big)" = "$(content_sum "$SOURCE_PORT" "$BIG" big)"
check "one checkpoint lists big once its three chunks are in" test \
  "$(events chunked.jsonl step.checkpoint | jq -c '.state.tables_done | map(select(. == "big")) | length' | sort -u | tr '\n' ' ')" = "0 1 "

T6=${P}_kill
book kill.yaml "{ connection: target, from: $WORK/bigdump, database: $T6, threads: 2 }"
"$MIGRATE" run kill.yaml --rehearsal --yes --journal kill.jsonl > kill.out 2>&1 &
runner=$!
small_done() { events kill.jsonl step.checkpoint 2>/dev/null | jq -e 'select(.state.tables_done | length == 2)' > /dev/null; }
big_begun() { [ "$(count "$TARGET_PORT" "$T6" big 2>/dev/null || echo 0)" -gt 0 ]; }
check "the small tables finished first" wait_for 60 small_done
check "rows of the big table are committed" wait_for 60 big_begun
as_load_data() { [ "$(events "$1" step.progress 2>/dev/null | tail -1 | jq '.metrics.load_data_statements // 0')" -gt 0 ]; }
check "the journal counts its statements sent as LOAD DATA" wait_for 60 as_load_data kill.jsonl
kill -9 $runner; wait $runner 2> /dev/null
partial=$(count "$TARGET_PORT" "$T6" big)
check "killed in the middle of the big table ($partial of 400000 rows)" test "$partial" -lt 400000
check "killed while its rows went in as LOAD DATA" test "$(events kill.jsonl step.progress | tail -1 | jq .metrics.load_data_statements)" -gt 0
check "the run did not end" test -z "$(events kill.jsonl step.end)"
expect_exit 0 "--resume completes the load" "$MIGRATE" run kill.yaml --rehearsal --yes --journal kill.jsonl --resume
check "the resume keeps the finished tables" contains last.out "2 tables were loaded by an earlier attempt and are kept"
check "and loaded one table" test "$(events kill.jsonl step.end | jq .metrics.tables)" = 1
for table in big small1 small2; do
  check "$table: the same rows as the source, none twice, none missing" test "$(content_sum "$TARGET_PORT" "$T6" $table)" = \
    "$(content_sum "$SOURCE_PORT" "$BIG" $table)"
done
check "small1: rows equal, in key order" same_rows "$BIG" "$T6" small1

# The same with a plain mariadb-dump file: resumed at a table's DROP TABLE.
mariadb-dump --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P"$SOURCE_PORT" -umigrate -p"$MIGRATE_TEST_DB_PW" \
  --single-transaction --hex-blob "$BIG" | gzip -1 > big.sql.gz
T6P=${P}_kill_plain
book killplain.yaml "{ connection: target, from: $WORK/big.sql.gz, database: $T6P, threads: 2 }"
"$MIGRATE" run killplain.yaml --rehearsal --yes --journal killplain.jsonl > killplain.out 2>&1 &
runner=$!
# mysqldump's LOCK TABLES keeps other sessions from counting the rows: the journal's count of
# statements run tells (about 1 MB each; 50 is past the first commit, at 16 MiB).
plain_begun() { [ "$(events killplain.jsonl step.progress 2>/dev/null | tail -1 | jq '.metrics.statements // 0')" -ge 50 ]; }
check "plain: the load is well into the big table" wait_for 60 plain_begun
check "plain: the journal counts its statements sent as LOAD DATA" wait_for 60 as_load_data killplain.jsonl
kill -9 $runner; wait $runner 2> /dev/null
partial=$(count "$TARGET_PORT" "$T6P" big)
check "plain: killed in the middle of the big table ($partial of 400000 rows committed)" test "$partial" -lt 400000
check "plain: killed while its rows went in as LOAD DATA" test "$(events killplain.jsonl step.progress | tail -1 | jq .metrics.load_data_statements)" -gt 0
expect_exit 0 "plain: --resume completes the load" "$MIGRATE" run killplain.yaml --rehearsal --yes --journal killplain.jsonl --resume
for table in big small1 small2; do
  check "plain: $table holds the source's rows, none twice, none missing" test "$(content_sum "$TARGET_PORT" "$T6P" $table)" = \
    "$(content_sum "$SOURCE_PORT" "$BIG" $table)"
done

# ---- 7. a private server restarted in the middle of a load: the step retries and completes
trap 'bash "$E2E/mariadb.sh" stop "$WORK/private" "$PRIVATE_PORT"; cleanup_e2e' EXIT
if bash "$E2E/mariadb.sh" start "$WORK/private" "$PRIVATE_PORT" > private.log 2>&1; then
  book restart.yaml "{ connection: private, from: $WORK/bigdump, database: ${P}_restart, threads: 2 }" \
    "retry: { attempts: 20, backoff: 500ms, max_backoff: 1s }"
  "$MIGRATE" run restart.yaml --rehearsal --yes --journal restart.jsonl > restart.out 2>&1 &
  runner=$!
  begun() { [ "$(count "$PRIVATE_PORT" ${P}_restart big 2>/dev/null || echo 0)" -gt 0 ]; }
  check "the load reached the big table" wait_for 60 begun
  bash "$E2E/mariadb.sh" restart "$WORK/private" "$PRIVATE_PORT" >> private.log 2>&1
  wait "$runner"
  check "the run ended ok after the restart" test $? = 0
  check "the step was retried" test "$(events restart.jsonl step.retry | wc -l)" -ge 1
  check "the retry names the connection" contains <(events restart.jsonl step.retry | head -1) "connection 'private' (127.0.0.1:$PRIVATE_PORT)"
  for table in big small1 small2; do
    check "after the restart, $table holds the source's rows exactly" test "$(content_sum "$PRIVATE_PORT" ${P}_restart $table)" = \
      "$(content_sum "$SOURCE_PORT" "$BIG" $table)"
  done
  # A server that refuses LOAD DATA LOCAL (local_infile=OFF): the INSERTs run instead.
  db "$PRIVATE_PORT" -e "SET GLOBAL local_infile = 0"
  book noinfile.yaml "{ connection: private, from: $WORK/bigdump, database: ${P}_noinfile, threads: 2 }"
  expect_exit 0 "a server with local_infile off loads the dump" "$MIGRATE" run noinfile.yaml --rehearsal --yes --journal noinfile.jsonl
  check "with INSERTs only (metric load_data_statements 0)" test "$(events noinfile.jsonl step.end | jq .metrics.load_data_statements)" = 0
  for table in big small1 small2; do
    check "local_infile off: $table holds the source's rows exactly" test "$(content_sum "$PRIVATE_PORT" ${P}_noinfile $table)" = \
      "$(content_sum "$SOURCE_PORT" "$BIG" $table)"
  done
else
  FAILED=$((FAILED + 1)); echo "FAIL could not start a private MariaDB on $PRIVATE_PORT:"; cat private.log
fi

# ---- secondary keys: added after the data, as they were; a foreign key's table untouched
KEYS=${P}_keys
db "$SOURCE_PORT" -e "CREATE DATABASE $KEYS"
db "$SOURCE_PORT" "$KEYS" <<'SQL'
CREATE TABLE orders (id INT PRIMARY KEY, customer INT NOT NULL, placed DATETIME, code VARCHAR(20),
  note VARCHAR(50) COMMENT 'a comment, with commas', UNIQUE KEY by_code (code),
  KEY by_customer (customer, placed), KEY by_note (note(10)) COMMENT 'prefix, key');
CREATE TABLE order_lines (id INT PRIMARY KEY, order_id INT NOT NULL, KEY by_order (order_id),
  CONSTRAINT lines_order FOREIGN KEY (order_id) REFERENCES orders (id));
INSERT INTO orders SELECT seq, seq % 97, '2026-01-01' + INTERVAL seq MINUTE, CONCAT('c', seq), CONCAT('note ', seq % 13) FROM seq_1_to_5000;
INSERT INTO order_lines SELECT seq, 1 + seq % 5000 FROM seq_1_to_8000;
SQL
bash "$E2E/make_dump_dir.sh" "$SOURCE_PORT" "$KEYS" keysdump zstd
for defer in true false; do
  book "keys-$defer.yaml" "{ connection: target, from: $WORK/keysdump, database: ${KEYS}_$defer, defer_keys: $defer }"
  expect_exit 0 "a dump with secondary keys loads (defer_keys: $defer)" "$MIGRATE" run "keys-$defer.yaml" --rehearsal --yes --journal "keys-$defer.jsonl"
  for table in orders order_lines; do
    check "$table: the same definition (defer_keys: $defer)" test \
      "$(db "$SOURCE_PORT" "$KEYS" -e "SHOW CREATE TABLE $table")" = "$(db "$TARGET_PORT" "${KEYS}_$defer" -e "SHOW CREATE TABLE $table")"
    check "$table: the same rows (defer_keys: $defer)" same_rows "$KEYS" "${KEYS}_$defer" "$table"
  done
  # orders' two plain keys; order_lines keeps its key for its foreign key.
  check "metric keys_deferred (defer_keys: $defer)" test "$(events "keys-$defer.jsonl" step.end | jq .metrics.keys_deferred)" = \
    "$([ "$defer" = true ] && echo 2 || echo 0)"
done

# A user granted CREATE and INSERT but not ALTER can make a table with its keys, not add them
# after the data: found on the empty table, and the keys are built during the load.
NOALTER=${P}_noalter
export E2E_NOALTER_PW=noalter-test-pw
db "$TARGET_PORT" -e "DROP USER IF EXISTS '$NOALTER'@'127.0.0.1'; CREATE USER '$NOALTER'@'127.0.0.1' IDENTIFIED BY '$E2E_NOALTER_PW';
  GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, REFERENCES, LOCK TABLES ON \`$NOALTER\`.* TO '$NOALTER'@'127.0.0.1'"
cat > noalter.yaml <<YAML
version: 1
name: load-e2e
connections:
  target: { type: mysql, host: 127.0.0.1, port: $TARGET_PORT, user: $NOALTER, password: "\${secret:E2E_NOALTER_PW}" }
phases:
  - id: p
    steps:
      - id: load
        kind: mysql.load
        with: { connection: target, from: $WORK/keysdump, database: $NOALTER }
YAML
expect_exit 0 "a user who may not ALTER TABLE loads a dump with secondary keys" "$MIGRATE" run noalter.yaml --rehearsal --yes --journal noalter.jsonl
check "saying the keys are built during the load, and why" contains last.out \
  "load: defer_keys: secondary keys are built during the load, as the user may not add them after it: "
check "naming the server's refusal" contains last.out "ALTER command denied to user '$NOALTER'@'127.0.0.1' for table \`$NOALTER\`.\`orders\` (error 1142)"
for table in orders order_lines; do
  check "$table: the same definition without the ALTER grant" test \
    "$(db "$SOURCE_PORT" "$KEYS" -e "SHOW CREATE TABLE $table")" = "$(db "$TARGET_PORT" "$NOALTER" -e "SHOW CREATE TABLE $table")"
  check "$table: the same rows without the ALTER grant" same_rows "$KEYS" "$NOALTER" "$table"
done
check "no key was deferred (metric keys_deferred 0)" test "$(events noalter.jsonl step.end | jq .metrics.keys_deferred)" = 0
# The same user and a plain mariadb-dump file of those tables (without the dump's own
# `ALTER TABLE ... DISABLE KEYS`, which the server refuses such a user whatever loads it).
mariadb-dump --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P"$SOURCE_PORT" -umigrate -p"$MIGRATE_TEST_DB_PW" \
  --single-transaction --skip-disable-keys "$KEYS" > keys.sql
sed -i "s|from: $WORK/keysdump, database: $NOALTER|from: $WORK/keys.sql, database: $NOALTER, replace: true|" noalter.yaml
expect_exit 0 "the user who may not ALTER TABLE loads a plain file with secondary keys" "$MIGRATE" run noalter.yaml --rehearsal --yes --journal noalter-plain.jsonl
check "plain: saying the keys are built during the load" contains last.out \
  "load: defer_keys: secondary keys are built during the load, as the user may not add them after it: "
for table in orders order_lines; do
  check "plain: $table has the same definition without the ALTER grant" test \
    "$(db "$SOURCE_PORT" "$KEYS" -e "SHOW CREATE TABLE $table")" = "$(db "$TARGET_PORT" "$NOALTER" -e "SHOW CREATE TABLE $table")"
  check "plain: $table has the same rows without the ALTER grant" same_rows "$KEYS" "$NOALTER" "$table"
done
db "$TARGET_PORT" -e "DROP USER '$NOALTER'@'127.0.0.1'"
db "$SOURCE_PORT" -e "DROP DATABASE $KEYS"

# A big table with a deferred key, to stop a load while that key is being added.
BIGKEY=${P}_bigkey
db "$SOURCE_PORT" -e "CREATE DATABASE $BIGKEY"
db "$SOURCE_PORT" "$BIGKEY" <<'SQL'
CREATE TABLE big (id INT PRIMARY KEY, payload VARCHAR(255), KEY by_payload (payload));
INSERT INTO big SELECT seq, CONCAT(SHA2(seq, 256), ' ', REPEAT(SHA2(seq, 256), 2)) FROM seq_1_to_400000;
CREATE TABLE small1 (id INT PRIMARY KEY, payload VARCHAR(20), KEY by_payload (payload));
INSERT INTO small1 SELECT seq, CONCAT('s1-', seq) FROM seq_1_to_100;
SQL
bash "$E2E/make_dump_dir.sh" "$SOURCE_PORT" "$BIGKEY" bigkeydump zstd
same_table() {  # PORT DB TABLE: the definition and the rows of the source's
  [ "$(db "$SOURCE_PORT" "$BIGKEY" -e "SHOW CREATE TABLE $3")" = "$(db "$1" "$2" -e "SHOW CREATE TABLE $3")" ] &&
    [ "$(content_sum "$SOURCE_PORT" "$BIGKEY" "$3")" = "$(content_sum "$1" "$2" "$3")" ]
}

# kill -9 while ALTER TABLE adds the deferred key: the table was not counted as loaded, and
# --resume loads it again, with its key.
T8=${P}_killkeys
book killkeys.yaml "{ connection: target, from: $WORK/bigkeydump, database: $T8, threads: 2 }"
"$MIGRATE" run killkeys.yaml --rehearsal --yes --journal killkeys.jsonl > killkeys.out 2>&1 &
runner=$!
# Once rows go in (the tables were made and tried with an ALTER TABLE that changes nothing),
# a reader's open transaction holds big's metadata lock: the ALTER TABLE that adds its key
# waits for it, and the kill lands during that ALTER TABLE for sure.
big_rows() { [ "$(count "$TARGET_PORT" "$T8" big 2>/dev/null || echo 0)" -gt 0 ]; }
check "rows of big are going in" wait_for 60 big_rows
db "$TARGET_PORT" "$T8" -e "BEGIN; SELECT COUNT(*) INTO @n FROM big; DO SLEEP(301); COMMIT" > /dev/null 2>&1 &
holder=$!
adding_key() { db "$TARGET_PORT" -e "SELECT 1 FROM information_schema.PROCESSLIST WHERE DB = '$T8' AND INFO LIKE 'ALTER TABLE \`$T8\`.\`big\` ADD KEY%'" | grep -q 1; }
check "the load reached the ALTER TABLE that adds big's key" wait_for 120 adding_key
kill -9 $runner; wait $runner 2> /dev/null
check "killed during the ALTER TABLE: big is not in a checkpoint" test \
  "$(events killkeys.jsonl step.checkpoint | jq -c '.state.tables_done | map(select(. == "big")) | length' | sort -u)" = 0
check "the run did not end" test -z "$(events killkeys.jsonl step.end)"
# The killed run's ALTER TABLE still waits on the server. The resume stops it (its table is
# loaded again anyway) rather than wait behind it with nothing to show.
check "the killed run's ALTER TABLE is still on the server" adding_key
"$MIGRATE" run killkeys.yaml --rehearsal --yes --journal killkeys.jsonl --resume > killkeys-resume.out 2>&1 &
runner=$!
orphan_stopped() { grep -q "an ALTER TABLE of an earlier attempt still ran on the server" killkeys-resume.out; }
check "the resume finds the earlier attempt's ALTER TABLE" wait_for 60 orphan_stopped
check "and stops it, saying why" contains killkeys-resume.out "ALTER TABLE \`$T8\`.\`big\` ADD KEY \`by_payload\` (\`payload\`)): stopped, as its table is loaded again from scratch"
for id in $(db "$TARGET_PORT" -e "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DO SLEEP(301)%'"); do
  db "$TARGET_PORT" -e "KILL $id"
done
wait "$holder"
wait "$runner"
check "--resume after a kill during ALTER TABLE completes the load" test $? = 0
check "it loads big again" contains killkeys-resume.out "1 table was loaded by an earlier attempt and is kept; loading the other 1 from scratch"
for table in big small1; do
  check "after the kill and resume, $table has the source's definition and rows" same_table "$TARGET_PORT" "$T8" $table
done

# An ALTER TABLE that fails (another session holds the table past lock_wait_timeout): the
# step fails naming it, the table is not counted as loaded, and a resume loads it again.
if db "$PRIVATE_PORT" -e "SELECT 1" > /dev/null 2>&1; then
  T9=${P}_lockkeys
  db "$PRIVATE_PORT" -e "SET GLOBAL lock_wait_timeout = 2"
  book lockkeys.yaml "{ connection: private, from: $WORK/bigkeydump, database: $T9, threads: 2 }"
  "$MIGRATE" run lockkeys.yaml --rehearsal --yes --journal lockkeys.jsonl > lockkeys.out 2>&1 &
  runner=$!
  big_made() { db "$PRIVATE_PORT" -e "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$T9' AND TABLE_NAME = 'big'" | grep -q 1; }
  check "the load made big" wait_for 60 big_made
  # A reader's open transaction holds the table's metadata lock: rows go in, ALTER TABLE waits.
  db "$PRIVATE_PORT" "$T9" -e "BEGIN; SELECT COUNT(*) INTO @n FROM big; DO SLEEP(300); COMMIT" > /dev/null 2>&1 &
  holder=$!
  wait "$runner"
  check "the run failed" test $? = 1
  check "naming the ALTER TABLE of the deferred key" contains <(last_error lockkeys.jsonl) \
    "adding the secondary keys of \`$T9\`.\`big\` after its data (ALTER TABLE \`$T9\`.\`big\` ADD KEY \`by_payload\` (\`payload\`)): connection 'private' (127.0.0.1:$PRIVATE_PORT): Lock wait timeout exceeded"
  check "big is not in a checkpoint" test \
    "$(events lockkeys.jsonl step.checkpoint | jq -c '.state.tables_done | map(select(. == "big")) | length' | sort -u)" = 0
  for id in $(db "$PRIVATE_PORT" -e "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DO SLEEP(300)%'"); do
    db "$PRIVATE_PORT" -e "KILL $id"
  done
  wait "$holder"
  db "$PRIVATE_PORT" -e "SET GLOBAL lock_wait_timeout = DEFAULT"
  expect_exit 0 "--resume after the failed ALTER TABLE completes the load" "$MIGRATE" run lockkeys.yaml --rehearsal --yes --journal lockkeys.jsonl --resume
  for table in big small1; do
    check "after the failed ALTER and resume, $table has the source's definition and rows" same_table "$PRIVATE_PORT" "$T9" $table
  done
else
  FAILED=$((FAILED + 1)); echo "FAIL the private MariaDB on $PRIVATE_PORT is not answering for the lock test"
fi
db "$SOURCE_PORT" -e "DROP DATABASE $BIGKEY"

# A plain file of two databases (mysqldump --databases) with a table of the same name in
# each: each table's keys go to its own database, though the next database's USE is read
# before the first table's section ends.
for n in 1 2; do
  db "$SOURCE_PORT" -e "CREATE DATABASE ${P}_multi$n"
  db "$SOURCE_PORT" "${P}_multi$n" -e "CREATE TABLE t (id INT PRIMARY KEY, v INT, note VARCHAR(20), KEY by_v (v), KEY by_note (note));
    INSERT INTO t SELECT seq, seq * $n, CONCAT('db$n-', seq) FROM seq_1_to_3000"
done
mariadb-dump --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P"$SOURCE_PORT" -umigrate -p"$MIGRATE_TEST_DB_PW" \
  --single-transaction --databases ${P}_multi1 ${P}_multi2 > multi.sql
book multi.yaml "{ connection: target, from: $WORK/multi.sql, database: ${P}_multi1, threads: 2 }"
expect_exit 0 "a plain file of two databases with a table of the same name loads" "$MIGRATE" run multi.yaml --rehearsal --yes --journal multi.jsonl
for n in 1 2; do
  check "database $n: t has its source's definition (its own keys)" test \
    "$(db "$SOURCE_PORT" "${P}_multi$n" -e "SHOW CREATE TABLE t")" = "$(db "$TARGET_PORT" "${P}_multi$n" -e "SHOW CREATE TABLE t")"
  check "database $n: t has its source's rows" same_rows "${P}_multi$n" "${P}_multi$n" t
done
check "four keys deferred and added" test "$(events multi.jsonl step.end | jq .metrics.keys_deferred)" = 4
for n in 1 2; do db "$SOURCE_PORT" -e "DROP DATABASE ${P}_multi$n"; done

for port in "$SOURCE_PORT" "$TARGET_PORT"; do
  [ "$FAILED" -eq 0 ] && for old in $(db "$port" -e "SHOW DATABASES LIKE '${P}%'"); do db "$port" -e "DROP DATABASE \`$old\`"; done
done
finish
