#!/usr/bin/env bash
# Copies exactly the files that build_corpus.py reads from ../shared/data into .train-data/ at the repository
# root (ignored by git), so that they can travel to the GPU machine with `carry: [".train-data"]`.
#   tools/train-default-model/stage_data.sh [SHARED_DATA_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SRC="$(cd "${1:-$ROOT/../shared/data}" && pwd)"
DST="$ROOT/.train-data"
rm -rf "$DST"
mkdir -p "$DST"
cd "$SRC"
files=(
  knowedit/benchmark/ZsRE/ZsRE-test-all.json
  knowedit/benchmark/wiki_counterfact/train_cf.json
  knowedit/benchmark/wiki_recent/recent_train.json
  knowedit/benchmark/WikiBio/wikibio-test-all.json
  knowedit/benchmark/WikiBio/wikibio-train-all.json
  easyedit_factual/counterfact/counterfact-edit.json
  easyedit_factual/counterfact/counterfact-train.json
  rome_knowns/known_1000.json
  squad_v2_subset/squad_v2.0.json
  text/wikitext-2-raw/wiki.valid.raw
  text/wikitext-2-raw/wiki.test.raw
  text/tinyshakespeare/input.txt
  text/nltk_data/abc.zip
  text/nltk_data/inaugural.zip
  text/nltk_data/state_union.zip
  text/gutenberg_nltk/*.txt
  pararel/trex_lms_vocab/*.jsonl
  pararel/graphs_json/*.jsonl
)
cp --parents "${files[@]}" "$DST/"
chmod -R u+w "$DST"
echo "staged $(find "$DST" -type f | wc -l) files, $(du -sh "$DST" | cut -f1), into $DST"
