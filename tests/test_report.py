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
from whatworks.store import codes as codes_store
from whatworks.store import documents as docs

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="session")
def written():
    from whatworks.report import write_reports

    project, s = example_review()
    paths = write_reports(project.store, s, project.output_dir)
    return project, s, {p.name: p for p in paths}


def _in_source(review, sha: str, page: int | None, quote: str) -> bool:
    """The quote is verbatim at its page (PDF) or somewhere in its document (a page-less format)."""
    doc = review.document(sha)
    pages = [normalise_space(" ".join(b.text for b in p.blocks)) for p in doc.pages]
    if page:
        assert 1 <= page <= len(pages), (sha[:8], page)
        return normalise_space(quote) in pages[page - 1]
    return any(normalise_space(quote) in p for p in pages)


def _page(value) -> int | None:
    return int(value) if value not in (None, "", "None") else None


def html_quotes(path: Path) -> list[tuple[str, int | None, str]]:
    tree = lxml_html.fromstring(path.read_text(encoding="utf-8"))
    return [(bq.get("data-sha256"), _page(bq.get("data-page")), bq.text_content())
            for bq in tree.xpath("//blockquote[contains(@class, 'quote')]")]


_MD_UNESCAPE = re.compile(r"\\([\\`*_\[\]<>#|])")


def markdown_quotes(path: Path) -> list[tuple[str, int | None, str]]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r"<!-- quote report=\S+ sha256=(\w+) page=(\w*) -->\n> (.*)\n", text):
        out.append((m.group(1), _page(m.group(2)), _MD_UNESCAPE.sub(r"\1", m.group(3))))
    return out


def docx_quotes(path: Path, ids: dict[str, str]) -> list[tuple[str, int | None, str]]:
    from docx import Document

    paragraphs = Document(str(path)).paragraphs
    out = []
    for i, p in enumerate(paragraphs):
        if p.style.name == "Quote":
            cite = re.match(r"— (\S+), (?:p\. (\d+)|section “[^”]*”|\(no page\)),", paragraphs[i + 1].text)
            assert cite, paragraphs[i + 1].text
            out.append((ids[cite.group(1)], _page(cite.group(2)), p.text))
    return out


