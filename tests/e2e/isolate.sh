#!/usr/bin/env bash
# isolate and reconnect against real servers: a service (a systemctl stand-in keeping unit
# state in files) and a cron file on six of the sshd fixture's hosts, an SQL toggle on the
# suite's MariaDB, an HTTP toggle on a small server of this test's own. Some sources are off
# before isolation; kill -9 in the middle and --resume; reconnect restores exactly the
# original state; a failed later step rolls back through reconnect.
source "$(dirname "$0")/lib.sh"
SSH_DIR=${MIGRATE_TEST_SSH_DIR:?the sshd fixture sets MIGRATE_TEST_SSH_DIR}
HOSTS=$SSH_DIR/hosts
PORT=${MIGRATE_TEST_MYSQL_TARGET_PORT:?the mariadb_target fixture sets it}
HTTP_PORT=$(( ${MIGRATE_TEST_PORT_BASE:-18480} + 44 ))
export MIGRATE_TEST_DB_PW=${MIGRATE_TEST_MYSQL_PASSWORD:-migrate-test-pw}
DB=e2e_isolate
tag=iso$$
HOST_LIST="h01 h02 h03 h04 h05 h06"

db() { mariadb --no-defaults -h127.0.0.1 -P"$PORT" -umigrate -p"$MIGRATE_TEST_DB_PW" -N -B "$@"; }
if ! db -e 'SELECT 1' > /dev/null 2>&1; then
  echo "FAIL MariaDB is not answering on 127.0.0.1:$PORT (the mariadb_target fixture starts it)"
  FAILED=1; finish; exit 1
fi

# The systemctl stand-in: unit state in $HOME/$tag/units; `stop` takes a while, so that a
# kill lands in the middle of the fan-out.
cat > fake-systemctl <<'SH'
#!/bin/sh
dir=$HOME/TAG/units; cmd=$1; unit=$2
case $cmd in
  is-active) s=$(cat "$dir/$unit.active" 2>/dev/null || echo inactive); echo "$s"; [ "$s" = active ];;
  is-enabled) s=$(cat "$dir/$unit.enabled" 2>/dev/null || echo disabled); echo "$s"; [ "$s" = enabled ];;
  stop) sleep 0.6; echo inactive > "$dir/$unit.active"; echo "$unit" >> "$dir/stops";;
  start) echo active > "$dir/$unit.active"; echo "$unit" >> "$dir/starts";;
  enable) echo enabled > "$dir/$unit.enabled";;
  disable) echo disabled > "$dir/$unit.enabled";;
  *) echo "unknown command $cmd" >&2; exit 1;;
esac
SH
sed -i "s/TAG/$tag/" fake-systemctl

# Before: crm-worker runs on h01-h04 (enabled on h01-h03), is off on h05-h06; the sync line
# is on everywhere but h06, where someone had commented it out already.
set_up() {
  for h in $HOST_LIST; do
    rm -rf "$HOSTS/$h/$tag"; mkdir -p "$HOSTS/$h/$tag/units"
    cp fake-systemctl "$HOSTS/$h/$tag/systemctl"; chmod +x "$HOSTS/$h/$tag/systemctl"
    case $h in h0[1-4]) echo active;; *) echo inactive;; esac > "$HOSTS/$h/$tag/units/crm-worker.active"
    case $h in h0[1-3]) echo enabled;; *) echo disabled;; esac > "$HOSTS/$h/$tag/units/crm-worker.enabled"
    { echo "MAILTO=ops"
      if [ $h = h06 ]; then echo "# */5 * * * * /opt/crm/sync"; else echo "*/5 * * * * /opt/crm/sync"; fi
      echo "0 3 * * * /opt/backup"; } > "$HOSTS/$h/$tag/cron"
  done
  db -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB;
         CREATE TABLE $DB.hooks (id INT PRIMARY KEY, active TINYINT);
         INSERT INTO $DB.hooks VALUES (1,1),(2,0),(3,1)"
  echo '{"enabled": true}' > link.state
}
# The state of everything, one line per thing, for before/after comparisons.
snapshot() {
  for h in $HOST_LIST; do
    echo "$h $(cat "$HOSTS/$h/$tag/units/crm-worker.active") $(cat "$HOSTS/$h/$tag/units/crm-worker.enabled")"
    sed "s/^/$h cron: /" "$HOSTS/$h/$tag/cron"
  done
  db -e "SELECT id, active FROM $DB.hooks ORDER BY id"
  cat link.state
}

