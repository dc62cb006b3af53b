#!/usr/bin/env bash
# Runs `migrate validate` over the corpus of malformed runbooks and checks what it says.
#
#   tests/e2e/bad_runbooks.sh MIGRATE_BINARY CORPUS_DIR [CASE_GLOB]
#
# Corpus cases (CORPUS_DIR/NN-name.yaml or .json) come with:
#   NN-name.expect  the diagnostics `migrate validate` must print, one per line, as
#                   `FILE:LINE:COL: message` (or `FILE: message` for one without a
#                   position); FILE stands for the path the runner passed. Every line must
#                   appear, as a whole line, on stderr. The exit status must be 2.
#   NN-name.args    optional: extra arguments appended to the command line, one per line.
#
# Besides the corpus, the runner generates hostile inputs at test time (crash-*: empty,
# binary, deeply nested, oversized, an alias bomb...) that must be refused with exit 2 and a
# `file:` diagnostic, within 20 seconds, without a crash; and it checks that
# `migrate validate --format json` reports the diagnostics as JSON (json-format).
#
# CASE_GLOB (optional) runs only the checks whose name matches it, e.g. '0[1-9]-*',
# 'crash-*' or 'json-format'. One line per check (`ok NAME` / `FAIL NAME` and why), then
# `N passed, M failed`; the exit status is 1 when anything failed.
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 MIGRATE_BINARY CORPUS_DIR [CASE_GLOB]" >&2
    exit 2
fi
BIN=$1
CORPUS=${2%/}
FILTER=${3:-*}
TIMEOUT=20
# Address space per migrate run, in KiB (0: no limit): a runaway parser fails instead of
# taking the machine's memory. Sanitizer builds reserve more: set it to 0 for those.
MEMORY_LIMIT_KB=${BAD_RUNBOOKS_MEMORY_LIMIT_KB:-2097152}

if [ ! -x "$BIN" ]; then
    echo "$0: '$BIN' is not an executable" >&2
    exit 2
fi
if [ ! -d "$CORPUS" ]; then
    echo "$0: '$CORPUS' is not a directory" >&2
    exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bad-runbooks.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0

pass() {
    passed=$((passed + 1))
    echo "ok $1"
}

# fail NAME REASON [DETAILS_FILE]
fail() {
    failed=$((failed + 1))
    echo "FAIL $1: $2"
    if [ $# -ge 3 ] && [ -s "$3" ]; then sed 's/^/    /' "$3"; fi
}

selected() {
    # shellcheck disable=SC2053  # the filter is a glob on purpose
    [[ $1 == $FILTER ]]
}

# run_migrate ARGS...: migrate under the time and memory limits.
run_migrate() {
    (
        if [ "$MEMORY_LIMIT_KB" != 0 ]; then ulimit -v "$MEMORY_LIMIT_KB" 2> /dev/null; fi
        exec timeout -k 5 "$TIMEOUT" "$BIN" "$@"
    )
}

# Why an exit status is not an orderly refusal, or nothing when it is one.
crash_reason() {
    case $1 in
        2) ;;
        124) echo "timed out after ${TIMEOUT}s (exit 124)" ;;
        134) echo "aborted (exit 134, SIGABRT)" ;;
        139) echo "crashed (exit 139, SIGSEGV)" ;;
        0) echo "accepted the runbook (exit 0); expected exit 2" ;;
        *) if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128)) (exit $1)"
           else echo "exit $1; expected 2"; fi ;;
    esac
}

# Signs of a crash, or of an internal error leaking out (running out of memory), on stderr.
CRASH_PATTERN='std::bad_alloc|out of memory|terminate called|Aborted|Segmentation fault|core dumped|stack trace|Stack trace|AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|Assertion .* failed|^#[0-9]+ +0x'

# ---------------------------------------------------------------- the corpus

