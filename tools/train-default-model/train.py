#!/usr/bin/env python3
"""Trains the icedit default model: a small Llama-architecture LM that knows facts and follows facts given in context.

One command does everything within a wall-clock budget (default 570 s): corpus (build_corpus.py), byte-level BPE
tokenizer, pre-tokenisation, packed and loss-masked batches made by forked CPU workers, training of a plain-PyTorch
Llama (parameter names of transformers' LlamaForCausalLM; bf16 autocast, torch.compile, flash SDPA, fused AdamW),
export to a Hugging Face directory (BF16 shards under 16 MiB each), reload with AutoModelForCausalLM, a logits parity
check, and the measurements (fact recall, in-context following, WikiText-2 test perplexity, samples) into
metrics.json.

  python3 tools/train-default-model/train.py --out $OUT            # full run (H100, ~9.5 min)
  python3 tools/train-default-model/train.py --out /tmp/x --tiny --device cpu --budget 200   # CPU plumbing test
"""
import time

T_START = time.time()

import argparse
import collections
import io
import json
import math
import multiprocessing as mp
import os
import random
import sys
import tarfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_corpus as bc  # noqa: E402

SPECIAL = ["<pad>", "<s>", "</s>"]
PAD, BOS, EOS = 0, 1, 2
# ICE's context phrasings; "" states the fact bare
PHRASES = ["", "Fact: ", "A new knowledge: ", "Consider this new knowledge: ", "Remember this fact: ",
           "Remember this new fact and reason about its consequences: "]
NOW = " Now:"
H100_BF16_PEAK = 989.4e12  # dense bf16 FLOP/s of an H100 SXM
LOGLINES = []


def log(*a):
    msg = "[%6.1fs] " % (time.time() - T_START) + " ".join(str(x) for x in a)
    print(msg, flush=True)
    LOGLINES.append(msg)


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=os.path.join(HERE, "..", "..", ".train-data"))
    ap.add_argument("--out", required=True, help="where the shards, rest.tar and train.log go ($OUT on the device)")
    ap.add_argument("--work", default="/tmp/icedit-default-model", help="the full model directory is written here")
    ap.add_argument("--budget", type=float, default=575.0, help="wall-clock seconds for the whole script")
    ap.add_argument("--reserve", type=float, default=45.0, help="seconds kept after training for export and eval")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="tiny model and batch (CPU plumbing test)")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--seed", type=int, default=1234)
    # model
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--max-pos", type=int, default=512)
    # optimisation
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2.5e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.01)
    ap.add_argument("--warmup-steps", type=int, default=200)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--dropout", type=float, default=0.1, help="residual dropout while training (against prose "
                    "over-fitting; the exported model has none)")
    ap.add_argument("--ans-weight", type=float, default=2.0, help="loss weight of answer tokens")
    # data mixture
    ap.add_argument("--ke-reps", type=int, default=1, help="KnowEdit/CounterFact sentences per fact per epoch")
    ap.add_argument("--pr-reps", type=int, default=2, help="ParaRel phrasings per fact per epoch")
    ap.add_argument("--icl-ratio", type=float, default=0.35, help="in-context documents per fact per epoch")
    ap.add_argument("--prose-rows", type=float, default=0.18, help="share of rows that are pure prose")
    ap.add_argument("--workers", type=int, default=5)
    # evaluation
    ap.add_argument("--eval-every", type=float, default=180.0, help="seconds of training between quick evals")
    ap.add_argument("--n-eval", type=int, default=1000)
    ap.add_argument("--n-icl", type=int, default=500)
    a = ap.parse_args()
    if a.tiny:
        a.hidden, a.layers, a.heads, a.kv_heads, a.ffn, a.batch, a.workers = 64, 2, 2, 1, 128, 8, 2
        a.warmup_steps = 5
    return a


# ----------------------------------------------------------------------------------------------------------------
# tokenizer

def train_tokenizer(texts, vocab):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, min_frequency=2, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    assert [tok.token_to_id(t) for t in SPECIAL] == [PAD, BOS, EOS]
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", BOS)])
    return tok


def write_tokenizer_files(tok, d, max_pos):
    tok.save(os.path.join(d, "tokenizer.json"))
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
           "pad_token": "<pad>", "add_bos_token": True, "add_eos_token": False,
           "clean_up_tokenization_spaces": False, "model_max_length": max_pos}
    json.dump(cfg, open(os.path.join(d, "tokenizer_config.json"), "w"), indent=2)


def enc_batch(tok, strs):
    return [e.ids for e in tok.encode_batch(strs, add_special_tokens=False)]


# ----------------------------------------------------------------------------------------------------------------
# pre-tokenised training material, shared with the forked batch workers (module globals, copy-on-write)

D = {}


