#!/usr/bin/env bash
# Inputs found by fuzzing `migrate`, too big for tests/bad-runbooks/, generated here: each
# must be handled (accepted, or refused with exit 2 and a clear message) by validate, plan
# and run --dry-run without a crash. Speed is not asserted here (tests/bench/ and
# docs/testing.md measure it); the `timeout` only turns a hang into a failure.
SCRIPTS=$(cd "$(dirname "$0")" && pwd)
source "$SCRIPTS/lib.sh"

# each_command EXIT "what" FILE: validate, plan and run --dry-run must all exit with EXIT.
each_command() {
  local code=$1 what=$2 file=$3
  expect_exit "$code" "validate: $what" timeout 120 "$MIGRATE" validate "$file"
  cp last.err validate.err
  expect_exit "$code" "plan: $what" timeout 120 "$MIGRATE" plan "$file"
  expect_exit "$code" "run --dry-run: $what" timeout 120 "$MIGRATE" run "$file" --dry-run
}

# utf8 FILE: the file is valid UTF-8 (nothing cut inside a character).
utf8() { python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$1"; }

# gen NAME [EXTENSION]: the generated runbook NAME as NAME.yaml (or NAME.EXTENSION).
gen() { python3 "$SCRIPTS/gen_hostile_runbooks.py" "$1" > "$1.${2:-yaml}"; }

# 1. Names of ~26,000 characters (std::regex overflowed the stack on them).
gen long-var json
each_command 0 "a defined variable of 26,000 characters" long-var.json
sed "s/echo \${a/echo \${b/" long-var.json > undefined-long-var.json
each_command 2 "an undefined variable of 26,000 characters" undefined-long-var.json
check "its name is shortened in the message" grep -q "undefined variable 'baaaa*\.\.\.'" validate.err
sed "s/echo \${a/echo \${env:a/; s/a}\"/a-}\"/" long-var.json > long-env.json
each_command 2 "a malformed env reference of 26,000 characters" long-env.json
check "it is named bad, shortened" grep -q "bad name in '\${env:aaaa*\.\.\.}'" validate.err
gen long-id
each_command 2 "a step id of 26,000 characters, and one with a capital at its end" long-id.yaml
check "the bad id is named, shortened" grep -q "step id 'aaaa*\.\.\.' must match" validate.err
check "the long good id is not refused" test "$(grep -c "must match" validate.err)" = 1

# 2. Work that was quadratic: 10,000 steps needing the 50 before each; 50,000 ${workdir}
# in one value; 100,000 undefined ${x} in one value.
gen needs
each_command 0 "10,000 steps, each needing the 50 before it" needs.yaml
gen workdir
each_command 0 "50,000 \${workdir} in one value" workdir.yaml
gen undefined
each_command 2 "100,000 undefined \${x} in one value" undefined.yaml
check "reported once, with the count" test "$(grep -c "undefined variable 'x' (used 100000 times here)" validate.err)" = 1
check "and nothing else" test "$(grep -c "undefined variable" validate.err)" = 1

# 3. Duplicates: one error per duplicate, naming the first, not one per pair.
gen duplicate-phases
each_command 2 "1,001 phases with one id" duplicate-phases.yaml
check "1,000 errors, each naming the first at line 4" \
  test "$(grep -c "duplicate phase id 'same' (first at line 4)" validate.err)" = 1000
check "and no other duplicate error" test "$(grep -c "duplicate phase id" validate.err)" = 1000
gen duplicate-steps
each_command 2 "1,001 steps with one id" duplicate-steps.yaml
check "1,000 errors, each naming the first at line 6" \
  test "$(grep -c "duplicate step id 'same' (first at line 6)" validate.err)" = 1000

# 4. Text cut for a message is cut between characters (valid UTF-8 on stderr and in JSON).
wide=$(python3 -c 'print("é" * 400)')
printf 'version: 1\nname: %s\nphases: %s\n' "x" "$wide" > wide.yaml
expect_exit 2 "a value of 400 two-byte characters where a list is expected" "$MIGRATE" validate wide.yaml
check "the excerpt and the quoted line are UTF-8" utf8 last.err
check "the excerpt holds 40 characters" grep -q "found a value ('$(python3 -c 'print("é" * 40)')\.\.\.')" last.err
expect_exit 2 "the same as JSON diagnostics" "$MIGRATE" validate --format json wide.yaml
check "the JSON output parses" python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding="utf-8"))' last.out
printf '{"version": 1, "name": tru%s}\n' "$(python3 -c 'print("日本語" * 100)')" > wide.json
expect_exit 2 "a JSON literal that goes wrong at a three-byte character" "$MIGRATE" validate wide.json
check "the message is UTF-8" utf8 last.err
check "it quotes what was read, up to that character" grep -q "invalid literal; last read: '\"name\": tru'$" last.err
cat > fails.yaml <<'YAML'
version: 1
name: fails
phases:
  - id: p
    steps:
      - id: fail-with-accents
        kind: shell
        with: { command: "printf 'échec: %s\n' $(printf 'é%.0s' $(seq 200)) >&2; exit 3" }
YAML
expect_exit 1 "a step failing with a long message in UTF-8" "$MIGRATE" run fails.yaml --rehearsal
journal=$(ls journals/*.jsonl 2> /dev/null | head -n 1)
check "a journal was written" test -n "$journal"
expect_exit 0 "report reads it" "$MIGRATE" report "$journal"
check "the report's error column is UTF-8" utf8 last.out
check "the error is in it, cut to 90 characters" grep -qx "      the command exited with status 3: $(python3 -c "print('é' * 56)")" last.out
finish
