"""The blind coding gold set (tests/labels/coding_gold*.jsonl), its splits and the scores the coder
is held to. Shared by benchmarks/coding_accuracy.py and scripts/train_coder.py.

Embeddings of the items are cached in benchmarks/out/embeddings.db (a whatworks store), so the
benchmark and the training embed each item once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LABELS = ROOT / "tests" / "labels"
OUT = ROOT / "benchmarks" / "out"
GOLD_FILES = ("coding_gold.jsonl", "coding_gold_more.jsonl")
CODEBOOKS = ("ilo-social-protection", "canada-social-security")

from whatworks.coding import Agreement, agreement  # noqa: E402 - after the checkout is on the path


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


class Scores(Agreement):
    """whatworks.coding.Agreement, as one line of a benchmark's table."""

    def row(self) -> str:
        return (f"P {self.precision:.3f}  R {self.recall:.3f}  F1 {self.f1:.3f}  kappa {self.kappa:.3f}  "
                f"({self.items} items)")


def scores(gold: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]], universe: Iterable[str]) -> Scores:
    """Micro precision, recall, F1 and pooled Cohen's kappa over every item × theme decision (the
    workspace's agreement figures, computed by the same function)."""
    return Scores(**vars(agreement(gold, predicted, universe)))
