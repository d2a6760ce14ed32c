"""Figures of the synthesis report (matplotlib), drawn at the size they are printed (an A4 text
width is 6.5 in) so that 8–9 pt labels stay 8–9 pt on paper: grey-friendly colours, every
number written in its cell or at its bar, labels never cut.

Each function returns a matplotlib Figure (or None when there is nothing to show);
`cached_figure` writes it as SVG (text kept as text, for the HTML report) and PNG (for Word
and Markdown), and draws it again only when its data (or this code) changed since the last
run — re-running a review after adding one report redraws only the figures it changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from whatworks.synthesize import Synthesis  # noqa: E402

log = logging.getLogger(__name__)

plt.rcParams.update({"svg.fonttype": "none", "font.size": 8.5, "axes.titlesize": 9.5, "axes.titleweight": "bold",
                     "font.family": "DejaVu Sans", "svg.hashsalt": "whatworks"})

#: The evidence map shows at most this many reports (columns), so it still fits a printed page.
MAX_MAP_REPORTS = 30
#: Row labels longer than this are cut (with "…"); the full label is in the report's text.
MAX_LABEL = 58
QUESTION_SHORT = {"what_is_being_done": "What is being done?", "what_works": "What works?",
                  "for_whom": "For whom?", "why": "Why?"}
MANIFEST = ".figures.json"
#: Resolution of the PNG files (Word, Markdown); the maps are large, and print well at less.
PNG_DPI = 200
MAP_DPI = 160


@lru_cache(maxsize=1)
def _code_version() -> str:
    """This module and the flow's code: a change redraws every figure."""
    here = Path(__file__).resolve()
    h = hashlib.sha256(matplotlib.__version__.encode())
    for path in (here, here.parent / "flow.py"):
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(path.name.encode())
    return h.hexdigest()[:16]


def cached_figure(out_dir: Path, name: str, data: Any, draw: Callable[[], Any],
                  dpi: int = PNG_DPI) -> tuple[Path, Path]:
    """name.svg and name.png in out_dir, drawn by `draw()` unless the same `data` drew them last time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    svg, png = out_dir / f"{name}.svg", out_dir / f"{name}.png"
    key = hashlib.sha256((_code_version() + json.dumps(data, sort_keys=True, default=str)).encode()).hexdigest()
    manifest_path = out_dir / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    if manifest.get(name) == key and svg.exists() and png.exists():
        log.debug("figure %s unchanged: not redrawn", name)
        return svg, png
    fig = draw()
    fig.savefig(svg, bbox_inches="tight", pad_inches=0.05, metadata={"Date": None})
    fig.savefig(png, dpi=dpi, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    manifest[name] = key
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return svg, png


def _label(text: str, limit: int = MAX_LABEL) -> str:
    """The label, cut at a word boundary with "…" when it is too long."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:–-") + "…"


def _column_label(text: str, width: int) -> str:
    """A column heading wrapped on up to three lines of `width` characters."""
    import textwrap

    lines = textwrap.wrap(text, max(width, 4)) or [text]
    return "\n".join(lines[:2] + ([_label(" ".join(lines[2:]), width)] if len(lines) > 2 else []))


def _sections(s: Synthesis) -> list[tuple[str, list]]:
    """(heading, themes) per question and group with evidence, in report order."""
    out = []
    for q in s.questions:
        for g in q.groups:
            if g.themes:
                head = QUESTION_SHORT.get(q.id, q.label)
                if g.id:
                    head += f" — {g.label}"
                out.append((head, g.themes))
    return out


def map_rows(s: Synthesis) -> list[tuple[str, Any]]:
    """The rows of both maps: (heading, None) before each question's or group's themes, then (label, theme)."""
    rows: list[tuple[str, Any]] = []
    for head, themes in _sections(s):
        rows.append((head, None))
        rows += [(_label(t.label), t) for t in themes]
    return rows


