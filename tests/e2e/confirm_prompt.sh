#!/usr/bin/env bash
# Manual steps confirmed at the terminal, driven through a pseudo-terminal as a person types:
# the prompt names its step; with two steps waiting, an id or number says which, and a bare
# `done` is refused; what was typed before a prompt is ignored; `done as NAME` records the
# name beside the account (from the uid, not $USER); `reject` fails the step with the reason
# and its rollback runs; the printed confirm command works from any directory.
source "$(dirname "$0")/lib.sh"
DRIVE="python3 $(dirname "$(readlink -f "$0")")/pty_drive.py"

cat > book.yaml <<YAML
version: 1
name: prompt
roles:
  executor: Migration engineer
  customer: Customer administrator
phases:
  - id: p
    steps:
      - id: start
        kind: shell
        with: { command: "echo start >> $WORK/effects" }
        rollback:
          - { id: undo-start, kind: shell, with: { command: "echo undo-start >> $WORK/effects" } }
      - id: agents-out
        name: Agents logged out
        kind: manual
        role: customer
        needs: [start]
        with: { instructions: "Make sure no agent works in the installation." }
      - id: backup-ok
        name: Backup checked
        kind: manual
        needs: [start]
        with: { instructions: "Check that last night's backup is complete." }
      - id: go
        name: Go or no-go
        kind: manual
        needs: [agents-out, backup-ok]
        on_failure: rollback
        with: { instructions: "Decide whether the cutover goes ahead." }
      - id: after
        kind: shell
        with: { command: "echo after >> $WORK/effects" }
YAML

# Two steps wait at once; the customer's colleague says which one each answer is for.
cat > two.script <<'EOF'
expect 2 steps wait:
expect or reject ID: why
send done\n
expect 2 steps wait: 1)
send backup-ok as Petra Dvorak: backup verified\n
expect still waiting: agents-out
expect confirmed backup-ok by Petra Dvorak (terminal)
send 1\n
expect confirmed agents-out by root (terminal)
expect ), step go "Go or no-go":
send reject\n
expect why do you reject go?
send customer not ready\n
expect rejected go by root (terminal)
EOF
USER=mallory $DRIVE two.script two.out -- "$MIGRATE" run book.yaml --rehearsal --journal j.jsonl
code=$?
check "the run with a rejected go ends failed (exit 1)" test $code -eq 1
check "the prompt names the step by id and name" contains two.out 'step agents-out "Agents logged out"'
check "with two waiting, 'done' is refused, naming both" contains two.out "2 steps wait: 1) "
check "the list is numbered" grep -qE '^ +[12]\) (agents-out "Agents logged out"|backup-ok "Backup checked") \((customer|executor)\)' two.out
confirm() { events j.jsonl step.confirm | jq -r --arg s "$1" "select(.step == \$s) | $2"; }
check "typing an id confirms that step, with the name and note given" test "$(confirm backup-ok '.by + "|" + .note + "|" + .via')" = "Petra Dvorak|backup verified|terminal"
check "the account is recorded apart from the name" test "$(confirm backup-ok .os_user)" = root
check "a number confirms the step it lists" test "$(confirm agents-out .decision)" = confirmed
check "the account comes from the uid, not \$USER" test "$(confirm agents-out '.by + "|" + .os_user')" = "root|root"
check "each step confirmed once" test "$(events j.jsonl step.confirm | jq -r .step | sort | tr '\n' ' ')" = "agents-out backup-ok go "
check "reject at the prompt is recorded with its reason" test "$(confirm go '.decision + "|" + .note')" = "rejected|customer not ready"
check "the rejected step failed, saying who and why" test "$(events j.jsonl step.end | jq -r 'select(.step == "go") | .status + "|" + .error')" = "failed|rejected by root: customer not ready"
check "its rollback ran and the next step did not" lines_equal effects "start
undo-start"
check "run.end says rolled back" test "$(events j.jsonl run.end | jq -r '.status + "|" + (.rolled_back | tostring)')" = "failed|true"

"$MIGRATE" report j.jsonl > report.txt
check "the text report shows who rejected, how and why" grep -qE 'rejected by root via terminal at [0-9:]{8}: customer not ready' report.txt
check "and who confirmed under which account" grep -qE 'confirmed by Petra Dvorak \(account root\) via terminal at [0-9:]{8}: backup verified' report.txt
"$MIGRATE" report j.jsonl --format md > report.md
check "the Markdown report has the decisions table" grep -qE '^\| go \| rejected \| root \| root \| terminal \| .* \| customer not ready \|$' report.md
"$MIGRATE" report j.jsonl --format html > report.html
check "the HTML report has the decisions table" contains report.html '<tr class="decision-rejected"><td>go</td><td>rejected</td><td>root</td>'
"$MIGRATE" --format json report j.jsonl > report.json
check "the JSON report has each decision" test "$(jq -r '.steps[] | select(.step == "backup-ok") | .confirmation | .decision + "|" + .by + "|" + .os_user + "|" + .via + "|" + .note' report.json)" = "confirmed|Petra Dvorak|root|terminal|backup verified"

# Typed ahead: a second 'done' typed with the first is not an answer to the next prompt.
cat > seq.yaml <<YAML
version: 1
name: sequence
roles: { executor: Migration engineer }
phases:
  - id: p
    steps:
      - { id: first, kind: manual, with: { instructions: "Do the first thing." } }
      - { id: second, kind: manual, with: { instructions: "Do the second thing." } }
YAML
mkdir "my journals"
cat > ahead.script <<'EOF'
expect ), step first:
send done\ndone\n
expect ), step second:
expect (what was typed before this prompt is ignored)
send second as Late Person\n
expect confirmed second by Late Person
EOF
$DRIVE ahead.script ahead.out -- "$MIGRATE" run seq.yaml --rehearsal --journal "my journals/s.jsonl"
check "the sequence completes" test $? -eq 0
check "the typed-ahead 'done' did not confirm the second step" test "$(events "my journals/s.jsonl" step.confirm | jq -r 'select(.step == "second") | .by')" = "Late Person"
check "the printed confirm command has the absolute journal path, quoted" contains ahead.out "migrate confirm '$WORK/my journals/s.jsonl' first --as executor"

# The printed command works from another directory.
"$MIGRATE" run seq.yaml --rehearsal --journal "my journals/t.jsonl" < /dev/null > t.out 2>&1 &
pid=$!
check "the run prints the command" wait_for 20 grep -q "from another terminal: migrate confirm" t.out
command=$(grep -m1 -o "migrate confirm .*" t.out)
(cd / && eval "\"\$MIGRATE\" ${command#migrate }" --by ops) > from-root.out 2>&1
check "that command, run from /, confirms the step" contains from-root.out "confirmed 'first' as executor (by ops)"
wait_for 20 grep -qs '"ev":"step.start","step":"second"' "my journals/t.jsonl"
"$MIGRATE" confirm "$WORK/my journals/t.jsonl" second --as executor > /dev/null || kill "$pid"
wait $pid
check "the run completes" test $? -eq 0
finish
