#!/usr/bin/env bash
# sql steps and wait-on-sql against the suite's MariaDB servers on loopback: outputs and rows
# changed, a transaction rolled back, a job queue drained, a wrong password kept secret, a
# server restarted mid-step, a timeout that kills the statement on the server, TLS, a dry run.
source "$(dirname "$0")/lib.sh"
MARIADB_SH=$(cd "$(dirname "$0")" && pwd)/mariadb.sh
SOURCE_PORT=${MIGRATE_TEST_MYSQL_SOURCE_PORT:?}
TARGET_PORT=${MIGRATE_TEST_MYSQL_TARGET_PORT:?}
TARGET_SOCKET=${MIGRATE_TEST_MYSQL_TARGET_SOCKET:?}
PRIVATE_PORT=$(( ${MIGRATE_TEST_PORT_BASE:-18480} + 13 ))  # a server of this test's own, to stop and restart
export MIGRATE_TEST_DB_PW=${MIGRATE_TEST_MYSQL_PASSWORD:-migrate-test-pw}
DB=e2e_sql

db() {
  local port=$1; shift
  mariadb --no-defaults -h127.0.0.1 -P"$port" -umigrate -p"$MIGRATE_TEST_DB_PW" -N -B "$@"
}
for port in "$SOURCE_PORT" "$TARGET_PORT"; do
  if ! db "$port" -e 'SELECT 1' > /dev/null 2>&1; then
    echo "FAIL MariaDB is not answering on 127.0.0.1:$port (the mariadb_source and mariadb_target fixtures start it)"
    FAILED=1; finish; exit 1
  fi
done
for port in "$SOURCE_PORT" "$TARGET_PORT"; do
  db "$port" -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
done

connection() {  # NAME PORT [PASSWORD_SECRET]
  echo "  $1: { type: mysql, host: 127.0.0.1, port: $2, user: migrate, password: \"\${secret:${3:-MIGRATE_TEST_DB_PW}}\", database: $DB }"
}

# ---- statements, outputs, rows changed; over TCP and over the socket
cat > book.yaml <<YAML
version: 1
name: sql-e2e
connections:
$(connection target "$TARGET_PORT")
  target_socket: { type: mysql, socket: "$TARGET_SOCKET", user: migrate, password: "\${secret:MIGRATE_TEST_DB_PW}", database: $DB }
phases:
  - id: p
    steps:
      - id: schema
        kind: sql
        with:
          connection: target
          statements: |
            -- the accounts; a note may hold ';'
            CREATE TABLE accounts (id INT PRIMARY KEY, plan VARCHAR(20), note TEXT);
            INSERT INTO accounts VALUES (1, 'gold', 'a;b'), (2, 'gold', 'it''s'), (3, 'free', NULL);
      - id: fix
        kind: sql
        with:
          connection: target_socket
          statements:
            - "UPDATE accounts SET plan = 'pro' WHERE plan = 'gold'"
            - "SELECT COUNT(*) AS pro, MAX(id) AS top, MIN(note) AS note FROM accounts WHERE plan = 'pro'"
          outputs: { pro_accounts: pro, top_id: top, note: note }
      - id: record
        kind: shell
        with: { command: "echo '\${steps.fix.pro_accounts} \${steps.fix.top_id} \${steps.fix.rows} \${steps.fix.note}' > $WORK/recorded" }
YAML
expect_exit 0 "create a table and fix it up" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl
check "outputs and rows changed reached the next step" lines_equal recorded "2 2 2 a;b"
check "the insert's rows are the schema step's metric" test "$(events j.jsonl step.end | jq -r 'select(.step=="schema") | .metrics.rows')" = 3
check "the update's rows are the fix step's metric" test "$(events j.jsonl step.end | jq -r 'select(.step=="fix") | .metrics.rows')" = 2
check "the fix-up is in the database" test "$(db "$TARGET_PORT" "$DB" -e "SELECT GROUP_CONCAT(plan ORDER BY id) FROM accounts")" = "pro,pro,free"

