"""The self-contained HTML report (Jinja2, autoescaped: report text is never markup)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

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
    report_anchor,
    selection_paragraphs,
    source_link,
    split_ids,
    subtitle,
    summary_paragraphs,
    type_timing,
    years_text,
)
from whatworks.synthesize import ITEM_KIND_LABELS, Synthesis, _lower_label


def environment(known_ids: set[str]) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)

    def link_ids(text: str, anchor=report_anchor) -> Markup:
        out = []
        for piece, is_id in split_ids(text, known_ids):
            out.append(Markup('<a href="#{}">{}</a>').format(anchor(piece), piece) if is_id else escape(piece))
        return Markup("").join(out)

    env.filters["link_ids"] = link_ids
    env.filters["locator"] = locator
    env.filters["source_link"] = source_link
    env.filters["basename"] = lambda p: Path(str(p)).name
    env.filters["lower_label"] = _lower_label
    env.filters["counts"] = lambda d, titles=None: counts_text(d, titles)
    env.filters["years"] = years_text
    return env


def render_html(s: Synthesis, figures: Figures, matrix: list[dict[str, Any]]) -> str:
    known = {r.report_id for r in s.reports}
    template = environment(known).get_template("report.html.j2")
    generated = _dt.datetime.fromisoformat(s.generated_at).strftime("%d %B %Y")
    report_ids = {r.sha256: r.report_id for r in s.reports}
    rows = [{k: "" if v is None else str(v) for k, v in row.items()} for row in matrix]
    return template.render(s=s, figures=figures.svg, fig=figures, matrix=rows, matrix_columns=annex_columns(rows),
                           flow_labels=FLOW_LABELS, type_titles=TYPE_TITLES, kind_labels=ITEM_KIND_LABELS,
                           report_anchor=report_anchor, report_ids=report_ids, generated=generated,
                           subtitle=subtitle(s), summary_paragraphs=summary_paragraphs(s),
                           breakdowns=breakdowns(s), polarity_labels=POLARITY_LABELS,
                           selection_paragraphs=selection_paragraphs(s, figures),
                           collation_paragraphs=collation_paragraphs(s), criteria=criteria_rows(s),
                           type_timing=type_timing)


def write_html(s: Synthesis, figures: Figures, matrix: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(render_html(s, figures, matrix), encoding="utf-8")
    return path
