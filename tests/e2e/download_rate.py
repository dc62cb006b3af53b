#!/usr/bin/env python3
"""The rate a download step achieved, from its journal: the whole step's average
(metrics.bytes over duration_ms) and every stretch of at least WINDOW_MS between two of its
step.progress records (each holds the bytes received at that moment). Prints them and exits 1
when any lies outside CAP +-10%.  Usage: download_rate.py JOURNAL STEP CAP_BYTES_PER_S WINDOW_MS"""
import datetime
import json
import sys

journal, step, cap, window = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def epoch_ms(ts):
    moment = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(moment.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


records = [json.loads(line) for line in open(journal) if line.strip()]
progress = [(epoch_ms(r["ts"]), r["metrics"]["bytes"]) for r in records
            if r["ev"] == "step.progress" and r["step"] == step]
end = next(r for r in records if r["ev"] == "step.end" and r["step"] == step)
rates = [("whole step", end["metrics"]["bytes"] * 1000 / end["duration_ms"])]
for i, (t0, b0) in enumerate(progress):
    for t1, b1 in progress[i + 1:]:
        if t1 - t0 >= window:
            rates.append((f"{t1 - t0} ms from +{t0 - progress[0][0]} ms", (b1 - b0) * 1000 / (t1 - t0)))
bad = 0
for what, rate in rates:
    ratio = rate / cap
    ok = 0.9 <= ratio <= 1.1
    bad += not ok
    print(f"     {what}: {rate / 1048576:.2f} MiB/s ({ratio:.3f} of the cap){'' if ok else '  OUT OF BOUNDS'}")
if len(rates) < 2:
    print("     no two progress records far enough apart")
    bad += 1
sys.exit(1 if bad else 0)
