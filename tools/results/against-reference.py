#!/usr/bin/env python3
"""Prints icedit's ICE runs beside the published ICE code's figures on the default model (docs/RESULTS.md,
"ICE as the published code runs it").

Usage: tools/results/against-reference.py NAME=DIR [NAME=DIR ...]
  each DIR a tools/results/run-knowedit.sh output (DIR/single/SET/ICE/summary.json)

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


if __name__ == "__main__":
    main(sys.argv[1:])
