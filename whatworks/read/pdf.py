"""PDF → Document with pypdfium2: words, lines, columns, blocks and headings.

PDFium gives characters, not layout. Asking it for every character's box and font
from Python is too slow (hundreds of thousands of ctypes calls a report), so we take
the page text in one call, cut it into words, and ask only for each word's first and
last character (origin, box, size, font). Everything else is geometry on words:

* words → fragments: runs of words on one baseline without a wide gap;
* running headers/footers: fragments repeating at the same height on several pages,
  and bare page numbers in the margins (kept as `header`/`footer` blocks, never mixed
  into paragraphs; the printed number becomes `Page.label`);
* reading order: a recursive cut — split at a vertical gutter no fragment crosses
  (columns), else into horizontal bands, regrouping bands that share a gutter so a
  two-column stretch under a full-width title still reads left column first;
* lines → blocks: headings (size against the body size, bold, numbering, the PDF
  outline), list items, captions, table rows (aligned cells) and paragraphs.

Scanned pages (images, no text) are OCRed with Tesseract when it is installed
(see whatworks.read.ocr); otherwise the file fails with a `scanned` ReadError.
"""

from __future__ import annotations

import ctypes
import logging
import math
import re
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from whatworks.errors import ReadError
from whatworks.model import Block, Document, Page
from whatworks.read import ocr

log = logging.getLogger(__name__)

# --- tuning ----------------------------------------------------------------------------

#: Gap between two words (in ems) above which they belong to different fragments.
WORD_GAP = 1.5
#: Share of the page height at the top and bottom where running headers/footers live.
MARGIN = 0.12
#: A page with fewer characters than this, and an image, counts as scanned.
SCANNED_MAX_CHARS = 20
#: Headings longer than this are paragraphs in a heading's clothes (bold callouts).
HEADING_MAX_WORDS = 25

# Layout vocabulary. Kept here, not in whatworks/data, because it is about typography
# (what a caption or a bold lead looks like), not about the review's content.
CAPTION_RE = re.compile(
    r"^(figure|fig\.|table|tableau|tabla|tabela|graph|graphique|gráfico|grafico|chart|box|encadré|"
    r"recuadro|caixa|quadro|cuadro|map|carte|mapa|diagram|diagramme|figur|figura|tabell|karta)"
    r"\s*(n[°o]\s*)?[\dIVXivx]+([.\-]\d+)*\s*[:.\-–—]?",
    re.IGNORECASE,
)
#: "Finding 2." / "Recommendation 3:" in bold at a paragraph start: a paragraph, not a heading.
ITEM_LEAD_RE = re.compile(
    r"^(finding|conclusion|recommendation|lesson|good practice|constat|conclusion|recommandation|"
    r"leçon|bonne pratique|hallazgo|conclusión|recomendación|lección|buena práctica|constatação|"
    r"conclusão|recomendação|lição|boa prática|slutsats|rekommendation|lärdom)s?\s*(n[°o]\s*)?"
    r"[\dIVX]+[\d.]*\s*[.:\-–—)]",
    re.IGNORECASE,
)
NUMBERED_RE = re.compile(r"^(?:(\d{1,2}(?:\.\d{1,2}){0,4})\.?|([A-H]|[IVX]{1,5})\.)\s+(?=\S)")
BULLET_CHARS = "•●▪■◦○◆◇►▶➢➤✓✔–—-*·∙⁃\uf0b7\uf0a7\uf0d8\uf076\uf0fc\uf0a8\uf06e\uf0e0\uf071"
BULLET_RE = re.compile(rf"^[{re.escape(BULLET_CHARS)}]\s+")
ENUM_RE = re.compile(r"^(\(?[a-z]\)|\(?[ivx]{1,4}\)|\(\d{1,2}\)|\d{1,2}\)|[a-z]\.)\s+", re.IGNORECASE)
TOC_LINE_RE = re.compile(r"(\.{4,}|_{4,}|…{2,}|(\.\s){4,}|-{5,})\s*\d*\s*$")
PAGE_NUMBER_RE = re.compile(
    r"^[-–—(|]?\s*(?:(?:page|página|pagina|pág\.|p\.|sida|seite)\s*)?(\d{1,4}|[ivxlc]{1,7})"
    r"(?:\s*(?:of|de|sur|av|/|von)\s*\d{1,4})?\s*[-–—)|]?$",
    re.IGNORECASE,
)
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
TOKEN_RE = re.compile(r"[^\s\ufffe]+\ufffe?|\ufffe")
BOLD_NAME_RE = re.compile(rb"bold|black|heavy|demi|fett", re.IGNORECASE)
FORCE_BOLD = 1 << 18
WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


