"""synthesize: the thematic synthesis — what is being done, what works, for whom and why.

For each review question, the codebook's themes are ranked by how many included reports
support them. Each theme's evidence becomes claims (whatworks.claims): the coded items that say
the same thing, in one polarity, stated by their most representative sentence and attributed to
their reports, with every verbatim quote checked against the stored document and located by page
(PDF) or section. Success factors rest only on positive items and challenges only on negative
ones; a theme that holds both gets a contrast. Each question is answered in statements (a
headline with the reports behind it, and the claim that best shows it), and the executive
summary picks 8–12 of them, citing two reports or more where the evidence allows.

The status says how far people have checked the machine's codes ("Draft: N of M codes checked
by a reviewer") until a lead marks the review final; warnings name what the evidence cannot
carry (an included report that yielded no item, a theme resting on one report, uncertain codes).
`Synthesis.to_contract()` is the stable synthesis.json (docs/synthesis-json.md).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from whatworks import claims as claims_module
from whatworks import corrections, screen, selection, vocab
from whatworks.claims import Citation, Evidence, Statement
from whatworks.codebook import Codebook
from whatworks.coding import ItemCode, effective_codes, theme_thresholds
from whatworks.emerging import emerging_themes
from whatworks.model import Document
from whatworks.store import documents as docs
from whatworks.store.base import Store
from whatworks.text import fold, fold_word, normalise_space, sentences, stem, words

log = logging.getLogger(__name__)

#: Below this share of reports with lessons learned (or good practices), the limitation is stated.
FEW_SHARE = 0.5
#: A code the coder was at least this unsure of is counted among the uncertain ones.
UNSURE = 0.6
#: How many statements the executive summary holds.
SUMMARY_MIN, SUMMARY_MAX = 8, 12
#: Preference among item kinds when choosing the quote that stands for a claim.
KIND_ORDER = {"lesson_learned": 0, "good_practice": 1, "finding": 2, "conclusion": 3, "recommendation": 4}
ITEM_KIND_LABELS = {"finding": "findings", "conclusion": "conclusions", "recommendation": "recommendations",
                    "lesson_learned": "lessons learned", "good_practice": "good practices"}
META_FINAL = "review.final"


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
    by_polarity: dict[str, list[str]] = field(default_factory=dict)  # polarity → report ids
    by_region: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    by_timing: dict[str, int] = field(default_factory=dict)
    by_year: dict[str, int] = field(default_factory=dict)
    headline: str = ""  # what the theme's evidence amounts to, in one sentence
    claims: list[Statement] = field(default_factory=list)
    contrast: Statement | None = None
    through: list[str] = field(default_factory=list)  # for whom: the interventions that reached them
    #: the headline said less, for a statement whose lead fits the usual one only loosely:
    #: "advice" (why: a lesson, not an effect) and "address" (for whom: the group named, not shown reached)
    headlines: dict[str, str] = field(default_factory=dict)
    reviewed: int = 0  # codes a reviewer accepted or added

    @property
    def supporting(self) -> list[str]:
        """The reports behind the headline: for a success factor or challenge, those whose items
        point the group's way; for any other theme, every report coding it."""
        routed = claims_module.ROUTED.get(self.group or "")
        if not routed:
            return self.reports
        return sorted({r for p in routed for r in self.by_polarity.get(p, [])}, key=_id_key)

    @property
    def quotes(self) -> list[Citation]:
        """Every citation of the theme's claims, once each."""
        seen, out = set(), []
        for c in self.claims:
            for q in c.citations:
                if (q.sha256, q.item) not in seen:
                    seen.add((q.sha256, q.item))
                    out.append(q)
        return out


@dataclass
class GroupResult:
    id: str | None
    label: str
    themes: list[ThemeResult] = field(default_factory=list)  # with evidence, ranked
    no_evidence: list[str] = field(default_factory=list)  # theme labels no report supports
    statements: list[Statement] = field(default_factory=list)


@dataclass
class QuestionResult:
    id: str
    label: str
    ask: str
    groups: list[GroupResult] = field(default_factory=list)

    @property
    def statements(self) -> list[Statement]:
        return [s for g in self.groups for s in g.statements]


