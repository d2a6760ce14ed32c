"""synthesize: the thematic synthesis — what is being done, what works, for whom and why.

For each review question, the codebook's themes are ranked by how many included reports
support them, each with the reports' short ids (E2, I-1…), its strongest verbatim quotes
(report id, source and page, every one checked against the stored document) and how the
supporting reports break down by region, evaluation type, timing and year. Success factors
are kept apart from challenges, target groups from final beneficiaries. Each theme gets a
short paragraph written from the evidence only — counts, ids and breakdowns, never a claim
the evidence does not show (a configured language model may draft it instead, under the same
check). Limitations are stated as the seed review states them: few lessons learned or good
practices, regions without reports, items no theme fits, codes no reviewer has checked.

`Synthesis` is a plain dataclass: `to_dict()` / `to_json()` give what the reports render.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from whatworks import corrections, screen, selection
from whatworks.codebook import Codebook
from whatworks.coding import ItemCode, effective_codes
from whatworks.emerging import emerging_themes
from whatworks.model import Document
from whatworks.store import documents as docs
from whatworks.store.base import Store
from whatworks.text import normalise_space, sentences

log = logging.getLogger(__name__)

#: Quotes shown per theme (from different reports where possible).
QUOTES_PER_THEME = 3
#: Below this share of reports with lessons learned (or good practices), the limitation is stated.
FEW_SHARE = 0.5
#: Preference among item kinds when choosing the quote that stands for a theme.
KIND_ORDER = {"lesson_learned": 0, "good_practice": 1, "finding": 2, "conclusion": 3, "recommendation": 4}
ITEM_KIND_LABELS = {"finding": "findings", "conclusion": "conclusions", "recommendation": "recommendations",
                    "lesson_learned": "lessons learned", "good_practice": "good practices"}


@dataclass
class Quote:
    report_id: str
    sha256: str
    text: str  # verbatim (whitespace-normalised) from the source at `page`
    page: int | None
    source: str  # file name of the report
    kind: str  # item kind it comes from
    item: int  # item index in the report
    theme: str = ""


@dataclass
class ThemeResult:
    id: str
    label: str
    definition: str
    question: str
    group: str | None
    reports: list[str] = field(default_factory=list)  # report ids, in id order
    n_reports: int = 0
    n_items: int = 0
    share: float = 0.0  # n_reports / included reports
    item_kinds: dict[str, int] = field(default_factory=dict)
    items_by_report: dict[str, int] = field(default_factory=dict)  # report id → coded items
    quotes: list[Quote] = field(default_factory=list)
    by_region: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    by_timing: dict[str, int] = field(default_factory=dict)
    by_year: dict[str, int] = field(default_factory=dict)
    narrative: str = ""
    narrative_source: str = "template"  # template | llm
    reviewed: int = 0  # codes a reviewer accepted or added


@dataclass
class GroupResult:
    id: str | None
    label: str
    themes: list[ThemeResult] = field(default_factory=list)  # with evidence, ranked
    no_evidence: list[str] = field(default_factory=list)  # theme labels no report supports


@dataclass
class QuestionResult:
    id: str
    label: str
    ask: str
    groups: list[GroupResult] = field(default_factory=list)


@dataclass
class ReportInfo:
    report_id: str
    sha256: str
    title: str
    source: str
    year: int | None = None
    regions: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    evaluation_type: str = ""
    timing: str = ""
    evaluator_type: str = ""
    project_codes: list[str] = field(default_factory=list)
    language: str = ""
    supplementary: bool = False
    items_by_kind: dict[str, int] = field(default_factory=dict)
    items: int = 0
    coded_items: int = 0
    themes: list[str] = field(default_factory=list)  # theme ids with evidence from this report


@dataclass
class Synthesis:
    title: str
    questions_text: list[str]
    codebook: str
    generated_at: str
    n_reports: int
    reports: list[ReportInfo]
    questions: list[QuestionResult]
    limitations: list[str]
    items_by_kind: dict[str, int]
    items_total: int
    items_coded: int
    codes_total: int
    codes_reviewed: int
    emerging: list[dict[str, Any]] = field(default_factory=list)
    flow: dict[str, Any] = field(default_factory=dict)
    regions_without_reports: list[str] = field(default_factory=list)
    quotes_dropped: int = 0  # machine quotes that could not be found verbatim on a page of the source
    narrative_engine: str = "template"
    #: the protocol as the methodology states it: criteria texts by tier, period, languages, kinds, queries
    protocol: dict[str, Any] = field(default_factory=dict)
    code_methods: dict[str, int] = field(default_factory=dict)  # theme codes by method (keyword, embedding…)
    themes_total: int = 0  # themes in the codebook
    summary: list[tuple[str, list[str]]] = field(default_factory=list)  # executive summary, by question

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=kwargs.pop("indent", 2), **kwargs)

    def themes(self) -> list[ThemeResult]:
        return [t for q in self.questions for g in q.groups for t in g.themes]

    def quotes(self) -> list[Quote]:
        return [qt for t in self.themes() for qt in t.quotes]

    def report(self, report_id: str) -> ReportInfo | None:
        return next((r for r in self.reports if r.report_id == report_id), None)


# --- readable quotes ---------------------------------------------------------------------

#: A leading label such as "Finding 6: ", "Hallazgo 1: ", "Recommendation #1: " or "Lesson 2. ":
#: one to three words and a short number (not a year) — dropped, what follows is still verbatim.
_LABEL = re.compile(r"^(?:[^\W\d_][\w'’-]*(?: [^\W\d_][\w'’-]*){0,2} ?#? ?)?\(?\b[0-9]{1,2}(?:\.[0-9]{1,2})*\s*[:.)–—-]\s+(?=\S)")
_SECTION = re.compile(r"^[0-9]{1,2}(?:\.[0-9]{1,2})+\.?\s+(?=\S)")
_END = ".!?…»”\"')"
#: A quote must have at least this many words to stand alone (a heading or fragment does not).
QUOTE_MIN_WORDS = 6


def clean_quote(text: str) -> str | None:
    """The readable part of a candidate quote, or None when it is a heading or a fragment.

    The result is always a substring of the (whitespace-normalised) candidate, so it stays
    verbatim. Rejected: fewer than QUOTE_MIN_WORDS words; starting in lower case (the middle
    of a sentence); ending on a comma, a colon or a short connecting word ("and", "de");
    short unpunctuated lines (headings such as "Collaboration Projects").
    """
    t = normalise_space(text)
    t = _LABEL.sub("", t, count=1)
    section = _SECTION.match(t)
    if section:  # "3.1.1 Recovery plan The evaluation found…": a numbered heading glued to its first sentence
        t = t[section.end():]
        words = t.split(" ")
        for k in range(1, min(len(words), 8)):
            if words[k][:1].isupper() and words[k - 1][-1:].isalpha() and words[k - 1][:1].islower():
                t = " ".join(words[k:])
                break
    if t[:1] in "-–—•·*":
        t = t[1:].lstrip()
    words = t.split()
    if len(words) < QUOTE_MIN_WORDS:
        return None
    first = t[0]
    if first.isalpha() and first.islower():
        return None
    last = words[-1]
    if t[-1] in ",;:(-–—" or (last.isalpha() and last.islower() and len(last) <= 3):
        return None
    if t[-1] not in _END and len(words) < 2 * QUOTE_MIN_WORDS:
        return None
    return t


# --- locating quotes in the stored documents ----------------------------------------------

def page_texts(document: Document) -> list[str]:
    """Each page's text as one whitespace-normalised string (blocks joined by a space)."""
    return [normalise_space(" ".join(b.text for b in page.blocks)) for page in document.pages]


