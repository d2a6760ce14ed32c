"""The Word report (python-docx), in the shape of the seed review: title page, executive
summary, methodology with the selection flow and counts, findings by question (success
factors apart from challenges), limitations, and annexes — the reports reviewed with their
short ids (like Annex II of the seed) and the matrix.

Quotes use Word's "Quote" style and are followed by their citation ("— E2, p. 5, file").
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Cm, Pt, RGBColor

from whatworks.report import (
    FLOW_LABELS,
    MATRIX_COLUMNS,
    SUMMARY_TOP,
    TYPE_TITLES,
    Figures,
    counts_text,
    years_text,
)
from whatworks.synthesize import ITEM_KIND_LABELS, Synthesis

ACCENT = RGBColor(0x2F, 0x5D, 0x8A)
MUTED = RGBColor(0x5B, 0x66, 0x75)


def _small(paragraph, text: str, italic: bool = False, color: RGBColor = MUTED):
    run = paragraph.add_run(text)
    run.font.size = Pt(8.5)
    run.font.color.rgb = color
    run.italic = italic
    return run


def _table(doc, header: list[str], rows: list[list[str]], widths: list[float] | None = None, size: float = 8):
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Light Grid Accent 1"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        run.font.size = Pt(size)
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = ""
            run = cell.paragraphs[0].add_run(str(text))
            run.font.size = Pt(size)
    if widths:
        for row in table.rows:
            for cell, w in zip(row.cells, widths, strict=False):
                cell.width = Cm(w)
    return table


def _figure(doc, path: Path | None, caption: str, width_cm: float = 16):
    if path is None or not Path(path).exists():
        return
    doc.add_picture(str(path), width=Cm(width_cm))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    p = doc.add_paragraph()
    _small(p, caption, italic=True)


def write_docx(s: Synthesis, figures: Figures, matrix: list[dict[str, Any]], path: Path) -> Path:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    section = doc.sections[0]
    section.left_margin = section.right_margin = Cm(2.2)

    # --- title page
    p = doc.add_paragraph()
    r = p.add_run("SYNTHESIS REVIEW")
    r.bold, r.font.size, r.font.color.rgb = True, Pt(11), ACCENT
    doc.add_paragraph(s.title, style="Title")
    sub = doc.add_paragraph()
    sub.add_run(f"What is being done, what works, for whom and why — evidence from {s.n_reports} evaluation "
                f"report{'' if s.n_reports == 1 else 's'}").font.size = Pt(14)
    date = _dt.datetime.fromisoformat(s.generated_at).strftime("%d %B %Y")
    meta = doc.add_paragraph()
    _small(meta, f"Generated {date} by whatworks · codebook {s.codebook} · {s.items_total} items extracted, "
                 f"{s.items_coded} coded · {s.codes_reviewed} of {s.codes_total} codes checked by a reviewer")
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    # --- executive summary
    doc.add_heading("Executive summary", 1)
    doc.add_paragraph(
        f"This synthesis draws on {s.n_reports} included evaluation report{'' if s.n_reports == 1 else 's'}. "
        f"{s.items_total} findings, conclusions, recommendations, lessons learned and good practices were extracted "
        f"and coded to the themes of the codebook; {s.items_coded} items fit at least one theme.")
    for q in s.questions:
        doc.add_heading(q.label, 2)
        for g in q.groups:
            if g.id:
                p = doc.add_paragraph()
                p.add_run(g.label).bold = True
            if not g.themes:
                doc.add_paragraph("No report gave evidence.", style="List Bullet")
            for t in g.themes[:SUMMARY_TOP]:
                p = doc.add_paragraph(style="List Bullet")
                p.add_run(t.label).bold = True
                p.add_run(f" — {t.n_reports} of {s.n_reports} reports ({', '.join(t.reports)})")

    # --- methodology
    doc.add_heading("Methodology", 1)
    if s.questions_text:
        doc.add_paragraph("The review asks:")
        for qt in s.questions_text:
            doc.add_paragraph(qt, style="List Number")
    if s.flow:
        rows = [[label, str(s.flow[key])] for key, label in FLOW_LABELS if s.flow.get(key) is not None]
        _table(doc, ["Selection", "Records"], rows, [9, 3], size=9)
        if s.flow.get("excluded_by_reason"):
            doc.add_paragraph("Reasons for exclusion:")
            for reason, n in s.flow["excluded_by_reason"].items():
                doc.add_paragraph(f"{reason}: {n}", style="List Bullet")
    _figure(doc, figures.png.get("flow"), "Figure 1. Selection of reports.", 15)
    _figure(doc, figures.png.get("profile"), "Figure 2. Included reports by evaluation type, timing and region.")
    doc.add_paragraph(
        f"Items were coded to the codebook {s.codebook} offline: its descriptors (keywords and phrases in English, "
        "French, Spanish and Portuguese, with exclusions) were matched on accent-folded, lightly stemmed words, and "
        "items no descriptor matched were compared with the themes' definitions through multilingual sentence "
        "embeddings, with thresholds relative to each item's similarity to all themes. Reviewers' decisions override "
        "the machine's. Themes are ranked by the number of included reports supporting them; the paragraph under "
        "each theme states only counts, report ids, regions, kinds of item and years from the coded evidence.")

    # --- findings
    for q in s.questions:
        doc.add_heading(q.label, 1)
        if q.ask:
            p = doc.add_paragraph()
            p.add_run(q.ask).italic = True
        for g in q.groups:
            if g.id:
                doc.add_heading(g.label, 2)
            for t in g.themes:
                doc.add_heading(f"{t.label} ({t.n_reports} of {s.n_reports} reports)", 3)
                doc.add_paragraph(t.narrative + (" [Drafted by a language model, checked against the evidence.]"
                                                 if t.narrative_source == "llm" else ""))
                p = doc.add_paragraph()
                _small(p, f"Region: {counts_text(t.by_region)} · Type: {counts_text(t.by_type, TYPE_TITLES)} · "
                          f"Timing: {counts_text(t.by_timing, TYPE_TITLES)} · Year: {years_text(t.by_year)}")
                for qt in t.quotes:
                    doc.add_paragraph(qt.text, style="Quote")
                    cite = doc.add_paragraph()
                    cite.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                    _small(cite, f"— {qt.report_id}, p. {qt.page}, {qt.source} "
                                 f"({ITEM_KIND_LABELS.get(qt.kind, qt.kind)})")
            if g.no_evidence:
                p = doc.add_paragraph()
                _small(p, "No included report gave evidence on: " + "; ".join(g.no_evidence) + ".")

    if s.emerging:
        doc.add_heading("Emerging themes", 1)
        doc.add_paragraph("Items that fit no theme of the codebook, grouped by meaning: candidates for a reviewer to "
                          "name or dismiss.")
        ids = {r.sha256: r.report_id for r in s.reports}
        for e in s.emerging:
            doc.add_heading(f"{e.get('name') or e['label']} ({e['size']} items)", 3)
            p = doc.add_paragraph()
            _small(p, "Most distinctive words: " + ", ".join(e.get("terms", [])))
            for it in e.get("items", [])[:5]:
                text = it["text"] if len(it["text"]) <= 260 else it["text"][:257] + "…"
                doc.add_paragraph(f"{ids.get(it['sha256'], '')}: {text}", style="List Bullet")

    doc.add_heading("Evidence maps", 1)
    _figure(doc, figures.png.get("heatmap"), "Figure 3. Included reports supporting each theme, by region.")
    _figure(doc, figures.png.get("evidence"), "Figure 4. Coded items of each report supporting each theme.")

    doc.add_heading("Limitations", 1)
    for lim in s.limitations or ["None recorded."]:
        doc.add_paragraph(lim, style="List Bullet")

    # --- annexes
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    doc.add_heading("Annex I. Reports reviewed", 1)
    rows = []
    for n, r in enumerate(s.reports, 1):
        title = r.title + (f" ({', '.join(r.project_codes)})" if r.project_codes else "")
        timing = " ".join(x for x in (TYPE_TITLES.get(r.timing, r.timing), TYPE_TITLES.get(r.evaluator_type,
                                                                                            r.evaluator_type)) if x)
        rows.append([f"{n}.", r.report_id, title, timing, str(r.year or ""), ", ".join(r.regions), r.source])
    _table(doc, ["S.n.", "Report No.", "Title (project codes)", "Evaluation type and timing", "Year", "Region",
                 "Source"], rows, [1, 1.6, 6, 2.6, 1.2, 2.4, 3])
    if matrix:
        new = doc.add_section()
        new.orientation = WD_ORIENT.LANDSCAPE
        new.page_width, new.page_height = section.page_height, section.page_width
        doc.add_heading("Annex II. Matrix of reports considered", 1)
        keys = [k for k, _ in MATRIX_COLUMNS]
        _table(doc, [h for _, h in MATRIX_COLUMNS],
               [["" if row.get(k) is None else str(row.get(k)) for k in keys] for row in matrix], size=7)
    doc.save(str(path))
    return path