@dataclass
class ReportInfo:
    report_id: str
    sha256: str
    title: str
    source: str  # file name
    path: str = ""  # the file path as collected
    year: int | None = None
    regions: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    evaluation_type: str = ""
    timing: str = ""
    evaluator_type: str = ""
    project_codes: list[str] = field(default_factory=list)
    language: str = ""
    supplementary: bool = False
    quality: float | None = None  # the appraisal's score (share of quality criteria met)
    items_by_kind: dict[str, int] = field(default_factory=dict)
    items: int = 0
    coded_items: int = 0
    has_findings: bool = False  # the description found a findings (or conclusions) chapter
    url: str = ""  # where the evaluation is published (a database record's link)
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
    quotes_dropped: int = 0  # machine quotes that could not be found verbatim in the source
    statement_engine: str = "extractive"  # extractive | llm
    statements_dropped: list[dict[str, Any]] = field(default_factory=list)  # a writer's, failing the check
    #: the protocol as the methodology states it: criteria texts by tier, period, languages, kinds, queries
    protocol: dict[str, Any] = field(default_factory=dict)
    code_methods: dict[str, int] = field(default_factory=dict)  # theme codes by engine
    themes_total: int = 0  # themes in the codebook
    summary: list[Statement] = field(default_factory=list)  # the executive summary's key statements
    status: dict[str, Any] = field(default_factory=dict)  # draft or final, and how much was checked
    warnings: list[dict[str, Any]] = field(default_factory=list)  # {kind, text, reports}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_contract(), ensure_ascii=False, indent=kwargs.pop("indent", 2), **kwargs)

    def to_contract(self) -> dict[str, Any]:
        """synthesis.json (docs/synthesis-json.md): stable; fields may be added, never renamed."""
        return {
            "title": self.title, "generated_at": self.generated_at, "codebook": self.codebook,
            "status": self.status, "reports_included": self.n_reports,
            "summary": {"statements": [s.to_dict() for s in self.summary]},
            "questions": [{"id": q.id, "label": q.label, "ask": q.ask,
                           "statements": [s.to_dict() for s in q.statements],
                           "groups": [{"id": g.id, "label": g.label,
                                       "statements": [s.to_dict() for s in g.statements],
                                       "themes": [_theme_contract(t) for t in g.themes],
                                       "no_evidence": g.no_evidence} for g in q.groups]}
                          for q in self.questions],
            "reports": [{"report": r.report_id, "sha256": r.sha256, "source": r.path, "title": r.title,
                         "year": r.year, "countries": r.countries, "regions": r.regions, "timing": r.timing,
                         "evaluation_type": r.evaluation_type, "evaluator_type": r.evaluator_type,
                         "quality": r.quality, "items": r.items, "items_by_kind": r.items_by_kind}
                        for r in self.reports],
            "warnings": self.warnings, "limitations": self.limitations, "emerging": self.emerging,
            "statements_dropped": self.statements_dropped,
            "counts": {"items": self.items_total, "items_coded": self.items_coded, "codes": self.codes_total,
                       "codes_checked": self.codes_reviewed, "quotes_dropped": self.quotes_dropped},
        }

    def themes(self) -> list[ThemeResult]:
        return [t for q in self.questions for g in q.groups for t in g.themes]

    def quotes(self) -> list[Citation]:
        return [qt for t in self.themes() for qt in t.quotes]

    def statements(self) -> list[Statement]:
        """Every statement of the synthesis: the summary's and each question's."""
        return self.summary + [s for q in self.questions for s in q.statements]

    def report(self, report_id: str) -> ReportInfo | None:
        return next((r for r in self.reports if r.report_id == report_id), None)


def _theme_contract(t: ThemeResult) -> dict[str, Any]:
    return {"id": t.id, "label": t.label, "reports": t.reports, "supporting": t.supporting, "by_polarity": t.by_polarity,
            "headline": t.headline, "claims": [c.to_dict() for c in t.claims],
            "contrast": t.contrast.to_dict() if t.contrast else None}


# --- readable quotes ---------------------------------------------------------------------

#: A leading label such as "Finding 6: ", "Hallazgo 1: ", "Recommendation #1: " or "Lesson 2. ":
#: one to three words and a short number (not a year) — dropped, what follows is still verbatim.
_LABEL = re.compile(r"^(?:[^\W\d_][\w'’-]*(?: [^\W\d_][\w'’-]*){0,2} ?#? ?)?\(?\b[0-9]{1,2}(?:\.[0-9]{1,2})*"
                    r"(?:\s*[:.)–—-]|\s+[^\W\d_][\w'’-]*\s*:)\s+(?=\S)")
#: First words of a sentence that leans on the one before ("This…", "Cela…", "Esto…"): a quote that
#: starts so is taken only when its item has no sentence that stands alone.
_LEANS = re.compile(r"^(This|These|That|Those|It|They|Such|He|She|Ce|Cela|Ceci|Il|Elle|Ils|Elles|Esto|Esta|Este|"
                    r"Estos|Estas|Ello|Eso|Isso|Isto|Esse|Essa|Esta)\b|^[A-Z][a-z]+ed\b(?! by\b)")
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
        candidates += sentences(code.text)
        if readable:  # a sentence that stands alone first: the coder's, then the item's others
            cleaned = [c for c in (clean_quote(x) for x in dict.fromkeys(candidates) if x) if c]
            candidates = [c for c in cleaned if not _LEANS.match(c)] + [c for c in cleaned if _LEANS.match(c)]
        for cand in dict.fromkeys(candidates):
            if not cand:
                continue
            page = locate(cand, pages, code.page)
            if page is not None:
                return normalise_space(cand), page
        return None


# --- metadata ------------------------------------------------------------------------------

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


