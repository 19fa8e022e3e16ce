#!/usr/bin/env python3
"""Prints icedit's ICE runs beside the published ICE code's figures on the default model (docs/RESULTS.md,
"ICE as the published code runs it").

Usage: tools/results/against-reference.py NAME=DIR [NAME=DIR ...]
  each DIR a tools/results/run-knowedit.sh output (DIR/single/SET/ICE/summary.json)
       tools/results/against-reference.py --seeds NAME=DIR,DIR,... [NAME=DIR,DIR,... ...]
  the same settings run with several seeds (SEED=k in run-knowedit.sh): per set and metric the mean over the seeds,
  its distance from the reference, the seeds' standard deviation and range, and whether the reference lies inside
  that range. A set missing from one of the DIRs is left out of that set's mean (the count says how many seeds).

The reference figures are external: the published ICE code (bigai-ai/ICE, commit 86ba18e, transformers 4.40) run on
this model with icedit's default-model preset, one edit at a time, on the first 50 cases of each file, as reported
in issue 14. They are cited here, not computed.
"""
import json
import pathlib
import sys

# set: (Edit Succ., Portability, Locality, Rephrase or None)
REFERENCE = {
    "ZsRE": (100.0, 30.90, 99.86, 68.09),
    "wiki_counterfact": (98.98, 47.74, 92.09, None),
    "wiki_recent": (99.50, 26.14, 95.93, None),
}
METRICS = ("edit_succ", "portability", "locality", "rephrase")
NAMES = ("Edit Succ.", "Portability", "Locality", "Rephrase")


def cell(v, ref):
    if v is None or ref is None:
        return "–"
    return f"{v:.2f} ({v - ref:+.2f})"


def main(args):
    runs = [a.split("=", 1) for a in args]
    print("| set | run | " + " | ".join(NAMES) + " | s/edit |")
    print("|---" * (3 + len(NAMES)) + "|")
    worst = {}
    for ds, ref in REFERENCE.items():
        print(f"| {ds} | published ICE code (external) | "
              + " | ".join("–" if r is None else f"{r:.2f}" for r in ref) + " | – |")
        for name, d in runs:
            f = pathlib.Path(d, "single", ds, "ICE", "summary.json")
            if not f.exists():
                print(f"| {ds} | {name} | " + " | ".join("not run" for _ in NAMES) + " | – |")
                continue
            s = json.loads(f.read_text())
            vals = [s.get(m) for m in METRICS]
            for v, r, metric in zip(vals, ref, NAMES):
                if v is not None and r is not None:
                    key = (name, metric)
                    worst[key] = max(worst.get(key, 0.0), abs(v - r))
            print(f"| {ds} | {name} | " + " | ".join(cell(v, r) for v, r in zip(vals, ref))
                  + f" | {s['seconds_per_edit']:.2f} |")
    print()
    for name, _ in runs:
        parts = [f"{metric} {worst[(name, metric)]:.2f}" for metric in NAMES if (name, metric) in worst]
        print(f"- {name}: largest distance from the reference per metric: " + ", ".join(parts))


def seeds(args):
    import statistics
    print("| set | run | seeds | " + " | ".join(NAMES) + " |")
    print("|---" * (3 + len(NAMES)) + "|")
    verdicts = []
    for ds, ref in REFERENCE.items():
        print(f"| {ds} | published ICE code (external) | – | "
              + " | ".join("–" if r is None else f"{r:.2f}" for r in ref) + " |")
        for arg in args:
            name, dirs = arg.split("=", 1)
            summaries = []
            for d in dirs.split(","):
                f = pathlib.Path(d, "single", ds, "ICE", "summary.json")
                if f.exists():
                    summaries.append(json.loads(f.read_text()))
            if not summaries:
                continue
            cells = []
            for metric, label, r in zip(METRICS, NAMES, ref):
                vals = [x.get(metric) for x in summaries if x.get(metric) is not None]
                if not vals or r is None:
                    cells.append("–")
                    continue
                mean = statistics.fmean(vals)
                sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
                inside = min(vals) <= r <= max(vals)
                cells.append(f"{mean:.2f} ({mean - r:+.2f}) sd {sd:.2f}, {min(vals):.2f}–{max(vals):.2f}"
                             + (" ∋ ref" if inside else ""))
                verdicts.append((name, ds, label, abs(mean - r)))
            seeds_used = ", ".join(str(x.get("seed")) for x in summaries)
            print(f"| {ds} | {name} | {seeds_used} | " + " | ".join(cells) + " |")
    print()
    for name in dict.fromkeys(v[0] for v in verdicts):
        mine = [v for v in verdicts if v[0] == name]
        far = [f"{ds} {label} {d:.2f}" for _, ds, label, d in mine if d > 2]
        largest = max(mine, key=lambda v: v[3])
        print(f"- {name}: seed means within 2 points of the reference on {len(mine) - len(far)} of {len(mine)}"
              f" metrics; largest distance {largest[3]:.2f} ({largest[1]} {largest[2]})"
              + (f"; beyond 2: {', '.join(far)}" if far else ""))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--seeds"]:
        seeds(sys.argv[2:])
    else:
        main(sys.argv[1:])
