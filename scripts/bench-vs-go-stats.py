#!/usr/bin/env python3
"""Tables and ratios for scripts/bench-vs-go.sh, read from the records and logs of one run.

    bench-vs-go-stats.py symptom|rpc|driver|rates RUN_DIR

Each target of issue 12 is printed as MET or MISSED with the measured ratio (docs/performance.md).
"""
import json
import statistics
import sys
from pathlib import Path


def records(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def verdict(ok):
    return "MET   " if ok else "MISSED"


def fmt_ms(v):
    return "-" if v is None else f"{1000 * v:8.1f} ms"


def first_symptom(path):
    """Median time to the first symptom over the runs that reproduced, 'k/n' reproduced, and
    whether it is a bound: a run whose symptom is a scenario's own observation carries no time
    (it is reported when the scenario exits), so its run's duration stands in as an upper bound."""
    rs = records(path)
    hits, bound = [], False
    for r in rs:
        if r.get("verdict") != "reproduced":
            continue
        if r.get("first_symptom_s") is not None:
            hits.append(r["first_symptom_s"])
        else:
            hits.append(r["duration_s"])
            bound = True
    med = statistics.median(hits) if hits else None
    return med, f"{len(hits)}/{len(rs)}", bound


def symptom(run):
    pairs = [
        ("rpc-timeout-race", "TSan / go -race", "rpc-timeout-race-tsan", "seed000-race"),
        # the same with one OS thread per caller (callers-as=threads), against the same Go runs
        ("rpc-timeout-race thr", "TSan / go -race", "rpc-timeout-race-tsan-threads", "seed000-race"),
        # the runtime symbolizing its reports in the child (FAULTLINE_SYMBOLIZER=none), as before
        # the driver did it: what reading every module's debug information first costs
        ("rpc-timeout-race csym", "TSan / go -race", "rpc-timeout-race-tsan-childsym", "seed000-race"),
        ("shared-map-iteration", "TSan / go -race", "shared-map-iteration-tsan", "seed001-race"),
        ("shared-map-iter csym", "TSan / go -race", "shared-map-iteration-tsan-childsym", "seed001-race"),
        ("shared-map-iteration", "none / no -race", "shared-map-iteration-none", "seed001"),
        ("catchall-fatal", "none / no -race", "catchall-fatal-none", "seed003"),
        ("catchall-fatal", "TSan / go -race", "catchall-fatal-tsan", "seed003-race"),
        ("catchall-fatal csym", "TSan / go -race", "catchall-fatal-tsan-childsym", "seed003-race"),
    ]
    print(f"{'incident':22} {'detector':17} {'faultline':>11} {'runs':>5}  {'Go':>11} {'runs':>5}"
          f"  {'ratio':>7}  target <= 1.0x Go")
    for incident, detector, fl, go in pairs:
        fl_path, go_path = run / f"fl-{fl}.jsonl", run / f"go-{go}.jsonl"
        if not fl_path.exists() and not go_path.exists():
            continue
        if not fl_path.exists():
            print(f"{incident:22} {detector:17} faultline not run (no build of it)")
            continue
        f_med, f_n, f_bound = first_symptom(fl_path)
        g_med, g_n, g_bound = first_symptom(go_path)
        if f_med is not None and g_med:
            ratio = f_med / g_med
            tail = f"{ratio:6.2f}x  {verdict(ratio <= 1.0)}"
            if f_bound or g_bound:
                tail += " (an upper bound: <=)"
        else:
            tail = "     -   (no reproduction on one side)"
        f_txt = ("<=" if f_bound else "") + fmt_ms(f_med).strip()
        g_txt = ("<=" if g_bound else "") + fmt_ms(g_med).strip()
        print(f"{incident:22} {detector:17} {f_txt:>11} {f_n:>5}  {g_txt:>11} {g_n:>5}  {tail}")
    print("(medians over the runs that reproduced; runs: reproduced/ran; <=: the symptom is an\n"
          " observation the scenario reports as it exits, untimed: the run's duration bounds it;\n"
          " thr: one thread per caller; csym: the sanitizer runtime symbolizes in the child)")


def rpc_table(path):
    """(stack, conns) -> median calls/s, p50 us and mean us over the rounds."""
    by = {}
    for r in records(path):
        by.setdefault((r["stack"], r["conns"]), []).append(r)
    out = {}
    for key, rs in by.items():
        out[key] = {
            "calls_per_s": statistics.median(r["calls_per_s"] for r in rs),
            "p50_us": statistics.median(r["p50_us"] for r in rs),
            "p99_us": statistics.median(r["p99_us"] for r in rs),
            "mean_us": statistics.median(r["mean_us"] for r in rs),
            "failed": sum(r["failed"] for r in rs),
            "load1": max(r.get("load1", 0) for r in rs),
            "others_cpu": (max(r["others_cpu"] for r in rs)
                           if all("others_cpu" in r for r in rs) else None),
            # the process's own CPU time (user + system) per call: what spinning costs
            "cpu_us_per_call": (statistics.median(1e6 * r["cpu_s"] / r["calls"] for r in rs)
                                if all("cpu_s" in r and r["calls"] for r in rs) else None),
            "rounds": len(rs),
        }
    return out


def rpc(run):
    quiet, hog = rpc_table(run / "rpc-quiet.jsonl"), rpc_table(run / "rpc-hog.jsonl")
    stacks = ["faultline-rpc", "go-net-rpc", "raw-pingpong"]
    # faultline's callers as threads of their own (one each, Client::go then wait): shown, not
    # judged; the targets are judged on faultline-rpc, whose callers are coroutines as Go's are
    # goroutines.
    shown = ["faultline-rpc", "faultline-rpc-threads", "go-net-rpc", "raw-pingpong"]
    print("(max load1: the highest 1-minute load average before a round's measurement, which\n"
          " counts the measured programs' own threads; others: the highest share of the machine's\n"
          " CPU time that went to other processes during one, the hog included)")
    for name, t in (("quiet", quiet), ("with the CPU hog", hog)):
        print(f"-- {name}")
        print(f"{'stack':21} {'conns':>5} {'calls/s':>10} {'p50 us':>9} {'p99 us':>9} "
              f"{'mean us':>9} {'failed':>6} {'max load1':>9} {'others':>6} {'cpu us/call':>11}")
        for k in (1, 16, 256):
            for s in shown:
                v = t.get((s, k))
                if v:
                    print(f"{s:21} {k:5d} {v['calls_per_s']:10.0f} {v['p50_us']:9.1f} "
                          f"{v['p99_us']:9.1f} {v['mean_us']:9.1f} {v['failed']:6d} "
                          f"{v['load1']:9.2f} "
                          + (f"{100 * v['others_cpu']:5.0f}%" if v["others_cpu"] is not None
                             else "     -")
                          + (f" {v['cpu_us_per_call']:11.1f}" if v.get("cpu_us_per_call")
                             else "           -"))
    pinned = rpc_table(run / "rpc-pinned.jsonl")
    if pinned:
        print("-- one connection, every thread on CPU 0 (taskset -c 0), no hog")
        for s in stacks:
            v, q = pinned.get((s, 1)), quiet.get((s, 1))
            if v and q:
                print(f"{s:14} {v['calls_per_s']:10.0f} calls/s  p50 {v['p50_us']:7.1f} us  "
                      f"(on both CPUs: {q['p50_us']:.1f} us, {v['p50_us'] / q['p50_us']:.2f}x)")
    print("-- ratios, faultline / Go (targets: calls/s >= 1.0x, round trip p50 <= 1.0x)")
    for name, t in (("quiet", quiet), ("hog", hog)):
        for k in (1, 16, 256):
            f, g = t.get(("faultline-rpc", k)), t.get(("go-net-rpc", k))
            if not f or not g:
                continue
            cr = f["calls_per_s"] / g["calls_per_s"]
            rr = f["p50_us"] / g["p50_us"]
            mr = f["mean_us"] / g["mean_us"]
            print(f"{name:5} {k:3d} conns: calls/s {cr:5.2f}x {verdict(cr >= 1.0)}  "
                  f"round trip p50 {rr:5.2f}x {verdict(rr <= 1.0)}  (mean {mr:5.2f}x)")
    print("-- floor: raw blocking ping-pong p50 / faultline p50, Go p50 (quiet)")
    for k in (1, 16, 256):
        f, g, p = (quiet.get((s, k)) for s in stacks)
        if p and f and g:
            print(f"{k:3d} conns: floor {p['p50_us']:.1f} us; faultline {f['p50_us'] / p['p50_us']:.1f}x "
                  f"the floor, Go {g['p50_us'] / p['p50_us']:.1f}x")
    print("-- hog slowdown, round trip p50 with the hog / quiet (target: faultline's no worse than Go's)")
    for k in (1, 16, 256):
        row = []
        for s in stacks:
            q, h = quiet.get((s, k)), hog.get((s, k))
            row.append(h["p50_us"] / q["p50_us"] if q and h else None)
        if None in row[:2]:
            continue
        fl, go, raw = row
        raw_s = f"{raw:.2f}x" if raw else "-"
        print(f"{k:3d} conns: faultline {fl:6.2f}x  Go {go:6.2f}x  floor {raw_s}  "
              f"{verdict(fl <= go)} (faultline/Go slowdown {fl / go:.2f})")


def hyperfine(path):
    """[(command, mean, stddev, median)] of a hyperfine export, or None when it did not finish."""
    try:
        data = json.loads(path.read_text())
        rows = [(r["command"], r["mean"], r["stddev"], r["median"]) for r in data["results"]]
    except (OSError, ValueError, KeyError):
        rows = []
    if len(rows) != 2:
        print(f"{path.name}: hyperfine did not finish (see {path.with_suffix('.log').name})")
        return None
    return rows


def driver(run):
    t = hyperfine(run / "hf-true.json")
    if t is None:
        return
    (_, bare, bare_sd, bare_med), (_, drv, drv_sd, drv_med) = t
    extra = (drv_med - bare_med) * 1000
    print(f"/bin/true bare {bare_med * 1000:.2f} ms (mean {bare * 1000:.2f} +- {bare_sd * 1000:.2f}), "
          f"faultline exec {drv_med * 1000:.2f} ms (mean {drv * 1000:.2f} +- {drv_sd * 1000:.2f}): "
          f"+{extra:.2f} ms  target <= +1 ms: {verdict(extra <= 1.0)}")
    t = hyperfine(run / "hf-scenario.json")
    if t is None:
        return
    (_, bare, bare_sd, bare_med), (_, drv, drv_sd, drv_med) = t
    ratio = drv_med / bare_med
    print(f"shared-map-iteration fixed bare {bare_med * 1000:.1f} ms (mean {bare * 1000:.1f} +- "
          f"{bare_sd * 1000:.1f}), faultline run {drv_med * 1000:.1f} ms (mean {drv * 1000:.1f} +- "
          f"{drv_sd * 1000:.1f}): {ratio:.3f}x  target <= 1.05x: {verdict(ratio <= 1.05)}")
    for sc in ("listener-lifetime", "shared-map-iteration"):
        t = hyperfine(run / f"hf-jobs-{sc}.json")
        if t is None:
            continue
        (_, j1, _, j1m), (_, j2, _, j2m) = t
        speed = j1m / j2m
        print(f"{sc} fixed, 20 runs: --jobs 1 {j1m:.2f} s, --jobs 2 {j2m:.2f} s: {speed:.2f}x "
              f"throughput  target >= 1.8x: {verdict(speed >= 1.8)}")
    syscall_costs(run)


def syscall_costs(run):
    """Median in-kernel time of the cgroup join and of fdatasync, from strace -T of exec runs."""
    import re
    join, sync = [], []
    for f in sorted(run.glob("strace-*.txt")):
        for line in f.read_text().splitlines():
            m = re.search(r"<([0-9.]+)>$", line)
            if not m:
                continue
            if "fdatasync(" in line:
                sync.append(float(m.group(1)))
            elif re.search(r'write\(\d+, "0", 1\)', line):
                join.append(float(m.group(1)))
    if join or sync:
        med = lambda v: f"{1000 * statistics.median(v):.2f} ms (n={len(v)})" if v else "-"
        print(f"where exec's time goes (strace -T, in the kernel): joining the run's cgroup "
              f"{med(join)}, fdatasync of the results file {med(sync)}")


def rates(run):
    walls = run / "walls.tsv"
    if not walls.exists():
        print("no runs")
        return
    seen = set()
    print(f"{'scenario':22} {'detector':8} {'runs to':8} {'runs':>4} {'wall s':>8} "
          f"{'runs/min':>9} {'median run s':>13} {'reproduced':>10}")
    for line in walls.read_text().splitlines():
        fields = line.split("\t")
        scenario, san, n, wall, file = fields[:5]
        mode = fields[5] if len(fields) > 5 else "full"  # "answer": --end-at-answer
        if (scenario, san, mode) in seen:
            continue
        seen.add((scenario, san, mode))
        rs = records(run / file)
        med = statistics.median(r["duration_s"] for r in rs) if rs else float("nan")
        hit = sum(1 for r in rs if r.get("verdict") == "reproduced")
        per_min = 60 * int(n) / float(wall)
        ends = "answer" if mode == "answer" else "end"
        print(f"{scenario:22} {san:8} {ends:8} {n:>4} {float(wall):8.1f} {per_min:9.1f} "
              f"{med:13.2f} {hit:>6}/{len(rs)}")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("symptom", "rpc", "driver", "rates"):
        print(__doc__, file=sys.stderr)
        return 2
    {"symptom": symptom, "rpc": rpc, "driver": driver, "rates": rates}[sys.argv[1]](Path(sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
