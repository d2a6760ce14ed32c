"""How well `describe` does on reports its rules were not tuned on (tests/fixtures/unseen/).

    .venv/bin/python benchmarks/describe_unseen.py [-v]

The fixtures are short reports we wrote ourselves in the shapes describe will meet after the
shared corpus: ILO evaluations in EN/FR/ES/PT (DOCX, PDF, Markdown, plain text), other UN
agencies, development banks, Sida, and the briefs, ToRs, inception reports, management responses,
progress reports, audits and studies around them. Their labels (labels.yaml) were written from the
text before describe ever ran on them. tests/test_describe_unseen.py asserts these figures.
"""

from __future__ import annotations

import argparse
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


def run() -> list[Outcome]:
    from benchmarks.describe_accuracy import found_kinds
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
        # a title page is not a section of the kind its heading names ("RESUMEN DE LA EVALUACIÓN")
        o.sections = {k for k in found_kinds([s for s in d.sections if s.kind != "front_matter"])
                      if k in SECTION_KINDS}
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true", help="list every mismatch")
    args = ap.parse_args(argv)
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
