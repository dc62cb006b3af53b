#!/usr/bin/env bash
# Manual steps that ask for evidence and for approvals by several people: a confirmation
# without evidence is refused, a file's SHA-256 and size go into the journal, the same person
# cannot approve twice, approvals given before a kill -9 count after --resume, --yes waives
# the evidence in a rehearsal (and says so); and a wait until a clock time (`at:`).
source "$(dirname "$0")/lib.sh"
cat > book.yaml <<YAML
version: 1
name: evidence
roles:
  ops: Operations
  business: Business owner
phases:
  - id: p
    steps:
      - id: restore-tested
        kind: manual
        role: ops
        with:
          instructions: "Restore last night's backup on the test server; attach the log."
          evidence: required
      - id: go-no-go
        kind: manual
        role: business
        with:
          instructions: "Go or no-go for the release."
          approvals: 2
      - id: after
        kind: shell
        with: { command: "echo after >> $WORK/effects" }
YAML
check "the runbook validates" "$MIGRATE" validate book.yaml
printf 'restore of 2026-12-09 ok\n' > restore.log

"$MIGRATE" run book.yaml --rehearsal --journal j.jsonl < /dev/null > run.out 2>&1 &
pid=$!
check "the run waits for ops" wait_for 20 grep -q '"ev":"step.start","step":"restore-tested"' j.jsonl
check "the terminal says evidence is needed" wait_for 10 grep -q "evidence needed: a note, a file or a URL" run.out
expect_exit 2 "a confirmation without evidence is refused" "$MIGRATE" confirm j.jsonl restore-tested --as ops
check "saying what to give" contains last.err "needs evidence (a note, a file or a URL): add --evidence FILE|URL or --note TEXT"
expect_exit 2 "a missing evidence file is refused" "$MIGRATE" confirm j.jsonl restore-tested --as ops --evidence nowhere.log
check "naming the file" contains last.err "$WORK/nowhere.log does not exist"
expect_exit 0 "a confirmation with an evidence file is accepted" "$MIGRATE" confirm j.jsonl restore-tested --as ops --by "Ana Ops" --evidence restore.log
confirm=$(events j.jsonl step.confirm | head -1)
check "the evidence file is recorded by its absolute path" test "$(echo "$confirm" | jq -r .evidence)" = "$WORK/restore.log"
check "with its SHA-256" test "$(echo "$confirm" | jq -r .evidence_sha256)" = "$(sha256sum restore.log | cut -d' ' -f1)"
check "and its size" test "$(echo "$confirm" | jq -r .evidence_size)" = "$(stat -c %s restore.log)"
check "and its kind" test "$(echo "$confirm" | jq -r .evidence_kind)" = file

