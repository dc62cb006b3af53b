#!/usr/bin/env bash
# The help desk move (runbooks/helpdesk-standalone-to-cloud.yaml) rehearsed on this machine:
# a standalone installation's database on one local MariaDB server, the cloud's on another.
# Background jobs still running when the window opens (finished a few seconds later by a
# stand-in for the job runner), a crontab with the jobs.php line, the log and queue tables
# of the field's ignore list full of rows. The runbook isolates, drains, dumps, carries,
# verifies, imports, reconciles and fixes; manual steps are confirmed by --yes (a rehearsal).
#   bash tests/scenarios/helpdesk.sh      (MIGRATE=path/to/migrate, WORK, KEEP=1, ROWS)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIGRATE=${MIGRATE:-$ROOT/build/migrate}
BASE=${MIGRATE_TEST_PORT_BASE:-18480}
SOURCE_PORT=$((BASE + 30)) TARGET_PORT=$((BASE + 31))
ROWS=${ROWS:-20000}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/migrate-helpdesk.XXXXXX")}
SERVERS=$WORK/servers
cleanup() {
  [ -n "${RUNNER:-}" ] && kill "$RUNNER" 2> /dev/null || true
  bash "$ROOT/tests/e2e/mariadb.sh" stop "$SERVERS/source" "$SOURCE_PORT" || true
  bash "$ROOT/tests/e2e/mariadb.sh" stop "$SERVERS/target" "$TARGET_PORT" || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
[ -x "$MIGRATE" ] || { echo "no migrate binary at $MIGRATE: build first (see README)" >&2; exit 1; }
source_db() { mariadb --no-defaults --socket="$SERVERS/source/sock" -uroot liveagent "$@"; }
target_db() { mariadb --no-defaults --socket="$SERVERS/target/sock" -uroot la_account "$@"; }

echo "== two servers: the standalone installation's (127.0.0.1:$SOURCE_PORT) and the cloud's (:$TARGET_PORT)"
bash "$ROOT/tests/e2e/mariadb.sh" start "$SERVERS/source" "$SOURCE_PORT" source
bash "$ROOT/tests/e2e/mariadb.sh" start "$SERVERS/target" "$TARGET_PORT"
mariadb --no-defaults --socket="$SERVERS/source/sock" -uroot -e "CREATE DATABASE liveagent CHARACTER SET utf8mb4"
mariadb --no-defaults --socket="$SERVERS/target/sock" -uroot -e "CREATE DATABASE la_account CHARACTER SET utf8mb4"

echo "== the installation's database: $ROWS tickets, messages, files, and the ignore list's tables"
source_db <<SQL
CREATE TABLE qu_la_tickets (ticketid INT PRIMARY KEY, subject VARCHAR(255) NOT NULL, status CHAR(1) NOT NULL,
  created DATETIME NOT NULL, KEY (status)) ENGINE=InnoDB;
CREATE TABLE qu_la_messages (messageid BIGINT PRIMARY KEY, ticketid INT NOT NULL, body MEDIUMTEXT,
  KEY (ticketid)) ENGINE=InnoDB;
CREATE TABLE qu_g_users (userid VARCHAR(8) PRIMARY KEY, email VARCHAR(255), name VARCHAR(100)) ENGINE=InnoDB;
CREATE TABLE qu_g_files (fileid INT PRIMARY KEY, name VARCHAR(255), content MEDIUMBLOB) ENGINE=InnoDB;
CREATE TABLE qu_g_settings (name VARCHAR(64) PRIMARY KEY, value TEXT) ENGINE=InnoDB;
CREATE TABLE qu_g_plugins (name VARCHAR(64) PRIMARY KEY, type VARCHAR(10)) ENGINE=InnoDB;
CREATE TABLE qu_la_mail_accounts (accountid VARCHAR(8) PRIMARY KEY, email VARCHAR(255), status CHAR(1)) ENGINE=InnoDB;
CREATE TABLE qu_g_queued_jobs (jobid INT PRIMARY KEY, status CHAR(1)) ENGINE=InnoDB;
INSERT INTO qu_la_tickets SELECT seq, CONCAT('Ticket ', seq, ' – žltý kôň ✓'), ELT(1 + seq % 4, 'N', 'O', 'R', 'C'),
  '2024-01-01' + INTERVAL seq MINUTE FROM seq_1_to_$ROWS;
INSERT INTO qu_la_messages SELECT seq, 1 + seq % $ROWS, IF(seq % 9 = 0, NULL,
  CONCAT(REPEAT('Dobrý deň, it''s about "order" \\\\ ', 1 + seq % 5), seq)) FROM seq_1_to_$((ROWS * 3));
INSERT INTO qu_g_users SELECT CONCAT('u', seq), CONCAT('agent', seq, '@example.com'), CONCAT('Agent ', seq)
  FROM seq_1_to_50;
INSERT INTO qu_g_files SELECT seq, CONCAT('attachment-', seq, '.bin'),
  CONCAT(UNHEX(SHA2(seq, 512)), REPEAT(CHAR(0, 255, 39, 92), seq % 300)) FROM seq_1_to_500;
INSERT INTO qu_g_settings VALUES ('base_url', 'https://support.example.com'), ('custom_theme', 'Y'),
  ('standalone_license_check', 'Y'), ('timezone', 'Europe/Bratislava');
INSERT INTO qu_g_plugins VALUES ('Facebook', 'standard'), ('OurCrmLink', 'custom');
INSERT INTO qu_la_mail_accounts VALUES ('m1', 'support@example.com', 'A'), ('m2', 'sales@example.com', 'A'),
  ('m3', 'old@example.com', 'D');
INSERT INTO qu_g_queued_jobs SELECT seq, IF(seq <= 5, 'R', 'F') FROM seq_1_to_40;
SQL
for table in qu_g_logs qu_g_mail_message_sources qu_g_eventqueues qu_g_eventsubscriptions qu_g_news qu_g_usernews \
    qu_g_passwd_requests qu_g_queued_plans qu_g_queue_delayed_jobs qu_g_queue_failures qu_g_queue_jobs \
    qu_g_queue_planed_jobs qu_g_sessions qu_g_session_values qu_g_token_buckets qu_la_browser_visits \
    qu_la_conversations_search qu_la_message_drafts qu_la_page_visits; do
  source_db -e "CREATE TABLE $table (id INT PRIMARY KEY, payload TEXT) ENGINE=InnoDB;
                INSERT INTO $table SELECT seq, REPEAT('log line ', 20) FROM seq_1_to_2000"
done
mkdir -p "$WORK/standalone"
printf '*/1 * * * * php /var/www/liveagent/scripts/jobs.php\n0 3 * * * /usr/local/bin/backup.sh\n' > "$WORK/standalone/crontab"

echo "== the job runner finishes the last 5 jobs a few seconds into the window"
( sleep 4; source_db -e "UPDATE qu_g_queued_jobs SET status = 'F'" ) &
RUNNER=$!

echo "== the rehearsal"
SOURCE_DB_PASSWORD=migrate-test-pw TARGET_DB_PASSWORD=migrate-test-pw \
  "$MIGRATE" run "$ROOT/runbooks/helpdesk-standalone-to-cloud.yaml" --env local --rehearsal --yes \
  --journal "$WORK/helpdesk.jsonl" --set "db_port=$SOURCE_PORT" --set "cloud_db_port=$TARGET_PORT" \
  --set "work=$WORK/standalone" --set "cloud_work=$WORK/cloud" --set "cloud_url=https://acme.example.com"

echo "== the cloud database holds the installation minus the ignore list"
tables() { "$@" -N -e "SHOW TABLES" | sort | tr '\n' ' '; }
expected="qu_g_files qu_g_plugins qu_g_settings qu_g_users qu_la_mail_accounts qu_la_messages qu_la_tickets "
[ "$(tables target_db)" = "$expected" ] || { echo "target tables: $(tables target_db)" >&2; exit 1; }
for table in qu_g_files qu_g_users qu_la_messages qu_la_tickets; do
  [ "$(source_db -N -e "CHECKSUM TABLE $table" | cut -f2)" = "$(target_db -N -e "CHECKSUM TABLE $table" | cut -f2)" ] ||
    { echo "$table differs between the two databases" >&2; exit 1; }
done
echo "identical: $(tables target_db)"

echo "== isolated, fixed and reconnected"
[ "$(source_db -N -e "SELECT GROUP_CONCAT(status ORDER BY accountid) FROM qu_la_mail_accounts")" = "D,D,D" ]
[ "$(target_db -N -e "SELECT GROUP_CONCAT(status ORDER BY accountid) FROM qu_la_mail_accounts")" = "A,A,D" ]
[ "$(target_db -N -e "SELECT value FROM qu_g_settings WHERE name = 'base_url'")" = "https://acme.example.com" ]
[ "$(target_db -N -e "SELECT COUNT(*) FROM qu_g_plugins WHERE type = 'custom'")" = 0 ]
[ -z "$(target_db -N -e "SHOW TABLES LIKE 'migrate_%'")" ]
grep -q '^# migrate: \*/1 .*jobs\.php' "$WORK/standalone/crontab"
grep -q '^0 3 \* \* \* /usr/local/bin/backup.sh' "$WORK/standalone/crontab"
echo "mail accounts off on the standalone, the two that were on are on in the cloud; base_url set; cron's jobs.php commented"

echo "== the report and the forecast for a 5 GB database"
"$MIGRATE" report "$WORK/helpdesk.jsonl" > "$WORK/report-1.txt"
head -50 "$WORK/report-1.txt"
"$MIGRATE" estimate "$ROOT/runbooks/helpdesk-standalone-to-cloud.yaml" --journal "$WORK/helpdesk.jsonl" --set db_rows=5000000 > "$WORK/estimate-2.txt"
head -50 "$WORK/estimate-2.txt"
