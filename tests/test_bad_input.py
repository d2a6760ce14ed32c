"""Bad files: each gets one specific, actionable ReadError, and a run over them goes on."""

from __future__ import annotations

import random
import time
import zipfile
from pathlib import Path

import pytest
from db_helpers import scalar
from project_fixtures import example

from whatworks.collect import add_paths
from whatworks.errors import ReadError
from whatworks.read import read_document
from whatworks.store import Store
from whatworks.store import documents as docs

GOOD_HTML = ("<!DOCTYPE html><html><head><title>Evaluation of the Pension Programme - Canada.ca</title></head>"
             "<body><nav>Jobs</nav><main><h1>Evaluation of the Pension Programme</h1><h2>Findings</h2>"
             "<p>The programme reached most eligible seniors and reduced poverty among them.</p></main>"
             "</body></html>")
GOOD_MD = "# Completion report\n\n## Results\n\nThe project trained 40 veterinarians in three countries.\n"
SCRIPTS = "<script>document.write('SCRIPT-PAYLOAD-%d'); var secret = 'SCRIPT-PAYLOAD';</script>"


def _error(path: Path) -> ReadError:
    with pytest.raises(ReadError) as info:
        read_document(path)
    error = info.value
    assert error.message and error.fix, f"{error.code}: message and fix must both say something"
    assert error.path == str(path)
    return error


def _zip_bomb(path: Path, megabytes: int = 210) -> None:
    """A .docx-shaped archive whose document.xml unpacks to `megabytes` of zeros (< 1 MB on disk)."""
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            for _ in range(megabytes):
                f.write(chunk)


