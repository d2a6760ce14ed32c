"""The Excel and CSV outputs: the synthesis workbook and the selection matrix.

synthesis.xlsx sheets: Items (one row per item of every described report, with its effective
themes and the machine's and people's codes), Codes (one row per theme on an item), Quotes (the
synthesis' verified quotes with report and page), Themes (ranked per question), Reports.
matrix.xlsx / matrix.csv: one row per record (whatworks.selection.matrix_rows).

Report text is untrusted: every cell is written as text, never as a formula, whatever it starts
with (=, +, -, @, tab, CR), in Excel and CSV alike.
"""

from __future__ import annotations

import csv
import json
from copy import copy
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from whatworks import decisions
from whatworks.selection import MATRIX_COLUMNS
from whatworks.store import codes as codes_store
from whatworks.store import documents as docs
from whatworks.store.base import Store
from whatworks.synthesize import Sources, Synthesis

HEAD_FILL = PatternFill("solid", fgColor="DCE6F0")
#: Excel refuses control characters in cells.
_ILLEGAL = dict.fromkeys(list(range(0, 9)) + [11, 12] + list(range(14, 32)))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _clean(value):
    if isinstance(value, str):
        return value.translate(_ILLEGAL)[:32000]
    return value


def safe_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet reads as a formula (OWASP: a leading quote)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def text_cell(cell) -> None:
    """Keep an openpyxl cell's string as text: openpyxl makes any string starting with '=' a formula."""
    if isinstance(cell.value, str) and cell.data_type == "f":
        cell.data_type = "s"


_TOP = Alignment(vertical="top")
_WRAP = Alignment(vertical="top", wrap_text=True)
_BOLD = Font(bold=True)


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list], widths: list[int]) -> None:
    """One sheet, written in openpyxl's streaming mode (a workbook of every item stays quick to write)."""
    ws = wb.create_sheet(title)
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    head = []
    for text in header:
        cell = WriteOnlyCell(ws, value=text)
        cell.font, cell.fill, cell.alignment = _BOLD, HEAD_FILL, _WRAP
        head.append(cell)
    ws.append(head)
    # a cell's style is registered once and its index copied (setting .alignment on every cell
    # hashes the style again each time: most of the time a large workbook took)
    wrap, top = WriteOnlyCell(ws), WriteOnlyCell(ws)
    wrap.alignment, top.alignment = _WRAP, _TOP
    for row in rows:
        out = []
        for value in row:
            cell = WriteOnlyCell(ws, value=_clean(value))
            text_cell(cell)
            cell._style = copy((wrap if isinstance(value, str) and len(value) > 40 else top)._style)
            out.append(cell)
        ws.append(out)