def prepare_pieces(tok, c, args):
    """Token pieces from which every training document is assembled without re-tokenising.

    A fact sentence "{prompt} {answer}." is P0(prompt) + A(answer) at a document start and P1(" " + prompt) + A
    elsewhere, where A = enc(" " + answer + "."): the byte-level pre-tokeniser splits before the space, so these
    concatenations equal the tokenisation of the whole string (checked and reported below)."""
    ke, pr, tmpl = c["ke_train"], c["pr_train"], c["pr_templates"]
    answers = {}

    def aid(s):
        if s not in answers:
            answers[s] = len(answers)
        return answers[s]

    ke_ans = [aid(x["answer"]) for x in ke]
    ke_alts = [frozenset(aid(a) for a in x["alts"]) for x in ke]
    forb_str = c["forbidden"]
    ke_forb = [frozenset(aid(a) for a in forb_str.get(x["prompt"], ())) for x in ke]
    groups = {}
    ke_group = [groups.setdefault(x["group"], len(groups)) for x in ke]
    group_members = [[] for _ in groups]
    for i, g in enumerate(ke_group):
        group_members[g].append(i)
    all_ke_answers = sorted(set(ke_ans))
    group_pool = []
    for g, mem in enumerate(group_members):
        pool = sorted(set(ke_ans[i] for i in mem))
        group_pool.append(pool if len(pool) >= 4 else all_ke_answers)

    rels = sorted(tmpl)
    rel_id = {r: k for k, r in enumerate(rels)}
    pr_rel = [rel_id[x["rel"]] for x in pr]
    pr_ans = [aid(x["object"]) for x in pr]
    pr_alts = [frozenset(aid(a) for a in x["alts"]) for x in pr]
    rel_members = [[] for _ in rels]
    for j, r in enumerate(pr_rel):
        rel_members[r].append(j)
    rel_pool = [sorted(set(pr_ans[j] for j in mem)) for mem in rel_members]
    probe_idx = {r: [k for k, t in enumerate(tmpl[r]) if t.endswith(" [Y].") and t.index("[X]") < t.index("[Y]")]
                 for r in rels}

    strs, keys = [], []  # strings to encode and where they go
    for i, x in enumerate(ke):
        strs += [x["prompt"], " " + x["prompt"]]
        keys += [("ke0", i), ("ke1", i)]
    pr_probe, pr_other, pr_forb = [], [], {}
    for j, x in enumerate(pr):
        r = x["rel"]
        pl, ol = [], []
        for k, t in enumerate(tmpl[r]):
            if not bc.template_fits(t, x["object"]):
                continue
            if k in probe_idx[r]:
                p = bc.render(t[:-len(" [Y].")], x["subject"], "")
                strs += [p, " " + p]
                keys += [("pp0", j * 64 + k), ("pp1", j * 64 + k)]
                pl.append(k)
                fb = forb_str.get(p)
                if fb:
                    pr_forb[j * 64 + k] = frozenset(aid(a) for a in fb)
            else:
                sent = bc.render(t, x["subject"], x["object"])
                strs += [sent, " " + sent]
                keys += [("ps0", j * 64 + k), ("ps1", j * 64 + k)]
                ol.append(k)
        if not pl:  # every fact keeps a probe phrasing
            k = probe_idx[r][0]
            p = bc.render(tmpl[r][k][:-len(" [Y].")], x["subject"], "")
            strs += [p, " " + p]
            keys += [("pp0", j * 64 + k), ("pp1", j * 64 + k)]
            pl.append(k)
        pr_probe.append(pl)
        pr_other.append(ol)
    ans_strs = [None] * len(answers)
    for s, k in answers.items():
        ans_strs[k] = s
    for k, s in enumerate(ans_strs):
        strs.append(" " + s + ".")
        keys.append(("ans", k))
    phr = [p.rstrip() for p in PHRASES]
    for k, p in enumerate(phr):
        if p:
            strs.append(p)
            keys.append(("phr", k))
    strs.append(NOW)
    keys.append(("now", 0))
    t0 = time.time()
    ids = enc_batch(tok, strs)
    log("tokenised %d pieces in %.1fs" % (len(strs), time.time() - t0))
    tabs = collections.defaultdict(dict)
    for (kind, k), v in zip(keys, ids):
        tabs[kind][k] = v
    subj_ids = {}

    def sid(name):
        return subj_ids.setdefault(name, len(subj_ids)) if name else -1

    D.update(dict(
        ke_subj=[sid(x["subject"]) if x["subject"] and x["subject"] in x["prompt"] else -1 for x in ke],
        pr_subj=[sid(x["subject"]) for x in pr],
        ke_p0=[tabs["ke0"][i] for i in range(len(ke))], ke_p1=[tabs["ke1"][i] for i in range(len(ke))],
        ke_ans=ke_ans, ke_alts=ke_alts, ke_forb=ke_forb, ke_group=ke_group,
        group_members=group_members, group_pool=group_pool,
        pr_rel=pr_rel, pr_ans=pr_ans, pr_alts=pr_alts, pr_probe=pr_probe, pr_other=pr_other, pr_forb=pr_forb,
        pp0=tabs["pp0"], pp1=tabs["pp1"], ps0=tabs["ps0"], ps1=tabs["ps1"],
        rel_members=rel_members, rel_pool=rel_pool,
        ans=[tabs["ans"][k] for k in range(len(ans_strs))], ans_strs=ans_strs,
        phr=[tabs["phr"].get(k) for k in range(len(phr))], now=tabs["now"][0],
    ))
    # prose: one stream, every document after a BOS
    t0 = time.time()
    pids = enc_batch(tok, [d for _, d in c["prose"]])
    by_src = collections.Counter()
    for (src, _), v in zip(c["prose"], pids):
        by_src[src] += len(v)
    stream = np.empty(sum(len(v) + 1 for v in pids), dtype=np.int32)
    pos = 0
    for v in pids:
        stream[pos] = BOS
        stream[pos + 1:pos + 1 + len(v)] = v
        pos += len(v) + 1
    D["prose"] = stream
    log("prose: %d docs, %d tokens (%s) in %.1fs" % (len(pids), len(stream), dict(by_src), time.time() - t0))
    return dict(prose_tokens_by_source=dict(by_src), prose_tokens=int(len(stream)), answers=len(ans_strs),
                ke_groups=len(groups), pieces=len(strs))


# ----------------------------------------------------------------------------------------------------------------
# documents, packing, batches (run in forked workers)

def sentence(kind, i, k, start):
    """Tokens and loss codes of one fact sentence. Codes: 0 no loss, 1 loss, 2 loss on an answer token."""
    if kind == 0:
        p = D["ke_p0"][i] if start else D["ke_p1"][i]
        a = D["ans"][D["ke_ans"][i]]
    else:
        key = i * 64 + k
        if key in D["pp0"]:
            p = D["pp0"][key] if start else D["pp1"][key]
            a = D["ans"][D["pr_ans"][i]]
        else:
            s = D["ps0"][key] if start else D["ps1"][key]
            return s, [1] * len(s)
    return p + a, [1] * len(p) + [2] * len(a)


def pick_other(rng, pool, alts, forb):
    for _ in range(12):
        a = pool[rng.randrange(len(pool))]
        if a not in alts and a not in forb:
            return a
    return None


def fact_for_icl(rng, use_pr, j=None, tmpl=None):
    """(prompt P0, prompt P1, true answer, alts, forbidden, pool, members, index, kind)"""
    if use_pr:
        if j is None:
            j = rng.randrange(len(D["pr_ans"]))
        k = tmpl if tmpl is not None else rng.choice(D["pr_probe"][j])
        key = j * 64 + k
        r = D["pr_rel"][j]
        return (D["pp0"][key], D["pp1"][key], D["pr_ans"][j], D["pr_alts"][j], D["pr_forb"].get(key, ()),
                D["rel_pool"][r], D["rel_members"][r], j, 1)
    if j is None:
        j = rng.randrange(len(D["ke_ans"]))
    g = D["ke_group"][j]
    return (D["ke_p0"][j], D["ke_p1"][j], D["ke_ans"][j], D["ke_alts"][j], D["ke_forb"][j],
            D["group_pool"][g], D["group_members"][g], j, 0)


