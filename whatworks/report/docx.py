"""The Word report (python-docx), in the shape of the seed review: title page, executive
summary, methodology (key questions, selection of reports with the flow, the short-listed and
selected reports and the criteria, collation of findings), findings by question (target groups
apart from final beneficiaries, success factors apart from challenges), limitations, and
annexes — the reports reviewed with their short ids (like Annex II of the seed), the matrix and
the evidence maps.

Figures are placed at the size they were drawn for (the A4 text width), never wider than the
page, so their labels print at 8–9 pt. Quotes use Word's "Quote" style and are followed by
their citation ("— E2, p. 5, file (findings)").
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt, RGBColor

from whatworks.report import (
    POLARITY_LABELS,
    Figures,
    annex_columns,
    breakdowns,
    collation_paragraphs,
    counts_text,
    criteria_rows,
    locator,
    selection_paragraphs,
    source_link,
    subtitle,
    summary_paragraphs,
    type_timing,
)
from whatworks.synthesize import ITEM_KIND_LABELS, Synthesis, _lower_label

ACCENT = RGBColor(0x2F, 0x5D, 0x8A)
MUTED = RGBColor(0x5B, 0x66, 0x75)
HEAD_FILL = "DCE6F0"
A4 = (Cm(21.0), Cm(29.7))
#: Figures are never taller than this on the page (cm), so a caption fits below.
MAX_FIGURE_HEIGHT = 21.0


def _small(paragraph, text: str, italic: bool = False, color: RGBColor = MUTED, size: float = 8.5):
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.font.color.rgb = color
    run.italic = italic
    return run


def _link(paragraph, url: str, text: str) -> None:
    """A hyperlink run (python-docx has no API for one)."""
    part = paragraph.part
    rid = part.relate_to(url, "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink",
                         is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rid)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    for tag, val in (("w:color", "2F5D8A"), ("w:u", "single"), ("w:sz", "17")):
        el = OxmlElement(tag)
        el.set(qn("w:val"), val)
        props.append(el)
    run.append(props)
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def _shade(cell, fill: str) -> None:
    props = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    props.append(shd)


def _repeat_header(row) -> None:
    props = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    props.append(el)


def _table(doc, header: list[str], rows: list[list[str]], widths: list[float], size: float = 8,
           keep_rows: bool = False):
    """A grid table with a shaded header repeated on every page, and fixed column widths (cm);
    `keep_rows`: a row is never split across pages."""
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        run.font.size = Pt(size)
        _shade(cell, HEAD_FILL)
    _repeat_header(table.rows[0])
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = ""
            lines = str(text).split("\n")
            p = cell.paragraphs[0]
            for k, line in enumerate(lines):
                if k:
                    p = cell.add_paragraph()
                run = p.add_run(line)
                run.font.size = Pt(size)
    if keep_rows:
        for row in table.rows:
            el = OxmlElement("w:cantSplit")
            el.set(qn("w:val"), "true")
            row._tr.get_or_add_trPr().append(el)
    for i, w in enumerate(widths):
        table.columns[i].width = Cm(w)
        for cell in table.columns[i].cells:
            cell.width = Cm(w)
    return table


def _text_width_cm(doc) -> float:
    section = doc.sections[-1]
    return (section.page_width - section.left_margin - section.right_margin) / Emu(Cm(1))


def _figure(doc, path: Path | None, caption: str, max_height_cm: float = MAX_FIGURE_HEIGHT) -> None:
    """The PNG at its drawn size (from its pixels and resolution), shrunk only to fit the page."""
    if path is None or not Path(path).exists():
        return
    from PIL import Image

    with Image.open(path) as im:
        px_w, px_h = im.size
        dpi = im.info.get("dpi", (200, 200))[0] or 200
    width = px_w / dpi * 2.54
    height = px_h / dpi * 2.54
    scale = min(1.0, _text_width_cm(doc) / width, max_height_cm / height)
    doc.add_picture(str(path), width=Cm(width * scale))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.paragraphs[-1].paragraph_format.keep_with_next = True
    p = doc.add_paragraph()
    _small(p, caption, italic=True, size=9)


def _caption(doc, text: str) -> None:
    p = doc.add_paragraph()
    _small(p, text, italic=True, size=9)


def _page_break(doc) -> None:
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def write_docx(s: Synthesis, figures: Figures, matrix: list[dict[str, Any]], path: Path) -> Path:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    section = doc.sections[0]
    section.page_width, section.page_height = A4
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin = section.bottom_margin = Cm(2.0)

    # --- title page (the seed's cover: organisation line, title, subtitle)
    for _ in range(4):
        doc.add_paragraph()
    p = doc.add_paragraph()
    r = p.add_run("SYNTHESIS REVIEW")
    r.bold, r.font.size, r.font.color.rgb = True, Pt(11), ACCENT
    doc.add_paragraph(s.title, style="Title")
    sub = doc.add_paragraph()
    sub.add_run(subtitle(s)).font.size = Pt(14)
    date = _dt.datetime.fromisoformat(s.generated_at).strftime("%d %B %Y")
    meta = doc.add_paragraph()
    _small(meta, f"Generated {date} by whatworks · codebook {s.codebook} · {s.items_total} items extracted, "
                 f"{s.items_coded} coded", size=9)
    banner = doc.add_paragraph()
    run = banner.add_run(s.status.get("text", ""))
    run.bold, run.font.size = True, Pt(11)
    run.font.color.rgb = RGBColor(0x1E, 0x5B, 0x2D) if s.status.get("final") else RGBColor(0x8A, 0x5A, 0x00)
    _page_break(doc)

    # --- executive summary
    doc.add_heading("Executive summary", 1)
    for para in summary_paragraphs(s):
        doc.add_paragraph(para)
    for w in s.warnings:
        p = doc.add_paragraph(style="List Bullet")
        _small(p, w["text"], color=RGBColor(0x8A, 0x5A, 0x00), size=9.5)
    doc.add_heading("Key findings", 2)
    for st in s.summary:
        p = doc.add_paragraph(style="List Number")
        p.add_run(st.text)
        if st.source == "llm":
            _small(p, " [written by a language model; every sentence checked against its quotes]", italic=True)
    if s.limitations:
        p = doc.add_paragraph()
        p.add_run("Limitations. ").bold = True
        p.add_run(" ".join(s.limitations[:2]) + " (All limitations are listed at the end of the report.)")

    # --- methodology
    doc.add_heading("Methodology", 1)
    doc.add_heading("Key questions", 2)
    doc.add_paragraph("This synthesis review answers the following questions:")
    asked = s.questions_text or [f"{q.label} ({q.ask})" if q.ask else q.label for q in s.questions]
    for n, qt in enumerate(asked, 1):  # numbered by hand: Word's list numbering would run on from the summary's
        p = doc.add_paragraph(f"{n}. {qt}")
        p.paragraph_format.left_indent = Cm(0.6)
    paragraphs = selection_paragraphs(s, figures)
    if paragraphs:
        doc.add_heading("Selection of reports", 2)
        for para in paragraphs:
            doc.add_paragraph(para)
    for key in ("flow", "shortlisted", "criteria", "selected"):
        if key == "criteria":
            cols = criteria_rows(s)
            if cols:
                width = _text_width_cm(doc) / len(cols)
                _table(doc, [title for title, _ in cols], [["\n".join(f"• {t}" for t in texts) for _, texts in cols]],
                       [width] * len(cols), size=8.5, keep_rows=True)
                _caption(doc, figures.caption("criteria"))
        elif key in figures.png:
            _figure(doc, figures.png[key], figures.caption(key))
    doc.add_heading("Collation of findings", 2)
    for para in collation_paragraphs(s):
        doc.add_paragraph(para)

    # --- findings
    doc.add_heading("Findings", 1)
    for q in s.questions:
        doc.add_heading(q.label, 2)
        if q.ask:
            p = doc.add_paragraph()
            p.add_run(q.ask).italic = True
        for g in q.groups:
            if g.id:
                doc.add_heading(g.label, 3)
            if not g.themes:
                p = doc.add_paragraph()
                p.add_run(f"No report in the selection addressed {_lower_label(g.label if g.id else q.label)}.").italic = True
            for t in g.themes:
                doc.add_heading(f"{t.label} ({len(t.supporting)} of {s.n_reports} reports)", 4)
                p = doc.add_paragraph()
                p.add_run(t.headline).bold = True
                shown = breakdowns(s)
                if shown:
                    p = doc.add_paragraph()
                    _small(p, " · ".join(f"{title}: {counts_text(getattr(t, key), titles)}" for key, title, titles in shown))
                for c in t.claims:
                    p = doc.add_paragraph()
                    tag = p.add_run(POLARITY_LABELS.get(c.polarity, c.polarity).upper() + "  ")
                    tag.bold, tag.font.size, tag.font.color.rgb = True, Pt(8), MUTED
                    p.add_run(c.text)
                    for n, q in enumerate(c.citations):
                        if n or q.quote != c.lead:
                            doc.add_paragraph(q.quote, style="Quote")
                        cite = doc.add_paragraph()
                        cite.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                        _small(cite, f"— {q.report_id}, {locator(q)}, ")
                        _link(cite, source_link(q), Path(q.source).name)
                        _small(cite, f" ({ITEM_KIND_LABELS.get(q.kind, q.kind)})")
            if g.no_evidence and g.themes:
                p = doc.add_paragraph()
                _small(p, "No report in the selection addressed: " + "; ".join(g.no_evidence) + ".")

    doc.add_heading("Limitations", 1)
    for lim in s.limitations or ["None recorded."]:
        doc.add_paragraph(lim, style="List Bullet")

    # --- annexes
    _page_break(doc)
    doc.add_heading("Annex I. Reports reviewed", 1)
    rows = []
    for n, r in enumerate(s.reports, 1):
        title = r.title + (f" ({', '.join(r.project_codes)})" if r.project_codes else "")
        if r.supplementary:
            title += " — supplementary"
        rows.append([f"{n}.", r.report_id, title, type_timing(r.timing, r.evaluator_type, r.evaluation_type),
                     str(r.year or ""), ", ".join(r.regions), r.url or r.source])
    _table(doc, ["S.n.", "Report No.", "Title (project codes)", "Evaluation type and timing", "Year", "Region",
                 "Link or source"], rows, [1.1, 1.5, 5.8, 2.6, 1.3, 2.0, 2.3])
    landscape = doc.add_section()
    landscape.orientation = WD_ORIENT.LANDSCAPE
    landscape.page_width, landscape.page_height = A4[1], A4[0]
    if matrix:
        doc.add_heading("Annex II. Short-listed reports", 1)
        doc.add_paragraph("Every report the keyword search short-listed, with what became of it; matrix.xlsx has every "
                          "record identified, with every criterion, reason and piece of evidence.")
        widths = {"report_id": 1.8, "title": 9.5, "link": 4.0, "type_timing": 3.6, "year": 1.3, "decision": 2.6,
                  "reason": 6.5}
        columns = annex_columns(matrix)
        keys = [k for k, _ in columns]
        _table(doc, [h for _, h in columns],
               [["" if row.get(k) is None else str(row.get(k)) for k in keys] for row in matrix],
               [widths.get(k, 2.0) for k in keys], size=7.5)
    maps = [k for k in ("heatmap", "evidence") if k in figures.png]
    if maps:
        portrait = doc.add_section()
        portrait.orientation = WD_ORIENT.PORTRAIT
        portrait.page_width, portrait.page_height = A4
        doc.add_heading("Annex III. Evidence maps", 1)
        doc.add_paragraph("Each row is a theme with evidence, under its question; each number is the count in that "
                          "cell, and darker cells hold more.")
        for k in maps:
            _figure(doc, figures.png[k], figures.caption(k), max_height_cm=21.5)
    if s.emerging:
        doc.add_heading(f"Annex {'IV' if maps else 'III'}. Emerging themes", 1)
        doc.add_paragraph("Items that fit no theme of the codebook, grouped by meaning: candidates for a reviewer to "
                          "name and add to the codebook in the workspace, or dismiss.")
        ids = {r.sha256: r.report_id for r in s.reports}
        for e in s.emerging:
            doc.add_heading(f"{e.get('name') or e['label']} ({e['size']} items)", 3)
            p = doc.add_paragraph()
            _small(p, "Most distinctive words: " + ", ".join(e.get("terms", [])))
            for it in e.get("items", [])[:5]:
                text = it["text"] if len(it["text"]) <= 260 else it["text"][:257] + "…"
                doc.add_paragraph(f"{ids.get(it['sha256'], '')}: {text}", style="List Bullet")
    doc.save(str(path))
    return path
