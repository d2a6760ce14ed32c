"""The words the PDF reader recognises, compiled once from whatworks/data/pdf_layout.yaml (vocab.load).

Captions, bold lead-ins, page-number words, bold font names and hyphenated compounds
differ by language; keeping them in a data file lets a new language be added without
touching the layout code. The regular expressions are built here, at import, so the
per-line checks stay as cheap as the constants they replace.
"""

from __future__ import annotations

import re

from whatworks import vocab


def _alternation(words: list[str]) -> str:
    """`a|b|c` of the escaped words, longest first so that a longer word wins."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_DATA = vocab.load("pdf_layout")

CAPTION_RE = re.compile(
    rf"^({_alternation(_DATA.terms('caption'))})\s*(n[°o]\s*)?[\dIVXivx]+([.\-]\d+)*\s*[:.\-–—]?",
    re.IGNORECASE,
)
#: "Finding 2." / "Recommendation 3:" in bold at a paragraph start: a paragraph, not a heading.
ITEM_LEAD_RE = re.compile(
    rf"^({_alternation(_DATA.terms('item_lead'))})s?\s*(n[°o]\s*)?[\dIVX]+[\d.]*\s*[.:\-–—)]",
    re.IGNORECASE,
)
PAGE_NUMBER_RE = re.compile(
    rf"^[-–—(|]?\s*(?:(?:{_alternation(_DATA.terms('page'))})\s*)?(\d{{1,4}}|[ivxlc]{{1,7}})"
    rf"(?:\s*(?:{_alternation(_DATA.terms('page_of') + ['/'])})\s*\d{{1,4}})?\s*[-–—)|]?$",
    re.IGNORECASE,
)
BOLD_NAME_RE = re.compile(_alternation(_DATA.terms("bold_font")).encode(), re.IGNORECASE)

HYPHEN_PREFIXES = frozenset(w.lower() for w in _DATA.terms("hyphen_prefix"))
HYPHEN_PARTS = frozenset(w.lower() for w in _DATA.terms("hyphen_part"))
HYPHEN_COMPOUNDS = frozenset(w.lower() for w in _DATA.terms("hyphen_compound"))
