"""read: any report file → one `Document` (pages, blocks, headings, language).

The format is decided by the file's content, not its name: a `.pdf` that is really
HTML is read as HTML, with a warning. Every failure is a `ReadError` that names the
problem and the fix, so one bad file never stops a run.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from whatworks.errors import ReadError
from whatworks.language import annotate
from whatworks.model import Document
from whatworks.read.text import looks_utf16

log = logging.getLogger(__name__)

#: File name endings we expect for each format, to warn when a name lies.
EXTENSIONS = {
    "pdf": {".pdf"},
    "docx": {".docx"},
    "html": {".html", ".htm", ".xhtml"},
    "markdown": {".md", ".markdown"},
    "text": {".txt", ".text", ""},
}
#: Files larger than this are refused before reading (a report is rarely over 200 MB).
MAX_BYTES = 300 * 1024 * 1024


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _refuse_export(path: Path) -> None:
    """A database export holds many evaluations: it is added to a review, not read as one report."""
    from whatworks.read.ieval import is_export

    if is_export(path):
        raise ReadError("database_export", "the file is an export of i-eval Discovery, the ILO's evaluation "
                        "database: many evaluations, not one report",
                        "add it to a review (whatworks add REVIEW FILE), which makes one record per evaluation "
                        "(docs/ieval.md)")


def sniff(path: Path) -> str:
    """The format of `path` from its first bytes: pdf, docx, html, markdown or text.

    Raises ReadError for empty, binary or unsupported files.
    """
    size = path.stat().st_size
    if size == 0:
        raise ReadError("empty", "the file is empty (0 bytes)", "re-download or re-export the report")
    if size > MAX_BYTES:
        raise ReadError(
            "too_large",
            f"the file is {size / 2**20:.0f} MB, over the {MAX_BYTES // 2**20} MB limit",
            "split the file or check that it is really a report",
        )
    with open(path, "rb") as f:
        head = f.read(8192)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except Exception as e:  # noqa: BLE001 - BadZipFile, and the odd ValueError/OSError of a mangled directory
            raise ReadError("corrupt", f"the file starts like a ZIP/DOCX archive but is damaged or incomplete ({e})",
                            "re-save it from Word as .docx or export it to PDF") from None
        if "word/document.xml" in names:
            return "docx"
        if any(n.startswith("xl/") for n in names):
            _refuse_export(path)
            what = "an Excel workbook"
        elif any(n.startswith("ppt/") for n in names):
            what = "a PowerPoint presentation"
        elif "content.xml" in names:
            what = "an OpenDocument file"
        else:
            what = "a ZIP archive"
        raise ReadError("unsupported", f"the file is {what}, not a report format whatworks reads",
                        "export the report to PDF or DOCX")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        with open(path, "rb") as f:  # a password-protected .docx/.xlsx is an OLE file holding EncryptionInfo
            if "EncryptionInfo".encode("utf-16-le") in f.read(1 << 20):
                raise ReadError("encrypted", "the Office file is password-protected (encrypted)",
                                "open it with the password and save an unprotected copy (or export it to PDF)")
        raise ReadError("unsupported", "the file is a legacy Office (.doc/.xls) file",
                        "open it in Word or LibreOffice and save it as .docx or PDF")
    for magic, what in ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
                        (b"GIF8", "a GIF image"), (b"{\\rtf", "an RTF file"), (b"\x1f\x8b", "a gzip archive")):
        if head.startswith(magic):
            raise ReadError("unsupported", f"the file is {what}, not a report format whatworks reads",
                            "export the report to PDF, DOCX, HTML or text")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text: decided after decoding
        sample = head.decode("utf-16", errors="ignore").lower()
    elif looks_utf16(head):
        sample = head.decode(looks_utf16(head) or "utf-16", errors="ignore").lower()
    else:
        control = sum(1 for b in head if b < 9 or 13 < b < 32)
        if b"\x00" in head or control > len(head) * 0.05:
            raise ReadError("binary", "the file holds binary data, not text or a known document format",
                            "check the file; export the report to PDF, DOCX, HTML or text")
        sample = head.decode("utf-8", errors="ignore").lower()
    stripped = sample.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("<!doctype html", "<html", "<?xml")) or "<body" in sample or "<html" in sample[:2000]:
        return "html"
    if path.suffix.lower() in EXTENSIONS["html"] and stripped.startswith("<"):
        return "html"  # a fragment saved as .html (no <html>/<body>)
    if path.suffix.lower() in EXTENSIONS["markdown"]:
        return "markdown"
    return "text"


def read_document(path: str | Path, sha256: str | None = None) -> Document:
    """Read one file into a Document, or raise ReadError saying what is wrong and what to do."""
    path = Path(path)
    fmt = "unknown"
    try:
        fmt = sniff(path)
        sha256 = sha256 or sha256_file(path)
        if fmt == "pdf":
            from whatworks.read.pdf import read_pdf as reader
        elif fmt == "docx":
            from whatworks.read.docx import read_docx as reader
        elif fmt == "html":
            from whatworks.read.html import read_html as reader
        elif fmt == "markdown":
            from whatworks.read.text import read_markdown as reader
        else:
            from whatworks.read.text import read_text as reader
        document = reader(path, sha256)
    except ReadError as e:
        e.path = e.path or str(path)
        raise
    except FileNotFoundError:
        raise ReadError("not_found", "the file does not exist (moved, deleted, or a broken link)",
                        "check the path; add the file again where it now is", str(path)) from None
    except OSError as e:  # permissions, a symlink loop, a device error
        raise ReadError("unreadable", f"the file cannot be opened: {e.strerror or e}",
                        "check that the file is readable (permissions, links) and copy it locally if it is "
                        "on a network drive", str(path)) from None
    except MemoryError:
        raise ReadError("too_large", "the file needs more memory than allowed to read",
                        "check the file; split it if it is really a report", str(path)) from None
    except Exception as e:  # a reader bug or a file no library can parse: still one clear row
        log.debug("reader failed on %s", path, exc_info=True)
        raise ReadError("corrupt", f"the file could not be parsed as {fmt}: {type(e).__name__}: {e}",
                        "open and re-save or re-export the file; report a bug if it opens elsewhere",
                        str(path)) from None
    suffix = path.suffix.lower()
    if suffix and fmt in EXTENSIONS and suffix not in EXTENSIONS[fmt] and not (fmt == "text" and suffix in EXTENSIONS["markdown"]):
        document.warnings.append(f"the name ends in {suffix} but the content is {fmt}; read as {fmt}")
    if not document.text.strip():
        if fmt == "html":
            fix = "the page holds no readable text (only scripts, images or menus?): save it from a browser " \
                  "after it has loaded, or get the report as PDF"
        elif fmt in ("pdf", "docx"):
            fix = "if it is a scan, install Tesseract for OCR (see README); otherwise re-export it"
        else:
            fix = "check that this is the report and not an empty export"
        raise ReadError("no_text", f"no text could be extracted from the file (read as {fmt})", fix, str(path))
    return annotate(document)
