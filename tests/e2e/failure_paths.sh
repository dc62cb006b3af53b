#!/usr/bin/env bash
# The paths an operator takes when something fails: rollback undoes steps stopped midway,
# the outage is counted as it happened across fail, rollback and resume, long steps show
# signs of life, and manual checks do not hold up automatic steps.
source "$(dirname "$0")/lib.sh"

# Rollback covers what was touched: conversions stopped midway by the failed deploy are
# restored, newest start first.
cat > upgrade.yaml <<YAML
version: 1
name: upgrade
phases:
  - id: upgrade
    on_failure: rollback
    steps:
      - id: maintenance-on
        kind: shell
        with: { command: "echo maintenance-on >> $WORK/effects" }
        rollback:
          - id: maintenance-off
            kind: shell
            with: { command: "echo maintenance-off >> $WORK/effects" }
      - id: convert-db1
        kind: shell
        needs: [maintenance-on]
        with: { command: "echo convert-db1 >> $WORK/effects; sleep 10" }
        rollback:
          - id: restore-db1
            kind: shell
            with: { command: "echo restore-db1 >> $WORK/effects" }
      - id: convert-db2
        kind: shell
        needs: [maintenance-on]
        with: { command: "echo convert-db2 >> $WORK/effects; sleep 10" }
        rollback:
          - id: restore-db2
            kind: shell
            with: { command: "echo restore-db2 >> $WORK/effects" }
      - id: deploy
        kind: shell
        needs: [maintenance-on]
        with: { command: "sleep 1; echo deploy-failed >> $WORK/effects; exit 3" }
        rollback:
          - id: redeploy-v9
            kind: shell
            with: { command: "echo redeploy-v9 >> $WORK/effects" }
YAML
expect_exit 0 "plan shows the failure policy from the phase and the rollback steps" "$MIGRATE" plan upgrade.yaml
check "plan: on failure rollback (from the phase)" contains last.out "on failure: rollback (from the phase); rollback: restore-db1 (shell)"
expect_exit 1 "the deploy fails and the run rolls back" "$MIGRATE" run upgrade.yaml --rehearsal --journal up.jsonl
check "the conversions were stopped midway" test "$(events up.jsonl step.end | jq -r 'select(.step=="convert-db1" or .step=="convert-db2") | .status' | sort -u)" = interrupted
check "every touched step is undone, newest start first" lines_equal <(grep -v '^convert\|^maintenance-on\|^deploy' effects) "redeploy-v9
restore-db2
restore-db1
maintenance-off"
check "run.end names the step that triggered the rollback" test "$(events up.jsonl run.end | jq -r .rollback_after)" = deploy

# The outage across a failure, a gap and a resume.
cat > window.yaml <<YAML
version: 1
name: window
phases:
  - id: cutover
    steps:
      - id: stop-app
        kind: shell
        downtime: start
        with: { command: "sleep 0.5" }
      - id: copy
        kind: shell
        with: { command: "sleep 0.5; test -f $WORK/copy-ok" }
      - id: start-app
        kind: shell
        downtime: end
        with: { command: "true" }
YAML
expect_exit 1 "window: the copy fails inside the window" "$MIGRATE" run window.yaml --rehearsal --journal w.jsonl
sleep 2
touch copy-ok
expect_exit 0 "window: the resume completes" "$MIGRATE" run window.yaml --journal w.jsonl --resume
expect_exit 0 "window: report json" "$MIGRATE" report w.jsonl --format json
outage=$(jq '.downtime_window.duration_ms' last.out)
first_end=$(jq -r 'select(.ev=="run.end") | .ts' w.jsonl | head -1)
check "window: the outage spans both runs and the gap (>= 3 s, from the first stop-app)" test "$outage" -ge 3000
check "window: it opened at stop-app" test "$(jq -r .downtime_window.from_step last.out)" = stop-app
check "window: it opened in the first run" test "$(jq -r .downtime_window.start last.out)" "<" "$first_end"
check "window: json says it spans 2 runs" test "$(jq '.downtime_window.windows[0].runs' last.out)" = 2
expect_exit 0 "window: report text" "$MIGRATE" report w.jsonl
check "window: text says across 2 runs" contains last.out "across 2 runs"
expect_exit 0 "window: report markdown" "$MIGRATE" report w.jsonl --format md
check "window: markdown says across 2 runs" contains last.out "across 2 runs"
expect_exit 0 "window: report html" "$MIGRATE" report w.jsonl --format html -o w.html
check "window: html labels the gap between runs" contains w.html ">between runs</text>"
check "window: html says across 2 runs" contains w.html "across 2 runs"

