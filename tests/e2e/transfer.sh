#!/usr/bin/env bash
# The transfer kind against the suite's sshd fixture (46 loopback hosts, each with its own
# HOME): a file pushed to five hosts by rsync with its SHA-256 compared, a directory by rsync
# and by scp, pulls from one host and from two (one copy per host), a 200 MiB push killed
# with -9 mid-file and resumed from rsync's partial file (no half-written file under the
# destination's name meanwhile), the dry run, and parameter errors.
source "$(dirname "$0")/lib.sh"
SSH_DIR=${MIGRATE_TEST_SSH_DIR:?the sshd fixture sets MIGRATE_TEST_SSH_DIR}
HOSTS=$SSH_DIR/hosts
tag=t$$
cleanup() { rm -rf "$HOSTS"/h*/"$tag"; }
trap cleanup EXIT

# A runbook with one transfer step; $1 its `with` (a flow mapping's inside).
transfer_runbook() {
  cat <<YAML
version: 1
name: transfer
roles: { executor: Engineer }
hosts:
  inventory: $SSH_DIR/inventory.ini
phases:
  - id: copy
    steps:
      - id: put
        kind: transfer
        with: { ssh_config: $SSH_DIR/ssh_config, $1 }
YAML
}

head -c $((24 << 20)) /dev/urandom > dump.sql.zst
sum=$(sha256sum dump.sql.zst | cut -d' ' -f1)
size=$(stat -c %s dump.sql.zst)

# ---- a file to five hosts by rsync ----
transfer_runbook "hosts: 'web[0:4]', from: $WORK/dump.sql.zst, to: $tag/in/dump.sql.zst, parallel: '5'" > push.yaml
expect_exit 0 "transfer: the kind is listed with its parameters" "$MIGRATE" kinds transfer
check "kinds transfer: method and rsync_options" bash -c "grep -q 'method' last.out && grep -q 'rsync_options' last.out"
expect_exit 0 "dry run: the source is readable and the five hosts answer" "$MIGRATE" run push.yaml --dry-run --journal dry.jsonl
check "dry run: the plan names the push" contains last.out "push $WORK/dump.sql.zst"
check "dry run: nothing was copied" test ! -e "$HOSTS/h01/$tag"
expect_exit 0 "push a 24 MiB file to h01-h05 by rsync" "$MIGRATE" run push.yaml --rehearsal --yes --journal push.jsonl
same=0
for h in h01 h02 h03 h04 h05; do cmp -s dump.sql.zst "$HOSTS/$h/$tag/in/dump.sql.zst" && same=$((same + 1)); done
check "every one of the five copies is the source, byte for byte" test "$same" -eq 5
check "no other host got a copy" test ! -e "$HOSTS/h06/$tag"
check "five step.host records by rsync with the source's SHA-256" test "$(jq -r "select(.ev==\"step.host\" and .status==\"ok\" and .method==\"rsync\" and .sha256==\"$sum\") | .host" push.jsonl | wc -l)" -eq 5
check "the step's sha256 output is the source's" test "$(jq -r 'select(.ev=="step.end") | .outputs.sha256' push.jsonl)" = "$sum"
check "the bytes metric counts five copies" test "$(jq -r 'select(.ev=="step.end") | .metrics.bytes' push.jsonl)" -eq $((5 * size))
check "nothing partial is left on the hosts" test -z "$(find "$HOSTS"/h0[1-5]/"$tag"/in -mindepth 1 -name '*migrate-*')"

# ---- a directory by rsync and by scp ----
mkdir -p tree/sub/deeper
echo one > tree/a.txt; echo "two words" > "tree/sub/with space.txt"; head -c 300000 /dev/urandom > tree/sub/deeper/blob.bin
transfer_runbook "hosts: h06, from: $WORK/tree, to: $tag/tree" > tree_rsync.yaml
expect_exit 0 "push a directory by rsync" "$MIGRATE" run tree_rsync.yaml --rehearsal --yes --journal tree1.jsonl
check "the tree arrived whole (rsync)" diff -r tree "$HOSTS/h06/$tag/tree"
check "the record counts its 3 files" test "$(jq -r 'select(.ev=="step.host") | .files' tree1.jsonl)" = 3
manifest_sum=$( (cd tree && find . -type f | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do sha256sum -- "$f"; done) | sha256sum | cut -d' ' -f1)
check "the record carries the SHA-256 of the tree's manifest" test "$(jq -r 'select(.ev=="step.host") | .manifest_sha256' tree1.jsonl)" = "$manifest_sum"
transfer_runbook "hosts: h07, from: $WORK/tree, to: $tag/tree, method: scp" > tree_scp.yaml
mkdir -p "$HOSTS/h07/$tag/tree" && echo stale > "$HOSTS/h07/$tag/tree/old.txt"
expect_exit 0 "push a directory by scp over an older copy" "$MIGRATE" run tree_scp.yaml --rehearsal --yes --journal tree2.jsonl
check "the tree arrived whole (scp), the older copy replaced" diff -r tree "$HOSTS/h07/$tag/tree"
check "the record says scp" test "$(jq -r 'select(.ev=="step.host") | .method' tree2.jsonl)" = scp
check "no temporary copy is left" test ! -e "$HOSTS/h07/$tag/tree.migrate-partial"
# A file changed on the far side after the copy: a second push by scp of a file sends it again.
transfer_runbook "hosts: h07, from: $WORK/dump.sql.zst, to: $tag/, method: scp" > file_scp.yaml
expect_exit 0 "push a file by scp into a directory (to ends in /)" "$MIGRATE" run file_scp.yaml --rehearsal --yes --journal scp.jsonl
check "the file is in that directory under its own name" cmp dump.sql.zst "$HOSTS/h07/$tag/dump.sql.zst"

