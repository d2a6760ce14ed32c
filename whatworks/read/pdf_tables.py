"""Tables: rows and cells from the lines a page draws, or from the alignment of its words.

Left to the reading-order cut, a table whose cells wrap over several lines is read column
by column (its baselines do not line up), so a recommendation and the management
response beside it end up far apart. Where the page draws the table's lines we can do
better: they say where every row and cell is.

* Thin lines (pdf_text.page_rulings) are merged where collinear and grouped into grids:
  horizontal and vertical lines that touch. A grid with two rows or two cells of text is
  a table (a framed box is not).
* Row boundaries are horizontal lines across most of the table (≥ ROW_SPAN of its
  width); a shorter line only splits a header cell ("Implementation monitoring" over
  "Comments | Status"). Where a row line is interrupted, the cell above spans down
  (a merged cell): its words belong to the row where it starts.
* Cells are the stretches between vertical lines that cross the whole row; a cell split
  below a label by a shorter line becomes one cell per part, each prefixed by the label,
  so a two-level header lines up with the data rows under it.
* Tables ruled between rows only (no vertical lines) take their columns from the white
  gutters no line of text crosses, and split a band between two rules into rows where a
  new entry starts in the first column.

The table's words are taken out of the page's text flow and a placeholder of the table's
size takes their place, so the table lands where it belongs in the reading order. Tables
without any lines are left to pdf_blocks, which finds their rows from aligned fragments
and uses the helpers at the end of this module to keep wrapped cells in their row.
"""

from __future__ import annotations

import bisect

from whatworks.read.pdf_layout import Frag, Line, is_marker, merge_intervals
from whatworks.read.pdf_text import Word

#: Collinear pieces within this distance (points) are one line; gaps up to GAP_TOL are bridged.
POS_TOL = 1.2
GAP_TOL = 3.0
#: How far a line may stop short of another and still meet it.
TOUCH = 3.0
#: A horizontal line across this share of the table width separates rows.
ROW_SPAN = 0.6
#: Rules between rows (no vertical lines) are at least this long, and not in the outer
#: MARGIN_RULES of the page height.
ROW_RULE_MIN = 100.0
MARGIN_RULES = 0.08
#: A row holding this many lines in two of its columns is two columns of running text.
PROSE_LINES = 12


class Table:
    """A ruled table: its box and, per row, its cells as lines of words."""

    __slots__ = ("bbox", "rows")

    def __init__(self, bbox: tuple[float, float, float, float], rows: list[list[list[list[Word]]]]):
        self.bbox = bbox  # x0, top, x1, bottom
        self.rows = rows  # row → cell → line → words


class TablePlace(Frag):
    """Stands in for a table in the reading order: as wide and tall as the table, no words."""

    __slots__ = ("table", "_top", "_bottom")

    def __init__(self, table: Table, size: float):
        x0, top, x1, bottom = table.bbox  # Frag.__init__ wants a first word: set the slots here
        self.table = table
        self.words = []
        self.u0, self.u1, self.q, self.role = x0, x1, 0, "body"
        self.size = size
        self.base = bottom - 0.2 * size
        self._top, self._bottom = top, bottom

    @property
    def top(self) -> float:
        return self._top

    @property
    def bottom(self) -> float:
        return self._bottom


def find_tables(rulings: tuple[list, list], frags: list[Frag], height: float) -> tuple[list[Table], list[Frag]]:
    """The ruled tables among `frags` (body fragments, in any direction: column headings are
    often turned), and the fragments left outside them."""
    hs, vs = rulings
    if not hs:
        return [], frags
    hs = _merge(hs)
    vs = _merge(vs) if vs else []
    tables: list[Table] = []
    rest = frags
    used: set[tuple] = set()
    for h_group, v_group in _grids(hs, vs) if vs else []:
        used.update(h_group)
        inside, outside = _split_inside(rest, _grid_box(h_group, v_group))
        if not inside:
            continue
        table = _table(h_group, v_group, inside)
        if table is not None:
            tables.append(table)
            rest = outside
    for stack in (part for st in _row_rules([h for h in hs if h not in used and not _underline(h, rest)], height)
                  for part in _split_at_text(st, rest)):
        box = _grid_box(stack, [])
        if any(_overlap(box, t.bbox) for t in tables):
            continue
        inside, outside = _split_inside(rest, box)
        if not inside:
            continue
        table = _table(stack, [], inside)
        if table is not None:
            tables.append(table)
            rest = outside
    return tables, rest