def _heat(rows: list[tuple[str, Any]], cols: list[str], value: Callable[[Any, str], int], title: str,
          col_width: float):
    """A heat map with a bold heading row before each group of themes and every count in its cell."""
    n = len(rows)
    m = np.full((n, len(cols)), np.nan)
    for i, (_, t) in enumerate(rows):
        if t is not None:
            m[i] = [value(t, c) for c in cols]
    vmax = max(int(np.nanmax(m)) if np.isfinite(m).any() else 1, 1)
    longest = max(len(label) for label, _ in rows)
    label_w = min(4.1, 0.35 + 0.062 * longest)
    per_line = int(col_width / (7.5 * 0.58 / 72))  # characters of a 7.5 pt heading that fit a column
    heads = [_column_label(c, per_line) for c in cols]
    head_lines = max(h.count("\n") + 1 for h in heads)
    head_h = 0.3 + 0.13 * head_lines
    fig_w = label_w + col_width * len(cols) + 0.3
    fig_h = 0.175 * n + head_h + 0.1
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((label_w / fig_w, 0.1 / fig_h, col_width * len(cols) / fig_w, (0.175 * n) / fig_h))
    cmap = matplotlib.colormaps["Blues"].with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(m), aspect="auto", cmap=cmap, vmin=0, vmax=vmax * 1.2, interpolation="nearest")
    ax.set_yticks(range(n), [label for label, _ in rows], fontsize=7.5)
    for tick, (_, t) in zip(ax.get_yticklabels(), rows, strict=True):
        if t is None:
            tick.set_fontweight("bold")
            tick.set_fontsize(8)
    ax.set_xticks(range(len(cols)), heads, fontsize=7.5, ha="center", linespacing=1.1)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for i, (_, t) in enumerate(rows):
        if t is None:
            ax.axhspan(i - 0.5, i + 0.5, color="#eef2f6", zorder=0.5)
            continue
        for j in range(len(cols)):
            v = int(m[i, j])
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > vmax * 0.55 else "black")
    # white cell borders as two line collections (minor ticks and a grid cost a draw per tick)
    ax.hlines(np.arange(-0.5, n + 0.5), -0.5, len(cols) - 0.5, colors="white", linewidth=0.8)
    ax.vlines(np.arange(-0.5, len(cols) + 0.5), -0.5, n - 0.5, colors="white", linewidth=0.8)
    ax.set_xlim(-0.5, len(cols) - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    fig.text(0.01, 1 - 0.05 / fig_h, title, ha="left", va="top", fontsize=9, fontweight="bold")
    return fig


def theme_region_heatmap(s: Synthesis):
    """Themes (rows) × regions (columns): how many included reports from each region support each theme.

    None when the reports come from fewer than two regions (one column would say nothing).
    """
    rows = map_rows(s)
    regions = sorted({reg for _, t in rows if t is not None for reg in t.by_region})
    if not rows or len(regions) < 2:
        return None
    return _heat(rows, regions, lambda t, reg: t.by_region.get(reg, 0), "Reports supporting each theme, by region",
                 0.75)


def map_reports(s: Synthesis) -> tuple[list[str], bool]:
    """The report ids the evidence map shows (those with most evidence when there are too many)."""
    reports = [r.report_id for r in s.reports]
    if len(reports) <= MAX_MAP_REPORTS:
        return reports, False
    weight = {rid: sum(t.items_by_report.get(rid, 0) for t in s.themes()) for rid in reports}
    keep = set(sorted(reports, key=lambda rid: -weight[rid])[:MAX_MAP_REPORTS])
    return [rid for rid in reports if rid in keep], True


def evidence_map(s: Synthesis):
    """Themes (rows) × reports (columns): how many coded items of each report support each theme."""
    rows = map_rows(s)
    reports, cut = map_reports(s)
    if not rows or not reports:
        return None
    title = "Coded items of each report supporting each theme"
    if cut:
        title += f" ({len(reports)} of {len(s.reports)} reports: those with most evidence)"
    return _heat(rows, reports, lambda t, rid: t.items_by_report.get(rid, 0), title,
                 max(0.3, 0.07 * max(map(len, reports)) + 0.05))


def map_data(s: Synthesis, which: str) -> Any:
    """What a map shows, for `cached_figure`'s key."""
    rows = [(label, None if t is None else (t.by_region if which == "heatmap" else t.items_by_report))
            for label, t in map_rows(s)]
    return {"rows": rows, "reports": map_reports(s)}


def inline_svg(path: Path | None) -> str:
    """An SVG file's markup without its XML prolog, ready to sit inside HTML."""
    if path is None or not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    start = text.find("<svg")
    return text[start:] if start >= 0 else ""
