#!/usr/bin/env python3
"""Checks `faultline report` from outside: the page of a results file, loaded in headless
Chromium, shows no console error, loads nothing from the network, and holds the numbers the
records hold. Those numbers are computed here from the JSON lines themselves (verdict counts,
the Wilson interval, histogram counts and maxima from the per-run metrics), not from anything
the report code made.

  check_report.py browser   FAULTLINE RESULTS WORKDIR CHROMIUM
  check_report.py bad-input FAULTLINE RESULTS WORKDIR
"""
import collections
import html.parser
import json
import math
import os
import re
import subprocess
import sys

HITS = {"reproduced", "fix_failed", "observed"}  # the judge's is_hit outcomes
Z95 = 1.959963984540054

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def wilson(k, n):
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = Z95 * Z95
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (0.0 if k == 0 else max(0.0, center - half)), (1.0 if k == n else min(1.0, center + half))


class Page(html.parser.HTMLParser):
    """The parts of the DOM the checks read: elements with data- attributes and their text."""

    def __init__(self):
        super().__init__()
        self.stack = []  # (tag, attrs, text parts)
        self.elements = []  # (tag, attrs, text, attributes of the enclosing table)
        self.tables = []
        self.srcs = []
        self.panels = []  # attributes of the enclosing chart panels
        self.points = []  # (panel attributes, circle attributes, title text)
        self.run = None  # the timeline being read (its data-run)
        self.series = collections.defaultdict(list)  # run id -> attributes of its drawn series

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href"):
            if name in a and a[name]:
                self.srcs.append((tag, name, a[name]))
        if tag == "table":
            self.tables.append(a)
        if tag == "div" and "data-what" in a:
            self.panels.append(a)
        if tag == "div" and "data-run" in a:
            self.run = a["data-run"]
        if tag in ("path", "polyline") and "samples" in a.get("class", "").split() and self.run:
            self.series[self.run].append(a)
        if tag in ("br", "meta", "img", "link", "input"):
            return
        self.stack.append((tag, a, []))

    def handle_endtag(self, tag):
        while self.stack:
            t, a, text = self.stack.pop()
            joined = "".join(text)
            if self.stack:
                self.stack[-1][2].append(joined)
            self.elements.append((t, a, joined, dict(self.tables[-1]) if self.tables else {}))
            if t == "circle" and self.panels:
                self.points.append((self.panels[-1], a, joined))
            if t == "div" and "data-what" in a and self.panels:
                self.panels.pop()
            if t == tag:
                break
        if tag == "table" and self.tables:
            self.tables.pop()

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)


