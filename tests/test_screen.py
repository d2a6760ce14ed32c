"""Screening on real reports: every decision explained, duplicates found, humans kept on re-runs.

The Canada corpus only: without it the module is skipped, and test_screen_examples.py screens the
project's own reports for the same behaviour."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from project_fixtures import NO_CORPUS, copy_review, have_corpus

from whatworks import corrections
from whatworks import screen as SC
from whatworks.api import Review
from whatworks.errors import ReviewError
from whatworks.model import Description, Value
from whatworks.project import builtin_protocols
from whatworks.protocol import load_protocol
from whatworks.store import documents as docs
from whatworks.store import selection as screening_store
from whatworks.team import User

if not have_corpus():
    pytest.skip(f"{NO_CORPUS}; test_screen_examples.py screens the example reports", allow_module_level=True)

CANADA = {
    # relevant: evaluations of federal social security programmes
    "esdc_021": "Evaluation of the Employment Insurance Maternity and Parental Benefits  - Canada.ca.html",
    "esdc_034": "Evaluation of Canada Pension Plan Disability – Reassessment Element  - Canada.ca.html",
    "esdc_085": "Evaluation of the Guaranteed Income Supplement  - Canada.ca.html",
    "esdc_103": "Evaluation of the Federal Workers' compensation service - Canada.ca.html",
    "esdc_169": "Evaluation of the Work-Sharing program, April 4, 2016 - Canada.ca.html",
    # borderline
    "esdc_036": "Evaluation of the Wage Earner Protection Program - Canada.ca.html",
    # not in scope
    "esdc_114": "Evaluation of the Canada – Manitoba Labour Market Development Agreement - Canada.ca.html",
    "esdc_157": "Evaluation of the Canada Apprentice Loan - Phase 1 - Canada.ca.html",
    "esdc_101": "Evaluation of the Opportunities Fund for Persons with Disabilities – Phase I - Canada.ca.html",
    "esdc_163": "2016 Evaluation of the Targeted Initiative for Older Workers - Canada.ca.html",
    "esdc_060": "Evaluation of the New Horizons for Seniors Program - Canada.ca.html",
    "esdc_029": "Departmental Evaluation Plan 2022 to 2027 - Canada.ca.html",
    "cra_036": "Evaluation study – Electronic services – Individual compliance behaviour – Tax return filing - Canada.ca.html",
    "cra_189": "Regional Audit of Assessment and Client Services Tax Centre Program Performance Management - Canada.ca.html",
    "hc_038": "Evaluation of the Thalidomide Survivors Contribution Program 2015 to 2019 - Canada.ca.html",
    "hc_086": "Evaluation of Health Canada-s Radiation Protection Activities 2010-2011 to 2014-2015 - Canada.ca.html",
    "hc_087": "Evaluation of Health Canada-s Radiation Protection Activities 2010-2011 to 2014-2015 - Canada.ca.html",
    "nrc_047": "IMPLEMENTATION OF THE EXTRACTIVE SECTOR TRANSPARENCY MEASURES ACT JOINT AUDIT & EVALUATION.html",
}
RELEVANT = ("esdc_021", "esdc_034", "esdc_085", "esdc_103", "esdc_169")
OUT_OF_SCOPE = ("esdc_114", "esdc_157", "esdc_101", "esdc_163", "esdc_060", "cra_036", "hc_038")
IOM = ["iom/8faad6edb0414cfc8f35415a93726e36/CS1137-CS1138_Evaluation Brief_Javier SANCHEZ MARTI.pdf",
       "iom/6c3c2cf3fa479112967612b0baddab72/AAP Evaluation - Management Response Final.docx"]
SWEDISH = """Utvärdering av projektet för socialförsäkring i Kenya

Sammanfattning

