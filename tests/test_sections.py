"""Sections: heading vocabulary in four languages, contents pages, nesting, promoted lines,
and the structure of real reports from the shared corpus."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from project_fixtures import SHARED, corpus_params

from whatworks.describe.headings import heading_kinds, item_marker
from whatworks.describe.items import find_items
from whatworks.describe.sections import find_sections
from whatworks.model import Block, Document, Page
from whatworks.text import split_number

AAP = "iom/6c3c2cf3fa479112967612b0baddab72/AAP Evaluation Report_final_.pdf"
HAITI_BRIEF = "iom/8faad6edb0414cfc8f35415a93726e36/CS1137-CS1138_Evaluation Brief_Javier SANCHEZ MARTI.pdf"


@functools.cache
def corpus_doc(rel: str) -> Document:
    """A corpus document read once per test session (test_items uses it too)."""
    from whatworks.read import read_document

    path = SHARED / "corpus" / rel
    if not path.exists():
        pytest.skip(f"corpus document missing: {path}")
    return read_document(path)


def canada(prefix: str) -> str:
    matches = sorted((SHARED / "corpus" / "canada").glob(f"{prefix}_*.html"))
    if not matches:
        pytest.skip(f"no Canada page {prefix}")
    return str(matches[0].relative_to(SHARED / "corpus"))


def doc(*blocks: Block) -> Document:
    pages: dict[int, list[Block]] = {}
    for b in blocks:
        pages.setdefault(b.page, []).append(b)
    return Document("test", "0", "pdf", [Page(n, bs) for n, bs in sorted(pages.items())])


def H(text: str, level: int = 1, page: int = 1) -> Block:
    return Block("heading", text, page, level=level)


def P(text: str, page: int = 1, **kw) -> Block:
    return Block("paragraph", text, page, **kw)


# --- vocabulary ---------------------------------------------------------------------------


@pytest.mark.parametrize(("heading", "kind"), [
    ("Lessons learnt", "lessons_learned"),
    ("6. LESSONS LEARNED", "lessons_learned"),
    ("Leçons apprises", "lessons_learned"),
    ("Enseignements tirés", "lessons_learned"),
    ("Lecciones aprendidas", "lessons_learned"),
    ("Lições aprendidas", "lessons_learned"),
    ("Bonnes pratiques émergentes", "good_practices"),
    ("Buenas prácticas emergentes", "good_practices"),
    ("Boas práticas emergentes", "good_practices"),
    ("7. Emerging good practices", "good_practices"),
    ("Key findings", "findings"),
    ("Main findings", "findings"),
    ("FINDINGS", "findings"),
    ("2. EVALUATION FINDINGS", "findings"),
    ("Constatations", "findings"),
    ("Principales constatations", "findings"),
    ("Hallazgos", "findings"),
    ("Constatações", "findings"),
    ("Recommandations", "recommendations"),
    ("Recomendaciones", "recommendations"),
    ("Recomendações", "recommendations"),
    ("IV. Recommendations", "recommendations"),
    ("10. Recommendations ", "recommendations"),
    ("Executive summary⁵", "executive_summary"),
    ("Résumé exécutif", "executive_summary"),
    ("Sumário executivo", "executive_summary"),
    ("3.1 Relevance and strategic fit", "relevance"),
    ("Validity of design", "design"),
    ("Validez del diseño", "design"),
    ("Efficacité", "effectiveness"),
    ("Efficience", "efficiency"),
    ("Eficacia", "effectiveness"),
    ("Eficiencia", "efficiency"),
    ("Durabilité", "sustainability"),
    ("Sostenibilidad", "sustainability"),
    ("Impact orientation", "impact"),
    ("Conclusiones", "conclusions"),
    ("Conclusões", "conclusions"),
    ("Management response and action plan", "management_response"),
    ("Table des matières", "table_of_contents"),
    ("Annex 2: Terms of reference", "terms_of_reference"),
    ("Anexo 3. Lista de personas entrevistadas", "people_met"),
    ("Annexe 1 : Modèle de leçon apprise de l'OIT", "lessons_learned"),
    ("ANNEX B. EVALUATION MATRIX", "annex"),
    ("Appendix A: Bibliography", "references"),
    ("Metodología de la evaluación", "methodology"),
    ("Antecedentes", "background"),
])
def test_heading_vocabulary(heading: str, kind: str) -> None:
    assert heading_kinds(heading)[:1] == [kind]


@pytest.mark.parametrize(("heading", "kinds"), [
    ("5. Conclusions and recommendations", ["conclusions", "recommendations"]),
    ("Conclusiones y recomendaciones", ["conclusions", "recommendations"]),
    ("Findings, recommendations, and management response",
     ["findings", "recommendations", "management_response"]),
    ("Best practices and lessons learned", ["good_practices", "lessons_learned"]),
    ("PRINCIPALES CONSTATATIONS ET CONCLUSIONS", ["findings", "conclusions"]),
])
def test_combined_headings_name_every_kind(heading: str, kinds: list[str]) -> None:
    assert heading_kinds(heading) == kinds


@pytest.mark.parametrize("heading", [
    "Recommendation 1: Clarify the scope",  # an item, not a section
    "Finding #3",
    "4.2 Needs of migrant workers in the construction sector",
    "Impact of the COVID-19 pandemic on the delivery of training to rural women and their families in the north",
    "",
])
def test_not_a_section_heading(heading: str) -> None:
    assert heading_kinds(heading) == []


def test_numbering_and_item_markers() -> None:
    assert split_number("4.2. Relevance") == ("Relevance", "4.2")
    assert split_number("IV. Findings") == ("Findings", "IV")
    assert split_number("► Executive summary") == ("Executive summary", None)
    assert item_marker("Recommendation #2: Explore")[:2] == ("recommendation", "2")
    assert item_marker("Constatation n° 3 : Le projet")[:2] == ("finding", "3")
    assert item_marker("Lección aprendida 1. Los programas")[:2] == ("lesson_learned", "1")
    assert item_marker("Recomendação 4: Documentar")[:2] == ("recommendation", "4")
    assert item_marker("R3. Strengthen")[:2] == ("recommendation", "R3")
    assert item_marker("Recommendations are made below") is None


# --- structure on synthetic documents ------------------------------------------------------------


def test_contents_page_entries_are_not_sections() -> None:
    d = doc(
        H("TABLE OF CONTENTS", page=2),
        P("EXECUTIVE SUMMARY ........................ 3", page=2),
        P("1. FINDINGS ............................... 4", page=2),
        P("2. CONCLUSIONS ____________________________ 6", page=2),
        P("3. RECOMMENDATIONS ........................ 7", page=2),
        H("EXECUTIVE SUMMARY", page=3), P("The project worked.", page=3),
        H("1. FINDINGS", page=4), P("Finding 1. Coverage rose.", page=4),
        H("2. CONCLUSIONS", page=6), P("The project was relevant to the needs of workers.", page=6),
        H("3. RECOMMENDATIONS", page=7), P("Recommendation 1: Extend coverage.", page=7),
    )
    sections = find_sections(d)
    assert [(s.kind, s.page_start) for s in sections] == [
        ("table_of_contents", 2), ("executive_summary", 3), ("findings", 4), ("conclusions", 6),
        ("recommendations", 7)]
    toc = sections[0]
    assert toc.block_end == 5  # ends with its last entry


def test_nested_sections_end_at_same_or_higher_level() -> None:
    d = doc(
        H("3. Findings", 1), H("3.1 Relevance", 2), P("Relevant."), H("3.2 Effectiveness", 2),
        H("Outputs", 3), P("Done."), H("4. Conclusions", 1), P("The end of the evaluation report."),
    )
    by_heading = {s.heading: s for s in find_sections(d)}
    assert by_heading["3. Findings"].block_end == 6
    assert by_heading["3.1 Relevance"].block_end == 3
    assert by_heading["3.2 Effectiveness"].block_end == 6
    assert by_heading["Outputs"].kind == "effectiveness"  # an unnamed sub-heading inherits
    assert by_heading["3.2 Effectiveness"].level == 2


def test_reader_missed_headings_are_promoted() -> None:
    """A PDF reader left "3. CONCLUSIONS" and a bold "Lessons learned" as paragraphs."""
    body = dict(font_size=10.0)
    d = doc(
        Block("heading", "1. INTRODUCTION", 1, level=1, font_size=16.0),
        P("The project supported social security institutions in two countries.", **body),
        P("3. CONCLUSIONS", 2, font_size=16.0, bold=True),
        P("The project was relevant and effective for domestic workers.", 2, **body),
        P("Lessons learned", 3, font_size=16.0, bold=True),
        P("Tripartite dialogue builds ownership of social security reforms.", 3, **body),
        P("Conclusions drawn from the evidence are set out in the following chapter.", 3, **body),
    )
    kinds = [(s.kind, s.page_start) for s in find_sections(d)]
    assert kinds == [("background", 1), ("conclusions", 2), ("lessons_learned", 3)]


def test_no_heading_but_numbered_recommendations() -> None:
    d = doc(
        H("5. Way forward", 1, page=9),
        P("The evaluation team discussed its findings with the constituents.", 9),
        P("Recommendation 1: The ILO should extend the pilot to two more provinces.", 9),
        P("Addressed to: ILO Country Office; Priority: High", 9),
        P("Recommendation 2: The Ministry should adopt the draft decree on domestic workers.", 10),
        P("Recommendation 3: Donors should fund a second phase of at least four years.", 10),
        H("Annex 1. Persons met", 1, page=11), P("Ministry of Labour.", 11),
    )
    sections = find_sections(d)
    recs = [s for s in sections if s.kind == "recommendations"]
    assert len(recs) == 1 and recs[0].page_start == 9
    items = [i for i in find_items(d, sections) if i.kind == "recommendation"]
    assert [i.number for i in items] == ["1", "2", "3"]
    assert items[0].fields == {"addressee": "ILO Country Office", "priority": "High"}
    assert items[1].page == 10
    assert all(i.section_index == sections.index(recs[0]) for i in items)


def test_annex_sub_headings_belong_to_the_annex() -> None:
    d = doc(
        H("3. Conclusions", 1), P("The project was relevant to migrant workers and their families."),
        H("4. Recommendations", 1), P("Recommendation 1: Do more for migrant workers in the region."),
        H("ANNEX A. CASE STUDIES", 4), H("Background", 5), H("Recommendations", 5),
        P("1. Strengthen the country office.", 1), P("2. Hire staff for the hotline.", 1),
    )
    sections = find_sections(d)
    annex = next(s for s in sections if s.heading.startswith("ANNEX"))
    assert annex.level == 1  # annexes are chapters whatever the reader's level
    inner = [s for s in sections if annex.block_start < s.block_start < annex.block_end]
    assert {s.kind for s in inner} == {"annex"}
    assert [i.number for i in find_items(d, sections) if i.kind == "recommendation"] == ["1"]


def test_empty_document() -> None:
    assert find_sections(Document("x", "0", "text", [Page(1, [])])) == []


# --- real reports ---------------------------------------------------------------------------------


def test_iom_report_sections(shared: Path) -> None:
    d = corpus_doc(AAP)
    sections = find_sections(d)
    first = {}
    for s in sections:
        first.setdefault(s.kind, s.page_start)
    assert first["executive_summary"] == 6
    assert first["findings"] == 16
    assert {first[k] for k in ("relevance", "coherence", "effectiveness", "efficiency")} == {16, 21, 23, 27}
    assert first["conclusions"] == 34
    assert first["recommendations"] == 37
    assert first["annex"] == 42
    assert not any(s.page_start == 3 and s.kind != "table_of_contents" for s in sections)
    recs = next(s for s in sections if s.kind == "recommendations")
    assert recs.page_end == 41 and recs.level == 1
    # the case studies' own "Recommendations" live inside Annex A
    annex = next(s for s in sections if s.heading.startswith("ANNEX A"))
    assert all(s.kind != "recommendations" for s in sections
               if annex.block_start < s.block_start < annex.block_end)


def test_french_brief_sections(shared: Path) -> None:
    kinds = {k for s in find_sections(corpus_doc(HAITI_BRIEF)) for k in heading_kinds(s.heading)}
    assert {"findings", "conclusions", "lessons_learned", "recommendations"} <= kinds


@pytest.mark.parametrize(("prefix", "expected"), corpus_params([
    ("cra_006", {"executive_summary", "findings", "recommendations", "management_response", "conclusions"}),
    ("esdc_021", {"executive_summary", "findings", "conclusions", "recommendations", "management_response"}),
    ("hc_015", {"executive_summary", "findings", "efficiency", "conclusions", "recommendations"}),
    ("esdc_003", {"findings", "lessons_learned", "conclusions"}),
], "Canada reports' sections (test_describe_unseen.py checks the unseen fixtures)"))
def test_canada_sections(shared: Path, prefix: str, expected: set[str]) -> None:
    sections = find_sections(corpus_doc(canada(prefix)))
    kinds = {k for s in sections for k in [s.kind, *heading_kinds(s.heading)]}
    assert expected <= kinds
    assert "table_of_contents" in kinds or prefix == "esdc_003"
