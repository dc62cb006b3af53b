#!/usr/bin/env bash
# How long validate, plan and run --dry-run take on the big runbooks fuzzing found hard
# (tests/e2e/gen_hostile_runbooks.py: 10,000 steps each needing the 50 before it, 50,000
# ${workdir} in one value, 100,000 undefined ${x}, 1,001 duplicate ids, 26,000-character
# names). Use a Release build:
#   tests/bench/validate_scale.sh build/migrate
set -u
MIGRATE=$(realpath "${1:?usage: $0 MIGRATE_BINARY}")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/validate-scale.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
printf '%-18s %10s %10s %14s\n' runbook validate plan "run --dry-run"
for name in needs workdir undefined duplicate-phases duplicate-steps long-var long-id; do
    file=$name.yaml
    [ "$name" = long-var ] && file=$name.json
    python3 "$HERE/../e2e/gen_hostile_runbooks.py" "$name" > "$file"
    row=$(printf '%-18s' "$name")
    for command in "validate" "plan" "run --dry-run"; do
        read -ra words <<< "$command"
        start=$(date +%s.%N)
        "$MIGRATE" "${words[0]}" "$file" "${words[@]:1}" > /dev/null 2>&1
        end=$(date +%s.%N)
        row+=$(printf ' %9.2fs' "$(echo "$end - $start" | bc)")
    done
    echo "$row"
done
