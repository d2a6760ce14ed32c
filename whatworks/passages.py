"""passages: where, in a document's text, the evidence behind a decision sits — so a reviewer sees
it in context rather than quoted out of it.

Three kinds of mark, each a span of one block's text:
- a *passage*: the quote behind a screening criterion or a coded item, found again in the text it
  was taken from (spacing, case, accents and hyphenation may differ: the match is on folded,
  spaceless text, mapped back to the original characters);
- a *trigger*: a word the coder weighed most for a theme (its features are stems, single or
  pairs), found by stemming the item's words in the item's language;
- a *term*: a protocol term, compiled as the screen compiles it (stems; a trailing * a prefix),
  marked "inclusion" when finding it argues for a report, "exclusion" when it argues against.

`segments` cuts a text into runs that carry the marks over them, for a template to render.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from whatworks import text as T
from whatworks import vocab
from whatworks.screen import compile_pattern


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    css: str  # the mark's class: passage | trigger | term-inclusion | term-exclusion
    ref: str | None = None  # what it marks (a criterion's or an item's anchor), for the page to scroll to


@dataclass
class Segment:
    text: str
    css: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)


_FOLDED: dict[str, str] = {}  # character → its folded letters ("" for what is not a letter or digit)


def _fold_char(ch: str) -> str:
    f = _FOLDED.get(ch)
    if f is None:
        f = _FOLDED[ch] = T.fold(ch) if ch.isalnum() else ""
    return f


@lru_cache(maxsize=8192)
def _folded(text: str) -> tuple[str, tuple[int, ...]]:
    """`text` folded with everything but letters and digits dropped, and for each kept character
    the index of the original character it came from (kept for the texts of a page or two)."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        f = _fold_char(ch)
        if f:
            out.append(f)
            where.extend([i] * len(f))
    return "".join(out), tuple(where)


#: How much of a passage's head is looked for when the whole is not found (folded characters).
HEADS = (160, 80, 40)


def find_passage(text: str, passage: str, heads: Sequence[int] = HEADS) -> tuple[int, int] | None:
    """(start, end) of `passage` in `text`, compared folded and without spaces or punctuation; a
    passage cut short ("…") or joined differently is found by the longest of its `heads` that
    occurs. None when it is not there."""
    hay, where = _folded(text)
    needle, _ = _folded(passage.rstrip("…. "))
    if not hay or not needle:
        return None
    for size in (len(needle), *heads):
        if size > len(needle):
            continue
        k = hay.find(needle[:size])
        if k >= 0:
            while k + size < len(hay) and size < len(needle) and hay[k + size] == needle[size]:
                size += 1  # as far as the two agree
            return where[k], where[k + size - 1] + 1
    return None


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return frozenset(T.fold(w) for concept in vocab.load("stopwords").values() for w in concept.all())


