#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz tests (see docs/FUZZING.md).

Valid safetensors files come from the reference writer (the `safetensors` package); the rest are hand-made
malformed inputs, among them every bad input of issue 12. Config and dataset seeds are the project's own golden and
evaluation files plus bad variants. Run from the repository root:

    /work/pyenv/bin/python tools/fuzz/make_seeds.py   (any Python with numpy and safetensors)

It rewrites only the seeds it names (files the fuzzer added to the same folders, crash-* findings, stay).
"""
import json
import pathlib
import struct

import numpy as np
from safetensors.numpy import save

ROOT = pathlib.Path(__file__).resolve().parents[2]
RES = ROOT / "src/test/resources/dev/icedit"
GOLDEN = ROOT / "src/test/resources/golden"


def put(folder, name, data):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def raw_safetensors(header, data=b"", declared=None):
    h = header.encode("utf-8") if isinstance(header, str) else header
    return struct.pack("<Q", len(h) if declared is None else declared) + h + data


def safetensors_seeds():
    d = RES / "tensor/SafetensorsFuzzTestInputs/safetensorsFile"
    f32 = np.arange(6, dtype=np.float32).reshape(2, 3)
    put(d, "valid-f32.safetensors", save({"w": f32, "b": np.ones(3, dtype=np.float32)}))
    put(d, "valid-dtypes-metadata.safetensors", save({
        "half": np.ones((2, 2), dtype=np.float16), "long": np.array([7], dtype=np.int64),
        "flag": np.array([True, False, True]), "byte": np.array([1, 2], dtype=np.uint8),
        "double": np.array([0.5], dtype=np.float64)}, metadata={"format": "pt"}))
    # numpy has no bfloat16: the header names it, the bytes are two per element as the format says
    put(d, "valid-bf16.safetensors", raw_safetensors(
        '{"__metadata__":{"format":"pt"},"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}    ',
        b"\x80\x3f\x00\x40"))
    put(d, "valid-empty-and-scalar.safetensors", save({"empty": np.zeros((0, 4), dtype=np.float32),
                                                        "scalar": np.array(3.0, dtype=np.float32)}))
    put(d, "valid-no-tensors.safetensors", raw_safetensors("{}"))
    t = '"dtype":"F32","shape":%s,"data_offsets":%s'
    bad = {
        # issue 12: an element count that overflows a long (ArithmeticException), a fractional dimension (read as
        # 512), bytes after the header JSON (accepted)
        "bad-shape-overflows-long": ('{"a":{%s}}' % (t % ("[4294967296,4294967296]", "[0,4]")), 4),
        "bad-shape-fraction": ('{"a":{%s}}' % (t % ("[512.5,1024]", "[0,8]")), 8),
        "bad-trailing-bytes": ('{"a":{%s}}xyz' % (t % ("[1]", "[0,4]")), 4),
        "bad-shape-string": ('{"a":{%s}}' % (t % ('["2"]', "[0,8]")), 8),
        "bad-shape-negative": ('{"a":{%s}}' % (t % ("[-1]", "[0,8]")), 8),
        "bad-offsets-fraction": ('{"a":{%s}}' % (t % ("[2]", "[0,8.5]")), 8),
        "bad-offsets-overlap": ('{"a":{%s},"b":{%s}}' % (t % ("[2]", "[0,8]"), t % ("[2]", "[4,12]")), 12),
        "bad-offsets-past-end": ('{"a":{%s}}' % (t % ("[4]", "[0,16]")), 8),
        "bad-size-mismatch": ('{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}}', 16),
        "bad-dtype-unknown": ('{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}', 4),
        "bad-dtype-number": ('{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}', 4),
        "bad-duplicate-tensor": ('{"a":{%s},"a":{%s}}' % (t % ("[1]", "[0,4]"), t % ("[1]", "[4,8]")), 8),
        "bad-metadata-not-string": ('{"__metadata__":{"format":{"x":1}}}', 0),
        "bad-metadata-not-object": ('{"__metadata__":[1]}', 0),
        "bad-entry-not-object": ('{"a":[1,2]}', 0),
        "bad-header-array": ("[]", 0),
        "bad-header-deep": ("[" * 5000 + "]" * 5000, 0),
        "bad-header-not-json": ("{not json", 0),
    }
    for name, (header, n) in bad.items():
        put(d, name + ".safetensors", raw_safetensors(header, b"\0" * n))
    put(d, "bad-header-latin1.safetensors", raw_safetensors(
        '{"\xe9":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'.encode("latin-1"), b"\0" * 4))
    put(d, "bad-length-huge.safetensors", raw_safetensors("{}", declared=1 << 40))
    put(d, "bad-length-negative.safetensors", raw_safetensors("{}", declared=(1 << 64) - 1))
    put(d, "bad-header-truncated.safetensors", raw_safetensors('{"a":', declared=1000))
    put(d, "bad-shorter-than-length.safetensors", b"\x01\x02\x03")


def config_seeds():
    d = RES / "model/ConfigFuzzTestInputs/configJson"
    for arch in ("gpt2", "llama", "mistral", "qwen2"):
        put(d, "golden-%s.json" % arch, (GOLDEN / arch / "config.json").read_bytes())
    put(d, "default-model.json", (ROOT / "models/default/config.json").read_bytes())
    llama = json.loads((GOLDEN / "llama/config.json").read_text())
    gpt2 = json.loads((GOLDEN / "gpt2/config.json").read_text())
    variants = {
        # issue 12: a negative layer count (NegativeArraySizeException), a negative epsilon (accepted)
        "bad-llama-layers-negative": (llama, {"num_hidden_layers": -1}),
        "bad-llama-rms-eps-negative": (llama, {"rms_norm_eps": -1}),
        "bad-llama-heads-zero": (llama, {"num_attention_heads": 0}),
        "bad-llama-hidden-string": (llama, {"hidden_size": "64"}),
        "bad-llama-vocab-fraction": (llama, {"vocab_size": 512.5}),
        "bad-llama-kv-heads": (llama, {"num_key_value_heads": 3}),
        "bad-llama-head-dim-negative": (llama, {"head_dim": -8}),
        "llama3-rope-scaling": (llama, {"rope_parameters": None, "rope_theta": 500000.0, "rope_scaling": {
            "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 64}}),
        "bad-rope-factor-negative": (llama, {"rope_parameters": {"rope_type": "linear", "factor": -2.0}}),
        "bad-rope-not-object": (llama, {"rope_parameters": [1, 2]}),
        "bad-rope-type": (llama, {"rope_parameters": {"rope_type": "yarn", "factor": 4.0}}),
        "bad-eos-list-of-strings": (llama, {"eos_token_id": ["</s>"]}),
        "eos-minus-one": (llama, {"pad_token_id": -1}),
        "bad-gpt2-layers-negative": (gpt2, {"n_layer": -1}),
        "bad-gpt2-epsilon-negative": (gpt2, {"layer_norm_epsilon": -1e-5}),
        "bad-gpt2-embd-huge": (gpt2, {"n_embd": 1 << 30, "n_head": 1}),
        "bad-gpt2-activation": (gpt2, {"activation_function": "tanh"}),
        "bad-model-type": (gpt2, {"model_type": "bert"}),
        "bad-model-type-number": (gpt2, {"model_type": 2}),
    }
    for name, (base, change) in variants.items():
        cfg = dict(base)
        cfg.update(change)
        put(d, name + ".json", json.dumps(cfg, indent=2))
    put(d, "bad-trailing-text.json", (GOLDEN / "llama/config.json").read_text() + "\n}")
    put(d, "bad-duplicate-key.json", '{"model_type": "llama", "model_type": "gpt2"}')
    put(d, "bad-deep.json", '{"a": ' + "[" * 5000 + "]" * 5000 + "}")
    put(d, "bad-array.json", "[1, 2]")

    t = RES / "model/ConfigFuzzTestInputs/tokenizerSettings"
    for arch in ("gpt2", "llama", "qwen2"):
        put(t, "golden-%s" % arch, (GOLDEN / arch / "tokenizer_config.json").read_bytes() + b"\0"
            + (GOLDEN / arch / "generation_config.json").read_bytes())
    put(t, "tokenizer-config-only", (GOLDEN / "llama/tokenizer_config.json").read_bytes())
    tc = json.loads((GOLDEN / "llama/tokenizer_config.json").read_text())
    gen = json.loads((GOLDEN / "llama/generation_config.json").read_text())
    pairs = {
        "add-bos-object-tokens": ({**tc, "add_bos_token": True, "bos_token": {"content": "<s>", "lstrip": False}},
                                  gen),
        "bad-add-bos-string": ({**tc, "add_bos_token": "yes"}, gen),
        "bad-bos-id-outside-vocab": ({**tc, "add_bos_token": True}, {**gen, "bos_token_id": 100000}),
        "bad-pad-id-outside-vocab": (tc, {**gen, "pad_token_id": 512}),
        "eos-list": (tc, {**gen, "eos_token_id": [2, 1]}),
        "bad-eos-string": (tc, {**gen, "eos_token_id": "</s>"}),
        "bos-content-number": ({**tc, "bos_token": {"content": 5}}, gen),
        "bad-generation-not-object": (tc, [1]),
    }
    for name, (a, b) in pairs.items():
        put(t, name, json.dumps(a).encode() + b"\0" + json.dumps(b).encode())


def dataset_seeds():
    d = RES / "eval/data/DatasetFuzzTestInputs/datasetFile"
    for f in ("counterfact.jsonl", "mend-zsre.json", "not-json.txt", "recent-mixed.jsonl", "tiny-zsre.json",
              "wiki-cf.json", "wikibio.json", "zsre-mixed.json"):
        put(d, f, (ROOT / "src/test/resources/eval" / f).read_bytes())
    zsre = (ROOT / "src/test/resources/eval/tiny-zsre.json").read_text().strip()
    # issue 12: a file nested 5,000 arrays deep (NPE in the JSON location), a lone surrogate in a prompt (every
    # case evaluated, then report.html failed)
    put(d, "bad-nested-5000.json", "[" * 5000 + "]" * 5000)
    put(d, "bad-lone-surrogate.json", zsre[:-1] + ', {"prompt": "Who wrote \\ud800 Hamlet?", "target_new": "x",'
        ' "rephrase_prompt": "r", "locality": {}, "portability": {}}]')
    put(d, "emoji-pair.json", zsre[:-1] + ', {"prompt": "Who wrote \\ud83d\\ude00?", "target_new": "x",'
        ' "rephrase_prompt": "r", "locality": {}, "portability": {}}]')
    put(d, "bom.json", "\ufeff" + zsre)
    put(d, "bad-trailing-array.json", zsre + " []")
    put(d, "bad-nested-line.jsonl", (ROOT / "src/test/resources/eval/counterfact.jsonl").read_text()
        + '{"a": ' + "[" * 5000 + "]" * 5000 + "}\n")
    put(d, "bad-empty-array.json", "[]")
    put(d, "bad-nulls.json", "[null, null]")
    put(d, "bad-empty.json", "")
    put(d, "bad-latin1.json", '[{"prompt": "caf\xe9", "target_new": "x"}]'.encode("latin-1"))


if __name__ == "__main__":
    safetensors_seeds()
    config_seeds()
    dataset_seeds()
