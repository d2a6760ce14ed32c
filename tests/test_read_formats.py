"""Readers for HTML, DOCX, Markdown and plain text, on the real corpus and on small made-up files."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from project_fixtures import examples

from whatworks.model import Document
from whatworks.read import read_document, sniff
from whatworks.read.docx import read_docx
from whatworks.read.html import read_html
from whatworks.read.text import read_markdown, read_text

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


# --- HTML made up to test each rule -------------------------------------------------------

PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Evaluation of the Youth Employment Strategy - Canada.ca</title>
<script>var tracking = "SECRET-SCRIPT-TEXT";</script><style>.x{color:red}</style></head>
<body><header><nav><ul><li><a href="/jobs">Jobs</a></li><li><a href="/imm">Immigration and citizenship</a></li></ul></nav></header>
<nav class="breadcrumb"><a href="/">Canada.ca</a></nav>
%s
<footer><a href="/x">Terms and conditions</a></footer></body></html>"""


def _html(tmp_path: Path, body: str, name: str = "page.html", charset: str = "utf-8") -> Document:
    path = tmp_path / name
    path.write_bytes((PAGE % body).replace("utf-8", charset).encode(charset))
    return read_html(path, "0" * 64)


def test_html_main_blocks_kinds(tmp_path: Path):
    doc = _html(tmp_path, """<main><h1>Youth <br>Employment</h1><p>Intro   text
        over lines.</p><h2>Findings</h2><ul><li>First <b>finding</b><ul><li>Nested point</li></ul></li></ul>
        <table><caption>Table 1: Budget</caption><tr><th>Year</th><th>Amount</th></tr>
        <tr><td>2020</td><td><p>$5M</p></td></tr></table>
        <figure><img src="x.png"><figcaption>Figure 1: Logic model</figcaption></figure>
        <h3>Efficiency</h3><p>Costs fell.<script>alert("SECRET-SCRIPT-TEXT")</script></p>
        <form><p>Report a problem on this page</p><button>Submit</button></form>
        <div class="wb-share">Share this page</div>
        <dl id="wb-dtmd"><dt>Date modified:</dt><dd>2020-01-01</dd></dl></main>""")
    got = [(b.kind, b.level, b.text) for b in doc.blocks]
    assert got == [
        ("heading", 1, "Youth Employment"),
        ("paragraph", None, "Intro text over lines."),
        ("heading", 2, "Findings"),
        ("list_item", 1, "First finding"),
        ("list_item", 2, "Nested point"),
        ("caption", None, "Table 1: Budget"),
        ("table_row", None, "Year | Amount"),
        ("table_row", None, "2020 | $5M"),
        ("caption", None, "Figure 1: Logic model"),
        ("heading", 3, "Efficiency"),
        ("paragraph", None, "Costs fell."),
    ]
    assert doc.blocks[7].cells == ["2020", "$5M"]
    assert doc.title == "Youth Employment" and doc.format == "html"
    assert "SECRET-SCRIPT-TEXT" not in doc.text


def test_html_title_without_site_name_when_no_h1(tmp_path: Path):
    doc = _html(tmp_path, "<main><h2>Summary</h2><p>The programme met its targets in most regions.</p></main>")
    assert doc.title == "Evaluation of the Youth Employment Strategy"
    assert doc.blocks[0].kind == "heading" and doc.blocks[0].level == 1 and doc.blocks[0].text == doc.title


def test_html_article_then_body_fallbacks(tmp_path: Path):
    doc = _html(tmp_path, "<div><a href='/a'>Home</a></div><article><h1>Report</h1><p>Main text here.</p>"
                          "</article><div>Unrelated sidebar words</div>")
    assert [b.text for b in doc.blocks] == ["Report", "Main text here."]
    # no main, no article: the body minus nav/header/footer/aside/form
    doc = _html(tmp_path, "<aside>Related links</aside><div><h1>Report</h1><p>Body text.</p></div>"
                          "<form>Search the site</form>")
    assert [b.text for b in doc.blocks] == ["Report", "Body text."]


