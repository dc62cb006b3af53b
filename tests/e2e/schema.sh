#!/usr/bin/env bash
# Every shipped runbook satisfies the JSON Schema for editors (docs/runbook.schema.json)
# and passes `migrate validate`.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/lib.sh"
for book in "$ROOT"/runbooks/*.yaml "$ROOT"/runbooks/*.json; do
  [ -e "$book" ] || continue
  name=$(basename "$book")
  expect_exit 0 "$name validates" "$MIGRATE" validate "$book"
  check "$name satisfies the JSON Schema" python3 - "$ROOT/docs/runbook.schema.json" "$book" <<'PY'
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
book = yaml.safe_load(open(sys.argv[2]))
errors = list(jsonschema.Draft202012Validator(schema).iter_errors(book))
for e in errors:
    print("     ", "/".join(map(str, e.path)), e.message)
sys.exit(1 if errors else 0)
PY
done
# The schema rejects what the validator rejects, for a sample.
printf 'version: 1\nname: x\nphases:\n  - id: p\n    steps:\n      - { id: a, kind: shell, neds: [b] }\n' > bad.yaml
check "the schema rejects an unknown field too" bash -c "! python3 -c \"import json,yaml,jsonschema; jsonschema.validate(yaml.safe_load(open('bad.yaml')), json.load(open('$ROOT/docs/runbook.schema.json')))\" 2>/dev/null"
finish
