#!/usr/bin/env bash
# Runtime benchmark: forward tokens/s, backward ms, matmul GFLOP/s in one run. Add --gpt2-xl for a GPT-2 XL-shaped
# model with random weights (writes ~6.2 GB to a temporary directory and needs ~8 GB of memory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mvn -q -B test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test >/dev/null
exec java -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" dev.icedit.bench.RuntimeBenchmark "$@"
