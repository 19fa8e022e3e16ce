#!/usr/bin/env bash
# The sweep behind AlphaEdit's default-model preset (docs/ROME_MEMIT.md): the preset with other nullspace_threshold
# and L2 values, each run as N sequential CounterFact edits (continual mode, final schedule: every case measured
# after the last edit), then one line per setting: Edit Succ., rephrase, locality, fluency, seconds per edit.
# Usage: tools/bench/alphaedit-sweep.sh [OUT]   (default results/alphaedit-sweep)
# Environment: N (default 30), SETTINGS (default "0.1:10 0.2:10 0.5:10", threshold:L2 pairs), FLUENCY_TOKENS (100),
#   ICEDIT_MODEL (default models/default), ICEDIT_DATA (default ../shared/data).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/results/alphaedit-sweep}"
N="${N:-30}"
FLUENCY_TOKENS="${FLUENCY_TOKENS:-100}"
MODEL="${ICEDIT_MODEL:-$ROOT/models/default}"
DATA="${ICEDIT_DATA:-$ROOT/../shared/data}/easyedit_factual/counterfact/counterfact-edit.json"
read -r -a SETTINGS <<< "${SETTINGS:-0.1:10 0.2:10 0.5:10}"
PRESET="$ROOT/src/main/resources/hparams/AlphaEdit/default-model.yaml"
mkdir -p "$OUT"
for s in "${SETTINGS[@]}"; do
  t="${s%%:*}"; a="${s##*:}"
  dir="$OUT/t$t-L2$a"
  mkdir -p "$dir"
  sed "s/^nullspace_threshold: .*/nullspace_threshold: $t/; s/^L2: .*/L2: $a/" "$PRESET" > "$dir/hparams.yaml"
  start=$SECONDS
  (cd "$ROOT" && ./icedit eval --model "$MODEL" --data "$DATA" --method AlphaEdit --hparams "$dir/hparams.yaml" \
    --limit "$N" --mode continual --schedule final --probes 5 --probe-every 10 --fluency-tokens "$FLUENCY_TOKENS" --out "$dir" --quiet) > "$dir/stdout.txt"
  echo $((SECONDS - start)) > "$dir/wall_seconds.txt"
done
python3 - "$OUT" <<'PY'
import json, pathlib, sys
print("| nullspace_threshold | L2 | edits | Edit Succ. | Rephrase | Locality | Fluency | s/edit | wall s |")
print("|---|---|---|---|---|---|---|---|---|")
for d in sorted(pathlib.Path(sys.argv[1]).glob("t*-L2*")):
    s = json.loads((d / "summary.json").read_text())
    t, a = d.name[1:].split("-L2")
    f = lambda k: "n/a" if s.get(k) is None else f"{s[k]:.1f}"
    print(f"| {t} | {a} | {s['cases']} | {f('edit_succ')} | {f('rephrase')} | {f('locality')} | {f('fluency')} |"
          f" {s['seconds_per_edit']:.2f} | {(d / 'wall_seconds.txt').read_text().strip()} |")
PY
