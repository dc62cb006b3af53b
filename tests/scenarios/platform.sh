#!/usr/bin/env bash
# The platform upgrade across 46 machines (runbooks/platform-upgrade-46-hosts.yaml) rehearsed
# on this machine: the 3 databases (accounts, events, media) on a MariaDB server of its own,
# the 46 machines are the test suite's sshd hosts h01-h46 (each a directory), nginx serves
# the release artifact, the customer space and the maintenance page. Every machine runs V9
# before; the rehearsal deploys V10 everywhere. One instance (h23) does not come back after
# the deployment, as in the field: the check must name it, the restart must touch it alone,
# the second check must pass. Then a second run where the media conversion meets a row the
# new format refuses: the rollback must bring every touched database back as it was, and
# take the maintenance page down.
#   bash tests/scenarios/platform.sh      (MIGRATE=path/to/migrate, WORK, KEEP=1)
# Under ctest it uses the suite's sshd and nginx fixtures (MIGRATE_TEST_SSH_DIR,
# MIGRATE_TEST_SERVERS); run by hand, it starts both itself.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIGRATE=${MIGRATE:-$ROOT/build/migrate}
BASE=${MIGRATE_TEST_PORT_BASE:-18480}
DB_PORT=$((BASE + 36))
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/migrate-platform.XXXXXX")}
mkdir -p "$WORK" && chmod 755 "$WORK"  # nginx workers run as nobody
SERVERS=$WORK/servers
tag=platform$$
OWN_SSHD= OWN_NGINX= POLLER=
if [ -z "${MIGRATE_TEST_SSH_DIR:-}" ]; then
  OWN_SSHD=1 MIGRATE_TEST_SSH_DIR=$SERVERS/sshd MIGRATE_TEST_SSH_PORT=$((BASE + 38))
fi
if [ -z "${MIGRATE_TEST_SERVERS:-}" ] || [ -z "${MIGRATE_TEST_HTTP_PORT:-}" ]; then
  OWN_NGINX=1 MIGRATE_TEST_SERVERS=$SERVERS MIGRATE_TEST_HTTP_PORT=$((BASE + 37))
