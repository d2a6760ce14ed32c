"""report: the synthesis in every format a reviewer hands on.

`write_reports(project)` writes, into the project's output folder:

* synthesis.html — self-contained (figures inline as SVG), every statement linked to its
  quotes and every quote to its report id and page; print-friendly;
* synthesis.docx — Word, in the shape of the seed review (title page, executive summary,
  methodology with the selection flow, findings by question, limitations, annexes);
* synthesis.md — Markdown, figures beside it in figures/;
* synthesis.xlsx — every item with its codes, the themes, the quotes, the reports;
* synthesis.json — the synthesis itself (whatworks.synthesize.Synthesis.to_dict()).

Every quote in every format is one the synthesis verified verbatim on its cited page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whatworks.synthesize import ITEM_KIND_LABELS, Synthesis, synthesize

log = logging.getLogger(__name__)

FORMATS = ("html", "docx", "md", "xlsx")
TEMPLATES = Path(__file__).parent / "templates"

FLOW_LABELS = [("identified", "records identified"), ("duplicates", "duplicates removed"),
               ("screened", "screened"), ("shortlisted", "short-listed"), ("excluded", "excluded"),
               ("maybe", "awaiting a reviewer"), ("included", "included"),
               ("supplementary", "supplementary (complementing a final evaluation)")]
TYPE_TITLES = {"project": "Project", "programme": "Programme", "country_programme": "Country programme",
               "thematic": "Thematic", "strategy": "Strategy", "high_level": "High-level", "meta": "Meta-evaluation",
               "impact": "Impact", "other": "Other", "final": "Final", "midterm": "Mid-term", "ex_post": "Ex-post",
               "independent": "independent", "internal": "internal", "self": "self-evaluation", "joint": "joint",
               "not known": "not known"}
MATRIX_COLUMNS = [("report_id", "Report No."), ("title", "Title"), ("kind", "Kind"), ("evaluation_type", "Type"),
                  ("timing", "Timing"), ("regions", "Region(s)"), ("countries", "Countries"), ("year", "Year"),
                  ("project_codes", "Project codes"), ("decision", "Decision"), ("source", "Source file")]
SUMMARY_TOP = 3


@dataclass
class Figures:
    """The report's figures: SVG markup for HTML, PNG paths for Word and Markdown."""

    svg: dict[str, str] = field(default_factory=dict)
    png: dict[str, Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def build_figures(db, s: Synthesis, out_dir: Path) -> Figures:
    from whatworks.report import figures as f

    figs = Figures()
    svg, png = f.flow_figure(db, out_dir)
    if svg is not None:
        figs.svg["flow"] = f.inline_svg(svg)
        figs.files += [svg]
    if png is not None:
        figs.png["flow"] = png
        figs.files += [png]
    makers: dict[str, Callable] = {"profile": f.reports_profile, "heatmap": f.theme_region_heatmap,
                                   "evidence": f.evidence_map}
    for name, make in makers.items():
        if name == "profile" and not s.reports:
            continue
        fig = make(s)
        if fig is None:
            continue
        svg_path, png_path = f.save(fig, out_dir, name)
        figs.svg[name] = f.inline_svg(svg_path)
        figs.png[name] = png_path
        figs.files += [svg_path, png_path]
    return figs


KIND_TITLES = {"evaluation_report": "Evaluation report", "evaluation_brief": "Evaluation brief",
               "management_response": "Management response", "terms_of_reference": "Terms of reference",
               "inception_report": "Inception report", "completion_report": "Completion report",
               "progress_report": "Progress report", "evaluation_plan": "Evaluation plan", "audit": "Audit",
               "study": "Study", "other": "Other"}


def matrix(project) -> list[dict[str, Any]]:
    """The selection matrix (whatworks.selection.matrix_rows) made readable: file names, titled values."""
    try:
        from whatworks.selection import matrix_rows

        rows = matrix_rows(project)
    except Exception as e:  # noqa: BLE001 - the synthesis report stands without the matrix
        log.warning("matrix not included in the report: %s", e)
        return []
    out = []
    for row in rows:
        row = dict(row)
        row["source"] = Path(str(row.get("source") or "")).name
        row["kind"] = KIND_TITLES.get(row.get("kind") or "", row.get("kind") or "")
        for key in ("evaluation_type", "timing"):
            row[key] = TYPE_TITLES.get(row.get(key) or "", row.get(key) or "")
        out.append(row)
    return sorted(out, key=lambda r: (r.get("report_id") == "", _id_sort(str(r.get("report_id") or "")),
                                      str(r.get("title") or "")))


def _id_sort(rid: str) -> tuple:
    digits = "".join(c for c in rid if c.isdigit())
    return (0 if rid.startswith("E") else 1, int(digits) if digits else 0)


def report_anchor(report_id: str) -> str:
    return "report-" + re.sub(r"[^A-Za-z0-9_-]", "-", report_id)


_RID = re.compile(r"\b(E\d+|I-\d+|R\d+)\b")


def split_ids(text: str, known: Iterable[str]) -> list[tuple[str, bool]]:
    """Text cut into (piece, is_report_id) so each report id can become a link."""
    known = set(known)
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in _RID.finditer(text):
        if m.group(1) not in known:
            continue
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((m.group(1), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def counts_text(counts: dict[str, int], titles: dict[str, str] | None = None) -> str:
    items = sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    return ", ".join(f"{(titles or {}).get(k, k)} ({v})" for k, v in items) or "—"


def years_text(by_year: dict[str, int]) -> str:
    years = sorted(int(y) for y in by_year)
    if not years:
        return "—"
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}–{years[-1]}"


def write_reports(project, synthesis: Synthesis | None = None, formats: Iterable[str] = FORMATS,
                  out_dir: str | Path | None = None) -> list[Path]:
    """Write the synthesis report in each of `formats` (html, docx, md, xlsx); the paths written."""
    formats = list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    s = synthesis or synthesize(project)
    out = Path(out_dir) if out_dir is not None else project.output_dir
    out.mkdir(parents=True, exist_ok=True)
    figs = build_figures(project.db, s, out / "figures")
    rows = matrix(project)
    paths: list[Path] = []
    json_path = out / "synthesis.json"
    json_path.write_text(s.to_json(), encoding="utf-8")
    paths.append(json_path)
    if "html" in formats:
        from whatworks.report.html import write_html

        paths.append(write_html(s, figs, rows, out / "synthesis.html"))
    if "docx" in formats:
        from whatworks.report.docx import write_docx

        paths.append(write_docx(s, figs, rows, out / "synthesis.docx"))
    if "md" in formats:
        from whatworks.report.markdown import write_markdown

        paths.append(write_markdown(s, figs, rows, out / "synthesis.md"))
    if "xlsx" in formats:
        from whatworks.report.excel import write_excel

        paths.append(write_excel(project.db, s, out / "synthesis.xlsx"))
    paths += figs.files
    log.info("reports written: %s", ", ".join(p.name for p in paths))
    return paths


__all__ = ["FORMATS", "ITEM_KIND_LABELS", "write_reports", "build_figures", "Figures"]
