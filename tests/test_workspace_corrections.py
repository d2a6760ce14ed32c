"""Reviewers' corrections reach the outputs, and survive re-runs of the machine's stages.

A metadata value, the kind, a section or an item corrected in the workspace is what the search
facets, coding, the synthesis, the selection matrix and the reports use (one place:
`corrections.effective_description`, which `Review.description` returns, and the `items` rows).
Re-running add, describe or screen keeps every correction; one whose machine value changed under
it is flagged for a second look, and an item correction follows its item when a re-run renumbers
or rewrites it.

The review is of ten Canada evaluations with the shared corpus, of the example reports without it
(web_helpers.Sample names the report corrected and the sentence its item is trimmed to).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from web_helpers import copy_project, review_files, sample

from whatworks import corrections, search
from whatworks.api import Review
from whatworks.model import Item, Value
from whatworks.store.documents import ADDED_ITEM_BASE, ORPHAN_ITEM_BASE
from whatworks.team import User

LEAD = User("lena", "lead")


@pytest.fixture(scope="session")
def W(corpus_or_none: Path | None):  # noqa: N802 - the sample's names read like constants
    """The report corrected (esdc_021, or an example), the sentence of its second item the reviewer trims
    the item to (verbatim on its page), and a word of its text to search for."""
    return sample(corpus_or_none)


@pytest.fixture()
def root(corpus_or_none: Path | None, tmp_path: Path) -> Path:
    return copy_project(corpus_or_none, tmp_path / "review")


@pytest.fixture()
def review(root: Path):
    with Review.open(root) as r:
        yield r


def sha_of(review: Review, prefix: str) -> str:
    return next(r["sha256"] for r in review.documents() if Path(r["source"]).name.startswith(prefix))


def item_rows(review: Review, sha: str) -> dict[int, dict]:
    """The document's `items` rows (what coding and the synthesis read), by number."""
    return {r["idx"]: dict(r) for r in review.store.raw(
        "SELECT idx, kind, text, section_kind FROM items WHERE sha256 = :s", s=sha)}


def redescribe(review: Review, sha: str) -> None:
    """Describe the document again (as `whatworks add` does after a new describer)."""
    from whatworks.collect import process_file, save_result

    source = next(r["source"] for r in review.documents() if r["sha256"] == sha)
    save_result(review.store, process_file((source, sha, True)))


def correct_year_country_item(review: Review, sha: str, trimmed: str) -> None:
    """What a reviewer does on the document page: year, countries, and item 1 trimmed and re-kinded."""
    machine = review.machine_description(sha)
    assert machine.value("year") != 2011 and trimmed in machine.items[1].text
    review.correct(sha, "metadata", "year", 2011, reason="the cover page says 2011", user=LEAD)
    review.correct(sha, "metadata", "countries", ["NOR"], user=LEAD)
    review.correct(sha, "item", "1", {"kind": "lesson_learned", "text": trimmed, "page": machine.items[1].page},
                   user=LEAD)


