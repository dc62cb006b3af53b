#!/usr/bin/env bash
# Two builds of migrate side by side on the same data in the same run: did a change (the
# restructuring of the sources, say) make the data steps or the journal analysis slower?
#
#   tests/bench/before_after.sh BEFORE_BINARY AFTER_BINARY
#
# Workloads, each in interleaved rounds (interleave.sh: `hyperfine --runs 1` over both
# binaries in turn, after a warm-up round that is discarded). So that going first or second
# favours neither, the first ceil(ROUNDS/2) rounds run before then after, the other
# floor(ROUNDS/2) after then before (two interleave calls, each with its warm-up round):
#   verify1    verify of one VERIFY_MB file (inline SHA-256), from the page cache
#   verifymany verify of MANY_FILES x MANY_MB files through a SHA256SUMS manifest
#   download   download of a DOWNLOAD_MB file from nginx on loopback (unthrottled, sha256
#              on, CONNECTIONS connections), as download.sh does
#   dump       mysql.dump (zstd 1, threads 2) of the benchmark database (mariadb_bench.sh,
#              ROWS rows), as mysql_dump.sh does
#   load       mysql.load (threads 2) of one dump of that database (made once, by BEFORE,
#              before timing) into a fresh database every run, as mysql_load.sh does
#   report     migrate report on a generated journal of RECORDS records (gen_journal.py)
#   estimate   migrate estimate on the same journal, as analysis.sh does
#
# Every run is checked before the next one starts (in hyperfine's --prepare, untimed): exit
# code 0 (hyperfine stops on anything else), the journal has one run.end and it is ok, the
# download has its size, the dump directory its completion marker and a SHA256SUMS that
# verifies, the loaded tables the source's row counts (the last load: its CHECKSUM TABLE),
# report/estimate wrote their output. A failed check stops the script and names the binary.
#
# Output per workload: interleave_table (median, min-max, MB/s, after/before of the
# medians, CPU) and the ratio after/before of every round; at the end a summary table
# (wall-time ratios, and the ratio of the CPU times, user + system of the binary, which a
# busy machine disturbs less). Ratio below 1.0: after is faster.
#
# Environment (defaults: the full comparison, about 10-20 minutes on 2 busy cores):
#   ROUNDS=5           timed rounds per workload (plus two warm-up rounds)
#   WORKLOADS="verify1 verifymany download dump load report estimate"
#   VERIFY_MB=1024  MANY_FILES=64  MANY_MB=16  DOWNLOAD_MB=256  CONNECTIONS=4
#   ROWS=300000        rows of the benchmark database (dump, load)
#   RECORDS=300000     records of the generated journal (report, estimate)
#   PORT_BASE=23480    nginx listens on PORT_BASE+30, MariaDB on PORT_BASE+31 (loopback)
#   TOLERANCE=0.05     the summary flags a workload whose ratio of medians exceeds 1+TOLERANCE
#   BENCH_DIR=dir      where the data goes (default: a new dir under /var/tmp); KEEP=1 keeps it
#   QUIET=1            each round waits for a quiet machine first (interleave.sh)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self=$here/before_after.sh
SIDES=(before after)  # W.order holds the order of the rounds under way

# --- checks, run by hyperfine's --prepare (in the work directory, env from the main script)
# `before_after.sh --prepare W`: checks the run hyperfine did just before (a counter in
# W.runs says which side that was), then removes every output of W.

journal_ok() {  # JOURNAL: exactly one run.end record, status ok
    [ -s "$1" ] || { echo "no journal $1"; return 1; }
    jq -e -s '[.[] | select(.ev == "run.end")] | length == 1 and .[0].status == "ok"' "$1" > /dev/null ||
        { echo "$1: no ok run.end (last record: $(tail -n 1 "$1" | cut -c1-300))"; return 1; }
}

db() { bash "$here/mariadb_bench.sh" client "$BA_SERVER" -N "$@"; }

