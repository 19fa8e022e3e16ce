#!/usr/bin/env bash
# Fuzzes one target for N minutes (default 10; "30s" for seconds) and prints how many inputs it ran; see
# docs/FUZZING.md.
#   tools/fuzz/fuzz.sh SafetensorsFuzzTest#safetensorsFile 10
# A finding fails the run and is saved as crash-* in the target's inputs folder under src/test/resources, where the
# regression run of `mvn -B test` replays it from then on. Inputs that reached new code go to .cifuzz-corpus/.
set -euo pipefail
target=${1:?usage: tools/fuzz/fuzz.sh Class#method [minutes]}
length=${2:-10}
case "$length" in
  *s) seconds=${length%s} ;;
  *) seconds=$((length * 60)) ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mkdir -p target
log="target/fuzz-${target//#/-}.log"
echo "fuzzing $target for $seconds s (log: $log)"
status=0
# -max_total_time goes to libFuzzer through Jazzer's JUnit configuration parameters (arg.0 is argv[0])
JAZZER_FUZZ=1 mvn -B test -Dtest="$target" -Dsurefire.failIfNoSpecifiedTests=false \
    -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-max_total_time="$seconds" > "$log" 2>&1 || status=$?
grep -E '^#[0-9]+[[:space:]]+(DONE|pulse)' "$log" | tail -3 || true
grep -E 'FuzzTestFindingException|== Java Exception|crash-|Tests run:.*Fail' "$log" | head -5 || true
runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 executions in \2 s/p' "$log" | tail -1)
echo "$target: ${runs:-no libFuzzer summary (see $log)}; mvn exit status $status"
exit $status
