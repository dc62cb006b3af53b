#!/usr/bin/env bash
# Every data-step row of BENCH.md in one sitting, one script after another (each runs its
# commands in interleaved rounds), with a time stamp per script. Logs go to OUT.
#
#   tests/bench/all_rows.sh [OUT]    (default OUT: a new dir under /var/tmp)
#
# Run by hand, not by CI, on a machine where nothing else runs. Knobs: MIGRATE (the binary,
# default build-bench/migrate), and each script's own (see tests/bench/README.md).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
export MIGRATE=${MIGRATE:-$root/build-bench/migrate}
out=${1:-$(mktemp -d /var/tmp/migrate-rows.XXXXXX)}
mkdir -p "$out"
stamp() { echo "$(date -u +%H:%M:%S) $*" | tee -a "$out/times.txt"; }
stamp start "$("$MIGRATE" --version 2>/dev/null)"
stamp analysis; RUNS=3 bash "$here/analysis.sh" "$MIGRATE" 1000000 > "$out/analysis.log" 2>&1
stamp download; RUNS=5 bash "$here/download.sh" "$MIGRATE" > "$out/download.log" 2>&1
stamp compress; ROUNDS=5 WITH_GZIP=0 bash "$here/compress.sh" > "$out/compress.log" 2>&1
stamp verify; ROUNDS=5 bash "$here/verify.sh" > "$out/verify.log" 2>&1
stamp dump; bash "$here/mysql_dump.sh" 1500000 3 > "$out/dump.log" 2>&1
stamp load; ROWS=1500000 ROUNDS=3 bash "$here/mysql_load.sh" > "$out/load.log" 2>&1
stamp engine; bash "$here/engine_overhead.sh" > "$out/engine.log" 2>&1
stamp end
echo "logs in $out"
