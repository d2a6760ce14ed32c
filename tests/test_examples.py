"""The project's own example reports (whatworks/data/examples): every section found and every
item counted exactly, in the four languages, with the ILO template fields parsed."""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

import pytest
from test_items import assert_verbatim

from whatworks.describe.headings import heading_kinds
from whatworks.describe.items import find_items
from whatworks.describe.sections import find_sections
from whatworks.model import Document, Item, Section
from whatworks.read import read_document

EXAMPLES = Path(__file__).resolve().parent.parent / "whatworks" / "data" / "examples"
REPORT = {"executive_summary", "background", "methodology", "findings", "relevance", "effectiveness",
          "efficiency", "conclusions", "recommendations", "lessons_learned", "good_practices"}

#: file → (item counts, extra section kinds expected beyond REPORT)
EXPECTED: dict[str, tuple[dict[str, int], set[str]]] = {
    "en_asean_unemployment_insurance_final_2018.md": (
        {"finding": 8, "conclusion": 4, "recommendation": 6, "lesson_learned": 3, "good_practice": 2},
        {"table_of_contents", "acronyms", "design", "impact", "sustainability", "people_met",
         "terms_of_reference"}),
    "en_asean_unemployment_insurance_midterm_2016.md": (
        {"finding": 6, "conclusion": 1, "recommendation": 5, "lesson_learned": 2},
        set()),
    "en_zambia_tanzania_domestic_workers_2014.docx": (
        {"finding": 6, "conclusion": 3, "recommendation": 5, "lesson_learned": 2, "good_practice": 1},
        {"table_of_contents", "impact", "people_met"}),
    "fr_senegal_burkina_economie_informelle_2015.md": (
        {"finding": 8, "conclusion": 4, "recommendation": 6, "lesson_learned": 3, "good_practice": 2},
        {"design", "impact", "sustainability", "people_met"}),
    "fr_maroc_tunisie_travailleurs_migrants_2019.md": (
        {"finding": 6, "conclusion": 3, "recommendation": 5, "lesson_learned": 2, "good_practice": 1},
        {"coherence", "sustainability", "people_met", "terms_of_reference"}),
    "es_guatemala_honduras_maternidad_2016.md": (
        {"finding": 7, "conclusion": 3, "recommendation": 5, "lesson_learned": 2, "good_practice": 1},
        {"design", "impact", "people_met", "terms_of_reference"}),
    "es_paraguay_piso_proteccion_social_2017.docx": (
        {"finding": 7, "conclusion": 4, "recommendation": 5, "lesson_learned": 2, "good_practice": 1},
        {"table_of_contents", "design", "impact", "people_met"}),
    "pt_cabo_verde_pensoes_sociais_2013.md": (
        {"finding": 6, "conclusion": 3, "recommendation": 4, "lesson_learned": 2, "good_practice": 1},
        {"impact", "sustainability", "people_met"}),
    "pt_mocambique_protecao_social_basica_2018.md": (
        {"finding": 5, "conclusion": 3, "recommendation": 4, "lesson_learned": 2, "good_practice": 1},
        {"impact", "people_met"}),
}
LL_FIELDS = {"context", "targeted_users", "challenges", "success", "ilo_administrative_issues", "other_elements"}
GP_FIELDS = {"context", "impact", "replication", "links_to_ilo_goals", "other_documents"}


@functools.cache
def described(name: str) -> tuple[Document, list[Section], list[Item]]:
    d = read_document(EXAMPLES / name)
    sections = find_sections(d)
    return d, sections, find_items(d, sections)


def test_every_example_is_listed() -> None:
    names = {p.name for p in EXAMPLES.iterdir() if p.suffix in (".md", ".docx")}
    assert names == set(EXPECTED) | {"en_lao_health_insurance_terms_of_reference_2019.md"}
    langs = Counter(n[:2] for n in EXPECTED if "midterm" not in n)
    assert langs == {"en": 2, "fr": 2, "es": 2, "pt": 2}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sections_found(name: str) -> None:
    _, sections, _ = described(name)
    counts, extra = EXPECTED[name]
    kinds = {k for s in sections for k in [s.kind, *heading_kinds(s.heading)]}
    expected = (REPORT | extra) - ({"good_practices"} if "good_practice" not in counts else set())
    if "midterm" in name:  # key findings as one list, not by criterion
        expected -= {"relevance", "effectiveness", "efficiency"}
    assert expected <= kinds, sorted(expected - kinds)
    assert "other" not in {s.kind for s in sections}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_items_counted_exactly(name: str) -> None:
    d, _, items = described(name)
    assert dict(Counter(i.kind for i in items)) == EXPECTED[name][0]
    assert_verbatim(d, items)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recommendations_carry_addressee_and_priority(name: str) -> None:
    _, _, items = described(name)
    recs = [i for i in items if i.kind == "recommendation"]
    assert [r.number for r in recs] == [str(n) for n in range(1, len(recs) + 1)]
    for r in recs:
        assert r.fields.get("addressee") and r.fields.get("priority"), (r.number, r.fields)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if "midterm" not in n))
