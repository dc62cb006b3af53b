#!/usr/bin/env bash
# verify against its peers (BENCH.md goal: >= 0.9 x `openssl dgst -sha256` on one file in the
# page cache; manifests of many files use every core):
#   1. one 1 GiB file: migrate verify (inline hash) vs sha256sum vs openssl dgst -sha256
#   2. 64 x 16 MiB files: migrate verify MANIFEST vs sha256sum -c MANIFEST
# Files are read once before timing so every command reads from the page cache.
#
# Run by hand, not by CI. See tests/bench/README.md. Environment knobs:
#   MIGRATE=path   the binary (default: build-bench/migrate in the source tree)
#   ROUNDS=7       rounds of all commands in turn, after one warm-up round (interleave.sh)
#   BENCH_DIR=dir  where the data goes (default: a new dir under /var/tmp); KEEP=1 keeps it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MIGRATE=${MIGRATE:-$root/build-bench/migrate}
ROUNDS=${ROUNDS:-7}

source "$here/interleave.sh"
bench_setup verify.sh hyperfine jq openssl sha256sum
echo "sha-ni:  $(grep -q -w sha_ni /proc/cpuinfo && echo yes || echo no)"
echo "tools:   $(openssl version | cut -d' ' -f1-2), $(sha256sum --version | head -1), $("$MIGRATE" --version 2>/dev/null || echo migrate)"

[ -f big.bin ] || head -c 1G /dev/urandom > big.bin
mkdir -p many
for i in $(seq -w 1 64); do [ -f "many/part-$i" ] || head -c 16M /dev/urandom > "many/part-$i"; done
(cd many && sha256sum part-* > SHA256SUMS)
cat big.bin many/part-* > /dev/null

# runbook FILE: a one-step verify runbook with the rest of the `with` block on stdin.
runbook() {
    { printf 'version: 1\nname: bench\nphases:\n  - id: p\n    steps:\n      - id: check\n        kind: verify\n        with:\n'; cat; } > "$1"
}
runbook one.yaml <<YAML
          dir: $work
          files: { big.bin: $(sha256sum big.bin | cut -d' ' -f1) }
YAML
runbook many.yaml <<YAML
          manifest: $work/many/SHA256SUMS
YAML

prepare='rm -f j.jsonl; rm -rf j.jsonl.logs'
interleave one "$ROUNDS" "$prepare" \
    -n "migrate verify (1 file)" "$MIGRATE run one.yaml --rehearsal --yes --journal j.jsonl" \
    -n "openssl dgst -sha256" "openssl dgst -sha256 big.bin" \
    -n "sha256sum" "sha256sum big.bin"
interleave many "$ROUNDS" "$prepare" \
    -n "migrate verify (manifest, 64 files)" "$MIGRATE run many.yaml --rehearsal --yes --journal j.jsonl" \
    -n "sha256sum -c" "cd many && sha256sum -c --quiet SHA256SUMS"

echo
interleave_header throughput migrate
interleave_table one $((1 << 30))
interleave_table many $((64 << 24))
