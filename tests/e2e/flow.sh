#!/usr/bin/env bash
# Retry with doubling backoff, timeout, on_failure continue, abort and rollback order,
# when conditions and step outputs, through the real binary and real processes.
source "$(dirname "$0")/lib.sh"

cat > retry.yaml <<YAML
version: 1
name: retry
phases:
  - id: p
    steps:
      - id: flaky
        kind: shell
        retry: { attempts: 4, backoff: 200ms, max_backoff: 300ms }
        with:
          command: |
            n=\$(cat $WORK/tries 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > $WORK/tries
            [ \$n -ge 3 ] || { echo "try \$n failed" >&2; exit 1; }
            echo "worked on try \$n"
      - id: uses-output
        kind: shell
        with: { command: "echo 'got: \${steps.flaky.stdout}' > $WORK/output" }
YAML
expect_exit 0 "a flaky step succeeds on its third attempt" "$MIGRATE" run retry.yaml --rehearsal --yes --journal retry.jsonl
check "two step.retry records" test "$(events retry.jsonl step.retry | wc -l)" -eq 2
check "backoff doubles: 200ms then 300ms (capped)" test "$(events retry.jsonl step.retry | jq -r .backoff_ms | tr '\n' ' ')" = "200 300 "
check "the retry records the error" test "$(events retry.jsonl step.retry | head -1 | jq -r .error)" = "the command exited with status 1: try 1 failed"
check "step.end says 3 attempts" test "$(events retry.jsonl step.end | jq -r 'select(.step=="flaky") | .attempts')" = 3
check "the output reached the next step" lines_equal output "got: worked on try 3"

cat > timeout.yaml <<YAML
version: 1
name: timeout
phases:
  - id: p
    steps:
      - id: hangs
        kind: shell
        timeout: 1s
        retry: { attempts: 2, backoff: 100ms }
        with: { command: "sleep 60 & echo \$! >> $WORK/sleepers; wait" }
YAML
start=$(date +%s)
expect_exit 1 "a step over its timeout fails" "$MIGRATE" run timeout.yaml --rehearsal --yes --journal timeout.jsonl
check "within seconds, not the command's 60" test $(( $(date +%s) - start )) -lt 15
check "it says it timed out" test "$(events timeout.jsonl step.end | jq -r .error | cut -c1-18)" = "timed out after 1."
check "a timeout is retried" test "$(events timeout.jsonl step.retry | wc -l)" -eq 1
check "both attempts' processes were killed" test "$(for p in $(cat sleepers); do is_alive $p && echo $p; done)" = ""

cat > policy.yaml <<YAML
version: 1
name: policy
phases:
  - id: p
    steps:
      - id: one
        kind: shell
        with: { command: "echo one >> $WORK/effects" }
        rollback:
          - { id: undo-one, kind: shell, with: { command: "echo undo-one >> $WORK/effects" } }
      - id: optional
        kind: shell
        on_failure: continue
        with: { command: "exit 7" }
      - id: two
        kind: shell
        with: { command: "echo two >> $WORK/effects" }
        rollback:
          - { id: undo-two-a, kind: shell, with: { command: "echo undo-two-a >> $WORK/effects" } }
          - { id: undo-two-b, kind: shell, with: { command: "echo undo-two-b >> $WORK/effects" } }
      - id: skipped-in-rehearsal
        kind: shell
        when: "\${mode} == production"
        with: { command: "echo never >> $WORK/effects" }
      - id: three
        kind: shell
        on_failure: rollback
        with: { command: "echo three-partial >> $WORK/effects; exit 1" }
        rollback:
          - { id: undo-three, kind: shell, with: { command: "echo undo-three >> $WORK/effects" } }
      - id: four
        kind: shell
        with: { command: "echo four >> $WORK/effects" }
YAML
expect_exit 1 "a failure with on_failure: rollback fails the run" "$MIGRATE" run policy.yaml --rehearsal --yes --journal policy.jsonl
check "continue tolerates, when skips, rollback undoes newest first, four never runs" lines_equal effects "one
two
three-partial
undo-three
undo-two-a
undo-two-b
undo-one"
check "the tolerated failure is recorded" test "$(events policy.jsonl step.end | jq -r 'select(.step=="optional") | .status')" = failed
check "the skip says why" test "$(events policy.jsonl step.end | jq -r 'select(.step=="skipped-in-rehearsal") | .reason')" = "when: '\${mode} == production' is false"
check "rollback steps name what they undo" test "$(events policy.jsonl step.end | jq -r 'select(.rollback_of) | .rollback_of' | tr '\n' ' ')" = "three two two one "
check "run.end: failed, rolled back" test "$(events policy.jsonl run.end | jq -c '[.status, .rolled_back, .failed]')" = '["failed",true,["three"]]'

sed -i 's/on_failure: rollback/on_failure: abort/' policy.yaml
rm -f effects
expect_exit 1 "abort stops the run" "$MIGRATE" run policy.yaml --rehearsal --yes --journal abort.jsonl
check "nothing is undone on abort, nothing after the failure runs" lines_equal effects "one
two
three-partial"

# After a rollback, resume runs the undone steps again.
sed -i 's/on_failure: abort/on_failure: rollback/' policy.yaml
rm -f effects
"$MIGRATE" run policy.yaml --rehearsal --yes --journal again.jsonl > /dev/null 2>&1
sed -i 's/echo three-partial >> $WORK\/effects; exit 1/echo three >> $WORK\/effects/; s|echo three-partial >> '"$WORK"'/effects; exit 1|echo three >> '"$WORK"'/effects|' policy.yaml
rm -f effects
expect_exit 0 "resume after a rollback" "$MIGRATE" run policy.yaml --rehearsal --yes --journal again.jsonl --resume --force
check "the rolled-back steps run again" lines_equal effects "one
two
three
four"

# parallel branches: two independent steps overlap
cat > parallel.yaml <<YAML
version: 1
name: parallel
phases:
  - id: p
    steps:
      - { id: start, kind: noop }
      - { id: left, kind: shell, needs: [start], with: { command: "touch $WORK/left; for i in \$(seq 100); do [ -f $WORK/right ] && exit 0; sleep 0.1; done; exit 1" } }
      - { id: right, kind: shell, needs: [start], with: { command: "touch $WORK/right; for i in \$(seq 100); do [ -f $WORK/left ] && exit 0; sleep 0.1; done; exit 1" } }
      - { id: join, kind: noop, needs: [left, right] }
YAML
expect_exit 0 "independent steps run at the same time" "$MIGRATE" run parallel.yaml --rehearsal --yes --journal parallel.jsonl
rm -f left right
expect_exit 1 "with --max-parallel 1 they cannot meet" timeout 60 "$MIGRATE" run parallel.yaml --rehearsal --yes --journal serial.jsonl --max-parallel 1
finish
