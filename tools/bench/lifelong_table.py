#!/usr/bin/env python3
"""The table of tools/bench/lifelong.sh: one row per run directory, from its summary.json, cases.jsonl (the
unedited model's fluency, measured with the same seeds), curve.jsonl (resident memory) and time.txt (GNU time)."""
import json
import pathlib
import re
import sys


def fmt(v, digits=1):
    return "–" if v is None else f"{v:.{digits}f}"


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def row(d):
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
            f" | {f'{min(rss):.0f}–{max(rss):.0f}' if rss else '–'} |")


def main():
    print("| run | method | cases | Edit Succ. | Rephrase | Locality | Fluency (unedited, change) | s/edit | wall"
          " | peak RSS MiB | RSS at probes MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for arg in sys.argv[1:]:
        print(row(pathlib.Path(arg)))


if __name__ == "__main__":
    main()
