#!/usr/bin/env python3
"""Writes the big runbooks that fuzzing found hard for migrate, to stdout.

    gen_hostile_runbooks.py NAME

Used by tests/e2e/hostile_input.sh (they must be handled) and tests/bench/validate_scale.sh
(how long they take). NAME is one of the keys of CASES.
"""
import sys

LONG = "a" * 26000


def long_var():
    # JSON: YAML allows no implicit key longer than 1,024 characters.
    return ('{"version": 1, "name": "long", "vars": {"%s": "here"}, "phases": [{"id": "p", "steps": '
            '[{"id": "s", "kind": "shell", "with": {"command": "echo ${%s}"}}]}]}\n' % (LONG, LONG))


def long_id():
    return ("version: 1\nname: long-id\nphases:\n  - id: p\n    steps:\n"
            f"      - id: {LONG}\n        kind: noop\n      - id: {LONG}X\n        kind: noop\n")


def needs():
    lines = ["version: 1\nname: needs\nphases:\n  - id: p\n    steps:"]
    for i in range(10000):
        before = ", ".join(f"s{j}" for j in range(max(0, i - 50), i))
        lines.append(f"      - id: s{i}\n        kind: noop\n        needs: [{before}]")
    return "\n".join(lines) + "\n"


def workdir():
    return ("version: 1\nname: many\nvars:\n  workdir: /tmp\nphases:\n  - id: p\n    steps:\n"
            "      - id: s\n        kind: noop\n        with:\n          note: \""
            + "${workdir} " * 50000 + "\"\n")


def undefined():
    return ("version: 1\nname: many\nphases:\n  - id: p\n    steps:\n"
            "      - id: s\n        kind: noop\n        with:\n          note: \""
            + "${x}" * 100000 + "\"\n")


def duplicate_phases():
    lines = ["version: 1\nname: dup\nphases:"]
    for i in range(1001):
        lines.append(f"  - id: same\n    steps:\n      - id: s{i}\n        kind: noop")
    return "\n".join(lines) + "\n"


def duplicate_steps():
    lines = ["version: 1\nname: dup\nphases:\n  - id: p\n    steps:"]
    for _ in range(1001):
        lines.append("      - id: same\n        kind: noop")
    return "\n".join(lines) + "\n"


CASES = {
    "long-var": long_var,  # JSON
    "long-id": long_id,
    "needs": needs,
    "workdir": workdir,
    "undefined": undefined,
    "duplicate-phases": duplicate_phases,
    "duplicate-steps": duplicate_steps,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(CASES)}")
    sys.stdout.write(CASES[sys.argv[1]]())
