# Shared by the end-to-end tests: they run the built migrate binary for real.
# Usage: source lib.sh; then `check NAME CONDITION...`; end with `finish`.
set -u
MIGRATE=${MIGRATE:?set MIGRATE to the migrate binary}
PASSED=0
FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/migrate-e2e.XXXXXX")
cd "$WORK"
trap 'cleanup_e2e' EXIT

cleanup_e2e() {
  # Stop anything a test left running in the background.
  jobs -p | xargs -r kill -9 2>/dev/null
  [ "$FAILED" -eq 0 ] && rm -rf "$WORK"
}

# check "what" command args...: passes when the command succeeds.
check() {
  local what=$1; shift
  if "$@"; then
    PASSED=$((PASSED + 1)); echo "ok   $what"
  else
    FAILED=$((FAILED + 1)); echo "FAIL $what"
  fi
}

# expect_exit CODE "what" command args...: the command must exit with CODE.
expect_exit() {
  local code=$1 what=$2; shift 2
  "$@" > last.out 2> last.err
  local got=$?
  if [ "$got" -eq "$code" ]; then
    PASSED=$((PASSED + 1)); echo "ok   $what (exit $got)"
  else
    FAILED=$((FAILED + 1)); echo "FAIL $what: exit $got, expected $code"; sed 's/^/     | /' last.out last.err | tail -20
  fi
}

contains() { grep -qF -- "$2" "$1"; }
not_contains() { ! grep -qF -- "$2" "$1"; }
lines_equal() { [ "$(cat "$1")" = "$2" ] || { echo "     $1 holds: $(tr '\n' '|' < "$1") expected: $(echo "$2" | tr '\n' '|')"; false; }; }
count_of() { grep -c -- "$2" "$1" 2>/dev/null || true; }

# A process that still runs (a zombie has finished: it only waits to be reaped).
is_alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# wait_for SECONDS command...: polls until the command succeeds; fails after SECONDS.
wait_for() {
  local limit=$1; shift
  local i
  for ((i = 0; i < limit * 20; i++)); do "$@" && return 0; sleep 0.05; done
  return 1
}

# A journal's records of one event, as compact JSON lines.
events() { jq -c --arg ev "$2" 'select(.ev == $ev)' "$1"; }

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