def icl_doc(rng, cfg):
    """'{phrase}{prompt} {stated}. Now: {prompt} {answer}.' with the loss on the answer only: training on the
    statement would teach counterfactuals as truths, and training on the repeated query would teach the model to
    repeat sentences."""
    use_pr = rng.random() < cfg["pr_icl_share"]
    f = fact_for_icl(rng, use_pr)
    # the query: same phrasing, or (ParaRel) another probe phrasing of the same fact
    if use_pr and rng.random() < 0.5:
        q = fact_for_icl(rng, True, f[7], rng.choice(D["pr_probe"][f[7]]))
    else:
        q = f
    forb = set(f[4]) | set(q[4])
    u = rng.random()
    ctx = []
    if u < 0.55:  # counterfactual statement, answered as stated
        st = pick_other(rng, f[5], f[3], forb)
        st = f[2] if st is None else st
        ctx, answer = [(f, st)], st
    elif u < 0.70:  # true statement
        ctx, answer = [(f, f[2])], f[2]
    else:
        mem = f[6]
        g = None
        for _ in range(5):
            jj = mem[rng.randrange(len(mem))]
            if jj != f[7]:
                g = fact_for_icl(rng, use_pr, jj)
                break
        if g is None or (g[1] == f[1]):
            st = pick_other(rng, f[5], f[3], forb)
            st = f[2] if st is None else st
            ctx, answer = [(f, st)], st
        elif u < 0.90:  # irrelevant context (another subject): answer from memory
            gs = pick_other(rng, g[5], g[3], set(g[4])) if rng.random() < 0.7 else g[2]
            ctx, answer = [(g, g[2] if gs is None else gs)], q[2]
        else:  # two stated facts, one queried
            st = pick_other(rng, f[5], f[3], forb)
            st = f[2] if st is None else st
            gs = pick_other(rng, g[5], g[3], set(g[4]))
            ctx = [(f, st), (g, g[2] if gs is None else gs)]
            rng.shuffle(ctx)
            answer = st
    k = rng.randrange(len(PHRASES))
    toks = [BOS]
    if D["phr"][k]:
        toks += D["phr"][k]
    for n, (h, st) in enumerate(ctx):
        toks += (h[1] if (n > 0 or D["phr"][k]) else h[0]) + D["ans"][st]
    toks += D["now"]
    codes = [0] * len(toks)
    a = D["ans"][answer]
    toks += q[1] + a
    codes += [0] * len(q[1]) + [2] * len(a)  # the query is given, only the answer is trained
    return toks, codes


def epoch_docs(rng, cfg):
    """One epoch of documents. Every KnowEdit/CounterFact fact is stated ke_reps times and every ParaRel fact in
    pr_reps distinct phrasings, one per pass. Within a pass, facts about the same subject form a paragraph (a small
    'biography', up to 4 sentences); facts without a subject or alone with theirs are grouped at random (1 to 6)."""
    nke, npr = len(D["ke_ans"]), len(D["pr_ans"])
    pr_choice = []
    for j in range(npr):
        probe, other = D["pr_probe"][j], D["pr_other"][j]
        n = min(cfg["pr_reps"], len(probe) + len(other))
        chosen = []
        while len(chosen) < n:  # probe phrasings at least 60% of the time
            pool = probe if (rng.random() < 0.6 or not other) else other
            k = pool[rng.randrange(len(pool))]
            if k not in chosen:
                chosen.append(k)
        pr_choice.append(chosen)
    docs = []
    for r in range(max(cfg["ke_reps"], cfg["pr_reps"])):
        by_subj, loose = collections.defaultdict(list), []
        if r < cfg["ke_reps"]:
            for i in range(nke):
                sj = D["ke_subj"][i]
                if sj >= 0:
                    by_subj[sj].append((0, i, 0))
                else:
                    loose.append((0, i, 0))
        for j in range(npr):
            if r < len(pr_choice[j]):
                by_subj[D["pr_subj"][j]].append((1, j, pr_choice[j][r]))
        paras = []
        for lst in by_subj.values():
            if len(lst) == 1:
                loose.append(lst[0])
                continue
            rng.shuffle(lst)
            # one sentence per answer and per relation in a paragraph: the same fact in two phrasings (CounterFact
            # prompts are ParaRel phrasings) or one relation with many objects ("France maintains diplomatic
            # relations with ...") would teach the model to repeat itself
            seen, keep = set(), []
            for it in lst:
                if it[0] == 0:
                    keys = (("a", D["ke_ans"][it[1]]), ("g", D["ke_group"][it[1]]))
                else:
                    keys = (("a", D["pr_ans"][it[1]]), ("r", D["pr_rel"][it[1]]))
                if keys[0] in seen or keys[1] in seen:
                    loose.append(it)
                else:
                    seen.update(keys)
                    keep.append(it)
            for a in range(0, len(keep), 4):
                chunk = keep[a:a + 4]
                if len(chunk) > 1:
                    paras.append(chunk)
                else:
                    loose.append(chunk[0])
        rng.shuffle(loose)
        i = 0
        while i < len(loose):
            n = 1 if rng.random() < 0.4 else rng.randint(2, 6)
            paras.append(loose[i:i + n])
            i += n
        for para in paras:
            toks, codes = [BOS], [0]
            for s_i, (kind, j, k) in enumerate(para):
                t, c = sentence(kind, j, k, s_i == 0)
                toks += t
                codes += c
            docs.append((toks, codes, 0 if len(para) == 1 else 2))
    n_icl = int(cfg["icl_ratio"] * (len(D["ke_ans"]) + len(D["pr_ans"])))
    for _ in range(n_icl):
        t, c = icl_doc(rng, cfg)
        docs.append((t, c, 1))
    rng.shuffle(docs)
    return docs


def pack_epoch(rng, cfg):
    """Packs whole documents into rows of seq+1 tokens; the rest of a row is a prose fragment after a BOS.
    Adds pure prose rows. Returns (tokens int32 [R, seq+1], codes uint8 [R, seq+1], stats)."""
    L1 = cfg["seq"] + 1
    prose = D["prose"]
    docs = epoch_docs(rng, cfg)
    st = collections.Counter()
    rows_t, rows_c = [], []
    cur_t, cur_c = [], []

    def flush():
        n = L1 - len(cur_t)
        if n > 0:
            s = rng.randrange(len(prose) - n)
            seg = prose[s:s + n - 1]
            cur_t.append(BOS)
            cur_t.extend(seg.tolist())
            cur_c.append(0)
            cur_c.extend((seg != BOS).astype(np.uint8).tolist())
            st["prose_fill_tokens"] += n
        rows_t.append(cur_t[:])
        rows_c.append(cur_c[:])

    for t, c, kind in docs:
        if len(t) > L1:
            t, c = t[:L1], c[:L1]
        if len(cur_t) + len(t) > L1:
            flush()
            cur_t.clear()
            cur_c.clear()
        cur_t.extend(t)
        cur_c.extend(c)
        st["icl_tokens" if kind == 1 else "fact_tokens"] += len(t)
        st["icl_docs" if kind == 1 else "fact_docs"] += 1
        if kind == 2:
            st["fact_paragraph_docs"] += 1
        if kind == 1:
            st["icl_trained_tokens"] += sum(1 for x in c if x)
    if cur_t:
        flush()
    n_doc_rows = len(rows_t)
    n_prose = int(round(n_doc_rows * cfg["prose_rows"] / (1 - cfg["prose_rows"])))
    T = np.empty((n_doc_rows + n_prose, L1), dtype=np.int32)
    C = np.empty((n_doc_rows + n_prose, L1), dtype=np.uint8)
    for r in range(n_doc_rows):
        T[r] = rows_t[r]
        C[r] = rows_c[r]
    for r in range(n_doc_rows, n_doc_rows + n_prose):
        s = rng.randrange(len(prose) - L1)
        T[r] = prose[s:s + L1]
        C[r] = T[r] != BOS
    st["prose_row_tokens"] = n_prose * L1
    st["rows"] = n_doc_rows + n_prose
    perm = np.array(rng.sample(range(len(T)), len(T)))
    return T[perm], C[perm], st