def test_html_density_fallback_drops_unmarked_menus(tmp_path: Path):
    menu = "".join(f"<div class='item'><a href='/{i}'>Menu entry number {i}</a></div>" for i in range(30))
    paragraphs = "".join(f"<p>This is paragraph {i} of the report, with enough words to count as text.</p>"
                         for i in range(8))
    doc = _html(tmp_path, f"<div class='top'>{menu}</div><div class='content'>{paragraphs}</div>")
    assert all("Menu entry" not in b.text for b in doc.blocks)
    assert sum(b.kind == "paragraph" for b in doc.blocks) == 8
    assert any("guessed" in w for w in doc.warnings)


def test_html_declared_and_guessed_charsets(tmp_path: Path):
    body = "<main><h1>Évaluation du programme</h1><p>Les résultats étaient très positifs à Montréal.</p></main>"
    doc = _html(tmp_path, body, charset="windows-1252")
    assert doc.title == "Évaluation du programme" and doc.meta["encoding"] == "cp1252"
    # no declaration at all, not UTF-8: guessed
    path = tmp_path / "nodecl.html"
    path.write_bytes(("<html><body>" + body * 5 + "</body></html>").encode("cp1252"))
    doc = read_html(path, "0" * 64)
    assert doc.title == "Évaluation du programme"


def test_html_deeply_nested_does_not_crash(tmp_path: Path):
    path = tmp_path / "deep.html"
    path.write_text("<html><body>" + "<div>" * 100_000 + "<p>Deep text survives.</p>" + "</div>" * 100_000
                    + "</body></html>", encoding="utf-8")
    start = time.perf_counter()
    doc = read_html(path, "0" * 64)
    assert time.perf_counter() - start < 10
    assert "Deep text survives." in doc.text
    path.write_text("<html><body>" + "<ul><li>x" * 50_000 + "</body></html>", encoding="utf-8")
    doc = read_html(path, "0" * 64)  # nested lists: still no crash
    assert doc.format == "html"


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


def _make_docx(path: Path) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_BREAK
    from docx.oxml import OxmlElement, parse_xml
    from docx.oxml.ns import nsdecls, qn

    d = docx.Document()
    d.core_properties.title = "Evaluation of the Widget Programme"
    d.add_paragraph("Widget Programme", style="Title")
    d.add_heading("Introduction", level=1)
    d.add_paragraph("Body text on page one.")
    d.add_paragraph("First numbered", style="List Number")
    d.add_paragraph("Second numbered", style="List Number")
    d.add_paragraph("A bullet", style="List Bullet")
    for name in ("Titre 1", "Überschrift 2", "Título 3"):  # localized names, no outline level
        d.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        d.add_paragraph(f"Heading styled {name}", style=name)
    custom = d.styles.add_style("Rapport niveau", WD_STYLE_TYPE.PARAGRAPH)
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), "1")
    custom.element.get_or_add_pPr().append(outline)
    d.add_paragraph("Outline level two", style="Rapport niveau")
    d.add_paragraph("Before the break.").add_run().add_break(WD_BREAK.PAGE)
    d.add_paragraph("On page two.")
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Country", (0, 1): "Score", (1, 0): "Kenya", (1, 1): "3"}.items():
        table.cell(r, c).text = text
    d.add_heading("Conclusions", level=2)
    d.add_paragraph("Figure 1: Logic model", style="Caption")
    # a text box (Word writes it twice: the drawing and a VML fallback) and hidden text
    anchor = d.add_paragraph("Anchor paragraph.")
    box = '<w:txbxContent><w:p><w:r><w:t>Box: key lesson</w:t></w:r></w:p></w:txbxContent>'
    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    anchor._p.append(parse_xml(
        f'<w:r {nsdecls("w")} {mc}><mc:AlternateContent><mc:Choice Requires="wps">{box}</mc:Choice>'
        f'<mc:Fallback>{box}</mc:Fallback></mc:AlternateContent></w:r>'))
    anchor._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:rPr><w:vanish/></w:rPr><w:t>HIDDEN-TEXT</w:t></w:r>'))
    d.save(str(path))


