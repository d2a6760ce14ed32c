"""selection: the selection log as a reader sees it — PRISMA 2020 flow, matrix and figures.

* `flow_counts` — how many records were identified, removed as duplicates or unreadable,
  screened by the keyword search, assessed, excluded (by reason), left to a reviewer,
  included and kept as supplementary; the counts add up (`check_flow`).
* `write_flow` — the flow diagram (SVG and PNG, drawn with matplotlib) and a CSV in the
  layout of the PRISMA2020 Shiny app's template (data, node, box, description, boxtext,
  tooltips, url, n), so the diagram can be redrawn there.
* `matrix_rows` / `write_matrix` — one row per document (Excel and CSV), like the review's
  matrix: short id, title, type, timing, evaluator, regions, countries, themes, donors,
  year, language, project codes, the stage reached, the decision and its reasons, the
  quality score and the human decision.
* `write_selection_figures` — figures 1 and 3 of the ILO review: short-listed and finally
  selected reports by type, timing and region.

Everything is read from the screen's tables (final decisions: human over machine).
"""

from __future__ import annotations

import csv
import json
import logging
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

from whatworks.store import Database

log = logging.getLogger(__name__)

ELIGIBILITY_ORDER = ("kind", "language", "period", "organisation", "evaluation_type", "timing",
                     "evaluator_type", "country")


def _labels() -> dict[str, str]:
    from whatworks.screen import labels

    return labels()["check_labels"]


def _criterion_texts(db: Database) -> dict[str, str]:
    raw = db.get_meta("screen.criteria")
    return json.loads(raw) if raw else {}


def _final_rows(db: Database) -> list[dict[str, Any]]:
    return [dict(r) for r in db.query("SELECT * FROM screen_final ORDER BY source")]


def exclusion_reason(row: dict[str, Any], texts: dict[str, str] | None = None) -> str:
    """The one reason an excluded record is counted under in the flow diagram."""
    texts = texts or {}
    if row["human_decision"] == "exclude":
        return "Excluded by a reviewer"
    reasons = json.loads(row["reasons"] or "[]")
    labels = _labels()
    stage = row["stage"]
    if stage == "eligibility":
        for name in ELIGIBILITY_ORDER:
            if any(r["criterion"] == name and r["decision"] == "exclude" for r in reasons):
                return labels.get(name, name)
    if stage in ("content", "quality"):
        skip = {"content", "quality"}
        for r in reasons:
            if r["decision"] == "exclude" and r["criterion"] not in skip and r["criterion"] not in labels:
                cid = r["criterion"]
                text = texts.get(cid, "")
                prefix = "Content" if stage == "content" else "Quality"
                text = text.strip().rstrip(".")
                return f"{prefix} {cid}: {text}" if text else f"{prefix} criterion {cid}"
        if stage == "content":
            return "Content criteria not met"
        return labels.get("quality", "Quality")
    if row["machine_decision"] != "exclude":
        return "Excluded by a reviewer"
    return labels.get(stage, stage)


def flow_counts(db: Database) -> dict[str, Any]:
    """PRISMA 2020 counts from the final decisions. The identities checked by `check_flow`:

    identified = duplicates + failed + screened
    screened   = not_shortlisted + shortlisted
    shortlisted = excluded + maybe + included + supplementary
    excluded   = sum(excluded_by_reason)
    """
    rows = _final_rows(db)
    texts = _criterion_texts(db)
    c: dict[str, Any] = {"identified": len(rows)}
    dec = Counter(r["decision"] for r in rows)
    c["duplicates"] = dec["duplicate"]
    c["failed"] = dec["error"]
    screened = [r for r in rows if r["decision"] not in ("duplicate", "error")]
    c["screened"] = len(screened)
    not_short = [r for r in screened if r["decision"] == "exclude" and r["stage"] == "search"
                 and r["human_decision"] is None]
    c["not_shortlisted"] = len(not_short)
    short = [r for r in screened if r not in not_short]
    c["shortlisted"] = len(short)
    excluded = [r for r in short if r["decision"] == "exclude"]
    reasons = Counter(exclusion_reason(r, texts) for r in excluded)
    c["excluded"] = len(excluded)
    c["excluded_by_reason"] = dict(reasons.most_common())
    c["maybe"] = sum(1 for r in short if r["decision"] == "maybe")
    inc = [r for r in short if r["decision"] == "include"]
    c["supplementary"] = sum(1 for r in inc if r["stage"] == "supplementary")
    c["included"] = len(inc) - c["supplementary"]
    c["included_total"] = len(inc)
    c["appraised"] = sum(1 for r in short if r["quality_score"] is not None)
    c["human_decisions"] = sum(1 for r in rows if r["human_decision"] is not None)
    return c


