#!/usr/bin/env bash
# A secret used in a command that prints it, and in a failing step: its value appears in
# no file the run writes and not on the terminal.
source "$(dirname "$0")/lib.sh"
SECRET='s3cr3t-Pa55w0rd!'
export DB_PASSWORD=$SECRET
cat > book.yaml <<'YAML'
version: 1
name: secrets
vars:
  dsn: "mysql://migrate:${secret:DB_PASSWORD}@db.internal/crm"
phases:
  - id: p
    steps:
      - id: prints
        kind: shell
        with: { command: 'echo "connecting with ${secret:DB_PASSWORD}"; echo "dsn ${dsn}" >&2' }
      - id: from-file
        kind: shell
        with: { command: 'echo "file secret ${secret:API_TOKEN}"' }
      - id: output-user
        kind: shell
        with: { command: 'echo "got ${steps.prints.stdout}"' }
      - id: fails
        kind: shell
        with: { command: 'echo "login failed for password ${secret:DB_PASSWORD}" >&2; exit 3' }
YAML
printf 'API_TOKEN=tok-XYZZY-123\n' > secrets.env
expect_exit 1 "the failing step fails the run" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl --secrets secrets.env --log-file run.log
cp last.out terminal.out; cp last.err terminal.err
check "the commands did receive the secret (masked in the log)" contains j.jsonl.logs/prints.log "connecting with ***"
check "the file secret reached its command (masked)" contains j.jsonl.logs/from-file.log "file secret ***"
check "the failure's tail is in the journal, masked" test "$(events j.jsonl step.end | jq -r 'select(.step=="fails") | .tail')" = "login failed for password ***"
for f in j.jsonl run.log terminal.out terminal.err j.jsonl.logs/*; do
  check "no DB secret in $f" not_contains "$f" "$SECRET"
  check "no file secret in $f" not_contains "$f" "tok-XYZZY-123"
done
check "the journal verifies" "$MIGRATE" journal verify j.jsonl
"$MIGRATE" status j.jsonl > status.out 2>&1
"$MIGRATE" --format json status j.jsonl > status.json 2>&1
check "no secret in status" not_contains status.out "$SECRET"
check "no secret in status json" not_contains status.json "$SECRET"

unset DB_PASSWORD
expect_exit 2 "a missing secret stops the run before anything runs" "$MIGRATE" run book.yaml --rehearsal --yes --journal j2.jsonl
check "naming the secret and where it is used" contains last.err "secret 'DB_PASSWORD' is not set"
check "and where: the variable's line" contains last.err "book.yaml:4:"
check "no journal was started" test ! -s j2.jsonl

# A secret used only inside a step is checked before the first step runs, too.
cat > late.yaml <<YAML
version: 1
name: late-secret
phases:
  - id: p
    steps:
      - { id: first, kind: shell, with: { command: "echo first >> $WORK/late-effects" } }
      - { id: uses, kind: shell, with: { command: 'mysql -p"\${secret:NEVER_SET_PW}" -e "select 1"' } }
YAML
expect_exit 2 "a secret missing in a later step stops the run before the first" "$MIGRATE" run late.yaml --rehearsal --yes --journal j3.jsonl
check "naming it and where" contains last.err "late.yaml:7:"
check "nothing ran" test ! -e late-effects
check "no journal" test ! -s j3.jsonl
finish
