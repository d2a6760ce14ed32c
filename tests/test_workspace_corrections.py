"""Reviewers' corrections reach the outputs, and survive re-runs of the machine's stages.

A metadata value, the kind, a section or an item corrected in the workspace is what the search
facets, coding, the synthesis, the selection matrix and the reports use (one place:
`Database.effective_description` / `workspace.corrected_description`, and the `items` rows).
Re-running add, describe or screen keeps every correction; one whose machine value changed under
it is flagged for a second look, and an item correction follows its item when a re-run renumbers
or rewrites it.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from web_helpers import canada_files, copy_project

from whatworks import search
from whatworks import workspace as ws
from whatworks.model import Item, Value
from whatworks.project import Project

LEAD = ws.User("lena", "lead")
#: One sentence of esdc_021's second finding, verbatim on its page: the reviewer trims the item to it.
TRIMMED = "The participation rate of male parents was relatively low over the study period (below 13%)."


@pytest.fixture()
def review(corpus: Path, tmp_path: Path) -> Path:
    return copy_project(corpus, tmp_path / "review")


def sha_of(db, prefix: str) -> str:
    return next(r["sha256"] for r in db.query("SELECT sha256, source FROM documents")
                if Path(r["source"]).name.startswith(prefix))


def machine_item(description, i: int) -> dict:
    it = description.items[i]
    return {"kind": it.kind, "text": it.text, "page": it.page}


def correct_year_country_item(db, sha: str) -> None:
    """What a reviewer does on the document page: year, countries, and item 1 trimmed and re-kinded."""
    machine = db.description(sha)
    assert machine.value("year") != 2011 and TRIMMED in machine.items[1].text
    ws.correct(db, sha, "metadata", "year", 2011, LEAD, machine.value("year"), "the cover page says 2011")
    ws.correct(db, sha, "metadata", "countries", ["NOR"], LEAD, machine.value("countries"))
    ws.correct(db, sha, "item", "1", {"kind": "lesson_learned", "text": TRIMMED, "page": machine.items[1].page},
               LEAD, machine_item(machine, 1))


def test_corrections_reach_the_matrix_and_the_synthesis(review: Path):
    from whatworks.review import write_outputs

    from whatworks.coding import code_db, effective_codes, item_key, scope_shas
    from whatworks.selection import matrix_rows
    from whatworks.synthesize import synthesize

    project = Project.open(review)
    db = project.db
    sha = sha_of(db, "esdc_021")
    machine = db.description(sha)
    lessons_before = sum(1 for it in machine.items if it.kind == "lesson_learned")
    correct_year_country_item(db, sha)

    # the derived rows follow in the correction's transaction: items (coding, synthesis) and search facets
    assert tuple(db.one("SELECT kind, text FROM items WHERE sha256 = ? AND idx = 1", (sha,))) == ("lesson_learned", TRIMMED)
    assert search.facet_row(db, sha)["year"] == 2011 and search.facet_row(db, sha)["countries"] == "|NOR|"
    assert any(h.sha256 == sha for h in search.search(db, "parental", year=2011, country="NOR"))
    assert not any(h.sha256 == sha for h in search.search(db, "parental", year=machine.value("year")))
    assert db.description(sha).value("year") == machine.value("year")  # the machine's description is untouched
    assert db.effective_description(sha).value("year") == 2011

    # `whatworks code` codes the corrected text; a reviewer adds a theme to it in the workspace
    code_db(db, project.codebook(), scope_shas(db), use_embeddings=False)
    theme = project.codebook().themes[0]
    ws.record_coding(db, sha, 1, [theme.id], LEAD, [])
    assert any(c.idx == 1 and c.text == TRIMMED and c.theme == theme.id for c in effective_codes(db, [sha]))
    assert not any(c.item_key == item_key(machine.items[1].text) for c in effective_codes(db, [sha]))

    paths = write_outputs(project)
    # the selection matrix (and its CSV) shows the reviewer's year and countries
    row = next(r for r in matrix_rows(project) if r["sha256"] == sha)
    assert (row["year"], row["countries"]) == (2011, "NOR")
    matrix_csv = next(p for p in paths if Path(p).name == "matrix.csv")
    with open(matrix_csv, encoding="utf-8-sig", newline="") as f:
        line = next(r for r in csv.DictReader(f) if r["sha256"] == sha)
    assert (line["Year"], line["Countries"]) == ("2011", "NOR")
    # the synthesis: the report's year and countries, its items by kind, and the corrected item as evidence
    s = synthesize(project, use_llm=False)
    info = next(r for r in s.reports if r.sha256 == sha)
    assert info.year == 2011 and info.countries == ["NOR"]
    assert info.items_by_kind.get("lesson_learned", 0) == lessons_before + 1
    t = next(t for t in s.themes() if t.id == theme.id)
    assert info.report_id in t.reports and "2011" in t.by_year
    assert any(q.sha256 == sha and q.text == TRIMMED for q in t.quotes)
    # and the written reports
    markdown = next(Path(p) for p in paths if Path(p).suffix == ".md").read_text(encoding="utf-8")
    assert TRIMMED in markdown


def test_corrections_survive_reruns_and_follow_their_item(review: Path, corpus: Path):
    from whatworks.collect import add_paths, process_file, save_result
    from whatworks.screen import screen

    project = Project.open(review)
    db = project.db
    sha = sha_of(db, "esdc_021")
    correct_year_country_item(db, sha)

    # re-run add (nothing new), describe (the same machine description again) and screen
    add_paths(db, canada_files(corpus)[:3], jobs=1)
    source = db.scalar("SELECT source FROM documents WHERE sha256 = ?", (sha,))
    save_result(db, process_file((source, sha, True)))
    search.index(db)
    screen(project)
    fixed = db.effective_description(sha)
    assert fixed.value("year") == 2011 and fixed.value("countries") == ["NOR"]
    assert (fixed.items[1].kind, fixed.items[1].text) == ("lesson_learned", TRIMMED)
    assert db.scalar("SELECT text FROM items WHERE sha256 = ? AND idx = 1", (sha,)) == TRIMMED
    assert search.facet_row(db, sha)["year"] == 2011  # re-indexed after describe, with the correction
    assert ws.correction_second_looks(db, sha) == []  # the machine says what it said: nothing to look at

    # a new describer: another year, a new first item, and the corrected item's text reworded
    m = db.description(sha)
    m.metadata["year"] = Value(2019, 0.8)
    m.items.insert(0, Item("finding", "A finding the new describer sees first.", 1))
    reworded = m.items[2].text.replace("relatively low", "rather low")
    assert reworded != m.items[2].text
    m.items[2].text = reworded
    db.save_description(sha, m, version="new-describer")
    search.index(db)
    fixed = db.effective_description(sha)
    assert fixed.value("year") == 2011  # the reviewer's value stands
    assert db.scalar("SELECT text FROM items WHERE sha256 = ? AND idx = 2", (sha,)) == TRIMMED  # followed its item
    assert db.scalar("SELECT text FROM items WHERE sha256 = ? AND idx = 0", (sha,)).startswith("A finding the new")
    looks = {(f["target"], f["key"]): f for f in ws.correction_second_looks(db, sha)}
    assert set(looks) == {("metadata", "year"), ("item", "1")}
    assert looks[("metadata", "year")]["machine_now"] == 2019
    assert looks[("item", "1")]["machine_now"]["text"] == reworded
    assert search.facet_row(db, sha)["year"] == 2011

    # saving them again (as the document page does, with the item's index now) settles them
    ws.correct(db, sha, "metadata", "year", 2011, LEAD, 2019)
    ws.correct(db, sha, "item", "2", {"kind": "lesson_learned", "text": TRIMMED, "page": m.items[2].page}, LEAD,
               machine_item(m, 2))
    assert ws.correction_second_looks(db, sha) == []
    keys = {k for (t, k) in ws.corrections(db, sha) if t == "item"}
    assert keys == {"2"}  # the correction moved with its item: no stale key left behind

    # the describer loses the item altogether: the reviewer's version stays (flagged), under its own number,
    # and correcting the item that now has its old number does not overwrite it
    m.items.pop(2)
    db.save_description(sha, m, version="newer-describer")
    rows = {r["idx"]: r["text"] for r in db.query("SELECT idx, text FROM items WHERE sha256 = ?", (sha,))}
    assert rows[ws.ORPHAN_ITEM_BASE + 2] == TRIMMED and rows[2] == m.items[2].text
    assert [f["key"] for f in ws.correction_second_looks(db, sha)] == ["2"]
    ws.correct(db, sha, "item", "2", {"kind": "conclusion", "text": m.items[2].text, "page": m.items[2].page},
               LEAD, machine_item(m, 2))
    items = ws.corrections(db, sha)
    assert items[("item", "gone:2")].value["text"] == TRIMMED and items[("item", "2")].value["kind"] == "conclusion"
    texts = [it.text for it in db.effective_description(sha).items]
    assert TRIMMED in texts and texts.count(m.items[2].text) == 1
    # "Use machine's" on the lost item drops it
    ws.correct(db, sha, "item", "gone:2", None, LEAD, None)
    assert TRIMMED not in [it.text for it in db.effective_description(sha).items]
    assert ws.correction_second_looks(db, sha) == []


def test_added_items_keep_their_number_and_their_coding(review: Path):
    from whatworks.collect import process_file, save_result

    project = Project.open(review)
    db = project.db
    sha = sha_of(db, "esdc_021")
    n = len(db.description(sha).items)
    ws.correct(db, sha, "item", "new:1", {"kind": "good_practice", "text": "Flexible benefits raise take-up.",
                                          "page": 2}, LEAD, None)
    ws.correct(db, sha, "item", "new:2", {"kind": "lesson_learned", "text": "Outreach to fathers matters.",
                                          "page": 3}, LEAD, None)
    numbers = {r["text"]: r["idx"] for r in db.query("SELECT idx, text FROM items WHERE sha256 = ?", (sha,))}
    assert numbers["Flexible benefits raise take-up."] == ws.ADDED_ITEM_BASE
    assert numbers["Outreach to fathers matters."] == ws.ADDED_ITEM_BASE + 1 and len(numbers) == n + 2
    theme = project.codebook().themes[0].id
    ws.record_coding(db, sha, ws.ADDED_ITEM_BASE + 1, [theme], LEAD, [])
    # an edit keeps the number; removing the first does not renumber the second
    ws.correct(db, sha, "item", "new:2", {"kind": "lesson_learned", "text": "Outreach to fathers matters a lot.",
                                          "page": 3}, LEAD, None)
    ws.correct(db, sha, "item", "new:1", None, LEAD, None)
    source = db.scalar("SELECT source FROM documents WHERE sha256 = ?", (sha,))
    save_result(db, process_file((source, sha, True)))  # describe again
    numbers = {r["text"]: r["idx"] for r in db.query("SELECT idx, text FROM items WHERE sha256 = ?", (sha,))}
    assert numbers == {**{t: i for t, i in numbers.items() if i < n}, "Outreach to fathers matters a lot.":
                       ws.ADDED_ITEM_BASE + 1}
    # a third one never takes a number a reviewer's coding refers to
    ws.correct(db, sha, "item", "new:3", {"kind": "finding", "text": "Uptake grew.", "page": 1}, LEAD, None)
    assert db.scalar("SELECT idx FROM items WHERE sha256 = ? AND text = 'Uptake grew.'", (sha,)) == \
        ws.ADDED_ITEM_BASE + 2


def test_sections_and_kind_reach_items_and_search(review: Path):
    project = Project.open(review)
    db = project.db
    sha = sha_of(db, "esdc_021")
    machine = db.description(sha)
    i = machine.items[0].section_index
    s = machine.sections[i]
    ws.correct(db, sha, "section", str(i), {"kind": "lessons_learned", "heading": s.heading,
                                            "page_start": s.page_start, "page_end": s.page_end}, LEAD,
               {k: getattr(s, k) for k in ("kind", "heading", "page_start", "page_end")})
    ws.correct(db, sha, "kind", "kind", "evaluation_brief", LEAD, machine.kind.value)
    assert db.scalar("SELECT section_kind FROM items WHERE sha256 = ? AND idx = 0", (sha,)) == "lessons_learned"
    assert search.facet_row(db, sha)["kind"] == "evaluation_brief"
    assert any(h.sha256 == sha for h in search.search(db, "parental", kind="evaluation_brief", limit=100))
    assert any(h.sha256 == sha and h.section_kind == "lessons_learned"
               for h in search.search(db, "parental", section="lessons_learned", limit=200))
    assert db.effective_descriptions()[sha]["kind"] == "evaluation_brief"


def test_second_looks_show_in_the_workspace(review: Path):
    from fastapi.testclient import TestClient

    from whatworks.web.app import create_app

    project = Project.open(review)
    db = project.db
    sha = sha_of(db, "esdc_021")
    correct_year_country_item(db, sha)
    m = db.description(sha)
    m.metadata["year"] = Value(2019, 0.8)
    m.items[1].text = m.items[1].text.replace("relatively low", "rather low")
    db.save_description(sha, m, version="new-describer")
    project.close()
    with TestClient(create_app(review)) as c:
        page = c.get(f"/doc/{sha}").text
        assert "2 corrections of this document need a second look" in page
        assert re.search(r'class="pill flag"[^>]*>second look: machine now 2019<', page)
        assert "item changed since it was corrected" in c.get(f"/doc/{sha}?p={m.items[1].page}").text
        conflicts = c.get("/screen/conflicts").text
        assert "Corrections to look at again" in conflicts and f'href="/doc/{sha}"' in conflicts
        # saving the year again from the page settles it
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        c.post(f"/doc/{sha}/correct", data={"csrf": token, "target": "metadata", "key": "year", "value": "2011"})
        assert "1 correction of this document needs a second look" in c.get(f"/doc/{sha}").text


def test_section_corrections_follow_their_section(db):
    """A section correction follows its heading when a re-run inserts a section before it, and a new
    correction of the section that now has its old number does not overwrite it."""
    from whatworks.model import Description, Section

    sha = "c" * 64

    def described(*headings: str) -> Description:
        return Description(Value("evaluation_report", 0.9), {}, [
            Section("other", h, n + 1, n + 1, block_start=n, block_end=n + 1) for n, h in enumerate(headings)],
            [Item("finding", "Coverage rose.", 3, len(headings) - 2)])

    first = described("Summary", "Findings", "Annex")
    db.save_description(sha, first)
    then = {k: getattr(first.sections[1], k) for k in ("kind", "heading", "page_start", "page_end")}
    ws.correct(db, sha, "section", "1", {**then, "kind": "effectiveness"}, LEAD, then)
    assert db.scalar("SELECT section_kind FROM items WHERE sha256 = ?", (sha,)) == "effectiveness"
    second = described("Preface", "Summary", "Findings", "Annex")
    db.save_description(sha, second)
    fixed = db.effective_description(sha)
    assert [s.kind for s in fixed.sections] == ["other", "other", "effectiveness", "other"]
    assert fixed.sections[2].page_start == 3  # only what the reviewer changed is pinned; pages follow the machine
    assert db.scalar("SELECT section_kind FROM items WHERE sha256 = ?", (sha,)) == "effectiveness"
    summary = {k: getattr(second.sections[1], k) for k in ("kind", "heading", "page_start", "page_end")}
    ws.correct(db, sha, "section", "1", {**summary, "kind": "executive_summary"}, LEAD, summary)
    assert [s.kind for s in db.effective_description(sha).sections] == \
        ["other", "executive_summary", "effectiveness", "other"]
    assert {k for (t, k) in ws.corrections(db, sha) if t == "section"} == {"1", "2"}
    assert ws.correction_second_looks(db, sha) == []  # the machine moved pages, not the kind the reviewer set
    third = described("Preface", "Summary", "Findings", "Annex")
    third.sections[2].kind = "findings"  # the machine's kind changes under the reviewer's
    db.save_description(sha, third)
    [look] = ws.correction_second_looks(db, sha)
    assert (look["key"], look["machine_now"]["kind"]) == ("2", "findings")
    assert db.effective_description(sha).sections[2].kind == "effectiveness"
