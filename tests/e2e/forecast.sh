#!/usr/bin/env bash
# The forecast end to end, on downloads from the project's fault server (base+45) at rates it
# is told: two rehearsals at two rates and their backtest (summary and detail), each P90's
# basis, a live run with --forecast-from whose line slows mid-way (the console, status --format
# json and the forecast.alert record), and a window.must_end_by that becomes unreachable: the
# go/no-go is asked and its rejection rolls back.
source "$(dirname "$0")/lib.sh"
PORT=$(( ${MIGRATE_TEST_PORT_BASE:-18480} + 45 ))
SERVER=http://127.0.0.1:$PORT
mkdir -p srv
python3 "$(dirname "$0")/../servers/fault_server.py" srv "$PORT" 2> server.log &
wait_for 10 curl -fs "$SERVER/_stats" -o /dev/null || { echo "FAIL the fault server did not start"; cat server.log; FAILED=1; finish; exit 1; }
set_rate() { curl -fs "$SERVER/_reset" > /dev/null; echo "{\"backup.bin\": $1}" > srv/faults.json; }
head -c 6000000 /dev/urandom > srv/backup.bin

# BOOK NAME EXTRA_TOP ROLLBACK: the runbook, with top-level fields and a rollback of fetch.
book() {
  cat > "$1.yaml" <<YAML
version: 1
name: line
downtime_budget: ${3:-1h}
${4:-}
vars:
  bytes: "6000000"
roles: { lead: The migration lead }
phases:
  - id: move
    steps:
      - { id: off, kind: shell, role: lead, downtime: start, with: { command: "true" } }
      - id: fetch
        kind: download
        scale: { metric: bytes, expect: "\${bytes}" }
        with: { url: "$SERVER/backup.bin", to: "$WORK/got-\${run_id}", connections: 1 }
$2
      - { id: on, kind: shell, needs: fetch, downtime: end, with: { command: "true" } }
YAML
}
book plain ""
status_json() { "$MIGRATE" status --format json "$1" 2> /dev/null; }
# status_has JOURNAL FILTER: the filter prints "yes" on the run's status (jq 1.6 -e passes on
# empty input, so the answer is matched instead).
status_has() { status_json "$1" | jq -r "$2" 2> /dev/null | grep -qx yes; }
export -f status_has
export -f status_json
export MIGRATE

echo "== two rehearsals: 6 MB at 1.5 MB/s, then at 1 MB/s"
set_rate '{"rate": 1500000}'
expect_exit 0 "rehearsal 1" "$MIGRATE" run plain.yaml --rehearsal --journal r1.jsonl
set_rate '{"rate": 1000000}'
expect_exit 0 "rehearsal 2" "$MIGRATE" run plain.yaml --rehearsal --journal r2.jsonl

echo "== the forecast from one rehearsal: its P90's basis"
expect_exit 0 "estimate from one journal" "$MIGRATE" estimate plain.yaml --journal r1.jsonl
check "the download's P90 has the network floor (a steady line)" contains last.out "P90: floor 40% (network)"
check "the run and the window come from joint draws" contains last.out "percentiles of 10000 joint draws"
check "no backtest with one journal" not_contains last.out "backtest over"

echo "== two journals: the backtest's summary line, and its detail"
expect_exit 0 "estimate from two journals" "$MIGRATE" estimate plain.yaml --journal r1.jsonl --journal r2.jsonl
check "the summary line is printed" bash -c "grep -E '^backtest over 2 runs: window P50 error median [0-9]+%, P90 covered [0-2] of 2' last.out"
check "it says where the detail is" contains last.out "(--backtest for the detail)"
check "two rehearsals: the P90 names its basis" bash -c "grep -E 'P90: (spread of 2 rehearsals|floor 40% \(network\))' last.out"
expect_exit 0 "estimate --backtest" "$MIGRATE" estimate plain.yaml --journal r1.jsonl --journal r2.jsonl --backtest
check "per run: forecast from the other" contains last.out "r1.jsonl (run "
check "per step: the download's row" bash -c "grep -E '^  fetch +[0-9.]+s +[0-9.]+s +[0-9.]+s +[-+][0-9]+% +(covered|NOT covered)' last.out"
# Rehearsal 1 forecast from rehearsal 2 (slower): its P50 above what it took.
"$MIGRATE" estimate plain.yaml --journal r1.jsonl --journal r2.jsonl --format json > est.json
check "json: two runs backtested" test "$(jq '.backtest.window.counted' est.json)" = 2
check "json: the first run's download forecast slower than it ran" \
  test "$(jq '[.backtest.runs[0].steps[] | select(.step == "fetch") | .error > 0] | .[0]' est.json)" = true
