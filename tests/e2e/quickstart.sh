#!/usr/bin/env bash
# README's first command runs the quickstart runbook: it must rehearse cleanly.
BOOK=$(cd "$(dirname "$0")/../../runbooks" && pwd)/quickstart.yaml
source "$(dirname "$0")/lib.sh"
expect_exit 0 "quickstart validates" "$MIGRATE" validate "$BOOK"
expect_exit 0 "quickstart plans" "$MIGRATE" plan "$BOOK" --env preprod
check "the plan shows the downtime window" contains last.out "downtime window: 8 steps, from 'agents-out' to 'cutover'"
expect_exit 0 "quickstart rehearses" "$MIGRATE" run "$BOOK" --env preprod --rehearsal --yes --journal q.jsonl --set workdir=$WORK/qs
check "every step ended ok or skipped" test "$(events q.jsonl step.end | jq -r .status | sort -u | tr '\n' ' ')" = "ok "
check "run.end ok" test "$(events q.jsonl run.end | jq -r .status)" = ok
check "the cutover happened" test -L $WORK/qs/current
check "the journal verifies" "$MIGRATE" journal verify q.jsonl
# A rehearsal with --yes measured no people time: the window keeps the customer's prior.
expect_exit 0 "quickstart estimates from its rehearsal" "$MIGRATE" --format json estimate "$BOOK" --env preprod --journal q.jsonl
check "agents-out is forecast from its prior, not the rehearsal's milliseconds" test "$(jq -r '.steps[] | select(.step=="agents-out") | "\(.source) \(.p50_ms) \(.p90_ms)"' last.out)" = "prior 600000 1200000"
# The window's P50 is a percentile of sampled draws: within a few percent of the 10 min prior.
check "the window holds the people time" test "$(jq -r '.downtime_window.p50_ms >= 570000' last.out)" = true
expect_exit 0 "quickstart estimates before any rehearsal" "$MIGRATE" estimate "$BOOK" --env preprod
check "saying the figures are priors" contains last.out "no journal given"
expect_exit 0 "json plan" "$MIGRATE" --format json plan "$BOOK" --env prod
check "json plan lists 12 steps" test "$(jq '[.phases[].steps[]] | length' last.out)" -eq 12
expect_exit 2 "running without --env is refused when environments exist" "$MIGRATE" run "$BOOK" --rehearsal --yes
check "listing the environments" contains last.err "choose one with --env (preprod, prod)"
expect_exit 0 "kinds lists the table" "$MIGRATE" kinds
check "with shell" grep -q '^shell ' last.out
expect_exit 0 "kinds shows a kind's parameters" "$MIGRATE" kinds wait
check "with the interval default" grep -qE 'interval +duration +optional .*\[default: 10s\]' last.out
expect_exit 2 "an unknown kind is refused with a hint" "$MIGRATE" kinds shel
check "did you mean shell" contains last.err "did you mean 'shell'"
finish
