"""PDFium → words and ruling lines, with as few ctypes calls as possible.

Asking PDFium for every character's box and font from Python is too slow (hundreds of
thousands of ctypes calls a report), so we take the page text in one call, cut it into
words, and ask only for each word's first and last character (origin, box, size, font);
the font, size and colour are asked again only when the text object changes. Ruling
lines (table borders) come from the page's path objects: one type and one bounds call
per object, no Python wrapper objects.
"""

from __future__ import annotations

import ctypes
import math
import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from whatworks.read.pdf_vocab import BOLD_NAME_RE

LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
TOKEN_RE = re.compile(r"[^\s\ufffe]+\ufffe?|\ufffe")
FORCE_BOLD = 1 << 18
#: A path thinner than this (points) is a line, not a shape; shorter than RULE_MIN, a dot.
RULE_MAX_WIDTH = 3.0
RULE_MIN = 4.0
#: Pages with more path objects than this are drawings (maps, charts), not tables: skipped.
MAX_PATHS = 6000


class Word:
    """A word on the page. u/base are layout coordinates along/across the text direction."""

    __slots__ = ("text", "u0", "u1", "base", "size", "bold", "hyph", "q", "box", "color")

    def __init__(self, text, u0, u1, base, size, bold, hyph, q, box, color=0):
        self.text = text
        self.color = color  # fill colour as 0xRRGGBB
        self.u0 = u0
        self.u1 = u1
        self.base = base
        self.size = size
        self.bold = bold
        self.hyph = hyph  # the word ends in a line-break hyphen
        self.q = q  # text direction in quarter turns (0: normal)
        self.box = box  # (x0, top, x1, bottom) in page points, top-down


def page_words(textpage: pdfium.PdfTextPage, left: float, top: float, fonts: dict) -> list[Word]:
    """The page's words, from one text call plus a few calls per word (not per character).

    `fonts` caches (font name, flags) → bold across the pages of a document."""
    raw = textpage.raw
    n = textpage.count_chars()
    if n <= 0:
        return []
    text = textpage.get_text_range()
    if len(text) != n:  # characters outside the BMP or excluded characters: go char by char
        get = pdfium_c.FPDFText_GetUnicode
        text = "".join(_char(get(raw, i)) for i in range(n))
    ox, oy = ctypes.c_double(), ctypes.c_double()
    rox, roy = ctypes.byref(ox), ctypes.byref(oy)
    box = pdfium_c.FS_RECTF()
    rbox = ctypes.byref(box)
    matrix = pdfium_c.FS_MATRIX()
    rmatrix = ctypes.byref(matrix)
    flags = ctypes.c_int()
    rflags = ctypes.byref(flags)
    buf = ctypes.create_string_buffer(128)
    red, green, blue, alpha = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
    rgba = ctypes.byref(red), ctypes.byref(green), ctypes.byref(blue), ctypes.byref(alpha)
    fill = pdfium_c.FPDFText_GetFillColor
    origin = pdfium_c.FPDFText_GetCharOrigin
    loose = pdfium_c.FPDFText_GetLooseCharBox
    font_size = pdfium_c.FPDFText_GetFontSize
    get_matrix = pdfium_c.FPDFText_GetMatrix
    font_info = pdfium_c.FPDFText_GetFontInfo
    hypot = math.hypot
    text_object = _TEXT_OBJECT
    prev_obj = style = None
    words: list[Word] = []
    for m in TOKEN_RE.finditer(text):
        s = m.start()
        token = m.group()
        hyph = token[-1] == "\ufffe"
        if hyph:
            token = token[:-1]
            if not token:
                if words:
                    words[-1].hyph = True
                continue
        last = s + len(token) - 1
        origin(raw, s, rox, roy)
        x, y = ox.value, oy.value
        obj = text_object(raw, s) if text_object is not None else None
        if obj is None or obj != prev_obj:  # a new text object: a new font, size or colour
            prev_obj = obj
            size = font_size(raw, s)
            if get_matrix(raw, s, rmatrix):
                a, b = matrix.a, matrix.b
                size *= hypot(matrix.c, matrix.d)
            else:
                a, b = 1.0, 0.0
            font_info(raw, s, buf, 128, rflags)
            key = (buf.value, flags.value)
            bold = fonts.get(key)
            if bold is None:
                bold = fonts[key] = bool(BOLD_NAME_RE.search(key[0])) or bool(flags.value & FORCE_BOLD)
            color = (red.value << 16 | green.value << 8 | blue.value) if fill(raw, s, *rgba) else 0
            style = (size, a, b, bold, color)
        else:
            size, a, b, bold, color = style
        loose(raw, last, rbox)
        if size <= 0.5 or size > 400:
            size = max(box.top - box.bottom, 1.0)
        if abs(a) >= abs(b) and a > 0:  # horizontal text: the fast, common path
            if not (box.bottom - 0.6 * size <= y <= box.top + 0.6 * size) or box.right < x - 0.5 * size:
                for w in _split_token(raw, token, s, left, top, size, bold, hyph):
                    w.color = color
                    words.append(w)
                continue
            base = top - y
            u0, u1 = x - left, box.right - left
            words.append(Word(clean(token), u0, u1, base, size, bold, hyph, 0,
                              (u0, base - 0.8 * size, u1, base + 0.2 * size), color))
        else:
            w = _rotated_word(raw, token, s, x, y, box, a, b, left, top, size, bold, hyph)
            w.color = color
            words.append(w)
    return words


