#!/usr/bin/env bash
# A secret in every form it travels in: percent-encoded by a command (upper and lower case
# hex, '+' for a space), in base64 alone and inside longer text, and as the Basic header
# libcurl makes of a URL's user:password, echoed back by a server answering 401 (a private
# nginx on base+40). None of them may reach any file the run writes, the reports or the
# terminal.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../bench/nginx_lib.sh"
PORT=$(( ${MIGRATE_TEST_PORT_BASE:-18480} + 40 ))
SECRET='p@ss w/rd:%'
export API_PASSWORD=$SECRET
bench_nginx_start "$WORK/nginx" "$PORT" 'location /echo { return 401 "$http_authorization"; }'
trap 'kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null; cleanup_e2e' EXIT
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$PORT/echo" || { echo "FAIL nginx did not start"; cat nginx/logs/error.log; exit 1; }

# Every form, computed here independently of migrate.
mapfile -t FORMS < <(python3 - "$SECRET" <<'PY'
import base64, sys, urllib.parse
s = sys.argv[1]
b = s.encode()
quoted = urllib.parse.quote(s, safe="")
print(s)
print(quoted)                                   # p%40ss%20w%2Frd%3A%25
print(quoted.lower())                           # lower-case hex
print(urllib.parse.quote_plus(s))               # form encoding: '+' for the space
print(urllib.parse.quote(s))                    # '/' left as it is
print(base64.b64encode(b).decode().rstrip("="))
print(base64.b64encode(b"x" + b).decode()[2:16])   # inside a text, after 1 byte
print(base64.b64encode(b"xy" + b).decode()[3:17])  # after 2 bytes
print(base64.b64encode(b"admin:" + b).decode().rstrip("="))
PY
)
check "nine forms to look for" test "${#FORMS[@]}" = 9

cat > book.yaml <<YAML
version: 1
name: secret-forms
phases:
  - id: p
    steps:
      - id: encodes
        kind: shell
        with:
          command: |
            python3 - '\${secret:API_PASSWORD}' <<'PY'
            import base64, sys, urllib.parse
            s = sys.argv[1]
            print("quoted", urllib.parse.quote(s, safe=""), urllib.parse.quote(s, safe="").lower())
            print("form", urllib.parse.quote_plus(s), "path", urllib.parse.quote(s))
            print("base64", base64.b64encode(s.encode()).decode())
            print("inside", base64.b64encode(b"x" + s.encode()).decode(), base64.b64encode(b"xy" + s.encode()).decode())
            print("basic", base64.b64encode(b"admin:" + s.encode()).decode())
            PY
      - id: password-in-url
        kind: shell
        with:
          command: python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' '\${secret:API_PASSWORD}'
      - id: echoed
        kind: http
        with:
          url: "http://admin:\${steps.password-in-url.stdout}@127.0.0.1:$PORT/echo"
          expect_status: "401"
      - id: refused
        kind: http
        on_failure: continue
        with:
          url: "http://admin:\${steps.password-in-url.stdout}@127.0.0.1:$PORT/echo"
      - id: echo-to-log
        kind: shell
        with:
          command: echo 'server said \${steps.echoed.body}' >&2
YAML
expect_exit 0 "the run completes (one tolerated failure)" "$MIGRATE" run book.yaml --rehearsal --yes --journal j.jsonl --log-file run.log --log-level debug
cp last.out terminal.out; cp last.err terminal.err
check "the server did echo a Basic header" contains j.jsonl 'Basic ***'
check "the refused request failed on the 401" test "$(events j.jsonl step.end | jq -r 'select(.step=="refused") | .status')" = failed
check "the encodings were printed (masked) in the step's log" test "$(grep -c '\*\*\*' j.jsonl.logs/encodes.log)" -ge 5
for format in text md json html; do
  expect_exit 0 "migrate report --format $format" "$MIGRATE" report j.jsonl --format $format -o report.$format
done
"$MIGRATE" status j.jsonl > status.out 2>&1
"$MIGRATE" --format json status j.jsonl > status.json 2>&1

files=(j.jsonl run.log terminal.out terminal.err status.out status.json report.* j.jsonl.logs/*)
check "the run wrote step logs" test -s j.jsonl.logs/encodes.log
# Names the forms found in a file; fails when there is any.
no_form_in() {
  local form found=0
  for form in "${FORMS[@]}"; do
    if grep -qF -- "$form" "$1"; then echo "     $1 holds '$form'"; found=1; fi
  done
  [ "$found" = 0 ]
}
for f in "${files[@]}"; do
  check "no form of the secret in $f" no_form_in "$f"
done
finish
