#!/usr/bin/env bash
# How good the forecast has been on the field scenarios: each scenario script (tests/
# scenarios/) rehearsed twice — the help desk at ROWS and 2 x ROWS rows, the ERP at DOCUMENTS
# and 2 x DOCUMENTS documents, the CRM twice at its one volume — then
# `migrate estimate --backtest` forecasts each rehearsal from the other, at its own volumes.
# Prints each scenario's per-run detail and its summary line. The scenarios start their own
# servers on loopback (PORT_BASE, default 23480; the CRM and help desk their own sshd).
#
# Run by hand, not by CI. Knobs: MIGRATE (default build-bench/migrate), PORT_BASE, ROWS
# (default 20000), DOCUMENTS (default 30000), BENCH_DIR (default a new dir under /var/tmp),
# KEEP=1 keeps the rehearsals' work directories.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIGRATE=${MIGRATE:-$ROOT/build-bench/migrate}
export MIGRATE MIGRATE_TEST_PORT_BASE=${PORT_BASE:-23480}
unset MIGRATE_TEST_SSH_DIR MIGRATE_TEST_SSH_PORT
ROWS=${ROWS:-20000}
DOCUMENTS=${DOCUMENTS:-30000}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /var/tmp/migrate-backtest.XXXXXX)}
mkdir -p "$BENCH_DIR"

# rehearse NAME SCRIPT ENV...: runs the scenario, keeps its work directory as NAME.
rehearse() {
  local name=$1 script=$2; shift 2
  echo "== $name" >&2
  env "$@" WORK="$BENCH_DIR/$name" KEEP=1 bash "$ROOT/tests/scenarios/$script" > "$BENCH_DIR/$name.log" 2>&1 ||
    { tail -30 "$BENCH_DIR/$name.log" >&2; exit 1; }
}

# backtest TITLE RUNBOOK JOURNAL_NAME NAME...: the backtest of the named rehearsals' journals.
backtest() {
  local title=$1 book=$2 journal=$3; shift 3
  local args=()
  for name in "$@"; do args+=(--journal "$BENCH_DIR/$name/$journal"); done
  echo
  echo "### $title"
  "$MIGRATE" estimate "$ROOT/runbooks/$book" --env local "${args[@]}" --backtest | sed -n '/forecast from the others/,$p'
}

rehearse helpdesk-1 helpdesk.sh ROWS="$ROWS"
rehearse helpdesk-2 helpdesk.sh ROWS=$((2 * ROWS))
rehearse erp-1 erp.sh DOCUMENTS="$DOCUMENTS"
rehearse erp-2 erp.sh DOCUMENTS=$((2 * DOCUMENTS))
rehearse crm-1 crm.sh
rehearse crm-2 crm.sh

backtest "help desk, $ROWS and $((2 * ROWS)) rows" helpdesk-standalone-to-cloud.yaml helpdesk.jsonl helpdesk-1 helpdesk-2
backtest "ERP, $DOCUMENTS and $((2 * DOCUMENTS)) documents" erp-update-through-copy.yaml erp.jsonl erp-1 erp-2
backtest "CRM, twice" cloud-to-onprem-crm.yaml crm.jsonl crm-1 crm-2
[ -n "${KEEP:-}" ] || rm -rf "$BENCH_DIR"