def test_corrections_reach_the_matrix_and_the_synthesis(review: Review, W):
    from whatworks.coding import effective_codes, item_key
    from whatworks.selection import matrix_rows

    sha = sha_of(review, W.main)
    machine = review.machine_description(sha)
    lessons_before = sum(1 for it in machine.items if it.kind == "lesson_learned")
    correct_year_country_item(review, sha, W.trimmed)

    # the derived rows follow in the correction's transaction: items (coding, synthesis) and search facets
    row = item_rows(review, sha)[1]
    assert (row["kind"], row["text"]) == ("lesson_learned", W.trimmed)
    facets = search.facet_row(review.store, sha)
    assert facets["year"] == 2011 and facets["countries"] == "|NOR|"
    assert any(h.sha256 == sha for h in review.search(W.marked, year=2011, country="NOR"))
    assert not any(h.sha256 == sha for h in review.search(W.marked, year=machine.value("year")))
    assert review.machine_description(sha).value("year") == machine.value("year")  # the machine's is untouched
    assert review.description(sha).value("year") == 2011

    # `whatworks code` codes the corrected text; a reviewer adds a theme to it in the workspace
    review.code(llm=None)
    theme = review.codebook.themes[0]
    review.code_item(sha, 1, [theme.id], LEAD)
    assert any(c.idx == 1 and c.text == W.trimmed and c.theme == theme.id for c in effective_codes(review.store, [sha]))
    assert not any(c.item_key == item_key(machine.items[1].text) for c in effective_codes(review.store, [sha]))

    s = review.synthesize(llm=None)
    paths = review.report(s)
    # the selection matrix (and its CSV) shows the reviewer's year and countries
    row = next(r for r in matrix_rows(review.store) if r["sha256"] == sha)
    assert (row["year"], row["countries"]) == (2011, "NOR")
    matrix_csv = next(p for p in paths if Path(p).name == "matrix.csv")
    with open(matrix_csv, encoding="utf-8-sig", newline="") as f:
        line = next(r for r in csv.DictReader(f) if r["sha256"] == sha)
    assert (line["Year"], line["Countries"]) == ("2011", "NOR")
    # the synthesis: the report's year and countries, its items by kind, and the corrected item as evidence
    info = next(r for r in s.reports if r.sha256 == sha)
    assert info.year == 2011 and info.countries == ["NOR"]
    assert info.items_by_kind.get("lesson_learned", 0) == lessons_before + 1
    t = next(t for t in s.themes() if t.id == theme.id)
    assert info.report_id in t.reports and "2011" in t.by_year
    assert any(q.sha256 == sha and q.quote in W.trimmed for q in t.quotes)
    # and the written reports
    markdown = next(Path(p) for p in paths if Path(p).suffix == ".md").read_text(encoding="utf-8")
    assert W.trimmed in markdown


def test_corrections_survive_reruns_and_follow_their_item(review: Review, corpus_or_none: Path | None, W):
    sha = sha_of(review, W.main)
    correct_year_country_item(review, sha, W.trimmed)

    # re-run add (nothing new), describe (the same machine description again) and screen
    review.add(review_files(corpus_or_none)[:3], jobs=1)
    redescribe(review, sha)
    search.index(review.store)
    review.screen()
    fixed = review.description(sha)
    assert fixed.value("year") == 2011 and fixed.value("countries") == ["NOR"]
    assert (fixed.items[1].kind, fixed.items[1].text) == ("lesson_learned", W.trimmed)
    assert item_rows(review, sha)[1]["text"] == W.trimmed
    assert search.facet_row(review.store, sha)["year"] == 2011  # re-indexed after describe, with the correction
    assert review.correction_second_looks(sha) == []  # the machine says what it said: nothing to look at

    # a new describer: another year, a new first item, and the corrected item's text reworded
    m = review.machine_description(sha)
    m.metadata["year"] = Value(2019, 0.8)
    m.items.insert(0, Item("finding", "A finding the new describer sees first.", 1))
    reworded = m.items[2].text.replace(*W.reword)
    assert reworded != m.items[2].text
    m.items[2].text = reworded
    corrections.save_description(review.store, sha, m, version="new-describer")
    search.index(review.store)
    fixed = review.description(sha)
    assert fixed.value("year") == 2011  # the reviewer's value stands
    assert item_rows(review, sha)[2]["text"] == W.trimmed  # followed its item
    assert item_rows(review, sha)[0]["text"].startswith("A finding the new")
    looks = {(f["target"], f["key"]): f for f in review.correction_second_looks(sha)}
    assert set(looks) == {("metadata", "year"), ("item", "1")}
    assert looks[("metadata", "year")]["machine_now"] == 2019
    assert looks[("item", "1")]["machine_now"]["text"] == reworded
    assert search.facet_row(review.store, sha)["year"] == 2011

    # saving them again (as the document page does, with the item's index now) settles them
    review.correct(sha, "metadata", "year", 2011, user=LEAD)
    review.correct(sha, "item", "2", {"kind": "lesson_learned", "text": W.trimmed, "page": m.items[2].page}, user=LEAD)
    assert review.correction_second_looks(sha) == []
    keys = {k for (t, k) in review.document_view(sha).corrections if t == "item"}
    assert keys == {"2"}  # the correction moved with its item: no stale key left behind

    # the describer loses the item altogether: the reviewer's version stays (flagged), under its own number,
    # and correcting the item that now has its old number does not overwrite it
    m.items.pop(2)
    corrections.save_description(review.store, sha, m, version="newer-describer")
    rows = {i: r["text"] for i, r in item_rows(review, sha).items()}
    assert rows[ORPHAN_ITEM_BASE + 2] == W.trimmed and rows[2] == m.items[2].text
    assert [f["key"] for f in review.correction_second_looks(sha)] == ["2"]
    review.correct(sha, "item", "2", {"kind": "conclusion", "text": m.items[2].text, "page": m.items[2].page},
                   user=LEAD)
    items = review.document_view(sha).corrections
    assert items[("item", "gone:2")].value["text"] == W.trimmed and items[("item", "2")].value["kind"] == "conclusion"
    texts = [it.text for it in review.description(sha).items]
    assert W.trimmed in texts and texts.count(m.items[2].text) == 1
    # "Use machine's" on the lost item drops it
    review.correct(sha, "item", "gone:2", None, user=LEAD)
    assert W.trimmed not in [it.text for it in review.description(sha).items]
    assert review.correction_second_looks(sha) == []


