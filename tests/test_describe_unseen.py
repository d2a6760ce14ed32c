"""describe on reports its rules were not tuned on: tests/fixtures/unseen/ (41 short reports we
wrote — ILO evaluations in EN/FR/ES/PT as DOCX, PDF, Markdown and text; UNDP, UNICEF, FAO, WFP,
UNHCR, World Bank, IDB, AfDB, Sida; briefs, ToRs, inception reports, management responses,
progress reports, an audit and studies) against labels written before describe ran on them.

The figures are computed by benchmarks/describe_unseen.py (which prints them); these tests hold
them so a rule tuned for one corpus cannot quietly break the others.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_helpers import benchmark

from whatworks.describe.headings import heading_kinds, item_marker
from whatworks.describe.places import find_countries

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "unseen"


BENCH = benchmark("describe_unseen")
NAMES = list(BENCH.labels())


@pytest.fixture(scope="session")
def outcomes() -> dict:
    return {o.name: o for o in BENCH.run()}


def test_every_fixture_is_labelled_and_present() -> None:
    files = {p.name for p in FIXTURES.iterdir() if p.is_file() and p.suffix in (".md", ".txt", ".docx", ".pdf")}
    assert files == set(NAMES)
    assert len(NAMES) >= 16


def test_no_fixture_fails(outcomes: dict) -> None:
    assert [(n, o.error) for n, o in outcomes.items() if o.error] == []


@pytest.mark.parametrize("name", NAMES)
def test_kind(outcomes: dict, name: str) -> None:
    o = outcomes[name]
    assert o.found.get("kind") == o.label["kind"]


@pytest.mark.parametrize("key, target", [
    ("timing", 0.95), ("evaluator_type", 0.95), ("year", 0.95), ("countries", 0.9),
    ("regions_ilo", 0.95), ("project_codes", 1.0), ("organisation", 0.9), ("language", 1.0),
])
def test_metadata_accuracy(outcomes: dict, key: str, target: float) -> None:
    acc, wrong = BENCH.field_accuracy(list(outcomes.values()), key)
    assert acc >= target, wrong


def test_sections_f1(outcomes: dict) -> None:
    f1, per_kind, wrong = BENCH.section_f1(list(outcomes.values()))
    assert f1 >= 0.97, wrong
    assert min(per_kind.values()) >= 0.9, per_kind


@pytest.mark.parametrize("key, target", [("recommendations", 0.95), ("lessons_learned", 0.9),
                                         ("good_practices", 0.9)])
def test_item_counts_exact(outcomes: dict, key: str, target: float) -> None:
    acc, wrong = BENCH.count_accuracy(list(outcomes.values()), key)
    assert acc >= target, wrong


# --- the general rules behind the figures, one by one ------------------------------------


@pytest.mark.parametrize("heading, kinds", [
    ("II. OBJECTIFS ET MÉTHODOLOGIE DE L'ÉVALUATION", ["methodology"]),
    ("3. Propósito, alcance y metodología de la evaluación", ["methodology"]),
    ("2. Propósito, objetivos e escopo da avaliação", ["methodology"]),
    ("4. Desafios e lições aprendidas", ["lessons_learned"]),
    ("Hallazgos principales", ["findings"]),
    ("Lecciones aprendidas y buenas prácticas", ["lessons_learned", "good_practices"]),
    ("4 Evaluative Conclusions", ["conclusions"]),
    ("4. Achievement of the Objectives", ["effectiveness"]),
    ("Gender and inclusion", []),
    ("Core Issue #5: Economy and Efficiency", []),  # a topic naming a criterion in passing
])
def test_heading_kinds_in_four_languages(heading: str, kinds: list[str]) -> None:
    assert heading_kinds(heading) == kinds


def test_contents_line_is_not_an_item() -> None:
    assert item_marker("Main Findings 10") is None  # a contents entry and its page
    assert item_marker("Main finding 3: take-up rose")[:2] == ("finding", "3")
    assert item_marker("Lição aprendida n.º 2: A legalização")[:2] == ("lesson_learned", "2")


def test_embassy_country_is_a_donor_not_a_place() -> None:
    assert find_countries("Commissioned by the Embassy of Sweden in Dar es Salaam, Tanzania") == ["TZA"]


def test_recommendation_attributes_in_ilo_wording() -> None:
    from whatworks.describe import describe
    from whatworks.read import read_document

    d = describe(read_document(FIXTURES / "ilo_final_en_kenya_uganda.docx"))
    recs = [i for i in d.items if i.kind == "recommendation"]
    assert [r.number for r in recs] == ["1", "2", "3", "4", "5", "6"]
    # "Addressed to / Priority / Time implication / Resource implication"
    assert recs[0].fields["addressee"].startswith("ILO CO-Dar es Salaam")
    assert recs[0].fields["priority"] == "High"
    assert recs[0].fields["timeframe"].startswith("Short term")
    assert recs[0].fields["resources"] == "Low"
    lessons = [i for i in d.items if i.kind == "lesson_learned"]
    assert len(lessons) == 3 and all("context" in i.fields for i in lessons)  # from the ILO template
    assert not [i for i in d.items if i.kind == "finding" and "Main Findings" in i.text]  # not the contents
    assert d.metadata["title"].value == "Decent Jobs for Youth in the Informal Economy of Kenya and Uganda"