fi
SSH_DIR=$MIGRATE_TEST_SSH_DIR HOSTS=$MIGRATE_TEST_SSH_DIR/hosts
WWW=$MIGRATE_TEST_SERVERS/nginx/www URL=http://127.0.0.1:$MIGRATE_TEST_HTTP_PORT
cleanup() {
  [ -z "$POLLER" ] || kill "$POLLER" 2> /dev/null || true
  bash "$ROOT/tests/e2e/mariadb.sh" stop "$SERVERS/db" "$DB_PORT" || true
  [ -z "$OWN_NGINX" ] || bash "$ROOT/tests/e2e/nginx.sh" stop "$SERVERS/nginx" "$MIGRATE_TEST_HTTP_PORT" || true
  [ -z "$OWN_SSHD" ] || bash "$ROOT/tests/e2e/sshd.sh" stop "$SSH_DIR" "$MIGRATE_TEST_SSH_PORT" || true
  if [ -z "${KEEP:-}" ]; then
    rm -rf "$WWW/$tag"
    for h in "$HOSTS"/h[0-9][0-9]; do rm -rf "${h:?}/$tag"; done
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
[ -x "$MIGRATE" ] || { echo "no migrate binary at $MIGRATE: build first (see README)" >&2; exit 1; }
BOOK=$ROOT/runbooks/platform-upgrade-46-hosts.yaml
export PLATFORM_DB_PASSWORD=migrate-test-pw
db() { mariadb --no-defaults --socket="$SERVERS/db/sock" -uroot "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ms() { date -d "$1" +%s%3N; }

[ -z "$OWN_NGINX" ] || bash "$ROOT/tests/e2e/nginx.sh" start "$SERVERS/nginx" "$MIGRATE_TEST_HTTP_PORT"
if [ -n "$OWN_SSHD" ]; then
  echo "== 46 machines: sshd on 127.0.0.2-47:$MIGRATE_TEST_SSH_PORT"
  bash "$ROOT/tests/e2e/sshd.sh" start "$SSH_DIR" "$MIGRATE_TEST_SSH_PORT"
fi

echo "== the 3 databases in the V9 format on 127.0.0.1:$DB_PORT"
bash "$ROOT/tests/e2e/mariadb.sh" start "$SERVERS/db" "$DB_PORT"
make_databases() {
  db -e "DROP DATABASE IF EXISTS kiwatch_accounts; DROP DATABASE IF EXISTS kiwatch_events;
         DROP DATABASE IF EXISTS kiwatch_media;
         CREATE DATABASE kiwatch_accounts CHARACTER SET utf8mb4; CREATE DATABASE kiwatch_events CHARACTER SET utf8mb4;
         CREATE DATABASE kiwatch_media CHARACTER SET utf8mb4"
  for schema in kiwatch_accounts kiwatch_events kiwatch_media; do
    db "$schema" -e "CREATE TABLE schema_version (id INT PRIMARY KEY, version VARCHAR(8) NOT NULL);
                     INSERT INTO schema_version VALUES (1, '9')"
  done
  db kiwatch_accounts -e "
    CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(80) NOT NULL, partner VARCHAR(32) NOT NULL, created_at DATE NOT NULL);
    INSERT INTO customers SELECT seq, CONCAT('Client ', seq, ' Hélène'), ELT(1 + seq % 4, 'kiwatch', 'marque-blanche-a', 'marque-blanche-b', 'telesurveillance'),
      '2011-11-01' + INTERVAL seq % 3700 DAY FROM seq_1_to_3000;
    CREATE TABLE subscriptions (id INT PRIMARY KEY, customer_id INT NOT NULL, offer_code VARCHAR(32) NOT NULL, price_cents INT NOT NULL);
    INSERT INTO subscriptions SELECT seq, 1 + seq % 3000, ELT(1 + seq % 5, 'essentiel-2011', 'serenite', 'premium', 'ia-classif', 'maintien-domicile'), 499 + seq % 1500
      FROM seq_1_to_4500"
  db kiwatch_events -e "
    CREATE TABLE events (id BIGINT PRIMARY KEY, camera_id INT NOT NULL, kind VARCHAR(32) NOT NULL, happened_at DATETIME NOT NULL, payload VARCHAR(200));
    INSERT INTO events SELECT seq, 1 + seq % 800, ELT(1 + seq % 5, 'motion', 'alarm.intrusion', 'sound', 'offline', 'alarm.smoke'),
      '2021-06-01' + INTERVAL seq MINUTE, CONCAT('{\"seq\":', seq, '}') FROM seq_1_to_60000"
  db kiwatch_media -e "
    CREATE TABLE cameras (id INT PRIMARY KEY, customer_id INT NOT NULL, model VARCHAR(32) NOT NULL) ENGINE=InnoDB;
    INSERT INTO cameras SELECT seq, 1 + seq % 3000, ELT(1 + seq % 4, 'KW-2011', 'KW-HD', 'KW-360', 'KW-OUTDOOR') FROM seq_1_to_800;
    CREATE TABLE recordings (id INT PRIMARY KEY, camera_id INT NOT NULL, started_at DATETIME NOT NULL, seconds INT NOT NULL,
      path VARCHAR(120) NOT NULL, KEY (camera_id)) ENGINE=InnoDB;
    INSERT INTO recordings SELECT seq, 1 + seq % 800, '2021-06-01' + INTERVAL seq * 7 MINUTE, 10 + seq % 50,
      CONCAT('rec/', seq % 800, '/', seq, '.mp4') FROM seq_1_to_25000"
}
# What a database is: its tables, their columns and constraints, and every table's checksum.
fingerprint() {
  db -N -e "SELECT table_schema, table_name, GROUP_CONCAT(column_name, ' ', column_type ORDER BY ordinal_position)
              FROM information_schema.columns WHERE table_schema LIKE 'kiwatch\\_%' GROUP BY 1, 2 ORDER BY 1, 2;
            SELECT table_schema, table_name, constraint_name, constraint_type FROM information_schema.table_constraints
              WHERE table_schema LIKE 'kiwatch\\_%' ORDER BY 1, 2, 3"
  local schema table
  for schema in kiwatch_accounts kiwatch_events kiwatch_media; do
    for table in $(db -N "$schema" -e "SHOW TABLES"); do db -N "$schema" -e "CHECKSUM TABLE \`$table\`"; done
  done
}
make_databases
fingerprint > "$WORK/v9.fingerprint"

echo "== the release artifact, the customer space and the maintenance page on nginx ($URL/$tag)"
# A release: its control scripts (the instance is a stand-in: "running" is run/instance
# holding the release's version) and its export jobs.
make_release() {  # DIR VERSION EXPORTS...
  local dir=$1 version=$2 job; shift 2
  mkdir -p "$dir/bin" "$dir/exports"
  echo "$version" > "$dir/VERSION"
  cat > "$dir/bin/restart" <<'SH'
#!/bin/sh
release=$(cd "$(dirname "$0")/.." && pwd -P)
app=$(cd "$release/../.." && pwd -P)
mkdir -p "$app/run"
echo "$(cat "$release/VERSION") $(date +%s%N)" >> "$app/run/restarts.log"
if [ -e "$app/run/fail-next-start" ]; then
  # The instance that does not come back: the start returns, the process is gone.
  rm -f "$app/run/fail-next-start" "$app/run/instance"
  echo "instance started"
  exit 0
fi
cat "$release/VERSION" > "$app/run/instance"
echo "instance started"
SH
  cat > "$dir/bin/health" <<'SH'
#!/bin/sh
release=$(cd "$(dirname "$0")/.." && pwd -P)
app=$(cd "$release/../.." && pwd -P)
want=$(cat "$release/VERSION")
got=$(cat "$app/run/instance" 2> /dev/null || echo "not running")
[ "$got" = "$want" ] || { echo "instance: $got (expected $want)" >&2; exit 1; }
echo "instance $want up"
SH
  chmod 755 "$dir/bin/restart" "$dir/bin/health"
  for job in "$@"; do echo "*/15 * * * * kiwatch /usr/lib/kiwatch/export $job" > "$dir/exports/$job.cron"; done
}
site=$WWW/$tag
mkdir -p "$site/artifacts" "$site/front/releases/v9" "$site/front/releases/v10" "$WORK/build"
make_release "$WORK/build/v10" v10 invoices alarms partners
tar -czf "$site/artifacts/kiwatch-v10.tar.gz" -C "$WORK/build/v10" .
echo "kiwatch v9 ok" > "$site/front/releases/v9/health.txt"
echo "kiwatch v10 ok" > "$site/front/releases/v10/health.txt"
ln -s releases/v9 "$site/front/current"
printf '<h1>Kiwatch : maintenance en cours</h1>\n<p>Retour du service vers 10h15.</p>\n' > "$WORK/maintenance.html"

echo "== 46 machines on V9: $HOSTS/hNN/$tag"
for ((i = 1; i <= 46; i++)); do
  printf -v h 'h%02d' "$i"
  app=$HOSTS/$h/$tag/kiwatch
  make_release "$app/releases/v9" v9 invoices
  ln -s releases/v9 "$app/current"
  mkdir -p "$app/run" && echo v9 > "$app/run/instance"
done
# h23's instance will not come back from the restart the deployment does.
touch "$HOSTS/h23/$tag/kiwatch/run/fail-next-start"

sets=(--set "db_port=$DB_PORT" --set "ssh_config=$SSH_DIR/ssh_config"
      --set "app_dir=$tag/kiwatch" --set "cron_dir=$tag/cron.d"
      --set "artifact_url=$URL/$tag/artifacts" --set "site_url=$URL/$tag/front/current"
      --set "front_root=$site/front" --set "web_reload=true"
      --set "maintenance_page=$WORK/maintenance.html" --set "maintenance_path=$site/maintenance.html"
      --set "maintenance_url=$URL/$tag/maintenance.html"
      --set "maintenance_up_status=200" --set "maintenance_down_status=404")

echo "== validate"
"$MIGRATE" validate "$BOOK"
"$MIGRATE" validate "$BOOK" --env local

echo "== the rehearsal: V9 to V10 on 46 machines"
J=$WORK/rehearsal.jsonl
# What the users see, every 200 ms: the maintenance page's answer.
(while :; do echo "$(date +%s%3N) $(curl -s -o /dev/null -w '%{http_code}' "$URL/$tag/maintenance.html")"; sleep 0.2; done) > "$WORK/page.log" &
POLLER=$!
start_at=$(date -d '+3 seconds' '+%Y-%m-%dT%H:%M:%S%:z')
"$MIGRATE" run "$BOOK" --env local --rehearsal --yes --journal "$J" "${sets[@]}" \
  --set "backup_dir=$WORK/backup-1" --set "start_at=$start_at" < /dev/null > "$WORK/run.out" 2>&1 ||
  { tail -60 "$WORK/run.out" >&2; fail "the rehearsal failed"; }
kill "$POLLER"; POLLER=
"$MIGRATE" journal verify "$J"
status() { jq -r --arg s "$1" 'select(.ev == "step.end" and .step == $s) | .status' "$2" | tail -1; }
for step in preprod-tests migration-scripts rollback-scripts customer-notice go-decision start-at hosts-ready \
    maintenance-up backup-accounts backup-events backup-media convert-accounts convert-events convert-media \
    deploy-release deploy-exports check-instances restart-failed recheck-instances databases-converted reopen service-tests; do
  [ "$(status "$step" "$J")" = ok ] || fail "$step: $(status "$step" "$J")"
done
started=$(jq -r 'select(.ev == "step.start" and .step == "maintenance-up") | .ts' "$J")
[ "$(ms "$started")" -ge "$(ms "$start_at")" ] || fail "the window opened at $started, before $start_at"
roles=$(jq -r 'select(.ev == "step.end" and .kind == "manual") | "\(.step)=\(.role)"' "$J" | tr '\n' ' ')
[ "$roles" = "preprod-tests=qa migration-scripts=developer rollback-scripts=developer customer-notice=support go-decision=manager service-tests=qa " ] ||
  fail "manual steps and roles: $roles"

echo "-- 46 machines deployed"
deployed=0 previous=0 running=0
for ((i = 1; i <= 46; i++)); do
  printf -v h 'h%02d' "$i"
  app=$HOSTS/$h/$tag/kiwatch
  [ "$(readlink "$app/current")" = releases/v10 ] && [ "$(cat "$app/releases/v10/VERSION")" = v10 ] &&
    [ -x "$app/releases/v10/bin/health" ] && deployed=$((deployed + 1))
  [ "$(cat "$app/previous-release" 2> /dev/null)" = releases/v9 ] && previous=$((previous + 1))
  [ "$(cat "$app/run/instance" 2> /dev/null)" = v10 ] && running=$((running + 1))
done
[ "$deployed" = 46 ] || fail "$deployed of 46 machines run releases/v10"
[ "$previous" = 46 ] || fail "$previous of 46 machines recorded the previous release"
[ "$running" = 46 ] || fail "$running of 46 instances run v10 at the end"
[ "$(jq -r 'select(.ev == "step.host" and .step == "deploy-release" and .status == "ok") | .host' "$J" | sort -u | wc -l)" = 46 ] ||
  fail "deploy-release has no ok record for every host"
echo "46 of 46 machines on releases/v10, each with previous-release = releases/v9"

echo "-- the instance that did not restart: found, restarted alone, checked again"
check_failed=$(jq -r 'select(.ev == "step.host" and .step == "check-instances" and .status == "failed") | .host' "$J" | sort -u | tr '\n' ' ')
[ "$check_failed" = "h23 " ] || fail "check-instances failed on: '$check_failed' (expected h23 alone)"
[ "$(jq -r 'select(.ev == "step.end" and .step == "check-instances") | .outputs.failed' "$J")" = h23 ] || fail "check-instances' failed output is not h23"
[ "$(jq -r 'select(.ev == "step.host" and .step == "check-instances" and .status == "ok") | .host' "$J" | sort -u | wc -l)" = 45 ] ||
  fail "check-instances did not pass on the 45 other hosts"
jq -r 'select(.ev == "step.host" and .step == "check-instances" and .host == "h23") | .tail' "$J" | grep -q "instance: not running (expected v10)" ||
  fail "the check's record of h23 does not say why"
restarted=$(jq -r 'select(.ev == "step.host" and .step == "restart-failed") | "\(.host):\(.status)"' "$J" | tr '\n' ' ')
[ "$restarted" = "h23:ok " ] || fail "restart-failed ran on: '$restarted' (expected h23 alone, ok)"
[ "$(wc -l < "$HOSTS/h23/$tag/kiwatch/run/restarts.log")" = 2 ] || fail "h23 was not restarted twice (deploy, restart-failed)"
others=$(cat "$HOSTS"/h[0-9][0-9]/"$tag"/kiwatch/run/restarts.log | wc -l)
[ "$others" = 47 ] || fail "$others restarts in all (expected 46 by the deployment and 1 by restart-failed)"
[ "$(jq -r 'select(.ev == "step.host" and .step == "recheck-instances" and .status == "ok") | .host' "$J" | sort -u | wc -l)" = 46 ] ||
  fail "the second check did not pass on 46 hosts"
[ -z "$(jq -r 'select(.ev == "step.host" and .step == "recheck-instances" and .status != "ok") | .host' "$J")" ] ||
  fail "the second check failed somewhere"
echo "check-instances named h23 alone; restart-failed ran on h23 alone; recheck-instances passed on 46"

echo "-- exports, databases, front"
for h in h45 h46; do
  [ "$(ls "$HOSTS/$h/$tag/cron.d" | tr '\n' ' ')" = "kiwatch-export-alarms kiwatch-export-invoices kiwatch-export-partners " ] ||
    fail "$h's export jobs: $(ls "$HOSTS/$h/$tag/cron.d" 2>&1)"
done
[ "$(ls -d "$HOSTS"/h[0-9][0-9]/"$tag"/cron.d 2> /dev/null | wc -l)" = 2 ] || fail "export jobs beyond h45 and h46"
[ "$(jq -r 'select(.ev == "step.host" and .step == "deploy-exports") | .host' "$J" | sort -u | tr '\n' ' ')" = "h45 h46 " ] ||
  fail "deploy-exports did not run on h45 and h46 alone"
for schema in kiwatch_accounts kiwatch_events kiwatch_media; do
  [ "$(db -N "$schema" -e "SELECT version FROM schema_version")" = 10 ] || fail "$schema is not in the V10 format"
done
db -N kiwatch_accounts -e "SHOW COLUMNS FROM customers LIKE 'locale'" | grep -q locale || fail "customers.locale is missing"
[ "$(db -N kiwatch_events -e "SELECT COUNT(*) FROM events WHERE source = 'alarm'")" = 24000 ] || fail "events were not classified"
[ "$(db -N -e "SELECT COUNT(*) FROM information_schema.referential_constraints WHERE constraint_schema = 'kiwatch_media'")" = 1 ] ||
  fail "recordings has no foreign key to cameras"
for schema in accounts events media; do
  [ -f "$WORK/backup-1/$schema/SHA256SUMS" ] || fail "no backup of $schema"
done
[ "$(readlink "$site/front/current")" = releases/v10 ] || fail "the front is not on v10"
[ "$(curl -s "$URL/$tag/front/current/health.txt")" = "kiwatch v10 ok" ] || fail "the customer space does not answer v10"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/$tag/maintenance.html")" = 404 ] || fail "the maintenance page is still up"

