#!/usr/bin/env python3
"""Checks that faultline's includes point only the allowed way (docs/layout.md).

usage: check_layout.py SOURCE_ROOT     check the tree, print each violation, exit 1 if any
       check_layout.py --self-test     check that a tree with violations is caught

Each folder may include faultline headers only from the folders it is allowed to use:
servers use the probe and nothing else, the scenario side never reaches into the driver, and
no source file sits loose in harness/ (a new file picks the folder of its concern). A scenario
file carries its incident and nothing else: at most SCENARIO_BODY_LINES lines beyond its header
comment (machinery goes to servers/, glue to the scenario runtime).
"""
import os
import re
import sys
import tempfile

PROBE = {"probe"}
SCENARIO = PROBE | {"scenario"}
DRIVER_PARTS = {"run", "parse", "record", "plan", "judge", "render", "cli"}
EVERY_PART = SCENARIO | {"fault", "nemesis"} | DRIVER_PARTS

# Folder (relative to the root) -> the harness folders its files may include from. Servers may
# include each other (a scenario's server builds on a shared frame codec, say).
RULES = {
    "servers": PROBE,
    "harness/probe": PROBE,
    "harness/scenario": SCENARIO,
    "harness/fault": SCENARIO | {"fault"},
    "harness/nemesis": SCENARIO | {"nemesis"},
    "scenarios": SCENARIO | {"fault", "nemesis"},
}
for part in DRIVER_PARTS:
    RULES["harness/" + part] = EVERY_PART

SCENARIO_BODY_LINES = 150

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCE = (".h", ".hpp", ".cpp", ".cc")


def rule_for(rel):
    best = None
    for folder in RULES:
        if rel == folder or rel.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def body_lines(text):
    """Lines after the leading block of // comment and blank lines (the write-up)."""
    lines = text.splitlines()
    header = 0
    while header < len(lines) and (lines[header].startswith("//") or not lines[header].strip()):
        header += 1
    return len(lines) - header


def check_scenario_sizes(root):
    problems = []
    folder = os.path.join(root, "scenarios")
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if not name.endswith(".cpp"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
            n = body_lines(f.read())
        if n > SCENARIO_BODY_LINES:
            problems.append(f"scenarios/{name}: {n} lines beyond its header comment, more than "
                            f"{SCENARIO_BODY_LINES}: move machinery to servers/ and glue to "
                            "harness/scenario")
    return problems


def check(root):
    problems = check_scenario_sizes(root)
    harness = os.path.join(root, "harness")
    for name in sorted(os.listdir(harness)) if os.path.isdir(harness) else []:
        path = os.path.join(harness, name)
        if os.path.isfile(path) and name.endswith(SOURCE):
            problems.append(f"harness/{name}: a source file outside any part: move it into the "
                            f"folder of its concern ({', '.join(sorted(EVERY_PART))})")
        elif os.path.isdir(path) and name not in EVERY_PART:
            problems.append(f"harness/{name}/: not a known part: add it to tests/layout/"
                            "check_layout.py with the parts it may use, and to docs/layout.md")
    for top in ("harness", "servers", "scenarios"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(SOURCE):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                folder = rule_for(os.path.dirname(rel))
                if folder is None:
                    continue
                allowed = RULES[folder]
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for inc in INCLUDE.findall(text):
                    if not inc.startswith("harness/"):
                        continue
                    part = inc.split("/")[1]
                    if part not in allowed:
                        problems.append(f"{rel}: includes {inc}, but {folder}/ may use only "
                                        f"{', '.join('harness/' + p for p in sorted(allowed))}")
    return problems


def self_test():
    with tempfile.TemporaryDirectory() as root:
        def write(rel, text):
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        write("harness/probe/a.h", '#include "harness/probe/b.h"\n')
        write("harness/run/x.cpp", '#include "harness/judge/y.h"\n')
        assert check(root) == [], check(root)
        write("servers/s/s.cpp", '#include "harness/scenario/scenario_api.h"\n')
        write("harness/probe/c.cpp", '#include "harness/run/runner.h"\n')
        write("harness/loose.cpp", "\n")
        write("harness/misc/m.h", "\n")
        write("scenarios/small.cpp", "// header\n" * 300 + "int x;\n" * SCENARIO_BODY_LINES)
        write("scenarios/big.cpp", "// header\n" + "int x;\n" * (SCENARIO_BODY_LINES + 1))
        found = check(root)
        want = ["servers/s/s.cpp: includes harness/scenario", "harness/probe/c.cpp: includes",
                "harness/loose.cpp: a source file outside", "harness/misc/: not a known part",
                f"scenarios/big.cpp: {SCENARIO_BODY_LINES + 1} lines beyond"]
        for w in want:
            assert any(p.startswith(w) for p in found), (w, found)
        assert len(found) == len(want), found
    print("self-test: every violation was caught")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    problems = check(sys.argv[1])
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) against the layout (docs/layout.md)")
        return 1
    print(f"layout: every include points the allowed way; every scenario is within "
          f"{SCENARIO_BODY_LINES} lines beyond its header")
    return 0


if __name__ == "__main__":
    sys.exit(main())
