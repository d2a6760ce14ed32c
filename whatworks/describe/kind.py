"""What a document is: an evaluation report, its brief, its terms of reference, an audit…

A transparent scored rule system, not a model. Every kind gets points from rules a reviewer can
read (and change, in whatworks/data/kinds.yaml):

- the title, the file name and the top of the first page name the kind ("Evaluation Brief",
  "Termes de référence", "Management Response Matrix") — the strongest signal;
- phrases in the first pages ("the consultant will", "Project Highlights", "audit criteria");
- how the document names itself ("this study…", "this evaluation…");
- its build: length, and the sections found by describe.sections (findings, recommendations…).

The kind with most points wins; the confidence grows with its lead over the runner-up, and the
evidence is the passage behind its strongest rule. `explain()` lists every rule that fired.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from whatworks import vocab
from whatworks.model import DOCUMENT_KINDS, Document, Evidence, Item, Section, Value
from whatworks.text import fold

log = logging.getLogger(__name__)

KINDS = DOCUMENT_KINDS
#: Kinds that belong to an evaluation (they carry its timing, evaluator and type).
EVALUATION_KINDS = ("evaluation_report", "evaluation_brief", "management_response", "terms_of_reference",
                    "inception_report", "annex")
#: How much a title phrase counts, by where it was found.
SOURCE_WEIGHT = {"title": 1.0, "filename": 0.8, "top": 0.7}
#: Characters of the first page(s) treated as "the top" (cover and title page).
TOP_CHARS = 600
#: Characters read for body phrases and self-references.
HEAD_CHARS = 30_000
#: Below this many points no kind is claimed: "other".
MIN_SCORE = 1.5
#: Sections that make a report of findings.
REPORT_SECTIONS = ("findings", "conclusions", "recommendations", "lessons_learned")


# --- reading the document once ------------------------------------------------------------


class DocView:
    """The text of a document as one string, with the page of every character."""

    def __init__(self, document: Document, sections: list[Section] | None = None):
        self.document = document
        blocks = document.blocks
        parts, starts, pages = [], [], []
        pos = 0
        for b in blocks:
            starts.append(pos)
            pages.append(b.page)
            parts.append(b.text)
            pos += len(b.text) + 1
        self.text = "\n".join(parts)
        self.block_starts = starts
        self.block_pages = pages
        self.n_pages = len(document.pages)
        self.paged = document.format in ("pdf", "docx") and self.n_pages > 1
        self.title = clean_title(document.title or "")
        if self.title and document.format in ("pdf", "docx") and not confirmed(self.title, document):
            # a file's stored title is often left over from another report: believed only
            # when the first pages say it too
            log.debug("%s: stored title %r is not on its first pages; not used", document.source, self.title)
            self.title = ""
        self.heading = next((b.text.strip() for b in blocks[:40] if b.kind == "heading" and b.text.strip()), "")
        stem = Path(document.source).stem if document.source else ""
        self.filename = re.sub(r"[_]+", " ", stem).strip()
        self.top = self.text[:TOP_CHARS]
        self.head = self.text[:HEAD_CHARS]
        self.annex_from = len(self.text)  # where annexes, references and lists of people start
        for s in sections or []:
            if s.kind in ("annex", "references", "people_met", "terms_of_reference") and s.block_start < len(starts):
                start = starts[s.block_start]
                if start > len(self.text) * 0.3:
                    self.annex_from = min(self.annex_from, start)

    def page_at(self, offset: int) -> int | None:
        if not self.block_starts:
            return None
        i = bisect.bisect_right(self.block_starts, offset) - 1
        return self.block_pages[max(i, 0)]

    def passage(self, start: int, end: int, width: int = 160) -> str:
        """The line (or sentence) around a match, verbatim, at most about `width` characters."""
        text = self.text
        a = text.rfind("\n", 0, start) + 1
        b = text.find("\n", end)
        b = len(text) if b < 0 else b
        if b - a > width:
            a = max(a, start - width // 2)
            b = min(b, end + width // 2)
            dot = text.rfind(". ", a, start)
            a = dot + 2 if dot >= 0 else a
        return text[a:b].strip()

    def evidence(self, start: int, end: int) -> Evidence:
        return Evidence(self.page_at(start), self.passage(start, end))

    def title_sources(self) -> list[tuple[str, str]]:
        """(source, text) pairs where a document names itself."""
        title = " / ".join(t for t in dict.fromkeys((self.title, self.heading)) if t)
        return [("title", title), ("filename", self.filename), ("top", self.top)]


#: Pages whose text must hold most of a file's stored title for it to be believed.
CONFIRM_PAGES = 2


def confirmed(title: str, document: Document) -> bool:
    """Whether most words of a stored title (PDF or DOCX document properties) are on the first
    pages: properties are often left over from the report a file was copied from."""
    words = {w for w in re.findall(r"[^\W\d_]{4,}", fold(title))}
    if not words:
        return True
    first = {p.number for p in document.pages[:CONFIRM_PAGES]}
    text = fold(" ".join(b.text for b in document.blocks if b.page in first or not first))
    on_page = set(re.findall(r"[^\W\d_]{4,}", text))
    return len(words & on_page) >= 0.7 * len(words)


def clean_title(title: str) -> str:
    """A title without the site name ("… - Canada.ca") or the word processor's prefix."""
    title = re.sub(r"\s+[-|–—]\s+(Canada\.ca|Canada|GOV\.UK|[\w.-]+\.(?:org|int|gov|ca|com))\s*$", "", title.strip())
    title = re.sub(r"^Microsoft (Word|PowerPoint) - ", "", title)
    return re.sub(r"\s+", " ", title).strip()