echo "-- the downtime window"
window_start=$(ms "$(jq -r 'select(.ev == "step.start" and .step == "maintenance-up") | .ts' "$J")")
window_end=$(ms "$(jq -r 'select(.ev == "step.end" and .step == "reopen") | .ts' "$J")")
deploy_start=$(ms "$(jq -r 'select(.ev == "step.start" and .step == "deploy-release") | .ts' "$J")")
reopen_start=$(ms "$(jq -r 'select(.ev == "step.start" and .step == "reopen") | .ts' "$J")")
run_ms=$(jq -r 'select(.ev == "run.end") | .duration_ms' "$J")
# Users saw the page during the window: between its step and the reopening it answered 200.
up=$(awk -v a="$deploy_start" -v b="$reopen_start" '$1 >= a && $1 <= b && $2 == 200 { n++ } END { print n + 0 }' "$WORK/page.log")
down=$(awk -v a="$deploy_start" -v b="$reopen_start" '$1 >= a && $1 <= b && $2 != 200 { n++ } END { print n + 0 }' "$WORK/page.log")
[ "$up" -gt 0 ] && [ "$down" = 0 ] || fail "the maintenance page answered 200 $up times and something else $down times during the deployment"
before=$(awk -v a="$window_start" '$1 < a && $2 == 200 { n++ } END { print n + 0 }' "$WORK/page.log")
[ "$before" = 0 ] || fail "the maintenance page was up before the window"
"$MIGRATE" report "$J" --format json > "$WORK/report.json"
"$MIGRATE" report "$J" > "$WORK/report.txt"
[ "$(jq -r '"\(.downtime_window.from_step) \(.downtime_window.to_step)"' "$WORK/report.json")" = "maintenance-up reopen" ] ||
  fail "the report's window: $(jq -c .downtime_window "$WORK/report.json")"