check "json: each step's P90 basis" test "$(jq -r '.steps[] | select(.step == "fetch") | .p90_basis' est.json)" != ""
check "json: the draws and the seed" test "$(jq -c '.monte_carlo' est.json)" = '{"draws":10000,"seed":20261204}'
"$MIGRATE" estimate plain.yaml --journal r1.jsonl --journal r2.jsonl --format json > est2.json
check "the same seed, the same figures" cmp -s est.json est2.json

echo "== live: --forecast-from, the line drops to 250 KB/s after 1.5 MB"
book tight "" 12s
set_rate '{"rate": 1500000, "slow_after": 1500000, "slow_rate": 250000}'
"$MIGRATE" run tight.yaml --rehearsal --journal live.jsonl --forecast-from r1.jsonl --forecast-from r2.jsonl > live.out 2>&1 &
pid=$!
check "status: the live forecast while the download runs" wait_for 15 status_has live.jsonl 'if .forecast.end_p90 then "yes" else "no" end'
status_json live.jsonl > status-1.json
check "status: over budget once the line is slow" wait_for 25 status_has live.jsonl 'if .forecast.over_budget then "yes" else "no" end'
status_json live.jsonl > status-2.json
wait $pid
check "the live run ends ok (exit 0)" test $? -eq 0
check "status: the window's end moved later" test "$(jq -r .forecast.end_p50 status-2.json)" \> "$(jq -r .forecast.end_p50 status-1.json)"
check "status: budget end and window start" test "$(jq -r '.forecast | has("budget_end") and has("window_start")' status-1.json)" = true
check "console: the forecast after a step" contains live.out "  forecast: window ends "
check "console: the alert" contains live.out "!!! FORECAST ALERT: the window's P90 end"
check "journal: forecast.alert, once" test "$(events live.jsonl forecast.alert | wc -l)" = 1
check "journal: the alert's figures" test "$(events live.jsonl forecast.alert | jq -r '.reason + " " + (.over_ms > 0 | tostring)')" = "budget true"
check "run.start names the rehearsals" test "$(events live.jsonl run.start | jq -r '.forecast_from | length')" = 2
expect_exit 0 "journal verify" "$MIGRATE" journal verify live.jsonl