def locate(quote: str, pages: list[str], hint: int | None) -> int | None:
    """The 1-based page whose text holds `quote` verbatim: the hinted page first, then its neighbours."""
    q = normalise_space(quote)
    if not q:
        return None
    order: list[int] = []
    if hint:
        order += [hint, hint + 1, hint - 1]
    order += range(1, len(pages) + 1)
    for p in dict.fromkeys(order):
        if 1 <= p <= len(pages) and q in pages[p - 1]:
            return p
    return None


class Sources:
    """Documents' page texts, loaded once each: where quotes are checked verbatim."""

    def __init__(self, store: Store):
        self.store = store
        self._pages: dict[str, list[str]] = {}

    def pages(self, sha: str) -> list[str]:
        if sha not in self._pages:
            try:
                self._pages[sha] = page_texts(docs.document(self.store, sha))
            except KeyError:
                self._pages[sha] = []
        return self._pages[sha]

    def verified_quote(self, sha: str, quote: str, hint: int | None) -> tuple[str, int] | None:
        """`quote` (whitespace normalised) and the page it occurs on verbatim, else None."""
        page = locate(quote, self.pages(sha), hint)
        return (normalise_space(quote), page) if page is not None else None

    def verified(self, code: ItemCode, readable: bool = False) -> tuple[str, int] | None:
        """The code's quote (or another sentence of its item) with the page it occurs on.

        `readable`: only a quote that stands alone (`clean_quote`), its leading label dropped.
        """
        pages = self.pages(code.sha256)
        candidates = [code.quote] if code.quote else []
        candidates += [s for s in sentences(code.text) if any(t in s for t in code.triggers)]
        for cand in dict.fromkeys(candidates):
            if not cand:
                continue
            if readable:
                cand = clean_quote(cand)
                if cand is None:
                    continue
            page = locate(cand, pages, code.page)
            if page is not None:
                return normalise_space(cand), page
        return None


