"""The general rules of issue 13, one by one, on fixtures written for them
(tests/fixtures/describe_rules/, labelled in labels.yaml), and the blind-label scorer of
benchmarks/describe_unseen.py on that tiny label file."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
import yaml
from bench_helpers import benchmark

from whatworks.describe import describe, has_findings
from whatworks.describe.headings import heading_kinds
from whatworks.describe.kind import DocView
from whatworks.describe.metadata import next_label
from whatworks.describe.places import find_places
from whatworks.errors import ReadError
from whatworks.model import Block, Document, Page
from whatworks.read import read_document
from whatworks.read.text import decode_bytes

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "tests" / "fixtures" / "describe_rules"
LABELS = yaml.safe_load((RULES / "labels.yaml").read_text(encoding="utf-8"))


BENCH = benchmark("describe_unseen")


def described(name: str):
    return describe(read_document(RULES / name))


def md(d, key: str):
    v = d.metadata.get(key)
    return v.value if v is not None else None


# --- kinds -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LABELS))
def test_kind_of_each_fixture(name: str) -> None:
    assert described(name).kind.value == LABELS[name]["kind"]


def test_new_kinds_are_document_kinds() -> None:
    from whatworks.model import DOCUMENT_KINDS
    from whatworks.protocol_schema import KINDS

    for kind in ("case_study", "research_report", "annex"):
        assert kind in DOCUMENT_KINDS and kind in KINDS
    assert "study" not in DOCUMENT_KINDS


def test_sommaire_brief_is_a_brief_with_its_items() -> None:
    d = described("sommaire_evaluation_fr.md")
    # "Sommaire" is also French for a table of contents: here it titles the brief
    assert d.sections[0].kind == "front_matter"
    assert [i.kind for i in d.items] == ["finding", "finding", "recommendation", "recommendation"]


# --- metadata -----------------------------------------------------------------------------------


def test_explicit_fields_win() -> None:
    d = described("narrative_criteria_en.md")
    assert md(d, "year") == 2024  # "Date of Report: 12 March 2024", not the 2021 mid-term review
    assert d.metadata["year"].evidence.text.startswith("Date of Report")
    assert md(d, "period") == [2019, 2023]  # "Timeframe covered", not "Expected duration"
    assert md(d, "countries") == ["ZMB"]  # not Switzerland, from the office's address
    assert md(d, "donors") == ["Ireland (Irish Aid)"]


@pytest.mark.parametrize("name", ["narrative_only_fr.md", "sommaire_evaluation_fr.md"])
def test_interne_is_internal(name: str) -> None:
    d = described(name)
    assert md(d, "evaluator_type") == "internal" and md(d, "timing") == "final"


def test_meta_evaluation_is_global_whatever_its_examples() -> None:
    d = described("meta_evaluation_en.md")
    assert md(d, "scope") == "global"
    assert not md(d, "countries")  # El Salvador and the United States are examples
    assert md(d, "timing") == "other"  # the timings of the evaluations it read are not its own


def test_address_and_examples_are_not_the_object() -> None:
    d = described("estudo_de_caso_pt.md")
    assert md(d, "countries") == ["GNB"]  # not Portugal (address), Benin or Côte d'Ivoire (examples)


def test_states_and_provinces_name_their_country() -> None:
    assert [m.iso3 for m in find_places("Gobierno del Estado de Zacatecas")] == ["MEX"]
    assert [m.iso3 for m in find_places("Municipio de Teocelo, Veracruz")] == ["MEX"]
    assert [m.iso3 for m in find_places("in the State of Pernambuco")] == ["BRA"]
    assert find_places("Georgia and Lima") == [m for m in find_places("Georgia and Lima") if m.iso3 == "GEO"]


def test_next_label_on_a_cover_read_as_one_paragraph() -> None:
    for text, kept in [(": South Africa, Lesotho and Zimbabwe Type of evaluation: Final", "Zimbabwe"),
                       (": January 2019 – December 2023 Expected duration: 60 months", "December 2023"),
                       (": Norway Date of Report: 10 July 2024", "Norway")]:
        cut = next_label(text, 2)
        assert cut is not None and text[:cut].strip().endswith(kept)


def _pdf(title: str, lines: list[str]) -> Document:
    blocks = [Block("heading" if k == 0 else "paragraph", t, 1, level=1 if k == 0 else None)
              for k, t in enumerate(lines)]
    return Document(source="report.pdf", sha256="0" * 64, format="pdf", title=title,
                    pages=[Page(number=1, blocks=blocks), Page(number=2, blocks=[])])


def test_stored_title_needs_the_first_pages() -> None:
    lines = ["Final Evaluation of the Rural Water for Health Project, Zambia",
             "Date of Report: 12 March 2024",
             "The project brought safe water to rural households in Zambia between 2019 and 2023."]
    stale = _pdf("Mid-term Evaluation of the Decent Work for Garment Workers Project in Viet Nam", lines)
    assert DocView(stale).title == ""
    d = describe(stale)
    assert md(d, "title").startswith("Final Evaluation of the Rural Water") and "VNM" not in md(d, "countries")
    assert d.metadata["title"].evidence.page == 1
    fine = _pdf("Final Evaluation of the Rural Water for Health Project, Zambia", lines)
    assert DocView(fine).title.startswith("Final Evaluation")


# --- sections and items -------------------------------------------------------------------------


@pytest.mark.parametrize("heading, kinds", [
    ("3.2.8 Summary and recommendations", ["recommendations"]),
    ("Recommended Action", ["recommendations"]),
    ("Recommendations and Management Response", ["recommendations", "management_response"]),
    ("Performance – Economy", ["efficiency"]),
    ("3. Relevance", ["relevance"]),
    ("Acción recomendada", ["recommendations"]),
    ("Análisis de Fortalezas, Oportunidades, Debilidades y Amenazas (FODA) y Recomendaciones",
     ["recommendations"]),
    ("Análisis FODA", []),  # a SWOT analysis is not by itself findings
    ("2.1 Describir los hallazgos más relevantes de la evaluación:", ["findings"]),
    ("3.2 Describir las recomendaciones de acuerdo a su relevancia:", ["recommendations"]),
    ("Tema I. Diseño del programa", ["design"]),
    ("Nota metodológica", ["methodology"]),
])
def test_heading_kinds(heading: str, kinds: list[str]) -> None:
    assert heading_kinds(heading) == kinds


def test_recommendations_in_summary_and_recommended_action() -> None:
    d = described("narrative_criteria_en.md")
    recs = [i for i in d.items if i.kind == "recommendation"]
    assert len(recs) == 5 and recs[0].text.startswith("1. Restore") and recs[-1].text.startswith("The donor")
    assert [i.number for i in d.items if i.kind == "finding"] == ["1", "2"]  # "Finding N" paragraphs


def test_narrative_findings_under_criteria() -> None:
    d = described("narrative_only_fr.md")
    findings = [i for i in d.items if i.kind == "finding"]
    assert len(findings) == 3 and all(f.fields.get("narrative") == "paragraph" for f in findings)
    assert findings[0].text.startswith("Les jardins répondaient")


def _form(rows: list[tuple[str, bool]]) -> Document:
    blocks = [Block("heading", "Anexo 1", 1, level=1, bold=True)]
    blocks += [Block("table_row", t, 1, bold=b, cells=[t]) for t, b in rows]
    return Document(source="conac.pdf", sha256="1" * 64, format="pdf", title=None,
                    pages=[Page(number=1, blocks=blocks)])


def test_conac_form_as_a_one_column_table() -> None:
    doc = _form([
        ("Formato para la Difusión de los Resultados de las Evaluaciones", True),
        ("1. DESCRIPCIÓN DE LA EVALUACIÓN", True),
        ("1.1 Nombre de la evaluación: Evaluación de Consistencia y Resultados del Programa Becas", False),
        ("1.3 Fecha de término de la evaluación (dd/mm/aaaa): 19/10/2018", False),
        ("2. PRINCIPALES HALLAZGOS DE LA EVALUACIÓN", True),
        ("2.1 Describir los hallazgos más relevantes de la evaluación:", False),
        ("1: El programa cuenta con un diagnóstico actualizado del problema que atiende.", False),
        ("2: La población objetivo no está cuantificada de forma consistente.", False),
        ("3. CONCLUSIONES Y RECOMENDACIONES DE LA EVALUACIÓN", True),
        ("3.2 Describir las recomendaciones de acuerdo a su relevancia:", False),
        ("1: Actualizar la cuantificación de la población objetivo.", False),
        ("2: Elaborar un plan estratégico de mediano plazo.", False),
        ("3: Depurar el padrón de beneficiarios.", False),
        ("4. DATOS DE LA INSTANCIA EVALUADORA", True),
        ("4.1 Nombre del coordinador de la evaluación: Mtra. Ana López", False),
        ("4.2 Cargo: Coordinadora", False),
    ])
    d = describe(doc)
    assert d.sections[0].kind == "front_matter"  # "Anexo 1" titles the form, it is not an annex
    kinds = {s.kind for s in d.sections}
    assert {"findings", "recommendations"} <= kinds and "annex" not in kinds
    assert [i.text for i in d.items if i.kind == "recommendation"] == [
        "1: Actualizar la cuantificación de la población objetivo.",
        "2: Elaborar un plan estratégico de mediano plazo.", "3: Depurar el padrón de beneficiarios."]
    assert d.kind.value == "evaluation_brief" and md(d, "year") == 2018


def test_a_report_with_findings_and_no_items_is_flagged(caplog) -> None:
    doc = Document(source="empty.md", sha256="2" * 64, format="markdown", title="Final evaluation report",
                   pages=[Page(number=1, blocks=[
                       Block("heading", "Final evaluation of the Coastal Jobs project, Ghana", 1, level=1),
                       Block("heading", "Findings", 1, level=2),
                       Block("paragraph", "See the tables.", 1),
                       Block("heading", "Annex 1. Terms of reference", 1, level=2),
                       Block("paragraph", "The evaluation will assess the project.", 1)])])
    with caplog.at_level(logging.INFO, logger="whatworks.describe"):
        d = describe(doc)
    assert not d.items and has_findings(d.sections)
    assert any("findings chapter but no items" in r.getMessage() for r in caplog.records)


# --- lenient reading ----------------------------------------------------------------------------


def test_some_undecodable_bytes_are_read_and_counted() -> None:
    good = ("# Évaluation finale\n\nLes résultats sont bons et durables. " * 40).encode("utf-8")
    damaged = good[:300] + b"\xff\xfe\x80" + good[300:900] + b"\xc3" + good[900:]
    warnings: list[str] = []
    text, encoding = decode_bytes(damaged, warnings)
    assert encoding == "utf-8" and text.startswith("# Évaluation finale")
    assert warnings and warnings[0].startswith("4 byte(s)")


def test_garbled_characters_in_valid_utf8_are_read() -> None:
    warnings: list[str] = []
    text, _ = decode_bytes(("Résumé " + "\ufffd" * 30 + " texte lisible. " * 20).encode("utf-8"), warnings)
    assert "texte lisible" in text and warnings[0].startswith("30 character(s)")


def test_mostly_unreadable_is_refused() -> None:
    with pytest.raises(ReadError) as e:
        decode_bytes(("é" + "\x01" * 500).encode("utf-8"), [])
    assert e.value.code == "encoding" and "most of the file is unreadable" in e.value.message


def test_lenient_file_reads_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    data = (RULES / "narrative_only_fr.md").read_bytes()
    path.write_bytes(data[:200] + b"\x92\x93" + data[200:])
    doc = read_document(path)
    assert any("2 byte(s)" in w for w in doc.warnings)
    assert describe(doc).kind.value == "evaluation_report"


# --- the blind-label scorer -----------------------------------------------------------------------


def test_scorer_on_the_fixtures() -> None:
    labels = BENCH.blind_labels(RULES / "labels.yaml", "dev")
    assert set(labels) == set(LABELS)
    assert BENCH.blind_labels(RULES / "labels.yaml", "test") == {}
    described_ = BENCH.describe_labelled(labels, RULES)
    scores = BENCH.blind_scores(described_)
    assert scores["kind"].n == len(LABELS) and scores["kind"].share == 1.0
    assert scores["timing"].n == sum(1 for v in LABELS.values() if v.get("timing"))
    assert scores["recommendations"].n == sum(1 for v in LABELS.values() if "recommendations" in v)
    assert scores["items where findings"].n == 3 and scores["items where findings"].share == 1.0
    assert scores["sections F1"].share >= 0.9
    assert scores["countries"].share == 1.0  # "global" for the meta-evaluation's []


def test_scorer_counts_what_is_wrong(tmp_path: Path) -> None:
    test_doc = next(iter(BENCH.test_split()))
    wrong = {"narrative_criteria_en.md": {**LABELS["narrative_criteria_en.md"], "year": 2021, "recommendations": 4},
             test_doc: {"kind": "evaluation_report"}}
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(wrong, allow_unicode=True), encoding="utf-8")
    labels = BENCH.blind_labels(path, "dev")
    assert list(labels) == ["narrative_criteria_en.md"]  # the test split's entry is never read for dev
    scores = BENCH.blind_scores(BENCH.describe_labelled(labels, RULES))
    assert (scores["year"].n, scores["year"].right) == (1, 0)
    assert (scores["recommendations"].n, scores["recommendations"].right) == (1, 0)
    assert (scores["kind"].n, scores["kind"].right) == (1, 1)
    assert BENCH.countries_key("global", ["USA"]) == "global"
    assert BENCH.countries_key("national", ["MEX"]) == "MEX"
    assert BENCH.countries_key("regional", []) == "regional"


def test_the_review_names_included_reports_without_items(tmp_path: Path) -> None:
    from whatworks.api import Review

    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "listed.md").write_bytes((RULES / "narrative_criteria_en.md").read_bytes())
    (reports / "empty.md").write_text(
        "# Final evaluation of the Coastal Jobs project, Ghana\n\n## Findings\n\nSee the tables.\n\n"
        "## Annex 1. Terms of reference\n\nThe evaluation will assess the project.\n", encoding="utf-8")
    with Review.create(tmp_path / "project") as review:
        review.add([reports])
        review.screen()
        for name in ("listed.md", "empty.md"):
            review.decide(str(reports / name), "include", "in scope")
        flagged = review.reports_without_items()
    assert [title for _, title in flagged] == ["Final evaluation of the Coastal Jobs project, Ghana"]


def test_fields_in_table_cells_and_acronyms(tmp_path: Path) -> None:
    path = tmp_path / "pcr.md"
    path.write_text(
        "# Project Completion Report\n\n| Field | Value |\n|---|---|\n| Project Title | Safe Roads for Schools |\n"
        "| Countries | Kenya, Uganda |\n| Date of Report | 25 October 2023 |\n\n"
        "## Results\n\nIn 2021 the Planning and Reporting Committee (PRC) approved the road audits in Kenya "
        "and Uganda. The PRC met twice in 2021 and the PRC chair reported to the board.\n", encoding="utf-8")
    d = describe(read_document(path))
    assert md(d, "year") == 2023
    assert sorted(md(d, "countries")) == ["KEN", "UGA"]  # "PRC" is a committee here, not China


def test_bold_heading_with_a_full_stop_and_a_mid_report_source_list() -> None:
    blocks = [Block("heading", "Evaluación de Consistencia y Resultados del Programa Maíz", 1, level=1, bold=True),
              Block("paragraph", "Hallazgos.", 1, bold=True),
              Block("paragraph", "El programa cuenta con un diagnóstico actualizado y una matriz de indicadores.", 1),
              Block("paragraph", "Fuentes de información.", 1, bold=True),
              Block("paragraph", "Reglas de operación 2017; padrón de beneficiarios.", 1),
              Block("paragraph", "Análisis FODA y Recomendaciones.", 2, bold=True),
              Block("table_row", "Tema | Debilidad | Recomendación", 2, bold=True,
                    cells=["Tema", "Debilidad", "Recomendación"]),
              Block("table_row", "Diseño | Sin plan | R1 Elaborar un plan estratégico de", 2,
                    cells=["Diseño", "Sin plan", "R1 Elaborar un plan estratégico de"]),
              Block("table_row", "mediano plazo", 3, cells=["", "", "mediano plazo"]),
              Block("table_row", "Operación | Duplicados | R2 Depurar el padrón.", 3,
                    cells=["Operación", "Duplicados", "R2 Depurar el padrón."])]
    doc = Document(source="ecyr.pdf", sha256="3" * 64, format="pdf", title=None,
                   pages=[Page(number=n, blocks=[b for b in blocks if b.page == n]) for n in (1, 2, 3)])
    d = describe(doc)
    assert [s.kind for s in d.sections if s.kind != "front_matter"][:1] == ["findings"]
    recs = [i for i in d.items if i.kind == "recommendation"]
    assert [r.text for r in recs] == ["R1 Elaborar un plan estratégico de mediano plazo", "R2 Depurar el padrón."]


@pytest.mark.parametrize("cell, count", [
    ("3.2 Describir las recomendaciones de acuerdo a su relevancia: Las principales son: 1. Establecer un "
     "documento normativo del programa. 2. Registrar el avance mensual de los indicadores. 3. Definir la "
     "población objetivo y su unidad de medida.", 3),
    ("3.2 Describir las recomendaciones de acuerdo a su relevancia: A) Fortalecer el diseño del Fondo: "
     "\u2022 Definir el problema. \u2022 Elaborar un diagnóstico. B) Mejorar la operación del Fondo con manuales "
     "de procedimientos.", 2),  # lettered groups: their bullets are parts of them
])
def test_a_form_cell_holding_its_list(cell: str, count: int) -> None:
    doc = _form([("3. CONCLUSIONES Y RECOMENDACIONES DE LA EVALUACIÓN", True), (cell, False),
                 ("4. DATOS DE LA INSTANCIA EVALUADORA", True), ("4.2 Cargo: Coordinadora", False)])
    recs = [i for i in describe(doc).items if i.kind == "recommendation"]
    assert len(recs) == count and not recs[0].text.startswith("3.2")


def test_a_numbered_recommendation_box_keeps_its_bullets() -> None:
    blocks = [Block("heading", "Evaluation of the Departmental Governance", 1, level=1),
              Block("heading", "Findings", 1, level=2),
              Block("paragraph", "Committees met often but their roles overlapped in most of the cases reviewed.", 1)]
    for n, bullets in ((1, 0), (2, 2)):
        blocks += [Block("heading", "Recommendations", 1, level=3), Block("paragraph", str(n), 1),
                   Block("paragraph", f"It is recommended that the Assistant Deputy Minister act on point {n}:", 1)]
        blocks += [Block("list_item", f"Implement part {k} of the plan for the committees.", 1, level=1)
                   for k in range(bullets)]
    doc = Document(source="gov.html", sha256="4" * 64, format="html", title="Evaluation of the Departmental Governance",
                   pages=[Page(number=1, blocks=blocks)])
    recs = [i for i in describe(doc).items if i.kind == "recommendation"]
    assert [r.number for r in recs] == ["1", "2"] and "Implement part 1" in recs[1].text


def test_stored_dates_need_the_first_pages_too() -> None:
    lines = ["Evaluación Específica de Desempeño del Programa Maíz", "21/Enero/2019",
             "La evaluación analiza el ejercicio fiscal del programa en el Estado de Zacatecas."]
    doc = _pdf("Programa Maíz", lines)
    doc.meta = {"CreationDate": "2019-01-23T10:30:11+00:00"}
    assert md(describe(doc), "year") == 2019
    assert describe(doc).metadata["year"].evidence.page == 1  # the cover's date, on a page
    stale = _pdf("Programa Maíz", lines[:1] + lines[2:])
    stale.meta = {"CreationDate": "2016-05-02T10:30:11+00:00", "Author": "ILO"}
    d = describe(stale)
    assert md(d, "year") != 2016 and md(d, "organisation") != "ILO"
    assert all(v.evidence is None or v.evidence.page is not None or v.evidence.text.startswith("file name")
               for v in d.metadata.values())


def _html(blocks: list[Block]) -> Document:
    return Document(source="page.html", sha256="5" * 64, format="html", title="Evaluation of the Safe Sites Program",
                    pages=[Page(number=1, blocks=[Block("heading", "Evaluation of the Safe Sites Program", 1, level=1),
                                                  Block("heading", "Findings", 1, level=2),
                                                  Block("paragraph", "Sites were cleaned faster than planned in "
                                                        "most regions covered by the evaluation.", 1), *blocks])])


def test_recommendations_between_management_responses() -> None:
    blocks = [Block("heading", "Recommendations and management response", 1, level=2)]
    for n in (1, 2, 3):
        blocks += [Block("paragraph", f"Recommendation {n}: it is recommended that the department acts on issue {n}.", 1),
                   Block("heading", "Management response", 1, level=3),
                   Block("paragraph", f"Management agrees and will act on issue {n} by March.", 1)]
    recs = [i for i in describe(_html(blocks)).items if i.kind == "recommendation"]
    assert [r.number for r in recs] == ["1", "2", "3"]


def test_one_recommendation_under_each_numbered_heading() -> None:
    blocks = [Block("heading", "6.0 Recommendations", 1, level=2),
              Block("heading", "Health Canada Recommendation 1", 1, level=3),
              Block("paragraph", "Health Canada should monitor the action plan of the partnership every year.", 1)]
    for n in (1, 2):
        blocks += [Block("heading", f"CPAC Recommendation {n}", 1, level=3),
                   Block("paragraph", f"The Partnership should keep its model for point {n} of the plan.", 1),
                   Block("paragraph", f"The current model has served point {n} well and should be kept going.", 1)]
    recs = [i for i in describe(_html(blocks)).items if i.kind == "recommendation"]
    assert [r.number for r in recs] == ["1", "1", "2"] and "served point 2" in recs[2].text


def test_period_said_in_prose_not_a_previous_evaluations(tmp_path: Path) -> None:
    path = tmp_path / "scope.md"
    path.write_text(
        "# Evaluation of the Literacy Program\n\n## Evaluation scope\n\n"
        "The previous evaluation of this Program was completed in October 2017, and it covered the period "
        "between April 2012 and March 2016. This evaluation covers a 5 year period from April 2016 to "
        "March 2021 and its completion is in compliance with the policy.\n", encoding="utf-8")
    assert md(describe(read_document(path)), "period") == [2016, 2021]


def test_a_glance_page_title_is_not_a_summary_section() -> None:
    doc = Document(source="glance.html", sha256="6" * 64, format="html", title=None, pages=[Page(number=1, blocks=[
        Block("heading", "At a Glance: Departmental Evaluation Plan for Health Canada 2021-22 to 2025-26", 1, level=1),
        Block("paragraph", "The plan lists the evaluations the department will conduct over five years.", 1),
        Block("heading", "Planning for Evaluation", 1, level=2),
        Block("paragraph", "Evaluations are planned with program managers every year.", 1)])])
    assert "executive_summary" not in {s.kind for s in describe(doc).sections}


def _toc_and_swot_report(with_list: bool) -> Document:
    """A PDF report whose recommendations chapter is a plain line ending with a full stop (no bold,
    no size of its own) that its table of contents lists, after a SWOT table of recommendations."""
    blocks = [Block("heading", "Evaluación de Consistencia y Resultados 2017", 1, level=1),
              Block("paragraph", "Índice", 1, bold=True),
              Block("paragraph", "Introducción .................................... 3", 1),
              Block("paragraph", "Análisis FODA y Recomendaciones .................. 8", 1),
              Block("paragraph", "Recomendaciones, aspectos susceptibles de mejora ...... 9", 1),
              Block("paragraph", "Conclusiones ..................................... 10", 1),
              Block("heading", "Introducción", 2, level=1),
              Block("paragraph", "La evaluación analiza el diseño y la operación del programa estatal.", 2),
              Block("heading", "Análisis FODA y Recomendaciones", 2, level=1),
              Block("table_row", "Tema | Debilidad | Recomendación", 2, cells=["Tema", "Debilidad", "Recomendación"]),
              Block("table_row", "Diseño | Sin plan | R1 Elaborar un plan estratégico.", 2,
                    cells=["Diseño", "Sin plan", "R1 Elaborar un plan estratégico."]),
              Block("table_row", "Operación | Duplicados | R2 Depurar el padrón.", 2,
                    cells=["Operación", "Duplicados", "R2 Depurar el padrón."]),
              Block("table_row", "Cobertura | Sin estrategia | R3 Definir una estrategia de cobertura.", 2,
                    cells=["Cobertura", "Sin estrategia", "R3 Definir una estrategia de cobertura."])]
    if with_list:
        blocks += [Block("paragraph", "Recomendaciones, aspectos susceptibles de mejora.", 3),
                   Block("list_item", "1. Elaborar un plan estratégico con metas de mediano plazo.", 3),
                   Block("list_item", "2. Depurar el padrón de beneficiarios cada año.", 3)]
    blocks += [Block("heading", "Conclusiones", 3, level=1),
               Block("paragraph", "El programa está justificado pero su cobertura es limitada.", 3)]
    return Document(source="ecyr.pdf", sha256="7" * 64, format="pdf", title=None,
                    pages=[Page(number=n, blocks=[b for b in blocks if b.page == n]) for n in (1, 2, 3)])


@pytest.mark.parametrize("with_list, count", [(True, 2), (False, 3)])
def test_a_report_list_wins_over_its_swot_table(with_list: bool, count: int) -> None:
    d = describe(_toc_and_swot_report(with_list))
    recs = [i for i in d.items if i.kind == "recommendation"]
    assert len(recs) == count
    if with_list:  # the plain line the contents list names is a heading
        assert any(s.heading.startswith("Recomendaciones, aspectos") and s.kind == "recommendations"
                   for s in d.sections)


def _annexed_recommendations(annex_title: str) -> Document:
    """A design evaluation whose recommendations are only in an annex's table, one of whose rows
    is cut by a page break (the next page repeats the header, then the rest of the text)."""
    head = ["Apartado", "Debilidad o Amenaza", "Referencia (pregunta)", "Recomendaciones"]
    blocks = [Block("heading", "Evaluación en materia de diseño del programa estatal", 1, level=1),
              Block("heading", "Conclusiones", 1, level=1),
              Block("paragraph", "El programa no cuenta con un diagnóstico ni con una matriz de indicadores.", 1),
              Block("heading", annex_title, 2, level=1),
              Block("table_row", " | ".join(head), 2, cells=head),
              Block("table_row", "Diseño | Sin diagnóstico | 1 y 2 | Elaborar un diagnóstico completo.", 2,
                    cells=["Diseño", "Sin diagnóstico", "1 y 2", "Elaborar un diagnóstico completo."]),
              Block("table_row", "MIR | Sin MIR | 13 | Elaborar una matriz de indicadores.", 2,
                    cells=["MIR", "Sin MIR", "13", "Elaborar una matriz de indicadores."]),
              Block("table_row", " | ".join(head), 3, cells=head),
              Block("table_row", "Además, publicarla en la página del programa.", 3,
                    cells=["", "", "", "Además, publicarla en la página del programa."]),
              Block("table_row", "Cobertura | Sin estrategia | 24 | Definir una estrategia de cobertura.", 3,
                    cells=["Cobertura", "Sin estrategia", "24", "Definir una estrategia de cobertura."])]
    return Document(source="diseno.pdf", sha256="8" * 64, format="pdf", title=None,
                    pages=[Page(number=n, blocks=[b for b in blocks if b.page == n]) for n in (1, 2, 3)])


@pytest.mark.parametrize("title, count", [
    ("Anexo 7. Principales fortalezas, retos y recomendaciones", 3),
    ("Annex 3: Recommendations matrix", 3),
    ("Anexo 9. Análisis de las recomendaciones no atendidas de evaluaciones anteriores", 0),  # a topic
])
def test_recommendations_only_in_an_annex_table(title: str, count: int) -> None:
    recs = [i for i in describe(_annexed_recommendations(title)).items if i.kind == "recommendation"]
    assert len(recs) == count
    if count:  # the row cut by the page break is one recommendation
        assert recs[1].text.endswith("publicarla en la página del programa.")


@pytest.mark.parametrize("sentence, want", [
    ("The project generated evidence in seven African countries namely Botswana, Kenya, Namibia, Rwanda, "
     "Tanzania, Uganda, and Zambia.", {"BWA", "KEN", "NAM", "RWA", "TZA", "UGA", "ZMB"}),
    ("Le projet a été mis en œuvre dans trois pays : le Bénin, le Mali et le Niger.", {"BEN", "MLI", "NER"}),
    ("El programa se ejecutó en cuatro países (Bolivia, Ecuador, Perú y Colombia).", {"BOL", "ECU", "PER", "COL"}),
    # a count that the names do not match is not a list of the covered countries
    ("Twelve countries took part, among them Kenya and Tanzania.", None),
])
def test_countries_listed_after_their_count(sentence: str, want: set[str] | None) -> None:
    lines = ["Project Completion Report: Evidence for Health Taxes", "Date of Report: 10 May 2023",
             "The research teams met twice a year to compare their methods and share their data.", sentence]
    from whatworks.describe.metadata import _counted_countries

    doc = _pdf("", lines)
    counted = {iso3 for iso3, _ in _counted_countries(DocView(doc))}
    assert counted == (want or set())
    if want:
        assert set(md(describe(doc), "countries")) == want


def test_recommendations_labelled_with_their_addressee() -> None:
    """"Health Canada Recommendation 1:" then "CCSA Recommendation 1…3:": two series, four items;
    an evaluation matrix's "R2. Do the objectives …?" is a question, not a recommendation."""
    blocks = [Block("heading", "Evaluation of the Centre's Grant Activities", 1, level=1),
              Block("heading", "Methodology", 1, level=2),
              Block("table_row", "R2. Do the objectives of the grant link to federal priorities? | Documents", 1,
                    cells=["R2. Do the objectives of the grant link to federal priorities?", "Documents"]),
              Block("heading", "Findings", 1, level=2),
              Block("paragraph", "The Centre is recognised as a leader but its role is unclear to partners.", 1),
              Block("heading", "Recommendations", 1, level=2),
              Block("paragraph", "Health Canada Recommendation 1:", 1),
              Block("paragraph", "Health Canada should monitor the implementation of the recommendations.", 1),
              Block("paragraph", "CCSA Recommendation 1:", 1),
              Block("paragraph", "CCSA should clarify its role in line with its mandate.", 1)]
    blocks += [Block("paragraph", f"CCSA Recommendation {n}:\nCCSA should act on point {n} of the plan.", 1)
               for n in (2, 3)]
    doc = Document(source="page.html", sha256="9" * 64, format="html", title=None, pages=[Page(number=1, blocks=blocks)])
    recs = [i for i in describe(doc).items if i.kind == "recommendation"]
    assert len(recs) == 4
    assert recs[0].text.startswith("Health Canada Recommendation 1") and recs[1].text.startswith("CCSA Recommendation 1")


