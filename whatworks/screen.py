"""screen: apply the review protocol to every document, and log why.

The order follows a systematic review's selection (PRISMA 2020):

1. identification — every file found is a record; unreadable files are `error`; the same file
   under two names, and the same report in two formats or versions (same title and
   near-identical text, by MinHash over word shingles), are `duplicate`, each naming the
   record kept (the most complete, richest format, newest);
2. search — the protocol's keyword queries short-list reports (run on the search index, so
   a reviewer can repeat them with `whatworks search`);
3. eligibility — kind, language, period, organisation, evaluation type, timing, evaluator
   type and country against the protocol; what the description could not tell becomes
   `maybe`, never a silent exclusion;
4. content — the three tiers of criteria (figure 2 of the ILO review), each with its machine
   test and the passages and pages that meet it;
5. quality — the appraisal of kept reports (comprehensive, complete, evidence-based,
   recommendations/lessons/good practices) with a score;
6. a midterm evaluation of a project whose final evaluation is included becomes
   `supplementary`.

Every check writes a reason with evidence (page and text) into `screen_criteria`, and the
record's decision (include / maybe / exclude / duplicate / error) into `screen_records`.
Re-running rewrites only these machine tables: people's decisions (whatworks.decisions) are
never touched, and the final decision combines them (whatworks.store.selection.final_decisions).
Screening reads each document's effective description: a reviewer's correction (a kind, a
year, a country) changes its checks and shows in its reasons.
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import json
import logging
import pickle
import re
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from whatworks import corrections, vocab
from whatworks import search as S
from whatworks import text as T
from whatworks.errors import QueryError
from whatworks.model import Description
from whatworks.protocol import Criterion, Protocol, Test
from whatworks.store import corrections as corrections_store
from whatworks.store import documents as docs
from whatworks.store import search as index_store
from whatworks.store import selection as records_store
from whatworks.store.base import Store

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"

#: Final decisions: the machine's, and "conflict" while reviewers disagree (whatworks.store.selection).
DECISIONS = ("include", "maybe", "exclude", "duplicate", "error", "conflict")
STAGES = ("error", "duplicate", "search", "eligibility", "content", "quality", "included", "supplementary")
#: Sections that are not the report's own text (left out of the "text" scope).
NOT_TEXT = frozenset({"table_of_contents", "acronyms", "references", "people_met"})
SCOPE_SECTIONS = {
    "summary": {"executive_summary"},
    "objectives": {"executive_summary", "background", "design", "relevance"},
    "findings": {"findings", "relevance", "coherence", "design", "effectiveness", "efficiency", "impact",
                 "sustainability"},
    "conclusions": {"conclusions"},
    "recommendations": {"recommendations"},
    "lessons": {"lessons_learned", "good_practices"},
}
#: When a document has no section of a scope, the scope falls back to its first N passages.
SCOPE_FALLBACK = {"summary": 12, "objectives": 25}
ITEM_SECTIONS = {"recommendation": "recommendations", "lesson_learned": "lessons_learned",
                 "good_practice": "good_practices", "finding": "findings", "conclusion": "conclusions"}
FORMAT_RANK = {"pdf": 4, "docx": 3, "html": 3, "markdown": 2, "text": 1}
#: Near-duplicates: Jaccard similarity of 5-word shingles (MinHash estimate).
SHINGLE = 5
NEAR_SAME = 0.9  # this similar: the same report, whatever the titles say
NEAR_SAME_TITLE = 0.7  # this similar and the same title: another version of the same report
EVIDENCE_CHARS = 320


@lru_cache(maxsize=1)
def labels() -> dict[str, Any]:
    """The screen's messages: language names and check labels (screen_labels.yaml)."""
    return yaml.safe_load((DATA / "screen_labels.yaml").read_text(encoding="utf-8"))


def language_name(code: str | None) -> str:
    if not code or code == "und":
        return "an unidentified language"
    return f"{labels()['language_names'].get(code, code)} ({code})"


# --- the document as the screen sees it -----------------------------------------------------


@dataclass
class _Passage:
    id: int
    page: int | None
    text: str
    lang: str
    kinds: frozenset[str]
    toks: list[str]
    _stems: dict[str, list[str]] = field(default_factory=dict)
    _sets: dict[str, set[str]] = field(default_factory=dict)

    def stems(self, lang: str) -> list[str]:
        s = self._stems.get(lang)
        if s is None:
            s = self._stems[lang] = [T.stem(t, lang) for t in self.toks]
        return s

    def stemset(self, lang: str) -> set[str]:
        s = self._sets.get(lang)
        if s is None:
            s = self._sets[lang] = set(self.stems(lang))
        return s


@dataclass
class _Doc:
    sha256: str
    source: str
    format: str
    title: str
    language: str
    languages: dict[str, float]
    chars: int
    description: Description | None
    passages: list[_Passage]
    title_passage: _Passage
    words: int
    tokset: set[str]
    mtime: float = 0.0
    corrected: dict[str, str] = field(default_factory=dict)  # criterion → "corrected by X: why"
    _stemsets: dict[str, set[str]] = field(default_factory=dict)
    _sorted: list[str] | None = None

    def stemset(self, lang: str) -> set[str]:
        """The stems (in `lang`) of every word of the document."""
        s = self._stemsets.get(lang)
        if s is None:
            s = self._stemsets[lang] = {T.stem(t, lang) for t in self.tokset}
        return s

    def has_prefix(self, prefix: str) -> bool:
        if self._sorted is None:
            self._sorted = sorted(self.tokset)
        i = bisect.bisect_left(self._sorted, prefix)
        return i < len(self._sorted) and self._sorted[i].startswith(prefix)

    def meta(self, key: str) -> Any:
        return self.description.value(key) if self.description else None

    def meta_value(self, key: str):
        return self.description.metadata.get(key) if self.description else None

    @property
    def kind(self) -> str | None:
        return self.description.kind.value if self.description else None

    @property
    def section_kinds(self) -> set[str]:
        return {s.kind for s in self.description.sections} if self.description else set()

    def scope(self, name: str) -> list[_Passage]:
        body = [p for p in self.passages if not (p.kinds & NOT_TEXT)]
        if name == "title":
            return [self.title_passage]
        if name == "text":
            return body
        kinds = SCOPE_SECTIONS[name]
        found = [p for p in body if p.kinds & kinds]
        if not found and name in SCOPE_FALLBACK:
            front = [p for p in body if not (p.kinds - {"front_matter", "other"})]
            found = (front or body)[: SCOPE_FALLBACK[name]]
        if not found and name == "findings":
            found = [p for p in body if not (p.kinds & {"front_matter", "annex", "terms_of_reference"})]
        return found

    def passages_in(self, scopes: Iterable[str]) -> list[_Passage]:
        seen: dict[int, _Passage] = {}
        for name in scopes:
            for p in self.scope(name):
                seen.setdefault(p.id, p)
        return list(seen.values())


def _load_doc(store: Store, row: Any) -> _Doc:
    sha = row["sha256"]
    description = corrections.effective_description(store, sha)
    sections = description.sections if description else []
    title = (description.value("title") if description else None) or row["title"] or Path(row["source"]).stem
    language = row["language"] or "und"
    passages = []
    tokset: set[str] = set()
    words = 0
    for r in index_store.passage_rows(store, sha256=sha):
        kinds = frozenset(s.kind for s in sections
                          if s.block_start < r["block_end"] and r["block_start"] < s.block_end)
        toks = T.words(r["text"])
        words += len(toks)
        tokset.update(toks)
        passages.append(_Passage(r["id"], r["page"], r["text"], r["language"] or language, kinds, toks))
    title_toks = T.words(str(title))
    tokset.update(title_toks)
    weights: Counter[str] = Counter()
    for p in passages:
        weights[p.lang] += len(p.text)
    total = sum(weights.values()) or 1
    languages = {k: v / total for k, v in weights.items()}
    doc = _Doc(sha, row["source"], row["format"], str(title), language, languages, row["chars"] or 0,
               description, passages, _Passage(0, 1, str(title), language, frozenset({"title"}), title_toks),
               words, tokset)
    for (target, key), c in corrections.corrections(store, sha).items():
        if target in ("kind", "metadata"):
            note = f"corrected by {c.reviewer}" + (f": {c.reason}" if c.reason else "")
            doc.corrected[CORRECTED_CRITERIA.get(key, key)] = note
    return doc