def check_flow(c: dict[str, Any]) -> list[str]:
    """The identities that do not hold (empty when the flow adds up)."""
    problems = []
    if c["identified"] != c["duplicates"] + c["failed"] + c["screened"]:
        problems.append("identified != duplicates + failed + screened")
    if c["screened"] != c["not_shortlisted"] + c["shortlisted"]:
        problems.append("screened != not_shortlisted + shortlisted")
    if c["shortlisted"] != c["excluded"] + c["maybe"] + c["included"] + c["supplementary"]:
        problems.append("shortlisted != excluded + maybe + included + supplementary")
    if c["excluded"] != sum(c["excluded_by_reason"].values()):
        problems.append("excluded != sum of the reasons")
    return problems


# --- the flow diagram -------------------------------------------------------------------------

PRISMA_TEMPLATE = [
    # data, node, box, description, boxtext, tooltips, url
    ("NA", "node4", "prevstud", "Grey title box; Previous studies", "Previous studies",
     "Grey title box; Previous studies", "prevstud.html"),
    ("previous_studies", "node5", "box1", "Studies included in previous version of review",
     "Studies included in previous version of review", "Studies included in previous version of review",
     "previous_studies.html"),
    ("previous_reports", "NA", "box1", "Reports of studies included in previous version of review",
     "Reports of studies included in previous version of review", "NA", "previous_reports.html"),
    ("NA", "node6", "newstud", "Yellow title box; Identification of new studies via databases and registers",
     "Identification of new studies via databases and registers",
     "Yellow title box; Identification of new studies via databases and registers", "newstud.html"),
    ("database_results", "node7", "box2", "Records identified from: Databases", "Databases",
     "Records identified from: Databases", "database_results.html"),
    ("register_results", "NA", "box2", "Records identified from: Registers", "Registers", "NA", "NA"),
    ("NA", "node16", "othstud", "Grey title box; Identification of new studies via other methods",
     "Identification of new studies via other methods",
     "Grey title box; Identification of new studies via other methods", "othstud.html"),
    ("website_results", "node17", "box11", "Records identified from: Websites", "Websites",
     "Records identified from: Websites", "website_results.html"),
    ("organisation_results", "NA", "box11", "Records identified from: Organisations", "Organisations", "NA", "NA"),
    ("citations_results", "NA", "box11", "Records identified from: Citation searching", "Citation searching",
     "NA", "NA"),
    ("duplicates", "node8", "box3", "Duplicate records", "Duplicate records", "Duplicate records",
     "duplicates.html"),
    ("excluded_automatic", "NA", "box3", "Records marked as ineligible by automation tools",
     "Records marked as ineligible by automation tools", "NA", "NA"),
    ("excluded_other", "NA", "box3", "Records removed for other reasons", "Records removed for other reasons",
     "NA", "NA"),
    ("records_screened", "node9", "box4", "Records screened (databases and registers)", "Records screened",
     "Records screened (databases and registers)", "records_screened.html"),
    ("records_excluded", "node10", "box5", "Records excluded (databases and registers)", "Records excluded",
     "Records excluded (databases and registers)", "records_excluded.html"),
    ("dbr_sought_reports", "node11", "box6", "Reports sought for retrieval (databases and registers)",
     "Reports sought for retrieval", "Reports sought for retrieval (databases and registers)",
     "dbr_sought_reports.html"),
    ("dbr_notretrieved_reports", "node12", "box7", "Reports not retrieved (databases and registers)",
     "Reports not retrieved", "Reports not retrieved (databases and registers)", "dbr_notretrieved_reports.html"),
    ("other_sought_reports", "node18", "box12", "Reports sought for retrieval (other)", "Reports sought for retrieval",
     "Reports sought for retrieval (other)", "other_sought_reports.html"),
    ("other_notretrieved_reports", "node19", "box13", "Reports not retrieved (other)", "Reports not retrieved",
     "Reports not retrieved (other)", "other_notretrieved_reports.html"),
    ("dbr_assessed", "node13", "box8", "Reports assessed for eligibility (databases and registers)",
     "Reports assessed for eligibility", "Reports assessed for eligibility (databases and registers)",
     "dbr_assessed.html"),
    ("dbr_excluded", "node14", "box9",
     "Reports excluded (databases and registers): [separate reasons and numbers using ; e.g. Reason1, xxx; "
     "Reason2, xxx; Reason3, xxx]", "Reports excluded",
     "Reports excluded (databases and registers): [separate reasons and numbers using ; e.g. Reason1, xxx; "
     "Reason2, xxx; Reason3, xxx", "dbrexcludedrecords.html"),
    ("other_assessed", "node20", "box14", "Reports assessed for eligibility (other)",
     "Reports assessed for eligibility", "Reports assessed for eligibility (other)", "other_assessed.html"),
    ("other_excluded", "node21", "box15",
     "Reports excluded (other): [separate reasons and numbers using ; e.g. Reason1, xxx; Reason2, xxx; "
     "Reason3, xxx]", "Reports excluded",
     "Reports excluded (other): [separate reasons and numbers using ; e.g. Reason1, xxx; Reason2, xxx; "
     "Reason3, xxx", "other_excluded.html"),
    ("new_studies", "node15", "box10", "New studies included in review", "New studies included in review",
     "New studies included in review", "new_studies.html"),
    ("new_reports", "NA", "box10", "Reports of new included studies", "Reports of new included studies", "NA", "NA"),
    ("total_studies", "node22", "box16", "Total studies included in review", "Total studies included in review",
     "Total studies included in review", "total_studies.html"),
    ("total_reports", "NA", "box16", "Reports of total included studies", "Reports of total included studies",
     "NA", "NA"),
    ("identification", "node1", "identification", "Blue identification box", "Identification",
     "Blue identification box", "identification.html"),
    ("screening", "node2", "screening", "Blue screening box", "Screening", "Blue screening box", "screening.html"),
    ("included", "node3", "included", "Blue included box", "Included", "Blue included box", "included.html"),
]


