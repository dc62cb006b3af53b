#!/usr/bin/env bash
# Engine overhead per no-op step, journal included (BENCH.md goal: <= 2 ms per no-op step
# over 10,000 steps, each step.end record fsynced).
#
# Generates runbooks of N `noop` steps (ids s00001...) plus a 1-step runbook, runs
# `migrate run RUNBOOK --rehearsal --yes --journal FILE` on each under hyperfine with a
# fresh journal every run, and reports
#     per-step overhead = (median(N steps) - median(1 step)) / N      [ms]
# When ansible-playbook is installed, it measures Ansible on the same machine in the same
# run: playbooks of 1 and ANSIBLE_TASKS trivial tasks on localhost, connection=local.
#
# Run by hand, not by CI. See tests/bench/README.md. Environment knobs:
#   MIGRATE=path      the binary (default: build-bench/migrate in the source tree)
#   SIZES="1000 10000" step counts (the 1-step baseline is always measured)
#   RUNS=5 WARMUP=1   hyperfine runs per size
#   BUDGET=900        seconds allowed per size. The first run of each size is a probe: if
#                     WARMUP+RUNS runs will not fit, the size gets fewer runs; if not even
#                     two fit, the probe is the single sample; if the probe itself has not
#                     finished after BUDGET s, migrate is stopped with SIGTERM and the row
#                     is a partial sample: elapsed time over the steps done so far
#   ANSIBLE=auto|0    measure Ansible when ansible-playbook is on PATH (0: skip)
#   ANSIBLE_TASKS=100
#   BENCH_DIR=dir     where runbooks and journals go (default: a new dir under /var/tmp;
#                     keep it on a real disk: on tmpfs fsync costs nothing)
#   KEEP=1            keep BENCH_DIR afterwards
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MIGRATE=${MIGRATE:-$root/build-bench/migrate}
SIZES=${SIZES:-"1000 10000"}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
BUDGET=${BUDGET:-900}
ANSIBLE=${ANSIBLE:-auto}
ANSIBLE_TASKS=${ANSIBLE_TASKS:-100}

for tool in hyperfine jq awk; do
    command -v "$tool" >/dev/null || { echo "engine_overhead.sh: $tool is required (apt-get install -y $tool)" >&2; exit 2; }
done
[ -x "$MIGRATE" ] || { echo "engine_overhead.sh: no migrate binary at $MIGRATE (set MIGRATE=...)" >&2; exit 2; }

if [ -n "${BENCH_DIR:-}" ]; then
    work=$BENCH_DIR
    mkdir -p "$work"
else
    work=$(mktemp -d /var/tmp/migrate-bench.XXXXXX)
fi
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
results=$work/results.tsv
: > "$results"

fstype=$(df -T "$work" | awk 'NR==2 {print $2}')
dev=$(df "$work" | awk 'NR==2 {print $1}')
rot=$(cat "/sys/block/$(basename "$dev")/queue/rotational" 2>/dev/null || echo "?")
echo "== machine"
echo "nproc:   $(nproc)"
echo "cpu:     $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
echo "kernel:  $(uname -r)"
echo "disk:    $dev ($fstype, rotational=$rot) for $work"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
echo "migrate: $MIGRATE ($("$MIGRATE" --version 2>/dev/null || echo '?'))"
[ "$fstype" = tmpfs ] && echo "WARNING: $work is on tmpfs: fsync is free there; set BENCH_DIR to a real disk" >&2

# runbook N: one phase of N noop steps (each needs the one before it: the default order)
make_runbook() {
    local n=$1 file=$work/noop-$1.yaml
    {
        printf 'version: 1\nname: noop-%s\nphases:\n  - id: p\n    steps:\n' "$n"
        awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) printf "      - id: s%05d\n        kind: noop\n", i }'
    } > "$file"
    echo "$file"
}

# measure LABEL N PREPARE COMMAND [JOURNAL]
# Appends "label n runs done median min max stddev" (seconds) to $results. The first run
# is a probe under `timeout $BUDGET`: when even that does not finish, it is stopped with
# SIGTERM (migrate stops cleanly, journaling run.end "interrupted") and, given JOURNAL, the
# row counts the steps done so far instead (a partial sample; per-step uses "done").
measure() {
    local label=$1 n=$2 prepare=$3 cmd=$4 journal=${5:-} runs=$RUNS warmup=$WARMUP
    local json=$work/$label-$n.json
    bash -c "$prepare"
    local t0 t1 probe status=0
    t0=$(date +%s.%N)
    timeout -s TERM -k 60 "$BUDGET" bash -c "exec $cmd" > /dev/null 2>&1 || status=$?
    t1=$(date +%s.%N)
    probe=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    if [ "$status" = 124 ] || { [ -n "$journal" ] && [ "$status" = 3 ]; }; then
        [ -n "$journal" ] || { echo "$label n=$n: did not finish within BUDGET=${BUDGET}s" >&2; return 1; }
        local steps_done
        steps_done=$(grep -c '"ev":"step.end".*"status":"ok"' "$journal" || true)
        echo "-- $label n=$n: stopped after ${probe}s (BUDGET=${BUDGET}s) with $steps_done of $n steps done: partial sample"
        printf '%s\t%s\t1\t%s\t%s\t%s\t%s\tnan\n' "$label" "$n" "$steps_done" "$probe" "$probe" "$probe" >> "$results"
        return 0
    fi
    [ "$status" = 0 ] || { echo "FAILED (exit $status): $cmd" >&2; return 1; }
    local fit
    fit=$(awk -v p="$probe" -v b="$BUDGET" 'BEGIN { printf "%d", b / p }')
    if [ "$fit" -lt $((warmup + runs)) ]; then
        warmup=0
        runs=$fit
    fi
    if [ "$runs" -lt 2 ]; then
        echo "-- $label n=$n: one run takes ${probe}s; BUDGET=${BUDGET}s allows no repeat: the probe run is the sample"
        printf '%s\t%s\t1\t%s\t%s\t%s\t%s\tnan\n' "$label" "$n" "$n" "$probe" "$probe" "$probe" >> "$results"
        return 0
    fi
    [ "$runs" != "$RUNS" ] && echo "-- $label n=$n: one run takes ${probe}s; only $runs runs fit in BUDGET=${BUDGET}s"
    hyperfine --style basic --warmup "$warmup" --runs "$runs" --prepare "$prepare" \
        --export-json "$json" --command-name "$label n=$n" "$cmd"
    jq -r --arg l "$label" --arg n "$n" \
        '.results[0] | [$l, $n, (.times | length), $n, .median, .min, .max, (.stddev // "nan")] | @tsv' "$json" >> "$results"
}

