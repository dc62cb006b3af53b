#!/usr/bin/env bash
# download against a fault-injecting file server of the project's own and the suite's nginx:
# corrupt parts fetched again on their own, resets/503s/stalls survived, kill -9 and resume
# fetching only the missing bytes (counted at the server), a capped server beaten by
# parallel connections, disk space checked before the first byte.
source "$(dirname "$0")/lib.sh"
FAULT_PORT=$(( ${MIGRATE_TEST_PORT_BASE:-18480} + 2 ))
NGINX_PORT=${MIGRATE_TEST_HTTP_PORT:?}
NGINX_WWW=${MIGRATE_TEST_SERVERS:?}/nginx/www
SERVER=http://127.0.0.1:$FAULT_PORT
mkdir -p srv
python3 "$(dirname "$0")/../servers/fault_server.py" srv $FAULT_PORT 2> server.log &
wait_for 10 curl -fs "$SERVER/_stats" -o /dev/null || { echo "FAIL the fault server did not start"; cat server.log; FAILED=1; finish; exit 1; }

export -f events
stats() { curl -fs "$SERVER/_stats"; }
served() { stats | jq -r --arg f "$1" '.served[$f] // 0'; }
requests() { stats | jq -r --arg f "$1" '.requests[$f] // 0'; }
reset_server() { curl -fs "$SERVER/_reset" > /dev/null; echo "${1:-{\}}" > srv/faults.json; }

# A "backup": a tar.gz of random files cut into eight parts, and their sha256sum manifest.
mkdir -p content/upload
for i in $(seq 1 12); do head -c 2000000 /dev/urandom > content/upload/f$i.bin; done
tar -C content -czf - . | split -b 3100000 --numeric-suffixes=1 -a 3 - srv/backup.tar.gz.
(cd srv && sha256sum backup.tar.gz.00* > SHA256SUMS)
check "the backup has eight parts" test "$(ls srv/backup.tar.gz.* | wc -l)" = 8
total_bytes=$(cat srv/backup.tar.gz.00* | wc -c)
size_of() { stat -c %s "srv/$1"; }

book() {  # book FILE EXTRA_WITH...: a runbook downloading the manifest, then a step that must come after
  local file=$1; shift
  {
    printf 'version: 1\nname: download\nphases:\n  - id: fetch\n    steps:\n'
    printf '      - id: get\n        kind: download\n        with:\n'
    printf '          manifest: %s/SHA256SUMS\n          to: parts\n          min_segment: 1MiB\n' "$SERVER"
    printf '          stall_timeout: 1s\n'
    for line in "$@"; do printf '          %s\n' "$line"; done
    printf '      - id: unpack\n        kind: extract\n        needs: [get]\n        with: { archive: "parts/backup.tar.gz.*", to: restored }\n'
  } > "$file"
}

# 1. One part corrupt once: only that part is fetched again, and the journal says so.
reset_server '{"backup.tar.gz.003": {"corrupt": 1}}'
book b1.yaml
expect_exit 0 "a part served corrupt once is fetched again and the run completes" "$MIGRATE" run b1.yaml --journal j1.jsonl --rehearsal --yes
check "every part matches the manifest" bash -c "cd parts && sha256sum --quiet -c SHA256SUMS"
check "the parts unpacked into the original files" diff -r content restored
check "no .partial file is left" bash -c "! ls parts | grep -q partial"
refetched=$(events j1.jsonl step.end | jq -c 'select(.step=="get") | .refetched')
check "the journal names the part fetched again and its bytes" test "$(echo "$refetched" | jq -r '.[0].file + " " + (.[0].bytes|tostring) + " " + (length|tostring)')" = "backup.tar.gz.003 $(size_of backup.tar.gz.003) 1"
check "bytes_refetched is that part's size" test "$(events j1.jsonl step.end | jq -r 'select(.step=="get") | .metrics.bytes_refetched')" = "$(size_of backup.tar.gz.003)"
check "only that part was served twice (server count)" test "$(stats | jq '[.served[]] | add')" = $((total_bytes + $(size_of backup.tar.gz.003) + $(wc -c < srv/SHA256SUMS)))
check "the other parts were served once" test "$(served backup.tar.gz.005)" = "$(size_of backup.tar.gz.005)"

# 2. A part corrupt every time: the step fails naming it, and nothing is extracted.
reset_server '{"backup.tar.gz.006": {"corrupt": -1}}'
rm -rf parts restored
book b2.yaml "refetch: 1"
expect_exit 1 "a part corrupt every time fails the step" "$MIGRATE" run b2.yaml --journal j2.jsonl --rehearsal --yes
check "the error names the part and both hashes" bash -c "events j2.jsonl step.end | jq -r 'select(.step==\"get\") | .error' | grep -q 'backup.tar.gz.006: sha256 mismatch after 2 fetches (expected $(sha256sum srv/backup.tar.gz.006 | cut -c1-64), got '"
check "nothing was extracted" test ! -e restored -a ! -e restored.partial
check "the extract step never started" test -z "$(events j2.jsonl step.start | jq -r 'select(.step=="unpack")')"
check "the corrupt part is not kept" bash -c "! ls parts | grep -q '^backup.tar.gz.006'"
check "the good parts are complete under their names" test -e parts/backup.tar.gz.008