check "the go/no-go waits" wait_for 20 grep -q '"ev":"step.start","step":"go-no-go"' j.jsonl
expect_exit 0 "the first approver confirms" "$MIGRATE" confirm j.jsonl go-no-go --as business --by "Marie Curie" --evidence https://tickets.example/REL-42
check "the run still waits after one approval of two" test -z "$(events j.jsonl step.end | jq -r 'select(.step=="go-no-go")')"
expect_exit 2 "the same approver twice is refused" "$MIGRATE" confirm j.jsonl go-no-go --as business --by "marie curie"
check "saying a second person must confirm" contains last.err "already confirmed by marie curie; a second person must confirm"
# kill -9 between the two approvals: the first one must still count after --resume.
kill -9 "$pid"; wait "$pid" 2>/dev/null
check "the journal verifies after kill -9" "$MIGRATE" journal verify j.jsonl
"$MIGRATE" run book.yaml --rehearsal --journal j.jsonl --resume < /dev/null > resume.out 2>&1 &
pid=$!
check "the resumed run waits for the second approval" wait_for 20 grep -q "1 of 2 approvals recorded before (by Marie Curie)" resume.out
check "the restore step is not asked again" test "$(events j.jsonl step.start | jq -r 'select(.step=="restore-tested")' | jq -s length)" -eq 1
expect_exit 2 "after the resume, the first approver is still refused" "$MIGRATE" confirm j.jsonl go-no-go --as business --by "Marie Curie"
expect_exit 0 "a second person approves" "$MIGRATE" confirm j.jsonl go-no-go --as business --by "Pierre Dupont" --note "go"
wait $pid
check "the resumed run completes" test $? -eq 0
check "the next step ran once" lines_equal effects "after"
approvals=$(events j.jsonl step.confirm | jq -r 'select(.step=="go-no-go") | "\(.approval)/\(.approvals) \(.by)"' | tr '\n' '|')
check "two approval records by two people" test "$approvals" = "1/2 Marie Curie|2/2 Pierre Dupont|"
check "the URL evidence is recorded as given" test "$(events j.jsonl step.confirm | jq -r 'select(.by=="Marie Curie") | .evidence_kind + " " + .evidence')" = "url https://tickets.example/REL-42"
check "outputs name both approvers" test "$(events j.jsonl step.end | jq -r 'select(.step=="go-no-go" and .status=="ok") | .outputs.by')" = "Marie Curie, Pierre Dupont"
"$MIGRATE" report j.jsonl > report.txt
check "the report shows the evidence" contains report.txt "evidence $WORK/restore.log (sha256 $(sha256sum restore.log | cut -c1-12)"
check "the report shows each approver" contains report.txt "by Pierre Dupont"
check "with its count" contains report.txt "[approval 1 of 2]"
"$MIGRATE" report j.jsonl --format json > report.json
check "the json report lists both approvals (one per run)" test "$(jq '[.steps[] | select(.step=="go-no-go") | .decisions[] | .by] | join("|")' -r report.json)" = "Marie Curie|Pierre Dupont"

# --yes in a rehearsal waives the evidence and says so in the journal.
expect_exit 0 "--yes confirms in a rehearsal" "$MIGRATE" run book.yaml --rehearsal --yes --journal yes.jsonl
check "the evidence was waived by --yes" test "$(events yes.jsonl step.confirm | jq -r 'select(.step=="restore-tested") | .evidence_waived')" = "--yes"

# A rejection by anyone fails the step, even after a first approval.
"$MIGRATE" run book.yaml --rehearsal --journal nogo.jsonl --only go-no-go < /dev/null > nogo.out 2>&1 &
pid=$!
sleep 0.5
check "the go/no-go waits" wait_for 20 grep -q '"ev":"step.start","step":"go-no-go"' nogo.jsonl
expect_exit 0 "a first approval" "$MIGRATE" confirm nogo.jsonl go-no-go --as business --by "Marie Curie"
expect_exit 0 "the second person rejects" "$MIGRATE" confirm nogo.jsonl go-no-go --as business --by "Pierre Dupont" --reject --note "pilot users not trained"
wait $pid
check "the run fails" test $? -eq 1
check "the step failed with who and why" test "$(events nogo.jsonl step.end | jq -r 'select(.step == "go-no-go") | .error')" = "rejected by Pierre Dupont: pilot users not trained"

# wait at: a clock time a few seconds ahead.
at=$(date -d '+3 seconds' '+%Y-%m-%dT%H:%M:%S%:z')
cat > at.yaml <<YAML
version: 1
name: at
phases:
  - id: p
    steps:
      - { id: start-at, kind: wait, timeout: 1m, with: { at: "$at" } }
YAML
"$MIGRATE" run at.yaml --dry-run > at-dry.out 2>&1
check "a dry run says when it would start" grep -q "until $at: starts at" at-dry.out
started=$(date +%s)
expect_exit 0 "the wait until a clock time completes" "$MIGRATE" run at.yaml --rehearsal --journal at.jsonl
check "not before that time" test "$(date +%s)" -ge "$((started + 2))"
cat > bad-at.yaml <<YAML
version: 1
name: bad-at
phases:
  - id: p
    steps:
      - { id: start-at, kind: wait, timeout: 1m, with: { at: "25:99" } }
YAML
expect_exit 2 "a bad clock time is a validation error" "$MIGRATE" validate bad-at.yaml
check "with file:line:col" contains last.err "bad-at.yaml:6:"
check "saying what to write" contains last.err "is not a clock time"
finish
