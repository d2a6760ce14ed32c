"""PDF → Document with pypdfium2: the reader's entry point and document assembly.

The work is split by concern, each module small enough to reason about:

* `pdf_text` — PDFium calls: words with their font, size and colour; ruling lines;
* `pdf_layout` — geometry: fragments, running headers/footers, reading order;
* `pdf_tables` — tables, from ruling lines or from the alignment of cells;
* `pdf_blocks` — lines → headings, list items, captions, paragraphs;
* `pdf_vocab` — the words all of them look for, from data/pdf_layout.yaml;
* this module — opening the file (with a clear ReadError when it cannot be read),
  metadata, the bookmarks, OCR of scanned pages, heading levels and the title.

Scanned pages (images, no text) are OCRed with Tesseract when it is installed
(see whatworks.read.ocr); otherwise the file fails with a `scanned` ReadError.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from whatworks.errors import ReadError
from whatworks.model import Block, Document, Page
from whatworks.read import ocr
from whatworks.read.pdf_blocks import page_blocks
from whatworks.read.pdf_layout import (
    NUMBERED_RE,
    Frag,
    PageData,
    Stats,
    fragments,
    mark_running,
    page_label,
)
from whatworks.read.pdf_text import CONTROL_RE, Word, clean, has_image, page_rulings, page_words
from whatworks.text import words

log = logging.getLogger(__name__)

#: A page with fewer characters than this, and an image, counts as scanned.
SCANNED_MAX_CHARS = 20


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
    stats = Stats(pages)
    mark_running(pages)
    for pd in pages:
        page = Page(number=pd.number, width=round(pd.width, 2), height=round(pd.height, 2))
        page.label = page_label(pd)
        page.blocks = page_blocks(pd, stats)
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


# --- pages: words, fragments, ruling lines -------------------------------------------------


def _extract(pdf: pdfium.PdfDocument, path: Path) -> tuple[list[PageData], list[str]]:
    pages: list[PageData] = []
    warnings: list[str] = []
    failed = []
    fonts: dict[tuple[bytes, int], bool] = {}  # (font name, flags) → bold
    for index in range(len(pdf)):
        try:
            page = pdf[index]
        except pdfium.PdfiumError:
            failed.append(index + 1)
            pages.append(PageData(index + 1, 0, 0))
            continue
        try:
            # The page box, unrotated: bboxes are in the same space (a /Rotate only turns the view).
            left, bottom, right, top = page.get_bbox()
            pd = PageData(index + 1, right - left, top - bottom)
            textpage = page.get_textpage()
            try:
                words = page_words(textpage, left, top, fonts)
            finally:
                textpage.close()
            pd.frags = fragments(words)
            if words:
                try:
                    pd.rulings = page_rulings(page, left, top)
                except Exception:  # odd path objects cost us the page's tables, not its text
                    log.debug("ruling lines unreadable on page %d", index + 1, exc_info=True)
            chars = sum(len(w.text) for w in words)
            if chars < SCANNED_MAX_CHARS and has_image(page):
                pd.scanned = True
            try:
                label = pdf.get_page_label(index)
            except Exception:
                label = ""
            pd.label = CONTROL_RE.sub("", label).strip() or None
            pages.append(pd)
        except pdfium.PdfiumError:
            failed.append(index + 1)
            pages.append(PageData(index + 1, 0, 0))
        finally:
            page.close()
    if failed:
        if len(failed) == len(pages):
            raise ReadError("corrupt", f"{path.name}: none of its {len(pages)} pages could be read",
                            "download or export the file again")
        warnings.append(f"{_pages_phrase(failed)} unreadable and left empty")
    return pages, warnings



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


def _ocr_scanned(pdf: pdfium.PdfDocument, pages: list[PageData], path: Path, warnings: list[str]) -> bool:
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


def _ocr_fragments(words: list[ocr.OcrWord]) -> list[Frag]:
    """One fragment per Tesseract line: its line finding is better than our gap rule on OCR
    boxes, where a misread word leaves a hole."""
    frags: list[Frag] = []
    current = None
    heights = sorted({w.line: w.line_bottom - w.line_top for w in words}.values())
    typical = heights[len(heights) // 2] if heights else 12.0
    for w in words:
        text = clean(w.text)
        if not text:
            continue
        # A line box runs from ascender to descender, about 1.15 font sizes, but varies with
        # the letters in it ("MEAL" has no descender): lines near the typical height are body text.
        ratio = (w.line_bottom - w.line_top) / typical
        ratio = 1.0 if 0.6 < ratio < 1.4 else round(ratio * 4) / 4
        size = max(typical / 1.15 * ratio, 4.0)
        base = w.line_bottom - 0.2 * size
        word = Word(text, w.x0, w.x1, base, size, False, False, 0, (w.x0, w.top, w.x1, w.bottom))
        if current is not None and w.line == current:
            frags[-1].add(word)
        else:
            frags.append(Frag(word))
            current = w.line
    return frags


# --- headings: levels and outline ----------------------------------------------------------------


def _numbering_depth(text: str) -> int | None:
    m = NUMBERED_RE.match(text)
    if not m:
        return None
    if m.group(1):
        return m.group(1).count(".") + 1
    return 1


def _assign_levels(document: Document, stats: Stats) -> None:
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
    """A bookmark or a block as one folded string of its words (case, accents, punctuation off)."""
    return "".join(words(text))


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
                if block.kind in ("header", "footer", "table_row"):  # text in a table is never a heading
                    continue
                have = _key(block.text)
                if have and (have == want or (len(have) >= 4 and want.startswith(have))
                             or (len(want) >= 8 and have.startswith(want) and len(have) < 2 * len(want))):
                    found = block
                    break
            if found is not None:
                found.kind = "heading"
                found.level = min(level, 6)
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


def _title(meta: dict, document: Document, stats: Stats) -> str | None:
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