def trigger_spans(text: str, language: str, triggers: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of the words of `text` behind the coder's trigger stems ("relev", "the asean"), without
    the function words at their ends ("of", "the"): those say nothing to a reader."""
    wanted = [tuple(t.split()) for t in triggers if t.strip()]
    if not wanted:
        return []
    toks = T.tokens(text)
    stems = [T.stem(w, language) for w, _, _ in toks]
    stop = _stopwords()
    out = []
    for pattern in wanted:
        n = len(pattern)
        for i in range(len(stems) - n + 1):
            if tuple(stems[i:i + n]) != pattern:
                continue
            words = [t for t in toks[i:i + n] if t[0] not in stop and t[0].isalpha()]
            if words:  # "the pilots" marks "pilots": function words at either end say nothing
                out.append((words[0][1], words[-1][2]))
    return out


class TermMarker:
    """Protocol terms of two kinds compiled once per language, then found in any text."""

    def __init__(self, terms: dict[str, dict[str, list[str]]]):
        """`terms`: kind ("inclusion" | "exclusion") → language → patterns."""
        self.patterns: dict[str, list[tuple[tuple[tuple[str, bool], ...], str]]] = {}
        for kind, by_lang in terms.items():
            for lang, pats in by_lang.items():
                for p in pats:
                    compiled = compile_pattern(p, lang)
                    if compiled:
                        self.patterns.setdefault(lang, []).append((compiled, kind))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def spans(self, text: str, language: str) -> list[tuple[int, int, str]]:
        """(start, end, kind) of every protocol term in `text` (in its language, else every language's)."""
        pats = self.patterns.get(language) or [p for ps in self.patterns.values() for p in ps]
        if not pats or not text:
            return []
        toks = T.tokens(text)
        cache: dict[str, str] = {}
        stems = []
        for w, _, _ in toks:
            s = cache.get(w)
            if s is None:
                s = cache[w] = T.stem(w, language)
            stems.append(s)
        first: dict[str, list[int]] = {}
        for i, s in enumerate(stems):
            first.setdefault(s, []).append(i)
        out = []
        for pat, kind in pats:
            head, prefix = pat[0]
            starts = [i for i, (w, _, _) in enumerate(toks) if w.startswith(head)] if prefix else first.get(head, [])
            for i in starts:
                if i + len(pat) > len(toks):
                    continue
                if all((toks[i + k][0].startswith(w) if pre else stems[i + k] == w) for k, (w, pre) in enumerate(pat)):
                    out.append((toks[i][1], toks[i + len(pat) - 1][2], kind))
        return out


def segments(text: str, spans: Sequence[Span]) -> list[Segment]:
    """`text` cut at every span's ends, each run with the classes and refs of the spans over it."""
    if not spans:
        return [Segment(text)]
    cuts = sorted({0, len(text), *(max(0, min(len(text), s.start)) for s in spans),
                   *(max(0, min(len(text), s.end)) for s in spans)})
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        if a == b:
            continue
        over = [s for s in spans if s.start <= a and s.end >= b]
        css = list(dict.fromkeys(s.css for s in over))
        refs = list(dict.fromkeys(s.ref for s in over if s.ref))
        out.append(Segment(text[a:b], css, refs))
    return out


def protocol_terms(protocol) -> TermMarker:
    """The protocol's terms by what finding them argues: an inclusion (or possible) criterion's
    terms, and those of an exclusion that excludes when they are *missing* (`max`), argue for a
    report; an exclusion's other terms argue against it."""
    kinds: dict[str, dict[str, list[str]]] = {"inclusion": {}, "exclusion": {}}
    for c in protocol.all_criteria():
        if c.test is None or not c.test.has_terms:
            continue
        kind = "exclusion" if c.tier == "exclusion" and c.test.max is None else "inclusion"
        for lang, pats in c.test.terms.items():
            bucket = kinds[kind].setdefault(lang, [])
            bucket.extend(p for p in pats if p not in bucket)
    return TermMarker(kinds)


@dataclass
class MarkedBlock:
    index: int
    page: int
    kind: str
    segments: list[Segment]


@dataclass
class MarkedDocument:
    """A document's text, page by page, with passages and terms marked (up to `max_chars`)."""

    pages: list[tuple[int, list[MarkedBlock]]]
    found: dict[str, int]  # ref → the page its passage was found on
    truncated: bool  # the text goes on past what is shown
    terms: dict[str, int]  # inclusion / exclusion → how many terms were marked
    format: str = ""  # the document's (a PDF's pages can be shown as images)
    npages: int = 1


def _runs_on(text: str, whole: str, least: int = 12) -> tuple[int, int] | None:
    """(start, end) of the place where `text` ends with the first `least`+ folded characters of the
    passage `whole` (the passage goes on in the next block)."""
    hay, where = _folded(text)
    k = hay.find(whole[:least]) if len(whole) >= least else -1
    while k >= 0:
        if whole.startswith(hay[k:]):
            return where[k], len(text)
        k = hay.find(whole[:least], k + 1)
    return None


def _locate(blocks: list, passage: str, page: int | None) -> list[tuple[int, int, int]]:
    """(block position, start, end) of the marks `passage` makes: the whole of it in one block (on
    `page` first), else its longest head that some block holds, then the following blocks it goes
    on into."""
    order = sorted(range(len(blocks)), key=lambda i: (page is not None and blocks[i].page != page, i))
    whole, _ = _folded(passage)
    found = None
    for heads in ((), *((h,) for h in HEADS)):
        found = next(((i, f) for i in order if (f := find_passage(blocks[i].text, passage, heads)) is not None), None)
        if found is not None:
            break
    if found is None:  # a short passage split over blocks: a block that ends with its start
        found = next(((i, f) for i in order if (f := _runs_on(blocks[i].text, whole)) is not None), None)
    if found is None:
        return []
    i, (a, z) = found
    out = [(i, a, z)]
    covered, _ = _folded(blocks[i].text[a:z])
    rest = whole[len(covered):] if whole.startswith(covered) else ""
    j = i + 1
    while rest and j < len(blocks):
        nxt, _ = _folded(blocks[j].text)
        if not nxt or not (rest.startswith(nxt) or nxt.startswith(rest)):
            break
        out.append((j, 0, len(blocks[j].text)))
        rest = rest[len(nxt):]
        j += 1
    return out


def mark_document(document, passages: dict[str, tuple[int | None, str]], terms: TermMarker | None = None,
                  max_chars: int = 300_000) -> MarkedDocument:
    """`document`'s blocks (running headers and footers left out) with each passage of `passages`
    (ref → (page, quote)) marked where it is found, and the protocol's terms marked by kind."""
    blocks = [b for b in document.blocks if b.kind not in ("header", "footer")]
    shown, size = [], 0
    for b in blocks:
        if size > max_chars:
            break
        shown.append(b)
        size += len(b.text)
    spans: dict[int, list[Span]] = {}
    found: dict[str, int] = {}
    for ref, (page, quote) in passages.items():
        if not quote or not quote.strip():
            continue
        for i, a, z in _locate(shown, quote, page):
            spans.setdefault(i, []).append(Span(a, z, "passage", ref))
            found.setdefault(ref, shown[i].page)
    counts = {"inclusion": 0, "exclusion": 0}
    pages: dict[int, list[MarkedBlock]] = {}
    index = {id(b): k for k, b in enumerate(document.blocks)}
    for i, b in enumerate(shown):
        marks = list(spans.get(i, []))
        if terms:
            for a, z, kind in terms.spans(b.text, b.language or document.language):
                marks.append(Span(a, z, f"term-{kind}"))
                counts[kind] += 1
        pages.setdefault(b.page, []).append(MarkedBlock(index[id(b)], b.page, b.kind, segments(b.text, marks)))
    return MarkedDocument(sorted(pages.items()), found, len(shown) < len(blocks), counts, document.format,
                          max(1, len(document.pages)))
