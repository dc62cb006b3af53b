#!/usr/bin/env bash
# A run is one thing: a resume keeps its environment, mode and --set values (or refuses
# others, naming each), --set names are checked, the "continue with" line continues exactly
# that run, a missing journal is not created, one run per runbook and environment.
source "$(dirname "$0")/lib.sh"
cat > book.yaml <<YAML
version: 1
name: identity
vars:
  workdir: $WORK/default-dir
  label: plain
environments:
  preprod: { vars: { target: preprod-db } }
  prod: { vars: { target: prod-db } }
phases:
  - id: p
    steps:
      - id: first
        kind: shell
        with: { command: "echo first \${env} \${mode} \${target} \${workdir} \${label} >> $WORK/effects" }
      - id: gate
        kind: shell
        with: { command: "test -f $WORK/go" }
      - id: last
        kind: shell
        with: { command: "echo last \${env} \${mode} \${target} \${workdir} \${label} >> $WORK/effects" }
YAML

# --set names are checked everywhere.
expect_exit 2 "run: an unknown --set name is refused" "$MIGRATE" run book.yaml --env preprod --rehearsal --set wokdir=/tmp/x
check "run: did you mean" contains last.err "did you mean 'workdir'"
check "run: nothing ran" test ! -e effects
expect_exit 2 "validate: an unknown --set name is refused" "$MIGRATE" validate book.yaml --set wokdir=/tmp/x
expect_exit 2 "plan: an unknown --set name is refused" "$MIGRATE" plan book.yaml --env prod --set labl=x
expect_exit 2 "run: a built-in cannot be set" "$MIGRATE" run book.yaml --env preprod --rehearsal --set env=prod
check "run: says it is built in" contains last.err "set by migrate itself"

# A run that stops at the gate.
mkdir -p "$WORK/custom"
expect_exit 1 "a rehearsal in preprod stops at the gate" "$MIGRATE" run book.yaml --env preprod --rehearsal --yes --set workdir=$WORK/custom --journal j.jsonl
cp last.out first-run.out
check "run.start records the --set values" test "$(events j.jsonl run.start | jq -r .sets.workdir)" = "$WORK/custom"
check "run.start records env and mode" test "$(events j.jsonl run.start | jq -r '.env + " " + .mode')" = "preprod rehearsal"

# A resume with other settings is refused, naming each difference.
expect_exit 2 "resume with --env prod is refused" "$MIGRATE" run book.yaml --env prod --journal j.jsonl --resume --yes
check "names the env difference" contains last.err "--env prod (the run used preprod)"
expect_exit 2 "resume with another --set value is refused" "$MIGRATE" run book.yaml --journal j.jsonl --resume --set workdir=/elsewhere
check "names the --set difference" contains last.err "--set workdir=/elsewhere (the run had $WORK/custom)"
expect_exit 2 "resume adding a --set is refused" "$MIGRATE" run book.yaml --journal j.jsonl --resume --set label=other
check "names the added --set" contains last.err "--set label (the run did not set it)"
check "no run.resume was written by the refusals" test -z "$(events j.jsonl run.resume)"

# The continue line, pasted, continues exactly that run.
line=$(grep '^continue with: ' first-run.out | sed 's/^continue with: migrate /"$MIGRATE" /')
check "the continue line names the journal by its absolute path" contains first-run.out "--journal $WORK/j.jsonl --resume"
check "the continue line keeps --yes" contains first-run.out "--resume --yes"
touch go
expect_exit 0 "the pasted continue line resumes and completes" bash -c "cd / && $line"
check "the resumed steps ran with the run's env, mode and --set" lines_equal effects "first preprod rehearsal preprod-db $WORK/custom plain
last preprod rehearsal preprod-db $WORK/custom plain"
check "run.resume records the same settings" test "$(events j.jsonl run.resume | jq -r '.env + " " + .mode + " " + .sets.workdir')" = "preprod rehearsal $WORK/custom"

# Without any setting given, a resume takes them all from the journal.
rm -f go effects
expect_exit 1 "a second rehearsal stops at the gate" "$MIGRATE" run book.yaml --env preprod --rehearsal --yes --set label=two --journal k.jsonl
touch go
expect_exit 0 "a bare --resume takes env, mode and --set from the journal" "$MIGRATE" run book.yaml --journal k.jsonl --resume --yes
check "the bare resume ran with them" contains effects "last preprod rehearsal preprod-db $WORK/default-dir two"