def _bad_files(folder: Path, real_docx: Path | None = None) -> dict[str, set[str]]:
    """Write every kind of bad file into `folder`; return name → the error codes accepted for it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "empty.txt").write_bytes(b"")
    _zip_bomb(folder / "bomb.docx")
    data = real_docx.read_bytes() if real_docx else _small_docx_bytes(folder)
    (folder / "truncated.docx").write_bytes(data[: len(data) // 2])
    rng = random.Random(7)
    # high bytes and ASCII mixed, no NULs or control codes: not "binary", but no encoding reads it
    (folder / "mojibake.txt").write_bytes(bytes(rng.choice(list(range(0x80, 0x100)) + list(range(0x21, 0x7f)))
                                                for _ in range(4000)))
    (folder / "junk.bin").write_bytes(bytes(rng.randrange(256) for _ in range(5000)))
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(500)))
    import openpyxl

    book = openpyxl.Workbook()
    book.active["A1"] = "Evaluation matrix"
    book.save(folder / "matrix.xlsx")
    (folder / "only-scripts.html").write_text("<html><body>" + SCRIPTS * 50 + "</body></html>", encoding="utf-8")
    return {"empty.pdf": {"empty"}, "empty.txt": {"empty"}, "bomb.docx": {"zip_bomb"},
            "truncated.docx": {"corrupt"}, "mojibake.txt": {"encoding", "binary"}, "junk.bin": {"binary"},
            "image.png": {"unsupported"}, "matrix.xlsx": {"unsupported"}, "only-scripts.html": {"no_text"}}


def _small_docx_bytes(folder: Path) -> bytes:
    import docx

    d = docx.Document()
    for i in range(40):
        d.add_paragraph(f"Paragraph {i} of a small report about results and lessons learned.")
    path = folder / "_small.docx"
    d.save(str(path))
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory, corpus_or_none: Path | None) -> tuple[Path, dict[str, set[str]]]:
    """The bad files, the damaged ones made from a real Word report (the corpus's, else an example's)."""
    folder = tmp_path_factory.mktemp("bad")
    if corpus_or_none is None:
        real = example("en_zambia_tanzania")
    else:
        real = corpus_or_none / "iom/6c3c2cf3fa479112967612b0baddab72/AAP Evaluation - Management Response Final.docx"
    return folder, _bad_files(folder, real)


def test_empty_files(bad):
    folder, _ = bad
    for name in ("empty.pdf", "empty.txt"):
        error = _error(folder / name)
        assert error.code == "empty" and "empty" in error.message and "0 bytes" in error.message


def test_pdf_that_is_html(tmp_path: Path):
    path = tmp_path / "report.pdf"
    path.write_text(GOOD_HTML, encoding="utf-8")
    doc = read_document(path)
    assert doc.format == "html" and doc.title == "Evaluation of the Pension Programme"
    assert any(".pdf" in w and "html" in w for w in doc.warnings)
    assert "Jobs" not in doc.text


def test_zip_bomb_refused_quickly(bad):
    folder, _ = bad
    assert (folder / "bomb.docx").stat().st_size < 2 * 2**20  # tiny on disk…
    start = time.perf_counter()
    error = _error(folder / "bomb.docx")
    assert time.perf_counter() - start < 2  # …refused from the ZIP directory, without unpacking
    assert error.code == "zip_bomb" and "MB" in error.message and "zip bomb" in error.message


def test_zip_bomb_by_ratio(tmp_path: Path):
    path = tmp_path / "ratio.docx"
    _zip_bomb(path, megabytes=20)  # under the size cap, but compressed ~1000×
    error = _error(path)
    assert error.code == "zip_bomb" and "compressed" in error.message and "word/document.xml" in error.message


def test_truncated_and_damaged_docx(bad, tmp_path: Path):
    folder, _ = bad
    error = _error(folder / "truncated.docx")
    assert error.code == "corrupt" and "damaged" in error.message and "save" in error.fix
    # a complete archive whose document.xml is not XML
    path = tmp_path / "broken.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", "<w:document><not xml")
    error = _error(path)
    assert error.code == "corrupt" and "Word" in error.message


def test_html_scripts_never_become_text(tmp_path: Path):
    path = tmp_path / "scripts.html"
    path.write_text("<html><head>" + SCRIPTS * 20 + "</head><body>" + SCRIPTS * 20
                    + "<main><h1>Evaluation</h1>" + SCRIPTS + "<p>Real finding about outcomes.</p>"
                    + "<noscript>Enable JavaScript NOSCRIPT-TEXT</noscript><style>p{color:red}</style></main>"
                    + SCRIPTS * 20 + "</body></html>", encoding="utf-8")
    doc = read_document(path)
    assert "Real finding about outcomes." in doc.text
    assert "SCRIPT-PAYLOAD" not in doc.text and "document.write" not in doc.text
    assert "NOSCRIPT-TEXT" not in doc.text and "color:red" not in doc.text


def test_html_with_only_scripts_has_no_text(bad):
    folder, _ = bad
    error = _error(folder / "only-scripts.html")
    assert error.code == "no_text" and "no text" in error.message


def test_undecodable_text(bad):
    folder, _ = bad
    error = _error(folder / "mojibake.txt")
    assert error.code in {"encoding", "binary"}
    if error.code == "encoding":
        assert "could not tell the text encoding" in error.message and "UTF-8" in error.fix


def test_unsupported_formats(bad):
    folder, _ = bad
    error = _error(folder / "matrix.xlsx")
    assert error.code == "unsupported" and "Excel" in error.message and "PDF" in error.fix
    error = _error(folder / "image.png")
    assert error.code == "unsupported" and "PNG" in error.message


def test_binary_junk(bad):
    folder, _ = bad
    error = _error(folder / "junk.bin")
    assert error.code == "binary" and "binary" in error.message


def test_encrypted_office_file(tmp_path: Path):
    path = tmp_path / "locked.docx"  # what Word writes for a password-protected .docx: an OLE container
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000 + "EncryptionInfo".encode("utf-16-le")
                     + b"\0" * 1000)
    error = _error(path)
    assert error.code == "encrypted" and "password" in error.message and "password" in error.fix


def test_add_paths_over_bad_and_good_files(bad, tmp_path: Path, db: Store):
    folder, expected = bad
    run = tmp_path / "run"
    run.mkdir()
    for name in expected:
        (run / name).write_bytes((folder / name).read_bytes())
    (run / "good.html").write_text(GOOD_HTML, encoding="utf-8")
    (run / "good.md").write_text(GOOD_MD, encoding="utf-8")
    summary = add_paths(db, [run], describe=False, jobs=1)
    assert summary.read == 2 and summary.failed == len(expected)
    titles = {row["title"] for row in docs.document_rows(db)}
    assert titles == {"Evaluation of the Pension Programme", "Completion report"}
    rows = {Path(row["path"]).name: row for row in docs.file_rows(db)}
    assert len(rows) == len(expected) + 2
    for name, codes in expected.items():
        row = rows[name]
        assert row["status"] == "failed", name
        assert row["error_code"] in codes, (name, row["error_code"], row["error"])
        assert row["error"] and row["fix"], name
    assert scalar(db, "SELECT count(*) FROM files WHERE status = 'failed'") == len(expected)
