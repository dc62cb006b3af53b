#!/usr/bin/env bash
# kill -9 in the middle of a step, then --resume: every completed step's side effect
# happened exactly once, the killed step's once, its process died with migrate, and the
# journal verifies.
source "$(dirname "$0")/lib.sh"

cat > book.yaml <<YAML
version: 1
name: kill-resume
phases:
  - id: one
    steps:
      - id: first
        kind: shell
        with: { command: "echo first >> $WORK/effects" }
      - id: second
        kind: shell
        with: { command: "echo second >> $WORK/effects" }
      - id: slow
        kind: shell
        with:
          command: |
            echo slow-started >> $WORK/effects
            if [ ! -f $WORK/second-try ]; then
              touch $WORK/second-try
              sleep 300 &
              echo \$! > $WORK/sleeper.pid
              wait
            fi
            echo slow >> $WORK/effects
  - id: two
    steps:
      - id: last
        kind: shell
        with: { command: "echo last >> $WORK/effects" }
YAML

"$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl > run1.out 2>&1 &
pid=$!
check "the slow step started its long-running child" wait_for 20 test -s sleeper.pid
sleeper=$(cat sleeper.pid)
kill -9 "$pid"; wait "$pid" 2>/dev/null
check "the step's grandchild died with migrate (no orphan keeps working)" wait_for 10 eval "! is_alive $sleeper"
check "the journal verifies after kill -9" "$MIGRATE" journal verify j.jsonl
check "no run.end after kill -9" test -z "$(events j.jsonl run.end)"
expect_exit 0 "status reads a killed run" "$MIGRATE" status j.jsonl
check "status says it stopped without run.end" contains last.out "stopped"

expect_exit 0 "resume completes the run" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl --resume
check "completed steps ran once, the killed step completed once" lines_equal effects "first
second
slow-started
slow-started
slow
last"
check "run.resume recorded" test -n "$(events j.jsonl run.resume)"
check "the resume names the run it continues" test "$(events j.jsonl run.resume | jq -r .resumes)" = "$(events j.jsonl run.start | jq -r .run)"
check "the resumed journal verifies" "$MIGRATE" journal verify j.jsonl
check "first did not start twice" test "$(jq -c 'select(.ev=="step.start" and .step=="first")' j.jsonl | wc -l)" -eq 1
check "slow started twice (killed, then resumed)" test "$(jq -c 'select(.ev=="step.start" and .step=="slow")' j.jsonl | wc -l)" -eq 2

expect_exit 0 "a finished run has nothing to resume" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl --resume
check "and says so" contains last.err "already completed"

# A changed runbook is refused on resume, naming the changed step, unless --force.
"$MIGRATE" run book.yaml --rehearsal --yes --journal j3.jsonl > /dev/null 2>&1 &
pid=$!
rm -f second-try sleeper.pid
wait_for 20 test -s sleeper.pid; kill -9 "$pid"; wait "$pid" 2>/dev/null
sed -i 's/echo last/echo LAST/' book.yaml
expect_exit 2 "resume refuses a changed runbook" "$MIGRATE" run book.yaml --rehearsal --yes --journal j3.jsonl --resume
check "naming the changed step" contains last.err "changed steps: last"
expect_exit 0 "--force resumes anyway" "$MIGRATE" run book.yaml --rehearsal --yes --journal j3.jsonl --resume --force
check "the forced resume records what changed" test "$(events j3.jsonl run.resume | jq -r '.forced[0]')" = "last"
finish
