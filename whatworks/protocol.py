"""The review protocol: what a review asks and how reports are selected, in one YAML file.

A protocol states the questions, the period, the kinds of report admitted, the keyword
queries of the search, the content criteria in three tiers (inclusion / possible
inclusion or exclusion / exclusion, as in figure 2 of the ILO synthesis review) and the
quality criteria. Each criterion carries a *machine test* — term sets in EN/FR/ES/PT,
where to look and thresholds — so the screen can apply it and show its evidence, while
the criterion's text is what a reviewer reads.

The loader is strict on purpose: a typo in a protocol silently changes which reports
are selected, so an unknown field, a bad period or an empty query is an error that
names the line and the fix (`whatworks.errors.ProtocolError`). The file's schema is
`whatworks.protocol_schema`; the checks across it (term sets named, criterion ids unique,
overrides pointing at inclusion criteria) are here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whatworks.errors import ProtocolError
from whatworks.local_names import LANGUAGES, LocalName, duplicate_names
from whatworks.protocol_schema import (
    EVALUATOR_TYPES,
    KINDS,
    PERIOD_BASES,
    PERIOD_TESTS,
    SCOPES,
    TIERS,
    TIMINGS,
    YEAR_RANGE,
    CriterionEntry,
    ProtocolFile,
    TestEntry,
)
from whatworks.userfiles import parse_yaml, parsed, position, read_text
from whatworks.validation import Describe, LineOf, Problem, validate

__all__ = ["EVALUATOR_TYPES", "KINDS", "LANGUAGES", "PERIOD_BASES", "PERIOD_TESTS", "SCOPES", "TIERS", "TIMINGS",
           "YEAR_RANGE", "Criterion", "Organisation", "Protocol", "Test", "WithoutEntries", "load_protocol",
           "parse_protocol"]


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
    kinds: list[str] = field(default_factory=list)  # the document kinds it applies to; empty: all

    def applies(self, kind: str | None) -> bool:
        """Whether the criterion speaks to a document of this kind (a full report's length test
        says nothing about a database record, whose quality is judged on what the database holds)."""
        return not self.kinds or kind in self.kinds


@dataclass
class WithoutEntries:
    """A record whose database holds none of its evaluation's recommendations, lessons learned or
    good practices cannot be appraised on quality from the database: the report itself may well
    hold them. Such a record is judged on what it does hold, its metadata: included when every
    inclusion criterion of `include_when` is met (each names the field it reads), else a reviewer
    decides. `kinds`: the document kinds this applies to (a full report without them is another
    matter: the quality criteria say what becomes of it)."""

    kinds: list[str]
    include_when: list[str]


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
    without_entries: WithoutEntries | None = None  # a record holding no entries: judged on these criteria
    supersede_midterm: bool = True
    codebook: str = ""
    organisations: list[Organisation] = field(default_factory=list)  # empty: any
    countries: list[str] = field(default_factory=list)  # ISO3; empty: any
    description: str = ""
    llm: dict[str, Any] | None = None  # optional language-model server settings (whatworks.coding)
    local_names: list[LocalName] = field(default_factory=list)  # programme names and abbreviations
    path: str | None = None

    def all_criteria(self) -> list[Criterion]:
        return [c for t in TIERS for c in self.criteria.get(t, [])]

    def query_terms(self) -> list[str]:
        return [q for qs in self.queries.values() for q in qs]




# --- loading ---------------------------------------------------------------------------

_DESCRIBE = Describe("the protocol", {"inclusion": "criterion", "possible": "criterion", "exclusion": "criterion",
                                      "quality": "criterion", "organisations": "organisation",
                                      "local_names": "local name"})


def load_protocol(path: str | Path) -> Protocol:
    """Parse and validate a protocol YAML file; `ProtocolError` names the line and the fix."""
    return parsed(path, read_text(path), parse_protocol)


def parse_protocol(text: str, path: str | None = None) -> Protocol:
    """Parse a protocol from YAML text (`path` only names it in errors)."""
    root = parse_yaml(text, path)
    if root is None:
        raise ProtocolError("the protocol is empty — start from a shipped protocol "
                            "(whatworks init --protocol ilo-social-protection)", path=path)
    spec = validate(ProtocolFile, root, path, _DESCRIBE, check=_references)
    return _protocol(spec, root, path)


def _criteria(spec: ProtocolFile) -> Iterator[tuple[str, tuple[Any, ...], CriterionEntry]]:
    """(tier, location, criterion) for every criterion, quality ones last."""
    for tier in TIERS:
        for i, c in enumerate(getattr(spec.criteria, tier)):
            yield tier, ("criteria", tier, i), c
    for i, c in enumerate(spec.quality):
        yield "quality", ("quality", i), c


def _references(spec: ProtocolFile, line_of: LineOf) -> list[Problem]:
    """What the schema alone cannot see: ids used twice, names of things that do not exist."""
    problems: list[Problem] = []
    first: dict[str, tuple[Any, ...]] = {}
    inclusion = [c.id for c in spec.criteria.inclusion]
    for tier, loc, c in _criteria(spec):
        if c.id in first:
            problems.append(Problem((*loc, "id"), f"criterion id '{c.id}' is already used on line "
                                                  f"{line_of((*first[c.id], 'id'))} — ids must be unique"))
        first.setdefault(c.id, loc)
        if c.required is not None and tier != "quality":
            problems.append(Problem((*loc, "required"), f"criterion '{c.id}': `required` applies to quality "
                                                        "criteria only — remove it", at_key=True))
        if c.overrides is not None and tier != "exclusion":
            problems.append(Problem((*loc, "overrides"), f"criterion '{c.id}': `overrides` applies to exclusion "
                                                         "criteria only — remove it", at_key=True))
        for ref in (c.overrides or []) if tier == "exclusion" else []:
            if ref not in inclusion:
                problems.append(Problem((*loc, "overrides"), f"criterion '{c.id}' overrides '{ref}', which is not an "
                                        f"inclusion criterion (inclusion ids: {', '.join(sorted(inclusion))})"))
        for key in ("terms", "near"):
            names = getattr(c.test, key, None) if c.test else None
            for name in names if isinstance(names, list) else []:
                if name not in spec.terms:
                    close = difflib.get_close_matches(name, list(spec.terms), n=1)
                    hint = f" — did you mean '{close[0]}'?" if close else ""
                    problems.append(Problem((*loc, "test", key), f"criterion '{c.id}': test.{key} names the term set "
                                            f"'{name}', which is not defined under `terms:`{hint}"))
    for i, ref in enumerate(spec.without_entries.include_when if spec.without_entries else []):
        if ref not in inclusion:
            problems.append(Problem(("without_entries", "include_when", i),
                                    f"without_entries names '{ref}', which is not an inclusion criterion "
                                    f"(inclusion ids: {', '.join(sorted(inclusion))})"))
    problems += duplicate_names(spec.local_names, ("local_names",), line_of)
    return problems


def _protocol(spec: ProtocolFile, root: Any, path: str | None) -> Protocol:
    p = Protocol(name=spec.name, title=spec.title, questions=spec.questions, period=None, path=path,
                 description=spec.description, kinds=spec.kinds, queries=dict(spec.queries),
                 shortlist_min=spec.shortlist_min, terms={k: dict(v) for k, v in spec.terms.items()},
                 quality_min_score=spec.quality_min_score, supersede_midterm=spec.supersede_midterm,
                 codebook=spec.codebook or spec.name, languages=spec.languages,
                 evaluation_types=spec.evaluation_types or [], timings=spec.timings or [],
                 evaluator_types=spec.evaluator_types or [], countries=spec.countries or [],
                 llm=dict(spec.llm) if spec.llm is not None else None,
                 local_names=[LocalName(n.name, n.means, languages=n.languages or []) for n in spec.local_names])
    if spec.without_entries is not None:
        p.without_entries = WithoutEntries(list(spec.without_entries.kinds), list(spec.without_entries.include_when))
    if spec.period is not None:
        p.period, p.period_basis = (spec.period.start, spec.period.end), spec.period.basis
    p.organisations = [Organisation(o) if isinstance(o, str) else Organisation(o.name, o.aliases or [])
                       for o in spec.organisations or []]
    for tier, loc, c in _criteria(spec):
        line = position(root, (*loc, "overrides") if c.overrides and tier == "exclusion" else loc)[0]
        criterion = Criterion(id=c.id, text=c.text, tier=tier, test=_test(c.test, p) if c.test else None,
                              required=bool(c.required), overrides=c.overrides or [], line=line,
                              kinds=list(c.kinds or []))
        (p.quality if tier == "quality" else p.criteria[tier]).append(criterion)
    return p


def _term_ref(ref: list[str] | dict[str, list[str]] | None, p: Protocol) -> tuple[dict[str, list[str]], list[str]]:
    """Patterns by language, and the names of the term sets they came from."""
    if ref is None:
        return {}, []
    if isinstance(ref, dict):
        return dict(ref), []
    merged: dict[str, list[str]] = {}
    for name in ref:
        for lang, patterns in p.terms[name].items():
            merged.setdefault(lang, []).extend(patterns)
    return merged, list(ref)


def _test(t: TestEntry, p: Protocol) -> Test:
    test = Test(min=t.min, max=t.max, min_share=t.min_share, distinct_min=t.distinct_min,
                sections=t.sections or [], sections_min=t.sections_min, items=t.items or [],
                items_min=t.items_min, words_min=t.words_min, metadata=dict(t.metadata or {}), period=t.period)
    test.terms, test.term_sets = _term_ref(t.terms, p)
    test.near, test.near_sets = _term_ref(t.near, p)
    if t.where is not None:
        test.where = t.where
    return test
