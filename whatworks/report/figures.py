"""Figures of the synthesis report (matplotlib), readable in print: grey-friendly colours,
large labels, every number written in its cell or at its bar.

Each function returns a matplotlib Figure; `save` writes it as SVG (text kept as text,
for the HTML report) and PNG (for Word and Markdown).
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from whatworks.synthesize import Synthesis  # noqa: E402

log = logging.getLogger(__name__)

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.titlesize": 10, "axes.titleweight": "bold",
                     "font.family": "DejaVu Sans"})

BAR = "#2f5d8a"
TYPE_TITLES = {"project": "Project", "programme": "Programme", "country_programme": "Country programme",
               "thematic": "Thematic", "strategy": "Strategy", "high_level": "High-level", "meta": "Meta-evaluation",
               "impact": "Impact", "other": "Other", "": "Not known", "final": "Final", "midterm": "Mid-term",
               "ex_post": "Ex-post", "independent": "Independent", "internal": "Internal", "self": "Self",
               "joint": "Joint"}
#: The evidence map shows at most this many reports (columns), so it still fits a printed page.
MAX_MAP_REPORTS = 60
QUESTION_SHORT = {"what_is_being_done": "What", "what_works": "Works", "for_whom": "Whom", "why": "Why"}


def _title(value: str) -> str:
    return TYPE_TITLES.get(value, value.replace("_", " ").capitalize() if value else "Not known")


def _bars(ax, counts: Counter, title: str) -> None:
    items = sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    labels = [k for k, _ in items][::-1]
    values = [v for _, v in items][::-1]
    ax.barh(range(len(values)), values, color=BAR, height=0.6)
    ax.set_yticks(range(len(values)), labels)
    ax.set_title(title, loc="left")
    for i, v in enumerate(values):
        ax.text(v + max(values) * 0.02, i, str(v), va="center", fontsize=9)
    ax.set_xlim(0, max(values) * 1.2 if values else 1)
    ax.xaxis.set_visible(False)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)


def reports_profile(s: Synthesis):
    """Included reports by evaluation type, timing and region (the seed's figure 3)."""
    types = Counter(_title(r.evaluation_type) for r in s.reports)
    timing = Counter(f"{_title(r.timing)} {_title(r.evaluator_type).lower()}".strip() for r in s.reports)
    regions: Counter = Counter()
    for r in s.reports:
        regions.update(r.regions or ["Not known"])
    n = max(len(types), len(timing), len(regions), 1)
    fig, axes = plt.subplots(1, 3, figsize=(10, 0.35 * n + 1.3))
    for ax, counts, title in zip(axes, (types, timing, regions), ("By type", "By timing and evaluator", "By region"),
                                 strict=True):
        if counts:
            _bars(ax, counts, title)
        else:
            ax.axis("off")
    fig.suptitle(f"Included reports (n = {s.n_reports})", x=0.01, ha="left", fontweight="bold")
    fig.tight_layout()
    return fig


def _theme_rows(s: Synthesis) -> list:
    """(question id, group label, theme) for every theme with evidence, in report order."""
    rows = []
    for q in s.questions:
        for g in q.groups:
            for t in g.themes:  # already ranked within the group
                rows.append((q.id, g.label if g.id else "", t))
    return rows


def _row_label(qid: str, group: str, t) -> str:
    tag = QUESTION_SHORT.get(qid, qid)
    if group:
        tag += f" · {group.split()[0].lower()}"
    label = t.label if len(t.label) <= 48 else t.label[:46] + "…"
    return f"{label}  [{tag}]"


def _heat(ax, matrix: np.ndarray, rows: list[str], cols: list[str], title: str) -> None:
    vmax = max(int(matrix.max()), 1)
    ax.imshow(matrix, aspect="auto", cmap="Blues", vmin=0, vmax=vmax * 1.15)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xticks(range(len(cols)), cols, fontsize=8, rotation=45 if max(map(len, cols), default=0) > 3 else 0,
                  ha="right" if max(map(len, cols), default=0) > 3 else "center")
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_title(title, loc="left", pad=12)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            v = int(matrix[i, j])
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7.5,
                        color="white" if v > vmax * 0.55 else "black")
    ax.set_xticks(np.arange(-0.5, len(cols), 1), minor=True)
    ax.set_yticks(np.arange(-0.5, len(rows), 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)


def theme_region_heatmap(s: Synthesis):
    """Themes (rows) × regions (columns): how many included reports from each region support each theme."""
    rows = _theme_rows(s)
    regions = sorted({reg for _, _, t in rows for reg in t.by_region})
    if not rows or not regions:
        return None
    m = np.array([[t.by_region.get(reg, 0) for reg in regions] for _, _, t in rows])
    fig, ax = plt.subplots(figsize=(2.2 + 0.9 * len(regions) + 3.2, 0.26 * len(rows) + 1.6))
    _heat(ax, m, [_row_label(q, g, t) for q, g, t in rows], regions, "Reports supporting each theme, by region")
    fig.tight_layout()
    return fig


def evidence_map(s: Synthesis):
    """Themes (rows) × reports (columns): how many coded items of each report support each theme."""
    rows = _theme_rows(s)
    reports = [r.report_id for r in s.reports]
    if not rows or not reports:
        return None
    title = "Evidence map: coded items of each report supporting each theme"
    if len(reports) > MAX_MAP_REPORTS:  # keep the figure printable: the reports with most evidence
        weight = {rid: sum(t.items_by_report.get(rid, 0) for _, _, t in rows) for rid in reports}
        keep = set(sorted(reports, key=lambda rid: -weight[rid])[:MAX_MAP_REPORTS])
        title += f" ({MAX_MAP_REPORTS} of {len(reports)} reports, those with most evidence)"
        reports = [rid for rid in reports if rid in keep]
    m = np.array([[t.items_by_report.get(rid, 0) for rid in reports] for _, _, t in rows])
    fig, ax = plt.subplots(figsize=(3.5 + 0.38 * len(reports) + 2.5, 0.26 * len(rows) + 1.6))
    _heat(ax, m, [_row_label(q, g, t) for q, g, t in rows], reports, title)
    fig.tight_layout()
    return fig


def flow_figure(db, out_dir: Path) -> tuple[Path | None, Path | None]:
    """The selection flow from whatworks.selection.write_flow: (svg, png) paths, or (None, None)."""
    try:
        from whatworks.selection import write_flow
    except ImportError:
        return None, None
    try:
        paths = write_flow(db, out_dir)
    except Exception as e:  # noqa: BLE001 - the report is still useful without the diagram
        log.warning("selection flow diagram not drawn: %s", e)
        return None, None
    svg = next((p for p in paths if p.suffix == ".svg"), None)
    png = next((p for p in paths if p.suffix == ".png"), None)
    return svg, png


def save(fig, out_dir: Path, name: str) -> tuple[Path, Path]:
    """name.svg and name.png in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    svg, png = out_dir / f"{name}.svg", out_dir / f"{name}.png"
    fig.savefig(svg, bbox_inches="tight")
    fig.savefig(png, dpi=180, bbox_inches="tight")
    plt.close(fig)
    return svg, png


def inline_svg(path: Path | None) -> str:
    """An SVG file's markup without its XML prolog, ready to sit inside HTML."""
    if path is None or not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    start = text.find("<svg")
    return text[start:] if start >= 0 else ""


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=180, bbox_inches="tight")
    return buf.getvalue()
