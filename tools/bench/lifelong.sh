#!/usr/bin/env bash
# The lifelong-editing benchmark (issue 16): N sequential CounterFact edits, one per step (the first N cases of
# counterfact-edit.json), for each method; after the last edit every case is measured (continual mode, final
# schedule: Edit Succ., rephrase, locality, fluency over all N), and a probe set is measured every PROBE_EVERY edits
# (the curves, drawn by `icedit plot` into OUT/charts, resident memory included). Each run keeps its command, its wall
# time and the peak resident memory of its process (GNU time) beside its results; OUT/table.md has the table.
#
# Usage: tools/bench/lifelong.sh [OUT]          (default results/lifelong)
# Environment:
#   N            edits (default 1000); the verification run uses N=20
#   METHODS      runs, each NAME or NAME=METHOD:HPARAMS (default: ICE FT-M MEMIT AlphaEdit and ICE-null_space, which
#                is ICE with tools/bench/lifelong/ICE-null_space.yaml); e.g. METHODS="FT-M FT-M-null_space=FT-M:FILE"
#   JOBS         runs at once (default 1): split the methods over processes (each then gets ICEDIT_THREADS=1 unless
#                set); to split over machines, give each a different METHODS and the same OUT layout, then run
#                `icedit plot` and lifelong_table.py on the union
#   PROBES, PROBE_EVERY   the curve: a probe set of the first PROBES cases (default 50), every PROBE_EVERY edits
#                (default 100)
#   FLUENCY_TOKENS (100: the paper's length of the fluency text, prompt included), SEED (0),
#   ICEDIT_MODEL (models/default), ICEDIT_DATA (../shared/data), ICEDIT_JAVA_OPTS (passed to java)
# Every run resumes where it stopped: run the script again with the same OUT after an interruption.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/results/lifelong}" && cd "${1:-$ROOT/results/lifelong}" && pwd)"
N="${N:-1000}"
PROBES="${PROBES:-50}"
PROBE_EVERY="${PROBE_EVERY:-100}"
SEED="${SEED:-0}"
FLUENCY_TOKENS="${FLUENCY_TOKENS:-100}"
JOBS="${JOBS:-1}"
MODEL="${ICEDIT_MODEL:-$ROOT/models/default}"
DATA="${ICEDIT_DATA:-$ROOT/../shared/data}/easyedit_factual/counterfact/counterfact-edit.json"
read -r -a METHODS <<< "${METHODS:-ICE FT-M MEMIT AlphaEdit ICE-null_space=ICE:$ROOT/tools/bench/lifelong/ICE-null_space.yaml}"
if [ "$JOBS" -gt 1 ] && [ -z "${ICEDIT_THREADS:-}" ]; then
  export ICEDIT_THREADS=1
fi
[ -x /usr/bin/time ] || { echo "lifelong.sh: needs GNU time (/usr/bin/time: apt-get install time)" >&2; exit 1; }
(cd "$ROOT" && ./icedit edit --list-methods > /dev/null) # build once, before runs start in parallel

run() { # SPEC: one method's run in OUT/NAME
  local spec="$1" name method hparams=()
  name="${spec%%=*}"
  method="$name"
  if [ "$spec" != "$name" ]; then
    method="${spec#*=}"; hparams=(--hparams "${method#*:}"); method="${method%%:*}"
  fi
  local dir="$OUT/$name"
  mkdir -p "$dir"
  local cmd=("$ROOT/icedit" eval --model "$MODEL" --data "$DATA" --method "$method" "${hparams[@]}" --limit "$N"
    --mode continual --schedule final --probes "$PROBES" --probe-every "$PROBE_EVERY" --seed "$SEED" --fluency-tokens "$FLUENCY_TOKENS" --quiet
    --out "$dir")
  printf '%q ' "${cmd[@]}" | sed "s| $| |; s|$ROOT/|./|g; s|^\./icedit|./icedit|" > "$dir/command.txt"
  echo "== $name: $(cat "$dir/command.txt")" >&2
  /usr/bin/time -v -o "$dir/time.txt" "${cmd[@]}" > "$dir/stdout.txt" 2> "$dir/log.txt" \
    || { echo "== $name failed: see $dir/log.txt" >&2; return 1; }
  echo "== $name done: $(grep -E 'Elapsed|Maximum resident' "$dir/time.txt" | sed 's/^\s*//' | paste -sd';')" >&2
}

failed=0
for spec in "${METHODS[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
    wait -n || failed=1
  done
  run "$spec" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
  wait -n || failed=1
done

dirs=()
for spec in "${METHODS[@]}"; do
  [ -f "$OUT/${spec%%=*}/summary.json" ] && dirs+=("$OUT/${spec%%=*}")
done
if [ "${#dirs[@]}" -gt 0 ]; then
  (cd "$ROOT" && ./icedit plot --out "$OUT/charts" "${dirs[@]}") >&2
  python3 "$ROOT/tools/bench/lifelong_table.py" "${dirs[@]}" | tee "$OUT/table.md"
fi
exit "$failed"
