#!/usr/bin/env bash
# `migrate report` and `migrate estimate` over a generated journal of RECORDS records
# (default 1,000,000; tests/bench/gen_journal.py, with its runbook), against jq doing the
# equivalent per-step aggregation (the base of the ratios; goal: both under 2 s and faster
# than jq), in rounds that take the commands in turn (interleave.sh), so a change in the
# machine's load hits every command alike. The journal is checked first (migrate journal
# verify) and read once, so every command reads it from the page cache; the table's
# throughput is the journal's bytes / median.
#
# Run by hand, not by CI. See tests/bench/README.md. Needs hyperfine, jq, python3. Usage:
#   tests/bench/analysis.sh [MIGRATE] [RECORDS]   (MIGRATE: default $MIGRATE, else
#                                                  build/migrate in the source tree)
# Environment knobs:
#   RUNS=5         rounds of all commands in turn, after one warm-up round
#   QUIET=1        start each round only when nothing else runs (see interleave.sh)
#   BENCH_DIR=dir  where the data goes (default: a new dir under /var/tmp); KEEP=1 keeps it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MIGRATE=$(realpath -m "${1:-${MIGRATE:-$root/build/migrate}}")
RECORDS=${2:-1000000}
RUNS=${RUNS:-5}

source "$here/interleave.sh"
bench_setup analysis.sh hyperfine jq python3
echo "tools:   $(jq --version), migrate $("$MIGRATE" --version 2>/dev/null || echo "(no --version)")"

python3 "$here/gen_journal.py" big.jsonl big.yaml "$RECORDS"
"$MIGRATE" journal verify big.jsonl
journal_bytes=$(stat -c %s big.jsonl)
echo "journal: big.jsonl, $(wc -l < big.jsonl) records, $journal_bytes bytes"
cat big.jsonl > /dev/null

# jq's equivalent of the per-step aggregation: durations of ok step.end records, grouped by
# step, with the median (jq does not verify the hash chain; migrate does, in the same time).
JQ='reduce (inputs | select(.ev == "step.end" and .status == "ok")) as $r ({}; .[$r.step] += [$r.duration_ms])
    | map_values(sort | {n: length, p50: .[length / 2 | floor]})'
interleave analysis "$RUNS" "true" \
  -n "jq per-step aggregation" "jq -n '$JQ' $work/big.jsonl > /dev/null" \
  -n "migrate report" "$MIGRATE report $work/big.jsonl > /dev/null" \
  -n "migrate estimate" "$MIGRATE estimate $work/big.yaml --journal $work/big.jsonl > /dev/null"

echo
interleave_header "journal MB/s" jq
interleave_table analysis "$journal_bytes"
