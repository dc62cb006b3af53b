#!/usr/bin/env bash
# The forecast's Monte Carlo on a large runbook: 1,000 steps (each needing the one before it
# and one seven back, so the graph branches and joins), three-point priors; `migrate
# estimate` with 10,000 joint draws against the same with 1 draw, in interleaved rounds.
# The difference is what the draws cost (the issue's goal: under 100 ms for 1,000 steps).
# Run by hand, not by CI. Knobs: MIGRATE (default build-bench/migrate), STEPS (1000),
# ROUNDS (10).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIGRATE=${MIGRATE:-$ROOT/build-bench/migrate}
STEPS=${STEPS:-1000}
ROUNDS=${ROUNDS:-10}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/migrate-forecast-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
python3 - "$STEPS" > "$DIR/big.yaml" <<'PY'
import sys
n = int(sys.argv[1])
print("version: 1\nname: big\nphases:\n  - id: p\n    steps:")
for i in range(n):
    needs = f", needs: [s{i-1}, s{i-7}]" if i > 7 else (f", needs: s{i-1}" if i else "")
    mark = ", downtime: start" if i == 1 else (", downtime: end" if i == n - 2 else "")
    print(f"      - {{ id: s{i}, kind: noop, estimate: {{ p50: {i % 50 + 1}m, p90: {i % 50 + 3}m }}{needs}{mark} }}")
PY
one=() many=()
for ((r = 0; r <= ROUNDS; r++)); do
  for draws in 1 10000; do
    start=$(date +%s%N)
    "$MIGRATE" estimate "$DIR/big.yaml" --draws "$draws" > /dev/null
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$r" -eq 0 ] && continue  # warm-up
    if [ "$draws" = 1 ]; then one+=("$ms"); else many+=("$ms"); fi
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
m1=$(median "${one[@]}") m2=$(median "${many[@]}")
echo "estimate of $STEPS steps, median of $ROUNDS rounds: 1 draw ${m1} ms, 10000 draws ${m2} ms; the draws cost $((m2 - m1)) ms"