# ---- a transaction rolled back on error leaves the table as it was
cat > tx.yaml <<YAML
version: 1
name: sql-tx
connections:
$(connection target "$TARGET_PORT")
phases:
  - id: p
    steps:
      - id: tx
        kind: sql
        with:
          connection: target
          transaction: true
          statements: "UPDATE accounts SET plan = 'gone'; INSERT INTO accounts VALUES (1, 'dup', '')"
YAML
expect_exit 1 "a failing statement fails the transaction" "$MIGRATE" run tx.yaml --rehearsal --yes --journal tx.jsonl
error=$(events tx.jsonl step.end | jq -r .error)
check "the error names the statement" contains <(echo "$error") "statement 2 of 2 (INSERT INTO accounts VALUES (1, 'dup', '')): connection 'target' (127.0.0.1:$TARGET_PORT): Duplicate entry"
check "the error says it was rolled back" contains <(echo "$error") "(error 1062); the transaction was rolled back"
check "the table is unchanged" test "$(db "$TARGET_PORT" "$DB" -e "SELECT GROUP_CONCAT(plan ORDER BY id) FROM accounts")" = "pro,pro,free"

# ---- a server cannot make migrate read a local file: LOAD DATA LOCAL of a path is refused
echo "a secret line of this machine" > "$WORK/local-secret.txt"
cat > infile.yaml <<YAML
version: 1
name: sql-infile
connections:
$(connection target "$TARGET_PORT")
phases:
  - id: p
    steps:
      - id: read
        kind: sql
        with:
          connection: target
          statements:
            - "CREATE TABLE leaked (line TEXT)"
            - "LOAD DATA LOCAL INFILE '$WORK/local-secret.txt' INTO TABLE leaked"
YAML
expect_exit 1 "LOAD DATA LOCAL INFILE of a file fails" "$MIGRATE" run infile.yaml --rehearsal --yes --journal infile.jsonl
check "saying migrate sends no local file" contains <(events infile.jsonl step.end | jq -r .error) "migrate sends no local file"
check "nothing of the file reached the server" test "$(db "$TARGET_PORT" "$DB" -e "SELECT COUNT(*) FROM leaked")" = 0
db "$TARGET_PORT" "$DB" -e "DROP TABLE leaked"

# ---- wait drains a job queue while a client works through it
db "$SOURCE_PORT" "$DB" -e "CREATE TABLE qu_g_queued_jobs (id INT PRIMARY KEY AUTO_INCREMENT, status CHAR(1));
  INSERT INTO qu_g_queued_jobs (status) SELECT 'Q' FROM seq_1_to_40"
cat > drain.yaml <<YAML
version: 1
name: sql-drain
connections:
$(connection source "$SOURCE_PORT")
phases:
  - id: p
    steps:
      - id: drain-jobs
        kind: wait
        timeout: 60s
        with:
          sql: "SELECT 1 FROM qu_g_queued_jobs WHERE status != 'F' LIMIT 1"
          connection: source
          until: empty
          interval: 200ms
YAML
(for _ in $(seq 1 8); do
  sleep 0.3
  db "$SOURCE_PORT" "$DB" -e "UPDATE qu_g_queued_jobs SET status = 'F' WHERE status != 'F' ORDER BY id LIMIT 5"
done) &
worker=$!
expect_exit 0 "wait until the job queue is empty" "$MIGRATE" run drain.yaml --rehearsal --yes --journal drain.jsonl
wait "$worker"
check "it polled more than once" test "$(events drain.jsonl step.end | jq -r .outputs.polls)" -gt 1
check "the queue is drained" test "$(db "$SOURCE_PORT" "$DB" -e "SELECT COUNT(*) FROM qu_g_queued_jobs WHERE status != 'F'")" = 0

# ---- a wrong password: the connection is named, the password shown nowhere
export MIGRATE_TEST_WRONG_PW='wrong-Pw-Zq81x-secret'
cat > wrong.yaml <<YAML
version: 1
name: sql-wrong-password
connections:
$(connection target "$TARGET_PORT" MIGRATE_TEST_WRONG_PW)
phases:
  - id: p
    steps:
      - { id: fix, kind: sql, retry: { attempts: 3, backoff: 100ms }, with: { connection: target, statements: "SELECT 1" } }
