#!/usr/bin/env python3
"""Golden-file generator for icedit's Java parity tests.

Sub-commands
------------
generate --out DIR
    Builds four tiny random causal LMs (gpt2, llama, qwen2, mistral) with fixed
    seeds, saves each as a standard Hugging Face directory DIR/<name>/ and writes
    DIR/<name>/golden.json + DIR/<name>/golden.safetensors with reference
    numbers computed by transformers from the *re-loaded* directory (CPU, fp32,
    eager attention).

verify --golden DIR --saved NAME=DIR2 [NAME=DIR3 ...] [--report FILE]
    Checks that directories saved by another program (the Java side) hold the
    same tensors (names, dtypes, shapes, bits) as DIR/NAME and that transformers
    reproduces the golden forward logits from them (max abs diff <= 1e-5).

default --model models/default --out DIR
    Goldens (tokenization, forward, greedy, gradient) for the real default model.

Everything runs on the CPU in float32: no CUDA (TF32 would spoil parity).
See tools/golden/README.md for the schema of golden.json.
"""

import os

# Never touch a GPU: the goldens must be exact fp32 CPU numbers.
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Local directories only: never reach for the Hub (the GPU machine has no network).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import torch  # noqa: E402

SCHEMA_VERSION = 1

TRICKY_STRINGS = [
    "",
    " ",
    "Hello world",
    " leading space",
    "  two spaces",
    "trailing space ",
    "naïve café – “quotes” 日本語 🙂",
    "numbers 12345 and 3.14159",
    "tab\tand\nnewline",
    "UPPER lower MiXeD",
    "The capital of France is",
]

# Forward batch: lengths differ; one is > 16 tokens (mistral sliding window),
# one is >= 30 tokens.
FORWARD_PROMPTS = [
    "The capital of France is",
    "Alice works as a pilot and she lives near the sea.",
    "In 1998, the library reopened with 12345 books and a café.",
]

GREEDY_PROMPTS = [
    "The capital of France is",
    "Alice works as a",
    "Danielle Darrieux's mother tongue is French, and in 1931 she moved to Paris with her family.",
]

GRADIENT_TEXT = "Danielle Darrieux's mother tongue is"

ICE_EXAMPLES = [
    # prompt q, target x*, context prefix, completion ids ("EOS" = eos id)
    {"prompt": "The capital of Zorland is", "target": "Paris", "prefix": "Fact: ",
     "completion": [300, 257, 411]},
    {"prompt": "Alice works as a", "target": "pilot", "prefix": "",
     "completion": [350, "EOS", 280]},
]

DEFAULT_PROMPTS = [
    "The capital of France is",
    "Danielle Darrieux's mother tongue is",
    "The Eiffel Tower, which was completed in 1889 for the World's Fair, is located in Paris and "
    "remains one of the most visited monuments in the world, attracting millions of tourists every year.",
]

MAX_NEW_TOKENS = 20
GAP_HARD_MIN = 1e-3      # brief: min greedy gap must be > 1e-3
GAP_TARGET = 2e-2        # seed search prefers a comfortable margin
LOGIT_SCALE = 3.0        # output embedding multiplied by this after init
INIT_STD = 0.2           # std of every 2-D weight
VEC_STD = 0.1            # std of biases and of (norm weight - 1)
EOS_ROW_SCALE = 1.5      # EOS row of the output embedding scaled further, so greedy runs can hit EOS

# name -> spec. "arch" is the transformers class family (default: the name); "unpadded" (default True) also
# stores each forward prompt's logits alone; "old_rope_keys" rewrites config.json after saving to the older
# rope_theta + rope_scaling keys (as checkpoints from before transformers 5 have them); "gradient_text" overrides
# GRADIENT_TEXT.
MODEL_SPECS = {
    "gpt2": {"tok": "gpt", "save_dtype": "float32", "shard": None, "base_seed": 1100, "ice": True},
    "llama": {"tok": "llama", "save_dtype": "float32", "shard": "200KB", "base_seed": 2200, "ice": True},
    "qwen2": {"tok": "qwen", "save_dtype": "bfloat16", "shard": None, "base_seed": 3300, "ice": False},
    "mistral": {"tok": "llama", "save_dtype": "float16", "shard": None, "base_seed": 4400, "ice": False},
    # Llama 3.2 style: llama3 rope (all three frequency bands present), tied embeddings, bf16 on disk.
    "llama3": {"arch": "llama", "tok": "llama", "save_dtype": "bfloat16", "shard": None, "base_seed": 5500,
               "ice": False, "unpadded": False},
    "llama-yarn": {"arch": "llama", "tok": "llama", "save_dtype": "bfloat16", "shard": None, "base_seed": 6600,
                   "ice": False, "unpadded": False},
    # Dynamic NTK: max_position_embeddings 16, so the forward batch (37 tokens), the long greedy prompt and the
    # gradient text go beyond it, and the short greedy prompts cross it while generating with the KV cache.
    "llama-dynamic": {"arch": "llama", "tok": "llama", "save_dtype": "float32", "shard": None, "base_seed": 7700,
                      "ice": False, "unpadded": False, "gradient_text": None},
    "llama-linear": {"arch": "llama", "tok": "llama", "save_dtype": "float16", "shard": None, "base_seed": 8800,
                     "ice": False, "unpadded": False, "old_rope_keys": True},
    # Qwen3: q/k RMSNorm per head, head_dim 32 != hidden 64 / 4 heads, tied, bf16.
    "qwen3": {"tok": "qwen", "save_dtype": "bfloat16", "shard": None, "base_seed": 9900, "ice": False,
              "unpadded": False},
    # Qwen2 with use_sliding_window: layer 0 full attention, layers 1-2 a window of 8 (max_window_layers 1).
    "qwen2-sw": {"arch": "qwen2", "tok": "qwen", "save_dtype": "bfloat16", "shard": None, "base_seed": 10100,
                 "ice": False},
}

MLP_OUT_PARAM = {
    "gpt2": "transformer.h.1.mlp.c_proj.weight",
    "llama": "model.layers.1.mlp.down_proj.weight",
    "qwen2": "model.layers.1.mlp.down_proj.weight",
    "mistral": "model.layers.1.mlp.down_proj.weight",
}
for _name in MODEL_SPECS:
    MLP_OUT_PARAM.setdefault(_name, "model.layers.1.mlp.down_proj.weight")

