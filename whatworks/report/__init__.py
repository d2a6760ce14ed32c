"""report: the synthesis in every format a reviewer hands on.

`write_reports(store, synthesis, out_dir)` writes, into the review's output folder:

* synthesis.html — self-contained (figures inline as SVG), every statement linked to its
  quotes and every quote to its report id and page; print-friendly;
* synthesis.docx — Word, in the shape of the seed review (title page, executive summary,
  methodology with the selection flow, findings by question, limitations, annexes);
* synthesis.md — Markdown, figures beside it in figures/;
* synthesis.xlsx — every item with its codes, the themes, the quotes, the reports;
* synthesis.json — the synthesis itself (whatworks.synthesize.Synthesis.to_dict());
* figures/ — the selection flow, the short-listed and selected reports by type, timing and
  region, and the evidence maps (SVG and PNG); prisma_flow.csv and flow_counts.json beside
  the reports. Each figure is drawn once, and again only when what it shows changed.

The prose every format shares (executive summary, methodology) is written here once, from
the synthesis' counts only. Every quote in every format is one the synthesis verified
verbatim on its cited page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whatworks import selection
from whatworks.report import figures as f
from whatworks.report.flow import write_flow, write_selection_figures
from whatworks.store.base import Store
from whatworks.synthesize import ITEM_KIND_LABELS, Synthesis, plural

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
#: The matrix as the reports show it (Annex II): a few of whatworks.selection.MATRIX_COLUMNS, and two
#: derived ones (type and timing together; the one reason); every column is in matrix.xlsx.
ANNEX_COLUMNS = [("report_id", "Report No."), ("title", "Title"), ("type_timing", "Type and timing"),
                 ("year", "Year"), ("decision", "Decision"), ("reason", "Reason")]


def annex_columns(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The annex's columns: a link to each report after its title when any record has one (a
    database export's records do; reports read from files have their source instead)."""
    if any(r.get("link") for r in rows):
        return ANNEX_COLUMNS[:2] + [("link", "Link")] + ANNEX_COLUMNS[2:]
    return list(ANNEX_COLUMNS)
#: Stages at which a record was set aside before the short-list (the annex leaves them out).
NOT_SHORTLISTED = ("error", "duplicate", "search")
POLARITY_LABELS = {"positive": "worked", "negative": "fell short", "neutral": "observed", "mixed": "mixed"}
#: The per-theme breakdowns (ThemeResult attribute, title, value titles), each shown only when the
#: review's reports differ on it.
BREAKDOWNS = [("by_region", "Region", None), ("by_type", "Type", "types"), ("by_timing", "Timing", "types")]
#: The report's figures in order, with their captions; numbered as they appear.
FIGURE_CAPTIONS = {
    "flow": "Selection of reports: records identified, screened, excluded (with reasons) and included",
    "shortlisted": "Number of short-listed reports by type, timing and region",
    "criteria": "Inclusion and exclusion criteria — content",
    "selected": "Number of reports in the final selection by type, timing and region",
    "heatmap": "Number of included reports supporting each theme, by region",
    "evidence": "Number of coded items of each report supporting each theme",
}
METHOD_TEXT = {"model": "by the supervised coder (a multilingual model trained on blind-labelled evaluation items, "
                        "refitted on this review's decisions)",
               "human": "added by a reviewer", "llm": "proposed by a language model"}


@dataclass
class Figures:
    """The report's figures: SVG markup for HTML, PNG paths for Word and Markdown, and their numbers."""

    svg: dict[str, str] = field(default_factory=dict)
    png: dict[str, Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)

    def caption(self, key: str) -> str:
        return f"Figure {self.numbers.get(key, '?')}. {FIGURE_CAPTIONS[key]}."


def build_figures(store: Store, s: Synthesis, fig_dir: Path, data_dir: Path | None = None,
                  visible: list[str] | None = None) -> Figures:
    """Every figure of the report, each drawn once (see the module doc), into `fig_dir`."""
    figs = Figures()
    fig_dir.mkdir(parents=True, exist_ok=True)
    made: dict[str, tuple[Path, Path]] = {}
    try:
        paths = write_flow(s.flow or selection.flow_counts(store, visible), fig_dir, title="",
                           data_dir=data_dir or fig_dir.parent)
        made["flow"] = (paths[0], paths[1])
        figs.files += paths
        paths = write_selection_figures(selection.selection_breakdown(store, visible), fig_dir)
        made["shortlisted"] = (paths[1], paths[0])
        made["selected"] = (paths[3], paths[2])
        figs.files += paths
    except Exception as e:  # noqa: BLE001 - the synthesis report stands without the selection figures
        log.warning("selection figures not drawn: %s", e)
    regions = {reg for t in s.themes() for reg in t.by_region}
    for name, make in (("heatmap", f.theme_region_heatmap), ("evidence", f.evidence_map)):  # noqa: B023
        if not s.themes() or not s.reports or (name == "heatmap" and len(regions) < 2):
            continue  # nothing to show (one region: a single column would say nothing)
        svg, png = f.cached_figure(fig_dir, name, f.map_data(s, name), lambda make=make: make(s), dpi=f.MAP_DPI)
        made[name] = (svg, png)
        figs.files += [svg, png]
    n = 0
    for key in FIGURE_CAPTIONS:
        if key in made or (key == "criteria" and (s.protocol or {}).get("criteria")):
            n += 1
            figs.numbers[key] = n
        if key in made:
            figs.svg[key] = f.inline_svg(made[key][0])
            figs.png[key] = made[key][1]
    return figs