# 3. Resets mid-body, 503s and a stall: the bytes still come out right.
reset_server '{"backup.tar.gz.001": {"reset_after": 700000, "reset": 2}, "backup.tar.gz.002": {"status": 503, "status_times": 2, "status_get_only": true}, "backup.tar.gz.003": {"status": 503, "status_times": 1}, "backup.tar.gz.004": {"stall": 3, "stall_times": 1}}'
rm -rf parts restored
book b3.yaml
expect_exit 0 "resets, 503s and a stall are retried" "$MIGRATE" run b3.yaml --journal j3.jsonl --rehearsal --yes
check "every part matches the manifest after the faults" bash -c "cd parts && sha256sum --quiet -c SHA256SUMS"
check "and they unpack into the original files" diff -r content restored
check "the retries are counted" test "$(events j3.jsonl step.end | jq -r 'select(.step=="get") | .metrics.retries')" -ge 3
check "the faults did fire" test "$(stats | jq '.fired | length')" = 4
check "the stall was named" grep -q "stalled: no byte for 1.0s" last.out

# 4. kill -9 in the middle, then --resume: only the missing bytes are fetched again.
head -c 24000000 /dev/urandom > srv/big.bin
big_sha=$(sha256sum srv/big.bin | cut -c1-64)
reset_server '{"big.bin": {"rate": 2000000}}'
cat > b4.yaml <<YAML
version: 1
name: resume
phases:
  - id: fetch
    steps:
      - id: get
        kind: download
        with: { url: "$SERVER/big.bin", sha256: "$big_sha", to: big, connections: 4, min_segment: 1MiB }
YAML
"$MIGRATE" run b4.yaml --journal j4.jsonl --rehearsal --yes > run4.out 2>&1 &
pid=$!
checkpointed() { [ "$(events j4.jsonl step.checkpoint 2>/dev/null | tail -1 | jq '[.state.files[].segments[][2]] | add // 0')" -ge 6000000 ] 2>/dev/null; }
check "the download checkpoints its progress while it runs" wait_for 30 checkpointed
kill -9 $pid; wait $pid 2>/dev/null
sleep 1
done_before=$(events j4.jsonl step.checkpoint | tail -1 | jq '[.state.files[].segments[][2]] | add')
check "the partial file stays for the resume" test -e big/big.bin.partial
reset_server '{"big.bin": {"rate": 4000000}}'
expect_exit 0 "the resumed download completes" "$MIGRATE" run b4.yaml --journal j4.jsonl --rehearsal --yes --resume
check "the resumed file is intact" test "$(sha256sum big/big.bin | cut -c1-64)" = "$big_sha"
fetched=$(served big.bin)
missing=$((24000000 - done_before))
check "the resume fetched the missing bytes (fetched $fetched, missing $missing)" test "$fetched" -ge "$missing"
check "and no more than 64 KiB per range to check the kept bytes" test "$fetched" -le $((missing + 4 * 65536))
check "the resume said what it kept" grep -q "resuming with" last.out

# 5. A server capping each connection (nginx limit_rate 1m): parallel connections beat one.
mkdir -p "$NGINX_WWW/capped"
head -c 4000000 /dev/urandom > "$NGINX_WWW/capped/capped.bin"
for n in 1 4; do
  cat > b5-$n.yaml <<YAML
version: 1
name: capped
phases:
  - id: fetch
    steps:
      - id: get
        kind: download
        with: { url: "http://127.0.0.1:$NGINX_PORT/capped/capped.bin", to: capped-$n, connections: $n, min_segment: 512KiB }
YAML
  expect_exit 0 "download from the capped server with $n connection(s)" "$MIGRATE" run b5-$n.yaml --journal j5-$n.jsonl --rehearsal --yes
  check "the capped file arrived whole with $n connection(s)" cmp -s capped-$n/capped.bin "$NGINX_WWW/capped/capped.bin"
done
one=$(events j5-1.jsonl step.end | jq .duration_ms)
four=$(events j5-4.jsonl step.end | jq .duration_ms)
# The cap is the server's, so one connection cannot take less than ~3.8 s; four share it out.
check "four connections beat one under a per-connection cap ($four ms vs $one ms)" test $((four * 2)) -lt "$one"

