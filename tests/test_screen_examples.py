"""Screening and the selection outputs on the project's own reports (no shared corpus needed).

The review: the ten example reports (nine ILO social-protection evaluations in EN/FR/ES/PT, one
terms of reference, a mid-term and the final of one project), the 44 unseen fixtures (other
organisations, kinds and years, with hand labels), and made-up cases: the same file twice, a
report saved again as text, an empty PDF, a Swedish report, and an ILO evaluation that says
"social security" once, in an annex. Screened with the ILO protocol; the expectations come from
the protocol, the labels and what each made-up file is. test_screen.py and test_selection.py do
the same on the Canada corpus.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from project_fixtures import (
    check_matrix_files,
    copy_review,
    example,
    examples,
    unseen,
    unseen_labels,
)

from whatworks import screen as SC
from whatworks import selection as sel
from whatworks.api import Review
from whatworks.errors import ReviewError
from whatworks.report.excel import write_matrix
from whatworks.report.flow import write_flow, write_selection_figures
from whatworks.store import documents as docs
from whatworks.store import selection as screening_store
from whatworks.team import User

PERIOD = (2012, 2018)  # the ILO protocol's
SWEDISH = """Utvärdering av projektet för socialförsäkring i Kenya

Sammanfattning

Utvärderingen visar att projektet har bidragit till att stärka det sociala skyddet för arbetstagare inom
den informella sektorn. Rekommendationerna gäller främst finansieringen av pensionssystemet och
samordningen mellan myndigheterna. Arbetslöshetsförsäkringen bör byggas ut stegvis under de kommande åren.
"""
#: An ILO evaluation in the period whose only word of social protection is in an annex: short-listed by
#: the keyword search, then excluded on its content.
OFF_TOPIC = """Final independent evaluation of the Youth Entrepreneurship Training Project in Kenya

International Labour Organization (ILO), 2016

Executive summary

The project RAF/13/09/NOR trained 4,000 young women and men in Kenya to start and run small businesses
between 2013 and 2016. Its objective was to increase youth self-employment through business training,
mentoring and access to microfinance. The evaluation used interviews with 60 trainees, a survey of 400
graduates, focus groups and a desk review.

Findings

Finding 1: Two in five graduates started a business within a year of the training.
Finding 2: Access to microfinance remained the main obstacle for young women.
Finding 3: Mentoring by local entrepreneurs kept more businesses open after the first year.

Conclusions

The training model works where microfinance institutions take part from the start.

Recommendations

Recommendation 1: Bring microfinance institutions into the project design.
Recommendation 2: Extend mentoring to the second year of each business.

Annex 1. People met

