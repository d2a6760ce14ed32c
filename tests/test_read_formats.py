"""Readers for HTML, DOCX, Markdown and plain text, on small made-up files (and the languages of Markdown
reports). The same readers on the real corpus: test_read_corpus.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from project_fixtures import examples

from whatworks.model import Document
from whatworks.read import read_document, sniff
from whatworks.read.docx import read_docx
from whatworks.read.html import read_html
from whatworks.read.text import read_text

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
