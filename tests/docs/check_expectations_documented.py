#!/usr/bin/env python3
"""Every expectation a scenario states (faultline list --json) is in its docs/scenarios page,
line for line, and every scenario gives every variant an expectation in every build.

usage: check_expectations_documented.py FAULTLINE BUILD_ROOT DOCS_DIR
"""
import json
import subprocess
import sys

faultline, build_root, docs = sys.argv[1:4]
specs = json.loads(subprocess.run([faultline, "list", "--json", "--build-root", build_root],
                                  check=True, capture_output=True, text=True).stdout)
problems = []
checked = 0
for spec in specs:
    if spec["id"] in ("toy", "sweep-probe"):
        continue
    page = f"{docs}/scenarios/{spec['id']}.md"
    try:
        text = open(page).read()
    except OSError as e:
        problems.append(f"{page}: {e}")
        continue
    for e in spec["expectations"]:
        checked += 1
        if e["text"] not in text:
            problems.append(f"{page} lacks the expectation line: {e['text']} "
                            "(scripts/update-expectation-docs.py rewrites the block)")
    for variant in spec["variants"]:
        for build in ("none", "tsan", "asan"):
            if not any(e["variant"] == variant and e["sanitizer"] in (build, "*")
                       for e in spec["expectations"]):
                problems.append(f"{spec['id']}: no expectation for {variant} under {build}")
    for e in spec["expectations"]:
        if e["expect"] == "clean" and not e["reach"] and not e["why"]:
            problems.append(f"{spec['id']}: {e['text']}: no reach metric and no reason")
if checked == 0:
    problems.append("no scenario expectations found: is the build root right?")
for p in problems:
    print(p)
print(f"{checked} expectations checked in {len(specs)} scenarios, {len(problems)} problems")
sys.exit(1 if problems else 0)