check_run() {  # WORKLOAD SIDE
    local w=$1 side=$2 size t a
    case $w in
    verify1 | verifymany) journal_ok "$w-$side.jsonl" ;;
    download)
        journal_ok "$w-$side.jsonl" || return 1
        size=$(stat -c %s "out-$side/big.bin" 2> /dev/null || echo none)
        [ "$size" = "$BA_DOWNLOAD_BYTES" ] || { echo "download $side: out-$side/big.bin has $size bytes, not $BA_DOWNLOAD_BYTES"; return 1; } ;;
    dump)
        journal_ok "$w-$side.jsonl" || return 1
        [ -s "dump-$side/migrate-dump.complete" ] || { echo "dump $side: no dump-$side/migrate-dump.complete"; return 1; }
        (cd "dump-$side" && sha256sum -c --quiet SHA256SUMS) || { echo "dump $side: dump-$side/SHA256SUMS does not verify"; return 1; } ;;
    load)
        journal_ok "$w-$side.jsonl" || return 1
        t=$(db -e "SELECT COUNT(*) FROM bench_$side.tickets") || return 1
        a=$(db -e "SELECT COUNT(*) FROM bench_$side.attachments") || return 1
        [ "$t $a" = "$BA_TICKETS $BA_ATTACHMENTS" ] ||
            { echo "load $side: bench_$side has $t tickets and $a attachments, not $BA_TICKETS and $BA_ATTACHMENTS"; return 1; } ;;
    report | estimate)
        [ -s "$w-$side.out" ] || { echo "$w $side: no output"; return 1; } ;;
    esac
}

clean_outputs() {  # WORKLOAD
    local side
    for side in "${SIDES[@]}"; do rm -rf "$1-$side.jsonl" "$1-$side.jsonl.logs"; done  # (*.out: truncated by the next run)
    [ "$1" != download ] || rm -rf out-before out-after
    [ "$1" != dump ] || rm -rf dump-before dump-after
    if [ "$1" = load ]; then
        for side in "${SIDES[@]}"; do db -e "DROP DATABASE IF EXISTS bench_$side"; done
    fi
}

# The side that ran last, from the counter of runs and the order of the current rounds
# (W.order): hyperfine takes the commands in turn.
last_side() {
    local n order
    n=$(cat "$1.runs" 2> /dev/null || echo 0)
    read -r -a order < "$1.order"
    [ "$n" -gt 0 ] && echo "${order[$(((n - 1) % 2))]}"
}

if [ "${1:-}" = --prepare ] || [ "${1:-}" = --check ]; then
    w=$2
    if side=$(last_side "$w"); then
        msg=$(check_run "$w" "$side") || { echo "CHECK FAILED: $w, $side binary: $msg" | tee -a checks.log >&2; exit 1; }
    elif [ "$1" = --check ]; then
        echo "CHECK FAILED: $w: nothing ran" | tee -a checks.log >&2; exit 1
    fi
    if [ "$1" = --prepare ]; then
        echo $(($(cat "$w.runs" 2> /dev/null || echo 0) + 1)) > "$w.runs"
        clean_outputs "$w" > /dev/null
    fi
    exit 0
fi

# --- the comparison
[ $# = 2 ] || { echo "usage: tests/bench/before_after.sh BEFORE_BINARY AFTER_BINARY   (knobs: see the script's head)" >&2; exit 2; }
BEFORE=$(realpath "$1")
AFTER=$(realpath "$2")
[ -x "$AFTER" ] || { echo "before_after.sh: $AFTER is not an executable" >&2; exit 2; }
ROUNDS=${ROUNDS:-5}
WORKLOADS=${WORKLOADS:-verify1 verifymany download dump load report estimate}
VERIFY_MB=${VERIFY_MB:-1024}
MANY_FILES=${MANY_FILES:-64}
MANY_MB=${MANY_MB:-16}
DOWNLOAD_MB=${DOWNLOAD_MB:-256}
CONNECTIONS=${CONNECTIONS:-4}
ROWS=${ROWS:-300000}
RECORDS=${RECORDS:-300000}
PORT_BASE=${PORT_BASE:-23480}
TOLERANCE=${TOLERANCE:-0.05}
http_port=$((PORT_BASE + 30))
db_port=$((PORT_BASE + 31))
wants() { case " $WORKLOADS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
for w in $WORKLOADS; do
    case $w in verify1 | verifymany | download | dump | load | report | estimate) ;;
    *) echo "before_after.sh: unknown workload $w" >&2; exit 2 ;; esac
done
tools=(hyperfine jq sha256sum python3)
{ wants download; } && tools+=(/usr/sbin/nginx)
{ wants dump || wants load; } && tools+=(mariadb)

MIGRATE=$BEFORE  # bench_setup checks $MIGRATE
source "$here/interleave.sh"
source "$here/nginx_lib.sh"
bench_setup before_after.sh "${tools[@]}"
chmod 755 "$work"  # nginx workers run as nobody
export BA_SERVER=$work/server

