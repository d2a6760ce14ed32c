"""The selection drawn and written: the PRISMA 2020 flow diagram (SVG, PNG), its CSV in the
PRISMA2020 app's template, and figures 1 and 3 (short-listed and selected reports by type,
timing and region). The counts come from whatworks.selection."""

from __future__ import annotations

import csv
import json
import logging
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

from whatworks.report.excel import safe_cell
from whatworks.report.figures import cached_figure
from whatworks.selection import PRISMA_TEMPLATE, check_flow, prisma_values

log = logging.getLogger(__name__)


def write_prisma_csv(c: dict[str, Any], path: Path) -> Path:
    values = prisma_values(c)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"])
        for row in PRISMA_TEMPLATE:
            w.writerow([safe_cell(x) for x in (*row, values.get(row[0], 0) if row[0] != "NA" else 0)])
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
    if c.get("conflicts"):
        reasons.append(f"• Reviewers disagree, awaiting the lead: n = {c['conflicts']}")
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


def write_flow(c: dict[str, Any], out_dir: str | Path, title: str | None = None,
               data_dir: str | Path | None = None) -> list[Path]:
    """flow.svg and flow.png (the diagram) in `out_dir`; prisma_flow.csv (the PRISMA2020 app's
    template, filled) and flow_counts.json in `data_dir` (default: `out_dir`).

    The diagram is redrawn only when the counts (or this code) changed since it was last drawn.
    """
    out = Path(out_dir)
    data = Path(data_dir) if data_dir is not None else out
    out.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
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




FACET_COLORS = {"Type": "#2f5f8a", "Timing": "#d08c2f", "Region": "#4a8f5a"}


def _bars(counts: dict[str, Counter], title: str):
    """Horizontal bar charts stacked (type, timing, region) on one scale, at print size; a facet
    with a single value is left out (one bar says nothing; its title says it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    facets = [(facet, sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])) or [("none", 0)])
              for facet, counter in counts.items()]
    single = [f"{facet}: {items[0][0]}" for facet, items in facets if len(items) == 1]
    facets = [(facet, items) for facet, items in facets if len(items) > 1] or facets[:1]
    sizes = [len(items) for _, items in facets]
    fig, axes = plt.subplots(len(facets), 1, figsize=(6.5, 0.75 + sum(0.27 * n + 0.42 for n in sizes)),
                             gridspec_kw={"height_ratios": [n + 1.5 for n in sizes]}, squeeze=False)
    total = sum(counts["Type"].values())
    note = f" — all {'; '.join(single)}" if single and len(facets) < len(counts) else ""
    fig.suptitle(f"{title} (n = {total}){note}", fontsize=10, fontweight="bold", x=0.02, ha="left")
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


def write_selection_figures(b: dict[str, dict[str, Counter]], out_dir: str | Path) -> list[Path]:
    """figure1_shortlisted.{png,svg} and figure3_selected.{png,svg}: reports by type, timing and region
    (`whatworks.selection.selection_breakdown`; redrawn only when the counts changed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for name, key, title in SELECTION_FIGURES:
        data = {facet: dict(counter) for facet, counter in b[key].items()}
        svg, png = cached_figure(out, name, {"counts": data, "title": title},
                                 lambda key=key, title=title: _bars(b[key], title), dpi=200)
        paths += [png, svg]
    return paths


SELECTION_FIGURES = (("figure1_shortlisted", "shortlisted", "Short-listed reports by type, timing and region"),
                     ("figure3_selected", "selected", "Reports in the final selection by type, timing and region"))
