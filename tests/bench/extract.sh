#!/usr/bin/env bash
# extract against `tar xf` on the same archives, same machine, same run: a few hundred MB
# of mixed files (many small text files, larger text files, incompressible binaries) as
# tar.gz and tar.zst. migrate flushes the tree (one syncfs) before its rename, so tar is
# also measured followed by `sync -f` (the same flush), the like-for-like peer; for tar.gz
# also with pigz (zlib) instead of gzip. On tmpfs (BENCH_DIR=/dev/shm/...) the flush costs
# nothing and the figures are decompression and file creation alone.
#
# Run by hand, not by CI. See tests/bench/README.md. Environment knobs:
#   MIGRATE=path   the binary (default: build/migrate in the source tree)
#   RUNS=5 WARMUP=1  hyperfine runs per command
#   ROUNDS=5         interleaved rounds (every command once per round) after hyperfine
#   SIZE_MB=300    about how much data to generate
#   BENCH_DIR=dir  where data, archives and trees go (default: a new dir under /var/tmp);
#                  data and archives already there are used again
#   KEEP=1         keep BENCH_DIR afterwards
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MIGRATE=${MIGRATE:-$root/build/migrate}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
ROUNDS=${ROUNDS:-5}
SIZE_MB=${SIZE_MB:-300}

for tool in hyperfine jq tar zstd pigz python3; do
    command -v "$tool" >/dev/null || { echo "extract.sh: $tool is required" >&2; exit 2; }
done
[ -x "$MIGRATE" ] || { echo "extract.sh: no migrate binary at $MIGRATE (set MIGRATE=...)" >&2; exit 2; }

if [ -n "${BENCH_DIR:-}" ]; then work=$BENCH_DIR; mkdir -p "$work"; else work=$(mktemp -d /var/tmp/migrate-bench-extract.XXXXXX); fi
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

echo "== machine"
echo "nproc:   $(nproc)"
echo "cpu:     $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
echo "kernel:  $(uname -r)"
echo "disk:    $(df -T "$work" | awk 'NR==2 {print $1 " (" $2 ")"}') for $work"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tar:     $(tar --version | head -1); zstd: $(zstd --version)"
echo "migrate: $MIGRATE"

if [ -f "$work/site.tar.zst" ] && [ -d "$work/src" ]; then
    echo "== data: reusing $work/src and its archives"
