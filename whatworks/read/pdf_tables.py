"""Tables drawn with ruling lines: rows and cells from the grid, not from the text flow.

Left to the reading-order cut, a table whose cells wrap over several lines is read column
by column (its baselines do not line up), so a recommendation and the management
response beside it end up pages of text apart. Where the page draws the table's borders
we can do better: the lines say where every row and cell is.

* Thin lines (pdf_text.page_rulings) are merged where collinear and grouped into grids:
  horizontal and vertical lines that touch. A grid with at least two rows of text is a
  table (a single framed box is not).
* Row boundaries are horizontal lines across most of the table (≥ ROW_SPAN of its
  width); a shorter line only splits a header cell ("Implementation monitoring" over
  "Comments | Status"). Where a row line is interrupted, the cell above spans down
  (a merged cell): its words belong to the row where it starts.
* Cells are the stretches between vertical lines that cross the whole row; a cell split
  below a label by a shorter line becomes one cell per part, each prefixed by the label,
  so a two-level header lines up with the data rows under it.

The table's words are taken out of the page's text flow and a placeholder of the table's
size takes their place, so the table lands where it belongs in the reading order.
"""

from __future__ import annotations

import bisect

from whatworks.read.pdf_layout import Frag, Line
from whatworks.read.pdf_text import Word

#: Collinear pieces within this distance (points) are one line; gaps up to GAP_TOL are bridged.
POS_TOL = 1.2
GAP_TOL = 3.0
#: How far a line may stop short of another and still meet it.
TOUCH = 3.0
#: A horizontal line across this share of the table width separates rows.
ROW_SPAN = 0.6


class Table:
    """A ruled table: its box and, per row, its cells as lines of words."""

    __slots__ = ("bbox", "rows")

    def __init__(self, bbox: tuple[float, float, float, float], rows: list[list[list[list[Word]]]]):
        self.bbox = bbox  # x0, top, x1, bottom
        self.rows = rows  # row → cell → line → words


class TablePlace(Frag):
    """Stands in for a table in the reading order: as wide and tall as the table, no words."""

    __slots__ = ("table", "_top", "_bottom")

    def __init__(self, table: Table, size: float):  # noqa: D107 - no Frag.__init__: no first word
        x0, top, x1, bottom = table.bbox
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


def find_tables(rulings: tuple[list, list], frags: list[Frag]) -> tuple[list[Table], list[Frag]]:
    """The ruled tables among `frags` (body fragments, in any direction: column headings are
    often turned), and the fragments left outside them."""
    hs, vs = rulings
    if not hs or not vs:
        return [], frags
    hs = _merge(hs)
    vs = _merge(vs)
    tables: list[Table] = []
    rest = frags
    for h_group, v_group in _grids(hs, vs):
        inside, outside = _split_inside(rest, _grid_box(h_group, v_group))
        if not inside:
            continue
        table = _table(h_group, v_group, inside)
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


def _grid_box(hs: list[tuple], vs: list[tuple]) -> tuple[float, float, float, float]:
    return (min(min(h[1] for h in hs), min(v[0] for v in vs)), min(min(v[1] for v in vs), min(h[0] for h in hs)),
            max(max(h[2] for h in hs), max(v[0] for v in vs)), max(max(v[2] for v in vs), max(h[0] for h in hs)))


def _split_inside(frags: list[Frag], box: tuple[float, float, float, float]) -> tuple[list[Frag], list[Frag]]:
    x0, top, x1, bottom = box
    if x1 - x0 < 30 or bottom - top < 10:
        return [], frags
    inside, outside = [], []
    for f in frags:
        b = f.bbox()
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        (inside if x0 <= cx <= x1 and top <= cy <= bottom else outside).append(f)
    return inside, outside


def _table(hs: list[tuple], vs: list[tuple], frags: list[Frag]) -> Table | None:
    """Rows and cells of one grid, or None when it holds fewer than two rows of text."""
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
    if n_rows < 2:
        return None
    words_by_row: list[list[Word]] = [[] for _ in range(n_rows)]
    for f in frags:
        for w in f.words:
            cx, cy = (w.box[0] + w.box[2]) / 2, (w.box[1] + w.box[3]) / 2
            k = min(max(bisect.bisect_right(bounds, cy) - 1, 0), n_rows - 1)
            while k > 0 and not _closed(spans[k], cx):  # a merged cell from the row above
                k -= 1
            words_by_row[k].append(w)
    if sum(1 for r in words_by_row if r) < 2:
        return None
    rows = []
    for k, words in enumerate(words_by_row):
        if words:
            rows.append(_cells(words, x0, x1, bounds[k], bounds[k + 1], vs))
    return Table(box, rows)


def _closed(pieces: list[tuple[float, float]] | None, x: float) -> bool:
    """Is there a line at this row boundary above x?"""
    return pieces is None or any(a - TOUCH <= x <= b + TOUCH for a, b in pieces)


def _cells(words: list[Word], x0: float, x1: float, top: float, bottom: float,
           vs: list[tuple]) -> list[list[list[Word]]]:
    """One row's cells, left to right, each as lines of words."""
    inner = [v for v in vs if x0 + 2 < v[0] < x1 - 2 and v[1] < bottom - TOUCH and v[2] > top + TOUCH]
    full = sorted({round(v[0], 1) for v in inner if v[1] <= top + TOUCH and v[2] >= bottom - TOUCH})
    edges = [x0] + [x for i, x in enumerate(full) if i == 0 or x - full[i - 1] > 2] + [x1]
    parts: list[list[Word]] = [[] for _ in range(len(edges) - 1)]
    for w in words:
        cx = (w.box[0] + w.box[2]) / 2
        parts[min(max(bisect.bisect_right(edges, cx) - 1, 0), len(parts) - 1)].append(w)
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


# --- tables without vertical lines: columns from the alignment of words ---------------------------
#
# Lines whose fragments line up with a neighbour's are table rows (pdf_blocks decides that).
# A cell that wraps leaves lines with fewer fragments below the row's first line; they are the
# same row when each of their fragments carries on a cell above: it starts in lower case, or
# the line above it in that column was full (its next word would not have fitted).

#: A word starting within this distance (points) of a column's left edge is in that column.
ALIGN = 4.0


def columns(lines: list[Line], i: int, is_row: list[bool]) -> list[float]:
    """Left edges of the columns of the table around row `i`: the fragment starts of the
    table rows near it that line up with it."""
    line = lines[i]
    xs = [f.u0 for f in line.frags]
    mine = xs[1:]
    for k in range(max(0, i - 8), min(len(lines), i + 9)):
        if k == i or not is_row[k] or abs(lines[k].base - line.base) > 10 * line.size:
            continue
        other = [f.u0 for f in lines[k].frags]
        if any(abs(a - b) <= ALIGN for a in mine for b in other[1:]):
            xs += other
    xs.sort()
    out = [xs[0]]
    for x in xs[1:]:
        if x - out[-1] > ALIGN:
            out.append(x)
    return out


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
