"""How the coder's agreement grows with the number of labelled items: is more labelling worth it?

    .venv/bin/python benchmarks/coding_data_size.py          # ILO codebook, ~6 minutes

Dev split only (the test split stays unseen): fold 0's evaluations are held out; the model is
trained on a quarter, half, three quarters and all of the other folds' evaluations (drawn whole,
seeded), and scored on the held-out fold at the codebook-wide threshold.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gold  # noqa: E402
import train_coder  # noqa: E402

THRESHOLD = 0.275  # the codebook-wide threshold the shipped ILO model's cross-validation chose


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("codebook", nargs="?", default="ilo-social-protection")
    args = ap.parse_args()
    cb, rows, texts, langs, emb = train_coder.prepare(args.codebook)
    groups = sorted({r["group"] for r in rows if r["fold"] != 0})
    random.Random(7).shuffle(groups)
    held = np.array([i for i, r in enumerate(rows) if r["fold"] == 0])
    for share in (0.25, 0.5, 0.75, 1.0):
        keep = set(groups[: int(len(groups) * share)])
        train = np.array([i for i, r in enumerate(rows) if r["fold"] != 0 and r["group"] in keep])
        model = train_coder.fit(cb, rows, texts, langs, emb, train)
        X = model.features.transform([texts[i] for i in held], [langs[i] for i in held], emb[held],
                                     train_coder.kinds([rows[i] for i in held]))
        S = model.themes.scores(X)
        predicted = [[cb.ids[j] for j in np.where(S[k] >= THRESHOLD)[0]] for k in range(len(held))]
        scores = gold.scores([[cb.canonical(t) for t in rows[i]["themes"]] for i in held], predicted, cb.ids)
        polarity = np.mean([model.polarity.labels[k] == rows[i]["polarity"]
                            for i, k in zip(held, model.polarity.scores(X).argmax(1), strict=True)])
        print(f"{share:.0%} of the training evaluations ({len(train)} items, {len(keep)} evaluations): "
              f"{scores.row()}; polarity {polarity:.3f}", flush=True)


if __name__ == "__main__":
    main()
