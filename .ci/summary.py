#!/usr/bin/python3
"""Print 'LABEL: N passed, N failed, N skipped' for meson test logs, then a total line.
   summary.py LABEL=build/meson-logs/testlog.json [...]"""
import json
import os
import sys

total = {"passed": 0, "failed": 0, "skipped": 0}
for arg in sys.argv[1:]:
    label, path = arg.split("=", 1)
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    if not os.path.exists(path):
        counts["failed"] += 1  # the suite did not even run
    else:
        for line in open(path):
            r = json.loads(line).get("result", "")
            counts[{"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}.get(r, "failed")] += 1
    for k in total:
        total[k] += counts[k]
    print(f"{label}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
print(f"total: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
sys.exit(1 if total["failed"] else 0)