def test_docx_made_with_python_docx(tmp_path: Path):
    path = tmp_path / "made.docx"
    _make_docx(path)
    assert sniff(path) == "docx"
    doc = read_docx(path, "0" * 64)
    got = [(b.page, b.kind, b.level, b.text) for b in doc.blocks]
    assert got == [
        (1, "heading", 1, "Widget Programme"),
        (1, "heading", 1, "Introduction"),
        (1, "paragraph", None, "Body text on page one."),
        (1, "list_item", None, "1. First numbered"),
        (1, "list_item", None, "2. Second numbered"),
        (1, "list_item", None, "A bullet"),
        (1, "heading", 1, "Heading styled Titre 1"),
        (1, "heading", 2, "Heading styled Überschrift 2"),
        (1, "heading", 3, "Heading styled Título 3"),
        (1, "heading", 2, "Outline level two"),
        (1, "paragraph", None, "Before the break."),
        (2, "paragraph", None, "On page two."),
        (2, "table_row", None, "Country | Score"),
        (2, "table_row", None, "Kenya | 3"),
        (2, "heading", 2, "Conclusions"),
        (2, "caption", None, "Figure 1: Logic model"),
        (2, "paragraph", None, "Anchor paragraph."),
        (2, "paragraph", None, "Box: key lesson"),
    ]
    assert doc.blocks[13].cells == ["Kenya", "3"]
    assert doc.title == "Evaluation of the Widget Programme"  # core properties first
    assert [p.number for p in doc.pages] == [1, 2]


def test_docx_page_breaks_counted_once(tmp_path: Path):
    """A hard break followed by Word's rendered break is one page; rendered breaks alone count too."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    d = docx.Document()
    body = d.element.body
    paragraphs = [
        '<w:p {ns}><w:r><w:t>One</w:t><w:br w:type="page"/></w:r></w:p>',
        '<w:p {ns}><w:r><w:lastRenderedPageBreak/><w:t>Two</w:t></w:r></w:p>',
        '<w:p {ns}><w:r><w:t>Still two, then</w:t></w:r><w:r><w:lastRenderedPageBreak/><w:t>three</w:t></w:r></w:p>',
        '<w:p {ns}><w:pPr><w:pageBreakBefore/></w:pPr><w:r><w:t>Four</w:t></w:r></w:p>',
        '<w:p {ns}><w:pPr><w:sectPr><w:type w:val="continuous"/></w:sectPr></w:pPr><w:r><w:t>Four</w:t></w:r></w:p>',
        '<w:p {ns}><w:pPr><w:sectPr/></w:pPr><w:r><w:t>Still four</w:t></w:r></w:p>',
        '<w:p {ns}><w:r><w:t>Five</w:t></w:r></w:p>',
    ]
    for xml in paragraphs:
        body.insert(len(body) - 1, parse_xml(xml.format(ns=nsdecls("w"))))
    path = tmp_path / "breaks.docx"
    d.save(str(path))
    doc = read_docx(path, "0" * 64)
    assert [(b.page, b.text) for b in doc.blocks] == [
        (1, "One"), (2, "Two"), (2, "Still two, thenthree"), (4, "Four"), (4, "Four"), (4, "Still four"),
        (5, "Five")]


def test_docx_numbering_labels():
    """Multi-level numbers ("2.1"), letters, roman numerals and restarts, rebuilt from numbering.xml."""
    from lxml import etree

    from whatworks.read.docx import W, _Numbering

    xml = f"""<w:numbering xmlns:w="{W}">
      <w:abstractNum w:abstractNumId="0">
        <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>
        <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1.%2"/></w:lvl>
        <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="%3)"/></w:lvl>
      </w:abstractNum>
      <w:abstractNum w:abstractNumId="1">
        <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="upperRoman"/><w:lvlText w:val="%1."/></w:lvl>
      </w:abstractNum>
      <w:abstractNum w:abstractNumId="2">
        <w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/><w:lvlText w:val="•"/></w:lvl>
      </w:abstractNum>
      <w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>
      <w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>
      <w:num w:numId="3"><w:abstractNumId w:val="2"/></w:num>
      <w:num w:numId="4"><w:abstractNumId w:val="1"/>
        <w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>
    </w:numbering>"""
    numbering = _Numbering(etree.fromstring(xml))
    labels = [numbering.label(num, level) for num, level in
              [("1", 0), ("1", 1), ("1", 1), ("1", 2), ("1", 2), ("1", 0), ("1", 1),
               ("2", 0), ("2", 0), ("2", 0), ("2", 0), ("3", 0), ("4", 0), ("0", 0), ("99", 0)]]
    assert labels == [("1.", False), ("1.1", False), ("1.2", False), ("a)", False), ("b)", False),
                      ("2.", False), ("2.1", False), ("I.", False), ("II.", False), ("III.", False),
                      ("IV.", False), ("", True), ("I.", False), None, None]


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


def test_idrc_markdown_languages(corpus_or_none: Path | None):
    """A French Markdown report is told French (an IDRC one; else each example report, in its language)."""
    if corpus_or_none is None:
        reports = {p: p.name[:2] for p in examples() if p.suffix == ".md"}
        assert set(reports.values()) == {"en", "fr", "es", "pt"}
        for path, language in reports.items():
            doc = read_document(path)
            assert doc.format == "markdown" and doc.language == language, path.name
        return
    fr = next(f for f in (corpus_or_none / "idrc").rglob("*.md") if "Évaluation" in f.name)
    doc = read_document(fr)
    assert doc.format == "markdown" and doc.language == "fr"


def test_markdown_structure(tmp_path: Path):
    path = tmp_path / "report.md"
    path.write_text("""---