started_nginx=0 started_db=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ "$rc" = 0 ] || [ ! -s "$work/checks.log" ] || { echo "--- failed checks:" >&2; cat "$work/checks.log" >&2; }
    if [ "$started_nginx" = 1 ] && [ -s "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2> /dev/null || true; fi
    if [ "$started_db" = 1 ]; then bash "$here/mariadb_bench.sh" stop "$BA_SERVER" "$db_port" > /dev/null 2>&1 || true; fi
    cd /
    if [ "${KEEP:-0}" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "before:  $BEFORE ($(sha256sum "$BEFORE" | cut -c1-12), $(stat -c %s "$BEFORE") bytes, $("$BEFORE" --version))"
echo "after:   $AFTER ($(sha256sum "$AFTER" | cut -c1-12), $(stat -c %s "$AFTER") bytes, $("$AFTER" --version))"
[ "$BEFORE" != "$AFTER" ] && ! cmp -s "$BEFORE" "$AFTER" || echo "         (the same binary on both sides: the ratios show the noise of this machine)"
echo "sizes:   ROUNDS=$ROUNDS VERIFY_MB=$VERIFY_MB MANY_FILES=$MANY_FILES MANY_MB=$MANY_MB DOWNLOAD_MB=$DOWNLOAD_MB CONNECTIONS=$CONNECTIONS ROWS=$ROWS RECORDS=$RECORDS"
echo "work:    $work"
echo "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"

# runbook FILE ID KIND [mysql]: a one-step runbook (with the connection `db`), the step's `with` block on stdin.
runbook() {
    {
        printf 'version: 1\nname: bench\n'
        if [ "${4:-}" = mysql ]; then
            printf 'connections:\n  db: { type: mysql, host: 127.0.0.1, port: %s, user: migrate, password: "${secret:MIGRATE_BENCH_PW}" }\n' "$db_port"
        fi
        printf 'phases:\n  - id: p\n    steps:\n      - id: %s\n        kind: %s\n        with:\n' "$2" "$3"
        cat
    } > "$1"
}
export MIGRATE_BENCH_PW=migrate-test-pw

# measure W BYTES LABEL: the interleaved rounds, every run checked, and the tables.
summary=()
measure() {
    local w=$1 bytes=$2 label=$3 first=$(((ROUNDS + 1) / 2)) second=$((ROUNDS / 2)) k ratios line
    echo
    echo "== $label"
    rm -f "$w".round-*.json
    rounds_in_order "$w" "$first" before after
    for k in $(seq 1 "$first"); do mv "$w-before-first.round-$k.json" "$w.round-$k.json"; done
    if [ "$second" -gt 0 ]; then
        rounds_in_order "$w" "$second" after before
        for k in $(seq 1 "$second"); do mv "$w-after-first.round-$k.json" "$w.round-$((first + k)).json"; done
        cp "$w-after-first.load" "$w.load"
    else
        cp "$w-before-first.load" "$w.load"
    fi
    echo
    interleave_header throughput before
    interleave_table "$w" "$bytes"
    ratios=$(for k in $(seq 1 "$ROUNDS"); do
        jq -r '.results | (map(select(.command == "after"))[0].times[0] / map(select(.command == "before"))[0].times[0])
               | . * 1000 | round / 1000' "$w.round-$k.json"
    done | paste -sd' ')
    line="after/before per round: $(echo "$ratios" | cut -d' ' -f1-"$first") (before ran first)"
    [ "$second" = 0 ] || line+=" | $(echo "$ratios" | cut -d' ' -f$((first + 1))-) (after ran first)"
    echo "$line"
    summary+=("$(jq -s -r --arg w "$label" --arg ratios "$ratios" --argjson tol "$TOLERANCE" '
        def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
        def r3: . * 1000 | round / 1000;
        [.[].results[]] as $all
        | ([$all[] | select(.command == "before") | .times[0]] | median) as $b
        | ([$all[] | select(.command == "after") | .times[0]] | median) as $a
        | ([$all[] | select(.command == "before") | .user + .system] | median) as $bc
        | ([$all[] | select(.command == "after") | .user + .system] | median) as $ac
        | ($ratios | split(" ") | map(tonumber)) as $r
        | "| \($w) | \($b | r3) s | \($a | r3) s | **\($a / $b | r3)** | \($r | median | r3) (\($r | min | r3)–\($r | max | r3)) | "
          + (if $bc > 0 then ($ac / $bc | r3 | tostring) else "–" end) + " | "
          + (if $a / $b > 1 + $tol then "after slower?" else "ok" end) + " |"' "$w".round-*.json)")
}

# rounds_in_order W N FIRST SECOND: one interleave call (a warm-up round, then N rounds),
# every run checked (hyperfine's --prepare checks the run before it; the last one here).
rounds_in_order() {
    local w=$1 n=$2
    echo "$3 $4" > "$w.order"
    rm -f "$w.runs"
    interleave "$w-$3-first" "$n" "$self --prepare $w" -n "$3" "$(cmd_for "$w" "$3")" -n "$4" "$(cmd_for "$w" "$4")"
    "$self" --check "$w"
}

# The timed command of each workload and side (hyperfine runs it with sh -c in $work).
cmd_for() {
    local w=$1 side=$2 bin
    bin=$([ "$side" = before ] && echo "$BEFORE" || echo "$AFTER")
    case $w in
    verify1 | verifymany | download | dump | load)
        echo "$bin run $w-$side.yaml --rehearsal --yes --journal $w-$side.jsonl" ;;
    report) echo "$bin report journal/big.jsonl > report-$side.out" ;;
    estimate) echo "$bin estimate journal/big.yaml --journal journal/big.jsonl > estimate-$side.out" ;;
    esac
}

