#!/usr/bin/env bash
# compress against its peers on a generated ~500 MB SQL dump in the page cache (BENCH.md
# goal: zstd throughput >= `zstd -3 -T2`; gzip is there for compatibility):
#   migrate compress (zstd 3)  vs  zstd -3 -T2  (and zstd -3 -T2 followed by zstd -t, the
#                                  same work as migrate's test while writing)
#   migrate compress (gzip 9)  vs  gzip -9, pigz -9 -p2 (and migrate with threads: 1, one
#                                  deflate stream like gzip's)
# migrate also tests the stream, hashes it (SHA-256), fsyncs the file and journals the step;
# the peers do none of that.
#
# Run by hand, not by CI. See tests/bench/README.md. Environment knobs:
#   MIGRATE=path   the binary (default: build-bench/migrate in the source tree)
#   SIZE_MB=500    size of the generated dump
#   ROUNDS=5       rounds of all commands in turn, after one warm-up round (interleave.sh)
#   WITH_ZSTD=1    the zstd rows; 0 to skip
#   WITH_GZIP=1    the gzip -9 rows (slow: up to a minute per run); 0 to skip
#                  (not GZIP: gzip itself reads options from that variable)
#   QUIET=1        start each round only when nothing else runs (see interleave.sh)
#   BENCH_DIR=dir  where the data goes (default: a new dir under /var/tmp); KEEP=1 keeps it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MIGRATE=${MIGRATE:-$root/build-bench/migrate}
SIZE_MB=${SIZE_MB:-500}
ROUNDS=${ROUNDS:-5}
WITH_ZSTD=${WITH_ZSTD:-1}
WITH_GZIP=${WITH_GZIP:-1}

source "$here/interleave.sh"
peers=(zstd)
[ "$WITH_GZIP" = 1 ] && peers+=(gzip pigz)
bench_setup compress.sh hyperfine jq python3 "${peers[@]}"
echo "tools:   $(zstd --version | grep -o 'v[0-9.]*')"
[ "$WITH_GZIP" = 1 ] && echo "         $(gzip --version | head -1), $(pigz --version 2>&1)"

[ -f dump.sql ] || python3 "$here/gen_dump.py" dump.sql "$SIZE_MB"
input_bytes=$(stat -c %s dump.sql)
echo "input:   dump.sql, $input_bytes bytes"
cat dump.sql > /dev/null

# runbook FILE PARAMS...: one compress step of dump.sql.
runbook() {
    local file=$1; shift
    { printf 'version: 1\nname: bench\nphases:\n  - id: p\n    steps:\n      - id: pack\n        kind: compress\n        with:\n'
      printf '          input: %s\n' "$work/dump.sql"
      for param in "$@"; do printf '          %s\n' "$param"; done; } > "$file"
}
runbook zstd.yaml "output: $work/out.zst"
runbook gzip.yaml "output: $work/out.gz" "format: gzip" "level: 9"
runbook gzip1.yaml "output: $work/out.gz" "format: gzip" "level: 9" "threads: 1"

clean='rm -f out.* peer.* j.jsonl; rm -rf j.jsonl.logs'
sizes=""
if [ "$WITH_ZSTD" = 1 ]; then
    interleave zstd "$ROUNDS" "$clean" \
        -n "migrate compress (zstd 3)" "$MIGRATE run zstd.yaml --rehearsal --yes --journal j.jsonl" \
        -n "zstd -3 -T2" "zstd -q -3 -T2 dump.sql -o peer.zst" \
        -n "zstd -3 -T2, then zstd -t" "zstd -q -3 -T2 dump.sql -o peer.zst && zstd -q -t peer.zst"
    eval "$clean"
    "$MIGRATE" run zstd.yaml --rehearsal --yes --journal j.jsonl > /dev/null
    zstd -q -3 -T2 dump.sql -o peer.zst
    sizes="migrate zstd $(stat -c %s out.zst), zstd -3 -T2 $(stat -c %s peer.zst)"
fi
if [ "$WITH_GZIP" = 1 ]; then
    interleave gzip "$ROUNDS" "$clean" \
        -n "migrate compress (gzip 9)" "$MIGRATE run gzip.yaml --rehearsal --yes --journal j.jsonl" \
        -n "gzip -9" "gzip -9 -c dump.sql > peer.gz" \
        -n "pigz -9 -p2" "pigz -9 -p2 -c dump.sql > peer.gz" \
        -n "migrate compress (gzip 9, threads: 1)" "$MIGRATE run gzip1.yaml --rehearsal --yes --journal j.jsonl"
    eval "$clean"
    "$MIGRATE" run gzip.yaml --rehearsal --yes --journal j.jsonl > /dev/null
    sizes="${sizes:+$sizes, }migrate gzip $(stat -c %s out.gz)"
    gzip -9 -c dump.sql > peer.gz
    sizes="$sizes, gzip -9 $(stat -c %s peer.gz)"
    pigz -9 -p2 -c dump.sql > peer.gz
    sizes="$sizes, pigz -9 -p2 $(stat -c %s peer.gz)"
fi

echo
echo "input $input_bytes bytes; output sizes (bytes): $sizes"
echo
interleave_header "input throughput" migrate
if [ "$WITH_ZSTD" = 1 ]; then interleave_table zstd "$input_bytes"; fi
if [ "$WITH_GZIP" = 1 ]; then interleave_table gzip "$input_bytes"; fi
