"""Ingest: every file becomes a document or one error row; unchanged files are not read again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from db_helpers import one, query, scalar

from whatworks.collect import add_paths, collect
from whatworks.store import Store, open_store

REPORT = """# Final evaluation of the social protection project

## Executive summary

The project extended social security coverage to domestic workers in three provinces.

## Recommendations

1. The ILO should continue its support to the national social security institute.
"""


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text(REPORT, encoding="utf-8")
    (folder / "sub" / "b.txt").write_text(REPORT.replace("#", "").replace("domestic", "migrant"), encoding="utf-8")
    (folder / "empty.pdf").write_bytes(b"")
    (folder / ".hidden.md").write_text(REPORT, encoding="utf-8")
    return folder


def test_collect_recursive_skips_hidden(tmp_path: Path):
    folder = _folder(tmp_path)
    names = sorted(p.name for p in collect([folder]))
    assert names == ["a.md", "b.txt", "empty.pdf"]


def test_add_reads_once_and_reports_errors(tmp_path: Path, db: Store):
    folder = _folder(tmp_path)
    first = add_paths(db, [folder], describe=False, jobs=1)
    assert (first.read, first.failed, first.unchanged) == (2, 1, 0)
    failed = one(db, "SELECT * FROM files WHERE status = 'failed'")
    assert failed["path"].endswith("empty.pdf") and failed["error_code"] == "empty" and failed["fix"]

    again = add_paths(db, [folder], describe=False, jobs=1)
    assert (again.read, again.unchanged) == (0, 2)  # unchanged files are skipped

    copy = folder / "copy-of-a.md"  # same content under a new name: recorded, not read
    shutil.copyfile(folder / "a.md", copy)
    third = add_paths(db, [folder], describe=False, jobs=1)
    assert third.read == 0 and scalar(db, "SELECT count(*) FROM documents") == 2
    assert scalar(db, "SELECT count(*) FROM files WHERE status = 'read'") == 3

    (folder / "a.md").write_text(REPORT + "\nA new paragraph.\n", encoding="utf-8")
    os.utime(folder / "a.md", (1, 1))
    fourth = add_paths(db, [folder], describe=False, jobs=1)
    assert fourth.read == 1 and scalar(db, "SELECT count(*) FROM documents") == 3


def test_parallel_equals_serial(tmp_path: Path):
    folder = _folder(tmp_path)
    serial, parallel = open_store(tmp_path / "s.db"), open_store(tmp_path / "p.db")
    add_paths(serial, [folder], jobs=1)
    add_paths(parallel, [folder], jobs=2)
    q = "SELECT sha256, format, title, language, pages, chars FROM documents ORDER BY sha256"
    assert [tuple(r.values()) for r in query(serial, q)] == [tuple(r.values()) for r in query(parallel, q)]
    q = "SELECT sha256, kind, data FROM descriptions ORDER BY sha256"
    assert [tuple(r.values()) for r in query(serial, q)] == [tuple(r.values()) for r in query(parallel, q)]