# --- data and servers
if wants verify1; then
    [ -f big.bin ] && [ "$(stat -c %s big.bin)" = $((VERIFY_MB << 20)) ] || head -c $((VERIFY_MB << 20)) /dev/urandom > big.bin
    big_sha=$(sha256sum big.bin | cut -c1-64)
    for side in "${SIDES[@]}"; do
        runbook verify1-$side.yaml check verify <<YAML
          dir: $work
          files: { big.bin: $big_sha }
YAML
    done
fi
if wants verifymany; then
    mkdir -p many
    for i in $(seq -w 1 "$MANY_FILES"); do
        [ -f "many/part-$i" ] && [ "$(stat -c %s "many/part-$i")" = $((MANY_MB << 20)) ] || head -c $((MANY_MB << 20)) /dev/urandom > "many/part-$i"
    done
    (cd many && sha256sum part-* > SHA256SUMS)
    for side in "${SIDES[@]}"; do
        runbook verifymany-$side.yaml check verify <<YAML
          manifest: $work/many/SHA256SUMS
YAML
    done
fi
if wants download; then
    # nginx as download.sh starts it (nginx_lib.sh): sendfile, loopback only.
    mkdir -p www logs tmp
    [ -f www/big.bin ] && [ "$(stat -c %s www/big.bin)" = $((DOWNLOAD_MB << 20)) ] || head -c $((DOWNLOAD_MB << 20)) /dev/urandom > www/big.bin
    started_nginx=1
    bench_nginx_start "$work" "$http_port"
    sleep 0.3
    curl -fsI "http://127.0.0.1:$http_port/big.bin" > /dev/null 2>&1 || [ ! -x "$(command -v curl)" ] ||
        { echo "nginx does not answer on 127.0.0.1:$http_port" >&2; cat logs/error.log >&2; exit 1; }
    dl_sha=$(sha256sum www/big.bin | cut -c1-64)
    export BA_DOWNLOAD_BYTES=$((DOWNLOAD_MB << 20))
    for side in "${SIDES[@]}"; do
        runbook download-$side.yaml get download <<YAML
          { url: "http://127.0.0.1:$http_port/big.bin", to: out-$side, connections: $CONNECTIONS, max_connections: $CONNECTIONS, sha256: "$dl_sha" }
YAML
    done
fi
if wants dump || wants load; then
    # The benchmark database, on a server of its own with the binary log on (a source, as
    # in mysql_dump.sh); mysql.load writes no binary log (write_binlog: false), as on
    # mysql_load.sh's server, which has none.
    started_db=1
    bash "$here/mariadb_bench.sh" start "$BA_SERVER" "$db_port" source > server-start.log 2>&1 || { cat server-start.log >&2; exit 1; }
    bash "$here/mariadb_bench.sh" generate "$BA_SERVER" bench "$ROWS"
    export BA_TICKETS=$((ROWS * 2 / 3)) BA_ATTACHMENTS=$((ROWS - ROWS * 2 / 3))
    [ "$(db -e 'SELECT COUNT(*) FROM bench.tickets') $(db -e 'SELECT COUNT(*) FROM bench.attachments')" = "$BA_TICKETS $BA_ATTACHMENTS" ] ||
        { echo "the generated database does not have $BA_TICKETS tickets and $BA_ATTACHMENTS attachments" >&2; exit 1; }
    db_bytes=$(db -e "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = 'bench'")
    for side in "${SIDES[@]}"; do
        runbook dump-$side.yaml dump mysql.dump mysql <<YAML
          { connection: db, database: bench, to: "$work/dump-$side", threads: 2, level: 1 }
