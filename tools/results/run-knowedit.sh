#!/usr/bin/env bash
# Runs the docs/RESULTS.md matrix on the default model and prints its table:
#   single mode, the first $LIMIT (50) cases of each of the four KnowEdit files, for every editing method the
#   project registers (icedit edit --list-methods) plus NONE and IN-CONTEXT;
#   continual mode (immediate schedule), the first $CONTINUAL (100) ZsRE cases, for ICE and FT-M, with the curve
#   (charts comparing them in OUT/continual/ZsRE/charts).
# Every run is resumable: run the script again after an interruption and finished cases are not redone (a
# single-mode run can also be extended with a larger LIMIT).
# Usage: tools/results/run-knowedit.sh [OUT_DIR]   (default results/knowedit)
# Environment: ICEDIT_MODEL (default models/default), ICEDIT_DATA (default ../shared/data), LIMIT, CONTINUAL, SEED,
#   DATASETS (default "ZsRE wiki_counterfact wiki_recent WikiBio"; empty: no single runs), SINGLE_METHODS (default:
#   all, as above), CONTINUAL_METHODS (default "ICE FT-M"; empty: no continual run), HPARAMS_DIR (a METHOD.yaml there is passed as
#   --hparams; otherwise the preset matching the model is used), HPARAMS (a preset name or file passed as --hparams
#   to every method, e.g. HPARAMS=default-model-released SINGLE_METHODS=ICE), JOBS (passed to the single-mode runs as
#   --jobs: that many cases at a time, each worker on ICEDIT_THREADS / JOBS threads; default 1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/results/knowedit}"
MODEL="${ICEDIT_MODEL:-$ROOT/models/default}"
DATA="${ICEDIT_DATA:-$ROOT/../shared/data}/knowedit/benchmark"
LIMIT="${LIMIT:-50}"
CONTINUAL="${CONTINUAL:-100}"
SEED="${SEED:-0}"
read -r -a DATASETS <<< "${DATASETS-ZsRE wiki_counterfact wiki_recent WikiBio}"
HPARAMS_DIR="${HPARAMS_DIR:-}"
HPARAMS="${HPARAMS:-}"
JOBS="${JOBS:-1}"
ICEDIT="$ROOT/icedit"

declare -A FILES=(
  [ZsRE]="ZsRE/ZsRE-test-all.json"
  [wiki_counterfact]="wiki_counterfact/train_cf.json"
  [wiki_recent]="wiki_recent/recent_train.json"
  [WikiBio]="WikiBio/wikibio-test-all.json"
)
if [ -n "${SINGLE_METHODS+x}" ]; then
  read -r -a METHODS <<< "$SINGLE_METHODS"
else
  mapfile -t METHODS < <("$ICEDIT" edit --list-methods | awk '{print $1}')
  METHODS+=(NONE IN-CONTEXT)
fi
read -r -a CONTINUAL_METHODS <<< "${CONTINUAL_METHODS-ICE FT-M}"
echo "methods: ${METHODS[*]}" >&2

run() { # OUT_DIR METHOD ARGS...: runs icedit eval, keeping the command and its wall time beside the results
  local dir="$1" method="$2"; shift 2
  mkdir -p "$dir"
  local cmd=("$ICEDIT" eval --model "$MODEL" --method "$method" --out "$dir" --seed "$SEED" "$@")
  if [ -n "$HPARAMS_DIR" ] && [ -f "$HPARAMS_DIR/$method.yaml" ]; then
    cmd+=(--hparams "$HPARAMS_DIR/$method.yaml")
  elif [ -n "$HPARAMS" ]; then
    cmd+=(--hparams "$HPARAMS")
  fi
  printf '%q ' "${cmd[@]#"$ROOT/"}" | sed 's/ $//; s/^icedit /.\/icedit /' > "$dir/command.txt"
  echo "== $(cat "$dir/command.txt")" >&2
  local start=$SECONDS
  "${cmd[@]}"
  echo $((SECONDS - start)) > "$dir/wall_seconds.txt"
}

for ds in "${DATASETS[@]}"; do
  for m in "${METHODS[@]}"; do
    run "$OUT/single/$ds/$m" "$m" --data "$DATA/${FILES[$ds]}" --limit "$LIMIT" --jobs "$JOBS"
  done
done
for m in "${CONTINUAL_METHODS[@]}"; do
  run "$OUT/continual/ZsRE/$m" "$m" --data "$DATA/${FILES[ZsRE]}" --limit "$CONTINUAL" \
    --mode continual --schedule immediate --probes 10 --probe-every 10
done
if [ "${#CONTINUAL_METHODS[@]}" -gt 0 ]; then
  "$ICEDIT" plot --out "$OUT/continual/ZsRE/charts" "${CONTINUAL_METHODS[@]/#/$OUT/continual/ZsRE/}"
fi

python3 "$ROOT/tools/results/table.py" "$OUT" | tee "$OUT/table.md"