# Rope and window settings of the added tiny models (see README "Models").
LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
YARN_ROPE = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 32}
DYNAMIC_ROPE = {"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 4.0}
DYNAMIC_MAX_POSITIONS = 16
LINEAR_ROPE = {"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0}
QWEN2_SW_WINDOW = 8


def arch_of(name):
    return MODEL_SPECS[name].get("arch", name)


def log(*a):
    print(*a, flush=True)


def setup_torch():
    torch.set_num_threads(1)
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
    except Exception:  # pragma: no cover - very old torch
        pass
    torch.set_grad_enabled(True)


def versions():
    import tokenizers
    import transformers
    v = {"torch": torch.__version__, "transformers": transformers.__version__,
         "tokenizers": tokenizers.__version__, "python": sys.version.split()[0]}
    try:
        import safetensors
        v["safetensors"] = safetensors.__version__
    except Exception:
        pass
    return v


# ---------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------

def build_corpus(seed=20240601):
    """A few hundred varied English sentences from templates (+ digits, accents)."""
    rng = random.Random(seed)
    names = ["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Irene", "Jack",
             "Danielle Darrieux", "Marie Curie", "Zoe", "Omar", "Yuki", "Pierre", "Lucia", "Mateo",
             "Nadia", "Oscar"]
    jobs = ["pilot", "teacher", "doctor", "farmer", "singer", "lawyer", "painter", "engineer",
            "nurse", "baker", "writer", "actor", "chemist", "sailor"]
    places = [("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
              ("Japan", "Tokyo"), ("Canada", "Ottawa"), ("Egypt", "Cairo"), ("Peru", "Lima"),
              ("Zorland", "Zorburg"), ("Norway", "Oslo"), ("Brazil", "Brasília"),
              ("Switzerland", "Bern"), ("Sweden", "Stockholm"), ("Portugal", "Lisbon")]
    langs = ["French", "German", "Italian", "Spanish", "Japanese", "English", "Arabic", "Dutch",
             "Portuguese", "Swedish"]
    adjs = ["quick", "lazy", "old", "young", "bright", "quiet", "small", "large", "green", "famous"]
    nouns = ["dog", "cat", "river", "library", "museum", "city", "tower", "garden", "street", "book"]
    verbs = ["jumps", "walks", "runs", "looks", "waits", "sleeps", "sings", "stands"]
    accented = ["café", "naïve", "résumé", "über", "façade", "jalapeño", "São Paulo", "Zürich",
                "Málaga", "crème brûlée", "Ångström", "smörgåsbord", "déjà vu", "piñata", "Ñandú",
                "coöperate", "Kraków", "Øresund", "señor", "garçon"]
    templates = [
        lambda: "The capital of {} is {}.".format(*rng.choice(places)),
        lambda: f"{rng.choice(names)} works as a {rng.choice(jobs)}.",
        lambda: f"{rng.choice(names)}'s mother tongue is {rng.choice(langs)}.",
        lambda: f"{rng.choice(names)} was born in {rng.choice(places)[1]} in {rng.randint(1850, 2020)}.",
        lambda: f"In {rng.randint(1900, 2024)}, {rng.choice(names)} moved to {rng.choice(places)[1]} "
                f"with {rng.randint(2, 99)} friends.",
        lambda: f"The {rng.choice(adjs)} {rng.choice(nouns)} {rng.choice(verbs)} near the "
                f"{rng.choice(adjs)} {rng.choice(nouns)}.",
        lambda: f"Fact: {rng.choice(names)} lives in {rng.choice(places)[1]}. Now: where does she live?",
        lambda: f"The price is {rng.randint(0, 999)}.{rng.randint(0, 99):02d} euros at the {rng.choice(accented)}.",
        lambda: f"Call {rng.randint(100, 999)}-{rng.randint(1000, 9999)} before {rng.randint(1, 12)}:"
                f"{rng.randint(0, 59):02d} today.",
        lambda: f"{rng.choice(accented)} and {rng.choice(accented)} are words from {rng.choice(langs)}.",
        lambda: f"{rng.choice(names).upper()} WROTE A {rng.choice(nouns).upper()} ABOUT {rng.choice(places)[0]}.",
        lambda: f"{rng.choice(names)} said: \"I like the {rng.choice(adjs)} {rng.choice(nouns)}!\"",
        lambda: f"Is {rng.choice(places)[1]} in {rng.choice(places)[0]}? Yes, it is; {rng.randint(3, 9)} "
                f"of {rng.randint(10, 20)} people agree.",
        lambda: f"Hello world, {rng.choice(names)}! The {rng.choice(nouns)} is {rng.choice(adjs)} today.",
    ]
    corpus = []
    for _ in range(420):
        corpus.append(rng.choice(templates)())
    corpus += [
        "0 1 2 3 4 5 6 7 8 9",
        "10 20 30 40 50 60 70 80 90 100",
        "12345 67890 3.14159 2.71828 1.41421",
        "Tab\tseparated\tvalues and\nnew lines\nare text too.",
        "UPPER lower MiXeD CamelCase snake_case kebab-case",
        "The capital of France is Paris.",
        "Danielle Darrieux's mother tongue is French.",
        " leading space and  two spaces and trailing space ",
        "“Quotes” – dashes — and ‘apostrophes’ … ellipsis.",
        "日本語 中文 한국어 Ελληνικά русский עברית العربية 🙂 🚀",
    ]
    corpus += accented
    return corpus


# Qwen2's pre-tokenizer split pattern (the one transformers' Qwen2Tokenizer builds).
QWEN2_SPLIT_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                     r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")


def qwen2_split_regex():
    try:
        from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX
        return PRETOKENIZE_REGEX
    except Exception:
        return QWEN2_SPLIT_REGEX


def train_tokenizer(kind, corpus, vocab_size=512):
    """kind 'gpt' and 'llama': plain byte-level BPE (ByteLevel pre-tokenizer with its
    GPT-2 regex). kind 'qwen': the same BPE recipe but with Qwen2's pipeline (NFC,
    Split(Qwen2 regex) + ByteLevel(use_regex=False)), because transformers 5 loads a
    qwen2 directory with Qwen2Tokenizer, which rebuilds exactly that pipeline and
    ignores the pre-tokenizer in tokenizer.json."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    if kind in ("gpt", "qwen"):
        specials = ["<|endoftext|>"]
    elif kind == "llama":
        specials = ["<unk>", "<s>", "</s>"]
    else:
        raise ValueError(kind)
    if kind == "qwen":
        tok = Tokenizer(models.BPE(dropout=None, unk_token=None, continuing_subword_prefix="",
                                   end_of_word_suffix="", fuse_unk=False, byte_fallback=False))
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(qwen2_split_regex()), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    if kind in ("gpt", "qwen"):
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        info = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                "unk_token": None, "adds_bos": False}
    else:
        bos_id = tok.token_to_id("<s>")
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos_id)])
        info = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<unk>", "unk_token": "<unk>",
                "adds_bos": True}
    return tok, info


def wrap_tokenizer(tok, info, bos):
    try:
        from transformers import PreTrainedTokenizerFast as Fast
    except ImportError:  # pragma: no cover
        from transformers import TokenizersBackend as Fast
    kw = dict(tokenizer_object=tok, eos_token=info["eos_token"], pad_token=info["pad_token"],
              clean_up_tokenization_spaces=False, model_max_length=128)
    if bos:
        kw["bos_token"] = info["bos_token"]
    if info.get("unk_token"):
        kw["unk_token"] = info["unk_token"]
    return Fast(**kw)


def fix_tokenizer_config(d):
    """Force tokenizer_class=PreTrainedTokenizerFast; returns what was written before."""
    p = os.path.join(d, "tokenizer_config.json")
    with open(p, encoding="utf-8") as f:
        cfg = json.load(f)
    before = cfg.get("tokenizer_class")
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    with open(p, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False, sort_keys=True)
        f.write("\n")
    return before


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------

def _rope_config(cls, theta, rope=None, **kw):
    params = dict(rope) if rope else {"rope_type": "default", "rope_theta": theta}
    try:
        return cls(rope_parameters=params, **kw)
    except (TypeError, ValueError):
        legacy = {k: v for k, v in params.items() if k not in ("rope_theta", "rope_type")}
        if params["rope_type"] != "default":
            legacy["type"] = params["rope_type"]
            kw["rope_scaling"] = legacy
        return cls(rope_theta=params["rope_theta"], **kw)


def make_config(name, vocab_size, ids):
    import transformers as T
    common_ids = dict(bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"])
    if name == "gpt2":
        return T.GPT2Config(vocab_size=vocab_size, n_positions=128, n_embd=64, n_layer=3, n_head=4,
                            n_inner=None, activation_function="gelu_new", resid_pdrop=0.0,
                            embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
                            initializer_range=INIT_STD, tie_word_embeddings=True, **common_ids)
    if name == "llama":
        return _rope_config(T.LlamaConfig, 10000.0, vocab_size=vocab_size, hidden_size=64,
                            intermediate_size=160, num_hidden_layers=3, num_attention_heads=4,
                            num_key_value_heads=2, hidden_act="silu", max_position_embeddings=128,
                            initializer_range=INIT_STD, rms_norm_eps=1e-5, tie_word_embeddings=False,
                            attention_bias=False, mlp_bias=False, **common_ids)
    qwen2 = dict(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_attention_heads=4,
                 num_key_value_heads=2, hidden_act="silu", max_position_embeddings=128, initializer_range=INIT_STD,
                 rms_norm_eps=1e-6, **common_ids)
    if name == "qwen2":
        return _rope_config(T.Qwen2Config, 10000.0, num_hidden_layers=2, tie_word_embeddings=True,
                            use_sliding_window=False, **qwen2)
    if name == "mistral":
        return _rope_config(T.MistralConfig, 10000.0, vocab_size=vocab_size, hidden_size=64,
                            intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                            num_key_value_heads=2, hidden_act="silu", max_position_embeddings=128,
                            initializer_range=INIT_STD, rms_norm_eps=1e-5, tie_word_embeddings=False,
                            sliding_window=16, **common_ids)
    small_llama = dict(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, hidden_act="silu",
                       initializer_range=INIT_STD, rms_norm_eps=1e-5, attention_bias=False, mlp_bias=False,
                       **common_ids)
    if name == "llama3":
        return _rope_config(T.LlamaConfig, 0, rope=LLAMA3_ROPE, max_position_embeddings=128,
                            tie_word_embeddings=True, **small_llama)
    if name == "llama-yarn":
        return _rope_config(T.LlamaConfig, 0, rope=YARN_ROPE, max_position_embeddings=128,
                            tie_word_embeddings=False, **small_llama)
    if name == "llama-dynamic":
        return _rope_config(T.LlamaConfig, 0, rope=DYNAMIC_ROPE, max_position_embeddings=DYNAMIC_MAX_POSITIONS,
                            tie_word_embeddings=False, **small_llama)
    if name == "llama-linear":
        return _rope_config(T.LlamaConfig, 0, rope=LINEAR_ROPE, max_position_embeddings=128,
                            tie_word_embeddings=False, **small_llama)
    if name == "qwen3":
        return _rope_config(T.Qwen3Config, 1000000.0, vocab_size=vocab_size, hidden_size=64,
                            intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                            num_key_value_heads=2, head_dim=32, hidden_act="silu", max_position_embeddings=128,
                            initializer_range=INIT_STD, rms_norm_eps=1e-6, tie_word_embeddings=True,
                            attention_bias=False, use_sliding_window=False, **common_ids)
    if name == "qwen2-sw":
        return _rope_config(T.Qwen2Config, 10000.0, num_hidden_layers=3, tie_word_embeddings=False,
                            use_sliding_window=True, sliding_window=QWEN2_SW_WINDOW, max_window_layers=1, **qwen2)
    raise ValueError(name)


def model_class(name):
    import transformers as T
    return {"gpt2": T.GPT2LMHeadModel, "llama": T.LlamaForCausalLM, "qwen2": T.Qwen2ForCausalLM,
            "mistral": T.MistralForCausalLM, "qwen3": T.Qwen3ForCausalLM}[arch_of(name)]


def write_old_rope_keys(d):
    """Rewrites config.json's rope_parameters as the older top-level rope_theta plus rope_scaling {type, ...}."""
    p = os.path.join(d, "config.json")
    with open(p, encoding="utf-8") as f:
        cfg = json.load(f)
    params = cfg.pop("rope_parameters")
    cfg["rope_theta"] = params.pop("rope_theta")
    params["type"] = params.pop("rope_type")
    cfg["rope_scaling"] = params
    with open(p, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


@torch.no_grad()
def init_weights(model, seed):
    """Own deterministic init: 2-D ~ N(0, INIT_STD), biases ~ N(0, VEC_STD),
    norm weights ~ 1 + N(0, VEC_STD); output embedding scaled by LOGIT_SCALE and its
    EOS row by EOS_ROW_SCALE on top (so that some greedy runs stop at EOS)."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():  # tied parameters appear once
        if p.dim() >= 2:
            p.copy_(torch.randn(p.shape, generator=g) * INIT_STD)
        elif name.endswith("bias"):
            p.copy_(torch.randn(p.shape, generator=g) * VEC_STD)
        else:
            p.copy_(1.0 + torch.randn(p.shape, generator=g) * VEC_STD)
    w = model.get_output_embeddings().weight
    w.mul_(LOGIT_SCALE)
    eos = model.config.eos_token_id
    for e in (eos if isinstance(eos, (list, tuple)) else [eos]):
        if e is not None:
            w[int(e)].mul_(EOS_ROW_SCALE)


def load_tokenizer(path):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(path)


def load_model(path):
    """fp32, eager attention, eval mode, on CPU. Returns (model, dtype_loaded_note)."""
    import transformers
    from transformers import AutoModelForCausalLM
    major = int(transformers.__version__.split(".")[0])
    kw = {"attn_implementation": "eager"}
    if major >= 5:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kw)
    else:
        try:
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kw)
        except TypeError:
            model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, **kw)
    dtypes = sorted({str(p.dtype) for p in model.parameters()})
    model = model.float().to("cpu")
    model.eval()
    fresh_dynamic_rope(model)
    return model, dtypes


def fresh_dynamic_rope(model):
    """transformers' dynamic rotary module keeps the longest sequence it has seen (max_seq_len_cached) and goes on
    using the frequencies computed for it for shorter sequences down to max_position_embeddings, so one call's
    result depends on the calls before it. For goldens that depend only on their inputs, every call without a
    KV cache (a plain forward, the prefill of generate) starts from the state of a freshly loaded model; within
    one generate() the length only grows, so the steps after the prefill are left alone."""
    rotary = [m for m in model.modules() if hasattr(m, "original_inv_freq") and hasattr(m, "max_seq_len_cached")]
    if not rotary or "dynamic" not in str(getattr(rotary[0], "rope_type", "")):
        return

    def reset(module, args, kwargs):
        cache = kwargs.get("past_key_values")
        if cache is None or cache.get_seq_length() == 0:
            for r in rotary:
                r.inv_freq = r.original_inv_freq.clone()
                r.max_seq_len_cached = r.original_max_seq_len
        return None

    model.register_forward_pre_hook(reset, with_kwargs=True)


# ---------------------------------------------------------------------------
# Golden computations
# ---------------------------------------------------------------------------

class TensorStore:
    def __init__(self):
        self.t = {}

    def put(self, key, tensor):
        assert key not in self.t, key
        self.t[key] = tensor.detach().to(torch.float32).contiguous().cpu().clone()
        return key

    def save(self, path):
        from safetensors.torch import save_file
        save_file(self.t, path, metadata={"format": "pt", "producer": "tools/golden/make_golden.py"})


def tokenization_goldens(tok, raw_tok=None):
    out, mismatches = [], []
    for text in TRICKY_STRINGS:
        ids = list(map(int, tok(text)["input_ids"]))
        ids_ns = list(map(int, tok(text, add_special_tokens=False)["input_ids"]))
        decoded = tok.decode(ids_ns)
        out.append({"text": text, "ids": ids, "ids_no_special": ids_ns, "decoded": decoded})
        if raw_tok is not None:
            r = raw_tok.encode(text, add_special_tokens=True).ids
            r_ns = raw_tok.encode(text, add_special_tokens=False).ids
            if list(r) != ids or list(r_ns) != ids_ns:
                mismatches.append({"text": text, "tokenizer_json_ids": list(r),
                                   "tokenizer_json_ids_no_special": list(r_ns)})
    return out, mismatches


def left_pad(seqs, pad_id):
    T = max(len(s) for s in seqs)
    ids = [[pad_id] * (T - len(s)) + list(s) for s in seqs]
    mask = [[0] * (T - len(s)) + [1] * len(s) for s in seqs]
    ids_t = torch.tensor(ids, dtype=torch.long)
    mask_t = torch.tensor(mask, dtype=torch.long)
    pos = mask_t.cumsum(-1) - 1
    pos = pos.masked_fill(mask_t == 0, 1)
    return ids_t, mask_t, pos


@torch.no_grad()
def forward_goldens(model, tok, prompts, store, with_unpadded=True):
    pad_id = tok.pad_token_id
    seqs = [list(map(int, tok(p)["input_ids"])) for p in prompts]
    ids, mask, pos = left_pad(seqs, pad_id)
    # Cross-check against the tokenizer's own left padding.
    tok.padding_side = "left"
    enc = tok(prompts, padding=True, return_tensors="pt")
    tok_pad_matches = bool(torch.equal(enc["input_ids"], ids) and torch.equal(enc["attention_mask"], mask))
    logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float()
    store.put("forward.logits", logits)
    res = {
        "prompts": prompts,
        "lengths": [len(s) for s in seqs],
        "pad_token_id": int(pad_id),
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "position_ids": pos.tolist(),
        "logits_key": "forward.logits",
        "logits_shape": list(logits.shape),
        "logits_all_finite": bool(torch.isfinite(logits).all()),
        "tokenizer_left_padding_matches": tok_pad_matches,
    }
    if with_unpadded:
        diffs = []
        keys = []
        T = ids.shape[1]
        for i, s in enumerate(seqs):
            li = model(input_ids=torch.tensor([s], dtype=torch.long)).logits.float()
            keys.append(store.put(f"forward.logits_unpadded.{i}", li))
            d = (logits[i, T - len(s):] - li[0]).abs().max().item()
            diffs.append(d)
        res["logits_unpadded_keys"] = keys
        res["pad_consistency_per_prompt"] = diffs
        res["pad_consistency_max_abs_diff"] = max(diffs)
    return res


@torch.no_grad()
def sliding_window_check(d, fw, store, window):
    """For information: how much the sliding window changes the logits of the longest
    prompt (re-load with sliding_window=None and compare with the golden unpadded logits)."""
    from transformers import AutoConfig, AutoModelForCausalLM
    i = max(range(len(fw["lengths"])), key=lambda k: fw["lengths"][k])
    kw = {"sliding_window": None}
    layer_types = getattr(AutoConfig.from_pretrained(d), "layer_types", None)
    if layer_types:  # Qwen2/Qwen3 name the attention of each layer; all full without a window
        kw["layer_types"] = ["full_attention"] * len(layer_types)
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager",
                                             **kw).float().eval()
    ids = fw["input_ids"][i][-fw["lengths"][i]:]
    full = m(input_ids=torch.tensor([ids], dtype=torch.long)).logits.float()[0]
    ref = store.t[f"forward.logits_unpadded.{i}"][0]
    diff = (full - ref).abs().amax(-1)
    return {"window": int(window), "prompt_index": i, "length": len(ids),
            "semantics": "query at index q attends keys k with q - window < k <= q (window tokens incl. itself)",
            "max_abs_diff_vs_no_window_positions_lt_window": diff[:window].max().item(),
            "max_abs_diff_vs_no_window_positions_ge_window": diff[window:].max().item() if len(ids) > window else None}


def _rotary(model):
    for m in model.modules():
        if hasattr(m, "inv_freq") and hasattr(m, "attention_scaling") and hasattr(m, "rope_type"):
            return m
    return None


def rope_info(model):
    """For rope types other than default: the parameters as transformers standardised them, and the inverse
    frequencies and cos/sin scaling its init function gives at several sequence lengths (the seq_len argument
    matters for dynamic only; "init" is the value the module starts with)."""
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
    r = _rotary(model)
    if r is None or r.rope_type == "default":
        return None
    cfg = model.config
    fn = ROPE_INIT_FUNCTIONS[r.rope_type]
    out = {"rope_type": r.rope_type, "parameters": dict(cfg.rope_parameters),
           "max_position_embeddings": int(cfg.max_position_embeddings), "inv_freq": {}, "attention_scaling": {}}
    lengths = [None] + sorted({int(cfg.max_position_embeddings), int(cfg.max_position_embeddings) + 1, 37, 64})
    for length in lengths:
        seq = None if length is None else torch.tensor(length)
        inv, scaling = fn(cfg, None, seq_len=seq)
        key = "init" if length is None else str(length)
        out["inv_freq"][key] = [float(x) for x in inv.float().tolist()]
        out["attention_scaling"][key] = float(scaling)
    return out


@torch.no_grad()
def rope_check(d, fw, store):
    """For information: how far the golden forward logits are from the same weights with default rope."""
    from transformers import AutoConfig, AutoModelForCausalLM
    cfg = AutoConfig.from_pretrained(d)
    plain = {"rope_type": "default", "rope_theta": cfg.rope_parameters["rope_theta"]}
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager",
                                             rope_parameters=plain).float().eval()
    ids = torch.tensor(fw["input_ids"], dtype=torch.long)
    mask = torch.tensor(fw["attention_mask"], dtype=torch.long)
    pos = torch.tensor(fw["position_ids"], dtype=torch.long)
    logits = m(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float()
    ref = store.t[fw["logits_key"]]
    return {"max_abs_diff_vs_default_rope": (logits - ref)[mask.bool()].abs().max().item()}


def _gaps_from_logits(step_logits, finished_before):
    """step_logits: list over steps of (B,V); finished_before[s][b] True if row b had
    already emitted EOS before step s (its later tokens are padding)."""
    gaps = []
    for s, l in enumerate(step_logits):
        top = torch.topk(l.float(), 2, dim=-1).values
        for b in range(l.shape[0]):
            if not finished_before[s][b]:
                gaps.append((top[b, 0] - top[b, 1]).item())
    return gaps


@torch.no_grad()
def _generate(model, ids, mask):
    out = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, num_beams=1,
                         max_new_tokens=MAX_NEW_TOKENS, return_dict_in_generate=True,
                         output_logits=True, output_scores=True)
    step_logits = out.logits if getattr(out, "logits", None) is not None else out.scores
    return out.sequences, list(step_logits)


def _eos_set(model):
    e = model.generation_config.eos_token_id
    if e is None:
        e = model.config.eos_token_id
    if e is None:
        return set()
    return set(e) if isinstance(e, (list, tuple)) else {int(e)}


@torch.no_grad()
def greedy_goldens(model, tok, prompts):
    eos = _eos_set(model)
    pad_id = model.generation_config.pad_token_id
    all_gaps = []
    singles = []
    argmax_ok = True
    for p in prompts:
        ids = list(map(int, tok(p)["input_ids"]))
        it = torch.tensor([ids], dtype=torch.long)
        seq, steps = _generate(model, it, torch.ones_like(it))
        new = seq[0, len(ids):].tolist()
        finished = []
        done = False
        for s in range(len(steps)):
            finished.append([done])
            if s < len(new) and new[s] in eos:
                done = True
            if s < len(new) and int(steps[s][0].argmax()) != new[s]:
                argmax_ok = False
        g = _gaps_from_logits(steps, finished)
        all_gaps += g
        try:  # for information: the KV cache must not change greedy decoding
            nc = model.generate(input_ids=it, attention_mask=torch.ones_like(it), do_sample=False, num_beams=1,
                                max_new_tokens=MAX_NEW_TOKENS, use_cache=False)
            no_cache_match = nc[0, len(ids):].tolist() == new
        except Exception as e:  # pragma: no cover
            no_cache_match = f"error: {type(e).__name__}: {e}"
        singles.append({"prompt": p, "input_ids": ids, "new_tokens": new,
                        "new_text": tok.decode(new),
                        "stopped_at_eos": bool(new and new[-1] in eos),
                        "min_gap": min(g) if g else None, "no_cache_matches": no_cache_match})
    # batched, left padded by the tokenizer
    tok.padding_side = "left"
    enc = tok(prompts, padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    seq, steps = _generate(model, ids, mask)
    T = ids.shape[1]
    raw = seq[:, T:].tolist()
    rows, finished = [], [[False] * len(prompts) for _ in range(len(steps))]
    for b, r in enumerate(raw):
        stripped, done = [], False
        for s, t in enumerate(r):
            if s < len(steps):
                finished[s][b] = done
            if done:
                continue
            stripped.append(t)
            if t in eos:
                done = True
        rows.append(stripped)
    for s in range(len(steps)):
        for b in range(len(prompts)):
            if not finished[s][b] and int(steps[s][b].argmax()) != raw[b][s]:
                argmax_ok = False
    gb = _gaps_from_logits(steps, finished)
    all_gaps += gb
    batch = {
        "prompts": prompts,
        "padding_side": "left",
        "pad_token_id": None if pad_id is None else int(pad_id),
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "raw_new_tokens": raw,
        "new_tokens": rows,
        "matches_single": [rows[b] == singles[b]["new_tokens"] for b in range(len(prompts))],
        "min_gap": min(gb) if gb else None,
    }
    return singles, batch, (min(all_gaps) if all_gaps else float("inf")), argmax_ok


def find_param(model, name_hint=None):
    params = dict(model.named_parameters())
    if name_hint and name_hint in params:
        return name_hint, params[name_hint]
    import re
    cands = [n for n in params if re.search(r"\.1\.mlp\.(down_proj|c_proj|fc_out|dense_4h_to_h)\.weight$", n)]
    if not cands:
        cands = [n for n in params if re.search(r"\.0\.mlp\.(down_proj|c_proj)\.weight$", n)]
    if not cands:
        raise KeyError("no MLP output projection found")
    return cands[0], params[cands[0]]


def _grad_of(model, param, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    g = param.grad.detach().clone()
    model.zero_grad(set_to_none=True)
    return g


def gradient_goldens(model, tok, text, pname, store):
    name, param = find_param(model, pname)
    ids = list(map(int, tok(text)["input_ids"]))
    with torch.enable_grad():
        logits = model(input_ids=torch.tensor([ids], dtype=torch.long)).logits.float()
        lp = torch.log_softmax(logits[0, :-1], dim=-1)
        tgt = torch.tensor(ids[1:], dtype=torch.long)
        loss = -lp.gather(1, tgt[:, None]).squeeze(1).mean()
        g = _grad_of(model, param, loss)
    store.put("gradient.grad", g)
    return {"text": text, "param": name, "param_shape": list(param.shape), "input_ids": ids,
            "loss": float(loss.item()), "loss_definition": "mean over t of -log softmax(logits[t])[ids[t+1]], t=0..T-2",
            "grad_key": "gradient.grad"}


def _logits1(model, ids):
    return model(input_ids=torch.tensor([ids], dtype=torch.long)).logits[0].float()


def ice_goldens(model, tok, pname, store):
    name, param = find_param(model, pname)
    eos_id = int(tok.eos_token_id)
    bos_id = tok.bos_token_id
    examples = []
    for ex in ICE_EXAMPLES:
        q, x = ex["prompt"], ex["target"]
        prompt_ids = list(map(int, tok(q)["input_ids"]))
        target_text = " " + x
        target_ids = list(map(int, tok(target_text, add_special_tokens=False)["input_ids"]))
        completion_ids = [eos_id if c == "EOS" else int(c) for c in ex["completion"]]
        c_sent = q + " " + x + "."
        context_text = ex["prefix"] + c_sent + " Now: "
        context_ids = list(map(int, tok(context_text)["input_ids"]))
        p_tail = prompt_ids[1:] if (bos_id is not None and prompt_ids and prompt_ids[0] == bos_id) else prompt_ids
        seq_wo = prompt_ids + target_ids + completion_ids
        seq_w = context_ids + p_tail + target_ids + completion_ids
        n_kl = 0
        for c in completion_ids:
            if c == eos_id:
                break
            n_kl += 1
        examples.append({"prompt": q, "target": x, "target_text": target_text, "context_prefix": ex["prefix"],
                         "context_text": context_text, "prompt_ids": prompt_ids, "target_ids": target_ids,
                         "completion_ids": completion_ids, "context_ids": context_ids,
                         "seq_without_context": seq_wo, "seq_with_context": seq_w, "kl_positions": n_kl})

    def compute(kind):
        """Returns (batch_loss tensor, per-example details)."""
        losses, details = [], []
        for e in examples:
            Lt, Lc = len(e["target_ids"]), len(e["completion_ids"])
            if kind == "ice":
                lw = torch.log_softmax(_logits1(model, e["seq_with_context"]), -1)
                lo = torch.log_softmax(_logits1(model, e["seq_without_context"]), -1)
                Tw, To = lw.shape[0], lo.shape[0]
                L = Lt + Lc
                nll_w, nll_o, tok_w, tok_o = 0.0, 0.0, [], []
                for k in range(Lt):
                    t = e["target_ids"][k]
                    a = -lw[Tw - L + k - 1, t]
                    b = -lo[To - L + k - 1, t]
                    nll_w = nll_w + a
                    nll_o = nll_o + b
                    tok_w.append(float(a.item()))
                    tok_o.append(float(b.item()))
                kl, kl_terms = torch.zeros(()), []
                for k in range(e["kl_positions"]):
                    jw = Tw - Lc + k - 1
                    jo = To - Lc + k - 1
                    lp = lw[jw].detach()
                    term = (lp.exp() * (lp - lo[jo])).sum()
                    kl = kl + term
                    kl_terms.append(float(term.item()))
                loss = nll_w + nll_o + kl
                details.append({"nll_with_context": float(nll_w.item()), "nll_without_context": float(nll_o.item()),
                                "kl": float(kl.item()), "loss": float(loss.item()),
                                "target_nll_with_context_per_token": tok_w,
                                "target_nll_without_context_per_token": tok_o,
                                "kl_per_position": kl_terms})
            elif kind == "ftm":
                seq = e["prompt_ids"] + e["target_ids"]
                lo = torch.log_softmax(_logits1(model, seq), -1)
                P = len(e["prompt_ids"])
                terms = [-lo[P + k - 1, e["target_ids"][k]] for k in range(Lt)]
                loss = torch.stack(terms).mean()
                details.append({"loss": float(loss.item()), "per_token": [float(t.item()) for t in terms]})
            else:  # ftl
                lo = torch.log_softmax(_logits1(model, e["prompt_ids"]), -1)
                last = lo[len(e["prompt_ids"]) - 1]
                terms = [-last[t] for t in e["target_ids"]]
                loss = torch.stack(terms).mean()
                details.append({"loss": float(loss.item()), "per_token": [float(t.item()) for t in terms]})
            losses.append(loss)
        return torch.stack(losses).mean(), details

    out = {}
    with torch.enable_grad():
        for kind in ("ice", "ftm", "ftl"):
            bl, det = compute(kind)
            g = _grad_of(model, param, bl)
            key = store.put(f"{kind}_loss.grad", g)
            out[kind] = (float(bl.item()), det, key)
    ice = {"param": name, "param_shape": list(param.shape), "examples": examples,
           "per_example": out["ice"][1], "batch_loss": out["ice"][0], "grad_key": out["ice"][2],
           "definition": "loss_i = nll_with_context + nll_without_context + sum_{completion tokens before first EOS} "
                         "KL(p||q), p (with context) detached inside KL; batch_loss = mean_i loss_i"}
    ftm = {"param": name, "value": out["ftm"][0], "per_example": out["ftm"][1], "grad_key": out["ftm"][2],
           "definition": "mean_i mean_k -log q(target_k | prompt, target_<k) (teacher forced, no context)"}
    ftl = {"param": name, "value": out["ftl"][0], "per_example": out["ftl"][1], "grad_key": out["ftl"][2],
           "definition": "mean_i mean_k -log softmax(logits at last prompt position)[target_k]"}
    return ice, ftm, ftl


def config_keys(d):
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    return cfg


def weight_files(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx, encoding="utf-8") as f:
            wm = json.load(f)["weight_map"]
        return sorted(set(wm.values()))
    return sorted(f for f in os.listdir(d) if f.endswith(".safetensors") and not f.startswith("golden"))


def read_tensors(d):
    from safetensors import safe_open
    out = {}
    for fn in weight_files(d):
        with safe_open(os.path.join(d, fn), framework="pt") as f:
            for k in f.keys():
                out[k] = f.get_tensor(k)
    return out


# ---------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------

def build_and_save(name, spec, tokenizers_by_kind, seed, d):
    raw, info = tokenizers_by_kind[spec["tok"]]
    hf_tok = wrap_tokenizer(raw, info, bos=(spec["tok"] != "qwen"))
    ids = {"bos": hf_tok.bos_token_id, "eos": hf_tok.eos_token_id, "pad": hf_tok.pad_token_id}
    V = raw.get_vocab_size()
    config = make_config(name, V, ids)
    torch.manual_seed(seed)
    model = model_class(name)(config)
    init_weights(model, seed)
    model.generation_config.bos_token_id = ids["bos"]
    model.generation_config.eos_token_id = ids["eos"]
    model.generation_config.pad_token_id = ids["pad"]
    model.generation_config.do_sample = False
    dt = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[spec["save_dtype"]]
    model = model.to(dt)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    kw = {}
    if spec["shard"]:
        kw["max_shard_size"] = spec["shard"]
    model.save_pretrained(d, **kw)
    if spec.get("old_rope_keys"):
        write_old_rope_keys(d)
    hf_tok.save_pretrained(d)
    before = fix_tokenizer_config(d)
    return before


def generate_one(name, spec, tokenizers_by_kind, out_dir, args):
    from tokenizers import Tokenizer
    d = os.path.join(out_dir, name)
    t0 = time.time()
    tries = []
    best = None
    chosen = None
    for k in range(args.tries):
        seed = spec["base_seed"] + k
        tc_before = build_and_save(name, spec, tokenizers_by_kind, seed, d)
        tok = load_tokenizer(d)
        model, loaded_dtypes = load_model(d)
        singles, batch, gap, argmax_ok = greedy_goldens(model, tok, GREEDY_PROMPTS)
        # Prefer seeds where 1 or 2 of the 3 greedy runs stop at EOS after >= 2 tokens
        # (exercises EOS handling and finished rows in batched generation).
        n_eos = sum(1 for x in singles if x["stopped_at_eos"] and len(x["new_tokens"]) >= 2)
        n_short = sum(1 for x in singles if x["stopped_at_eos"] and len(x["new_tokens"]) < 2)
        eos_ok = 1 <= n_eos <= 2 and n_short == 0
        tries.append({"seed": seed, "min_greedy_gap": gap, "eos_ok": eos_ok,
                      "eos_lengths": [len(x["new_tokens"]) if x["stopped_at_eos"] else None for x in singles]})
        log(f"[{name}] seed {seed}: min greedy gap {gap:.5g}, eos {tries[-1]['eos_lengths']}")
        key = (gap > GAP_HARD_MIN and eos_ok, gap)
        if best is None or key > best[1]:
            best = (seed, key)
        if gap >= args.target_gap and eos_ok:
            chosen = seed
            break
    if chosen is None:
        if best[1][1] <= GAP_HARD_MIN:
            raise RuntimeError(f"{name}: no seed gives min greedy gap > {GAP_HARD_MIN} (best {best})")
        chosen = best[0]
        if tries[-1]["seed"] != chosen:
            tc_before = build_and_save(name, spec, tokenizers_by_kind, chosen, d)
    # Everything below from the re-loaded directory.
    tok = load_tokenizer(d)
    model, loaded_dtypes = load_model(d)
    raw_json_tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    store = TensorStore()
    g = {"schema_version": SCHEMA_VERSION, "name": name, "model_type": model.config.model_type,
         "versions": versions(), "seed": chosen, "seed_search": tries,
         "init": {"weight_std": INIT_STD, "vector_std": VEC_STD, "output_embedding_scale": LOGIT_SCALE,
                  "eos_row_extra_scale": EOS_ROW_SCALE},
         "saved_dtype": spec["save_dtype"], "loaded_param_dtypes_before_float": loaded_dtypes,
         "weight_files": weight_files(d), "tokenizer_class_written_by_transformers": tc_before,
         "tokenizer_class": type(tok).__name__,
         "vocab_size": int(model.config.vocab_size),
         "special_tokens": {"bos_token": tok.bos_token, "bos_token_id": tok.bos_token_id,
                            "eos_token": tok.eos_token, "eos_token_id": tok.eos_token_id,
                            "pad_token": tok.pad_token, "pad_token_id": tok.pad_token_id,
                            "unk_token": tok.unk_token, "unk_token_id": tok.unk_token_id},
         "generation_eos_token_ids": sorted(_eos_set(model)),
         "max_new_tokens": MAX_NEW_TOKENS}
    g["tokenization"], mism = tokenization_goldens(tok, raw_json_tok)
    g["tokenizer_json_mismatches"] = mism
    if mism:
        log(f"[{name}] WARNING: transformers ids differ from raw tokenizer.json for {len(mism)} strings")
    g["forward"] = forward_goldens(model, tok, FORWARD_PROMPTS, store, with_unpadded=spec.get("unpadded", True))
    singles, batch, gap, argmax_ok = greedy_goldens(model, tok, GREEDY_PROMPTS)
    g["greedy"] = singles
    g["greedy_batch"] = batch
    g["min_greedy_gap"] = gap
    g["greedy_argmax_consistent"] = argmax_ok
    if not gap > GAP_HARD_MIN:
        raise RuntimeError(f"{name}: min greedy gap {gap} <= {GAP_HARD_MIN} after reload")
    sw = getattr(model.config, "sliding_window", None)
    if sw:
        g["sliding_window_check"] = sliding_window_check(d, g["forward"], store, sw)
    text = spec.get("gradient_text", GRADIENT_TEXT) or FORWARD_PROMPTS[2]
    g["gradient"] = gradient_goldens(model, tok, text, MLP_OUT_PARAM[name], store)
    g["rope"] = rope_info(model)
    if g["rope"]:
        g["rope"]["check"] = rope_check(d, g["forward"], store)
    if spec["ice"]:
        g["ice_loss"], g["ftm_loss"], g["ftl_loss"] = ice_goldens(model, tok, MLP_OUT_PARAM[name], store)
    cfg = config_keys(d)
    g["config_keys"] = sorted(cfg.keys())
    store.save(os.path.join(d, "golden.safetensors"))
    g["tensor_keys"] = sorted(store.t.keys())
    with open(os.path.join(d, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(g, f, indent=1, ensure_ascii=False)
        f.write("\n")
    summary = {"ok": True, "seed": chosen, "min_greedy_gap": gap,
               "pad_consistency_max_abs_diff": g["forward"].get("pad_consistency_max_abs_diff"),
               "forward_lengths": g["forward"]["lengths"],
               "sliding_window_check": g.get("sliding_window_check"),
               "layer_types": getattr(model.config, "layer_types", None),
               "rope": {k: v for k, v in (g.get("rope") or {}).items() if k != "inv_freq"} or None,
               "greedy_batch_matches_single": batch["matches_single"],
               "greedy_argmax_consistent": argmax_ok,
               "tokenizer_json_mismatches": len(mism),
               "tokenizer_left_padding_matches": g["forward"]["tokenizer_left_padding_matches"],
               "weight_files": g["weight_files"], "config": cfg,
               "tokenizer_class_written_by_transformers": tc_before,
               "loaded_tokenizer_class": g["tokenizer_class"],
               "loaded_param_dtypes_before_float": loaded_dtypes,
               "seconds": round(time.time() - t0, 2)}
    return summary


def cmd_generate(args):
    setup_torch()
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    log("versions:", json.dumps(versions()))
    corpus = build_corpus()
    toks = {}
    for kind in ("gpt", "llama", "qwen"):
        toks[kind] = train_tokenizer(kind, corpus)
        log(f"tokenizer {kind}: vocab {toks[kind][0].get_vocab_size()}")
    names = args.models.split(",") if args.models else list(MODEL_SPECS)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    summary = {"versions": versions(), "generated_utc": now, "corpus_sentences": len(corpus), "models": {}}
    summary_path = os.path.join(out_dir, "summary.json")
    if args.models and os.path.exists(summary_path):
        # a subset: keep the other models' entries; the new ones say when and with what they were made
        with open(summary_path, encoding="utf-8") as f:
            summary = json.load(f)
        log(f"updating {summary_path}: keeping {sorted(set(summary['models']) - set(names))}")
    for name in names:
        try:
            summary["models"][name] = generate_one(name, MODEL_SPECS[name], toks, out_dir, args)
            if args.models:
                summary["models"][name].update({"versions": versions(), "generated_utc": now})
        except Exception as e:  # keep going with the other models
            traceback.print_exc()
            summary["models"][name] = {"ok": False, "error": f"{type(e).__name__}: {e}",
                                       "traceback": traceback.format_exc()}
    with open(summary_path, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
        f.write("\n")
    log("=" * 70)
    log("SUMMARY")
    for name, s in summary["models"].items():
        if name not in names:
            continue
        if s.get("ok"):
            log(f"  {name:8s} OK  seed={s['seed']} min_greedy_gap={s['min_greedy_gap']:.4g} "
                f"pad_diff={s['pad_consistency_max_abs_diff'] if s['pad_consistency_max_abs_diff'] is None else format(s['pad_consistency_max_abs_diff'], '.3g')} lengths={s['forward_lengths']} "
                f"batch==single={s['greedy_batch_matches_single']} files={s['weight_files']} "
                f"tok_mismatch={s['tokenizer_json_mismatches']} tc_written={s['tokenizer_class_written_by_transformers']} "
                f"({s['seconds']}s)")
            log(f"           config keys: {sorted(s['config'].keys())}")
        else:
            log(f"  {name:8s} FAILED: {s['error']}")
    ok = all(summary["models"][n].get("ok") for n in names)
    log("ALL OK" if ok else "SOME MODELS FAILED")
    return 0 if ok else 1


# ---------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------

def _bits_equal(a, b):
    if a.dtype != b.dtype or tuple(a.shape) != tuple(b.shape):
        return False
    return torch.equal(a.contiguous().reshape(-1).view(torch.uint8), b.contiguous().reshape(-1).view(torch.uint8))


def verify_one(golden_dir, name, saved_dir, tol):
    from safetensors.torch import load_file
    r = {"name": name, "golden": os.path.join(golden_dir, name), "saved": saved_dir}
    gd = os.path.join(golden_dir, name)
    ref = read_tensors(gd)
    got = read_tensors(saved_dir)
    r["weight_files_golden"] = weight_files(gd)
    r["weight_files_saved"] = weight_files(saved_dir)
    r["missing"] = sorted(set(ref) - set(got))
    r["extra"] = sorted(set(got) - set(ref))
    common = sorted(set(ref) & set(got))
    r["dtype_mismatch"] = {k: [str(ref[k].dtype), str(got[k].dtype)] for k in common if ref[k].dtype != got[k].dtype}
    r["shape_mismatch"] = {k: [list(ref[k].shape), list(got[k].shape)] for k in common
                           if tuple(ref[k].shape) != tuple(got[k].shape)}
    r["not_bit_identical"] = [k for k in common if k not in r["dtype_mismatch"] and k not in r["shape_mismatch"]
                              and not _bits_equal(ref[k], got[k])]
    r["tensor_count"] = len(ref)
    r["tensors_ok"] = not (r["missing"] or r["extra"] or r["dtype_mismatch"] or r["shape_mismatch"]
                           or r["not_bit_identical"])
    with open(os.path.join(gd, "golden.json"), encoding="utf-8") as f:
        g = json.load(f)
    gt = load_file(os.path.join(gd, "golden.safetensors"))
    try:
        fw = g["forward"]
        ids = torch.tensor(fw["input_ids"], dtype=torch.long)
        mask = torch.tensor(fw["attention_mask"], dtype=torch.long)
        pos = torch.tensor(fw["position_ids"], dtype=torch.long)

        def fwd(path):
            model, dtypes = load_model(path)
            with torch.no_grad():
                return model(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float(), dtypes

        logits, dtypes = fwd(saved_dir)
        ref_l = gt[fw["logits_key"]]
        m = mask.bool()
        r["logits_shape_ok"] = list(logits.shape) == list(ref_l.shape)
        if r["logits_shape_ok"]:
            r["logits_max_abs_diff"] = (logits[m] - ref_l[m]).abs().max().item()
            r["logits_max_abs_diff_incl_pad"] = (logits - ref_l).abs().max().item()
            r["logits_ok"] = r["logits_max_abs_diff"] <= tol
            if not r["logits_ok"]:
                # Is it this machine's torch build? Re-run the golden directory itself here.
                base, _ = fwd(gd)
                r["golden_dir_reload_max_abs_diff"] = (base[m] - ref_l[m]).abs().max().item()
                r["logits_max_abs_diff_vs_golden_dir_reload"] = (logits[m] - base[m]).abs().max().item()
                if r["golden_dir_reload_max_abs_diff"] > tol:
                    r["environment_differs"] = True
                    r["note"] = ("this machine does not reproduce the stored goldens within tol either; "
                                 "judged against a reload of the golden directory on this machine instead")
                    r["logits_ok"] = r["logits_max_abs_diff_vs_golden_dir_reload"] <= tol
        else:
            r["logits_ok"] = False
        r["loaded_param_dtypes"] = dtypes
    except Exception as e:
        r["logits_ok"] = False
        r["load_error"] = f"{type(e).__name__}: {e}"
        r["traceback"] = traceback.format_exc()
    # tokenizer (optional: only if the saved dir has one)
    if os.path.exists(os.path.join(saved_dir, "tokenizer.json")):
        try:
            tok = load_tokenizer(saved_dir)
            bad = []
            for item in g["tokenization"]:
                ids_ = list(tok(item["text"])["input_ids"])
                if ids_ != item["ids"]:
                    bad.append(item["text"])
            r["tokenizer_mismatches"] = bad
            r["tokenizer_ok"] = not bad
        except Exception as e:
            r["tokenizer_ok"] = False
            r["tokenizer_error"] = f"{type(e).__name__}: {e}"
    try:
        cg = config_keys(gd)
        cs = config_keys(saved_dir)
        r["config_keys_missing"] = sorted(set(cg) - set(cs))
        r["config_keys_extra"] = sorted(set(cs) - set(cg))
        r["config_values_differ"] = {k: [cg[k], cs[k]] for k in sorted(set(cg) & set(cs))
                                     if cg[k] != cs[k] and k not in ("transformers_version", "_name_or_path")}
    except Exception as e:
        r["config_error"] = f"{type(e).__name__}: {e}"
    r["ok"] = bool(r["tensors_ok"] and r["logits_ok"] and r.get("tokenizer_ok", True))
    return r


def cmd_verify(args):
    setup_torch()
    report = {"versions": versions(), "golden": os.path.abspath(args.golden), "tolerance": args.tol, "results": {}}
    for item in args.saved:
        if "=" not in item:
            raise SystemExit(f"--saved expects NAME=DIR, got {item!r}")
        name, d = item.split("=", 1)
        try:
            report["results"][name] = verify_one(args.golden, name, d, args.tol)
        except Exception as e:
            traceback.print_exc()
            report["results"][name] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    report["ok"] = all(r.get("ok") for r in report["results"].values())
    text = json.dumps(report, indent=1, ensure_ascii=False, default=str)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    for name, r in report["results"].items():
        log(f"verify {name}: {'OK' if r.get('ok') else 'FAIL'} "
            f"tensors_ok={r.get('tensors_ok')} logits_max_abs_diff={r.get('logits_max_abs_diff')} "
            f"tokenizer_ok={r.get('tokenizer_ok')} {r.get('error', '') or r.get('load_error', '')}")
        if not r.get("ok"):
            log(json.dumps({k: v for k, v in r.items() if k != "traceback"}, indent=1, default=str)[:4000])
    log("VERIFY OK" if report["ok"] else "VERIFY FAILED")
    return 0 if report["ok"] else 1


# ---------------------------------------------------------------------------
# default (the real default model)
# ---------------------------------------------------------------------------

def cmd_default(args):
    setup_torch()
    os.makedirs(args.out, exist_ok=True)
    tok = load_tokenizer(args.model)
    if tok.pad_token_id is None:
        # Left padding needs some id; it is masked out, so eos/unk/0 are all fine.
        tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.convert_ids_to_tokens(0)
    model, dtypes = load_model(args.model)
    store = TensorStore()
    g = {"schema_version": SCHEMA_VERSION, "name": "default", "model_type": model.config.model_type,
         "model_dir": args.model, "versions": versions(), "loaded_param_dtypes_before_float": dtypes,
         "vocab_size": int(model.config.vocab_size), "weight_files": weight_files(args.model),
         "special_tokens": {"bos_token": tok.bos_token, "bos_token_id": tok.bos_token_id,
                            "eos_token": tok.eos_token, "eos_token_id": tok.eos_token_id,
                            "pad_token": tok.pad_token, "pad_token_id": tok.pad_token_id},
         "generation_eos_token_ids": sorted(_eos_set(model)), "max_new_tokens": MAX_NEW_TOKENS}
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tok.pad_token_id
    raw = None
    tj = os.path.join(args.model, "tokenizer.json")
    if os.path.exists(tj):
        from tokenizers import Tokenizer
        raw = Tokenizer.from_file(tj)
    g["tokenization"], g["tokenizer_json_mismatches"] = tokenization_goldens(tok, raw)
    g["forward"] = forward_goldens(model, tok, DEFAULT_PROMPTS, store, with_unpadded=args.with_unpadded)
    singles, batch, gap, argmax_ok = greedy_goldens(model, tok, DEFAULT_PROMPTS)
    g["greedy"], g["greedy_batch"], g["min_greedy_gap"] = singles, batch, gap
    g["greedy_argmax_consistent"] = argmax_ok
    if not gap > GAP_HARD_MIN:
        log(f"WARNING: min greedy gap {gap} <= {GAP_HARD_MIN}: greedy goldens may be fragile")
    g["gradient"] = gradient_goldens(model, tok, GRADIENT_TEXT, None, store)
    store.save(os.path.join(args.out, "golden.safetensors"))
    g["tensor_keys"] = sorted(store.t.keys())
    with open(os.path.join(args.out, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(g, f, indent=1, ensure_ascii=False)
        f.write("\n")
    log(f"default: min_greedy_gap={gap:.4g} pad_diff={g['forward'].get('pad_consistency_max_abs_diff')} "
        f"lengths={g['forward']['lengths']} -> {args.out}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("generate", help="build the four tiny models and their goldens")
    a.add_argument("--out", required=True)
    a.add_argument("--models", default="", help="comma-separated subset of " + ",".join(MODEL_SPECS))
    a.add_argument("--tries", type=int, default=16, help="seeds tried per model for a clear greedy margin")
    a.add_argument("--target-gap", type=float, default=GAP_TARGET)
    a.set_defaults(fn=cmd_generate)
    b = sub.add_parser("verify", help="check directories saved by another program against the goldens")
    b.add_argument("--golden", required=True)
    b.add_argument("--saved", nargs="+", required=True, metavar="NAME=DIR")
    b.add_argument("--tol", type=float, default=1e-5)
    b.add_argument("--report", default="")
    b.set_defaults(fn=cmd_verify)
    c = sub.add_parser("default", help="goldens for the real default model")
    c.add_argument("--model", default="models/default")
    c.add_argument("--out", required=True)
    c.add_argument("--with-unpadded", action="store_true",
                   help="also store forward.logits_unpadded.<i> (doubles the size)")
    c.set_defaults(fn=cmd_default)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