def report_infos(store: Store, shas: list[str], ids: dict[str, str], descriptions: dict[str, Any],
                 quality: dict[str, float | None]) -> list[ReportInfo]:
    supplementary = set(screen.supplementary(store))
    documents = {r["sha256"]: r for r in docs.document_rows(store, shas)}
    item_kinds: dict[str, Counter] = {}
    for r in docs.item_rows(store, shas):
        item_kinds.setdefault(r["sha256"], Counter())[r["kind"]] += 1
    out = []
    for sha in shas:
        d = descriptions.get(sha)
        meta = {k: v.value for k, v in d.metadata.items()} if d else {}
        doc = documents.get(sha)
        source = doc["source"] if doc else ""
        kinds = item_kinds.get(sha, Counter())
        year = meta.get("year")
        out.append(ReportInfo(
            report_id=ids.get(sha, sha[:8]), sha256=sha,
            title=str(meta.get("title") or (doc["title"] if doc else "") or Path(source).stem),
            source=Path(source).name, path=source, year=int(year) if isinstance(year, int | float) else None,
            regions=_as_list(meta.get("regions_ilo")) or _as_list(meta.get("regions_m49"))[:1],
            countries=_as_list(meta.get("countries")),
            evaluation_type=str(meta.get("evaluation_type") or ""), timing=str(meta.get("timing") or ""),
            evaluator_type=str(meta.get("evaluator_type") or ""),
            project_codes=_as_list(meta.get("project_codes")),
            language=str(meta.get("language") or (doc["language"] if doc else "") or ""),
            supplementary=sha in supplementary, quality=quality.get(sha), items_by_kind=dict(kinds),
            items=sum(kinds.values()),
            has_findings=bool(d and any(x.kind in ("findings", "conclusions") for x in d.sections)),
            url=str(meta.get("url") or "")))
    return sorted(out, key=_id_order)


def _id_order(r: ReportInfo) -> tuple:
    rid = r.report_id
    series = 0 if rid.startswith("E") else 1
    digits = "".join(c for c in rid if c.isdigit())
    return series, int(digits) if digits else 0, rid


def _id_key(rid: str) -> tuple:
    digits = "".join(c for c in rid if c.isdigit())
    return (0 if rid.startswith("E") else 1, int(digits) if digits else 0, rid)




# --- words ---------------------------------------------------------------------------------------