title: Final evaluation
---
Report title
============

Intro *emphasis* and **bold** with a [link](http://x.org) and `code`.
Second line of the same paragraph.

## Findings ##

Sub heading
-----------

- first item
  continued here
- second item

1. numbered one
2) numbered two

<!-- page 2 -->

| Country | Score |
|:--------|------:|
| Kenya   | 3 \\| 4 |

> quoted text

```
code block
```
\f
### Last page
""", encoding="utf-8")
    doc = read_document(path)
    got = [(b.page, b.kind, b.level, b.text) for b in doc.blocks]
    assert got == [
        (1, "heading", 1, "Report title"),
        (1, "paragraph", None, "Intro emphasis and bold with a link and code. Second line of the same paragraph."),
        (1, "heading", 2, "Findings"),
        (1, "heading", 2, "Sub heading"),
        (1, "list_item", None, "first item continued here"),
        (1, "list_item", None, "second item"),
        (1, "list_item", None, "1. numbered one"),
        (1, "list_item", None, "2) numbered two"),
        (2, "table_row", None, "Country | Score"),
        (2, "table_row", None, "Kenya | 3 | 4"),
        (2, "paragraph", None, "quoted text"),
        (2, "paragraph", None, "code block"),
        (3, "heading", 3, "Last page"),
    ]
    assert doc.blocks[9].cells == ["Kenya", "3 | 4"]
    assert doc.title == "Final evaluation"


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


def test_text_pages_and_heading_heuristics(tmp_path: Path):
    text = ("EVALUATION REPORT\n\nThe project was evaluated in 2019 by an independent team\n"
            "of two consultants.\n\n3. CONCLUSIONS\n\nThe project worked.\n\f"
            "3.2 Findings on gender\n\nWomen took part.\n\nAnnex\n=====\n\n- a list item\n- another one\n")
    path = tmp_path / "report.txt"
    path.write_text(text, encoding="utf-8")
    doc = read_text(path, "0" * 64)
    got = [(b.page, b.kind, b.level, b.text) for b in doc.blocks]
    assert got == [
        (1, "heading", 1, "EVALUATION REPORT"),
        (1, "paragraph", None, "The project was evaluated in 2019 by an independent team of two consultants."),
        (1, "heading", 1, "3. CONCLUSIONS"),
        (1, "paragraph", None, "The project worked."),
        (2, "heading", 2, "3.2 Findings on gender"),
        (2, "paragraph", None, "Women took part."),
        (2, "heading", 1, "Annex"),
        (2, "list_item", None, "- a list item"),
        (2, "list_item", None, "- another one"),
    ]
    assert doc.title == "EVALUATION REPORT"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "cp1252", "utf-16-le"])
def test_text_encodings(tmp_path: Path, encoding: str):
    text = "Évaluation finale du projet\n\nLes bénéficiaires ont été très satisfaits des résultats obtenus.\n" * 3
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    doc = read_document(path)
    assert "Les bénéficiaires ont été très satisfaits" in doc.text
    assert doc.language == "fr"