def test_added_items_keep_their_number_and_their_coding(review: Review, W):
    sha = sha_of(review, W.main)
    n = len(review.machine_description(sha).items)
    # (a Canada report is one HTML page: every item is on page 1; the examples have pages, and page 1 too)
    review.correct(sha, "item", "new:1", {"kind": "good_practice", "text": "Flexible benefits raise take-up.",
                                          "page": 1}, user=LEAD)
    review.correct(sha, "item", "new:2", {"kind": "lesson_learned", "text": "Outreach to fathers matters.",
                                          "page": 1}, user=LEAD)
    numbers = {r["text"]: i for i, r in item_rows(review, sha).items()}
    assert numbers["Flexible benefits raise take-up."] == ADDED_ITEM_BASE
    assert numbers["Outreach to fathers matters."] == ADDED_ITEM_BASE + 1 and len(numbers) == n + 2
    theme = review.codebook.themes[0].id
    review.code_item(sha, ADDED_ITEM_BASE + 1, [theme], LEAD)
    # an edit keeps the number; removing the first does not renumber the second
    review.correct(sha, "item", "new:2", {"kind": "lesson_learned", "text": "Outreach to fathers matters a lot.",
                                          "page": 1}, user=LEAD)
    review.correct(sha, "item", "new:1", None, user=LEAD)
    redescribe(review, sha)  # describe again
    numbers = {r["text"]: i for i, r in item_rows(review, sha).items()}
    assert numbers == {**{t: i for t, i in numbers.items() if i < n}, "Outreach to fathers matters a lot.":
                       ADDED_ITEM_BASE + 1}
    # a third one never takes a number a reviewer's coding refers to
    review.correct(sha, "item", "new:3", {"kind": "finding", "text": "Uptake grew.", "page": 1}, user=LEAD)
    assert {r["text"]: i for i, r in item_rows(review, sha).items()}["Uptake grew."] == ADDED_ITEM_BASE + 2


