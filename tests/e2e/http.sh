#!/usr/bin/env bash
# http and wait-for-URL steps against the suite's nginx on loopback.
source "$(dirname "$0")/lib.sh"
PORT=${MIGRATE_TEST_HTTP_PORT:?}
BASE=http://127.0.0.1:$PORT
if ! curl -fs "$BASE/health" > /dev/null; then
  echo "FAIL nginx is not answering on $BASE (the nginx_start fixture should have started it)"
  FAILED=1; finish; exit 1
fi
cat > book.yaml <<YAML
version: 1
name: http
phases:
  - id: p
    steps:
      - id: order-backup
        kind: http
        with:
          url: $BASE/api/order
          method: POST
          json: { scope: full, notify: ops@example.com }
          expect_status: "202"
          outputs: { order: /order }
      - id: backup-ready
        kind: wait
        timeout: 30s
        with: { url: "$BASE/api/backup.json", status: "200", interval: 200ms }
      - id: backup-info
        kind: http
        with:
          url: $BASE/api/backup.json
          outputs: { backup_id: /backup/id, backup_bytes: /backup/bytes }
      - id: record
        kind: shell
        with: { command: "echo '\${steps.order-backup.order} \${steps.backup-info.backup_id} \${steps.backup-info.backup_bytes}' > $WORK/recorded" }
YAML
expect_exit 0 "order a backup, wait for it, read its figures" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl
check "outputs from the JSON answers reached the shell step" lines_equal recorded "o-77 b-1234 31457280000"
check "the http step recorded its status" test "$(events j.jsonl step.end | jq -r 'select(.step=="order-backup") | .outputs.status')" = 202
check "the POST carried the JSON body" grep -q '"POST /api/order' "$MIGRATE_TEST_SERVERS/nginx/logs/access.log"

cat > fail.yaml <<YAML
version: 1
name: http-fail
phases:
  - id: p
    steps:
      - id: maintenance
        kind: http
        retry: { attempts: 2, backoff: 100ms }
        with: { url: "$BASE/api/fail" }
      - id: missing
        kind: http
        needs: []
        with: { url: "$BASE/nothing-here", expect_status: "2xx" }
      - id: missing-json
        kind: http
        needs: []
        with: { url: "$BASE/health", outputs: { id: /id } }
YAML
expect_exit 1 "unexpected statuses fail their steps" "$MIGRATE" run fail.yaml --rehearsal --yes --journal fail.jsonl --max-parallel 1
check "a 503 is retried" test "$(events fail.jsonl step.retry | jq -r .step)" = maintenance
check "the error names the status and the body" test "$(events fail.jsonl step.end | jq -r 'select(.step=="maintenance") | .error')" = "GET $BASE/api/fail answered 503, expected 2xx: down for maintenance"

sed -i 's/needs: \[\]/on_failure: continue\n        needs: []/' fail.yaml
sed -i '0,/retry: { attempts: 2, backoff: 100ms }/s//on_failure: continue/' fail.yaml
expect_exit 0 "with on_failure: continue the run goes on" "$MIGRATE" run fail.yaml --rehearsal --yes --journal cont.jsonl --max-parallel 1
check "a 404 is not retried" test "$(events cont.jsonl step.end | jq -r 'select(.step=="missing") | .attempts')" = 1
check "a non-JSON answer with outputs fails clearly" test "$(events cont.jsonl step.end | jq -r 'select(.step=="missing-json") | .error')" = "the answer is not JSON, so outputs cannot be taken from it"

cat > waits.yaml <<YAML
version: 1
name: http-wait
phases:
  - id: p
    steps:
      - id: never-ready
        kind: wait
        timeout: 1s
        with: { url: "$BASE/api/fail", interval: 200ms }
YAML
expect_exit 1 "a wait that never holds times out" "$MIGRATE" run waits.yaml --rehearsal --yes --journal waits.jsonl
check "after several polls, recorded as progress" test "$(events waits.jsonl step.progress | wc -l)" -ge 1
check "the error says timed out" test "$(events waits.jsonl step.end | jq -r .error)" = "timed out after 1.0s"
expect_exit 0 "dry run HEADs the URLs" "$MIGRATE" run book.yaml --dry-run
finish
