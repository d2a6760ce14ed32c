"""The Markdown report: the same content as the HTML, figures as PNG files beside it.

Each quote is a blockquote preceded by an HTML comment naming its report, sha256 and page,
so tools (and the tests) can check it against the source.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from whatworks.report import (
    FLOW_LABELS,
    POLARITY_LABELS,
    TEMPLATES,
    TYPE_TITLES,
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
    years_text,
)
from whatworks.synthesize import ITEM_KIND_LABELS, Synthesis, _lower_label

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md(text: Any) -> str:
    """Report text made inert in Markdown (no emphasis, links or HTML from a report's words)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def cell(text: Any) -> str:
    return md(text)


def render_markdown(s: Synthesis, figures: Figures, matrix: list[dict[str, Any]], base: Path) -> str:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(md=md, cell=cell, counts=lambda d, titles=None: counts_text(d, titles), years=years_text,
                       lower_label=_lower_label, locator=locator, source_link=lambda c: f"<{source_link(c)}>",
                       basename=lambda p: Path(str(p)).name)
    rel = {k: os.path.relpath(v, base).replace(os.sep, "/") for k, v in figures.png.items()}
    generated = _dt.datetime.fromisoformat(s.generated_at).strftime("%d %B %Y")
    rows = [{k: "" if v is None else str(v) for k, v in row.items()} for row in matrix]
    text = env.get_template("report.md.j2").render(
        s=s, figures=rel, fig=figures, matrix=rows, matrix_columns=annex_columns(rows), flow_labels=FLOW_LABELS,
        type_titles=TYPE_TITLES, kind_labels=ITEM_KIND_LABELS, generated=generated,
        breakdowns=breakdowns(s), polarity_labels=POLARITY_LABELS,
        report_ids={r.sha256: r.report_id for r in s.reports}, subtitle=subtitle(s),
        summary_paragraphs=summary_paragraphs(s), selection_paragraphs=selection_paragraphs(s, figures),
        collation_paragraphs=collation_paragraphs(s), criteria=criteria_rows(s), type_timing=type_timing)
    return re.sub(r"\n{3,}", "\n\n", text)


def write_markdown(s: Synthesis, figures: Figures, matrix: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(render_markdown(s, figures, matrix, path.parent), encoding="utf-8")
    return path
