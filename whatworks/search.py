"""Full-text search over the review's passages, in four languages, with filters.

Documents are cut into passages of about one paragraph (a block; a heading joins the
paragraph after it), each with its page, its block range and the kind of section it sits
in. The original text stays in `passages`; the FTS5 index (contentless, `unicode61
remove_diacritics 2`) holds the *stemmed* text, because FTS5's porter stemmer is
English-only: the Snowball stemmer of each passage's language (whatworks.text) runs at index
time, and at query time on each query word in every language, so "recomendaciones" finds
"recomendación" and "evaluations" finds "evaluated".

Queries: words (implicit AND), "phrases", AND / OR / NOT, parentheses, prefix*.
Filters (year, kind, region, country, language, section) join `doc_facets`, a small table
of description fields kept beside the index. Results are passages ranked by bm25, with a
snippet of the original text in which the matching words are marked.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from whatworks import corrections
from whatworks.errors import QueryError
from whatworks.model import Block, Description, Document, Section
from whatworks.store import documents as docs
from whatworks.store import search as index_store
from whatworks.store.base import Store
from whatworks.store.search import Query, Term
from whatworks.text import WORD, fold_word, sentences, stem, stem_text, stemmer_version, words

log = logging.getLogger(__name__)


# --- stemming: whatworks.text --------------------------------------------------------------

#: The languages a query word is stemmed in when the search names none.
STEM_LANGUAGES = ("en", "fr", "es", "pt")


# --- passages ------------------------------------------------------------------------------

SKIP_BLOCKS = ("header", "footer")
MIN_PASSAGE = 60  # characters: shorter blocks join the next one
MAX_PASSAGE = 1800  # characters: longer blocks are cut at a sentence end


@dataclass
class Passage:
    page: int
    block_start: int
    block_end: int
    section_kind: str | None
    language: str | None
    text: str


def section_of(sections: list[Section], index: int) -> str | None:
    """The kind of the innermost section whose block range holds block `index`."""
    best: Section | None = None
    for s in sections:
        if s.block_start <= index < s.block_end and (best is None or s.level >= best.level):
            best = s
    return best.kind if best else None


def _split_long(text: str, language: str | None) -> list[str]:
    """A long block cut at sentence ends into passages of at most about MAX_PASSAGE characters."""
    if len(text) <= MAX_PASSAGE:
        return [text]
    parts, current = [], ""
    for sentence in sentences(text, language or "en"):
        if current and len(current) + len(sentence) > MAX_PASSAGE:
            parts.append(current)
            current = ""
        current = f"{current} {sentence}".strip()
    if current:
        parts.append(current)
    return parts


def passages(document: Document, description: Description | None = None) -> list[Passage]:
    """Group a document's blocks into passages of about a paragraph, each with its section kind.

    A heading joins the paragraph after it; short blocks join the next block on the same
    page; consecutive table rows form one passage; running headers and footers are left out.
    """
    sections = description.sections if description else []
    out: list[Passage] = []
    pending: list[tuple[int, Block]] = []

    def flush() -> None:
        if not pending:
            return
        first_i, first = pending[0]
        text = "\n".join(b.text.strip() for _, b in pending)
        langs = [b.language for _, b in pending if b.language and b.kind != "heading"] or \
            [b.language for _, b in pending if b.language]
        # the most frequent language, ties to the first seen (max over a set broke ties by the
        # process's string hashing, so a passage's language changed from run to run)
        lang = max(langs, key=langs.count) if langs else document.language
        body = [i for i, b in pending if b.kind != "heading"] or [first_i]
        kind = section_of(sections, body[0])
        for part in _split_long(text, lang):
            out.append(Passage(first.page, first_i, pending[-1][0] + 1, kind, lang, part))
        pending.clear()

    def size() -> int:
        return sum(len(b.text) for _, b in pending)

    for i, block in enumerate(document.blocks):
        if block.kind in SKIP_BLOCKS or not block.text.strip():
            continue
        content = [b for _, b in pending if b.kind != "heading"]
        if block.kind == "heading":
            if content:
                flush()
        elif block.kind == "table_row":
            if any(b.kind != "table_row" for b in content) or size() + len(block.text) > MAX_PASSAGE:
                flush()
        elif content and (content[-1].kind == "table_row" or content[-1].page != block.page):
            flush()
        pending.append((i, block))
        if block.kind not in ("heading", "table_row") and size() >= MIN_PASSAGE:
            flush()
    flush()
    return out


# --- facets --------------------------------------------------------------------------------


def _year(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    m = re.search(r"\b(19|20)\d\d\b", str(value or ""))
    return int(m.group(0)) if m else None


def _bar(values: Any) -> str:
    if values is None:
        return ""
    if isinstance(values, str):
        values = [values]
    items = [str(v).strip() for v in values if str(v).strip()]
    return "|" + "|".join(items) + "|" if items else ""


def facets(document: Document, description: Description | None) -> dict[str, Any]:
    d = description
    v = d.value if d else (lambda key, default=None: default)
    regions = list(_as_list(v("regions_ilo"))) + list(_as_list(v("regions_m49")))
    return {
        "sha256": document.sha256,
        "source": document.source,
        "title": v("title") or document.title,
        "kind": d.kind.value if d else None,
        "year": _year(v("year")),
        "language": (v("language") or document.language or "und"),
        "countries": _bar([str(c).upper() for c in _as_list(v("countries"))]),
        "regions": _bar([str(r).lower() for r in regions]),
        "organisation": _first(v("organisation")),
        "evaluation_type": _first(v("evaluation_type")),
        "timing": _first(v("timing")),
        "evaluator_type": _first(v("evaluator_type")),
    }


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _first(value: Any) -> str | None:
    values = _as_list(value)
    return str(values[0]) if values else None


# --- indexing ------------------------------------------------------------------------------


def _slug(value: Any) -> str:
    return re.sub(r"[^0-9a-z]", "", fold_word(str(value)))


def tags(facet: dict[str, Any], section_kind: str | None, language: str | None) -> str:
    """Filter tokens indexed in the `tags` column beside a passage's words.

    Filters then run inside FTS5 (an AND on posting lists) instead of a join over every
    match, which keeps filtered queries as fast as plain ones on a large database.
    """
    out = []
    if facet.get("year"):
        year = int(facet["year"])
        out += [f"y{year}", f"d{year // 10}"]  # the decade token keeps a range filter to a few terms
    if facet.get("kind"):
        out.append("k" + _slug(facet["kind"]))
    if language:
        out.append("l" + _slug(language))
    if section_kind:
        out.append("s" + _slug(section_kind))
    for c in (facet.get("countries") or "").strip("|").split("|"):
        if c:
            out.append("c" + _slug(c))
    for r in (facet.get("regions") or "").strip("|").split("|"):
        if r:
            out.append("r" + _slug(r))
    return " ".join(out)


#: Bumped when the filter tokens (`tags`) change; with the stemmer's version it names the index.
TAGS_VERSION = 2


def index_version() -> str:
    return f"{stemmer_version()}.{TAGS_VERSION}"


def _body(text: str, language: str | None) -> str:
    """What the full-text index holds for a passage: its words stemmed in its own language."""
    return stem_text(text, language or "")


def _check_version(store: Store) -> None:
    """Rebuild the index from the stored passages when the stemmer or the tags changed."""
    version = index_version()
    current = store.get_meta("search.index")
    if current == version:
        return
    if current is not None or index_store.has_passages(store):
        log.info("search index version %s → %s: rebuilding it", current, version)
        facet_rows = index_store.facet_rows(store)
        index_store.reindex_all(store, (
            (r["id"], _body(r["text"], r["language"]),
             tags(facet_rows.get(r["sha256"], {}), r["section_kind"], r["language"]))
            for r in index_store.passage_rows(store)))
    store.set_meta("search.index", version)


def index_document(store: Store, document: Document, description: Description | None,
                   described_at: float | None = None) -> int:
    """(Re)index one document; returns its number of passages."""
    with store.transaction():
        index_store.unindex(store, document.sha256, _body)
        ps = passages(document, description)
        f = facets(document, description)
        next_id = index_store.next_passage_id(store)
        memo: dict[tuple[str | None, str | None], str] = {}  # tags depend only on these two here

        def tags_of(p: Passage) -> str:
            key = (p.section_kind, p.language)
            if key not in memo:
                memo[key] = tags(f, p.section_kind, p.language)
            return memo[key]

        rows = [{"id": next_id + k, "sha256": document.sha256, "page": p.page, "block_start": p.block_start,
                 "block_end": p.block_end, "section_kind": p.section_kind, "language": p.language, "text": p.text,
                 "tags": tags_of(p)} for k, p in enumerate(ps)]
        index_store.add_passages(store, rows, [_body(r["text"], r["language"]) for r in rows])
        f.update(passages=len(ps), described_at=described_at, indexed_at=time.time())
        index_store.save_facets(store, f)
    return len(ps)


def index(store: Store, documents: dict[str, Document] | None = None) -> int:
    """Index every document not yet indexed or described again since; returns how many.

    Incremental: documents deleted from the database leave the index too. `documents`: ones the
    caller holds in memory already (not unpacked again)."""
    _check_version(store)
    rows = index_state(store)
    todo = [r["sha256"] for r in rows if r["done"] is None or (r["described_at"] or 0) != (r["indexed_desc"] or 0)]
    for sha in index_store.orphan_facets(store):
        index_store.unindex(store, sha, _body)
    described = {r["sha256"]: r["described_at"] for r in rows}
    for sha in todo:
        document = (documents or {}).get(sha) or docs.document(store, sha)
        # the effective description: reviewers' corrections shape facets and sections too
        index_document(store, document, corrections.effective_description(store, sha), described.get(sha))
    if todo:
        log.info("indexed %d document(s)", len(todo))
    return len(todo)


def index_state(store: Store) -> list[dict[str, Any]]:
    return index_store.index_state(store)


def reindex(store: Store, sha256: str) -> None:
    """Index one document again (after a reviewer corrected its description), if it was indexed."""
    if index_store.facet_row(store, sha256) is None:
        return
    index_document(store, docs.document(store, sha256), corrections.effective_description(store, sha256),
                   docs.described_at(store, sha256))


# --- queries -------------------------------------------------------------------------------




_TOKEN = re.compile(r'"([^"]*)"|(\()|(\))|([^\s()"]+)')


@dataclass
class _Term:
    words: list[str]  # folded words (a phrase when more than one)
    prefix: bool = False


def _lex(query: str) -> list[Any]:
    if query.count('"') % 2:
        raise QueryError(f'unclosed quote in {query!r}: close the phrase with "')
    out: list[Any] = []
    for m in _TOKEN.finditer(query):
        phrase, lp, rp, word = m.groups()
        if phrase is not None:
            ws = words(phrase)
            if ws:
                out.append(_Term(ws))
        elif lp:
            out.append("(")
        elif rp:
            out.append(")")
        elif word in ("AND", "OR", "NOT"):
            out.append(word)
        else:
            prefix = word.endswith("*")
            ws = words(word)
            if len(ws) == 1:
                out.append(_Term(ws, prefix))
            elif ws:  # "social-security", "d'invalidité": a phrase
                out.append(_Term(ws))
    return out


def _term(term: _Term, languages: tuple[str, ...]) -> Term:
    if term.prefix:
        return Term([[term.words[0]]], prefix=True)
    variants: list[list[str]] = []
    for lang in languages:
        v = [stem(w, lang) for w in term.words]
        if v not in variants:
            variants.append(v)
    return Term(variants)


def parse(query: str, languages: Iterable[str] = STEM_LANGUAGES) -> Any:
    """A user's query as a tree of `Term`s and (AND | OR | NOT, left, right) nodes over the
    stemmed index: each word matches its stem in any of `languages`."""
    langs = tuple(languages)
    tokens = _lex(query)
    if not any(isinstance(t, _Term) for t in tokens):
        raise QueryError(f"no search word in {query!r}: write words, \"a phrase\", AND, OR, NOT")
    pos = 0

    def peek() -> Any:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> Any:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary() -> Any:
        t = peek()
        if t == "(":
            take()
            inner = expr()
            if peek() != ")":
                raise QueryError(f"missing ')' in {query!r}")
            take()
            return inner
        if isinstance(t, _Term):
            take()
            return _term(t, langs)
        if t is None:
            raise QueryError(f"the query {query!r} ends too early: a word is missing after the last operator")
        raise QueryError(f"unexpected {t!r} in {query!r}: put a word before it")

    def conj() -> Any:
        left = primary()
        while True:
            t = peek()
            if t in ("AND", "NOT"):
                take()
                left = (t, left, primary())
            elif t is not None and t not in (")", "OR"):
                left = ("AND", left, primary())  # implicit AND
            else:
                return left

    def expr() -> Any:
        left = conj()
        while peek() == "OR":
            take()
            left = ("OR", left, conj())
        return left

    if peek() == "NOT":
        raise QueryError(f"{query!r} starts with NOT: say what to find first (e.g. pension NOT disability)")
    result = expr()
    if pos != len(tokens):
        raise QueryError(f"unbalanced ')' in {query!r}")
    return result


def query_stems(query: str, languages: Iterable[str] = STEM_LANGUAGES) -> tuple[set[str], list[str]]:
    """The stems to highlight for `query` (all variants) and its prefixes; NOT terms are left out."""
    langs = tuple(languages)
    stems: set[str] = set()
    prefixes: list[str] = []
    negated = False
    depth_neg: list[bool] = []
    for t in _lex(query):
        if t == "NOT":
            negated = True
            continue
        if t == "(":
            depth_neg.append(negated)
            continue
        if t == ")":
            negated = depth_neg.pop() if depth_neg else False
            continue
        if isinstance(t, _Term):
            if not negated and not (depth_neg and depth_neg[-1]):
                if t.prefix:
                    prefixes.append(t.words[0])
                else:
                    for w in t.words:
                        stems.update(stem(w, lang) for lang in langs)
            negated = False
    return stems, prefixes


# --- search ---------------------------------------------------------------------------------


@dataclass
class Hit:
    sha256: str
    source: str
    title: str | None
    page: int
    section_kind: str | None
    snippet: str
    score: float  # bm25: lower is better (FTS5 convention)
    passage_id: int = 0
    block_start: int = 0
    block_end: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "source": self.source, "title": self.title, "page": self.page,
                "section_kind": self.section_kind, "snippet": self.snippet, "score": round(self.score, 4),
                "block_start": self.block_start, "block_end": self.block_end}


MARK = ("**", "**")


def snippet(text: str, lang: str | None, stems: set[str], prefixes: list[str], *, width: int = 40,
            mark: tuple[str, str] = MARK) -> str:
    """A window of about `width` words of `text` around its matches, matching words marked."""
    spans = [(m.start(), m.end()) for m in WORD.finditer(text)]
    if not spans:
        return text[:300]
    hit = []
    for i, (a, b) in enumerate(spans):
        w = fold_word(text[a:b])
        s = stem(w, lang or "")
        if s in stems or w in stems or any(stem(w, lg) in stems for lg in STEM_LANGUAGES) or \
                any(w.startswith(p) for p in prefixes):
            hit.append(i)
    if hit:  # the window with the most hits
        best, best_n = hit[0], 0
        for h in hit:
            n = sum(1 for k in hit if h <= k < h + width)
            if n > best_n:
                best, best_n = h, n
        start = max(0, best - width // 4)
    else:
        start = 0
    end = min(len(spans), start + width)
    hits = set(hit)
    pieces = []
    cursor = spans[start][0]
    for i in range(start, end):
        a, b = spans[i]
        pieces.append(text[cursor:a])
        pieces.append(f"{mark[0]}{text[a:b]}{mark[1]}" if i in hits else text[a:b])
        cursor = b
    out = "".join(pieces).replace("\n", " ")
    if start > 0:
        out = "…" + out
    if end < len(spans):
        out += "…"
    return out


def _years(year: Any) -> list[int]:
    if isinstance(year, int):
        return [year]
    if isinstance(year, tuple | list) and len(year) == 2:
        lo, hi = year
    else:
        m = re.fullmatch(r"\s*(\d{4})\s*(?:(-|–|\.\.|:|to)\s*(\d{4})?)?\s*", str(year))
        if not m:
            raise QueryError(f"year {year!r}: give a year (2015) or a range (2012-2018)")
        lo, hi = m.group(1), (m.group(3) or (None if m.group(2) else m.group(1)))
    lo = int(lo) if lo is not None else 1950
    hi = int(hi) if hi is not None else time.localtime().tm_year + 1
    if hi < lo:
        raise QueryError(f"year range {year!r} ends before it starts")
    return list(range(lo, hi + 1))


def _values(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def filter_groups(year: Any = None, kind: Any = None, region: Any = None, country: Any = None,
                  language: Any = None, section: Any = None) -> list[list[str]]:
    """The filters as groups of tag tokens: a passage matches one token of every group."""
    groups: list[list[str]] = []
    if year is not None:
        years = _years(year)
        wanted = set(years)
        tokens, done = [], set()
        for y in years:  # whole decades as one token each
            d = y // 10
            if d not in done and all(x in wanted for x in range(d * 10, d * 10 + 10)):
                tokens.append(f"d{d}")
                done.add(d)
            elif d not in done:
                tokens.append(f"y{y}")
        groups.append(tokens)
    for prefix, value in (("k", kind), ("r", region), ("c", country), ("l", language), ("s", section)):
        if value is not None:
            groups.append([prefix + _slug(v) for v in _values(value)])
    return [[t for t in g if len(t) > 1] or ["xnothing"] for g in groups]


def build_query(query: str, language: Any = None, **filters: Any) -> tuple[Query, tuple[str, ...]]:
    """The query tree with its filters, and the languages its words were stemmed in."""
    langs = (language,) if isinstance(language, str) and language in STEM_LANGUAGES else STEM_LANGUAGES
    return Query(parse(query, langs), filter_groups(language=language, **filters)), langs


def search(store: Store, query: str, *, year: Any = None, kind: Any = None, region: str | None = None,
           country: Any = None, language: Any = None, section: Any = None, limit: int = 20,
           offset: int = 0, mark: tuple[str, str] = MARK) -> list[Hit]:
    """Passages matching `query`, best first, with a marked snippet and the page.

    `year` is a year, a (start, end) pair or "2012-2018"; `kind`, `country` (ISO3),
    `language` (ISO 639-1) and `section` (section kind) take a value or a list; `region`
    matches an ILO or M49 region name. Raises QueryError for a query it cannot read.
    """
    q, langs = build_query(query, language, year=year, kind=kind, region=region, country=country, section=section)
    try:
        top = index_store.matches(store, q, limit=limit, offset=offset)
    except Exception as e:  # an index syntax we did not foresee
        raise QueryError(f"cannot search for {query!r}: {e}") from None
    if not top:
        return []
    rows = index_store.hit_rows(store, [i for i, _ in top])
    stems, prefixes = query_stems(query, langs)
    hits = []
    for pid, score in top:
        r = rows.get(pid)
        if r is None:
            continue
        hits.append(Hit(sha256=r["sha256"], source=r["source"] or "", title=r["title"], page=r["page"],
                        section_kind=r["section_kind"],
                        snippet=snippet(r["text"], r["language"], stems, prefixes, mark=mark),
                        score=score, passage_id=r["id"], block_start=r["block_start"], block_end=r["block_end"]))
    return hits


def count(store: Store, query: str, *, language: Any = None, **filters: Any) -> int:
    """How many passages match (for paging); same arguments as `search`."""
    q, _ = build_query(query, language, **filters)
    return index_store.count_matches(store, q)


def document_passages(store: Store, sha256: str) -> list[dict[str, Any]]:
    """A document's passages (id, page, block range, section kind, language, text)."""
    return index_store.passage_rows(store, sha256=sha256)


def facet_row(store: Store, sha256: str) -> dict[str, Any] | None:
    return index_store.facet_row(store, sha256)


def rebuild(store: Store) -> None:
    """Rebuild the full-text index from the stored passages (after a copy to another database)."""
    store.set_meta("search.index", "rebuild")
    _check_version(store)
