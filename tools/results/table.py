#!/usr/bin/env python3
"""Prints the markdown tables of a tools/results/run-knowedit.sh output directory (summary.json of each run)."""
import json
import pathlib
import sys


def fmt(v, digits=2):
    return "–" if v is None else f"{v:.{digits}f}"


def fmt_ratio(v):
    return "–" if v is None else f"{v:.3g}"


def rows(root, mode):
    out = []
    for summary in sorted(pathlib.Path(root, mode).glob("*/*/summary.json")):
        s = json.loads(summary.read_text())
        cmd = (summary.parent / "command.txt").read_text().strip() if (summary.parent / "command.txt").exists() else ""
        out.append((s, summary.parent, cmd))
    return out


def table(title, entries):
    print(f"### {title}\n")
    print("| dataset | method | cases | Edit Succ. | Rephrase | Portability | Locality | Fluency | PPL_r | Exact match"
          " | s/edit | command |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s, d, cmd in entries:
        print(f"| {s['dataset']} | {s['method']} | {s['cases']} | {fmt(s['edit_succ'])} | {fmt(s['rephrase'])}"
              f" | {fmt(s['portability'])} | {fmt(s['locality'])} | {fmt(s['fluency'])} | {fmt_ratio(s['ppl_r'])}"
              f" | {fmt(s['exact_match'])} | {fmt(s['seconds_per_edit'])} | `{cmd}` |")
    print()


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "results/knowedit"
    table("Single editing", rows(root, "single"))
    continual = rows(root, "continual")
    if continual:
        table("Continual editing (immediate schedule; curves in each run's report.html)", continual)


if __name__ == "__main__":
    main()