# --- term matching --------------------------------------------------------------------------


#: The screening check a corrected metadata field speaks to (others share the field's name).
CORRECTED_CRITERIA = {"year": "period", "period": "period", "countries": "country", "regions_ilo": "country"}

_Pattern = tuple[tuple[str, bool], ...]  # (stem or folded prefix, is_prefix) per word


def compile_pattern(pattern: str, lang: str) -> _Pattern:
    """A protocol term ("maternity benefit*") as stems in `lang`; a trailing * is a prefix."""
    out: list[tuple[str, bool]] = []
    for chunk in pattern.split():
        star = chunk.endswith("*")
        ws = T.words(chunk)
        for k, w in enumerate(ws):
            last = k == len(ws) - 1
            out.append((w, True) if star and last else (T.stem(w, lang), False))
    return tuple(out)


class Terms:
    """A term set compiled for matching passages in their own language."""

    def __init__(self, by_lang: dict[str, list[str]]):
        self.by_lang: dict[str, list[tuple[_Pattern, str]]] = {}
        for lang, pats in by_lang.items():
            compiled = [(compile_pattern(p, lang), p) for p in pats]
            self.by_lang[lang] = [(c, p) for c, p in compiled if c]
        self._doc: tuple[str, dict[str, list[tuple[_Pattern, str]]]] | None = None

    def __bool__(self) -> bool:
        return any(self.by_lang.values())

    def labels(self, n: int = 6) -> str:
        seen: list[str] = []
        for pats in self.by_lang.values():
            for _, p in pats:
                if p not in seen:
                    seen.append(p)
        return ", ".join(seen[:n]) + ("…" if len(seen) > n else "")

    def _active(self, doc: _Doc) -> dict[str, list[tuple[_Pattern, str]]]:
        """Patterns whose first word occurs in the document at all (a cheap first cut)."""
        if self._doc is not None and self._doc[0] == doc.sha256:
            return self._doc[1]
        active: dict[str, list[tuple[_Pattern, str]]] = {}
        for lang, pats in self.by_lang.items():
            stemset = doc.stemset(lang)
            active[lang] = [(pat, label) for pat, label in pats
                            if all(doc.has_prefix(w) if prefix else w in stemset for w, prefix in pat)]
        self._doc = (doc.sha256, active)
        return active

    def match(self, doc: _Doc, p: _Passage) -> str | None:
        """The first term of the set found in passage `p`, or None."""
        found = self.matches(doc, p, first=True)
        return found[0] if found else None

    def matches(self, doc: _Doc, p: _Passage, first: bool = False) -> list[str]:
        """The terms of the set found in passage `p` (the first one only with `first`)."""
        active = self._active(doc)
        langs = [p.lang] if p.lang in self.by_lang else list(self.by_lang)
        out: list[str] = []
        for lang in langs:
            pats = active.get(lang)
            if not pats:
                continue
            stems = p.stems(lang)
            stemset = p.stemset(lang)
            for pat, label in pats:
                if _found(pat, stems, p.toks, stemset):
                    out.append(label)
                    if first:
                        return out
        return out


def _found(pat: _Pattern, stems: list[str], toks: list[str], stemset: set[str]) -> bool:
    for w, prefix in pat:
        if not prefix and w not in stemset:
            return False
    n = len(pat)
    for i in range(len(stems) - n + 1):
        ok = True
        for k, (w, prefix) in enumerate(pat):
            if (prefix and not toks[i + k].startswith(w)) or (not prefix and stems[i + k] != w):
                ok = False
                break
        if ok:
            return True
    return False


def _excerpt(text: str, needle: str | None = None) -> str:
    text = " ".join(text.split())
    if len(text) <= EVIDENCE_CHARS:
        return text
    start = 0
    if needle:
        first = T.words(needle)[:1]
        if first:
            m = re.search(re.escape(first[0][:5]), T.fold(text))
            if m:
                start = max(0, m.start() - EVIDENCE_CHARS // 3)
    piece = text[start:start + EVIDENCE_CHARS]
    return ("…" if start else "") + piece + ("…" if start + EVIDENCE_CHARS < len(text) else "")


# --- checks -----------------------------------------------------------------------------------


@dataclass
class Check:
    """One check's verdict on one document, with the evidence a reviewer can open."""

    criterion: str
    stage: str
    decision: str  # include | maybe | exclude
    reason: str
    page: int | None = None
    evidence: str = ""
    met: bool = True  # for protocol criteria: whether the criterion holds
    tier: str = ""  # for protocol criteria: inclusion | possible | exclusion | quality

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "decision": self.decision, "reason": self.reason,
                "evidence": {"page": self.page, "text": self.evidence}}


@dataclass
class Outcome:
    holds: bool
    reason: str
    page: int | None = None
    evidence: str = ""
    count: int = 0


_TERMS_CACHE: dict[int, tuple[dict[str, list[str]], Terms]] = {}


def _terms(by_lang: dict[str, list[str]]) -> Terms:
    """Compiled terms, cached per term dict (the dict is held, so its id is never reused)."""
    cached = _TERMS_CACHE.get(id(by_lang))
    if cached is None or cached[0] is not by_lang:
        cached = _TERMS_CACHE[id(by_lang)] = (by_lang, Terms(by_lang))
    return cached[1]