def _text_object_fn():
    """FPDFText_GetTextObject returning a plain address, to tell cheaply when the text object
    (hence font, size and colour) changes. pypdfium2's own binding returns a pointer object
    that cannot be compared; we bind the same symbol again. None if that is not possible."""
    try:
        from pypdfium2_raw.bindings import _libs

        fn = _libs["pdfium"]["FPDFText_GetTextObject"]
        fn.restype = ctypes.c_void_p
        fn.argtypes = (ctypes.c_void_p, ctypes.c_int)
        return fn
    except Exception:  # a different pypdfium2 layout: ask for the style of every word instead
        return None


_TEXT_OBJECT = _text_object_fn()


def _char(code: int) -> str:
    if code == 2:
        return "\ufffe"
    if code <= 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return " "
    return chr(code)


def clean(token: str) -> str:
    """Ligatures spelled out, control characters dropped."""
    if token.isascii() and token.isprintable():
        return token
    return CONTROL_RE.sub("", token.translate(LIGATURES))


def _split_token(raw, token, s, left, top, size, bold, hyph) -> list[Word]:
    """A token whose characters are not on one line (PDFium joined two lines): split it."""
    ox, oy = ctypes.c_double(), ctypes.c_double()
    box = pdfium_c.FS_RECTF()
    pieces: list[list[int]] = []
    prev = None
    for i in range(len(token)):
        pdfium_c.FPDFText_GetCharOrigin(raw, s + i, ctypes.byref(ox), ctypes.byref(oy))
        pos = (ox.value, oy.value)
        if prev is None or abs(pos[1] - prev[1]) > 0.5 * size or pos[0] < prev[0] - 0.5 * size:
            pieces.append([i, i, pos[0], pos[1]])
        else:
            pieces[-1][1] = i
        prev = pos
    words = []
    for k, (i0, i1, x, y) in enumerate(pieces):
        pdfium_c.FPDFText_GetLooseCharBox(raw, s + i1, ctypes.byref(box))
        u0, u1, base = x - left, max(box.right - left, x - left), top - y
        text = clean(token[i0 : i1 + 1])
        if text:
            words.append(Word(text, u0, u1, base, size, bold, hyph and k == len(pieces) - 1, 0,
                              (u0, base - 0.8 * size, u1, base + 0.2 * size)))
    return words