def worker(wid, nworkers, q, stat_q, cfg, seed):
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    e = wid
    carry_t = carry_c = None
    B = cfg["batch"]
    while True:
        rng = random.Random(seed * 100003 + e)
        T, C, st = pack_epoch(rng, cfg)
        if e == 0:
            stat_q.put(dict(st))
        if carry_t is not None:
            T = np.concatenate([carry_t, T])
            C = np.concatenate([carry_c, C])
        n = (len(T) // B) * B
        for s in range(0, n, B):
            q.put((T[s:s + B], C[s:s + B]))
        carry_t, carry_c = T[n:], C[n:]
        e += nworkers


# ----------------------------------------------------------------------------------------------------------------
# the model: plain PyTorch, parameter names of transformers' LlamaForCausalLM (tied embeddings)

def build_model_classes():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class RMSNorm(nn.Module):
        def __init__(self, d, eps):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d))
            self.eps = eps

        def forward(self, x):
            dt = x.dtype
            h = x.float()
            h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
            return self.weight * h.to(dt)

    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    class Attention(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            d, H, KV, hd = cfg["hidden"], cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
            self.H, self.KV, self.hd = H, KV, hd
            self.q_proj = nn.Linear(d, H * hd, bias=False)
            self.k_proj = nn.Linear(d, KV * hd, bias=False)
            self.v_proj = nn.Linear(d, KV * hd, bias=False)
            self.o_proj = nn.Linear(H * hd, d, bias=False)

        def forward(self, x, cos, sin):
            B, T, _ = x.shape
            q = self.q_proj(x).view(B, T, self.H, self.hd).transpose(1, 2)
            k = self.k_proj(x).view(B, T, self.KV, self.hd).transpose(1, 2)
            v = self.v_proj(x).view(B, T, self.KV, self.hd).transpose(1, 2)
            c, s = cos.to(q.dtype), sin.to(q.dtype)
            q = q * c + rot(q) * s
            k = k * c + rot(k) * s
            rep = self.H // self.KV
            if rep > 1:  # transformers' repeat_kv: kv head j serves query heads j*rep .. j*rep+rep-1
                k = k[:, :, None].expand(B, self.KV, rep, T, self.hd).reshape(B, self.H, T, self.hd)
                v = v[:, :, None].expand(B, self.KV, rep, T, self.hd).reshape(B, self.H, T, self.hd)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.o_proj(y.transpose(1, 2).reshape(B, T, self.H * self.hd))

    class MLP(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            d, f = cfg["hidden"], cfg["ffn"]
            self.gate_proj = nn.Linear(d, f, bias=False)
            self.up_proj = nn.Linear(d, f, bias=False)
            self.down_proj = nn.Linear(f, d, bias=False)

        def forward(self, x):
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    class Block(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.self_attn = Attention(cfg)
            self.mlp = MLP(cfg)
            self.input_layernorm = RMSNorm(cfg["hidden"], cfg["eps"])
            self.post_attention_layernorm = RMSNorm(cfg["hidden"], cfg["eps"])
            self.p = cfg.get("dropout", 0.0)

        def forward(self, x, cos, sin):
            x = x + F.dropout(self.self_attn(self.input_layernorm(x), cos, sin), self.p, self.training)
            return x + F.dropout(self.mlp(self.post_attention_layernorm(x)), self.p, self.training)

    class Inner(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.embed_tokens = nn.Embedding(cfg["vocab"], cfg["hidden"])
            self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg["layers"])])
            self.norm = RMSNorm(cfg["hidden"], cfg["eps"])

    class LM(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.cfg = cfg
            self.model = Inner(cfg)
            hd = cfg["head_dim"]
            inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
            t = torch.arange(cfg["max_pos"]).float()
            fr = torch.outer(t, inv)
            emb = torch.cat((fr, fr), dim=-1)
            self.register_buffer("cos", emb.cos(), persistent=False)
            self.register_buffer("sin", emb.sin(), persistent=False)
            std = 0.02
            for n, p in self.named_parameters():
                if n.endswith("norm.weight") or "layernorm" in n:
                    continue
                s = std / math.sqrt(2 * cfg["layers"]) if n.endswith(("o_proj.weight", "down_proj.weight")) else std
                nn.init.normal_(p, 0.0, s)

        def forward(self, idx):
            T = idx.shape[1]
            cos, sin = self.cos[:T], self.sin[:T]
            x = self.model.embed_tokens(idx)
            for blk in self.model.layers:
                x = blk(x, cos, sin)
            x = self.model.norm(x)
            return F.linear(x, self.model.embed_tokens.weight)

    class TrainStep(nn.Module):
        """Weighted next-token loss; weights by code: 0 none, 1 one, 2 ans_weight."""

        def __init__(self, lm, ans_weight):
            super().__init__()
            self.lm = lm
            self.register_buffer("wtab", torch.tensor([0.0, 1.0, ans_weight]), persistent=False)

        def forward(self, x, y, code):
            logits = self.lm(x)
            ce = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
            w = self.wtab[code.reshape(-1).long()]
            ans = (code.reshape(-1) == 2).float()
            loss = (ce * w).sum() / w.sum().clamp(min=1.0)
            return loss, (ce * ans).sum() / ans.sum().clamp(min=1.0)

    return LM, TrainStep


# ----------------------------------------------------------------------------------------------------------------
# export

def hf_config(cfg):
    from transformers import LlamaConfig
    c = LlamaConfig(vocab_size=cfg["vocab"], hidden_size=cfg["hidden"], intermediate_size=cfg["ffn"],
                    num_hidden_layers=cfg["layers"], num_attention_heads=cfg["heads"],
                    num_key_value_heads=cfg["kv_heads"], head_dim=cfg["head_dim"],
                    max_position_embeddings=cfg["max_pos"], rms_norm_eps=cfg["eps"], rope_theta=cfg["rope_theta"],
                    tie_word_embeddings=True, bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD,
                    hidden_act="silu", attention_bias=False, mlp_bias=False)
    d = c.to_dict()
    d["architectures"] = ["LlamaForCausalLM"]
    d["dtype"] = "bfloat16"
    d["torch_dtype"] = "bfloat16"  # older readers
    d["rope_theta"] = cfg["rope_theta"]  # older readers; transformers 5 reads rope_parameters
    d.pop("transformers_version", None)
    return d


def save_hf(lm, cfg, tok, d):
    import torch
    from safetensors.torch import save_file
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    sd = {k: v.detach().to(torch.bfloat16).cpu().contiguous() for k, v in lm.state_dict().items()}
    names = ["model.embed_tokens.weight"]
    for i in range(cfg["layers"]):
        p = "model.layers.%d." % i
        names += [p + "input_layernorm.weight"] + [p + "self_attn.%s_proj.weight" % x for x in "qkvo"] + \
                 [p + "post_attention_layernorm.weight"] + [p + "mlp.%s_proj.weight" % x for x in ("gate", "up", "down")]
    names.append("model.norm.weight")
    assert set(names) == set(sd), set(names) ^ set(sd)
    limit = 16 * 1024 * 1024 - 256 * 1024  # room for the safetensors header
    shards, cur, size = [], [], 0
    for n in names:
        b = sd[n].numel() * 2
        if cur and size + b > limit:
            shards.append(cur)
            cur, size = [], 0
        cur.append(n)
        size += b
    shards.append(cur)
    N = len(shards)
    wmap, total = {}, 0
    for k, sh in enumerate(shards):
        fn = "model-%05d-of-%05d.safetensors" % (k + 1, N)
        save_file({n: sd[n] for n in sh}, os.path.join(d, fn), metadata={"format": "pt"})
        for n in sh:
            wmap[n] = fn
            total += sd[n].numel() * 2
    json.dump({"metadata": {"total_size": total}, "weight_map": wmap},
              open(os.path.join(d, "model.safetensors.index.json"), "w"), indent=2)
    json.dump(hf_config(cfg), open(os.path.join(d, "config.json"), "w"), indent=2)
    json.dump({"bos_token_id": BOS, "eos_token_id": EOS, "pad_token_id": PAD},
              open(os.path.join(d, "generation_config.json"), "w"), indent=2)
    write_tokenizer_files(tok, d, cfg["max_pos"])
    files = {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))}
    assert len(files) <= 8, files
    assert all(v < 16 * 1024 * 1024 for v in files.values()), files
    assert sum(files.values()) < 64 * 1024 * 1024, files
    return files, sd


