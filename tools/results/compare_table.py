#!/usr/bin/env python3
"""Prints a markdown table of `icedit compare --json` files (two runs each): per metric, both runs with their
intervals and the paired difference second - first with its interval and the share of cases ahead / behind."""
import json
import sys


def fmt(metric, v):
    return f"{v:.3g}" if metric.startswith("ppl_r") else f"{v:.1f}"


def est(metric, e):
    if e is None:
        return "–"
    return f"{fmt(metric, e['value'])} [{fmt(metric, e['ci95'][0])}, {fmt(metric, e['ci95'][1])}]"


def main(files):
    print("| dataset | cases | metric | first | second | second − first [95% CI] | second ahead / behind |")
    print("|---|---|---|---|---|---|---|")
    for f in files:
        c = json.load(open(f))
        first, second = (r["label"] for r in c["runs"])
        run = c["runs"][0]
        dataset = run["dataset"] + ("" if run["mode"] == "single" else f" ({run['mode']})")
        for m in c["metrics"]:
            d = m["difference_from_first"][1]
            if d is None:
                continue
            ahead = f"{100 * d['share_ahead']:.0f}% / {100 * d['share_behind']:.0f}%"
            print(f"| {dataset} | {c['cases']} | {m['metric']} | {first} {est(m['metric'], m['values'][0])} "
                  f"| {second} {est(m['metric'], m['values'][1])} | {est(m['metric'], d)} | {ahead} |")


if __name__ == "__main__":
    main(sys.argv[1:])