def prisma_values(c: dict[str, Any]) -> dict[str, Any]:
    """The n of each row of the PRISMA2020 template, from `flow_counts`.

    Mapping: every file collected is a database record; unreadable files are "removed for
    other reasons"; records excluded at screening are those the keyword search did not
    find; reports still awaiting a reviewer are listed among the "excluded" reasons as
    "Awaiting a reviewer's decision" so that assessed = excluded + included holds; a study
    is a project (main report), and supplementary reports are further reports of included
    studies.
    """
    # the app splits reasons on ';' and a reason from its number on ',': keep both out of labels
    reasons = [f"{label.replace(';', ' -').replace(',', '').rstrip('.')}, {n}"
               for label, n in c["excluded_by_reason"].items()]
    if c["maybe"]:
        reasons.append(f"Awaiting a reviewer's decision (maybe), {c['maybe']}")
    v: dict[str, Any] = {row[0]: 0 for row in PRISMA_TEMPLATE if row[0] != "NA"}
    v.update({
        "database_results": c["identified"],
        "duplicates": c["duplicates"],
        "excluded_automatic": 0,
        "excluded_other": c["failed"],
        "records_screened": c["screened"],
        "records_excluded": c["not_shortlisted"],
        "dbr_sought_reports": c["shortlisted"],
        "dbr_notretrieved_reports": 0,
        "dbr_assessed": c["shortlisted"],
        "dbr_excluded": "; ".join(reasons) if reasons else 0,
        "new_studies": c["included"],
        "new_reports": c["included_total"],
        "total_studies": c["included"],
        "total_reports": c["included_total"],
    })
    return v


