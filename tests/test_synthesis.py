"""The synthesis of a real (small) review built from the example reports shipped with whatworks."""

from __future__ import annotations

import atexit
import functools
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from whatworks.codebook import QUESTIONS
from whatworks.synthesize import DIRECTED_KINDS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "whatworks" / "data" / "examples"


@functools.cache
def example_review():
    """create → add → screen → code → emerging themes → synthesize, once per test process."""
    from whatworks.api import Review

    base = Path(tempfile.mkdtemp(prefix="whatworks-synthesis-"))
    atexit.register(shutil.rmtree, base, True)
    reports = base / "reports"
    shutil.copytree(EXAMPLES, reports, ignore=shutil.ignore_patterns("*.py"))
    review = Review.create(base / "review", "ilo-social-protection")
    review.add([reports], jobs=1)
    review.screen()
    review.code()
    review.find_emerging()
    return review, review.synthesize()


@pytest.fixture(scope="session")
def review():
    return example_review()


def items_of(review):
    from whatworks.store import documents as docs

    return docs.item_rows(review.store)


def test_four_questions_with_groups_kept_apart(review):
    _, s = review
    assert [q.id for q in s.questions] == list(QUESTIONS)
    groups = {q.id: [g.id for g in q.groups] for q in s.questions}
    assert groups["for_whom"] == ["target_groups", "final_beneficiaries"]
    assert groups["why"] == ["success_factors", "challenges"]
    targets = {t.id for t in s.questions[2].groups[0].themes}
    finals = {t.id for t in s.questions[2].groups[1].themes}
    assert targets and finals and all(t.startswith("tg_") for t in targets) and all(t.startswith("fb_") for t in finals)
    factors = {t.id for t in s.questions[3].groups[0].themes}
    challenges = {t.id for t in s.questions[3].groups[1].themes}
    assert all(t.startswith("sf_") for t in factors) and all(t.startswith("ch_") for t in challenges)


def test_themes_ranked_by_reports_with_their_ids(review):
    from whatworks import screen

    project, s = review
    ids = screen.report_ids(project.store)
    assert s.n_reports == len(project.included()) == len(ids) >= 5
    assert {r.report_id for r in s.reports} == set(ids.values())
    for q in s.questions:
        for g in q.groups:
            support = [len(t.supporting) for t in g.themes]
            assert support == sorted(support, reverse=True)
            for t in g.themes:
                assert t.n_reports == len(t.reports) == len(set(t.reports)) > 0
                assert set(t.supporting) <= set(t.reports) and (t.group in ("success_factors", "challenges")
                                                                or t.supporting == t.reports)
                assert sum(t.by_type.values()) == sum(t.by_timing.values()) == len(t.supporting)
                assert set(t.reports) <= set(ids.values())
                assert sum(t.items_by_report.values()) == t.n_items
                assert set(t.items_by_report) == set(t.reports)
                assert {r for rs in t.by_polarity.values() for r in rs} == set(t.reports)


def _page_texts(project, sha):
    from whatworks.text import normalise_space

    return [normalise_space(" ".join(b.text for b in p.blocks)) for p in project.document(sha).pages]


def test_every_citation_is_verbatim_in_its_source_with_a_locator(review):
    from whatworks.text import normalise_space

    project, s = review
    citations = [c for st in s.statements() for c in st.citations] + s.quotes()
    assert len(citations) >= 30
    paths = {r.sha256: r.path for r in s.reports}
    located = 0
    for c in citations:
        pages = _page_texts(project, c.sha256)
        if c.page:
            assert normalise_space(c.quote) in pages[c.page - 1], (c.report_id, c.page, c.quote[:60])
        else:
            assert any(normalise_space(c.quote) in p for p in pages), (c.report_id, c.quote[:60])
        assert c.source == paths[c.sha256]
        if c.source.endswith(".pdf"):
            assert c.page and c.anchor == f"#page={c.page}"
        located += bool(c.page or c.section)
        assert not re.match(r"(Finding|Hallazgo|Constat|Recommendation|Lesson)\w* \d", c.quote), c.quote
    assert located / len(citations) >= 0.9  # a page (PDF) or a section heading (Word, Markdown, HTML)


