"""Coding accuracy against the hand-coded items in tests/labels/coding.yaml.

Prints precision and recall per review question and Cohen's kappa (every item × theme
yes/no decision), for the test split (never used for tuning), the dev split and all items,
for the default coder and for keywords or embeddings alone; then per language, and the
coding speed.

    .venv/bin/python benchmarks/coding_accuracy.py [--errors]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whatworks.codebook import load_codebook  # noqa: E402
from whatworks.coding import (  # noqa: E402
    DEFAULT_EMBED,
    Coder,
    Embedder,
    Matcher,
    Thresholds,
    agreement,
    language_of,
)

LABELS = ROOT / "tests" / "labels" / "coding.yaml"


def load_labels() -> list[dict]:
    return yaml.safe_load(LABELS.read_text(encoding="utf-8"))["items"]


WHY: dict[str, dict[str, str]] = {}  # item id → theme → how it was coded (for --errors)


def predict(items: list[dict], mode: str = "default") -> tuple[dict[str, set[str]], float]:
    """Predicted theme ids per item id; mode default | embed-all | keywords | embeddings."""
    out: dict[str, set[str]] = {}
    seconds = 0.0
    embedder = Embedder()  # no database: measure without the cache
    for name in sorted({i["codebook"] for i in items}):
        group = [i for i in items if i["codebook"] == name]
        codebook = load_codebook(name)
        if mode == "keywords":
            coder = Coder(codebook, use_embeddings=False)
        elif mode == "embeddings":
            coder = Coder(codebook, embedder)
            coder.matcher = Matcher([])  # no descriptors
        else:
            coder = Coder(codebook, embedder, thresholds=Thresholds())
        coder.theme_matrix if coder.embedder is not None else None  # noqa: B018 - themes embedded once
        languages = [language_of(i["text"]) for i in group]  # code_db identifies them before coding
        for lang in set(languages):  # descriptors stemmed once per language and process, like the themes' vectors
            coder.matcher.compiled(lang)
        t0 = time.perf_counter()
        embed = "all" if mode in ("embed-all", "embeddings") else DEFAULT_EMBED
        codes = coder.code_texts([i["text"] for i in group], embed=embed, languages=languages)
        seconds += time.perf_counter() - t0
        for item, cs in zip(group, codes, strict=True):
            out[item["id"]] = {c.theme for c in cs}
            if mode == "default":
                WHY[item["id"]] = {c.theme: f"{c.method}:{'|'.join(c.triggers)}" for c in cs}
    return out, seconds


def report(items: list[dict], predicted: dict[str, set[str]], title: str) -> dict:
    print(f"\n{title} — {len(items)} items")
    print(f"  {'question':<22}{'precision':>10}{'recall':>8}{'F1':>7}{'kappa':>7}")
    result = {}
    for question in ("what_is_being_done", "what_works", "for_whom", "why", "all"):
        exp, pred, themes = [], [], set()
        for name in sorted({i["codebook"] for i in items}):
            codebook = load_codebook(name)
            ids = set(codebook.ids) if question == "all" else {t.id for t in codebook.themes_for(question)}
            themes |= ids
            for i in items:
                if i["codebook"] == name:
                    exp.append(set(i["themes"]) & ids)
                    pred.append(predicted[i["id"]] & ids)
        a = agreement(exp, pred, themes)
        result[question] = a
        print(f"  {question:<22}{a.precision:>10.2f}{a.recall:>8.2f}{a.f1:>7.2f}{a.kappa:>7.2f}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list the dev items coded wrongly")
    parser.add_argument("--split", default=None, help="only this split in --errors (dev or test)")
    args = parser.parse_args()
    items = load_labels()
    print(f"{len(items)} hand-coded items: " + ", ".join(
        f"{k[0]}/{k[1]}: {v}" for k, v in sorted(Counter((i['codebook'], i['split']) for i in items).items())))
    predicted, seconds = predict(items)
    print(f"default coder: descriptors, plus embeddings for items no descriptor matched (embed={DEFAULT_EMBED!r})")
    for split in ("test", "dev"):
        report([i for i in items if i["split"] == split], predicted, f"default coder, {split} split")
    report(items, predicted, "default coder, all items")
    for lang in ("en", "fr", "es", "pt"):
        sub = [i for i in items if i["language"] == lang]
        if sub:
            exp = [set(i["themes"]) for i in sub]
            pred = [predicted[i["id"]] for i in sub]
            themes = set().union(*(load_codebook(c).ids for c in {i["codebook"] for i in sub}))
            a = agreement(exp, pred, themes)
            print(f"  language {lang}: {len(sub)} items, precision {a.precision:.2f}, recall {a.recall:.2f}, "
                  f"kappa {a.kappa:.2f}")
    print(f"\nspeed: {len(items) / seconds:.0f} items/s ({seconds:.2f} s for {len(items)} items, embeddings "
          "computed, no cache)")
    for mode in ("embed-all", "keywords", "embeddings"):
        p, _ = predict(items, mode)
        a = report([i for i in items if i["split"] == "test"], p, f"{mode} only, test split")["all"]
        del a
    if args.errors:
        print("\nerrors (expected − missed, + extra):")
        for i in items:
            if args.split and i["split"] != args.split:
                continue
            e, p = set(i["themes"]), predicted[i["id"]]
            if e != p:
                extra = [f"{t}({WHY.get(i['id'], {}).get(t, '')})" for t in sorted(p - e)]
                print(f"  {i['id']} [{i['split']}] -{sorted(e - p)} +{extra}\n     {i['text'][:220]}")


if __name__ == "__main__":
    main()
