#!/usr/bin/env bash
# The ssh kind against the suite's sshd fixture: 46 loopback hosts (h01 = 127.0.0.2 ...
# h46 = 127.0.0.47), each with its own HOME where a command leaves its effects.
# Fan-out limits, rolling batches, a host that fails once (retried) and one that always
# fails (within max_fail), the budget spent, per-host records and outputs, a secret redacted
# on every host, kill -9 in the middle and --resume, --limit, `migrate hosts`, the dry run's
# reachability check and validation of host patterns.
source "$(dirname "$0")/lib.sh"
SSH_DIR=${MIGRATE_TEST_SSH_DIR:?the sshd fixture sets MIGRATE_TEST_SSH_DIR}
HOSTS=$SSH_DIR/hosts
export DEPLOY_TOKEN=tok-9f2c41e7d
tag=$$
# Every host's effects of this test go to files named after the test's pid.
clean_effects() { rm -f "$HOSTS"/h*/"$1".$tag; }
count_hosts_with() { ls "$HOSTS"/h*/"$1".$tag 2>/dev/null | wc -l; }

cat > fleet.yaml <<YAML
version: 1
name: fleet
roles: { executor: Engineer }
vars:
  pattern: web
hosts:
  inventory: $SSH_DIR/inventory.ini
phases:
  - id: deploy
    steps:
      - id: fan
        kind: ssh
        with:
          hosts: "\${pattern}"
          parallel: "10"
          serial: "50%"
          attempts: "2"
          backoff: 1s
          max_fail: "1"
          ssh_config: $SSH_DIR/ssh_config
          command: |
            echo "start \$(date +%s%N)" >> fan.$tag
            sleep 0.3
            if [ "\$MIGRATE_TEST_HOST" = h07 ] && [ ! -f once.$tag ]; then touch once.$tag; echo "h07 busy" >&2; exit 4; fi
            if [ "\$MIGRATE_TEST_HOST" = h23 ]; then echo "h23: disk full" >&2; exit 3; fi
            echo "end \$(date +%s%N)" >> fan.$tag
            echo "\$MIGRATE_TEST_HOST deployed with token \${secret:DEPLOY_TOKEN}"
      - id: after
        kind: shell
        with: { command: "echo '\${steps.fan.hosts.h05.stdout}' > $WORK/h05.out; echo '\${steps.fan.failed}' > $WORK/failed.out" }
YAML

expect_exit 0 "migrate hosts lists the fixture's 46 hosts" "$MIGRATE" hosts fleet.yaml
check "hosts: 46 in group web" contains last.out "web (46): h01 h02"
check "hosts: the address and port of h46" grep -q "^h46  root@127.0.0.47:$MIGRATE_TEST_SSH_PORT" last.out
expect_exit 0 "migrate hosts --limit narrows" "$MIGRATE" hosts fleet.yaml --limit 'web[0:2]:h40'
check "hosts --limit: four hosts" contains last.out "4 hosts"
expect_exit 2 "migrate hosts --limit with an unknown name fails" "$MIGRATE" hosts fleet.yaml --limit 'web:!h99'
check "the unknown name is named" contains last.err "no group or host named 'h99'"