# --- phrases --------------------------------------------------------------------------------


class PMatch:
    """A phrase found in a text: where, and the text as written."""

    __slots__ = ("_start", "_end", "_text")

    def __init__(self, start: int, end: int, text: str):
        self._start, self._end, self._text = start, end, text

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self, _: int = 0) -> str:
        return self._text


class Phrases:
    """A list of phrases matched at once (a trie regex): accent- and case-blind unless `exact`.

    Phrases starting with "re:" are regular expressions, run on the text as written.
    """

    def __init__(self, phrases: list[str], exact: bool = False):
        from whatworks.describe.places import trie_regex

        self.exact = exact
        literal = sorted({re.sub(r"\s+", " ", p if exact else fold(p)).strip()
                          for p in phrases if p and not p.startswith("re:")})
        self.literal = re.compile(r"(?<!\w)(?:" + trie_regex(literal) + r")(?!\w)") if literal else None
        flags = re.MULTILINE | (0 if exact else re.IGNORECASE)
        self.regexes = [re.compile(p[3:], flags) for p in phrases if p and p.startswith("re:")]

    def finditer(self, text: str) -> list[PMatch]:
        out = []
        if self.literal is not None:
            target = text if self.exact else fold(text)
            out = [PMatch(m.start(), m.end(), text[m.start(): m.end()]) for m in self.literal.finditer(target)]
        for rx in self.regexes:
            out.extend(PMatch(m.start(), m.end(), m.group(0)) for m in rx.finditer(text))
        if self.regexes:
            out.sort(key=lambda m: m.start())
        return out

    def search(self, text: str) -> PMatch | None:
        best = None
        if self.literal is not None:
            m = self.literal.search(text if self.exact else fold(text))
            if m:
                best = PMatch(m.start(), m.end(), text[m.start(): m.end()])
        for rx in self.regexes:
            m = rx.search(text)
            if m and (best is None or m.start() < best.start()):
                best = PMatch(m.start(), m.end(), m.group(0))
        return best

    def findall(self, text: str) -> list[str]:
        return [m.group(0) for m in self.finditer(text)]


