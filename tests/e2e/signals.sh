#!/usr/bin/env bash
# SIGTERM and SIGINT stop the current step cleanly, record it, exit 3, and the journal
# resumes.
source "$(dirname "$0")/lib.sh"
cat > book.yaml <<YAML
version: 1
name: signals
phases:
  - id: p
    steps:
      - id: a
        kind: shell
        with: { command: "echo a >> $WORK/effects" }
      - id: b
        kind: shell
        with:
          command: |
            trap 'echo b-got-term >> $WORK/effects; exit 143' TERM
            touch $WORK/b-started
            if [ -f $WORK/b-done-once ]; then echo b >> $WORK/effects; exit 0; fi
            touch $WORK/b-done-once
            sleep 300 & wait
      - id: c
        kind: shell
        with: { command: "echo c >> $WORK/effects" }
YAML
for signal in TERM INT; do
  rm -f effects b-started b-done-once j.jsonl
  "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl > run.out 2>&1 &
  pid=$!
  check "SIG$signal: step b is running" wait_for 20 test -f b-started
  kill -$signal $pid
  wait $pid
  code=$?
  check "SIG$signal: exit code 3" test "$code" -eq 3
  check "SIG$signal: the step's command got SIGTERM" grep -q b-got-term effects
  check "SIG$signal: step.end interrupted for b" test "$(events j.jsonl step.end | jq -r 'select(.step=="b") | .status')" = interrupted
  check "SIG$signal: run.end interrupted" test "$(events j.jsonl run.end | jq -r .status)" = interrupted
  check "SIG$signal: c never started" test -z "$(jq -c 'select(.step=="c")' j.jsonl)"
  check "SIG$signal: the journal verifies" "$MIGRATE" journal verify j.jsonl
  check "SIG$signal: the terminal says how to resume" contains run.out "--resume"
  expect_exit 0 "SIG$signal: resume completes" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl --resume
  check "SIG$signal: a once, b completed once, c once" lines_equal effects "a
b-got-term
b
c"
done
finish
