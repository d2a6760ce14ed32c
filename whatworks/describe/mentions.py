"""Where something is said: the words around a place that make it the evaluated object's or not
(a funder, an example, an office's address, a reference's publisher, a person's name, an acronym
the report uses for something else), and where a cover read as one paragraph starts its next
"Label:". Used by describe.metadata; the words are in data/place_words.yaml.
"""

from __future__ import annotations

import re
from functools import lru_cache

from whatworks import vocab
from whatworks.describe.kind import Phrases, phrase_pattern
from whatworks.describe.places import Mention

YEAR_RE = re.compile(r"(?<![\d/.-])((?:19|20)\d\d)(?![\d/])")

_LABEL_WORD = re.compile(r"[\w'\u2019()/&.-]+")
#: Small words inside a label ("Date of Report", "Fecha de término").
_LABEL_JOINS = {"of", "the", "de", "du", "des", "del", "la", "le", "da", "do", "das", "dos", "and", "et", "y", "e"}


def next_label(text: str, pos: int = 0) -> int | None:
    """Where the next "Label:" starts in a cover read as one paragraph ("Countries: Lesotho and
    Zimbabwe Type of evaluation: Final" → at "Type"), or None. The label is the last capitalised
    word before the colon, with the capitalised words joined to it by small words ("Date of
    Report"), so that a list's last name ("Zimbabwe", "December 2023") is not taken for it."""
    for colon in re.finditer(r"[:\uff1a](?!\d)", text[pos:]):
        end = pos + colon.start()
        words = list(_LABEL_WORD.finditer(text, max(pos, end - 80), end))[-6:]
        if not words or text[words[-1].end(): end].strip():
            continue
        start = None
        for k in range(len(words) - 1, -1, -1):
            if words[k].group(0)[:1].isupper():
                start = k
                break
            if words[k].group(0).lower() not in _LABEL_JOINS and k < len(words) - 4:
                break
        if start is None:
            continue
        while start >= 2 and words[start - 1].group(0).lower() in _LABEL_JOINS \
                and words[start - 2].group(0)[:1].isupper():
            start -= 2
        at = words[start].start()
        if at > pos:
            return at
    return None


#: A line that is an address or a contact, whose country is an office's, not the object's.
ADDRESS_RE = re.compile(
    r"(?i)(?:\bp\.?\s?o\.?\s?box\b|\bb\.?p\.?\s?\d|\bc\.?p\.?\s?\d{4,5}\b|\bcase postale\b|"
    r"\btel\.?\s*[:+(\d]|\bt[ée]l[ée]?(?:phone|éfono|efone)?\s*[:+(]|\bfax\b|e-?mail\s*:|@[\w-]+\.|\bwww\.|"
    r"\b[A-Z]{1,2}-\d{4,5}\b|\b\d{1,4},?\s+(?:route|rue|avenue|street|calle|avenida|rua)\b|"
    r"\b(?:route|rue|avenue|avenida|calle|rua)\s+(?:de|des|du|del|da|do)\b)")


@lru_cache(maxsize=1)
def _context_phrases() -> tuple[Phrases | None, Phrases | None]:
    words = vocab.load("place_words")
    return (phrase_pattern(words.terms("funding_context")) if "funding_context" in words else None,
            phrase_pattern(words.terms("example_context")) if "example_context" in words else None)


#: How far back in its sentence a funding phrase makes a place a funder ("funded by the EU, the
#: Swiss Agency for Development and Cooperation and the Government of the Netherlands").
FUNDING_REACH = 150
#: "Chile: ILPES-CEPAL, Serie Manuales No. 3, 1998": a publisher's city or country in a reference.
CITATION_AFTER_RE = re.compile(r"^\s*:\s*[A-Z\u00c0-\u00dd][\w-]*")
#: "Mtra. Karen Italia Ruiz López": a person's name that holds a country's.
PERSON_BEFORE_RE = re.compile(r"(?:\b(?:Mtr?a|Dra?|Lic|Ing|Mr|Mrs|Ms|Mme|Sra?|Prof|Srta)\.?|\bM\.)\s+"
                              r"[A-Z\u00c0-\u00dd][a-z\u00e0-\u00ff]+\s+$")

#: "Dr. Dirk Geysen (ECF expert, " — a titled person's name and an open parenthesis, before the
#: country that closes it: the person's affiliation, not a place the object covers.
AFFILIATION_BEFORE_RE = re.compile(r"(?:\b(?:Dr|Dra|Prof|Mr|Mrs|Ms|Mme|Sr|Sra|Mtro|Mtra|Lic|Ing)\.?|\bM\.)\s+"
                                   r"(?:[A-Z\u00c0-\u00dd][\w.'\u2019-]*\s+){0,4}[A-Z\u00c0-\u00dd][\w'\u2019-]*\s*"
                                   r"\([^()]{0,80}$")


def place_context(text: str, start: int, end: int | None = None) -> str | None:
    """"funding", "example", "address", "citation" or "person" when the place at `start` is
    named as a funder, an example or comparison, in an office's address, as a publisher's place
    in a reference or in a person's name; None when it may be the object's."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start: line_end if line_end >= 0 else len(text)]
    if len(line) < 250 and ADDRESS_RE.search(line):
        return "address"
    if end is not None:
        after = text[end: end + 150]
        if CITATION_AFTER_RE.match(after) and YEAR_RE.search(after):
            return "citation"
    if PERSON_BEFORE_RE.search(text[max(0, start - 40): start]):
        return "person"
    if end is not None and text[end: end + 1] == ")" and AFFILIATION_BEFORE_RE.search(text[max(0, start - 120): start]):
        return "person"  # "Dr. Dirk Geysen (ECF expert, Belgium)": where a person works
    # the sentence so far (at most 300 characters back)
    lo = max(line_start, start - 300)
    seg = text[lo:start]
    cut = max(seg.rfind(". "), seg.rfind("; "), seg.rfind(" | "))
    seg = seg[cut + 1:] if cut >= 0 else seg
    funding, example = _context_phrases()
    if funding is not None and funding.search(seg[-FUNDING_REACH:]):
        return "funding"
    if example is not None and example.search(seg[-45:]):
        return "example"
    return None


def unborrowed(mentions: list[Mention]) -> list[Mention]:
    """Mentions without the country acronyms a report never spells out: "PRC" is China only in
    a report that names China; elsewhere it is the "Planning and Reporting Committee (PRC)".
    (An ISO3 code such as "USA" stands for its country wherever it is.)"""
    spelled = {m.iso3 for m in mentions if m.iso3 and not (m.text.isupper() and len(m.text) <= 4)}
    return [m for m in mentions if not m.iso3 or m.iso3 in spelled or m.text == m.iso3
            or not (m.text.isupper() and len(m.text) <= 4)]
