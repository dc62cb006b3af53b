#!/usr/bin/env bash
# A journal with a torn last line, a flipped byte, a deleted line, a newer version:
# `journal verify` names the line. A torn journal is repaired by the next writer.
source "$(dirname "$0")/lib.sh"
cat > book.yaml <<'YAML'
version: 1
name: verify
phases:
  - id: p
    steps:
      - { id: a, kind: shell, with: { command: "echo a" } }
      - { id: b, kind: shell, with: { command: "echo b" } }
      - { id: c, kind: shell, with: { command: "echo c" } }
      - { id: d, kind: shell, with: { command: "echo d" } }
YAML
"$MIGRATE" run book.yaml --rehearsal --yes --journal good.jsonl > /dev/null 2>&1
expect_exit 0 "an untouched journal verifies" "$MIGRATE" journal verify good.jsonl
lines=$(wc -l < good.jsonl)

# torn last line: cut the final record in the middle
head -c -40 good.jsonl > torn.jsonl
expect_exit 1 "a torn last line fails verification" "$MIGRATE" journal verify torn.jsonl
check "naming the last line" contains last.err "torn.jsonl:$lines: the last line is cut off"

# flipped byte in line 5: change a digit of a duration
awk 'NR==5 { sub(/"seq":5/, "\"seq\":5 ") } { print }' good.jsonl > spaced.jsonl
sed '5s/"kind":"shell"/"kind":"shelL"/' good.jsonl > flipped.jsonl
expect_exit 1 "a changed record fails verification" "$MIGRATE" journal verify flipped.jsonl
check "naming line 5" contains last.err "flipped.jsonl:5: hash chain broken"

# deleted line 7
sed '7d' good.jsonl > deleted.jsonl
expect_exit 1 "a deleted line fails verification" "$MIGRATE" journal verify deleted.jsonl
check "naming the line after the gap" contains last.err "deleted.jsonl:7: sequence number 8 where 7 was expected"

# a record of a newer format version
sed '3s/^{"v":1,/{"v":2,/' good.jsonl > newer.jsonl
expect_exit 1 "a newer format version is refused" "$MIGRATE" journal verify newer.jsonl
check "saying which version" contains last.err "newer.jsonl:3: journal format version 2 is not supported"

# garbage in the middle
sed '4s/.*/garbage/' good.jsonl > garbage.jsonl
expect_exit 1 "garbage in the middle" "$MIGRATE" journal verify garbage.jsonl
check "naming line 4" contains last.err "garbage.jsonl:4:"

# json output names the line too
"$MIGRATE" --format json journal verify deleted.jsonl > verify.json
check "json output carries the line" test "$(jq .problem.line verify.json)" = 7

# A writer refuses to add to a journal that does not verify...
expect_exit 2 "resume refuses a tampered journal" "$MIGRATE" run book.yaml --rehearsal --yes --journal flipped.jsonl --resume
check "naming the bad line" contains last.err "flipped.jsonl:5:"

# ...but a torn tail (a cut-off write) is closed off, recorded, and the run resumes.
cat > slow.yaml <<YAML
version: 1
name: verify
phases:
  - id: p
    steps:
      - { id: a, kind: shell, with: { command: "echo a >> $WORK/effects" } }
      - { id: b, kind: shell, with: { command: "touch $WORK/b-started; sleep 300" } }
YAML
"$MIGRATE" run slow.yaml --rehearsal --yes --journal resumable.jsonl > /dev/null 2>&1 &
pid=$!
wait_for 20 test -f b-started; kill -9 $pid; wait $pid 2>/dev/null
printf '{"v":1,"seq":99,"ts":"cut' >> resumable.jsonl
torn_line=$(( $(wc -l < resumable.jsonl) + 1 ))
sed -i 's/sleep 300/true/' slow.yaml
expect_exit 0 "resume after a torn write" "$MIGRATE" run slow.yaml --rehearsal --yes --journal resumable.jsonl --resume --force
check "a journal.repair record names the torn line" test "$(grep -F '"ev":"journal.repair"' resumable.jsonl | jq .line)" = "$torn_line"
expect_exit 0 "the repaired journal verifies" "$MIGRATE" journal verify resumable.jsonl
check "step a ran once" lines_equal effects "a"
finish
