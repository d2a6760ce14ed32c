"""text: the one place where whatworks turns text into words it can compare.

Search, screening, coding, emerging themes, describe and the readers all fold, split and
stem text here, with one rule each, so a word found by one stage is the same word for the
next (a search for "recomendación" and a codebook descriptor "recomendacion*" agree with
the screen on what a report says).

* `fold`: lower case, accents off, one character for one, so a span found in the folded
  text is the same span in the original;
* `words` / `tokens`: the folded words (ligatures spelled out: "œuvre" is "oeuvre");
* `stem`: Snowball stemmers (PyStemmer) for every language Snowball has, on folded words,
  so an accent typed or not makes no difference;
* `sentences`: sentencex, with the abbreviations it splits after ("M.", "p. ex.", "n.º")
  glued back;
* `normalise_space`, `split_number`, `normalize_heading`: whitespace and heading text.

Imports nothing from whatworks: every stage may import it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

# --- folding ----------------------------------------------------------------------------

#: Characters Unicode does not decompose but readers type without their mark.
_PLAIN = {"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ı": "i", "ħ": "h",
          "\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'",
          "\u2010": "-", "\u2011": "-", "\u2013": "-", "\u2014": "-",
          "\t": " ", "\n": " ", "\r": " ", "\f": " ", "\v": " ", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    "\u2007": " ", "\u200a": " ", "\u2028": " ", "\u2029": " "}


class _FoldTable(dict):
    """str.translate table that folds a character the first time it is seen."""

    def __missing__(self, code: int) -> str:
        c = chr(code)
        value = _PLAIN.get(c)
        if value is None:
            base = [x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x)]
            low = (base[0] if base else c).lower()
            value = low[0] if low else c
        self[code] = value
        return value


_FOLD = _FoldTable()
_ASCII = str.maketrans({c: _PLAIN[c] for c in _PLAIN if c.isascii()})


def fold(text: str) -> str:
    """Lower case without accents, one character for one (so positions stay the same).

    Typographic apostrophes and dashes become plain ones, and every space or line break a
    plain space, so a phrase matches across a line break. The one folding rule of
    whatworks: every comparison uses it.
    """
    if text.isascii():  # the same result, twice as fast
        return text.lower().translate(_ASCII)
    return text.translate(_FOLD)


#: Ligatures a word is spelled with when it is a word, not a span ("œuvre" = "oeuvre").
_SPELL = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ĳ": "ij", "Œ": "oe", "Æ": "ae", "ẞ": "ss", "Ĳ": "ij",
                        "\ufb00": "ff", "\ufb01": "fi",
                        "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"})
_LIGATURES = frozenset("œæßĳŒÆẞĲ\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06")

#: A word: letters and digits; apostrophes, hyphens and punctuation split words.
WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=200_000)
def fold_word(word: str) -> str:
    """One word as every comparison sees it: folded, ligatures spelled out."""
    if not word.isascii() and _LIGATURES.intersection(word):
        word = word.translate(_SPELL)
    return fold(word)


def words(text: str) -> list[str]:
    """The folded words of `text`."""
    return [fold_word(w) for w in WORD.findall(text)]


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(folded word, start, end) for each word of `text`: spans in the original text."""
    return [(fold_word(m.group()), m.start(), m.end()) for m in WORD.finditer(text)]


# --- stemming ---------------------------------------------------------------------------

#: ISO 639-1 code → Snowball algorithm (those PyStemmer does not have are dropped at first use).
SNOWBALL = {"en": "english", "fr": "french", "es": "spanish", "pt": "portuguese", "ar": "arabic",
            "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish",
            "nl": "dutch", "eo": "esperanto", "et": "estonian", "fi": "finnish", "de": "german",
            "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
            "it": "italian", "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "nb": "norwegian",
            "nn": "norwegian", "fa": "persian", "pl": "polish", "ro": "romanian", "ru": "russian",
            "sr": "serbian", "st": "sesotho", "sv": "swedish", "ta": "tamil", "tr": "turkish",
            "yi": "yiddish"}

_local = threading.local()  # a PyStemmer object is not safe to share between threads