measured=$(jq -r '.downtime_window.duration_ms // empty' "$WORK/report.json")
[ -n "$measured" ] || fail "the report has no measured window"
expected=$((window_end - window_start))
[ "$measured" -gt 0 ] && [ "$measured" -lt "$run_ms" ] && [ $((measured - expected)) -le 1000 ] && [ $((expected - measured)) -le 1000 ] ||
  fail "the report's window is ${measured} ms; maintenance-up to the end of reopen is ${expected} ms, the run ${run_ms} ms"
grep -qi "downtime" "$WORK/report.txt" || fail "the text report does not show the window"
"$MIGRATE" estimate "$BOOK" --journal "$J" --format json > "$WORK/estimate.json"
"$MIGRATE" estimate "$BOOK" --journal "$J" > "$WORK/estimate.txt"
read -r from to p50 p90 < <(jq -r '.downtime_window | "\(.from) \(.to) \(.p50_ms) \(.p90_ms)"' "$WORK/estimate.json")
[ "$from $to" = "maintenance-up reopen" ] || fail "estimate's window runs from $from to $to"
# The forecast is the rehearsed critical path: about what was measured, never more than the run.
[ "$p50" -gt $((measured / 2)) ] && [ "$p50" -lt "$run_ms" ] && [ "$p90" -ge "$p50" ] ||
  fail "estimate's window P50 ${p50} ms / P90 ${p90} ms for a measured ${measured} ms"
