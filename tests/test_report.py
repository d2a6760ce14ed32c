"""The reports (HTML, Word, Markdown, Excel) of the example review: every quote in every format is
checked against the stored document at its cited page; report text is escaped; the HTML renders."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import pytest
from lxml import html as lxml_html
from test_synthesis import example_review

from whatworks.coding import normalise_space

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="session")
def written():
    from whatworks.report import write_reports

    project, s = example_review()
    paths = write_reports(project, s)
    return project, s, {p.name: p for p in paths}


def _on_page(db, sha: str, page: int, quote: str) -> bool:
    doc = db.document(sha)
    assert 1 <= page <= len(doc.pages), (sha[:8], page)
    text = normalise_space(" ".join(b.text for b in doc.pages[page - 1].blocks))
    return normalise_space(quote) in text


def html_quotes(path: Path) -> list[tuple[str, int, str]]:
    tree = lxml_html.fromstring(path.read_text(encoding="utf-8"))
    return [(bq.get("data-sha256"), int(bq.get("data-page")), bq.text_content())
            for bq in tree.xpath("//blockquote[contains(@class, 'quote')]")]


_MD_UNESCAPE = re.compile(r"\\([\\`*_\[\]<>#|])")


def markdown_quotes(path: Path) -> list[tuple[str, int, str]]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r"<!-- quote report=\S+ sha256=(\w+) page=(\d+) -->\n> (.*)\n", text):
        out.append((m.group(1), int(m.group(2)), _MD_UNESCAPE.sub(r"\1", m.group(3))))
    return out


def docx_quotes(path: Path, ids: dict[str, str]) -> list[tuple[str, int, str]]:
    from docx import Document

    paragraphs = Document(str(path)).paragraphs
    out = []
    for i, p in enumerate(paragraphs):
        if p.style.name == "Quote":
            cite = re.match(r"— (\S+), p\. (\d+),", paragraphs[i + 1].text)
            assert cite, paragraphs[i + 1].text
            out.append((ids[cite.group(1)], int(cite.group(2)), p.text))
    return out


def excel_quotes(path: Path) -> list[tuple[str, int, str]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    out = []
    quotes = wb["Quotes"]
    head = [c.value for c in next(quotes.iter_rows(max_row=1))]
    for row in quotes.iter_rows(min_row=2, values_only=True):
        r = dict(zip(head, row, strict=True))
        out.append((r["sha256"], int(r["Page"]), r["Quote"]))
    codes = wb["Codes"]
    head = [c.value for c in next(codes.iter_rows(max_row=1))]
    for row in codes.iter_rows(min_row=2, values_only=True):
        r = dict(zip(head, row, strict=True))
        if r["Quote (verbatim)"]:
            out.append((r["sha256"], int(r["Page"]), r["Quote (verbatim)"]))
    return out


def test_every_format_is_written(written):
    _, _, paths = written
    for name in ("synthesis.html", "synthesis.docx", "synthesis.md", "synthesis.xlsx", "synthesis.json",
                 "heatmap.svg", "evidence.png", "profile.png", "flow.svg"):
        assert name in paths and paths[name].stat().st_size > 1000, name


def test_all_quotes_of_all_formats_are_verbatim_at_their_page(written):
    project, s, paths = written
    ids = {r.report_id: r.sha256 for r in s.reports}
    n = len(s.quotes())
    found = {
        "html": html_quotes(paths["synthesis.html"]),
        "md": markdown_quotes(paths["synthesis.md"]),
        "docx": docx_quotes(paths["synthesis.docx"], ids),
        "xlsx": excel_quotes(paths["synthesis.xlsx"]),
    }
    assert len(found["html"]) == len(found["md"]) == len(found["docx"]) == n > 30
    assert len(found["xlsx"]) > n  # the synthesis' quotes plus the machine's quote of every code
    for fmt, quotes in found.items():
        bad = [(sha[:8], page, q[:60]) for sha, page, q in quotes if not _on_page(project.db, sha, page, q)]
        assert not bad, (fmt, bad[:5])


def test_html_is_self_contained_and_linked(written):
    _, s, paths = written
    text = paths["synthesis.html"].read_text(encoding="utf-8")
    tree = lxml_html.fromstring(text)
    assert not tree.xpath("//script") and not tree.xpath("//link[@rel='stylesheet']")
    assert not tree.xpath("//img[starts-with(@src, 'http')]")
    assert len(tree.xpath("//figure//svg")) >= 3  # figures inline
    anchors = {e.get("id") for e in tree.xpath("//*[@id]")}
    targets = {a.get("href")[1:] for a in tree.xpath("//a[starts-with(@href, '#')]")}
    assert targets <= anchors, sorted(targets - anchors)[:5]
    # every theme's statement links to its quotes, every quote to its report
    for t in s.themes():
        art = tree.get_element_by_id(f"theme-{t.id}")
        links = {a.get("href") for a in art.xpath(".//p[@class='narrative']//a")}
        assert {f"#report-{rid}" for rid in t.reports} & links
        assert {f"#q-{t.id}-{i}" for i in range(1, len(t.quotes) + 1)} <= links
        assert len(art.xpath(".//p[@class='cite']/a")) == len(t.quotes)
    for r in s.reports:
        assert f'id="report-{r.report_id}"' in text


def test_report_text_is_escaped(written):
    from whatworks.report import Figures
    from whatworks.report.html import render_html
    from whatworks.report.markdown import render_markdown

    _, s, paths = written
    evil = copy.deepcopy(s)
    evil.title = "Review <script>alert('title')</script>"
    theme = evil.themes()[0]
    theme.quotes[0].text = "<img src=x onerror=alert(1)> & *bold*"
    theme.narrative = f"{theme.n_reports} of {evil.n_reports} reports <b>bold</b> ({theme.reports[0]})"
    evil.reports[0].title = "<iframe src='http://example.org'></iframe>"
    page = render_html(evil, Figures(), [{"title": "<svg onload=alert(2)>", "report_id": "E1"}])
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//script | //img | //iframe | //svg | //p[@class='narrative']//b")
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page and "&lt;svg onload" in page
    md = render_markdown(evil, Figures(), [], paths["synthesis.md"].parent)
    assert not re.search(r"(?<!\\)<(img|iframe|script)", md) and "\\<script\\>" in md


def test_word_document_has_the_seed_shape(written):
    from docx import Document

    _, s, paths = written
    doc = Document(str(paths["synthesis.docx"]))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    for h in ("Executive summary", "Methodology", "What works?", "For whom?", "Why?", "Success factors",
              "Challenges", "Target groups", "Final beneficiaries", "Limitations", "Annex I. Reports reviewed"):
        assert h in headings, h
    assert headings.index("Success factors") < headings.index("Challenges")
    assert doc.paragraphs[1].text == s.title
    assert len(doc.inline_shapes) >= 3  # flow, profile, heat map, evidence map
    annex = doc.tables[-2] if len(doc.tables) >= 2 else doc.tables[-1]
    first_col = [row.cells[1].text for row in annex.rows[1:]]
    assert first_col == [r.report_id for r in s.reports]


def test_workbook_has_every_item_with_its_codes(written):
    from openpyxl import load_workbook

    project, s, paths = written
    wb = load_workbook(paths["synthesis.xlsx"], read_only=True)
    assert wb.sheetnames == ["Items", "Codes", "Quotes", "Themes", "Reports"]
    items = list(wb["Items"].iter_rows(min_row=2, values_only=True))
    assert len(items) == project.db.scalar("SELECT COUNT(*) FROM items")
    codes = list(wb["Codes"].iter_rows(min_row=2, values_only=True))
    assert len(codes) == project.db.scalar("SELECT COUNT(*) FROM codes")
    assert len(list(wb["Reports"].iter_rows(min_row=2))) == s.n_reports


def test_markdown_links_and_tables(written):
    _, s, paths = written
    text = paths["synthesis.md"].read_text(encoding="utf-8")
    assert text.startswith("# " + s.title.split(":")[0])
    for link in re.findall(r"\]\(#(theme-[a-z0-9_]+)\)", text):
        assert f'<a id="{link}"></a>' in text
    for img in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (paths["synthesis.md"].parent / img).exists(), img
    assert "| S.n. | Report No. |" in text


@pytest.mark.browser
def test_html_renders_in_chromium(written, tmp_path: Path):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    _, s, paths = written
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(paths["synthesis.html"].as_uri())
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        shown = page.evaluate("[...document.querySelectorAll('figure svg')].filter(e => e.getBoundingClientRect()"
                              ".width > 200).length")
        page.screenshot(path=str(tmp_path / "synthesis.png"), full_page=True)
        page.emulate_media(media="print")
        page.pdf(path=str(tmp_path / "synthesis.pdf")) if hasattr(page, "pdf") else None
        browser.close()
    assert not errors
    assert overflow <= 0  # nothing wider than the window: wide tables scroll inside their box
    assert shown >= 3
    assert (tmp_path / "synthesis.png").stat().st_size > 50_000