KIND_TITLES = {"evaluation_report": "Evaluation report", "evaluation_brief": "Evaluation brief",
               "management_response": "Management response", "terms_of_reference": "Terms of reference",
               "inception_report": "Inception report", "completion_report": "Completion report",
               "progress_report": "Progress report", "evaluation_plan": "Evaluation plan", "audit": "Audit",
               "study": "Study", "database_record": "Database record", "case_study": "Case study", "research_report": "Research report",
               "annex": "Annex", "other": "Other"}
DECISION_TITLES = {"include": "Included", "exclude": "Excluded", "maybe": "Awaiting a reviewer",
                   "conflict": "Reviewers disagree",
                   "duplicate": "Duplicate", "error": "Unreadable"}


def type_timing(timing: str, evaluator: str, evaluation_type: str = "") -> str:
    """'Final independent', 'Mid-term internal (programme)', 'Independent' — like the seed's Annex II."""
    t = TYPE_TITLES.get(timing, timing) if timing and timing not in ("other", "not known") else ""
    e = TYPE_TITLES.get(evaluator, evaluator) if evaluator and evaluator != "not known" else ""
    text = " ".join(x for x in (t, e) if x)
    text = text[:1].upper() + text[1:]
    if evaluation_type and evaluation_type not in ("other", "not known"):
        kind = TYPE_TITLES.get(evaluation_type, evaluation_type).lower()
        text = f"{text} ({kind})" if text else f"{kind[:1].upper()}{kind[1:]} evaluation"
    return text or "Not stated"


def matrix(store: Store, visible: list[str] | None = None, shortlisted: bool = False) -> list[dict[str, Any]]:
    """The selection matrix (whatworks.selection.matrix_rows) made readable: titled values, one reason.
    `shortlisted`: only the records the search short-listed (what the reports' annex lists)."""
    rows = selection.matrix_rows(store, visible)
    if shortlisted:
        rows = [r for r in rows if (r.get("stage") or "") not in NOT_SHORTLISTED]
    reasons = selection.exclusion_reasons(store, visible)
    out = []
    for row in rows:
        row = dict(row)
        decision = row.get("decision") or ""
        full_source = str(row.get("source") or "")
        row["source"] = Path(full_source).name
        row["kind"] = KIND_TITLES.get(row.get("kind") or "", row.get("kind") or "")
        row["type_timing"] = type_timing(row.get("timing") or "", row.get("evaluator_type") or "",
                                         row.get("evaluation_type") or "")
        for key in ("evaluation_type", "timing"):
            row[key] = TYPE_TITLES.get(row.get(key) or "", row.get(key) or "")
        row["decision"] = DECISION_TITLES.get(decision, decision)
        if decision == "exclude":
            row["reason"] = reasons.get(full_source, "")
        elif decision == "include":
            row["reason"] = "Supplementary (mid-term of an included project)" if row.get("stage") == "supplementary" \
                else "Meets the criteria"
        elif decision == "maybe":
            row["reason"] = f"To decide ({row.get('stage') or 'screening'})"
        else:
            row["reason"] = ""
        out.append(row)
    order = {"Included": 0, "Awaiting a reviewer": 1, "Excluded": 2, "Duplicate": 3, "Unreadable": 4}
    return sorted(out, key=lambda r: (order.get(r["decision"], 5), r.get("report_id") == "",
                                      _id_sort(str(r.get("report_id") or "")), str(r.get("title") or "").lower()))


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
    out = []
    for k, v in items:
        label = (titles or {}).get(k, k)
        out.append(f"{label[:1].upper() + label[1:]} ({v})")
    return ", ".join(out) or "—"


def years_text(by_year: dict[str, int]) -> str:
    years = sorted(int(y) for y in by_year)
    if not years:
        return "—"
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}–{years[-1]}"