def _listing(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def period_status(doc: _Doc, protocol: Protocol) -> tuple[str, str, int | None, str]:
    """inside | outside | unknown, with a reason and the evidence of the year or period used."""
    if protocol.period is None:
        return "inside", "the protocol admits any year", None, ""
    start, end = protocol.period
    year = doc.meta("year")
    year_v = doc.meta_value("year")
    period = doc.meta("period")
    period_v = doc.meta_value("period")

    def ev(v) -> tuple[int | None, str]:
        return (v.evidence.page, _excerpt(v.evidence.text)) if v is not None and v.evidence else (None, "")

    if protocol.period_basis == "period_evaluated" and isinstance(period, list | tuple) and len(period) == 2 \
            and any(isinstance(x, int) for x in period):
        lo = period[0] if isinstance(period[0], int) else period[1]
        hi = period[1] if isinstance(period[1], int) else period[0]
        page, text = ev(period_v)
        if hi >= start and lo <= end:
            return "inside", f"the period evaluated ({lo}–{hi}) overlaps {start}–{end}", page, text
        return "outside", f"the period evaluated ({lo}–{hi}) is outside {start}–{end}", page, text
    if isinstance(year, int):
        page, text = ev(year_v)
        if start <= year <= end:
            return "inside", f"the report year {year} is within {start}–{end}", page, text
        return "outside", f"the report year {year} is outside {start}–{end}", page, text
    return "unknown", f"no report year or evaluated period was found, so {start}–{end} cannot be checked", None, ""


def run_test(test: Test, doc: _Doc, protocol: Protocol) -> Outcome:
    """Apply a criterion's machine test to a document."""
    holds = True
    parts: list[str] = []
    page: int | None = None
    evidence = ""
    count = 0
    if test.metadata:
        for key, admitted in test.metadata.items():
            value = doc.meta(key)
            values = [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
            ok = any(v in admitted for v in values)
            holds &= ok
            parts.append(f"{key} is {_listing(values) or 'not stated'}" + ("" if ok else f", not {' or '.join(admitted)}"))
    if test.period:
        status, why, p, text = period_status(doc, protocol)
        holds &= status == test.period
        parts.append(why)
        page, evidence = page or p, evidence or text
    if test.words_min:
        ok = doc.words >= test.words_min
        holds &= ok
        parts.append(f"{doc.words:,} words ({'≥' if ok else '<'} {test.words_min:,})")
    if test.sections:
        present = [k for k in test.sections if k in doc.section_kinds]
        ok = len(present) >= test.sections_min
        holds &= ok
        parts.append(f"{len(present)} of the sections {_listing(test.sections)} found "
                     f"({_listing(present) or 'none'}; the test needs {test.sections_min})")
        if present and doc.description:
            first = next(s for s in doc.description.sections if s.kind in present)
            page, evidence = page or first.page_start, evidence or f"section “{first.heading}”"
    if test.items:
        items = [i for i in (doc.description.items if doc.description else []) if i.kind in test.items]
        sections = [s for s in (doc.description.sections if doc.description else [])
                    if s.kind in {ITEM_SECTIONS.get(k, k) for k in test.items}]
        ok = len(items) >= test.items_min or bool(sections)
        holds &= ok
        counts = Counter(i.kind for i in items)
        parts.append(("items found: " + _listing(f"{n} {k}" for k, n in counts.items()) if counts else
                      "no " + " / ".join(k.replace("_", " ") for k in test.items) + " found")
                     + (f"; sections: {_listing(s.heading for s in sections[:3])}" if sections else ""))
        if items:
            page, evidence = page or items[0].page, evidence or _excerpt(items[0].text)
        elif sections:
            page, evidence = page or sections[0].page_start, evidence or f"section “{sections[0].heading}”"
    if test.has_terms:
        terms = _terms(test.terms)
        near = _terms(test.near) if test.near else None
        scope = doc.passages_in(test.where)
        hits: list[tuple[_Passage, str, str | None]] = []
        for p in scope:
            label = terms.match(doc, p)
            if label is None:
                continue
            near_label = None
            if near is not None and "title" not in p.kinds:
                near_label = near.match(doc, p)
                if near_label is None:
                    continue
            hits.append((p, label, near_label))
        count = len(hits)
        total = len(scope)
        what = "/".join(test.term_sets) or terms.labels(4)
        if near is not None:
            what += f" next to {'/'.join(test.near_sets) or near.labels(4)} words"
        share = count / total if total else 0.0
        if test.max is not None:
            ok = count <= test.max
            need = f"at most {test.max}"
        else:
            ok = count >= test.min and (test.min_share is None or share >= test.min_share)
            need = f"at least {test.min}" + (f" and {test.min_share:.0%}" if test.min_share else "")
        holds &= ok
        parts.append(f"{count} of {total} passages in {'/'.join(test.where)} mention {what} "
                     f"({share:.0%}; the test needs {need})")
        if test.distinct_min:
            distinct: list[str] = []
            for p, _label, _near in hits:
                for label in terms.matches(doc, p):
                    if label not in distinct:
                        distinct.append(label)
            ok = len(distinct) >= test.distinct_min
            holds &= ok
            parts.append(f"{len(distinct)} different terms found ({_listing(distinct[:6]) or 'none'}; "
                         f"the test needs {test.distinct_min})")
        if hits:
            p, label, near_label = hits[0]
            page = page or p.page
            evidence = evidence or (f"“{label}”" + (f" + “{near_label}”" if near_label else "") + ": "
                                    + _excerpt(p.text, label))
        elif not evidence:
            evidence = f"no passage mentions: {terms.labels(8)}"
    return Outcome(holds, "; ".join(parts), page, evidence, count)


def _criterion_check(c: Criterion, doc: _Doc, protocol: Protocol, stage: str) -> Check:
    if c.test is None:
        return Check(c.id, stage, "maybe", f"{c.text} — no machine test: a reviewer decides", met=False)
    o = run_test(c.test, doc, protocol)
    verdict = {"inclusion": "include", "possible": "maybe", "exclusion": "exclude",
               "quality": "include"}[c.tier] if o.holds else "not_met"
    head = f"{'met' if o.holds else 'not met'} — {c.text.rstrip('.')}"
    return Check(c.id, stage, verdict, f"{head}: {o.reason}", o.page, o.evidence, met=o.holds, tier=c.tier)


def _value_check(name: str, doc: _Doc, admitted: list[str], label: str) -> Check | None:
    """Evaluation type / timing / evaluator type against the protocol's list."""
    if not admitted:
        return None
    v = doc.meta_value(name)
    value = v.value if v is not None else None
    page, text = (v.evidence.page, _excerpt(v.evidence.text)) if v is not None and v.evidence else (None, "")
    if value in (None, "", "other"):
        return Check(name, "eligibility", "include",
                     f"{label} not stated in the report ({_listing(admitted)} admitted); not used to exclude",
                     page, text)
    if value in admitted:
        return Check(name, "eligibility", "include", f"{label} is {value} (admitted: {_listing(admitted)})",
                     page, text)
    if v is not None and v.confidence < 0.6:
        return Check(name, "eligibility", "maybe",
                     f"{label} looks like {value} (confidence {v.confidence:.2f}), not one of {_listing(admitted)}"
                     " — a reviewer confirms", page, text)
    return Check(name, "eligibility", "exclude", f"{label} is {value}, not one of {_listing(admitted)}", page, text)


def _a(kind: str) -> str:
    words = kind.replace("_", " ")
    return ("an " if words[:1] in "aeiou" else "a ") + words


def eligibility(doc: _Doc, protocol: Protocol) -> list[Check]:
    """Kind, language, period, organisation, evaluation type, timing, evaluator type, country."""
    out: list[Check] = []
    # kind
    if doc.description is None:
        out.append(Check("kind", "eligibility", "maybe", "the document was not described, so its kind is unknown "
                         "(run `whatworks add` again with describe on)"))
    else:
        kv = doc.description.kind
        page, text = (kv.evidence.page, _excerpt(kv.evidence.text)) if kv.evidence else (None, "")
        kind = kv.value
        if kind in protocol.kinds:
            out.append(Check("kind", "eligibility", "include",
                             f"it is {_a(kind)} (admitted: {_listing(protocol.kinds)})", page, text))
        elif kind in (None, "other") or kv.confidence < 0.5:
            out.append(Check("kind", "eligibility", "maybe",
                             f"its kind is unclear ({kind or 'unknown'}, confidence {kv.confidence:.2f}); "
                             f"the protocol admits {_listing(protocol.kinds)}", page, text))
        else:
            out.append(Check("kind", "eligibility", "exclude",
                             f"it is {_a(kind)}, not {' or '.join(_a(k) for k in protocol.kinds)}"
                             f" (confidence {kv.confidence:.2f})", page, text))
    # language
    lang = doc.meta("language") or doc.language
    if lang in protocol.languages:
        out.append(Check("language", "eligibility", "include", f"written in {language_name(lang)}"))
    else:
        share = sum(v for k, v in doc.languages.items() if k in protocol.languages)
        other = [language_name(k) for k in doc.languages if k in protocol.languages]
        if share >= 0.2 and other:
            out.append(Check("language", "eligibility", "maybe",
                             f"mostly in {language_name(lang)}, with {share:.0%} in {_listing(other)}: "
                             "a reviewer decides whether it can be read"))
        else:
            sample = next((p for p in doc.passages if p.lang == lang), None)
            out.append(Check("language", "eligibility", "exclude",
                             f"the report is in {language_name(lang)}, not in an admitted language "
                             f"({_listing(language_name(x) for x in protocol.languages)}); "
                             "screen a translation if one exists",
                             sample.page if sample else None, _excerpt(sample.text) if sample else ""))
    # period
    status, why, page, text = period_status(doc, protocol)
    out.append(Check("period", "eligibility", {"inside": "include", "outside": "exclude", "unknown": "maybe"}[status],
                     why, page, text))
    # organisation
    if protocol.organisations:
        out.append(_organisation_check(doc, protocol))
    for name, admitted, label in (("evaluation_type", protocol.evaluation_types, "evaluation type"),
                                  ("timing", protocol.timings, "timing"),
                                  ("evaluator_type", protocol.evaluator_types, "evaluator type")):
        c = _value_check(name, doc, admitted, label)
        if c:
            out.append(c)
    if protocol.countries:
        countries = [str(c) for c in (doc.meta("countries") or [])]
        inter = [c for c in countries if c in protocol.countries]
        if inter:
            out.append(Check("country", "eligibility", "include", f"covers {_listing(inter)}"))
        elif not countries:
            out.append(Check("country", "eligibility", "maybe",
                             f"no country found; the protocol admits {_listing(protocol.countries)}"))
        else:
            out.append(Check("country", "eligibility", "exclude",
                             f"covers {_listing(countries)}, none of {_listing(protocol.countries)}"))
    return out


def _organisation_check(doc: _Doc, protocol: Protocol) -> Check:
    names = {o.name: [o.name, *o.aliases] for o in protocol.organisations}
    org = doc.meta("organisation")
    org_values = [str(v) for v in (org if isinstance(org, list) else [org]) if v]

    def mentions(text: str) -> str | None:
        folded = " " + " ".join(T.words(text)) + " "
        for name, aliases in names.items():
            for a in aliases:
                if f" {' '.join(T.words(a))} " in folded:
                    return name
        return None

    for v in org_values:
        hit = mentions(v)
        if hit:
            ov = doc.meta_value("organisation")
            page, text = (ov.evidence.page, _excerpt(ov.evidence.text)) if ov and ov.evidence else (None, "")
            return Check("organisation", "eligibility", "include", f"the organisation is {v} ({hit})", page, text)
    for p in [doc.title_passage, *doc.passages[:15]]:  # cover and first pages
        hit = mentions(p.text)
        if hit:
            return Check("organisation", "eligibility", "include" if not org_values else "maybe",
                         f"{hit} is named on the first pages" + (f", though the organisation found is "
                                                                  f"{_listing(org_values)}" if org_values else ""),
                         p.page, _excerpt(p.text, hit))
    if not org_values:
        return Check("organisation", "eligibility", "maybe",
                     f"no organisation found; the protocol admits {_listing(names)}")
    return Check("organisation", "eligibility", "exclude",
                 f"the organisation is {_listing(org_values)}, not {_listing(names)}, and none of its names "
                 "appears on the first pages")


def content(doc: _Doc, protocol: Protocol) -> list[Check]:
    """The three tiers of content criteria and their combined verdict (criterion 'content')."""
    applying = {t: [c for c in protocol.criteria.get(t, []) if c.applies(doc.kind)]
                for t in ("inclusion", "possible", "exclusion")}
    checks = {t: [_criterion_check(c, doc, protocol, "content") for c in cs] for t, cs in applying.items()}
    met = {t: [c for c in cs if c.met] for t, cs in checks.items()}
    # an exclusion criterion may outweigh named inclusion criteria (e.g. a title naming an
    # out-of-scope programme outweighs body-text evidence)
    outweighed: dict[str, str] = {}
    met_inclusion = {c.criterion for c in met["inclusion"]}
    for crit, check in zip(applying["exclusion"], checks["exclusion"], strict=True):
        if check.met:
            for ref in crit.overrides:
                if ref in met_inclusion:
                    outweighed.setdefault(ref, crit.id)
    for c in met["inclusion"]:
        if c.criterion in outweighed:
            c.decision = "not_met"
            c.reason += f" — outweighed by {outweighed[c.criterion]}"
    met["inclusion"] = [c for c in met["inclusion"] if c.criterion not in outweighed]
    ids = {t: _listing(c.criterion for c in cs) for t, cs in met.items()}
    if met["inclusion"] and not met["exclusion"]:
        verdict, why, basis = "include", f"inclusion criteria met: {ids['inclusion']}", met["inclusion"][0]
    elif met["inclusion"]:
        verdict, basis = "maybe", met["exclusion"][0]
        why = (f"inclusion criteria met ({ids['inclusion']}) but so are exclusion criteria ({ids['exclusion']}): "
               "a reviewer decides")
    elif met["exclusion"]:
        verdict, basis = "exclude", met["exclusion"][0]
        why = f"no inclusion criterion met; exclusion criteria met: {ids['exclusion']}"
        if met["possible"]:
            why += f" (outweighing possible-inclusion criteria {ids['possible']})"
    elif met["possible"]:
        verdict, why, basis = "maybe", f"possible inclusion: {ids['possible']} — a reviewer decides", met["possible"][0]
    else:
        verdict, basis = "maybe", None
        why = "no content criterion decided (none of inclusion, possible or exclusion met): a reviewer decides"
    not_met = [c.criterion for t in ("inclusion", "possible", "exclusion") for c in checks[t]
               if not c.met and c.criterion not in outweighed]
    if outweighed:
        why += f" (outweighed: {_listing(f'{k} by {v}' for k, v in outweighed.items())})"
    if not_met:
        why += f" (not met: {_listing(not_met)})"
    summary = Check("content", "content", verdict, why, basis.page if basis else None,
                    basis.evidence if basis else "")
    listed = [c for t in ("inclusion", "possible", "exclusion") for c in checks[t]]
    return [summary, *listed]


def quality(doc: _Doc, protocol: Protocol, content_checks: list[Check] | None = None
            ) -> tuple[list[Check], float | None]:
    """The quality appraisal: its verdict (criterion 'quality'), one check per criterion, a score.

    The score is the share of quality criteria met. A required criterion not met excludes
    the report; a score below the protocol's `quality_min_score` sends it to a reviewer.
    A record holding none of its evaluation's entries is not appraised (see `_without_entries`).
    """
    criteria = [c for c in protocol.quality if c.applies(doc.kind)]
    if not criteria:
        return [], None
    judged = _without_entries(doc, protocol, criteria, content_checks or [])
    if judged is not None:
        return judged, None
    checks = []
    for c in criteria:
        ch = _criterion_check(c, doc, protocol, "quality")
        if not ch.met:
            ch.decision = "exclude" if c.required else "maybe"
        checks.append(ch)
    score = round(sum(1 for c in checks if c.met) / len(checks), 3)
    failed_required = [c for c, q in zip(checks, criteria, strict=True) if q.required and not c.met]
    met = _listing(c.criterion for c in checks if c.met) or "none"
    if failed_required:
        f = failed_required[0]
        summary = Check("quality", "quality", "exclude",
                        f"a required quality criterion is not met ({_listing(c.criterion for c in failed_required)}):"
                        f" {f.reason}", f.page, f.evidence)
    elif score < protocol.quality_min_score:
        summary = Check("quality", "quality", "maybe",
                        f"quality score {score:.2f} (met: {met}) is below the protocol's "
                        f"{protocol.quality_min_score:.2f}: a reviewer decides")
    else:
        summary = Check("quality", "quality", "include", f"quality score {score:.2f} (met: {met})")
    return [summary, *checks], score


def _without_entries(doc: _Doc, protocol: Protocol, criteria: list[Criterion],
                     content_checks: list[Check]) -> list[Check] | None:
    """A database record holding no recommendation, lesson learned or good practice: its quality
    cannot be appraised from the database (the report may well hold them), so it is judged on what
    the record holds, its metadata — included when every criterion of the protocol's
    `without_entries.include_when` is met, each stated with the field it read; else a reviewer
    decides. None when the rule does not apply (no rule, another kind, or entries held)."""
    rule = protocol.without_entries
    if rule is None or doc.kind not in rule.kinds or doc.description is None or doc.description.items:
        return None
    listed = []
    for c in criteria:
        ch = _criterion_check(c, doc, protocol, "quality")
        if not ch.met:
            ch.decision = "not_met"
            ch.reason += " — not assessable from the database, which holds no entries of this evaluation"
        listed.append(ch)
    met = {c.criterion for c in content_checks if c.met and c.decision == "include"}
    by_id = {c.id: c for c in protocol.criteria.get("inclusion", [])}
    stated = [_stated_by(by_id[i], doc, protocol) for i in rule.include_when if i in met and i in by_id]
    missing = [i for i in rule.include_when if i not in met]
    head = ("not appraised: the database holds none of the evaluation's recommendations, lessons learned or "
            f"good practices ({_listing(c.id for c in criteria)} not assessable), so the record is judged on "
            "its metadata")
    if not missing:
        first = next(c for c in content_checks if c.criterion == rule.include_when[0])
        summary = Check("quality", "quality", "include",
                        f"{head}, which state its subject explicitly — {'; '.join(stated)}; "
                        "the report is appraised when read", first.page, first.evidence)
    else:
        summary = Check("quality", "quality", "maybe",
                        f"{head}: {_listing(missing)} not met"
                        + (f" (met: {'; '.join(stated)})" if stated else "")
                        + f", and all of {_listing(rule.include_when)} are needed: a reviewer decides")
    return [summary, *listed]


def _stated_by(c: Criterion, doc: _Doc, protocol: Protocol) -> str:
    """What a met criterion read, field by field: 'I5 (themes): Social protection, …'."""
    t = c.test
    if t is None:
        return c.id
    fields = [*t.metadata, *(t.where if t.has_terms else [])]
    parts = []
    for key, admitted in t.metadata.items():
        value = doc.meta(key)
        values = [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
        parts.append(_listing([v for v in values if v in admitted] or values))
    if t.has_terms:
        o = run_test(t, doc, protocol)
        parts.append(f"“{doc.title}”" if t.where == ["title"] else o.evidence or o.reason)
    return f"{c.id} ({'/'.join(fields)}): {'; '.join(parts)}"


# --- duplicates ------------------------------------------------------------------------------

BANDS, ROWS = 16, 4


@lru_cache(maxsize=1)
def _hash_params():
    """64 fixed hash functions (a*h + b mod p) for MinHash; numpy is imported only when needed."""
    import numpy as np

    rng = np.random.default_rng(20240601)
    a = rng.integers(1, 1 << 32, size=64, dtype=np.uint64)[:, None]
    b = rng.integers(0, 1 << 32, size=64, dtype=np.uint64)[:, None]
    return a, b, np.uint64(4294967311)  # a prime above 2^32: products stay below 2^64


def minhash(tokens: list[str]) -> np.ndarray | None:
    """A 64-value MinHash signature of the 5-word shingles of `tokens` (None when too short)."""
    import numpy as np

    if len(tokens) < SHINGLE * 4:
        return None
    shingles = {" ".join(tokens[i:i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}
    # crc32, not hash(): the same text must give the same decision in every run
    h = np.fromiter((zlib.crc32(s.encode()) for s in shingles), dtype=np.uint64, count=len(shingles))
    a, b, p = _hash_params()
    return ((a * h[None, :] + b) % p).min(axis=1)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float((a == b).mean())


def _norm_title(title: str) -> str:
    return " ".join(T.words(title or ""))


@dataclass
class _Light:
    """What later passes need about a document, kept for every document."""

    sha256: str
    source: str
    format: str
    title: str
    chars: int
    year: int | None
    mtime: float
    timing: str | None
    evaluator_type: str | None
    evaluation_type: str | None
    project_codes: list[str]
    kind: str | None
    record: str | None = None  # a database record's evaluation number


#: The kind of a database record (whatworks.read.ieval), and the kind of report it is linked to.
RECORD_KIND, REPORT_KIND = "database_record", "evaluation_report"


def same_evaluation(lights: dict[str, _Light], dups: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """sha256 → (kept sha256, reason) for database records of an evaluation already counted: another
    record of the same evaluation number (the one with more text is kept), or the full report of
    the same evaluation (kept: it is the richer source) — found by its evaluation number, its
    project code at the same timing, or a near-identical title. An evaluation is counted once."""
    out: dict[str, tuple[str, str]] = {}
    records = [d for s, d in lights.items() if d.kind == RECORD_KIND and s not in dups]
    by_number: dict[str, list[_Light]] = defaultdict(list)
    for d in records:
        if d.record:
            by_number[d.record].append(d)
    for number, same in by_number.items():
        if len(same) > 1:
            kept = max(same, key=lambda d: (d.chars, -len(d.source)))
            for d in same:
                if d is not kept:
                    out[d.sha256] = (kept.sha256, f"the same evaluation (number {number}) as the database record "
                                                  f"{kept.source}, which holds more of it ({kept.chars:,} vs "
                                                  f"{d.chars:,} characters)")
    reports = [d for s, d in lights.items() if d.kind == REPORT_KIND and s not in dups]
    if not reports:
        return out
    stop = {T.fold_word(w) for w in vocab.load("screen").terms("title_stopwords")}

    def key(title: str) -> str:
        words = [w for w in T.words(title) if w not in stop]
        return " ".join(words) if len(words) >= 3 else ""

    by_code: dict[str, list[_Light]] = defaultdict(list)
    titles = [(key(rep.title), rep) for rep in reports]
    for rep in reports:
        for code in rep.project_codes:
            by_code[code].append(rep)
    for d in records:
        if d.sha256 in out:
            continue
        found: tuple[_Light, str] | None = None
        for code in d.project_codes:
            rep = next((r for r in by_code.get(code, []) if d.timing == r.timing or not r.timing), None)
            if rep is not None:
                found = (rep, f"the same project code ({code}) and timing ({d.timing or 'not stated'})")
                break
        mine = key(d.title) if found is None else ""
        for theirs, rep in titles if mine else []:
            if not theirs or (d.timing and rep.timing and d.timing != rep.timing):
                continue
            sm = difflib.SequenceMatcher(None, mine, theirs)
            if sm.real_quick_ratio() >= 0.9 and sm.quick_ratio() >= 0.9 and sm.ratio() >= 0.9:
                found = (rep, f"a near-identical title ({sm.ratio():.0%} alike once 'mid-term', 'final', "
                              "'evaluation'… are left out)")
                break
        if found:
            rep, why = found
            out[d.sha256] = (rep.sha256, f"the database record of the evaluation whose full report is "
                                         f"{rep.source}: {why}; the report is kept, so the evaluation is "
                                         "counted once")
    return out


def near_duplicates(lights: dict[str, _Light], sigs: dict[str, np.ndarray]) -> dict[str, tuple[str, str]]:
    """sha256 → (kept sha256, reason) for documents that are another copy of a kept one."""
    buckets: dict[tuple[int, bytes], list[str]] = defaultdict(list)
    for sha, sig in sigs.items():
        for band in range(BANDS):
            buckets[(band, sig[band * ROWS:(band + 1) * ROWS].tobytes())].append(sha)
    parent = {sha: sha for sha in sigs}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    sims: dict[frozenset[str], float] = {}
    for members in buckets.values():
        if len(members) < 2:
            continue
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                key = frozenset((a, b))
                if key in sims:
                    continue
                sim = similarity(sigs[a], sigs[b])
                sims[key] = sim
                same_title = _norm_title(lights[a].title) == _norm_title(lights[b].title)
                if sim >= NEAR_SAME or (same_title and sim >= NEAR_SAME_TITLE):
                    parent[find(a)] = find(b)
    groups: dict[str, list[str]] = defaultdict(list)
    for sha in sigs:
        groups[find(sha)].append(sha)
    out: dict[str, tuple[str, str]] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        longest = max(lights[m].chars for m in members)

        def rank(m: str, longest: int = longest) -> tuple:
            d = lights[m]
            return (d.chars >= 0.95 * longest, d.year or 0, FORMAT_RANK.get(d.format, 0), d.mtime, d.chars,
                    -len(d.source))

        kept = max(members, key=rank)
        k = lights[kept]
        for m in members:
            if m == kept:
                continue
            d = lights[m]
            sim = sims.get(frozenset((m, kept)))
            if sim is None:
                sim = similarity(sigs[m], sigs[kept])
            why = []
            if k.chars >= 0.95 * longest and d.chars < 0.95 * longest:
                why.append(f"it is more complete ({k.chars:,} vs {d.chars:,} characters)")
            elif (k.year or 0) > (d.year or 0):
                why.append(f"it is newer ({k.year} vs {d.year})")
            elif FORMAT_RANK.get(k.format, 0) > FORMAT_RANK.get(d.format, 0):
                why.append(f"its format ({k.format}) keeps more structure than {d.format}")
            else:
                why.append("it is the newest or most complete copy")
            same_title = _norm_title(k.title) == _norm_title(d.title)
            out[m] = (kept, f"the same report as {k.source}: {'the same title and ' if same_title else ''}"
                            f"{sim:.0%} of its text in common (MinHash of {SHINGLE}-word shingles); "
                            f"kept {Path(k.source).name} because {why[0]}")
    return out


# --- the screen -------------------------------------------------------------------------------


@dataclass
class ScreenSummary:
    records: int = 0
    documents: int = 0
    decisions: Counter = field(default_factory=Counter)  # final decisions (human wins)
    stages: Counter = field(default_factory=Counter)
    human: int = 0
    seconds: float = 0.0
    maybe: list[str] = field(default_factory=list)  # sources a human should look at
    checked: int = 0  # documents whose checks were run this time (the others' were unchanged: cached)

    def line(self) -> str:
        d = self.decisions
        return (f"{self.records} records: {d['include']} include, {d['maybe']} maybe, {d['exclude']} exclude, "
                f"{d['duplicate']} duplicate, {d['error']} error"
                + (f" ({self.stages['supplementary']} of the included supplementary)" if self.stages['supplementary'] else "")
                + (f"; {self.human} human decision(s) kept" if self.human else "")
                + f" — {self.seconds:.1f} s")


def _records(store: Store) -> list[dict[str, Any]]:
    """Every file found (read or failed), plus documents stored without a file row."""
    out = [{"source": r["path"], "sha256": r["sha256"], "status": r["status"], "error_code": r["error_code"],
            "error": r["error"], "fix": r["fix"], "mtime": r["mtime"]} for r in docs.file_rows(store)]
    known = {r["sha256"] for r in out if r["status"] == "read"}
    paths = {r["source"] for r in out}
    for r in docs.document_rows(store):
        # (a document whose file now holds another version is that file's past, not a record)
        if r["sha256"] not in known and r["source"] not in paths:
            out.append({"source": r["source"], "sha256": r["sha256"], "status": "read", "error_code": None,
                        "error": None, "fix": None, "mtime": 0.0})
            known.add(r["sha256"])
    return out


def _shortlist(store: Store, protocol: Protocol) -> dict[str, tuple[int, str, int | None, str]]:
    """sha256 → (matching passages, query, page, text of the first match) for the keyword queries."""
    out: dict[str, tuple[int, str, int | None, str]] = {}
    firsts: dict[str, int] = {}
    for lang, queries in protocol.queries.items():
        langs = (lang,) if lang in S.STEM_LANGUAGES else S.STEM_LANGUAGES
        for q in queries:
            try:
                query = index_store.Query(S.parse(q, langs))
            except QueryError as e:
                log.warning("protocol query %r cannot run: %s", q, e)
                continue
            for sha, (n, first) in index_store.match_counts(store, query).items():
                prev = out.get(sha)
                if prev is None or n > prev[0]:
                    out[sha] = (n, q, None, "")
                    firsts[sha] = first
    first_rows = {r["id"]: r for r in index_store.passage_rows(store, ids=sorted(set(firsts.values())))}
    for sha, pid in firsts.items():
        n, q, _, _ = out[sha]
        row = first_rows.get(pid)
        if row is not None:
            out[sha] = (n, q, row["page"], _excerpt(row["text"], q.strip('"')))
    return out


def _project_codes(value: Any) -> list[str]:
    out = []
    for c in value or []:
        code = c.get("code") if isinstance(c, dict) else c
        if code:
            out.append(str(code).upper())
    return out


def _same_project(a: _Light, b: _Light) -> str | None:
    shared = set(a.project_codes) & set(b.project_codes)
    if shared:
        return f"the same project code ({_listing(sorted(shared))})"
    stop = {T.fold_word(w) for w in vocab.load("screen").terms("title_stopwords")}
    ta = [w for w in T.words(a.title) if w not in stop]
    tb = [w for w in T.words(b.title) if w not in stop]
    if len(ta) >= 3 and len(tb) >= 3:
        ratio = difflib.SequenceMatcher(None, " ".join(ta), " ".join(tb)).ratio()
        if ratio >= 0.9:
            return f"a near-identical title ({ratio:.0%} alike once 'mid-term', 'final', 'evaluation'… are left out)"
    return None


def _decide(checks: list[Check], shortlisted: bool) -> tuple[str, str]:
    """The record's decision and the stage it was taken at: any exclusion wins (first stage
    first), then any 'maybe'; content and quality speak through their summary checks."""
    if not shortlisted:
        return "exclude", "search"
    stages = ("eligibility", "content", "quality")

    def verdicts(stage: str) -> list[str]:
        if stage == "eligibility":
            return [c.decision for c in checks if c.stage == stage]
        return [c.decision for c in checks if c.criterion == stage]

    for wanted in ("exclude", "maybe"):
        for stage in stages:
            if wanted in verdicts(stage):
                return wanted, stage
    return "include", "included"


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """The screening code and vocabulary: a change in either redoes every cached check."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for path in (here / "screen.py", here / "protocol.py", here / "search.py", here / "text.py",
                 DATA / "screen.yaml",
                 DATA / "screen_labels.yaml"):
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(path.name.encode())
    return h.hexdigest()


def _cache_key(fingerprint: str, row: Any, described: Any, shortlist: Any) -> str:
    """What one document's checks are computed from: code, protocol, document, description, search hits."""
    h = hashlib.sha256(fingerprint.encode())
    h.update(repr((tuple(row), described, shortlist)).encode())
    return h.hexdigest()


def screen(store: Store, protocol: Protocol) -> ScreenSummary:
    """Screen every record of the review against its protocol (see the module doc). The search
    index must be current (whatworks.search.index)."""
    t0 = time.perf_counter()
    _TERMS_CACHE.clear()
    records = _records(store)
    doc_rows = {r["sha256"]: r for r in docs.document_rows(store)}
    # the same file under several names: the oldest copy (the original, as far as we can tell) carries it
    primary: dict[str, str] = {}
    best: dict[str, tuple] = {}
    for r in records:
        sha = r["sha256"]
        if r["status"] == "read" and sha in doc_rows:
            key = (r["mtime"] or 0.0, len(r["source"]), r["source"])
            if sha not in best or key < best[sha]:
                best[sha], primary[sha] = key, r["source"]
    mtimes = {r["sha256"]: r["mtime"] or 0.0 for r in records if r["sha256"] and r["source"] == primary.get(r["sha256"])}
    shortlist = _shortlist(store, protocol)

    # pass 1: per-document checks (one document in memory at a time). They depend on nothing but
    # the document, its description and search hits, the protocol and this code, so they are kept
    # in screen_cache and reused while all of these are unchanged.
    lights: dict[str, _Light] = {}
    sigs: dict[str, np.ndarray] = {}
    results: dict[str, tuple[list[Check], float | None, bool]] = {}
    fingerprint = hashlib.sha256((_code_fingerprint() + repr(protocol)).encode()).hexdigest()
    # a document's checks follow its description and its reviewers' corrections
    fixed: dict[str, list] = {}
    for r in corrections_store.rows(store):
        fixed.setdefault(r["sha256"], []).append((r["target"], r["key"], r["corrected_at"]))
    described = {sha: (r["updated_at"], r["version"], tuple(sorted(fixed.get(sha, []))))
                 for sha, r in docs.description_stamps(store).items()}
    cache = records_store.cache_rows(store)
    fresh: list[tuple[str, str, bytes]] = []
    todo: list[tuple[str, str]] = []
    for sha in primary:
        key = _cache_key(fingerprint, doc_rows[sha], described.get(sha), shortlist.get(sha))
        hit = cache.get(sha)
        if hit is not None and hit[0] == key:
            try:
                checks, score, shortlisted, light, sig = pickle.loads(hit[1])
            except Exception as e:  # noqa: BLE001 - an unreadable cache entry is simply redone
                log.debug("screen cache entry for %s unreadable: %s", sha[:12], e)
            else:
                if sig is not None:
                    sigs[sha] = sig
                light.source, light.mtime = primary[sha], mtimes.get(sha, 0.0)
                lights[sha] = light
                results[sha] = (checks, score, shortlisted)
                continue
        todo.append((sha, key))
    computed = _check_in_workers(store, protocol, [(doc_rows[sha], shortlist.get(sha), primary[sha],
                                                 mtimes.get(sha, 0.0)) for sha, _ in todo])
    for sha, key in todo:
        if sha in computed:
            checks, score, shortlisted, light, sig = computed[sha]
            lights[sha] = light
            if sig is not None:
                sigs[sha] = sig
        else:
            checks, score, shortlisted = _screen_document(store, doc_rows[sha], protocol, shortlist, lights, sigs,
                                                          primary[sha], mtimes.get(sha, 0.0))
        results[sha] = (checks, score, shortlisted)
        fresh.append((sha, key, pickle.dumps((checks, score, shortlisted, lights[sha], sigs.get(sha)),
                                             protocol=pickle.HIGHEST_PROTOCOL)))
    if fresh:
        records_store.save_cache(store, fresh)
    log.info("screen: %d document(s) checked, %d unchanged (cached)", len(fresh), len(primary) - len(fresh))

    # pass 2: near-duplicates (same report in two formats or versions)
    dups = near_duplicates(lights, sigs)
    dups.update(same_evaluation(lights, dups))
    summary = _finish(store, protocol, t0, records, doc_rows, primary, lights, results, dups)
    summary.checked = len(fresh)
    return summary


#: At least this many documents to check before pass 1 is spread over worker processes.
PARALLEL_MIN = 40


def _check_in_workers(store: Store, protocol: Protocol, items: list[tuple[Any, Any, str, float]],
                      jobs: int | None = None) -> dict[str, tuple]:
    """Pass 1 for many documents at once, in the executor's worker processes (the ones that just
    read the reports are still warm), each reading the SQLite file itself: the first screening of
    a large corpus would otherwise use one core. sha256 → (checks, score, shortlisted, light, sig);
    a document missing from the result (a failed chunk, or too few to be worth it) is checked here.
    """
    from whatworks import executor

    jobs = jobs or executor.default_jobs()
    if len(items) < PARALLEL_MIN or jobs < 2 or store.dialect != "sqlite":
        return {}
    size = max(5, -(-len(items) // (jobs * 4)))
    tasks = [(str(store.path), protocol, [(dict(row), sl, source, mtime) for row, sl, source, mtime in items[i:i + size]])
             for i in range(0, len(items), size)]
    out: dict[str, tuple] = {}
    for result in executor.run(_screen_chunk, tasks, jobs=jobs, on_failure=lambda task, code, message: None):
        if isinstance(result, list):
            out.update((r[0], r[1:]) for r in result)
    return out


def _screen_chunk(task: tuple[str, Protocol, list[tuple[dict, Any, str, float]]]) -> list[tuple] | str:
    """Worker side of `_check_in_workers`: pass 1 for a chunk of documents (errors come back as text)."""
    path, protocol, items = task
    _TERMS_CACHE.clear()
    try:
        store = Store(path)
    except Exception as e:  # noqa: BLE001 - the caller checks these documents itself
        return f"{type(e).__name__}: {e}"
    try:
        out = []
        for row, sl, source, mtime in items:
            sha = row["sha256"]
            lights: dict[str, _Light] = {}
            sigs: dict[str, np.ndarray] = {}
            checks, score, shortlisted = _screen_document(store, row, protocol, {sha: sl} if sl else {}, lights,
                                                          sigs, source, mtime)
            out.append((sha, checks, score, shortlisted, lights[sha], sigs.get(sha)))
        return out
    except Exception as e:  # noqa: BLE001 - as above
        return f"{type(e).__name__}: {e}"
    finally:
        store.close()


def _screen_document(store: Store, row: Any, protocol: Protocol, shortlist: dict[str, Any],
                     lights: dict[str, _Light], sigs: dict[str, np.ndarray], source: str,
                     mtime: float) -> tuple[list[Check], float | None, bool]:
    """Pass 1 for one document: its MinHash signature, what later passes need, and its checks."""
    sha = row["sha256"]
    doc = _load_doc(store, row)
    doc.mtime = mtime
    sig = minhash([t for p in doc.passages for t in p.toks])  # all the text, whatever its sections
    if sig is not None:
        sigs[sha] = sig
    lights[sha] = _Light(sha, source, doc.format, doc.title, doc.chars,
                         doc.meta("year") if isinstance(doc.meta("year"), int) else None, doc.mtime,
                         doc.meta("timing"), doc.meta("evaluator_type"), doc.meta("evaluation_type"),
                         _project_codes(doc.meta("project_codes")), doc.kind,
                         str(doc.meta("record")) if doc.meta("record") else None)
    checks: list[Check] = []
    sl = shortlist.get(sha)
    title_hit = _title_query_hit(doc, protocol)
    if sl and sl[0] >= protocol.shortlist_min:
        checks.append(Check("shortlist", "search", "include",
                            f"{sl[0]} passage(s) match the query {sl[1]}", sl[2], sl[3]))
        shortlisted = True
    elif title_hit:
        checks.append(Check("shortlist", "search", "include", f"the title matches the query {title_hit}",
                            1, doc.title))
        shortlisted = True
    else:
        found = f"only {sl[0]} passage(s) match {sl[1]}, fewer than {protocol.shortlist_min}" if sl else \
            "no passage matches any of them"
        checks.append(Check("shortlist", "search", "exclude",
                            f"not found by the keyword search ({_listing(protocol.query_terms()[:6])}"
                            f"{'…' if len(protocol.query_terms()) > 6 else ''}): {found}",
                            sl[2] if sl else None, sl[3] if sl else f"searched {len(doc.passages)} passages"))
        shortlisted = False
    checks += eligibility(doc, protocol)
    checks += content(doc, protocol)
    for c in checks:  # a reviewer's correction shows in the reason of the check it decides
        if c.criterion in doc.corrected:
            c.reason = f"{c.reason} ({doc.corrected[c.criterion]})"
    score = None
    decision, _ = _decide(checks, shortlisted)
    if decision != "exclude":  # appraise what is kept
        q, score = quality(doc, protocol, checks)
        checks += q
    return checks, score, shortlisted


def _finish(store: Store, protocol: Protocol, t0: float, records: list[dict[str, Any]], doc_rows: dict[str, Any],
            primary: dict[str, str], lights: dict[str, _Light],
            results: dict[str, tuple[list[Check], float | None, bool]],
            dups: dict[str, tuple[str, str]]) -> ScreenSummary:
    """Pass 3 and the tables: decisions, supplementary midterms, rows written, the summary."""
    # pass 3: decisions, then midterms superseded by an included final evaluation
    decided: dict[str, tuple[str, str]] = {}
    for sha, (checks, _score, shortlisted) in results.items():
        decided[sha] = ("duplicate", "duplicate") if sha in dups else _decide(checks, shortlisted)
    human = {sha: r["human_decision"] for sha, r in records_store.final_decisions(store).items()
             if r["human_decision"] is not None}
    supersede: dict[str, Check] = {}
    if protocol.supersede_midterm:
        finals = [s for s, (d, _) in decided.items()
                  if human.get(s, d) == "include" and lights[s].timing == "final"]
        for sha, (d, _stage) in decided.items():
            if human.get(sha, d) != "include" or lights[sha].timing != "midterm":
                continue
            for f in finals:
                why = _same_project(lights[sha], lights[f])
                if why:
                    supersede[sha] = Check("supersede", "supplementary", "include",
                                           f"a midterm evaluation of a project whose final evaluation is included "
                                           f"({lights[f].source}): {why}; kept as a supplementary report",
                                           1, lights[f].title)
                    break

    now = time.time()
    rows, crit_rows = [], []
    for r in records:
        sha, source = r["sha256"], r["source"]
        if r["status"] != "read" or sha not in doc_rows:
            reason = f"{r['error_code'] or 'failed'}: {r['error'] or 'the file could not be read'}" + \
                (f" — {r['fix']}" if r["fix"] else "")
            c = Check("read", "error", "exclude", reason, None, r["error"] or "")
            rows.append(_record(source, sha, 1, "error", "error", None, None, [c]))
            continue
        if primary[sha] != source:
            c = Check("duplicate", "duplicate", "exclude",
                      f"the same file (sha256 {sha[:12]}…) as {primary[sha]}", None, primary[sha])
            rows.append(_record(source, sha, 0, "duplicate", "duplicate", primary[sha], None, [c]))
            continue
        checks, score, _ = results[sha]
        decision, stage = decided[sha]
        dup_of = None
        if sha in dups:
            kept, why = dups[sha]
            dup_of = lights[kept].source
            checks = [Check("duplicate", "duplicate", "exclude", why, None, lights[kept].title), *checks]
        elif sha in supersede:
            checks = [*checks, supersede[sha]]
            stage = "supplementary"
        # unmet criteria are named in the 'content' reason; possible-inclusion criteria matter
        # only when no inclusion criterion decided
        content_verdict = next((c.decision for c in checks if c.criterion == "content"), None)
        shown = [c for c in checks if c.decision != "not_met"
                 and not (c.tier == "possible" and content_verdict == "include")]
        rows.append(_record(source, sha, 1, decision, stage, dup_of, score, shown))
        crit_rows += [{"sha256": sha, "criterion": c.criterion, "position": k, "stage": c.stage,
                       "decision": c.decision, "reason": c.reason, "page": c.page, "evidence": c.evidence}
                      for k, c in enumerate(checks)]
    for row in rows:
        row.update(protocol=protocol.name, screened_at=now)
    with store.transaction():
        store.set_meta("screen.criteria", json.dumps(
            {c.id: c.text for c in [*protocol.all_criteria(), *protocol.quality]}, ensure_ascii=False))
        records_store.replace_records(store, rows, crit_rows)
    report_ids(store)  # number newly included reports
    summary = ScreenSummary(records=len(rows), documents=len(primary), seconds=time.perf_counter() - t0)
    for r in records_store.final_rows(store):
        summary.decisions[r["decision"]] += 1
        summary.stages[r["stage"]] += 1
        summary.human += r["human_decision"] is not None
        if r["decision"] == "maybe":
            summary.maybe.append(r["source"])
    log.info("screen: %s", summary.line())
    return summary


def _record(source: str, sha: str | None, primary: int, decision: str, stage: str, duplicate_of: str | None,
            score: float | None, checks: list[Check]) -> dict[str, Any]:
    return {"source": source, "sha256": sha, "is_primary": primary, "decision": decision, "stage": stage,
            "duplicate_of": duplicate_of, "quality_score": score,
            "reasons": json.dumps([c.to_dict() for c in checks], ensure_ascii=False)}


def _title_query_hit(doc: _Doc, protocol: Protocol) -> str | None:
    """A keyword query found in the title (titles are short: one match is enough)."""
    for lang, queries in protocol.queries.items():
        for q in queries:
            phrases = re.findall(r'"([^"]+)"', q) or [q]
            for ph in phrases:
                pat = compile_pattern(ph, lang)
                if pat and _found(pat, doc.title_passage.stems(lang), doc.title_passage.toks,
                                  doc.title_passage.stemset(lang)):
                    return q
    return None


# --- results -------------------------------------------------------------------------------------


def screen_results(store: Store, visible: list[str] | None = None) -> list[dict[str, Any]]:
    """One dict per record, the JSON lines of `whatworks screen --json` (docs/screen-json.md)."""
    ids = report_ids(store)
    people: dict[str, list[dict[str, Any]]] = {}
    for r in records_store.decision_rows(store):
        if visible is None or r["reviewer"] in visible:
            people.setdefault(r["sha256"], []).append(r)
    resolutions = {r["sha256"]: r for r in records_store.resolution_rows(store)}
    doc_rows = {r["sha256"]: r for r in docs.document_rows(store)}
    numbers = _record_numbers(store, [s for s, r in doc_rows.items() if r["format"] == "ieval"])
    out = []
    for r in records_store.final_rows(store, visible):
        reasons = json.loads(r["reasons"])
        if r["is_primary"] and r["human_decision"] is not None:
            res = resolutions.get(r["sha256"])
            if res is not None and (visible is None or res["lead"] in visible):
                said = [f"{res['reason'] or res['decision']} (lead {res['lead']}, resolving a conflict)"]
            else:
                said = [f"{p['reason'] or p['decision']} ({p['role']} {p['reviewer']}: {p['decision']})"
                        for p in people.get(r["sha256"], [])]
            reasons.insert(0, {"criterion": "human", "decision": r["human_decision"], "reason": "; ".join(said),
                               "evidence": {"page": None, "text": ""}})
        out.append({
            "source": r["source"],
            "sha256": r["sha256"],
            "decision": r["decision"],
            "stage": r["stage"],
            "reasons": reasons,
            "machine_decision": r["machine_decision"],
            "human_decision": r["human_decision"],
            "quality_score": r["quality_score"],
            "report_id": ids.get(r["sha256"]) if r["is_primary"] and r["decision"] == "include" else None,
            "duplicate_of": r["duplicate_of"],
            "title": (doc_rows.get(r["sha256"]) or {}).get("title"),
            "record": numbers.get(r["sha256"]),
        })
    return out


def _record_numbers(store: Store, shas: list[str]) -> dict[str, str]:
    """sha256 → the database's evaluation number, for database records."""
    out = {}
    for sha, d in corrections.effective_descriptions(store, shas).items():
        v = ((d.get("metadata") or {}).get("record") or {}).get("value")
        if v:
            out[sha] = str(v)
    return out


def included(store: Store, visible: list[str] | None = None) -> list[str]:
    """sha256 of every report finally included (supplementary ones too: see `supplementary`)."""
    return records_store.included(store, visible)


def quality_scores(store: Store, visible: list[str] | None = None) -> dict[str, float | None]:
    """sha256 → the quality appraisal's score of each record (None where not appraised)."""
    return {sha: r["quality_score"] for sha, r in records_store.final_decisions(store, visible).items()}


def supplementary(store: Store) -> list[str]:
    """The included reports kept to complement others (midterms of projects with a final evaluation)."""
    return records_store.included(store, stage="supplementary")


def report_ids(store: Store) -> dict[str, str]:
    """Short ids of the included reports, as in the seed's Annex II: E1, E2… for independent or
    external evaluations, I-1, I-2… for internal and self-evaluations. Stored, so a report keeps
    its id across re-runs; new reports get the next free number."""
    rows = [r for r in records_store.final_rows(store) if r["is_primary"] and r["decision"] == "include"]
    have = records_store.report_id_rows(store)
    new = [r for r in rows if r["sha256"] not in have]
    if new:
        described = corrections.effective_descriptions(store, [r["sha256"] for r in new])
        facets = index_store.facet_rows(store, [r["sha256"] for r in new])
        nums = {s: records_store.max_report_number(store, s) for s in "EI"}

        def series(sha: str) -> str:
            meta = (described.get(sha) or {}).get("metadata") or {}
            ev = (meta.get("evaluator_type") or {}).get("value") if isinstance(meta, dict) else None
            return "I" if ev in ("internal", "self") else "E"

        new.sort(key=lambda r: ((facets.get(r["sha256"]) or {}).get("year") or 0, r["source"]))
        added = []
        for r in new:
            s = series(r["sha256"])
            nums[s] += 1
            rid = f"E{nums[s]}" if s == "E" else f"I-{nums[s]}"
            added.append((r["sha256"], rid, s, nums[s]))
            have[r["sha256"]] = rid
        with store.transaction():
            records_store.add_report_ids(store, added)
    current = {r["sha256"] for r in rows}
    return {sha: rid for sha, rid in have.items() if sha in current}


def criteria_rows(store: Store, sha256: str) -> list[dict[str, Any]]:
    """The checks of one document, in the order they were made."""
    return records_store.criteria_rows(store, sha256)