def test_polarity_routes_the_why(review):
    """Success factors rest on positive items, challenges on negative ones — or on a lesson, finding
    or conclusion the coder read as neutral or mixed, which the theme itself directs; never on an item
    of the opposite polarity, and never on a recommendation that is not itself of the wanted one."""
    project, s = review
    polarity = {(c.sha256, c.idx): c.polarity for c in project.codes()}
    why = s.questions[3]

    def counts(c, wanted: str) -> bool:
        p = polarity[(c.sha256, c.item)]
        return p == wanted or (p in ("neutral", "mixed") and c.kind in DIRECTED_KINDS)

    directed = 0
    for g, wanted in zip(why.groups, ("positive", "negative"), strict=True):
        for t in g.themes:
            for claim in t.claims:
                assert claim.polarity == wanted
                assert all(counts(c, wanted) for c in claim.citations), (t.id, claim.text)
                directed += sum(polarity[(c.sha256, c.item)] != wanted for c in claim.citations)
        for st in g.statements:
            assert all(counts(c, wanted) for c in st.citations)
    assert any(g.statements for g in why.groups)
    assert directed  # the examples' lessons put as advice do reach the why


def test_statements_are_sentences_resting_on_their_quotes(review):
    _, s = review
    statements = s.statements()
    assert statements
    for st in statements:
        assert st.citations and st.reports and st.themes
        assert st.polarity in ("positive", "negative", "neutral", "mixed")
        cited = {c.report_id for c in st.citations}
        assert cited <= set(st.reports)
        named = set(re.findall(r"\b(?:E\d+|I-\d+)\b", st.text))
        assert named <= set(st.reports), (named, st.reports)
        assert st.lead[1:60] in st.text, st.text  # the claim is in its own (verbatim) words
    # every theme of the what-is-being-done question says which reports describe it, and how many
    for t in s.questions[0].groups[0].themes:
        assert t.headline.startswith(f"{t.n_reports} of {s.n_reports} reports")


def test_executive_summary_has_key_statements_citing_two_reports_where_it_can(review):
    _, s = review
    assert 8 <= len(s.summary) <= 12
    questions = {t: q.id for q in s.questions for g in q.groups for t in [x.id for x in g.themes]}
    assert len({questions[st.themes[0]] for st in s.summary}) == 4  # the four questions each answered
    themes = {t.id: t for t in s.themes()}
    for st in s.summary:
        t = themes[st.themes[0]]
        supporting = {r for c in t.claims if c.polarity == st.polarity or st.polarity == "mixed" for r in c.reports}
        if len(supporting) >= 2:
            assert len({c.report_id for c in st.citations}) >= 2, st.text
    leads = [st.lead for st in s.summary]
    assert len(set(leads)) == len(leads), "a quote leads one key statement only"


def test_status_is_a_draft_until_a_lead_marks_it_final(tmp_path):
    from whatworks.api import Review
    from whatworks.errors import Forbidden
    from whatworks.team import User

    project, s = example_review()
    assert s.status["final"] is False
    assert s.status["text"] == f"Draft: {s.codes_reviewed} of {s.codes_total} codes checked by a reviewer."
    with pytest.raises(Forbidden):
        project.mark_final(User("bob", "reviewer"))
    project.mark_final(User("ann", "lead"), reason="checked")
    try:
        after = project.synthesize()
        assert after.status["final"] and after.status["text"].startswith("Final: marked final by ann")
        assert any(a["action"] == "review.final" and a["reason"] == "checked" for a in project.audit())
    finally:
        project.mark_final(User("ann", "lead"), final=False)
    assert Review is not None


def test_coverage_warnings_name_what_the_evidence_cannot_carry(review):
    from dataclasses import replace

    from whatworks.synthesize import warnings

    project, s = review
    empty = replace(s.reports[0], items=0, items_by_kind={}, has_findings=True)
    shown = warnings(replace(s, reports=[empty, *s.reports[1:]]), project.codes())
    text = " ".join(w["text"] for w in shown)
    assert f"{empty.report_id} ({empty.title}) yielded no findings" in text and "findings chapter" in text
    if any(t.n_reports == 1 for t in s.themes()):
        assert any(w["kind"] == "single_report" for w in shown)