# --- data ------------------------------------------------------------------------------


class _Word:
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


class _Frag:
    """Words on one baseline with no wide gap between them."""

    __slots__ = ("words", "u0", "u1", "base", "size", "q", "role")

    def __init__(self, word: _Word):
        self.words = [word]
        self.u0, self.u1, self.base, self.size, self.q = word.u0, word.u1, word.base, word.size, word.q
        self.role = "body"  # or header/footer

    def add(self, word: _Word) -> None:
        self.words.append(word)
        self.u0 = min(self.u0, word.u0)
        self.u1 = max(self.u1, word.u1)
        if word.size > self.size * 1.15:  # a superscript started the fragment: take the text's line
            self.base, self.size = word.base, word.size

    def absorb(self, other: _Frag) -> None:
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


class _Line:
    """One visual line of a column: one fragment, or several (table cells)."""

    __slots__ = ("frags", "words", "u0", "u1", "base", "size", "bold", "text", "top", "bottom", "color",
                 "sizes", "chars", "bold_chars")

    def __init__(self, frags: list[_Frag]):
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
        self.size = _mode_size(sizes) if sizes else round(frags[0].size * 2) / 2
        self.bold = chars > 0 and bold >= 0.85 * chars
        self.color = colors.pop() if len(colors) == 1 else None
        self.text = " ".join(f.text for f in frags)


def _mode_size(sizes: dict[float, int]) -> float:
    """The size (to the half point) that most characters have."""
    rounded: dict[float, int] = {}
    for size, n in sizes.items():
        key = round(size * 2) / 2
        rounded[key] = rounded.get(key, 0) + n
    return max(rounded, key=rounded.__getitem__)


class _PageData:
    __slots__ = ("number", "width", "height", "frags", "label", "scanned", "ocr")

    def __init__(self, number: int, width: float, height: float):
        self.number = number
        self.width = width
        self.height = height
        self.frags: list[_Frag] = []
        self.label: str | None = None
        self.scanned = False
        self.ocr = False


# --- entry point -----------------------------------------------------------------------


def read_pdf(path: Path, sha256: str) -> Document:
    """Read a PDF into pages and blocks; raise ReadError for encrypted, corrupt or scanned files."""
    path = Path(path)
    pdf = _open(path)
    try:
        meta = _metadata(pdf)
        outline = _outline(pdf)
        pages, warnings = _extract(pdf, path)
        n_scanned = sum(p.scanned for p in pages)
        used_ocr = False
        if n_scanned:
            used_ocr = _ocr_scanned(pdf, pages, path, warnings)
    finally:
        pdf.close()

    document = Document(source=str(path), sha256=sha256, format="pdf", ocr=used_ocr,
                        warnings=warnings, meta=meta)
    stats = _Stats(pages)
    _mark_running(pages)
    for pd in pages:
        page = Page(number=pd.number, width=round(pd.width, 2), height=round(pd.height, 2))
        page.label = _page_label(pd)
        page.blocks = _page_blocks(pd, stats)
        document.pages.append(page)
    _assign_levels(document, stats)
    if outline:
        _apply_outline(document, outline)
    document.title = _title(meta, document, stats)
    return document


# --- opening, metadata, outline ----------------------------------------------------------


def _open(path: Path) -> pdfium.PdfDocument:
    name = path.name
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        code = getattr(e, "err_code", None)
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise ReadError(
                "encrypted",
                f"{name} is password-protected (encrypted); its text cannot be read",
                "ask the publisher for an unprotected copy or remove the password with qpdf --decrypt",
            ) from None
        if code == pdfium_c.FPDF_ERR_FILE:
            raise ReadError("unreadable", f"{name} could not be opened",
                            "check that the file exists and is readable") from None
        truncated = _looks_truncated(path)
        what = "is truncated (it lacks the PDF end-of-file marker)" if truncated else "is damaged"
        raise ReadError("corrupt", f"{name} {what}; PDFium could not parse it ({e})",
                        "download or export the file again") from None


def _looks_truncated(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 2048))
            return b"%%EOF" not in f.read()
    except OSError:
        return False