@pytest.mark.parametrize("lines, year", [
    (["2016 Evaluation of the Targeted Initiative for Older Workers",
      "The main purpose of the evaluation is to inform policy work in 2016-2017 before the renewal."], 2016),
    (["Canada Education Savings Program: Summative Evaluation Report",
      "Official title: Summative Evaluation Report, Final Report, prepared November 6, 2015 by the Evaluation "
      "Directorate.", "Footnote 3: the forms were updated for the 2016-2017 loan year."], 2015),
    (["Évaluation du programme d'appui aux coopératives",
      "Rapport final, préparé le 6 novembre 2019 par la Direction de l'évaluation."], 2019),
    # a range opening the title is the evaluated period, not the year of the report
    (["2014-2015 Evaluation of the Youth Employment Strategy", "Date of Report: 10 March 2017"], 2017),
])
def test_year_from_the_title_and_a_prepared_date(lines: list[str], year: int) -> None:
    doc = Document(source="page.html", sha256="a" * 64, format="html", title=None, pages=[Page(number=1, blocks=[
        Block("heading" if k == 0 else "paragraph", t, 1, level=1 if k == 0 else None) for k, t in enumerate(lines)])])
    assert md(describe(doc), "year") == year


def test_a_location_field_naming_three_regions_is_global() -> None:
    lines = ["Project Completion Report: Strengthening programme cohesion", "Date of Report: December 5, 2023",
             "Location: Latin America, Asia, Africa, Canada",
             "The project synthesised evidence from the programme's research partners and shared it in a forum."]
    assert md(describe(_pdf("", lines)), "scope") == "global"