# 5b. connections: auto on the same capped server: it starts at a quarter of max_connections
# and doubles them twice, because the first doubling doubled the rate (a per-connection
# cap). Under the step's own limit_rate, or a server whose link is full whatever the
# connections, it stops at the first doubling that did not pay.
head -c 12000000 /dev/urandom > "$NGINX_WWW/capped/capped12.bin"
auto_book() {  # auto_book FILE URL [EXTRA]
  cat > "$1" <<YAML
version: 1
name: auto
phases:
  - id: fetch
    steps:
      - id: get
        kind: download
        with: { url: "$2", to: auto-out, connections: auto, max_connections: 8, min_segment: 256KiB ${3:-} }
YAML
}
auto_book b5a.yaml "http://127.0.0.1:$NGINX_PORT/capped/capped12.bin"
expect_exit 0 "download with connections: auto from the capped server" "$MIGRATE" run b5a.yaml --journal j5a.jsonl --rehearsal --yes
check "the file arrived whole" cmp -s auto-out/capped12.bin "$NGINX_WWW/capped/capped12.bin"
check "it said it doubled the connections, twice" grep -q "2 connections gave .*; opening up to 4" last.out
check "the second time because the first paid" grep -q "4 connections gave .*; opening up to 8" last.out
check "8 connections were open at once (metric connections)" test "$(events j5a.jsonl step.end | jq .metrics.connections)" = 8
check "the run said the connections grow" grep -q "connections growing while the rate does" last.out
rm -rf auto-out
auto_book b5b.yaml "http://127.0.0.1:$NGINX_PORT/capped/capped12.bin" ", limit_rate: 4MiB"
expect_exit 0 "connections: auto under limit_rate" "$MIGRATE" run b5b.yaml --journal j5b.jsonl --rehearsal --yes
check "the file arrived whole" cmp -s auto-out/capped12.bin "$NGINX_WWW/capped/capped12.bin"
check "it stopped at 4: limit_rate holds the rate" test "$(events j5b.jsonl step.end | jq .metrics.connections)" = 4
check "and it did not open 8" bash -c '! grep -q "opening up to 8" last.out'
rm -rf auto-out
# A server whose link gives 2 MB/s to all connections together: 2 connections get it all,
# 4 get no more, and it stays at 4.
head -c 6000000 /dev/urandom > srv/link.bin
reset_server '{"link.bin": {"total_rate": 2000000}}'
auto_book b5d.yaml "$SERVER/link.bin"
expect_exit 0 "connections: auto on a full link" "$MIGRATE" run b5d.yaml --journal j5d.jsonl --rehearsal --yes
check "the file arrived whole" cmp -s auto-out/link.bin srv/link.bin
check "it said doubling did not pay and stayed at 4" grep -q "4 connections gave .*, no more than .* with half as many: staying at 4" last.out
check "never more than 4 open (metric connections)" test "$(events j5d.jsonl step.end | jq .metrics.connections)" = 4
rm -rf auto-out
cat > b5c.yaml <<YAML
version: 1
name: auto-bad
phases:
  - id: fetch
    steps:
      - id: get
        kind: download
        with: { url: "http://127.0.0.1:$NGINX_PORT/capped/capped12.bin", to: auto-out, connections: many }
YAML
expect_exit 2 "connections: many is refused by validate" "$MIGRATE" validate b5c.yaml
check "the error names the parameter, the value and the line" grep -q "b5c.yaml:8:[0-9]*: parameter 'connections': expected 1 to 64 or auto, found 'many'" last.err
check "nothing was fetched for it" test ! -e auto-out

# 6. Not enough disk space: refused before the first byte.
head -c 1000 /dev/urandom > srv/huge.bin
reset_server '{"huge.bin": {"claim_size": 1000000000000000}}'
cat > b6.yaml <<YAML
version: 1
name: space
phases:
  - id: fetch
    steps:
      - id: get
        kind: download
        with: { url: "$SERVER/huge.bin", to: huge }
YAML
expect_exit 1 "a download larger than the free space is refused" "$MIGRATE" run b6.yaml --journal j6.jsonl --rehearsal --yes
check "the error says how much is needed and free" bash -c "events j6.jsonl step.end | jq -r .error | grep -q 'not enough disk space in huge: the download needs 909.*is free'"
check "nothing was fetched" test "$(requests huge.bin)" = 0
check "no partial file was made" test ! -e huge/huge.bin.partial

# 7. A 404 fails at once, naming the URL; a file:// URL with an md5 works.
cat > b7.yaml <<YAML
version: 1
name: missing
phases:
  - id: fetch
    steps:
      - id: get
        kind: download
        retry: { attempts: 3, backoff: 10ms }
        with: { url: "$SERVER/nope.bin", to: nope }
      - id: local
        kind: download
        with: { url: "file://$WORK/srv/backup.tar.gz.001", md5: "$(md5sum srv/backup.tar.gz.001 | cut -c1-32)", to: local }
YAML
expect_exit 1 "a missing file fails the step" "$MIGRATE" run b7.yaml --journal j7.jsonl --rehearsal --yes
check "the 404 names the URL and is not retried" test "$(events j7.jsonl step.end | jq -r 'select(.step=="get") | "\(.attempts) \(.error)"')" = "1 nope.bin: $SERVER/nope.bin answered HTTP 404"
sed -i 's/      - id: get/      - id: get\n        when: "false"/' b7.yaml
expect_exit 0 "a file:// URL with an MD5" "$MIGRATE" run b7.yaml --journal j7b.jsonl --rehearsal --yes
check "the file:// copy is identical" cmp -s local/backup.tar.gz.001 srv/backup.tar.gz.001
finish