# ----------------------------------------------------------------------------------------------------------------
# evaluation

def greedy(fwd, seqs, n_new, device, bs=512):
    """Greedy continuation of each token sequence; sequences of equal length are batched (no padding)."""
    import torch
    out = [None] * len(seqs)
    buckets = collections.defaultdict(list)
    for i, s in enumerate(seqs):
        buckets[len(s)].append(i)
    with torch.no_grad():
        for L, idx in buckets.items():
            for s0 in range(0, len(idx), bs):
                ii = idx[s0:s0 + bs]
                x = torch.tensor([seqs[i] for i in ii], device=device)
                for _ in range(max(n_new[i] for i in ii)):
                    nxt = fwd(x)[:, -1, :].float().argmax(-1, keepdim=True)
                    x = torch.cat([x, nxt], 1)
                g = x[:, L:].tolist()
                for j, i in enumerate(ii):
                    out[i] = g[j][:n_new[i]]
    return out


def starts_with_answer(text, answers):
    t = text.strip()
    for a in answers:
        if a and t.startswith(a) and (len(t) == len(a) or not t[len(a)].isalnum()):
            return True
    return False


def score(fwd, items, encode, decode, device):
    """items: dicts with 'text' (prompt), 'answer', 'alts'. Returns (strict, lenient, per-item results)."""
    seqs = [encode(it["text"]) for it in items]
    n_new = [len(encode(" " + it["answer"], special=False)) + 1 for it in items]
    gens = greedy(fwd, seqs, n_new, device)
    res = []
    for it, g in zip(items, gens):
        cont = decode(g)
        res.append((starts_with_answer(cont, [it["answer"]]), starts_with_answer(cont, it["alts"]), cont))
    n = max(1, len(res))
    return sum(r[0] for r in res) / n, sum(r[1] for r in res) / n, res


def make_eval_sets(c, rng, n_eval, n_icl):
    ke, pr, tmpl = c["ke_train"], c["pr_train"], c["pr_templates"]
    fb = c["forbidden"]

    def pr_item(x):
        probes = [t for t in tmpl[x["rel"]] if t.endswith(" [Y].") and t.index("[X]") < t.index("[Y]")]
        probes = [t for t in probes if bc.template_fits(t, x["object"])] or probes[:1]
        t = rng.choice(probes)
        return {"text": bc.render(t[:-len(" [Y].")], x["subject"], ""), "answer": x["object"], "alts": x["alts"],
                "src": "pararel:" + x["rel"]}

    def ke_item(x):
        return {"text": x["prompt"], "answer": x["answer"], "alts": x["alts"], "src": x["kind"], "group": x["group"]}

    sets = {}
    sets["ke_train"] = [ke_item(x) for x in rng.sample(ke, min(n_eval, len(ke)))]
    sets["pararel_train"] = [pr_item(x) for x in rng.sample(pr, min(n_eval, len(pr)))]
    sets["ke_heldout"] = [ke_item(x) for x in rng.sample(c["ke_heldout"], min(n_eval, len(c["ke_heldout"])))]
    sets["pararel_heldout"] = [pr_item(x) for x in rng.sample(c["pr_heldout"], min(n_eval, len(c["pr_heldout"])))]
    # in-context following: "Fact: {prompt} {other answer}. Now: {prompt}" -> other answer
    by_group = collections.defaultdict(set)
    for x in ke:
        by_group[x["group"]].add(x["answer"])
    all_answers = sorted(set(x["answer"] for x in ke))

    def other(x, pool):
        pool = sorted(pool) if len(pool) >= 4 else all_answers
        for _ in range(50):
            a = rng.choice(pool)
            if a not in x["alts"] and a not in fb.get(x["prompt"], ()):
                return a
        return None

    def icl_items(src_facts, n, tag):
        out = []
        for x in rng.sample(src_facts, min(len(src_facts), 3 * n)):
            a = other(x, by_group.get(x["group"], ()))
            if a is None:
                continue
            out.append({"text": "Fact: %s %s. Now: %s" % (x["prompt"], a, x["prompt"]), "answer": a, "alts": [a],
                        "src": tag + ":" + x["kind"], "true": x["answer"]})
            if len(out) == n:
                break
        return out

    sets["icl_following"] = icl_items(ke, n_icl, "icl")
    sets["icl_following_heldout"] = icl_items(c["ke_heldout"], min(n_icl, len(c["ke_heldout"])), "icl-heldout")
    # paraphrase: stated in one ParaRel phrasing, asked in another
    by_rel = collections.defaultdict(set)
    for x in pr:
        by_rel[x["rel"]].add(x["object"])
    para = []
    for x in rng.sample(pr, 3 * n_icl):
        probes = [t for t in tmpl[x["rel"]] if t.endswith(" [Y].") and t.index("[X]") < t.index("[Y]")
                  and bc.template_fits(t, x["object"])]
        if len(probes) < 2:
            continue
        t1, t2 = rng.sample(probes, 2)
        a = rng.choice(sorted(by_rel[x["rel"]]))
        if a in x["alts"]:
            continue
        p1 = bc.render(t1[:-len(" [Y].")], x["subject"], "")
        p2 = bc.render(t2[:-len(" [Y].")], x["subject"], "")
        para.append({"text": "Fact: %s %s. Now: %s" % (p1, a, p2), "answer": a, "alts": [a], "src": "para"})
        if len(para) == n_icl:
            break
    sets["icl_paraphrase_pararel"] = para
    # irrelevant context: a fact about another subject of the same relation; the answer must come from memory
    irr = []
    groups = collections.defaultdict(list)
    for x in ke:
        groups[x["group"]].append(x)
    for x in rng.sample(ke, 3 * n_icl):
        g = [y for y in groups[x["group"]] if y["prompt"] != x["prompt"]]
        if not g:
            continue
        y = rng.choice(g)
        a = other(y, by_group.get(y["group"], ()))
        if a is None:
            continue
        irr.append({"text": "Fact: %s %s. Now: %s" % (y["prompt"], a, x["prompt"]), "answer": x["answer"],
                    "alts": x["alts"], "src": "irrelevant"})
        if len(irr) == n_icl:
            break
    sets["icl_irrelevant_context"] = irr
    return sets


