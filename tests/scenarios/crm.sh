#!/usr/bin/env bash
# The cloud-to-on-premises CRM move (runbooks/cloud-to-onprem-crm.yaml) rehearsed on this
# machine: a generated portal backup, cut into parts with a sha256sum manifest, served by a
# local nginx; the runbook orders, downloads, verifies and restores it, the manual steps
# confirmed by --yes (a rehearsal). The telephony server is the test suite's sshd host h03:
# in the window its CRM connector configuration is switched to the on-premises portal's
# (`cutover`), checked, and the portal must answer; then a switch whose portal does not
# answer must put the cloud's configuration back. Last, the report and the forecast for a
# 35 GB backup.
#   bash tests/scenarios/crm.sh            (MIGRATE=path/to/migrate, PORT, WORK, KEEP=1)
# Under ctest it uses the suite's sshd fixture (MIGRATE_TEST_SSH_DIR); run by hand, it
# starts its own on base+42.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIGRATE=${MIGRATE:-$ROOT/build/migrate}
BASE=${MIGRATE_TEST_PORT_BASE:-18480}
PORT=${PORT:-$((BASE + 3))}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/migrate-crm.XXXXXX")}
mkdir -p "$WORK" && chmod 755 "$WORK"  # nginx workers run as nobody
NGINX=$WORK/nginx
tag=crm$$
OWN_SSHD=
if [ -z "${MIGRATE_TEST_SSH_DIR:-}" ]; then
  OWN_SSHD=1 MIGRATE_TEST_SSH_DIR=$WORK/sshd MIGRATE_TEST_SSH_PORT=$((BASE + 42))
