#!/usr/bin/env python3
"""Builds the training corpus of the icedit default model (pure Python, no third-party packages).

Reads the files that stage_data.sh copied from ../shared/data (see ../shared/data/SOURCES.md) and returns
plain Python structures:

  ke_train / ke_heldout   facts {prompt, answer, alts, src, group, subject} from the KnowEdit sets
                          (ZsRE prompt -> ground_truth[0], wiki_counterfact prompt -> ground_truth, every locality item),
                          EasyEdit CounterFact edit+train (prompt -> ground_truth, locality_prompt -> locality_ground_truth)
                          and ROME known_1000 (prompt -> attribute)
  pr_train / pr_heldout   ParaRel T-REx facts {rel, subject, object, alts}
  pr_templates            {rel: [template, ...]} normalised ParaRel patterns with [X]/[Y]
  forbidden               {prompt: [answers]}: post-edit answers (target_new, portability answers) per prompt;
                          no training text may pair such a prompt with such an answer
  prose                   [(source, text)] English prose documents (WikiText-2 *valid* only, Gutenberg, Shakespeare,
                          NLTK abc / inaugural / state_union, SQuAD-2.0 dev contexts)
  wikitext_test           the held-out WikiText-2 test file (raw), never trained on

Never used as training text: target_new, rephrase_prompt, portability items, the WikiBio `labels`/`text`,
Forgetfulness prompts (all of them spell out target_new), and WikiText-2 test.

Run it directly to print statistics and self-checks:  python3 build_corpus.py [DATA_DIR]
"""
import collections
import glob
import gzip
import json
import os
import random
import re
import sys
import zipfile

SEED = 1234
HELDOUT_FRACTION = 0.02
MAX_ANSWER_CHARS = 60
MAX_PROMPT_CHARS = 200

# Facts that must stay in training (used by samples and showcase prompts).
KEEP_IN_TRAINING = {("P36", "France", "Paris"), ("P1376", "Paris", "France")}

# Relations of ParaRel without graphs_json patterns: our own phrasings.
EXTRA_TEMPLATES = {
    "P31": ["[X] is an instance of [Y].", "[X] is a kind of [Y]."],
    "P527": ["[X] consists of [Y].", "[X] has the part [Y]."],
}


def norm(s):
    return " ".join(str(s).split())


def answers_of(gt):
    """All first aliases of a ground truth: str, [str], or [[alias, ...], ...] (wiki_recent)."""
    out = []
    if gt is None:
        return out
    if isinstance(gt, str):
        gt = [gt]
    for x in gt:
        if isinstance(x, list):
            if x and isinstance(x[0], str):
                out.append(x[0])
        elif isinstance(x, str):
            out.append(x)
    return [norm(a) for a in out if norm(a)]


def _ok_fact(prompt, answer):
    return (prompt and answer and len(answer) <= MAX_ANSWER_CHARS and len(prompt) <= MAX_PROMPT_CHARS
            and not prompt.endswith(" "))


def _template_of(prompt, subject):
    if subject and subject in prompt:
        return prompt.replace(subject, "{}", 1)
    return None


