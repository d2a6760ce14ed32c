"""Draw the pool of items for the blind coding gold set (docs/coding-guidelines.md).

Sources: the ILO i-eval Discovery export (recommendations, lessons learned, good practices in four
languages), the items whatworks extracted from the reports of ../shared/corpus and the shipped examples
(a review database made by `whatworks review`), and Portuguese items written for the gold set by a
different hand (tests/labels/sources/pt_items_written.jsonl).

Every item carries its document's sha256 and a `group` (the evaluation it comes from: an i-eval evaluation
number, or the report's sha256), and a split assigned by group: about a quarter of the groups form the
final `test` split, the rest `dev` with a fold number 0-4 for cross-validation. A report is never in two
splits.

    python scripts/gold/build_pool.py --db /tmp/gold/proj/review.db --out tests/labels/sources/pool.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
XLSX = SHARED / "corpus/ilo-ieval/EvalDataset.xlsx"
SHEETS = {"Data (2)": ("recommendation", "Recommendation description", "Recommendation ID"),
          "Data (3)": ("good_practice", "Good practices description", "Good practices ID"),
          "Data (4)": ("lesson_learned", "Lessons learned description", "Lessons learned ID")}
#: Titles or themes that mark an i-eval evaluation as social protection work (for sampling only).
SP = re.compile(r"social (protection|security)|protecci[oó]n social|seguridad social|protection sociale|"
                r"s[ée]curit[ée] sociale|prote[cç][aã]o social|seguran[cç]a social|pension|health insurance|"
                r"maternit|unemployment|seguro|assurance|socle|piso|floor", re.I)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def split_of(group: str) -> tuple[str, int]:
    h = int(hashlib.sha256(group.encode()).hexdigest(), 16)
    return ("test", -1) if h % 4 == 0 else ("dev", (h // 4) % 5)


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip()


def ieval_items() -> list[dict]:
    """Every item of the export, with its evaluation's number, title and language guess."""
    import py3langid

    py3langid.set_languages(["en", "fr", "es", "pt"])
    doc = sha256(XLSX)
    wb = openpyxl.load_workbook(XLSX, read_only=True)
    out = []
    for sheet, (kind, col, idcol) in SHEETS.items():
        rows = wb[sheet].iter_rows(values_only=True)
        header = next(rows)
        at = {h: i for i, h in enumerate(header)}
        for r in rows:
            text = clean(r[at[col]])
            if len(text) < 3:
                continue
            number = str(r[at["Evaluation number"]])
            out.append({"source": "ilo-ieval/EvalDataset.xlsx", "sha256": doc, "group": f"ieval:{number}",
                        "record": number, "db_id": str(r[at[idcol]]), "kind": kind,
                        "language": py3langid.classify(text)[0], "report_title": clean(r[at["Evaluation title"]]),
                        "sp": bool(SP.search(clean(r[at["Evaluation title"]])) or SP.search(text[:300])),
                        "text": text})
    return out


def corpus_items(db: Path) -> list[dict]:
    conn = sqlite3.connect(db)
    out = []
    rows = conn.execute("SELECT d.source, d.sha256, d.title, d.language, i.kind, i.text, i.page, i.section_kind "
                        "FROM items i JOIN documents d USING(sha256) ORDER BY d.source, i.idx")
    for source, sha, title, lang, kind, text, page, section in rows:
        rel = source.split("/shared/corpus/")[-1] if "/shared/corpus/" in source else \
            "examples/" + Path(source).name
        out.append({"source": rel, "sha256": sha, "group": sha, "kind": kind, "language": lang or "en",
                    "report_title": clean(title), "page": page, "section": section, "text": clean(text)})
    return out


def written_items() -> list[dict]:
    path = ROOT / "tests/labels/sources/pt_items_written.jsonl"
    if not path.exists():
        return []
    doc = sha256(path)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        out.append({"source": "tests/labels/sources/pt_items_written.jsonl", "sha256": doc,
                    "group": "pt-written:" + r["evaluation"], "kind": r["kind"], "language": "pt",
                    "report_title": r["evaluation"], "text": clean(r["text"])})
    return out


def take(rng: random.Random, items: list[dict], n: int, per_group: int = 10 ** 6) -> list[dict]:
    """`n` items drawn at random, at most `per_group` from one group."""
    items = items[:]
    rng.shuffle(items)
    seen: Counter = Counter()
    out = []
    for it in items:
        if len(out) >= n:
            break
        if seen[it["group"]] < per_group:
            seen[it["group"]] += 1
            out.append(it)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--out", default=ROOT / "tests/labels/sources/pool.jsonl", type=Path)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    ieval = ieval_items()
    by_lang = defaultdict(list)
    for it in ieval:
        by_lang[it["language"]].append(it)
    pool: list[dict] = []
    en = by_lang["en"]
    pool += take(rng, [i for i in en if i["sp"]], 450, per_group=12)
    pool += take(rng, [i for i in en if not i["sp"]], 230, per_group=4)
    pool += take(rng, by_lang["es"], 260, per_group=8)
    pool += take(rng, by_lang["fr"], 260, per_group=8)
    pool += by_lang["pt"]
    for it in pool:
        it["codebook"] = "ilo-social-protection"

    corpus = corpus_items(args.db)
    canada = [i for i in corpus if i["source"].startswith("canada/")]
    others = [i for i in corpus if not i["source"].startswith(("canada/", "eba/"))]
    for it in others:
        it["codebook"] = "ilo-social-protection"
    esdc = [i for i in canada if "/esdc_" in i["source"]]
    cra = [i for i in canada if "/esdc_" not in i["source"]]
    chosen = take(rng, esdc, 600, per_group=12) + take(rng, cra, 60, per_group=4)
    for it in chosen:
        it["codebook"] = "canada-social-security"
    pool += others + chosen
    for it in written_items():
        it["codebook"] = "ilo-social-protection"
        pool.append(it)

    seen_text = set()
    unique = []
    for it in pool:
        key = (it["codebook"], it["text"].lower())
        if key in seen_text or not it["text"]:
            continue
        seen_text.add(key)
        unique.append(it)
    rng.shuffle(unique)
    for n, it in enumerate(unique):
        it["id"] = f"g{n:04d}"
        it["split"], it["fold"] = split_of(it["group"])
        it.pop("sp", None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for it in unique:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    print(f"{len(unique)} items -> {args.out}")
    print("by language:", Counter(i["language"] for i in unique))
    print("by codebook:", Counter(i["codebook"] for i in unique))
    print("by split:", Counter(i["split"] for i in unique))
    print("by source:", Counter(i["source"].split("/")[0] for i in unique))


if __name__ == "__main__":
    main()
