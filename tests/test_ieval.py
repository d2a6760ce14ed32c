"""i-eval Discovery exports: one record per evaluation, whatever the export's shape, screened like
reports and linked to the full report of the same evaluation (tests/fixtures/ieval, made by its
make.py; the last test reads the real export in ../shared and is skipped without it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from project_fixtures import example

from whatworks.read import ieval

FIX = Path(__file__).parent / "fixtures" / "ieval"


def _by_number(paths) -> dict:
    return {d.value("record"): (doc, d) for doc, d in ieval.read_export(paths)}


def test_workbook_gives_one_record_per_evaluation_with_its_items():
    recs = _by_number([FIX / "export.xlsx"])
    assert sorted(recs) == ["9101", "9102", "9103", "9104", "9105"]
    doc, d = recs["9101"]
    assert d.kind.value == "database_record" and doc.format == "ieval"
    assert doc.source.endswith("export.xlsx#eval=9101")
    assert doc.title == d.value("title") and "domestic workers" in doc.title
    # rows repeated per country are merged: both countries, the one recommendation once
    assert d.value("countries") == ["ZMB", "TZA"]
    assert d.value("year") == 2014 and d.value("timing") == "final" and d.value("evaluator_type") == "independent"
    assert d.value("evaluation_type") == "project" and d.value("themes") == ["Social protection", "Domestic work"]
    assert [c["code"] for c in d.value("project_codes")] == ["RAF/12/07/IRL"]
    assert d.value("url").endswith("eval_id=9101")
    kinds = sorted(i.kind for i in d.items)
    assert kinds == ["good_practice", "lesson_learned", "lesson_learned", "recommendation"]
    gp = next(i for i in d.items if i.kind == "good_practice")
    assert gp.fields["database_id"] == "8001" and gp.fields["language"] == "en"
    assert gp.fields["context"].startswith("Domestic workers were excluded")
    assert gp.fields["impact"].startswith("Social dialogue led")
    rec = next(i for i in d.items if i.kind == "recommendation")
    assert rec.fields["management_response"] == "Completed" and rec.fields["progress"] == "Achieved"
    # each item sits in its section, on its page of the record
    assert d.sections[gp.section_index].kind == "good_practices"
    assert gp.text in doc.text
    # a planned evaluation is a record of another kind; an internal one is internal
    assert recs["9104"][1].kind.value == "evaluation_plan"
    assert recs["9105"][1].value("evaluator_type") == "internal" and not recs["9105"][1].items
    assert recs["9103"][1].items[0].fields["language"] == "pt"


def test_csv_sheets_and_workbook_give_the_same_records():
    xlsx = {n: doc.sha256 for n, (doc, _) in _by_number([FIX / "export.xlsx"]).items()}
    csv_ = {n: doc.sha256 for n, (doc, _) in _by_number(sorted((FIX / "csv").glob("*.csv"))).items()}
    assert csv_ == xlsx


def test_json_lines_of_both_shapes():
    recs = _by_number([FIX / "items.jsonl", FIX / "web.jsonl"])
    assert sorted(recs) == ["9101", "9102", "9103"]
    assert recs["9102"][1].items[0].fields["language"] == "es"
    web = recs["9101"][1].items[0]
    assert web.kind == "lesson_learned" and web.fields["success"] == "Ownership by the institutions."
    assert web.fields["database_id"] == "6001" and "challenges" not in web.fields  # "N/A" is no value
    # the same items met again in the workbook are kept once
    both = _by_number([FIX / "export.xlsx", FIX / "items.jsonl", FIX / "web.jsonl"])
    assert len(both["9101"][1].items) == 4 and len(both["9102"][1].items) == 1


def test_is_export_tells_exports_from_reports(tmp_path: Path):
    assert ieval.is_export(FIX / "export.xlsx")
    assert ieval.is_export(FIX / "csv" / "sheet5.csv") and ieval.is_export(FIX / "items.jsonl")
    assert not ieval.is_export(example("en_zambia"))  # a DOCX is a zip too
    assert not ieval.is_export(example("en_asean_unemployment_insurance_final"))
    other = tmp_path / "other.csv"
    other.write_text("name,value\na,1\n", encoding="utf-8")
    assert not ieval.is_export(other)


def test_review_screens_records_and_links_the_full_report(tmp_path: Path):
    from whatworks.api import Review

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(FIX / "export.xlsx", folder / "export.xlsx")
    shutil.copy(example("en_zambia"), folder / "zambia.docx")
    with Review.create(tmp_path / "r", protocol="ilo-social-protection") as r:
        added = r.add([folder])
        assert added.read == 6 and added.failed == 0
        r.screen()
        rows = {row["record"] or "report": row for row in r.screening()}
        assert set(rows) == {"9101", "9102", "9103", "9104", "9105", "report"}
        assert rows["9101"]["title"].startswith("Extending social security")
        # the record of the evaluation whose report is there is counted once: as the report
        assert rows["9101"]["decision"] == "duplicate" and rows["9101"]["duplicate_of"].endswith("zambia.docx")
        why = next(c["reason"] for c in rows["9101"]["reasons"] if c["criterion"] == "duplicate")
        assert "RAF/12/07/IRL" in why
        assert rows["report"]["decision"] == "include"
        # out of the period; a plan, not an evaluation
        assert rows["9103"]["decision"] == "exclude" and rows["9103"]["stage"] == "eligibility"
        assert rows["9104"]["decision"] == "exclude"
        # nothing in the database to appraise, but its title and the ILO's themes both say social security
        assert rows["9105"]["decision"] == "include" and rows["9105"]["quality_score"] is None
        assert rows["9102"]["decision"] == "exclude"
        # adding again reads nothing
        again = r.add([folder])
        assert again.read == 0 and again.unchanged == 6
        assert json.dumps(rows["9105"], ensure_ascii=False)


def test_record_without_its_report_is_included(tmp_path: Path):
    from whatworks.api import Review

    with Review.create(tmp_path / "r", protocol="ilo-social-protection") as r:
        r.add([FIX / "csv"])
        r.screen()
        rows = {row["record"]: row for row in r.screening()}
        assert rows["9101"]["decision"] == "include", rows["9101"]["reasons"]
        met = {c["criterion"] for c in rows["9101"]["reasons"] if c["decision"] == "include"}
        assert {"I5", "Q5", "Q6"} <= met


def _sheet5_with(tmp_path: Path, number: str, title: str, themes: str) -> Path:
    """The fixture's evaluations sheet alone, with one evaluation's title and themes changed."""
    import csv

    with (FIX / "csv" / "sheet5.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["Evaluation number"] == number:
            row["Evaluation title"], row["Theme(s)"] = title, themes
    out = tmp_path / "sheet5.csv"
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return out


@pytest.mark.parametrize(("title", "themes", "decision"), [
    ("Social security reform in Viet Nam - Final internal evaluation", "Social security", "include"),
    ("Social security reform in Viet Nam - Final internal evaluation", "Labour administration", "maybe"),
    ("Labour market reform in Viet Nam - Final internal evaluation", "Social security", "maybe"),
])
def test_record_without_entries_is_judged_on_its_metadata(tmp_path: Path, title: str, themes: str, decision: str):
    """A record holding no recommendation, lesson or good practice is not appraised on quality (the
    report may hold them): it is included when its title and the ILO's themes both state social
    protection (the protocol's `without_entries`), and the reason names the fields read."""
    from whatworks.api import Review

    sheet = _sheet5_with(tmp_path, "9105", title, themes)
    with Review.create(tmp_path / "r", protocol="ilo-social-protection") as r:
        r.add([sheet])
        r.screen()
        row = next(row for row in r.screening() if row["record"] == "9105")
        assert row["decision"] == decision, row["reasons"]
        why = next(c["reason"] for c in row["reasons"] if c["criterion"] == "quality")
        assert why.startswith("not appraised: the database holds none") and row["quality_score"] is None
        if decision == "include":
            assert "I5 (themes): Social security" in why and "I7 (title)" in why
        else:
            assert row["stage"] == "quality" and "a reviewer decides" in why
    # a record that holds entries is appraised on them as before
    with Review.create(tmp_path / "r2", protocol="ilo-social-protection") as r:
        r.add([FIX / "csv"])
        r.screen()
        row = next(row for row in r.screening() if row["record"] == "9101")
        assert row["quality_score"] == 1.0


def test_adding_an_export_tells_progress(tmp_path: Path):
    """`whatworks add` shows the bar it shows for files while an export is read and stored: a round
    for the export's files (read as one), then one per record."""
    from whatworks.api import Review

    calls: list[tuple[str | None, int, int]] = []
    with Review.create(tmp_path / "r", protocol="ilo-social-protection") as r:
        r.add([FIX / "export.xlsx"], progress=lambda res, done, total: calls.append(
            (res.path if res is not None else None, done, total)))
    assert calls[:2] == [(None, 0, 1), (str(FIX / "export.xlsx"), 1, 1)]
    assert calls[2] == (None, 0, 5)
    records = calls[3:8]
    assert [c[1] for c in records] == [1, 2, 3, 4, 5] and all("#eval=" in c[0] for c in records)
    assert calls[8:] == [(None, 0, 0)]  # then the other files: none here


def test_real_export_counts(shared: Path):
    records = ieval.read_records([shared / "corpus" / "ilo-ieval" / "EvalDataset.xlsx"])
    done = [r for r in records if r.sheets != {"planned"}]
    assert len(done) == 1699  # 2,112 rows of `Data (5)`: one per evaluation and country
    kinds = {}
    for r in records:
        for i in r.items:
            kinds[i.kind] = kinds.get(i.kind, 0) + 1
    # 4,404 / 2,276 / 3,746 rows, one per item and country; one good practice has no text
    assert kinds == {"recommendation": 3007, "good_practice": 1511, "lesson_learned": 2790}
    seed = {r.number: r for r in records}["1183"]
    assert "Social protection" in seed.themes and seed.symbols == ["CMB/09/04/SPA"]


@pytest.mark.parametrize("name", ["ilo/ieval_sample.jsonl", "ilo-ieval/ieval_items_es_fr_pt.jsonl"])
def test_real_json_lines_are_records(shared: Path, name: str):
    recs = ieval.read_records([shared / "corpus" / name])
    assert recs and all(r.items for r in recs)
    assert all(not r.meta.get("Evaluation title", "").startswith("{") for r in recs)


def test_reading_an_export_as_one_report_says_what_to_do():
    from whatworks.errors import ReadError
    from whatworks.read import read_document

    with pytest.raises(ReadError) as e:
        read_document(FIX / "export.xlsx")
    assert e.value.code == "database_export" and "whatworks add" in e.value.fix


def test_synthesis_of_records_links_each_evaluation(tmp_path: Path):
    from whatworks.api import Review

    with Review.create(tmp_path / "r", protocol="ilo-social-protection") as r:
        r.add([FIX / "csv"])
        r.screen()
        r.code()
        s = r.synthesize()
        info = next(rep for rep in s.reports if rep.path.endswith("#eval=9101"))
        assert info.url.endswith("eval_id=9101") and info.regions == ["Africa"] and info.timing == "final"
        assert info.items_by_kind == {"recommendation": 1, "good_practice": 1, "lesson_learned": 2}
        paths = r.report(s, formats=["md"])
        md = next(p for p in paths if p.suffix == ".md").read_text(encoding="utf-8")
        annex = md.split("## Annex I. Reports reviewed", 1)[1]
        assert "<https://webapps.ilo.org/ievaldiscovery/#eval_id=9101>" in annex and "(RAF/12/07/IRL)" in annex
        short_list = md.split("Annex II. Short-listed reports", 1)[1].split("\n## ", 1)[0]
        assert "| Title | Link |" in short_list and "ievaldiscovery" in short_list  # the seed's Annex II columns
        from whatworks.selection import matrix_rows

        row = next(m for m in matrix_rows(r.store) if m["source"].endswith("#eval=9101"))
        assert row["link"].endswith("eval_id=9101") and row["kind"] == "database_record"


def test_workspace_opens_a_record_like_a_report(tmp_path: Path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from whatworks.api import Review
    from whatworks.web.app import create_app

    with Review.create(tmp_path / "r", protocol="ilo-social-protection") as r:
        r.add([FIX / "csv"])
        r.screen()
        sha = next(d["sha256"] for d in r.documents() if d["source"].endswith("#eval=9101"))
    with TestClient(create_app(tmp_path / "r"), base_url="http://127.0.0.1") as client:
        text = client.get(f"/doc/{sha}?p=3").text
        assert "Extending social security to domestic workers" in text and "lesson_learned" in text.replace(" ", "_")
        assert "Political will and ownership" in text
        screen = client.get(f"/screen?sha={sha}").text
        assert "I5" in screen and "shortlist" in screen


def test_same_evaluation_by_number_code_or_title():
    from whatworks.screen import _Light, same_evaluation

    def light(sha, kind, title, codes=(), timing="final", record=None, chars=1000):
        return _Light(sha, f"{sha}.src", "ieval" if kind == "database_record" else "pdf", title, chars, 2015, 0.0,
                      timing, "independent", "project", list(codes), kind, record)

    lights = {x.sha256: x for x in [
        light("rep", "evaluation_report", "Building social protection floors in Zambia", ["ZAM/12/01/IRL"]),
        light("r1", "database_record", "Building social protection floors in Zambia - Final evaluation",
              record="1"),  # no code: the title links it
        light("r2", "database_record", "Something else entirely in Peru", ["ZAM/12/01/IRL"], record="2"),
        light("r3", "database_record", "Something else entirely in Peru", ["ZAM/12/01/IRL"], "midterm",
              record="3"),  # the same project, another evaluation (its midterm)
        light("r4", "database_record", "A record seen twice", record="4", chars=500),
        light("r5", "database_record", "A record seen twice", record="4", chars=900),
    ]}
    linked = same_evaluation(lights, {})
    assert linked["r1"][0] == "rep" and "near-identical title" in linked["r1"][1]
    assert linked["r2"][0] == "rep" and "ZAM/12/01/IRL" in linked["r2"][1]
    assert "r3" not in linked and "r5" not in linked and "rep" not in linked
    assert linked["r4"][0] == "r5" and "number 4" in linked["r4"][1]


def test_csv_saved_by_a_spreadsheet_and_long_json_lines(tmp_path: Path):
    import csv as csv_

    # a European Excel's CSV: semicolons, Windows-1252
    src = FIX / "csv" / "sheet5.csv"
    rows = list(csv_.reader(src.open(encoding="utf-8")))
    rows[1][1] = "Extensión de la seguridad social – evaluación final"
    target = tmp_path / "evaluations.csv"
    with target.open("w", encoding="cp1252", newline="") as f:
        csv_.writer(f, delimiter=";").writerows(rows)
    assert ieval.is_export(target)
    recs = _by_number([target])
    assert recs["9101"][1].value("title") == "Extensión de la seguridad social – evaluación final"
    assert recs["9101"][1].value("countries") == ["ZMB", "TZA"]
    # a JSON line longer than the first 8 KB read
    line = json.loads((FIX / "items.jsonl").read_text(encoding="utf-8").splitlines()[0])
    line["Recommendation description"] = "Fortalecer la protección social. " * 600
    long = tmp_path / "long.jsonl"
    long.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    assert ieval.is_export(long) and len(_by_number([long])["9102"][1].items[0].text) > 8192


def test_an_updated_export_replaces_its_records(tmp_path: Path):
    from whatworks.api import Review

    folder = tmp_path / "in"
    shutil.copytree(FIX / "csv", folder)
    with Review.create(tmp_path / "r", protocol="ilo-social-protection") as r:
        r.add([folder])
        r.screen()
        lessons = folder / "sheet4.csv"
        lessons.write_text(lessons.read_text(encoding="utf-8").replace("Political will", "Strong political will"),
                           encoding="utf-8")
        again = r.add([folder])
        assert again.read == 1 and again.unchanged == 4  # only the record whose rows changed
        r.screen()
        rows = [row for row in r.screening() if row["record"] == "9101"]
        assert len(rows) == 1 and rows[0]["decision"] == "include"
        d = r.description(rows[0]["sha256"])
        assert any(i.text.startswith("Strong political will") for i in d.items)