grep -qi "window" "$WORK/estimate.txt" || fail "the text estimate shows no window"
echo "window: ${measured} ms of a ${run_ms} ms run (maintenance-up to reopen: ${expected} ms), forecast P50 ${p50} ms, P90 ${p90} ms; the page answered $up times during the deployment"

echo "== a failed conversion: a recording of a camera that no longer exists"
make_databases
db kiwatch_media -e "INSERT INTO recordings VALUES (25001, 99999, '2022-01-17 23:59:00', 30, 'rec/orphan.mp4')"
fingerprint > "$WORK/before.fingerprint"
F=$WORK/failed.jsonl
code=0
"$MIGRATE" run "$BOOK" --env local --rehearsal --yes --journal "$F" "${sets[@]}" \
  --set "backup_dir=$WORK/backup-2" --set "start_at=$(date '+%Y-%m-%dT%H:%M:%S%:z')" < /dev/null > "$WORK/failed.out" 2>&1 || code=$?
[ "$code" = 1 ] || { tail -40 "$WORK/failed.out" >&2; fail "the failed conversion should fail the run (exit 1), got $code"; }
"$MIGRATE" journal verify "$F"
[ "$(status convert-accounts "$F")" = ok ] && [ "$(status convert-events "$F")" = ok ] || fail "the first two conversions did not complete"
[ "$(status convert-media "$F")" = failed ] || fail "convert-media: $(status convert-media "$F")"
jq -r 'select(.ev == "step.end" and .step == "convert-media") | .error' "$F" | grep -qi "foreign key" ||
  fail "convert-media's error does not name the foreign key"