class PhraseSet:
    """Several named lists of phrases matched in one pass: `finditer` gives (name, match) pairs.

    One trie for all the lists costs one scan of the text instead of one scan per list.
    """

    def __init__(self, groups: dict[str, list[str]], exact: bool = False):
        from whatworks.describe.places import trie_regex

        self.exact = exact
        self.owners: dict[str, list[str]] = {}
        self.regexes: list[tuple[str, re.Pattern[str]]] = []
        flags = re.MULTILINE | (0 if exact else re.IGNORECASE)
        for name, phrases in groups.items():
            for p in phrases or []:
                if not p:
                    continue
                if p.startswith("re:"):
                    self.regexes.append((name, re.compile(p[3:], flags)))
                    continue
                key = re.sub(r"\s+", " ", p if exact else fold(p)).strip()
                owners = self.owners.setdefault(key, [])
                if name not in owners:
                    owners.append(name)
        self.literal = (re.compile(r"(?<!\w)(?:" + trie_regex(sorted(self.owners)) + r")(?!\w)")
                        if self.owners else None)

    def finditer(self, text: str) -> list[tuple[str, PMatch]]:
        out: list[tuple[str, PMatch]] = []
        if self.literal is not None:
            target = text if self.exact else fold(text)
            for m in self.literal.finditer(target):
                pm = PMatch(m.start(), m.end(), text[m.start(): m.end()])
                out.extend((name, pm) for name in self.owners[m.group(0)])
        for name, rx in self.regexes:
            out.extend((name, PMatch(m.start(), m.end(), m.group(0))) for m in rx.finditer(text))
        return out

    def by_name(self, text: str) -> dict[str, list[PMatch]]:
        """Matches grouped by list name, each list in text order."""
        out: dict[str, list[PMatch]] = {}
        for name, m in self.finditer(text):
            out.setdefault(name, []).append(m)
        for ms in out.values():
            ms.sort(key=lambda m: m.start())
        return out


def phrase_pattern(phrases: list[str], exact: bool = False) -> Phrases | None:
    """The matcher for a list of phrases (None when the list is empty)."""
    phrases = [p for p in phrases if p]
    return Phrases(phrases, exact) if phrases else None


@dataclass(frozen=True)
class KindRules:
    """How much a kind's title phrases and body phrases count."""

    kind: str
    title_weight: float
    body_weight: float


@lru_cache(maxsize=1)
def rules() -> dict[str, KindRules]:
    kinds = vocab.load("kinds")
    return {k: KindRules(k, float(kinds[k].get("title_weight", 3.0)) if k in kinds else 3.0,
                         float(kinds[k].get("body_weight", 0.5)) if k in kinds else 0.5) for k in KINDS}


@lru_cache(maxsize=1)
def phrase_sets() -> dict[str, PhraseSet]:
    """title, body and self-reference phrases of every kind, each set matched in one pass."""
    title, body, self_ref = vocab.load("kinds"), vocab.load("kind_body"), vocab.load("self_reference")
    return {
        "title": PhraseSet({k: title.terms(k) for k in KINDS}),
        "body": PhraseSet({k: body.terms(k) for k in KINDS}),
        "self_ref": PhraseSet({k: self_ref.terms(k) for k in self_ref}),
    }


@lru_cache(maxsize=1)
def evaluation_word() -> Phrases:
    return Phrases(vocab.load("kinds").terms("evaluation_word") or ["evaluation"])


# --- rules ---------------------------------------------------------------------------------


def _field_value(text: str, at: int) -> bool:
    """Whether `at` starts the value of a labelled field on its line ("Nombre de la evaluación: …")."""
    line = text[text.rfind("\n", 0, at) + 1: at].rstrip()
    return line.endswith(":") and 3 <= len(line) <= 60


@dataclass
class Hit:
    """One rule that fired: which kind it supports, how much, why, and where."""

    kind: str
    points: float
    rule: str
    evidence: Evidence | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "points": round(self.points, 2), "rule": self.rule,
                "evidence": self.evidence.to_dict() if self.evidence else None}