def write_prisma_csv(c: dict[str, Any], path: Path) -> Path:
    values = prisma_values(c)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"])
        for row in PRISMA_TEMPLATE:
            w.writerow([*row, values.get(row[0], 0) if row[0] != "NA" else 0])
    return path


#: The flow diagram's geometry, in inches: it is drawn at the size it is printed (A4 text width).
FLOW_WIDTH = 6.5
FLOW_FONT = 8.5  # points
_LINE = FLOW_FONT * 1.32 / 72  # inches per line of text
_PAD = 0.09  # inches of padding inside a box
_CHAR = FLOW_FONT * 0.56 / 72  # average width of a character (DejaVu Sans), inches


def _wrap(text: str, width_in: float) -> list[str]:
    chars = max(12, int((width_in - 2 * _PAD) / _CHAR))
    lines: list[str] = []
    text = text.replace("n = ", "n\u00a0=\u00a0")  # never "n" at a line's end and "= 3" on the next
    for para in text.split("\n"):
        lines += textwrap.wrap(para, chars, subsequent_indent="   " if para.startswith("•") else "") or [""]
    return lines


def _box(ax, x: float, top: float, w: float, lines: list[str], *, face: str = "white", bold_first: bool = False,
         min_h: float = 0.0) -> float:
    """A box whose top-left corner is (x, top), tall enough for `lines`; returns its height."""
    from matplotlib.patches import FancyBboxPatch

    h = max(min_h, len(lines) * _LINE + 2 * _PAD)
    ax.add_patch(FancyBboxPatch((x, top - h), w, h, boxstyle="round,pad=0,rounding_size=0.05",
                                linewidth=0.9, edgecolor="#333333", facecolor=face))
    y = top - _PAD - _LINE * 0.5
    for k, line in enumerate(lines):
        ax.text(x + _PAD, y, line, ha="left", va="center", fontsize=FLOW_FONT,
                fontweight="bold" if bold_first and k == 0 else "normal")
        y -= _LINE
    return h


def _arrow(ax, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 0.9, "shrinkA": 0, "shrinkB": 0,
                            "mutation_scale": 9})


