#!/usr/bin/env python3
"""The table of tools/bench/lifelong.sh: one row per run directory, from its summary.json, cases.jsonl (the
unedited model's fluency, measured with the same seeds), curve.jsonl (resident memory) and time.txt (GNU time).

The last column estimates the hours a run of TARGET edits (default 1000; --target N) would take on the same machine
at the same load, with the default probes (50 every 100 edits): TARGET x (mean seconds per edit + mean seconds of
one case's final measurement, pre and post) + its probe points x 50 x half a case's measurement.

With --curves it prints instead the probe-set curves of the runs: Edit Succ., Locality, Fluency and resident memory
at every probe point of curve.jsonl, one row per metric and run."""
import json
import pathlib
import re
import sys


def fmt(v, digits=1):
    return "–" if v is None else f"{v:.{digits}f}"


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def estimate_hours(cases, target, probes=50, every=100):
    edit = mean(c["edit_seconds"] for c in cases) or 0.0
    measure = mean(c["seconds"] - c["edit_seconds"] for c in cases) or 0.0
    points = target // every + 1
    return (target * (edit + measure) + points * probes * measure / 2) / 3600


def row(d, target):
    s = json.loads((d / "summary.json").read_text())
    cases = [json.loads(l) for l in (d / "cases.jsonl").read_text().splitlines() if l.strip()]
    pre_fluency = mean(c["pre"]["fluency"] for c in cases)
    curve = [json.loads(l) for l in (d / "curve.jsonl").read_text().splitlines() if l.strip()]
    rss = [p.get("resident_mib") for p in curve if p.get("resident_mib") is not None and p["edits"] > 0]
    time = (d / "time.txt").read_text() if (d / "time.txt").exists() else ""
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", time)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time)
    fl = s.get("fluency")
    rel = None if fl is None or not pre_fluency else 100 * (fl - pre_fluency) / pre_fluency
    return (f"| {d.name} | {s['method']} | {s['cases']} | {fmt(s['edit_succ'])} | {fmt(s['rephrase'])}"
            f" | {fmt(s['locality'])} | {fmt(fl, 2)} ({fmt(pre_fluency, 2)}, {'–' if rel is None else f'{rel:+.1f} %'})"
            f" | {fmt(s['seconds_per_edit'], 2)} | {wall.group(1) if wall else '–'}"
            f" | {fmt(int(peak.group(1)) / 1024, 0) if peak else '–'}"
            f" | {f'{min(rss):.0f}–{max(rss):.0f}' if rss else '–'} | {estimate_hours(cases, target):.1f} |")


CURVES = [("Edit Succ.", "edit_succ"), ("Locality", "locality"), ("Fluency", "fluency"), ("resident MiB", None)]


def curves(dirs):
    runs = [(d.name, [json.loads(l) for l in (d / "curve.jsonl").read_text().splitlines() if l.strip()])
            for d in dirs]
    points = sorted({p["edits"] for _, curve in runs for p in curve})
    print("| probe metric | run | " + " | ".join(str(e) for e in points) + " |")
    print("|---|---|" + "---|" * len(points))
    for label, key in CURVES:
        for name, curve in runs:
            at = {p["edits"]: (p.get("resident_mib") if key is None else p["metrics"].get(key)) for p in curve}
            cells = [fmt(at.get(e), 0 if key is None else 1) for e in points]
            print(f"| {label} | {name} | " + " | ".join(cells) + " |")


def main():
    args = sys.argv[1:]
    if args[:1] == ["--curves"]:
        curves([pathlib.Path(a) for a in args[1:]])
        return
    target = 1000
    if args[:1] == ["--target"]:
        target, args = int(args[1]), args[2:]
    print("| run | method | cases | Edit Succ. | Rephrase | Locality | Fluency (unedited, change) | s/edit | wall"
          f" | peak RSS MiB | RSS at probes MiB | est. h for {target} |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for arg in args:
        print(row(pathlib.Path(arg), target))


if __name__ == "__main__":
    main()