def explain(document: Document, sections: list[Section] | None = None,
            items: list[Item] | None = None, view: DocView | None = None) -> list[Hit]:
    """Every rule that fired on `document`, strongest first."""
    view = view or DocView(document, sections)
    hits: list[Hit] = []
    sources = view.title_sources()
    sets = phrase_sets()
    found: dict[str, list[tuple[float, str, PMatch]]] = {}
    for source, text in sources:
        if not text:
            continue
        seen: set[str] = set()
        for kind, m in sets["title"].finditer(text):
            if source == "top" and _field_value(text, m.start()):
                continue  # "1.1 Nombre de la evaluación: Evaluación de …": a form names what it summarises
            if kind not in seen:  # the first phrase of each kind in each place
                seen.add(kind)
                found.setdefault(kind, []).append((SOURCE_WEIGHT[source], source, m))
    for kind, places in found.items():
        r = rules()[kind]
        places.sort(key=lambda f: -f[0])
        weight, source, m = places[0]
        points = r.title_weight * (weight + 0.25 * (len(places) - 1))
        if source == "top":
            ev = view.evidence(m.start(), m.end())
        elif source == "title":
            ev = Evidence(view.page_at(0) or 1, (view.heading or view.title)[:300])
        else:  # the file name is on no page
            ev = Evidence(None, f"file name: {Path(view.document.source).name}")
        hits.append(Hit(kind, points, f"{source} names it: “{m.group(0)}”"
                        + (f" (+{len(places) - 1} other place)" if len(places) > 1 else ""), ev))
    for kind, ms in sets["body"].by_name(view.head).items():
        distinct: dict[str, PMatch] = {}
        for m in ms:
            distinct.setdefault(re.sub(r"\s+", " ", fold(m.group(0))), m)
        n = min(len(distinct), 5)
        first = ms[0]
        hits.append(Hit(kind, rules()[kind].body_weight * n, f"{len(distinct)} phrase(s) of a {kind}: "
                        + ", ".join(list(distinct)[:5]), view.evidence(first.start(), first.end())))
    hits.extend(_self_reference(view))
    hits.extend(_structure(view, sections or [], items or []))
    hits.sort(key=lambda h: -h.points)
    return hits


def _self_reference(view: DocView) -> list[Hit]:
    counts = {}
    firsts = {}
    for kind, ms in phrase_sets()["self_ref"].by_name(view.head).items():
        counts[kind], firsts[kind] = len(ms), ms[0]
    hits = []
    ev_n, st_n = counts.get("evaluation_report", 0), counts.get("research_report", 0)
    cs_n = counts.get("case_study", 0)
    if cs_n >= 2 and cs_n > ev_n:
        m = firsts["case_study"]
        hits.append(Hit("case_study", 2.0, f"calls itself a case study {cs_n}× (an evaluation {ev_n}×)",
                        view.evidence(m.start(), m.end())))
    if counts.get("other", 0) >= 2 and counts["other"] > ev_n:
        m = firsts["other"]
        hits.append(Hit("other", 1.5, f"calls itself a proposal {counts['other']}×", view.evidence(m.start(), m.end())))
    if st_n >= 3 and st_n > 1.5 * ev_n:
        m = firsts["research_report"]
        hits.append(Hit("research_report", 2.0, f"calls itself a study {st_n}× (an evaluation {ev_n}×)",
                        view.evidence(m.start(), m.end())))
    elif ev_n >= 3 and ev_n > 1.5 * st_n:
        m = firsts["evaluation_report"]
        hits.append(Hit("evaluation_report", 1.0, f"calls itself an evaluation {ev_n}× (a study {st_n}×)",
                        view.evidence(m.start(), m.end())))
    return hits


ACCEPT_RE = re.compile(r"(?i)\b(partially accept(?:ed)?|accept(?:ed)?|reject(?:ed)?|partiellement accept[ée]e?|"
                       r"accept[ée]e?|rejet[ée]e?|parcialmente aceptada|aceptada|rechazada|aceite|rejeitada)\b")


