"""Lines → blocks: headings, list items, captions, table rows and paragraphs of one page.

A PDF says nothing about what a line is, so each line is weighed against the document's
normal text (`Stats`): larger, bold, coloured, numbered or capitalised lines may be
headings; bullets and enumerators start list items; "Table 3:" starts a caption; lines
that follow at normal spacing in the same style continue the block. Text broken by a
line-end hyphen is joined back unless it is a compound (see `dehyphen`).
"""

from __future__ import annotations

import logging
import re
from collections import Counter

from whatworks.model import Block
from whatworks.read.pdf_layout import (
    BULLET_RE,
    ENUM_RE,
    NUMBERED_RE,
    TOC_LINE_RE,
    WORD_RE,
    Frag,
    Line,
    PageData,
    Stats,
    is_marker,
    mode_size,
    reading_order,
    split_rows,
)
from whatworks.read.pdf_tables import (
    Table,
    TablePlace,
    columns,
    continues_row,
    find_tables,
    fits_columns,
    header_row,
    row_cells,
)
from whatworks.read.pdf_text import Word
from whatworks.read.pdf_vocab import (
    CAPTION_RE,
    HYPHEN_COMPOUNDS,
    HYPHEN_PARTS,
    HYPHEN_PREFIXES,
    ITEM_LEAD_RE,
)

log = logging.getLogger(__name__)

#: Headings longer than this are paragraphs in a heading's clothes (bold callouts).
HEADING_MAX_WORDS = 25