def flow_rows(c: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(phase, left box, right box) of the flow diagram, in order."""
    reasons = [f"• {label}: n = {n}" for label, n in c["excluded_by_reason"].items()]
    if c["maybe"]:
        reasons.append(f"• Awaiting a reviewer's decision (maybe): n = {c['maybe']}")
    included = f"Reports included in the review\nn = {c['included_total']}"
    if c["supplementary"]:
        included += (f"\n• main reports: n = {c['included']}\n• supplementary (mid-term evaluations of included "
                     f"projects): n = {c['supplementary']}")
    return [
        ("Identification", f"Records identified (files collected)\nn = {c['identified']}",
         "Records removed before screening\n"
         f"• duplicates (same file or same report): n = {c['duplicates']}\n"
         f"• could not be read: n = {c['failed']}"),
        ("Screening", f"Records screened (keyword search)\nn = {c['screened']}",
         f"Records excluded (not found by the keyword search)\nn = {c['not_shortlisted']}"),
        ("Screening", f"Reports assessed for eligibility (full text)\nn = {c['shortlisted']}",
         f"Reports excluded\nn = {c['excluded']}" + ("\n" + "\n".join(reasons) if reasons else "")),
        ("Included", included,
         f"Reports appraised for quality\nn = {c['appraised']}" if c["appraised"] else None),
    ]


def draw_flow(c: dict[str, Any], title: str = ""):
    """The PRISMA 2020 flow diagram of `c` as a matplotlib figure, sized to its content (no blank space)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    band_x, band_w = 0.02, 0.3
    lx, lw = 0.45, 2.65
    rx = lx + lw + 0.35
    rw = FLOW_WIDTH - rx - 0.02
    gap = 0.28
    rows = flow_rows(c)
    wrapped = [(phase, _wrap(left, lw), _wrap(right, rw) if right else None) for phase, left, right in rows]
    heights = [max(len(lt), len(rt or [])) * _LINE + 2 * _PAD for _, lt, rt in wrapped]

    title_h = 0.35 if title else 0.0
    note = (f"Counts use the reviewers' decisions where they exist ({c['human_decisions']} human "
            f"decision{'s' if c['human_decisions'] != 1 else ''}); otherwise the machine's."
            if c.get("human_decisions") else "")
    note_h = 0.3 if note else 0.0
    label_font = FLOW_FONT - 1

    def label_need(phase: str) -> float:  # the height a phase's rotated label needs
        return len(phase) * _CHAR * (label_font / FLOW_FONT) * 1.1 + 0.12

    above = max(0.0, label_need(rows[0][0]) - heights[0]) / 2  # room for the first and last bands
    below = max(0.0, label_need(rows[-1][0]) - heights[-1]) / 2
    total = title_h + above + sum(heights) + gap * (len(rows) - 1) + note_h + below + 0.04
    fig = plt.figure(figsize=(FLOW_WIDTH, total))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, FLOW_WIDTH)
    ax.set_ylim(0, total)
    ax.axis("off")
    top = total - 0.02
    if title:
        ax.text(FLOW_WIDTH / 2, top - 0.15, title, ha="center", va="center", fontsize=10, fontweight="bold")
        top -= title_h
    top -= above
    spans: dict[str, list[float]] = {}
    prev_bottom = None
    for (phase, lt, rt), h in zip(wrapped, heights, strict=True):
        # the left box is only as tall as its own text; the right one too: arrows meet their middles
        lh = _box(ax, lx, top, lw, lt)
        if prev_bottom is not None:
            _arrow(ax, lx + lw / 2, prev_bottom, lx + lw / 2, top)
        if rt:
            rh = _box(ax, rx, top, rw, rt)
            y = top - min(lh, rh) / 2
            _arrow(ax, lx + lw, y, rx, y)
        span = spans.setdefault(phase, [top, top - h])
        span[1] = top - h
        prev_bottom = top - lh
        top -= h + gap
    from matplotlib.patches import FancyBboxPatch

    for phase, (ya, yb) in spans.items():
        # a band at least as tall as its rotated label: it may reach into the gaps around its row
        short = label_need(phase) - (ya - yb)
        if short > 0:
            ya, yb = ya + short / 2, yb - short / 2
        ax.add_patch(FancyBboxPatch((band_x, yb), band_w, ya - yb, boxstyle="round,pad=0,rounding_size=0.05",
                                    facecolor="#a6c8e8", edgecolor="#4a7fb0", linewidth=0.9))
        ax.text(band_x + band_w / 2, (ya + yb) / 2, phase, rotation=90, ha="center", va="center",
                fontsize=label_font, fontweight="bold")
    if note:
        ax.text(FLOW_WIDTH / 2, 0.17, note, ha="center", va="center", fontsize=FLOW_FONT - 1, style="italic")
    return fig