# The HTTP toggle: GET /link answers the state, PUT /link sets it.
cat > toggle.py <<'PY'
import http.server, sys
class Toggle(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open("link.state", "rb").read()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def do_PUT(self):
        data = self.rfile.read(int(self.headers["Content-Length"]))
        open("link.state", "wb").write(data + b"\n")
        open("link.calls", "a").write("PUT " + data.decode() + "\n")
        self.send_response(204); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Toggle).serve_forever()
PY
echo '{"enabled": true}' > link.state
python3 toggle.py "$HTTP_PORT" &
wait_for 10 curl -sf "http://127.0.0.1:$HTTP_PORT/link" -o /dev/null || { echo "FAIL the toggle server did not start"; FAILED=1; }

isolate_step() {  # the isolate step; $1: extra lines (a rollback)
cat <<YAML
      - id: iso
        kind: isolate
        with:
          hosts: "web[0:5]"
          connection: crm
          systemctl: $tag/systemctl
          parallel: "2"
          ssh_config: $SSH_DIR/ssh_config
          sources:
            - { service: crm-worker, disable: true }
            - { cron: "/opt/crm/", file: $tag/cron }
            - sql: SELECT id FROM hooks WHERE active = 1 ORDER BY id
              off: UPDATE hooks SET active = 0 WHERE id IN ({ids})
              on: UPDATE hooks SET active = 1 WHERE id IN ({ids})
            - http: http://127.0.0.1:$HTTP_PORT/link
              on_when: { pointer: /enabled, equals: "true" }
              off: { method: PUT, body: '{"enabled": false}' }
              on: { method: PUT, body: '{"enabled": true}' }
$1
YAML
}
header() {
cat <<YAML
version: 1
name: isolate-e2e
roles: { executor: Engineer }
connections:
  crm: { type: mysql, host: 127.0.0.1, port: $PORT, user: migrate, password: "\${secret:MIGRATE_TEST_DB_PW}", database: $DB }
hosts:
  inventory: $SSH_DIR/inventory.ini
phases:
  - id: p
    steps:
YAML
}

# ---- isolate, killed in the middle, resumed; reconnect restores exactly the state before
{ header; isolate_step ""
cat <<YAML
      - id: isolated
        kind: shell
        with: { command: "echo isolated" }
      - id: back
        kind: reconnect
        with: { isolate: iso }
YAML
} > book.yaml
expect_exit 0 "the runbook validates" "$MIGRATE" validate book.yaml
set_up
snapshot > before.txt

expect_exit 0 "dry run: says what it would switch off, touches nothing" "$MIGRATE" run book.yaml --dry-run
check "dry run: the hosts where the service would stop" grep -q "crm-worker: would stop on h01, h02, h03, h04" last.out
check "dry run: the SQL keys" grep -q "crm: would switch off 2 (1, 3)" last.out
snapshot > dry.txt
check "dry run: nothing changed" diff before.txt dry.txt

