"""Page geometry: words → fragments → rows in reading order; running headers and footers.

Everything here is geometry on word boxes, because PDFs carry no structure we can trust:

* words → fragments: runs of words on one baseline without a wide gap;
* running headers/footers: fragments repeating at the same height on several pages,
  and bare page numbers in the margins (kept as `header`/`footer` blocks, never mixed
  into paragraphs; the printed number becomes `Page.label`);
* reading order: a recursive cut — split at a vertical gutter no fragment crosses
  (columns), else into horizontal bands, regrouping bands that share a gutter so a
  two-column stretch under a full-width title still reads left column first.

`Stats` holds what the whole document says about normal text (body size, line spacing,
vocabulary), which the block and heading rules measure against.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from whatworks.read.pdf_text import Word
from whatworks.read.pdf_vocab import PAGE_NUMBER_RE
from whatworks.text import fold

#: Gap between two words (in ems) above which they belong to different fragments.
WORD_GAP = 1.5
#: Share of the page height at the top and bottom where running headers/footers live.
MARGIN = 0.12

NUMBERED_RE = re.compile(r"^(?:(\d{1,2}(?:\.\d{1,2}){0,4})\.?|([A-H]|[IVX]{1,5})\.)\s+(?=\S)")
BULLET_CHARS = "•●▪■◦○◆◇►▶➢➤✓✔–—-*·∙⁃\uf0b7\uf0a7\uf0d8\uf076\uf0fc\uf0a8\uf06e\uf0e0\uf071"
BULLET_RE = re.compile(rf"^[{re.escape(BULLET_CHARS)}]\s+")
ENUM_RE = re.compile(r"^(\(?[a-z]\)|\(?[ivx]{1,4}\)|\(\d{1,2}\)|\d{1,2}\)|[a-z]\.)\s+", re.IGNORECASE)
TOC_LINE_RE = re.compile(r"(\.{4,}|_{4,}|…{2,}|(\.\s){4,}|-{5,})\s*\d*\s*$")
WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


# --- fragments and lines ---------------------------------------------------------------------


class Frag:
    """Words on one baseline with no wide gap between them."""

    __slots__ = ("words", "u0", "u1", "base", "size", "q", "role")

    def __init__(self, word: Word):
        self.words = [word]
        self.u0, self.u1, self.base, self.size, self.q = word.u0, word.u1, word.base, word.size, word.q
        self.role = "body"  # or header/footer

    def add(self, word: Word) -> None:
        self.words.append(word)
        self.u0 = min(self.u0, word.u0)
        self.u1 = max(self.u1, word.u1)
        if word.size > self.size * 1.15:  # a superscript started the fragment: take the text's line
            self.base, self.size = word.base, word.size

    def absorb(self, other: Frag) -> None:
        self.words.extend(other.words)
        self.u0, self.u1 = min(self.u0, other.u0), max(self.u1, other.u1)

    @property
    def top(self) -> float:
        return self.base - 0.8 * self.size

    @property
    def bottom(self) -> float:
        return self.base + 0.2 * self.size

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def bbox(self) -> tuple[float, float, float, float]:
        if len(self.words) == 1:
            return self.words[0].box
        boxes = [w.box for w in self.words]
        return (min(b[0] for b in boxes), min(b[1] for b in boxes),
                max(b[2] for b in boxes), max(b[3] for b in boxes))


class Line:
    """One visual line of a column: one fragment, or several (table cells)."""

    __slots__ = ("frags", "words", "u0", "u1", "base", "size", "bold", "text", "top", "bottom", "color",
                 "sizes", "chars", "bold_chars")

    def __init__(self, frags: list[Frag]):
        self.frags = frags
        if len(frags) == 1:
            f = frags[0]
            self.words = f.words
            self.u0, self.u1, self.base, self.top, self.bottom = f.u0, f.u1, f.base, f.top, f.bottom
        else:
            self.words = [w for f in frags for w in f.words]
            self.u0 = min(f.u0 for f in frags)
            self.u1 = max(f.u1 for f in frags)
            self.base = max(f.base for f in frags)
            self.top = min(f.top for f in frags)
            self.bottom = max(f.bottom for f in frags)
        sizes: dict[float, int] = {}  # raw size → characters
        bold = chars = 0
        colors = set()
        for w in self.words:
            n = len(w.text)
            sizes[w.size] = sizes.get(w.size, 0) + n
            chars += n
            if w.bold:
                bold += n
            colors.add(w.color)
        self.sizes, self.chars, self.bold_chars = sizes, chars, bold
        self.size = mode_size(sizes) if sizes else round(frags[0].size * 2) / 2
        self.bold = chars > 0 and bold >= 0.85 * chars
        self.color = colors.pop() if len(colors) == 1 else None
        self.text = " ".join(f.text for f in frags)


def mode_size(sizes: dict[float, int]) -> float:
    """The size (to the half point) that most characters have."""
    rounded: dict[float, int] = {}
    for size, n in sizes.items():
        key = round(size * 2) / 2
        rounded[key] = rounded.get(key, 0) + n
    return max(rounded, key=rounded.__getitem__)


class PageData:
    """What extraction found on one page, before blocks are built."""

    __slots__ = ("number", "width", "height", "frags", "label", "scanned", "ocr", "rulings")

    def __init__(self, number: int, width: float, height: float):
        self.number = number
        self.width = width
        self.height = height
        self.frags: list[Frag] = []
        self.label: str | None = None
        self.scanned = False
        self.ocr = False
        self.rulings: tuple[list, list] = ([], [])  # horizontal (y, x0, x1), vertical (x, y0, y1)




def fragments(words: list[Word]) -> list[Frag]:
    """Group words (in PDFium's order) into fragments, then merge same-line neighbours."""
    frags: list[Frag] = []
    cur: Frag | None = None
    for w in words:
        if cur is not None and w.q == cur.q and w.text:
            s = max(cur.size, w.size)
            gap = w.u0 - cur.u1
            dy = w.base - cur.base
            if -0.3 * s <= gap <= WORD_GAP * s and (
                abs(dy) <= 0.25 * s
                or (w.size < 0.85 * cur.size and -0.6 * cur.size <= dy <= 0.15 * cur.size)  # superscript
                or (cur.size < 0.85 * w.size and -0.15 * w.size <= dy <= 0.6 * w.size)
            ):
                cur.add(w)
                continue
        if not w.text:
            continue
        cur = Frag(w)
        frags.append(cur)
    frags = [piece for f in frags for piece in _split_wide_gaps(f)]
    if len(frags) < 2:
        return frags
    # Runs printed out of order (a bold word drawn after its line, say) end up as
    # separate fragments on one baseline: join them when they touch.
    order = sorted(frags, key=lambda f: (f.q, f.base, f.u0))
    out = [order[0]]
    for f in order[1:]:
        prev = out[-1]
        s = max(prev.size, f.size)
        if (f.q == prev.q and abs(f.base - prev.base) <= 0.2 * s
                and -0.3 * s <= f.u0 - prev.u1 <= 0.5 * s and abs(f.size - prev.size) <= 0.2 * s):
            prev.absorb(f)
        else:
            out.append(f)
    return out


def _split_wide_gaps(frag: Frag) -> list[Frag]:
    """Cut a fragment where one gap is far wider than its word spaces: a column gutter or a
    table cell boundary drawn in the same run as its neighbour (justified lines have even gaps)."""
    words = frag.words
    if len(words) < 4 or frag.q != 0:
        return [frag]
    gaps = [b.u0 - a.u1 for a, b in zip(words, words[1:], strict=False)]
    space = sorted(gaps)[len(gaps) // 2]
    cuts = [i + 1 for i, g in enumerate(gaps) if g > max(0.8 * frag.size, 3 * space)
            and not (i == 0 and is_marker(words[0].text))]  # "1.⇥Text": a list item, not two cells
    if not cuts:
        return [frag]
    out = []
    for a, b in zip([0] + cuts, cuts + [len(words)], strict=True):
        piece = Frag(words[a])
        for w in words[a + 1 : b]:
            piece.add(w)
        out.append(piece)
    return out


def is_marker(text: str) -> bool:
    """A list bullet or number standing alone: "•", "1.", "a)", "(iv)"."""
    return bool(BULLET_RE.match(text + " ") or ENUM_RE.match(text + " ")
                or re.fullmatch(r"\d{1,2}(\.\d{1,2})*[.)]?|[\uf000-\uf0ff]", text))



# --- document statistics and running headers ---------------------------------------------------


class Stats:
    """What the whole document says about normal text: body size, line spacing, vocabulary."""

    def __init__(self, pages: list[PageData]):
        sizes: Counter[float] = Counter()
        colors: Counter[int] = Counter()
        spacing: Counter[float] = Counter()
        plain: list[str] = []  # words not cut by a line-break hyphen, for the vocabulary
        all_sizes: Counter[float] = Counter()
        for pd in pages:
            prev = None
            after_hyphen = False
            wide = 0.4 * (pd.width or 595)
            for f in sorted(pd.frags, key=lambda f: (f.u0 // 50, f.base)):
                counter = sizes if f.u1 - f.u0 >= wide else all_sizes  # running text, not cells or labels
                for w in f.words:
                    n = len(w.text)
                    counter[w.size] += n
                    colors[w.color] += n
                    if not (w.hyph or after_hyphen):
                        plain.append(w.text)
                    after_hyphen = w.hyph
                if prev is not None and abs(prev.size - f.size) < 0.3 and abs(prev.u0 - f.u0) < 20:
                    d = f.base - prev.base
                    if 0.9 * f.size <= d <= 2.6 * f.size:
                        spacing[round(d / f.size, 1)] += 1
                prev = f
        vocab = set(WORD_RE.findall(" ".join(plain).lower()))
        all_sizes.update(sizes)
        sizes = sizes if sum(sizes.values()) >= 0.2 * sum(all_sizes.values()) else all_sizes
        self.body = mode_size(sizes) if sizes else 10.0
        # Line spacing as a multiple of the font size (1.2 is the typographers' default).
        self.leading = spacing.most_common(1)[0][0] if spacing else 1.2
        self.vocab = vocab
        self.color = colors.most_common(1)[0][0] if colors else 0


def _norm(text: str) -> str:
    """A margin line with its numbers as #, so "Page 3" and "Page 4" repeat as one line."""
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", fold(text))).strip()


def mark_running(pages: list[PageData]) -> None:
    """Mark running headers/footers: margin text repeating at one height and size on several
    pages, and margin page numbers (numbers that keep step with the physical page)."""
    seen: dict[str, list[tuple[PageData, Frag]]] = defaultdict(list)
    numbers: list[tuple[PageData, Frag, int]] = []
    for pd in pages:
        h = pd.height or 842
        for f in pd.frags:
            if f.q != 0 or MARGIN * h <= f.bottom and f.top <= (1 - MARGIN) * h:
                continue
            text = f.text.strip()
            m = PAGE_NUMBER_RE.match(text)
            value = _number_value(m.group(1)) if m else None
            if value is not None:
                numbers.append((pd, f, value))
                continue
            key = _norm(text)
            if sum(c.isalpha() for c in key) >= 3:
                seen[key].append((pd, f))
    need = min(2 if len(pages) <= 4 else 3, len(pages))
    offsets = Counter(off for off, _ in {(value - pd.number, pd.number) for pd, _, value in numbers})
    for pd, f, value in numbers:
        if offsets[value - pd.number] >= need and (need > 1 or value < 1000):  # a lone "2023" is no page number
            _mark(pd, f)
    need = max(2, need, round(0.08 * len(pages)))  # a table header repeated on a few pages is content
    for hits in seen.values():
        if len({pd.number for pd, _ in hits}) < need:
            continue
        if not _stepping(hits, need):
            continue
        # Same height (±3 pt) and size on enough pages; odd and even pages may differ, so cluster.
        by_height: dict[tuple[int, int], list[tuple[PageData, Frag]]] = defaultdict(list)
        for pd, f in hits:
            by_height[(round(f.top / 3), round(f.size))].append((pd, f))
        for (k, size), group in by_height.items():
            group = group + by_height.get((k + 1, size), []) + by_height.get((k - 1, size), [])
            if len({pd.number for pd, _ in group}) >= need and sum(map(_detached, group)) * 2 >= len(group):
                for pd, f in group:
                    _mark(pd, f)


def _detached(hit: tuple[PageData, Frag]) -> bool:
    """A running header stands apart: no body line follows it at normal line spacing."""
    pd, f = hit
    header = f.base < (pd.height or 842) / 2
    for g in pd.frags:
        if g is f or g.u1 < f.u0 or g.u0 > f.u1:
            continue
        gap = g.top - f.bottom if header else f.top - g.bottom
        if -0.1 * f.size < gap < 0.8 * f.size:
            return False
    return True


def _stepping(hits: list[tuple[PageData, Frag]], need: int) -> bool:
    """Numbers in a repeated text either stay the same (a year) or keep step with the page."""
    numbers = [re.findall(r"\d+", f.text) for _, f in hits]
    if all(n == numbers[0] for n in numbers):
        return True
    offsets = Counter(int(n[-1]) - pd.number for (pd, _), n in zip(hits, numbers, strict=True) if n)
    return bool(offsets) and offsets.most_common(1)[0][1] >= need


ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}


def _number_value(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    values = [ROMAN.get(c) for c in token.lower()]
    if None in values:
        return None
    total = sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))
    return total if total > 0 else None


def _mark(pd: PageData, f: Frag) -> None:
    f.role = "header" if f.base < (pd.height or 842) / 2 else "footer"


def page_label(pd: PageData) -> str | None:
    """The printed page number from the margins, else the PDF's own page label."""
    for f in pd.frags:
        if f.role != "body":
            m = PAGE_NUMBER_RE.match(f.text.strip())
            if m and _number_value(m.group(1)) is not None:
                return m.group(1)
    if pd.label:
        m = PAGE_NUMBER_RE.match(pd.label)
        return m.group(1) if m else pd.label
    return None


# --- reading order ------------------------------------------------------------------------------


def reading_order(frags: list[Frag], gutter: float, depth: int = 0) -> list[list[Frag]]:
    """Fragments in reading order, as rows (fragments sharing a baseline within a column)."""
    if len(frags) <= 1:
        return [frags] if frags else []
    if depth > 40:  # a scatter of labels (a chart, a map): no text flow to recover
        return _rows(frags)
    if max(f.base for f in frags) - min(f.base for f in frags) <= 0.3 * max(f.size for f in frags):
        return _rows(frags)  # one row: its fragments are cells, not columns
    cut = _vertical_cut(frags, gutter)
    if cut is not None:
        left, right = cut
        return reading_order(left, gutter, depth + 1) + reading_order(right, gutter, depth + 1)
    groups = _band_groups(frags, gutter)
    if len(groups) <= 1:
        return _rows(frags)
    out: list[list[Frag]] = []
    for group in groups:
        out.extend(reading_order(group, gutter, depth + 1))
    return out


def merge_intervals(intervals: list[tuple[float, float]], gutter: float) -> list[tuple[float, float]]:
    """The union of intervals, joining those less than `gutter` apart."""
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a < out[-1][1] + gutter:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _vertical_cut(frags: list[Frag], gutter: float) -> tuple[list[Frag], list[Frag]] | None:
    union = merge_intervals([(f.u0, f.u1) for f in frags], gutter)
    if len(union) < 2:
        return None
    gaps = sorted(((union[i + 1][0] - union[i][1], union[i][1]) for i in range(len(union) - 1)), reverse=True)
    for _, x in gaps:
        left = [f for f in frags if f.u1 <= x + 0.01]
        right = [f for f in frags if f.u1 > x + 0.01]
        if _side_by_side(left, right):
            return left, right
    return None


def _side_by_side(left: list[Frag], right: list[Frag]) -> bool:
    """Columns, rather than the cells of a table (rows whose baselines line up)?"""
    top = max(min(f.top for f in left), min(f.top for f in right))
    bottom = min(max(f.bottom for f in left), max(f.bottom for f in right))
    if bottom <= top:  # one above the other: bands will order them
        return False
    small, big = (left, right) if len(left) <= len(right) else (right, left)
    bases = sorted(f.base for f in big)
    if len(small) < 2:  # one label or list number beside its text is a row, not a column
        return not _near(bases, small[0].base, max(1.5, 0.15 * small[0].size))
    aligned = sum(1 for f in small if _near(bases, f.base, max(1.5, 0.15 * f.size)))
    if aligned < 0.5 * len(small):
        return True
    return _prose(left) and _prose(right)


def _near(sorted_values: list[float], x: float, tol: float) -> bool:
    import bisect

    i = bisect.bisect_left(sorted_values, x - tol)
    return i < len(sorted_values) and sorted_values[i] <= x + tol


def _prose(frags: list[Frag]) -> bool:
    """Lines of running text: several, mostly full width, at normal line spacing."""
    if len(frags) < 5:
        return False
    width = max(f.u1 for f in frags) - min(f.u0 for f in frags)
    widths = sorted(f.u1 - f.u0 for f in frags)
    if widths[len(widths) // 2] < 0.75 * width:
        return False
    fs = sorted(frags, key=lambda f: f.base)
    close = sum(1 for a, b in zip(fs, fs[1:], strict=False) if b.base - a.base <= 1.6 * a.size)
    return close >= 0.5 * len(fs)


def _band_groups(frags: list[Frag], gutter: float) -> list[list[Frag]]:
    """Horizontal bands (split at full-width white space), regrouped where they share a gutter.

    A band joins the group above when together they still have a gutter, or when neither
    has one (single-column text). When a group ends, its last band may belong below
    instead (a heading just above a new two-column stretch): it moves if the white space
    above it is wider than the white space below it.
    """
    fs = sorted(frags, key=lambda f: f.top)
    bands: list[list[Frag]] = [[fs[0]]]
    end = fs[0].bottom
    for f in fs[1:]:
        if f.top >= end - 0.05 * f.size:
            bands.append([f])
        else:
            bands[-1].append(f)
        end = max(end, f.bottom)
    if len(bands) == 1:
        return bands
    unions = [merge_intervals([(f.u0, f.u1) for f in band], gutter) for band in bands]
    tops = [min(f.top for f in band) for band in bands]
    bottoms = [max(f.bottom for f in band) for band in bands]

    def joins(union: list[tuple[float, float]], other: list[tuple[float, float]]) -> bool:
        return len(merge_intervals(union + other, gutter)) > 1 or (len(union) == 1 and len(other) == 1)

    groups: list[list[int]] = []
    union: list[tuple[float, float]] = []
    for i in range(len(bands)):
        if groups and joins(union, unions[i]):
            groups[-1].append(i)
            union = merge_intervals(union + unions[i], gutter)
            continue
        if groups and len(groups[-1]) > 1:
            last = groups[-1][-1]
            above = tops[last] - bottoms[groups[-1][-2]]
            below = tops[i] - bottoms[last]
            if above > below + 1 and joins(unions[last], unions[i]):
                groups[-1].pop()
                groups.append([last, i])
                union = merge_intervals(unions[last] + unions[i], gutter)
                continue
        groups.append([i])
        union = unions[i]
    return [[f for i in group for f in bands[i]] for group in groups]


def _rows(frags: list[Frag]) -> list[list[Frag]]:
    fs = sorted(frags, key=lambda f: f.base)
    rows: list[list[Frag]] = [[fs[0]]]
    for f in fs[1:]:
        row = rows[-1]
        if abs(f.base - row[0].base) <= 0.3 * max(f.size, row[0].size):
            row.append(f)
        else:
            rows.append([f])
    return [sorted(r, key=lambda f: f.u0) for r in rows]




def split_rows(rows: list[list[Frag]]) -> list[list[Frag]]:
    """Fragments of one row that overlap horizontally (text printed over text) are separate lines."""
    out = []
    for row in rows:
        cur = [row[0]]
        for f in row[1:]:
            if f.u0 < cur[-1].u1 - 0.5 * f.size:
                out.append(cur)
                cur = [f]
            else:
                cur.append(f)
        out.append(cur)
    return out
