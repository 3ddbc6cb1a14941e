#!/usr/bin/python3
"""Charts from faultline results files (docs/sweeps.md, "Plotting").

    scripts/plot.py results/rpc-sweep.jsonl --x callers --out plots/

writes into --out:
  rate.png     reproduction rate against the --x parameter, one line per variant (and sanitizer,
               and value of any other swept parameter), with 95 % Wilson intervals
  latency.png  the <prefix>_pNN metrics (default prefix: latency) against --x: the median over
               the runs of each point, one line per percentile and variant
  threads.png  the "threads" series of records that have samples, thread count over time, one
               line per run, coloured by the --x value

Uses Debian's python3-matplotlib (hence /usr/bin/python3). Unknown runs are left out of rates,
as in `faultline compare`. A chart with nothing to draw is skipped with a note.
"""
import argparse
import collections
import json
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402

Z95 = 1.959963984540054


def wilson(k, n):
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + Z95 * Z95 / n
    centre = (p + Z95 * Z95 / (2 * n)) / denom
    half = Z95 / denom * math.sqrt(p * (1 - p) / n + Z95 * Z95 / (4 * n * n))
    return (0.0 if k == 0 else max(0.0, centre - half), 1.0 if k == n else min(1.0, centre + half))


def read(paths):
    records = []
    for path in paths:
        if not os.path.isfile(path):
            sys.exit(f"cannot read results file {path}: no such file")
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    if not line.endswith("\n"):
                        continue  # a torn last line of a killed driver
                    sys.exit(f"{path}:{number}: not a JSON record")
    if not records:
        sys.exit("no records in " + ", ".join(paths))
    return records


def x_value(record, x):
    raw = record["params"].get(x)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return raw


def series_label(record, x, swept):
    """variant, sanitizer, and the other parameters that vary across the file."""
    parts = [record["variant"]]
    if record["sanitizer"] != "none":
        parts.append(record["sanitizer"])
    parts += [f"{k}={record['params'][k]}" for k in swept if k != x and k in record["params"]]
    return " ".join(parts)


def swept_params(records):
    values = collections.defaultdict(set)
    for r in records:
        for k, v in r["params"].items():
            values[k].add(v)
    return sorted(k for k, vs in values.items() if len(vs) > 1)


def variant_style(label):
    """buggy solid with dots, everything else dashed with squares: equal lines stay visible."""
    if label.startswith("buggy"):
        return {"linestyle": "-", "marker": "o"}
    return {"linestyle": "--", "marker": "s", "markerfacecolor": "none"}


def numeric_axis(ax, xs):
    # Sweeps usually grow geometrically (1, 10, 100 or 2, 4, ... 64): a log axis spaces them evenly.
    if xs and all(isinstance(v, float) for v in xs) and min(xs) > 0 and max(xs) / min(xs) >= 16:
        ax.set_xscale("log")
        ticks = sorted(set(xs))
        ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
        ax.minorticks_off()


def plot_rate(records, x, swept, out):
    groups = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    for r in records:
        xv = x_value(r, x)
        if xv is None or r["verdict"] == "unknown":
            continue
        cell = groups[series_label(r, x, swept)][xv]
        cell[0] += r["verdict"] == "failed"
        cell[1] += 1
    if not groups:
        return "no decided runs with parameter " + x
    fig, ax = plt.subplots(figsize=(8, 5))
    all_x = []
    for label, points in sorted(groups.items()):
        xs = sorted(points)
        all_x += xs
        rates = [points[v][0] / points[v][1] for v in xs]
        bounds = [wilson(*points[v]) for v in xs]
        low = [r - b[0] for r, b in zip(rates, bounds)]
        high = [b[1] - r for r, b in zip(rates, bounds)]
        n = sum(points[v][1] for v in xs)
        ax.errorbar(xs, rates, yerr=[low, high], capsize=4, label=f"{label} ({n} runs)",
                    **variant_style(label))
    numeric_axis(ax, all_x)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(x)
    ax.set_ylabel("reproduction rate (failed / decided runs)")
    ax.set_title(f"{records[0]['scenario']}: reproduction rate, 95% Wilson intervals")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return None