def _merge(segments: list[tuple]) -> list[tuple[float, float, float]]:
    """Collinear pieces (same position within POS_TOL, touching ends) → whole lines."""
    out: list[tuple[float, float, float]] = []
    segments = sorted(segments)
    i, n = 0, len(segments)
    while i < n:
        j = i
        start = segments[i][0]
        while j < n and segments[j][0] - start <= POS_TOL:
            j += 1
        group = segments[i:j]
        pos = sum(s[0] for s in group) / len(group)
        spans = sorted((min(s[1], s[2]), max(s[1], s[2])) for s in group)
        a0, a1 = spans[0]
        for b0, b1 in spans[1:]:
            if b0 <= a1 + GAP_TOL:
                a1 = max(a1, b1)
            else:
                out.append((pos, a0, a1))
                a0, a1 = b0, b1
        out.append((pos, a0, a1))
        i = j
    return out


def _grids(hs: list[tuple], vs: list[tuple]) -> list[tuple[list[tuple], list[tuple]]]:
    """Groups of horizontal and vertical lines that meet (union-find) and make a grid: two
    of each, or one column rule crossed by three row rules (open-sided tables); not a rule
    under a heading or a lone frame side."""
    parent = list(range(len(hs) + len(vs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    vs_sorted = sorted(range(len(vs)), key=lambda k: vs[k][0])
    xs = [vs[k][0] for k in vs_sorted]
    for i, (y, x0, x1) in enumerate(hs):
        lo = bisect.bisect_left(xs, x0 - TOUCH)
        hi = bisect.bisect_right(xs, x1 + TOUCH)
        for k in vs_sorted[lo:hi]:
            _, y0, y1 = vs[k]
            if y0 - TOUCH <= y <= y1 + TOUCH:
                a, b = find(i), find(len(hs) + k)
                if a != b:
                    parent[a] = b
    groups: dict[int, tuple[list, list]] = {}
    for i in range(len(hs)):
        groups.setdefault(find(i), ([], []))[0].append(hs[i])
    for k in range(len(vs)):
        groups.setdefault(find(len(hs) + k), ([], []))[1].append(vs[k])
    return [g for g in groups.values() if len(g[0]) >= 2 and len(g[1]) >= 1 and len(g[0]) + len(g[1]) >= 4]


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _underline(rule: tuple, frags: list[Frag]) -> bool:
    """A rule just under a line of text and no longer than it: an underlined link or title,
    not a table border (which runs past the text of a row)."""
    y, x0, x1 = rule
    for f in frags:
        if f.q == 0 and f.base - 1 <= y <= f.base + 0.4 * f.size:
            if min(x1, f.u1) - max(x0, f.u0) >= 0.9 * (x1 - x0):
                return True
    return False


def _row_rules(hs: list[tuple], height: float) -> list[list[tuple]]:
    """Stacks of three or more horizontal rules ending at the same right edge, one under the
    other: a table ruled between its rows only (no vertical lines), its columns to be found
    from the alignment of its words. A rule may start further right than the others (a
    first-column cell spanning several rows). Rules in the page margins (under a running
    header, over a footer) and short ones (underlines, check boxes) are left out."""
    lines = [h for h in hs if h[2] - h[1] >= ROW_RULE_MIN and MARGIN_RULES * height < h[0] < (1 - MARGIN_RULES) * height]
    lines.sort(key=lambda h: h[2])
    groups: list[list[tuple]] = []
    for h in lines:
        if groups and h[2] - groups[-1][-1][2] <= 4:
            groups[-1].append(h)
        else:
            groups.append([h])
    stacks: list[list[tuple]] = []
    for group in groups:
        group.sort()
        parts = [[group[0]]]
        for h in group[1:]:
            if h[0] - parts[-1][-1][0] > 0.6 * height:
                parts.append([h])
            else:
                parts[-1].append(h)
        for part in parts:
            width = max(h[2] - h[1] for h in part)
            part = [h for h in part if h[2] - h[1] >= ROW_SPAN * width]
            if len(part) >= 3:
                stacks.append(part)
    return stacks


def _split_at_text(stack: list[tuple], frags: list[Frag]) -> list[list[tuple]]:
    """Cut a stack of rules where running text lies between two of them (two full-width
    lines or more): the text between two tables ruled alike, not a row of one table."""
    x0, x1 = min(h[1] for h in stack), max(h[2] for h in stack)
    wide = 0.75 * (x1 - x0)
    parts: list[list[tuple]] = [[stack[0]]]
    for above, below in zip(stack, stack[1:], strict=False):
        full = sum(1 for f in frags if above[0] < f.base < below[0] and f.u0 >= x0 - 2 and f.u1 <= x1 + 2
                   and f.u1 - f.u0 >= wide)
        if full >= 2:
            parts.append([below])
        else:
            parts[-1].append(below)
    return [p for p in parts if len(p) >= 3]


def _grid_box(hs: list[tuple], vs: list[tuple]) -> tuple[float, float, float, float]:
    """x0, top, x1, bottom of the lines."""
    xs = [h[1] for h in hs] + [h[2] for h in hs] + [v[0] for v in vs]
    ys = [h[0] for h in hs] + [v[1] for v in vs] + [v[2] for v in vs]
    return min(xs), min(ys), max(xs), max(ys)


def _split_inside(frags: list[Frag], box: tuple[float, float, float, float]) -> tuple[list[Frag], list[Frag]]:
    x0, top, x1, bottom = box
    if x1 - x0 < 30 or bottom - top < 10:
        return [], frags
    inside, outside = [], []
    for f in frags:
        if f.q == 0:  # upright: the box is known without looking at the words
            cx, cy = (f.u0 + f.u1) / 2, f.base - 0.3 * f.size
        else:
            b = f.bbox()
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        (inside if top <= cy <= bottom and x0 <= cx <= x1 else outside).append(f)
    return inside, outside


def _table(hs: list[tuple], vs: list[tuple], frags: list[Frag]) -> Table | None:
    """Rows and cells of one grid, or None when it holds a single cell of text (a frame)."""
    box = _grid_box(hs, vs)
    x0, top, x1, bottom = box
    width = x1 - x0
    # Row boundaries: the y of lines that together cross most of the table.
    by_y: list[tuple[float, list[tuple[float, float]]]] = []
    for y, a0, a1 in sorted(hs):
        if by_y and y - by_y[-1][0] <= POS_TOL:
            by_y[-1][1].append((a0, a1))
        else:
            by_y.append((y, [(a0, a1)]))
    bounds: list[float] = [top]
    spans: list[list[tuple[float, float]] | None] = [None]  # None: closed everywhere
    for y, pieces in by_y:
        if sum(b - a for a, b in pieces) < ROW_SPAN * width:
            continue
        if y - bounds[-1] <= 2:  # the table's top edge, or a double rule
            continue
        bounds.append(y)
        spans.append(pieces)
    if bottom - bounds[-1] > 2:
        bounds.append(bottom)
        spans.append(None)
    else:
        bounds[-1] = bottom
    n_rows = len(bounds) - 1
    words_by_row: list[list[Word]] = [[] for _ in range(n_rows)]
    for f in frags:
        for w in f.words:
            cx, cy = (w.box[0] + w.box[2]) / 2, (w.box[1] + w.box[3]) / 2
            k = min(max(bisect.bisect_right(bounds, cy) - 1, 0), n_rows - 1)
            while k > 0 and not _closed(spans[k], cx):  # a merged cell from the row above
                k -= 1
            words_by_row[k].append(w)
    if not any(words_by_row):
        return None
    gutters = None
    if not vs:  # rules between rows only: the columns are where no word ever is
        gutters = _gutters(words_by_row)
        if gutters is None:
            return None
    rows = []
    for k, words in enumerate(words_by_row):
        if not words:
            continue
        if gutters is None:
            rows.append(_cells(words, x0, x1, bounds[k], bounds[k + 1], vs))
        else:  # without rules between all rows, a new first cell starts a new row
            rows.extend(_cells(part, x0, x1, bounds[k], bounds[k + 1], vs, gutters)
                        for part in _sub_rows(words, gutters))
    if len(rows) < 2 and sum(1 for cell in rows[0] if cell) < 2:
        return None  # a frame around some text, not a table
    return Table(box, rows)


def _sub_rows(words: list[Word], gutters: list[float]) -> list[list[Word]]:
    """Split the words between two rules into rows. A line starts a row when its first cell
    and another cell both start anew: neither carries on the text above it in its column
    (a lower-case start, or a hyphen or comma before it, carry on). So a table ruled only
    around its body gets one row per entry, while a ruled row whose cells wrap stays whole."""
    lines = _lines(words)
    rows: list[list[Word]] = []
    last: dict[int, Word] = {}  # column → its last word in the current row
    for line in lines:
        firsts: dict[int, Word] = {}
        for w in line:
            firsts.setdefault(bisect.bisect_right(gutters, (w.box[0] + w.box[2]) / 2), w)
        if not rows or (0 in firsts and len(firsts) > 1 and not _carries(last.get(0), firsts[0])
                        and any(not _carries(last.get(c), w) for c, w in firsts.items() if c)):
            rows.append([])
            last = {}
        rows[-1].extend(line)
        for w in line:
            last[bisect.bisect_right(gutters, (w.box[0] + w.box[2]) / 2)] = w
    return rows


def _carries(above: Word | None, first: Word) -> bool:
    """Does `first` carry on the cell text ending in `above`?"""
    return above is not None and (first.text[:1].islower() or above.hyph or above.text[-1:] in ",-–/")


def _gutters(words_by_row: list[list[Word]]) -> list[float] | None:
    """Column boundaries of a table without vertical lines: the middle of each white gap, at
    least a word space wide, that no line of the table crosses (titles across the table, and
    one line in ten, may). None unless two lines or more have text in two columns, or when two
    columns hold running text (a two-column page between rules, not a table)."""
    words = [w for row in words_by_row for w in row]
    sizes = sorted(w.size for w in words)
    gap = max(4.0, 0.6 * sizes[len(sizes) // 2])
    lines: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for k, row in enumerate(words_by_row):
        for w in row:
            lines.setdefault((k, round(w.base)), []).append((w.box[0], w.box[2]))
    pieces = [merge_intervals(spans, gap) for spans in lines.values()]
    wide = 0.5 * (max(w.box[2] for w in words) - min(w.box[0] for w in words))
    pieces = [p for p in pieces if len(p) > 1 or p[0][1] - p[0][0] < wide]  # a title across the table
    events = sorted([(a, 1) for p in pieces for a, _ in p] + [(b, -1) for p in pieces for _, b in p])
    allowed = len(pieces) // 10
    gutters: list[float] = []
    depth = 0
    start = None
    for x, step in events:
        depth += step
        if depth <= allowed and start is None:
            start = x
        elif depth > allowed and start is not None:
            if x - start >= gap and start > events[0][0]:  # not the margin left of the table
                gutters.append((start + x) / 2)
            start = None
    if not gutters:
        return None
    multi = sum(1 for p in pieces if len({bisect.bisect_right(gutters, (a + b) / 2) for a, b in p}) >= 2)
    if multi < 2:
        return None
    first = [w for w in words if (w.box[0] + w.box[2]) / 2 < gutters[0]]
    if all(is_marker(w.text) for w in first):
        return None  # bullets and their text: a list between rules
    for row in words_by_row:  # running text on both sides of a gutter: page columns
        bases: dict[int, set[int]] = {}
        for w in row:
            bases.setdefault(bisect.bisect_right(gutters, (w.box[0] + w.box[2]) / 2), set()).add(round(w.base))
        if sum(1 for b in bases.values() if len(b) >= PROSE_LINES) >= 2:
            return None
    return gutters


def _closed(pieces: list[tuple[float, float]] | None, x: float) -> bool:
    """Is there a line at this row boundary above x?"""
    return pieces is None or any(a - TOUCH <= x <= b + TOUCH for a, b in pieces)


def _cells(words: list[Word], x0: float, x1: float, top: float, bottom: float,
           vs: list[tuple], gutters: list[float] | None = None) -> list[list[list[Word]]]:
    """One row's cells, left to right, each as lines of words; the column boundaries are
    the vertical lines across the whole row, or `gutters` when there are no lines."""
    inner = [v for v in vs if x0 + 2 < v[0] < x1 - 2 and v[1] < bottom - TOUCH and v[2] > top + TOUCH]
    full = gutters if gutters is not None else sorted(
        {round(v[0], 1) for v in inner if v[1] <= top + TOUCH and v[2] >= bottom - TOUCH})
    edges = [x0] + [x for i, x in enumerate(full) if i == 0 or x - full[i - 1] > 2] + [x1]
    parts: list[list[Word]] = [[] for _ in range(len(edges) - 1)]
    for piece in _pieces(words, gutters) if gutters is not None else ([w] for w in words):
        cx = (piece[0].box[0] + piece[-1].box[2]) / 2  # a title across columns stays whole
        parts[min(max(bisect.bisect_right(edges, cx) - 1, 0), len(parts) - 1)].extend(piece)
    cells: list[list[list[Word]]] = []
    for i, cell in enumerate(parts):
        c0, c1 = edges[i], edges[i + 1]
        # Lines that split the lower part of this cell: a label over sub-columns.
        lower = [v for v in inner if c0 + 2 < v[0] < c1 - 2 and v[1] > top + TOUCH and v[2] >= bottom - TOUCH]
        if lower and cell:
            split = min(v[1] for v in lower)
            label = [w for w in cell if (w.box[1] + w.box[3]) / 2 < split]
            below = [w for w in cell if (w.box[1] + w.box[3]) / 2 >= split]
            subs = sorted({round(v[0], 1) for v in lower})
            sub_edges = [c0] + subs + [c1]
            pieces: list[list[Word]] = [[] for _ in range(len(sub_edges) - 1)]
            for w in below:
                cx = (w.box[0] + w.box[2]) / 2
                pieces[min(max(bisect.bisect_right(sub_edges, cx) - 1, 0), len(pieces) - 1)].append(w)
            head = _lines(label)
            cells.extend(head + _lines(p) for p in pieces)
            continue
        cells.append(_lines(cell))
    return cells


def _pieces(words: list[Word], gutters: list[float]) -> list[list[Word]]:
    """Runs of words on one line with no more than a word space between them; a whole line
    when one of its runs crosses a gutter (a title across the columns, justified)."""
    out: list[list[Word]] = []
    for line in _lines(words):
        runs = [[line[0]]]
        for w in line[1:]:
            prev = runs[-1][-1]
            if w.box[0] - prev.box[2] > 0.6 * max(w.size, prev.size):
                runs.append([w])
            else:
                runs[-1].append(w)
        if any(r[0].box[0] < g < r[-1].box[2] for r in runs for g in gutters):
            runs = [line]
        out.extend(runs)
    return out


def _lines(words: list[Word]) -> list[list[Word]]:
    """A cell's words as lines in reading order: top to bottom, each left to right (in the
    text's own direction when it is turned)."""
    if not words:
        return []
    words = sorted(words, key=lambda w: (w.q, w.base))
    lines: list[list[Word]] = [[words[0]]]
    base = words[0].base
    for w in words[1:]:
        if w.base - base > 0.5 * w.size or w.q != lines[-1][0].q:
            lines.append([w])
            base = w.base
        else:
            lines[-1].append(w)
            base = max(base, w.base)
    for line in lines:
        line.sort(key=lambda w: w.u0)
    return lines


# --- tables without lines: columns from the alignment of words ------------------------------------
#
# Lines whose fragments line up with a neighbour's are table rows (pdf_blocks decides that).
# A cell that wraps leaves lines with fewer fragments below the row's first line; they are the
# same row when each of their fragments carries on a cell above: it starts in lower case, or
# the line above it in that column was full (its next word would not have fitted).

#: A word starting within this distance (points) of a column's left edge is in that column.
ALIGN = 4.0


def columns(lines: list[Line], i: int, is_row: list[bool]) -> list[float]:
    """Left edges of the cells of row `i`: its own fragments, plus the column edges shared by
    at least half of the nearby rows that line up with it where row `i` has no text (a wide
    justified space in one row splits a fragment, but makes no column)."""
    line = lines[i]
    rows = [[f.u0 for f in line.frags]]
    for k in range(max(0, i - 8), min(len(lines), i + 9)):
        if k == i or not is_row[k] or abs(lines[k].base - line.base) > 10 * line.size:
            continue
        other = [f.u0 for f in lines[k].frags]
        if any(abs(a - b) <= ALIGN for a in rows[0][1:] for b in other[1:]):
            rows.append(other)
    xs = sorted(x for row in rows for x in row)
    clusters: list[list[float]] = [[xs[0]]]
    for x in xs[1:]:
        if x - clusters[-1][-1] > ALIGN:
            clusters.append([x])
        else:
            clusters[-1].append(x)
    need = max(2, (len(rows) + 1) // 2) if len(rows) > 1 else 1
    shared = [c[0] for c in clusters if len(c) >= need]
    # The row's own cells come first (a centred or right-aligned cell starts anywhere); a
    # shared edge is added where the row has no text (an empty cell in its first line).
    own = [(f.u0, f.u1) for f in line.frags]
    extra = [x for x in shared if not any(a - ALIGN <= x <= b + ALIGN for a, b in own)]
    return sorted([a for a, _ in own] + extra)


def column_of(x: float, cols: list[float]) -> int:
    return max(bisect.bisect_right(cols, x + ALIGN) - 1, 0)


def fits_columns(line: Line, cols: list[float]) -> bool:
    """Does every word of `line` stay inside one column? A line across the columns (a
    paragraph under the table) does not."""
    if line.u0 < cols[0] - ALIGN:
        return False
    for w in line.words:
        c = column_of(w.u0, cols)
        if c + 1 < len(cols) and w.u1 > cols[c + 1] + ALIGN:
            return False
    return True


def header_row(line: Line, below: Line, cols: list[float]) -> bool:
    """A line just above a table whose words start at two or more of its column edges:
    the column headings, even when they run together in one fragment."""
    if len(cols) < 2 or not fits_columns(line, cols) or below.base - line.base > 2.6 * max(line.size, below.size):
        return False
    hits = {column_of(w.u0, cols) for w in line.words if any(abs(w.u0 - x) <= ALIGN for x in cols)}
    return len(hits) >= 2 and len(hits) >= 0.5 * len(cols)


def continues_row(group: list[Line], line: Line, cols: list[float]) -> bool:
    """Is `line` more of the row `group` (its cells wrapping), rather than a new row?"""
    if not fits_columns(line, cols):
        return False
    if line.bold and all(g.bold for g in group):
        return True  # column headings over two lines
    last: dict[int, Word] = {}  # column → the last word written in it so far
    right: dict[int, float] = {}  # column → its right edge as far as we can see
    for prev in group:
        for w in prev.words:
            c = column_of(w.u0, cols)
            last[c] = w
            right[c] = max(right.get(c, 0.0), w.u1)
    carried = False
    seen: set[int] = set()
    for first in line.words:  # the first word of the line in each column
        c = column_of(first.u0, cols)
        if c in seen:
            continue
        seen.add(c)
        above = last.get(c)
        if above is None:
            if c == 0:
                return False  # a first cell where the row had none: a new row
            continue
        edge = cols[c + 1] - ALIGN if c + 1 < len(cols) else max(right[c], line.u1)
        wrapped = above.u1 + (first.u1 - first.u0) + 0.3 * first.size > edge
        if not (first.text[:1].islower() or wrapped or above.hyph or above.text[-1:] in ",-–/"):
            return False
        carried = True
    return carried


def row_cells(lines: list[Line], cols: list[float]) -> list[list[list[Word]]]:
    """The row's words by column, each column as its lines."""
    cells: list[list[list[Word]]] = [[] for _ in cols]
    for line in lines:
        for c in range(len(cols)):
            cells[c].append([])
        for w in line.words:
            cells[column_of(w.u0, cols)][-1].append(w)
    return [[ln for ln in cell if ln] for cell in cells]
