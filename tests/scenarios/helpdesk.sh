#!/usr/bin/env bash
# The help desk move (runbooks/helpdesk-standalone-to-cloud.yaml) rehearsed on this machine:
# a standalone installation's database on one local MariaDB server, the cloud's on another;
# the installation's web server (a systemctl stand-in) and crontab on the test suite's sshd
# host h01, the vendor's import host on h02. Background jobs still running when the window
# opens (finished a few seconds later by a stand-in for the job runner), a crontab with the
# jobs.php line, the log and queue tables of the field's ignore list full of rows. The
# runbook isolates (mail accounts by SQL, the web server, cron), drains, dumps, carries the
# dump to h02, imports, reconciles and fixes; manual steps are confirmed by --yes (a
# rehearsal). Then a second run meets a cloud database that already holds the tables: the
# import refuses, and the rollback must bring the standalone installation back exactly as
# it was (the accounts that were on, the web server, the cron line; what was off stays off).
#   bash tests/scenarios/helpdesk.sh      (MIGRATE=path/to/migrate, WORK, KEEP=1, ROWS)
# Under ctest it uses the suite's sshd fixture (MIGRATE_TEST_SSH_DIR); run by hand, it
# starts its own on base+41.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIGRATE=${MIGRATE:-$ROOT/build/migrate}
BASE=${MIGRATE_TEST_PORT_BASE:-18480}
SOURCE_PORT=$((BASE + 30)) TARGET_PORT=$((BASE + 31))
ROWS=${ROWS:-20000}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/migrate-helpdesk.XXXXXX")}
SERVERS=$WORK/servers
tag=helpdesk$$
OWN_SSHD=
if [ -z "${MIGRATE_TEST_SSH_DIR:-}" ]; then
  OWN_SSHD=1 MIGRATE_TEST_SSH_DIR=$SERVERS/sshd MIGRATE_TEST_SSH_PORT=$((BASE + 41))
fi
SSH_DIR=$MIGRATE_TEST_SSH_DIR HOSTS=$MIGRATE_TEST_SSH_DIR/hosts
STANDALONE=$HOSTS/h01/$tag CLOUD=$HOSTS/h02/$tag
cleanup() {
  [ -n "${RUNNER:-}" ] && kill "$RUNNER" 2> /dev/null || true
  bash "$ROOT/tests/e2e/mariadb.sh" stop "$SERVERS/source" "$SOURCE_PORT" || true
  bash "$ROOT/tests/e2e/mariadb.sh" stop "$SERVERS/target" "$TARGET_PORT" || true
  [ -z "$OWN_SSHD" ] || bash "$ROOT/tests/e2e/sshd.sh" stop "$SSH_DIR" "$MIGRATE_TEST_SSH_PORT" || true
  if [ -z "${KEEP:-}" ]; then
    rm -rf "$STANDALONE" "$CLOUD"
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
[ -x "$MIGRATE" ] || { echo "no migrate binary at $MIGRATE: build first (see README)" >&2; exit 1; }
BOOK=$ROOT/runbooks/helpdesk-standalone-to-cloud.yaml
fail() { echo "FAIL: $*" >&2; exit 1; }
source_db() { mariadb --no-defaults --socket="$SERVERS/source/sock" -uroot liveagent "$@"; }
target_db() { mariadb --no-defaults --socket="$SERVERS/target/sock" -uroot la_account "$@"; }

if [ -n "$OWN_SSHD" ]; then
  echo "== the hosts: sshd on 127.0.0.2-47:$MIGRATE_TEST_SSH_PORT"
  bash "$ROOT/tests/e2e/sshd.sh" start "$SSH_DIR" "$MIGRATE_TEST_SSH_PORT"
fi

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
echo "== the standalone host (h01): apache2 running, a crontab with the jobs.php line"
# The systemctl stand-in keeps each unit's state in $HOME/TAG/units (as tests/e2e/isolate.sh).
cat > "$WORK/systemctl" <<'SH'
#!/bin/sh
dir=$HOME/TAG/units; cmd=$1; unit=$2
case $cmd in
  is-active) s=$(cat "$dir/$unit.active" 2>/dev/null || echo inactive); echo "$s"; [ "$s" = active ];;
  is-enabled) s=$(cat "$dir/$unit.enabled" 2>/dev/null || echo disabled); echo "$s"; [ "$s" = enabled ];;
  stop) echo inactive > "$dir/$unit.active"; echo "stop $unit" >> "$dir/calls";;
  start) echo active > "$dir/$unit.active"; echo "start $unit" >> "$dir/calls";;
  enable|disable) echo "${cmd}d" > "$dir/$unit.enabled"; echo "$cmd $unit" >> "$dir/calls";;
  *) echo "unknown command $cmd" >&2; exit 1;;
