#!/usr/bin/env python3
"""Writes a valid, hash-chained migrate journal of N records (default 1,000,000) and the
runbook it belongs to: runs of STEPS steps, each step recorded as step.start, two
step.progress and step.end, so the analysis has many samples per step.

usage: gen_journal.py OUT.jsonl OUT.yaml [RECORDS] [STEPS]"""
import hashlib, json, sys

out_path, book_path = sys.argv[1], sys.argv[2]
records = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
steps = int(sys.argv[4]) if len(sys.argv) > 4 else 1000

with open(book_path, "w") as book:
    book.write("version: 1\nname: bench\nphases:\n  - id: p\n    steps:\n")
    for i in range(steps):
        marker = "\n        downtime: start" if i == 10 else "\n        downtime: end" if i == steps - 10 else ""
        book.write(f"      - id: s{i:05d}\n        kind: noop{marker}\n")

prev, seq, t = "", 0, 1_800_000_000_000
def ts(ms):
    import datetime
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

with open(out_path, "w") as out:
    def emit(run, ev, **fields):
        global prev, seq
        seq += 1
        rec = {"v": 1, "seq": seq, "ts": ts(t), "run": run, "ev": ev}
        rec.update(fields)
        content = json.dumps(rec, separators=(",", ":"), ensure_ascii=False)
        h = hashlib.sha256((prev + "\n" + content).encode()).hexdigest()
        out.write(content[:-1] + ',"h":"' + h + '"}\n')
        prev = h
    run_no = 0
    while seq < records - 2:
        run_no += 1
        run = f"20261122T000000-{run_no:04x}"
        emit(run, "run.start", runbook="/bench/bench.yaml", name="bench", env="preprod", mode="rehearsal",
             steps=[], version="0.1.0")
        for i in range(steps):
            if seq >= records - 5:
                break
            step = f"s{i:05d}"
            extra = {"downtime": "start"} if i == 10 else {"downtime": "end"} if i == steps - 10 else {}
            emit(run, "step.start", step=step, phase="p", kind="noop", role="executor", **extra)
            duration = 100 + (i * 7 + run_no * 13) % 900
            for k in range(2):
                t += duration // 3
                emit(run, "step.progress", step=step, message=f"{k + 1} of 2", metrics={"bytes": (k + 1) * 1000})
            t += duration - 2 * (duration // 3)
            emit(run, "step.end", step=step, phase="p", kind="noop", role="executor", status="ok", duration_ms=duration,
                 attempts=1, metrics={"bytes": 2000}, outputs={}, **extra)
        emit(run, "run.end", status="ok", duration_ms=0)
print(f"{seq} records in {out_path}")