# --- metadata ------------------------------------------------------------------------------

def _meta(store: Store, sha: str) -> dict[str, Any]:
    d = corrections.effective_description(store, sha)  # reviewers' corrections applied
    return {k: v.value for k, v in d.metadata.items()} if d else {}


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        out = []
        for v in value:
            if isinstance(v, dict):
                v = v.get("code") or v.get("name") or ""
            if v:
                out.append(str(v))
        return out
    return [str(value)]


def report_infos(store: Store, shas: list[str], ids: dict[str, str]) -> list[ReportInfo]:
    supplementary = set(screen.supplementary(store))
    documents = {r["sha256"]: r for r in docs.document_rows(store, shas)}
    item_kinds: dict[str, Counter] = {}
    for r in docs.item_rows(store, shas):
        item_kinds.setdefault(r["sha256"], Counter())[r["kind"]] += 1
    out = []
    for sha in shas:
        meta = _meta(store, sha)
        doc = documents.get(sha)
        source = doc["source"] if doc else ""
        kinds = item_kinds.get(sha, Counter())
        year = meta.get("year")
        out.append(ReportInfo(
            report_id=ids.get(sha, sha[:8]), sha256=sha,
            title=str(meta.get("title") or (doc["title"] if doc else "") or Path(source).stem),
            source=Path(source).name, year=int(year) if isinstance(year, int | float) else None,
            regions=_as_list(meta.get("regions_ilo")) or _as_list(meta.get("regions_m49"))[:1],
            countries=_as_list(meta.get("countries")),
            evaluation_type=str(meta.get("evaluation_type") or ""), timing=str(meta.get("timing") or ""),
            evaluator_type=str(meta.get("evaluator_type") or ""),
            project_codes=_as_list(meta.get("project_codes")),
            language=str(meta.get("language") or (doc["language"] if doc else "") or ""),
            supplementary=sha in supplementary, items_by_kind=dict(kinds), items=sum(kinds.values())))
    return sorted(out, key=_id_order)


def _id_order(r: ReportInfo) -> tuple:
    rid = r.report_id
    series = 0 if rid.startswith("E") else 1
    digits = "".join(c for c in rid if c.isdigit())
    return series, int(digits) if digits else 0, rid


def _id_key(rid: str) -> tuple:
    digits = "".join(c for c in rid if c.isdigit())
    return (0 if rid.startswith("E") else 1, int(digits) if digits else 0, rid)


# --- narrative (offline, from the evidence only) --------------------------------------------

