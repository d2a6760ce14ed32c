"""Items of a report: each recommendation, conclusion, lesson learned, good practice and
numbered finding, verbatim, with the page it starts on.

A synthesis review extracts these one by one, so counting them right matters more than
anything else here. Within the report's own section for a kind (not its executive
summary, not its annexes) an item starts at, in order of trust: a row of a
recommendations table; an explicit marker ("Recommendation 3:", "Constatation 2.",
"Lección aprendida 1"); a numbered list 1, 2, 3…; a bullet; a paragraph. It runs to
the next start, heading or management response. Findings are items only when numbered
or listed as key findings: the prose of a findings chapter is not a list of findings.
ILO lesson-learned and good-practice templates come from describe.templates.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from whatworks import vocab
from whatworks.describe.headings import (
    CONTAINERS,
    CRITERIA,
    FINDINGS_FAMILY,
    ITEM_SECTION,
    first_line,
    heading_kinds,
    is_annex_heading,
    item_marker,
    numbering_depth,
    vocabulary,
)
from whatworks.describe.markers import (
    COLUMN_GAP,
    TEXT_KINDS,
    asks,
    marker_starts,
    number_of,
    numbered_starts,
)
from whatworks.describe.templates import find_templates, recommendation_fields, similar
from whatworks.model import Block, Document, Item, Section
from whatworks.text import fold, normalize_heading, split_number

log = logging.getLogger(__name__)

#: Block kinds that carry an item's words (running headers, footers, captions do not).
ITEM_KINDS_ORDER = ("finding", "conclusion", "recommendation", "lesson_learned", "good_practice")
#: Section kinds that bound another kind's items ("Recommendations" inside "Conclusions").
ITEM_BEARING = set(ITEM_SECTION.values()) | set(FINDINGS_FAMILY)

_BULLET = re.compile(r"^\s*[\u2022\u25aa\u25a0\u25cf\u25ba\u25b6\u2023\u2043\u27a2\uf0b7\uf0a7\u2013\u2014\-*o\u25e6]\s+(?=\S)")
#: Points between list items' left edges that mean another column, not a deeper level.
_TERMINAL = (".", "!", "?", ":", ";", "\u201d", '"', ")")


@dataclass
class _Raw:
    kind: str
    blocks: list[int]
    number: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # set when the text is not simply the blocks (table rows)


# --- vocabulary ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _stops() -> tuple[str, ...]:
    return tuple(sorted({normalize_heading(s) for s in vocab.load("heading_words").terms("item_stop")},
                        key=len, reverse=True))


def _is_stop(text: str) -> bool:
    words = normalize_heading(split_number(first_line(text))[0])
    return any(words == s or words.startswith(s + " ") for s in _stops())


def _is_intro(text: str) -> bool:
    t = text.strip()
    if t.endswith(":"):
        return True
    words = normalize_heading(t)
    return any(words.startswith(p + " ") for p in vocabulary().list_intros) and len(t) < 400


# --- the document, its back matter and executive summary --------------------------------------


class _Doc:
    def __init__(self, document: Document, sections: list[Section]):
        self.blocks = document.blocks
        self.sections = sections
        n = len(self.blocks)
        self.es = [(s.block_start, s.block_end) for s in sections if s.kind == "executive_summary"]
        # contents lists name every chapter ("4. Main Findings 10"): never items
        self.toc = {i for s in sections if s.kind == "table_of_contents" for i in range(s.block_start, s.block_end)}
        body_kinds = ("findings", "conclusions", "recommendations", *FINDINGS_FAMILY)
        first_body = min((s.block_start for s in sections if s.kind in body_kinds
                          and not self.in_es(s.block_start)), default=0)
        backs = sorted(s.block_start for s in sections
                       if (s.kind in ("annex", "terms_of_reference", "people_met", "references")
                           or is_annex_heading(s.heading))
                       and s.block_start > first_body and not self.in_es(s.block_start))
        bodies = [s.block_start for s in sections if s.kind in body_kinds and not is_annex_heading(s.heading)]
        # the back matter starts at the first annex or reference list after which the report's
        # body does not go on (a "Sources" heading in mid-report is not its end)
        self.back_start = next((b for b in backs if not any(x > b and not self._inside_back(x, b) for x in bodies)),
                               n)

    def _inside_back(self, i: int, back_start: int) -> bool:
        """Whether block `i` lies inside a back-matter section starting at or after `back_start`
        (an annex's own "Findings" heading does not make the body go on)."""
        return any(s.block_start >= back_start and s.block_start < i < s.block_end
                   and (s.kind in ("annex", "terms_of_reference", "people_met", "references")
                        or is_annex_heading(s.heading)) for s in self.sections)

    def in_es(self, i: int) -> bool:
        return any(a <= i < b for a, b in self.es)

    def in_back(self, i: int) -> bool:
        return i >= self.back_start

    def body(self, s: Section) -> bool:
        return not self.in_es(s.block_start) and not self.in_back(s.block_start)


def _outermost(sections: list[Section]) -> list[Section]:
    out: list[Section] = []
    for s in sorted(sections, key=lambda s: (s.block_start, -s.block_end)):
        if out and out[-1].block_start <= s.block_start < out[-1].block_end:
            continue
        out.append(s)
    return out


def _region(d: _Doc, s: Section, kind: str) -> list[int]:
    """Block indices of a section, minus nested sections that hold other things."""
    sk = ITEM_SECTION[kind]
    family = FINDINGS_FAMILY if kind == "finding" else (sk,)
    excluded: set[int] = set()
    for o in d.sections:
        if o is s or not (s.block_start < o.block_start < s.block_end):
            continue
        if (o.kind in ITEM_BEARING or o.kind in CONTAINERS) and o.kind not in family:
            kept = set()
            if kind == "recommendation" and o.kind == "management_response":
                # "Recommendations and management response": each response may be followed by
                # the next "Recommendation 2: …", which the response's heading does not own
                kept = {i for i in range(o.block_start, o.block_end)
                        if (m := item_marker(d.blocks[i].text)) and m[0] == "recommendation"}
            excluded.update(i for i in range(o.block_start, o.block_end) if i not in kept)
    return [i for i in range(s.block_start, min(s.block_end, len(d.blocks)))
            if i not in excluded and d.blocks[i].kind in TEXT_KINDS]


# --- where items start -----------------------------------------------------------------------


def _bullet_starts(blocks: list[Block], idx: list[int]) -> list[tuple[int, None]]:
    items = [i for i in idx if blocks[i].kind == "list_item" or _BULLET.match(blocks[i].text)]
    depths = [blocks[i].level for i in items if blocks[i].kind == "list_item" and blocks[i].level]
    if depths:  # a reader that records list nesting: sub-items belong to their parent
        top = min(depths)
        items = [i for i in items if (blocks[i].level or top) <= top]
    xs = sorted({round(blocks[i].bbox[0]) for i in items if blocks[i].bbox})
    if xs:
        # the left edge of each column's list: a sub-item sits a little right of it
        lefts = [x for k, x in enumerate(xs) if k == 0 or x - xs[k - 1] >= COLUMN_GAP]
        items = [i for i in items if not blocks[i].bbox
                 or blocks[i].bbox[0] <= max(x for x in lefts if x <= blocks[i].bbox[0] + 0.5) + 8]
    return [(i, None) for i in items]


@lru_cache(maxsize=1)
def _about_items() -> re.Pattern:
    """The words that name recommendations and lessons, in any of the four languages."""
    v = vocabulary()
    words = v.words["recommendation"] + [w for w in v.words["lesson_learned"] if " " in w]
    return re.compile("|".join(re.escape(w).replace(r"\ ", r"\w*\s+") for w in words))


def _paragraph_starts(blocks: list[Block], idx: list[int]) -> list[tuple[int, None]]:
    """Paragraphs as items, the last resort; a sentence about the list ("A total of 3
    recommendations emerge…") is not one of them."""
    out = []
    for i in idx:
        b = blocks[i]
        if b.kind != "paragraph" or len(b.text.strip()) < 40 or _is_intro(b.text):
            continue
        if _about_items().search(normalize_heading(b.text)):
            continue
        if out and _continues(blocks[out[-1][0]], b):
            continue
        out.append((i, None))
    return out


def _continues(prev: Block, nxt: Block) -> bool:
    """The next block goes on with the sentence the previous one broke off (page break)."""
    t = prev.text.rstrip()
    n = nxt.text.lstrip()
    return bool(t) and bool(n) and not t.endswith(_TERMINAL) and (n[0].islower() or nxt.page != prev.page and not n[0].isupper())


# --- from starts to items ------------------------------------------------------------------------


def _spans(d: _Doc, idx: list[int], starts: list[tuple[int, str | None]], kind: str,
           bullets: bool = False) -> list[_Raw]:
    """Each start with the blocks after it, up to the next start, heading or stop."""
    pos = {i: k for k, i in enumerate(idx)}
    start_set = {i for i, _ in starts}
    out = []
    for i, num in starts:
        members = [i]
        head = d.blocks[i]
        for j in idx[pos[i] + 1:]:
            b = d.blocks[j]
            if j in start_set:
                break
            if b.kind == "heading" and not (head.kind == "heading" and len(members) == 1
                                            and _short(head.text)):
                if head.kind != "heading" or (b.level or 9) <= (head.level or 9) or len(members) > 1:
                    break
            if _is_stop(b.text) or (b.kind == "table_row") != (head.kind == "table_row"):
                break
            if _other_item(b.text, kind):
                break  # "Boa prática n.º 1:" after the last lesson starts something else
            # a plain list item owns its sub-items, and what follows only if the sentence goes
            # on; a bold one ("1. Enhance efforts…" as a lead) owns the explanation below it
            plain_item = head.kind == "list_item" and not head.bold
            if (bullets or plain_item) and not _continues(d.blocks[members[-1]], b) and b.kind != "list_item":
                break
            if kind == "finding" and not (_short(d.blocks[members[-1]].text)
                                          or _continues(d.blocks[members[-1]], b)):
                break
            members.append(j)
        out.append(_Raw(kind, members, num))
    return out


def _run_on_markers(d: _Doc, raws: list[_Raw], kind: str) -> list[_Raw]:
    """Items a reader ran together into one paragraph ("Recommendation 4: … Low. Recommendation 5:
    … Recommendation 7: …"): each next number after a sentence's end starts an item of its own."""
    out: list[_Raw] = []
    for r in raws:
        num = r.number or ""
        if not num.isdigit():
            out.append(r)
            continue
        text = r.text if r.text is not None else _join(d.blocks, r.blocks)
        expected, cuts = int(num) + 1, []
        for m in re.finditer(r"(?<=[.;!?])\s+(?=\S)", text):
            found = item_marker(text[m.end(): m.end() + 80])
            if found and found[0] == kind and found[1] == str(expected):
                cuts.append((m.end(), found[1]))
                expected += 1
        if not cuts:
            out.append(r)
            continue
        bounds = [(0, num)] + cuts
        for k, (a, n) in enumerate(bounds):
            piece = text[a: bounds[k + 1][0] if k + 1 < len(bounds) else len(text)].strip()
            fields = _fields(piece, bare=True)[0] if kind == "recommendation" else {}
            out.append(_Raw(kind, list(r.blocks), n, {**r.fields, **fields}, text=piece))
    return out


def _other_item(text: str, kind: str) -> bool:
    """A block that opens an item of another kind: "Good practice 1:", "Lección aprendida: …"
    (not "Finding 3 shows that…", a sentence that cites one)."""
    m = item_marker(text)
    if m and m[0] != kind and text[:m[2]].rstrip()[-1:] in ":.)-\u2013\u2014":
        return True
    return _label_kind(text) not in (None, kind)


def _short(text: str) -> bool:
    """A marker or heading with little text of its own ("Finding #1", "Recommendation 2:")."""
    m = item_marker(text)
    rest = text[m[2]:] if m else split_number(text)[0]
    return len(rest.split()) < 6 or rest.rstrip().endswith(":")


def _table(d: _Doc, idx: list[int], kind: str) -> list[_Raw]:
    """Recommendations laid out as a table: one item per row, columns as fields."""
    if kind != "recommendation":
        return []
    rows = [i for i in idx if d.blocks[i].kind == "table_row" and d.blocks[i].cells]
    if len(rows) < 2:
        return []
    labels = recommendation_fields()
    word = vocabulary().markers["recommendation"]
    out: list[_Raw] = []
    columns: dict[int, str] | None = None
    repeated = False  # the header was just repeated (a new page of the table)
    last_full = False  # the last item's row had other cells than its text
    for i in rows:
        cells = [c.strip() for c in d.blocks[i].cells or []]
        header = _header(cells, labels, word)
        if header:
            repeated = columns is not None
            columns = header
            continue
        if columns is None:
            continue
        values = {columns.get(k): c for k, c in enumerate(cells) if columns.get(k) and c}
        text = values.pop("text", "")
        number = values.pop("number", None)
        text_only = not any(c for k, c in enumerate(cells) if columns.get(k) != "text")
        after_header, repeated = repeated, False
        if not text:
            continue
        if _EMPTY_CELL.fullmatch(text):
            last_full = not text_only
            continue  # "No aplica": a row with no recommendation
        marker = item_marker(text)
        # a row with only its text cell filled, first on a new page of a table whose rows fill
        # other cells: the end of the last row, cut by the page break
        carried = after_header and text_only and last_full and not marker
        split_row = carried or text[:1].islower() or (bool(_BULLET.match(text)) and not values) or (
            out and out[-1].number and not values and ("number" in columns.values()
                                                       or not (out[-1].text or "").rstrip().endswith(_TERMINAL)))
        last_full = not text_only if not split_row else last_full
        if out and not number and not marker and split_row:
            out[-1].text = f"{out[-1].text} {text}"  # a row split by a page break
            out[-1].blocks.append(i)
            continue
        if marker and not number:
            number = marker[1]
        elif not number:
            num = number_of(text)
            number = ".".join(map(str, num)) if num else None
        out.append(_Raw(kind, [i], number, {k: v for k, v in values.items() if v}, text=text))
    return out


#: A table cell that holds no recommendation.
_EMPTY_CELL = re.compile(r"(?i)\s*(?:[-\u2013\u2014.]+|n/?a|no aplica|not applicable|non applicable|ne s'applique pas|"
                         r"n[ãa]o (?:se )?aplica|ninguna|none|sin recomendaci[óo]n|aucune)\s*\.?\s*")


def _header(cells: list[str], labels: dict[str, list[str]], word: re.Pattern) -> dict[int, str] | None:
    """Column → role ("text", "number", a field key) when `cells` is a header row."""
    if not cells or any(len(c) > 60 for c in cells):
        return None
    roles: dict[int, str] = {}
    for k, c in enumerate(cells):
        n = normalize_heading(c)
        if not n:
            continue
        if n in ("no", "n", "nr", "num", "number", "numero", "n o", "ref", "id") or c.strip() in ("#", "N°", "Nº", "No."):
            roles[k] = "number"
            continue
        key = _field_key(n, labels)
        if key:
            roles[k] = key
        elif not re.search(r"\d", c) and (word.match(fold(c) + " 1") or fold(c).startswith(("recommend", "recomend"))):
            roles[k] = "text"  # "Recommendation", not "R1 Do this" (a short first row)
    if "text" not in roles.values():
        return None
    return roles


def _field_key(norm: str, labels: dict[str, list[str]]) -> str | None:
    for key, phrases in labels.items():
        for p in phrases:
            if norm == p or norm.startswith(p + " "):
                return key
    return None


# --- recommendation attributes ------------------------------------------------------------------


@lru_cache(maxsize=1)
def _field_pattern() -> re.Pattern:
    labels = recommendation_fields()
    alts = sorted({p for ps in labels.values() for p in ps}, key=len, reverse=True)
    alt = "|".join(re.escape(p).replace(r"\ ", r"[\s'\u2019-]+") for p in alts)
    return re.compile(rf"(?:^|(?<=[\s(\[|;.,*_]))(?P<label>{alt})\s*[*_]*\s*[:\uff1a]")


@lru_cache(maxsize=1)
def _bare_priority() -> re.Pattern:
    """"High priority", "Priorité : élevée" without the label form, "prioridad alta"."""
    from whatworks.describe.templates import labels

    values = "|".join(re.escape(v).replace(r"\ ", r"\s+") for v in labels().priority_values)
    words = "|".join(re.escape(p) for p in recommendation_fields()["priority"] if " " not in p)
    return re.compile(rf"(?<![a-z])(?:(?P<a>{values})\s+(?:{words})|(?:{words})\s+(?P<b>{values}))(?![a-z])")


def _fields(text: str, bare: bool = False) -> tuple[dict[str, str], bool]:
    """Attributes stated in `text` ("Priority: High. Addressed to: ILO") and whether the
    block is nothing but such attributes; `bare` also reads "(High priority)" (the
    recommendation's own line only: prose below may call anything a high priority)."""
    folded = fold(text)
    labels = recommendation_fields()
    found = []
    for m in _field_pattern().finditer(folded):
        key = _field_key(normalize_heading(m.group("label")), labels)
        if key:
            found.append((m.start("label"), m.end(), key))
    out: dict[str, str] = {}
    for k, (_, vstart, key) in enumerate(found):
        vend = found[k + 1][0] if k + 1 < len(found) else len(text)
        value = text[vstart:vend].strip().strip("|;,*_ ").rstrip(".").strip()
        value = value.strip("()[]").strip() if value.count("(") != value.count(")") else value
        if value and key not in out:
            out[key] = value
    only = bool(found) and not text[:found[0][0]].strip(" -\u2022*_(|[\t")
    if bare and "priority" not in out:
        m = _bare_priority().search(folded[:300])
        if m:
            g = "a" if m.group("a") else "b"
            out["priority"] = text[m.start(g):m.end(g)]
    return out, only


# --- assembling items -------------------------------------------------------------------------


def _join(blocks: list[Block], members: list[int]) -> str:
    """The blocks' text: a sentence broken between two adjacent blocks of one page is
    mended with a space; anything else (a page break, a footnote in between) starts a new
    line, so that every line can be found as it is on its page."""
    parts: list[str] = []
    prev: int | None = None
    for j in members:
        b = blocks[j]
        t = b.text.strip()
        if not t:
            continue
        if prev is not None and j == prev + 1 and b.page == blocks[prev].page and _continues(blocks[prev], b):
            parts.append(" " + t)
        else:
            parts.append(("\n" if parts else "") + t)
        prev = j
    return "".join(parts)


def _finish(d: _Doc, raw: _Raw) -> Item | None:
    blocks = d.blocks
    fields = dict(raw.fields)
    members = list(raw.blocks)
    if raw.kind == "recommendation" and raw.text is None:
        keep = []
        for k, j in enumerate(members):
            found, only = _fields(blocks[j].text, bare=k == 0)
            for key, value in found.items():
                fields.setdefault(key, value)
            if not (only and k > 0):
                keep.append(j)
        members = keep
    text = raw.text if raw.text is not None else _join(blocks, members)
    if not text.strip():
        return None
    first = blocks[members[0]]
    last_page = max(blocks[j].page for j in members)
    if last_page != first.page:
        fields["page_end"] = str(last_page)
    return Item(kind=raw.kind, text=text, page=first.page, number=raw.number, fields=fields)


def _item_heading(heading: str, kind: str) -> str | None:
    """The number of a heading that names one item of `kind`, after whose it is ("CPAC
    Recommendation 3", "Recommendation 2", "Recomendación 4") — None for other headings."""
    words = normalize_heading(heading)
    for w in vocabulary().words.get(kind, []):
        m = re.search(rf"(?:^|\s){re.escape(w)}\s+(?:n\s?o\s+)?(\d{{1,2}})$", words)
        if m and len(words.split()) <= len(w.split()) + 4:
            return m.group(1)
    return None


def _singular(heading: str, kind: str) -> bool:
    """"Recommendation" (not "Recommendations") over prose: the section is one item."""
    if kind == "conclusion":  # a "Conclusion" chapter still makes several points
        return False
    title = split_number(heading)[0].rstrip(":. \u00a0")
    first, _, rest = title.partition(" ")
    if rest and first.isupper() and first.isalpha() and len(first) <= 6:
        title = rest  # "CPAC Recommendation 1": an organisation's recommendation
    m = item_marker(title + " 1")
    return bool(m) and m[0] == kind and not title.lower().endswith("s")


def _split(d: _Doc, idx: list[int], kind: str, markers_only: bool = False,
           heading: str = "") -> list[_Raw]:
    if not idx:
        return []
    blocks = d.blocks
    table = _table(d, idx, kind)
    if table:
        return table
    starts = marker_starts(blocks, idx, kind)
    if starts:
        return _run_on_markers(d, _spans(d, idx, starts, kind), kind)
    if markers_only:
        return []
    if kind == "recommendation":
        inline = _inline_list(d, idx, kind)
        if inline:
            return inline
        boxed = _numbered_box(d, idx, kind)
        if boxed:
            return boxed
    # a table's rows are not a list, but a form's one-cell rows are its text
    idx = [i for i in idx if blocks[i].kind != "table_row" or len(blocks[i].cells or []) <= 1]
    if kind == "finding":
        return _finding_lists(d, idx)
    numbered = numbered_starts(blocks, idx)
    if numbered:
        return _spans(d, idx, numbered, kind)
    bullets = _bullet_starts(blocks, idx)
    if bullets:
        return _spans(d, idx, bullets, kind, bullets=True)
    paragraphs = _paragraph_starts(blocks, idx)
    # a form's next prompt ("Are there any lessons arising from …?") ends the paragraphs that
    # answer the previous one
    ask = next((i for i in idx if paragraphs and i > paragraphs[0][0] and asks(blocks[i].text)), None)
    if ask is not None:
        paragraphs = [(i, n) for i, n in paragraphs if i < ask]
        idx = [i for i in idx if i < ask]
    if heading and _singular(heading, kind):
        body = [i for i in idx if blocks[i].kind != "heading" and blocks[i].text.strip()]
        return [_Raw(kind, body)] if body else []
    return _spans(d, idx, paragraphs, kind, bullets=False) \
        if kind != "recommendation" or len(paragraphs) <= 15 else []


#: A bullet inside a block's text (a form's cell holding a whole list: "➢ Do this. ➢ Do that.").
_INLINE_BULLET = re.compile(r"(?:^|(?<=\s))[\u27a2\u2022\uf0b7\u25aa\u25cf\u25ba\u2023\uf0a7]\s+(?=\S)")
#: A number opening an item inside a block's text ("…las siguientes: 1. Con base en …").
_INLINE_NUMBER = re.compile(r"(?:^|(?<=[\s:]))(\d{1,2})[.):]\s+(?=[A-Z\u00c0-\u00dd\u00bf\u00a1])")
#: A letter opening an item group ("A) Fortalecer el diseño …: • … • … B) …"): the bullets are its parts.
_INLINE_LETTER = re.compile(r"(?:^|(?<=[\s:]))([A-H])[.)]\s+(?=[A-Z\u00c0-\u00dd])")


def _inline_list(d: _Doc, idx: list[int], kind: str) -> list[_Raw]:
    """Items listed inside blocks rather than one per block: a form's cell that holds its whole
    list of recommendations, or its label and the first items ("3.2 Describir las
    recomendaciones…: 1. Con base en … 2. …"). Bullets anywhere, or numbers 1, 2, 3… in order,
    start items; the text before the first start is the label; text between is the item's.
    [] unless some block holds two starts or a label and a start (else the usual rules apply)."""
    pieces: list[list] = []  # [block, number, text]
    expected = 1
    crowded = False
    whole = " ".join(d.blocks[i].text for i in idx)
    letters = [m.group(1) for m in _INLINE_LETTER.finditer(whole)]
    lettered = len(letters) >= 2 and letters[:2] == ["A", "B"]
    letter = "A"
    for i in idx:
        b = d.blocks[i]
        if b.kind == "heading" and i != idx[0]:
            break
        text = b.text
        cuts: list[tuple[int, int, str | None]] = []
        if lettered:
            for m in _INLINE_LETTER.finditer(text):
                if m.group(1) == letter:
                    cuts.append((m.start(), m.end(), m.group(1)))
                    letter = chr(ord(letter) + 1)
        else:
            cuts = [(m.start(), m.end(), None) for m in _INLINE_BULLET.finditer(text)]
        if not cuts and not lettered:
            for m in _INLINE_NUMBER.finditer(text):
                if int(m.group(1)) == expected:
                    cuts.append((m.start(), m.end(), m.group(1)))
                    expected += 1
        cuts.sort()
        if len(cuts) >= 2 or (cuts and cuts[0][0] > 0 and (i == idx[0] or not pieces)):
            crowded = True
        lead = text[: cuts[0][0]] if cuts else text
        if lead.strip() and pieces:
            pieces[-1][2] += " " + lead.strip()
        for k, (a, _, num) in enumerate(cuts):
            end = cuts[k + 1][0] if k + 1 < len(cuts) else len(text)
            pieces.append([i, num, text[a:end].strip()])
    if not crowded or len(pieces) < 2:
        return []
    return [_Raw(kind, [i], num, text=" ".join(t.split())) for i, num, t in pieces if len(t.split()) >= 3]


def _numbered_box(d: _Doc, idx: list[int], kind: str) -> list[_Raw]:
    """A section that is one numbered recommendation laid out as a box: its number alone on a
    line ("2"), then the recommendation, whose bullets are its parts ("It is recommended that the
    ADM: • implement … • develop …")."""
    body = [i for i in idx if d.blocks[i].kind != "heading" and d.blocks[i].text.strip()]
    if len(body) < 2 or not re.fullmatch(r"\d{1,2}", d.blocks[body[0]].text.strip()):
        return []
    if any(re.fullmatch(r"\d{1,2}", d.blocks[i].text.strip()) for i in body[1:]):
        return []
    return [_Raw(kind, body[1:], d.blocks[body[0]].text.strip())]


def _finding_lists(d: _Doc, idx: list[int]) -> list[_Raw]:
    """Numbered statement headings ("4.1 Take-up rose…") or a numbered/bulleted list."""
    blocks = d.blocks
    idx = [i for i in idx if blocks[i].kind != "table_row"]
    heads = [(i, split_number(first_line(blocks[i].text))[1]) for i in idx
             if blocks[i].kind == "heading" and _statement(blocks[i].text)]
    if len(heads) >= 2:
        top = min(numbering_depth(num) or 1 for _, num in heads)  # 4.1.1 details 4.1
        return [_Raw("finding", [i], num) for i, num in heads if (numbering_depth(num) or 1) == top]
    idx = [i for i in idx if blocks[i].kind != "heading"]  # numbered headings are the chapter's own
    numbered = numbered_starts(blocks, idx)
    if numbered:
        return _spans(d, idx, numbered, "finding")
    bullets = _bullet_starts(blocks, idx)
    return [_Raw("finding", [i]) for i, _ in bullets]


@lru_cache(maxsize=1)
def _verbs() -> frozenset[str]:
    return frozenset(normalize_heading(v) for v in vocab.load("heading_words").terms("statement_verb"))


def _statement(text: str) -> bool:
    """A heading that states a finding ("4.1 Take-up rose among women"): numbered, a
    sentence with a verb, not a topic ("4.1 Needs of migrants") nor a question."""
    title, number = split_number(first_line(text))
    if number is None or numbering_depth(number) is None or len(title.split()) < 6:
        return False
    if title.rstrip().endswith("?"):
        return False
    if title.rstrip().endswith(".") and not title.rstrip().endswith(".."):
        return True
    return any(w in _verbs() for w in normalize_heading(title).split())


def _collect(d: _Doc, kind: str) -> list[_Raw]:
    sk = ITEM_SECTION[kind]
    family = FINDINGS_FAMILY if kind == "finding" else (sk,)
    own = [s for s in d.sections if s.kind in family and d.body(s)]
    raws: list[_Raw] = []
    if kind == "finding":
        # explicit "Finding 3" markers anywhere in the body win
        body = [i for i in range(len(d.blocks)) if not d.in_es(i) and not d.in_back(i)
                and d.blocks[i].kind in TEXT_KINDS and i not in d.toc]
        starts = marker_starts(d.blocks, body, kind)
        if starts:
            return _spans(d, body, starts, kind)
        for s in _outermost(own):
            raws += _finding_lists(d, _region(d, s, kind)) if _keyed(s) or _has_statements(d, s) else []
        if not raws:
            keyed = [s for s in d.sections if s.kind == "findings" and _keyed(s)]
            for s in _outermost(keyed):
                raws += _finding_lists(d, _region(d, s, kind))
        return raws
    swot = [s for s in own if kind == "recommendation" and _is_swot(s.heading)]
    raws = _in_sections(d, [s for s in own if s not in swot], kind) or _in_sections(d, swot, kind)
    if raws:
        if kind == "recommendation":
            raws += _stray_markers(d, raws)
        return raws
    # a section whose heading names the kind second ("Conclusions and recommendations"), then
    # the executive summary's own section for the kind, then its combined ones
    summary = [s for s in d.sections if d.in_es(s.block_start)]
    for group, mixed in (([s for s in d.sections if d.body(s)], True), (summary, False), (summary, True)):
        if mixed:
            raws = _in_mixed(d, [s for s in group if sk in heading_kinds(s.heading)[1:]], kind)
        else:
            raws = _in_sections(d, [s for s in group if s.kind == sk], kind)
        if raws:
            return raws
    if raws or kind != "recommendation":
        return raws
    body = [i for i in range(len(d.blocks)) if not d.in_back(i) and i not in d.toc
            and d.blocks[i].kind in TEXT_KINDS]
    starts = marker_starts(d.blocks, [i for i in body if not d.in_es(i)], kind) \
        or marker_starts(d.blocks, body, kind)
    return _spans(d, body, starts, kind) if starts else (
        _annexed_table(d, kind) or _announced_list(d, kind) or _response_table(d, kind))


def _response_table(d: _Doc, kind: str) -> list[_Raw]:
    """A report whose recommendations are stated only in its management response's table
    ("Recommendation | Management Response | Target"): the table's recommendation column, once.
    Used only when the report gives them nowhere else (a response restating them is not a second
    telling)."""
    if kind != "recommendation":
        return []
    for s in _outermost([s for s in d.sections if s.kind == "management_response" and not d.in_back(s.block_start)]):
        idx = [i for i in range(s.block_start, min(s.block_end, len(d.blocks))) if d.blocks[i].kind in TEXT_KINDS]
        rows = _table(d, idx, kind)
        if rows:
            return rows
    return []


@lru_cache(maxsize=1)
def _announce_words() -> tuple[re.Pattern, re.Pattern]:
    words = vocab.load("heading_words")
    stems = "|".join(re.escape(w) for w in words.terms("recommendation_stem"))
    previous = "|".join(re.escape(w) for w in words.terms("previous_word"))
    return re.compile(rf"(?<![a-z])(?:{stems})"), re.compile(rf"(?<![a-z])(?:{previous})(?![a-z])")


def _announced_list(d: _Doc, kind: str) -> list[_Raw]:
    """A report with no recommendations section whose text announces them ("Considering these
    findings, the project made the following recommendations:") then lists them as bullets or
    numbers: each list item is one, across labels for whom they are ("For the Government:"). Not
    when the sentence is about another evaluation's ("the previous evaluation recommended:")."""
    if kind != "recommendation":
        return []
    stem, previous = _announce_words()
    blocks = d.blocks
    # a page's running header or footer ("PROJECT COMPLETION REPORT" on every page) may fall
    # between two items of the list
    counts = Counter(b.text.strip() for b in blocks if len(b.text) < 80)
    out: list[_Raw] = []
    for i, b in enumerate(blocks):
        text = b.text.strip()
        if d.in_back(i) or d.in_es(i) or i in d.toc or b.kind not in ("paragraph", "heading") \
                or not text.endswith(":"):
            continue
        sentence = fold(re.split(r"(?<=[.!?])\s", text)[-1] if "." in text[:-1] else text)
        if not stem.search(sentence) or previous.search(sentence):
            continue
        # the announcing sentence may end with the first label: "…recommendations: For the sector:"
        j = i + 1
        while j < len(blocks):
            nb = blocks[j]
            t = nb.text.strip()
            if nb.kind == "list_item" or _BULLET.match(t):
                if asks(split_number(t)[0]):
                    break  # the form's next numbered question
                out.append(_Raw(kind, [j]))
            elif not (len(t) < 80 and (t.endswith(":") or counts[t] >= 3)):
                break
            j += 1
        if out:
            return out
    return []


def _annexed_table(d: _Doc, kind: str) -> list[_Raw]:
    """A report whose recommendations are only in an annex's table ("Anexo 7. Principales
    fortalezas, retos y recomendaciones", "Annex 3: Recommendations matrix"): its rows, one
    recommendation each. Only an annex whose title names the recommendations as what it holds
    ("Status of the recommendations of the last evaluation" names them as its topic)."""
    raws: list[_Raw] = []
    for s in d.sections:
        if not is_annex_heading(s.heading) or d.in_es(s.block_start):
            continue
        title = re.sub(r"^\S+\s+[\dA-Za-z]{1,4}\b[.:)\-\u2013\u2014]?\s*", "", first_line(s.heading))
        if "recommendations" not in heading_kinds(title):
            continue
        idx = [i for i in range(s.block_start, min(s.block_end, len(d.blocks))) if d.blocks[i].kind in TEXT_KINDS]
        raws += _table(d, idx, kind)
    return raws


def _is_swot(heading: str) -> bool:
    """A SWOT (FODA) analysis heading ("Análisis de Fortalezas, …, Amenazas y Recomendaciones")."""
    words = f" {normalize_heading(heading)} "
    return any(f" {normalize_heading(w)} " in words for w in vocab.load("heading_words").terms("swot"))


def _in_sections(d: _Doc, sections: list[Section], kind: str) -> list[_Raw]:
    """The items of `kind` in sections of their own kind."""
    raws: list[_Raw] = []
    for s in _outermost(sections):
        boxes = [o for o in d.sections if o is not s and s.block_start < o.block_start < s.block_end
                 and o.kind == s.kind and _item_heading(o.heading, kind)]
        if len(boxes) >= 2:
            # "Health Canada Recommendation 1", "CPAC Recommendation 1…6": one item under each
            for o in boxes:
                body = [i for i in _region(d, o, kind) if d.blocks[i].kind != "heading" and d.blocks[i].text.strip()]
                if body:
                    raws.append(_Raw(kind, body, _item_heading(o.heading, kind)))
            continue
        raws += _split(d, _region(d, s, kind), kind, heading=s.heading)
    # "Lecciones aprendidas y buenas prácticas": a "Buena práctica: …" bullet there is not a lesson
    return [r for r in raws if _label_kind(d.blocks[r.blocks[0]].text) in (None, kind)]


def _in_mixed(d: _Doc, sections: list[Section], kind: str) -> list[_Raw]:
    """The items of `kind` in sections that name it second: only those marked as such
    ("Recommendation 2:", or "Good practice: …" without a number)."""
    raws: list[_Raw] = []
    for s in _outermost(sections):
        region = _region(d, s, kind)
        found = _split(d, region, kind, markers_only=True)
        if not found:
            labelled = [(i, None) for i in region if _label_kind(d.blocks[i].text) == kind]
            found = _spans(d, region, labelled, kind, bullets=True) if labelled else []
        raws += found
    return raws


@lru_cache(maxsize=1)
def _label_patterns() -> list[tuple[str, re.Pattern]]:
    v = vocabulary()
    out = []
    for kind, words in v.words.items():
        alt = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
        out.append((kind, re.compile(rf"^[\s\u2022\u25aa\u25cf\u2013\u2014*-]*(?:{alt})s?\s*[:\u2013\u2014-]")))
    return out


def _label_kind(text: str) -> str | None:
    """The item kind a block names as its label without a number ("Lección aprendida: …",
    "Good practice – …"), None when it has no such label."""
    head = fold(text[:80])
    for kind, pattern in _label_patterns():
        if pattern.match(head):
            return kind
    return None


def _stray_markers(d: _Doc, raws: list[_Raw]) -> list[_Raw]:
    """"Recommendation 2:" paragraphs in the body, outside any recommendations section
    (each finding chapter ending with its recommendation), that the sections did not give."""
    have = {r.number for r in raws if r.number}
    if not have:
        return []
    covered = {i for r in raws for i in r.blocks}
    boxed = {i for s in d.sections if s.kind in CONTAINERS for i in range(s.block_start, s.block_end)}
    body = [i for i in range(len(d.blocks)) if not d.in_es(i) and not d.in_back(i)
            and i not in boxed and i not in d.toc and d.blocks[i].kind in TEXT_KINDS]
    starts = [(i, n) for i, n in marker_starts(d.blocks, body, "recommendation")
              if n not in have and i not in covered]
    return _spans(d, body, starts, "recommendation") if starts else []


def _keyed(s: Section) -> bool:
    """"Key findings", "Main findings", "Principales constatations": a list of findings."""
    words = normalize_heading(split_number(s.heading)[0]).split()
    return any(w in vocabulary().key_words for w in words[:3])


def _has_statements(d: _Doc, s: Section) -> bool:
    return sum(1 for i in range(s.block_start + 1, s.block_end)
               if d.blocks[i].kind == "heading" and _statement(d.blocks[i].text)) >= 2


def find_items(document: Document, sections: list[Section]) -> list[Item]:
    """Every finding, conclusion, recommendation, lesson and good practice of `document`."""
    d = _Doc(document, sections)
    if not d.blocks:
        return []
    raws: list[_Raw] = []
    for kind in ITEM_KINDS_ORDER:
        raws += _collect(d, kind)
    seen: set[tuple[str, int, str]] = set()
    items: list[tuple[int, Item]] = []
    for raw in raws:
        key = (raw.kind, raw.blocks[0], (raw.text or "")[:60])  # several items may share a block (a form cell)
        if key in seen:
            continue
        seen.add(key)
        item = _finish(d, raw)
        if item:
            items.append((raw.blocks[0], item))
    items = _dedupe(items)
    templates = find_templates(d.blocks, sections)
    items = _merge_templates(items, templates)
    if not any(item.kind == "finding" for _, item in items) and (
            not items or any(sec.kind in CRITERIA and d.body(sec) for sec in sections)):
        items += _narrative_findings(d)
    items.sort(key=lambda x: x[0])
    out = []
    for start, item in items:
        item.section_index = _innermost(sections, start)
        out.append(item)
    return out


#: At most this many paragraphs of a narrative findings chapter become findings.
MAX_NARRATIVE = 60


def _narrative_findings(d: _Doc) -> list[tuple[int, Item]]:
    """A report that lists no findings — told as prose under criterion headings ("Relevance",
    "Efficacité") or as bold lead sentences — still has findings: each paragraph of its findings
    chapters (not its annexes, not its summary) is one, so that no included report is left
    without evidence. Used when no finding was found and either nothing else was or the findings
    are organised by evaluation criteria."""
    out: list[tuple[int, Item]] = []
    for s in _outermost([s for s in d.sections if s.kind in FINDINGS_FAMILY and d.body(s)]):
        idx = [i for i in range(s.block_start, min(s.block_end, len(d.blocks)))
               if d.blocks[i].kind in TEXT_KINDS and not d.in_back(i) and not d.in_es(i)]
        for i, _ in _paragraph_starts(d.blocks, idx):
            if len(d.blocks[i].text.split()) < 8:
                continue
            item = _finish(d, _Raw("finding", [i]))
            if item:
                item.fields["narrative"] = "paragraph"
                out.append((i, item))
            if len(out) >= MAX_NARRATIVE:
                return out
    return out


def _dedupe(items: list[tuple[int, Item]]) -> list[tuple[int, Item]]:
    """One item told twice — a "Recommendations" summary up front and the chapter later —
    is kept once: the later telling, the chapter's."""
    keep: list[tuple[int, Item]] = []
    for start, item in items:
        twin = next((k for k, (_, o) in enumerate(keep) if o.kind == item.kind and (
            similar(o.text, item.text) if o.number and item.number and o.number == item.number
            else not (o.number and item.number) and similar(o.text, item.text, 0.8))), None)
        if twin is None:
            keep.append((start, item))
        else:
            keep[twin] = (start, item)
    return keep


def _innermost(sections: list[Section], i: int) -> int | None:
    best = None
    for k, s in enumerate(sections):
        if s.block_start <= i < s.block_end and (best is None or s.level >= sections[best].level):
            best = k
    return best


def _merge_templates(items: list[tuple[int, Item]], templates: list[tuple[int, Item]]
                     ) -> list[tuple[int, Item]]:
    """A lesson told in the chapter and again in its ILO template is one lesson: keep the
    template (it has the fields), with the chapter's number."""
    out = list(items)
    for kind in ("lesson_learned", "good_practice"):
        tmpl = [(start, t) for start, t in templates if t.kind == kind]
        if not tmpl:
            continue
        chapter = [k for k, (_, it) in enumerate(out) if it.kind == kind]
        pairs: dict[int, int] = {}  # template position → chapter position in `out`
        free = list(chapter)
        for pos, (_, t) in enumerate(tmpl):
            match = next((k for k in free if similar(out[k][1].text, t.text)), None)
            if match is not None:
                pairs[pos] = match
                free.remove(match)
        if not pairs and len(chapter) == len(tmpl):
            pairs = dict(enumerate(chapter))
        for pos, (start, t) in enumerate(tmpl):
            if pos in pairs:
                k = pairs[pos]
                t.number = t.number or out[k][1].number
                out[k] = (start, t)
            else:
                out.append((start, t))
    return out