def _metadata(pdf: pdfium.PdfDocument) -> dict:
    meta: dict = {}
    try:
        info = pdf.get_metadata_dict(skip_empty=True)
    except Exception:  # a broken Info dictionary is no reason to fail the read
        info = {}
    for key, value in info.items():
        value = CONTROL_RE.sub("", value).strip()
        if not value:
            continue
        if key in ("CreationDate", "ModDate"):
            value = _pdf_date(value) or value
        meta[key] = value
    meta["PageCount"] = len(pdf)
    try:
        version = pdf.get_version()
        if version:
            meta["PDFVersion"] = f"{version // 10}.{version % 10}"
    except Exception:
        pass
    return meta


def _pdf_date(value: str) -> str | None:
    """'D:20230524155222+03'00'' → '2023-05-24T15:52:22+03:00'."""
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz]|[+-]\d{2}'?\d{2}'?)?", value)
    if not m:
        return None
    parts = [int(p) if p else d for p, d in zip(m.groups()[:6], (0, 1, 1, 0, 0, 0), strict=True)]
    try:
        dt = datetime(*parts)
    except ValueError:
        return None
    tz = (m.group(7) or "").replace("'", "")
    if tz.upper() == "Z":
        tz = "Z"
    elif tz:
        tz = f"{tz[:3]}:{tz[3:5]}"
    return dt.isoformat() + tz


def _outline(pdf: pdfium.PdfDocument) -> list[tuple[int, str, int]]:
    """(level 1.., title, 0-based page) for each bookmark that points into the document."""
    entries = []
    try:
        for bookmark in pdf.get_toc(max_depth=15):
            dest = bookmark.get_dest()
            index = dest.get_index() if dest is not None else None
            title = CONTROL_RE.sub("", bookmark.get_title()).strip()
            if index is not None and title and 0 <= index < len(pdf):
                entries.append((min(bookmark.level + 1, 6), title, index))
    except Exception:  # a broken outline only costs us its help
        log.debug("outline unreadable", exc_info=True)
    return entries


# --- words and fragments -------------------------------------------------------------------


def _extract(pdf: pdfium.PdfDocument, path: Path) -> tuple[list[_PageData], list[str]]:
    pages: list[_PageData] = []
    warnings: list[str] = []
    failed = []
    fonts: dict[tuple[bytes, int], bool] = {}  # (font name, flags) → bold
    for index in range(len(pdf)):
        try:
            page = pdf[index]
        except pdfium.PdfiumError:
            failed.append(index + 1)
            pages.append(_PageData(index + 1, 0, 0))
            continue
        try:
            # The page box, unrotated: bboxes are in the same space (a /Rotate only turns the view).
            left, bottom, right, top = page.get_bbox()
            pd = _PageData(index + 1, right - left, top - bottom)
            textpage = page.get_textpage()
            try:
                words = _page_words(textpage, left, top, fonts)
            finally:
                textpage.close()
            pd.frags = _fragments(words)
            chars = sum(len(w.text) for w in words)
            if chars < SCANNED_MAX_CHARS and _has_image(page):
                pd.scanned = True
            try:
                label = pdf.get_page_label(index)
            except Exception:
                label = ""
            pd.label = CONTROL_RE.sub("", label).strip() or None
            pages.append(pd)
        except pdfium.PdfiumError:
            failed.append(index + 1)
            pages.append(_PageData(index + 1, 0, 0))
        finally:
            page.close()
    if failed:
        if len(failed) == len(pages):
            raise ReadError("corrupt", f"{path.name}: none of its {len(pages)} pages could be read",
                            "download or export the file again")
        warnings.append(f"{_pages_phrase(failed)} unreadable and left empty")
    return pages, warnings


