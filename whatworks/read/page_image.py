"""Pages of a PDF as images, and where a passage sits on them: the workspace shows a PDF's page
beside the decision, with the passage behind it highlighted from pdfium's character boxes.

Rendering a page costs tens of milliseconds, so each image is kept on disk, named by the file's
sha256, the page and the width: a changed file has another sha256, and the cache never goes stale.
The source file is read again only if it still has the document's sha256.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from whatworks.errors import NotFound

log = logging.getLogger(__name__)

#: Image widths the workspace asks for (one more would be one more image per page in the cache).
WIDTHS = (600, 900, 1400)
_LOCK = threading.Lock()  # pdfium is not thread-safe


@lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """A file's sha256, hashed again only when its size or time changes (a click on a passage
    should not read a 50 MB PDF through)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _source(document) -> Path:
    if document.format != "pdf":
        raise NotFound("only a PDF has page images")
    path = Path(document.source)
    if not path.is_file():
        raise NotFound(f"the file {path.name} is no longer where it was read from")
    st = path.stat()
    if _sha256(str(path), st.st_size, st.st_mtime_ns) != document.sha256:
        raise NotFound(f"the file {path.name} has changed since it was read")
    return path


def _page(pdf, page: int):
    if not 1 <= page <= len(pdf):
        raise NotFound(f"no page {page} in this document")
    return pdf[page - 1]


def render(document, page: int, width: int, cache_dir: Path) -> Path:
    """The PNG of page `page` (1-based) at `width` pixels (the nearest of WIDTHS), from the cache."""
    import pypdfium2 as pdfium

    width = min(WIDTHS, key=lambda w: abs(w - width))
    target = cache_dir / document.sha256[:2] / f"{document.sha256}-{page}-{width}.png"
    if target.exists():
        return target
    path = _source(document)
    with _LOCK:
        pdf = pdfium.PdfDocument(str(path))
        try:
            p = _page(pdf, page)
            image = p.render(scale=width / p.get_width()).to_pil()
        finally:
            pdf.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_suffix(f".{threading.get_ident()}.part")
    image.save(part, format="PNG", optimize=False)
    part.replace(target)  # whole or not at all: another request may be reading it
    return target


def boxes(document, page: int, passage: str,
          find_passage: Callable[[str, str], tuple[int, int] | None]) -> list[tuple[float, float, float, float]]:
    """Boxes (left, top, right, bottom, as fractions of the page) of `passage` on page `page`: the
    passage is found in pdfium's text of the page by `find_passage` (text, passage) → (start, end)
    — as the workspace finds it in the read text — then each line of its characters gives a box."""
    import pypdfium2 as pdfium

    path = _source(document)
    with _LOCK:
        pdf = pdfium.PdfDocument(str(path))
        try:
            p = _page(pdf, page)
            w, h = p.get_size()
            tp = p.get_textpage()
            n = tp.count_chars()
            text = tp.get_text_range(0, n) if n else ""
            found = find_passage(text, passage) if len(text) == n else None
            if found is None and n:  # the text came back with other offsets: one character at a time
                text = "".join(tp.get_text_range(i, 1) or " " for i in range(n))
                found = find_passage(text, passage)
            out = []
            if found is not None:
                a, z = found
                for k in range(tp.count_rects(a, z - a)):
                    left, bottom, right, top = tp.get_rect(k)
                    out.append((left / w, 1 - top / h, right / w, 1 - bottom / h))
            tp.close()
        finally:
            pdf.close()
    return out
