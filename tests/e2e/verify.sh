#!/usr/bin/env bash
# verify: manifests made by the real sha256sum and md5sum, inline hashes; a missing file and
# two corrupted ones must all be named, in the error and in the journal.
source "$(dirname "$0")/lib.sh"

mkdir -p data/sub
for i in $(seq -w 1 19); do head -c $((10#$i * 37000 + 11)) /dev/urandom > "data/part-$i"; done
echo "a small file in a sub-directory" > data/sub/notes.txt
(cd data && sha256sum part-* sub/notes.txt > ../sha256.list && md5sum part-* sub/notes.txt > ../md5.list)
cp sha256.list data/SHA256SUMS
check "the manifests list 20 files" test "$(wc -l < sha256.list)" -eq 20

# verify_runbook FILE MANIFEST [DIR]: one verify step over MANIFEST; with MANIFEST "-", the
# step's `with` lines come from stdin.
verify_runbook() {
  {
    printf 'version: 1\nname: verify\nphases:\n  - id: p\n    steps:\n      - id: check\n        kind: verify\n        with:\n'
    if [ "$2" = - ]; then cat; else printf '          manifest: %s\n' "$2"; fi
    [ -z "${3:-}" ] || printf '          dir: %s\n' "$3"
  } > "$1"
}

verify_runbook good.yaml "$WORK/sha256.list" "$WORK/data"
expect_exit 0 "20 files match a sha256sum manifest" "$MIGRATE" run good.yaml --rehearsal --yes --journal good.jsonl
check "output files = 20" test "$(events good.jsonl step.end | jq -r .outputs.files)" = 20
check "metric bytes = the files' total size" test "$(events good.jsonl step.end | jq -r .metrics.bytes)" = "$(cat data/part-* data/sub/notes.txt | wc -c)"
check "metric files = 20" test "$(events good.jsonl step.end | jq -r .metrics.files)" = 20

verify_runbook md5.yaml "$WORK/md5.list" "$WORK/data"
expect_exit 0 "the same files match an md5sum manifest" "$MIGRATE" run md5.yaml --rehearsal --yes --journal md5.jsonl

verify_runbook beside.yaml "$WORK/data/SHA256SUMS"
expect_exit 0 "without dir, names are relative to the manifest's directory" "$MIGRATE" run beside.yaml --rehearsal --yes --journal beside.jsonl

# One file missing, two corrupted (one of them in place, same size).
rm data/part-04
printf 'X' | dd of=data/part-11 bs=1 seek=1000 conv=notrunc status=none
echo "appended" >> data/sub/notes.txt
for list in sha256 md5; do
  verify_runbook "bad-$list.yaml" "$WORK/$list.list" "$WORK/data"
  expect_exit 1 "$list: the step fails" "$MIGRATE" run "bad-$list.yaml" --rehearsal --yes --journal "bad-$list.jsonl"
  end=$(events "bad-$list.jsonl" step.end)
  error=$(echo "$end" | jq -r .error)
  check "$list: the error names all three" test "$error" = "3 of 20 files failed the check: missing: part-04; different: part-11, sub/notes.txt"
  check "$list: the console names them too" contains last.out "missing: part-04; different: part-11, sub/notes.txt"
  check "$list: journal lists the missing file" test "$(echo "$end" | jq -c .missing)" = '["part-04"]'
  check "$list: journal lists both mismatches" test "$(echo "$end" | jq -c '[.mismatched[].file]')" = '["part-11","sub/notes.txt"]'
  check "$list: with the expected hash from the list" test "$(echo "$end" | jq -r '.mismatched[0].expected')" = "$(grep part-11 "$list.list" | cut -d' ' -f1)"
  check "$list: and the hash found" test "$(echo "$end" | jq -r '.mismatched[1].got')" = "$(${list}sum data/sub/notes.txt | cut -d' ' -f1)"
  check "$list: a mismatch is not retried" test "$(events "bad-$list.jsonl" step.retry | wc -l)" -eq 0
done

verify_runbook inline.yaml - <<YAML
          dir: $WORK/data
          threads: 1
          files:
            part-01: $(sha256sum data/part-01 | cut -d' ' -f1)
            part-02: $(md5sum data/part-02 | cut -d' ' -f1)
YAML
expect_exit 0 "inline hashes (SHA-256 and MD5) match" "$MIGRATE" run inline.yaml --rehearsal --yes --journal inline.jsonl
check "inline: 2 files checked" test "$(events inline.jsonl step.end | jq -r .outputs.files)" = 2
sed -i "s/part-02: .*/part-02: $(sha256sum data/part-03 | cut -d' ' -f1)/" inline.yaml
expect_exit 1 "a wrong inline hash fails" "$MIGRATE" run inline.yaml --rehearsal --yes --journal inline-bad.jsonl
check "and names the file" test "$(events inline-bad.jsonl step.end | jq -r .error)" = "1 of 2 files failed the check: different: part-02"

verify_runbook both.yaml - <<YAML
          manifest: sha256.list
          files: { a: $(sha256sum data/part-01 | cut -d' ' -f1) }
YAML
expect_exit 2 "manifest and files together are refused by the validator" "$MIGRATE" validate both.yaml
check "it says to take one" contains last.err "takes only one of: manifest, files"

printf 'not a checksum line\n' > broken.list
verify_runbook broken.yaml "$WORK/broken.list" "$WORK/data"
expect_exit 1 "a malformed manifest fails" "$MIGRATE" run broken.yaml --rehearsal --yes --journal broken.jsonl
check "naming its line (file:1)" contains last.out "broken.list:1: expected 'HASH  FILE'"
finish