YAML
        runbook load-$side.yaml load mysql.load mysql <<YAML
          { connection: db, from: "$work/loadsrc", database: bench_$side, threads: 2, write_binlog: false }
YAML
    done
fi
if wants load; then
    # The one dump both binaries load: made by BEFORE, untimed.
    runbook loadsrc.yaml dump mysql.dump mysql <<YAML
          { connection: db, database: bench, to: "$work/loadsrc", threads: 2, level: 1 }
YAML
    rm -rf loadsrc loadsrc.jsonl*
    "$BEFORE" run loadsrc.yaml --rehearsal --yes --journal loadsrc.jsonl > loadsrc.log 2>&1 || { cat loadsrc.log >&2; exit 1; }
    journal_ok loadsrc.jsonl >&2
    load_bytes=$(du -sb loadsrc | cut -f1)
    echo "dump to load: $load_bytes bytes (zstd), made by the before binary"
fi
if wants report || wants estimate; then
    mkdir -p journal
    python3 "$here/gen_journal.py" journal/big.jsonl journal/big.yaml "$RECORDS"
    "$BEFORE" journal verify journal/big.jsonl > /dev/null
    "$AFTER" journal verify journal/big.jsonl > /dev/null
    journal_bytes=$(stat -c %s journal/big.jsonl)
fi
cat big.bin many/* www/big.bin loadsrc/* journal/* > /dev/null 2>&1 || true  # into the page cache
sync  # the generated data on the disk now, not written back during the first rounds

# --- the rounds (if, not &&: set -e must hold inside measure)
if wants verify1; then measure verify1 $((VERIFY_MB << 20)) "verify, one $VERIFY_MB MiB file"; fi
if wants verifymany; then measure verifymany $((MANY_FILES * MANY_MB << 20)) "verify, $MANY_FILES × $MANY_MB MiB via a manifest"; fi
if wants download; then measure download $((DOWNLOAD_MB << 20)) "download, $DOWNLOAD_MB MiB, loopback nginx, $CONNECTIONS connections, sha256 on"; fi
if wants dump; then measure dump "$db_bytes" "mysql.dump, $ROWS rows (MB/s of InnoDB data+index)"; fi
if wants load; then
    measure load "$load_bytes" "mysql.load of the dump into a fresh database, $ROWS rows (MB/s of the zstd dump)"
    # The last load (the second side of the last rounds) holds the same rows as the source.
    last=$(cut -d' ' -f2 load.order)
    for t in tickets attachments; do
        [ "$(db -e "CHECKSUM TABLE bench.$t" | cut -f2)" = "$(db -e "CHECKSUM TABLE bench_$last.$t" | cut -f2)" ] ||
            { echo "CHECK FAILED: load, $last binary: bench_$last.$t differs from bench.$t (CHECKSUM TABLE)" >&2; exit 1; }
    done
    echo "checked: the last load ($last binary) equals the source (CHECKSUM TABLE of both tables)"
fi
if wants report; then
    measure report "$journal_bytes" "migrate report, $RECORDS-record journal"
    cmp -s report-before.out report-after.out && echo "report: before and after print the same" ||
        echo "report: before and after print different output (KEEP=1, then diff report-before.out report-after.out)"
fi
if wants estimate; then
    measure estimate "$journal_bytes" "migrate estimate, $RECORDS-record journal"
    cmp -s estimate-before.out estimate-after.out && echo "estimate: before and after print the same" ||
        echo "estimate: before and after print different output (KEEP=1, then diff estimate-before.out estimate-after.out)"
fi

echo
echo "== summary (after/before: below 1.0 = after is faster), finished $(date -u '+%H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| workload | before median | after median | after/before (medians) | per-round ratio: median (min–max) | CPU after/before (medians) | |"
echo "|---|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${summary[@]}"