PHRASES = {  # (singular subject, plural subject)
    ("what_is_being_done", None): ("describes {label}", "describe {label}"),
    ("what_works", None): ("gives evidence on {label}", "give evidence on {label}"),
    ("for_whom", "target_groups"): ("names {label} among the groups the intervention worked with",
                                    "name {label} among the groups the interventions worked with"),
    ("for_whom", "final_beneficiaries"): ("names {label} among the final beneficiaries",
                                          "name {label} among the final beneficiaries"),
    ("why", "success_factors"): ("identifies {label} as a factor of success", "identify {label} as a factor of success"),
    ("why", "challenges"): ("reports {label} as a challenge", "report {label} as a challenge"),
}
#: The executive summary's sentence per question or group: the themes with most reports.
SUMMARY_PHRASES = {
    ("what_is_being_done", None): "The interventions most often described are {themes}.",
    ("what_works", None): "On what works, the reports most often give evidence on {themes}.",
    ("for_whom", "target_groups"): "The target groups most often named are {themes}.",
    ("for_whom", "final_beneficiaries"): "The final beneficiaries most often named are {themes}.",
    ("why", "success_factors"): "The success factors most often identified are {themes}.",
    ("why", "challenges"): "The challenges most often reported are {themes}.",
}
#: Region names read with an article in running text ("the Americas").
_THE = ("Americas", "Arab States", "Pacific", "Caribbean")

LABEL_TITLES = {"project": "project", "programme": "programme", "country_programme": "country programme",
                "thematic": "thematic", "strategy": "strategy", "high_level": "high-level", "meta": "meta-",
                "impact": "impact", "other": "other", "final": "final", "midterm": "mid-term",
                "ex_post": "ex-post"}


def _lower_label(label: str) -> str:
    """'Political context and instability' → 'political context and instability' (acronyms kept)."""
    words = label.split()
    first = words[0] if words else ""
    if first.isupper() or any(c.isupper() for c in first[1:]):
        return label  # an acronym or a name ("ILO's…", "EI special benefits")
    if len(words) > 1 and words[1][:1].isupper() and not words[1].isupper():
        return label  # a proper name ("Employment Insurance", "Old Age Security")
    return label[:1].lower() + label[1:]


def _region(name: str) -> str:
    return f"the {name}" if name in _THE else name


def _ids_text(ids: list[str], limit: int = 12) -> str:
    if len(ids) <= limit:
        return ", ".join(ids)
    return ", ".join(ids[:limit]) + f" and {len(ids) - limit} more"


