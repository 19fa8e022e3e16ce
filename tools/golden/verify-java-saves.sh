#!/usr/bin/env bash
# Checks with transformers that the model directories the Java side saved (RoundTripTest writes them to
# target/java-saved/) load and match the goldens: same tensor names/dtypes/shapes, bit-identical tensors, same logits.
# Needs python3 with torch + transformers (PYTHON=... to choose the interpreter).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-python3}"
cd "$ROOT"
[ -d target/java-saved ] || mvn -q -B test -Dtest=RoundTripTest
"$PY" tools/golden/make_golden.py verify --golden src/test/resources/golden \
  --saved gpt2=target/java-saved/gpt2 llama=target/java-saved/llama qwen2=target/java-saved/qwen2 \
          $(for n in mistral llama3 llama-dynamic llama-linear llama-yarn qwen2-sw qwen3; do printf "%s=target/java-saved/%s " $n $n; done) --report target/java-saved/verify-report.json "$@"
