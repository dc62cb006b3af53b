#!/usr/bin/env bash
# Two `migrate run` on one journal at once: the second is refused, and the first is unharmed.
source "$(dirname "$0")/lib.sh"
cat > book.yaml <<YAML
version: 1
name: lock
phases:
  - id: p
    steps:
      - id: hold
        kind: wait
        with: { file: "$WORK/release", interval: 100ms }
      - id: after
        kind: shell
        with: { command: "echo after >> $WORK/effects" }
YAML
"$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl > first.out 2>&1 &
first=$!
check "the first run is waiting" wait_for 20 grep -q '"step":"hold"' j.jsonl
expect_exit 2 "a second run on the same journal is refused" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl
check "with a clear message" contains last.err "in use by another migrate run"
expect_exit 2 "a second resume is refused too" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl --resume
check "status works while the run holds the journal" "$MIGRATE" status j.jsonl
"$MIGRATE" status j.jsonl > status.out
check "status shows the waiting step as running" grep -qE '^  running +hold' status.out
touch release
wait "$first"
check "the first run finished ok" test $? -eq 0
check "its step ran once" lines_equal effects "after"
check "the journal verifies" "$MIGRATE" journal verify j.jsonl
check "one run in the journal" test "$(events j.jsonl run.start | wc -l)" -eq 1
expect_exit 2 "a new run on a journal that holds a run is refused" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl
check "pointing at --resume" contains last.err "--resume"
finish
