"""How well the shipped coder agrees with blind human-style labels, on documents it never saw.

    .venv/bin/python benchmarks/coding_accuracy.py            # the test split, per codebook
    .venv/bin/python benchmarks/coding_accuracy.py --curve    # and the learning curve
    .venv/bin/python benchmarks/coding_accuracy.py --themes   # and the per-theme table

The shipped models (whatworks/data/models) were trained on the gold set's `dev` split only
(scripts/train_coder.py); this scores the `test` split: evaluations none of whose items the model
or its thresholds saw. Reported: micro precision, recall and F1, pooled Cohen's kappa over every
item × theme decision, per language, polarity accuracy, not-evidence precision and recall, the
positive statements filed under challenge themes, and the human–human agreement of the items
labelled twice (the ceiling). The learning curve refits a review's model on 0, 50, 100 and 200
reviewer answers drawn from the test split and scores held-out items (see learning_curve).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gold  # noqa: E402

from whatworks import coder  # noqa: E402
from whatworks.codebook import load_codebook  # noqa: E402


def predict(model, cb, rows):
    texts = [coder.expand_local_names(r["text"], cb.local_names, gold.language(r)) for r in rows]
    langs = [gold.language(r) for r in rows]
    challenges = [t.id for t in cb.themes if t.group == "challenges"]
    successes = [t.id for t in cb.themes if t.group == "success_factors"]
    return model.predict(texts, langs, gold.embed(texts), challenges, successes, kinds=[r["kind"] for r in rows])


def gold_themes(cb, r) -> list[str]:
    return [cb.canonical(t) for t in r["themes"]]


def report(name: str, themes_table: bool, curve: bool) -> dict:
    cb = load_codebook(name)
    model = coder.shipped(name)
    rows = [r for r in gold.items(name) if r["split"] == "test"]
    t0 = time.perf_counter()
    preds = predict(model, cb, rows)
    seconds = time.perf_counter() - t0
    g = [gold_themes(cb, r) for r in rows]
    p = [[t for t, _ in x.themes] for x in preds]
    overall = gold.scores(g, p, cb.ids)
    docs = len({r["group"] for r in rows})
    print(f"\n== {name}: test split, {len(rows)} items from {docs} evaluations "
          f"({dict(Counter(gold.language(r) for r in rows))})")
    print(f"  themes      {overall.row()}")
    for lang in ("en", "fr", "es", "pt"):
        idx = [i for i, r in enumerate(rows) if gold.language(r) == lang]
        if idx:
            s = gold.scores([g[i] for i in idx], [p[i] for i in idx], cb.ids)
            print(f"    {lang}        {s.row()}")
    pol_ok = sum(x.polarity == r["polarity"] for x, r in zip(preds, rows, strict=True))
    three = {"mixed": "negative"}  # mixed as the negative it carries, for a 3-way reading
    pol3 = sum(three.get(x.polarity, x.polarity) == three.get(r["polarity"], r["polarity"])
               for x, r in zip(preds, rows, strict=True))
    print(f"  polarity    accuracy {pol_ok / len(rows):.3f} (4 classes), {pol3 / len(rows):.3f} (mixed counted "
          f"as negative); confusions: {Counter((r['polarity'], x.polarity) for x, r in zip(preds, rows, strict=True) if x.polarity != r['polarity']).most_common(4)}")
    tp = sum(x.not_evidence and r["not_evidence"] for x, r in zip(preds, rows, strict=True))
    pe, ge = sum(x.not_evidence for x in preds), sum(r["not_evidence"] for r in rows)
    print(f"  not evidence precision {tp / pe if pe else 1:.3f}, recall {tp / ge if ge else 1:.3f} ({ge} in gold)")
    challenges = {t.id for t in cb.themes if t.group == "challenges"}
    misfiled = sum(1 for x, r in zip(preds, rows, strict=True)
                   if r["polarity"] == "positive" and {t for t, _ in x.themes} & challenges)
    print(f"  positive statements (gold) under a challenge theme: {misfiled} of "
          f"{sum(r['polarity'] == 'positive' for r in rows)}")
    second = gold.second_labels()
    both = [r for r in gold.items(name) if r["id"] in second]
    if both:
        hh = gold.scores([gold_themes(cb, r) for r in both],
                         [[cb.canonical(t) for t in second[r["id"]]["themes"]] for r in both], cb.ids)
        hp = sum(second[r["id"]]["polarity"] == r["polarity"] for r in both) / len(both)
        print(f"  human–human {hh.row()}; polarity agreement {hp:.3f}")
    print(f"  speed       {len(rows) / seconds:.0f} items/s (features, model and embeddings as cached)")
    if themes_table:
        print("  theme                                n   P     R")
        for t in cb.ids:
            n = sum(t in x for x in g)
            tp_t = sum(t in a and t in b for a, b in zip(g, p, strict=True))
            np_t = sum(t in b for b in p)
            if n or np_t:
                print(f"  {t:36s} {n:3d}  {tp_t / np_t if np_t else 0:.2f}  {tp_t / n if n else 0:.2f}")
    if curve:
        learning_curve(cb, model, rows)
    return {"themes": vars(overall), "polarity": pol_ok / len(rows), "items": len(rows), "evaluations": docs}


def learning_curve(cb, model, rows) -> None:
    """Kappa after 0, 50, 100 and 200 simulated reviewer answers, two ways: answers on some
    evaluations, scored on other evaluations (does the model generalise what people taught it?),
    and answers on some items of the review's reports, scored on their other items (what a
    review sees: its reviewers correct items of the reports the rest of the coding is about)."""
    groups = sorted({r["group"] for r in rows})
    random.Random(7).shuffle(groups)
    taught = set(groups[: len(groups) // 2])
    shuffled = list(rows)
    random.Random(11).shuffle(shuffled)
    settings = {
        "other evaluations": ([r for r in shuffled if r["group"] in taught],
                              [r for r in rows if r["group"] not in taught]),
        "same reports": (shuffled[: len(shuffled) // 2], shuffled[len(shuffled) // 2:]),
    }
    for setting, (pool, held) in settings.items():
        g = [gold_themes(cb, r) for r in held]
        line = []
        for n in (0, 50, 100, 200):
            teach = pool[:n]
            m = model
            if teach:
                texts = [coder.expand_local_names(r["text"], cb.local_names, gold.language(r)) for r in teach]
                m = model.refit(texts, [gold.language(r) for r in teach], gold.embed(texts),
                                [gold_themes(cb, r) for r in teach], kinds=[r["kind"] for r in teach])
            p = [[t for t, _ in x.themes] for x in predict(m, cb, held)]
            line.append(f"{n}: {gold.scores(g, p, cb.ids).kappa:.3f}")
        print(f"  learning curve, {setting} (kappa on {len(held)} held-out items after N answers): "
              + ", ".join(line))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--curve", action="store_true")
    ap.add_argument("--themes", action="store_true")
    ap.add_argument("codebooks", nargs="*", default=list(gold.CODEBOOKS))
    args = ap.parse_args()
    for name in args.codebooks:
        report(name, args.themes, args.curve)


if __name__ == "__main__":
    main()