YAML
expect_exit 1 "a wrong password fails the step" "$MIGRATE" run wrong.yaml --rehearsal --yes --journal wrong.jsonl --log-file wrong.log
cp last.out wrong.out; cp last.err wrong.err
error=$(events wrong.jsonl step.end | jq -r .error)
check "the error names the connection and server" contains <(echo "$error") "connection 'target' (127.0.0.1:$TARGET_PORT): cannot connect: Access denied for user 'migrate'"
check "with the server's errno" contains <(echo "$error") "(error 1045)"
check "access denied is not retried" test "$(events wrong.jsonl step.end | jq -r .attempts)" = 1
for f in wrong.jsonl wrong.log wrong.out wrong.err; do
  check "the password is not in $f" not_contains "$f" "$MIGRATE_TEST_WRONG_PW"
done
expect_exit 1 "the dry run finds the wrong password too" "$MIGRATE" run wrong.yaml --dry-run
check "and says so" contains last.out "Access denied"
check "without the password" not_contains last.out "$MIGRATE_TEST_WRONG_PW"

# ---- a secret missing in a connection stops the run before its first step
cat > nosecret.yaml <<YAML
version: 1
name: sql-no-secret
connections:
$(connection target "$TARGET_PORT" MIGRATE_TEST_NEVER_SET_PW)
phases:
  - id: p
    steps:
      - { id: first, kind: shell, with: { command: "touch $WORK/first-ran" } }
      - { id: fix, kind: sql, with: { connection: target, statements: "SELECT 1" } }
YAML
expect_exit 2 "a missing connection secret stops the run" "$MIGRATE" run nosecret.yaml --rehearsal --yes --journal nosecret.jsonl
check "naming the secret and the connection's line" contains last.err "nosecret.yaml:4:"
check "the secret by name" contains last.err "secret 'MIGRATE_TEST_NEVER_SET_PW' is not set"
check "before the first step" test ! -e first-ran

# ---- a dry run connects and changes nothing
cat > dry.yaml <<YAML
version: 1
name: sql-dry
connections:
$(connection target "$TARGET_PORT")
phases:
  - id: p
    steps:
      - { id: make, kind: sql, with: { connection: target, statements: "CREATE TABLE dry_made (id INT)" } }
      - id: wait-empty
        kind: wait
        timeout: 1m
        with: { sql: "SELECT 1 FROM accounts LIMIT 1", connection: target }
YAML
expect_exit 0 "a dry run passes" "$MIGRATE" run dry.yaml --dry-run
check "it connected and says to what" contains last.out "connection 'target' (127.0.0.1:$TARGET_PORT) accepts connections: server 10."
check "the wait connected too" test "$(grep -c "accepts connections" last.out)" = 2
check "it created nothing" test "$(db "$TARGET_PORT" "$DB" -e "SHOW TABLES LIKE 'dry_made'")" = ""
check "it wrote no journal" test ! -e journals

# ---- a step timeout kills the statement on the server
cat > slow.yaml <<YAML
version: 1
name: sql-timeout
connections:
$(connection target "$TARGET_PORT")
phases:
  - id: p
    steps:
      - { id: slow, kind: sql, timeout: 1s, with: { connection: target, statements: "SELECT SLEEP(60) AS migrate_e2e_slow" } }
