#!/usr/bin/env bash
# `migrate report` and `migrate estimate` over a generated 1,000,000-record journal,
# side by side with jq doing the equivalent per-step aggregation, in one run.
# usage: tests/bench/analysis.sh [MIGRATE] [RECORDS]   (needs hyperfine, jq, python3)
set -eu
MIGRATE=${1:-build/migrate}
RECORDS=${2:-1000000}
DIR=${BENCH_DIR:-$(mktemp -d /var/tmp/migrate-analysis.XXXXXX)}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$DIR"
python3 "$HERE/gen_journal.py" "$DIR/big.jsonl" "$DIR/big.yaml" "$RECORDS"
"$MIGRATE" journal verify "$DIR/big.jsonl"
# jq's equivalent of the per-step aggregation: durations of ok step.end records, grouped by
# step, with the median (jq does not verify the hash chain; migrate does, in the same time).
JQ='reduce (inputs | select(.ev == "step.end" and .status == "ok")) as $r ({}; .[$r.step] += [$r.duration_ms])
    | map_values(sort | {n: length, p50: .[length / 2 | floor]})'
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$DIR/analysis.json" \
  -n "migrate report" "$MIGRATE report $DIR/big.jsonl > /dev/null" \
  -n "migrate estimate" "$MIGRATE estimate $DIR/big.yaml --journal $DIR/big.jsonl > /dev/null" \
  -n "jq per-step aggregation" "jq -n '$JQ' $DIR/big.jsonl > /dev/null"
echo "results: $DIR/analysis.json"
