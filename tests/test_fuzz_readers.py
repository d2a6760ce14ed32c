"""Property tests: whatever bytes a reader gets, it returns a Document or raises ReadError, fast."""

from __future__ import annotations

import io
import itertools
import os
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whatworks.errors import ReadError
from whatworks.model import BLOCK_KINDS, Document
from whatworks.read import read_document, sniff
from whatworks.read.docx import read_docx
from whatworks.read.html import read_html
from whatworks.read.text import read_markdown, read_text

#: ~100 examples keeps the suite quick; WHATWORKS_FUZZ_EXAMPLES=2000 for a deeper run.
FUZZ = settings(max_examples=int(os.environ.get("WHATWORKS_FUZZ_EXAMPLES", "100")), deadline=2000,
                database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_counter = itertools.count()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(folder: Path, data: bytes, suffix: str) -> Path:
    path = folder / f"f{next(_counter)}{suffix}"
    path.write_bytes(data)
    return path


def _check(reader, path: Path) -> Document | None:
    start = time.perf_counter()
    try:
        doc = reader(path, "0" * 64)
    except ReadError as e:
        assert e.code and e.message
        return None
    finally:
        assert time.perf_counter() - start < 2
    assert isinstance(doc, Document)
    for page in doc.pages:
        for block in page.blocks:
            assert block.kind in BLOCK_KINDS and block.page == page.number and block.text.strip()
    return doc


HTML_PIECES = st.sampled_from([
    "<html>", "<body>", "<main>", "<article>", "<nav>", "<div>", "</div>", "<p>", "</p>", "<h1>", "<h2>",
    "</h2>", "<ul><li>", "</li>", "<table><tr><td>", "</td><td>", "</tr></table>", "<script>x=1", "</script>",
    "<br>", "<dl><dt>", "<dd>", "<sup><a href='#fn1'>1</a></sup>", "<meta charset='koi8-r'>",
    "<meta charset='bogus'>", "<!--", "-->", "&amp;", "&#0;", "\x00", "é", "\u2028", "<", ">", " ", "\n",
    "text ", "Évaluation ", "<aside class='wb-fnote'>", "<form>", "<caption>", "<pre>", "<?xml version='1.0'?>",
])
MD_PIECES = st.sampled_from([
    "# ", "## ", "###### ", "\n", "\n\n", "===", "---", "- ", "1. ", "| a | b |", "|---|---|", "```", "~~~",
    "> ", "<!-- page 3 -->", "--- Page 0 ---", "\f", "**", "*", "_", "`", "[x](y)", "![i](j)", "<br>",
    "\\|", "\\$", "text", "Évaluation", "---\ntitle: x\n---\n", "\t", "    ", "&amp;", "\r\n",
])


@FUZZ
@given(st.binary(max_size=4000))
def test_html_reader_arbitrary_bytes(scratch, data):
    _check(read_html, _write(scratch, data, ".html"))


@FUZZ
@given(st.lists(HTML_PIECES, max_size=80).map("".join))
def test_html_reader_markup_soup(scratch, text):
    doc = _check(read_html, _write(scratch, text.encode("utf-8", "surrogatepass"), ".html"))
    if doc is not None:
        assert "x=1" not in doc.text  # script text never leaks


@FUZZ
@given(st.binary(max_size=4000))
def test_text_reader_arbitrary_bytes(scratch, data):
    _check(read_text, _write(scratch, data, ".txt"))


@FUZZ
@given(st.text(max_size=3000))
def test_text_reader_arbitrary_text(scratch, text):
    doc = _check(read_text, _write(scratch, text.encode("utf-8", "surrogatepass"), ".txt"))
    if doc is not None:
        assert len(doc.pages) <= text.count("\f") + 1


@FUZZ
@given(st.binary(max_size=4000))
def test_markdown_reader_arbitrary_bytes(scratch, data):
    _check(read_markdown, _write(scratch, data, ".md"))


@FUZZ
@given(st.lists(MD_PIECES, max_size=80).map("".join))
def test_markdown_reader_markup_soup(scratch, text):
    _check(read_markdown, _write(scratch, text.encode("utf-8"), ".md"))


@pytest.fixture(scope="module")
def docx_bytes() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("Findings", level=1)
    d.add_paragraph("First numbered", style="List Number")
    d.add_paragraph("Body text " * 20)
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "a"
    buffer = io.BytesIO()
    d.save(buffer)
    return buffer.getvalue()


@FUZZ
@given(st.binary(max_size=3000))
def test_docx_reader_arbitrary_bytes(scratch, data):
    _check(read_docx, _write(scratch, data, ".docx"))


@FUZZ
@given(st.data())
def test_docx_reader_damaged_archive(scratch, docx_bytes, data):
    """A real .docx with bytes flipped or cut off: a Document or ReadError("corrupt"), nothing else."""
    raw = bytearray(docx_bytes)
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), max_size=8))
    for position, value in flips:
        raw[position] = value
    _check(read_docx, _write(scratch, bytes(raw[: max(cut, 1)] if data.draw(st.booleans()) else raw), ".docx"))


@FUZZ
@given(st.data())
def test_docx_reader_damaged_xml(scratch, docx_bytes, data):
    """The archive is sound but document.xml is cut or mangled."""
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as z:
        entries = {name: z.read(name) for name in z.namelist()}
    xml = entries["word/document.xml"]
    cut = data.draw(st.integers(0, len(xml)))
    insert = data.draw(st.sampled_from([b"", b"<w:p>", b"</w:body>", b"<w:tbl><w:tr><w:tc>", b"&bogus;",
                                        b"<w:numPr><w:numId w:val='99'/></w:numPr>"]))
    entries["word/document.xml"] = xml[:cut] + insert + xml[cut:]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, content in entries.items():
            z.writestr(name, content)
    _check(read_docx, _write(scratch, buffer.getvalue(), ".docx"))


@FUZZ
@given(st.binary(max_size=4000), st.sampled_from([".pdf", ".docx", ".html", ".md", ".txt", "", ".xlsx"]))
def test_sniff_and_read_document(scratch, data, suffix):
    path = _write(scratch, data, suffix)
    try:
        fmt = sniff(path)
    except ReadError as e:
        assert e.code and e.message and e.fix
        return
    assert fmt in {"pdf", "docx", "html", "markdown", "text"}
    if fmt == "pdf":
        return  # the PDF reader is fuzzed with its own tests
    try:
        read_document(path)
    except ReadError as e:
        assert e.code != "corrupt" or fmt == "docx", f"a {fmt} reader bug surfaced as 'corrupt': {e}"
