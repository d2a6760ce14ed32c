"""Items: each recommendation, conclusion, lesson, good practice and numbered finding,
verbatim, with its attributes; ILO templates; real reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from project_fixtures import corpus_params
from test_sections import AAP, HAITI_BRIEF, H, P, canada, corpus_doc, doc

from whatworks.describe.items import find_items
from whatworks.describe.sections import find_sections
from whatworks.describe.templates import find_templates, template_title
from whatworks.model import Block, Document, Item


def items_of(d: Document, kind: str | None = None) -> list[Item]:
    items = find_items(d, find_sections(d))
    return [i for i in items if kind is None or i.kind == kind]


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def assert_verbatim(d: Document, items: list[Item]) -> None:
    """Every line of every item occurs in the text of the pages the item spans."""
    for item in items:
        last = int(item.fields.get("page_end", item.page))
        pages = _squash(" ".join(b.text for p in d.pages if item.page <= p.number <= last for b in p.blocks))
        for line in item.text.split("\n"):
            assert _squash(line) in pages, (item.kind, item.number, line[:80])


def T(*cells: str, page: int = 1) -> Block:
    return Block("table_row", " | ".join(cells), page, cells=list(cells))


# --- recommendations ----------------------------------------------------------------------------


@pytest.mark.parametrize(("lines", "fields"), [
    (["Addressed to: ILO, constituents", "Priority: High", "Timeframe: 2019", "Resources: Low"],
     {"addressee": "ILO, constituents", "priority": "High", "timeframe": "2019", "resources": "Low"}),
    (["Destinataires : BIT, ministère du Travail", "Priorité : élevée", "Délai : 2016-2017"],
     {"addressee": "BIT, ministère du Travail", "priority": "élevée", "timeframe": "2016-2017"}),
    (["Dirigida a: OIT; IGSS. Prioridad: alta. Plazo: 2016-2018. Recursos: medios."],
     {"addressee": "OIT; IGSS", "priority": "alta", "timeframe": "2016-2018", "resources": "medios"}),
    (["Dirigida a: INPS | Prioridade: média | Prazo: 2014"],
     {"addressee": "INPS", "priority": "média", "timeframe": "2014"}),
    (["Responsible unit: SOCPRO", "Priority level: Medium"], {"addressee": "SOCPRO", "priority": "Medium"}),
])
def test_recommendation_attributes(lines: list[str], fields: dict[str, str]) -> None:
    d = doc(H("Recommendations"),
            P("Recommendation 1: Strengthen the capacity of the social security institution."),
            *[P(x) for x in lines],
            P("Recommendation 2: Extend coverage to domestic workers."))
    recs = items_of(d, "recommendation")
    assert len(recs) == 2
    assert recs[0].fields == fields
    assert recs[0].text == "Recommendation 1: Strengthen the capacity of the social security institution."
    assert recs[1].fields == {}


def test_inline_attributes_in_a_numbered_list() -> None:
    d = doc(H("5. Recommendations"),
            P("The evaluation makes the following recommendations:"),
            Block("list_item", "1. Revise the logical framework. (Addressed to: ILO ROAP; Priority: High)", 1),
            Block("list_item", "2. Re-establish the working group. (Addressed to: ILO Yangon; Priority: Low)", 1))
    recs = items_of(d, "recommendation")
    assert [(r.number, r.fields) for r in recs] == [
        ("1", {"addressee": "ILO ROAP", "priority": "High"}),
        ("2", {"addressee": "ILO Yangon", "priority": "Low"})]


def test_recommendations_table() -> None:
    d = doc(H("Recommendations", page=8),
            T("No.", "Recommendation", "Responsible", "Priority", "Timing", page=8),
            T("1", "Consolidate the unemployment insurance link with employment services.", "ILO; MOLISA",
              "High", "2018", page=8),
            T("2", "Support legal drafting in Cambodia and", "ILO ROAP", "Medium", "2019", page=8),
            T("", "Myanmar, including regulations.", "", "", "", page=9),  # the row goes on over the page
            T("No.", "Recommendation", "Responsible", "Priority", "Timing", page=9),  # repeated header
            T("3", "Improve monitoring with sex-disaggregated data.", "Project team", "High", "", page=9))
    recs = items_of(d, "recommendation")
    assert [r.number for r in recs] == ["1", "2", "3"]
    assert recs[0].fields == {"addressee": "ILO; MOLISA", "priority": "High", "timeframe": "2018"}
    assert recs[1].text == "Support legal drafting in Cambodia and Myanmar, including regulations."
    assert recs[2].page == 9


def test_numbered_recommendations_with_sub_actions_and_a_summary() -> None:
    """The summary lists them, the chapter explains them with bullets: counted once, from the chapter."""
    d = doc(
        H("EXECUTIVE SUMMARY", page=2),
        Block("list_item", "1. Clarify the scope of the policy.", 2),
        Block("list_item", "2. Develop a strategy.", 2),
        H("4. RECOMMENDATIONS", page=5),
        P("IOM should be mindful that the recommendations may be implemented in any order.", 5),
        P("1. Clarify the scope of the policy beyond emergency operations.", 5),
        P("For the follow-up, the following activities should be considered:", 5),
        Block("list_item", "• Issue an instruction to all country offices.", 5),
        Block("list_item", "• Train focal points.", 5),
        P("2. Develop a strategy with a three-year plan connected to a funding", 5),
        P("strategy, negotiated at the highest level.", 6),
        P("3. Map the complaint and feedback mechanisms in use.", 6),
        H("ANNEX A. CASE STUDY", page=7), H("Recommendations", 2, page=7),
        P("1. Hire a hotline operator.", 7), P("2. Translate the leaflets.", 7),
    )
    recs = items_of(d, "recommendation")
    assert [r.number for r in recs] == ["1", "2", "3"]
    assert "Train focal points." in recs[0].text
    # a sentence broken by a page break: one line a page, so each is found on its page
    assert recs[1].text == ("2. Develop a strategy with a three-year plan connected to a funding\n"
                            "strategy, negotiated at the highest level.")
    assert recs[1].fields == {"page_end": "6"}
    assert_verbatim(d, recs)


def test_singular_recommendation_heading_is_one_item() -> None:
    d = doc(H("Conclusion", 2), P("The program met its objectives for most of the target groups."),
            H("Recommendation", 2),
            P("The evaluation found that incomplete information was collected on participants."),
            P("Therefore, the evaluation recommends that the strategy ensure the collection of data."))
    recs = items_of(d, "recommendation")
    assert len(recs) == 1 and recs[0].text.count("\n") == 1


# --- findings, conclusions, lessons -------------------------------------------------------------------


def test_findings_are_numbered_or_listed_and_else_the_criteria_paragraphs() -> None:
    # issue 13: a narrative findings chapter under criterion headings still yields findings —
    # one per paragraph, marked as such — so that no included report is left without evidence
    prose = doc(H("3. Findings"), H("3.1 Relevance", 2),
                P("The project responded to the needs of domestic workers in both countries."),
                P("Workers' organizations confirmed this in all interviews held in the capitals."))
    found = items_of(prose, "finding")
    assert [f.text[:20] for f in found] == ["The project responde", "Workers' organizatio"]
    assert all(f.fields.get("narrative") == "paragraph" for f in found)
    numbered = doc(H("3. Findings"), H("3.1 Relevance", 2),
                   P("Finding 1: The project responded to the needs of domestic workers."),
                   P("Workers' organizations confirmed this in all interviews."),
                   P("Finding 2: The design was overambitious for three years."))
    found = items_of(numbered, "finding")
    assert [(f.number, f.text) for f in found] == [
        ("1", "Finding 1: The project responded to the needs of domestic workers."),
        ("2", "Finding 2: The design was overambitious for three years.")]
    listed = doc(H("Key findings"), P("The main findings are:"),
                 Block("list_item", "Coverage of domestic workers tripled in Zambia.", 1),
                 Block("list_item", "Registration remained negligible in Tanzania.", 1))
    assert len(items_of(listed, "finding")) == 2


def test_conclusions_and_lessons_as_paragraphs() -> None:
    d = doc(H("4. Conclusions"),
            P("The project demonstrated that domestic workers can be registered."),
            P("Awareness alone does not change the behaviour of employers."),
            H("5. Lessons learned"), P("The evaluation identified the following lessons:"),
            P("Involving unions from the design stage gives access to a hard-to-reach workforce."))
    assert len(items_of(d, "conclusion")) == 2
    lessons = items_of(d, "lesson_learned")
    assert [x.text for x in lessons] == [
        "Involving unions from the design stage gives access to a hard-to-reach workforce."]


# --- ILO templates ------------------------------------------------------------------------------------


def test_template_titles_in_four_languages() -> None:
    assert template_title("ILO Lesson Learned Template") == "lesson_learned"
    assert template_title("Annex 5: ILO Emerging Good Practice Template") == "good_practice"
    assert template_title("Modèle de leçon apprise de l'OIT") == "lesson_learned"
    assert template_title("Plantilla de buena práctica emergente de la OIT") == "good_practice"
    assert template_title("Modelo de lição aprendida da OIT") == "lesson_learned"
    assert template_title("Lessons learned") is None


def test_french_table_template() -> None:
    d = doc(H("Annexe 2 : Modèle de leçon apprise de l'OIT", page=9),
            P("Titre du projet : Extension de la protection sociale", 9),
            P("Symbole du projet : RAF/12/09/LUX", 9),
            T("Élément", "Texte", page=9),
            T("Brève description de la leçon apprise (lien avec une action ou tâche spécifique)",
              "Les subventions publiques aux cotisations sont une condition de l'extension.", page=9),
            T("Contexte et conditions préalables éventuelles", "Revenus agricoles faibles.", page=9),
            T("Utilisateurs ciblés / Bénéficiaires", "Ménages ruraux.", page=9),
            T("Défis / leçons négatives - Facteurs de causalité", "Renouvellement faible.", page=10),
            T("Succès / Éléments positifs - Facteurs de causalité", "Adhésions doublées.", page=10),
            T("Questions administratives de l'OIT (personnel, ressources, conception, mise en œuvre)",
              "Aucune.", page=10),
            T("Autres éléments de la leçon apprise", "N/A", page=10))
    (start, item), = find_templates(d.blocks, find_sections(d))
    assert item.kind == "lesson_learned" and item.page == 9
    assert item.text == "Les subventions publiques aux cotisations sont une condition de l'extension."
    assert item.fields == {"context": "Revenus agricoles faibles.", "targeted_users": "Ménages ruraux.",
                           "challenges": "Renouvellement faible.", "success": "Adhésions doublées.",
                           "ilo_administrative_issues": "Aucune.", "other_elements": "N/A",
                           "page_end": "10"}


def test_paragraph_template_good_practice_and_merge_with_chapter() -> None:
    d = doc(H("7. Emerging good practices"),
            P("Good practice 1: Joint registration by the social security fund and employment centres."),
            H("Annex 3: ILO Emerging Good Practice Template", page=4),
            P("Brief summary of the good practice (link to project goal or specific deliverable, "
              "background, purpose, etc.): Joint registration by the social security fund and employment "
              "centres reduced processing times.", 4),
            P("Relevant conditions and Context: limitations or advice in terms of applicability and "
              "replicability:", 4),
            P("Requires a shared information system.", 4),
            P("Establish a clear cause-effect relationship: One form replaced two.", 4),
            P("Indicate measurable impact and targeted beneficiaries: Processing fell from 20 to 12 days.", 4),
            P("Potential for replication and by whom: Cambodia and Myanmar.", 4),
            P("Potential link with higher ILO Goals (DWCPs, Country Programme Outcomes or ILO's Strategic "
              "Programme Framework): Outcome 8.", 4),
            P("Other documents or relevant comments: Technical note (2017).", 4))
    practices = items_of(d, "good_practice")
    assert len(practices) == 1
    gp = practices[0]
    assert gp.number == "1" and gp.page == 4
    assert gp.text.startswith("Joint registration by the social security fund")
    assert gp.fields == {"context": "Requires a shared information system.",
                         "impact": "One form replaced two.\nProcessing fell from 20 to 12 days.",
                         "replication": "Cambodia and Myanmar.", "links_to_ilo_goals": "Outcome 8.",
                         "other_documents": "Technical note (2017)."}
    assert_verbatim(d, practices)


# --- real reports ---------------------------------------------------------------------------------------


def test_iom_report_items(shared: Path) -> None:
    d = corpus_doc(AAP)
    items = items_of(d)
    recs = [i for i in items if i.kind == "recommendation"]
    assert [r.number for r in recs] == [str(n) for n in range(1, 10)]
    assert all(37 <= r.page <= 40 for r in recs)
    assert "Map existing CFM systems." in recs[7].text  # its sub-actions stay with it
    findings = [i for i in items if i.kind == "finding"]
    assert findings[0].number == "1.1" and findings[-1].number == "6.1" and len(findings) == 16
    assert not any(i.kind == "lesson_learned" for i in items)  # only the case studies have some
    assert_verbatim(d, items)


def test_french_brief_items(shared: Path) -> None:
    recs = items_of(corpus_doc(HAITI_BRIEF), "recommendation")
    assert len(recs) == 20 and recs[0].number == "1" and recs[-1].number == "20"
    assert recs[0].text.startswith("1. Renforcer la co-construction locale")


@pytest.mark.parametrize(("prefix", "count"), corpus_params([
    ("cra_050", 6),   # no recommendations heading: "Recommendation N" paragraphs under "Conclusion"
    ("esdc_021", 2),  # summary, chapter and management response each list them
    ("hc_015", 3),    # a summary "Recommendations" chapter up front and the full one later
    ("esdc_017", 1),  # a singular "Recommendation" heading over prose
    ("esdc_169", 9),
    ("esdc_161", 0),  # an evaluation plan
], "Canada reports' recommendation counts (test_describe_unseen.py counts the unseen fixtures)"))
def test_canada_recommendation_counts(shared: Path, prefix: str, count: int) -> None:
    d = corpus_doc(canada(prefix))
    recs = items_of(d, "recommendation")
    assert len(recs) == count
    assert_verbatim(d, recs)


def test_priority_without_a_label() -> None:
    d = doc(H("Recomendaciones"),
            P("Recomendación 1 (prioridad alta): Ampliar el programa a todas las regiones del país."),
            P("La ampliación es una prioridad alta del gobierno, según los entrevistados."),
            P("Recomendación 2: Mejorar el sistema de seguimiento de las afiliaciones."),
            P("Este tema no fue considerado de prioridad alta por la OIT hasta 2016."))
    recs = items_of(d, "recommendation")
    assert [r.fields.get("priority") for r in recs] == ["alta", None]
