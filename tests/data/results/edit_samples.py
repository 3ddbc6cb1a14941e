#!/usr/bin/env python3
"""Turns two real sweeps of the sweep-probe test scenario into before.jsonl and after.jsonl with
known answers (tests/compare/compare_test.cpp works them out by hand). Kept so the samples can
be remade; the records keep every field of the real runs, only verdicts and metrics are set.
The sweeps were recorded in schema 1; to_schema_2 gives each record the probe's expectation, its
completion and the judge's verdict, as a schema-2 driver writes them (schema1_before.jsonl keeps
before.jsonl as schema 1 wrote it, to test that old records are still read).

    tests/data/results/edit_samples.py --upgrade tests/data/results/before.jsonl ...

    faultline sweep sweep-probe --grid level=50 --set sleep-ms=0 --repeat 10 --seed 100 --out a.jsonl
    faultline sweep sweep-probe --grid level=90 --set sleep-ms=0 --repeat 5 --seed 100 --out a.jsonl
    faultline sweep sweep-probe --grid level=30 --variant fixed --set sleep-ms=0 --repeat 2 \
        --seed 100 --out a.jsonl
    (the same with --seed 200, --repeat 11 for level=50 and level=70 instead of 30 into b.jsonl)
    tests/data/results/edit_samples.py a.jsonl b.jsonl tests/data/results
"""
import json
import sys

SYMPTOM = {"count": 1, "frames": [], "kind": "probe_race", "report": "", "source": "scenario",
           "subkind": "", "summary": "the probe's pretend race", "truncated": False}


def set_verdict(r, verdict):
    r["verdict"] = verdict
    if verdict == "failed":
        r["symptoms"] = [dict(SYMPTOM)]
        r["observations"] = [{"count": 1, "detail": "the probe's pretend race", "kind": "probe_race"}]
        r["verdict_reason"] = "observed probe_race"
    elif verdict == "passed":
        r["symptoms"] = []
        r["observations"] = [{"count": 0, "detail": "the probe's pretend race", "kind": "probe_race"}]
        r["verdict_reason"] = "completed with no symptom"
    else:  # a run stopped at its timeout: partial metrics that compare must ignore
        r["symptoms"] = []
        r["verdict_reason"] = "timed out after 60s (stopped with SIGTERM)"
        r["exit"].update({"code": None, "signal": "SIGTERM", "timed_out": True})
        r["report_channel"]["done"] = False
        r["metrics"] = {"latency_p99": {"unit": "ms", "value": 999.0}}


def to_schema_2(r):
    if r["schema_version"] == 2:
        r.setdefault("perturb", None)
        r.setdefault("nemesis", [])
        r.setdefault("timeline", [])
        return r
    buggy = r["variant"] == "buggy"
    incident = [{"kind": "probe_race"}]
    # Fields the sweeps predate, as a driver writes them when nothing was injected.
    r.setdefault("perturb", None)
    r.setdefault("nemesis", [])
    r.setdefault("timeline", [])
    r["schema_version"] = 2
    r["expectation"] = {
        "variant": r["variant"], "sanitizer": r["sanitizer"],
        "expect": "incident" if buggy else "clean", "incident": incident, "reach": [],
        "why": "" if buggy else "a test scenario: its race is pretend", "source": "spec",
        "text": f"{r['variant']}@{r['sanitizer']}: incident probe_race" if buggy else
                f"fixed@{r['sanitizer']}: clean  (no reach metric: a test scenario: its race is "
                "pretend)"}
    broken = r["verdict"] == "unknown"
    r["completion"] = {"ok": not broken, "reason": r["verdict_reason"] if broken else ""}
    seen = bool(r["symptoms"])
    if broken:
        r["verdict"] = "unknown"
    elif buggy:
        r["verdict"] = "reproduced" if seen else "not_reproduced"
        r["verdict_reason"] = "the incident: probe_race" if seen else \
            "completed without the incident (probe_race)"
    else:
        r["verdict"] = "fix_failed" if seen else "clean"
        r["verdict_reason"] = "expected clean, saw the incident: probe_race" if seen else \
            "completed with no symptom"
    return r


def metric(r, name, value, unit="ms"):
    r["metrics"][name] = {"unit": unit, "value": value}


def group(records, variant, level):
    rs = [r for r in records if r["variant"] == variant and r["params"]["level"] == str(level)]
    return sorted(rs, key=lambda r: r["repeat_index"])


def main(path_a, path_b, out_dir):
    a = [json.loads(line) for line in open(path_a)]
    b = [json.loads(line) for line in open(path_b)]

    # level=50 buggy: A reproduces 9/10, B 1/10 plus one unknown run (11 runs).
    for i, r in enumerate(group(a, "buggy", 50)):
        set_verdict(r, "failed" if i < 9 else "passed")
    for i, r in enumerate(group(b, "buggy", 50)):
        set_verdict(r, "unknown" if i == 10 else ("failed" if i == 0 else "passed"))
    # level=50 fixed: A 0/10, B 6/10 (B's 11th run is dropped).
    for r in group(a, "fixed", 50):
        set_verdict(r, "passed")
    fixed_b = group(b, "fixed", 50)
    b.remove(fixed_b[10])
    for i, r in enumerate(fixed_b[:10]):
        set_verdict(r, "failed" if i < 6 else "passed")
    # level=50 latencies: B holds the same values as A, so nothing changed (U = mn/2).
    for variant in ("buggy", "fixed"):
        ga, gb = group(a, variant, 50), group(b, variant, 50)
        for i, r in enumerate(ga):
            metric(r, "latency_p50", 2.0 + 0.1 * i)
            metric(r, "latency_p99", 6.0 + 0.2 * i)
        decided_b = [r for r in gb if r["verdict"] != "unknown"]
        for i, r in enumerate(reversed(decided_b)):
            metric(r, "latency_p50", 2.0 + 0.1 * i)
            metric(r, "latency_p99", 6.0 + 0.2 * i)

    # level=90 buggy: 5/5 on both sides; p99 all higher in B, p50 higher but on fewer runs.
    for side, p99, p50 in ((a, [3.1, 3.4, 3.6, 3.9, 4.4], [1.1, 2.3, 3.0]),
                           (b, [5.2, 5.8, 6.0, 6.3, 7.1], [4.2, 5.0, 6.1, 7.7])):
        for i, r in enumerate(group(side, "buggy", 90)):
            set_verdict(r, "failed")
            r["metrics"] = {}
            metric(r, "latency_p99", p99[i])
            if i < len(p50):
                metric(r, "latency_p50", p50[i])
    # level=90 fixed: clean on both sides; a count metric with ties.
    for side, refused in ((a, [0, 0, 1, 1, 2]), (b, [1, 2, 2, 3, 3])):
        for i, r in enumerate(group(side, "fixed", 90)):
            set_verdict(r, "passed")
            r["metrics"] = {"conn_refused": {"value": refused[i]}}

    for name, records in (("before.jsonl", a), ("after.jsonl", b)):
        with open(f"{out_dir}/{name}", "w") as f:
            for r in records:
                f.write(json.dumps(to_schema_2(r), sort_keys=True, separators=(",", ":")) + "\n")


def upgrade(paths):
    for path in paths:
        records = [to_schema_2(json.loads(line)) for line in open(path)]
        with open(path, "w") as f:
            for r in records:
                f.write(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "--upgrade":
        upgrade(sys.argv[2:])
    else:
        main(*sys.argv[1:4])