def _and(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _counts_text(counts: dict[str, int], titles: dict[str, str] | None = None) -> str:
    return _and([f"{(titles or {}).get(k, k)} ({v})" for k, v in sorted(counts.items(), key=lambda x: (-x[1], x[0]))])


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """'1 report', '3 reports'."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def template_narrative(t: ThemeResult, total: int, regions: bool = True) -> str:
    """Two to four sentences stating only counts, ids and breakdowns of the supporting reports.

    `regions`: say where the reports come from (not in a national review, where every report
    covers the same country).
    """
    key = (t.question, t.group) if (t.question, t.group) in PHRASES else (t.question, None)
    one, many = PHRASES.get(key, ("gives evidence on {label}", "give evidence on {label}"))
    verb = (one if t.n_reports == 1 else many).format(label=_lower_label(t.label))
    noun = "report" if total == 1 else "reports"
    out = [f"{t.n_reports} of {total} included {noun} ({_ids_text(t.reports)}) {verb}."]
    known = {k: v for k, v in t.by_region.items() if not k.startswith("(")}
    if not regions or not known:
        pass
    elif t.n_reports > 1:
        (top, k), *rest = sorted(known.items(), key=lambda x: (-x[1], x[0]))
        if not rest and k == t.n_reports:
            out.append(f"All of them cover {_region(top)}.")
        elif not rest:
            out.append(f"{k} of them cover {_region(top)}.")
        elif k > rest[0][1] and k * 2 > t.n_reports:
            out.append(f"Most of them cover {_region(top)} ({k} of {t.n_reports}).")
        else:
            out.append("They cover " + _and([f"{_region(r)} ({v})" for r, v in
                                             sorted(known.items(), key=lambda x: (-x[1], x[0]))]) + ".")
    else:
        out.append(f"It covers {_and([_region(r) for r in known])}.")
    kinds = {ITEM_KIND_LABELS.get(k, k): v for k, v in t.item_kinds.items()}
    if t.n_items == 1:
        only = next(iter(kinds), "item")
        out.append(f"The evidence is 1 coded item ({_singular(only)}).")
    else:
        out.append(f"The evidence is {t.n_items} coded items: {_counts_text(kinds)}.")
    if t.by_year:
        years = sorted(int(y) for y in t.by_year)
        subject = "The report dates" if t.n_reports == 1 else "The reports date"
        out.append(f"{subject} from {years[0]}." if years[0] == years[-1]
                   else f"{subject} from {years[0]} to {years[-1]}.")
    return " ".join(out)


def _singular(label: str) -> str:
    return {"findings": "a finding", "conclusions": "a conclusion", "recommendations": "a recommendation",
            "lessons learned": "a lesson learned", "good practices": "a good practice"}.get(label, label)


def summary_sentences(s: Synthesis, top: int = 3) -> list[tuple[str, list[str]]]:
    """(question label, sentences) for the executive summary: per question or group, the themes
    with most supporting reports and how many — or plainly that no report addressed it."""
    out = []
    for q in s.questions:
        sents = []
        for g in q.groups:
            key = (q.id, g.id) if (q.id, g.id) in SUMMARY_PHRASES else (q.id, None)
            phrase = SUMMARY_PHRASES.get(key, "The themes with most evidence are {themes}.")
            if g.id and (q.id, g.id) not in SUMMARY_PHRASES and len(q.groups) > 1:
                phrase = f"Among {_lower_label(g.label)}, the reports most often describe {{themes}}."
            if not g.themes:
                what = _lower_label(g.label) if g.id else _lower_label(q.label.rstrip("?"))
                sents.append(f"No report in the selection addressed {what}.")
                continue
            parts = [f"{_lower_label(t.label)} ({t.n_reports} of {s.n_reports})" for t in g.themes[:top]]
            sents.append(phrase.format(themes=_and(parts)))
        out.append((q.label, sents))
    return out


# --- the synthesis ---------------------------------------------------------------------------

def _report_ids(store: Store, shas: list[str]) -> dict[str, str]:
    ids = screen.report_ids(store)
    for n, sha in enumerate(s for s in shas if s not in ids):
        ids[sha] = f"R{n + 1}"
    return ids


def ilo_regions() -> list[str]:
    """The five ILO regions (whatworks/data/regions.yaml), for 'regions with no reports'."""
    from whatworks import vocab

    try:
        return [r for r in vocab.load("regions") if not r.lower().startswith("global")]
    except vocab.VocabError:
        return ["Africa", "Americas", "Arab States", "Asia and the Pacific", "Europe and Central Asia"]


def synthesize(store: Store, codebook: Codebook, protocol: Any = None, *, llm: Any = None,
               visible: list[str] | None = None) -> Synthesis:
    """The synthesis of the included reports' coded items (machine codes after people's decisions).
    `visible`: only these people's decisions count (blind mode)."""
    title = (getattr(protocol, "title", "") if protocol is not None else "") or codebook.title
    questions_text = list(getattr(protocol, "questions", []) or []) if protocol is not None else []
    shas = list(screen.included(store, visible))
    ids = _report_ids(store, shas)
    reports = report_infos(store, shas, ids)
    by_sha = {r.sha256: r for r in reports}
    total = len(reports)
    current = set(codebook.ids)
    codes = [c for c in effective_codes(store, shas, visible, codebook.aliases) if c.theme in current]
    sources = Sources(store)

    by_theme: dict[str, list[ItemCode]] = {}
    for c in codes:
        by_theme.setdefault(c.theme, []).append(c)
    coded_keys = {(c.sha256, c.item_key) for c in codes}
    for c in codes:
        info = by_sha.get(c.sha256)
        if info is not None and c.theme not in info.themes:
            info.themes.append(c.theme)
    for r in reports:
        r.coded_items = len({k for k in coded_keys if k[0] == r.sha256})

    quotes_dropped = 0
    quoted: set[tuple[str, str]] = set()  # (sha256, quote) already shown under a theme
    questions: list[QuestionResult] = []
    for q in codebook.questions:
        qr = QuestionResult(q.id, q.label, q.ask)
        groups = [(g.id, g.label) for g in q.groups] or [(None, q.label)]
        for gid, glabel in groups:
            gr = GroupResult(gid, glabel)
            for theme in codebook.themes_for(q.id, gid) if gid else codebook.themes_for(q.id):
                tcodes = by_theme.get(theme.id, [])
                if not tcodes:
                    gr.no_evidence.append(theme.label)
                    continue
                t, dropped = _theme_result(theme, tcodes, by_sha, total, sources, quoted)
                quotes_dropped += dropped
                gr.themes.append(t)
            gr.themes.sort(key=lambda t: (-t.n_reports, -t.n_items, t.label))
            qr.groups.append(gr)
        questions.append(qr)

    engine = "template"
    for qr in questions:
        for gr in qr.groups:
            for t in gr.themes:
                t.narrative = template_narrative(t, total, regions=_international(reports))
                if llm is not None:
                    from whatworks.llm import draft_narrative

                    drafted = draft_narrative(llm, t.label, f"{qr.label} {qr.ask}".strip(),
                                              t.narrative, [(x.report_id, x.text, x.page) for x in t.quotes])
                    if drafted:
                        t.narrative, t.narrative_source, engine = drafted, "llm", "llm"

    items_by_kind: Counter[str] = Counter()
    for r in reports:
        items_by_kind.update(r.items_by_kind)
    items_total = sum(items_by_kind.values())
    all_item_keys = {(r["sha256"], r["item_key"]) for r in docs.item_rows(store, shas)} if shas else set()
    covered = {reg for r in reports for reg in r.regions}
    regions_missing = [reg for reg in ilo_regions() if reg not in covered] if _international(reports) else []
    emerging = [e.to_dict() for e in emerging_themes(store)]
    synthesis = Synthesis(
        title=title or "Synthesis review", questions_text=questions_text, codebook=codebook.name,
        generated_at=_dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(), n_reports=total,
        reports=reports, questions=questions, limitations=[], items_by_kind=dict(items_by_kind),
        items_total=items_total, items_coded=len(coded_keys & all_item_keys),
        codes_total=len(codes), codes_reviewed=sum(1 for c in codes if c.human in ("accept", "add")),
        emerging=emerging, flow=selection.flow_counts(store, visible), regions_without_reports=regions_missing,
        quotes_dropped=quotes_dropped, narrative_engine=engine)
    synthesis.protocol = _protocol_info(protocol)
    synthesis.code_methods = dict(Counter(c.method for c in codes).most_common())
    synthesis.themes_total = len(codebook.ids)
    synthesis.summary = summary_sentences(synthesis)
    synthesis.limitations = limitations(synthesis)
    return synthesis


