#!/usr/bin/env python3
"""Golden loss of ICE as the published code computes it (bigai-ai/ICE, easyeditor/models/ft/ft_main.py,
objective target_and_completion_with_context with print_kl true), for IceReleasedGoldenTest.

Written from reading that code, step by step as it goes, for one request per batch (as a single edit runs):
  * the target gets a leading space; the default context is prompt + " " + target + ". ", and every context
    sentence c is read as PHRASE + c + " Now: ", PHRASE from the released phrase list (two commas missing, so four
    entries: written below exactly as Python parses that list);
  * the target-likelihood mask marks the last len(tok(" " + target)) positions of tok(prompt + " " + target),
    counting the BOS the tokenizer adds, so it also covers the prompt's last token;
  * sequences = tok(prompt + " " + target) + y and generated = tok(context + prompt + " " + target) + y; q from
    the model over sequences, p over generated (the last len(sequences) positions), both shifted by one;
  * loss = sum over positions of (-log p - log q)[token] * target_mask + KL(p.detach() || q) * completion_mask,
    where the completion mask covers y up to the last non-EOS token.
y is fixed (sampling is not reproducible across programs); the phrase is fixed per case (the released code draws it).

CPU, float32, eager attention, one thread. Usage (from the repository root):
  /work/pyenv/bin/python tools/golden/make_released_ice_golden.py \
      --model src/test/resources/golden/llama --out src/test/resources/golden/ice-released.json
"""

import os

os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import json  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# The released list as Python reads it: adjacent string literals without a comma between them are one string.
RELEASED_PHRASES = [
    "",
    "Fact: "
    "A new knowledge: "
    "Consider this new knowledge: ",
    "Remember this fact: ",
    "Remember this new fact and reason about its consequences: ",
]

CASES = [
    # prompt, target, context sentences (None: the default context), phrase index, y
    {"prompt": "The capital of France is", "target": "Rome", "context": None, "phrase": 1,
     "completion": [300, 301, 302]},
    {"prompt": "The mother tongue of Danielle Darrieux is", "target": "New York City",
     "context": ["Danielle Darrieux grew up speaking English."], "phrase": 3, "completion": [77, 78, 79]},
]


def released_loss(model, tok, case):
    tgt = " " + case["target"]
    prompt = case["prompt"]
    knowledge = case["context"] if case["context"] is not None else [prompt + tgt + ". "]
    phrase = RELEASED_PHRASES[case["phrase"]]
    rows = []
    for ctx in knowledge:
        context = phrase + ctx + " Now: "
        target_tokens = tok([tgt], return_tensors="pt")["input_ids"]
        prompts_targets = tok([prompt + tgt], return_tensors="pt")["input_ids"]
        contexts_prompts_targets = tok([context + prompt + tgt], return_tensors="pt")["input_ids"]
        n_tgt = int((target_tokens[0] != tok.pad_token_id).sum())
        length = prompts_targets.size(1)
        label_mask = torch.tensor([[False] * (length - n_tgt) + [True] * n_tgt])
        y = torch.tensor([case["completion"]])
        generated = torch.cat((contexts_prompts_targets, y), dim=1)
        sequences = torch.cat((prompts_targets, y), dim=1)
        target_mask = torch.zeros_like(sequences).bool()
        target_mask[..., :label_mask.size(1)] = label_mask
        idx = torch.arange(sequences.size(-1)).unsqueeze(0)
        eos_at = sequences.size(-1) - (sequences != tok.eos_token_id).flip(-1).float().argmax(dim=-1)
        completion_mask = (idx < eos_at.unsqueeze(1)) & (idx >= length)
        shift_seq = sequences[..., 1:]
        shift_target = target_mask[..., 1:]
        shift_completion = completion_mask[..., 1:]
        log_q = torch.log(torch.softmax(model(input_ids=sequences).logits[:, :-1, :], dim=-1))
        p = torch.softmax(model(input_ids=generated).logits[:, -sequences.size(-1):-1, :], dim=-1)
        log_p = torch.log(p)
        mle = -torch.gather(log_p + log_q, -1, shift_seq.unsqueeze(-1)).squeeze(-1)
        kl = F.kl_div(log_q, p.detach(), reduction="none").sum(-1)
        loss = (mle * shift_target + kl * shift_completion).sum(-1)
        rows.append({
            "context": context,
            "prompt_target_ids": prompts_targets[0].tolist(),
            "context_prompt_target_ids": contexts_prompts_targets[0].tolist(),
            "target_mask_tokens": n_tgt,
            "loss": float(loss[0].detach()),
            "kl": float((kl * shift_completion).sum().detach()),
            "target_terms": float((mle * shift_target).sum().detach()),
        })
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32, attn_implementation="eager").eval()
    out = {
        "what": "ICE loss as bigai-ai/ICE ft_main.py computes it (see tools/golden/make_released_ice_golden.py)",
        "model": os.path.normpath(a.model),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "released_phrases": RELEASED_PHRASES,
        "cases": [],
    }
    for case in CASES:
        c = dict(case)
        c["rows"] = released_loss(model, tok, case)
        out["cases"].append(c)
        print(case["prompt"], "->", case["target"], [r["loss"] for r in c["rows"]])
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