def test_ilo_template_fields(name: str) -> None:
    _, sections, items = described(name)
    templated = [i for i in items if i.kind in ("lesson_learned", "good_practice") and len(i.fields) >= 4]
    for item in templated:
        keys = set(item.fields) - {"page_end"}
        assert keys == (LL_FIELDS if item.kind == "lesson_learned" else GP_FIELDS), (item.kind, keys)
        assert all(v.strip() for v in item.fields.values())
        assert sections[item.section_index].kind in ("lessons_learned", "good_practices")
    lessons = [i for i in items if i.kind == "lesson_learned"]
    practices = [i for i in items if i.kind == "good_practice"]
    if name.startswith("pt_moc"):  # lessons as a bulleted list, one practice in a template
        assert len(templated) == 1 and practices[0].fields["replication"].startswith("Outros programas")
    else:
        assert len(templated) == len(lessons) + len(practices)
    # a template's lesson is the chapter's lesson told again: it keeps the chapter's number
    if name.startswith(("en_asean", "fr_senegal", "es_guat", "pt_cabo")):
        assert [i.number for i in lessons] == [str(n) for n in range(1, len(lessons) + 1)]


def test_template_fields_in_each_language() -> None:
    challenges = {
        "en_zambia_tanzania_domestic_workers_2014.docx": "Registration in Tanzania remained negligible",
        "fr_senegal_burkina_economie_informelle_2015.md": "Les organisations de l'économie informelle",
        "es_guatemala_honduras_maternidad_2016.md": "Los programas especiales ofrecen",
        "pt_cabo_verde_pensoes_sociais_2013.md": "A falta de ligação à internet",
    }
    for name, start in challenges.items():
        _, _, items = described(name)
        first = next(i for i in items if i.kind == "lesson_learned")
        assert first.fields["challenges"].startswith(start), name


def test_table_recommendations() -> None:
    _, _, items = described("fr_maroc_tunisie_travailleurs_migrants_2019.md")
    rec = next(i for i in items if i.kind == "recommendation")
    assert rec.text.startswith("Appuyer la ratification")
    assert rec.fields == {"addressee": "BIT ; ministères du Travail ; CNSS", "priority": "Élevée",
                          "timeframe": "2019-2021"}


def test_docx_pages_and_contents() -> None:
    d, sections, items = described("en_zambia_tanzania_domestic_workers_2014.docx")
    first = {}
    for s in sections:
        first.setdefault(s.kind, s.page_start)
    assert (first["table_of_contents"], first["executive_summary"], first["findings"]) == (2, 3, 5)
    assert first["recommendations"] == 6 and first["lessons_learned"] == 7
    assert {i.page for i in items if i.kind == "recommendation"} == {6}


def test_terms_of_reference_has_no_items() -> None:
    _, sections, items = described("en_lao_health_insurance_terms_of_reference_2019.md")
    assert items == []
    assert sections[0].kind == "terms_of_reference"
    assert {s.kind for s in sections} == {"terms_of_reference"}


def test_midterm_superseded_by_final_of_same_project() -> None:
    mid = (EXAMPLES / "en_asean_unemployment_insurance_midterm_2016.md").read_text(encoding="utf-8")
    final = (EXAMPLES / "en_asean_unemployment_insurance_final_2018.md").read_text(encoding="utf-8")
    assert "RAS/15/52/JPN" in mid and "RAS/15/52/JPN" in final
    assert "mid-term evaluation" in mid and "Final independent evaluation" in final


def test_reports_mention_what_a_synthesis_codes() -> None:
    """Success factors, challenges and beneficiaries the coding stage looks for."""
    text = " ".join(described(n)[0].text.lower() for n in EXPECTED)
    for phrase in ("tripart", "participat", "political instability", "overambitious", "local ilo presence",
                   "migrant workers", "domestic workers", "informal economy", "women", "rural",
                   "instabilité politique", "presencia local", "economia informal"):
        assert phrase in text, phrase