clean_effects fan; rm -f "$HOSTS"/h07/once.$tag
started=$(date +%s%N)
expect_exit 0 "46 hosts, 10 at once, two batches, one failure within max_fail" "$MIGRATE" run fleet.yaml --rehearsal --yes --journal fan.jsonl
cat last.out | tail -5
check "every host ran the command" test "$(count_hosts_with fan)" -eq 46
check "h07 failed once and was tried again" test "$(grep -c start "$HOSTS/h07/fan.$tag")" -eq 2
check "h23 ran once: no retry beyond attempts... (2 attempts)" test "$(grep -c start "$HOSTS/h23/fan.$tag")" -eq 2
check "the journal has a failed step.host for h23" test "$(jq -r 'select(.ev=="step.host" and .host=="h23" and .status=="failed") | .exit_code' fan.jsonl)" = 3
check "h23's record carries its error output" test -n "$(jq -r 'select(.ev=="step.host" and .host=="h23" and .status=="failed") | .tail' fan.jsonl | grep 'disk full')"
check "h07's first attempt is a retry record" test "$(jq -r 'select(.ev=="step.host" and .host=="h07") | .status' fan.jsonl | tr '\n' ' ')" = "retry ok "
check "46 final host records" test "$(jq -r 'select(.ev=="step.host" and .status!="retry") | .host' fan.jsonl | sort -u | wc -l)" -eq 46
check "the step ended ok, h23 named as failed" test "$(jq -r 'select(.ev=="step.end" and .step=="fan") | .outputs.failed' fan.jsonl)" = h23
check "the hosts metric is 46" test "$(jq -r 'select(.ev=="step.end" and .step=="fan") | .metrics.hosts' fan.jsonl)" = 46
check "a host's output reaches a later step" grep -q "^h05 deployed with token \*\*\*$" h05.out
check "the failed list reaches a later step" lines_equal failed.out "h23"
check "the secret is in no journal record" not_contains fan.jsonl "$DEPLOY_TOKEN"
check "the secret is in no log" bash -c "! grep -rqF '$DEPLOY_TOKEN' journals fan.jsonl.logs . 2>/dev/null"
check "the console showed the live line" grep -q "web: [0-9]*/46 done, [0-9]* running, [0-9]* failed" last.out
# At most 10 hosts at once, and the second batch began after the first ended.
cat "$HOSTS"/h*/fan.$tag > /dev/null
python3 - "$HOSTS" "$tag" > overlap.out <<'PY'
import glob, sys
hosts, tag = sys.argv[1], sys.argv[2]
events, ends = [], {}
for f in sorted(glob.glob(f"{hosts}/h*/fan.{tag}")):
    name = f.split("/")[-2]
    lines = [l.split() for l in open(f)]
    starts = [int(t) for k, t in lines if k == "start"]
    stops = [int(t) for k, t in lines if k == "end"]
    last = max(stops) if stops else max(starts) + 300_000_000
    events += [(starts[0], 1), (last, -1)]
    ends[name] = (starts[0], last)
events.sort()
cur = peak = 0
for _, d in events:
    cur += d; peak = max(peak, cur)
first = [ends[f"h{i:02d}"] for i in range(1, 24)]
second = [ends[f"h{i:02d}"] for i in range(24, 47)]
print(peak, int(max(e for _, e in first) <= min(s for s, _ in second)))
PY
check "at most 10 hosts ran at once" test "$(cut -d' ' -f1 overlap.out)" -le 10
check "the second batch (h24-h46) started after the first ended" test "$(cut -d' ' -f2 overlap.out)" = 1
expect_exit 0 "the report names the failed host" "$MIGRATE" report fan.jsonl
check "report: h23 failed" contains last.out "h23"

# The budget spent: max_fail 0 in batches of 10; h03 fails, so no host after the first batch starts.
sed -e 's/max_fail: "1"/max_fail: "0"/' -e 's/serial: "50%"/serial: "10"/' -e 's/attempts: "2"/attempts: "1"/' -e "s/h23/h03/g" fleet.yaml > budget.yaml
clean_effects fan
expect_exit 1 "over the failure budget the step fails" "$MIGRATE" run budget.yaml --rehearsal --yes --journal budget.jsonl
check "the error names h03 and the hosts not started" grep -q "h03 (exit 3).*36 host(s) not started" last.out
check "only the first batch ran" test "$(count_hosts_with fan)" -eq 10
check "h11 never started" test ! -e "$HOSTS/h11/fan.$tag"

# kill -9 during the fan-out, then --resume: a host that finished is not run again.
cat > slow.yaml <<YAML
version: 1
name: slow-fleet
roles: { executor: Engineer }
hosts: { inventory: $SSH_DIR/inventory.ini }
phases:
  - id: p
    steps:
      - id: roll
        kind: ssh
        with:
          hosts: web
          parallel: "4"
          ssh_config: $SSH_DIR/ssh_config
          command: "sleep 0.5; echo done >> roll.$tag"
YAML
clean_effects roll
"$MIGRATE" run slow.yaml --rehearsal --yes --journal slow.jsonl > slow1.out 2>&1 &
pid=$!
check "a dozen hosts finished before the kill" wait_for 60 bash -c "[ \$(jq -r 'select(.ev==\"step.host\" and .status==\"ok\") | .host' slow.jsonl 2>/dev/null | wc -l) -ge 12 ]"
kill -9 "$pid"; wait "$pid" 2>/dev/null
jq -r 'select(.ev=="step.checkpoint") | .state.hosts | to_entries[] | select(.value.status=="ok") | .key' slow.jsonl | sort -u > finished-before.txt
check "the checkpoint holds the finished hosts" test "$(wc -l < finished-before.txt)" -ge 12
sleep 1  # commands cut off by the kill may still end on their hosts
expect_exit 0 "the resume completes the fan-out" "$MIGRATE" run slow.yaml --journal slow.jsonl --resume --yes
check "the resume says finished hosts are not run again" grep -q "hosts finished before the interruption; not run again" last.out
twice=0
while read -r host; do
  [ "$(grep -c done "$HOSTS/$host/roll.$tag")" -eq 1 ] || { twice=$((twice + 1)); echo "     $host ran $(grep -c done "$HOSTS/$host/roll.$tag") times"; }
