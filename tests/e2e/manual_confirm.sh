#!/usr/bin/env bash
# A manual step waits for its role; `migrate confirm` from another process confirms it;
# the wrong role is refused; who confirmed and how long it waited go into the journal.
# A rejection (`--reject --note`) fails the step and its on_failure (rollback) applies.
source "$(dirname "$0")/lib.sh"
cat > book.yaml <<YAML
version: 1
name: manual
roles:
  customer: Customer administrator
phases:
  - id: p
    steps:
      - id: agents-out
        kind: manual
        role: customer
        with: { instructions: "Make sure no agent works in the installation." }
      - id: after
        kind: shell
        with: { command: "echo after >> $WORK/effects" }
YAML
# No terminal and no --yes: it must wait for `migrate confirm`.
"$MIGRATE" run book.yaml --rehearsal --journal j.jsonl < /dev/null > run.out 2>&1 &
pid=$!
check "the run waits for the customer" wait_for 20 grep -q '"ev":"step.start","step":"agents-out"' j.jsonl
check "the terminal says how to confirm, with the journal's absolute path" wait_for 10 grep -q "migrate confirm $WORK/j.jsonl agents-out --as customer" run.out
"$MIGRATE" status j.jsonl > status.out
check "status shows who is awaited" grep -qE '^  waiting +agents-out +waiting for customer' status.out
expect_exit 2 "confirming as the wrong role is refused" "$MIGRATE" confirm j.jsonl agents-out --as executor
check "saying which role the step is for" contains last.err "is for the role 'customer'"
expect_exit 2 "confirming an unknown step is refused" "$MIGRATE" confirm j.jsonl agents-ot --as customer
check "with a did-you-mean" contains last.err "did you mean 'agents-out'"
expect_exit 2 "confirming a step that is not waiting is refused" "$MIGRATE" confirm j.jsonl after --as executor
sleep 1
expect_exit 0 "the customer confirms" "$MIGRATE" confirm j.jsonl agents-out --as customer --by "Jana Novak" --note "all agents logged out"
wait $pid
check "the run completes" test $? -eq 0
check "the next step ran" lines_equal effects "after"
confirm=$(events j.jsonl step.confirm)
check "step.confirm records the role" test "$(echo "$confirm" | jq -r .role)" = customer
check "step.confirm records who" test "$(echo "$confirm" | jq -r .by)" = "Jana Novak"
check "step.confirm records the note" test "$(echo "$confirm" | jq -r .note)" = "all agents logged out"
check "step.confirm records the account (from the uid)" test "$(echo "$confirm" | jq -r .os_user)" = "$(id -un)"
check "step.confirm records the decision" test "$(echo "$confirm" | jq -r .decision)" = confirmed
check "step.confirm records the wait (at least a second)" test "$(echo "$confirm" | jq -r .waited_ms)" -ge 1000
check "outputs carry who confirmed" test "$(events j.jsonl step.end | jq -r 'select(.step=="agents-out") | .outputs.by')" = "Jana Novak"
expect_exit 2 "confirm with no run in progress is refused" "$MIGRATE" confirm j.jsonl agents-out --as customer
check "saying nothing waits" contains last.err "no migrate run is running"

# --yes confirms manual steps only in rehearsals; a production run with --yes still waits.
"$MIGRATE" run book.yaml --journal prod.jsonl --yes < /dev/null > prod.out 2>&1 &
pid=$!
check "production: --yes does not confirm manual steps" wait_for 20 grep -q "migrate confirm $WORK/prod.jsonl agents-out --as customer" prod.out
"$MIGRATE" confirm prod.jsonl agents-out --as customer --by ops > /dev/null
wait $pid
check "production run completes after the confirmation" test $? -eq 0
check "production mode recorded" test "$(events prod.jsonl run.start | jq -r .mode)" = production

expect_exit 2 "production without a terminal and without --yes is refused" "$MIGRATE" run book.yaml --journal refused.jsonl
check "saying to add --yes or --rehearsal" contains last.err "--rehearsal"

# A no-go from another terminal: the step fails with who and why, and its rollback runs.
cat > nogo.yaml <<YAML
version: 1
name: nogo
roles:
  customer: Customer administrator
phases:
  - id: p
    steps:
      - id: isolate
        kind: shell
        with: { command: "echo isolate >> $WORK/nogo-effects" }
        rollback:
          - { id: reconnect, kind: shell, with: { command: "echo reconnect >> $WORK/nogo-effects" } }
      - id: go
        kind: manual
        role: customer
        on_failure: rollback
        with: { instructions: "Go or no-go for the cutover?" }
      - id: cutover
        kind: shell
        with: { command: "echo cutover >> $WORK/nogo-effects" }
YAML
"$MIGRATE" run nogo.yaml --rehearsal --journal nogo.jsonl < /dev/null > nogo.out 2>&1 &
pid=$!
check "the go/no-go waits" wait_for 20 grep -q '"ev":"step.start","step":"go"' nogo.jsonl
expect_exit 2 "--reject without --note is refused" "$MIGRATE" confirm nogo.jsonl go --as customer --reject
check "saying a reject needs a reason" contains last.err "--reject needs --note"
expect_exit 0 "the customer rejects" "$MIGRATE" confirm nogo.jsonl go --as customer --by "Jana Novak" --reject --note "the customer is not ready"
check "saying the step fails" contains last.out "rejected 'go' as customer (by Jana Novak); the step fails"
wait $pid
check "the run fails (exit 1)" test $? -eq 1
check "the rejection is a step.confirm with decision rejected" test "$(events nogo.jsonl step.confirm | jq -r '.decision + "|" + .by + "|" + .via + "|" + .note')" = "rejected|Jana Novak|migrate confirm|the customer is not ready"
check "the step failed with who and why" test "$(events nogo.jsonl step.end | jq -r 'select(.step == "go") | .status + "|" + .error')" = "failed|rejected by Jana Novak: the customer is not ready"
check "the rollback ran, the cutover did not" lines_equal nogo-effects "isolate
reconnect"
"$MIGRATE" status nogo.jsonl > nogo-status.out
check "status shows the rejection" contains nogo-status.out "rejected by Jana Novak: the customer is not ready"
finish