# ---- pulls ----
mkdir -p "$HOSTS/h08/$tag" "$HOSTS/h09/$tag" "$HOSTS/h10/$tag"
head -c 5000000 /dev/urandom > "$HOSTS/h08/$tag/export.csv"
for h in h09 h10; do echo "log of $h" > "$HOSTS/$h/$tag/app.log"; done
transfer_runbook "hosts: h08, direction: pull, from: $tag/export.csv, to: $WORK/pulled/export.csv" > pull1.yaml
expect_exit 0 "pull a file from one host" "$MIGRATE" run pull1.yaml --rehearsal --yes --journal pull1.jsonl
check "the pulled file is the host's" cmp "$HOSTS/h08/$tag/export.csv" pulled/export.csv
check "its record carries the host file's SHA-256" test "$(jq -r 'select(.ev=="step.host") | .sha256' pull1.jsonl)" = "$(sha256sum pulled/export.csv | cut -d' ' -f1)"
transfer_runbook "hosts: 'h09:h10', direction: pull, from: $tag/app.log, to: $WORK/logs, method: scp" > pull2.yaml
expect_exit 0 "pull a file from two hosts by scp: one copy per host" "$MIGRATE" run pull2.yaml --rehearsal --yes --journal pull2.jsonl
check "each host's copy under its name" bash -c "grep -qx 'log of h09' logs/h09 && grep -qx 'log of h10' logs/h10"
transfer_runbook "hosts: h06, direction: pull, from: $tag/tree, to: $WORK/back" > pull3.yaml
expect_exit 0 "pull a directory by rsync" "$MIGRATE" run pull3.yaml --rehearsal --yes --journal pull3.jsonl
check "the directory came back whole" diff -r tree back
transfer_runbook "hosts: h08, direction: pull, from: $tag/missing.csv, to: $WORK/x.csv" > pull4.yaml
expect_exit 1 "a pull of a path the host does not have fails" "$MIGRATE" run pull4.yaml --rehearsal --yes --journal pull4.jsonl
check "the error names the path and the host" grep -q "'$tag/missing.csv' is not a file or directory on h08" last.out

# ---- kill -9 mid-file, then --resume ----
head -c $((200 << 20)) /dev/urandom > big.bin
big_sum=$(sha256sum big.bin | cut -d' ' -f1)
transfer_runbook "hosts: h11, from: $WORK/big.bin, to: $tag/big.bin, rsync_options: [--bwlimit=16m]" > big.yaml
"$MIGRATE" run big.yaml --rehearsal --yes --journal big.jsonl > big1.out 2>&1 &
pid=$!
partial_size() { stat -c %s "$HOSTS"/h11/$tag/.big.bin.* 2>/dev/null | sort -n | tail -1; }
check "rsync is writing its temporary file on h11" wait_for 60 bash -c "[ \"\$(stat -c %s $HOSTS/h11/$tag/.big.bin.* 2>/dev/null | sort -n | tail -1)\" -gt 40000000 ] 2>/dev/null"
kill -9 "$pid"; wait "$pid" 2>/dev/null
check "the killed run left no file under the destination's name" test ! -e "$HOSTS/h11/$tag/big.bin"
check "the interrupted file waits in the partial directory" wait_for 10 test -s "$HOSTS/h11/$tag/.migrate-partial/big.bin"
kept=$(stat -c %s "$HOSTS/h11/$tag/.migrate-partial/big.bin" 2>/dev/null || echo 0)
echo "     kept after the kill: $kept bytes"
expect_exit 0 "the resume completes the transfer" "$MIGRATE" run big.yaml --journal big.jsonl --resume --yes
check "the copy is whole" cmp big.bin "$HOSTS/h11/$tag/big.bin"
sent=$(jq -r 'select(.ev=="step.host" and .status=="ok") | .bytes_sent' big.jsonl | tail -1)
echo "     the resume sent $sent bytes of $((200 << 20))"
check "the resume did not send the kept part again" test "$sent" -lt $(( (200 << 20) - kept / 2 ))
check "the resumed record carries the SHA-256" test "$(jq -r 'select(.ev=="step.host" and .status=="ok") | .sha256' big.jsonl)" = "$big_sum"
check "the partial directory is gone" test ! -e "$HOSTS/h11/$tag/.migrate-partial/big.bin"
check "the journal verifies" "$MIGRATE" journal verify big.jsonl

# ---- errors ----
transfer_runbook "hosts: h01, from: $WORK/absent.bin, to: x" > absent.yaml
expect_exit 1 "a source that does not exist fails the step" "$MIGRATE" run absent.yaml --rehearsal --yes --journal absent.jsonl
check "the error names the source" grep -q "absent.bin' cannot be read" last.out
transfer_runbook "hosts: h01, from: $WORK/big.bin, to: x, method: ftp" > bad.yaml
expect_exit 2 "an unknown method is refused at validation" "$MIGRATE" validate bad.yaml
check "the error says where and which methods exist" grep -q "bad.yaml:11:[0-9]*: parameter 'method': 'ftp' is not one of: auto, rsync, scp" last.err

finish