def window_nll(fwd, ids, seq, dev, bs=64):
    """Summed next-token NLL over a token stream cut into windows of BOS + (seq - 1) tokens; every token is scored."""
    import torch
    W = seq - 1
    wins = [ids[s:s + W] for s in range(0, len(ids), W)]
    nll, ntok = 0.0, 0
    with torch.no_grad():
        for s0 in range(0, len(wins), bs):
            by_len = collections.defaultdict(list)
            for w in wins[s0:s0 + bs]:
                by_len[len(w)].append(w)
            for L, ws in by_len.items():
                x = torch.tensor([[BOS] + w for w in ws], device=dev)
                lp = torch.log_softmax(fwd(x).float(), -1)
                tgt = x[:, 1:]
                nll -= lp[:, :-1].gather(-1, tgt.unsqueeze(-1)).sum().item()
                ntok += tgt.numel()
    return nll, ntok, len(wins)


def by_source(items, res):
    acc = collections.defaultdict(lambda: [0, 0])
    for it, r in zip(items, res):
        k = it["src"].split(":")[0] if it["src"].startswith("pararel") else it["src"]
        acc[k][0] += r[1]
        acc[k][1] += 1
    return {k: {"lenient": round(v[0] / v[1], 4), "n": v[1]} for k, v in sorted(acc.items())}


# ----------------------------------------------------------------------------------------------------------------

