"""Gather the second draw's labels (tests/labels/sources/pool2.jsonl, labelled blind in batches) into
tests/labels/coding_gold_more.jsonl, the same shape as coding_gold.jsonl.

    python scripts/gold/merge_labels.py /work/gold/labels2
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEEP = ("id", "codebook", "source", "sha256", "group", "split", "fold", "language", "kind", "report_title", "page",
        "section", "record", "db_id", "text")


def main(folder: str) -> None:
    pool = {r["id"]: r for r in map(json.loads, (ROOT / "tests/labels/sources/pool2.jsonl").open(encoding="utf-8"))}
    labels = {}
    for path in sorted(Path(folder).glob("*.A.jsonl")):
        for line in path.open(encoding="utf-8"):
            r = json.loads(line)
            labels[r["id"]] = r
    out = []
    for gid in sorted(labels):
        it, a = pool[gid], labels[gid]
        row = {k: it[k] for k in KEEP if it.get(k) is not None}
        row.update(themes=sorted(set(a["themes"])), polarity=a["polarity"], not_evidence=bool(a["not_evidence"]))
        if a.get("note"):
            row["note"] = a["note"]
        out.append(row)
    target = ROOT / "tests/labels/coding_gold_more.jsonl"
    with target.open("w", encoding="utf-8") as f:
        for row in out:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(out)} items -> {target}", Counter(r["codebook"] for r in out), Counter(r["split"] for r in out))


if __name__ == "__main__":
    main(sys.argv[1])