[ "$(jq -r 'select(.ev == "run.end") | .rollback_after' "$F")" = convert-media ] || fail "run.end does not name convert-media"
undone=$(jq -r 'select(.ev == "step.end" and .rollback_of != null) | "\(.step)<\(.rollback_of):\(.status)"' "$F" | tr '\n' ' ')
[ "$undone" = "drop-media<convert-media:ok restore-media<convert-media:ok drop-events<convert-events:ok restore-events<convert-events:ok drop-accounts<convert-accounts:ok restore-accounts<convert-accounts:ok maintenance-down-after-rollback<maintenance-up:ok " ] ||
  fail "rollback steps: $undone"
fingerprint > "$WORK/after.fingerprint"
diff "$WORK/before.fingerprint" "$WORK/after.fingerprint" > "$WORK/fingerprint.diff" ||
  { cat "$WORK/fingerprint.diff" >&2; fail "the databases are not as they were before the conversion"; }
diff -q "$WORK/v9.fingerprint" "$WORK/after.fingerprint" > /dev/null && fail "the fingerprint does not see the orphan row"
[ "$(db -N kiwatch_media -e "SELECT COUNT(*) FROM recordings WHERE camera_id = 99999")" = 1 ] || fail "the orphan recording is gone"
[ -z "$(jq -r 'select(.ev == "step.start" and .step == "deploy-release") | .step' "$F")" ] || fail "the deployment started after a failed conversion"
"$MIGRATE" report "$F" --format json > "$WORK/failed-report.json"
[ "$(jq -r '.downtime_window.windows[0] | "\(.from_step) \(.to_step) \(.closed_by_rollback)"' "$WORK/failed-report.json")" = "maintenance-up maintenance-down-after-rollback true" ] ||
  fail "the failed run's window: $(jq -c .downtime_window "$WORK/failed-report.json")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/$tag/maintenance.html")" = 404 ] || fail "the maintenance page is still up after the rollback"
grep -c . "$WORK/before.fingerprint" | xargs -I{} echo "every touched database as before: {} fingerprint lines equal (tables, columns, constraints, checksums)"
echo "rolled back: $undone"
echo "PASS"