def _rotated_word(raw, token, s, x, y, box, a, b, left, top, size, bold, hyph) -> Word:
    """Vertical or upside-down text: layout coordinates turned so the text reads along u."""
    first = pdfium_c.FS_RECTF()
    pdfium_c.FPDFText_GetLooseCharBox(raw, s, ctypes.byref(first))
    x0, x1 = min(first.left, box.left) - left, max(first.right, box.right) - left
    y0, y1 = top - max(first.top, box.top), top - min(first.bottom, box.bottom)
    if abs(b) > abs(a):
        q = 1 if b > 0 else 3
    else:
        q = 2
    if q == 1:  # reads bottom to top
        u0, u1, base = y, max(box.top, y), x
    elif q == 3:  # reads top to bottom
        u0, u1, base = -y, max(-box.bottom, -y), -x
    else:
        u0, u1, base = -x, max(-box.left, -x), y
    return Word(clean(token), u0, u1, base, size, bold, hyph, q, (x0, y0, x1, y1))


def has_image(page: pdfium.PdfPage) -> bool:
    try:
        for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
            return True
    except Exception:
        return False
    return False


def page_rulings(page: pdfium.PdfPage, left: float, top: float) -> tuple[list[tuple], list[tuple]]:
    """The page's straight thin lines, top-down like word boxes: horizontal (y, x0, x1) and
    vertical (x, y0, y1).

    Word and most office suites draw table borders as thin filled rectangles, one per cell
    side; other tools stroke lines or whole rectangles. A thin path is a line whatever its
    paint; a stroked rectangle gives its four sides; filled shapes (shading, bars) are not
    borders. Only top-level objects are read: tables are rarely inside form XObjects, and
    their bounds would need the form's matrix."""
    raw = page.raw
    n = pdfium_c.FPDFPage_CountObjects(raw)
    if n <= 0:
        return [], []
    get, kind, bounds = pdfium_c.FPDFPage_GetObject, pdfium_c.FPDFPageObj_GetType, pdfium_c.FPDFPageObj_GetBounds
    path = pdfium_c.FPDF_PAGEOBJ_PATH
    fl, fb, fr, ft = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    refs = ctypes.byref(fl), ctypes.byref(fb), ctypes.byref(fr), ctypes.byref(ft)
    hs: list[tuple] = []
    vs: list[tuple] = []
    paths = 0
    for i in range(n):
        obj = get(raw, i)
        if kind(obj) != path:
            continue
        paths += 1
        if paths > MAX_PATHS:
            return [], []
        if not bounds(obj, *refs):
            continue
        x0, x1, y0, y1 = fl.value - left, fr.value - left, top - ft.value, top - fb.value
        w, h = x1 - x0, y1 - y0
        if h <= RULE_MAX_WIDTH and w >= RULE_MIN:
            hs.append(((y0 + y1) / 2, x0, x1))
        elif w <= RULE_MAX_WIDTH and h >= RULE_MIN:
            vs.append(((x0 + x1) / 2, y0, y1))
        elif w >= RULE_MIN and h >= RULE_MIN and _stroked_rectangle(obj):
            hs += [(y0, x0, x1), (y1, x0, x1)]
            vs += [(x0, y0, y1), (x1, y0, y1)]
    return hs, vs


def _stroked_rectangle(obj) -> bool:
    """A path of one axis-aligned rectangle (4–5 segments, every point a corner) whose
    outline is painted."""
    n = pdfium_c.FPDFPath_CountSegments(obj)
    if not 4 <= n <= 5:
        return False
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj, ctypes.byref(fill), ctypes.byref(stroke)) or not stroke.value:
        return False
    x, y = ctypes.c_float(), ctypes.c_float()
    points = []
    for i in range(n):
        seg = pdfium_c.FPDFPath_GetPathSegment(obj, i)
        if not seg or not pdfium_c.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y)):
            return False
        points.append((x.value, y.value))
    xs = sorted({round(p[0], 1) for p in points})
    ys = sorted({round(p[1], 1) for p in points})
    return len(xs) == 2 and len(ys) == 2