A representative of the National Social Security Fund attended one meeting.
"""
FINAL, MIDTERM = "en_asean_unemployment_insurance_final_2018", "en_asean_unemployment_insurance_midterm_2016"
TOR = "en_lao_health_insurance_terms_of_reference_2019"
COPIED = "es_guatemala_honduras_maternidad_2016"  # added twice: the file, and a copy under another name
SAVED_AS = "pt_cabo_verde_pensoes_sociais_2013"  # added again as the plain text of its blocks
CORRECTED = "fr_senegal_burkina_economie_informelle_2015"  # a reviewer corrects its description


def evaluations() -> list[Path]:
    """The example reports that are evaluations (all but the terms of reference)."""
    return [p for p in examples() if "terms_of_reference" not in p.name]


_BUILT: dict[str, Review] = {}


def build_screened_examples(tmp_path_factory) -> Review:
    """The screened review of the examples, the unseen fixtures and the made-up cases (once per process)."""
    if "review" in _BUILT:
        return _BUILT["review"]
    root = tmp_path_factory.mktemp("screen-examples")
    extra = root / "extra"
    extra.mkdir()
    shutil.copyfile(example(COPIED), extra / "copia-guatemala.md")
    (extra / "sv-report.txt").write_text(SWEDISH, encoding="utf-8")
    (extra / "off-topic.txt").write_text(OFF_TOPIC, encoding="utf-8")
    (extra / "empty.pdf").write_bytes(b"")
    review = Review.create(root / "review", "ilo-social-protection")
    review.add(examples() + unseen() + sorted(extra.iterdir()), jobs=2)
    from whatworks.read import read_document

    text = "\n\n".join(b.text for b in read_document(example(SAVED_AS)).blocks)
    (extra / "cabo-verde-saved-as.txt").write_text(text, encoding="utf-8")
    review.add([extra / "cabo-verde-saved-as.txt"], jobs=1)
    review.screen()
    _BUILT["review"] = review
    return review


@pytest.fixture(scope="session")
def screened(tmp_path_factory) -> Review:
    return build_screened_examples(tmp_path_factory)


def by_name(review: Review) -> dict[str, dict]:
    """File stem → the record of `whatworks screen --json`."""
    return {Path(r["source"]).stem: r for r in review.screening()}


def reason(row: dict, criterion: str) -> dict:
    return next(x for x in row["reasons"] if x["criterion"] == criterion)


# --- the machine's decisions ----------------------------------------------------------------------


def test_every_record_is_there(screened: Review):
    rows = screened.screening()
    added = len(examples()) + len(unseen()) + 5  # the copy, the Swedish, the off-topic, the empty, the saved-as
    assert len(rows) == added == len(docs.file_rows(screened.store))
    assert len({r["source"] for r in rows}) == added


def test_evaluations_in_scope_are_included_with_their_evidence(screened: Review):
    r = by_name(screened)
    for path in evaluations():
        row = r[path.stem]
        assert row["decision"] == "include", (path.name, [x for x in row["reasons"] if x["decision"] != "include"])
        assert row["report_id"] and row["report_id"][0] in "EI"
        assert row["quality_score"] >= 0.5
        inclusion = [x for x in row["reasons"] if x["criterion"] in ("I1", "I2", "I3", "I4")
                     and x["decision"] == "include"]
        assert inclusion and inclusion[0]["evidence"]["text"], path.name
        language = reason(row, "language")
        assert language["decision"] == "include" and f"({path.name[:2]})" in language["reason"]
    assert len(set(SC.report_ids(screened.store).values())) == len(evaluations())


def test_other_kinds_are_excluded_on_their_kind(screened: Review):
    tor = by_name(screened)[TOR]
    assert tor["decision"] == "exclude" and tor["stage"] == "eligibility"
    kind = reason(tor, "kind")
    assert kind["decision"] == "exclude" and "terms of reference" in kind["reason"]
    assert kind["evidence"]["text"]


def test_unseen_reports_are_excluded_for_what_their_labels_say(screened: Review):
    """None of the unseen fixtures is an ILO social-protection evaluation of 2012–2018; each exclusion
    names a check its labels fail (kind, year, organisation) or the keyword search."""
    r = by_name(screened)
    labels = unseen_labels()
    stages = set()
    for path in unseen():
        row, label = r[path.stem], labels[path.name]
        assert row["decision"] == "exclude", (path.name, row["stage"])
        stages.add(row["stage"])
        decisive = next(x for x in row["reasons"] if x["decision"] == "exclude")
        if decisive["criterion"] == "kind":
            assert label["kind"] != "evaluation_report", path.name
        elif decisive["criterion"] == "period":
            assert not PERIOD[0] <= label["year"] <= PERIOD[1], (path.name, decisive["reason"])
            assert str(label["year"]) in decisive["reason"] or "period evaluated" in decisive["reason"]
        elif decisive["criterion"] == "organisation":
            assert label.get("organisation") != "ILO", path.name
        else:
            assert decisive["criterion"] == "shortlist" and row["stage"] == "search", (path.name, decisive)
            assert "not found by the keyword search" in decisive["reason"]
    assert {"search", "eligibility"} <= stages


def test_off_topic_report_is_excluded_on_its_content(screened: Review):
    row = by_name(screened)["off-topic"]
    assert reason(row, "shortlist")["decision"] == "include"  # "Social Security" in its annex
    assert reason(row, "organisation")["decision"] == "include" and reason(row, "period")["decision"] == "include"
    assert row["decision"] == "exclude" and row["stage"] == "content"
    content = reason(row, "content")
    assert content["decision"] == "exclude" and "no inclusion criterion met" in content["reason"]
    assert reason(row, "X1")["decision"] == "exclude"


def test_every_exclusion_is_explained(screened: Review):
    for row in screened.screening():
        assert row["decision"] in SC.DECISIONS and row["stage"] in SC.STAGES
        assert row["reasons"], row["source"]
        for x in row["reasons"]:
            assert set(x) == {"criterion", "decision", "reason", "evidence"}
            assert set(x["evidence"]) == {"page", "text"}
        if row["decision"] in ("exclude", "duplicate", "error"):
            decisive = [x for x in row["reasons"] if x["decision"] == "exclude"]
            assert decisive, row["source"]
            assert decisive[0]["reason"], row["source"]
            assert decisive[0]["evidence"]["text"] or decisive[0]["criterion"] in ("language", "period"), decisive[0]
        json.dumps(row)  # the JSON line is serialisable


def test_duplicates_and_errors(screened: Review):
    r = by_name(screened)
    original = r[COPIED]
    copy = r["copia-guatemala"]
    assert original["decision"] == "include"
    assert copy["decision"] == "duplicate" and copy["duplicate_of"] == original["source"]
    assert "same file" in copy["reasons"][0]["reason"]
    saved = r["cabo-verde-saved-as"]
    assert saved["decision"] == "duplicate", saved["reasons"][:2]
    assert saved["duplicate_of"] == r[SAVED_AS]["source"] and "the same report as" in saved["reasons"][0]["reason"]
    assert r[SAVED_AS]["decision"] == "include"
    err = r["empty"]
    assert err["decision"] == "error" and err["stage"] == "error" and "empty" in err["reasons"][0]["reason"]
    assert err["sha256"] not in screened.included()


def test_a_language_not_admitted_is_told(screened: Review):
    sv = by_name(screened)["sv-report"]
    lang = reason(sv, "language")
    assert sv["decision"] == "exclude"
    assert lang["decision"] == "exclude" and "Swedish (sv)" in lang["reason"]


def test_midterm_superseded_by_the_final(screened: Review):
    r = by_name(screened)
    final, mid = r[FINAL], r[MIDTERM]
    code = screened.description(final["sha256"]).value("project_codes")[0]["code"]
    assert code in [c["code"] for c in screened.description(mid["sha256"]).value("project_codes")]
    assert final["decision"] == "include" and final["stage"] == "included"
    assert mid["decision"] == "include" and mid["stage"] == "supplementary"
    why = reason(mid, "supersede")
    assert code in why["reason"] and FINAL in why["reason"]
    assert SC.supplementary(screened.store) == [mid["sha256"]]
    assert mid["sha256"] in screened.included()


# --- people's decisions and corrections ---------------------------------------------------------------


def test_human_decisions_survive_reruns_and_conflicts_wait_for_the_lead(screened: Review, tmp_path: Path):
    review = copy_review(screened, tmp_path / "copy")
    r = by_name(review)
    tor, gis = r[TOR], r[COPIED]
    ids_before = SC.report_ids(review.store)
    amy, lee, bo = User("amy", "reviewer"), User("lee", "lead"), User("bo", "reviewer")
    review.decide(tor["sha256"], "include", "the ToR is all we have of this evaluation", amy)
    review.screen()
    after = by_name(review)[TOR]
    assert after["decision"] == "include" and after["machine_decision"] == "exclude"
    assert after["reasons"][0]["criterion"] == "human" and "amy" in after["reasons"][0]["reason"]
    assert tor["sha256"] in review.included() and SC.report_ids(review.store)[tor["sha256"]]
    # a lead's decision wins over a later reviewer's
    review.decide(gis["sha256"], "exclude", "lead: out of scope", lee)
    review.decide(gis["sha256"], "include", "reviewer: in scope", amy)
    review.screen()
    assert by_name(review)[COPIED]["decision"] == "exclude"
    assert by_name(review)["copia-guatemala"]["decision"] == "duplicate"  # its copy stays a duplicate
    assert len(screening_store.decision_rows(review.store)) == 3  # never deleted by re-runs
    # two reviewers who disagree leave the document in conflict, out of the selection, until a lead decides
    review.decide(tor["sha256"], "exclude", "a ToR is not an evaluation report", bo)
    review.screen()
    assert by_name(review)[TOR]["decision"] == "conflict"
    assert tor["sha256"] not in review.included()
    assert tor["sha256"] in [c["sha256"] for c in review.conflicts()]
    review.resolve(tor["sha256"], "include", "kept as the record of the evaluation", lee)
    assert by_name(review)[TOR]["decision"] == "include"
    assert tor["sha256"] not in [c["sha256"] for c in review.conflicts()]
    # ids are stable: the reports included before keep theirs
    ids_after = SC.report_ids(review.store)
    assert all(ids_after[s] == i for s, i in ids_before.items() if s in ids_after)
    with pytest.raises(ReviewError):
        review.decide(gis["sha256"], "perhaps", "x", amy)
    review.close()


def test_a_correction_screens_its_document_again(screened: Review, tmp_path: Path):
    review = copy_review(screened, tmp_path / "corrected")
    sha = by_name(review)[CORRECTED]["sha256"]
    others = {row["sha256"]: row["decision"] for row in review.screening() if row["sha256"] != sha}
    # a reviewer says the report is a terms of reference: it is excluded on its kind at once
    review.correct(sha, "kind", "kind", "terms_of_reference", reason="the cover says so")
    row = by_name(review)[CORRECTED]
    assert row["decision"] == "exclude" and row["stage"] == "eligibility"
    assert "terms of reference" in reason(row, "kind")["reason"]
    assert sha not in review.included()
    # taking the correction back brings the machine's decision back
    review.correct(sha, "kind", "kind", None)
    assert by_name(review)[CORRECTED]["decision"] == "include"
    # a year outside the period
    review.correct(sha, "metadata", "year", 2005)
    review.correct(sha, "metadata", "period", [2003, 2005])
    row = by_name(review)[CORRECTED]
    period = reason(row, "period")
    assert row["decision"] == "exclude" and period["decision"] == "exclude" and "2012–2018" in period["reason"]
    # other documents were not touched
    assert {row["sha256"]: row["decision"] for row in review.screening() if row["sha256"] != sha} == others
    review.close()


def test_unknown_year_and_another_organisation_are_for_a_reviewer(screened: Review, tmp_path: Path):
    review = copy_review(screened, tmp_path / "unknown")
    sha = by_name(review)[CORRECTED]["sha256"]
    d = review.description(sha)
    assert d.value("year") and d.value("organisation") == "ILO"
    review.correct(sha, "metadata", "year", "")
    review.correct(sha, "metadata", "period", "")
    row = by_name(review)[CORRECTED]
    period = reason(row, "period")
    assert period["decision"] == "maybe" and "cannot be checked" in period["reason"]
    # another organisation, while the report names the ILO on its first pages: a reviewer decides
    review.correct(sha, "metadata", "organisation", "UNICEF")
    row = by_name(review)[CORRECTED]
    org = reason(row, "organisation")
    assert org["decision"] == "maybe" and "ILO is named" in org["reason"] and "UNICEF" in org["reason"]
    assert row["decision"] == "maybe" and sha not in review.included()
    review.close()


# --- the selection outputs ----------------------------------------------------------------------------


def test_flow_counts_add_up(screened: Review, tmp_path: Path):
    c = sel.flow_counts(screened.store)
    rows = screened.screening()
    assert sel.check_flow(c) == []
    assert c["identified"] == len(docs.file_rows(screened.store)) == len(rows)
    assert c["identified"] == c["duplicates"] + c["failed"] + c["screened"]
    assert c["screened"] == c["not_shortlisted"] + c["shortlisted"]
    assert c["shortlisted"] == c["excluded"] + c["maybe"] + c["conflicts"] + c["included"] + c["supplementary"]
    assert c["excluded"] == sum(c["excluded_by_reason"].values())
    # each box is what the records say: two duplicates and the empty file were made for this
    assert c["duplicates"] == 2 and c["failed"] == 1
    assert c["not_shortlisted"] == sum(r["stage"] == "search" for r in rows)
    assert c["included"] == sum(r["decision"] == "include" and r["stage"] == "included" for r in rows)
    assert c["supplementary"] == 1
    assert "Not an admitted kind of document" in c["excluded_by_reason"]
    assert any(label.startswith("Content") for label in c["excluded_by_reason"]), c["excluded_by_reason"]
    # human decisions move records between boxes, and the counts still add up
    review = copy_review(screened, tmp_path / "copy")
    r = by_name(review)
    review.decide(r[TOR]["sha256"], "include", "in scope after all")
    review.decide(r[COPIED]["sha256"], "exclude", "out of scope")
    c2 = sel.flow_counts(review.store)
    assert sel.check_flow(c2) == [] and c2["human_decisions"] == 2
    assert c2["included"] == c["included"] and c2["excluded_by_reason"].get("Excluded by a reviewer") == 1
    review.close()


def test_write_flow(screened: Review, tmp_path: Path):
    c = sel.flow_counts(screened.store)
    paths = write_flow(c, tmp_path)
    assert {"flow.svg", "flow.png", "prisma_flow.csv"} <= {p.name for p in paths}
    assert (tmp_path / "flow.png").stat().st_size > 20_000
    svg = (tmp_path / "flow.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "Records identified" in svg
    with open(tmp_path / "prisma_flow.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"]
    n = {r["data"]: r["n"] for r in rows if r["data"] != "NA"}
    assert int(n["database_results"]) == c["identified"] and int(n["duplicates"]) == c["duplicates"]
    assert int(n["records_screened"]) == c["screened"] and int(n["records_excluded"]) == c["not_shortlisted"]
    assert int(n["dbr_assessed"]) == c["shortlisted"] and int(n["new_reports"]) == c["included_total"]
    parts = [p.rsplit(", ", 1) for p in n["dbr_excluded"].split("; ")]
    assert all(len(p) == 2 and p[1].isdigit() for p in parts)
    assert sum(int(p[1]) for p in parts) + int(n["new_reports"]) == int(n["dbr_assessed"])


def test_matrix_one_row_per_document(screened: Review, tmp_path: Path):
    rows = sel.matrix_rows(screened.store)
    records = screened.screening()
    assert len(rows) == len(records) == len({r["source"] for r in rows})
    zambia = next(r for r in rows if "zambia_tanzania" in r["source"])
    assert zambia["decision"] == "include" and zambia["report_id"]
    assert {c.strip() for c in zambia["countries"].split(";")} == {"ZMB", "TZA"}
    assert zambia["reasons"] and zambia["quality_score"] != "" and zambia["year"] == 2014
    paths = write_matrix(rows, sel.flow_counts(screened.store), tmp_path)
    check_matrix_files(rows, paths, tmp_path)


def test_selection_figures(screened: Review, tmp_path: Path):
    b = sel.selection_breakdown(screened.store)
    c = sel.flow_counts(screened.store)
    assert sum(b["shortlisted"]["Type"].values()) == c["shortlisted"]
    assert sum(b["selected"]["Region"].values()) == c["included_total"]
    africa = sum("Africa" in (screened.description(sha).value("regions_ilo") or [])
                 for sha in screened.included())
    assert africa >= 3 and b["selected"]["Region"]["Africa"] == africa
    paths = write_selection_figures(b, tmp_path)
    assert {p.name for p in paths} == {"figure1_shortlisted.png", "figure1_shortlisted.svg",
                                      "figure3_selected.png", "figure3_selected.svg"}
    assert all(p.stat().st_size > 5_000 for p in paths)
