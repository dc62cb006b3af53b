#!/usr/bin/env bash
# Every shipped runbook satisfies the JSON Schema for editors (docs/runbook.schema.json)
# and passes `migrate validate`; the schema's kinds and their parameters are the kind table's.
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
printf 'version: 1\nname: x\nphases:\n  - id: p\n    steps:\n      - { id: a, kind: shell, with: { comand: x } }\n' > bad-param.yaml
check "the schema rejects an unknown parameter of a kind" bash -c "! python3 -c \"import json,yaml,jsonschema; jsonschema.validate(yaml.safe_load(open('bad-param.yaml')), json.load(open('$ROOT/docs/runbook.schema.json')))\" 2>/dev/null"

# The schema cannot drift from the kind table: the same kinds, and for each kind the same
# parameter names and the same required ones, as `migrate kinds --format json` prints.
expect_exit 0 "migrate kinds --format json" "$MIGRATE" kinds --format json
cp last.out kinds.json
check "migrate kinds --format json prints a JSON list of kinds" python3 -c "import json,sys; k=json.load(open('kinds.json')); sys.exit(0 if isinstance(k, list) and k and all('kind' in x and 'parameters' in x for x in k) else 1)"
check "the schema's kinds and their parameters are the kind table's" python3 - "$ROOT/docs/runbook.schema.json" kinds.json <<'PY'
import json, sys
schema = json.load(open(sys.argv[1]))
kinds = json.load(open(sys.argv[2]))
defs = schema["$defs"]
problems = []
table = [k["kind"] for k in kinds]
listed = defs["step"]["properties"]["kind"]["enum"]
if sorted(listed) != sorted(table):
    problems.append("kinds: the schema lists %s, the kind table has %s" % (listed, table))
rules = json.dumps(defs["step"].get("allOf", []))
for kind in kinds:
    name = kind["kind"]
    with_schema = defs.get("kind." + name)
    if with_schema is None:
        problems.append("%s: no $defs/kind.%s for its 'with'" % (name, name))
        continue
    if '"#/$defs/kind.%s"' % name not in rules:
        problems.append("%s: the step's allOf does not apply $defs/kind.%s" % (name, name))
    params = sorted(p["name"] for p in kind["parameters"])
    required = sorted(p["name"] for p in kind["parameters"] if p["required"])
    if sorted(with_schema.get("properties", {})) != params:
        problems.append("%s: parameters in the schema %s, in the kind table %s"
                        % (name, sorted(with_schema.get("properties", {})), params))
    if sorted(with_schema.get("required", [])) != required:
        problems.append("%s: required in the schema %s, in the kind table %s"
                        % (name, sorted(with_schema.get("required", [])), required))
    if with_schema.get("additionalProperties") is not False:
        problems.append("%s: the schema's 'with' allows unknown parameters" % name)
for key in defs:
    if key.startswith("kind.") and key[len("kind."):] not in table:
        problems.append("$defs/%s: no such kind in the kind table" % key)
for problem in problems:
    print("     ", problem)
sys.exit(1 if problems else 0)
PY
finish