def main():
    args = parse_args()
    deadline = T_START + args.budget
    os.makedirs(args.out, exist_ok=True)
    metrics = {"args": vars(args)}
    rng = random.Random(args.seed)

    # 1. corpus
    t0 = time.time()
    c = bc.build(args.data_dir, seed=args.seed)
    bc.check(c)
    log("corpus: ke_train %d ke_heldout %d pr_train %d pr_heldout %d prose docs %d (%.1fs)" % (
        len(c["ke_train"]), len(c["ke_heldout"]), len(c["pr_train"]), len(c["pr_heldout"]), len(c["prose"]),
        time.time() - t0))
    metrics["corpus_stats"] = c["stats"]

    # 2. tokenizer, trained on prose and one phrasing of every fact
    t0 = time.time()
    tok_texts = [d for _, d in c["prose"]]
    tok_texts += ["%s %s." % (x["prompt"], x["answer"]) for x in c["ke_train"]]
    for x in c["pr_train"]:
        t = rng.choice(c["pr_templates"][x["rel"]])
        tok_texts.append(bc.render(t, x["subject"], x["object"]))
    tok_texts += [p + NOW for p in PHRASES] * 200
    tok = train_tokenizer(tok_texts, args.vocab)
    log("tokenizer: vocab %d trained on %d texts (%.1f MB) in %.1fs" % (
        tok.get_vocab_size(), len(tok_texts), sum(len(x) for x in tok_texts) / 1e6, time.time() - t0))
    metrics["tokenizer_seconds"] = round(time.time() - t0, 1)

    # 3. pieces, checks of the concatenation rule
    t0 = time.time()
    metrics["pieces"] = prepare_pieces(tok, c, args)
    samp = rng.sample(c["ke_train"], 2000) + [
        {"prompt": bc.render(t[:-5], x["subject"], ""), "answer": x["object"]}
        for x in rng.sample(c["pr_train"], 1000)
        for t in [c["pr_templates"][x["rel"]][0]] if t.endswith(" [Y].")]
    whole = enc_batch(tok, ["%s %s" % (x["prompt"], x["answer"]) for x in samp])
    parts_p = enc_batch(tok, [x["prompt"] for x in samp])
    parts_a = enc_batch(tok, [" " + x["answer"] for x in samp])
    agree = sum(w == p + a for w, p, a in zip(whole, parts_p, parts_a)) / len(samp)
    whole_dot = enc_batch(tok, ["%s %s." % (x["prompt"], x["answer"]) for x in samp])
    parts_ad = enc_batch(tok, [" " + x["answer"] + "." for x in samp])
    agree_dot = sum(w == p + a for w, p, a in zip(whole_dot, parts_p, parts_ad)) / len(samp)
    log("BPE agreement enc(prompt+' '+answer) == enc(prompt)+enc(' '+answer): %.4f; with final '.': %.4f (n=%d)"
        % (agree, agree_dot, len(samp)))
    metrics["bpe_word_boundary_agreement"] = {"prompt_answer": agree, "prompt_answer_period": agree_dot,
                                              "n": len(samp)}
    eval_sets = make_eval_sets(c, random.Random(args.seed + 1), args.n_eval, args.n_icl)
    val_ids = []
    for v in enc_batch(tok, [d for _, d in c["prose_val"]]):
        val_ids += [BOS] + v
    val_ids = val_ids[1:]
    log("held-out prose for monitoring: %d docs, %d tokens" % (len(c["prose_val"]), len(val_ids)))
    log("eval sets:", {k: len(v) for k, v in eval_sets.items()})

    cfg = dict(vocab=args.vocab, hidden=args.hidden, layers=args.layers, heads=args.heads, kv_heads=args.kv_heads,
               head_dim=args.hidden // args.heads, ffn=args.ffn, eps=1e-5, rope_theta=10000.0, max_pos=args.max_pos,
               seq=args.seq, batch=args.batch, dropout=args.dropout, ke_reps=args.ke_reps, pr_reps=args.pr_reps,
               icl_ratio=args.icl_ratio, prose_rows=args.prose_rows, pr_icl_share=0.4)

    # 4. batch workers (forked before CUDA starts)
    ctx = mp.get_context("fork")
    q = ctx.Queue(maxsize=96)
    stat_q = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(w, args.workers, q, stat_q, cfg, args.seed), daemon=True)
             for w in range(args.workers)]
    for p in procs:
        p.start()
    metrics["data_prep_seconds"] = round(time.time() - T_START, 1)
    log("data prepared; %d batch workers started" % len(procs))

    # 5. model
    import torch
    import tokenizers
    import transformers
    dev = torch.device(args.device)
    env = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
           "tokenizers": tokenizers.__version__, "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
           "cpus": os.cpu_count()}
    log("environment:", env)
    metrics["environment"] = env
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(args.seed)
    LM, TrainStep = build_model_classes()
    lm = LM(cfg).to(dev)
    n_params = sum(p.numel() for p in lm.parameters())
    n_emb = lm.model.embed_tokens.weight.numel()
    n_matmul = n_params - n_emb - sum(p.numel() for n, p in lm.named_parameters() if "norm" in n) + n_emb
    flops_tok = 6 * n_matmul + 12 * cfg["layers"] * cfg["hidden"] * cfg["seq"]
    log("model: %d parameters (%.2fM; embedding %d, tied); %.1f MFLOP per trained token" % (
        n_params, n_params / 1e6, n_emb, flops_tok / 1e6))
    metrics["params"] = n_params
    metrics["flops_per_token"] = flops_tok
    step_mod = TrainStep(lm, args.ans_weight).to(dev)
    decay = [p for n, p in lm.named_parameters() if p.dim() == 2 and "embed" not in n]
    no_decay = [p for n, p in lm.named_parameters() if not (p.dim() == 2 and "embed" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=(dev.type == "cuda"))
    autocast = torch.autocast(device_type=dev.type, dtype=torch.bfloat16)
    run = step_mod
    compile_s = 0.0

    def to_dev(tb, cb):
        tt = torch.as_tensor(tb).to(dev, non_blocking=True).long()
        cc = torch.as_tensor(cb).to(dev, non_blocking=True)
        return tt[:, :-1].contiguous(), tt[:, 1:].contiguous(), cc[:, 1:].contiguous()

    def fetch():
        """The next batch, copied asynchronously from pinned memory (taken while the GPU runs the last step)."""
        tw = time.time()
        tb, cb = q.get()
        w = time.time() - tw
        tb, cb = torch.from_numpy(tb), torch.from_numpy(cb)
        if dev.type == "cuda":
            tb, cb = tb.pin_memory(), cb.pin_memory()
        return to_dev(tb, cb), w

    B, T = args.batch, args.seq
    if not args.no_compile:
        t0 = time.time()
        try:
            run = torch.compile(step_mod)
            tb = np.random.randint(3, args.vocab, (B, T + 1)).astype(np.int32)
            cb = np.ones((B, T + 1), dtype=np.uint8)
            for _ in range(2):
                with autocast:
                    loss, _ = run(*to_dev(tb, cb))
                loss.backward()
            opt.zero_grad(set_to_none=True)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            compile_s = time.time() - t0
            log("torch.compile: %.1fs" % compile_s)
        except Exception as e:  # fall back to eager
            log("torch.compile failed (%r); eager" % (e,))
            run = step_mod
            opt.zero_grad(set_to_none=True)
    metrics["compile_seconds"] = round(compile_s, 1)

    def encode_ids(text, special=True):
        return tok.encode(text, add_special_tokens=special).ids

    def own_fwd(x):
        with autocast:
            return lm(x)

    def quick_eval(tag):
        lm.eval()
        t0 = time.time()
        r = {}
        for k, n in (("ke_train", 60), ("pararel_train", 60), ("icl_following", 30)):
            r[k] = round(score(own_fwd, eval_sets[k][:n], encode_ids, tok.decode, dev)[1], 3)
        t1 = time.time()
        nll, nt, _ = window_nll(own_fwd, val_ids, args.seq, dev)
        r["prose_val_ppl"] = round(math.exp(nll / nt), 2)
        r["seconds"] = [round(t1 - t0, 1), round(time.time() - t1, 1)]
        lm.train()
        log("quick eval (%s): %s in %.1fs" % (tag, r, time.time() - t0))
        return r

    # 6. train until the deadline
    t_train_end = deadline - args.reserve
    epoch_stats = stat_q.get()
    rows_per_epoch = epoch_stats["rows"]
    log("epoch composition:", dict(epoch_stats))
    tot = epoch_stats["rows"] * (args.seq + 1)
    shares = {"fact_sentences": epoch_stats["fact_tokens"] / tot, "in_context_docs": epoch_stats["icl_tokens"] / tot,
              "prose": (epoch_stats["prose_fill_tokens"] + epoch_stats["prose_row_tokens"]) / tot}
    log("token shares per epoch:", {k: round(v, 3) for k, v in shares.items()})
    metrics["epoch_composition"] = dict(epoch_stats, tokens=tot, shares=shares)
    t_train0 = time.time()
    log("training for %.0fs (until %.0fs)" % (t_train_end - t_train0, t_train_end - T_START))
    step, tokens, last_t, last_tok, ema = 0, 0, time.time(), 0, None
    waits = 0.0
    warm_end = None
    next_eval = t_train0 + args.eval_every
    hist = []
    lm.train()
    batch, waits = fetch()
    while True:
        now = time.time()
        if now >= t_train_end:
            break
        if step < args.warmup_steps:
            lr = args.lr * (step + 1) / args.warmup_steps
        else:
            if warm_end is None:
                warm_end = now
            p = min(1.0, (now - warm_end) / max(1.0, t_train_end - warm_end))
            lr = args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p)))
        for g in opt.param_groups:
            g["lr"] = lr
        with autocast:
            loss, ans_loss = run(*batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        batch, w = fetch()
        waits += w
        step += 1
        tokens += B * T
        if step % 50 == 0 or step == 10:
            lv, av = loss.item(), ans_loss.item()
            t = time.time()
            tps = (tokens - last_tok) / (t - last_t)
            last_t, last_tok = t, tokens
            log("step %d loss %.3f ans-loss %.3f lr %.2e tok/s %.0f MFU %.1f%% epochs %.1f queue %d/%d wait %.1fs" % (
                step, lv, av, lr, tps, 100 * tps * flops_tok / H100_BF16_PEAK, step * B / rows_per_epoch,
                q.qsize(), 0, waits))
            hist.append((round(t - t_train0, 1), step, round(lv, 4), round(av, 4)))
        if time.time() >= next_eval and time.time() < t_train_end - 10:
            hist.append(("eval", step, quick_eval("step %d" % step)))
            next_eval = time.time() + args.eval_every
    if dev.type == "cuda":
        torch.cuda.synchronize()
    train_s = time.time() - t_train0
    for p in procs:
        p.terminate()
    tps = tokens / train_s
    log("trained %d steps, %d tokens in %.1fs: %.0f tok/s, MFU %.1f%%, %.1f epochs" % (
        step, tokens, train_s, tps, 100 * tps * flops_tok / H100_BF16_PEAK, step * B / rows_per_epoch))
    ep = step * B / rows_per_epoch
    metrics["training"] = dict(steps=step, tokens=tokens, seconds=round(train_s, 1), tokens_per_s=round(tps),
                               mfu=round(tps * flops_tok / H100_BF16_PEAK, 4), epochs=round(ep, 2),
                               fact_sentence_exposures_ke=round(ep * args.ke_reps, 1),
                               fact_sentence_exposures_pararel=round(ep * args.pr_reps, 1),
                               batch_wait_seconds=round(waits, 1), history=hist)

    # 7. export (shards first, so that they come back even if evaluation breaks)
    t0 = time.time()
    files, sd = save_hf(lm, cfg, tok, args.work)
    import shutil
    for f in files:
        if f.endswith(".safetensors"):
            shutil.copy(os.path.join(args.work, f), os.path.join(args.out, f))
    metrics["files"] = files
    metrics["size_bytes"] = sum(files.values())

    def write_rest():
        metrics["total_seconds"] = round(time.time() - T_START, 1)
        json.dump(metrics, open(os.path.join(args.work, "metrics.json"), "w"), indent=2, ensure_ascii=False)
        open(os.path.join(args.work, "train.log"), "w").write("\n".join(LOGLINES) + "\n")
        with tarfile.open(os.path.join(args.out, "rest.tar"), "w") as tf:
            for f in sorted(os.listdir(args.work)):
                if not f.endswith(".safetensors"):
                    tf.add(os.path.join(args.work, f), arcname=f)

    write_rest()
    log("exported %s (%.1f MiB) in %.1fs" % (files, sum(files.values()) / 2 ** 20, time.time() - t0))

    # 8. reload with transformers, parity, measurements on the shipped (BF16) weights
    from transformers import AutoModelForCausalLM, AutoTokenizer
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    hf = AutoModelForCausalLM.from_pretrained(args.work, dtype=torch.float32).to(dev).eval()
    hft = AutoTokenizer.from_pretrained(args.work)
    log("reloaded %s / %s" % (type(hf).__name__, type(hft).__name__))
    strings = ["The capital of France is", " leading space", "  two leading spaces", "Unicode: café, naïve, Zürich, "
               "Δ, 東京, 🙂", "tab\tand\nnewline", "Fact: The mother tongue of Danielle Darrieux is English. Now: "
               "The mother tongue of Danielle Darrieux is"]
    tk = []
    for s in strings:
        a, b = hft(s)["input_ids"], tok.encode(s).ids
        tk.append({"text": s, "equal": a == b, "ids": a})
        log("tokenizer check %r: AutoTokenizer %s raw %s -> %s" % (s, a, b, "equal" if a == b else "DIFFERENT"))
        assert tok.decode(b) == s, (tok.decode(b), s)
    metrics["tokenizer_check"] = tk
    # parity: our module with the BF16-rounded weights, fp32, against transformers
    lm32 = LM(cfg).to(dev)
    lm32.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    lm32.eval()
    with torch.no_grad():
        x = torch.tensor([hft(s)["input_ids"] for s in ["The capital of France is the city of"] * 1], device=dev)
        x = torch.cat([x, torch.randint(3, args.vocab, (1, 120), device=dev)], 1)
        a, b = lm32(x), hf(input_ids=x).logits
        md = (a - b).abs().max().item()
        agree_arg = (a.argmax(-1) == b.argmax(-1)).float().mean().item()
    log("parity vs LlamaForCausalLM (fp32, bf16 weights): max |dlogit| %.2e, argmax agreement %.4f" % (md, agree_arg))
    metrics["parity"] = {"max_abs_logit_diff": md, "argmax_agreement": agree_arg, "tokens": int(x.shape[1])}
    write_rest()

    def hf_fwd(x):
        return hf(input_ids=x).logits

    def hf_encode(text, special=True):
        return hft(text, add_special_tokens=special)["input_ids"]

    def hf_decode(ids):
        return hft.decode(ids, skip_special_tokens=True)

    res_all = {}
    for k, items in eval_sets.items():
        t0 = time.time()
        s, l, res = score(hf_fwd, items, hf_encode, hf_decode, dev)
        res_all[k] = {"strict": round(s, 4), "lenient": round(l, 4), "n": len(items),
                      "by_source": by_source(items, res),
                      "examples": [{"prompt": it["text"], "answer": it["answer"], "continuation": r[2], "ok": r[1]}
                                   for it, r in list(zip(items, res))[:12]]}
        log("eval %-24s strict %.4f lenient %.4f (n=%d, %.1fs) %s" % (k, s, l, len(items), time.time() - t0,
                                                                      res_all[k]["by_source"]))
    metrics["eval"] = res_all
    write_rest()

    # WikiText-2 test perplexity: the whole file, windows of BOS + 255 tokens
    t0 = time.time()
    ids = tok.encode(c["wikitext_test"], add_special_tokens=False).ids
    nll, ntok, nwin = window_nll(hf_fwd, ids, args.seq, dev)
    wins = range(nwin)
    vnll, vtok, _ = window_nll(hf_fwd, val_ids, args.seq, dev)
    metrics["prose_val"] = {"token_ppl": math.exp(vnll / vtok), "tokens": vtok, "docs": len(c["prose_val"])}
    log("held-out prose (1%% of the prose documents): token ppl %.2f over %d tokens" % (math.exp(vnll / vtok), vtok))
    n_words = len(c["wikitext_test"].split())
    metrics["wikitext2_test"] = {"token_ppl": math.exp(nll / ntok), "tokens": ntok, "windows": len(wins),
                                 "word_normalised_ppl": math.exp(nll / n_words), "words": n_words,
                                 "bits_per_byte": nll / math.log(2) / len(c["wikitext_test"].encode("utf-8"))}
    log("WikiText-2 test: token ppl %.2f over %d tokens; word-normalised ppl %.2f; %.1fs" % (
        metrics["wikitext2_test"]["token_ppl"], ntok, metrics["wikitext2_test"]["word_normalised_ppl"],
        time.time() - t0))

    samples = {}
    for prompt in ["The capital of France is", "The mother tongue of Danielle Darrieux is",
                   "Fact: The mother tongue of Danielle Darrieux is English. Now: The mother tongue of Danielle "
                   "Darrieux is", "Once upon a time"]:
        inp = hft(prompt, return_tensors="pt").to(dev)
        with torch.no_grad():
            g = hf.generate(**inp, max_new_tokens=60, do_sample=False, pad_token_id=PAD)
            torch.manual_seed(0)
            s = hf.generate(**inp, max_new_tokens=60, do_sample=True, top_k=5, pad_token_id=PAD)
        n0 = inp["input_ids"].shape[1]
        samples[prompt] = {"greedy": hft.decode(g[0, n0:], skip_special_tokens=True),
                           "top_k5_seed0": hft.decode(s[0, n0:], skip_special_tokens=True)}
        for kk, tt in (("greedy", g[0, n0:].tolist()), ("top_k5_seed0", s[0, n0:].tolist())):
            tri = [tuple(tt[i:i + 3]) for i in range(len(tt) - 2)]
            samples[prompt][kk + "_distinct_3gram_ratio"] = round(len(set(tri)) / max(1, len(tri)), 3)
        log("sample %r greedy: %r" % (prompt, samples[prompt]["greedy"]))
        log("sample %r top-k 5: %r" % (prompt, samples[prompt]["top_k5_seed0"]))
    metrics["samples"] = samples
    write_rest()
    log("done; total %.1fs" % (time.time() - T_START))
    write_rest()
    sys.stdout.flush()
    os._exit(0)  # the batch workers' queues must not hold the exit


if __name__ == "__main__":
    main()