Utvärderingen visar att projektet har bidragit till att stärka det sociala skyddet för arbetstagare inom
den informella sektorn. Rekommendationerna gäller främst finansieringen av pensionssystemet och
samordningen mellan myndigheterna. Arbetslöshetsförsäkringen bör byggas ut stegvis under de kommande åren.
"""


def canada(corpus: Path, key: str) -> Path:
    return corpus / "canada" / f"{key}_{CANADA[key]}"


_BUILT: dict[Path, Review] = {}


def build_screened_project(corpus: Path, tmp_path_factory) -> Review:
    """One real project for the screen and selection tests (built once per session)."""
    if corpus in _BUILT:
        return _BUILT[corpus]
    root = tmp_path_factory.mktemp("screen")
    extra = root / "extra"
    extra.mkdir(parents=True)
    # the same file under another name, the same page saved as text, a Swedish report, an empty file
    shutil.copyfile(canada(corpus, "esdc_085"), extra / "gis-copy.html")
    (extra / "sv-report.txt").write_text(SWEDISH, encoding="utf-8")
    (extra / "empty.pdf").write_bytes(b"")
    review = Review.create(root / "review", "canada-social-security")
    files = [canada(corpus, k) for k in CANADA] + [corpus / p for p in IOM] + sorted(extra.iterdir())
    review.add(files, jobs=2)
    from whatworks.read import read_document

    text = "\n\n".join(b.text for b in read_document(canada(corpus, "esdc_085")).blocks)
    (extra / "gis-saved-as.txt").write_text(text, encoding="utf-8")
    review.add([extra / "gis-saved-as.txt"], jobs=1)
    review.screen()
    _BUILT[corpus] = review
    return review


@pytest.fixture(scope="session")
def screened(corpus: Path, tmp_path_factory) -> Review:
    return build_screened_project(corpus, tmp_path_factory)


def results_by_key(review: Review) -> dict[str, dict]:
    out = {}
    for r in review.screening():
        name = Path(r["source"]).name
        m = re.match(r"(esdc|cra|hc|nrc)_\d{3}", name)
        out[m.group(0) if m else name] = r
    return out


def test_decisions_on_real_reports(screened: Review):
    rows = screened.screening()
    assert len(rows) == len(CANADA) + len(IOM) + 4
    r = results_by_key(screened)
    for key in RELEVANT:
        assert r[key]["decision"] in ("include", "maybe"), (key, r[key]["reasons"][:3])
    assert sum(r[k]["decision"] == "include" for k in RELEVANT) >= 4
    for key in OUT_OF_SCOPE:
        assert r[key]["decision"] == "exclude", (key, r[key]["stage"])
    # an active labour market programme is excluded on its subject, with the title as evidence
    lmda = r["esdc_114"]
    assert lmda["stage"] == "content"
    x1 = next(x for x in lmda["reasons"] if x["criterion"] == "C-X1")
    assert "Labour Market Development Agreement" in x1["evidence"]["text"]
    # an evaluation plan is not an evaluation report
    plan = r["esdc_029"]
    assert plan["decision"] == "exclude"
    assert any(x["criterion"] == "kind" and x["decision"] == "exclude" and "evaluation plan" in x["reason"]
               for x in plan["reasons"])
    # IOM reports are not found by the Canadian queries
    for name in ("CS1137-CS1138_Evaluation Brief_Javier SANCHEZ MARTI.pdf",
                 "AAP Evaluation - Management Response Final.docx"):
        assert r[name]["decision"] == "exclude" and r[name]["stage"] == "search"
    # included reports were appraised, with a score and the evidence of their recommendations
    gis = r["esdc_085"]
    assert gis["decision"] == "include" and gis["stage"] == "included" and gis["quality_score"] >= 0.5
    assert any(x["criterion"] == "C-I1" and "Guaranteed Income Supplement" in x["evidence"]["text"]
               for x in gis["reasons"])
    assert gis["report_id"] and gis["report_id"][0] in "EI"


def test_every_exclusion_is_explained(screened: Review):
    for row in screened.screening():
        assert row["decision"] in SC.DECISIONS and row["stage"] in SC.STAGES
        assert row["reasons"], row["source"]
        for reason in row["reasons"]:
            assert set(reason) == {"criterion", "decision", "reason", "evidence"}
            assert set(reason["evidence"]) == {"page", "text"}
        if row["decision"] in ("exclude", "duplicate", "error"):
            decisive = [x for x in row["reasons"] if x["decision"] == "exclude"]
            assert decisive, row["source"]
            assert all(x["reason"] and (x["evidence"]["text"] or x["criterion"] in ("language", "period"))
                       for x in decisive[:1]), (row["source"], decisive[0])
        json.dumps(row)  # the JSON line is serialisable


def test_duplicates_and_errors(screened: Review):
    r = results_by_key(screened)
    copy = r["gis-copy.html"]
    assert copy["decision"] == "duplicate" and "esdc_085" in copy["duplicate_of"]
    assert "same file" in copy["reasons"][0]["reason"]
    text = r["gis-saved-as.txt"]
    assert text["decision"] == "duplicate", text["reasons"][:2]
    assert "esdc_085" in text["duplicate_of"] and "the same report as" in text["reasons"][0]["reason"]
    # two downloads of the same Health Canada page: one kept, one duplicate naming it
    pair = [r["hc_086"], r["hc_087"]]
    assert sorted(p["decision"] for p in pair) == ["duplicate", "exclude"]
    dup = next(p for p in pair if p["decision"] == "duplicate")
    kept = next(p for p in pair if p["decision"] != "duplicate")
    assert dup["duplicate_of"] == kept["source"] and Path(kept["source"]).name in dup["reasons"][0]["reason"]
    err = r["empty.pdf"]
    assert err["decision"] == "error" and err["stage"] == "error" and "empty" in err["reasons"][0]["reason"]


def test_language_is_told(screened: Review):
    sv = results_by_key(screened)["sv-report.txt"]
    lang = [x for x in sv["reasons"] if x["criterion"] == "language"]
    # whatever stage excluded it, the language check says which language it is in
    assert lang and lang[0]["decision"] == "exclude" and "Swedish (sv)" in lang[0]["reason"]


def test_human_decision_survives_rerun(screened: Review, tmp_path: Path):
    review = copy_review(screened, tmp_path / "copy")
    r = results_by_key(review)
    lmda, gis = r["esdc_114"], r["esdc_085"]
    ids_before = SC.report_ids(review.store)
    amy, lee, bo = User("amy", "reviewer"), User("lee", "lead"), User("bo", "reviewer")
    review.decide(lmda["sha256"], "include", "EI Part II is in scope for us", amy)
    review.screen()
    after = results_by_key(review)["esdc_114"]
    assert after["decision"] == "include" and after["machine_decision"] == "exclude"
    assert after["reasons"][0]["criterion"] == "human" and "amy" in after["reasons"][0]["reason"]
    assert lmda["sha256"] in review.included() and SC.report_ids(review.store)[lmda["sha256"]]
    # a lead's decision wins over a later reviewer's
    review.decide(gis["sha256"], "exclude", "lead: out of scope", lee)
    review.decide(gis["sha256"], "include", "reviewer: in scope", amy)
    review.screen()
    assert results_by_key(review)["esdc_085"]["decision"] == "exclude"
    assert len(screening_store.decision_rows(review.store)) == 3  # never deleted by re-runs
    # two reviewers who disagree leave the document in conflict, out of the selection, until a lead decides
    review.decide(lmda["sha256"], "exclude", "the pilot is EI Part I, out of scope", bo)
    review.screen()
    assert results_by_key(review)["esdc_114"]["decision"] == "conflict"
    assert lmda["sha256"] not in review.included()
    review.resolve(lmda["sha256"], "include", "Part II measures are in scope", lee)
    assert results_by_key(review)["esdc_114"]["decision"] == "include"
    # ids are stable: the reports included before keep theirs
    ids_after = SC.report_ids(review.store)
    assert all(ids_after[s] == i for s, i in ids_before.items() if s in ids_after)
    with pytest.raises(ReviewError):
        review.decide(gis["sha256"], "perhaps", "x", amy)
    review.close()


def test_midterm_superseded_by_final(screened: Review, tmp_path: Path):
    review = copy_review(screened, tmp_path / "mid")
    r = results_by_key(review)
    final, mid = r["esdc_021"]["sha256"], r["esdc_169"]["sha256"]
    for sha, timing in ((final, "final"), (mid, "midterm")):
        d = docs.description(review.store, sha)
        d.metadata["timing"] = Value(timing, 0.9)
        d.metadata["project_codes"] = Value([{"code": "CAN/16/01/ESP", "system": "ilo"}], 0.9)
        corrections.save_description(review.store, sha, Description.from_dict(d.to_dict()))
    review.screen()
    r = results_by_key(review)
    assert r["esdc_169"]["decision"] == "include" and r["esdc_169"]["stage"] == "supplementary"
    why = next(x for x in r["esdc_169"]["reasons"] if x["criterion"] == "supersede")
    assert "CAN/16/01/ESP" in why["reason"] and "esdc_021" in why["reason"]
    assert r["esdc_021"]["stage"] == "included"
    assert mid in review.included() and SC.supplementary(review.store) == [mid]
    review.close()


def test_other_protocol_and_unknown_year(screened: Review, tmp_path: Path):
    """The ILO protocol on the same reports: organisation and period checks, unknown year → maybe."""
    review = copy_review(screened, tmp_path / "ilo")
    ilo = load_protocol(builtin_protocols()["ilo-social-protection"])
    r = results_by_key(review)
    sha = r["esdc_085"]["sha256"]
    d = docs.description(review.store, sha)
    d.metadata.pop("year", None)
    d.metadata.pop("period", None)
    corrections.save_description(review.store, sha, d)
    SC.screen(review.store, ilo)
    rows = {x["criterion"]: x for x in review.screening() if x["sha256"] == sha for x in x["reasons"]}
    assert rows["period"]["decision"] == "maybe" and "cannot be checked" in rows["period"]["reason"]
    assert rows["organisation"]["decision"] == "exclude" and "ILO" in rows["organisation"]["reason"]
    review.close()
