#!/usr/bin/env bash
# --dry-run: every step's preflight, no side effects at all, no journal.
source "$(dirname "$0")/lib.sh"
cat > book.yaml <<YAML
version: 1
name: dry
vars:
  target: $WORK/target
phases:
  - id: p
    steps:
      - id: make
        kind: shell
        with: { command: "mkdir -p \${target} && touch \${target}/made" }
      - id: confirm-it
        kind: manual
        with: { instructions: "Check \${target}." }
      - id: use
        kind: shell
        with: { command: "echo \${steps.make.stdout}", cwd: "$WORK" }
YAML
expect_exit 0 "a dry run passes its preflights" "$MIGRATE" run book.yaml --dry-run
check "it says what each step would do" contains last.out "would  make (executor, shell): mkdir -p $WORK/target"
check "nothing was created" test ! -e target
check "no journal was written" test ! -e journals
cat > bad.yaml <<YAML
version: 1
name: dry
phases:
  - id: p
    steps:
      - id: in-missing-dir
        kind: shell
        with: { command: "true", cwd: "$WORK/no-such-dir" }
      - id: wait-in-missing-dir
        kind: wait
        with: { file: "$WORK/no-such-dir/flag" }
      - id: dead-url
        kind: http
        with: { url: "http://127.0.0.1:9/nothing" }
YAML
expect_exit 1 "failing preflights fail the dry run" "$MIGRATE" run bad.yaml --dry-run
check "the missing working directory is named" contains last.out "working directory '$WORK/no-such-dir' does not exist"
check "the missing directory of a waited file is named" contains last.out "directory '$WORK/no-such-dir' does not exist"
check "the URL that does not answer is named" contains last.out "'http://127.0.0.1:9/nothing' does not answer"
check "every failing step is listed at the end" contains last.out "preflight failed for in-missing-dir, wait-in-missing-dir, dead-url"
finish
