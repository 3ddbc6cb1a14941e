#!/usr/bin/env python3
"""Real records match docs/record.schema.json: the checked-in schema-2 samples, and records made
now by real runs (a networked scenario, an in-process one that crashes, commands under exec,
one judged by its exit code and output, a run that ran out of fds, a sweep's runs with their
campaign). A record with a field of the wrong type must fail, so the check
can fail.

usage: check_record_schema.py FAULTLINE BUILD_ROOT SCHEMA DATA_DIR WORK_DIR
"""
import copy
import json
import os
import subprocess
import sys

import jsonschema

faultline, build_root, schema_path, data, work = sys.argv[1:6]
schema = json.load(open(schema_path))
validator = jsonschema.Draft202012Validator(schema)
os.makedirs(work, exist_ok=True)
out = os.path.join(work, "schema-check.jsonl")
if os.path.exists(out):
    os.remove(out)

runs = [
    ["run", "listener-lifetime", "--repeat", "1", "--seed", "7"],
    ["run", "catchall-fatal", "--repeat", "1", "--seed", "7"],
    ["run", "deadline-race", "--variant", "fixed", "--repeat", "1", "--max-fds", "24"],
    ["exec", "--expect", "crash", "--", "sh", "-c", "kill -SEGV $$"],
    ["exec", "--fail-exit", "3", "--fail-output", "^bad", "--", "sh", "-c", "echo bad; exit 3"],
    ["sweep", "listener-lifetime", "--grid", "connections=8", "--repeat", "1", "--seed", "7"],
    ["exec", "--fault-plan", os.path.join(work, "plan.json"), "--", "sh", "-c", "echo planned"],
]
with open(os.path.join(work, "plan.json"), "w") as plan:
    json.dump({"name": "schema", "phases": [
        {"name": "eio", "from_ms": 0, "until_ms": 50, "faults": ["syscall:call=write,errno=EIO"]}]},
        plan)
for args in runs:
    cmd = [faultline] + args[:1] + ["--build-root", build_root, "--out", out] + args[1:]
    if args[0] == "exec":
        cmd = [faultline, "exec", "--out", out] + args[1:]
    rc = subprocess.run(cmd, capture_output=True, text=True).returncode
    if rc not in (0, 1, 3):
        sys.exit(f"{' '.join(cmd)} exited {rc}")

problems = 0
checked = 0
for path in (os.path.join(data, "before.jsonl"), os.path.join(data, "after.jsonl"), out):
    for n, line in enumerate(open(path), 1):
        record = json.loads(line)
        checked += 1
        for error in validator.iter_errors(record):
            problems += 1
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"{path}:{n}: {where}: {error.message}")

# The check can fail: a wrong type and a verdict of schema 1 are refused.
record = json.loads(open(out).readline())
planned = [json.loads(line) for line in open(out) if "fault_plan" in json.loads(line)]
if len(planned) != 1:
    problems += 1
    print(f"{len(planned)} records of the run with --fault-plan carry its fault_plan, not 1")
for field, value in (("seed", "7"), ("verdict", "failed"), ("completion", {"ok": False, "reason": ""}),
                     ("fault_plan", {"name": "x", "phases": [{"name": "p", "faults": []}]})):
    bad = copy.deepcopy(record)
    bad[field] = value
    if validator.is_valid(bad):
        problems += 1
        print(f"a record with {field}={value!r} passed the schema")

print(f"{checked} records checked against {schema_path}, {problems} problems")
sys.exit(1 if problems or checked < 30 else 0)