# A rollback step may close the window; a resume then opens a second one.
cat > rollback-window.yaml <<YAML
version: 1
name: rollback-window
phases:
  - id: cutover
    steps:
      - id: stop-app
        kind: shell
        downtime: start
        with: { command: "true" }
        rollback:
          - id: start-old-app
            kind: shell
            downtime: end
            with: { command: "echo old-app-started >> $WORK/rw-effects" }
      - id: migrate-data
        kind: shell
        on_failure: rollback
        with: { command: "test -f $WORK/data-ok" }
      - id: start-new-app
        kind: shell
        downtime: end
        with: { command: "true" }
YAML
expect_exit 0 "validate accepts downtime: end on a rollback step" "$MIGRATE" validate rollback-window.yaml
expect_exit 1 "rollback window: the data step fails and rolls back" "$MIGRATE" run rollback-window.yaml --rehearsal --journal rw.jsonl
check "rollback window: the old app was started" contains rw-effects old-app-started
expect_exit 0 "rollback window: report json" "$MIGRATE" report rw.jsonl --format json
check "rollback window: closed by the rollback step" test "$(jq -r '.downtime_window.windows[0].to_step + " " + (.downtime_window.windows[0].closed_by_rollback|tostring)' last.out)" = "start-old-app true"
touch data-ok
expect_exit 0 "rollback window: the resume completes" "$MIGRATE" run rollback-window.yaml --journal rw.jsonl --resume
expect_exit 0 "rollback window: report json after the resume" "$MIGRATE" report rw.jsonl --format json
check "rollback window: two windows" test "$(jq '.downtime_window.windows | length' last.out)" = 2
check "rollback window: the total is their sum" test "$(jq '[.downtime_window.windows[].duration_ms] | add' last.out)" = "$(jq .downtime_window.duration_ms last.out)"
cat > bad-window.yaml <<YAML
version: 1
name: bad-window
phases:
  - id: p
    steps:
      - id: a
        kind: shell
        with: { command: "true" }
        rollback:
          - id: undo-a
            kind: shell
            downtime: start
            with: { command: "true" }
YAML
expect_exit 2 "a rollback step cannot open the window" "$MIGRATE" validate bad-window.yaml
check "says where" contains last.err "bad-window.yaml:12:23: a rollback step cannot open the downtime window"

# Long steps show signs of life; status shows elapsed, last log line, log and the window.
cat > long.yaml <<YAML
version: 1
name: long
phases:
  - id: p
    steps:
      - id: begin
        kind: shell
        downtime: start
        with: { command: "true" }
      - id: import
        kind: shell
        with: { command: "for i in 1 2 3 4 5 6 7 8; do echo imported batch \$i; sleep 0.5; done" }
      - id: end
        kind: shell
        downtime: end
        with: { command: "true" }
YAML
"$MIGRATE" run long.yaml --rehearsal --journal long.jsonl > long.out 2>&1 &
pid=$!
check "status: the import is running" wait_for 20 contains long.jsonl '"ev":"step.start","step":"import"'
sleep 1.5
"$MIGRATE" status long.jsonl > status.out 2>&1
check "status: elapsed time of the running step" grep -q "running *import .*([0-9.]*s so far)" status.out
check "status: the last line of its log" grep -q "last: imported batch" status.out
check "status: its log path" contains status.out "log:  $WORK/long.jsonl.logs/import.log"
check "status: the downtime window is open" contains status.out "downtime window OPEN since"
wait $pid
check "console: the running shell step showed its last line and its log" grep -q "import: running .*last: imported batch .*(log $WORK/long.jsonl.logs/import.log)" long.out

# Manual steps waiting for people do not take --max-parallel slots.
cat > manual.yaml <<YAML
version: 1
name: manual-slots
roles:
  customer: Customer
phases:
  - id: p
    steps:
      - id: customer-check
        kind: manual
        role: customer
        needs: []
        instructions: Check the agents are logged out.
      - id: copy
        kind: shell
        needs: []
        with: { command: "echo copied >> $WORK/manual-effects" }
YAML
"$MIGRATE" run manual.yaml --rehearsal --max-parallel 1 --journal m.jsonl < /dev/null > manual.out 2>&1 &
pid=$!
check "max-parallel 1: copy ran while the manual check waited" wait_for 20 contains manual-effects copied
expect_exit 0 "the customer confirms" "$MIGRATE" confirm m.jsonl customer-check --as customer
wait $pid
check "max-parallel 1: the run ended ok" test "$(events m.jsonl run.end | jq -r .status)" = ok
finish