def test_action_plans_heading_is_a_management_response() -> None:
    assert heading_kinds("Action plans") == ["management_response"]


def _one_page(source: str, fmt: str, title: str, section: str, sentence: str, body: list[Block]) -> Document:
    """A one-page document: its title, one section with one sentence, then `body`."""
    blocks = [Block("heading", title, 1, level=1), Block("heading", section, 1, level=2),
              Block("paragraph", sentence, 1)]
    return Document(source=source, sha256=hashlib.sha256(source.encode()).hexdigest(), format=fmt, title=None,
                    pages=[Page(number=1, blocks=blocks + body)])


def _completion_report(body: list[Block]) -> Document:
    return _one_page("pcr.md", "markdown", "Project Completion Report", "Project Outcomes",
                     "The study found that insecurity hurt women producers more than the pandemic did.", body)


@pytest.mark.parametrize("intro, count", [
    ("Considering these findings, the project made the following recommendations: For the sector:", 3),
    ("Au vu de ces résultats, le projet recommande :", 3),
    ("The previous evaluation made the following recommendations:", 0),  # another evaluation's
])
def test_an_announced_list_of_recommendations(intro: str, count: int) -> None:
    body = [Block("paragraph", intro, 1),
            Block("list_item", "Develop shea products for local consumption;", 1),
            Block("list_item", "Grow local and regional markets first;", 1),
            Block("heading", "For the Government:", 1, level=3),
            Block("list_item", "Guarantee the security of goods and people.", 1),
            Block("list_item", "5. How would you compare the intended and actual results of the project?", 1)]
    recs = [i for i in describe(_completion_report(body)).items if i.kind == "recommendation"]
    assert len(recs) == count


