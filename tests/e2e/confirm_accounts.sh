#!/usr/bin/env bash
# `migrate confirm` from another OS account: the operator runs migrate in a folder shared by
# group (setgid, group-writable, umask 022); a colleague in that group confirms a step as
# their own user. Refusals for permissions exit 2 and say what to change.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL confirm_accounts must run as root: it creates a second account (useradd) and runs"
  echo "     migrate confirm as it (runuser); run the suite as root, as CI does"
  exit 1
fi
group=mgshare$$
colleague=mgpeer$$
cleanup_accounts() {
  userdel "$colleague" 2>/dev/null
  groupdel "$group" 2>/dev/null
  cleanup_e2e
}
trap cleanup_accounts EXIT
groupadd "$group"
useradd --no-create-home --shell /bin/sh "$colleague"
as_colleague() { runuser -u "$colleague" -- "$@"; }

chmod 711 "$WORK"  # mktemp made it 0700; the colleague must reach the shared folder
mkdir shared
chgrp "$group" shared
chmod 2770 shared
check "the migrate binary is usable by the colleague" as_colleague "$MIGRATE" --version
cat > shared/book.yaml <<YAML
version: 1
name: accounts
roles:
  executor: Migration engineer
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
(umask 022 && exec "$MIGRATE" run shared/book.yaml --rehearsal --journal shared/j.jsonl < /dev/null > run.out 2>&1) &
pid=$!
check "the run waits for the customer" wait_for 20 grep -qs '"ev":"step.start","step":"agents-out"' shared/j.jsonl
check "the waiting step makes the inbox" wait_for 20 test -e shared/j.jsonl.confirm
check "the inbox exists, group-writable despite umask 022, in the folder's group" test "$(stat -c '%A %G' shared/j.jsonl.confirm)" = "-rw-rw-r-- $group"

expect_exit 2 "a colleague outside the group is refused" as_colleague "$MIGRATE" confirm "$WORK/shared/j.jsonl" agents-out --as customer
check "saying to add them to the group" contains last.err "usermod -aG $group $colleague"
usermod -aG "$group" "$colleague"

chmod g-w shared/j.jsonl.confirm
expect_exit 2 "an inbox that is not group-writable is refused" as_colleague "$MIGRATE" confirm "$WORK/shared/j.jsonl" agents-out --as customer
check "saying chmod g+w on it" contains last.err "chmod g+w $WORK/shared/j.jsonl.confirm"
chmod g+w shared/j.jsonl.confirm

expect_exit 2 "the colleague's reject without a note is refused" as_colleague "$MIGRATE" confirm "$WORK/shared/j.jsonl" agents-out --as customer --reject
check "saying a reject needs a note" contains last.err "--reject needs --note"
expect_exit 2 "the colleague sees the wrong role refused (the lock check works for them)" as_colleague "$MIGRATE" confirm "$WORK/shared/j.jsonl" agents-out --as executor
check "naming the step's role" contains last.err "is for the role 'customer'"
expect_exit 0 "the colleague confirms as their own account" as_colleague "$MIGRATE" confirm "$WORK/shared/j.jsonl" agents-out --as customer --by "Petra Dvorak" --note "agents are out"
wait $pid
check "the run completes" test $? -eq 0
confirm=$(events shared/j.jsonl step.confirm)
check "step.confirm has the colleague's account" test "$(echo "$confirm" | jq -r .os_user)" = "$colleague"
check "and the name they gave" test "$(echo "$confirm" | jq -r .by)" = "Petra Dvorak"
check "via migrate confirm" test "$(echo "$confirm" | jq -r .via)" = "migrate confirm"
expect_exit 2 "confirm after the run is refused (not running)" as_colleague "$MIGRATE" confirm "$WORK/shared/j.jsonl" agents-out --as customer
check "saying no run is running" contains last.err "no migrate run is running"

# A journal the colleague may not read: refused, saying what to change.
(umask 077 && exec "$MIGRATE" run shared/book.yaml --rehearsal --journal shared/private.jsonl < /dev/null > private.out 2>&1) &
pid=$!
check "a second run waits" wait_for 20 grep -qs '"ev":"step.start","step":"agents-out"' shared/private.jsonl
expect_exit 2 "a journal the colleague cannot read is refused" as_colleague "$MIGRATE" confirm "$WORK/shared/private.jsonl" agents-out --as customer
check "saying chmod g+r" contains last.err "chmod g+r $WORK/shared/private.jsonl"
"$MIGRATE" confirm shared/private.jsonl agents-out --as customer > /dev/null
wait $pid
check "that run completes once the operator confirms" test $? -eq 0
finish
