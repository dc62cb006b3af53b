#!/usr/bin/env bash
# download's limit_rate is one budget for the whole step, whatever the connections, parts or
# splits: against the suite's nginx (no cap of its own), 4 connections on one split file and
# 8 parts on 8 connections each keep within 10% of the cap, over the whole step and over
# every 3 s or longer between two progress records. (A correctness property of the cap, not
# a speed measurement: the server is far faster than the cap.)
source "$(dirname "$0")/lib.sh"
NGINX_PORT=${MIGRATE_TEST_HTTP_PORT:?}
NGINX_WWW=${MIGRATE_TEST_SERVERS:?}/nginx/www
RATE_OF="python3 $(dirname "$0")/download_rate.py"
CAP=$((8 << 20))
dir="$NGINX_WWW/rate-$$"
mkdir -p "$dir"
trap 'rm -rf "$dir"; cleanup_e2e' EXIT
head -c $((40 << 20)) /dev/urandom > "$dir/one.bin"
for i in 1 2 3 4 5 6 7 8; do head -c $((5 << 20)) /dev/urandom > "$dir/part$i.bin"; done
url=http://127.0.0.1:$NGINX_PORT/rate-$$

# 1. One 40 MiB file on 4 connections, cut in 1 MiB ranges that are split further as
#    connections free up.
cat > one.yaml <<YAML
version: 1
name: rate-one
phases:
  - id: fetch
    steps:
      - id: get
        kind: download
        with: { url: "$url/one.bin", to: one, connections: 4, min_segment: 1MiB, limit_rate: 8MiB }
YAML
expect_exit 0 "a 40 MiB file on 4 connections under an 8 MiB/s cap" "$MIGRATE" run one.yaml --journal j1.jsonl --rehearsal --yes
check "the file arrived whole" cmp -s one/one.bin "$dir/one.bin"
check "4 connections were used" test "$(events j1.jsonl step.progress | jq -r .message | grep -c ', 4 connections')" -gt 0
check "the rate kept within 10% of 8 MiB/s" $RATE_OF j1.jsonl get $CAP 3000

# 2. Eight 5 MiB parts on 8 connections in all.
{
  printf 'version: 1\nname: rate-parts\nphases:\n  - id: fetch\n    steps:\n      - id: get\n'
  printf '        kind: download\n        with:\n          to: parts\n          max_connections: 8\n'
  printf '          min_segment: 1MiB\n          limit_rate: 8MiB\n          parts:\n'
  for i in 1 2 3 4 5 6 7 8; do printf '            - %s/part%d.bin\n' "$url" "$i"; done
} > parts.yaml
expect_exit 0 "8 parts of 5 MiB on 8 connections under an 8 MiB/s cap" "$MIGRATE" run parts.yaml --journal j2.jsonl --rehearsal --yes
for i in 1 2 3 4 5 6 7 8; do
  check "part $i arrived whole" cmp -s parts/part$i.bin "$dir/part$i.bin"
done
check "8 connections were used" test "$(events j2.jsonl step.progress | jq -r .message | grep -c ', 8 connections')" -gt 0
check "the rate kept within 10% of 8 MiB/s" $RATE_OF j2.jsonl get $CAP 3000
finish