def test_a_form_prompt_ends_the_recommendations_it_follows() -> None:
    body = [Block("heading", "Recommendations from the officer's field visit:", 1, level=2)]
    body += [Block("paragraph", "Plan two more days for road travel between the two cities in the region.", 1),
             Block("paragraph", "Hire a security escort from a private company for transit through risky areas.", 1)]
    body += [Block("paragraph", "Are there any lessons arising from the management of research ethics in the "
                                "project? You may wish to comment on the ethics review.", 1),
             Block("paragraph", "The research proposal was approved by the university's ethics committee.", 1)]
    recs = [i for i in describe(_completion_report(body)).items if i.kind == "recommendation"]
    assert len(recs) == 2


@pytest.mark.parametrize("title, line, want", [
    # "joint" with an audit: an evaluation done together with an audit, by the department's own team
    ("Joint Evaluation and Audit of the Spruce Budworm Strategy", "The Audit and Evaluation Branch of the "
     "department conducted this engagement with its internal audit team.", "internal"),
    # a firm that ran one survey did not do the evaluation
    ("Summative Evaluation of the Charities Outreach Program", "Survey – A survey of 500 registered charities "
     "was conducted by an independent consulting firm in October 2010.", "internal"),
    ("Summative Evaluation of the Charities Outreach Program", "Evaluation services were provided by Goss "
     "Gilroy Inc. under contract.", "independent"),
])
def test_who_evaluated(title: str, line: str, want: str) -> None:
    blocks = [Block("heading", title, 1, level=1), Block("paragraph", "Corporate Audit and Evaluation Branch", 1),
              Block("heading", "Methodology", 1, level=2), Block("paragraph", line, 1),
              Block("heading", "Findings", 1, level=2),
              Block("paragraph", "The program met most of its objectives and was delivered as planned.", 1)]
    doc = Document(source="page.html", sha256="c" * 64, format="html", title=None, pages=[Page(number=1, blocks=blocks)])
    assert md(describe(doc), "evaluator_type") == want


