"""A corpus of bad files (and a few good ones) for resilience tests and benchmarks.

`write_bad_corpus(folder)` writes every file and returns name → `Expect`: the outcomes
a correct ingest may give it. Bad files are built here, quickly and deterministically,
mostly by hand (PDF objects written byte by byte), so no fixture files are needed.

    python tests/badfiles.py OUT_DIR      # write the corpus somewhere to try it by hand
"""

from __future__ import annotations

import gzip
import io
import os
import random
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: Outcome name for a file that may legitimately become a document.
DOCUMENT = "document"

REPORT_TEXT = (
    "Final evaluation of the social protection programme\n\n"
    "Executive summary\n\n"
    "The programme extended social security coverage to domestic workers in three provinces. "
    "Contributions rose by a third and the benefit reached 12,000 households.\n\n"
    "Recommendations\n\n"
    "1. The ministry should continue its support to the national social security institute.\n"
)


@dataclass(frozen=True)
class Expect:
    """What ingest may make of one file: a document and/or these error codes."""

    outcomes: frozenset[str]
    why: str
    good: bool = False  # a good file: must become a document

    def allows(self, outcome: str) -> bool:
        return outcome in self.outcomes


def _expect(*outcomes: str, why: str = "", good: bool = False) -> Expect:
    return Expect(frozenset(outcomes), why, good)


# --- hand-written PDFs --------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(pages: list[list[str]], *, encrypt: bool = False, count: int | None = None) -> bytes:
    """A minimal valid PDF: one page per item of `pages`, each a list of text lines (Helvetica).

    Each page has its own small content stream, so 5,000 pages take ~1 MB and well under a
    second. `encrypt` adds a Standard security handler whose user password is not empty;
    `count` overrides the page count written in the page tree.
    """
    n = len(pages)
    objects: dict[int, bytes] = {}
    first_page = 4
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(n))
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = f"<< /Type /Pages /Count {n if count is None else count} /Kids [{kids}] >>".encode()
    objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    for i, lines in enumerate(pages):
        page_obj, content_obj = first_page + 2 * i, first_page + 2 * i + 1
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 770 Td"]
        for line in lines:
            ops.append(f"({_escape(line)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1", "replace")
        objects[page_obj] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                             f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_obj} 0 R >>").encode()
        objects[content_obj] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    extra_trailer = b""
    if encrypt:
        enc = max(objects) + 1
        rng = random.Random(1)
        o_key = bytes(rng.randrange(256) for _ in range(32)).hex().encode()
        u_key = bytes(rng.randrange(256) for _ in range(32)).hex().encode()
        objects[enc] = b"<< /Filter /Standard /V 1 /R 2 /O <" + o_key + b"> /U <" + u_key + b"> /P -44 >>"
        extra_trailer = b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (enc, b"0" * 32, b"0" * 32)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objects):
        offsets[num] = out.tell()
        out.write(b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n")
    xref = out.tell()
    size = max(objects) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for num in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[num])
    out.write(b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (size, extra_trailer, xref))
    return out.getvalue()


def report_pages(n: int, seed: int = 0) -> list[list[str]]:
    """`n` pages of plausible, varied report text (so no page looks like a running header)."""
    rng = random.Random(seed)
    topics = ["coverage", "contributions", "benefits", "training", "governance", "monitoring", "gender"]
    pages = []
    for i in range(n):
        t = rng.choice(topics)
        pages.append([
            f"{i + 1}. Findings on {t}",
            f"In district {rng.randrange(1, 400)} the programme reached {rng.randrange(100, 9000)} households.",
            f"The {t} component met {rng.randrange(20, 100)} per cent of its target by year {rng.randrange(1, 6)}.",
            f"Partners reported {rng.choice(['strong', 'weak', 'mixed'])} ownership of the {t} activities.",
        ])
    return pages


# --- other formats --------------------------------------------------------------------------


def docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def zip_bomb(megabytes: int = 400) -> bytes:
    """A .docx-shaped archive whose document.xml unpacks to `megabytes` of XML (< 1 MB on disk)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                    b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>')
            chunk = b"A" * (1 << 20)
            for _ in range(megabytes):
                f.write(chunk)
            f.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return buf.getvalue()


def scanned_pdf_bytes() -> bytes:
    """An image-only PDF (a 'scan'): a page picture with text drawn in it, no text layer."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(REPORT_TEXT.splitlines()):
        draw.text((100, 120 + 40 * i), line[:90], fill=0)
    buf = io.BytesIO()
    image.save(buf, "PDF", resolution=150)
    return buf.getvalue()


def html(body: str, title: str = "Evaluation report", charset: str = "utf-8") -> str:
    return (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}</title></head>'
            f"<body>{body}</body></html>")


def _report_html() -> str:
    paras = "".join(f"<p>{p}</p>" for p in REPORT_TEXT.split("\n\n")[1:])
    return html(f"<main><h1>Final evaluation of the social protection programme</h1>{paras}</main>")


