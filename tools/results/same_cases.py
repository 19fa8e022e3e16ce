#!/usr/bin/env python3
"""Checks that two runs agree on the cases they share: for every case of FIRST (by record index) also in SECOND,
the pre and post observations field by field. Prints the number of cases compared, every text field that differs,
and the largest absolute difference of each numeric field that is not exactly equal.
Usage: tools/results/same_cases.py FIRST_RUN_DIR SECOND_RUN_DIR"""
import json
import pathlib
import sys


def records(d):
    return [json.loads(l) for l in pathlib.Path(d, "cases.jsonl").read_text().splitlines() if l.strip()]


def walk(x, y, path, largest, texts):
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            walk(x.get(k), y.get(k), f"{path}.{k}", largest, texts)
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for p, q in zip(x, y):
            walk(p, q, path, largest, texts)
    elif isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        if x != y:
            largest[path] = max(largest.get(path, 0.0), abs(x - y))
    elif x != y:
        texts.append(path)


def main(first, second):
    others = {r["index"]: r for r in records(second)}
    largest, texts, n = {}, [], 0
    for r in records(first):
        o = others.get(r["index"])
        if o is None:
            continue
        n += 1
        for side in ("pre", "post"):
            walk(r[side], o[side], side, largest, texts)
    print(f"{n} cases compared; {len(texts)} text or structure fields differ"
          + (f" ({', '.join(sorted(set(texts)))})" if texts else ""))
    if largest:
        for k, v in sorted(largest.items()):
            print(f"  {k}: largest difference {v:.3g}")
    else:
        print("  every number identical")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
