"""The blind coding gold set (tests/labels/coding_gold*.jsonl), its splits and the scores the coder
is held to. Shared by benchmarks/coding_accuracy.py and scripts/train_coder.py.

Embeddings of the items are cached in benchmarks/out/embeddings.db (a whatworks store), so the
benchmark and the training embed each item once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LABELS = ROOT / "tests" / "labels"
OUT = ROOT / "benchmarks" / "out"
GOLD_FILES = ("coding_gold.jsonl", "coding_gold_more.jsonl")
CODEBOOKS = ("ilo-social-protection", "canada-social-security")


def items(codebook: str | None = None) -> list[dict]:
    """Every labelled item (both draws), with its codebook, split and fold."""
    out = []
    for name in GOLD_FILES:
        path = LABELS / name
        if path.exists():
            out += [json.loads(line) for line in path.open(encoding="utf-8")]
    return [i for i in out if codebook is None or i["codebook"] == codebook]


def second_labels() -> dict[str, dict]:
    path = LABELS / "coding_gold_second.jsonl"
    return {r["id"]: r for r in map(json.loads, path.open(encoding="utf-8"))} if path.exists() else {}


def language(item: dict) -> str:
    return item.get("language") or "en"


def embed(texts: Sequence[str]) -> np.ndarray:
    """USE embeddings, cached on disk across runs."""
    from whatworks.embedding import Embedder
    from whatworks.store import open_store

    OUT.mkdir(parents=True, exist_ok=True)
    store = open_store(OUT / "embeddings.db")
    try:
        return Embedder(store).embed(list(texts))
    finally:
        store.close()


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    kappa: float
    items: int

    def row(self) -> str:
        return (f"P {self.precision:.3f}  R {self.recall:.3f}  F1 {self.f1:.3f}  kappa {self.kappa:.3f}  "
                f"({self.items} items)")


def scores(gold: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]], universe: Iterable[str]) -> Scores:
    """Micro precision, recall, F1 and pooled Cohen's kappa over every item × theme decision."""
    universe = set(universe)
    tp = fp = fn = tn = 0
    for g, p in zip(gold, predicted, strict=True):
        g, p = set(g) & universe, set(p) & universe
        tp += len(g & p)
        fp += len(p - g)
        fn += len(g - p)
        tn += len(universe) - len(g | p)
    n = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    po = (tp + tn) / n if n else 1.0
    pe = ((tp + fp) / n) * ((tp + fn) / n) + ((fn + tn) / n) * ((fp + tn) / n) if n else 0.0
    kappa = (po - pe) / (1 - pe) if pe < 1 else 1.0
    return Scores(precision, recall, f1, kappa, len(gold))