def _protocol_info(protocol: Any) -> dict[str, Any]:
    """What the methodology says about the protocol (empty when there is none)."""
    if protocol is None:
        return {}
    try:
        criteria = {tier: [c.text for c in cs] for tier, cs in protocol.criteria.items() if cs}
        try:
            from whatworks.screen import labels

            names = labels().get("language_names", {})
        except Exception:  # noqa: BLE001 - codes will do
            names = {}
        return {"name": protocol.name, "description": protocol.description,
                "period": list(protocol.period) if protocol.period else None,
                "languages": [names.get(code, code) for code in protocol.languages], "kinds": list(protocol.kinds),
                "queries": protocol.query_terms(), "criteria": criteria,
                "quality": [c.text for c in protocol.quality]}
    except AttributeError as e:  # a protocol-like object without some fields: say less
        log.debug("protocol not fully described: %s", e)
        return {}


def _international(reports: list[ReportInfo]) -> bool:
    """Whether regions make sense here: not a national review (all reports about one country)."""
    return len({c for r in reports for c in r.countries}) != 1


def _theme_result(theme, tcodes: list[ItemCode], by_sha: dict[str, ReportInfo], total: int,
                  sources: Sources, used: set[tuple[str, str]] | None = None) -> tuple[ThemeResult, int]:
    report_shas = sorted({c.sha256 for c in tcodes if c.sha256 in by_sha}, key=lambda s: _id_key(by_sha[s].report_id))
    infos = [by_sha[s] for s in report_shas]
    t = ThemeResult(theme.id, theme.label, theme.definition, theme.question, theme.group,
                    reports=[i.report_id for i in infos], n_reports=len(infos),
                    n_items=len({(c.sha256, c.item_key) for c in tcodes}),
                    share=round(len(infos) / total, 3) if total else 0.0,
                    item_kinds=dict(Counter(c.kind for c in {(c.sha256, c.item_key): c for c in tcodes}.values())),
                    reviewed=sum(1 for c in tcodes if c.human in ("accept", "add")))
    for (sha, _key) in {(c.sha256, c.item_key) for c in tcodes if c.sha256 in by_sha}:
        rid = by_sha[sha].report_id
        t.items_by_report[rid] = t.items_by_report.get(rid, 0) + 1
    t.items_by_report = dict(sorted(t.items_by_report.items(), key=lambda x: _id_key(x[0])))
    for i in infos:
        for reg in i.regions or ["(region not known)"]:
            t.by_region[reg] = t.by_region.get(reg, 0) + 1
        t.by_type[i.evaluation_type or "not known"] = t.by_type.get(i.evaluation_type or "not known", 0) + 1
        t.by_timing[i.timing or "not known"] = t.by_timing.get(i.timing or "not known", 0) + 1
        if i.year:
            t.by_year[str(i.year)] = t.by_year.get(str(i.year), 0) + 1
    # strongest quotes: reviewer-confirmed first, then score, preferring lessons and findings and new reports
    # (a passage matched by a theme's own descriptors shows the theme more plainly than one close in meaning)
    ranked = sorted(tcodes, key=lambda c: (0 if c.human in ("accept", "add") else 1,
                                           1 if c.method == "embedding" else 0, -round(c.score, 2),
                                           KIND_ORDER.get(c.kind, 9), _id_key(by_sha[c.sha256].report_id)
                                           if c.sha256 in by_sha else (9, 0, ""), c.idx))
    dropped = 0
    seen_reports: set[str] = set()
    chosen: list[Quote] = []
    used = used if used is not None else set()
    found_for: dict[int, tuple[str, int] | None] = {}
    # first one quote per report, then fill up; a passage already quoted for another theme only
    # when this theme would otherwise have none (a reader should not meet the same quote twice)
    for pass_ in (0, 1, 2):
        if pass_ == 2 and chosen:
            break
        for c in ranked:
            if len(chosen) >= QUOTES_PER_THEME or c.sha256 not in by_sha:
                break
            if pass_ == 0 and c.sha256 in seen_reports:
                continue
            if any(q.sha256 == c.sha256 and q.item == c.idx for q in chosen):
                continue
            if id(c) not in found_for:
                found_for[id(c)] = sources.verified(c, readable=True)
                if found_for[id(c)] is None and sources.verified(c) is None:
                    dropped += 1
                    log.info("quote for %s from %s (item %d) not found verbatim in the source: left out",
                             theme.id, by_sha[c.sha256].report_id, c.idx)
            found = found_for[id(c)]
            if found is None:  # not verbatim, or a heading or fragment: no quote from this code
                continue
            text, page = found
            if pass_ < 2 and (c.sha256, text) in used:
                continue
            info = by_sha[c.sha256]
            chosen.append(Quote(info.report_id, c.sha256, text, page, info.source, c.kind, c.idx, theme.id))
            seen_reports.add(c.sha256)
            if pass_ == 2:  # one passage already quoted elsewhere is enough
                break
    used.update((q.sha256, q.text) for q in chosen)
    t.quotes = chosen
    return t, dropped


