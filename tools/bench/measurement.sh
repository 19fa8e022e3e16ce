#!/usr/bin/env bash
# Measurement benchmark: seconds per case of the teacher-forced measurement (pre-edit batched and one by one,
# post-edit, total), a profile of one observation by part, and method NONE's cases per minute, on N cases of a
# dataset with the default model. Usage: tools/bench/measurement.sh [N=32] [DATA] [MODEL]; the thread count is
# ICEDIT_THREADS (unset: all cores). Prints the machine's load before and after: timings depend on it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
N="${1:-32}"
DATA="${2:-../shared/data/knowedit/benchmark/ZsRE/ZsRE-test-all.json}"
MODEL="${3:-models/default}"
mvn -q -B test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test >/dev/null
echo "load before: $(uptime)"
java -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" dev.icedit.eval.run.MeasurementBenchmark \
  "$N" "$DATA" "$MODEL" 2>&1 | grep -v '^\[main\] WARN\|WARNING'
echo "load after:  $(uptime)"
