#!/usr/bin/env bash
# report, estimate, diff and plan --journal on journals of real rehearsals; the HTML
# report rendered by headless Chromium draws one bar per step execution.
source "$(dirname "$0")/lib.sh"
cat > book.yaml <<YAML
version: 1
name: analysis
downtime_budget: 1m
roles: { customer: Customer administrator }
vars: { backup_bytes: "4MiB" }
phases:
  - id: prepare
    steps:
      - { id: fetch, kind: shell, scale: { metric: bytes, expect: "\${backup_bytes}" },
          with: { command: "head -c 2097152 /dev/zero > $WORK/backup.bin; sleep 0.3", measure_bytes: "$WORK/backup.bin" } }
      - { id: agents-out, kind: manual, role: customer, downtime: start, with: { instructions: "Agents out." } }
  - id: move
    steps:
      - { id: flaky, kind: shell, retry: { attempts: 2, backoff: 100ms },
          with: { command: "[ -f $WORK/flaky-\${run_id} ] || { touch $WORK/flaky-\${run_id}; exit 1; }; sleep 0.2" } }
      - { id: cutover, kind: shell, downtime: end, with: { command: "sleep 0.1" } }
YAML
expect_exit 0 "first rehearsal" "$MIGRATE" run book.yaml --rehearsal --yes --journal one.jsonl
expect_exit 0 "second rehearsal" "$MIGRATE" run book.yaml --rehearsal --yes --journal two.jsonl

expect_exit 0 "report as text" "$MIGRATE" report one.jsonl
check "it lists every step" test "$(grep -cE '^  (fetch|agents-out|flaky|cutover) ' last.out)" -eq 4
check "it shows the retry as two attempts" grep -qE '^  flaky +executor +ok .* 2 ' last.out
check "it shows the downtime window" grep -q "downtime window: .* (from 'agents-out' to 'cutover')" last.out
check "it shows people time apart" grep -q "machine .*, people " last.out
expect_exit 0 "report as json" "$MIGRATE" report one.jsonl --format json
check "json: 4 step executions" test "$(jq '.steps | length' last.out)" -eq 4
check "json: the window's duration" test "$(jq '.downtime_window.duration_ms > 0' last.out)" = true
check "json: throughput of the download step" test "$(jq -r '.steps[0].metrics | length' last.out)" -ge 0
expect_exit 0 "report as markdown" "$MIGRATE" report one.jsonl --format md
check "markdown table" grep -q '^| phase | step | role |' last.out
expect_exit 0 "report as html to a file" "$MIGRATE" report one.jsonl --format html -o report.html
check "no partial file left" test ! -e report.html.partial
check "self-contained: nothing fetched" bash -c "! grep -qE '(src|href)=\"(http|//)' report.html"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "FAIL chromium is not installed (apt-get install chromium): the HTML report cannot be checked"; FAILED=$((FAILED + 1))
else
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$WORK/chrome" --dump-dom "file://$WORK/report.html" > dom.html 2> chrome.err
  check "chromium rendered the page" grep -q "<svg" dom.html
  check "one bar per step execution" test "$(grep -o 'class="bar ' dom.html | wc -l)" -eq 4
  check "the downtime window is shaded" grep -q 'class="downtime"' dom.html
  check "the retry is marked" grep -q 'class="retry"' dom.html
  check "hover text carries the figures" grep -q '<title>flaky (executor, shell): ok, .*2 attempts' dom.html
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$WORK/chrome2" --window-size=1100,500 \
    --screenshot="$WORK/report.png" "file://$WORK/report.html" > /dev/null 2>&1
  check "a screenshot was taken" test -s report.png
fi

expect_exit 0 "estimate from two rehearsals" "$MIGRATE" estimate book.yaml --journal one.jsonl --journal two.jsonl
check "two samples per step" grep -qE 'flaky +executor .* journal: 2 samples' last.out
check "the download is scaled to 4MiB from the 2MiB it moved" grep -qE 'fetch .* scaled: bytes -> 4.0MiB at' last.out
check "a budget verdict" grep -q "is within the budget" last.out
expect_exit 4 "over the budget: exit 4" "$MIGRATE" estimate book.yaml --journal one.jsonl --budget 100ms
check "saying by how much" grep -q "is OVER the budget by" last.out
expect_exit 0 "a larger backup with --set" "$MIGRATE" --format json estimate book.yaml --journal one.jsonl --set backup_bytes=8MiB
check "forecast grows with the volume" test "$(jq '.steps[0].p50_ms > 600' last.out)" = true
expect_exit 0 "plan with estimates" "$MIGRATE" plan book.yaml --journal one.jsonl --journal two.jsonl
check "estimates beside the steps" grep -q "estimate: P50 .*, P90 .* (journal: 2 samples)" last.out
check "the window's estimate" grep -q "downtime window P50" last.out
expect_exit 0 "diff of the two rehearsals" "$MIGRATE" diff one.jsonl two.jsonl
check "step by step" test "$(grep -cE '^  (fetch|agents-out|flaky|cutover) ' last.out)" -eq 4

# bad input
: > empty.jsonl
expect_exit 2 "an empty journal is refused" "$MIGRATE" report empty.jsonl
check "saying it is empty" contains last.err "holds no records"
sed '3s/"kind":"shell"/"kind":"shelL"/' one.jsonl > tampered.jsonl
expect_exit 2 "a tampered journal is refused" "$MIGRATE" estimate book.yaml --journal tampered.jsonl
check "naming the line and --force" contains last.err "tampered.jsonl:3: hash chain broken"
expect_exit 0 "--force reads what verifies" "$MIGRATE" report tampered.jsonl --force
sed '2s/^{"v":1,/{"v":9,/' one.jsonl > newer.jsonl
expect_exit 2 "a newer format is refused even with --force" "$MIGRATE" report newer.jsonl --force
check "naming the version" contains last.err "format version 9 is not supported"
sed 's/name: analysis/name: another/' book.yaml > other.yaml
expect_exit 0 "a journal of another runbook" "$MIGRATE" estimate other.yaml --journal one.jsonl
check "says so" contains last.out "is a journal of runbook 'analysis', not 'another'"
finish