# --- limitations -------------------------------------------------------------------------------

def limitations(s: Synthesis) -> list[str]:
    """What the evidence could not show, stated plainly (after the seed review's own section)."""
    out: list[str] = []
    m = s.n_reports
    flow = s.flow or {}
    if flow.get("maybe"):
        out.append(f"{plural(flow['maybe'], 'short-listed report')} still {'awaits' if flow['maybe'] == 1 else 'await'} "
                   f"a reviewer's decision and {'is' if flow['maybe'] == 1 else 'are'} not part of this synthesis.")
    if flow.get("failed"):
        out.append(f"{plural(flow['failed'], 'file')} could not be read and {'was' if flow['failed'] == 1 else 'were'} "
                   "not screened.")
    if m == 0:
        return ["No report was included, so there is no evidence to synthesise.", *out]
    with_lessons = sum(1 for r in s.reports if r.items_by_kind.get("lesson_learned"))
    with_practices = sum(1 for r in s.reports if r.items_by_kind.get("good_practice"))
    if with_lessons < FEW_SHARE * m or with_practices < FEW_SHARE * m:
        out.append(
            f"Few reports state lessons learned or good practices: {with_lessons} of {m} include lessons learned "
            f"({s.items_by_kind.get('lesson_learned', 0)} in all) and {with_practices} of {m} include good practices "
            f"({s.items_by_kind.get('good_practice', 0)}), which limits how far the questions of what works and "
            "why can be answered.")
    if s.regions_without_reports:
        names = [_region(r) for r in s.regions_without_reports]
        out.append("No included report covers " + (names[0] if len(names) == 1 else
                                                    ", ".join(names[:-1]) + " or " + names[-1]) + ".")
    no_meta = [r.report_id for r in s.reports if not r.regions]
    if no_meta and _international(s.reports):
        out.append(f"The region of {plural(len(no_meta), 'report')} is not known ({_ids_text(no_meta)}).")
    empty = [r.report_id for r in s.reports if r.items == 0]
    if empty:
        out.append(f"{plural(len(empty), 'included report')} yielded no findings, conclusions, recommendations, "
                   f"lessons learned or good practices that could be extracted ({_ids_text(empty)}).")
    uncoded = s.items_total - s.items_coded
    if s.items_total and uncoded:
        out.append(f"{uncoded} of {s.items_total} extracted items ({100 * uncoded / s.items_total:.0f}%) could not be "
                   "coded to any theme of the codebook" + ("; candidate emerging themes are listed for review."
                                                            if s.emerging else "."))
    unaddressed = [t for q in s.questions for g in q.groups for t in g.no_evidence]
    if unaddressed:
        shown = _and([_lower_label(t) for t in unaddressed[:8]]) + (" and others" if len(unaddressed) > 8 else "")
        out.append(f"No report in the selection addressed {len(unaddressed)} of the {s.themes_total or '?'} themes "
                   f"of the codebook ({shown}).")
    single = [t for t in s.themes() if t.n_reports == 1]
    if single and m > 1:
        out.append(f"{plural(len(single), 'theme')} with evidence {'rests' if len(single) == 1 else 'rest'} on a "
                   "single report: read them as indications rather than patterns.")
    joint = [r.report_id for r in s.reports if r.evaluator_type == "joint"]
    if joint:
        out.append(f"{plural(len(joint), 'report')} {'is a joint evaluation' if len(joint) == 1 else 'are joint evaluations'}"
                   f" ({_ids_text(joint)}): attributing results to one organisation's work is uncertain.")
    if s.codes_total:
        unreviewed = s.codes_total - s.codes_reviewed
        if unreviewed:
            out.append(f"{unreviewed} of {s.codes_total} theme codes were assigned by the machine and not yet checked "
                       "by a reviewer.")
    if s.quotes_dropped:
        out.append(f"{plural(s.quotes_dropped, 'supporting passage')} could not be found verbatim on a page of "
                   "their source and {} left out of the quotes.".format("was" if s.quotes_dropped == 1 else "were"))
    return out