def _stemmer(lang: str):
    cache = getattr(_local, "stemmers", None)
    if cache is None:
        cache = _local.stemmers = {}
    if lang not in cache:
        import Stemmer

        name = SNOWBALL.get(lang)
        cache[lang] = Stemmer.Stemmer(name) if name in Stemmer.algorithms() else None
    return cache[lang]


@lru_cache(maxsize=1)
def stemmer_version() -> str:
    """Names what `stem` does: a stored index of stems is rebuilt when it changes."""
    try:
        from importlib.metadata import version

        pystemmer = version("PyStemmer")
    except Exception:  # noqa: BLE001 - not installed as a distribution: the rule version alone
        pystemmer = "?"
    return f"snowball-{pystemmer}-fold1-pt1-es1"


# Portuguese: Snowball's suffixes carry accents ("-ação", "-ável") that folded words lack, and it
# leaves "-ões"/"-ais" plurals apart from their singular (pensões/pensão, nacionais/nacional).
_PT_PLURAL = (("oes", "ao"), ("aes", "ao"), ("aos", "ao"), ("ais", "al"), ("eis", "el"), ("ois", "ol"))
_PT_ACCENT = (("cao", "ção"), ("ancia", "ância"), ("encia", "ência"), ("avel", "ável"),
              ("ivel", "ível"), ("ao", "ão"))


def _pt(word: str) -> str:
    if len(word) >= 5:
        for plural, singular in _PT_PLURAL:
            if word.endswith(plural):
                word = word[:-len(plural)] + singular
                break
    for plain, accented in _PT_ACCENT:
        if word.endswith(plain) and len(word) > len(plain) + 1:
            return word[:-len(plain)] + accented
    return word


# Spanish: Snowball takes "-er" off "mujer" but only "-es" off "mujeres"; a plural made singular
# first gives both the same stem.
_ES_PLURAL = re.compile(r"(?<=[^aeiou][aeiou][rlndjys])es$")


def _es(word: str) -> str:
    if word.endswith("ces") and len(word) > 5:
        return word[:-3] + "z"  # veces → vez
    return _ES_PLURAL.sub("", word) if len(word) >= 6 else word


_PREPARE = {"pt": _pt, "es": _es}


@lru_cache(maxsize=400_000)
def stem(word: str, lang: str) -> str:
    """The stem of one folded word in `lang`; the word itself where Snowball has no stemmer."""
    if len(word) <= 2 or not word.isalpha():
        return word
    stemmer = _stemmer(lang)
    if stemmer is None:
        return word
    prepare = _PREPARE.get(lang)
    if prepare is not None:
        word = prepare(word)
    out = stemmer.stemWord(word)
    return out if out.isascii() else fold(out)


#: raw word → stem, per language: one dict look-up per word when indexing (the same as
#: stem(fold_word(word), lang), only faster).
_STEMMED: dict[str, dict[str, str]] = {}


def stem_text(text: str, lang: str) -> str:
    """Folded, stemmed words of `text` joined by spaces (what the search index stores)."""
    cache = _STEMMED.get(lang)
    if cache is None or len(cache) > 400_000:
        cache = _STEMMED[lang] = {}
    out = []
    for w in WORD.findall(text):
        s = cache.get(w)
        if s is None:
            s = cache[w] = stem(fold_word(w), lang)
        out.append(s)
    return " ".join(out)


# --- whitespace and sentences -------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def normalise_space(text: str) -> str:
    """Collapse whitespace (and soft hyphens) so quotes compare across line breaks."""
    text = text.replace("\ufffe", "").replace("\u00ad", "")
    return _SPACE.sub(" ", text).strip()


#: Abbreviations sentencex ends a sentence after, where the sentence goes on (folded, with
#: their final dot). Any language's list applies to every text: they do not clash.
ABBREVIATIONS = frozenset({
    "m.", "mm.", "mme.", "mlle.", "p. ex.", "ex.", "cf.", "art.", "arts.", "al.", "n.", "no.", "nº.",
    "n.º", "n.o", "sr.", "sra.", "srs.", "sres.", "dr.", "dra.", "drs.", "mr.", "mrs.", "ms.", "prof.",
    "p.", "pp.", "pag.", "vol.", "e.g.", "i.e.", "vs.", "approx.", "fig.", "p. ej.", "ej.", "num.",
    "st.", "jr.", "sec.", "ch.", "par.", "av.", "lic.", "v.", "sto.", "sta.",
})
_TAIL = re.compile(r"(?:^|[\s(])((?:[^\W\d_]{1,5}\.\s?){1,2}[º°o]?\.?)$")