def records_of(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def experiment_id(record):
    return re.sub(r"\|r\d+$", "", record["key"])


def run_chromium(chromium, url, extra):
    cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--enable-logging=stderr", "--v=0", "--host-resolver-rules=MAP * ~NOTFOUND"] + extra + [url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    console = [line for line in p.stderr.splitlines() if "CONSOLE" in line]
    return p, console


def check_console_detection(chromium, work):
    """The console check must be able to fail: a page that logs an error is caught."""
    probe = os.path.join(work, "console-probe.html")
    with open(probe, "w") as f:
        f.write("<!DOCTYPE html><html><body><script>console.error('probe');</script></body></html>")
    _, console = run_chromium(chromium, "file://" + probe, ["--dump-dom"])
    check(any("probe" in line for line in console),
          "a console.error on a probe page was not seen: the console check cannot fail")


def check_verdicts(page, records):
    runs = collections.defaultdict(list)
    for r in records:
        runs[experiment_id(r)].append(r)
    rows = [(a, text) for (t, a, text, _) in page.elements if t == "tr" and "data-hits" in a]
    check(len(rows) == len(runs), f"{len(rows)} verdict rows for {len(runs)} experiments")
    for a, text in rows:
        key = a["data-key"]
        mine = runs.get(key, [])
        hits = sum(r["verdict"] in HITS for r in mine)
        decided = sum(r["verdict"] != "unknown" for r in mine)
        check(int(a["data-hits"]) == hits and int(a["data-decided"]) == decided,
              f"{key}: page says {a['data-hits']}/{a['data-decided']}, records {hits}/{decided}")
        check(f"{hits}/{decided}" in text, f"{key}: '{hits}/{decided}' not shown in its row")
        lo, hi = wilson(hits, decided)
        check(abs(float(a["data-lo"]) - lo) < 1e-4 and abs(float(a["data-hi"]) - hi) < 1e-4,
              f"{key}: interval [{a['data-lo']}, {a['data-hi']}], Wilson gives [{lo:.6f}, {hi:.6f}]")
        shown = f"[{100 * lo:.0f}%, {100 * hi:.0f}%]"
        check(shown in text, f"{key}: '{shown}' not shown in its row")
    return len(rows)


def check_matrix(page, records):
    cells = collections.Counter()
    for r in records:
        cell = f"{r['scenario']}|{r['variant']}|{r['sanitizer']}"
        cells[cell, "hits"] += r["verdict"] in HITS
        cells[cell, "decided"] += r["verdict"] != "unknown"
    shown = [(a, text) for (t, a, text, _) in page.elements if t == "td" and "data-cell" in a]
    several = {r["scenario"] for r in records
               if len({q["sanitizer"] for q in records if q["scenario"] == r["scenario"]}) > 1}
    with_matrix = {a["data-cell"].split("|")[0] for a, _ in shown}
    check(with_matrix == several, f"detector matrices for {sorted(with_matrix)}, want those run in "
          f"several builds: {sorted(several)}")
    for a, text in shown:
        c = a["data-cell"]
        want = f"{cells[c, 'hits']}/{cells[c, 'decided']}"
        check(text.strip() == want, f"detector matrix {c}: page {text.strip()}, records {want}")


def check_latency(page, records):
    count = collections.Counter()
    top = {}
    for r in records:
        if r["verdict"] == "unknown":
            continue
        for name in r.get("histograms", {}):
            key = (name, experiment_id(r))
            count[key] += int(r["metrics"][name + "_count"]["value"])
            top[key] = max(top.get(key, 0), r["metrics"][name + "_max"]["value"])
    rows = [(a, table) for (t, a, _, table) in page.elements
            if t == "tr" and "data-count" in a and "data-histogram" in table]
    check(len(rows) == len(count), f"{len(rows)} latency rows for {len(count)} (histogram, experiment)")
    for a, table in rows:
        key = (table["data-histogram"], a["data-key"])
        check(int(a["data-count"]) == count[key],
              f"{key}: page counts {a['data-count']} values, the runs' metrics {count[key]}")
        m = float(a["data-max"])
        check(abs(m - top[key]) <= 1e-6 * max(1.0, top[key]),
              f"{key}: page max {m}, the runs' largest max {top[key]}")


def check_metric_panels(page, records, metric):
    """Each point of a metric's chart over a parameter is the median of that metric over the
    decided runs of one experiment of the panel's variant at that value."""
    runs = collections.defaultdict(list)
    for r in records:
        if r["verdict"] != "unknown" and metric in r["metrics"]:
            runs[experiment_id(r)].append(r)
    seen = 0
    for panel, circle, title in page.points:
        if panel["data-what"] != metric or panel["data-axis"].startswith(("fault.", "perturb.")):
            continue
        axis, variant = panel["data-axis"], panel["data-variant"]
        value = title.split(":")[0].split("=", 1)[1]
        medians = []
        for key, rs in runs.items():
            r = rs[0]
            if r["variant"] == variant and r["params"].get(axis) == value:
                vals = sorted(x["metrics"][metric]["value"] for x in rs)
                mid = len(vals) // 2
                medians.append(vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2)
        y = float(circle["data-y"])
        check(any(abs(y - m) <= 1e-6 * max(1.0, abs(m)) for m in medians),
              f"{metric} over {axis}, {variant} at {value}: point {y} is no experiment's median {medians}")
        seen += 1
    check(seen > 0, f"no point drawn for {metric} over a parameter")


def check_symptoms_and_timelines(page, records):
    runs_with = collections.Counter()
    for r in records:
        for kind in {s["kind"] for s in r["symptoms"]}:
            runs_with[kind] += 1
    shown = collections.defaultdict(list)
    for (t, a, _, _) in page.elements:
        if t == "details" and "data-kind" in a:
            shown[a["data-kind"]].append(int(a["data-runs"]))
    check(set(shown) == set(runs_with), f"symptom kinds shown {sorted(shown)}, in records {sorted(runs_with)}")
    for kind, counts in shown.items():
        check(max(counts) <= runs_with[kind] <= sum(counts),
              f"{kind}: runs per report {counts} do not account for its {runs_with[kind]} runs")
    per_scenario = collections.Counter(r["scenario"] for r in records)
    drawn = sum(1 for (t, a, _, _) in page.elements if t == "div" and "data-run" in a)
    want = sum(min(12, n) for n in per_scenario.values())
    check(drawn == want, f"{drawn} timelines drawn, want {want} (12 a scenario at most)")
    check_timeline_series(page, records)


def preferred_series(samples):
    """The series a timeline should draw: the corrected latency p99 over time, else another
    latency p99, else the first series by name."""
    for prefix in ("latency_corrected_p99_", "latency"):
        named = sorted(n for n in samples if n.startswith(prefix) and "_p99_" in n)
        if named:
            return named[0]
    return min(samples) if samples else None


def check_timeline_series(page, records):
    by_id = {r["run_id"]: r for r in records}
    latency_drawn = 0
    for (t, a, _, _) in page.elements:
        if t != "div" or "data-run" not in a:
            continue
        r = by_id.get(a["data-run"])
        check(r is not None, f"timeline of run {a['data-run']}, which no record has")
        if r is None:
            continue
        samples = {n: v for n, v in r.get("samples", {}).items() if v}
        want = preferred_series(samples)
        drawn = page.series.get(a["data-run"], [])
        if want is None:
            check(not drawn, f"run {r['run_id']}: a series drawn from a record with none")
            continue
        check(len(drawn) == 1, f"run {r['run_id']}: {len(drawn)} series drawn, want 1 ({want})")
        if len(drawn) != 1:
            continue
        line = drawn[0]
        check(line.get("data-series") == want,
              f"run {r['run_id']}: draws {line.get('data-series')}, want {want}")
        values = [v for (_, v) in samples[want]]
        check(int(line.get("data-n", -1)) == len(values),
              f"run {r['run_id']} {want}: {line.get('data-n')} points drawn, the record has {len(values)}")
        top = float(line.get("data-max", "nan"))
        check(math.isclose(top, max(values), rel_tol=1e-9),
              f"run {r['run_id']} {want}: drawn max {top}, the record's max {max(values)}")
        latency_drawn += want.startswith("latency")
    check(latency_drawn > 0, "no timeline draws a latency over time")


def browser(faultline, results, work, chromium):
    if not chromium or chromium.endswith("NOTFOUND") or not os.path.exists(chromium):
        print("FAIL: no chromium: install it with bash scripts/setup.sh")
        return 1
    page_path = os.path.join(work, "report.html")
    p = subprocess.run([faultline, "report", results, "-o", page_path, "--metric", "latency_p99"],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"faultline report exited {p.returncode}: {p.stderr}")
    if p.returncode != 0:
        return 1
    with open(page_path) as f:
        raw = f.read()
    check("<script" not in raw.lower(), "the page has a script (it needs none)")
    check_console_detection(chromium, work)
    dom, console = run_chromium(chromium, "file://" + page_path, ["--dump-dom"])
    check(dom.returncode == 0 and "</html>" in dom.stdout, f"chromium did not load the page: {dom.stderr[-500:]}")
    check(not console, f"console messages while loading the page: {console}")
    page = Page()
    page.feed(dom.stdout)
    external = [s for s in page.srcs if re.match(r"(https?:)?//", s[2])]
    check(not external, f"the page refers to the network: {external}")
    records = records_of(results)
    rows = check_verdicts(page, records)
    check_matrix(page, records)
    check_latency(page, records)
    check_symptoms_and_timelines(page, records)
    check_metric_panels(page, records, "latency_p99")
    shot = os.path.join(work, "report.png")
    if os.path.exists(shot):
        os.remove(shot)
    run_chromium(chromium, "file://" + page_path, ["--hide-scrollbars", "--window-size=1300,2400",
                                                   f"--screenshot={shot}"])
    check(os.path.exists(shot) and os.path.getsize(shot) > 20000, "no screenshot of the page")
    print(f"{len(records)} records, {rows} verdict rows checked in chromium; {len(failures)} failures")
    return 1 if failures else 0


def bad_input(faultline, results, work):
    empty = os.path.join(work, "empty.jsonl")
    open(empty, "w").close()
    future = os.path.join(work, "future.jsonl")
    with open(results) as f, open(future, "w") as g:
        r = json.loads(f.readline())
        r["schema_version"] = 99
        g.write(json.dumps(r) + "\n")
    out = os.path.join(work, "bad.html")
    cases = [
        ([empty, "-o", out], "empty"),
        ([future, "-o", out], "schema"),
        ([results, "-o", "/proc/faultline-report.html"], "cannot write /proc/faultline-report.html"),
        ([results, "-o", work], "is a folder"),
        ([results], "name the page to write with -o"),
        ([os.path.join(work, "missing.jsonl"), "-o", out], "missing.jsonl"),
        ([results, "-o", out, "--metric", "no_such_metric"], "--metric no_such_metric: no record has it"),
    ]
    for args, want in cases:
        if os.path.exists(out):
            os.remove(out)
        p = subprocess.run([faultline, "report"] + args, capture_output=True, text=True)
        lines = p.stderr.strip().splitlines()
        check(p.returncode == 2, f"report {args}: exit {p.returncode}, not 2 ({p.stderr.strip()})")
        check(len(lines) == 1 and want in p.stderr, f"report {args}: said {lines}, want one line with '{want}'")
        check(not os.path.exists(out), f"report {args}: left {out}")
        leftovers = [n for n in os.listdir(work) if ".tmp-" in n]
        check(not leftovers, f"report {args}: left {leftovers}")
    print(f"{len(cases)} bad inputs checked; {len(failures)} failures")
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "browser":
        return browser(argv[2], argv[3], argv[4], argv[5] if len(argv) > 5 else "")
    if len(argv) == 5 and argv[1] == "bad-input":
        return bad_input(argv[2], argv[3], argv[4])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
