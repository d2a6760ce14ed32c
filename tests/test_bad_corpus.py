"""A run over 40+ bad files finishes; each one is a document or one clear error row.

The corpus (tests/badfiles.py) mixes encrypted, truncated, empty, scanned, misnamed,
zip-bombed, giant, junk, deeply nested and wrongly encoded files with good ones, and a
5,000-page PDF; the run uses worker processes with a short per-file time limit, so
the limit itself is tested: slow files must end as `timeout` rows, not hang the run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from badfiles import DOCUMENT, write_bad_corpus
from db_helpers import one, query, scalar
from project_fixtures import UNSEEN, example

from whatworks.collect import add_paths
from whatworks.executor import grace
from whatworks.store import documents as docs
from whatworks.store import open_store

TIMEOUT = 6.0


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, corpus_or_none: Path | None):
    folder = tmp_path_factory.mktemp("badcorpus")
    corpus = corpus_or_none
    if corpus is None:  # the project's own reports stand for the real documents (there is no HTML one)
        real = {"pdf": UNSEEN / "oit_finale_fr_senegal_mali.pdf", "docx": example("en_zambia_tanzania"),
                "md": example("fr_senegal_burkina")}
    else:
        real = {
            "pdf": corpus / "iom/6c3c2cf3fa479112967612b0baddab72/AAP_EN_Evaluation Brief_final_0.pdf",
            "docx": corpus / "iom/6c3c2cf3fa479112967612b0baddab72/AAP Evaluation - Management Response Final.docx",
            "html": next(iter(sorted((corpus / "canada").glob("cra_0*.html")))),
            "md": next(iter(sorted((corpus / "idrc").rglob("*.md")))),
        }
    expect = write_bad_corpus(folder, giant_mb=50, real=real)
    db = open_store(tmp_path_factory.mktemp("baddb") / "review.db")
    finished: dict[str, float] = {}
    start = time.perf_counter()

    def progress(result, done, total):  # noqa: ARG001
        if result is not None:
            finished[Path(result.path).name] = time.perf_counter() - start

    summary = add_paths(db, [folder], jobs=2, timeout=TIMEOUT, progress=progress)
    elapsed = time.perf_counter() - start
    yield db, expect, summary, finished, elapsed
    db.close()


def test_corpus_is_big_and_bad_enough(ingested):
    _, expect, *_ = ingested
    bad = [name for name, e in expect.items() if not e.good]
    assert len(bad) >= 30
    assert sum(e.good for e in expect.values()) >= 6


def test_every_file_has_exactly_one_allowed_outcome(ingested):
    db, expect, summary, *_ = ingested
    rows = {Path(r["path"]).name: r for r in docs.file_rows(db)}
    assert set(rows) == set(expect), set(rows) ^ set(expect)
    assert scalar(db, "SELECT count(*) FROM files") == len(expect)  # one row per file, no duplicates
    assert summary.read + summary.failed == len(expect)
    wrong = {}
    for name, row in rows.items():
        outcome = DOCUMENT if row["status"] == "read" else row["error_code"]
        if not expect[name].allows(outcome):
            wrong[name] = (outcome, row["error"], sorted(expect[name].outcomes))
    assert not wrong, wrong


def test_error_rows_are_actionable(ingested):
    db, *_ = ingested
    failed = query(db, "SELECT * FROM files WHERE status = 'failed'")
    assert len(failed) >= 20
    for row in failed:
        assert row["error_code"] and row["error"] and row["fix"], dict(row)
        assert len(row["error"]) > 15 and len(row["fix"]) > 15, dict(row)
        assert row["error_code"] != "internal", dict(row)  # a reader bug, not a bad file


def test_good_files_become_described_documents(ingested):
    db, expect, *_ = ingested
    rows = {Path(r["path"]).name: r for r in docs.file_rows(db)}
    for name, e in expect.items():
        if e.good:
            row = rows[name]
            assert row["status"] == "read", (name, row["error_code"], row["error"])
            assert scalar(db, "SELECT 1 FROM descriptions WHERE sha256 = :s", s=row["sha256"]), name


def test_misnamed_files_are_read_by_content_with_a_warning(ingested):
    db, *_ = ingested
    for name, fmt in (("pdf-named.docx", "pdf"), ("html-named.pdf", "html"), ("docx-named.txt", "docx"),
                      ("pdf-named.html", "pdf")):
        sha = scalar(db, "SELECT sha256 FROM files WHERE path LIKE :p AND status = 'read'", p=f"%/{name}")
        assert sha, name
        row = one(db, "SELECT format, warnings FROM documents WHERE sha256 = :s", s=sha)
        assert row["format"] == fmt and Path(name).suffix in row["warnings"], (name, dict(row))


def test_time_limit_is_honoured(ingested):
    db, expect, summary, finished, elapsed = ingested
    slow = {Path(r["path"]).name: r for r in query(db, "SELECT * FROM files WHERE error_code = 'timeout'")}
    for name, row in slow.items():
        assert "timeout" in expect[name].outcomes, name
        assert f"({TIMEOUT:g} s)" in row["error"] and "--timeout" in row["fix"]
    pages = one(db, "SELECT f.status, d.pages FROM files f LEFT JOIN documents d ON d.sha256 = f.sha256 "
                "WHERE f.path LIKE '%/pages-5000.pdf'")
    assert pages["status"] == "failed" or pages["pages"] == 5000
    # no file took much longer than the limit: the hard kill comes `grace` seconds after it
    assert elapsed < 2 * (TIMEOUT + grace(TIMEOUT)) + 20, (elapsed, sorted(finished.values())[-2:])


def test_a_tight_time_limit_stops_the_big_files(ingested, tmp_path: Path):
    """The 5,000-page PDF and the 50 MB text cannot be read in 1 s: two clean timeout rows, quickly."""
    db, *_ = ingested
    folder = Path(scalar(db, "SELECT path FROM files WHERE path LIKE '%/pages-5000.pdf'")).parent
    tight = open_store(tmp_path / "tight.db")
    start = time.perf_counter()
    summary = add_paths(tight, [folder / "pages-5000.pdf", folder / "giant.txt"], jobs=2, timeout=1)
    elapsed = time.perf_counter() - start
    rows = docs.file_rows(tight)
    assert summary.failed == 2 and {r["error_code"] for r in rows} <= {"timeout", "too_large"}, [dict(r) for r in rows]
    assert all("(1 s)" in r["error"] or "MB" in r["error"] for r in rows)
    assert elapsed < 1 + grace(1) + 10, elapsed  # hashing 50 MB and a warm-up at most, besides the limit
    tight.close()
