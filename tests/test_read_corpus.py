"""Readers for HTML, DOCX, Markdown and plain text on the real corpus: the 192 Government of Canada pages,
an IOM management response in Word, the 84 IDRC Markdown reports and the seed review as text.

These only mean something on those documents: without the shared corpus the module is skipped (the
readers are tested on made-up files in test_read_formats.py and test_read_pdf.py, and on the project's
fixtures in test_describe_unseen.py and the stage tests).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from project_fixtures import NO_CORPUS, have_corpus

from whatworks.model import Document
from whatworks.read import read_document
from whatworks.read.html import read_html
from whatworks.read.text import read_markdown

if not have_corpus():
    pytest.skip(NO_CORPUS, allow_module_level=True)

# --- Government of Canada pages: main content only ------------------------------------

#: Site furniture every Canada.ca page carries outside (or at the foot of) the report.
MENU_ENTRIES = {"Jobs", "Immigration and citizenship", "Travel and tourism", "Business and industry",
                "Benefits", "Taxes", "Environment and natural resources", "National security and defence",
                "Culture, history and sport", "Policing, justice and emergencies",
                "Transport and infrastructure", "Canada and the world", "Money and finances",
                "Science and innovation", "Menu", "Main Menu", "Search", "You are here:", "Page details",
                "Language selection", "About this site", "Government of Canada Corporate", "Share this page",
                "Thank you for your help!", "Report a problem on this page"}
FURNITURE_RE = re.compile(r"^(Date modified|Report a problem|Share this page|Skip to main content|"
                          r"Is something wrong with this page|Thank you for your help)", re.IGNORECASE)


@pytest.fixture(scope="session")
def canada_files(corpus: Path) -> list[Path]:
    files = sorted((corpus / "canada").glob("*.html"))
    assert len(files) == 192
    return files


@pytest.fixture(scope="session")
def canada_docs(canada_files: list[Path]) -> dict[str, Document]:
    """All 192 pages, read once (the reader alone: language annotation is tested elsewhere)."""
    start = time.perf_counter()
    docs = {f.name: read_html(f, "0" * 64) for f in canada_files}
    seconds = time.perf_counter() - start
    assert seconds < 60, f"reading 192 HTML pages took {seconds:.1f} s"
    return docs


def test_canada_raw_pages_do_have_menus(canada_files: list[Path]):
    """The furniture the next test rules out is really in the files (so the test means something)."""
    raw = canada_files[0].read_text(encoding="utf-8")
    assert "Immigration and citizenship" in raw and "Date modified:" in raw and "Report a problem" in raw


def test_canada_every_page_title_headings_no_menus(canada_docs: dict[str, Document]):
    problems = []
    for name, doc in canada_docs.items():
        title = doc.title or ""
        headings = doc.headings()
        if not title or title.endswith("Canada.ca"):
            problems.append(f"{name}: title {title!r}")
        if not any(h.text == title for h in headings):
            problems.append(f"{name}: the title is not a heading block")
        if not any(h.level == 2 for h in headings):
            problems.append(f"{name}: no h2 heading")
        menus = [b.text for b in doc.blocks if b.text in MENU_ENTRIES or FURNITURE_RE.match(b.text)]
        if menus:
            problems.append(f"{name}: site furniture {menus[:3]}")
        if any(b.page != 1 for b in doc.blocks):
            problems.append(f"{name}: a block off page 1")
    assert not problems, "\n".join(problems[:20])


def test_canada_title_matches_file_name(canada_docs: dict[str, Document]):
    """The saved file names are "<dept>_<n>_<title> - Canada.ca.html": the title is that, minus the site."""
    matching = 0
    for name, doc in canada_docs.items():
        stem = name.split("_", 2)[2].removesuffix(".html").removesuffix(" - Canada.ca")
        if " ".join(stem.split()) == " ".join((doc.title or "").replace("/", "_").replace(":", "_").split()):
            matching += 1
    assert matching >= 150, matching


def test_canada_heading_levels_and_content(canada_docs: dict[str, Document]):
    doc = next(d for n, d in canada_docs.items() if n.startswith("cra_006_"))
    assert doc.title == "Evaluation – Canada Revenue Agency (CRA) Management of Small Business Nudge"
    outline = [(b.level, b.text) for b in doc.headings()]
    assert outline[0] == (1, doc.title)
    assert (2, "Executive summary") in outline and (3, "Findings") in outline
    assert (2, "1. Introduction") in outline
    assert outline.index((2, "Executive summary")) < outline.index((3, "Findings")) < outline.index(
        (2, "1. Introduction"))
    text = doc.text
    # footnote calls (<sup><a href="#fn1">Footnote 1</a></sup>) are not glued into sentences
    assert "assessment of the CRA’s nudge efforts" in text
    assert "nudgeFootnote" not in text and "Return to footnote" not in text
    # the footnotes themselves are kept, term and text together
    assert any(b.text.startswith("Footnote 1: ") for b in doc.blocks)
    kinds = {b.kind for b in doc.blocks}
    assert {"heading", "paragraph", "list_item"} <= kinds
    assert doc.meta["lang"] == "en" and "dcterms.issued" in doc.meta


def test_canada_tables_become_rows(canada_docs: dict[str, Document]):
    rows = [b for d in canada_docs.values() for b in d.blocks if b.kind == "table_row"]
    assert len(rows) > 1000
    assert all(b.cells and b.text == " | ".join(b.cells) for b in rows)
    assert sum(len(b.cells) >= 3 for b in rows) > 500


def test_canada_read_document_annotates_language(canada_files: list[Path]):
    doc = read_document(canada_files[0])
    assert doc.format == "html" and doc.language == "en" and not doc.warnings


# --- DOCX ---------------------------------------------------------------------------------

IOM_DOCX = "iom/6c3c2cf3fa479112967612b0baddab72/AAP Evaluation - Management Response Final.docx"


@pytest.fixture(scope="session")
def iom_docx(corpus: Path) -> Document:
    return read_document(corpus / IOM_DOCX)


def test_docx_real_management_response(iom_docx: Document):
    doc = iom_docx
    assert doc.format == "docx" and doc.language == "en"
    assert doc.title == "MANAGEMENT RESPONSE AND ACTION PLAN MATRIX"
    assert doc.headings()[0].level == 2
    rows = [b for b in doc.blocks if b.kind == "table_row"]
    recs = [b for b in rows if b.text.startswith("Evaluation recommendation #")]
    assert len(recs) == 9 and recs[0].text.startswith("Evaluation recommendation # 1: The AAP t")
    # body order: the paragraphs before the table come first
    assert doc.blocks.index(recs[0]) > [b.text for b in doc.blocks].index("Date of publication: December 2024.")
    # pages from the page breaks Word recorded: several, never decreasing
    pages = [b.page for b in doc.blocks]
    assert pages == sorted(pages) and pages[-1] > 5
    assert recs[-1].page > recs[0].page
    # the footnote is kept, on the page that calls it
    assert any(b.text.startswith("1 Focal persons are intended") for b in doc.blocks)
    assert doc.meta["author"] == "BOTERO Andres" and doc.meta["pages_stated"] == 11
    # Word's recorded breaks (21 pages) disagree with the page count it saved (11): the reader says so
    assert any("cited pages may be off" in w for w in doc.warnings)


# --- Markdown -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def idrc_docs(corpus: Path) -> dict[str, Document]:
    files = sorted((corpus / "idrc").rglob("*.md"))
    assert len(files) == 84
    return {str(f.relative_to(corpus)): read_markdown(f, "0" * 64) for f in files}


def test_idrc_markdown_pages_headings_tables(idrc_docs: dict[str, Document]):
    with_count = 0
    for name, doc in idrc_docs.items():
        assert doc.format == "markdown"
        assert doc.pages[0].number == 1, name  # "--- Page 0 ---" is the first page
        assert len(doc.pages) >= 2, name
        assert doc.headings(), name
        assert not any(re.match(r"-+\s*Page \d", b.text) for b in doc.blocks), name
        if "page_count" in doc.meta:  # the converter's front matter says how many pages there were
            with_count += 1
            assert doc.pages[-1].number == doc.meta["page_count"], name
    assert with_count == 14
    rows = [b for d in idrc_docs.values() for b in d.blocks if b.kind == "table_row"]
    assert len(rows) > 300 and all(b.cells for b in rows)
    assert not any(all(re.fullmatch(r":?-{2,}:?", c) for c in b.cells) for b in rows)  # "|:--|--:|" skipped
    text = "\n".join(d.text for d in idrc_docs.values())
    assert "<br>" not in text and "US$ 57 million" in text  # inline markup and escapes resolved


# --- plain text ---------------------------------------------------------------------------


def test_text_seed_file(shared: Path):
    doc = read_document(shared / "seed" / "ilo-synthesis-review-social-protection-2012-2018.txt")
    assert doc.format == "text" and doc.language == "en"
    outline = [(b.level, b.text) for b in doc.headings()]
    for expected in [(1, "SUMMARY"), (2, "Preface"), (2, "Methodology"), (2, "What works?"),
                     (2, "Annex II. Final list of reports reviewed")]:
        assert expected in outline
    items = [b for b in doc.blocks if b.kind == "list_item"]
    assert len(items) > 30
    # paragraphs are whole: a wrapped line is not its own block
    assert any(b.text.startswith("Since 2012, the International Labour Organization") and len(b.text) > 300
               for b in doc.blocks)