def plot_latency(records, x, swept, prefix, out):
    pattern = re.compile(re.escape(prefix) + r"_p(\d+)$")
    values = collections.defaultdict(lambda: collections.defaultdict(list))
    unit = ""
    for r in records:
        xv = x_value(r, x)
        if xv is None or r["verdict"] == "unknown":
            continue
        for name, entry in r["metrics"].items():
            m = pattern.match(name)
            if not m or not isinstance(entry.get("value"), (int, float)):
                continue
            unit = entry.get("unit", unit)
            values[(series_label(r, x, swept), int(m.group(1)), name)][xv].append(entry["value"])
    if not values:
        return f"no {prefix}_pNN metrics"
    fig, ax = plt.subplots(figsize=(8, 5))
    all_x = []
    # p999 sorts after p99: "999" means 99.9, so order by the number read as a fraction.
    for (label, _, name), points in sorted(values.items(),
                                           key=lambda kv: (kv[0][0], float("0." + str(kv[0][1])))):
        xs = sorted(points)
        all_x += xs
        medians = [sorted(points[v])[len(points[v]) // 2] if len(points[v]) % 2 else
                   sum(sorted(points[v])[len(points[v]) // 2 - 1:len(points[v]) // 2 + 1]) / 2
                   for v in xs]
        ax.plot(xs, medians, label=f"{label} {name[len(prefix) + 1:]}", **variant_style(label))
    numeric_axis(ax, all_x)
    ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(f"{prefix} ({unit})" if unit else prefix)
    ax.set_title(f"{records[0]['scenario']}: {prefix} percentiles, median over runs")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return None


def plot_threads(records, x, swept, out, max_runs=60):
    runs = [r for r in records if r.get("samples", {}).get("threads")]
    if not runs:
        return "no records with a threads series"
    runs = runs[:max_runs]
    xs = sorted({x_value(r, x) for r in runs if x_value(r, x) is not None},
                key=lambda v: (0, v, "") if isinstance(v, float) else (1, 0, v))
    cmap = plt.get_cmap("viridis", max(len(xs), 1))
    colour = {v: cmap(i) for i, v in enumerate(xs)}
    fig, ax = plt.subplots(figsize=(8, 5))
    labelled = set()
    for r in runs:
        points = r["samples"]["threads"]
        xv = x_value(r, x)
        label = f"{x}={r['params'].get(x)} {r['variant']}"
        style = "-" if r["variant"].startswith("buggy") else "--"
        ax.plot([p[0] for p in points], [p[1] for p in points], style,
                color=colour.get(xv, "grey"), alpha=0.7,
                label=None if label in labelled else label)
        labelled.add(label)
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel("threads")
    ax.set_title(f"{records[0]['scenario']}: thread count over time ({len(runs)} runs)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return None


def main():
    parser = argparse.ArgumentParser(description="Charts from faultline results files.")
    parser.add_argument("files", nargs="+", help="results files (JSON Lines)")
    parser.add_argument("--x", required=True, help="the parameter on the x axis, e.g. callers")
    parser.add_argument("--out", default="plots", help="folder for the PNG files")
    parser.add_argument("--scenario", help="only this scenario (default: the first one found)")
    parser.add_argument("--prefix", default="latency", help="metrics named <prefix>_pNN")
    args = parser.parse_args()

    records = read(args.files)
    scenario = args.scenario or records[0]["scenario"]
    records = [r for r in records if r["scenario"] == scenario]
    if not records:
        sys.exit(f"no records of scenario {scenario}")
    if not any(args.x in r["params"] for r in records):
        known = sorted({k for r in records for k in r["params"]})
        sys.exit(f"no record has parameter {args.x}; the parameters are: {', '.join(known)}")
    swept = swept_params(records)
    os.makedirs(args.out, exist_ok=True)
    charts = [("rate.png", lambda p: plot_rate(records, args.x, swept, p)),
              ("latency.png", lambda p: plot_latency(records, args.x, swept, args.prefix, p)),
              ("threads.png", lambda p: plot_threads(records, args.x, swept, p))]
    for name, draw in charts:
        path = os.path.join(args.out, name)
        skipped = draw(path)
        print(f"skipped {name}: {skipped}" if skipped else f"wrote {path}")


if __name__ == "__main__":
    main()
