"""OCR for scanned PDF pages with the Tesseract binary (no Python binding needed).

Tesseract is optional: it is found on PATH when a page has no text layer (set
WHATWORKS_OCR=off never to use it). We render the page with pypdfium2, pipe the PNG
to `tesseract stdin stdout … tsv` and turn the word boxes back into PDF points, so
scanned pages go through the same layout analysis as born-digital ones.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

log = logging.getLogger(__name__)

#: Tesseract language packs we use when installed, in order of preference.
WANTED_LANGUAGES = ("eng", "fra", "spa", "por")
#: The fix a user is told when a scanned PDF cannot be read.
INSTALL_HINT = (
    "install Tesseract for OCR: apt-get install tesseract-ocr tesseract-ocr-fra "
    "tesseract-ocr-spa tesseract-ocr-por"
)
#: Render resolution: 300 dpi is Tesseract's sweet spot for body text.
DPI = 300
#: Longest side of the rendered image, in pixels: a poster-size page is rendered coarser.
MAX_PIXELS = 7000
#: Seconds one page may take before we give up on it.
PAGE_TIMEOUT = 180


@dataclass(slots=True)
class OcrWord:
    """One recognised word, in PDF points from the page's top-left corner."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    line: tuple[int, int, int]  # (block, paragraph, line) as Tesseract numbers them
    line_top: float
    line_bottom: float


def tesseract() -> str | None:
    """Path of the tesseract binary, or None (not installed, or WHATWORKS_OCR=off).

    Looked up each time: PATH may change."""
    if os.environ.get("WHATWORKS_OCR", "").strip().lower() in ("0", "off", "no", "false"):
        return None
    return shutil.which("tesseract")


@lru_cache(maxsize=4)
def _installed_languages(binary: str) -> tuple[str, ...]:
    try:
        out = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ()
    lines = (out.stdout + "\n" + out.stderr).splitlines()
    return tuple(s.strip() for s in lines if s.strip() and " " not in s.strip() and not s.endswith(":"))


#: ISO 639-1 → Tesseract language pack.
TESSERACT_CODES = {"en": "eng", "fr": "fra", "es": "spa", "pt": "por", "sv": "swe", "de": "deu",
                   "it": "ita", "nl": "nld", "ar": "ara", "ru": "rus"}


def languages(binary: str | None = None, language: str | None = None) -> str:
    """The `-l` argument: the document's language when known and installed, else the wanted
    languages that are installed (eng when unsure)."""
    binary = binary or tesseract()
    installed = set(_installed_languages(binary)) if binary else set()
    code = TESSERACT_CODES.get(language or "")
    if code in installed:
        return code
    chosen = [lang for lang in WANTED_LANGUAGES if lang in installed]
    return "+".join(chosen or ["eng"])


def ocr_page(page, binary: str, langs: str) -> list[OcrWord]:
    """Recognise the words of one pypdfium2 page; [] when Tesseract fails on it."""
    width, height = page.get_size()
    scale = min(DPI / 72, MAX_PIXELS / max(width, height, 1))
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        image = bitmap.to_pil()
        buf = io.BytesIO()
        image.save(buf, format="PNG")
    finally:
        bitmap.close()
    # One thread per page: files are read by parallel workers already, and OpenMP threads
    # fighting over the same cores make Tesseract several times slower.
    env = {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}
    try:
        proc = subprocess.run(
            [binary, "stdin", "stdout", "-l", langs, "--dpi", str(round(scale * 72)), "tsv"],
            input=buf.getvalue(), capture_output=True, timeout=PAGE_TIMEOUT, env=env,
        )
    except subprocess.TimeoutExpired:
        log.warning("tesseract timed out on a page after %s s", PAGE_TIMEOUT)
        return []
    if proc.returncode != 0:
        log.warning("tesseract failed: %s", proc.stderr.decode(errors="replace")[-300:])
        return []
    return parse_tsv(proc.stdout.decode("utf-8", errors="replace"), scale)


def parse_tsv(tsv: str, scale: float) -> list[OcrWord]:
    """Words from Tesseract's TSV output, with their line's box (pixels → points)."""
    lines: dict[tuple[int, int, int], tuple[float, float]] = {}
    words: list[OcrWord] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12:
            continue
        try:
            level = int(cols[0])
            key = (int(cols[2]), int(cols[3]), int(cols[4]))
            left, top, width, height = (int(c) / scale for c in cols[6:10])
            conf = float(cols[10])
        except ValueError:
            continue
        if level == 4:
            lines[key] = (top, top + height)
        elif level == 5:
            text = cols[11].strip()
            if not text or conf < 0:
                continue
            lt, lb = lines.get(key, (top, top + height))
            words.append(OcrWord(text, left, top, left + width, top + height, key, lt, lb))
    return words