def write_flow(db: Database, out_dir: str | Path, title: str | None = None,
               data_dir: str | Path | None = None) -> list[Path]:
    """flow.svg and flow.png (the diagram) in `out_dir`; prisma_flow.csv (the PRISMA2020 app's
    template, filled) and flow_counts.json in `data_dir` (default: `out_dir`).

    The diagram is redrawn only when the counts (or this code) changed since it was last drawn.
    """
    from whatworks.report.figures import cached_figure

    out = Path(out_dir)
    data = Path(data_dir) if data_dir is not None else out
    out.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    c = flow_counts(db)
    problems = check_flow(c)
    if problems:  # should never happen: the counts are partitions of the same rows
        log.error("selection flow does not add up: %s", "; ".join(problems))
    title = title if title is not None else "Selection of reports (PRISMA 2020)"
    paths = list(cached_figure(out, "flow", {"counts": c, "title": title}, lambda: draw_flow(c, title),
                               dpi=200))
    paths.append(write_prisma_csv(c, data / "prisma_flow.csv"))
    (data / "flow_counts.json").write_text(json.dumps(c, indent=2, ensure_ascii=False), encoding="utf-8")
    paths.append(data / "flow_counts.json")
    return paths


# --- the matrix ---------------------------------------------------------------------------------

MATRIX_COLUMNS = [
    ("report_id", "Report No."), ("title", "Title"), ("source", "Source file"), ("kind", "Kind"),
    ("evaluation_type", "Type"), ("timing", "Timing"), ("evaluator_type", "Evaluator"),
    ("regions", "Region(s)"), ("countries", "Countries"), ("themes", "Theme(s)"), ("donors", "Funding source/donors"),
    ("year", "Year"), ("period", "Period evaluated"), ("language", "Language"), ("project_codes", "Project codes"),
    ("stage", "Stage reached"), ("decision", "Decision"), ("machine_decision", "Machine decision"),
    ("reasons", "Reasons"), ("quality_score", "Quality score"), ("human_decision", "Human decision"),
    ("human_reason", "Human reason"), ("sha256", "sha256"),
]


def _join(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        parts = []
        for v in value:
            parts.append(str(v.get("code")) if isinstance(v, dict) and "code" in v else str(v))
        return "; ".join(p for p in parts if p and p != "None")
    return str(value)


def _themes(db: Database) -> dict[str, str]:
    """Top themes per document from the coding stage's machine codes, minus reviewers' rejections."""
    try:
        rows = db.query("SELECT c.sha256, c.theme, COUNT(*) AS n FROM codes c LEFT JOIN human_codes h ON "
                        "h.sha256 = c.sha256 AND h.item_key = c.item_key AND h.theme = c.theme "
                        "WHERE h.decision IS NULL OR h.decision != 'reject' GROUP BY c.sha256, c.theme "
                        "ORDER BY c.sha256, n DESC")
    except Exception:  # noqa: BLE001 - no coding tables yet
        return {}
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["sha256"], []).append(r["theme"])
    return {k: "; ".join(v[:6]) for k, v in out.items()}


def _reason_summary(row: dict[str, Any]) -> str:
    reasons = json.loads(row["reasons"] or "[]")
    decision = row["machine_decision"]
    if decision in ("duplicate", "error"):
        picked = reasons[:1]
    else:
        picked = [r for r in reasons if r["decision"] == decision and r["criterion"] not in ("shortlist",)]
        if decision == "include":
            picked = [r for r in reasons if r["criterion"] in ("content", "quality", "supersede")]
    text = " | ".join(f"{r['criterion']}: {r['reason']}" for r in picked[:4])
    return text[:1500]


