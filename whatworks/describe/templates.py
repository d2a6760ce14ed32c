"""The ILO Lesson Learned and Emerging Good Practice templates at the end of ILO reports.

Each filled-in template is one lesson (or practice) with named parts — context,
targeted users, challenges, success factors… — which is exactly what a synthesis
codes, so they become items with those parts in Item.fields. Templates are tables
(label cell, text cell) or "Label: text" paragraphs, in EN/FR/ES/PT; labels are in
data/templates.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from whatworks import vocab
from whatworks.describe.headings import first_line, vocabulary
from whatworks.model import Block, Item, Section
from whatworks.text import normalize_heading, split_number, tokens, words

TEMPLATE_KINDS = ("lesson_learned", "good_practice")


@dataclass
class _Labels:
    titles: dict[str, list[str]]  # kind → normalised title phrases
    header: list[str]
    fields: dict[str, list[tuple[str, str]]]  # kind → [(phrase, key)], longest first
    recommendation: dict[str, list[str]]
    priority_values: list[str]


def _phrases(terms: list[str]) -> list[str]:
    return sorted({normalize_heading(p) for p in terms} - {""}, key=len, reverse=True)


@lru_cache(maxsize=1)
def labels() -> _Labels:
    templates, rec = vocab.load("templates"), vocab.load("recommendation_fields")
    fields: dict[str, list[tuple[str, str]]] = {}
    for concept in vocab.load("template_fields").values():
        fields.setdefault(concept.get("template"), []).extend(
            (p, concept.get("field")) for p in _phrases(concept.all()))
    return _Labels(
        titles={k: _phrases(templates.terms(k)) for k in TEMPLATE_KINDS},
        header=_phrases(templates.terms("header")),
        fields={k: sorted(pairs, key=lambda x: len(x[0]), reverse=True) for k, pairs in fields.items()},
        recommendation={k: _phrases(c.all()) for k, c in rec.items()},
        priority_values=_phrases([w for c in vocab.load("priorities").values() for w in c.all()]),
    )


def recommendation_fields() -> dict[str, list[str]]:
    """Field key (addressee, priority, timeframe, resources) → label phrases, normalised."""
    return labels().recommendation


def _starts(norm: str, phrase: str) -> bool:
    return norm == phrase or norm.startswith(phrase + " ")


def _strip_annex(norm: str) -> str:
    words = norm.split()
    if words and words[0] in vocabulary().annex_words:
        words = words[1:]
        if words and re.fullmatch(r"\d+|[a-z]|[ivx]+", words[0]):
            words = words[1:]
    return " ".join(words)


def template_title(text: str) -> str | None:
    """The template kind a line opens ("ILO Lesson Learned Template 2" → lesson_learned)."""
    norm = _strip_annex(normalize_heading(split_number(first_line(text))[0]))
    if len(norm.split()) > 16:
        return None
    for kind, phrases in labels().titles.items():
        if any(_starts(norm, p) or (p in norm and len(norm.split()) <= len(p.split()) + 4)
               for p in phrases):
            return kind
    return None


@lru_cache(maxsize=1)
def _by_first_word() -> dict[str, dict[str, list[tuple[str, str]]]]:
    """kind → first word → [(phrase, key)], longest first: a block is tried only against
    the labels that begin with its own first word."""
    out: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for kind, pairs in labels().fields.items():
        index: dict[str, list[tuple[str, str]]] = {}
        for p, key in pairs:
            index.setdefault(p.split()[0], []).append((p, key))
        out[kind] = index
    return out


def _label(text: str, kind: str) -> tuple[str, int] | None:
    """(field key, number of label words) when `text` starts with a field label."""
    norm = normalize_heading(text[:300])
    first = norm.split(" ", 1)[0]
    for p, key in _by_first_word()[kind].get(first, ()):
        if _starts(norm, p):
            return key, len(p.split())
    return None


def _is_header(text: str) -> bool:
    norm = normalize_heading(text[:120])
    return any(_starts(norm, p) for p in labels().header)


def _after_label(text: str, nwords: int) -> str:
    """What follows a label: past its words, a parenthesis and a colon or dash."""
    head = text[:300]
    colon = head.find(":")
    if 0 < colon < 250 and len(words(head[:colon])) <= nwords + 16:
        rest = text[colon + 1:].strip()
        if rest.endswith(":") and ":" not in rest[:-1] and len(rest.split()) <= 15:
            return ""  # "Relevant conditions and Context: limitations or advice…:" is all label
        return rest
    pos = 0
    for k, (_, _, end) in enumerate(tokens(text)):
        if k == nwords:
            break
        pos = end
    rest = text[pos:]
    m = re.match(r"\s*\([^)]*\)", rest)
    if m:
        rest = rest[m.end():]
    return rest.lstrip(" \t:-\u2013\u2014.").strip()


@dataclass
class _Template:
    kind: str
    start: int
    values: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    current: str | None = None

    def add(self, key: str, index: int, text: str) -> None:
        self.current = key
        if text:
            self.values.setdefault(key, []).append((index, text))

    def item(self, blocks: list[Block]) -> tuple[int, Item] | None:
        text_parts = self.values.get("text")
        if not text_parts:
            return None
        fields = {k: "\n".join(t for _, t in v) for k, v in self.values.items() if k != "text"}
        first = text_parts[0][0]
        last_page = max(blocks[i].page for v in self.values.values() for i, _ in v)
        if last_page != blocks[first].page:
            fields["page_end"] = str(last_page)
        text = "\n".join(t for _, t in text_parts)
        return self.start, Item(kind=self.kind, text=text, page=blocks[first].page, fields=fields)


def find_templates(blocks: list[Block], sections: list[Section]) -> list[tuple[int, Item]]:
    """Every filled-in ILO template as (index of its first block, item)."""
    out: list[tuple[int, Item]] = []
    current: _Template | None = None

    def close() -> None:
        nonlocal current
        if current is not None:
            done = current.item(blocks)
            if done:
                out.append(done)
        current = None

    for i, b in enumerate(blocks):
        if b.kind not in ("heading", "paragraph", "list_item", "table_row"):
            continue
        text = b.text.strip()
        if not text:
            continue
        cells = [c.strip() for c in (b.cells or [])] if b.kind == "table_row" else []
        title = None
        if len(cells) > 1:
            if not any(cells[1:]) and len(cells[0]) < 160:
                title = template_title(cells[0])
        elif len(text) < 160:
            title = template_title(text)
        if title:
            close()
            current = _Template(title, i)
            continue
        if current is None and len(cells) < 2:
            continue  # outside a template only a table row can open one
        label_text = cells[0] if cells else text
        kinds = [current.kind] if current else list(TEMPLATE_KINDS)
        hit = None
        for kind in kinds:
            hit = _label(label_text, kind)
            if hit:
                break
        if hit and current is None:
            # without a title, only a table row "Brief description of lesson learned | …"
            # opens a template: a chapter's "Lesson learned 1: …" paragraph does not
            if hit[0] != "text" or not cells:
                continue
            current = _Template(kind, i)
        if current is None:
            continue
        if hit:
            key, nwords = hit
            if key == "text" and "text" in current.values:
                kind = current.kind
                close()
                current = _Template(kind, i)
            if cells and len(cells) > 1:
                value = "\n".join(c for c in cells[1:] if c)
            else:
                value = _after_label(label_text, nwords)
            current.add(key, i, value)
        elif _is_header(label_text) and not current.values:
            continue
        elif b.kind == "heading":
            if current.values:
                close()
        elif current.current:
            value = "\n".join(c for c in cells if c) if cells else text
            current.add(current.current, i, value)
    close()
    return out


def _content_words(text: str) -> set[str]:
    """Words of four letters or more: what a lesson is about."""
    return {w for w in words(text) if len(w) >= 4 and w.isalpha()}


def similar(a: str, b: str, threshold: float = 0.5) -> bool:
    """Two texts tell the same lesson: most content words of the shorter are in the longer."""
    wa, wb = _content_words(a), _content_words(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) >= threshold