def _page_words(textpage: pdfium.PdfTextPage, left: float, top: float, fonts: dict) -> list[_Word]:
    """The page's words, from one text call plus a few calls per word (not per character)."""
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
    words: list[_Word] = []
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
            words.append(_Word(_clean(token), u0, u1, base, size, bold, hyph, 0,
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


def _clean(token: str) -> str:
    if token.isascii() and token.isprintable():
        return token
    return CONTROL_RE.sub("", token.translate(LIGATURES))


def _split_token(raw, token, s, left, top, size, bold, hyph) -> list[_Word]:
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
        text = _clean(token[i0 : i1 + 1])
        if text:
            words.append(_Word(text, u0, u1, base, size, bold, hyph and k == len(pieces) - 1, 0,
                               (u0, base - 0.8 * size, u1, base + 0.2 * size)))
    return words


def _rotated_word(raw, token, s, x, y, box, a, b, left, top, size, bold, hyph) -> _Word:
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
    return _Word(_clean(token), u0, u1, base, size, bold, hyph, q, (x0, y0, x1, y1))


def _has_image(page: pdfium.PdfPage) -> bool:
    try:
        for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
            return True
    except Exception:
        return False
    return False


def _fragments(words: list[_Word]) -> list[_Frag]:
    """Group words (in PDFium's order) into fragments, then merge same-line neighbours."""
    frags: list[_Frag] = []
    cur: _Frag | None = None
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
        cur = _Frag(w)
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


def _split_wide_gaps(frag: _Frag) -> list[_Frag]:
    """Cut a fragment where one gap is far wider than its word spaces: a column gutter or a
    table cell boundary drawn in the same run as its neighbour (justified lines have even gaps)."""
    words = frag.words
    if len(words) < 4 or frag.q != 0:
        return [frag]
    gaps = [b.u0 - a.u1 for a, b in zip(words, words[1:], strict=False)]
    space = sorted(gaps)[len(gaps) // 2]
    cuts = [i + 1 for i, g in enumerate(gaps) if g > max(0.8 * frag.size, 3 * space)
            and not (i == 0 and _is_marker(words[0].text))]  # "1.⇥Text": a list item, not two cells
    if not cuts:
        return [frag]
    out = []
    for a, b in zip([0] + cuts, cuts + [len(words)], strict=True):
        piece = _Frag(words[a])
        for w in words[a + 1 : b]:
            piece.add(w)
        out.append(piece)
    return out


def _is_marker(text: str) -> bool:
    """A list bullet or number standing alone: "•", "1.", "a)", "(iv)"."""
    return bool(BULLET_RE.match(text + " ") or ENUM_RE.match(text + " ")
                or re.fullmatch(r"\d{1,2}(\.\d{1,2})*[.)]?|[\uf000-\uf0ff]", text))


def _ranges(numbers: list[int]) -> str:
    out = []
    start = prev = numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}–{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)


# --- OCR -----------------------------------------------------------------------------------


def _ocr_scanned(pdf: pdfium.PdfDocument, pages: list[_PageData], path: Path, warnings: list[str]) -> bool:
    """OCR the scanned pages if Tesseract is installed; fail when the whole file is a scan.

    Returns True when most pages came from OCR (Document.ocr); a few OCRed pages in a
    born-digital report (an image of a table, a scanned annex) only earn a warning.
    """
    scanned = [p for p in pages if p.scanned]
    which = _pages_phrase([p.number for p in scanned], "scanned image")
    sample = " ".join(f.text for p in pages if not p.scanned for f in p.frags)[:20000]
    binary = ocr.tesseract()
    if binary is None:
        if len(sample) < 200 or len(scanned) >= 0.5 * len(pages):
            raise ReadError("scanned", f"{path.name} has no text layer (scanned pages)", ocr.INSTALL_HINT)
        warnings.append(f"{which} without text; {ocr.INSTALL_HINT}")
        return False
    language = None
    if len(sample) >= 200:  # OCR in the language of the rest of the report: faster and better
        from whatworks.language import detect

        language = detect(sample)[0]
    langs = ocr.languages(binary, language)
    log.info("OCR of %d scanned pages of %s (tesseract -l %s)", len(scanned), path.name, langs)
    for pd in scanned:
        page = pdf[pd.number - 1]
        try:
            words = ocr.ocr_page(page, binary, langs)
        finally:
            page.close()
        pd.frags = _ocr_fragments(words)
        pd.ocr = True
    mostly = len(scanned) >= 0.5 * len(pages)
    if not mostly:
        warnings.append(f"{which}, read by OCR")
    return mostly


def _pages_phrase(numbers: list[int], what: str = "") -> str:
    """'page 5 is a scanned image' / 'pages 3, 7–9 are scanned images'."""
    if len(numbers) == 1:
        return f"page {numbers[0]} is" + (f" a {what}" if what else "")
    return f"pages {_ranges(numbers)} are" + (f" {what}s" if what else "")


def _ocr_fragments(words: list[ocr.OcrWord]) -> list[_Frag]:
    """One fragment per Tesseract line: its line finding is better than our gap rule on OCR
    boxes, where a misread word leaves a hole."""
    frags: list[_Frag] = []
    current = None
    heights = sorted({w.line: w.line_bottom - w.line_top for w in words}.values())
    typical = heights[len(heights) // 2] if heights else 12.0
    for w in words:
        text = _clean(w.text)
        if not text:
            continue
        # A line box runs from ascender to descender, about 1.15 font sizes, but varies with
        # the letters in it ("MEAL" has no descender): lines near the typical height are body text.
        ratio = (w.line_bottom - w.line_top) / typical
        ratio = 1.0 if 0.6 < ratio < 1.4 else round(ratio * 4) / 4
        size = max(typical / 1.15 * ratio, 4.0)
        base = w.line_bottom - 0.2 * size
        word = _Word(text, w.x0, w.x1, base, size, False, False, 0, (w.x0, w.top, w.x1, w.bottom))
        if current is not None and w.line == current:
            frags[-1].add(word)
        else:
            frags.append(_Frag(word))
            current = w.line
    return frags


# --- document statistics and running headers ---------------------------------------------------


class _Stats:
    """What the whole document says about normal text: body size, line spacing, vocabulary."""

    def __init__(self, pages: list[_PageData]):
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
        self.body = _mode_size(sizes) if sizes else 10.0
        # Line spacing as a multiple of the font size (1.2 is the typographers' default).
        self.leading = spacing.most_common(1)[0][0] if spacing else 1.2
        self.vocab = vocab
        self.color = colors.most_common(1)[0][0] if colors else 0


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text.lower())).strip()


def _mark_running(pages: list[_PageData]) -> None:
    """Mark running headers/footers: margin text repeating at one height and size on several
    pages, and margin page numbers (numbers that keep step with the physical page)."""
    seen: dict[str, list[tuple[_PageData, _Frag]]] = defaultdict(list)
    numbers: list[tuple[_PageData, _Frag, int]] = []
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
        by_height: dict[tuple[int, int], list[tuple[_PageData, _Frag]]] = defaultdict(list)
        for pd, f in hits:
            by_height[(round(f.top / 3), round(f.size))].append((pd, f))
        for (k, size), group in by_height.items():
            group = group + by_height.get((k + 1, size), []) + by_height.get((k - 1, size), [])
            if len({pd.number for pd, _ in group}) >= need and sum(map(_detached, group)) * 2 >= len(group):
                for pd, f in group:
                    _mark(pd, f)


def _detached(hit: tuple[_PageData, _Frag]) -> bool:
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


def _stepping(hits: list[tuple[_PageData, _Frag]], need: int) -> bool:
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


def _mark(pd: _PageData, f: _Frag) -> None:
    f.role = "header" if f.base < (pd.height or 842) / 2 else "footer"


def _page_label(pd: _PageData) -> str | None:
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


def _order(frags: list[_Frag], gutter: float, depth: int = 0) -> list[list[_Frag]]:
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
        return _order(left, gutter, depth + 1) + _order(right, gutter, depth + 1)
    groups = _band_groups(frags, gutter)
    if len(groups) <= 1:
        return _rows(frags)
    out: list[list[_Frag]] = []
    for group in groups:
        out.extend(_order(group, gutter, depth + 1))
    return out


def _union(intervals: list[tuple[float, float]], gutter: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a < out[-1][1] + gutter:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _vertical_cut(frags: list[_Frag], gutter: float) -> tuple[list[_Frag], list[_Frag]] | None:
    union = _union([(f.u0, f.u1) for f in frags], gutter)
    if len(union) < 2:
        return None
    gaps = sorted(((union[i + 1][0] - union[i][1], union[i][1]) for i in range(len(union) - 1)), reverse=True)
    for _, x in gaps:
        left = [f for f in frags if f.u1 <= x + 0.01]
        right = [f for f in frags if f.u1 > x + 0.01]
        if _side_by_side(left, right):
            return left, right
    return None


def _side_by_side(left: list[_Frag], right: list[_Frag]) -> bool:
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


def _prose(frags: list[_Frag]) -> bool:
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


def _band_groups(frags: list[_Frag], gutter: float) -> list[list[_Frag]]:
    """Horizontal bands (split at full-width white space), regrouped where they share a gutter.

    A band joins the group above when together they still have a gutter, or when neither
    has one (single-column text). When a group ends, its last band may belong below
    instead (a heading just above a new two-column stretch): it moves if the white space
    above it is wider than the white space below it.
    """
    fs = sorted(frags, key=lambda f: f.top)
    bands: list[list[_Frag]] = [[fs[0]]]
    end = fs[0].bottom
    for f in fs[1:]:
        if f.top >= end - 0.05 * f.size:
            bands.append([f])
        else:
            bands[-1].append(f)
        end = max(end, f.bottom)
    if len(bands) == 1:
        return bands
    unions = [_union([(f.u0, f.u1) for f in band], gutter) for band in bands]
    tops = [min(f.top for f in band) for band in bands]
    bottoms = [max(f.bottom for f in band) for band in bands]

    def joins(union: list[tuple[float, float]], other: list[tuple[float, float]]) -> bool:
        return len(_union(union + other, gutter)) > 1 or (len(union) == 1 and len(other) == 1)

    groups: list[list[int]] = []
    union: list[tuple[float, float]] = []
    for i in range(len(bands)):
        if groups and joins(union, unions[i]):
            groups[-1].append(i)
            union = _union(union + unions[i], gutter)
            continue
        if groups and len(groups[-1]) > 1:
            last = groups[-1][-1]
            above = tops[last] - bottoms[groups[-1][-2]]
            below = tops[i] - bottoms[last]
            if above > below + 1 and joins(unions[last], unions[i]):
                groups[-1].pop()
                groups.append([last, i])
                union = _union(unions[last] + unions[i], gutter)
                continue
        groups.append([i])
        union = unions[i]
    return [[f for i in group for f in bands[i]] for group in groups]


def _rows(frags: list[_Frag]) -> list[list[_Frag]]:
    fs = sorted(frags, key=lambda f: f.base)
    rows: list[list[_Frag]] = [[fs[0]]]
    for f in fs[1:]:
        row = rows[-1]
        if abs(f.base - row[0].base) <= 0.3 * max(f.size, row[0].size):
            row.append(f)
        else:
            rows.append([f])
    return [sorted(r, key=lambda f: f.u0) for r in rows]


# --- lines → blocks ---------------------------------------------------------------------------


def _page_blocks(pd: _PageData, stats: _Stats) -> list[Block]:
    if not pd.frags:
        return []
    direction = Counter(f.q for f in pd.frags if f.role == "body").most_common(1)
    q = direction[0][0] if direction else 0
    body = [f for f in pd.frags if f.role == "body" and f.q == q]
    other = [f for f in pd.frags if f.role == "body" and f.q != q]
    sizes = sorted(f.size for f in body) or [stats.body]
    gutter = max(3.0, 0.4 * sizes[len(sizes) // 2])
    rows = _order(body, gutter)
    lines = [_Line(r) for r in _split_rows(rows)]
    blocks: list[Block] = []
    for f in sorted((f for f in pd.frags if f.role == "header"), key=lambda f: (f.base, f.u0)):
        blocks.append(_simple_block("header", [f], pd.number))
    blocks.extend(_build_blocks(lines, pd.number, stats))
    if other:
        blocks.append(Block("paragraph", _join_text([_Line([f]) for f in other], stats.vocab), pd.number,
                            bbox=_round_box(_union_box([f.bbox() for f in other])),
                            font_size=round(other[0].size * 2) / 2))
    for f in sorted((f for f in pd.frags if f.role == "footer"), key=lambda f: (f.base, f.u0)):
        blocks.append(_simple_block("footer", [f], pd.number))
    return blocks


def _split_rows(rows: list[list[_Frag]]) -> list[list[_Frag]]:
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


def _simple_block(kind: str, frags: list[_Frag], page: int) -> Block:
    line = _Line(frags)
    return Block(kind, line.text, page, bbox=_round_box(_union_box([f.bbox() for f in frags])),
                 font_size=line.size, bold=line.bold)


def _union_box(boxes) -> tuple[float, float, float, float]:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _round_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return tuple(round(v, 1) for v in box)  # type: ignore[return-value]


def _heading_strength(line: _Line, stats: _Stats) -> int:
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


def _starts_list(line: _Line) -> bool:
    text = line.text
    if BULLET_RE.match(text) or ENUM_RE.match(text) or re.match(r"^\d{1,2}[.)]\s+\S", text):
        return True
    first = line.frags[0].text
    return len(line.frags) > 1 and len(first) <= 3 and (first in ("o", "") or bool(ENUM_RE.match(first + " ")))


def _aligned_cells(a: _Line, b: _Line) -> bool:
    if len(a.frags) < 2 or len(b.frags) < 2:
        return False
    edges = [f.u0 for f in b.frags[1:]] + [f.u1 for f in b.frags]
    return any(abs(f.u0 - e) <= 4 or abs(f.u1 - e) <= 4 for f in a.frags[1:] for e in edges)


def _is_caption(line: _Line, stats: _Stats) -> bool:
    m = CAPTION_RE.match(line.text)
    if not m:
        return False
    return m.group(0).rstrip()[-1:] in ":.-–—" or line.size < stats.body - 0.4 or line.bold


def _build_blocks(lines: list[_Line], page: int, stats: _Stats) -> list[Block]:
    """Group a page's lines (in reading order) into blocks and decide each block's kind."""
    n = len(lines)
    strength = [_heading_strength(line, stats) for line in lines]
    starts = []  # what kind of block a line would start
    for i, line in enumerate(lines):
        if len(line.frags) > 1 and ((i > 0 and _aligned_cells(line, lines[i - 1]))
                                    or (i + 1 < n and _aligned_cells(line, lines[i + 1]))):
            starts.append("table_row")
        elif _is_caption(line, stats):
            starts.append("caption")
        elif _starts_list(line):
            starts.append("list_item")
        else:
            starts.append("paragraph")
    blocks: list[Block] = []
    group: list[int] = []
    kind = ""
    for i, line in enumerate(lines):
        if group:
            prev = lines[group[-1]]
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
    if group:
        blocks.append(_make_block(kind, [lines[j] for j in group], page, stats, strength[group[0]]))
    return blocks


def _close(prev: _Line, line: _Line, stats: _Stats) -> bool:
    """Is `line` the next line of the same column, at normal line spacing?"""
    size = max(prev.size, line.size)
    step = line.base - prev.base
    if step <= 0.3 * size or step > (stats.leading + 0.35) * size + 1:
        return False
    return line.u0 < prev.u1 and line.u1 > prev.u0


def _continues(group: list[_Line], kind: str, line: _Line, start: str, strength: int, stats: _Stats) -> bool:
    prev = group[-1]
    if kind == "table_row" or start in ("table_row", "caption", "list_item"):
        return False
    if TOC_LINE_RE.search(prev.text):  # one block per table-of-contents entry
        return False
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


def _make_block(kind: str, lines: list[_Line], page: int, stats: _Stats, strength: int = 0) -> Block:
    boxes = [f.bbox() for line in lines for f in line.frags]
    if len(lines) == 1:
        size, bold = lines[0].size, lines[0].bold
    else:
        sizes: dict[float, int] = {}
        for line in lines:
            for k, n in line.sizes.items():
                sizes[k] = sizes.get(k, 0) + n
        chars = sum(line.chars for line in lines)
        size, bold = _mode_size(sizes), chars > 0 and sum(line.bold_chars for line in lines) >= 0.85 * chars
    block = Block(kind, "", page, bbox=_round_box(_union_box(boxes)), font_size=size, bold=bold)
    if kind == "table_row":
        block.cells = [_join_text([_Line([f])], stats.vocab) for f in lines[0].frags]
        block.text = " | ".join(block.cells)
        return block
    block.text = _join_text(lines, stats.vocab)
    if kind == "heading":
        words = block.text.split()
        big = lines[0].size >= 1.15 * stats.body
        chapter = big and NUMBERED_RE.match(block.text) is not None  # "6.4. Specific Objective 3: …"
        limit = 40 if chapter else HEADING_MAX_WORDS if big or strength == 2 or len(lines) == 1 else 14
        if len(words) > limit or (len(lines) > 1 and block.text.endswith(".") and len(words) > 12 and not chapter):
            block.kind = "paragraph"
    return block


def _join_text(lines: list[_Line], vocab: set[str]) -> str:
    parts: list[str] = []
    pending = False  # the last word ended in a line-break hyphen
    for line in lines:
        for w in line.words:
            if pending and parts:
                parts[-1] = _dehyphen(parts[-1], w.text, vocab)
            else:
                parts.append(w.text)
            pending = w.hyph
        if pending and line is lines[-1]:
            parts[-1] += "-"
    return " ".join(parts).strip()


def _dehyphen(left: str, right: str, vocab: set[str]) -> str:
    """Join a word broken at a line end: drop the hyphen if the whole word is a word."""
    a = WORD_RE.findall(left)
    b = WORD_RE.findall(right)
    if not a or not b:
        return f"{left}-{right}"
    head, tail = a[-1], b[0]
    joined = (head + tail).lower()
    if joined in vocab:
        return left + right
    if (tail[0].isupper() or head.isupper() or not left[-1].isalpha() or not right[0].isalpha()
            or f"{head}-{tail}".lower() in vocab):
        return f"{left}-{right}"
    if head.lower() in vocab and tail.lower() in vocab and len(head) > 2:
        return f"{left}-{right}"  # two words in their own right: a compound
    return left + right


# --- headings: levels and outline ----------------------------------------------------------------


def _numbering_depth(text: str) -> int | None:
    m = NUMBERED_RE.match(text)
    if not m:
        return None
    if m.group(1):
        return m.group(1).count(".") + 1
    return 1


def _assign_levels(document: Document, stats: _Stats) -> None:
    """Levels from the ladder of heading styles, anchored by numbering.

    Styles used at least twice form the ladder, largest first; large sizes within 12 % of
    each other share a rung, and at body size bold ranks above regular. The rung of most
    "1." headings is level 1, as is everything above it. A one-off style takes the level
    of the next rung down. "4.1" headings are at least level 2, "4.1.2" at least 3.
    """
    headings = document.headings()
    if not headings:
        return
    cover = 1 if len(document.pages) > 2 else 0
    large = 1.15 * stats.body

    def style(h: Block) -> tuple[float, bool]:
        size = round((h.font_size or stats.body) * 2) / 2
        return (size, h.bold or size > large)

    counts = Counter(style(h) for h in headings if h.page > cover) or Counter(style(h) for h in headings)
    repeated = [s for s, c in counts.items() if c >= 2] or list(counts)  # few headings: every style counts
    rungs: list[list[tuple[float, bool]]] = []
    for st in sorted(repeated, reverse=True):
        if rungs and st[0] > large and st[0] >= 0.88 * rungs[-1][0][0]:
            rungs[-1].append(st)
        else:
            rungs.append([st])
    tops = Counter(style(h) for h in headings if h.page > cover and _numbering_depth(h.text) == 1)
    anchor = tops.most_common(1)[0][0] if tops and tops.most_common(1)[0][1] >= 2 else None
    first = next((i for i, rung in enumerate(rungs) if anchor in rung), 0)
    first = first if first <= 1 else 0  # numbered items far down the ladder are lists, not chapters
    rung_level = {st: max(1, i - first + 1) for i, rung in enumerate(rungs) for st in rung}
    ladder = sorted(rung_level, reverse=True)
    deepest = max(rung_level.values(), default=0)
    for h in headings:
        st = style(h)
        if st in rung_level:
            lv = rung_level[st]
        else:
            below = [rung_level[r] for r in ladder if r <= st]
            lv = below[0] if below else deepest + 1
        depth = _numbering_depth(h.text) or 1
        h.level = max(1, min(max(lv, depth if depth > 1 else lv), 6))


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _apply_outline(document: Document, outline: list[tuple[int, str, int]]) -> None:
    """Mark the blocks the bookmarks point at as headings of the bookmark's level."""
    pages = document.pages
    for level, title, index in outline:
        want = _key(title)
        if len(want) < 2:
            continue
        for page in pages[index : index + 2]:  # destinations sometimes point a page early
            found = None
            for block in page.blocks:
                if block.kind in ("header", "footer"):
                    continue
                have = _key(block.text)
                if have and (have == want or (len(have) >= 4 and want.startswith(have))
                             or (len(want) >= 8 and have.startswith(want) and len(have) < 2 * len(want))):
                    found = block
                    break
            if found is not None:
                found.kind = "heading"
                found.level = min(level, 6)
                found.cells = None
                break


# --- title -----------------------------------------------------------------------------------------


def _meaningful_title(title: str | None) -> bool:
    if not title:
        return False
    t = title.strip()
    low = t.lower()
    if len(t) < 4 or sum(c.isalpha() for c in t) < 4:
        return False
    if re.match(r"^(microsoft (word|powerpoint|excel)|untitled|document\d*$|presentation\d*$)", low):
        return False
    if re.search(r"\.(docx?|pdf|indd|pptx?|xlsx?|rtf|odt|qxp)$", low) or re.match(r"^[\w\-.]+$", t) and "_" in t:
        return False
    return True


def _title(meta: dict, document: Document, stats: _Stats) -> str | None:
    """The Info dictionary's title when it is a real one, else the largest text of the cover."""
    title = meta.get("Title")
    if _meaningful_title(title):
        return re.sub(r"\s+", " ", title).strip()
    for page in document.pages[:2]:
        blocks = [b for b in page.blocks if b.kind not in ("header", "footer")
                  and sum(c.isalpha() for c in b.text) >= 4 and b.font_size]
        if not blocks:
            continue
        biggest = max(b.font_size or 0 for b in blocks)
        if biggest < stats.body * 1.1 and len(document.pages) > 1:
            continue
        i, block = next((i, b) for i, b in enumerate(blocks) if (b.font_size or 0) >= biggest - 0.5)
        text = block.cells[0] if block.cells else block.text
        if len(text.split()) <= 3:  # "EVALUATION BRIEF": the subtitle says what it is about
            nxt = next((b for b in blocks[i + 1 : i + 3] if (b.font_size or 0) >= 1.1 * stats.body
                        and len(b.text.split()) >= 3), None)
            if nxt is not None:
                text = f"{text}: {nxt.text}"
        return text[:300].strip() or None
    return None