def test_quotes_drop_labels_and_refuse_fragments():
    from whatworks.synthesize import clean_quote

    assert clean_quote("Hallazgo 1: El proyecto respondió a una necesidad urgente de los mandantes.") == \
        "El proyecto respondió a una necesidad urgente de los mandantes."
    assert clean_quote("Recommendation #1: Explore approaches to improve access for parents.") == \
        "Explore approaches to improve access for parents."
    assert clean_quote("2. El diálogo nacional fue una herramienta eficaz para el tripartismo.").startswith("El ")
    assert clean_quote("By 2018: most members had joined the new pension plan.").startswith("By 2018")
    assert clean_quote("3.1.1 Recovery plan The evaluation found that larger firms planned ahead.") == \
        "The evaluation found that larger firms planned ahead."  # a numbered heading glued to its sentence
    assert clean_quote("In Viet Nam the project improved the delivery of benefits.").startswith("In Viet Nam")
    assert clean_quote("Collaboration Projects") is None  # a heading
    assert clean_quote("modernize the telephone system of the pension plan by May 2020") is None  # mid-sentence
    assert clean_quote("15 weeks of benefits remain an adequate duration for most claimants, and") is None


def test_items_per_kind_per_report_and_limitations(review):
    project, s = review
    for r in s.reports:
        n = len([i for i in items_of(project) if i["sha256"] == r.sha256])
        assert sum(r.items_by_kind.values()) == r.items == n
        assert 0 <= r.coded_items <= r.items
    assert s.items_total == sum(r.items for r in s.reports)
    assert any("were not coded" in lim for lim in s.limitations) == (s.items_coded < s.items_total)
    assert any("not yet checked by a reviewer" in lim for lim in s.limitations)
    covered = {reg for r in s.reports for reg in r.regions}
    assert "Arab States" not in covered and "Arab States" in s.regions_without_reports
    assert any("Arab States" in lim for lim in s.limitations)


def test_synthesis_json_is_the_documented_contract(review):
    _, s = review
    data = json.loads(s.to_json())
    assert [st["text"] for st in data["summary"]["statements"]] == [st.text for st in s.summary]
    assert [q["id"] for q in data["questions"]] == [q.id for q in s.questions]
    for q in data["questions"]:
        for st in q["statements"]:
            assert {"text", "polarity", "themes", "reports", "citations"} <= set(st)
            for c in st["citations"]:
                assert {"source", "sha256", "page", "section", "quote"} <= set(c)
                assert c["page"] or c["section"] or not c["source"].endswith(".pdf")
    assert data["status"]["text"].startswith("Draft")
    assert data["questions"][3]["groups"][1]["id"] == "challenges"


def test_emerging_candidates_come_with_every_review(review):
    _, s = review
    assert s.items_coded < s.items_total  # items no theme fits…
    for e in s.emerging:  # …grouped into candidates with their items
        assert e["size"] >= 3 and len(e["items"]) == e["size"] and e["status"] in ("candidate", "named")


def test_a_reviewers_rejection_changes_the_synthesis(review):
    from whatworks.team import User

    project, s = review
    theme = next(t for t in s.themes() if t.n_reports == 1 and t.n_items == 1)
    sha = next(r.sha256 for r in s.reports if r.report_id == theme.reports[0])
    code = next(c for c in project.codes() if c.theme == theme.id and c.sha256 == sha)
    others = {c.theme for c in project.codes() if (c.sha256, c.item_key) == (sha, code.item_key)} - {theme.id}
    alice = User("alice", "reviewer")
    project.code_item(sha, code.idx, others, alice)
    try:
        after = project.synthesize()
        assert theme.id not in {t.id for t in after.themes()}
        assert theme.label in [label for q in after.questions for g in q.groups for label in g.no_evidence]
    finally:  # alice changes her mind: the machine's themes again
        project.code_item(sha, code.idx, others | {theme.id}, alice)