echo "== the point of no return: must end 8 s after the window opens; the go/no-go is rejected"
book deadline "        rollback:
          - { id: unfetch, kind: shell, estimate: 2s, with: { command: \"rm -rf '$WORK'/got-*; touch '$WORK/undone'\" } }" 1h \
  "window: { must_end_by: 8s, on_deadline: ask, decided_by: lead }"
expect_exit 0 "plan: the point of no return" "$MIGRATE" plan deadline.yaml --journal r1.jsonl
check "plan: must end by, the rollback's P90 and its basis" contains last.out "point of no return: the window must end by 8s; a rollback takes 2.5s (P90; 0 rollback steps rehearsed, 1 from 'estimate:')"
set_rate '{"rate": 1500000, "slow_after": 1500000, "slow_rate": 200000}'
"$MIGRATE" run deadline.yaml --rehearsal --journal dl.jsonl --forecast-from r1.jsonl --forecast-from r2.jsonl > dl.out 2>&1 &
pid=$!
check "the go/no-go waits for the lead" wait_for 25 status_has dl.jsonl '.steps[] | select(.step == "point-of-no-return" and .state == "waiting") | "yes"'
expect_exit 0 "the lead rejects it" "$MIGRATE" confirm dl.jsonl point-of-no-return --as lead --by Jana --reject --note "too late for tonight"
wait $pid
check "the run fails (exit 1)" test $? -eq 1
check "console: the point of no return" contains dl.out "!!! POINT OF NO RETURN: finishing forward ends at"
check "journal: forecast.deadline with the policy" test "$(events dl.jsonl forecast.deadline | jq -r .on_deadline)" = ask
check "journal: the rejection, by Jana" test "$(events dl.jsonl step.confirm | jq -r 'select(.step == "point-of-no-return") | .decision + " " + .by')" = "rejected Jana"
check "journal: the run rolled back after the go/no-go" test "$(events dl.jsonl run.end | jq -r '.rollback_after + " " + (.rolled_back | tostring)')" = "point-of-no-return true"
check "the download was undone by its rollback step" test -e undone
check "journal: the rollback step ended ok" test "$(events dl.jsonl step.end | jq -r 'select(.rollback_of == "fetch") | .status')" = ok
check "the window never closed forward: 'on' did not run" test -z "$(events dl.jsonl step.start | jq -r 'select(.step == "on")')"
expect_exit 0 "journal verify" "$MIGRATE" journal verify dl.jsonl
expect_exit 0 "report shows the go/no-go" "$MIGRATE" report dl.jsonl
check "report: the rejection" contains last.out "point-of-no-return"

echo "== on_deadline: rollback starts the rollback by itself"
book auto "        rollback:
          - { id: unfetch, kind: shell, estimate: 2s, with: { command: \"touch '$WORK/undone-auto'\" } }" 1h \
  "window: { must_end_by: 8s, on_deadline: rollback }"
set_rate '{"rate": 1500000, "slow_after": 1500000, "slow_rate": 200000}'
expect_exit 1 "the run rolls back at the point of no return" "$MIGRATE" run auto.yaml --rehearsal --journal auto.jsonl --forecast-from r1.jsonl --forecast-from r2.jsonl
check "the rollback ran" test -e undone-auto
check "journal: rolled back after the point of no return" test "$(events auto.jsonl run.end | jq -r .rollback_after)" = point-of-no-return

echo "== three rehearsals side by side in HTML, rendered by headless Chromium"
expect_exit 0 "report --format html of three journals" "$MIGRATE" report r1.jsonl r2.jsonl live.jsonl --format html -o side.html
expect_exit 2 "several journals only in HTML" "$MIGRATE" report r1.jsonl r2.jsonl
check "says to use html, or estimate --backtest" contains last.err "side by side with --format html only"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "FAIL chromium is not installed (apt-get install chromium)"; FAILED=$((FAILED + 1))
else
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$WORK/chrome" --dump-dom "file://$WORK/side.html" > side-dom.html 2> chrome.err
  check "chromium rendered the page" grep -q "<svg" side-dom.html
  check "a bar per rehearsal per step: 3 x 3" test "$(grep -o 'class="rehearsal-bar"' side-dom.html | wc -l)" -eq 9
  check "the next run's P50-P90 band on each step" test "$(grep -o 'class="band"' side-dom.html | wc -l)" -eq 3
  check "aligned at the window's opening" grep -q 'window opens (0)' side-dom.html
  check "the page states the backtest summary" grep -q 'backtest over 3 runs: window P50 error median' side-dom.html
  check "hover text: the band's basis" grep -q '<title>fetch: next run P50 .*P90: \|<title>fetch: next run P50' side-dom.html
fi

echo "== a runbook may not name a step point-of-no-return"
sed 's/id: off,/id: point-of-no-return,/' plain.yaml > reserved.yaml
expect_exit 2 "validate refuses the reserved id" "$MIGRATE" validate reserved.yaml
check "the error says why" contains last.err "step id 'point-of-no-return' is reserved"
finish