esac
SH
sed -i "s/TAG/$tag/" "$WORK/systemctl"
# The crontab: the jobs.php line, a backup, and an old jobs.php line someone had commented
# out already (off before isolation: it must stay off after the rollback).
cat > "$WORK/crontab.before" <<'CRON'
MAILTO=admin@example.com
*/1 * * * * php /var/www/liveagent/scripts/jobs.php
0 3 * * * /usr/local/bin/backup.sh
#*/5 * * * * php /var/www/liveagent-old/scripts/jobs.php
CRON
set_up_standalone() {
  rm -rf "$STANDALONE" "$CLOUD"
  mkdir -p "$STANDALONE/units" "$CLOUD"
  install -m 755 "$WORK/systemctl" "$STANDALONE/systemctl"
  echo active > "$STANDALONE/units/apache2.active"
  echo enabled > "$STANDALONE/units/apache2.enabled"
  cp "$WORK/crontab.before" "$STANDALONE/crontab"
}
set_up_standalone

# The state of the standalone installation, for before/after comparisons.
snapshot() {
  echo "apache2 $(cat "$STANDALONE/units/apache2.active") $(cat "$STANDALONE/units/apache2.enabled")"
  sed 's/^/crontab: /' "$STANDALONE/crontab"
  source_db -N -e "SELECT accountid, status FROM qu_la_mail_accounts ORDER BY accountid"
}
snapshot > "$WORK/before.txt"

echo "== the job runner finishes the last 5 jobs a few seconds into the window"
( sleep 4; source_db -e "UPDATE qu_g_queued_jobs SET status = 'F'" ) &
RUNNER=$!

echo "== validate"
for env in preprod production local; do "$MIGRATE" validate "$BOOK" --env "$env"; done

sets=(--set "db_port=$SOURCE_PORT" --set "cloud_db_port=$TARGET_PORT" --set "cloud_url=https://acme.example.com"
      --set "ssh_config=$SSH_DIR/ssh_config" --set "systemctl=$tag/systemctl" --set "crontab_file=$tag/crontab")
export SOURCE_DB_PASSWORD=migrate-test-pw TARGET_DB_PASSWORD=migrate-test-pw

echo "== the rehearsal"
J=$WORK/helpdesk.jsonl
"$MIGRATE" run "$BOOK" --env local --rehearsal --yes --journal "$J" "${sets[@]}" \
  --set "work=$WORK/standalone" --set "cloud_work=$tag/import" < /dev/null > "$WORK/run.out" 2>&1 ||
  { tail -60 "$WORK/run.out" >&2; fail "the rehearsal failed"; }
RUNNER=
"$MIGRATE" journal verify "$J"
status() { jq -r --arg s "$1" 'select(.ev == "step.end" and .step == $s) | .status' "$2" | tail -1; }
for step in agents-out social-sources-off allow-list-off mail-accounts-off web-server-off drain-jobs cron-off \
    dump transfer import compare fix-values mail-accounts-on account-ready sources-on; do
  [ "$(status "$step" "$J")" = ok ] || fail "step $step: $(status "$step" "$J")"
done
[ -z "$(jq -r 'select(.rollback_of != null) | .step' "$J")" ] || fail "a rollback step ran in the successful rehearsal"

