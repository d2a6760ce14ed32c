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
    from whatworks.screen import vocab

    return vocab()["check_labels"]


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


def _box(ax, x: float, y: float, w: float, h: float, text: str, *, face: str = "white", size: float = 9,
         bold_first: bool = False, width_chars: int = 42) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.005,rounding_size=0.01",
                                linewidth=1.0, edgecolor="#333333", facecolor=face))
    lines = []
    for para in text.split("\n"):
        lines += textwrap.wrap(para, width_chars) or [""]
    ax.text(x + 0.012, y + h - 0.012, "\n".join(lines), ha="left", va="top", fontsize=size, family="DejaVu Sans",
            linespacing=1.25, fontweight="bold" if bold_first and len(lines) == 1 else "normal")


def _arrow(ax, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 1.1, "shrinkA": 0, "shrinkB": 0})


def draw_flow(c: dict[str, Any], title: str = ""):
    """The PRISMA 2020 flow diagram of `c` as a matplotlib figure (boxes and arrows, print-ready)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reasons = list(c["excluded_by_reason"].items())
    extra = max(0, len(reasons) - 4) * 0.028
    fig = plt.figure(figsize=(8.27, 8.6 + extra * 10))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    top = 0.95
    if title:
        ax.text(0.5, 0.975, title, ha="center", va="center", fontsize=11, fontweight="bold")
        top = 0.93
    lx, lw, rx, rw = 0.1, 0.38, 0.56, 0.41
    h1 = 0.13
    # Identification
    y1 = top - h1
    _box(ax, lx, y1, lw, h1, f"Records identified (files collected):\nn = {c['identified']}")
    _box(ax, rx, y1, rw, h1, "Records removed before screening:\n"
         f"Duplicates (same file or same report): n = {c['duplicates']}\n"
         f"Could not be read: n = {c['failed']}", width_chars=50)
    _arrow(ax, lx + lw, y1 + h1 / 2, rx, y1 + h1 / 2)
    # Screening: keyword search
    y2 = y1 - 0.06 - 0.09
    _box(ax, lx, y2, lw, 0.09, f"Records screened (keyword search):\nn = {c['screened']}")
    _box(ax, rx, y2, rw, 0.09, f"Records excluded (not found by the keyword search):\nn = {c['not_shortlisted']}",
         width_chars=46)
    _arrow(ax, lx + lw / 2, y1, lx + lw / 2, y2 + 0.09)
    _arrow(ax, lx + lw, y2 + 0.045, rx, y2 + 0.045)
    # Eligibility
    lines = [f"{label}: n = {n}" for label, n in reasons] or ["none"]
    if c["maybe"]:
        lines.append(f"Awaiting a reviewer's decision (maybe): n = {c['maybe']}")
    wrapped = 1 + sum(len(textwrap.wrap(s, 50)) for s in lines)
    h3 = max(0.09, 0.03 + 0.0175 * wrapped * 8.6 / fig.get_figheight())
    y3 = y2 - 0.06 - h3
    _box(ax, lx, y3 + h3 - 0.09, lw, 0.09, f"Reports assessed for eligibility (full text):\nn = {c['shortlisted']}")
    text = f"Reports excluded: n = {c['excluded']}\n" + "\n".join(lines)
    _box(ax, rx, y3, rw, h3, text, size=8.5, width_chars=50)
    _arrow(ax, lx + lw / 2, y2, lx + lw / 2, y3 + h3)
    _arrow(ax, lx + lw, y3 + h3 - 0.045, rx, y3 + h3 - 0.045)
    # Included
    y4 = y3 - 0.06 - 0.12
    _box(ax, lx, y4, lw, 0.12, f"Reports included in the review: n = {c['included_total']}\n"
         f"Main reports (studies): n = {c['included']}\n"
         f"Supplementary reports (midterms of included projects): n = {c['supplementary']}", width_chars=44)
    _arrow(ax, lx + lw / 2, y3 + h3 - 0.09, lx + lw / 2, y4 + 0.12)
    if c["appraised"]:
        _box(ax, rx, y4 + 0.03, rw, 0.06, f"Reports appraised for quality: n = {c['appraised']}", width_chars=46)
    # phase labels
    for label, ya, yb in (("Identification", y1, y1 + h1), ("Screening", y3, y2 + 0.09), ("Included", y4, y4 + 0.12)):
        from matplotlib.patches import FancyBboxPatch

        ax.add_patch(FancyBboxPatch((0.02, ya), 0.05, yb - ya, boxstyle="round,pad=0.003,rounding_size=0.01",
                                    facecolor="#a6c8e8", edgecolor="#4a7fb0"))
        ax.text(0.045, (ya + yb) / 2, label, rotation=90, ha="center", va="center", fontsize=9, fontweight="bold")
    if c["human_decisions"]:
        ax.text(0.5, max(0.01, y4 - 0.04), f"Counts use the reviewers' decisions where they exist "
                f"({c['human_decisions']} human decision(s)); otherwise the machine's.",
                ha="center", va="center", fontsize=8, style="italic")
    return fig


def write_flow(db: Database, out_dir: str | Path, title: str | None = None) -> list[Path]:
    """flow.svg, flow.png (the diagram) and prisma_flow.csv (the PRISMA2020 app's template, filled)."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    c = flow_counts(db)
    problems = check_flow(c)
    if problems:  # should never happen: the counts are partitions of the same rows
        log.error("selection flow does not add up: %s", "; ".join(problems))
    fig = draw_flow(c, title if title is not None else "Selection of reports (PRISMA 2020)")
    paths = [out / "flow.svg", out / "flow.png"]
    fig.savefig(paths[0], bbox_inches="tight", pad_inches=0.15)
    fig.savefig(paths[1], dpi=200, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    paths.append(write_prisma_csv(c, out / "prisma_flow.csv"))
    (out / "flow_counts.json").write_text(json.dumps(c, indent=2, ensure_ascii=False), encoding="utf-8")
    paths.append(out / "flow_counts.json")
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
    descriptions = {r["sha256"]: json.loads(r["data"]) for r in db.query("SELECT sha256, data FROM descriptions")}
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
    descriptions = {r["sha256"]: json.loads(r["data"]) for r in db.query("SELECT sha256, data FROM descriptions")}
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


def _bars(counts: dict[str, Counter], title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    total = sum(counts["Type"].values())
    fig.suptitle(f"{title} (n = {total})", fontsize=12, fontweight="bold")
    colors = {"Type": "#2f5f8a", "Timing": "#d08c2f", "Region": "#4a8f5a"}
    for ax, (facet, counter) in zip(axes, counts.items(), strict=True):
        items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])) or [("none", 0)]
        labels = [k for k, _ in items][::-1]
        values = [v for _, v in items][::-1]
        bars = ax.barh(labels, values, color=colors[facet], height=0.6)
        ax.set_title(facet, fontsize=11)
        ax.tick_params(axis="y", labelsize=9)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_xlim(0, max(values + [1]) * 1.25)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        for b, v in zip(bars, values, strict=True):
            ax.text(b.get_width() + max(values + [1]) * 0.02, b.get_y() + b.get_height() / 2, str(v),
                    va="center", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def write_selection_figures(db: Database, out_dir: str | Path) -> list[Path]:
    """figure1_shortlisted.{png,svg} and figure3_selected.{png,svg}: reports by type, timing and region."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    b = selection_breakdown(db)
    paths = []
    for name, key, title in (("figure1_shortlisted", "shortlisted", "Short-listed reports by type, timing and region"),
                             ("figure3_selected", "selected", "Reports in the final selection by type, timing and region")):
        fig = _bars(b[key], title)
        for ext in ("png", "svg"):
            p = out / f"{name}.{ext}"
            fig.savefig(p, dpi=200 if ext == "png" else None)
            paths.append(p)
        plt.close(fig)
    return paths