#: A theme's headline, by (question, group): {n} reports ({ids}) and the theme's label.
HEADLINES = {  # {verb} agrees with the number of reports: (one report, several)
    ("what_is_being_done", None): ("{n} of {total} reports ({ids}) {verb} {label}.", ("describes", "describe")),
    ("for_whom", "target_groups"): ("{n} of {total} reports ({ids}) worked with {label}{through}.", ("", "")),
    ("for_whom", "final_beneficiaries"): ("{n} of {total} reports ({ids}) reached {label}{through}.", ("", "")),
    ("why", "success_factors"): ("{n} of {total} reports ({ids}) {verb} {label} among the reasons for success.",
                                 ("names", "name")),
    ("why", "challenges"): ("{n} of {total} reports ({ids}) {verb} {label} as a challenge.", ("reports", "report")),
}
#: Headlines that say less, for a statement whose lead fits the theme's headline only loosely (lead_headline).
LOOSE_HEADLINES = {
    ("why", "success_factors", "advice"): ("{n} of {total} reports ({ids}) {verb} {label} among the reasons for "
                                           "success or the conditions for it.", ("names", "name")),
    ("why", "challenges", "advice"): ("{n} of {total} reports ({ids}) {verb} {label} as a challenge or a risk "
                                      "to guard against.", ("reports", "report")),
    ("for_whom", "target_groups", "address"): ("{n} of {total} reports ({ids}) {verb} {label}{through}.",
                                               ("addresses", "address")),
    ("for_whom", "final_beneficiaries", "address"): ("{n} of {total} reports ({ids}) {verb} {label}{through}.",
                                                     ("addresses", "address")),
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


def _ids_text(ids: list[str], limit: int = 8) -> str:
    if len(ids) <= limit:
        return ", ".join(ids)
    return ", ".join(ids[:limit]) + f" and {len(ids) - limit} more"


def _and(parts: list[str]) -> str:
    """'A, B and C'; with a comma before the last 'and' when a part has its own ('capacity building
    and training, and social dialogue')."""
    if len(parts) <= 1:
        return "".join(parts)
    last = ", and " if any(" and " in p for p in parts) else " and "
    return ", ".join(parts[:-1]) + last + parts[-1]


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """'1 report', '3 reports'."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def loose_headlines(t: ThemeResult, total: int) -> dict[str, str]:
    """The theme's headlines that say less (LOOSE_HEADLINES), by what they are for."""
    return {use: _counted(t, total, phrase, verbs) for (question, group, use), (phrase, verbs)
            in LOOSE_HEADLINES.items() if (question, group) == (t.question, t.group)}


def _counted(t: ThemeResult, total: int, phrase: str, verbs: tuple[str, str]) -> str:
    """A headline phrase of HEADLINES or LOOSE_HEADLINES filled in for the theme's supporting reports."""
    reports = t.supporting
    through = f", mostly through {_and([_lower_label(x) for x in t.through])}" if t.through else ""
    return phrase.format(n=len(reports), total=total, ids=_ids_text(reports), label=_lower_label(t.label),
                         through=through, verb=verbs[0] if len(reports) == 1 else verbs[1])


def headline(t: ThemeResult, total: int) -> str:
    """What the theme's evidence amounts to: how many reports, which, and in which direction."""
    label = _lower_label(t.label)
    pos, neg = t.by_polarity.get("positive", []), t.by_polarity.get("negative", [])
    if t.question == "what_works":
        if pos and neg:
            return (f"{t.label} worked in {plural(len(pos), 'report')} ({_ids_text(pos)}) and fell short in "
                    f"{len(neg)} ({_ids_text(neg)}).")
        if pos:
            return f"{t.label} worked in {len(pos)} of {total} reports ({_ids_text(pos)})."
        if neg:
            return f"{t.label} fell short in {len(neg)} of {total} reports ({_ids_text(neg)})."
        return f"{len(t.reports)} of {total} reports ({_ids_text(t.reports)}) discuss {label}."
    key = (t.question, t.group) if (t.question, t.group) in HEADLINES else (t.question, None)
    phrase, verbs = HEADLINES.get(key, ("{n} of {total} reports ({ids}) {verb} evidence on {label}.",
                                        ("gives", "give")))
    return _counted(t, total, phrase, verbs)


# --- the synthesis ---------------------------------------------------------------------------

def _report_ids(store: Store, shas: list[str]) -> dict[str, str]:
    ids = screen.report_ids(store)
    for n, sha in enumerate(s for s in shas if s not in ids):
        ids[sha] = f"R{n + 1}"
    return ids


def ilo_regions() -> list[str]:
    """The five ILO regions (whatworks/data/regions.yaml), for 'regions with no reports'."""
    try:
        return [r for r in vocab.load("regions") if not r.lower().startswith("global")]
    except vocab.VocabError:
        return ["Africa", "Americas", "Arab States", "Asia and the Pacific", "Europe and Central Asia"]


def synthesize(store: Store, codebook: Codebook, protocol: Any = None, *, llm: Any = None,
               visible: list[str] | None = None) -> Synthesis:
    """The synthesis of the included reports' coded items (machine codes after people's decisions).
    `visible`: only these people's decisions count (blind mode). `llm`: a language-model client that
    rewrites statements into prose, under the citation check (whatworks.llm.write_statements)."""
    from whatworks.embedding import Embedder

    title = (getattr(protocol, "title", "") if protocol is not None else "") or codebook.title
    questions_text = list(getattr(protocol, "questions", []) or []) if protocol is not None else []
    shas = list(screen.included(store, visible))
    ids = _report_ids(store, shas)
    descriptions = {sha: corrections.effective_description(store, sha) for sha in shas}
    quality = screen.quality_scores(store, visible)
    reports = report_infos(store, shas, ids, descriptions, quality)
    by_sha = {r.sha256: r for r in reports}
    total = len(reports)
    current = set(codebook.ids)
    codes = [c for c in effective_codes(store, shas, visible, codebook.aliases) if c.theme in current]
    for c in codes:
        info = by_sha.get(c.sha256)
        if info is not None and c.theme not in info.themes:
            info.themes.append(c.theme)
    coded_keys = {(c.sha256, c.item_key) for c in codes}
    for r in reports:
        r.coded_items = len({k for k in coded_keys if k[0] == r.sha256})

    evidence, dropped = _evidence(store, codes, by_sha, descriptions, Embedder(store), theme_thresholds(codebook),
                                  _theme_words(codebook),
                                  {t.id for t in codebook.themes if t.question in NAMED_QUESTIONS})
    by_theme: dict[str, list[ItemCode]] = {}
    for c in codes:
        by_theme.setdefault(c.theme, []).append(c)
    interventions = {t.id: t.label for t in codebook.themes if t.question == "what_is_being_done"}
    international = _international(reports)
    used: set[str] = set()  # sentences already leading a claim
    questions: list[QuestionResult] = []
    for q in codebook.questions:
        qr = QuestionResult(q.id, q.label, q.ask)
        for gid, glabel in [(g.id, g.label) for g in q.groups] or [(None, q.label)]:
            gr = GroupResult(gid, glabel)
            for theme in codebook.themes_for(q.id, gid) if gid else codebook.themes_for(q.id):
                tcodes = [c for c in by_theme.get(theme.id, []) if c.sha256 in by_sha]
                if not tcodes:
                    gr.no_evidence.append(theme.label)
                    continue
                t = _theme_result(theme, tcodes, by_sha, total)
                if q.id == "for_whom":
                    t.through = _through(tcodes, by_theme, interventions)
                _claims(t, [evidence[(c.sha256, c.item_key, c.theme)] for c in tcodes
                            if (c.sha256, c.item_key, c.theme) in evidence], by_sha, international, used)
                t.headline = headline(t, total)
                t.headlines = loose_headlines(t, total)
                gr.themes.append(t)
            gr.themes.sort(key=lambda t: (-len(t.supporting), -t.n_reports, -t.n_items, t.label))
            gr.statements = [s for t in gr.themes for s in _theme_statements(t)]
            qr.groups.append(gr)
        questions.append(qr)

    items_by_kind: Counter[str] = Counter()
    for r in reports:
        items_by_kind.update(r.items_by_kind)
    all_item_keys = {(r["sha256"], r["item_key"]) for r in docs.item_rows(store, shas)} if shas else set()
    covered = {reg for r in reports for reg in r.regions}
    s = Synthesis(
        title=title or "Synthesis review", questions_text=questions_text, codebook=codebook.name,
        generated_at=_dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(), n_reports=total,
        reports=reports, questions=questions, limitations=[], items_by_kind=dict(items_by_kind),
        items_total=sum(items_by_kind.values()), items_coded=len(coded_keys & all_item_keys),
        codes_total=len(codes), codes_reviewed=sum(1 for c in codes if c.human in ("accept", "add")),
        emerging=[e.to_dict() for e in emerging_themes(store)], flow=selection.flow_counts(store, visible),
        regions_without_reports=[reg for reg in ilo_regions() if reg not in covered] if international else [],
        quotes_dropped=dropped)
    s.protocol = _protocol_info(protocol)
    s.code_methods = dict(Counter(c.method for c in codes).most_common())
    s.themes_total = len(codebook.ids)
    s.summary = summary_statements(s)
    if llm is not None:
        from whatworks.llm import write_statements

        s.statements_dropped = write_statements(llm, s, _pages_of(store))
        s.statement_engine = "llm"
    s.status = status(store, s)
    s.warnings = warnings(s, codes)
    s.limitations = limitations(s)
    return s


def _pages_of(store: Store):
    sources = Sources(store)
    return sources.pages


#: Item kinds that can show whom an intervention worked with or reached (recommendations prescribe);
#: a lesson learned can too, when it tells what happened rather than gives advice.
REACH_KINDS = ("finding", "conclusion", "good_practice", "lesson_learned")
#: Kinds of item that say what happened or what was learnt from it, so that a success factor or
#: challenge theme coded on them points its own way whatever the item's polarity (item_polarity).
DIRECTED_KINDS = ("lesson_learned", "finding", "conclusion", "good_practice")
#: A report is placed ("In Senegal and Mali (E3), …") when it covers at most this many countries.
PLACES_NAMED = 3
#: Questions whose themes are named things (interventions, groups): a claim's quote must name its theme.
NAMED_QUESTIONS = ("what_is_being_done", "for_whom")
#: A word names a theme when at most this many themes of the codebook use it.
DISTINCT_WORD_THEMES = 2


def _theme_words(codebook: Codebook) -> dict[str, set[str]]:
    """Each theme's content words (label and descriptors, every language), stemmed: a quote that
    uses one names its theme, so a reader sees why it stands under it."""
    out: dict[str, set[str]] = {}
    for t in codebook.themes:
        by_lang = {"en": [t.label]}
        for lang, phrases in t.descriptors.items():
            by_lang.setdefault(lang, []).extend(phrases)
        out[t.id] = {stem(fold_word(w), lang) for lang, phrases in by_lang.items() for p in phrases
                     for w in words(p) if len(w) >= 5}
    shared = Counter(w for ws in out.values() for w in ws)  # "benefit", "programme"… name no theme
    return {tid: {w for w in ws if shared[w] <= DISTINCT_WORD_THEMES} for tid, ws in out.items()}


def _names(quote: str, lang: str, theme_words: set[str]) -> bool:
    return any(stem(fold_word(w), lang) in theme_words for w in words(quote) if len(w) >= 5)


def _evidence(store: Store, codes: list[ItemCode], by_sha: dict[str, ReportInfo], descriptions: dict[str, Any],
              embedder: Any, thresholds: dict[str, float], theme_words: dict[str, set[str]] | None = None,
              named: set[str] | None = None) -> tuple[dict[tuple[str, str, str], Evidence], int]:
    """Each code's checked quote, its locator and its item's embedding; and how many quotes failed."""
    sources = Sources(store)
    sections: dict[tuple[str, int], str] = {}
    shas = sorted({c.sha256 for c in codes})
    for r in docs.item_rows(store, shas):
        d = descriptions.get(r["sha256"])
        index = json.loads(r["data"] or "{}").get("section_index") if r["data"] else None
        if d is not None and isinstance(index, int) and 0 <= index < len(d.sections):
            sections[(r["sha256"], r["idx"])] = normalise_space(d.sections[index].heading)
    texts = sorted({c.text for c in codes})
    vectors = dict(zip(texts, embedder.embed(texts), strict=True)) if texts else {}
    out: dict[tuple[str, str, str], Evidence] = {}
    found: dict[tuple[str, str, str | None], tuple[str, int | None] | None] = {}
    dropped = 0
    for c in codes:
        info = by_sha.get(c.sha256)
        if info is None:
            continue
        key = (c.sha256, c.item_key, c.quote)
        if key not in found:
            found[key] = sources.verified(c, readable=True) or sources.verified(c)
            if found[key] is None:
                dropped += 1
                log.info("no verbatim quote for %s item %d: left out of the claims", info.report_id, c.idx)
        hit = found[key]
        if hit is None:
            continue
        text, page = hit
        pdf = info.path.lower().endswith(".pdf")
        citation = Citation(info.report_id, c.sha256, info.path, text, page if pdf else None,
                            sections.get((c.sha256, c.idx)), claims_module.anchor_for(info.path, page, text),
                            c.kind, c.idx, item_polarity(c.polarity, c.kind))
        out[(c.sha256, c.item_key, c.theme)] = Evidence(
            citation, c.theme, vectors[c.text], places=list(info.countries), quality=info.quality or 0.5,
            language=info.language[:2] or "en", reviewed=c.human is not None,
            strength=1.0 if c.human is not None else c.score - thresholds.get(c.theme, 0.25),
            polarity_sure=1.0 if c.polarity_score is None else c.polarity_score,
            names_theme=_names(text, info.language[:2] or "en", (theme_words or {}).get(c.theme, set())),
            must_name=c.theme in (named or ()))
    return out, dropped


def _claims(t: ThemeResult, evidence: list[Evidence], by_sha: dict[str, ReportInfo], international: bool,
            used: set[str]) -> None:
    """The theme's claims in the polarities its group admits, and a contrast where both speak."""
    routed = claims_module.ROUTED.get(t.group or "")
    polarities = routed or ("positive", "negative", "neutral")
    shows = SHOWS.get(t.group or "")
    for e in evidence:
        e.advice = says("advice", e.citation.quote)
        e.shows = shows is None or says(shows, e.citation.quote)
    if t.question == "for_whom":  # "worked with / reached X": a gap in reaching X is not evidence of it
        polarities = ("positive", "neutral")
        # what happened (a finding, a conclusion, a practice, a lesson told as what happened), not advice
        evidence = [e for e in evidence if e.reviewed or (e.citation.kind in REACH_KINDS and not e.advice
                                                          and not _says_not_reached(e.citation.quote))]
    where = _places(by_sha) if international else (lambda ev: "")
    by_pol: dict[str, list[Statement]] = {}
    for p in polarities:
        group = [e for e in evidence if _polarity(e, t.group) == p]
        group.sort(key=lambda e: (KIND_ORDER.get(e.citation.kind, 9), _id_key(e.citation.report_id), e.citation.item))
        by_pol[p] = claims_module.claims(group, p, [t.id], where, used=used)
    order = {"positive": 0, "negative": 1, "neutral": 2}
    t.claims = sorted((c for cs in by_pol.values() for c in cs), key=lambda c: (order.get(c.polarity, 3), -c.weight))
    if not routed and by_pol.get("positive") and by_pol.get("negative"):
        t.contrast = claims_module.contrast(_lower_label(t.label), by_pol["positive"][0], by_pol["negative"][0])


#: What a quote under a group's theme must say to show its headline (whatworks/data/claims.yaml).
SHOWS = {"final_beneficiaries": "reached", "target_groups": "worked_with"}


@lru_cache(maxsize=8)
def _matcher(concept: str) -> re.Pattern[str]:
    """The concept's terms as one pattern on folded text: whole words, or "re:" regular expressions."""
    terms = vocab.load("claims").terms(concept)
    plain = sorted({fold(t) for t in terms if not t.startswith("re:")}, key=len, reverse=True)
    parts = [r"(?<!\w)(?:" + "|".join(re.escape(t) for t in plain) + r")(?!\w)"] if plain else []
    return re.compile("|".join(parts + [t[3:] for t in terms if t.startswith("re:")]))


def says(concept: str, quote: str) -> bool:
    """Whether the quote uses a term of `concept` in whatworks/data/claims.yaml (any language)."""
    return _matcher(concept).search(fold(quote)) is not None


def _says_not_reached(quote: str) -> bool:
    """Whether the quote says a group was not reached ("did not reach workers in the informal economy")."""
    return says("not_reached", quote)


def item_polarity(polarity: str | None, kind: str, group: str | None = None) -> str:
    """The direction an item counts in: its polarity, except that a good practice the coder reads as
    neutral counts as positive — the ILO template defines it as a practice that has shown results.

    Under a success factor or a challenge (`group`), the theme itself points one way: it is coded
    only where the item presents the factor as having helped, or the obstacle as having hindered
    (docs/coding-guidelines.md §6). So a lesson, finding or conclusion that is neutral (a lesson
    put as advice: "involving the social partners early is key to ownership") or mixed counts in
    the theme's direction. A recommendation does not: it asks for something, and says nothing of
    what happened."""
    if polarity in ("positive", "negative"):
        return polarity
    if group in claims_module.ROUTED and kind in DIRECTED_KINDS:
        return claims_module.ROUTED[group][0]
    return "positive" if kind == "good_practice" else "neutral"


def _polarity(e: Evidence, group: str | None = None) -> str:
    return item_polarity(e.citation.polarity, e.citation.kind, group)


def _places(by_sha: dict[str, ReportInfo]):
    from whatworks.describe.places import country_name

    def where(evidence: list[Evidence]) -> str:
        names = []
        for e in evidence:  # a report that covers many countries is named, not three of them at random
            if len(e.places) <= PLACES_NAMED:
                names += [country_name(c) or c for c in e.places]
        names = list(dict.fromkeys(n for n in names if n))
        return _and(names[:3]) if names else ""

    return where


def _theme_statements(t: ThemeResult, skip: frozenset[str] = frozenset(),
                      spare: frozenset[str] = frozenset()) -> list[Statement]:
    """The theme's statement for its question: the headline and the claim that best shows it (the
    best whose sentence is not in `skip`, and whose report is not in `spare` when another can
    lead), citing more reports where its other claims have them (two at least when the evidence
    allows)."""
    # the claims keep their polarity order (what worked before what fell short); within it, one that
    # fits the headline before a loose one, and a report not yet leading (`spare`) before one that is
    rank = {p: i for i, p in enumerate(dict.fromkeys(c.polarity for c in t.claims))}
    fresh = sorted((c for c in t.claims if c.lead not in skip),
                   key=lambda c: (rank[c.polarity], c.loose, c.reports[0] in spare))
    if t.contrast is not None and t.question == "what_works" and t.contrast.lead not in skip:
        lead = t.contrast
    elif fresh:
        lead = fresh[0]
    else:
        return []
    citations = list(lead.citations)
    for c in [c for c in t.claims if c is not lead and (c.polarity == lead.polarity or lead.polarity == "mixed")]:
        if len({x.report_id for x in citations}) >= 2:
            break
        citations += [x for x in c.citations[:1] if x.report_id not in {y.report_id for y in citations}]
    reports = list(dict.fromkeys([x.report_id for x in citations] + [r for c in t.claims for r in c.reports]
                                 + t.supporting))
    return [Statement(f"{lead_headline(t, lead)} {lead.text}", lead.polarity, [t.id], reports, citations, lead.lead,
                      lead.weight, advice=lead.advice, shows=lead.shows)]


def lead_headline(t: ThemeResult, lead: Statement) -> str:
    """The headline a statement led by `lead` can carry: the theme's, or one that says less where the
    lead fits it only loosely (advice under a success factor or challenge; a group named, not shown
    reached) — the count stays, the direction claimed is what the quote can show."""
    if lead.advice and "advice" in t.headlines:
        return t.headlines["advice"]
    if not lead.shows and "address" in t.headlines:
        return t.headlines["address"]
    return t.headline


def _through(tcodes: list[ItemCode], by_theme: dict[str, list[ItemCode]], interventions: dict[str, str]) -> list[str]:
    """For a target group: the interventions coded on the same items, the two most frequent (by report)."""
    keys = {(c.sha256, c.item_key) for c in tcodes}
    counts: Counter[str] = Counter()
    for theme, label in interventions.items():
        reports = {c.sha256 for c in by_theme.get(theme, []) if (c.sha256, c.item_key) in keys}
        if len(reports) >= 2 or (reports and len({c.sha256 for c in tcodes}) == 1):
            counts[label] = len(reports)
    return [label for label, _ in counts.most_common(2)]


def summary_statements(s: Synthesis) -> list[Statement]:
    """8–12 key statements across the four questions: per group, its best-supported themes (those
    whose statement cites two reports or more first), each led by a sentence no other key statement
    uses."""
    used: set[str] = set()
    buckets: list[tuple[list[ThemeResult], int]] = []
    for q in s.questions:
        for g in q.groups:
            quota = {"what_works": 3, "success_factors": 3, "challenges": 3}.get(g.id or q.id, 1)
            if q.id == "what_is_being_done" and g.id in (None, "interventions"):
                quota = 2
            buckets.append((g.themes, quota))
    chosen: list[Statement] = []
    spare: list[Statement] = []
    for themes, quota in buckets:
        options = []
        for t in themes:
            options += _theme_statements(t)[:1]
        options.sort(key=lambda x: (len(set(x.reports)) < 2, x.loose, -x.weight))
        taken = 0
        for st in options:
            t = next(x for x in themes if x.id == st.themes[0])
            # a report already leading two key statements leads another only if no other can
            busy = frozenset(r for r, n in Counter(c.reports[0] for c in chosen).items() if n >= 2)
            fresh = _theme_statements(t, frozenset(used), busy)[:1]
            if not fresh:
                continue
            if taken < quota:
                chosen.append(fresh[0])
                used.add(fresh[0].lead)
                taken += 1
            else:
                spare.append(fresh[0])
    if len(chosen) < SUMMARY_MIN:  # a thin review: fill from what is left, best supported first
        for st in sorted(spare, key=lambda x: -x.weight):
            if len(chosen) >= SUMMARY_MIN:
                break
            if st.lead not in used:
                chosen.append(st)
                used.add(st.lead)
    return chosen[:SUMMARY_MAX]


def _protocol_info(protocol: Any) -> dict[str, Any]:
    """What the methodology says about the protocol (empty when there is none)."""
    if protocol is None:
        return {}
    try:
        # (a criterion restated for another kind of document is listed once)
        criteria = {tier: list(dict.fromkeys(c.text for c in cs)) for tier, cs in protocol.criteria.items() if cs}
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
    return len({c for r in reports for c in r.countries}) > 1


def _theme_result(theme, tcodes: list[ItemCode], by_sha: dict[str, ReportInfo], total: int) -> ThemeResult:
    report_shas = sorted({c.sha256 for c in tcodes}, key=lambda s: _id_key(by_sha[s].report_id))
    infos = [by_sha[s] for s in report_shas]
    items = {(c.sha256, c.item_key): c for c in tcodes}
    t = ThemeResult(theme.id, theme.label, theme.definition, theme.question, theme.group,
                    reports=[i.report_id for i in infos], n_reports=len(infos), n_items=len(items),
                    share=round(len(infos) / total, 3) if total else 0.0,
                    item_kinds=dict(Counter(c.kind for c in items.values())),
                    reviewed=sum(1 for c in tcodes if c.human in ("accept", "add")))
    for c in items.values():
        rid = by_sha[c.sha256].report_id
        t.items_by_report[rid] = t.items_by_report.get(rid, 0) + 1
        pol = item_polarity(c.polarity, c.kind, theme.group)
        if rid not in t.by_polarity.setdefault(pol, []):
            t.by_polarity[pol].append(rid)
    t.items_by_report = dict(sorted(t.items_by_report.items(), key=lambda x: _id_key(x[0])))
    t.by_polarity = {p: sorted(v, key=_id_key) for p, v in sorted(t.by_polarity.items())}
    behind = set(t.supporting)  # the breakdowns count the reports the headline counts
    for i in (i for i in infos if i.report_id in behind):
        for reg in i.regions or ["(region not known)"]:
            t.by_region[reg] = t.by_region.get(reg, 0) + 1
        t.by_type[i.evaluation_type or "not known"] = t.by_type.get(i.evaluation_type or "not known", 0) + 1
        t.by_timing[i.timing or "not known"] = t.by_timing.get(i.timing or "not known", 0) + 1
        if i.year:
            t.by_year[str(i.year)] = t.by_year.get(str(i.year), 0) + 1
    return t


# --- status, warnings, limitations ------------------------------------------------------------

def status(store: Store, s: Synthesis) -> dict[str, Any]:
    """Draft until a lead marks the review final; how many codes people checked either way."""
    raw = store.get_meta(META_FINAL)
    final = json.loads(raw) if raw else None
    checked = f"{s.codes_reviewed} of {s.codes_total} codes checked by a reviewer"
    if final:
        when = _dt.datetime.fromtimestamp(final["at"], _dt.UTC).strftime("%Y-%m-%d")
        return {"final": True, "by": final["by"], "at": final["at"], "checked": s.codes_reviewed,
                "codes": s.codes_total, "text": f"Final: marked final by {final['by']} on {when} ({checked})."}
    return {"final": False, "checked": s.codes_reviewed, "codes": s.codes_total, "text": f"Draft: {checked}."}


def mark_final(store: Store, by: str, final: bool = True) -> None:
    """A lead marks the review final (or a draft again); the caller checks the role and audits."""
    import time

    store.set_meta(META_FINAL, json.dumps({"by": by, "at": time.time()}) if final else "")


def warnings(s: Synthesis, codes: list[ItemCode]) -> list[dict[str, Any]]:
    """Coverage problems a reader must know of (shown in the run, the report and the workspace)."""
    out: list[dict[str, Any]] = []
    for r in s.reports:
        if r.items == 0:
            chapter = " although it has a findings chapter" if r.has_findings else ""
            out.append({"kind": "no_items", "reports": [r.report_id],
                        "text": f"{r.report_id} ({r.title}) yielded no findings, recommendations, lessons learned or "
                                f"good practices{chapter}: check its description in the workspace."})
    single = [t for t in s.themes() if t.n_reports == 1]
    if single and s.n_reports > 1:
        out.append({"kind": "single_report", "reports": sorted({t.reports[0] for t in single}, key=_id_key),
                    "text": f"{plural(len(single), 'theme')} {'rests' if len(single) == 1 else 'rest'} on a single "
                            f"report ({_and([t.label for t in single[:6]])}{' and others' if len(single) > 6 else ''})"
                            ": read them as indications, not patterns."})
    unsure = [c for c in codes if c.human is None and c.uncertainty is not None and c.uncertainty >= UNSURE]
    if unsure:
        out.append({"kind": "uncertain_codes", "reports": [],
                    "text": f"{plural(len(unsure), 'code')} of {len(codes)} {'is' if len(unsure) == 1 else 'are'} "
                            "below the coder's confidence and not yet checked: the coding queue serves them first."})
    if s.quotes_dropped:
        out.append({"kind": "quotes_dropped", "reports": [],
                    "text": f"{plural(s.quotes_dropped, 'coded item')} had no passage found verbatim in its source "
                            "and {} left out of the claims.".format("was" if s.quotes_dropped == 1 else "were")})
    return out


def limitations(s: Synthesis) -> list[str]:
    """What the evidence could not show, stated plainly (after the seed review's own section)."""
    out: list[str] = []
    m = s.n_reports
    flow = s.flow or {}
    if flow.get("maybe"):
        out.append(f"{plural(flow['maybe'], 'short-listed report')} still {'awaits' if flow['maybe'] == 1 else 'await'} "
                   f"a reviewer's decision and {'is' if flow['maybe'] == 1 else 'are'} not part of this synthesis.")
    if flow.get("conflicts"):
        out.append(f"{plural(flow['conflicts'], 'report')} on which reviewers disagree {'is' if flow['conflicts'] == 1 else 'are'}"
                   " left out until a lead resolves the conflict.")
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
    uncoded = s.items_total - s.items_coded
    if s.items_total and uncoded:
        out.append(f"{uncoded} of {s.items_total} extracted items ({100 * uncoded / s.items_total:.0f}%) were not "
                   "coded to any theme of the codebook" + ("; candidate emerging themes are listed in an annex."
                                                           if s.emerging else "."))
    unaddressed = [t for q in s.questions for g in q.groups for t in g.no_evidence]
    if unaddressed:
        shown = _and([_lower_label(t) for t in unaddressed[:8]]) + (" and others" if len(unaddressed) > 8 else "")
        out.append(f"No report in the selection addressed {len(unaddressed)} of the {s.themes_total or '?'} themes "
                   f"of the codebook ({shown}).")
    joint = [r.report_id for r in s.reports if r.evaluator_type == "joint"]
    if joint:
        out.append(f"{plural(len(joint), 'report')} {'is a joint evaluation' if len(joint) == 1 else 'are joint evaluations'}"
                   f" ({_ids_text(joint)}): attributing results to one organisation's work is uncertain.")
    if s.codes_total and s.codes_total > s.codes_reviewed:
        out.append(f"{s.codes_total - s.codes_reviewed} of {s.codes_total} theme codes were assigned by the machine "
                   "and not yet checked by a reviewer.")
    out += [w["text"] for w in s.warnings if w["kind"] in ("no_items", "single_report")]
    return out
