#!/usr/bin/env bash
# compress: zstd and gzip output that the real zstd/gzip tools test and decompress back to the
# input byte for byte; the sha256 output; refusals; no .partial left behind by a failure.
source "$(dirname "$0")/lib.sh"

# About 6 MB of dump-like text.
awk 'BEGIN { srand(7); for (i = 0; i < 60000; i++)
  printf "INSERT INTO orders VALUES (%d, %d, '\''customer-%d'\'', '\''2024-%02d-%02d'\'', %.2f);\n",
         i, int(rand() * 100000), int(rand() * 5000), 1 + int(rand() * 12), 1 + int(rand() * 28), rand() * 1000 }' > dump.sql
cp dump.sql original.sql

# compress_runbook FILE KEY: VALUE...: one compress step with these parameters.
compress_runbook() {
  local file=$1; shift
  {
    printf 'version: 1\nname: compress\nphases:\n  - id: p\n    steps:\n      - id: pack\n        kind: compress\n        with:\n'
    for param in "$@"; do printf '          %s\n' "$param"; done
  } > "$file"
}

compress_runbook zstd.yaml "input: $WORK/dump.sql"
expect_exit 0 "zstd with the defaults" "$MIGRATE" run zstd.yaml --rehearsal --yes --journal zstd.jsonl
end=$(events zstd.jsonl step.end)
check "the output is input + .zst" test "$(echo "$end" | jq -r .outputs.path)" = "$WORK/dump.sql.zst"
check "zstd -t accepts it" zstd -q -t dump.sql.zst
check "zstd -d gives the input back byte for byte" cmp <(zstd -q -d -c dump.sql.zst) original.sql
check "the sha256 output is sha256sum of the file" test "$(echo "$end" | jq -r .outputs.sha256)" = "$(sha256sum dump.sql.zst | cut -d' ' -f1)"
check "bytes_out is the file's size" test "$(echo "$end" | jq -r .outputs.bytes_out)" = "$(stat -c %s dump.sql.zst)"
check "metric bytes is the input's size" test "$(echo "$end" | jq -r .metrics.bytes)" = "$(stat -c %s dump.sql)"
check "metric ratio is input over output" test "$(echo "$end" | jq -r '.metrics.ratio > 2 and .metrics.ratio < 20')" = true
check "the input is kept by default" test -f dump.sql
check "no .partial remains" test ! -e dump.sql.zst.partial

expect_exit 1 "an existing output is refused" "$MIGRATE" run zstd.yaml --rehearsal --yes --journal again.jsonl
check "the error says to set overwrite" test "$(events again.jsonl step.end | jq -r .error)" = "output '$WORK/dump.sql.zst' already exists; set 'overwrite: true' to replace it"
check "the existing output is untouched" cmp <(zstd -q -d -c dump.sql.zst) original.sql

compress_runbook gzip.yaml "input: $WORK/dump.sql" "format: gzip" "level: 9" "output: $WORK/out/dump.gz" "remove_input: true"
mkdir out
expect_exit 0 "gzip level 9 into another directory, removing the input" "$MIGRATE" run gzip.yaml --rehearsal --yes --journal gzip.jsonl
check "gzip -t accepts it" gzip -t out/dump.gz
check "gunzip gives the input back byte for byte" cmp <(gunzip -c out/dump.gz) original.sql
check "the sha256 output is sha256sum of the file" test "$(events gzip.jsonl step.end | jq -r .outputs.sha256)" = "$(sha256sum out/dump.gz | cut -d' ' -f1)"
check "remove_input removed the input" test ! -e dump.sql

cp original.sql dump.sql
compress_runbook over.yaml "input: $WORK/dump.sql" "overwrite: true" "threads: 1" "level: 19"
expect_exit 0 "overwrite: true replaces the output (zstd level 19, one thread)" "$MIGRATE" run over.yaml --rehearsal --yes --journal over.jsonl
check "and it still decompresses to the input" cmp <(zstd -q -d -c dump.sql.zst) original.sql

compress_runbook missing.yaml "input: $WORK/no-such.sql"
expect_exit 1 "a missing input fails" "$MIGRATE" run missing.yaml --rehearsal --yes --journal missing.jsonl
check "and is named" test "$(events missing.jsonl step.end | jq -r .error)" = "input '$WORK/no-such.sql' does not exist"
check "no output or .partial for it" test ! -e no-such.sql.zst -a ! -e no-such.sql.zst.partial

compress_runbook level.yaml "input: $WORK/dump.sql" "format: gzip" "level: 12"
expect_exit 2 "a gzip level out of range is refused by the validator" "$MIGRATE" validate level.yaml
check "naming the range" contains last.err "gzip levels go from 1 to 9, not 12"

# A failure half-way: the step's timeout stops a slow compression (gzip -9 of 64 MB of hardly
# compressible text), and the .partial file must go with it.
head -c 48000000 /dev/urandom | base64 -w 0 > big.txt
cat > slow.yaml <<YAML
version: 1
name: slow
phases:
  - id: p
    steps:
      - id: pack
        kind: compress
        timeout: 500ms
        with: { input: $WORK/big.txt, format: gzip, level: 9 }
YAML
expect_exit 1 "a compression over its timeout fails" "$MIGRATE" run slow.yaml --rehearsal --yes --journal slow.jsonl
check "it timed out" test "$(events slow.jsonl step.end | jq -r .error | cut -c1-15)" = "timed out after"
check "a progress record in input bytes was journaled" test "$(events slow.jsonl step.progress | head -1 | jq -r '.metrics.bytes_total')" = "$(stat -c %s big.txt)"
check "no .partial is left after the failure" test ! -e big.txt.gz.partial
check "and no output" test ! -e big.txt.gz

# zstd at level 19 has tens of MB in its workers' hands; a stop must not wait for them.
sed -i 's/timeout: 500ms/timeout: 1s/; s/format: gzip, level: 9/level: 19/' slow.yaml
start=$(date +%s%N)
expect_exit 1 "zstd level 19 over its timeout fails" "$MIGRATE" run slow.yaml --rehearsal --yes --journal slow19.jsonl
check "and stops within seconds" test $(( ($(date +%s%N) - start) / 1000000 )) -lt 8000
check "it timed out" test "$(events slow19.jsonl step.end | jq -r .error | cut -c1-15)" = "timed out after"
check "no .partial is left" test ! -e big.txt.zst.partial -a ! -e big.txt.zst
finish
