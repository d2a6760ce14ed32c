"""Sections of a report: which headings it has and what kind each one is.

A synthesis reads a report by its parts (findings, conclusions, recommendations,
lessons learned…), whatever the language or numbering. Headings come from the
readers (`heading` blocks with a level); short bold, numbered or upper-case lines the
reader missed are promoted when their words name a known section. The vocabulary is in
data/headings.yaml, heading_words.yaml and item_markers.yaml. A section runs until the next
heading of the same or a higher level; table-of-contents entries never become sections.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

from whatworks.describe.headings import (
    CONTAINED_OK,
    CONTAINERS,
    FINDINGS_FAMILY,
    ITEM_SECTION,
    Vocabulary,
    first_line,
    heading_kinds,
    is_annex_heading,
    item_marker,
    numbering_depth,
    phrase_at,
    skip_modifiers,
    trim_post_modifiers,
    vocabulary,
)
from whatworks.describe.markers import first_item_start
from whatworks.model import Block, Document, Section
from whatworks.text import normalize_heading, split_number

log = logging.getLogger(__name__)


_LEADER = re.compile(r"(?:\.{3,}|\u2026{2,}|_{3,}|(?:\s?\.\s){3,}|-{4,}|\u00b7{3,})\s*\(?\d{1,3}\)?\s*$")
_TRAILING_PAGE = re.compile(r"[A-Za-z\u00c0-\u024f)]\s+\d{1,3}\s*$")


def _lines(b: Block) -> list[str]:
    return [ln for ln in b.text.split("\n") if ln.strip()]


def toc_blocks(blocks: list[Block]) -> set[int]:
    """Indices of table-of-contents entries: dotted leaders or page numbers, on early pages."""
    if not blocks:
        return set()
    last_page = blocks[-1].page
    by_page: dict[int, list[int]] = {}
    for i, b in enumerate(blocks):
        by_page.setdefault(b.page, []).append(i)
    out: set[int] = set()
    for page, idx in by_page.items():
        lines = [(i, ln) for i in idx for ln in _lines(blocks[i])]
        if not lines:
            continue
        leader = sum(1 for _, ln in lines if _LEADER.search(ln[-60:]))
        trailing = sum(1 for _, ln in lines if len(ln) < 150 and _TRAILING_PAGE.search(ln[-12:]))
        toc_page = leader >= 3 or (trailing >= 5 and trailing >= 0.4 * len(lines)
                                   and (page <= max(6, last_page * 0.15) or leader))
        for i in idx:
            ls = _lines(blocks[i])
            if any(_LEADER.search(ln[-60:]) for ln in ls):
                out.add(i)
            elif toc_page and ls and all(_TRAILING_PAGE.search(ln[-12:]) or len(ln) < 60 for ln in ls) \
                    and any(_TRAILING_PAGE.search(ln[-12:]) for ln in ls):
                out.add(i)
    return out


# --- candidate headings ---------------------------------------------------------------------


@dataclass
class _Candidate:
    index: int
    block: Block
    kinds: list[str]
    number: str | None
    level: int | None
    promoted: bool
    item: str | None = None  # item kind when the heading is one item ("Recommendation 2")


def _looks_like_heading(b: Block) -> bool:
    """A short line that could be a heading the reader did not mark."""
    text = b.text.strip()
    if "\n" in text or len(text) > 110 or len(text) < 3:
        return False
    title, number = split_number(text)
    words = title.split()
    if not words or len(words) > 12:
        return False
    if title.endswith((".", ",", ";")) and not number and not (
            b.bold and title.endswith(".") and title.count(".") == 1 and _exact(title[:-1])):
        return False  # a sentence — unless a bold line that is a heading and a full stop
    letters = [c for c in title if c.isalpha()]
    caps = bool(letters) and sum(c.isupper() for c in letters) >= 0.8 * len(letters) and len(letters) > 3
    return b.bold or caps or number is not None or len(words) <= 6


def _form_heading(b: Block) -> str | None:
    """The heading a one-cell table row of a form carries, if any (see `_candidates`)."""
    text = first_line(b.text)
    if b.bold and _looks_like_heading(b) and (_exact(text) or numbering_depth(split_number(text)[1]) == 1):
        return text
    label = text.split(":", 1)[0] if ":" in text[:120] else ""
    _, number = split_number(label)
    if label and number and numbering_depth(number) and len(label.split()) <= 14 and _exact(label):
        return label
    return None


def _exact(text: str) -> bool:
    """The whole line is a known heading phrase (after numbering and modifiers)."""
    v = vocabulary()
    title, _ = split_number(first_line(text))
    words = trim_post_modifiers(normalize_heading(title).split(), v)
    if words and words[0] in v.annex_words:
        return len(words) <= 10
    for start in skip_modifiers(words, 0, v):
        hit = phrase_at(words, start, v)
        if hit and _rest_names(words, start + hit[1], v):
            return True
    return False


def _rest_names(words: list[str], j: int, v: Vocabulary) -> bool:
    """Whether words[j:] are only trailing modifiers ("principales") and "and <phrase>"s:
    "Hallazgos principales", "Antecedentes y contexto" are whole headings too."""
    while j < len(words):
        if words[j] in v.post_modifiers:
            j += 1
            continue
        if words[j] not in v.conjunctions:
            return False
        hit = None
        for s in skip_modifiers(words, j + 1, v):
            hit = phrase_at(words, s, v)
            if hit:
                j = s + hit[1]
                break
        if hit is None:
            return False
    return True


def toc_titles(blocks: list[Block], toc: set[int]) -> set[str]:
    """The chapter titles a table of contents lists, without leaders and page numbers,
    normalised ("Recomendaciones, Aspectos Susceptibles de Mejora....82" → its words)."""
    out = set()
    for i in toc:
        for ln in _lines(blocks[i]):
            m = _LEADER.search(ln) or _TRAILING_PAGE.search(ln)
            title = ln[:m.start() + (1 if m.re is _TRAILING_PAGE else 0)] if m else ln
            words = normalize_heading(split_number(title.strip())[0])
            if len(words.split()) >= 1:
                out.add(words)
    return out


def _in_toc(b: Block, titles: set[str]) -> bool:
    """A line the table of contents lists as a chapter and that names a section: a heading,
    even when it ends with a full stop and the PDF gives it no bold or size of its own."""
    text = b.text.strip()
    if not titles or "\n" in text or len(text) > 160:
        return False
    return normalize_heading(split_number(text)[0]) in titles and bool(heading_kinds(text))


def _candidates(blocks: list[Block], toc: set[int], marks_headings: bool = False) -> list[_Candidate]:
    """Heading blocks, plus lines that look like headings the reader missed. When the
    format marks headings itself (HTML, DOCX, Markdown) a plain paragraph is promoted only
    if bold: a short "Recommendations" paragraph there is a table cell or a label. A line
    that the table of contents lists is a heading whatever it looks like."""
    cands: list[_Candidate] = []
    in_toc = False
    running = _running_headings(blocks)
    titles = toc_titles(blocks, toc) if not marks_headings else set()
    for i, b in enumerate(blocks):
        if b.kind == "heading":
            text = first_line(b.text)
            if not text or i in toc or text in running:
                continue
            kinds = heading_kinds(text)
            in_toc = bool(kinds) and kinds[0] == "table_of_contents"
            title, number = split_number(text)
            marker = item_marker(text) or item_marker(title)
            cands.append(_Candidate(i, b, kinds, number, b.level, False,
                                    marker[0] if marker else None))
        elif b.kind == "table_row" and not in_toc and i not in toc and len(b.cells or []) <= 1 \
                and (label := _form_heading(b)):
            # a form laid out as a one-column table (the CONAC summary form): its bold rows that
            # name a section ("2. PRINCIPALES HALLAZGOS DE LA EVALUACIÓN") or open a numbered part
            # ("4. DATOS DE LA INSTANCIA EVALUADORA"), and its numbered fields whose label names
            # a section ("3.2 Describir las recomendaciones de acuerdo a su relevancia:") are its headings
            title, number = split_number(label)
            cands.append(_Candidate(i, b, heading_kinds(label), number, None, True))
        elif b.kind in ("paragraph", "list_item") and not in_toc and i not in toc:
            marker = item_marker(b.text)
            rest = b.text[marker[2]:].strip() if marker else ""
            if marker and len(b.text) < 60 and len(rest.split()) < 4 and not rest.endswith("."):
                # "Recommendation 2" alone on its line: the heading of one item
                cands.append(_Candidate(i, b, [], None, None, True, marker[0]))
                continue
            if _in_toc(b, titles):
                title, number = split_number(first_line(b.text))
                cands.append(_Candidate(i, b, heading_kinds(b.text), number, None, True))
                continue
            if not _looks_like_heading(b):
                continue
            kinds = heading_kinds(b.text)
            # a plain "Recommendations" line right above a list labels that list, even where the
            # format marks its headings (a web page whose writer used a paragraph for it)
            labels_list = (bool(kinds) and kinds[0] in _LIST_KINDS and _exact(b.text) and i + 1 < len(blocks)
                           and blocks[i + 1].kind == "list_item")
            if not kinds or not (b.bold or labels_list
                                 or (not marks_headings and (_exact(b.text) or kinds[0] == "annex"))):
                continue
            title, number = split_number(first_line(b.text))
            if b.kind == "list_item" and not (b.bold or title.isupper()):
                continue
            cands.append(_Candidate(i, b, kinds, number, None, True))
    return cands


#: Sections whose plain label line above a list is a heading (their items are the list's).
_LIST_KINDS = ("recommendations", "lessons_learned", "good_practices", "conclusions")
#: A heading repeated on this many pages is the running header of the pages, not a heading.
RUNNING_PAGES = 3


def _running_headings(blocks: list[Block]) -> set[str]:
    """Texts the reader marked as headings on many pages ("SEDIF Zacatecas, Ejercicio Fiscal
    2017" at the top of every page) that name no section: running headers, which would cut the
    report's sections into page-long pieces."""
    pages: dict[str, set[int]] = {}
    for b in blocks:
        if b.kind == "heading":
            pages.setdefault(first_line(b.text), set()).add(b.page)
    return {t for t, ps in pages.items() if len(ps) >= RUNNING_PAGES and not heading_kinds(t)}


def _font_levels(cands: list[_Candidate]) -> list[tuple[float, int]]:
    sizes: dict[float, Counter] = {}
    for c in cands:
        if not c.promoted and c.level and c.block.font_size:
            sizes.setdefault(round(c.block.font_size, 1), Counter())[c.level] += 1
    return sorted((s, cnt.most_common(1)[0][0]) for s, cnt in sizes.items())


def _chapter_level(cands: list[_Candidate]) -> int:
    """The level of the report's chapters: that of "1. Introduction", "2. Findings"…, else
    the most common level of headings that name a chapter-like section."""
    numbered = [c.level for c in cands if not c.promoted and c.level
                and numbering_depth(c.number) == 1 and c.kinds]
    if len(numbered) >= 2:
        return Counter(numbered).most_common(1)[0][0]
    major = ("executive_summary", "background", "methodology", "findings", "conclusions",
             "recommendations", "lessons_learned", "annex", "references")
    levels = [c.level for c in cands if not c.promoted and c.level and c.kinds and c.kinds[0] in major]
    if levels:
        counts = Counter(levels)
        best = max(counts.values())
        return min(lvl for lvl, n in counts.items() if n == best)
    reader = [c.level for c in cands if not c.promoted and c.level]
    return min(reader) if reader else 1



def _is_annex(c: _Candidate) -> bool:
    return is_annex_heading(c.block.text)


def _assign_levels(cands: list[_Candidate]) -> int:
    """Give every candidate a level: the reader's, else from numbering, font size or context.
    Annex headings are chapters whatever their size. Returns the chapter level."""
    top = _chapter_level(cands)
    fonts = _font_levels(cands)
    container: _Candidate | None = None  # an open executive summary or annex
    seen_in_container: set[str] = set()
    # when the reader marks headings itself (HTML, DOCX, Markdown), a line it left as a
    # paragraph is at most a sub-heading of the section it sits in
    reader_marks = any(not c.promoted and c.level for c in cands) and not fonts
    last_reader: _Candidate | None = None
    for c in cands:
        if _is_annex(c) and (c.level is None or c.level > top):
            c.level = top
        if c.level is None and reader_marks and last_reader is not None and last_reader.level:
            c.level = last_reader.level + 1
        if c.level is None:
            depth = numbering_depth(c.number)
            size = round(c.block.font_size, 1) if c.block.font_size else None
            if depth is not None:
                c.level = top + depth - 1
            elif size is not None and fonts:
                near = min(fonts, key=lambda f: abs(f[0] - size))
                if abs(near[0] - size) <= 0.6:
                    c.level = near[1]
                elif size > fonts[-1][0]:
                    c.level = top
                else:
                    c.level = max(lvl for _, lvl in fonts) + 1
            if c.level is None:
                kind = c.kinds[0] if c.kinds else None
                if (container is not None and kind != "annex" and kind not in seen_in_container
                        and not (container.kinds and container.kinds[0] == "executive_summary"
                                 and kind == "executive_summary")):
                    c.level = (container.level or top) + 1
                else:
                    c.level = top
        kind = c.kinds[0] if c.kinds else None
        if container is not None and c.level <= (container.level or top):
            container = None
            seen_in_container = set()
        if kind in ("executive_summary", "annex") and c.level <= top:
            container = c
            seen_in_container = set()
        elif container is not None and kind:
            seen_in_container.add(kind)
        if not c.promoted:
            last_reader = c
    return top


# --- sections --------------------------------------------------------------------------------


def find_sections(document: Document) -> list[Section]:
    """The sections of `document`, in reading order (parents before their children)."""
    blocks = document.blocks
    if not blocks:
        return []
    toc = toc_blocks(blocks)
    cands = _candidates(blocks, toc, document.format in ("html", "docx", "markdown"))
    if not cands:
        return _synthetic(blocks, [])
    top = _assign_levels(cands)
    sections: list[Section] = []
    stack: list[tuple[_Candidate, Section]] = []
    front = True  # still on the title page: unnamed headings there are the title
    # "Evaluation summary" opening a brief is its title, not a section of it
    named = next((c for c in cands if c.kinds or c.item), None)  # the first heading naming a part
    doc_title = named if (named is not None and named.index <= 5 and named.block.page == blocks[0].page
                          and _names_document(named)) else None
    # "Anexo 1" opening a document that has no other annex: the document is that annex of some
    # rule or report (the CONAC summary form is "Anexo 1" of its guidelines), its title
    lone_annex = bool(cands) and cands[0].index <= 1 and _is_annex(cands[0]) \
        and not any(_is_annex(o) for o in cands[1:])
    for k, c in enumerate(cands):
        end = len(blocks)
        is_title = c is doc_title or (k == 0 and lone_annex) or (
            front and not c.kinds and c.item is None and c.block.page <= 2
            and not any(o.kinds for o in cands[:k] if o is not doc_title and not (lone_annex and o is cands[0])))
        front = is_title
        if is_title:
            end = cands[k + 1].index if k + 1 < len(cands) else len(blocks)
        else:
            for o in cands[k + 1:]:
                if (o.level or top) <= (c.level or top):
                    end = o.index
                    break
        while stack and (stack[-1][0].level or top) >= (c.level or top):
            stack.pop()
        parent = stack[-1][1] if stack else None
        kind = _kind(c, parent, is_title)
        if kind == "table_of_contents":
            end = _toc_end(blocks, toc, c.index, end)
        last = blocks[end - 1] if end > c.index else c.block
        section = Section(kind=kind, heading=first_line(c.block.text), page_start=c.block.page,
                          page_end=max(last.page, c.block.page), level=c.level or top,
                          block_start=c.index, block_end=end)
        sections.append(section)
        if not is_title:
            stack.append((c, section))
    sections += _split_combined(blocks, sections)
    sections += _synthetic(blocks, sections)
    for s in sections:  # level 1 = the report's chapters, whatever the format's numbering
        s.level = max(1, s.level - (top - 1))
    sections.sort(key=lambda s: (s.block_start, s.level))
    return sections


def _names_document(c: _Candidate) -> bool:
    """A first heading that titles the whole document as a brief does ("Resumen de la
    evaluación", "Evaluation summary"), not a report's "Executive summary". (A "Terms of
    reference" title stays a container: a ToR's Background is the ToR's, see test_examples.)"""
    if not c.kinds or c.kinds[0] not in ("executive_summary", "table_of_contents"):
        return False  # "Sommaire évaluation": French "sommaire" is a summary and a contents list
    from whatworks.describe.kind import phrase_sets

    text = first_line(c.block.text)
    if c.index == 0 and c.kinds[0] == "executive_summary" and len(text.partition(":")[2].split()) >= 3:
        return True  # "At a Glance: Departmental Evaluation Plan for …": the page's own title
    return any(kind == "evaluation_brief" for kind, _ in phrase_sets()["title"].finditer(text))


def _toc_end(blocks: list[Block], toc: set[int], start: int, end: int) -> int:
    """A contents list ends with its last entry, not at the next heading (which may be
    pages away when the body's headings were not recognised)."""
    entries = [i for i in range(start + 1, end) if i in toc]
    if not entries:
        return end
    last = entries[-1]
    pages = {blocks[i].page for i in entries}
    stop = last + 1
    while stop < end and blocks[stop].page in pages and (stop - last) <= 3 and stop not in toc \
            and len(blocks[stop].text) < 80:
        stop += 1
    return stop


def _kind(c: _Candidate, parent: Section | None, is_title: bool) -> str:
    if is_title:
        return "front_matter"
    pk = parent.kind if parent else None
    if c.item:
        kind = ITEM_SECTION[c.item]
        if pk in CONTAINERS:
            return pk
        return kind
    if c.kinds:
        kind = c.kinds[0]
        if kind == "executive_summary" and pk and pk not in ("front_matter", "other", "table_of_contents"):
            # "Summary of key findings" closing a findings chapter is not the report's summary
            return c.kinds[1] if len(c.kinds) > 1 else pk
        if kind == "methodology" and pk in FINDINGS_FAMILY:
            return pk  # "Performance measurement and data collection" in a findings chapter: a finding's topic
        annex_heading = is_annex_heading(c.block.text)
        if pk in CONTAINERS and not annex_heading and kind not in CONTAINED_OK and kind != pk:
            if pk == "management_response" and kind not in ("recommendations",):
                return kind if kind in CONTAINERS else pk
            return pk
        return kind
    if pk and pk not in ("other", "front_matter", "table_of_contents"):
        return pk
    return "other"


def section_kinds(section: Section) -> list[str]:
    """All kinds a section's heading names (its own kind first)."""
    kinds = heading_kinds(section.heading)
    return [section.kind] + [k for k in kinds if k != section.kind]


def _split_combined(blocks: list[Block], sections: list[Section]) -> list[Section]:
    """"Conclusions and recommendations" with no sub-heading for the recommendations:
    a nested section from the first numbered recommendation on."""
    out = []
    for s in sections:
        kinds = heading_kinds(s.heading)
        if len(kinds) < 2 or s.kind not in ("conclusions", "lessons_learned"):
            continue
        for second in kinds[1:]:
            if second not in ("recommendations", "lessons_learned", "good_practices"):
                continue
            if any(o is not s and o.kind == second and s.block_start < o.block_start < s.block_end
                   for o in sections):
                continue
            start = first_item_start(blocks, s.block_start + 1, s.block_end, second)
            if start is None or start <= s.block_start + 1:
                continue
            out.append(Section(kind=second, heading=s.heading, page_start=blocks[start].page,
                               page_end=s.page_end, level=s.level + 1, block_start=start,
                               block_end=s.block_end))
    return out


def _synthetic(blocks: list[Block], sections: list[Section]) -> list[Section]:
    """No recommendations heading but "Recommendation 1:" paragraphs: a section around them."""
    if any("recommendations" in section_kinds(s) for s in sections):
        return []
    starts = [i for i, b in enumerate(blocks)
              if b.kind in ("paragraph", "list_item", "heading")
              and (m := item_marker(b.text)) and m[0] == "recommendation"]
    if not starts:
        return []
    annex_from = min((s.block_start for s in sections
                      if s.kind in CONTAINERS[:4] or is_annex_heading(s.heading)), default=len(blocks))
    # recommendations restated in a management response (or listed in a table of contents)
    # are the response's, not a section of their own
    boxed = [(s.block_start, s.block_end) for s in sections
             if s.kind in ("management_response", "table_of_contents")]
    starts = [i for i in starts if i < annex_from and not any(a <= i < b for a, b in boxed)]
    if not starts:
        return []
    first = starts[0]
    # the run ends at the next heading after the last recommendation
    end = min((s.block_start for s in sections if s.block_start > starts[-1]), default=len(blocks))
    level = max((s.level for s in sections if s.block_start <= first < s.block_end), default=0) + 1
    return [Section(kind="recommendations", heading=first_line(blocks[first].text)[:120],
                    page_start=blocks[first].page, page_end=blocks[end - 1].page, level=level,
                    block_start=first, block_end=end)]
