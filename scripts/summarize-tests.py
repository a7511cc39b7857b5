#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prints "N passed, N failed" for a meson test log, counting doctest cases where a test
printed doctest's summary and whole tests otherwise. A doctest run given a filter (the engine
matrix runs only the suite `engines`) counts the cases it filtered out as skipped: those are
not counted here."""
import json
import re
import sys

FILTERS = ("-ts=", "--test-suite=", "-tc=", "--test-case=", "-sf=", "--source-file=")
SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped")

passed = failed = skipped = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        line = line.strip()
        if not line:
            continue
        test = json.loads(line)
        ok = test.get("result") in ("OK", "EXPECTEDFAIL")
        m = None
        for m in SUMMARY.finditer(test.get("stdout") or ""):
            pass
        if m:
            passed += int(m.group(2))
            failed += int(m.group(3))
            command = test.get("command") or []
            if not any(a.startswith(FILTERS) for a in command):
                skipped += int(m.group(4))
            if not ok and int(m.group(3)) == 0:
                failed += 1  # the executable failed outside any test case (crash, timeout)
        elif test.get("result") == "SKIP":
            skipped += 1
        elif ok:
            passed += 1
        else:
            failed += 1
        print(f"{test.get('name')}: {test.get('result')}", file=sys.stderr)

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
