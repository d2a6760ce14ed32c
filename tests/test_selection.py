"""Selection outputs: the PRISMA flow adds up, the matrix has a row per document, figures are written.

On the Canada corpus (test_screen.py's review); without it the module is skipped, and
test_screen_examples.py checks the same outputs on the project's own reports."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from project_fixtures import NO_CORPUS, check_matrix_files, copy_review, have_corpus

from whatworks import selection as sel
from whatworks.api import Review
from whatworks.report.excel import write_matrix
from whatworks.report.flow import write_flow, write_selection_figures
from whatworks.store import documents as docs

if not have_corpus():
    pytest.skip(f"{NO_CORPUS}; test_screen_examples.py checks the selection outputs on the example reports",
                allow_module_level=True)

from test_screen import build_screened_project  # noqa: E402 - a sibling test module


@pytest.fixture(scope="session")
def screened(corpus: Path, tmp_path_factory) -> Review:
    return build_screened_project(corpus, tmp_path_factory)


def test_flow_counts_add_up(screened: Review, tmp_path: Path):
    c = sel.flow_counts(screened.store)
    assert sel.check_flow(c) == []
    assert c["identified"] == len(docs.file_rows(screened.store))
    assert c["identified"] == c["duplicates"] + c["failed"] + c["screened"]
    assert c["screened"] == c["not_shortlisted"] + c["shortlisted"]
    assert c["shortlisted"] == c["excluded"] + c["maybe"] + c["conflicts"] + c["included"] + c["supplementary"]
    assert c["excluded"] == sum(c["excluded_by_reason"].values())
    assert c["duplicates"] == 3 and c["failed"] == 1
    assert c["included"] >= 4 and c["not_shortlisted"] >= 2
    assert any(label.startswith("Content C-X1") for label in c["excluded_by_reason"])
    assert "Not an admitted kind of document" in c["excluded_by_reason"]
    # human decisions move records between boxes, and the counts still add up
    review = copy_review(screened, tmp_path / "copy")
    rows = {Path(r["source"]).name[:8]: r for r in review.screening()}
    review.decide(rows["esdc_114"]["sha256"], "include", "in scope after all")
    review.decide(rows["esdc_085"]["sha256"], "exclude", "out of scope")
    c2 = sel.flow_counts(review.store)
    assert sel.check_flow(c2) == [] and c2["human_decisions"] == 2
    assert c2["included"] == c["included"] and c2["excluded_by_reason"].get("Excluded by a reviewer") == 1
    review.close()


def test_write_flow(screened: Review, tmp_path: Path):
    paths = write_flow(sel.flow_counts(screened.store), tmp_path)
    names = {p.name for p in paths}
    assert {"flow.svg", "flow.png", "prisma_flow.csv"} <= names
    assert (tmp_path / "flow.png").stat().st_size > 20_000
    svg = (tmp_path / "flow.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "Records identified" in svg
    with open(tmp_path / "prisma_flow.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"]
    n = {r["data"]: r["n"] for r in rows if r["data"] != "NA"}
    c = sel.flow_counts(screened.store)
    assert int(n["database_results"]) == c["identified"] and int(n["duplicates"]) == c["duplicates"]
    assert int(n["records_screened"]) == c["screened"] and int(n["records_excluded"]) == c["not_shortlisted"]
    assert int(n["dbr_assessed"]) == c["shortlisted"] and int(n["new_reports"]) == c["included_total"]
    # the excluded box: "reason, n; reason, n", every n a number, adding up with the included
    parts = [p.rsplit(", ", 1) for p in n["dbr_excluded"].split("; ")]
    assert all(len(p) == 2 and p[1].isdigit() for p in parts)
    assert sum(int(p[1]) for p in parts) + int(n["new_reports"]) == int(n["dbr_assessed"])


def test_matrix_one_row_per_document(screened: Review, tmp_path: Path):
    rows = sel.matrix_rows(screened.store)
    records = len(screened.screening())
    assert len(rows) == records == len({r["source"] for r in rows})
    gis = next(r for r in rows if "esdc_085" in r["source"])
    assert gis["decision"] == "include" and gis["report_id"] and gis["countries"] == "CAN"
    assert gis["reasons"] and gis["quality_score"] != "" and gis["year"]
    paths = write_matrix(rows, sel.flow_counts(screened.store), tmp_path)
    check_matrix_files(rows, paths, tmp_path)


def test_selection_figures(screened: Review, tmp_path: Path):
    b = sel.selection_breakdown(screened.store)
    c = sel.flow_counts(screened.store)
    assert sum(b["shortlisted"]["Type"].values()) == c["shortlisted"]
    assert sum(b["selected"]["Region"].values()) == c["included_total"]
    assert b["selected"]["Region"]["Americas"] >= 4
    paths = write_selection_figures(b, tmp_path)
    assert {p.name for p in paths} == {"figure1_shortlisted.png", "figure1_shortlisted.svg",
                                      "figure3_selected.png", "figure3_selected.svg"}
    assert all(p.stat().st_size > 2_000 for p in paths)