def test_a_gap_in_reaching_a_group_is_not_evidence_of_reaching_it():
    from whatworks.synthesize import _says_not_reached

    assert _says_not_reached("The activities did not reach workers in the informal economy.")
    assert _says_not_reached("Les activités n’ont pas atteint les travailleurs domestiques.")
    assert _says_not_reached("Los programas no llegaron a las mujeres rurales.")
    assert not _says_not_reached("The project reached 5,000 domestic workers in three provinces.")
    assert not _says_not_reached("Not only women but also young people were reached.")


def test_a_report_of_many_countries_is_not_placed_by_three_of_them():
    from types import SimpleNamespace

    from whatworks.synthesize import _places

    where = _places({})
    assert where([SimpleNamespace(places=["PER", "HND", "ARG", "COL"])]) == ""
    assert where([SimpleNamespace(places=["SEN", "MLI"])]) == "Senegal and Mali"


def test_a_themes_claims_are_led_by_different_reports_where_they_can_be():
    from whatworks.claims import Statement, _varied

    def claim(report: str, weight: float) -> Statement:
        return Statement(f"{report} {weight}", "positive", ["t"], [report], [], f"{report} {weight}", weight)

    ranked = [claim("E7", 3.0), claim("E7", 2.5), claim("E3", 1.0)]
    assert [c.reports[0] for c in _varied(ranked, 2)] == ["E7", "E3"]
    only_one = [claim("E7", 3.0), claim("E7", 2.5)]  # no other report can lead: both kept, in rank order
    assert _varied(only_one, 2) == only_one


# --- statements that their quotes support (issue 12) ------------------------------------------

def _evidence(quote: str, report: str, *, kind: str = "lesson_learned", vector=(1.0, 0.0), advice: bool = False,
              shows: bool = True, reviewed: bool = False, item: int = 0):
    import numpy as np

    from whatworks.claims import Citation, Evidence

    v = np.asarray(vector, dtype=np.float32)
    citation = Citation(report, "sha-" + report, report + ".pdf", quote, 1, None, None, kind, item, "positive")
    return Evidence(citation, "t", v / np.linalg.norm(v), strength=1.0, advice=advice, shows=shows, reviewed=reviewed)


def test_advice_is_told_apart_from_what_happened_in_four_languages():
    from whatworks.synthesize import says

    for advice in ("Future projects should involve the social partners from the start.",
                   "Ensure that constituents have the flexibility to design their own programmes.",
                   "Need for a thorough risk assessment including risk mitigation.",
                   "Les projets devraient associer les partenaires sociaux dès la conception.",
                   "Es importante involucrar a los sindicatos desde el diseño del proyecto.",
                   "É fundamental envolver os parceiros sociais desde o início."):
        assert says("advice", advice), advice
    for happened in ("The project involved the social partners from the start and ownership grew.",
                     "MIGSEC worked on the need to strengthen capacity to ensure that provisions match needs.",
                     "Les partenaires sociaux ont été associés dès la conception.",
                     "La cobertura se debe a la participación de los sindicatos.",
                     "O aumento deve-se à participação dos parceiros sociais."):
        assert not says("advice", happened), happened


def test_a_group_shown_reached_is_told_apart_from_a_group_only_named():
    from whatworks.synthesize import _says_not_reached, says

    assert says("reached", "Over 3,000 domestic workers were registered with the scheme.")
    assert says("reached", "Les bénéficiaires interrogés, surtout des femmes âgées, citent la régularité.")
    assert says("reached", "Los trabajadores migrantes afiliados recibieron asesoría.")
    assert not says("reached", "Zambia adopted a simplified registration form for employers of domestic workers.")
    assert not says("reached", "Take-up rates among Indigenous communities are only available for 2010.")
    assert says("worked_with", "The project worked with employers' organisations on the standards.")
    assert not says("worked_with", "Program officers noted that reviewing the plan is their most time-consuming task.")
    assert _says_not_reached("L'accès effectif reste hors de portée des migrants les plus vulnérables.")


