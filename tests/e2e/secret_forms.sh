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

# Run 1 declares the secret plain; commands print it percent-encoded and in base64.
cat > encodes.yaml <<'YAML'
version: 1
name: secret-encoded-by-commands
phases:
  - id: p
    steps:
      - id: encodes
        kind: shell
        with:
          command: |
            python3 - '${secret:API_PASSWORD}' <<'PY'
            import base64, sys, urllib.parse
            s = sys.argv[1]
            print("quoted", urllib.parse.quote(s, safe=""), urllib.parse.quote(s, safe="").lower())
            print("form", urllib.parse.quote_plus(s), "path", urllib.parse.quote(s))
            print("base64", base64.b64encode(s.encode()).decode())
            print("inside", base64.b64encode(b"x" + s.encode()).decode(), base64.b64encode(b"xy" + s.encode()).decode())
            print("basic", base64.b64encode(b"admin:" + s.encode()).decode())
            PY
      - id: fails
        kind: shell
        on_failure: continue
        with:
          command: python3 -c 'import sys, urllib.parse; sys.exit("bad password " + urllib.parse.quote_plus(sys.argv[1]))' '${secret:API_PASSWORD}'
YAML
expect_exit 0 "run 1 completes (one tolerated failure)" "$MIGRATE" run encodes.yaml --rehearsal --yes --journal j1.jsonl --log-file run1.log --log-level debug
cp last.out terminal1.out; cp last.err terminal1.err
check "the encodings were printed (masked) in the step's log" test "$(grep -c '\*\*\*' j1.jsonl.logs/encodes.log)" = 5

# Run 2 declares only the URL-encoded form, as a URL's password must be written (the
# secrets file); libcurl decodes it and sends "Basic base64(admin:p@ss w/rd:%)", which the
# server echoes in its 401.
unset API_PASSWORD
printf 'API_PASSWORD_URL=%s\n' "${FORMS[1]}" > secrets.env
cat > basic.yaml <<YAML
version: 1
name: secret-in-url-credentials
phases:
  - id: p
    steps:
      - id: echoed
        kind: http
        with:
          url: "http://admin:\${secret:API_PASSWORD_URL}@127.0.0.1:$PORT/echo"
          expect_status: "401"
      - id: refused
        kind: http
        on_failure: continue
        with:
          url: "http://admin:\${secret:API_PASSWORD_URL}@127.0.0.1:$PORT/echo"
      - id: decoded
        kind: shell
        with:
          command: python3 -c 'import sys, urllib.parse; print("decoded", urllib.parse.unquote(sys.argv[1]))' '\${secret:API_PASSWORD_URL}'
YAML
expect_exit 0 "run 2 completes (one tolerated failure)" "$MIGRATE" run basic.yaml --rehearsal --yes --journal j2.jsonl --secrets secrets.env --log-file run2.log --log-level debug
cp last.out terminal2.out; cp last.err terminal2.err
check "the server echoed the Basic header (masked)" test "$(events j2.jsonl step.end | jq -r 'select(.step=="echoed") | .outputs.body')" = 'Basic ***='
check "the refused request failed on the 401" test "$(events j2.jsonl step.end | jq -r 'select(.step=="refused") | .status')" = failed
check "the decoded password was printed (masked)" contains j2.jsonl.logs/decoded.log 'decoded ***'

for j in j1 j2; do
  for format in text md json html; do
    expect_exit 0 "migrate report $j --format $format" "$MIGRATE" report $j.jsonl --format $format -o $j-report.$format
  done
  "$MIGRATE" status $j.jsonl > $j-status.out 2>&1
  "$MIGRATE" --format json status $j.jsonl > $j-status.json 2>&1
done

files=(j1.jsonl j2.jsonl run1.log run2.log terminal* *-status.* *-report.* j1.jsonl.logs/* j2.jsonl.logs/*)
check "the runs wrote step logs" test -s j1.jsonl.logs/encodes.log -a -s j2.jsonl.logs/decoded.log
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