def _years(s: Synthesis) -> str:
    years = sorted(r.year for r in s.reports if r.year)
    if not years:
        return ""
    return f", {years[0]}" if years[0] == years[-1] else f", {years[0]}–{years[-1]}"


def _listing(values: list[str], limit: int = 6) -> str:
    """'a, b and c'; 'a, b, c, d and 5 more' when there are more than `limit`."""
    values = [str(v) for v in values if v]
    if len(values) > limit:
        return ", ".join(values[:limit]) + f" and {len(values) - limit} more"
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1] if values else ""


def subtitle(s: Synthesis) -> str:
    return (f"What is being done, what works, for whom and why — lessons learned from "
            f"{plural(s.n_reports, 'evaluation report')}{_years(s)}")


def summary_paragraphs(s: Synthesis) -> list[str]:
    """The executive summary's opening paragraphs (the findings follow, by question)."""
    f = s.flow or {}
    out = [f"This report presents the findings of a synthesis review of {plural(s.n_reports, 'evaluation report')}"
           f"{_years(s)}. Through a systematic analysis of their findings, conclusions, recommendations, lessons "
           "learned and good practices, it identifies what is being done, what works, for whom and why."]
    if f.get("identified"):
        sel = (f"{f.get('included_total', s.n_reports)} of the {plural(f['identified'], 'document')} considered "
               f"{'was' if f.get('included_total', s.n_reports) == 1 else 'were'} included in the final selection")
        if f.get("supplementary"):
            sel += (f", {f['supplementary']} of them {_midterms(f['supplementary'])} used to complement the final "
                    "evaluation of the same project")
        out.append(sel + ", after screening against the review protocol (see the methodology).")
    if s.items_total:
        out.append(f"{s.items_total} findings, conclusions, recommendations, lessons learned and good practices were "
                   f"extracted from the included reports; {s.items_coded} of them were coded to at least one of the "
                   f"{s.themes_total or 'codebook'} themes of the codebook. Themes are ranked by the number of reports "
                   "that support them.")
    return out


def selection_paragraphs(s: Synthesis, figs: Figures | None = None) -> list[str]:
    """How reports were selected, from the flow counts and the protocol (Methodology)."""
    f, p = s.flow or {}, s.protocol or {}
    if not f:
        return []

    def fig(key: str) -> str:
        return f" (figure {figs.numbers[key]})" if figs and key in figs.numbers else ""

    out = []
    removed = []
    if f.get("duplicates"):
        removed.append(f"{plural(f['duplicates'], 'duplicate')} (the same file, or the same report in another "
                       "format or version)")
    if f.get("failed"):
        removed.append(f"{plural(f['failed'], 'file')} that could not be read")
    set_aside = f.get("duplicates", 0) + f.get("failed", 0)
    out.append(f"Every file in the folders reviewed was collected as a record: {f['identified']} in all"
               + (f"; {' and '.join(removed)} {'was' if set_aside == 1 else 'were'} set aside" if removed else "")
               + fig("flow") + ".")
    queries = p.get("queries") or []
    search = (f"The {'remaining ' if set_aside else ''}{plural(f['screened'], 'record')} "
              f"{'was' if f['screened'] == 1 else 'were'} searched with the protocol's keyword queries"
              + (f" ({'; '.join(queries)})" if queries else "")
              + f", which short-listed {f['shortlisted']}" + fig("shortlisted") + ".")
    out.append(search)
    tests = []
    if p.get("kinds"):
        tests.append("the kind of document (" + _listing([k.replace("_", " ") for k in p["kinds"]]) + ")")
    if p.get("period"):
        tests.append(f"the period {p['period'][0]}–{p['period'][1]}")
    if p.get("languages"):
        tests.append("the language (" + _listing(p["languages"]) + ")")
    if p.get("criteria"):
        tests.append("the content criteria" + fig("criteria"))
    assess = (f"The short-listed reports were assessed on their full text against {_join_and(tests)}"
              if tests else "The short-listed reports were assessed on their full text against the protocol")
    assess += (f": {f['excluded']} {'was excluded, with its reason' if f['excluded'] == 1 else 'were excluded, each with its reason'}"
               " (the matrix in Annex II)")
    if f.get("maybe"):
        assess += f", and {f['maybe']} {'is' if f['maybe'] == 1 else 'are'} awaiting a reviewer's decision"
    out.append(assess + ".")
    inc = (f"The final selection has {plural(f.get('included_total', s.n_reports), 'report')}" + fig("selected"))
    if f.get("supplementary"):
        inc += (f", {f['supplementary']} of them {_midterms(f['supplementary'])} kept to complement the final "
                "evaluation of the same project")
    inc += "."
    if f.get("appraised") and p.get("quality"):
        inc += (f" The quality of {plural(f['appraised'], 'report')} was appraised on the protocol's criteria: "
                + "; ".join(q.rstrip(".").lower() if q[:2] != q[:2].upper() else q.rstrip(".") for q in p["quality"])
                + ".")
    out.append(inc)
    if f.get("human_decisions"):
        out.append(f"Reviewers decided {plural(f['human_decisions'], 'record')} themselves; their decisions replace "
                   "the machine's.")
    return out


