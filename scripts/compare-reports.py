#!/usr/bin/env python3
"""compare-reports.py A B: whether the checker's JSON reports in A and B
(as scripts/capture-reports.sh writes them) say the same: per exercise,
the same rows in the same order with the same status, request, expected,
got and, for a failed row, frames, once random secrets, ports, database
numbers, durations, peak memory and the random choice of alice or bob are
written alike. Prints every difference; exits 1 if there is one.
`--ignore-frame TEXT` (repeatable) leaves out the frames that contain
TEXT: a transcript line a change removed on purpose.

A timing row (heartbeats, an expiry, a Redis restart, a flood) can change
its outcome under load: compare on a quiet machine, and run a row that
differs again alone (`cargo run -p checker -- N --row ID`) before
believing it."""
import json, re, sys, pathlib

def norm(text):
    if text is None:
        return None
    text = re.sub(r"\b[0-9a-f]{16,}\b", "<secret>", text)
    text = re.sub(r"[A-Za-z0-9_-]{20,}", "<secret>", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"localhost:\d+", "localhost:<port>", text)
    text = re.sub(r"port \d+", "port <port>", text)
    text = re.sub(r"board-\d+\.db", "board-<n>.db", text)
    text = re.sub(r"checker-[A-Za-z0-9]{6}", "checker-<dir>", text)
    text = re.sub(r"\b(alice|bob)\b", "<member>", text)
    text = re.sub(r"\b(Alice|Bob)\b", "<Member>", text)
    text = re.sub(r"user-(alice|bob)", "user-<member>", text)
    text = re.sub(r"\d+(\.\d+)? ?(ms|s)\b", "<time>", text)
    text = re.sub(r"a peak of \d+ MiB; answers: .*", "a peak of <n> MiB; answers: <answers>", text)
    text = re.sub(r"\b\d+ x ", "<n> x ", text)
    return text

IGNORED = []

def rows(path):
    doc = json.loads(pathlib.Path(path).read_text())
    out = []
    for ex in doc["exercises"]:
        out.append(("exercise", ex["number"], ex["status"], ex.get("failed_rows"), ex.get("skipped_rows")))
        for r in ex["rows"]:
            frames = [norm(f) for f in r["frames"] if not any(t in f for t in IGNORED)]
            out.append((r["id"], r["status"], norm(r["request"]), norm(r["expected"]), norm(r["got"]),
                        tuple(frames) if r["status"] == "failed" else None,
                        json.dumps(r["stub"], sort_keys=True) if r["stub"] else None))
    out.append(("tally", doc["passed"], doc["failed"]))
    return out

def main(a, b):
    a, b = pathlib.Path(a), pathlib.Path(b)
    differences = 0
    for fa in sorted(a.glob("*.json")):
        fb = b / fa.name
        ra, rb = rows(fa), rows(fb)
        if ra != rb:
            differences += 1
            print(f"== {fa.name}")
            la, lb = {r[0]: r for r in ra}, {r[0]: r for r in rb}
            if [r[0] for r in ra] != [r[0] for r in rb]:
                print("  row order or set differs")
            for key in la:
                if la.get(key) != lb.get(key):
                    print(f"  {key}\n    before: {la.get(key)}\n    after:  {lb.get(key)}")
        else:
            print(f"same {fa.name}: {len(ra)} entries")
    return 1 if differences else 0

args = sys.argv[1:]
while "--ignore-frame" in args:
    at = args.index("--ignore-frame")
    IGNORED.append(args[at + 1])
    del args[at:at + 2]
sys.exit(main(*args))
