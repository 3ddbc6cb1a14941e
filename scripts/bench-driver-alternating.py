#!/usr/bin/env python3
"""Driver overhead measured in alternation (docs/performance.md, section 3): each round runs
/bin/true bare, under the spawn floor (a C program that only posix_spawns and waits), under
`faultline exec`, then a ~60-100 ms scenario bare and through `faultline run`. Alternating
keeps a load that comes and goes from landing on one side only; the medians are printed.

usage: bench-driver-alternating.py FAULTLINE SPAWN_FLOOR OUT_DIR [ROUNDS]
"""
import json
import statistics
import subprocess
import sys
import time


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - start) * 1000


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    faultline, floor, out = sys.argv[1:4]
    rounds = int(sys.argv[4]) if len(sys.argv) == 5 else 30
    run = [faultline, "run", "shared-map-iteration", "--variant", "fixed", "--seed", "7"]
    subprocess.run(run + ["--out", f"{out}/alt-probe.jsonl"], capture_output=True, check=False)
    with open(f"{out}/alt-probe.jsonl") as f:
        bare = json.loads(f.readline())["command"]
    cmds = {
        "true": ["/bin/true"],
        "floor": [floor, "/bin/true"],
        "exec": [faultline, "exec", "--out", f"{out}/alt-exec.jsonl", "--", "/bin/true"],
        "bare": bare,
        "run": run + ["--out", f"{out}/alt-run.jsonl"],
    }
    times = {name: [] for name in cmds}
    load = [open("/proc/loadavg").read().split()[0]]
    for _ in range(rounds):
        for name, cmd in cmds.items():
            times[name].append(timed(cmd))
    load.append(open("/proc/loadavg").read().split()[0])
    m = {name: statistics.median(t) for name, t in times.items()}
    print(f"alternating, {rounds} rounds, load {load[0]} -> {load[1]} (medians)")
    print(f"/bin/true {m['true']:.2f} ms; spawn floor {m['floor']:.2f} ms (+{m['floor'] - m['true']:.2f}); "
          f"faultline exec {m['exec']:.2f} ms (+{m['exec'] - m['true']:.2f})  "
          f"target <= +1 ms: {'MET' if m['exec'] - m['true'] <= 1 else 'MISSED'}")
    ratio = m["run"] / m["bare"]
    print(f"shared-map-iteration fixed bare {m['bare']:.1f} ms, faultline run {m['run']:.1f} ms: "
          f"{ratio:.3f}x (+{m['run'] - m['bare']:.1f} ms)  target <= 1.05x: "
          f"{'MET' if ratio <= 1.05 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
