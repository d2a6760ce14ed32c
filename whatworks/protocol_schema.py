"""The schema of protocol.yaml, as pydantic models of what the user writes.

Each field's description is the hint an error gives ("add `queries:` (keyword queries by
language…)"); each check's message says what to write instead. `whatworks.protocol` turns a
validated `ProtocolFile` into the `Protocol` the rest of whatworks uses.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from whatworks.local_names import LANGUAGES, LocalNameEntry
from whatworks.model import DOCUMENT_KINDS
from whatworks.validation import OptionalText, Strict, Text, as_text, one_of, problem, shown

#: Where a term test may look (mapped to sections and passages by whatworks.screen).
SCOPES = ("title", "summary", "objectives", "findings", "conclusions", "recommendations",
          "lessons", "text")
TIERS = ("inclusion", "possible", "exclusion")
KINDS = DOCUMENT_KINDS
TIMINGS = ("final", "midterm", "ex_post", "other")
EVALUATOR_TYPES = ("independent", "internal", "self", "joint")
PERIOD_BASES = ("report_year", "period_evaluated")
PERIOD_TESTS = ("outside", "inside", "unknown")
YEAR_RANGE = (1900, 2100)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LANG = re.compile(r"^[a-z]{2}$")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_QUERY_TOKEN = re.compile(r'"[^"]*"|\(|\)|[^\s()"]+')


def _matching(pattern: re.Pattern[str], message: str) -> Any:
    def check(value: Any) -> str:
        text = as_text(value)
        if not pattern.match(text):
            raise problem(message.format(value=text))
        return text
    return Annotated[str, BeforeValidator(check)]


def _year(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not YEAR_RANGE[0] <= value <= YEAR_RANGE[1]:
        raise problem("{what} must be a year such as 2012, not " + shown(value))
    return value


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise problem("{what} must be a number between 0 and 1 (0.25 is a quarter), not " + shown(value))
    return float(value)


def _query(value: Any) -> str:
    query = as_text(value)
    if query.count('"') % 2:
        raise problem(f"query {query!r} has an unclosed quote — close the phrase with \"")
    if query.count("(") != query.count(")"):
        raise problem(f"query {query!r} has unbalanced parentheses — close each ( with )")
    words = [t for t in _QUERY_TOKEN.findall(query) if t not in ("(", ")", "AND", "OR", "NOT")]
    if not any(re.search(r"\w", w) for w in words):
        raise problem(f"query {query!r} has no search word — write keywords such as social protection")
    return query


def _single_value(value: Any) -> Any:
    if value is None or isinstance(value, dict | list):
        raise problem("{what} must be a single value (text or number), not " + shown(value))
    return value


def _names(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Name = _matching(_NAME, "{{what}} '{value}' must be lower-case letters, digits and dashes (e.g. my-review)")
TermSetName = _matching(_NAME, "term set name '{value}' must be lower-case letters, digits, _ and -")
Language = _matching(_LANG, "'{value}' is not a two-letter ISO 639-1 language code (en, fr, es, pt…)")
Country = _matching(_ISO3, "country '{value}' must be an upper-case ISO3 code (CAN, KHM…)")
Year = Annotated[int, BeforeValidator(_year)]
Share = Annotated[float, BeforeValidator(_share)]
Query = Annotated[str, BeforeValidator(_query)]
Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
Texts = Annotated[list[Text], Field(min_length=1)]
ByLanguage = dict[Language, Texts]
#: A term set's name, a list of names, or inline terms {lang: [patterns]}.
TermRef = Annotated[
    Annotated[Annotated[Texts, Tag("~names")] | Annotated[ByLanguage, Tag("~inline")],
              Discriminator(lambda v: "~inline" if isinstance(v, dict) else "~names")],
    BeforeValidator(_names)]


def _choices(values: tuple[str, ...]) -> Any:
    return Annotated[list[one_of(values)], Field(min_length=1)]


class PeriodEntry(Strict):
    start: Year = Field(description="first year, e.g. 2012")
    end: Year = Field(description="last year, e.g. 2018")
    basis: one_of(PERIOD_BASES) = Field("report_year", description="report_year or period_evaluated")

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: int, info: ValidationInfo) -> int:
        start = info.data.get("start")
        if start is not None and end < start:
            raise problem(f"the period ends ({end}) before it starts ({start}) — swap start and end")
        return end


class TestEntry(Strict):
    """A criterion's machine test; every condition given must hold."""

    terms: TermRef | None = Field(None, description="term set name(s) or {lang: [patterns]}")
    near: TermRef | None = Field(None, description="term set name(s) or {lang: [patterns]} in the same passage")
    where: _choices(SCOPES) | None = Field(None, description=f"where to look, from {', '.join(SCOPES)}")
    min: Count = Field(1, description="least number of matching passages")
    max: Count | None = Field(None, description="greatest number of matching passages ('not addressed')")
    min_share: Share | None = Field(None, description="least share (0–1) of the scope's passages that match")
    distinct_min: Positive | None = Field(None, description="least number of different terms found")
    sections: Texts | None = Field(None, description="section kinds that must be present")
    sections_min: Positive = Field(1, description="how many of `sections` must be present")
    items: Texts | None = Field(None, description="item kinds (recommendation, lesson_learned…) that must be present")
    items_min: Positive = Field(1, description="how many items of those kinds")
    words_min: Positive | None = Field(None, description="least number of words in the report")
    metadata: dict[Text, Texts] | None = Field(None, description="{field: [values]} the metadata must match")
    period: one_of(PERIOD_TESTS) | None = Field(
        None, description=f"one of {', '.join(PERIOD_TESTS)}: the report's year against the protocol period")

    @model_validator(mode="after")
    def _tests_something(self) -> TestEntry:
        given = self.model_fields_set
        if "near" in given and self.terms is None:
            raise problem("{what}: `near:` needs `terms:` too (near says what must be next to them)")
        if given & {"min", "max", "min_share", "where", "distinct_min"} and self.terms is None:
            raise problem("{what} sets thresholds but no `terms:` to count — add `terms:` or remove them")
        if not (self.terms or self.sections or self.items or self.words_min or self.metadata or self.period):
            raise problem("{what} checks nothing — give terms, sections, items, words_min, metadata or period")
        return self


