#!/usr/bin/env bash
# The go-live readiness checklist (runbooks/go-live-readiness.yaml) rehearsed on this machine:
# a local MariaDB holds the legacy system's and the new system's databases, a local nginx
# plays the new system, its integrations, dashboards and demo stand. The automated checks
# run for real (the backup is restored into a scratch database and compared); the people's
# checks are confirmed from "another terminal" with `migrate confirm`, with evidence files and
# URLs, and the go/no-go by two different board members. Then one failure path: a rejected
# go/no-go fails the run.
#   bash tests/scenarios/golive.sh          (MIGRATE=path/to/migrate, WORK, KEEP=1)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIGRATE=${MIGRATE:-$ROOT/build/migrate}
BASE=${MIGRATE_TEST_PORT_BASE:-18480}
DB_PORT=$((BASE + 34)) HTTP_PORT=$((BASE + 35))
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/migrate-golive.XXXXXX")}
chmod 755 "$WORK"  # nginx workers run as nobody
SERVERS=$WORK/servers NGINX=$WORK/nginx
RUN_PID=
cleanup() {
  [ -z "$RUN_PID" ] || kill -9 "$RUN_PID" 2> /dev/null || true
  bash "$ROOT/tests/e2e/nginx.sh" stop "$NGINX" "$HTTP_PORT" || true
  bash "$ROOT/tests/e2e/mariadb.sh" stop "$SERVERS/db" "$DB_PORT" || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
[ -x "$MIGRATE" ] || { echo "no migrate binary at $MIGRATE: build first (see README)" >&2; exit 1; }
BOOK=$ROOT/runbooks/go-live-readiness.yaml
J=$WORK/golive.jsonl
export GOLIVE_DB_PASSWORD=migrate-test-pw
db() { mariadb --no-defaults --socket="$SERVERS/db/sock" -uroot "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== the databases: legacy and new system on 127.0.0.1:$DB_PORT"
bash "$ROOT/tests/e2e/mariadb.sh" start "$SERVERS/db" "$DB_PORT"
for schema in legacy app; do
  db -e "CREATE DATABASE $schema CHARACTER SET utf8mb4"
  db "$schema" -e "
    CREATE TABLE orders (id INT PRIMARY KEY, status VARCHAR(16), amount DECIMAL(12,2));
    INSERT INTO orders SELECT seq, ELT(1 + seq % 3, 'open', 'paid', 'closed'), seq * 1.25 FROM seq_1_to_5000;
    CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(64), org_unit VARCHAR(16));
    INSERT INTO users SELECT seq, CONCAT('user ', seq), ELT(1 + seq % 4, 'sales', 'ops', 'it', 'finance') FROM seq_1_to_300;"
done
db app -e "CREATE TABLE ref_countries (code CHAR(2) PRIMARY KEY, name VARCHAR(64));
           INSERT INTO ref_countries VALUES ('FR', 'France'), ('BE', 'Belgique'), ('CH', 'Suisse')"

echo "== the new system, its integrations and dashboards: nginx on 127.0.0.1:$HTTP_PORT"
bash "$ROOT/tests/e2e/nginx.sh" start "$NGINX" "$HTTP_PORT"
www=$NGINX/www
mkdir -p "$www/integrations/erp" "$www/status" "$www/demo" "$www/grafana/api"
printf '{"service":"erp","version":"7.4.2","state":"up"}\n' > "$www/integrations/erp/status.json"
echo ok > "$www/status/health"; echo ok > "$www/status/integrations"
echo demo > "$www/demo/index.html"; echo ok > "$www/grafana/api/health"
URL=http://127.0.0.1:$HTTP_PORT

echo "== the handover documents and the evidence people attach"
DOCS=$WORK/handover
mkdir -p "$DOCS" "$WORK/evidence"
for doc in update-procedure how-to demo-scenarios architecture ui-kit sources-plan; do
  printf '# %s\n\nwritten for the handover\n' "$doc" > "$DOCS/$doc.md"
done
(cd "$DOCS" && sha256sum ./*.md > SHA256SUMS)
printf 'requirements UAT+prod signed 2026-11-30\n' > "$WORK/evidence/infra-requirements.pdf"
printf 'user manual v1.0\n' > "$WORK/evidence/user-manual.pdf"

echo "== the rehearsal: automated checks run, people confirm from another terminal"
release_at=$(date -d '+40 seconds' '+%Y-%m-%dT%H:%M:%S%:z')
"$MIGRATE" run "$BOOK" --env local --rehearsal --journal "$J" \
  --set "db_port=$DB_PORT" --set "work=$WORK/work" --set "docs_dir=$DOCS" \
  --set "app_url=$URL/status" --set "integration_url=$URL/integrations" \
  --set "dashboard_url=$URL/status" --set "demo_url=$URL/demo" --set "metrics_url=$URL/grafana" \
  --set "release_at=$release_at" < /dev/null > "$WORK/run.out" 2>&1 &
RUN_PID=$!

# Waits until STEP waits for a confirmation (its step.start without a step.end).
waiting() {
  local step=$1 i
  for ((i = 0; i < 600; i++)); do
    if [ -s "$J" ] && [ "$(jq -r --arg s "$step" 'select(.step == $s and (.ev == "step.start" or .ev == "step.end")) | .ev' "$J" | tail -1)" = step.start ]; then
      return 0
    fi
    is_running || { tail -30 "$WORK/run.out" >&2; fail "the run ended before $step waited"; }
    sleep 0.2
  done
  tail -30 "$WORK/run.out" >&2
  fail "$step never waited for a confirmation"
}
is_running() { kill -0 "$RUN_PID" 2> /dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$RUN_PID/status" 2>/dev/null; }
confirm() {  # STEP ROLE [options...]
  local step=$1 role=$2; shift 2
  waiting "$step"
  "$MIGRATE" confirm "$J" "$step" --as "$role" "$@" > /dev/null
}

if confirm infra-requirements customer_ops --by "Luc Admin"; then
  fail "a confirmation without evidence was accepted"
fi
echo "refused without evidence, as it should be"
confirm infra-requirements customer_ops --by "Luc Admin" --evidence "$WORK/evidence/infra-requirements.pdf"
confirm mobile-distribution pm --by "Sophie Chef" --note "not applicable: web only"
confirm backup-strategy auditor --by "Anne Audit" --evidence "$WORK/work/restore-check.json"
confirm history-scope pm --by "Sophie Chef" --note "ERP orders since 2019, migrated by the ETL jobs"
confirm integrations-tested executor --by "Marc Dev" --evidence "https://tickets.example.com/QA-118"
confirm pilot-sessions customer_business --by "Julie Metier" --note "3 sessions, 12 pilot users, minutes in the wiki"
confirm admin-training customer_ops --by "Luc Admin" --note "training held on 2026-12-01"
confirm formal-handover pm --by "Sophie Chef" --note "acceptance certificate scheduled"
confirm support-lines customer_ops --by "Luc Admin" --evidence "https://helpdesk.example.com/queues/golive"
confirm user-manual customer_business --by "Julie Metier" --evidence "$WORK/evidence/user-manual.pdf"
confirm kpis-agreed customer_business --by "Julie Metier" --note "orders per day, active users"
confirm go-no-go release_board --by "Claire Martin" --note "go"
if "$MIGRATE" confirm "$J" go-no-go --as release_board --by "Claire Martin" --note "go" 2> "$WORK/twice.err"; then
  fail "the same board member was counted twice"
fi
grep -q "already confirmed by Claire Martin; a second person must confirm" "$WORK/twice.err"
echo "the same approver twice: refused"
confirm go-no-go release_board --by "Paul Bernard" --note "go"
confirm release-starts pm --by "Sophie Chef"
wait "$RUN_PID" || { tail -40 "$WORK/run.out" >&2; fail "the rehearsal failed"; }
RUN_PID=

echo "== the journal: evidence, approvers, checks"
"$MIGRATE" journal verify "$J"
status() { jq -r --arg s "$1" 'select(.ev == "step.end" and .step == $s) | .status' "$J" | tail -1; }
for step in app-answers update-procedure tech-monitoring backup-now scratch-db restore-backup restore-matches \
    history-verified reference-data users-migrated integrations-answer integration-version \
    availability-dashboard demo-stand user-materials handover-docs kpi-data start-at; do
  [ "$(status "$step")" = ok ] || fail "$step: $(status "$step")"
done
evidence=$(jq -c 'select(.ev == "step.confirm" and .step == "backup-strategy")' "$J")
[ "$(echo "$evidence" | jq -r .evidence_sha256)" = "$(sha256sum "$WORK/work/restore-check.json" | cut -d' ' -f1)" ] ||
  fail "the restore report's SHA-256 is not in the journal: $evidence"
[ "$(echo "$evidence" | jq -r .evidence_size)" = "$(stat -c %s "$WORK/work/restore-check.json")" ] || fail "size: $evidence"
[ "$(jq -r 'select(.ev == "step.confirm" and .step == "support-lines") | .evidence' "$J")" = https://helpdesk.example.com/queues/golive ] ||
  fail "the support queue's URL is not recorded"
approvers=$(jq -r 'select(.ev == "step.confirm" and .step == "go-no-go") | "\(.approval)/\(.approvals) \(.by)"' "$J" | tr '\n' '|')
[ "$approvers" = "1/2 Claire Martin|2/2 Paul Bernard|" ] || fail "go-no-go approvers: $approvers"
[ "$(jq -r 'select(.ev == "step.end" and .step == "integration-version") | .outputs.erp_version' "$J")" = 7.4.2 ] ||
  fail "the ERP version was not read"
[ "$(jq -r 'select(.ev == "step.end" and .step == "start-at") | .outputs.at' "$J")" != null ] || fail "start-at has no time"
# Nothing starts before the agreed time.
release_ms=$(( $(date -d "$release_at" +%s) * 1000 ))
started=$(jq -r 'select(.ev == "step.start" and .step == "release-starts") | .ts' "$J")
[ "$(( $(date -d "$started" +%s%3N) ))" -ge "$release_ms" ] || fail "release-starts began at $started, before $release_at"
echo "restore report hashed, support URL recorded, two approvers, release at $release_at honoured"

"$MIGRATE" report "$J" > "$WORK/report.txt"
grep -q "evidence $WORK/work/restore-check.json (sha256 " "$WORK/report.txt" || fail "the report does not show the evidence"
grep -q "by Paul Bernard .*\[approval 2 of 2\]" "$WORK/report.txt" || fail "the report does not show the second approver"
head -60 "$WORK/report.txt"

echo "== failure path: the board rejects the go/no-go"
NOGO=$WORK/nogo.jsonl
"$MIGRATE" run "$BOOK" --env local --rehearsal --journal "$NOGO" --only go-no-go \
  --set "db_port=$DB_PORT" --set "work=$WORK/work" --set "docs_dir=$DOCS" \
  --set "release_at=$release_at" < /dev/null > "$WORK/nogo.out" 2>&1 &
RUN_PID=$!
J=$NOGO
confirm go-no-go release_board --by "Claire Martin" --note "go"
confirm go-no-go release_board --by "Paul Bernard" --reject --note "the pilot group found blocking defects"
code=0
wait "$RUN_PID" || code=$?
RUN_PID=
[ "$code" = 1 ] || fail "a rejected go/no-go should fail the run (exit 1), got $code"
[ "$(jq -r 'select(.ev == "step.end" and .step == "go-no-go") | .error' "$NOGO")" = "rejected by Paul Bernard: the pilot group found blocking defects" ] ||
  fail "the rejection is not the step's error"
[ -z "$(jq -r 'select(.ev == "step.start" and .step == "start-at")' "$NOGO")" ] || fail "the release went on after a no-go"
echo "rejected: the run failed (exit 1), the release did not start"