done < finished-before.txt
check "no host that finished before the kill ran again" test "$twice" -eq 0
check "every host has run" test "$(count_hosts_with roll)" -eq 46
check "the resumed journal verifies" "$MIGRATE" journal verify slow.jsonl

# --limit: only the hosts of the limit; the resume keeps it.
clean_effects roll
expect_exit 0 "--limit runs only its hosts" "$MIGRATE" run slow.yaml --rehearsal --yes --journal limit.jsonl --limit 'web[0:2]'
check "three hosts ran" test "$(count_hosts_with roll)" -eq 3
check "run.start records the limit" test "$(events limit.jsonl run.start | jq -r .limit)" = 'web[0:2]'
expect_exit 2 "a bad --limit is refused before anything runs" "$MIGRATE" run slow.yaml --rehearsal --yes --journal limit2.jsonl --limit 'wbe'
check "the bad limit names a likely group" contains last.err "did you mean 'web'"
check "nothing ran for the bad limit" test ! -e limit2.jsonl

# The dry run: a host that does not answer is named.
cp "$SSH_DIR/inventory.ini" with-dead.ini
printf '\n[dead]\nh47 ansible_host=127.0.0.48 ansible_port=%s\n' "$MIGRATE_TEST_SSH_PORT" >> with-dead.ini
sed -e "s|inventory: $SSH_DIR/inventory.ini|inventory: with-dead.ini|" -e 's/hosts: web/hosts: "web:dead"/' slow.yaml > dead.yaml
clean_effects roll
expect_exit 1 "the dry run fails when a host does not answer" "$MIGRATE" run dead.yaml --dry-run
check "the dry run names the host that does not answer" grep -q "1 of 47 hosts do not answer over ssh: h47" last.out
check "the dry run ran no command" test "$(count_hosts_with roll)" -eq 0
sed -e 's/hosts: "web:dead"/hosts: web/' dead.yaml > alive.yaml
expect_exit 0 "the dry run passes when every host answers" "$MIGRATE" run alive.yaml --dry-run
check "the dry run says all answer" contains last.out "all 46 hosts answer over ssh"

# Validation: an unknown group in a pattern, at its line and column, with a suggestion.
sed -e 's/hosts: web$/hosts: "web:!h4"/' slow.yaml > bad.yaml
expect_exit 2 "validate rejects an unknown host in a pattern" "$MIGRATE" validate bad.yaml
check "the error points into the pattern" grep -q "bad.yaml:11:.*no group or host named 'h4'; did you mean" last.err
printf 'version: 1\nname: x\nhosts: { inventory: nowhere.ini }\nphases:\n  - id: p\n    steps:\n      - { id: a, kind: ssh, with: { hosts: all, command: "true" } }\n' > noinv.yaml
expect_exit 2 "validate rejects a missing inventory file" "$MIGRATE" validate noinv.yaml
check "the error names the inventory file" grep -q "noinv.yaml:3:.*cannot read the inventory '.*nowhere.ini'" last.err
# An inventory per environment, named through a variable built on ${env}: each environment
# is checked with its own file; one built on what only the run knows is left to the run.
cp "$SSH_DIR/inventory.ini" inv-preprod.ini
cat > perenv.yaml <<'YAML'
version: 1
name: per-environment
vars: { inventory: "inv-${env}.ini" }
environments:
  preprod: {}
  production: {}
hosts: { inventory: "${inventory}" }
phases:
  - id: p
    steps:
      - { id: a, kind: ssh, with: { hosts: web, command: "true" } }
YAML
expect_exit 0 "validate --env preprod reads inv-preprod.ini" "$MIGRATE" validate perenv.yaml --env preprod
expect_exit 2 "validate without --env checks production's inventory too" "$MIGRATE" validate perenv.yaml
check "the error names production's file and environment" grep -q "cannot read the inventory '.*inv-production.ini'.*(environment 'production')" last.err
sed -e 's/"inv-${env}.ini"/"${env:MIGRATE_TEST_INVENTORY}"/' perenv.yaml > deferred.yaml
expect_exit 0 "an inventory from the process environment is left to the run" "$MIGRATE" validate deferred.yaml

clean_effects fan; clean_effects roll; rm -f "$HOSTS"/h*/once.$tag
finish
