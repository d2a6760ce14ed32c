"""How well `describe` does on reports its rules were not tuned on.

    .venv/bin/python benchmarks/describe_unseen.py [-v]
    .venv/bin/python benchmarks/describe_unseen.py --labels tests/labels/describe_blind.yaml --split dev \
        [--cache DIR] [-v]
    .venv/bin/python benchmarks/describe_unseen.py --labels tests/fixtures/describe/dev/labels.yaml \
        --root tests/fixtures/describe/dev
    .venv/bin/python benchmarks/describe_unseen.py --labels tests/fixtures/unseen_blind/labels.yaml \
        --root tests/fixtures/unseen_blind --split all     # a test set written by another hand

Without `--labels`: the fixtures of tests/fixtures/unseen/ against their labels (below).

With `--labels FILE|FOLDER` (blind labels in the shape of docs/description-guidelines.md: one
top-level key per document path relative to `--root`, default ../shared/corpus; a `documents:`
wrapper and a folder of such files are read too): the documents of one split of
tests/labels/describe_split.yaml — `test` is the final split no rule is tuned on, `dev` every
other document — are read, described and scored field by field (kind, year, timing, countries,
evaluator type, sections F1, recommendation count, items from reports with findings). Each
field is scored on the documents whose label gives it; the table prints n and the share right.
Mismatches (`-v`) are listed for `dev` only: the test split is looked at as figures, never case
by case.

The fixtures are short reports we wrote ourselves in the shapes describe will meet after the
shared corpus: ILO evaluations in EN/FR/ES/PT (DOCX, PDF, Markdown, plain text), other UN
agencies, development banks, Sida, and the briefs, ToRs, inception reports, management responses,
progress reports, audits and studies around them. Their labels (labels.yaml) were written from the
text before describe ever ran on them. tests/test_describe_unseen.py asserts these figures.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures" / "unseen"
#: The section kinds the labels list (others — acronyms, contents… — are not labelled).
SECTION_KINDS = ("executive_summary", "background", "methodology", "findings", "conclusions",
                 "recommendations", "lessons_learned", "good_practices", "management_response", "annex")
ITEM_COUNTS = (("recommendations", "recommendation"), ("lessons_learned", "lesson_learned"),
               ("good_practices", "good_practice"))
FIELDS = ("kind", "timing", "evaluator_type", "year", "countries", "regions_ilo", "project_codes",
          "organisation", "language")


@dataclass
class Outcome:
    """One fixture: its labels and what describe found."""

    name: str
    label: dict[str, Any]
    found: dict[str, Any] = field(default_factory=dict)
    sections: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def labels() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((FIXTURES / "labels.yaml").read_text(encoding="utf-8"))["documents"]


def section_kinds(desc: Any) -> set[str]:
    """The labelled kinds of section a description found. A title page is not a section of the kind
    its heading names ("RESUMEN DE LA EVALUACIÓN")."""
    from benchmarks.describe_accuracy import found_kinds

    return {k for k in found_kinds([s for s in desc.sections if s.kind != "front_matter"]) if k in SECTION_KINDS}


def run() -> list[Outcome]:
    from whatworks.describe import describe
    from whatworks.read import read_document

    out = []
    for name, label in labels().items():
        o = Outcome(name, label)
        out.append(o)
        try:
            doc = read_document(FIXTURES / name)
            d = describe(doc)
        except Exception as e:  # noqa: BLE001 — a benchmark reports, it does not stop
            o.error = f"{type(e).__name__}: {e}"
            continue
        md = {k: v.value for k, v in d.metadata.items()}
        o.found = {
            "kind": d.kind.value,
            "timing": md.get("timing"),
            "evaluator_type": md.get("evaluator_type"),
            "year": md.get("year"),
            "countries": sorted(md.get("countries") or []),
            "regions_ilo": sorted(md.get("regions_ilo") or []),
            "project_codes": sorted(c["code"] for c in md.get("project_codes") or []),
            "organisation": md.get("organisation"),
            "language": md.get("language"),
        }
        o.sections = section_kinds(d)
        o.counts = {key: sum(1 for i in d.items if i.kind == kind) for key, kind in ITEM_COUNTS}
    return out


def expected(o: Outcome, key: str) -> Any:
    value = o.label.get(key)
    if key in ("countries", "regions_ilo", "project_codes"):
        return sorted(value or [])
    return value


def field_accuracy(outcomes: list[Outcome], key: str) -> tuple[float, list[str]]:
    """Share of fixtures labelled with `key` where describe found exactly the label
    (project codes: every fixture, none expected when none is labelled)."""
    pairs = [(o.name, expected(o, key), o.found.get(key)) for o in outcomes
             if not o.error and (key in o.label or key == "project_codes")]
    wrong = [f"{n}: expected {e!r}, got {g!r}" for n, e, g in pairs if e != g]
    return (1 - len(wrong) / len(pairs) if pairs else float("nan")), wrong


def section_f1(outcomes: list[Outcome]) -> tuple[float, dict[str, float], list[str]]:
    """Micro F1 over all (fixture, section kind) pairs, and F1 by kind."""
    tp = fp = fn = 0
    by_kind: dict[str, list[int]] = {k: [0, 0, 0] for k in SECTION_KINDS}
    wrong = []
    for o in outcomes:
        if o.error:
            continue
        want = set(o.label.get("sections") or [])
        for k in SECTION_KINDS:
            if k in want and k in o.sections:
                tp += 1
                by_kind[k][0] += 1
            elif k in want:
                fn += 1
                by_kind[k][2] += 1
                wrong.append(f"{o.name}: missed {k}")
            elif k in o.sections:
                fp += 1
                by_kind[k][1] += 1
                wrong.append(f"{o.name}: spurious {k}")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    per = {k: (2 * a / (2 * a + b + c) if a + b + c else float("nan")) for k, (a, b, c) in by_kind.items()}
    return f1, per, wrong


def count_accuracy(outcomes: list[Outcome], key: str) -> tuple[float, list[str]]:
    """Share of fixtures labelled with a count of `key` items whose count is exact."""
    pairs = [(o.name, o.label[key], o.counts.get(key)) for o in outcomes if not o.error and key in o.label]
    wrong = [f"{n}: expected {e}, got {g}" for n, e, g in pairs if e != g]
    return (1 - len(wrong) / len(pairs) if pairs else float("nan")), wrong


# --- blind labels of real documents (--labels, --split) -----------------------------------

SHARED = Path(os.environ.get("WHATWORKS_SHARED", ROOT.parent / "shared"))
SPLIT = ROOT / "tests" / "labels" / "describe_split.yaml"
#: The fields of the blind table, in print order.
BLIND_FIELDS = ("kind", "year", "timing", "countries", "evaluator_type", "period", "sections F1",
                "recommendations", "items where findings")


def test_split() -> set[str]:
    """The documents of the final test split (paths relative to the corpus)."""
    return set(yaml.safe_load(SPLIT.read_text(encoding="utf-8"))["test"])


def blind_labels(source: Path, split: str) -> dict[str, dict[str, Any]]:
    """The labels of one split: a file (top-level keys are document paths, or a `documents:`
    mapping of them) or a folder of such files (the first label of a document wins). Entries of
    the other split are dropped before anything reads them."""
    files = sorted(source.glob("*.yaml")) if source.is_dir() else [source]
    test = test_split()
    out: dict[str, dict[str, Any]] = {}
    for f in files:
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        if isinstance(data.get("documents"), dict):
            data = data["documents"]
        for path, label in data.items():
            if not isinstance(label, dict) or "kind" not in label:
                continue  # "about", "split" and other notes
            if split != "all" and (path in test) != (split == "test"):
                continue
            out.setdefault(path, label)
    return out


def countries_key(scope: str | None, countries: list[str] | None) -> str:
    """What "countries" is scored on: the set of countries, or "global" / "regional" for an
    object with that scope and no country named (the guidelines label a global one [])."""
    if scope == "global":
        return "global"
    if scope == "regional" and not countries:
        return "regional"
    return ",".join(sorted(set(countries or []))) or "-"


@dataclass
class Described:
    """What describe found in one labelled document."""

    path: str
    label: dict[str, Any]
    found: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def describe_labelled(labels: dict[str, dict[str, Any]], root: Path,
                      cache: Path | None = None) -> list[Described]:
    """Read and describe every labelled document (read documents are kept in `cache`)."""
    from whatworks.describe import describe
    from whatworks.model import Document
    from whatworks.read import read_document

    out = []
    for rel, label in labels.items():
        d = Described(rel, label)
        out.append(d)
        path = root / rel
        try:
            cached = cache / (rel.replace("/", "__") + f".{path.stat().st_mtime_ns}.zlib") if cache else None
            if cached is not None and cached.exists():
                doc = Document.unpack(cached.read_bytes())
            else:
                doc = read_document(path)
                if cached is not None:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    cached.write_bytes(doc.pack())
            desc = describe(doc)
        except Exception as e:  # noqa: BLE001 — a benchmark reports, it does not stop
            d.error = f"{type(e).__name__}: {e}"
            continue
        md = {k: v.value for k, v in desc.metadata.items()}
        d.found = {
            "kind": desc.kind.value,
            "year": md.get("year"),
            "timing": md.get("timing"),
            "evaluator_type": md.get("evaluator_type"),
            "period": list(md["period"]) if md.get("period") else None,
            "countries": countries_key(md.get("scope"), md.get("countries")),
            "sections": section_kinds(desc),
            "recommendations": sum(1 for i in desc.items if i.kind == "recommendation"),
            "items": len(desc.items),
            "language": md.get("language") or doc.language,
        }
    return out


@dataclass
class Score:
    """One row of the table: documents scored, documents right, and what went wrong."""

    n: int = 0
    right: float = 0.0
    wrong: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.right / self.n if self.n else float("nan")


def blind_scores(described: list[Described]) -> dict[str, Score]:
    """Every field of BLIND_FIELDS scored on the documents whose label gives it. A document
    describe failed on counts as wrong. "sections F1" is micro F1 over (document, kind) pairs
    (n = documents); "items where findings" counts evaluation reports labelled with a findings
    section that yield at least one item."""
    scores = {f: Score() for f in BLIND_FIELDS}
    tp = fp = fn = 0
    for d in described:
        lab, got = d.label, d.found
        for key in ("kind", "year", "timing", "evaluator_type", "period"):
            if lab.get(key) is None:
                continue
            s = scores[key]
            s.n += 1
            if not d.error and got.get(key) == lab[key]:
                s.right += 1
            else:
                s.wrong.append(f"{d.path}: expected {lab[key]!r}, got {d.error or got.get(key)!r}")
        if lab.get("countries") is not None or lab.get("scope") in ("global", "regional"):
            want = countries_key(lab.get("scope"), lab.get("countries"))
            s = scores["countries"]
            s.n += 1
            if not d.error and got["countries"] == want:
                s.right += 1
            else:
                s.wrong.append(f"{d.path}: expected {want}, got {d.error or got['countries']}")
        if lab.get("sections") is not None:
            want_s = set(lab["sections"]) & set(SECTION_KINDS)
            got_s = set() if d.error else got["sections"]
            scores["sections F1"].n += 1
            tp += len(want_s & got_s)
            fn += len(want_s - got_s)
            fp += len(got_s - want_s)
            if want_s != got_s:
                scores["sections F1"].wrong.append(
                    f"{d.path}: missed {sorted(want_s - got_s)}, spurious {sorted(got_s - want_s)}")
        if isinstance(lab.get("recommendations"), int):
            s = scores["recommendations"]
            s.n += 1
            if not d.error and got["recommendations"] == lab["recommendations"]:
                s.right += 1
            else:
                s.wrong.append(f"{d.path}: expected {lab['recommendations']}, "
                               f"got {d.error or got['recommendations']}")
        if lab.get("kind") == "evaluation_report" and "findings" in (lab.get("sections") or []):
            s = scores["items where findings"]
            s.n += 1
            if not d.error and got["items"] > 0:
                s.right += 1
            else:
                s.wrong.append(f"{d.path}: no items")
    f1 = scores["sections F1"]
    f1.right = f1.n * (2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else float("nan")
    return scores


def print_blind(described: list[Described], scores: dict[str, Score], verbose: bool, split: str) -> None:
    from collections import Counter

    langs = Counter((d.label.get("language") or (d.found.get("language") if d.found else None) or "?")
                    for d in described)
    errors = [d for d in described if d.error]
    print(f"{len(described)} documents ({split} split), {len(errors)} errors; "
          f"{len(langs)} languages: " + ", ".join(f"{k} {v}" for k, v in langs.most_common()))
    print(f"{'field':<22} {'n':>4} {'right':>7} {'%':>7}")
    for name in BLIND_FIELDS:
        s = scores[name]
        share = f"{s.share:.3f}" if name == "sections F1" else f"{s.share:7.1%}"
        right = f"{s.right:.1f}" if name == "sections F1" else f"{int(s.right)}"
        print(f"{name:<22} {s.n:>4} {right:>7} {share:>7}")
    zero = scores["items where findings"]
    print(f"reports with a findings chapter that yield no items: {zero.n - int(zero.right)} of {zero.n}")
    if split in ("test", "all"):
        return  # figures only: a test set is never read case by case
    for d in errors:
        print(f"  ERROR {d.path}: {d.error}")
    for name in BLIND_FIELDS:
        wrong = scores[name].wrong
        if wrong:
            print(f"-- {name}: {len(wrong)}")
            for w in wrong if verbose else wrong[:5]:
                print(f"    {w}")


def main_blind(args: argparse.Namespace) -> int:
    import logging

    logging.getLogger("whatworks").setLevel(logging.ERROR)  # the table counts what describe warns about
    root = args.root or SHARED / "corpus"
    labels = blind_labels(args.labels, args.split)
    if not labels:
        print(f"no labels of the {args.split} split in {args.labels}")
        return 1
    described = describe_labelled(labels, root, args.cache)
    print_blind(described, blind_scores(described), args.verbose, args.split)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true", help="list every mismatch")
    ap.add_argument("--labels", type=Path, help="blind labels (a YAML file or a folder of them)")
    ap.add_argument("--split", choices=("dev", "test", "all"), default="dev",
                    help="which documents of tests/labels/describe_split.yaml to score ('all': every "
                         "labelled document, for a folder that is wholly a test set; figures only)")
    ap.add_argument("--root", type=Path, help="where the labelled paths are (default ../shared/corpus)")
    ap.add_argument("--cache", type=Path, help="folder to keep read documents between runs")
    args = ap.parse_args(argv)
    if args.labels:
        return main_blind(args)
    outcomes = run()
    errors = [o for o in outcomes if o.error]
    print(f"{len(outcomes)} unseen fixtures, {len(errors)} errors")
    for o in errors:
        print(f"  ERROR {o.name}: {o.error}")

    def show(name: str, acc: float, wrong: list[str]) -> None:
        print(f"{name:<18} {acc:7.1%}  ({len(wrong)} wrong)")
        for w in wrong if args.verbose else wrong[:4]:
            print(f"    {w}")

    for key in FIELDS:
        show(key, *field_accuracy(outcomes, key))
    f1, per, wrong = section_f1(outcomes)
    show("sections F1", f1, wrong)
    print("    by kind: " + ", ".join(f"{k} {v:.2f}" for k, v in per.items()))
    for key, _ in ITEM_COUNTS:
        show(f"{key} count", *count_accuracy(outcomes, key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