def test_a_summary_form_without_its_title_line_is_a_brief() -> None:
    """A CONAC form whose first page lacks "Formato para la difusión…": its fields name the
    evaluation it summarises ("1.1 Nombre de la evaluación: Evaluación de …"), and its parts are
    table rows, not a report's chapters — spread over eight pages, too long to be "short"."""
    rows = [("1. IDENTIFICACIÓN", True),
            ("1.1 Nombre de la evaluación: Evaluación de Consistencia y Resultados 2017 del Programa de Alimentos", False),
            ("1.3 Fecha de término de la evaluación (dd/mm/aaaa): 07/11/2018", False),
            ("2. PRINCIPALES HALLAZGOS DE LA EVALUACIÓN", True),
            ("2.1 Describir los hallazgos más relevantes de la evaluación: El programa atiende al 1% de su población.",
             False),
            ("3. CONCLUSIONES Y RECOMENDACIONES DE LA EVALUACIÓN", True),
            ("3.1 Describir brevemente las conclusiones de la evaluación: El programa está justificado.", False),
            ("3.2 Describir las recomendaciones de acuerdo a su relevancia: 1. Elaborar un diagnóstico. "
             "2. Definir la población objetivo.", False),
            ("4. DATOS DE LA INSTANCIA EVALUADORA", True), ("4.1 Nombre del coordinador de la evaluación: Ana Ruiz", False)]
    blocks = [Block("table_row", t, 1 + k * 8 // len(rows), bold=b, cells=[t]) for k, (t, b) in enumerate(rows)]
    doc = Document(source="formato.pdf", sha256="d" * 64, format="pdf", title=None,
                   pages=[Page(number=n, blocks=[b for b in blocks if b.page == n]) for n in range(1, 9)])
    assert describe(doc).kind.value == "evaluation_brief"


@pytest.mark.parametrize("title", [
    "Evaluation of the Labour Funding Program: Trade and Labour stream - Interim report",
    "Évaluation du programme d'appui aux coopératives – Rapport intermédiaire",
    "Evaluación del programa de empleo juvenil: informe intermedio",
    "Avaliação do programa de emprego rural – Relatório intercalar",
])
def test_an_evaluations_interim_report_is_midterm(title: str) -> None:
    blocks = [Block("heading", title, 1, level=1), Block("heading", "Evaluation methodology", 1, level=2),
              Block("paragraph", "The evaluation used interviews, a survey and a review of documents.", 1),
              Block("heading", "Findings", 1, level=2),
              Block("paragraph", "The evaluation found that the program met most of its objectives so far.", 1),
              Block("heading", "Conclusions", 1, level=2),
              Block("paragraph", "The evaluation concludes that the program remains relevant and effective.", 1),
              Block("heading", "Recommendations", 1, level=2),
              Block("list_item", "1. Clarify the program's objectives for all partners.", 1),
              Block("list_item", "2. Strengthen performance measurement of the projects.", 1)]
    doc = Document(source="page.html", sha256="e" * 64, format="html", title=None, pages=[Page(number=1, blocks=blocks)])
    assert md(describe(doc), "timing") == "midterm"


@pytest.mark.parametrize("contact, want", [
    ("Correo institucional: irma.dorado@zacatecas.gob.mx", ["MEX"]),
    ("Contact : dgeval@economie.gouv.sn", ["SEN"]),
    ("Contact: evaluation@example.org", None),  # no government's domain: no country
])
def test_a_governments_own_domain_places_its_report(contact: str, want: list[str] | None) -> None:
    rows = [("1. DESCRIPCIÓN DE LA EVALUACIÓN", True),
            ("1.1 Nombre de la evaluación: Evaluación de Consistencia y Resultados del Fondo para la Mujer", False),
            (f"1.4 Nombre de la persona responsable: Irma Dorado. {contact}", False),
            ("2.1 Describir los hallazgos más relevantes de la evaluación: El Fondo atiende a pocas mujeres.", False)]
    assert md(describe(_form(rows)), "countries") == want


def _web_report(tail: list[Block]) -> Document:
    return _one_page("page.html", "html", "Evaluation of the Renewable Energy Deployment Program", "Conclusions",
                     "The programs were well managed and used resources in a cost-effective manner.", tail)


def test_a_plain_label_line_above_a_list_on_a_web_page() -> None:
    doc = _web_report([Block("paragraph", "Recommendations", 1),
                       Block("list_item", "Share the programs' best practices within the department.", 1, level=1),
                       Block("list_item", "Complete the planned consultations before drafting the framework.", 1, level=1)])
    d = describe(doc)
    assert any(s.kind == "recommendations" and s.heading == "Recommendations" for s in d.sections)
    assert len([i for i in d.items if i.kind == "recommendation"]) == 2


def test_recommendations_stated_only_in_the_management_response_table() -> None:
    head = ["Recommendation", "Management Response", "Target"]
    rows = [["1. Share the programs' best practices within the department.", "Agreed. A workshop will be held.",
             "March 2016"],
            ["2. Complete the planned consultations before drafting the framework.", "Agreed.", "June 2016"]]
    tail = [Block("heading", "Management Response and Action Plan", 1, level=2)]
    tail += [Block("table_row", " | ".join(r), 1, cells=r) for r in [head, *rows]]
    recs = [i for i in describe(_web_report(tail)).items if i.kind == "recommendation"]
    assert [r.number for r in recs] == ["1", "2"]


def test_a_location_field_says_which_countries() -> None:
    """Partners' and experts' countries named up front do not join those of a location field; a
    list of comparison countries in prose is not such a field."""
    lines = ["Project Completion Report: Engineered vaccines for cattle", "Location: Country | Ethiopia",
             "The vaccine was designed with experts from the University of Ghent, Belgium, and tested in "
             "Belgium before the trials.",
             "The team met Dr. Dirk Geysen (ECF expert, Belgium) and Dr. Ann Lee (virologist, Belgium) twice.",
             "Field trials in Ethiopia showed that the vaccine protects young cattle."]
    assert md(describe(_pdf("", lines)), "countries") == ["ETH"]


def test_a_persons_affiliation_is_not_a_place_covered() -> None:
    from whatworks.describe.mentions import place_context

    text = "In attendance were Dr. Dirk Geysen (ECF expert, Belgium) and staff of the labs in Belgium."
    first, last = text.find("Belgium"), text.rfind("Belgium")
    assert place_context(text, first, first + 7) == "person"
    assert place_context(text, last, last + 7) is None


def test_recommendations_a_reader_ran_together() -> None:
    text = ("Recommendation 4: Keep the two tiers but shift budget to national work. Addressed to: ILO. "
            "Priority: Medium. Recommendation 5: Give workers' organizations a formal role. Priority: Low. "
            "Recommendation 6: Integrate gender analysis into every output. Priority: High.")
    blocks = [Block("heading", "Final evaluation of the labour migration project", 1, level=1),
              Block("heading", "Recommendations", 1, level=2),
              Block("paragraph", "Recommendation 3: Build a monitoring system with a baseline. Priority: High.", 1),
              Block("paragraph", text, 1)]
    doc = Document(source="r.pdf", sha256="1" * 63 + "2", format="pdf", title=None, pages=[Page(number=1, blocks=blocks)])
    recs = [i for i in describe(doc).items if i.kind == "recommendation"]
    assert [r.number for r in recs] == ["3", "4", "5", "6"]
    assert recs[2].fields.get("priority") == "Low" and recs[2].text.startswith("Recommendation 5:")
