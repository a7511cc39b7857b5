#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks the monitoring files that the package ships, with Prometheus' promtool:

  check-monitoring.py rules RULES          promtool check rules
  check-monitoring.py rules-test TESTS     promtool test rules
  check-monitoring.py dashboard DASHBOARD  the Grafana dashboard: well-formed, panels laid out
                                           without overlap, every query valid PromQL

Exits 77 (a skipped Meson test) when promtool is missing, unless --require is given (Meson's
integration_tests=enabled) or CI=true: then a missing promtool fails.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77

# What Grafana puts in place of its variables before a query reaches Prometheus.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "6h",
    "$job": ".*",
    "$instance": ".*",
}


def promtool(args, required):
    tool = shutil.which("promtool")
    if not tool:
        print("promtool not found (Debian: apt-get install prometheus)", file=sys.stderr)
        return 1 if required else SKIP
    print("$ promtool " + " ".join(args), flush=True)
    return subprocess.run([tool, *args], check=False).returncode


def panels_of(dashboard):
    for p in dashboard.get("panels", []):
        yield p
        yield from p.get("panels", [])  # panels inside a collapsed row


def check_dashboard(path, required):
    with open(path, encoding="utf-8") as f:
        dashboard = json.load(f)
    problems = []
    if not dashboard.get("uid") or not dashboard.get("title"):
        problems.append("the dashboard needs a uid and a title")
    variables = {v.get("name") for v in dashboard.get("templating", {}).get("list", [])}
    for v in ("datasource", "job", "instance"):
        if v not in variables:
            problems.append(f"no ${v} variable")
    ids = set()
    cells = {}
    queries = []
    for p in panels_of(dashboard):
        title = p.get("title", "?")
        if p.get("id") in ids:
            problems.append(f"panel {title!r}: id {p.get('id')} used twice")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
            for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
                if (x, y) in cells:
                    problems.append(f"panel {title!r} overlaps {cells[(x, y)]!r}")
                    break
                cells[(x, y)] = title
            else:
                continue
            break
        if g.get("x", 0) + g.get("w", 0) > 24:
            problems.append(f"panel {title!r} is wider than the dashboard")
        if p.get("type") == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel {title!r} does not use the $datasource variable")
        if not p.get("targets"):
            problems.append(f"panel {title!r} has no query")
        for t in p.get("targets", []):
            expr = t.get("expr", "")
            if "core_interceptor_" not in expr:
                problems.append(f"panel {title!r}: query {expr!r} reads no core_interceptor metric")
            queries.append((title, expr))
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{path}: {len(ids)} panels, {len(queries)} queries")

    # Each query, with Grafana's variables filled in, as a recording rule: promtool parses it.
    groups = {"groups": [{"name": "dashboard", "rules": []}]}
    for i, (title, expr) in enumerate(queries):
        for var, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(var, value)
        if "$" in expr:
            problems.append(f"panel {title!r}: unknown variable in {expr!r}")
            print(problems[-1], file=sys.stderr)
        groups["groups"][0]["rules"].append({"record": f"dashboard:query_{i}", "expr": expr})
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="dashboard-queries-", delete=False) as f:
        json.dump(groups, f)  # JSON is YAML
        rules = f.name
    try:
        status = promtool(["check", "rules", rules], required)
    finally:
        os.unlink(rules)
    if problems:
        return 1
    return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["rules", "rules-test", "dashboard"])
    ap.add_argument("file")
    ap.add_argument("--require", action="store_true", help="a missing promtool fails")
    a = ap.parse_args()
    a.require = a.require or os.environ.get("CI") == "true"
    if a.what == "rules":
        return promtool(["check", "rules", a.file], a.require)
    if a.what == "rules-test":
        # promtool reads the rule files the test file names relative to the test file.
        return promtool(["test", "rules", a.file], a.require)
    return check_dashboard(a.file, a.require)


if __name__ == "__main__":
    sys.exit(main())