def load_ke(data_dir):
    """Returns (raw fact candidates, forbidden pairs, stats)."""
    cands = []  # (prompt, answer, src, group, subject)
    forbidden = collections.defaultdict(set)
    stats = collections.Counter()

    def forbid(prompt, ans):
        for a in answers_of(ans) if not isinstance(ans, str) else [norm(ans)]:
            if a:
                forbidden[norm(prompt)].add(a)

    def add(prompt, answer, src, group, subject):
        prompt, answer = norm(prompt), norm(answer)
        if _ok_fact(prompt, answer):
            cands.append((prompt, answer, src, group, subject))
            stats[src] += 1
        else:
            stats[src + ":skipped"] += 1

    def knowedit_record(r, src):
        subject = norm(r.get("subject") or r.get("concept") or "")
        prompt = norm(r.get("prompt", ""))
        tn = norm(r.get("target_new", "")) if isinstance(r.get("target_new"), str) else ""
        group = _template_of(prompt, subject) if prompt else None
        if prompt and tn:
            forbid(prompt, tn)
        if r.get("rephrase_prompt") and tn:
            forbid(r["rephrase_prompt"], tn)
        for items in (r.get("portability") or {}).values():
            for it in items:
                forbid(it["prompt"], it["ground_truth"])
                if tn:
                    forbid(it["prompt"], tn)
        if prompt and "ground_truth" in r:
            gts = answers_of(r["ground_truth"])
            if gts:
                add(prompt, gts[0], src, group or (src + ":main"), subject)
        for kind, items in (r.get("locality") or {}).items():
            for it in items:
                lp = norm(it["prompt"])
                if kind == "Forgetfulness" or (tn and re.search(r"(?<!\w)" + re.escape(tn) + r"(?!\w)", lp)):
                    # Forgetfulness prompts ("..., which is not {target_new}, is") spell out the post-edit
                    # answer (sometimes in another spelling): never trained
                    stats[src + ":locality-with-target_new-dropped"] += 1
                    continue
                gts = answers_of(it["ground_truth"])
                if gts:
                    g = _template_of(lp, subject) or (src + ":loc")
                    add(lp, gts[0], src + ":locality", g, subject if subject in lp else "")

    kb = os.path.join(data_dir, "knowedit", "benchmark")
    for path, src in [("ZsRE/ZsRE-test-all.json", "zsre"),
                      ("wiki_counterfact/train_cf.json", "wiki_counterfact"),
                      ("wiki_recent/recent_train.json", "wiki_recent"),
                      ("WikiBio/wikibio-test-all.json", "wikibio"),
                      ("WikiBio/wikibio-train-all.json", "wikibio")]:
        for r in json.load(open(os.path.join(kb, path), encoding="utf-8")):
            knowedit_record(r, src)

    cfd = os.path.join(data_dir, "easyedit_factual", "counterfact")
    for name in ("counterfact-edit.json", "counterfact-train.json"):
        for r in json.load(open(os.path.join(cfd, name), encoding="utf-8")):
            subject = norm(r["subject"])
            prompt = norm(r["prompt"])
            group = _template_of(prompt, subject) or "counterfact:main"
            forbid(prompt, r["target_new"])
            forbid(r["rephrase_prompt"], r["target_new"])
            add(prompt, r["ground_truth"], "counterfact", group, subject)
            # the neighbourhood prompt shares the relation of the case
            add(r["locality_prompt"], r["locality_ground_truth"], "counterfact:locality", group, "")

    for r in json.load(open(os.path.join(data_dir, "rome_knowns", "known_1000.json"), encoding="utf-8")):
        subject = norm(r["subject"])
        add(r["prompt"], r["attribute"], "known_1000", "rel:" + r["relation_id"], subject)
    return cands, forbidden, stats


def dedupe_ke(cands, forbidden, stats):
    """One fact per prompt (majority answer); drops any (prompt, post-edit answer) pair."""
    by_prompt = collections.OrderedDict()
    for c in cands:
        by_prompt.setdefault(c[0], []).append(c)
    facts = []
    for prompt, cs in by_prompt.items():
        bad = forbidden.get(prompt, set())
        cs2 = [c for c in cs if c[1] not in bad]
        if len(cs2) < len(cs):
            stats["ke:dropped-forbidden-pair"] += len(cs) - len(cs2)
        if not cs2:
            continue
        cnt = collections.Counter(c[1] for c in cs2)
        best = max(cnt.items(), key=lambda kv: kv[1])[0]
        first = next(c for c in cs2 if c[1] == best)
        alts = sorted(cnt)
        if len(cnt) > 1:
            stats["ke:prompts-with-conflicting-answers"] += 1
        facts.append({"prompt": prompt, "answer": best, "alts": alts, "src": first[2].split(":")[0],
                      "kind": first[2], "group": first[3], "subject": first[4]})
    return facts


def norm_template(p):
    p = norm(p)
    p = re.sub(r"\s+([.,;:!?])", r"\1", p)
    p = p.rstrip()
    if not p.endswith("."):
        p += "."
    return p