YAML
started=$(date +%s)
expect_exit 1 "a statement that outlives the step's timeout fails" "$MIGRATE" run slow.yaml --rehearsal --yes --journal slow.jsonl
check "well before the statement would end" test $(($(date +%s) - started)) -lt 20
check "with 'timed out'" test "$(events slow.jsonl step.end | jq -r .error)" = "timed out after 1.0s"
gone() { [ "$(db "$TARGET_PORT" -e "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%migrate_e2e_slow%' AND id != CONNECTION_ID()")" = 0 ]; }
check "and the statement no longer runs on the server" wait_for 5 gone

# ---- a private server with TLS: stopped and started again mid-step
mkdir tls
openssl req -x509 -newkey rsa:2048 -nodes -keyout tls/ca.key -out tls/ca.pem -days 2 -subj "/CN=migrate test CA" 2> /dev/null
openssl req -newkey rsa:2048 -nodes -keyout tls/server.key -out tls/server.csr -subj "/CN=127.0.0.1" 2> /dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > tls/ext.cnf
openssl x509 -req -in tls/server.csr -CA tls/ca.pem -CAkey tls/ca.key -CAcreateserial -out tls/server.pem -days 2 \
  -extfile tls/ext.cnf 2> /dev/null
export MARIADB_OPTIONS="--ssl-ca=$WORK/tls/ca.pem --ssl-cert=$WORK/tls/server.pem --ssl-key=$WORK/tls/server.key"
trap 'bash "$MARIADB_SH" stop "$WORK/private" "$PRIVATE_PORT"; cleanup_e2e' EXIT
if bash "$MARIADB_SH" start "$WORK/private" "$PRIVATE_PORT" > private.log 2>&1; then
  db "$PRIVATE_PORT" -e "CREATE DATABASE $DB"
  cat > tls.yaml <<YAML
version: 1
name: sql-tls
connections:
  verified: { type: mysql, host: 127.0.0.1, port: $PRIVATE_PORT, user: migrate, password: "\${secret:MIGRATE_TEST_DB_PW}",
              tls: { ca_file: $WORK/tls/ca.pem } }
  wrong_ca: { type: mysql, host: 127.0.0.1, port: $PRIVATE_PORT, user: migrate, password: "\${secret:MIGRATE_TEST_DB_PW}",
              tls: { ca_file: $WORK/tls/server.pem } }
phases:
  - id: p
    steps:
      - { id: cipher, kind: sql, with: { connection: verified, statements: "SHOW SESSION STATUS LIKE 'Ssl_cipher'", outputs: { cipher: Value } } }
      - { id: untrusted, kind: sql, on_failure: continue, with: { connection: wrong_ca, statements: "SELECT 1" } }
YAML
  expect_exit 0 "TLS with the server's CA" "$MIGRATE" run tls.yaml --rehearsal --yes --journal tls.jsonl
  check "the session is encrypted" test -n "$(events tls.jsonl step.end | jq -r 'select(.step=="cipher") | .outputs.cipher')"
  check "a certificate from another CA is refused" contains <(events tls.jsonl step.end | jq -r 'select(.step=="untrusted") | .error') \
    "connection 'wrong_ca' (127.0.0.1:$PRIVATE_PORT): cannot connect: TLS/SSL error"
  cat > restart.yaml <<YAML
version: 1
name: sql-restart
connections:
$(connection private "$PRIVATE_PORT")
phases:
  - id: p
    steps:
      - id: through-restart
        kind: sql
        retry: { attempts: 15, backoff: 500ms, max_backoff: 1s }
        with:
          connection: private
          statements: "CREATE TABLE t (id INT); SELECT SLEEP(5) AS migrate_e2e_restart; INSERT INTO t VALUES (1)"
YAML
  "$MIGRATE" run restart.yaml --rehearsal --yes --journal restart.jsonl > restart.out 2>&1 &
  runner=$!
  sleeping() { [ "$(db "$PRIVATE_PORT" -e "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(5)%'")" = 1 ]; }
  check "the step reached its slow statement" wait_for 20 sleeping
  bash "$MARIADB_SH" stop "$WORK/private" "$PRIVATE_PORT"
  sleep 1
  bash "$MARIADB_SH" restart "$WORK/private" "$PRIVATE_PORT" >> private.log 2>&1
  wait "$runner"
  check "the run ended ok after the restart" test $? = 0
  check "the step was retried" test "$(events restart.jsonl step.retry | wc -l)" -ge 1
  check "the retry names the connection" contains <(events restart.jsonl step.retry | head -1) "connection 'private' (127.0.0.1:$PRIVATE_PORT)"
  check "statements done before the restart did not run twice" test "$(db "$PRIVATE_PORT" "$DB" -e "SELECT COUNT(*) FROM t")" = 1
else
  FAILED=$((FAILED + 1)); echo "FAIL could not start a private MariaDB on $PRIVATE_PORT:"; cat private.log
fi
finish