class CriterionEntry(Strict):
    id: Text = Field(description="a short unique id, e.g. I1")
    text: Text = Field(description="the criterion as a reviewer reads it")
    test: TestEntry | None = Field(None, description="the machine test")
    required: bool | None = Field(None, description="quality only: failing it excludes the report")
    overrides: Texts | None = Field(None, description="exclusion only: inclusion criteria this one outweighs")
    kinds: _choices(KINDS) | None = Field(
        None, description=f"the document kinds it applies to (others skip it), from {', '.join(KINDS)}; omit for all")


class CriteriaEntry(Strict):
    inclusion: Annotated[list[CriterionEntry], Field(min_length=1)] = Field(description="the inclusion criteria")
    possible: list[CriterionEntry] = Field([], description="the possible inclusion or exclusion criteria")
    exclusion: list[CriterionEntry] = Field([], description="the exclusion criteria")


class WithoutEntriesEntry(Strict):
    """How a record that holds none of its evaluation's entries is judged (see `Protocol.without_entries`)."""

    kinds: _choices(KINDS) = Field(description=f"the document kinds it applies to, from {', '.join(KINDS)}")
    include_when: Texts = Field(description="inclusion criteria that must all be met for it to be included")


class OrganisationEntry(Strict):
    name: Text = Field(description="the organisation's short name")
    aliases: Texts | None = Field(None, description="other names and acronyms, any language")


Organisation = Annotated[Annotated[Text, Tag("~name")] | Annotated[OrganisationEntry, Tag("~entry")],
                         Discriminator(lambda v: "~entry" if isinstance(v, dict) else "~name")]


def _any_period(value: Any) -> Any:
    if value is None or value == "any":
        return None
    if not isinstance(value, dict):
        raise problem("{what} must be `any` or {start: YEAR, end: YEAR}, not " + shown(value))
    return value


class ProtocolFile(Strict):
    """protocol.yaml, as written."""

    name: Name = Field(description="short name, letters, digits and dashes, e.g. ilo-social-protection")
    title: Text = Field(description="the review's title")
    description: OptionalText = Field("", description="a paragraph on the scope")
    questions: Texts = Field(description="the review questions, a list of sentences")
    period: Annotated[PeriodEntry | None, BeforeValidator(_any_period)] = Field(
        None, description="{start: YEAR, end: YEAR, basis: report_year|period_evaluated} or `any`")
    kinds: _choices(KINDS) = Field(["evaluation_report"], description=f"document kinds admitted, from {', '.join(KINDS)}")
    evaluation_types: Texts | None = Field(None, description="evaluation types admitted (project, programme…)")
    timings: _choices(TIMINGS) | None = Field(None, description=f"timings admitted, from {', '.join(TIMINGS)}")
    evaluator_types: _choices(EVALUATOR_TYPES) | None = Field(
        None, description=f"evaluator types admitted, from {', '.join(EVALUATOR_TYPES)}")
    languages: Annotated[list[Language], Field(min_length=1)] = Field(
        list(LANGUAGES), description="ISO 639-1 codes of the languages admitted (en, fr, es, pt…)")
    countries: Annotated[list[Country], Field(min_length=1)] | None = Field(
        None, description="ISO3 codes of the countries admitted; omit for any")
    organisations: Annotated[list[Organisation], Field(min_length=1)] | None = Field(
        None, description="organisations whose reports are admitted: names or {name, aliases}")
    queries: Annotated[dict[Language, Annotated[list[Query], Field(min_length=1)]], Field(min_length=1)] = Field(
        description='keyword queries by language: {en: ["social protection", …], fr: […]}')
    shortlist_min: Positive = Field(1, description="passages that must match a query for a report to be short-listed")
    terms: dict[TermSetName, Annotated[ByLanguage, Field(min_length=1)]] = Field(
        {}, description="named term sets {topic: {en: [...], fr: [...]}} the criteria's tests use")
    criteria: CriteriaEntry = Field(description="{inclusion: [...], possible: [...], exclusion: [...]}")
    quality: list[CriterionEntry] = Field([], description="quality criteria: a list of {id, text, test, required}")
    quality_min_score: Share = Field(0.0, description="a number 0–1: included reports scoring lower go to a human")
    without_entries: WithoutEntriesEntry | None = Field(
        None, description="{kinds: [database_record], include_when: [criterion ids]}: a record holding no "
                          "recommendations, lessons or good practices is judged on those criteria, not on quality")
    supersede_midterm: bool = Field(True, description="true or false: a final evaluation supersedes a midterm")
    codebook: Text | None = Field(None, description="a shipped codebook name or a path to a codebook YAML")
    llm: dict[Text, Annotated[Any, BeforeValidator(_single_value)]] | None = Field(
        None, description="optional language model server for coding: {url: ..., model: ...}")
    local_names: list[LocalNameEntry] = Field(
        [], description="local programme names and abbreviations: [{name: EI, means: employment insurance}]")
