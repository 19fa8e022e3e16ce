#!/usr/bin/env bash
# Copies exactly the files that build_corpus.py reads from ../shared/data into .train-data/ at the repository
# root (ignored by git), so that they can travel to the GPU machine with `carry: [".train-data"]`, and adds the
# WordNet 3.0 glosses from Debian's wordnet-base package (fetched with `apt-get download`, or taken from
# $WORDNET_DEB), gzipped.
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

# WordNet 3.0 (Debian bookworm wordnet-base 1:3.0-37; WordNet 3.0 licence)
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if [ -n "${WORDNET_DEB:-}" ]; then
  cp "$WORDNET_DEB" "$TMP/"
else
  (cd "$TMP" && apt-get download wordnet-base >/dev/null 2>&1 || apt-get download wordnet-base)
fi
DEB="$(ls "$TMP"/wordnet-base_*.deb)"
dpkg-deb -x "$DEB" "$TMP/x"
mkdir -p "$DST/wordnet"
for f in noun verb adj adv; do
  gzip -9 -n -c "$TMP/x/usr/share/wordnet/data.$f" > "$DST/wordnet/data.$f.gz"
done
echo "$(basename "$DEB") sha256 $(sha256sum "$DEB" | cut -d' ' -f1)" > "$DST/wordnet/SOURCE.txt"

chmod -R u+w "$DST"
echo "staged $(find "$DST" -type f | wc -l) files, $(du -sh "$DST" | cut -f1), into $DST"