def test_sections_and_kind_reach_items_and_search(review: Review, W):
    sha = sha_of(review, W.main)
    machine = review.machine_description(sha)
    i = machine.items[0].section_index
    s = machine.sections[i]
    review.correct(sha, "section", str(i), {"kind": "lessons_learned", "heading": s.heading,
                                            "page_start": s.page_start, "page_end": s.page_end}, user=LEAD)
    review.correct(sha, "kind", "kind", "evaluation_brief", user=LEAD)
    assert item_rows(review, sha)[0]["section_kind"] == "lessons_learned"
    assert search.facet_row(review.store, sha)["kind"] == "evaluation_brief"
    assert any(h.sha256 == sha for h in review.search(W.marked, kind="evaluation_brief", limit=100))
    assert any(h.sha256 == sha and h.section_kind == "lessons_learned"
               for h in review.search(W.marked, section="lessons_learned", limit=200))
    assert corrections.effective_descriptions(review.store)[sha]["kind"] == "evaluation_brief"


def test_second_looks_show_in_the_workspace(root: Path, W):
    from fastapi.testclient import TestClient

    from whatworks.web.app import create_app

    with Review.open(root) as review:
        sha = sha_of(review, W.main)
        correct_year_country_item(review, sha, W.trimmed)
        m = review.machine_description(sha)
        m.metadata["year"] = Value(2019, 0.8)
        m.items[1].text = m.items[1].text.replace(*W.reword)
        corrections.save_description(review.store, sha, m, version="new-describer")
    with TestClient(create_app(root), base_url="http://127.0.0.1") as c:
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


def test_section_corrections_follow_their_section(tmp_path: Path):
    """A section correction follows its heading when a re-run inserts a section before it, and a new
    correction of the section that now has its old number does not overwrite it."""
    from whatworks.model import Block, Description, Document, Page, Section
    from whatworks.store import documents as docs

    sha = "c" * 64

    def described(*headings: str) -> Description:
        return Description(Value("evaluation_report", 0.9), {}, [
            Section("other", h, n + 1, n + 1, block_start=n, block_end=n + 1) for n, h in enumerate(headings)],
            [Item("finding", "Coverage rose.", 3, len(headings) - 2)])

    def section_kind() -> str:
        return review.store.raw("SELECT section_kind FROM items WHERE sha256 = :s", s=sha)[0]["section_kind"]

    review = Review.create(tmp_path / "review")
    docs.save_document(review.store, Document("c.txt", sha, "text", [
        Page(n, [Block("paragraph", f"Text of page {n}.", n)]) for n in range(1, 5)]))
    first = described("Summary", "Findings", "Annex")
    corrections.save_description(review.store, sha, first)
    then = {k: getattr(first.sections[1], k) for k in ("kind", "heading", "page_start", "page_end")}
    review.correct(sha, "section", "1", {**then, "kind": "effectiveness"}, user=LEAD)
    assert section_kind() == "effectiveness"
    second = described("Preface", "Summary", "Findings", "Annex")
    corrections.save_description(review.store, sha, second)
    fixed = review.description(sha)
    assert [s.kind for s in fixed.sections] == ["other", "other", "effectiveness", "other"]
    assert fixed.sections[2].page_start == 3  # only what the reviewer changed is pinned; pages follow the machine
    assert section_kind() == "effectiveness"
    summary = {k: getattr(second.sections[1], k) for k in ("kind", "heading", "page_start", "page_end")}
    review.correct(sha, "section", "1", {**summary, "kind": "executive_summary"}, user=LEAD)
    assert [s.kind for s in review.description(sha).sections] == \
        ["other", "executive_summary", "effectiveness", "other"]
    assert {k for (t, k) in corrections.corrections(review.store, sha) if t == "section"} == {"1", "2"}
    assert review.correction_second_looks(sha) == []  # the machine moved pages, not the kind the reviewer set
    third = described("Preface", "Summary", "Findings", "Annex")
    third.sections[2].kind = "findings"  # the machine's kind changes under the reviewer's
    corrections.save_description(review.store, sha, third)
    [look] = review.correction_second_looks(sha)
    assert (look["key"], look["machine_now"]["kind"]) == ("2", "findings")
    assert review.description(sha).sections[2].kind == "effectiveness"
    review.close()