def matrix_rows(project) -> list[dict[str, Any]]:
    """One row per record (file) identified, with what it is and what became of it."""
    from whatworks.screen import report_ids

    db: Database = project.db if hasattr(project, "db") else project
    ids = report_ids(db)
    themes = _themes(db)
    descriptions = db.effective_descriptions()  # reviewers' corrections (workspace) applied
    docs = {r["sha256"]: dict(r) for r in db.query("SELECT sha256, title, language, format FROM documents")}
    out = []
    for r in _final_rows(db):
        sha = r["sha256"]
        d = descriptions.get(sha) if r["is_primary"] else None
        meta = {k: v.get("value") for k, v in (d or {}).get("metadata", {}).items()}
        doc = docs.get(sha, {})
        regions = meta.get("regions_ilo") or meta.get("regions_m49")
        period = meta.get("period")
        out.append({
            "report_id": ids.get(sha, "") if r["decision"] == "include" and r["is_primary"] else "",
            "title": meta.get("title") or doc.get("title") or Path(r["source"]).stem,
            "source": r["source"],
            "kind": (d or {}).get("kind", ""),
            "evaluation_type": meta.get("evaluation_type") or "",
            "timing": meta.get("timing") or "",
            "evaluator_type": meta.get("evaluator_type") or "",
            "regions": _join(regions),
            "countries": _join(meta.get("countries")),
            "themes": themes.get(sha, ""),
            "donors": _join(meta.get("donors")),
            "year": meta.get("year") or "",
            "period": "–".join(str(p) for p in period if p) if isinstance(period, list) else _join(period),
            "language": meta.get("language") or doc.get("language") or "",
            "project_codes": _join(meta.get("project_codes")),
            "stage": r["stage"],
            "decision": r["decision"],
            "machine_decision": r["machine_decision"],
            "reasons": _reason_summary(r),
            "quality_score": r["quality_score"] if r["quality_score"] is not None else "",
            "human_decision": r["human_decision"] or "",
            "human_reason": (f"{r['human_reason']} ({r['human_role']} {r['human_reviewer']})"
                             if r["human_decision"] else ""),
            "sha256": sha or "",
        })
    return out