def test_a_claim_is_led_by_what_happened_before_advice_and_advice_is_shown_as_a_lesson():
    from whatworks.claims import claims

    advice = _evidence("Projects should explore links to other projects to share experience.", "E1", advice=True,
                       reviewed=True)
    happened = _evidence("Joint planning with two other projects avoided duplicated training.", "E2", vector=(0.9, 0.1))
    [claim] = claims([advice, happened], "positive", ["t"], lambda ev: "")
    assert claim.lead == happened.citation.quote and not claim.advice
    assert claim.reports == ["E2", "E1"]
    [alone] = claims([advice], "positive", ["t"], lambda ev: "")
    assert alone.advice and alone.text.startswith("Report E1 draws the lesson: “Projects should")


def test_a_statement_led_loosely_says_less_in_its_headline():
    from whatworks.claims import Statement
    from whatworks.synthesize import ThemeResult, _theme_statements, headline, loose_headlines

    def theme(question: str, group: str, lead: Statement) -> ThemeResult:
        t = ThemeResult("t", "Synergy with other projects", "", question, group, reports=["E1", "E2"], n_reports=2,
                        by_polarity={"positive": ["E1", "E2"]})
        t.headline, t.headlines, t.claims = headline(t, 9), loose_headlines(t, 9), [lead]
        return t

    def lead(advice: bool = False, shows: bool = True) -> Statement:
        return Statement("Report E1 finds: “…”.", "positive", ["t"], ["E1"], [], "…", 1.0, advice=advice, shows=shows)

    [plain] = _theme_statements(theme("why", "success_factors", lead()))
    assert plain.text.startswith("2 of 9 reports (E1, E2) name synergy with other projects among the reasons for success.")
    [advised] = _theme_statements(theme("why", "success_factors", lead(advice=True)))
    assert "among the reasons for success or the conditions for it." in advised.text
    [named] = _theme_statements(theme("for_whom", "final_beneficiaries", lead(shows=False)))
    assert named.text.startswith("2 of 9 reports (E1, E2) address synergy with other projects.")
    [reached] = _theme_statements(theme("for_whom", "final_beneficiaries", lead()))
    assert reached.text.startswith("2 of 9 reports (E1, E2) reached synergy with other projects.")


def test_a_loose_claim_gives_way_within_its_polarity_only():
    from whatworks.claims import Statement
    from whatworks.synthesize import ThemeResult, _theme_statements

    def claim(polarity: str, report: str, advice: bool) -> Statement:
        return Statement(f"Report {report} finds: “…”.", polarity, ["t"], [report], [], report, 1.0, advice=advice)

    t = ThemeResult("t", "Peer learning", "", "what_works", None, reports=["E1", "E2", "E3"], n_reports=3)
    t.headline = "Peer learning worked in 2 of 9 reports (E1, E2)."
    t.claims = [claim("positive", "E1", True), claim("positive", "E2", False), claim("neutral", "E3", False)]
    [st] = _theme_statements(t)
    assert st.lead == "E2"  # not the advice, and not the neutral claim ahead of what worked
    t.claims = [claim("positive", "E1", True), claim("neutral", "E3", False)]
    assert _theme_statements(t)[0].lead == "E1"


def test_a_claim_says_what_kind_of_item_it_quotes():
    """A finding 'finds', a conclusion 'concludes', a good practice is 'reported as a good practice',
    a lesson 'draws the lesson': a reader should not take an evaluation's generalisation for a result."""
    from whatworks.claims import claims

    finding = _evidence("Involving the social partners from the start built ownership of the reform.", "E2",
                        kind="finding")
    assert claims([finding], "positive", ["t"], lambda ev: "")[0].text.startswith("Report E2 finds: “Involving")
    practice = _evidence("Joint registration of claimants by both agencies.", "E3", kind="good_practice")
    (placed,) = claims([practice], "positive", ["t"], lambda ev: "Viet Nam")
    assert placed.text.startswith("In Viet Nam (E3), the evaluation reports as a good practice: “Joint")
    lesson = _evidence("Ownership grew where the unions designed the scheme with the ministry.", "E4")
    assert claims([lesson], "positive", ["t"], lambda ev: "")[0].text.startswith("Report E4 draws the lesson:")


def test_a_list_of_labels_with_their_own_and_reads_apart():
    from whatworks.synthesize import _and

    assert _and(["pensions", "health"]) == "pensions and health"
    assert _and(["capacity building and training", "social dialogue"]) == \
        "capacity building and training, and social dialogue"