def excel_quotes(path: Path) -> list[tuple[str, int | None, str]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    out = []
    for sheet, column in (("Claims", "Quote (verbatim)"), ("Codes", "Quote (verbatim)")):
        rows = wb[sheet]
        head = [c.value for c in next(rows.iter_rows(max_row=1))]
        for row in rows.iter_rows(min_row=2, values_only=True):
            r = dict(zip(head, row, strict=True))
            if r[column]:
                out.append((r["sha256"], _page(r["Page"]), r[column]))
    return out


def _claims(s):
    return [c for t in s.themes() for c in t.claims]


def test_every_format_is_written(written):
    _, _, paths = written
    for name in ("synthesis.html", "synthesis.docx", "synthesis.md", "synthesis.xlsx", "synthesis.json",
                 "heatmap.svg", "evidence.png", "figure1_shortlisted.png", "figure3_selected.svg", "flow.svg",
                 "flow.png", "prisma_flow.csv"):
        assert name in paths and paths[name].stat().st_size > 1000, name
    # each figure is drawn once, into figures/; the flow's data files sit beside the reports
    figures = [p for p in paths.values() if p.suffix in (".svg", ".png")]
    assert {p.parent.name for p in figures} == {"figures"}
    assert len({p.name for p in figures}) == len(figures)
    assert paths["prisma_flow.csv"].parent == paths["synthesis.html"].parent


def test_figures_are_redrawn_only_when_their_data_change(written, tmp_path: Path):
    from whatworks.report import build_figures

    project, s, paths = written
    fig_dir = paths["flow.svg"].parent
    before = {p.name: p.stat().st_mtime_ns for p in fig_dir.iterdir()}
    build_figures(project.store, s, fig_dir, tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in fig_dir.iterdir() if p.name in before} == before
    changed = copy.deepcopy(s)
    theme = changed.themes()[0]
    theme.by_region = {**theme.by_region, "Africa": theme.by_region.get("Africa", 0) + 5}
    build_figures(project.store, changed, fig_dir, tmp_path)
    assert (fig_dir / "heatmap.svg").stat().st_mtime_ns != before["heatmap.svg"]
    assert (fig_dir / "flow.svg").stat().st_mtime_ns == before["flow.svg"]
    build_figures(project.store, s, fig_dir, tmp_path)  # back as it was, for the other tests


def test_figures_print_at_their_drawn_size(written):
    """Figures are drawn for an A4 text width (6.5 in): their labels are not shrunk on paper."""
    from PIL import Image

    _, _, paths = written
    for name in ("flow.png", "figure1_shortlisted.png", "figure3_selected.png", "heatmap.png"):
        with Image.open(paths[name]) as im:
            width_in = im.size[0] / im.info["dpi"][0]
            height_in = im.size[1] / im.info["dpi"][1]
        assert 4.5 <= width_in <= 7.2, (name, width_in)
        assert height_in < 13, (name, height_in)
    # the flow diagram has no blank band: its height follows its boxes
    with Image.open(paths["flow.png"]) as im:
        gray = im.convert("L")
        w, h = gray.size
        rows_blank = [all(gray.getpixel((x, y)) > 245 for x in range(0, w, 4)) for y in range(h)]
        longest, run = 0, 0
        for blank in rows_blank:
            run = run + 1 if blank else 0
            longest = max(longest, run)
        assert longest < 0.1 * h, longest / h


def test_all_quotes_of_all_formats_are_verbatim_at_their_page(written):
    project, s, paths = written
    ids = {r.report_id: r.sha256 for r in s.reports}
    claims = _claims(s)
    n = sum(len(c.citations) for c in claims)
    inline = sum(1 for c in claims if c.citations and c.citations[0].quote == c.lead)  # quoted in the claim itself
    found = {
        "html": html_quotes(paths["synthesis.html"]),
        "md": markdown_quotes(paths["synthesis.md"]),
        "docx": docx_quotes(paths["synthesis.docx"], ids),
        "xlsx": excel_quotes(paths["synthesis.xlsx"]),
    }
    assert len(found["md"]) == n > 30
    assert len(found["html"]) == len(found["docx"]) == n - inline
    assert len(found["xlsx"]) > n  # the claims' quotes plus the machine's quote of every code
    for fmt, quotes in found.items():
        bad = [(sha[:8], page, q[:60]) for sha, page, q in quotes if not _in_source(project, sha, page, q)]
        assert not bad, (fmt, bad[:5])
    for c in claims:  # a claim quotes its lead sentence in its own words
        assert c.lead[1:60] in c.text


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
    assert tree.xpath("//p[contains(@class, 'status')]")[0].text_content().startswith("Draft:")
    # every claim links to its reports and its quotes; every quote to its report and its source file
    for t in s.themes():
        art = tree.get_element_by_id(f"theme-{t.id}")
        claims = art.xpath(".//p[@class='claim']")
        assert len(claims) == len(t.claims)
        for n, (p, c) in enumerate(zip(claims, t.claims, strict=True), 1):
            links = {a.get("href") for a in p.xpath(".//a")}
            assert f"#report-{c.citations[0].report_id}" in links
            assert {f"#q-{t.id}-{n}-{i}" for i in range(1, len(c.citations) + 1)} <= links
        cites = art.xpath(".//p[@class='cite']")
        assert len(cites) == sum(len(c.citations) for c in t.claims)
        assert all(p.xpath("./a[starts-with(@href, 'file:')]") for p in cites)
    for r in s.reports:
        assert f'id="report-{r.report_id}"' in text
    assert "Annex II. Short-listed reports" in text


def test_report_text_is_escaped(written):
    from whatworks.report import Figures
    from whatworks.report.html import render_html
    from whatworks.report.markdown import render_markdown

    _, s, paths = written
    evil = copy.deepcopy(s)
    evil.title = "Review <script>alert('title')</script>"
    theme = evil.themes()[0]
    theme.claims[0].citations[-1].quote = "<img src=x onerror=alert(1)> & *bold*"
    theme.claims[0].text = "<b>bold</b> claim"
    theme.headline = f"{theme.n_reports} of {evil.n_reports} reports <b>bold</b> ({theme.reports[0]})"
    evil.reports[0].title = "<iframe src='http://example.org'></iframe>"
    page = render_html(evil, Figures(), [{"title": "<svg onload=alert(2)>", "report_id": "E1"}])
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//script | //img | //iframe | //svg | //p[@class='headline']//b | //p[@class='claim']//b")
    assert "&lt;script&gt;" in page and "&lt;svg onload" in page
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
    assert s.title in [p.text for p in doc.paragraphs[:8]]
    assert len(doc.inline_shapes) >= 5  # flow, short-listed, selected, heat map, evidence map
    for h in ("Key questions", "Selection of reports", "Collation of findings", "Findings"):
        assert h in headings, h
    assert headings.index("Methodology") < headings.index("Findings") < headings.index("Limitations")
    assert headings.index("Target groups") < headings.index("Final beneficiaries")
    annex = next(t for t in doc.tables if t.rows[0].cells[1].text == "Report No.")
    first_col = [row.cells[1].text for row in annex.rows[1:]]
    assert first_col == [r.report_id for r in s.reports]
    # the criteria table (the seed's figure 2) and the limitations as the seed states them
    criteria = next(t for t in doc.tables if t.rows[0].cells[0].text == "Inclusion")
    assert "Exclusion" in [c.text for c in criteria.rows[0].cells]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "No included report covers" in text and "were not coded" in text
    assert "Key findings" in headings and any(p.text.startswith("Draft:") for p in doc.paragraphs[:12])
    # figures sit inside the page's text width
    section = doc.sections[0]
    width = section.page_width - section.left_margin - section.right_margin
    assert all(shape.width <= width for shape in doc.inline_shapes)


def test_workbook_has_every_item_with_its_codes(written):
    from openpyxl import load_workbook

    project, s, paths = written
    wb = load_workbook(paths["synthesis.xlsx"], read_only=True)
    assert wb.sheetnames == ["Items", "Codes", "Claims", "Themes", "Reports"]
    items = list(wb["Items"].iter_rows(min_row=2, values_only=True))
    assert len(items) == len(docs.item_rows(project.store))
    codes = list(wb["Codes"].iter_rows(min_row=2, values_only=True))
    assert len(codes) == len(codes_store.code_rows(project.store))
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