# --- the corpus -----------------------------------------------------------------------------


def write_bad_corpus(folder: Path, *, giant_mb: int = 50, real: dict[str, Path] | None = None) -> dict[str, Expect]:
    """Write the bad (and good) files into `folder`; return file name → Expect.

    `real` may give real documents to copy as good files and to damage ({"pdf": …, "html": …,
    "md": …, "docx": …}); without them, generated stand-ins are used.
    """
    folder.mkdir(parents=True, exist_ok=True)
    real = real or {}
    rng = random.Random(42)
    expect: dict[str, Expect] = {}

    def put(name: str, data: bytes | str, exp: Expect) -> None:
        path = folder / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        expect[name] = exp

    small_pdf = pdf_bytes(report_pages(3, seed=1))
    real_pdf = real["pdf"].read_bytes() if "pdf" in real else pdf_bytes(report_pages(12, seed=2))
    report_docx = docx_bytes(REPORT_TEXT.split("\n\n"))

    # good files: each must become a document
    put("good-generated.pdf", small_pdf, _expect(DOCUMENT, why="valid PDF", good=True))
    put("good-report.txt", REPORT_TEXT, _expect(DOCUMENT, why="plain text", good=True))
    put("good-report.docx", report_docx, _expect(DOCUMENT, why="valid DOCX", good=True))
    put("good-report.html", _report_html(), _expect(DOCUMENT, why="valid HTML", good=True))
    for kind in ("pdf", "html", "md", "docx"):
        if kind in real:
            put(f"good-real.{kind}", real[kind].read_bytes(), _expect(DOCUMENT, why="real document", good=True))

    # empty and nearly empty
    put("zero.pdf", b"", _expect("empty", why="0 bytes"))
    put("zero.docx", b"", _expect("empty", why="0 bytes"))
    put("zero.txt", b"", _expect("empty", why="0 bytes"))
    put("whitespace.txt", " \n\t\n" * 500, _expect("no_text", "empty", why="only whitespace"))

    # PDFs: encrypted, damaged, empty, scanned, huge
    put("encrypted.pdf", pdf_bytes(report_pages(2), encrypt=True), _expect("encrypted", why="user password"))
    put("truncated.pdf", real_pdf[: len(real_pdf) // 2],
        _expect("corrupt", DOCUMENT, why="first half only: PDFium may recover some pages"))
    broken = bytearray(small_pdf)
    xref_at = broken.rfind(b"\nxref\n")
    for i in range(xref_at + 30, len(broken) - 40):  # scramble the offsets, keep the structure
        if chr(broken[i]).isdigit():
            broken[i] = ord(str(rng.randrange(10)))
    put("broken-xref.pdf", bytes(broken), _expect(DOCUMENT, "corrupt", why="PDFium rebuilds a broken xref"))
    put("zero-pages.pdf", pdf_bytes([]), _expect("no_text", "empty", "corrupt", why="a PDF with no pages"))
    put("header-then-junk.pdf", b"%PDF-1.7\n" + bytes(rng.randrange(256) for _ in range(4000)),
        _expect("corrupt", why="PDF header, then noise"))
    put("scanned.pdf", scanned_pdf_bytes(),
        _expect("scanned", "no_text", DOCUMENT, "timeout", why="image only: OCR (slow) if Tesseract is installed"))
    put("pages-5000.pdf", pdf_bytes(report_pages(5000, seed=3)),
        _expect(DOCUMENT, "timeout", "too_large", why="5,000 pages: read within the limit or time out"))

    # misnamed: read by content, with a warning
    put("pdf-named.docx", pdf_bytes(report_pages(2, seed=11)), _expect(DOCUMENT, why="PDF content, .docx name"))
    put("html-named.pdf", _report_html().replace("three", "four"), _expect(DOCUMENT, why="HTML content, .pdf name"))
    put("docx-named.txt", docx_bytes(REPORT_TEXT.replace("three", "five").split("\n\n")), _expect(DOCUMENT, why="DOCX content, .txt name"))
    put("pdf-named.html", pdf_bytes(report_pages(2, seed=12)), _expect(DOCUMENT, why="PDF content, .html name"))

    # archives and office files that are not reports
    put("bomb.docx", zip_bomb(), _expect("zip_bomb", "too_large", "corrupt", why="400 MB of XML, <1 MB zipped"))
    put("truncated.docx", report_docx[: len(report_docx) // 2], _expect("corrupt", why="half a DOCX"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", REPORT_TEXT)
    put("plain-zip.docx", buf.getvalue(), _expect("unsupported", "corrupt", why="a ZIP without word/document.xml"))
    import openpyxl

    book = openpyxl.Workbook()
    book.active["A1"] = "Evaluation matrix"
    xlsx = io.BytesIO()
    book.save(xlsx)
    put("matrix.xlsx", xlsx.getvalue(), _expect("unsupported", why="Excel workbook"))
    put("legacy.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096), _expect("unsupported", why="OLE .doc"))
    put("report.txt.gz", gzip.compress(REPORT_TEXT.encode()), _expect("unsupported", "binary", why="gzip"))
    put("report.rtf", "{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}}\\f0 " + REPORT_TEXT.replace("\n", "\\par ")
        + "}", _expect("unsupported", DOCUMENT, why="RTF"))

    # binary junk and images
    put("junk.bin", bytes(rng.randrange(256) for _ in range(20000)), _expect("binary", "unsupported", why="noise"))
    put("junk.pdf", bytes(rng.randrange(256) for _ in range(20000)), _expect("binary", "corrupt", why="noise named .pdf"))
    png = b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(2000))
    put("image.md", png, _expect("unsupported", "binary", why="a PNG named .md"))
    put("photo.pdf", b"\xff\xd8\xff\xe0" + bytes(rng.randrange(256) for _ in range(2000)),
        _expect("unsupported", "binary", why="a JPEG named .pdf"))
    put("nul-in-text.txt", REPORT_TEXT.replace(" ", "\0"), _expect("binary", DOCUMENT, why="NUL bytes in text"))

    # HTML that fights the parser
    put("nested-100k.html", html("<div>" * 100_000 + "Deep text about the programme." + "</div>" * 100_000),
        _expect(DOCUMENT, "no_text", "corrupt", "timeout", why="100,000 nested divs"))
    put("scripts-only.html", "<html><head><script>var a = 1;</script></head><body>"
        + "<script>var x = 'secret payload';</script><style>p {color: red}</style>" * 200 + "</body></html>",
        _expect("no_text", why="no visible text"))
    put("unclosed.html", "<html><body><p>" + "<b><i><table><tr><td>".join(REPORT_TEXT.split(". ")),
        _expect(DOCUMENT, why="tag soup that browsers still show"))

    # encodings
    latin1 = html("<h1>Évaluation finale du programme</h1><p>Les bénéficiaires ont reçu une aide "
                  "sociale élargie à l'échelle régionale.</p>", title="Évaluation").encode("latin-1")
    put("latin1-declared-utf8.html", latin1, _expect(DOCUMENT, "encoding", why="charset says utf-8, bytes are latin-1"))
    put("utf16-no-bom.txt", REPORT_TEXT.encode("utf-16-le"),
        _expect(DOCUMENT, "binary", "encoding", why="UTF-16 without BOM"))
    put("utf16-bom.txt", REPORT_TEXT.encode("utf-16"), _expect(DOCUMENT, why="UTF-16 with BOM"))
    put("mixed-encoding.txt", REPORT_TEXT.encode("utf-8") + "Résumé: coûts élevés.\n".encode("latin-1")
        + "Conclusión: más cobertura.\n".encode(), _expect(DOCUMENT, "encoding", why="utf-8 and latin-1"))

    # sizes and shapes
    line = "The programme reached households in every district and the evaluation found it relevant. "
    block = (line * 40 + "\n\n").encode()
    with open(folder / "giant.txt", "wb") as f:
        for _ in range(giant_mb * 2**20 // len(block)):
            f.write(block)
    expect["giant.txt"] = _expect(DOCUMENT, "timeout", "too_large", why=f"{giant_mb} MB of repeated text")
    put("one-line-5mb.txt", (line * (5 * 2**20 // len(line))),
        _expect(DOCUMENT, "timeout", "too_large", why="5 MB without a line break"))
    put("quotes-deep.md", "> " * 20000 + "Deep quote.\n", _expect(DOCUMENT, "no_text", why="20,000 nested quotes"))
    put("tiny.txt", "ok", _expect(DOCUMENT, "no_text", why="two letters"))

    # names and links
    put("odd name\twith tab ü.txt", REPORT_TEXT.replace("three", "six"), _expect(DOCUMENT, why="tab and non-ASCII in the name"))
    if sys.platform.startswith("linux"):
        with open(os.fsencode(folder) + b"/caf\xe9-latin1-name.txt", "wb") as f:  # not a UTF-8 name
            f.write(REPORT_TEXT.replace("three", "seven").encode())
        expect["caf\\xe9-latin1-name.txt"] = _expect("bad_name", why="a file name in latin-1, not UTF-8")
        try:
            os.symlink("loop.md", folder / "loop.md")
            expect["loop.md"] = _expect("unreadable", "not_found", why="a symlink to itself")
            os.symlink("missing-target.pdf", folder / "dangling.pdf")
            expect["dangling.pdf"] = _expect("unreadable", "not_found", why="a symlink to nothing")
        except OSError:  # pragma: no cover - no symlinks on this file system
            pass
    return expect


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "badfiles-out")
    for name, exp in write_bad_corpus(out).items():
        print(f"{name:32} {'/'.join(sorted(exp.outcomes)):40} {exp.why}")