def _midterms(n: int) -> str:
    return "a mid-term evaluation" if n == 1 else "mid-term evaluations"


def _join_and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def collation_paragraphs(s: Synthesis) -> list[str]:
    """How the findings were extracted, coded and synthesised (Methodology)."""
    out = [f"The findings, conclusions, recommendations, lessons learned and good practices of the included reports "
           f"were extracted ({s.items_total} items) and coded to the themes of the codebook “{s.codebook}”, "
           "organised under the four questions; target groups are kept apart from final beneficiaries, and success "
           "factors from challenges."]
    if s.code_methods:
        parts = [f"{n} {METHOD_TEXT.get(m, 'by ' + m)}" for m, n in s.code_methods.items()]
        out.append(f"Of the {plural(s.codes_total, 'theme code')}, " + _join_and(parts) + ". "
                   + (f"{s.codes_reviewed} {'was' if s.codes_reviewed == 1 else 'were'} checked by a reviewer; "
                      if s.codes_reviewed else "None has been checked by a reviewer yet; ")
                   + "a reviewer's decision (accept, reject, add) replaces the machine's and is kept when the review "
                     "is run again.")
    text = ("Within each theme, the coded items that say the same thing, in the same direction (what worked, what "
            "fell short), were grouped by the closeness of their meaning; each group is stated by its most "
            "representative sentence, quoted verbatim and attributed to its reports, with every other report that "
            "says the same. Success factors rest only on items reporting a positive result and challenges only on "
            "items reporting a negative one. Themes are ranked by the number of reports that support them, and each "
            "quote is verbatim from its report, at the page or in the section cited.")
    if s.statement_engine == "llm":
        text += (" Statements marked as such were rewritten into prose by a language model; each of its sentences "
                 "cites quotes that were checked verbatim in their sources, and sentences that failed the check were "
                 f"dropped ({len(s.statements_dropped)}).")
    out.append(text)
    return out


def breakdowns(s: Synthesis) -> list[tuple[str, str, dict[str, str] | None]]:
    """The per-theme breakdowns worth printing: only dimensions on which the reports differ."""
    values = {"by_region": {x for r in s.reports for x in r.regions},
              "by_type": {r.evaluation_type for r in s.reports if r.evaluation_type},
              "by_timing": {r.timing for r in s.reports if r.timing}}
    return [(key, title, TYPE_TITLES if titles else None) for key, title, titles in BREAKDOWNS
            if len(values[key]) > 1]


def locator(citation: Any) -> str:
    """'p. 12', 'section “Lessons learned”' — where the quote is in its source."""
    if citation.page:
        return f"p. {citation.page}"
    if citation.section:
        return f"section “{citation.section}”"
    return "(no page)"


def source_link(citation: Any) -> str:
    """A link to the quote's source file, at its page (PDF) or scrolled to the quote (HTML)."""
    path = Path(citation.source)
    uri = path.resolve().as_uri() if path.is_absolute() or path.exists() else citation.source
    return uri + (citation.anchor or "")


def criteria_rows(s: Synthesis) -> list[tuple[str, list[str]]]:
    """(column title, criteria texts) for the criteria table (the seed's figure 2)."""
    c = (s.protocol or {}).get("criteria") or {}
    titles = {"inclusion": "Inclusion", "possible": "Possible inclusion or exclusion", "exclusion": "Exclusion"}
    return [(titles.get(tier, tier.capitalize()), texts) for tier, texts in c.items() if texts]


def write_reports(store: Store, s: Synthesis, out_dir: str | Path, formats: Iterable[str] = FORMATS,
                  visible: list[str] | None = None) -> list[Path]:
    """Write the synthesis report in each of `formats` (html, docx, md, xlsx); the paths written."""
    formats = list(formats)
    unknown = [x for x in formats if x not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figs = build_figures(store, s, out / "figures", out, visible)
    rows = matrix(store, visible, shortlisted=True)
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

        paths.append(write_excel(store, s, out / "synthesis.xlsx", visible))
    paths += figs.files
    log.info("reports written: %s", ", ".join(p.name for p in paths))
    return paths


__all__ = ["FORMATS", "ITEM_KIND_LABELS", "Figures", "build_figures", "write_reports"]