"$MIGRATE" run book.yaml --rehearsal --yes --journal run.jsonl > run1.out 2>&1 &
pid=$!
wait_for 20 bash -c "[ \$(cat $HOSTS/h0[1-4]/$tag/units/stops 2>/dev/null | wc -l) -ge 1 ]"
kill -9 $pid; wait $pid 2>/dev/null
sleep 1  # the remote stop in flight finishes on its own
check "killed during the service fan-out" bash -c "! jq -e 'select(.ev==\"step.end\" and .step==\"iso\")' run.jsonl > /dev/null"
check "the intent was recorded before the stop" test "$(jq -r 'select(.ev=="step.checkpoint" and .step=="iso") | .state.sources["service crm-worker on web[0:5]"].hosts.h01.was_on' run.jsonl | tail -1)" = true

expect_exit 0 "--resume finishes isolation and reconnect" "$MIGRATE" run book.yaml --journal run.jsonl --resume --yes
record=$(jq -r 'select(.ev=="step.end" and .step=="iso") | .outputs.record' run.jsonl)
svc() { echo "$record" | jq -r ".sources[\"service crm-worker on web[0:5]\"].hosts.$1.was_on"; }
check "record: h01-h04 were on" test "$(svc h01)$(svc h02)$(svc h03)$(svc h04)" = truetruetruetrue
check "record: h05-h06 were off" test "$(svc h05)$(svc h06)" = falsefalse
check "record: h01's original state kept" test "$(echo "$record" | jq -r '.sources["service crm-worker on web[0:5]"].hosts.h01.active')" = active
check "record: the SQL keys that were on" test "$(echo "$record" | jq -c '.sources[] | select(.ids) | .ids')" = '["1","3"]'
check "record: the link was on" test "$(echo "$record" | jq -r '.sources["http http://127.0.0.1:'$HTTP_PORT'/link"].was_on')" = true
check "record: h06's cron had nothing of ours" test "$(echo "$record" | jq -r '[.sources[] | select(.hosts.h06.lines) | .hosts.h06.lines[]] | length')" = 0
check "no service was stopped twice" test "$(cat $HOSTS/h0*/$tag/units/stops | wc -l)" -eq 4
check "reconnect started only the services that were on" test "$(cat $HOSTS/h0*/$tag/units/starts | wc -l)" -eq 4
check "h05 and h06 were never started" test ! -e "$HOSTS/h05/$tag/units/starts" -a ! -e "$HOSTS/h06/$tag/units/starts"
snapshot > after.txt
check "reconnect restored exactly the state before isolation" diff before.txt after.txt
check "the link was switched off then on" test "$(cat link.calls)" = $'PUT {"enabled": false}\nPUT {"enabled": true}'

# ---- a later step fails: the rollback reconnects
rm -f link.calls
{ header; isolate_step "        rollback:
          - id: iso-undo
            kind: reconnect
            with: { isolate: iso }"
cat <<YAML
      - id: cutover
        kind: shell
        on_failure: rollback
        with: { command: "cat $HOSTS/h01/$tag/cron > during.txt; exit 3" }
YAML
} > rollback.yaml
set_up
expect_exit 1 "a failed step rolls back" "$MIGRATE" run rollback.yaml --rehearsal --yes --journal rollback.jsonl
check "the cron line was commented with the marker during the run" grep -q "^#migrate-isolate:iso# \*/5 \* \* \* \* /opt/crm/sync$" during.txt
check "iso-undo ran as rollback of iso" test "$(jq -r 'select(.ev=="step.end" and .step=="iso-undo") | .rollback_of + " " + .status' rollback.jsonl)" = "iso ok"
snapshot > after-rollback.txt
check "the rollback restored exactly the state before isolation" diff before.txt after-rollback.txt

# ---- a wrong reference is refused at validation
sed 's/isolate: iso }/isolate: isp }/' book.yaml > typo.yaml
expect_exit 2 "reconnect naming an unknown step fails validation" "$MIGRATE" validate typo.yaml
check "with a did-you-mean" contains last.err "did you mean 'iso'?"

for h in $HOST_LIST; do rm -rf "$HOSTS/$h/$tag"; done
db -e "DROP DATABASE IF EXISTS $DB"
finish