def write_excel(store: Store, s: Synthesis, path: Path, visible: list[str] | None = None) -> Path:
    ids = {r.sha256: r.report_id for r in s.reports}
    sources_by_sha = {r["sha256"]: r["source"] for r in docs.document_rows(store)}
    labels = {t.id: t.label for q in s.questions for g in q.groups for t in g.themes}
    machine: dict[tuple[str, str], list] = {}
    for r in codes_store.code_rows(store):
        machine.setdefault((r["sha256"], r["item_key"]), []).append(r)
    answers = decisions.item_answers(store, visible=visible)
    sources = Sources(store)

    items_rows, code_rows = [], []
    for r in docs.item_rows(store):
        key = r["item_key"]
        mc = machine.get((r["sha256"], key), [])
        answer = decisions.settled(answers.get((r["sha256"], key), {}))
        chosen = set(answer["themes"]) if answer is not None else None
        effective = [c["theme"] for c in mc if chosen is None or c["theme"] in chosen]
        effective += sorted((chosen or set()) - set(effective))
        effective = list(dict.fromkeys(effective))
        items_rows.append([ids.get(r["sha256"], ""), "yes" if r["sha256"] in ids else "no",
                           Path(sources_by_sha.get(r["sha256"], "")).name, r["idx"], r["kind"], r["page"],
                           r["section_kind"] or "", r["text"], "; ".join(effective),
                           "; ".join(labels.get(t, t) for t in effective), r["sha256"], key])
        for c in mc:
            located = sources.verified_quote(r["sha256"], c["quote"], r["page"]) if c["quote"] else None
            said = "" if answer is None else ("accept" if c["theme"] in chosen else "reject")
            code_rows.append([ids.get(r["sha256"], ""), r["idx"], r["kind"], c["theme"], labels.get(c["theme"], ""),
                              c["engine"], c["method"], round(c["score"], 3), ", ".join(json.loads(c["triggers"] or "[]")),
                              located[0] if located else "", located[1] if located else "",
                              said, answer["reviewer"] if answer else "", r["sha256"], key])
        for t in sorted((chosen or set()) - {c["theme"] for c in mc}):
            code_rows.append([ids.get(r["sha256"], ""), r["idx"], r["kind"], t, labels.get(t, ""), "reviewer", "human",
                              1.0, "", "", "", "add", answer["reviewer"] if answer else "", r["sha256"], key])

    wb = Workbook(write_only=True)
    _sheet(wb, "Items", ["Report No.", "Included", "Source", "Item", "Kind", "Page", "Section", "Text", "Theme ids",
                         "Themes", "sha256", "Item key"], items_rows, [10, 9, 28, 6, 14, 6, 16, 90, 30, 40, 20, 18])
    _sheet(wb, "Codes", ["Report No.", "Item", "Kind", "Theme id", "Theme", "Engine", "Method", "Score", "Triggers",
                         "Quote (verbatim)", "Page", "Reviewer decision", "Reviewer", "sha256", "Item key"],
           code_rows, [10, 6, 14, 26, 34, 9, 16, 7, 30, 70, 6, 12, 12, 20, 18])
    claim_rows = [[t.id, labels.get(t.id, ""), c.polarity, c.text, ", ".join(c.reports), q.report_id, q.page or "",
                   q.section or "", q.quote, q.kind, q.source, q.sha256]
                  for t in s.themes() for c in ([t.contrast] if t.contrast else []) + t.claims for q in c.citations]
    _sheet(wb, "Claims", ["Theme id", "Theme", "Polarity", "Statement", "Reports", "Quote from", "Page", "Section",
                          "Quote (verbatim)", "Item kind", "Source", "sha256"],
           claim_rows, [26, 30, 9, 80, 16, 10, 6, 20, 80, 14, 30, 20])
    theme_rows = []
    for q in s.questions:
        for g in q.groups:
            for rank, t in enumerate(g.themes, 1):
                theme_rows.append([q.label, g.label if g.id else "", rank, t.id, t.label, len(t.supporting), s.n_reports,
                                   ", ".join(t.supporting), t.n_items, json.dumps(t.by_region, ensure_ascii=False),
                                   t.headline])
            for label in g.no_evidence:
                theme_rows.append([q.label, g.label if g.id else "", "", "", label, 0, s.n_reports, "", 0, "", ""])
    _sheet(wb, "Themes", ["Question", "Group", "Rank", "Theme id", "Theme", "Reports", "Of", "Report ids", "Items",
                          "By region", "Headline"], theme_rows, [16, 18, 6, 26, 36, 8, 5, 30, 7, 30, 80])
    report_rows = [[r.report_id, r.title, ", ".join(r.project_codes), r.evaluation_type, r.timing, r.evaluator_type,
                    r.year or "", ", ".join(r.regions), ", ".join(r.countries), r.language,
                    "yes" if r.supplementary else "", r.items, r.items_by_kind.get("finding", 0),
                    r.items_by_kind.get("conclusion", 0), r.items_by_kind.get("recommendation", 0),
                    r.items_by_kind.get("lesson_learned", 0), r.items_by_kind.get("good_practice", 0), r.coded_items,
                    r.source, r.sha256] for r in s.reports]
    _sheet(wb, "Reports", ["Report No.", "Title", "Project codes", "Type", "Timing", "Evaluator", "Year", "Regions",
                           "Countries", "Language", "Supplementary", "Items", "Findings", "Conclusions",
                           "Recommendations", "Lessons learned", "Good practices", "Coded items", "Source", "sha256"],
           report_rows, [10, 50, 20, 12, 10, 12, 6, 20, 16, 8, 8, 7, 8, 8, 8, 8, 8, 8, 30, 20])
    wb.save(str(path))
    return path


def write_matrix(rows: list[dict[str, Any]], flow: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """matrix.xlsx and matrix.csv: one row per record (whatworks.selection.matrix_rows), filterable,
    in the review's order, every cell formula-safe."""
    from openpyxl.utils import get_column_letter

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keys = [k for k, _ in MATRIX_COLUMNS]
    heads = [h for _, h in MATRIX_COLUMNS]
    csv_path = out / "matrix.csv"
    with open(csv_path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(heads)
        for r in rows:
            w.writerow([safe_cell(r[k]) for k in keys])
    wb = Workbook()
    ws = wb.active
    ws.title = "Matrix"
    ws.append(heads)
    fill = {"conflict": "F4B183", "include": "E2F0D9", "maybe": "FFF2CC", "exclude": "F8CBAD", "duplicate": "DDDDDD", "error": "DDDDDD"}
    decision_column = keys.index("decision") + 1
    for row, r in enumerate(rows, start=2):  # cells by index: ws[ws.max_row] scans the sheet each time
        ws.append([_clean(r[k]) for k in keys])
        for column in range(1, len(keys) + 1):
            text_cell(ws.cell(row=row, column=column))
        color = fill.get(r["decision"])
        if color:
            ws.cell(row=row, column=decision_column).fill = PatternFill("solid", fgColor=color)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = {"title": 50, "source": 40, "reasons": 80, "themes": 30, "human_reason": 30, "sha256": 20}
    for i, k in enumerate(keys, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(k, 14)
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = ws.dimensions
    counts = wb.create_sheet("Flow")
    for k, v in flow.items():
        counts.append([_clean(k), _clean(json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v)])
        for cell in counts[counts.max_row]:
            text_cell(cell)
    xlsx_path = out / "matrix.xlsx"
    wb.save(xlsx_path)
    return [xlsx_path, csv_path]
