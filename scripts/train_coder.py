"""Train the shipped coder models (whatworks/data/models/coder-<codebook>.npz) on the blind gold
set's development split — never on its `test` split, which benchmarks/coding_accuracy.py scores.

Per codebook: 5-fold cross-validation by document on the dev split gives out-of-fold theme scores,
from which each theme's threshold is chosen (the F1-best, pulled towards the codebook-wide best
when a theme has few examples); then the model is fitted on the whole dev split and saved. The
evidence head also learns from the other codebooks' dev items (a heading is a heading).

    .venv/bin/python scripts/train_coder.py            # both shipped codebooks
    .venv/bin/python scripts/train_coder.py --cv-only  # the cross-validation figures, nothing saved
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import gold  # noqa: E402

from whatworks import coder  # noqa: E402
from whatworks.codebook import load_codebook  # noqa: E402

#: A theme with fewer positive examples than this in the dev split takes the codebook-wide threshold.
MIN_POSITIVES = 12
GRID = np.round(np.arange(0.10, 0.61, 0.025), 3)


def prepare(codebook_name: str, split: str = "dev"):
    cb = load_codebook(codebook_name)
    rows = [r for r in gold.items(codebook_name) if r["split"] == split]
    texts = [coder.expand_local_names(r["text"], cb.local_names, gold.language(r)) for r in rows]
    return cb, rows, texts, [gold.language(r) for r in rows], gold.embed(texts)


def kinds(rows) -> list[str]:
    return [r["kind"] for r in rows]


def other_evidence(codebook_name: str, split: str = "dev"):
    """The other codebooks' items, for the evidence head (texts, languages, embeddings, flags)."""
    rows = [r for r in gold.items() if r["codebook"] != codebook_name and r["split"] == split]
    texts = [r["text"] for r in rows]
    return texts, [gold.language(r) for r in rows], gold.embed(texts), [r["not_evidence"] for r in rows], kinds(rows)


def fit(cb, rows, texts, langs, emb, idx, thresholds=None, more_evidence=None):
    return coder.train(cb, [texts[i] for i in idx], [langs[i] for i in idx], emb[idx],
                       [[cb.canonical(t) for t in rows[i]["themes"]] for i in idx],
                       [rows[i]["polarity"] for i in idx], [rows[i]["not_evidence"] for i in idx],
                       thresholds=thresholds, embed=gold.embed, more_evidence=more_evidence,
                       kinds=kinds([rows[i] for i in idx]))


def out_of_fold(cb, rows, texts, langs, emb) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Each dev item's theme scores, polarity and the polarity's probability, from a model that
    never saw its document."""
    S = np.zeros((len(rows), len(cb.ids)), dtype=np.float32)
    polarity = [""] * len(rows)
    sure = np.zeros(len(rows), dtype=np.float32)
    for f in range(5):
        train = np.array([i for i, r in enumerate(rows) if r["fold"] != f])
        held = np.array([i for i, r in enumerate(rows) if r["fold"] == f])
        m = fit(cb, rows, texts, langs, emb, train)
        X = m.features.transform([texts[i] for i in held], [langs[i] for i in held], emb[held],
                                 kinds([rows[i] for i in held]))
        S[held] = m.themes.scores(X)
        P = coder.softmax(m.polarity.scores(X))
        for i, k, p in zip(held, P.argmax(1), P.max(1), strict=True):
            polarity[i], sure[i] = m.polarity.labels[k], p
    return S, polarity, sure


def lead_polarity(rows, polarity: list[str], sure: np.ndarray) -> str:
    """How often a finding, conclusion or lesson the coder calls positive or negative, surely enough
    to lead a claim (whatworks.claims.LEAD_POLARITY), is so in the gold labels — and all of them."""
    from whatworks.claims import LEAD_POLARITY

    out = []
    for target in ("positive", "negative"):
        picked = [(r["polarity"] == target, p >= LEAD_POLARITY) for r, x, p in zip(rows, polarity, sure, strict=True)
                  if x == target and r["kind"] in ("finding", "conclusion", "lesson_learned")]
        led = [ok for ok, lead in picked if lead]
        out.append(f"{target} {np.mean(led):.2f} of {len(led)} leading (all: {np.mean([ok for ok, _ in picked]):.2f}"
                   f" of {len(picked)})")
    return f"polarity of claims' leads at {LEAD_POLARITY}: " + "; ".join(out)


def thresholds(cb, rows, S: np.ndarray) -> tuple[np.ndarray, float]:
    """Per theme, the threshold with the best F1 on the out-of-fold scores; shrunk towards the
    codebook-wide best by the number of examples."""
    Y = np.array([[t in {cb.canonical(x) for x in r["themes"]} for t in cb.ids] for r in rows])

    def f1(y, s, thr):
        p = s >= thr
        tp = float((p & y).sum())
        return 2 * tp / (p.sum() + y.sum()) if p.sum() + y.sum() else 0.0

    overall = max(GRID, key=lambda thr: f1(Y.ravel(), S.ravel(), thr))
    out = np.full(len(cb.ids), overall, dtype=np.float32)
    for j in range(len(cb.ids)):
        n = int(Y[:, j].sum())
        if n >= MIN_POSITIVES:
            best = max(GRID, key=lambda thr, j=j: f1(Y[:, j], S[:, j], thr))
            share = n / (n + 3 * MIN_POSITIVES)
            out[j] = share * best + (1 - share) * overall
    return out, float(overall)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cv-only", action="store_true")
    ap.add_argument("codebooks", nargs="*", default=list(gold.CODEBOOKS))
    args = ap.parse_args()
    for name in args.codebooks:
        t0 = time.perf_counter()
        cb, rows, texts, langs, emb = prepare(name)
        S, polarity, sure = out_of_fold(cb, rows, texts, langs, emb)
        thr, overall = thresholds(cb, rows, S)
        pred = [[cb.ids[j] for j in np.where(S[i] >= thr)[0]] for i in range(len(rows))]
        cv = gold.scores([[cb.canonical(t) for t in r["themes"]] for r in rows], pred, cb.ids)
        agree = np.mean([p == r["polarity"] for p, r in zip(polarity, rows, strict=True)])
        print(f"{name}: {len(rows)} dev items, cross-validated by document: {cv.row()} "
              f"(threshold {overall:.3f} overall); polarity {agree:.3f}", flush=True)
        print("  " + lead_polarity(rows, polarity, sure), flush=True)
        if args.cv_only:
            continue
        model = fit(cb, rows, texts, langs, emb, np.arange(len(rows)), thresholds=thr,
                    more_evidence=other_evidence(name))
        model.info.update(cross_validated=vars(cv), trained=time.strftime("%Y-%m-%d"),
                          gold_items=len(rows))
        coder.MODELS.mkdir(parents=True, exist_ok=True)
        path = model.save(coder.MODELS / f"coder-{name}.npz")
        print(f"  saved {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
