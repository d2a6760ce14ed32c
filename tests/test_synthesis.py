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
            counts = [t.n_reports for t in g.themes]
            assert counts == sorted(counts, reverse=True)
            for t in g.themes:
                assert t.n_reports == len(t.reports) == len(set(t.reports)) > 0
                assert set(t.reports) <= set(ids.values())
                assert sum(t.items_by_report.values()) == t.n_items
                assert set(t.items_by_report) == set(t.reports)
                assert sum(t.by_timing.values()) == t.n_reports
                assert sum(t.by_region.values()) >= t.n_reports


def test_narratives_state_only_what_the_evidence_shows(review):
    from whatworks.synthesize import ilo_regions

    _, s = review
    for t in s.themes():
        assert t.narrative_source == "template"
        m = re.match(r"(\d+) of (\d+) included reports? \(([^)]*)\)", t.narrative)
        assert m, t.narrative
        assert int(m.group(1)) == t.n_reports and int(m.group(2)) == s.n_reports
        cited = set(re.findall(r"\b(?:E\d+|I-\d+)\b", t.narrative))
        assert cited <= set(t.reports), (t.id, cited)
        for sentence in re.findall(r"[^.]* covers? [^.]*\.", t.narrative):  # regions named are the reports'
            named = {r for r in ilo_regions() if r in sentence}
            assert named and named <= set(t.by_region), (sentence, t.by_region)
        assert f"{t.n_items} coded item" in t.narrative
        if t.n_reports == 1:  # one report: singular verbs, and no "the reports date from"
            assert re.search(r"\) (describes|gives|names|identifies|reports) ", t.narrative), t.narrative
            assert "The reports date" not in t.narrative and "They cover" not in t.narrative


def test_executive_summary_states_the_leading_themes(review):
    from whatworks.synthesize import Synthesis, summary_sentences

    _, s = review
    assert [label for label, _ in s.summary] == [q.label for q in s.questions]
    for (_, sentences), q in zip(s.summary, s.questions, strict=True):
        assert len(sentences) == len(q.groups)
        for sentence, g in zip(sentences, q.groups, strict=True):
            for t in g.themes[:3]:
                assert f"({t.n_reports} of {s.n_reports})" in sentence
    # a group no report addressed is said plainly
    empty = Synthesis(**{**s.__dict__, "questions": [
        type(q)(q.id, q.label, q.ask, [type(g)(g.id, g.label, [], g.no_evidence) for g in q.groups])
        for q in s.questions]})
    said = summary_sentences(empty)
    assert said[3][1][0] == "No report in the selection addressed success factors."


def test_quotes_are_verbatim_on_their_page(review):
    from whatworks.coding import normalise_space

    project, s = review
    quotes = s.quotes()
    assert len(quotes) >= 30
    for q in quotes:
        page = project.document(q.sha256).pages[q.page - 1]
        assert normalise_space(q.text) in normalise_space(" ".join(b.text for b in page.blocks)), (q.report_id, q.page)
    # quotes of a theme come from different reports first; a passage is quoted under one theme only
    # (unless it is a theme's only quote), and quotes stand alone (no headings, no fragments)
    from whatworks.synthesize import QUOTE_MIN_WORDS

    for t in s.themes():
        ids = [q.report_id for q in t.quotes]
        distinct = len(set(ids))
        assert len(set(ids[:distinct])) == distinct, ids
    seen: dict[tuple[str, str], str] = {}
    for t in s.themes():
        for q in t.quotes:
            if (q.sha256, q.text) in seen and len(t.quotes) > 1:
                raise AssertionError(f"{q.text[:50]} quoted under {seen[(q.sha256, q.text)]} and {t.id}")
            seen[(q.sha256, q.text)] = t.id
            assert len(q.text.split()) >= QUOTE_MIN_WORDS and not q.text[0].islower(), q.text
            assert not re.match(r"(Finding|Hallazgo|Constat|Recommendation|Lesson)\w* \d", q.text), q.text


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
    assert any("could not be coded" in lim for lim in s.limitations) == (s.items_coded < s.items_total)
    assert any("not yet checked by a reviewer" in lim for lim in s.limitations)
    covered = {reg for r in s.reports for reg in r.regions}
    assert "Arab States" not in covered and "Arab States" in s.regions_without_reports
    assert any("Arab States" in lim for lim in s.limitations)


def test_synthesis_is_json(review):
    _, s = review
    data = json.loads(s.to_json())
    assert data["n_reports"] == s.n_reports
    assert data["questions"][3]["groups"][1]["id"] == "challenges"
    assert data["questions"][0]["groups"][0]["themes"][0]["quotes"][0]["page"] >= 1


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
