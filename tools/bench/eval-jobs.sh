#!/usr/bin/env bash
# Throughput of `icedit eval` in single mode with one job of T threads against T jobs of one thread each:
# wall seconds per case (start-up included) and the median of cases.jsonl's `seconds`, for each method, on the
# first N cases of a dataset, with --no-cache so that both runs measure every pre-edit observation.
# Usage: tools/bench/eval-jobs.sh [N=16] [METHOD...=ICE FT-M]; DATA, MODEL and THREADS (default 2) from the
# environment. Run directories go to target/bench/eval-jobs. Prints the machine's load before and after.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
N="${1:-16}"; shift || true
METHODS=("$@"); [ ${#METHODS[@]} -gt 0 ] || METHODS=(ICE FT-M)
DATA="${DATA:-../shared/data/knowedit/benchmark/ZsRE/ZsRE-test-all.json}"
MODEL="${MODEL:-models/default}"
T="${THREADS:-2}"
OUT=target/bench/eval-jobs
rm -rf "$OUT"; mkdir -p "$OUT"
./icedit --version >/dev/null # builds the launcher's jar first, outside the timings
echo "load before: $(uptime)"
printf '%-8s %-22s %10s %14s %16s\n' method run wall_s wall_s/case median_case_s
for m in "${METHODS[@]}"; do
  for jobs in 1 "$T"; do
    dir="$OUT/$m-jobs$jobs"
    start=$(date +%s.%N)
    ICEDIT_THREADS=$T ./icedit eval --model "$MODEL" --data "$DATA" --method "$m" --limit "$N" --jobs "$jobs" \
      --no-cache --quiet --out "$dir" >/dev/null
    end=$(date +%s.%N)
    python3 - "$m" "$jobs" "$T" "$start" "$end" "$dir/cases.jsonl" <<'PY'
import json, statistics, sys
m, jobs, t, start, end, path = sys.argv[1:]
secs = [json.loads(l)["seconds"] for l in open(path)]
wall = float(end) - float(start)
label = f"--jobs {jobs}, {int(t) // int(jobs)} thread(s) each"
print(f"{m:<8} {label:<22} {wall:10.1f} {wall / len(secs):14.3f} {statistics.median(secs):16.3f}")
PY
  done
done
echo "load after:  $(uptime)"