def _structure(view: DocView, sections: list[Section], items: list[Item]) -> list[Hit]:
    hits = []
    chars = len(view.text)
    pages = view.n_pages
    kinds = {s.kind for s in sections}
    size = f"{pages} pages, {chars:,} characters" if view.paged else f"{chars:,} characters"
    short = (view.paged and pages <= 6) or (not view.paged and chars < 25_000)
    long = (view.paged and pages >= 25) or chars >= 60_000
    if short:
        hits.append(Hit("evaluation_brief", 1.0, f"short ({size})"))
        hits.append(Hit("evaluation_report", -2.0, f"too short for a full report ({size})"))
    if long:
        hits.append(Hit("evaluation_report", 1.0, f"long ({size})"))
        for k in ("evaluation_brief", "management_response", "terms_of_reference"):
            hits.append(Hit(k, -2.0, f"too long for a {k.replace('_', ' ')} ({size})"))
    # a form's parts ("2. PRINCIPALES HALLAZGOS" in a one-cell table row) are not a report's chapters
    blocks = view.document.blocks
    chapters = {s.kind for s in sections
                if not (s.block_start < len(blocks) and blocks[s.block_start].kind == "table_row")}
    found = [k for k in REPORT_SECTIONS if k in chapters]
    if found:
        hits.append(Hit("evaluation_report", 0.6 * len(found), "sections: " + ", ".join(found)))
    if "management_response" in kinds:
        mr = [s for s in sections if s.kind == "management_response"]
        cover = sum(s.block_end - s.block_start for s in mr) / max(len(view.document.blocks), 1)
        if cover > 0.5:
            hits.append(Hit("management_response", 2.0, f"a management response covers {cover:.0%} of it",
                            Evidence(mr[0].page_start, mr[0].heading)))
    annex_cover = _annex_cover(view, sections)
    if annex_cover is not None:
        share, first = annex_cover
        hits.append(Hit("annex", 4.0, f"annexes from its start cover {share:.0%} of it",
                        Evidence(first.page_start, first.heading)))
        hits.append(Hit("evaluation_report", -1.5, "no report before its annexes"))
    recs = sum(1 for i in items if i.kind == "recommendation")
    if recs >= 3:
        hits.append(Hit("evaluation_report", 0.5, f"{recs} recommendations"))
    if chars < 80_000:
        accepts = list(ACCEPT_RE.finditer(view.text))
        if len(accepts) >= 3:
            m = accepts[0]
            hits.append(Hit("management_response", 1.5, f"{len(accepts)} accept/reject decisions",
                            view.evidence(m.start(), m.end())))
    ev = len(evaluation_word().findall(view.head))
    density = ev / max(len(view.head) / 10_000, 0.2)
    if density >= 4 and ev >= 8:
        hits.append(Hit("evaluation_report", 1.0, f"“evaluation” {ev}× in the first pages"))
    return hits


def _annex_cover(view: DocView, sections: list[Section]) -> tuple[float, Section] | None:
    """(share, first annex) when annexes start the document and fill most of it: a volume of
    annexes published apart from its report ("Annex 3: Case studies", "Volume II – Annexes")."""
    from whatworks.describe.headings import is_annex_heading

    blocks = len(view.document.blocks)
    if not blocks:
        return None
    body = [s for s in sections if s.kind not in ("front_matter", "table_of_contents", "acronyms")]
    if not body:
        return None
    annexes = [s for s in body if s.level <= 1 and (s.kind == "annex" or is_annex_heading(s.heading))]
    if not annexes or annexes[0] is not min((s for s in body if s.level <= 1), key=lambda s: s.block_start):
        return None
    if annexes[0].block_start > 0.15 * blocks:
        return None
    covered = sum(s.block_end - s.block_start for s in annexes)
    share = covered / blocks
    return (share, annexes[0]) if share >= 0.6 else None


# --- decision ---------------------------------------------------------------------------


def score(hits: list[Hit]) -> dict[str, float]:
    totals = dict.fromkeys(KINDS, 0.0)
    for h in hits:
        totals[h.kind] += h.points
    return totals


def classify(document: Document, sections: list[Section], items: list[Item]) -> Value:
    """The document's kind (one of KINDS), with a confidence and the passage behind it."""
    view = DocView(document, sections)
    return classify_view(view, sections, items)


def classify_view(view: DocView, sections: list[Section], items: list[Item]) -> Value:
    hits = explain(view.document, sections, items, view)
    totals = score(hits)
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < MIN_SCORE:
        best = "other"
    margin = top - max(second, 0.0)
    confidence = 0.5 + 0.49 * (1 - math.exp(-margin / 2.5)) if best != "other" or top >= MIN_SCORE else 0.3
    if top < 3:
        confidence = min(confidence, 0.6)
    # evidence on a page first: a file name or stored property is not text of the document
    ranked_hits = [h for h in hits if h.kind == best and h.evidence and h.points > 0]
    evidence = next((h.evidence for h in ranked_hits if h.evidence.page), None) or \
        next((h.evidence for h in ranked_hits), None)
    log.debug("kind of %s: %s (%.2f) — %s", view.document.source, best, confidence,
              "; ".join(f"{h.kind} {h.points:+.1f} {h.rule}" for h in hits[:8]))
    return Value(best, round(confidence, 3), evidence)
