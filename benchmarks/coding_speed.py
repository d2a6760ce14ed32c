"""How long the coder takes on N items it has never seen (no embedding cached), and where the time goes.

    .venv/bin/python benchmarks/coding_speed.py            # 10,000 items
    .venv/bin/python benchmarks/coding_speed.py --items 2000

Items are real evaluation texts (the gold set, its pools and, with ../shared, the ILO database's
items), coded with the shipped ILO model as the `code` stage does
it: local names expanded, embedded (USE multilingual; one process per core from 2,000 new texts),
predicted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the encoder's worker processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    from whatworks import coder
    from whatworks.codebook import load_codebook
    from whatworks.coding import expand, language_of
    from whatworks.embedding import Embedder
    from whatworks.store import open_store

    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000)
    n = ap.parse_args().items
    texts: list[str] = []
    for name in ("coding_gold.jsonl", "coding_gold_more.jsonl", "sources/pool.jsonl", "sources/pool2.jsonl"):
        path = ROOT / "tests" / "labels" / name
        if path.exists():
            texts += [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    extra = ROOT.parent / "shared" / "corpus" / "ilo-ieval" / "ieval_items_es_fr_pt.jsonl"
    if len(set(texts)) < n and extra.exists():  # the ILO database's French, Spanish, Portuguese items
        for line in extra.open(encoding="utf-8"):
            row = json.loads(line)
            texts += [str(v) for k, v in row.items() if isinstance(v, str) and len(v) > 80 and k != "label"]
    workbook = extra.parent / "EvalDataset.xlsx"
    if len(set(texts)) < n and workbook.exists():  # the database's recommendations, lessons, practices
        from openpyxl import load_workbook

        book = load_workbook(workbook, read_only=True)
        for sheet in ("Data (2)", "Data (3)", "Data (4)"):
            for row in book[sheet].iter_rows(values_only=True):
                texts += [v for v in row if isinstance(v, str) and len(v) > 80]
        book.close()
    texts = list(dict.fromkeys(texts))[:n]
    cb = load_codebook("ilo-social-protection")
    t0, c0 = time.perf_counter(), _cpu()
    model = coder.shipped(cb.name)
    langs = [language_of(t) for t in texts]
    expanded = [expand(t, cb) for t in texts]
    t1, c1 = time.perf_counter(), _cpu()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "speed.db")
        vectors = Embedder(store).embed(expanded)
        t2, c2 = time.perf_counter(), _cpu()
        model.predict(expanded, langs, vectors)
        t3, c3 = time.perf_counter(), _cpu()
        store.close()
    print(f"{len(texts)} items (mean {sum(map(len, texts)) / len(texts):.0f} characters), load average "
          f"{os.getloadavg()[0]:.1f}: {t3 - t0:.1f} s in all — model and languages {t1 - t0:.1f} s, embeddings "
          f"{t2 - t1:.1f} s ({len(texts) / (t2 - t1):.0f} items/s), prediction {t3 - t2:.1f} s\n"
          f"CPU time (all threads and worker processes): {c3 - c0:.1f} s — model and "
          f"languages {c1 - c0:.1f} s, embeddings {c2 - c1:.1f} s, prediction {c3 - c2:.1f} s")


if __name__ == "__main__":
    main()
