#!/usr/bin/env bash
# The cloud-to-on-premises CRM move (runbooks/cloud-to-onprem-crm.yaml) rehearsed on this
# machine: a generated portal backup, cut into parts with a sha256sum manifest, served by a
# local nginx; the runbook orders, downloads, verifies and restores it, the manual steps
# confirmed by --yes (a rehearsal); then the report and the forecast for a 35 GB backup.
#   bash tests/scenarios/crm.sh            (MIGRATE=path/to/migrate, PORT, WORK, KEEP=1)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIGRATE=${MIGRATE:-$ROOT/build/migrate}
PORT=${PORT:-$(( ${MIGRATE_TEST_PORT_BASE:-18480} + 3 ))}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/migrate-crm.XXXXXX")}
chmod 755 "$WORK"  # nginx workers run as nobody
NGINX=$WORK/nginx
cleanup() {
  bash "$ROOT/tests/e2e/nginx.sh" stop "$NGINX" "$PORT"
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
[ -x "$MIGRATE" ] || { echo "no migrate binary at $MIGRATE: build first (see README)" >&2; exit 1; }

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

echo "== the rehearsal"
CRM_PORTAL_URL=http://127.0.0.1:$PORT/health "$MIGRATE" run "$ROOT/runbooks/cloud-to-onprem-crm.yaml" \
  --env local --rehearsal --yes --journal "$WORK/crm.jsonl" \
  --set "backup_url=http://127.0.0.1:$PORT/backup/" --set "work=$WORK/move"

echo "== the restored portal equals the one backed up"
diff -r "$WORK/portal" "$WORK/move/portal"
[ "$(stat -c %a "$WORK/move/portal/bitrix/.settings.php")" = 600 ]
echo "identical, modes kept"

echo "== the report and the forecast for the real, 35 GB backup"
# Written to files first: `head` closing the pipe early would end migrate by SIGPIPE.
"$MIGRATE" report "$WORK/crm.jsonl" > "$WORK/report.txt"
head -40 "$WORK/report.txt"
"$MIGRATE" estimate "$ROOT/runbooks/cloud-to-onprem-crm.yaml" --journal "$WORK/crm.jsonl" --set backup_size=35GB > "$WORK/estimate.txt"
head -40 "$WORK/estimate.txt"