def _glued(piece: str, following: str) -> bool:
    """Whether sentencex cut `piece` from `following` where the sentence goes on."""
    head = following.lstrip()
    if not head:
        return False
    if len(piece.strip()) < 4 or len(head) < 3:
        return True  # "1." or a stray letter is no sentence
    if head[0].islower() or head[0] in "º°ª":
        return True  # "p. | ex., disse", "n. | º 5": a sentence does not start so
    m = _TAIL.search(fold(piece.rstrip()))
    return bool(m) and m.group(1).strip() in ABBREVIATIONS


def sentences(text: str, language: str = "en") -> list[str]:
    """Sentences of `text`, each a verbatim substring of it (stripped)."""
    from sentencex import segment

    try:
        pieces = list(segment(language if language and len(language) == 2 else "en", text))
    except Exception:  # noqa: BLE001 - a language sentencex does not know: English rules
        pieces = list(segment("en", text))
    spans: list[tuple[int, int]] = []
    pos = 0
    for piece in pieces:
        start = pos if text.startswith(piece, pos) else max(text.find(piece, pos), pos)
        end = start + len(piece)
        if spans and _glued(text[spans[-1][0]:spans[-1][1]], piece):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        pos = end
    out = [text[a:b].strip() for a, b in spans]
    out = [s for s in out if s]
    return out or ([text.strip()] if text.strip() else [])


# --- headings -----------------------------------------------------------------------------

BULLET = r"[\u25ba\u25b6\u2022\u25aa\u25a0\u25c6\u25cf\u2023\u2043\u27a2\uf0b7\uf0a7\-\u2013\u2014*#>]"
_NUMBERING = re.compile(
    rf"^\s*(?:{BULLET}+\s*)?"
    r"(?:(?:chapter|chapitre|cap[ií]tulo|part|partie|parte|section|secci[oó]n|sec[cç][aã]o|se[cç][aã]o|tema|topic|theme|th[eè]me|t[oó]pico|eixo)\s+)?"
    r"(?P<num>\d{1,2}(?:\.\d{1,2}){0,4}\.?(?=[\s:)\-\u2013\u2014]|[A-Za-z\u00c0-\u024f])"
    r"|[IVXLC]{1,6}(?:[.):]|\s+[\-\u2013\u2014])"
    r"|[A-Za-z][.)])"
    r"[\s.):\-\u2013\u2014]*",
    re.IGNORECASE,
)
_BULLET_ONLY = re.compile(rf"^\s*{BULLET}+\s*")
_FOOTNOTE_TAIL = re.compile(r"(?<=[A-Za-z\u00c0-\u024f)])(?:\d{1,3}|[\u00b9\u00b2\u00b3\u2070-\u2079]+|Footnote\s*\w+)\s*$")


def split_number(text: str) -> tuple[str, str | None]:
    """("4.2 Relevance") → ("Relevance", "4.2"): a heading's words apart from its numbering;
    bullets are dropped too."""
    m = _NUMBERING.match(text)
    if m and m.end() < len(text):
        num = m.group("num").rstrip(".):-\u2013\u2014 ")
        return text[m.end():].strip(), num
    m = _BULLET_ONLY.match(text)
    if m and m.end() < len(text):
        return text[m.end():].strip(), None
    return text.strip(), None


@lru_cache(maxsize=100_000)
def normalize_heading(text: str) -> str:
    """Words of a heading for matching: folded, punctuation out, list separators → 'and'.

    A footnote number stuck to the last word ("Findings3") goes too.
    """
    text = _FOOTNOTE_TAIL.sub("", text.strip())
    t = fold(text.translate(_SPELL))
    t = re.sub(r"\s*[,;/&+]\s*", " and ", t)
    t = re.sub(r"[^a-z0-9]+", " ", t)
    return " ".join(t.split())
