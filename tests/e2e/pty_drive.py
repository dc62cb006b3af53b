#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal and plays a script against it, as a person would.

Usage: pty_drive.py SCRIPT LOG -- COMMAND ARGS...
SCRIPT lines:  expect TEXT   wait until TEXT appears in the output after the last match
               send TEXT     type TEXT (\\n for Enter)
               # comment
Everything the command prints (and the terminal's echo) goes to LOG. Exits with the
command's exit status, or 90 when an `expect` is not met within 60 s (the command is then
killed), naming the line.
"""
import os
import pty
import select
import signal
import sys
import time


def main():
    script_path, log_path = sys.argv[1], sys.argv[2]
    command = sys.argv[sys.argv.index("--") + 1:]
    steps = []
    with open(script_path) as script:
        for number, line in enumerate(script, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            verb, _, text = line.partition(" ")
            steps.append((number, verb, text.encode().decode("unicode_escape").encode()))
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    output = b""
    searched = 0
    log = open(log_path, "wb")

    def read_some(timeout):
        nonlocal output
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return False
        if not chunk:
            return False
        output += chunk
        log.write(chunk)
        log.flush()
        return True

    for number, verb, text in steps:
        if verb == "send":
            os.write(fd, text)
        elif verb == "expect":
            deadline = time.monotonic() + 60
            while output.find(text, searched) < 0:
                if time.monotonic() > deadline or not read_some(0.1):
                    if output.find(text, searched) >= 0:
                        break
                    print(f"{script_path}:{number}: '{text.decode()}' did not appear",
                          file=sys.stderr)
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    sys.exit(90)
            searched = output.find(text, searched) + len(text)
        else:
            sys.exit(f"{script_path}:{number}: unknown verb '{verb}'")
    while read_some(1):
        pass
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


main()
