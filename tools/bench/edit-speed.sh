#!/usr/bin/env bash
# Seconds per edit on the default model over N CounterFact requests (default 20) for the given methods (default
# ICE FT-M), with the FLOPs and weight bytes of one profiled edit beside this run's matmul rate and memory bandwidth.
# Usage: ICEDIT_THREADS=2 tools/bench/edit-speed.sh [N] [METHOD...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# as the ./icedit launcher does (docs/RESULTS.md#threads)
if [ -z "${OMP_WAIT_POLICY:-}" ] && [ -z "${GOMP_SPINCOUNT:-}" ]; then export GOMP_SPINCOUNT=10000; fi
mvn -q -B test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test >/dev/null
echo "== $(nproc) cores, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-unset}, $(date -u +%FT%TZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
java -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" dev.icedit.bench.EditSpeedBenchmark "$@" 2>&1 \
  | grep -v DEBUG
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