echo "== the cloud database holds the installation minus the ignore list"
tables() { "$@" -N -e "SHOW TABLES" | sort | tr '\n' ' '; }
expected="qu_g_files qu_g_plugins qu_g_settings qu_g_users qu_la_mail_accounts qu_la_messages qu_la_tickets "
[ "$(tables target_db)" = "$expected" ] || fail "target tables: $(tables target_db)"
for table in qu_g_files qu_g_users qu_la_messages qu_la_tickets; do
  [ "$(source_db -N -e "CHECKSUM TABLE $table" | cut -f2)" = "$(target_db -N -e "CHECKSUM TABLE $table" | cut -f2)" ] ||
    fail "$table differs between the two databases"
done
echo "identical: $(tables target_db)"

echo "== the dump arrived whole on the import host (h02)"
COPY=$CLOUD/import/dump
[ -f "$COPY/migrate-dump.complete" ] || fail "no dump on h02 at $COPY"
diff -r "$WORK/standalone/dump" "$COPY" || fail "the copy on h02 differs from the dump"
(cd "$COPY" && sha256sum --quiet --strict -c SHA256SUMS) || fail "the copy on h02 fails its SHA256SUMS"
[ ! -e "$CLOUD/import/.migrate-partial" ] || fail "a partial file was left on h02"
files=$(find "$WORK/standalone/dump" -type f | wc -l)
bytes=$(find "$WORK/standalone/dump" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
read -r host hstatus method dest hfiles hbytes < <(jq -r 'select(.ev == "step.host" and .step == "transfer")
  | "\(.host) \(.status) \(.method) \(.destination) \(.files) \(.bytes)"' "$J")
[ "$host $hstatus $method $dest" = "h02 ok rsync $tag/import/dump" ] || fail "transfer's step.host: $host $hstatus $method $dest"
[ "$hfiles" = "$files" ] && [ "$hbytes" = "$bytes" ] || fail "transfer recorded $hfiles files, $hbytes bytes; the dump has $files, $bytes"
[ "$(jq -r 'select(.ev == "step.end" and .step == "transfer") | .outputs.ok' "$J")" = h02 ] || fail "transfer's ok output"
echo "$files files, $bytes bytes on h02, every SHA-256 as in the dump's list"

echo "== isolated on h01 and in the source database; the mail accounts that were on, on in the cloud"
record=$(jq -r 'select(.ev == "step.end" and .step == "mail-accounts-off") | .outputs.record' "$J")
[ "$(jq -c '[.sources[].ids[]]' <<< "$record")" = '["m1","m2"]' ] || fail "mail-accounts-off's record: $record"
[ "$(source_db -N -e "SELECT GROUP_CONCAT(status ORDER BY accountid) FROM qu_la_mail_accounts")" = "D,D,D" ] ||
  fail "the standalone's mail accounts are not all off"
[ "$(target_db -N -e "SELECT GROUP_CONCAT(accountid, '=', status ORDER BY accountid) FROM qu_la_mail_accounts")" = "m1=A,m2=A,m3=D" ] ||
  fail "cloud mail accounts: $(target_db -N -e "SELECT GROUP_CONCAT(accountid, '=', status ORDER BY accountid) FROM qu_la_mail_accounts")"
[ "$(jq -r 'select(.ev == "step.end" and .step == "mail-accounts-on") | .outputs.switched_on' "$J")" = 2 ] ||
  fail "mail-accounts-on's switched_on output"
[ "$(cat "$STANDALONE/units/apache2.active")" = inactive ] || fail "apache2 still runs on h01"
[ "$(cat "$STANDALONE/units/calls")" = "stop apache2" ] || fail "systemctl calls on h01: $(cat "$STANDALONE/units/calls")"
[ "$(jq -r 'select(.ev == "step.host" and .step == "web-server-off") | "\(.host) \(.was_on)"' "$J")" = "h01 true" ] ||
  fail "web-server-off's step.host record"
expected_cron="MAILTO=admin@example.com
#migrate-isolate:cron-off# */1 * * * * php /var/www/liveagent/scripts/jobs.php
0 3 * * * /usr/local/bin/backup.sh
#*/5 * * * * php /var/www/liveagent-old/scripts/jobs.php"
[ "$(cat "$STANDALONE/crontab")" = "$expected_cron" ] || { cat "$STANDALONE/crontab" >&2; fail "h01's crontab after cron-off"; }
[ "$(target_db -N -e "SELECT value FROM qu_g_settings WHERE name = 'base_url'")" = "https://acme.example.com" ] ||
  fail "base_url not set in the cloud"
[ "$(target_db -N -e "SELECT COUNT(*) FROM qu_g_plugins WHERE type = 'custom'")" = 0 ] || fail "custom plugins left in the cloud"
echo "mail accounts m1, m2 recorded, off on the standalone, on in the cloud (m3 stays off); apache2 stopped; jobs.php commented with the marker"

echo "== the report and the forecast for a database of 5 million rows (a 1.5 GB dump)"
"$MIGRATE" report "$J" > "$WORK/report-1.txt"
head -50 "$WORK/report-1.txt"
# Over the 2 h budget or not depends on this machine's speed (the transfer's rate scaled to
# 1.5 GB): exit 4 says over, and is as good an answer as 0.
code=0
"$MIGRATE" estimate "$BOOK" --journal "$J" --set db_rows=5000000 --set dump_size=1.5GB > "$WORK/estimate-2.txt" || code=$?
[ "$code" = 0 ] || [ "$code" = 4 ] || fail "estimate for 5 million rows: exit $code"
head -50 "$WORK/estimate-2.txt"
grep -q "^downtime window (agents-out -> account-ready): P50 " "$WORK/estimate-2.txt" || fail "the forecast names no window"

echo "== a failed move: the cloud database already holds the tables; the rollback restores the standalone"
set_up_standalone
source_db -e "UPDATE qu_la_mail_accounts SET status = IF(accountid = 'm3', 'D', 'A')"
snapshot > "$WORK/before-2.txt"
diff "$WORK/before.txt" "$WORK/before-2.txt" || fail "the second run does not start from the first's state"
F=$WORK/failed.jsonl
code=0
"$MIGRATE" run "$BOOK" --env local --rehearsal --yes --journal "$F" "${sets[@]}" \
  --set "work=$WORK/standalone-2" --set "cloud_work=$tag/import-2" < /dev/null > "$WORK/failed.out" 2>&1 || code=$?
[ "$code" = 1 ] || { tail -40 "$WORK/failed.out" >&2; fail "the import into a full database should fail the run (exit 1), got $code"; }
"$MIGRATE" journal verify "$F"
[ "$(status import "$F")" = failed ] || fail "import: $(status import "$F")"
jq -r 'select(.ev == "step.end" and .step == "import") | .error' "$F" | grep -q "already has 7 tables of the dump: \`qu_g_files\`" ||
  fail "import's error does not name the existing tables: $(jq -r 'select(.ev == "step.end" and .step == "import") | .error' "$F")"
[ "$(jq -r 'select(.ev == "run.end") | .rollback_after' "$F")" = import ] || fail "run.end does not name import"
undone=$(jq -r 'select(.ev == "step.end" and .rollback_of != null) | "\(.step)<\(.rollback_of):\(.status)"' "$F" | tr '\n' ' ')
[ "$undone" = "cron-back<cron-off:ok web-server-back<web-server-off:ok mail-accounts-back<mail-accounts-off:ok " ] ||
  fail "rollback steps: $undone"
[ "$(jq -r 'select(.ev == "step.end" and .step == "mail-accounts-back") | .outputs.switched_on' "$F")" = 2 ] ||
  fail "mail-accounts-back did not switch on exactly the 2 recorded accounts"
[ -z "$(jq -r 'select(.ev == "step.start" and .step == "compare") | .step' "$F")" ] || fail "compare started after a failed import"
snapshot > "$WORK/after-2.txt"
diff "$WORK/before.txt" "$WORK/after-2.txt" || fail "the standalone installation is not as it was before the run"
[ "$(cat "$STANDALONE/units/calls" | tr '\n' ' ')" = "stop apache2 start apache2 " ] ||
  fail "systemctl calls on h01: $(cat "$STANDALONE/units/calls")"
[ -f "$CLOUD/import-2/dump/migrate-dump.complete" ] || fail "the second run's dump did not reach h02"
echo "rolled back: m1, m2 on again and m3 still off, apache2 started, the jobs.php line restored, the old one still commented"