run_case() {
    local runbook=$1
    local base=${runbook%.*}
    local name
    name=$(basename "$base")
    selected "$name" || return 0

    local expect=$base.expect
    if [ ! -f "$expect" ]; then
        fail "$name" "no $name.expect beside the runbook"
        return
    fi
    local -a args=()
    if [ -f "$base.args" ]; then
        local arg
        while IFS= read -r arg || [ -n "$arg" ]; do
            [ -n "$arg" ] && args+=("$arg")
        done < "$base.args"
    fi

    local out=$WORK/$name.stdout err=$WORK/$name.stderr report=$WORK/$name.report
    run_migrate validate "$runbook" ${args[@]+"${args[@]}"} > "$out" 2> "$err"
    local status=$?
    : > "$report"

    local reason
    reason=$(crash_reason "$status")
    if grep -Eq "$CRASH_PATTERN" "$err"; then
        reason="${reason:+$reason; }stderr shows a crash or an internal error: $(grep -Em1 "$CRASH_PATTERN" "$err" | cut -c1-200)"
    fi

    # Expected lines, FILE replaced by the path given to migrate; each must be on stderr.
    local line wanted missing=0
    while IFS= read -r line || [ -n "$line" ]; do
        [ -z "$line" ] && continue
        wanted=${line/#FILE/$runbook}
        if ! grep -Fxq -- "$wanted" "$err"; then
            missing=$((missing + 1))
        fi
    done < "$expect"
    if [ "$missing" -gt 0 ]; then
        reason="${reason:+$reason; }$missing expected diagnostic(s) missing"
    fi

    if [ -z "$reason" ]; then
        pass "$name"
        return
    fi
    # The diff: expected lines against the diagnostics printed (path written back as FILE).
    grep -v '^[[:space:]]*$' "$expect" > "$WORK/$name.want"
    while IFS= read -r line || [ -n "$line" ]; do
        [[ $line == "$runbook:"* ]] && printf 'FILE:%s\n' "${line#"$runbook:"}"
    done < "$err" > "$WORK/$name.got"
    {
        echo "command: migrate validate $runbook${args[*]:+ ${args[*]}} (exit $status)"
        diff -u --label "$name.expect" --label "printed" "$WORK/$name.want" "$WORK/$name.got"
        if [ ! -s "$WORK/$name.got" ]; then
            echo "stdout:"
            head -c 2000 "$out"
            echo "stderr:"
            head -c 2000 "$err"
        fi
    } >> "$report"
    fail "$name" "$reason" "$report"
}

shopt -s nullglob
# YAML and JSON cases together, in the order of their numbers.
cases=()
while IFS= read -r runbook; do
    cases+=("$runbook")
done < <(for runbook in "$CORPUS"/[0-9][0-9]-*.yaml "$CORPUS"/[0-9][0-9]-*.yml "$CORPUS"/[0-9][0-9]-*.json; do
    printf '%s\n' "$runbook"
done | LC_ALL=C sort)
for runbook in ${cases[@]+"${cases[@]}"}; do
    run_case "$runbook"
done
# An expectation without its runbook is a case that silently stopped running.
for expect in "$CORPUS"/*.expect; do
    name=$(basename "${expect%.expect}")
    selected "$name" || continue
    if [ ! -f "${expect%.expect}.yaml" ] && [ ! -f "${expect%.expect}.yml" ] && [ ! -f "${expect%.expect}.json" ]; then
        fail "$name" "$name.expect has no runbook beside it (.yaml, .yml or .json)"
    fi
done

# ---------------------------------------------------------------- generated hostile inputs

# check_hostile NAME PATH: exit 2, a `PATH:` diagnostic on stderr, no crash, no hang.
check_hostile() {
    local name=$1 path=$2
    local err=$WORK/$name.stderr report=$WORK/$name.report
    run_migrate validate "$path" > /dev/null 2> "$err"
    local status=$?
    local reason
    reason=$(crash_reason "$status")
    if grep -Eq "$CRASH_PATTERN" "$err"; then
        reason="${reason:+$reason; }stderr shows a crash or an internal error: $(grep -Em1 "$CRASH_PATTERN" "$err" | cut -c1-200)"
    fi
    if ! grep -Fq -- "$path:" "$err"; then
        reason="${reason:+$reason; }no '$path:' diagnostic on stderr"
    fi
    if [ -z "$reason" ]; then
        pass "$name"
    else
        { echo "stderr (first 2000 bytes):"; head -c 2000 "$err" | cut -c1-200; } > "$report"
        fail "$name" "$reason" "$report"
    fi
}

# repeat TEXT COUNT: TEXT written COUNT times (TEXT is one byte).
repeat() {
    head -c "$2" /dev/zero | tr '\0' "$1"
}

generate_hostile() {
    local dir=$WORK/hostile
    mkdir -p "$dir"
    case $1 in
        crash-empty) : > "$dir/empty.yaml"; echo "$dir/empty.yaml" ;;
        crash-whitespace) printf ' \n\n\t  \r\n   \n' > "$dir/whitespace.yaml"; echo "$dir/whitespace.yaml" ;;
        crash-random-binary) head -c 4096 /dev/urandom > "$dir/random.yaml"; echo "$dir/random.yaml" ;;
        crash-nul-bytes) { printf 'version: 1\nname: x\n'; head -c 64 /dev/zero; } > "$dir/nul.yaml"; echo "$dir/nul.yaml" ;;
        crash-random-text)
            # Printable garbage: gets past the UTF-8 check into the YAML parser.
            head -c 3072 /dev/urandom | base64 | tr '+/=' ':-[' > "$dir/text.yaml"; echo "$dir/text.yaml" ;;
        crash-yaml-nested-flow-sequences) repeat '[' 100000 > "$dir/brackets.yaml"; echo "$dir/brackets.yaml" ;;
        crash-yaml-nested-flow-mappings)
            yes '{a: ' | head -n 20000 | tr -d '\n' > "$dir/braces.yaml"; echo "$dir/braces.yaml" ;;
        crash-yaml-nested-block-mappings)
            # 5,000 levels, one more space each: about 12.5 MB, under the size limit.
            awk 'BEGIN { indent = ""; for (i = 0; i < 5000; i++) { print indent "k" i ":"; indent = indent " " } }' \
                > "$dir/nested.yaml"
            echo "$dir/nested.yaml" ;;
        crash-json-nested-arrays)
            { printf '{"version": 1, "name": "deep", "phases": '; repeat '[' 100000; repeat ']' 100000; printf '}\n'; } \
                > "$dir/nested.json"
            echo "$dir/nested.json" ;;
        crash-json-nested-arrays-unclosed) repeat '[' 100000 > "$dir/unclosed.json"; echo "$dir/unclosed.json" ;;
        crash-over-size-limit)
            # 20 MiB of valid YAML (a header and comments): refused for its size alone.
            { printf 'version: 1\nname: big\n'; yes '# padding padding padding padding padding padding padding padding' |
                head -c $((20 * 1024 * 1024)); } > "$dir/big.yaml"
            echo "$dir/big.yaml" ;;
        crash-alias-bomb)
            {
                echo 'version: 1'
                echo 'name: billion-laughs'
                echo 'vars:'
                echo '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
                local previous=a level
                for level in b c d e f g h i; do
                    printf '  %s: &%s [' "$level" "$level"
                    printf '*%s,' "$previous" "$previous" "$previous" "$previous" "$previous" "$previous" "$previous" "$previous"
                    printf '*%s]\n' "$previous"
                    previous=$level
                done
                echo 'phases: [{id: boom, steps: [{id: boom, kind: noop, with: {note: *i}}]}]'
            } > "$dir/bomb.yaml"
            echo "$dir/bomb.yaml" ;;
        crash-yaml-leading-comma)
            # A stray ',' typed before the first key.
            printf ',version: 1\nname: crm-to-cloud\nphases: []\n' > "$dir/comma.yaml"; echo "$dir/comma.yaml" ;;
        crash-json-in-yaml-stray-brace)
            # A JSON runbook behind a comment line (so read as YAML) with a misplaced '}'.
            printf '# CRM migration, exported by the planning sheet\n{\n  "version": 1,\n  "name": "crm-to-cloud" },\n  "phases": []\n}\n' \
                > "$dir/stray-brace.yaml"
            echo "$dir/stray-brace.yaml" ;;
        crash-directory) mkdir -p "$dir/a-directory.yaml"; echo "$dir/a-directory.yaml" ;;
        crash-missing-file) echo "$dir/does-not-exist.yaml" ;;
    esac
}

for name in crash-empty crash-whitespace crash-random-binary crash-nul-bytes crash-random-text \
    crash-yaml-nested-flow-sequences crash-yaml-nested-flow-mappings crash-yaml-nested-block-mappings \
    crash-json-nested-arrays crash-json-nested-arrays-unclosed crash-over-size-limit crash-alias-bomb \
    crash-yaml-leading-comma crash-json-in-yaml-stray-brace crash-directory crash-missing-file; do
    selected "$name" || continue
    path=$(generate_hostile "$name")
    check_hostile "$name" "$path"
done

# ---------------------------------------------------------------- --format json

check_json_format() {
    local name=json-format
    selected "$name" || return 0
    local runbook=$CORPUS/03-unknown-kind.yaml
    if [ ! -f "$runbook" ]; then
        fail "$name" "$runbook is missing"
        return
    fi
    local out=$WORK/$name.stdout err=$WORK/$name.stderr report=$WORK/$name.report
    run_migrate validate --format json "$runbook" > "$out" 2> "$err"
    local status=$?
    local reason
    reason=$(crash_reason "$status")
    # The first expected diagnostic, as the JSON must carry it.
    local first
    first=$(grep -m1 '^FILE:' "${runbook%.*}.expect")
    local problem=""
    if command -v python3 > /dev/null 2>&1; then
        problem=$(python3 - "$out" "$runbook" "$first" << 'EOF'
import json, re, sys
path, runbook, first = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
except Exception as e:
    print(f"stdout is not JSON: {e}")
    sys.exit()
if not isinstance(doc, dict) or doc.get("ok") is not False:
    print('expected an object with "ok": false')
    sys.exit()
diagnostics = doc.get("diagnostics")
if not isinstance(diagnostics, list) or not diagnostics:
    print('expected a non-empty "diagnostics" array')
    sys.exit()
for d in diagnostics:
    missing = [k for k in ("severity", "file", "line", "column", "message") if k not in d]
    if missing:
        print(f"a diagnostic lacks {', '.join(missing)}: {d}")
        sys.exit()
m = re.match(r"FILE:(\d+):(\d+): (.*)$", first)
if m:
    want = {"severity": "error", "file": runbook, "line": int(m.group(1)),
            "column": int(m.group(2)), "message": m.group(3)}
    if not any(all(d.get(k) == v for k, v in want.items()) for d in diagnostics):
        print(f"no diagnostic {want} in {diagnostics}")
EOF
)
    elif command -v jq > /dev/null 2>&1; then
        jq -e '.ok == false and (.diagnostics | type == "array" and length > 0)
               and (.diagnostics[0] | has("line") and has("column") and has("message") and has("file"))' \
            "$out" > /dev/null 2>&1 || problem='expected {"ok": false, "diagnostics": [{file, line, column, message}...]}'
    else
        grep -q '"diagnostics": *\[' "$out" || problem='no "diagnostics" array in the output'
    fi
    [ -n "$problem" ] && reason="${reason:+$reason; }$problem"
    if [ -z "$reason" ]; then
        pass "$name"
    else
        { echo "stdout:"; head -c 2000 "$out"; } > "$report"
        fail "$name" "$reason" "$report"
    fi
}
check_json_format

if [ $((passed + failed)) -eq 0 ]; then
    fail "$FILTER" "no check matches '$FILTER'"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
