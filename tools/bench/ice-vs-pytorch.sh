#!/usr/bin/env bash
# One ICE edit in icedit (Java) and in plain PyTorch (../shared/bench/ice_step_pytorch.py) on the same machine, in
# one run. Needs Debian's python3-torch and libopenblas0-pthread for the baseline (apt-get install ...).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# as the ./icedit launcher does (docs/RESULTS.md#threads); the baseline gets the same setting
if [ -z "${OMP_WAIT_POLICY:-}" ] && [ -z "${GOMP_SPINCOUNT:-}" ]; then export GOMP_SPINCOUNT=10000; fi
BASE=../shared/bench/ice_step_pytorch.py
mvn -q -B test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test >/dev/null
CP="target/test-classes:target/classes:$(cat target/test-classpath.txt)"
echo "== machine: $(nproc) cores, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-unset}, $(date -u +%FT%TZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
for threads in 1 2; do
  echo "== PyTorch baseline, THREADS=$threads"
  THREADS=$threads /usr/bin/python3 "$BASE" "$@"
  echo "== icedit, ICEDIT_THREADS=$threads"
  ICEDIT_THREADS=$threads java -cp "$CP" dev.icedit.bench.IceBenchmark "$@" 2>&1 | grep -v DEBUG
done