def load_pararel(data_dir):
    facts, templates = [], {}
    for f in sorted(glob.glob(os.path.join(data_dir, "pararel", "trex_lms_vocab", "P*.jsonl"))):
        rel = os.path.basename(f)[:-len(".jsonl")]
        g = os.path.join(data_dir, "pararel", "graphs_json", rel + ".jsonl")
        pats = []
        if os.path.exists(g):
            for line in open(g, encoding="utf-8"):
                line = line.strip()
                if line:
                    pats.append(norm_template(json.loads(line)["pattern"]))
        pats += EXTRA_TEMPLATES.get(rel, [])
        seen, tl = set(), []
        for p in pats:
            if p.count("[X]") == 1 and p.count("[Y]") == 1 and p not in seen:
                seen.add(p)
                tl.append(p)
        if not tl:
            continue
        templates[rel] = tl
        for line in open(f, encoding="utf-8"):
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            s, o = norm(r["sub_label"]), norm(r["obj_label"])
            if s and o and len(o) <= MAX_ANSWER_CHARS:
                facts.append({"rel": rel, "subject": s, "object": o})
    # every object a (relation, subject) has: a prompt may have several true answers
    objs = collections.defaultdict(set)
    for x in facts:
        objs[(x["rel"], x["subject"])].add(x["object"])
    uniq, seen = [], set()
    for x in facts:
        k = (x["rel"], x["subject"], x["object"])
        if k not in seen:
            seen.add(k)
            x["alts"] = sorted(objs[(x["rel"], x["subject"])])
            uniq.append(x)
    return uniq, templates


def probe_templates(tl):
    """Templates usable as prompt->answer probes: [Y] is the last word, [X] before it."""
    return [t for t in tl if t.endswith(" [Y].") and t.index("[X]") < t.index("[Y]")]


def template_fits(template, obj):
    """False where the template's article does not fit the object ("is a [Y]" before a vowel, "is an [Y]" before
    a consonant)."""
    vowel = obj[:1].lower() in "aeiou"
    if " a [Y]" in template and vowel:
        return False
    if " an [Y]" in template and not vowel:
        return False
    return True


def render(template, s, o):
    return template.replace("[X]", s).replace("[Y]", o)


def split_prose_paragraphs(text, unwrap):
    paras = re.split(r"\n\s*\n", text)
    out = []
    for p in paras:
        p = p.strip("\n")
        if not p.strip():
            continue
        out.append(" ".join(p.split()) if unwrap else p.rstrip())
    return out


def chunk_docs(paras, sep, max_chars=6000):
    docs, cur, n = [], [], 0
    for p in paras:
        if cur and n + len(p) > max_chars:
            docs.append(sep.join(cur))
            cur, n = [], 0
        cur.append(p)
        n += len(p) + len(sep)
    if cur:
        docs.append(sep.join(cur))
    return docs


