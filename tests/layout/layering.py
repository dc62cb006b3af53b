#!/usr/bin/env python3
"""The folders depend one way only: each may include its own files and those of folders below it.

    util  <-  io, runbook, journal  <-  kinds  <-  engine, steps  <-  report  <-  cli  <-  main

Also checked: the database client library's header only under io/db/mysql/, and a step family
includes another family only where the table below allows it. Prints every breach with its
file and line; exit 1 when there is one. Run by ctest as `layering`.
"""
import os
import re
import subprocess
import sys

RANK = {"util": 0, "io": 1, "runbook": 1, "journal": 1, "kinds": 2, "engine": 3, "steps": 3,
        "report": 4, "cli": 5, "main": 6}
# Step families that read another family's formats: mysql.load reads files' archive streams
# (compressed SQL) and sql's statement splitter; transfer writes and reads a directory's
# manifest in files' checksum-list format.
FAMILY_USES = {"mysql": {"files", "sql"}, "remote": {"files"}}
# Headers of a library that only one folder may include.
OWNED_HEADERS = {"mysql.h": "io/db/mysql", "mariadb/mysql.h": "io/db/mysql"}


def place(path):
    """(folder, family) of a source or header path, e.g. ('steps', 'files')."""
    if path.startswith("include/migrate/"):
        rest = path[len("include/migrate/"):]
    elif path.startswith("src/"):
        rest = path[len("src/"):]
    else:
        return None, None
    parts = rest.split("/")
    if len(parts) == 1:
        return "main", None
    family = parts[1] if parts[0] == "steps" and len(parts) > 2 else None
    return parts[0], family


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    os.chdir(root)
    files = subprocess.check_output(["git", "ls-files", "src", "include"], text=True).split()
    breaches = []
    for path in files:
        if not path.endswith((".h", ".cpp")):
            continue
        folder, family = place(path)
        if folder not in RANK:
            breaches.append(f"{path}: folder '{folder}' has no place in the layering; add it to {__file__}")
            continue
        with open(path, encoding="utf-8") as source:
            lines = source.read().split("\n")
        for number, line in enumerate(lines, 1):
            system = re.match(r'\s*#\s*include\s*<([^>]+)>', line)
            if system and system.group(1) in OWNED_HEADERS:
                owner = OWNED_HEADERS[system.group(1)]
                if not (path.startswith("src/" + owner) or path.startswith("include/migrate/" + owner)):
                    breaches.append(f"{path}:{number}: <{system.group(1)}> belongs to {owner}/ only")
            local = re.match(r'\s*#\s*include\s*"([^"]+)"', line)
            if not local:
                continue
            included = local.group(1)
            if included.startswith("migrate/"):
                target = "include/" + included
            else:
                target = os.path.normpath(os.path.join(os.path.dirname(path), included))
            to_folder, to_family = place(target)
            if to_folder is None or to_folder == folder and (family == to_family or to_family is None
                                                             or family is None):
                continue
            if to_folder == folder:
                if to_family not in FAMILY_USES.get(family, set()):
                    breaches.append(f"{path}:{number}: step family '{family}' includes family "
                                    f"'{to_family}' ({included}); allowed: {sorted(FAMILY_USES.get(family, []))}")
                continue
            if RANK.get(to_folder, 99) >= RANK[folder]:
                breaches.append(f"{path}:{number}: {folder}/ includes {to_folder}/ ({included}), "
                                f"which is not below it")
    for breach in breaches:
        print(breach)
    print(f"{len(files)} files checked, {len(breaches)} breaches of the layering")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
