"""The Excel workbook: every item with its codes, the quotes, the themes and the reports.

Sheets: Items (one row per item of every described report, with its effective themes and
the machine's and reviewers' codes), Codes (one row per theme on an item), Quotes (the
synthesis' verified quotes with report and page), Themes (ranked per question), Reports.
"""

from __future__ import annotations

import json
from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from whatworks.coding import item_key
from whatworks.store import Database
from whatworks.synthesize import Synthesis, _Sources

HEAD_FILL = PatternFill("solid", fgColor="DCE6F0")
#: Excel refuses control characters in cells.
_ILLEGAL = dict.fromkeys(list(range(0, 9)) + [11, 12] + list(range(14, 32)))


def _clean(value):
    if isinstance(value, str):
        return value.translate(_ILLEGAL)[:32000]
    return value


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
            cell._style = copy((wrap if isinstance(value, str) and len(value) > 40 else top)._style)
            out.append(cell)
        ws.append(out)


def write_excel(db: Database, s: Synthesis, path: Path) -> Path:
    ids = {r.sha256: r.report_id for r in s.reports}
    docs = {r["sha256"]: r["source"] for r in db.documents()}
    labels = {t.id: t.label for q in s.questions for g in q.groups for t in g.themes}
    machine: dict[tuple[str, str], list] = {}
    for r in db.query("SELECT * FROM codes ORDER BY sha256, item_key, score DESC"):
        machine.setdefault((r["sha256"], r["item_key"]), []).append(r)
    human: dict[tuple[str, str], list] = {}
    for r in db.query("SELECT * FROM human_codes"):
        human.setdefault((r["sha256"], r["item_key"]), []).append(r)
    sources = _Sources(db)

    items_rows, code_rows = [], []
    for r in db.query("SELECT sha256, idx, kind, text, page, section_kind FROM items ORDER BY sha256, idx"):
        key = item_key(r["text"])
        mc = machine.get((r["sha256"], key), [])
        hc = {h["theme"]: h for h in human.get((r["sha256"], key), [])}
        effective = [c["theme"] for c in mc if hc.get(c["theme"], {"decision": None})["decision"] != "reject"]
        effective += [t for t, h in hc.items() if h["decision"] == "add" and t not in effective]
        items_rows.append([ids.get(r["sha256"], ""), "yes" if r["sha256"] in ids else "no", Path(docs.get(r["sha256"], "")).name,
                           r["idx"], r["kind"], r["page"], r["section_kind"] or "", r["text"],
                           "; ".join(dict.fromkeys(effective)), "; ".join(labels.get(t, t) for t in dict.fromkeys(effective)),
                           r["sha256"], key])
        for c in mc:
            h = hc.get(c["theme"])
            located = None
            if c["quote"]:
                from whatworks.coding import ItemCode

                located = sources.verified(ItemCode(r["sha256"], r["idx"], key, r["kind"], r["text"], r["page"],
                                                    r["section_kind"], c["theme"], c["score"], c["method"],
                                                    json.loads(c["triggers"] or "[]"), c["quote"]))
            code_rows.append([ids.get(r["sha256"], ""), r["idx"], r["kind"], c["theme"], labels.get(c["theme"], ""),
                              c["engine"], c["method"], round(c["score"], 3), ", ".join(json.loads(c["triggers"] or "[]")),
                              located[0] if located else "", located[1] if located else "",
                              h["decision"] if h else "", h["reviewer"] if h else "", r["sha256"], key])
        for t, h in hc.items():
            if h["decision"] == "add" and t not in {c["theme"] for c in mc}:
                code_rows.append([ids.get(r["sha256"], ""), r["idx"], r["kind"], t, labels.get(t, ""), "reviewer", "human",
                                  1.0, "", "", "", "add", h["reviewer"] or "", r["sha256"], key])

    wb = Workbook(write_only=True)
    _sheet(wb, "Items", ["Report No.", "Included", "Source", "Item", "Kind", "Page", "Section", "Text", "Theme ids",
                         "Themes", "sha256", "Item key"], items_rows, [10, 9, 28, 6, 14, 6, 16, 90, 30, 40, 20, 18])
    _sheet(wb, "Codes", ["Report No.", "Item", "Kind", "Theme id", "Theme", "Engine", "Method", "Score", "Triggers",
                         "Quote (verbatim)", "Page", "Reviewer decision", "Reviewer", "sha256", "Item key"],
           code_rows, [10, 6, 14, 26, 34, 9, 16, 7, 30, 70, 6, 12, 12, 20, 18])
    quote_rows = [[qt.report_id, qt.page, qt.text, qt.theme, labels.get(qt.theme, ""), qt.kind, qt.source, qt.sha256]
                  for qt in s.quotes()]
    _sheet(wb, "Quotes", ["Report No.", "Page", "Quote", "Theme id", "Theme", "Item kind", "Source", "sha256"],
           quote_rows, [10, 6, 90, 26, 34, 14, 30, 20])
    theme_rows = []
    for q in s.questions:
        for g in q.groups:
            for rank, t in enumerate(g.themes, 1):
                theme_rows.append([q.label, g.label if g.id else "", rank, t.id, t.label, t.n_reports, s.n_reports,
                                   ", ".join(t.reports), t.n_items, json.dumps(t.by_region, ensure_ascii=False),
                                   t.narrative])
            for label in g.no_evidence:
                theme_rows.append([q.label, g.label if g.id else "", "", "", label, 0, s.n_reports, "", 0, "", ""])
    _sheet(wb, "Themes", ["Question", "Group", "Rank", "Theme id", "Theme", "Reports", "Of", "Report ids", "Items",
                          "By region", "Narrative"], theme_rows, [16, 18, 6, 26, 36, 8, 5, 30, 7, 30, 80])
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