# Checks the last journal of a size: N ok step.end records and an ok run.end (or, for a
# partial sample, as many ok step.end records as the row says).
check_journal() {
    local n=$1 journal=$2 ends want
    want=$(awk -F'\t' -v n="$n" '$1 == "migrate" && $2 == n { print $4 }' "$results")
    ends=$(grep -c '"ev":"step.end".*"status":"ok"' "$journal" || true)
    [ "$want" != "$n" ] && [ "$ends" = "$want" ] && return 0
    if [ "$ends" != "$n" ] || ! grep -q '"ev":"run.end","status":"ok"' "$journal"; then
        echo "engine_overhead.sh: $journal has $ends ok step.end records, expected $n (or no ok run.end)" >&2
        exit 1
    fi
}

echo
echo "== migrate: no-op runbooks (RUNS=$RUNS WARMUP=$WARMUP BUDGET=${BUDGET}s)"
for n in 1 $SIZES; do
    book=$(make_runbook "$n")
    journal=$work/journal-$n.jsonl
    measure migrate "$n" "rm -rf '$journal' '$journal.logs'" \
        "'$MIGRATE' run '$book' --rehearsal --yes --journal '$journal'" "$journal"
    check_journal "$n" "$journal"
done

want_ansible=0
if [ "$ANSIBLE" != 0 ] && command -v ansible-playbook >/dev/null; then want_ansible=1; fi
if [ "$want_ansible" = 1 ]; then
    echo
    echo "== ansible: $(ansible-playbook --version | head -1), playbooks of 1 and $ANSIBLE_TASKS tasks, localhost, connection=local"
    export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=False
    for flavour in debug ping; do
        for n in 1 "$ANSIBLE_TASKS"; do
            pb=$work/ansible-$flavour-$n.yml
            {
                printf -- '- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n'
                for i in $(seq 1 "$n"); do
                    if [ "$flavour" = debug ]; then
                        printf '    - name: t%05d\n      debug: { msg: t%05d }\n' "$i" "$i"
                    else
                        printf '    - name: t%05d\n      ping:\n' "$i"
                    fi
                done
            } > "$pb"
            measure "ansible-$flavour" "$n" "true" "ansible-playbook -i localhost, -c local '$pb'"
        done
    done
fi

echo
echo "== results (seconds; per-step = (median(N) - median(1)) / N, in ms; a partial row divides by the steps done)"
printf '%-14s %6s %5s %6s %10s %10s %10s %8s %12s %8s\n' tool n runs 'done' median min max stddev per-step-ms vs-2ms
awk -F'\t' '
    { label[NR] = $1; n[NR] = $2; runs[NR] = $3; done_[NR] = $4; med[NR] = $5; mn[NR] = $6; mx[NR] = $7; sd[NR] = $8
      if ($2 == 1) base[$1] = $5 }
    END {
        for (i = 1; i <= NR; i++) {
            per = "-"; ratio = "-"
            if (n[i] != 1 && (label[i] in base) && done_[i] > 0) {
                p = (med[i] - base[label[i]]) / done_[i] * 1000
                per = sprintf("%.3f", p)
                if (label[i] == "migrate") ratio = sprintf("%.2fx", p / 2)
            }
            sdv = (sd[i] == "nan") ? "-" : sprintf("%.4f", sd[i])
            printf "%-14s %6s %5s %6s %10.4f %10.4f %10.4f %8s %12s %8s\n", label[i], n[i], runs[i], done_[i], med[i], mn[i], mx[i], sdv, per, ratio
        }
    }' "$results"
echo
echo "vs-2ms: per-step overhead divided by the BENCH.md goal (<= 1.00x meets it)."
echo "Published peer figure: Ansible ~170 ms per trivial task (ansible/ansible#76380)."
[ "${KEEP:-0}" = 1 ] && echo "raw results: $work"
exit 0
