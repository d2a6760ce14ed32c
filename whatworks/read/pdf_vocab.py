"""The words the PDF reader recognises, compiled once from whatworks/data/pdf_layout.yaml.

Captions, bold lead-ins, page-number words, bold font names and hyphenated compounds
differ by language; keeping them in a data file lets a new language be added without
touching the layout code. The regular expressions are built here, at import, so the
per-line checks stay as cheap as the constants they replace.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent.parent / "data" / "pdf_layout.yaml"


def _alternation(words: list[str]) -> str:
    """`a|b|c` of the escaped words, longest first so that a longer word wins."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def _load() -> dict:
    with open(DATA, encoding="utf-8") as f:
        return yaml.safe_load(f)


_DATA = _load()

CAPTION_RE = re.compile(
    rf"^({_alternation(_DATA['captions'])})\s*(n[°o]\s*)?[\dIVXivx]+([.\-]\d+)*\s*[:.\-–—]?",
    re.IGNORECASE,
)
#: "Finding 2." / "Recommendation 3:" in bold at a paragraph start: a paragraph, not a heading.
ITEM_LEAD_RE = re.compile(
    rf"^({_alternation(_DATA['item_leads'])})s?\s*(n[°o]\s*)?[\dIVX]+[\d.]*\s*[.:\-–—)]",
    re.IGNORECASE,
)
PAGE_NUMBER_RE = re.compile(
    rf"^[-–—(|]?\s*(?:(?:{_alternation(_DATA['page_words'])})\s*)?(\d{{1,4}}|[ivxlc]{{1,7}})"
    rf"(?:\s*(?:{_alternation(_DATA['page_of_words'] + ['/'])})\s*\d{{1,4}})?\s*[-–—)|]?$",
    re.IGNORECASE,
)
BOLD_NAME_RE = re.compile(_alternation(_DATA["bold_font_words"]).encode(), re.IGNORECASE)

_HYPHEN = _DATA["hyphenation"]
HYPHEN_PREFIXES = frozenset(w.lower() for w in _HYPHEN["prefixes"])
HYPHEN_PARTS = frozenset(w.lower() for w in _HYPHEN["parts"])
HYPHEN_COMPOUNDS = frozenset(w.lower() for w in _HYPHEN["compounds"])