fi
SSH_DIR=$MIGRATE_TEST_SSH_DIR PBX=$MIGRATE_TEST_SSH_DIR/hosts/h03/$tag
cleanup() {
  bash "$ROOT/tests/e2e/nginx.sh" stop "$NGINX" "$PORT"
  [ -z "$OWN_SSHD" ] || bash "$ROOT/tests/e2e/sshd.sh" stop "$SSH_DIR" "$MIGRATE_TEST_SSH_PORT" || true
  if [ -z "${KEEP:-}" ]; then
    rm -rf "$PBX"
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
[ -x "$MIGRATE" ] || { echo "no migrate binary at $MIGRATE: build first (see README)" >&2; exit 1; }
BOOK=$ROOT/runbooks/cloud-to-onprem-crm.yaml
fail() { echo "FAIL: $*" >&2; exit 1; }
if [ -n "$OWN_SSHD" ]; then
  echo "== the telephony server: sshd on 127.0.0.2-47:$MIGRATE_TEST_SSH_PORT"
  bash "$ROOT/tests/e2e/sshd.sh" start "$SSH_DIR" "$MIGRATE_TEST_SSH_PORT"
fi

echo "== a portal backup, in parts, with its manifest"
mkdir -p "$WORK/portal/bitrix/modules/crm" "$WORK/portal/upload/crm" "$WORK/portal/bitrix/backup"
for i in $(seq 1 40); do head -c $((RANDOM * 20)) /dev/urandom > "$WORK/portal/upload/crm/file-$i.bin"; done
for i in $(seq 1 120000); do echo "INSERT INTO b_crm_lead VALUES ($i,'Lead $i','+7 900 $((i % 1000))','new');"; done \
  > "$WORK/portal/bitrix/backup/portal.sql"
printf '<?php // settings\n' > "$WORK/portal/bitrix/.settings.php"
chmod 600 "$WORK/portal/bitrix/.settings.php"
mkdir -p "$WORK/vendor"
tar -C "$WORK/portal" -czf - . | split -b 4M --numeric-suffixes=1 -a 3 - "$WORK/vendor/portal-backup.tar.gz."
(cd "$WORK/vendor" && sha256sum portal-backup.tar.gz.* > SHA256SUMS)
echo "$(ls "$WORK/vendor" | grep -c tar.gz) parts, $(du -sh "$WORK/vendor" | cut -f1)"

echo "== the vendor's server: nginx on 127.0.0.1:$PORT"
bash "$ROOT/tests/e2e/nginx.sh" start "$NGINX" "$PORT"
mkdir -p "$NGINX/www/backup" && cp "$WORK/vendor/"* "$NGINX/www/backup/"

echo "== the telephony server (h03): its CRM connector pointing at the cloud"
mkdir -p "$PBX"
printf '[crm]\nurl = https://company.bitrix24.example/rest/1/cloud-hook/\n' > "$WORK/connector.cloud.conf"
printf '[crm]\nurl = https://crm.example.com/rest/1/onprem-hook/\n' > "$WORK/connector.onprem.conf"
cp "$WORK/connector.cloud.conf" "$PBX/crm-connector.conf"
sets=(--set "ssh_config=$SSH_DIR/ssh_config" --set "telephony_conf=$tag/crm-connector.conf"
      --set "telephony_conf_onprem=$WORK/connector.onprem.conf" --set "telephony_reload=echo reloaded >> $tag/reloads")

echo "== validate"
for env in preprod production local; do "$MIGRATE" validate "$BOOK" --env "$env"; done

echo "== the rehearsal"
J=$WORK/crm.jsonl
CRM_PORTAL_URL=http://127.0.0.1:$PORT/health "$MIGRATE" run "$BOOK" \
  --env local --rehearsal --yes --journal "$J" "${sets[@]}" \
  --set "backup_url=http://127.0.0.1:$PORT/backup/" --set "work=$WORK/move" < /dev/null > "$WORK/run.out" 2>&1 ||
  { tail -60 "$WORK/run.out" >&2; fail "the rehearsal failed"; }
"$MIGRATE" journal verify "$J"
status() { jq -r --arg s "$1" 'select(.ev == "step.end" and .step == $s) | .status' "$2" | tail -1; }
for step in backup-published download-parts verify-parts restore switch-telephony copy-new-leads sales-start; do
  [ "$(status "$step" "$J")" = ok ] || fail "step $step: $(status "$step" "$J")"
done

echo "== the restored portal equals the one backed up"
diff -r "$WORK/portal" "$WORK/move/portal"
[ "$(stat -c %a "$WORK/move/portal/bitrix/.settings.php")" = 600 ]
echo "identical, modes kept"

echo "== the telephony switched to the on-premises portal, before the leads were copied"
cmp "$PBX/crm-connector.conf" "$WORK/connector.onprem.conf" || fail "h03's connector configuration is not the on-premises one"
[ "$(cat "$PBX/reloads")" = reloaded ] || fail "the connector was reloaded $(wc -l < "$PBX/reloads") times, not once"
# One record per host and stage (the switch, then keeping it: the saved cloud configuration
# dropped), all on h03, all ok.
[ "$(jq -r 'select(.ev == "step.host" and .step == "switch-telephony") | "\(.host) \(.status)"' "$J" | sort -u)" = "h03 ok" ] ||
  fail "switch-telephony's step.host records: $(jq -c 'select(.ev == "step.host" and .step == "switch-telephony")' "$J")"
[ ! -e "$PBX/crm-connector.conf.migrate-previous" ] || fail "the cloud's configuration was not dropped after the switch"
[ "$(jq -r 'select(.ev == "step.end" and .step == "switch-telephony") | .outputs.switched' "$J")" = 1 ] ||
  fail "switch-telephony's switched output"
switched=$(jq -r 'select(.ev == "step.end" and .step == "switch-telephony") | .seq' "$J")
copied=$(jq -r 'select(.ev == "step.start" and .step == "copy-new-leads") | .seq' "$J")
[ "$switched" -lt "$copied" ] || fail "the leads were copied before the telephony switched"
[ "$(jq -r 'select(.ev == "step.end" and .step == "sales-start") | .seq' "$J")" -gt "$copied" ] || fail "sales-start before copy-new-leads"

echo "== a switch whose portal does not answer puts the cloud's configuration back"
cp "$WORK/connector.cloud.conf" "$PBX/crm-connector.conf"
rm -f "$PBX/reloads"
F=$WORK/failed-switch.jsonl
code=0
CRM_PORTAL_URL=http://127.0.0.1:$PORT/no-portal-here "$MIGRATE" run "$BOOK" \
  --env local --rehearsal --yes --journal "$F" "${sets[@]}" --only switch-telephony --set health_deadline=3s \
  --set "backup_url=http://127.0.0.1:$PORT/backup/" --set "work=$WORK/move" < /dev/null > "$WORK/failed.out" 2>&1 || code=$?
[ "$code" = 1 ] || { tail -40 "$WORK/failed.out" >&2; fail "the switch to a portal that does not answer should fail (exit 1), got $code"; }
[ "$(status switch-telephony "$F")" = failed ] || fail "switch-telephony: $(status switch-telephony "$F")"
jq -r 'select(.ev == "step.end" and .step == "switch-telephony") | .error' "$F" | grep -q "undone" ||
  fail "switch-telephony's error: $(jq -r 'select(.ev == "step.end" and .step == "switch-telephony") | .error' "$F")"
cmp "$PBX/crm-connector.conf" "$WORK/connector.cloud.conf" || fail "h03's connector configuration is not the cloud's again"
[ "$(cat "$PBX/reloads" | tr '\n' ' ')" = "reloaded reloaded " ] || fail "the connector was not reloaded after the undo"
[ -z "$(jq -r 'select(.ev == "step.start" and .step == "copy-new-leads") | .step' "$F")" ] || fail "copy-new-leads ran"
echo "the cloud's connector configuration is back, reloaded; calls keep creating leads in the cloud"

echo "== the report and the forecast for the real, 35 GB backup"
# Written to files first: `head` closing the pipe early would end migrate by SIGPIPE.
"$MIGRATE" report "$J" > "$WORK/report.txt"
head -40 "$WORK/report.txt"
# Exit 4 (the P90 over the budget) depends on this machine's download rate, scaled to 35 GB.
code=0
"$MIGRATE" estimate "$BOOK" --journal "$J" --set backup_size=35GB > "$WORK/estimate.txt" || code=$?
[ "$code" = 0 ] || [ "$code" = 4 ] || { echo "estimate for a 35 GB backup: exit $code" >&2; exit 1; }
head -40 "$WORK/estimate.txt"
