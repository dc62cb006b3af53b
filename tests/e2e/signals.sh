#!/usr/bin/env bash
# The first SIGTERM/SIGINT lets running steps finish within the grace period and starts
# nothing new; a second one (or the grace period's end) stops them now. Exit 3 either way,
# and the journal resumes.
source "$(dirname "$0")/lib.sh"
book() {  # book GRACE: step b runs `sleep 300` the first time, finishes at once after
  cat > book.yaml <<YAML
version: 1
name: signals
grace: $1
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
}

# A second signal stops the running step at once.
book 10m
for signal in TERM INT; do
  rm -f effects b-started b-done-once j.jsonl
  "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl > run.out 2>&1 &
  pid=$!
  check "SIG$signal: step b is running" wait_for 20 test -f b-started
  kill -$signal $pid
  check "SIG$signal: the first signal is announced with the grace period" wait_for 10 contains run.out "may finish within 10m"
  kill -$signal $pid
  wait $pid
  code=$?
  check "SIG$signal: exit code 3" test "$code" -eq 3
  check "SIG$signal: the second signal is announced" contains run.out "second signal"
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

# The grace period's end stops it too.
book 1s
rm -f effects b-started b-done-once j.jsonl
"$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl > run.out 2>&1 &
pid=$!
check "grace over: step b is running" wait_for 20 test -f b-started
kill -TERM $pid
wait $pid
code=$?
check "grace over: exit code 3" test "$code" -eq 3
check "grace over: announced" contains run.out "the grace period is over"
check "grace over: b interrupted" test "$(events j.jsonl step.end | jq -r 'select(.step=="b") | .status')" = interrupted

# One signal: a step that ends within the grace period ends ok; nothing new starts.
cat > graceful.yaml <<YAML
version: 1
name: graceful
phases:
  - id: p
    steps:
      - id: convert
        kind: shell
        with: { command: "touch $WORK/convert-started; sleep 2; echo converted >> $WORK/graceful-effects" }
      - id: next
        kind: shell
        with: { command: "echo next >> $WORK/graceful-effects" }
YAML
"$MIGRATE" run graceful.yaml --rehearsal --yes --journal g.jsonl > graceful.out 2>&1 &
pid=$!
check "graceful: convert is running" wait_for 20 test -f convert-started
kill -INT $pid
wait $pid
code=$?
check "graceful: exit code 3" test "$code" -eq 3
check "graceful: the console names the running step and the default 60s grace" contains graceful.out "running steps (convert) may finish within 1m"
check "graceful: convert finished its work" lines_equal graceful-effects "converted"
check "graceful: convert ended ok" test "$(events g.jsonl step.end | jq -r 'select(.step=="convert") | .status')" = ok
check "graceful: next never started" test -z "$(jq -c 'select(.step=="next")' g.jsonl)"
check "graceful: run.end interrupted" test "$(events g.jsonl run.end | jq -r .status)" = interrupted
expect_exit 0 "graceful: resume runs only next" "$MIGRATE" run graceful.yaml --journal g.jsonl --resume --yes
check "graceful: convert once, next once" lines_equal graceful-effects "converted
next"
finish