def page_blocks(pd: PageData, stats: Stats) -> list[Block]:
    """The page's blocks: running headers first, then the body in reading order (tables in
    their place), text in other directions, running footers last."""
    if not pd.frags:
        return []
    direction = Counter(f.q for f in pd.frags if f.role == "body").most_common(1)
    q = direction[0][0] if direction else 0
    body = [f for f in pd.frags if f.role == "body" and f.q == q]
    other = [f for f in pd.frags if f.role == "body" and f.q != q]
    sizes = sorted(f.size for f in body) or [stats.body]
    gutter = max(3.0, 0.4 * sizes[len(sizes) // 2])
    tables: list[Table] = []
    if q == 0 and pd.rulings[0]:  # tables are found on upright pages only
        try:
            tables, rest = find_tables(pd.rulings, body + other, pd.height or 842)
        except Exception:  # a table we cannot make out is read as plain text, never a failed file
            log.warning("table detection failed on page %d", pd.number, exc_info=True)
            tables, rest = [], body + other
        if tables:
            body = [f for f in rest if f.q == q] + [TablePlace(t, sizes[len(sizes) // 2]) for t in tables]
            other = [f for f in rest if f.q != q]
    rows = reading_order(body, gutter)
    blocks: list[Block] = []
    for f in sorted((f for f in pd.frags if f.role == "header"), key=lambda f: (f.base, f.u0)):
        blocks.append(_simple_block("header", [f], pd.number))
    if tables:
        lines: list[Line] = []
        for row in split_rows(rows):
            places = [f for f in row if isinstance(f, TablePlace)]
            if not places:
                lines.append(Line(row))
                continue
            beside = [f for f in row if not isinstance(f, TablePlace)]
            if beside:
                lines.append(Line(beside))
            blocks.extend(_build_blocks(lines, pd.number, stats))
            lines = []
            for place in places:
                blocks.extend(_table_blocks(place.table, pd.number, stats))
        blocks.extend(_build_blocks(lines, pd.number, stats))
    else:
        blocks.extend(_build_blocks([Line(r) for r in split_rows(rows)], pd.number, stats))
    if other:
        blocks.append(Block("paragraph", join_text([Line([f]) for f in other], stats.vocab), pd.number,
                            bbox=round_box(union_box([f.bbox() for f in other])),
                            font_size=round(other[0].size * 2) / 2))
    for f in sorted((f for f in pd.frags if f.role == "footer"), key=lambda f: (f.base, f.u0)):
        blocks.append(_simple_block("footer", [f], pd.number))
    return blocks


def _table_blocks(table: Table, page: int, stats: Stats) -> list[Block]:
    """One `table_row` block per row of a ruled table; empty cells keep their place."""
    out = []
    for row in table.rows:
        cells = [join_words(lines, stats.vocab) for lines in row]
        words = [w for cell in row for line in cell for w in line]
        sizes: dict[float, int] = {}
        bold = chars = 0
        for w in words:
            n = len(w.text)
            sizes[w.size] = sizes.get(w.size, 0) + n
            chars += n
            bold += n if w.bold else 0
        out.append(Block("table_row", " | ".join(c for c in cells if c), page,
                         bbox=round_box(union_box(w.box for w in words)), font_size=mode_size(sizes),
                         bold=chars > 0 and bold >= 0.85 * chars, cells=cells))
    return out


def _simple_block(kind: str, frags: list[Frag], page: int) -> Block:
    line = Line(frags)
    return Block(kind, line.text, page, bbox=round_box(union_box([f.bbox() for f in frags])),
                 font_size=line.size, bold=line.bold)


def union_box(boxes) -> tuple[float, float, float, float]:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def round_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return tuple(round(v, 1) for v in box)  # type: ignore[return-value]


def _heading_strength(line: Line, stats: Stats) -> int:
    """0: body text; 1: could be a heading (bold or coloured); 2: looks like one (size, numbering, caps)."""
    ratio = line.size / stats.body
    n_words = len(line.words)
    if ratio < 0.88 or n_words > 18 or len(line.frags) > 2:
        return 0
    colored = line.color is not None and ratio >= 0.95 and _chromatic(line.color) and not _chromatic(stats.color)
    if not (line.bold or colored or ratio >= 1.08):
        return 0  # plain body-size text: most lines stop here
    text = line.text.strip()
    if (not text or len(text) > 160 or sum(c.isalpha() for c in text) < 2
            or text[-1] in ",;" and ratio < 1.15  # a large heading may wrap after a comma
            or TOC_LINE_RE.search(text) or ITEM_LEAD_RE.match(text) or BULLET_RE.match(text)
            or "http" in text or "www." in text):
        return 0
    numbered = NUMBERED_RE.match(text) is not None and not re.match(r"^\d+([.,]\d+)?\s*%", text)
    if text[-1] == "." and not (numbered and n_words <= 6) and ratio < 1.2:
        return 0
    if text[-1] == ":" and ratio < 1.2:
        return 0
    if ratio >= 1.2:
        return 2
    letters = [c for c in text if c.isalpha()]
    caps = len(letters) >= 3 and sum(c.isupper() for c in letters) >= 0.9 * len(letters)
    if numbered and n_words <= 14 or caps and n_words <= 10:
        return 2
    return 1 if n_words <= 12 and (line.bold or colored) else 0


def _chromatic(color: int) -> bool:
    """A real hue (blue, red…), not black, grey or white: headings are often set in colour."""
    channels = (color >> 16 & 255, color >> 8 & 255, color & 255)
    return max(channels) - min(channels) >= 60


def _starts_list(line: Line) -> bool:
    text = line.text
    if BULLET_RE.match(text) or ENUM_RE.match(text) or re.match(r"^\d{1,2}[.)]\s+\S", text):
        return True
    first = line.frags[0].text
    return len(line.frags) > 1 and len(first) <= 3 and (first in ("o", "") or bool(ENUM_RE.match(first + " ")))


def _aligned_cells(a: Line, b: Line) -> bool:
    if len(a.frags) < 2 or len(b.frags) < 2:
        return False
    edges = [f.u0 for f in b.frags[1:]] + [f.u1 for f in b.frags]
    return any(abs(f.u0 - e) <= 4 or abs(f.u1 - e) <= 4 for f in a.frags[1:] for e in edges)


def _is_caption(line: Line, stats: Stats) -> bool:
    m = CAPTION_RE.match(line.text)
    if not m:
        return False
    return m.group(0).rstrip()[-1:] in ":.-–—" or line.size < stats.body - 0.4 or line.bold


def _build_blocks(lines: list[Line], page: int, stats: Stats) -> list[Block]:
    """Group a page's lines (in reading order) into blocks and decide each block's kind."""
    n = len(lines)
    strength = [_heading_strength(line, stats) for line in lines]
    starts = []  # what kind of block a line would start
    for i, line in enumerate(lines):
        if (len(line.frags) > 1 and not _bullet_and_text(line)
                and ((i > 0 and _aligned_cells(line, lines[i - 1])) or (i + 1 < n and _aligned_cells(line, lines[i + 1])))):
            starts.append("table_row")
        elif _is_caption(line, stats):
            starts.append("caption")
        elif _starts_list(line):
            starts.append("list_item")
        else:
            starts.append("paragraph")
    cols: dict[int, list[float]] = {}
    if "table_row" in starts:
        _table_lines(lines, starts, cols)
    blocks: list[Block] = []
    group: list[int] = []
    kind = ""
    for i, line in enumerate(lines):
        if group:
            prev = lines[group[-1]]
            if kind == "table_row":
                if _next_line(max(lines[j].base for j in group), line, stats) and continues_row(
                        [lines[j] for j in group], line, cols[group[0]]):
                    group.append(i)
                    continue
                blocks.append(_make_block(kind, [lines[j] for j in group], page, stats, cols=cols[group[0]]))
            else:
                close = _close(prev, line, stats)
                if (kind == "heading" and close and line.text[:1].islower() and abs(line.size - prev.size) <= 0.6
                        and (strength[i] == 0 or line.bold != prev.bold)):
                    kind = starts[group[0]] if starts[group[0]] != "table_row" else "paragraph"  # a sentence runs on
                if close and _continues([lines[j] for j in group], kind, line, starts[i], strength[i], stats):
                    group.append(i)
                    continue
                blocks.append(_make_block(kind, [lines[j] for j in group], page, stats, strength[group[0]]))
        group = [i]
        kind = "heading" if strength[i] and starts[i] in ("paragraph", "list_item") else starts[i]
        if kind == "table_row" and i not in cols:
            cols[i] = columns(lines, i, [s == "table_row" for s in starts])
    if group:
        blocks.append(_make_block(kind, [lines[j] for j in group], page, stats, strength[group[0]],
                                  cols=cols.get(group[0])))
    return blocks


def _table_lines(lines: list[Line], starts: list[str], cols: dict[int, list[float]]) -> None:
    """Claim for the tables the lines next to their rows that belong to them: rows separated
    from the others by a wrapped cell's line, column headings run together above the first
    row, and a lone cell between two rows (a bold group label).
    Text inside a table is never a heading; these lines would otherwise become headings."""
    is_row = [s == "table_row" for s in starts]
    n = len(lines)
    for i, line in enumerate(lines):
        if is_row[i] or starts[i] not in ("paragraph", "list_item"):
            continue
        if len(line.frags) > 1 and not _bullet_and_text(line) and any(
                is_row[k] and abs(lines[k].base - line.base) < 4 * line.size and _aligned_cells(line, lines[k])
                for k in range(max(0, i - 3), min(n, i + 4))):
            starts[i] = "table_row"  # a row next to a wrapped cell's line, not to another row
            is_row[i] = True
            continue
        if i + 1 < n and is_row[i + 1]:
            below = cols.setdefault(i + 1, columns(lines, i + 1, is_row))
            above_row = i > 0 and is_row[i - 1]
            if (header_row(line, lines[i + 1], below) and not above_row) or (
                    above_row and fits_columns(line, below) and line.base - lines[i - 1].base < 3 * line.size
                    and lines[i + 1].base - line.base < 3 * line.size):
                starts[i] = "table_row"
                cols[i] = below


def _next_line(last_base: float, line: Line, stats: Stats) -> bool:
    """Is `line` the next line down at normal spacing (whatever its horizontal place)?"""
    step = line.base - last_base
    return 0.3 * line.size < step <= (stats.leading + 0.35) * line.size + 1


def _bullet_and_text(line: Line) -> bool:
    """"•  text" or "o  text" drawn as two fragments: a list item, not two table cells."""
    return len(line.frags) == 2 and (is_marker(line.frags[0].text) or line.frags[0].text in ("o", ""))


def _close(prev: Line, line: Line, stats: Stats) -> bool:
    """Is `line` the next line of the same column, at normal line spacing?"""
    size = max(prev.size, line.size)
    step = line.base - prev.base
    if step <= 0.3 * size or step > (stats.leading + 0.35) * size + 1:
        return False
    return line.u0 < prev.u1 and line.u1 > prev.u0


def _continues(group: list[Line], kind: str, line: Line, start: str, strength: int, stats: Stats) -> bool:
    prev = group[-1]
    if kind == "table_row" or start in ("table_row", "caption", "list_item"):
        return False
    if TOC_LINE_RE.search(prev.text) or NUMBERED_RE.match(line.text) and TOC_LINE_RE.search(line.text):
        return False  # one block per table-of-contents entry
    if kind == "heading":
        return (strength > 0 and line.bold == prev.bold and abs(line.size - prev.size) <= 0.6
                and len(group) < (4 if prev.size >= 1.15 * stats.body else 3) and not NUMBERED_RE.match(line.text))
    if strength == 2 or abs(line.size - prev.size) > 0.6 and kind != "list_item":
        return False
    width = max(g.u1 for g in group) - min(g.u0 for g in group)
    ends = prev.text.rstrip()[-1:]
    if line.bold != prev.bold and (ends in ".:!?" or prev.u1 - prev.u0 < 0.85 * max(width, line.u1 - line.u0)):
        return False  # a change of weight after a finished or short line
    if kind == "list_item":
        return line.u0 >= group[0].u0 + 0.5 or abs(line.u0 - prev.u0) < 2
    # A short line ending a sentence closes the paragraph when the next line starts anew.
    if len(group) > 1 and prev.u1 - prev.u0 < 0.75 * width and ends in ".:!?" and line.text[:1].isupper():
        return False
    return True


def _make_block(kind: str, lines: list[Line], page: int, stats: Stats, strength: int = 0,
                cols: list[float] | None = None) -> Block:
    boxes = [f.bbox() for line in lines for f in line.frags]
    if len(lines) == 1:
        size, bold = lines[0].size, lines[0].bold
    else:
        sizes: dict[float, int] = {}
        for line in lines:
            for k, n in line.sizes.items():
                sizes[k] = sizes.get(k, 0) + n
        chars = sum(line.chars for line in lines)
        size, bold = mode_size(sizes), chars > 0 and sum(line.bold_chars for line in lines) >= 0.85 * chars
    block = Block(kind, "", page, bbox=round_box(union_box(boxes)), font_size=size, bold=bold)
    if kind == "table_row":
        if cols is None:
            block.cells = [join_text([Line([f])], stats.vocab) for f in lines[0].frags]
        else:
            block.cells = [join_words(cell, stats.vocab) for cell in row_cells(lines, cols)]
        block.text = " | ".join(c for c in block.cells if c)
        return block
    block.text = join_text(lines, stats.vocab)
    if kind == "heading":
        words = block.text.split()
        big = lines[0].size >= 1.15 * stats.body
        chapter = big and NUMBERED_RE.match(block.text) is not None  # "6.4. Specific Objective 3: …"
        limit = 40 if chapter else HEADING_MAX_WORDS if big or strength == 2 or len(lines) == 1 else 14
        if len(words) > limit or (len(lines) > 1 and block.text.endswith(".") and len(words) > 12 and not chapter):
            block.kind = "paragraph"
    return block


def join_text(lines: list[Line], vocab: set[str]) -> str:
    return join_words([line.words for line in lines], vocab)


def join_words(lines: list[list[Word]], vocab: set[str]) -> str:
    """The text of lines of words, with words broken at line ends put back together."""
    parts: list[str] = []
    pending = False  # the last word ended in a line-break hyphen
    for line in lines:
        for w in line:
            if pending and parts:
                parts[-1] = dehyphen(parts[-1], w.text, vocab)
            else:
                parts.append(w.text)
            pending = w.hyph
    if pending and parts:
        parts[-1] += "-"
    return " ".join(parts).strip()


def dehyphen(left: str, right: str, vocab: set[str]) -> str:
    """Join a word broken at a line end, unless it is a hyphenated compound.

    The document's own spelling decides first: a joined form it uses elsewhere is joined.
    Otherwise the hyphen stays when both parts are words ("capacity-building",
    "multi-country", "mid-term"): a word is one the document uses, or a common compound
    part from data/pdf_layout.yaml, so a short brief that never writes "building" alone
    still keeps the hyphen. A fragment that is no word ("imple-mented") is joined.
    """
    a = WORD_RE.findall(left)
    b = WORD_RE.findall(right)
    if not a or not b:
        return f"{left}-{right}"
    head, tail = a[-1], b[0]
    joined = (head + tail).lower()
    if joined in vocab:
        return left + right
    h, t = head.lower(), tail.lower()
    if (tail[0].isupper() or head.isupper() or not left[-1].isalpha() or not right[0].isalpha()
            or f"{h}-{t}" in HYPHEN_COMPOUNDS):
        return f"{left}-{right}"
    tail_word = t in vocab or t in HYPHEN_PARTS
    if tail_word and len(h) > 2 and (h in vocab or h in HYPHEN_PARTS):
        return f"{left}-{right}"  # two words in their own right: a compound
    if tail_word and len(t) > 2 and h in HYPHEN_PREFIXES:
        return f"{left}-{right}"  # "multi-country", "non-governmental"
    if tail_word and len(h) <= 4 and h[-1] == t[0] and h[-1] in "aeiou":
        return f"{left}-{right}"  # a prefix meeting its own vowel: "re-engagement", "co-operation"
    return left + right