# --force changes a setting, and the journal records the change.
rm -f go effects
expect_exit 1 "a third rehearsal stops at the gate" "$MIGRATE" run book.yaml --env preprod --rehearsal --yes --journal f.jsonl
touch go
expect_exit 0 "--force resumes with another --set" "$MIGRATE" run book.yaml --journal f.jsonl --resume --yes --force --set label=forced
check "run.resume records the forced change" test "$(events f.jsonl run.resume | jq -c .forced_settings.sets.label)" = '{"from":null,"to":"forced"}'
check "the forced value was used" contains effects "last preprod rehearsal preprod-db $WORK/default-dir forced"

# A production journal resumed as a rehearsal with --yes must not auto-confirm anything.
cat > prod.yaml <<YAML
version: 1
name: prodcheck
phases:
  - id: p
    steps:
      - id: gate
        kind: shell
        with: { command: "test -f $WORK/prod-go" }
      - id: check
        kind: manual
        instructions: Look at the dashboards.
YAML
expect_exit 1 "a production run stops at its gate" "$MIGRATE" run prod.yaml --yes --journal p.jsonl
expect_exit 2 "resuming it with --rehearsal --yes is refused" "$MIGRATE" run prod.yaml --rehearsal --yes --journal p.jsonl --resume
check "names the mode difference" contains last.err "--rehearsal (the run is a production run)"
check "no confirmation was recorded" test -z "$(events p.jsonl step.confirm)"

# --resume on a journal that does not exist is refused, and nothing is created.
expect_exit 2 "resume of a missing journal is refused" "$MIGRATE" run book.yaml --env preprod --rehearsal --journal missing.jsonl --resume
check "says there is no such journal" contains last.err "no such journal"
check "no journal was created" test ! -e missing.jsonl

# One run per runbook and environment.
cat > slow.yaml <<YAML
version: 1
name: locked
vars:
  pause: "30"
environments:
  prod: {}
  preprod: {}
phases:
  - id: p
    steps:
      - id: hold
        kind: shell
        with: { command: "touch $WORK/holding; sleep \${pause}" }
YAML
mkdir -p journals
"$MIGRATE" run slow.yaml --env prod --rehearsal --journal journals/one.jsonl > one.out 2>&1 &
pid=$!
check "lock: the first run holds its step" wait_for 20 test -f holding
expect_exit 2 "lock: a second run of the same runbook and env is refused" "$MIGRATE" run slow.yaml --env prod --rehearsal --journal journals/two.jsonl
check "lock: the refusal names the journal that holds it" contains last.err "journal $WORK/journals/one.jsonl"
check "lock: the refused run wrote no journal" test ! -s journals/two.jsonl
expect_exit 0 "lock: another environment is not blocked" "$MIGRATE" run slow.yaml --env preprod --rehearsal --journal journals/three.jsonl --set pause=0
kill -9 $pid; wait $pid 2>/dev/null
pkill -f "sleep 30" 2>/dev/null
rm -f holding
"$MIGRATE" run slow.yaml --env prod --rehearsal --journal journals/four.jsonl > four.out 2>&1 &
pid=$!
check "lock: a killed run's lock is free again" wait_for 20 test -f holding
expect_exit 0 "lock: --parallel-run allows a second run" "$MIGRATE" run slow.yaml --env prod --rehearsal --journal journals/five.jsonl --parallel-run --set pause=0
kill -9 $pid; wait $pid 2>/dev/null
pkill -f "sleep 30" 2>/dev/null

# --dry-run honours --only and --from.
cat > dry.yaml <<YAML
version: 1
name: dry
phases:
  - id: p
    steps:
      - id: one
        kind: shell
        with: { command: "true", cwd: /nonexistent-one }
      - id: two
        kind: shell
        with: { command: "true" }
      - id: three
        kind: shell
        with: { command: "true" }
YAML
expect_exit 0 "dry run --only two checks only two" "$MIGRATE" run dry.yaml --dry-run --only two
check "dry run --only: one is skipped" contains last.out "skip   one (not in --only)"
check "dry run --only: three is skipped" contains last.out "skip   three (not in --only)"
expect_exit 0 "dry run --from two skips one" "$MIGRATE" run dry.yaml --dry-run --from two
check "dry run --from: one is skipped" contains last.out "skip   one (before --from two)"
check "dry run --from: three is checked" contains last.out "would  three"
expect_exit 1 "a plain dry run still fails on one" "$MIGRATE" run dry.yaml --dry-run

# estimate with another runbook's journal says so and fails.
expect_exit 2 "estimate refuses a journal of another runbook" "$MIGRATE" estimate dry.yaml --journal j.jsonl
check "estimate names the other runbook" contains last.err "is a journal of runbook 'identity', not 'dry'"
finish