def wordnet_entries(path, pos):
    """WordNet 3.0 synsets (data.noun etc., gzipped) as English sentences: the first lemma, its definitions and
    its quoted examples, e.g. "A range is a series of hills or mountains. The valley was between two ranges of
    hills." Synsets are in lexicographer-file order, so neighbouring entries share a topic."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  ") or " | " not in line:
                continue
            left, gloss = line.rstrip("\n").split(" | ", 1)
            w = re.sub(r"\((a|p|ip)\)$", "", left.split()[4].replace("_", " "))
            examples = re.findall(r'"([^"]+)"', gloss)
            d = re.sub(r'"[^"]*"', "", gloss)
            d = re.sub(r"\s*;\s*(;\s*)*", "; ", d).strip(" ;")
            if not d or not w:
                continue
            if pos == "n":
                s = ("%s is %s." % (w, d)) if w[:1].isupper() else \
                    ("%s %s is %s." % ("An" if w[0].lower() in "aeiou" else "A", w, d))
            elif pos == "v":
                s = "To %s is to %s." % (w, d)
            else:
                s = "%s means %s." % (w[:1].upper() + w[1:], d)
            parts = [s]
            for e in examples:
                e = e.strip()
                if e:
                    e = e[:1].upper() + e[1:]
                    parts.append(e if e[-1] in ".!?" else e + ".")
            out.append(" ".join(parts))
    return out


def load_prose(data_dir, test_text):
    t = os.path.join(data_dir, "text")
    docs = []
    # WikiText-2 valid (raw format, article by article); test is held out
    raw = open(os.path.join(t, "wikitext-2-raw", "wiki.valid.raw"), encoding="utf-8").read()
    arts = re.split(r"\n(?= = [^=].* = \n)", raw)
    for a in arts:
        if a.strip():
            docs.append(("wikitext2-valid", a.strip("\n")))
    # Gutenberg: unwrap prose, keep verse and plays line by line
    for f in sorted(glob.glob(os.path.join(t, "gutenberg_nltk", "*.txt"))):
        name = os.path.basename(f)
        text = open(f, encoding="latin-1").read()
        unwrap = name.split("-")[0] in ("austen", "chesterton", "melville")
        paras = split_prose_paragraphs(text, unwrap)
        for d in chunk_docs(paras, "\n" if unwrap else "\n\n"):
            docs.append(("gutenberg", d))
    text = open(os.path.join(t, "tinyshakespeare", "input.txt"), encoding="utf-8").read()
    for d in chunk_docs(split_prose_paragraphs(text, False), "\n\n"):
        docs.append(("tinyshakespeare", d))
    for z in ("abc", "inaugural", "state_union"):
        zf = zipfile.ZipFile(os.path.join(t, "nltk_data", z + ".zip"))
        for n in sorted(zf.namelist()):
            if n.endswith("/") or "README" in n:
                continue
            text = zf.read(n).decode("latin-1").replace("\r\n", "\n")
            if z == "abc":  # one news story per block: headline line then sentence lines
                paras = split_prose_paragraphs(text, False)
                for d in chunk_docs(paras, "\n\n", 3000):
                    docs.append(("nltk-abc", d))
            else:
                paras = split_prose_paragraphs(text, True)
                for d in chunk_docs(paras, "\n"):
                    docs.append(("nltk-" + z, d))
    wn = os.path.join(data_dir, "wordnet")
    for pos, name in (("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv")):
        path = os.path.join(wn, "data.%s.gz" % name)
        if os.path.exists(path):
            ents = wordnet_entries(path, pos)
            for a in range(0, len(ents), 25):
                docs.append(("wordnet", " ".join(ents[a:a + 25])))
    sq = os.path.join(data_dir, "squad_v2_subset", "squad_v2.0.json")
    if os.path.exists(sq):
        seen = set()
        for r in json.load(open(sq, encoding="utf-8")):
            c = r["context"].strip()
            if c not in seen:
                seen.add(c)
                docs.append(("squad-contexts", c))
    # guard: drop any prose document sharing a 10-word shingle with WikiText-2 test
    words = test_text.split()
    shingles = set(" ".join(words[i:i + 10]) for i in range(0, len(words) - 10))
    kept, dropped = [], 0
    for src, d in docs:
        w = d.split()
        if src != "wikitext2-valid" and any(" ".join(w[i:i + 10]) in shingles for i in range(0, max(0, len(w) - 10), 5)):
            dropped += 1
            continue
        kept.append((src, d))
    return kept, dropped


def build(data_dir, seed=SEED):
    rng = random.Random(seed)
    stats = collections.Counter()
    cands, forbidden, st = load_ke(data_dir)
    stats.update(st)
    ke = dedupe_ke(cands, forbidden, stats)
    pr, templates = load_pararel(data_dir)

    # held-out facts: never trained, in any phrasing
    rng.shuffle(ke)
    n_ho = int(len(ke) * HELDOUT_FRACTION)
    ke_heldout, ke_train = ke[:n_ho], ke[n_ho:]
    pairs = sorted(set((x["rel"], x["subject"]) for x in pr))
    rng.shuffle(pairs)
    ho_pairs = set()
    for p in pairs:
        if len(ho_pairs) >= int(len(pairs) * HELDOUT_FRACTION):
            break
        if not any((p[0], p[1]) == (k[0], k[1]) for k in KEEP_IN_TRAINING):
            ho_pairs.add(p)
    pr_heldout = [x for x in pr if (x["rel"], x["subject"]) in ho_pairs]
    pr_train = [x for x in pr if (x["rel"], x["subject"]) not in ho_pairs]
    # a held-out (subject, answer) must not leak through another source's phrasing
    ho_keys = set()
    for x in ke_heldout:
        if x["subject"]:
            ho_keys.add((x["subject"], x["answer"]))
    for x in pr_heldout:
        ho_keys.add((x["subject"], x["object"]))
    n0 = len(ke_train)
    by_answer = collections.defaultdict(list)
    for s, a in ho_keys:
        if len(s) > 3:
            by_answer[a].append(s)
    ke_train = [x for x in ke_train
                if not ((x["subject"], x["answer"]) in ho_keys
                        or any(s in x["prompt"] for s in by_answer.get(x["answer"], ())))]
    stats["ke:dropped-for-heldout-leak"] = n0 - len(ke_train)
    n0 = len(pr_train)
    ke_ho_keys = set((x["subject"], x["answer"]) for x in ke_heldout if x["subject"])
    pr_train = [x for x in pr_train if (x["subject"], x["object"]) not in ke_ho_keys]
    stats["pararel:dropped-for-heldout-leak"] = n0 - len(pr_train)

    # ParaRel probe phrasings that coincide with an edit prompt must not pair it with its post-edit answer
    for x in pr_train + pr_heldout:
        bad = []
        for i, t in enumerate(templates[x["rel"]]):
            if t.endswith(" [Y]."):
                p = render(t[:-len(" [Y].")], x["subject"], "")
                if x["object"] in forbidden.get(p, ()):
                    bad.append(i)
        x["bad_templates"] = bad
        stats["pararel:forbidden-template-uses"] += len(bad)

    n0 = len(pr_train)
    pr_train = [x for x in pr_train if not x["bad_templates"]]
    stats["pararel:dropped-fact-whose-object-is-a-post-edit-answer"] = n0 - len(pr_train)

    test_text = open(os.path.join(data_dir, "text", "wikitext-2-raw", "wiki.test.raw"), encoding="utf-8").read()
    prose, dropped = load_prose(data_dir, test_text)
    stats["prose:docs-dropped-overlapping-wikitext-test"] = dropped
    # 1% of the prose documents (not WikiText) are held out to watch over-fitting during training
    idx = [i for i, (src, _) in enumerate(prose) if src != "wikitext2-valid"]
    val = set(rng.sample(idx, max(1, len(idx) // 100)))
    prose_val = [prose[i] for i in sorted(val)]
    prose = [d for i, d in enumerate(prose) if i not in val]
    return {
        "ke_train": ke_train, "ke_heldout": ke_heldout,
        "pr_train": pr_train, "pr_heldout": pr_heldout,
        "pr_templates": templates,
        "forbidden": {k: sorted(v) for k, v in forbidden.items()},
        "prose": prose, "prose_val": prose_val, "wikitext_test": test_text,
        "stats": dict(stats),
    }


def check(c):
    """Self-checks: no training fact pairs a prompt with a post-edit answer; held-out facts are absent."""
    fb = c["forbidden"]
    bad = [x for x in c["ke_train"] if x["answer"] in fb.get(x["prompt"], ())]
    assert not bad, bad[:3]
    trp = set(x["prompt"] for x in c["ke_train"])
    assert not any(x["prompt"] in trp for x in c["ke_heldout"])
    trk = set((x["rel"], x["subject"]) for x in c["pr_train"])
    assert not any((x["rel"], x["subject"]) in trk for x in c["pr_heldout"])
    wt = c["wikitext_test"]
    assert not any(src == "wikitext2-valid" and d[:200] in wt for src, d in c["prose"])
    for x in c["pr_train"]:
        for i in x["bad_templates"]:
            p = render(c["pr_templates"][x["rel"]][i][:-len(" [Y].")], x["subject"], "")
            assert x["object"] in fb.get(p, ())
    return True


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", ".train-data")
    if not os.path.isdir(default):
        default = os.path.join(here, "..", "..", "..", "shared", "data")
    data_dir = sys.argv[1] if len(sys.argv) > 1 else default
    import time
    t0 = time.time()
    c = build(data_dir)
    check(c)
    print("built in %.1fs from %s" % (time.time() - t0, os.path.abspath(data_dir)))
    for k in ("ke_train", "ke_heldout", "pr_train", "pr_heldout", "prose"):
        print(k, len(c[k]))
    print("ke sources", collections.Counter(x["kind"] for x in c["ke_train"]))
    print("ke groups", len(set(x["group"] for x in c["ke_train"])))
    print("pararel relations", len(c["pr_templates"]), "templates", sum(len(v) for v in c["pr_templates"].values()),
          "probe templates", sum(len(probe_templates(v)) for v in c["pr_templates"].values()))
    print("prose chars by source", {s: sum(len(d) for src, d in c["prose"] if src == s)
                                    for s in sorted(set(src for src, _ in c["prose"]))})
    print("forbidden prompts", len(c["forbidden"]))
    for k, v in sorted(c["stats"].items()):
        print("  stat", k, v)
    rng = random.Random(0)
    for x in rng.sample(c["ke_train"], 5):
        print("  KE:", x["prompt"], "->", x["answer"], "|", x["group"])
    for x in rng.sample(c["pr_train"], 3):
        t = rng.choice(c["pr_templates"][x["rel"]])
        print("  PR:", render(t, x["subject"], x["object"]))