def write_matrix(project, out_dir: str | Path) -> list[Path]:
    """matrix.xlsx and matrix.csv: one row per document, filterable, in the review's order."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = matrix_rows(project)
    keys = [k for k, _ in MATRIX_COLUMNS]
    heads = [h for _, h in MATRIX_COLUMNS]
    csv_path = out / "matrix.csv"
    with open(csv_path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(heads)
        for r in rows:
            w.writerow([r[k] for k in keys])
    wb = Workbook()
    ws = wb.active
    ws.title = "Matrix"
    ws.append(heads)
    fill = {"include": "E2F0D9", "maybe": "FFF2CC", "exclude": "F8CBAD", "duplicate": "DDDDDD", "error": "DDDDDD"}
    for r in rows:
        ws.append([r[k] for k in keys])
        color = fill.get(r["decision"])
        if color:
            ws.cell(row=ws.max_row, column=keys.index("decision") + 1).fill = PatternFill("solid", fgColor=color)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = {"title": 50, "source": 40, "reasons": 80, "themes": 30, "human_reason": 30, "sha256": 20}
    for i, k in enumerate(keys, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(k, 14)
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = ws.dimensions
    counts = wb.create_sheet("Flow")
    c = flow_counts(project.db if hasattr(project, "db") else project)
    for k, v in c.items():
        counts.append([k, json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v])
    xlsx_path = out / "matrix.xlsx"
    wb.save(xlsx_path)
    return [xlsx_path, csv_path]


# --- figures 1 and 3 -----------------------------------------------------------------------------

TIMING_LABELS = {"final": "Final", "midterm": "Mid-term", "ex_post": "Ex post", "other": "Other/not stated"}


def _type_label(meta: dict[str, Any]) -> str:
    et = meta.get("evaluation_type")
    if et in ("high_level", "strategy"):
        return "High-level/strategy"
    if et == "meta":
        return "Meta/synthesis"
    ev = meta.get("evaluator_type")
    return {"independent": "Independent", "internal": "Internal", "self": "Self-evaluation",
            "joint": "Joint"}.get(ev, "Not stated")


def _region_label(meta: dict[str, Any]) -> str:
    regions = meta.get("regions_ilo") or []
    if isinstance(regions, str):
        regions = [regions]
    if meta.get("scope") == "global" or len(regions) > 1:
        return "Global/interregional"
    return str(regions[0]) if regions else "Not stated"


def selection_breakdown(db: Database) -> dict[str, dict[str, Counter]]:
    """Counts by type, timing and region of the short-listed and of the finally selected reports."""
    descriptions = db.effective_descriptions()  # reviewers' corrections (workspace) applied
    out = {"shortlisted": {"Type": Counter(), "Timing": Counter(), "Region": Counter()},
           "selected": {"Type": Counter(), "Timing": Counter(), "Region": Counter()}}
    for r in _final_rows(db):
        if not r["is_primary"] or r["decision"] in ("duplicate", "error"):
            continue
        if r["decision"] == "exclude" and r["stage"] == "search" and r["human_decision"] is None:
            continue
        meta = {k: v.get("value") for k, v in descriptions.get(r["sha256"], {}).get("metadata", {}).items()}
        groups = ["shortlisted"] + (["selected"] if r["decision"] == "include" else [])
        for g in groups:
            out[g]["Type"][_type_label(meta)] += 1
            out[g]["Timing"][TIMING_LABELS.get(meta.get("timing") or "other", "Other/not stated")] += 1
            out[g]["Region"][_region_label(meta)] += 1
    return out


FACET_COLORS = {"Type": "#2f5f8a", "Timing": "#d08c2f", "Region": "#4a8f5a"}


def _bars(counts: dict[str, Counter], title: str):
    """Three horizontal bar charts stacked (type, timing, region) on one scale, at print size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    facets = [(facet, sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])) or [("none", 0)])
              for facet, counter in counts.items()]
    sizes = [len(items) for _, items in facets]
    fig, axes = plt.subplots(len(facets), 1, figsize=(6.5, 0.75 + sum(0.27 * n + 0.42 for n in sizes)),
                             gridspec_kw={"height_ratios": [n + 1.5 for n in sizes]}, squeeze=False)
    total = sum(counts["Type"].values())
    fig.suptitle(f"{title} (n = {total})", fontsize=10, fontweight="bold", x=0.02, ha="left")
    top = max([v for _, items in facets for _, v in items] + [1])
    for ax, (facet, items) in zip(axes[:, 0], facets, strict=True):
        labels = [k for k, _ in items][::-1]
        values = [v for _, v in items][::-1]
        bars = ax.barh(labels, values, color=FACET_COLORS.get(facet, "#2f5f8a"), height=0.62)
        ax.set_title(facet, fontsize=9, fontweight="bold", loc="left")
        ax.tick_params(axis="y", labelsize=8.5, length=0)
        ax.spines[["top", "right", "bottom"]].set_visible(False)
        ax.set_xlim(0, top * 1.12)
        ax.xaxis.set_visible(False)  # every bar has its number
        for b, v in zip(bars, values, strict=True):
            ax.text(b.get_width() + top * 0.01, b.get_y() + b.get_height() / 2, str(v), va="center", fontsize=8.5)
    fig.tight_layout(rect=(0, 0, 1, 0.98), h_pad=0.6)
    return fig


def write_selection_figures(db: Database, out_dir: str | Path) -> list[Path]:
    """figure1_shortlisted.{png,svg} and figure3_selected.{png,svg}: reports by type, timing and region
    (redrawn only when the counts changed)."""
    from whatworks.report.figures import cached_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    b = selection_breakdown(db)
    paths: list[Path] = []
    for name, key, title in SELECTION_FIGURES:
        data = {facet: dict(counter) for facet, counter in b[key].items()}
        svg, png = cached_figure(out, name, {"counts": data, "title": title},
                                 lambda key=key, title=title: _bars(b[key], title), dpi=200)
        paths += [png, svg]
    return paths


SELECTION_FIGURES = (("figure1_shortlisted", "shortlisted", "Short-listed reports by type, timing and region"),
                     ("figure3_selected", "selected", "Reports in the final selection by type, timing and region"))
