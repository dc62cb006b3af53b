# Sourced by the data-step benchmarks (verify.sh, compress.sh): their set-up, hyperfine rounds
# that take the commands in turn, so a change in the machine's load hits every command alike
# (these machines are shared), and a Markdown table of the medians.
#
#   bench_setup SCRIPT TOOL...
#       checks the tools and $MIGRATE, makes and enters $work (BENCH_DIR or a new directory
#       under /var/tmp; removed at exit unless KEEP=1), and prints the machine
#   interleave NAME ROUNDS PREPARE -n LABEL CMD -n LABEL CMD ...
#       one warm-up round (discarded), then ROUNDS rounds of `hyperfine --runs 1` over all
#       commands; every round's JSON is kept as NAME.round-K.json
#       With QUIET=1 each round first waits (up to QUIET_WAIT seconds, default 900) for two
#       seconds in which no other process is runnable, and notes how long it waited.
#   interleave_table NAME BYTES
#       per command: median wall time, min-max, BYTES / median, median / first command's
#       median, the ratio to the first command round by round (their median, then each
#       round's), median CPU time (user + system), and the load average at the end

bench_setup() {
    local script=$1 tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$script: $tool is required" >&2; exit 2; }
    done
    [ -x "$MIGRATE" ] || { echo "$script: no migrate binary at $MIGRATE (set MIGRATE=...)" >&2; exit 2; }
    if [ -n "${BENCH_DIR:-}" ]; then work=$BENCH_DIR; mkdir -p "$work"; else work=$(mktemp -d /var/tmp/migrate-bench.XXXXXX); fi
    [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
    cd "$work"
    echo "== machine"
    echo "nproc:   $(nproc)"
    echo "cpu:     $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Returns once /proc/stat shows no runnable process but the sampler itself for 2 s.
wait_for_quiet() {
    local deadline=$((SECONDS + ${QUIET_WAIT:-900})) busy i running
    while [ "$SECONDS" -lt "$deadline" ]; do
        busy=0
        for i in $(seq 20); do
            running=$(awk '/^procs_running/ {print $2}' /proc/stat)
            [ "$running" -gt 1 ] && busy=$((busy + 1))
            sleep 0.1
        done
        [ "$busy" -le 1 ] && return 0
    done
    echo "  (not quiet after ${QUIET_WAIT:-900} s; running anyway)" >&2
}

interleave() {
    local name=$1 rounds=$2 prepare=$3; shift 3
    local round
    rm -f "$name".round-*.json  # an earlier run's rounds would join the table
    for round in $(seq 0 "$rounds"); do
        [ "${QUIET:-0}" = 1 ] && wait_for_quiet
        hyperfine --runs 1 --prepare "$prepare" --output=null --style none \
            --export-json "$name.round-$round.json" "$@" > /dev/null
        [ "$round" -gt 0 ] || rm -f "$name.round-0.json"  # the warm-up round
        echo "  $name: round $round of $rounds done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    done
    cut -d' ' -f1-3 /proc/loadavg > "$name.load"
}

# The jq program both tables start from: per command (in the first round's order) its
# median wall time, median client CPU, min, max and number of rounds.
interleave_stats_jq='
    def median: sort | if length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def fmt: if . >= 10 then (. * 10 | round) / 10 else (. * 1000 | round) / 1000 end;
    (.[0].results | map(.command)) as $order
    | [.[].results[]] as $all
    | [.[] | .results as $r | ($r[0].times[0]) as $first
       | $r[] | {command, ratio: (.times[0] / $first)}] as $ratios
    | [$order[] as $c | [$all[] | select(.command == $c)]
       | {command: $c, walls: map(.times[0]), cpus: map(.user + .system),
          ratios: [$ratios[] | select(.command == $c) | .ratio]}]
    | map(. + {wall: (.walls | median), cpu: (.cpus | median), lo: (.walls | min),
               hi: (.walls | max), n: (.walls | length), ratio: (.ratios | median)})'

# The header of interleave_table's rows: interleave_header THROUGHPUT_TITLE BASE_NAME
interleave_header() {
    echo "| command | median | min–max | $1 | time vs $2 (medians) | per round vs $2: median (each round) | CPU (user+sys) | runs |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
}

interleave_table() {
    local name=$1 bytes=$2
    jq -s -r --argjson bytes "$bytes" "$interleave_stats_jq"'
        | .[0].wall as $base
        | .[] | "| " + .command + " | " + (.wall | fmt | tostring) + " s | "
            + (.lo | fmt | tostring) + "–" + (.hi | fmt | tostring) + " s | "
            + ($bytes / .wall / 1e6 | round | tostring) + " MB/s | "
            + (.wall / $base * 100 | round / 100 | tostring) + "× | "
            + (.ratio * 100 | round / 100 | tostring) + "× ("
            + (.ratios | map(. * 100 | round / 100 | tostring) | join(", ")) + ") | "
            + (.cpu | fmt | tostring) + " s | " + (.n | tostring) + " |"' "$name".round-*.json
    echo
    echo "load average at the end of $name: $(cat "$name.load")"
}
