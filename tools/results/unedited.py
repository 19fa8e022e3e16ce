#!/usr/bin/env python3
"""Prints the unedited model's numbers on a single-mode run's cases: the means of the `pre` observations in
cases.jsonl (what method NONE would report on the same cases with the same seed), as a markdown row per run.
Usage: tools/results/unedited.py RUN_DIR..."""
import json
import pathlib
import statistics
import sys

METRICS = ["edit_succ", "rephrase", "portability", "fluency", "ppl_r", "exact_match"]


def main(dirs):
    print("| run | cases | " + " | ".join(METRICS) + " |")
    print("|---|---|" + "---|" * len(METRICS))
    for d in dirs:
        cases = [json.loads(l) for l in pathlib.Path(d, "cases.jsonl").read_text().splitlines() if l.strip()]
        cells = []
        for m in METRICS:
            values = [c["pre"][m] for c in cases if c["pre"].get(m) is not None]
            cells.append("–" if not values else (f"{statistics.mean(values):.3g}" if m == "ppl_r"
                                                  else f"{statistics.mean(values):.2f}"))
        print(f"| {d} (pre) | {len(cases)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
