"""The review protocol: what a review asks and how reports are selected, in one YAML file.

A protocol states the questions, the period, the kinds of report admitted, the keyword
queries of the search, the content criteria in three tiers (inclusion / possible
inclusion or exclusion / exclusion, as in figure 2 of the ILO synthesis review) and the
quality criteria. Each criterion carries a *machine test* — term sets in EN/FR/ES/PT,
where to look and thresholds — so the screen can apply it and show its evidence, while
the criterion's text is what a reviewer reads.

The loader is strict on purpose: a typo in a protocol silently changes which reports
are selected, so an unknown field, a bad period or an empty query is an error that
names the line and the fix (`whatworks.errors.ProtocolError`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from whatworks.errors import ProtocolError

#: Where a term test may look (mapped to sections and passages by whatworks.screen).
SCOPES = ("title", "summary", "objectives", "findings", "conclusions", "recommendations",
          "lessons", "text")
TIERS = ("inclusion", "possible", "exclusion")
LANGUAGES = ("en", "fr", "es", "pt")
KINDS = ("evaluation_report", "evaluation_brief", "management_response", "terms_of_reference",
         "inception_report", "completion_report", "progress_report", "evaluation_plan", "audit",
         "study", "other")
TIMINGS = ("final", "midterm", "ex_post", "other")
EVALUATOR_TYPES = ("independent", "internal", "self", "joint")
PERIOD_BASES = ("report_year", "period_evaluated")
PERIOD_TESTS = ("outside", "inside", "unknown")
YEAR_RANGE = (1900, 2100)


@dataclass
class Test:
    """The machine test of a criterion. Every condition given must hold (AND).

    Term conditions count *passages* (paragraphs) in the `where` scopes that contain a
    term of `terms` (and, if given, a term of `near` in the same passage). The test holds
    when that count is ≥ `min` (and ≥ `min_share` of the scope's passages), or, when
    `max` is set, when it is ≤ `max` (how an exclusion says "not addressed").
    """

    terms: dict[str, list[str]] = field(default_factory=dict)  # language → patterns
    term_sets: list[str] = field(default_factory=list)  # the named sets they came from
    near: dict[str, list[str]] = field(default_factory=dict)
    near_sets: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=lambda: ["text"])
    min: int = 1
    max: int | None = None
    min_share: float | None = None
    distinct_min: int | None = None  # different terms that must be found (e.g. two lines of evidence)
    sections: list[str] = field(default_factory=list)  # section kinds that must be present
    sections_min: int = 1
    items: list[str] = field(default_factory=list)  # item kinds that must be present
    items_min: int = 1
    words_min: int | None = None
    metadata: dict[str, list[str]] = field(default_factory=dict)  # metadata key → admitted values
    period: str | None = None  # outside | inside | unknown (of the protocol's period)

    @property
    def has_terms(self) -> bool:
        return any(self.terms.values())


@dataclass
class Criterion:
    id: str
    text: str
    tier: str  # inclusion | possible | exclusion | quality
    test: Test | None = None
    required: bool = False  # quality: a report failing it is excluded
    overrides: list[str] = field(default_factory=list)  # exclusion: inclusion criteria it outweighs
    line: int | None = None


@dataclass
class Organisation:
    name: str
    aliases: list[str] = field(default_factory=list)


@dataclass
class Protocol:
    name: str
    title: str
    questions: list[str]
    period: tuple[int, int] | None  # None: any year
    period_basis: str = "report_year"
    kinds: list[str] = field(default_factory=lambda: ["evaluation_report"])
    evaluation_types: list[str] = field(default_factory=list)  # empty: any
    timings: list[str] = field(default_factory=list)  # empty: any
    evaluator_types: list[str] = field(default_factory=list)  # empty: any
    languages: list[str] = field(default_factory=lambda: list(LANGUAGES))
    queries: dict[str, list[str]] = field(default_factory=dict)
    shortlist_min: int = 1  # passages that must match a query for a report to be short-listed
    terms: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # named term sets
    criteria: dict[str, list[Criterion]] = field(default_factory=lambda: {t: [] for t in TIERS})
    quality: list[Criterion] = field(default_factory=list)
    quality_min_score: float = 0.0  # below it an otherwise included report goes to a human
    supersede_midterm: bool = True
    codebook: str = ""
    organisations: list[Organisation] = field(default_factory=list)  # empty: any
    countries: list[str] = field(default_factory=list)  # ISO3; empty: any
    description: str = ""
    llm: dict[str, Any] | None = None  # optional language-model server settings (whatworks.coding)
    path: str | None = None

    def all_criteria(self) -> list[Criterion]:
        return [c for t in TIERS for c in self.criteria.get(t, [])]

    def query_terms(self) -> list[str]:
        return [q for qs in self.queries.values() for q in qs]


# --- loading ---------------------------------------------------------------------------

_TOP = {
    "name": "short name, letters, digits and dashes (e.g. ilo-social-protection)",
    "title": "the review's title",
    "description": "a paragraph on the scope",
    "questions": "the review questions, a list of sentences",
    "period": "{start: YEAR, end: YEAR, basis: report_year|period_evaluated} or `any`",
    "kinds": f"document kinds admitted, from {', '.join(KINDS)}",
    "evaluation_types": "evaluation types admitted (project, programme, thematic…); omit for any",
    "timings": f"timings admitted, from {', '.join(TIMINGS)}; omit for any",
    "evaluator_types": f"evaluator types admitted, from {', '.join(EVALUATOR_TYPES)}; omit for any",
    "languages": "ISO 639-1 codes of the languages admitted (en, fr, es, pt…)",
    "organisations": "organisations whose reports are admitted: names or {name, aliases}",
    "countries": "ISO3 codes of the countries admitted; omit for any",
    "queries": "keyword queries by language: {en: [\"social protection\", …], fr: […]}",
    "shortlist_min": "passages that must match a query for a report to be short-listed (default 1)",
    "terms": "named term sets: {topic: {en: [...], fr: [...]}, …} used by the criteria's tests",
    "criteria": "{inclusion: [...], possible: [...], exclusion: [...]}",
    "quality": "quality criteria: a list of {id, text, test, required}",
    "quality_min_score": "a number 0–1: included reports scoring lower go to a human",
    "supersede_midterm": "true or false: a final evaluation of the same project supersedes a midterm",
    "codebook": "a shipped codebook name or a path to a codebook YAML",
    "llm": "optional language model server for coding: {url: ..., model: ...}",
}
_PERIOD = {"start": "first year (e.g. 2012)", "end": "last year (e.g. 2018)",
           "basis": "report_year or period_evaluated"}
_CRITERION = {"id": "a short unique id (e.g. I1)", "text": "the criterion as a reviewer reads it",
              "test": "the machine test", "required": "quality only: failing it excludes the report",
              "overrides": "exclusion only: ids of inclusion criteria this one outweighs when both hold"}
_TEST = {
    "terms": "term set name(s) or {lang: [patterns]}",
    "near": "term set name(s) or {lang: [patterns]} that must occur in the same passage",
    "where": f"where to look, from {', '.join(SCOPES)}",
    "min": "least number of matching passages",
    "max": "greatest number of matching passages (for exclusion: 'not addressed')",
    "min_share": "least share (0–1) of the scope's passages that match",
    "distinct_min": "least number of different terms found (e.g. 2: two lines of evidence)",
    "sections": "section kinds that must be present",
    "sections_min": "how many of `sections` must be present (default 1)",
    "items": "item kinds (recommendation, lesson_learned…) that must be present",
    "items_min": "how many items of those kinds (default 1)",
    "words_min": "least number of words in the report",
    "metadata": "{field: [values]} the description's metadata must match",
    "period": f"one of {', '.join(PERIOD_TESTS)}: the report's year against the protocol period",
}
_ORG = {"name": "the organisation's short name", "aliases": "other names and acronyms, any language"}


class _Loader:
    """Walks the composed YAML nodes so every error can name its line."""

    def __init__(self, path: str | None):
        self.path = path

    def error(self, node: yaml.Node | None, message: str) -> ProtocolError:
        line = node.start_mark.line + 1 if node is not None else None
        return ProtocolError(message, line=line, path=self.path)

    # scalars
    def value(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return None
        return yaml.SafeLoader("").construct_object(node)  # type: ignore[no-untyped-call]

    def string(self, node: yaml.Node, what: str, *, empty_ok: bool = False) -> str:
        v = self.value(node)
        if not isinstance(node, yaml.ScalarNode) or v is None or isinstance(v, bool | list | dict):
            raise self.error(node, f"{what} must be text — write it as a plain or quoted string")
        text = str(v).strip()
        if not text and not empty_ok:
            raise self.error(node, f"{what} is empty — write the text or remove the field")
        return text

    def integer(self, node: yaml.Node, what: str, lo: int = 0, hi: int | None = None) -> int:
        v = self.value(node)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(node, f"{what} must be a whole number, not {_show(node)}")
        if v < lo or (hi is not None and v > hi):
            rng = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise self.error(node, f"{what} must be {rng}, not {v}")
        return v

    def number(self, node: yaml.Node, what: str, lo: float = 0.0, hi: float = 1.0) -> float:
        v = self.value(node)
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise self.error(node, f"{what} must be a number between {lo:g} and {hi:g}, not {_show(node)}")
        return float(v)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        v = self.value(node)
        if not isinstance(v, bool):
            raise self.error(node, f"{what} must be true or false, not {_show(node)}")
        return v

    # collections
    def mapping(self, node: yaml.Node, what: str, allowed: dict[str, str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping of fields ({', '.join(allowed)}), "
                                   f"not {_show(node)}")
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                raise self.error(key_node, f"{what}: field names must be text, not {_show(key_node)}")
            if key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), n=1)
                hint = f" — did you mean '{close[0]}'?" if close else ""
                raise self.error(key_node, f"unknown field '{key}' in {what}{hint} "
                                           f"(allowed: {', '.join(allowed)})")
            if key in out:
                raise self.error(key_node, f"field '{key}' appears twice in {what} — keep one")
            out[key] = value_node
        return out

    def free_mapping(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping, not {_show(node)}")
        out = []
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = self.string(key_node, f"a key in {what}")
            if key in seen:
                raise self.error(key_node, f"'{key}' appears twice in {what} — keep one")
            seen.add(key)
            out.append((key, key_node, value_node))
        return out

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list (one '- item' a line or [a, b]), "
                                   f"not {_show(node)}")
        return list(node.value)

    def strings(self, node: yaml.Node, what: str, *, choices: tuple[str, ...] | None = None,
                nonempty: bool = True) -> list[str]:
        items = [self.string(n, f"an entry of {what}") for n in self.sequence(node, what)]
        if nonempty and not items:
            raise self.error(node, f"{what} is an empty list — give at least one entry or remove the field")
        if choices:
            for n, item in zip(node.value, items, strict=True):
                if item not in choices:
                    close = difflib.get_close_matches(item, list(choices), n=1)
                    hint = f" — did you mean '{close[0]}'?" if close else ""
                    raise self.error(n, f"'{item}' is not one of {what}: {', '.join(choices)}{hint}")
        return items


def _show(node: yaml.Node | None) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode):
        return repr(node.value) if node.value != "" else "nothing"
    return "nothing"


_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LANG = re.compile(r"^[a-z]{2}$")
_ISO3 = re.compile(r"^[A-Z]{3}$")


def load_protocol(path: str | Path) -> Protocol:
    """Parse and validate a protocol YAML file; `ProtocolError` names the line and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError("no such file — check the path, or give a shipped protocol name",
                            path=str(path)) from None
    except UnicodeDecodeError:
        raise ProtocolError("the file is not UTF-8 text — save it as UTF-8", path=str(path)) from None
    return parse_protocol(text, str(path))


def parse_protocol(text: str, path: str | None = None) -> Protocol:
    """Parse a protocol from YAML text (`path` only names it in errors)."""
    ld = _Loader(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise ProtocolError(f"not valid YAML: {e.problem or e} — check indentation and quotes near here",
                            line=line, path=path) from None
    if root is None:
        raise ProtocolError("the protocol is empty — start from a shipped protocol "
                            "(whatworks init --protocol ilo-social-protection)", path=path)
    top = ld.mapping(root, "the protocol", _TOP)
    for required in ("name", "title", "questions", "queries", "criteria"):
        if required not in top:
            raise ld.error(root, f"the field '{required}' is missing — add `{required}:` "
                                 f"({_TOP[required]})")

    name = ld.string(top["name"], "name")
    if not _NAME.match(name):
        raise ld.error(top["name"], f"name '{name}' must be lower-case letters, digits and dashes")
    p = Protocol(name=name, title=ld.string(top["title"], "title"),
                 questions=ld.strings(top["questions"], "questions"), period=None, path=path)
    if "description" in top:
        p.description = ld.string(top["description"], "description", empty_ok=True)

    if "period" in top:
        p.period, p.period_basis = _period(ld, top["period"])
    if "kinds" in top:
        p.kinds = ld.strings(top["kinds"], "kinds", choices=KINDS)
    if "evaluation_types" in top:
        p.evaluation_types = ld.strings(top["evaluation_types"], "evaluation_types")
    if "timings" in top:
        p.timings = ld.strings(top["timings"], "timings", choices=TIMINGS)
    if "evaluator_types" in top:
        p.evaluator_types = ld.strings(top["evaluator_types"], "evaluator_types", choices=EVALUATOR_TYPES)
    if "languages" in top:
        p.languages = ld.strings(top["languages"], "languages")
        for n, lang in zip(top["languages"].value, p.languages, strict=True):
            if not _LANG.match(lang):
                raise ld.error(n, f"language '{lang}' must be a two-letter ISO 639-1 code (en, fr, es, pt…)")
    if "countries" in top:
        p.countries = ld.strings(top["countries"], "countries")
        for n, code in zip(top["countries"].value, p.countries, strict=True):
            if not _ISO3.match(code):
                raise ld.error(n, f"country '{code}' must be an upper-case ISO3 code (CAN, KHM…)")
    if "organisations" in top:
        p.organisations = _organisations(ld, top["organisations"])

    p.queries = _by_language(ld, top["queries"], "queries")
    if not any(p.queries.values()):
        raise ld.error(top["queries"], "queries has no query — give at least one keyword query")
    for lang, n in _lang_nodes(top["queries"]):
        for qn in n.value:
            _check_query(ld, qn, lang)
    if "shortlist_min" in top:
        p.shortlist_min = ld.integer(top["shortlist_min"], "shortlist_min", lo=1)

    if "terms" in top:
        for key, key_node, value in ld.free_mapping(top["terms"], "terms"):
            if not _NAME.match(key):
                raise ld.error(key_node, f"term set name '{key}' must be lower-case letters, digits, _ and -")
            p.terms[key] = _by_language(ld, value, f"terms.{key}")
            if not any(p.terms[key].values()):
                raise ld.error(value, f"term set '{key}' is empty — give at least one term")

    crit = ld.mapping(top["criteria"], "criteria", {t: f"the {t} criteria" for t in TIERS})
    if "inclusion" not in crit:
        raise ld.error(top["criteria"], "criteria has no 'inclusion' list — add at least one inclusion criterion")
    ids: dict[str, int] = {}
    for tier in TIERS:
        p.criteria[tier] = [_criterion(ld, n, tier, p, ids) for n in
                            (ld.sequence(crit[tier], f"criteria.{tier}") if tier in crit else [])]
    if not p.criteria["inclusion"]:
        raise ld.error(crit["inclusion"], "criteria.inclusion is empty — add at least one inclusion criterion")
    inclusion_ids = {c.id for c in p.criteria["inclusion"]}
    for c in p.criteria["exclusion"]:
        for ref in c.overrides:
            if ref not in inclusion_ids:
                raise ProtocolError(f"criterion {c.id} overrides '{ref}', which is not an inclusion criterion "
                                    f"(inclusion ids: {', '.join(sorted(inclusion_ids))})", line=c.line, path=path)
    if "quality" in top:
        p.quality = [_criterion(ld, n, "quality", p, ids) for n in ld.sequence(top["quality"], "quality")]
    if "quality_min_score" in top:
        p.quality_min_score = ld.number(top["quality_min_score"], "quality_min_score")
    if "supersede_midterm" in top:
        p.supersede_midterm = ld.boolean(top["supersede_midterm"], "supersede_midterm")
    if "codebook" in top:
        p.codebook = ld.string(top["codebook"], "codebook")
    else:
        p.codebook = p.name
    if "llm" in top:
        p.llm = {}
        for key, key_node, value in ld.free_mapping(top["llm"], "llm"):
            v = ld.value(value)
            if not isinstance(value, yaml.ScalarNode) or v is None:
                raise ld.error(key_node, f"llm.{key} must be a single value (text or number)")
            p.llm[key] = v
    return p


def _period(ld: _Loader, node: yaml.Node) -> tuple[tuple[int, int] | None, str]:
    if isinstance(node, yaml.ScalarNode) and ld.value(node) in ("any", None):
        return None, "report_year"
    fields = ld.mapping(node, "period", _PERIOD)
    basis = "report_year"
    if "basis" in fields:
        basis = ld.string(fields["basis"], "period.basis")
        if basis not in PERIOD_BASES:
            raise ld.error(fields["basis"], f"period.basis '{basis}' must be one of {', '.join(PERIOD_BASES)}")
    years = {}
    for key in ("start", "end"):
        if key not in fields:
            raise ld.error(node, f"period.{key} is missing — add `{key}: YEAR` (or write `period: any`)")
        v = ld.value(fields[key])
        if isinstance(v, bool) or not isinstance(v, int) or not YEAR_RANGE[0] <= v <= YEAR_RANGE[1]:
            raise ld.error(fields[key], f"period.{key} must be a year like 2012, not {_show(fields[key])}")
        years[key] = v
    if years["end"] < years["start"]:
        raise ld.error(fields["end"], f"period ends ({years['end']}) before it starts ({years['start']}) "
                                      "— swap start and end")
    return (years["start"], years["end"]), basis


def _lang_nodes(node: yaml.Node) -> list[tuple[str, yaml.Node]]:
    return [(k.value, v) for k, v in node.value] if isinstance(node, yaml.MappingNode) else []


def _by_language(ld: _Loader, node: yaml.Node, what: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for lang, key_node, value in ld.free_mapping(node, what):
        if not _LANG.match(lang):
            raise ld.error(key_node, f"'{lang}' in {what} must be a two-letter language code (en, fr, es, pt)")
        out[lang] = ld.strings(value, f"{what}.{lang}")
    return out


_QUERY_TOKEN = re.compile(r'"[^"]*"|\(|\)|[^\s()"]+')


def _check_query(ld: _Loader, node: yaml.Node, lang: str) -> None:
    query = ld.string(node, f"a query in queries.{lang}")
    if query.count('"') % 2:
        raise ld.error(node, f"query {query!r} has an unclosed quote — close the phrase with \"")
    if query.count("(") != query.count(")"):
        raise ld.error(node, f"query {query!r} has unbalanced parentheses")
    words = [t for t in _QUERY_TOKEN.findall(query) if t not in ("(", ")", "AND", "OR", "NOT")]
    if not any(re.search(r"\w", w) for w in words):
        raise ld.error(node, f"query {query!r} has no search word — write keywords such as social protection")


def _organisations(ld: _Loader, node: yaml.Node) -> list[Organisation]:
    out = []
    for n in ld.sequence(node, "organisations"):
        if isinstance(n, yaml.ScalarNode):
            out.append(Organisation(ld.string(n, "an organisation")))
            continue
        f = ld.mapping(n, "an organisation", _ORG)
        if "name" not in f:
            raise ld.error(n, "an organisation needs a `name:`")
        out.append(Organisation(ld.string(f["name"], "organisation name"),
                                ld.strings(f["aliases"], "aliases") if "aliases" in f else []))
    return out


def _criterion(ld: _Loader, node: yaml.Node, tier: str, p: Protocol, ids: dict[str, int]) -> Criterion:
    where = f"a {tier} criterion"
    f = ld.mapping(node, where, _CRITERION)
    for key in ("id", "text"):
        if key not in f:
            raise ld.error(node, f"{where} has no `{key}:` ({_CRITERION[key]})")
    cid = ld.string(f["id"], "criterion id")
    if cid in ids:
        raise ld.error(f["id"], f"criterion id '{cid}' is already used on line {ids[cid]} — ids must be unique")
    ids[cid] = f["id"].start_mark.line + 1
    c = Criterion(id=cid, text=ld.string(f["text"], f"criterion {cid} text"), tier=tier,
                  line=node.start_mark.line + 1)
    if "required" in f:
        if tier != "quality":
            raise ld.error(f["required"], "`required` applies to quality criteria only — remove it")
        c.required = ld.boolean(f["required"], f"criterion {cid} required")
    if "overrides" in f:
        if tier != "exclusion":
            raise ld.error(f["overrides"], "`overrides` applies to exclusion criteria only — remove it")
        c.overrides = ld.strings(f["overrides"], f"criterion {cid} overrides")
        c.line = f["overrides"].start_mark.line + 1
    if "test" in f:
        c.test = _test(ld, f["test"], cid, p)
    return c


def _term_ref(ld: _Loader, node: yaml.Node, what: str, p: Protocol) -> tuple[dict[str, list[str]], list[str]]:
    """A term set name, a list of names, or an inline {lang: [patterns]}."""
    if isinstance(node, yaml.MappingNode):
        return _by_language(ld, node, what), []
    names = [ld.string(node, what)] if isinstance(node, yaml.ScalarNode) else ld.strings(node, what)
    merged: dict[str, list[str]] = {}
    for name in names:
        if name not in p.terms:
            close = difflib.get_close_matches(name, list(p.terms), n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise ld.error(node, f"{what} names the term set '{name}', which is not defined under `terms:`"
                                 f"{hint}")
        for lang, pats in p.terms[name].items():
            merged.setdefault(lang, []).extend(pats)
    return merged, names


def _test(ld: _Loader, node: yaml.Node, cid: str, p: Protocol) -> Test:
    f = ld.mapping(node, f"the test of criterion {cid}", _TEST)
    t = Test()
    if "terms" in f:
        t.terms, t.term_sets = _term_ref(ld, f["terms"], f"{cid}.test.terms", p)
    if "near" in f:
        if "terms" not in f:
            raise ld.error(f["near"], f"{cid}.test.near needs `terms:` too (near says what must be next to them)")
        t.near, t.near_sets = _term_ref(ld, f["near"], f"{cid}.test.near", p)
    if "where" in f:
        t.where = ld.strings(f["where"], f"{cid}.test.where", choices=SCOPES)
    if "min" in f:
        t.min = ld.integer(f["min"], f"{cid}.test.min")
    if "max" in f:
        t.max = ld.integer(f["max"], f"{cid}.test.max")
    if "min_share" in f:
        t.min_share = ld.number(f["min_share"], f"{cid}.test.min_share")
    if "distinct_min" in f:
        t.distinct_min = ld.integer(f["distinct_min"], f"{cid}.test.distinct_min", lo=1)
    if "sections" in f:
        t.sections = ld.strings(f["sections"], f"{cid}.test.sections")
    if "sections_min" in f:
        t.sections_min = ld.integer(f["sections_min"], f"{cid}.test.sections_min", lo=1)
    if "items" in f:
        t.items = ld.strings(f["items"], f"{cid}.test.items")
    if "items_min" in f:
        t.items_min = ld.integer(f["items_min"], f"{cid}.test.items_min", lo=1)
    if "words_min" in f:
        t.words_min = ld.integer(f["words_min"], f"{cid}.test.words_min", lo=1)
    if "metadata" in f:
        for key, _k, v in ld.free_mapping(f["metadata"], f"{cid}.test.metadata"):
            t.metadata[key] = ld.strings(v, f"{cid}.test.metadata.{key}")
    if "period" in f:
        t.period = ld.string(f["period"], f"{cid}.test.period")
        if t.period not in PERIOD_TESTS:
            raise ld.error(f["period"], f"{cid}.test.period must be one of {', '.join(PERIOD_TESTS)}")
    if ("min" in f or "max" in f or "min_share" in f or "where" in f or "distinct_min" in f) and "terms" not in f:
        raise ld.error(node, f"the test of {cid} sets thresholds but no `terms:` to count")
    if not (t.has_terms or t.sections or t.items or t.words_min or t.metadata or t.period):
        raise ld.error(node, f"the test of {cid} checks nothing — give terms, sections, items, words_min, "
                             "metadata or period")
    return t
