"""How well `describe` tells what a document is and what it is about, on the real corpus.

    .venv/bin/python benchmarks/describe_accuracy.py [--cache DIR] [--only iom,canada] [-v]

Reads every labelled document in ../shared/corpus (labels: tests/labels/documents.yaml), describes
it, and prints one figure per function below. `--cache DIR` keeps the read documents (packed) so a
second run skips reading; `-v` lists every mismatch.

Layout: one function per figure, each taking the list of `Result`s and returning (figure, details);
`main()` prints them. The kind/metadata figures are here; the sections/items figures are added by
their engineer in the same shape (see SECTION FIGURES below).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("WHATWORKS_SHARED", ROOT.parent / "shared"))
LABELS = ROOT / "tests" / "labels" / "documents.yaml"


@dataclass
class Result:
    """One labelled document: its labels, what describe found, and what it cost."""

    path: str  # relative to corpus/
    label: dict[str, Any]
    kind: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    pages: int = 0
    read_s: float = 0.0
    sections_s: float = 0.0
    describe_s: float = 0.0  # kind + metadata
    error: str | None = None
    sections: list = field(default_factory=list)  # whatworks.model.Section (sections/items figures)
    items: list = field(default_factory=list)  # whatworks.model.Item


# --- running ------------------------------------------------------------------------------


def load_labels() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(LABELS.read_text(encoding="utf-8"))["documents"]


def run(only: list[str] | None = None, cache: Path | None = None) -> list[Result]:
    from whatworks.describe.kind import classify
    from whatworks.describe.metadata import extract_metadata
    from whatworks.model import Document
    from whatworks.read import read_document

    try:
        from whatworks.describe.sections import find_sections
    except Exception:  # sections being rewritten: describe without them
        def find_sections(document):  # type: ignore[no-redef]
            return []
    try:
        from whatworks.describe.items import find_items
    except Exception:
        def find_items(document, sections):  # type: ignore[no-redef]
            return []

    corpus = SHARED / "corpus"
    results = []
    for rel, label in load_labels().items():
        if only and rel.split("/")[0] not in only:
            continue
        r = Result(rel, label)
        results.append(r)
        path = corpus / rel
        cached = cache / (rel.replace("/", "__") + ".zlib") if cache else None
        try:
            t = time.perf_counter()
            if cached and cached.exists():
                doc = Document.unpack(cached.read_bytes())
                r.read_s = float(doc.meta.get("_read_s", 0.0))
            else:
                doc = read_document(path)
                r.read_s = time.perf_counter() - t
                if cached:
                    doc.meta["_read_s"] = r.read_s
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    cached.write_bytes(doc.pack())
            r.pages = len(doc.pages)
            t = time.perf_counter()
            sections = find_sections(doc)
            items = find_items(doc, sections)
            r.sections_s = time.perf_counter() - t
            r.sections, r.items = sections, items
            t = time.perf_counter()
            kind = classify(doc, sections, items)
            md = extract_metadata(doc, sections, kind)
            r.describe_s = time.perf_counter() - t
            r.kind = kind.value
            r.metadata = {k: v.value for k, v in md.items()}
        except Exception as e:  # noqa: BLE001 — a benchmark reports, it does not stop
            r.error = f"{type(e).__name__}: {e}"
    return results


# --- KIND / METADATA FIGURES --------------------------------------------------------------


def _accuracy(pairs: list[tuple[str, Any, Any]]) -> tuple[float, list[str]]:
    if not pairs:
        return float("nan"), []
    wrong = [f"{p}: expected {e!r}, got {g!r}" for p, e, g in pairs if e != g]
    return 1 - len(wrong) / len(pairs), wrong


def kind_accuracy(results: list[Result]) -> tuple[float, list[str]]:
    """Share of documents whose kind is the labelled kind."""
    return _accuracy([(r.path, r.label["kind"], r.kind) for r in results if "kind" in r.label])


def kind_confusion(results: list[Result]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for r in results:
        if "kind" in r.label:
            key = (r.label["kind"], r.kind or "error")
            out[key] = out.get(key, 0) + 1
    return out


def timing_accuracy(results: list[Result]) -> tuple[float, list[str]]:
    """Timing (final | midterm | ex_post | other) of documents labelled with one."""
    return _accuracy([(r.path, r.label["timing"], r.metadata.get("timing")) for r in results if "timing" in r.label])


def year_accuracy(results: list[Result]) -> tuple[float, list[str]]:
    """Report year, exact."""
    return _accuracy([(r.path, r.label["year"], r.metadata.get("year")) for r in results if "year" in r.label])


def country_accuracy(results: list[Result]) -> tuple[float, list[str]]:
    """The set of countries equals the labelled set."""
    return _accuracy([(r.path, sorted(r.label["countries"]), sorted(r.metadata.get("countries") or []))
                      for r in results if "countries" in r.label])


def region_accuracy(results: list[Result]) -> tuple[float, list[str]]:
    """The set of ILO regions equals the labelled set."""
    return _accuracy([(r.path, sorted(r.label["regions_ilo"]), sorted(r.metadata.get("regions_ilo") or []))
                      for r in results if "regions_ilo" in r.label])


def organisation_accuracy(results: list[Result]) -> tuple[float, list[str]]:
    return _accuracy([(r.path, r.label["organisation"], r.metadata.get("organisation"))
                      for r in results if "organisation" in r.label])


def evaluation_type_accuracy(results: list[Result]) -> tuple[float, list[str]]:
    return _accuracy([(r.path, r.label["evaluation_type"], r.metadata.get("evaluation_type"))
                      for r in results if "evaluation_type" in r.label])


def speed(results: list[Result]) -> dict[str, float]:
    """Milliseconds per page: reading vs describing (kind + metadata); describe must cost less."""
    ok = [r for r in results if not r.error and r.read_s > 0]
    pages = sum(r.pages for r in ok) or 1
    return {
        "documents": len(ok),
        "pages": pages,
        "read_ms_per_page": 1000 * sum(r.read_s for r in ok) / pages,
        "sections_items_ms_per_page": 1000 * sum(r.sections_s for r in ok) / pages,
        "describe_ms_per_page": 1000 * sum(r.describe_s for r in ok) / pages,
        "describe_ms_per_document": 1000 * sum(r.describe_s for r in ok) / max(len(ok), 1),
    }


# --- SECTION FIGURES (sections/items engineer: add functions here, same shape) -------------

SECTION_LABELS = ROOT / "tests" / "labels" / "sections.yaml"
#: Kinds whose sections must be located with F1 >= 0.95; criteria chapters count as findings.
TARGET_KINDS = ("findings", "conclusions", "recommendations", "lessons_learned")


def load_section_labels() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(SECTION_LABELS.read_text(encoding="utf-8"))["documents"]


def found_kinds(sections: list) -> dict[str, list[int]]:
    """Kind → start pages of the sections found, as the labels count them: every kind a heading
    names (combined headings too), criteria as findings, nothing nested inside an annex."""
    from whatworks.describe.headings import CONTAINERS, FINDINGS_FAMILY, is_annex_heading
    from whatworks.describe.sections import section_kinds

    out: dict[str, list[int]] = {}
    backs = [s for s in sections if s.kind in CONTAINERS[:4] or is_annex_heading(s.heading)]
    for s in sections:
        if any(b is not s and b.block_start < s.block_start < b.block_end for b in backs):
            continue
        kinds = set(section_kinds(s))
        if is_annex_heading(s.heading):
            kinds.add("annex")
        for k in kinds:
            k = "findings" if k in FINDINGS_FAMILY else k
            out.setdefault(k, []).append(s.page_start)
    return out


def _labelled(results: list[Result]) -> list[tuple[Result, dict[str, Any]]]:
    labels = load_section_labels()
    return [(r, labels[r.path]) for r in results if r.path in labels and not r.error]


def _located(label_pages: list[int] | None, found_pages: list[int] | None) -> bool:
    if not found_pages:
        return False
    return label_pages is None or any(abs(a - b) <= 1 for a in label_pages for b in found_pages)


def section_f1(kind: str):
    """F1 of locating `kind` sections over the labelled documents (PDFs: on the labelled page ±1)."""
    def figure(results: list[Result]) -> tuple[float, list[str]]:
        tp = fp = fn = 0
        wrong = []
        for r, label in _labelled(results):
            secs = label["sections"]
            pages = secs.get(kind) if isinstance(secs, dict) else None
            labelled = kind in secs
            found = found_kinds(r.sections).get(kind)
            ok = _located(pages, found)
            if labelled and ok:
                tp += 1
            elif labelled:
                fn += 1
                wrong.append(f"{r.path}: missed {kind} (label pages {pages}, found {found})")
            elif found:
                fp += 1
                wrong.append(f"{r.path}: spurious {kind} on pages {found}")
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
        return f1, wrong
    figure.__doc__ = f"F1 of {kind} sections located."
    return figure


def recommendation_counts(results: list[Result]) -> tuple[float, list[str]]:
    """Share of reports with recommendations whose recommendations are counted exactly."""
    pairs = [(r.path, label["recommendations"], sum(1 for i in r.items if i.kind == "recommendation"))
             for r, label in _labelled(results) if label.get("recommendations")]
    return _accuracy(pairs)


def recommendation_counts_held_out(results: list[Result]) -> tuple[float, list[str]]:
    """The same on the documents labelled after the rules were written (`held_out: true`)."""
    pairs = [(r.path, label["recommendations"], sum(1 for i in r.items if i.kind == "recommendation"))
             for r, label in _labelled(results) if label.get("held_out")]
    return _accuracy(pairs)


def recommendation_none(results: list[Result]) -> tuple[float, list[str]]:
    """Share of labelled documents without recommendations where none are found."""
    pairs = [(r.path, 0, sum(1 for i in r.items if i.kind == "recommendation"))
             for r, label in _labelled(results) if not label.get("recommendations")]
    return _accuracy(pairs)


# --- printing -----------------------------------------------------------------------------


FIGURES = [
    ("document kind", kind_accuracy, 0.95),
    ("timing", timing_accuracy, 0.95),
    ("year", year_accuracy, 0.95),
    ("countries", country_accuracy, 0.95),
    ("ILO regions", region_accuracy, 0.95),
    ("organisation", organisation_accuracy, None),
    ("evaluation type", evaluation_type_accuracy, None),
    # sections/items (labels: tests/labels/sections.yaml)
    ("findings sect. F1", section_f1("findings"), 0.95),
    ("conclusions F1", section_f1("conclusions"), 0.95),
    ("recommend. F1", section_f1("recommendations"), 0.95),
    ("lessons F1", section_f1("lessons_learned"), 0.95),
    ("rec. count exact", recommendation_counts, 0.90),
    ("  held-out docs", recommendation_counts_held_out, None),
    ("no rec. when none", recommendation_none, None),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated corpus folders (iom,eba,canada,idrc)")
    ap.add_argument("--cache", type=Path, help="folder to keep read documents between runs")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every mismatch")
    args = ap.parse_args(argv)
    if not (SHARED / "corpus").is_dir():
        print(f"no corpus at {SHARED / 'corpus'} (set WHATWORKS_SHARED)")
        return 1
    t = time.perf_counter()
    results = run(args.only.split(",") if args.only else None, args.cache)
    errors = [r for r in results if r.error]
    print(f"{len(results)} labelled documents, {len(errors)} errors, {time.perf_counter() - t:.0f} s")
    for r in errors:
        print(f"  ERROR {r.path}: {r.error}")
    for name, fn, target in FIGURES:
        acc, wrong = fn(results)
        flag = "" if target is None else ("  ok" if acc >= target else f"  BELOW TARGET {target:.0%}")
        print(f"{name:<16} {acc:7.1%}  ({len(wrong)} wrong){flag}")
        for w in wrong if args.verbose else wrong[:5]:
            print(f"    {w}")
    print("kind confusion (label → found):")
    for (exp, got), n in sorted(kind_confusion(results).items(), key=lambda kv: -kv[1]):
        mark = "" if exp == got else "   ✗"
        print(f"    {exp:<20} → {got:<20} {n:4d}{mark}")
    sp = speed(results)
    print(f"speed: {sp['documents']} documents, {sp['pages']} pages; read {sp['read_ms_per_page']:.1f} ms/page, "
          f"sections+items {sp['sections_items_ms_per_page']:.1f} ms/page, "
          f"kind+metadata {sp['describe_ms_per_page']:.1f} ms/page "
          f"({sp['describe_ms_per_document']:.0f} ms/document)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