else
echo "== data: about ${SIZE_MB} MB"
python3 - "$work/src" "$SIZE_MB" <<'PY'
import os, random, sys
root, size_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
words = [("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))) for _ in range(5000)]
def text(n):
    out, length = [], 0
    while length < n:
        line = " ".join(rng.choice(words) for _ in range(12)) + "\n"
        out.append(line); length += len(line)
    return "".join(out)[:n].encode()
budget = size_mb << 20
small, medium, binary = budget * 25 // 100, budget * 40 // 100, budget * 35 // 100
def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f: f.write(data)
i = 0
while small > 0:                      # many small files in a tree of directories
    n = rng.randint(1024, 48 * 1024)
    write(f"{root}/www/d{i % 97:02d}/e{i % 13}/page{i}.html", text(n)); small -= n; i += 1
j = 0
while medium > 0:                     # logs and dumps: larger, compressible
    n = 8 << 20
    write(f"{root}/data/log{j}.txt", text(n)); medium -= n; j += 1
k = 0
while binary > 0:                     # media: incompressible
    n = 12 << 20
    write(f"{root}/media/blob{k}.bin", os.urandom(n)); binary -= n; k += 1
print(f"{i} small files, {j} text files of 8 MiB, {k} binaries of 12 MiB")
PY
du -sh "$work/src" | awk '{print "tree:    " $1}'
tar -C "$work/src" -cf - . | pigz -6 > "$work/site.tar.gz"
tar -C "$work/src" -cf - . | zstd -q -3 -T0 -o "$work/site.tar.zst"
fi
ls -l "$work"/site.tar.* | awk '{print "archive: " $NF " " $5 " bytes"}'

results=$work/results.tsv
rounds=$work/rounds.tsv
: > "$results"
: > "$rounds"
for format in gz zst; do
    archive=$work/site.tar.$format
    book=$work/extract-$format.yaml
    printf 'version: 1\nname: bench\nphases:\n  - id: p\n    steps:\n      - id: x\n        kind: extract\n        with: { archive: %s, to: %s }\n' \
        "$archive" "$work/out-m" > "$book"
    decompress=$([ "$format" = gz ] && echo -z || echo --zstd)
    prepare="rm -rf '$work/out-m' '$work/out-m.partial' '$work/out-t' '$work/j.jsonl' '$work/j.jsonl.logs'; mkdir '$work/out-t'; sync"
    names=("migrate extract" "tar xf" "tar xf + sync -f")
    cmds=("'$MIGRATE' run '$book' --rehearsal --yes --journal '$work/j.jsonl'"
          "tar $decompress -xf '$archive' -C '$work/out-t'"
          "tar $decompress -xf '$archive' -C '$work/out-t' && sync -f '$work/out-t'")
    # tar -z runs gzip -d, whose inflate is slower than zlib's: pigz (zlib) is the faster peer.
    if [ "$format" = gz ]; then
        names+=("tar -I pigz xf + sync -f")
        cmds+=("tar -I pigz -xf '$archive' -C '$work/out-t' && sync -f '$work/out-t'")
    fi
    args=()
    for k in "${!names[@]}"; do args+=(--command-name "${names[k]}" "${cmds[k]}"); done
    hyperfine --style basic --warmup "$WARMUP" --runs "$RUNS" --prepare "$prepare" --export-json "$work/$format.json" "${args[@]}"
    jq -r --arg f "tar.$format" '.results[] | [$f, .command, .median, .min, .max, (.user), (.system)] | @tsv' "$work/$format.json" >> "$results"
    # hyperfine runs one command's runs after the other's, and the load of a shared machine
    # drifts in between: the same commands again, interleaved, every one once per round.
    echo "-- tar.$format: $ROUNDS interleaved rounds"
    for ((round = 1; round <= ROUNDS; round++)); do
        for k in "${!names[@]}"; do
            bash -c "$prepare"
            t0=$(date +%s.%N)
            bash -c "${cmds[k]}" > /dev/null 2>&1 || { echo "extract.sh: failed: ${cmds[k]}" >&2; exit 1; }
            t1=$(date +%s.%N)
            printf '%s\t%s\t%s\t%s\n' "tar.$format" "$round" "${names[k]}" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >> "$rounds"
        done
    done
    # Both tools produced the source tree (the last hyperfine run of each is gone by now).
    bash -c "$prepare"
    "$MIGRATE" run "$book" --rehearsal --yes --journal "$work/j.jsonl" > /dev/null
    tar $decompress -xf "$archive" -C "$work/out-t"
    diff -r "$work/src" "$work/out-m" > /dev/null && diff -r "$work/src" "$work/out-t" > /dev/null \
        || { echo "extract.sh: the extracted trees differ from the source" >&2; exit 1; }
done

echo
echo "== results (seconds). hyperfine: median (min-max) of $RUNS runs, CPU user and sys;"
echo "   interleaved: median of $ROUNDS rounds, and the median of the per-round ratio migrate / command (< 1: migrate is faster)"
printf '%-8s %-26s %8s %17s %6s %6s %12s %8s\n' archive command median min-max user sys interleaved ratio
awk -F'\t' '
    function median(list, n,    i, j, t) {
        for (i = 2; i <= n; i++) for (j = i; j > 1 && list[j - 1] > list[j]; j--) { t = list[j]; list[j] = list[j - 1]; list[j - 1] = t }
        return n % 2 ? list[(n + 1) / 2] : (list[n / 2] + list[n / 2 + 1]) / 2
    }
    FILENAME == ARGV[1] { key = $1 SUBSEP $2; order[++n] = key; med[key] = $3; mn[key] = $4; mx[key] = $5; us[key] = $6; sy[key] = $7; next }
    { wall[$1, $3, $2] = $4; if ($2 > last) last = $2 }
    END {
        for (i = 1; i <= n; i++) {
            split(order[i], part, SUBSEP); f = part[1]; c = part[2]
            delete w; delete r
            for (k = 1; k <= last; k++) { w[k] = wall[f, c, k]; r[k] = wall[f, "migrate extract", k] / wall[f, c, k] }
            printf "%-8s %-26s %8.3f %8.3f-%-8.3f %6.2f %6.2f %12.3f %8s\n", f, c, med[order[i]], mn[order[i]], mx[order[i]],
                   us[order[i]], sy[order[i]], median(w, last), c == "migrate extract" ? "-" : sprintf("%.2f", median(r, last))
        }
    }' "$results" "$rounds"
[ "${KEEP:-0}" = 1 ] && echo "raw results: $work"
exit 0
