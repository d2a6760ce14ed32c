"""The Dask executor: the same review database as a single-machine run, and the same
time limit, memory limit and crash isolation, on a real (local, loopback) cluster."""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import pytest
from db_helpers import query
from project_fixtures import by_size, examples, unseen, varied_reports
from test_executor import mixed

from whatworks.collect import add_paths, process_file
from whatworks.executor import run
from whatworks.store import Store, open_store

distributed = pytest.importorskip("distributed")

#: Columns compared between runs: everything except timings.
TABLES = {
    "files": "path, sha256, size, mtime, status, error_code, error, fix",
    "documents": "sha256, source, format, title, language, pages, chars, ocr, warnings, data",
    "descriptions": "sha256, kind, data, version",
    "items": "sha256, idx, kind, text, page, section_kind, data",
}


def first_difference(name: str, got: list[tuple], expected: list[tuple]) -> str:
    """Where two table contents part: the row key and the column, for a readable failure."""
    cols = [c.strip() for c in TABLES[name].split(",")]
    for a, b in zip(got, expected, strict=False):
        if a != b:
            col = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
            x, y = a[col], b[col]
            if isinstance(x, bytes):
                x, y = zlib.decompress(x).decode(), zlib.decompress(y).decode()
            at = next((i for i, (p, q) in enumerate(zip(str(x), str(y), strict=False)) if p != q), 0)
            return (f"{name}: row {a[:2]} column {cols[col]}: …{str(x)[max(0, at - 80):at + 80]!r}… "
                    f"vs …{str(y)[max(0, at - 80):at + 80]!r}…")
    return f"{name}: {len(got)} rows vs {len(expected)}"


def table(db: Store, name: str) -> list[tuple]:
    cols = TABLES[name]
    return [tuple(r.values()) for r in query(db, f"SELECT {cols} FROM {name} ORDER BY {cols.split(',')[0]}, "
                                               f"{cols.split(',')[1]}")]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None,
                                  host="127.0.0.1") as c:
        yield c


@pytest.fixture(scope="module")
def reports(corpus_or_none: Path | None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven readable files and an empty one: real ones from the corpus, else the project's own
    (Markdown, text, DOCX and PDF)."""
    folder = tmp_path_factory.mktemp("dask-reports")
    corpus = corpus_or_none
    if corpus is None:
        pool = by_size(examples() + unseen())
        picks = [p for p in pool if p.suffix == ".md"][:2] + [p for p in pool if p.suffix == ".txt"][:2] + \
            [p for p in pool if p.suffix == ".docx"][:2] + [p for p in pool if p.suffix == ".pdf"][:1]
        varied_reports(folder, 7, sources=picks)
    else:
        def smallish(paths, n):  # keep the test quick: files from the smaller end, not the smallest
            return sorted(paths, key=lambda p: (p.stat().st_size, p.name))[10:10 + n]

        for p in smallish((corpus / "canada").glob("*.html"), 3) + smallish((corpus / "idrc").rglob("*.md"), 3):
            shutil.copy(p, folder / p.name)
        shutil.copy(corpus / "iom/6c3c2cf3fa479112967612b0baddab72/AAP_EN_Evaluation Brief_final_0.pdf",
                    folder / "aap-brief.pdf")
    (folder / "empty.docx").write_bytes(b"")  # an error row must travel the same way
    return folder


def test_dask_run_equals_local_run(cluster, reports: Path, tmp_path: Path):
    local, dask = open_store(tmp_path / "local.db"), open_store(tmp_path / "dask.db")
    a = add_paths(local, [reports], jobs=2)
    b = add_paths(dask, [reports], executor="dask", scheduler=cluster.scheduler_address)
    assert (a.read, a.failed) == (b.read, b.failed) == (7, 1)
    for name in TABLES:
        rows = table(local, name)
        assert rows, name
        got = table(dask, name)
        assert got == rows, first_difference(name, got, rows)
    assert add_paths(dask, [reports], executor="dask", scheduler=cluster.scheduler_address).read == 0
    local.close()
    dask.close()


def test_limits_and_crashes_hold_on_dask(cluster):
    results = list(run(mixed, range(10), executor="dask", scheduler=cluster.scheduler_address, timeout=1))
    failed = {r.task: r.code for r in results if not isinstance(r, int)}
    assert failed == {3: "crashed", 5: "timeout", 7: "internal"}
    assert sorted(r for r in results if isinstance(r, int)) == [0, 1, 2, 4, 6, 8, 9]
    # the Dask workers survived the segfault and the hang
    assert len(cluster.scheduler_info["workers"]) == 2
    assert sorted(run(mixed, [0, 1, 2], executor="dask", scheduler=cluster.scheduler_address)) == [0, 1, 2]


def test_a_file_a_worker_cannot_see_is_one_clear_row(cluster, tmp_path: Path):
    [result] = run(process_file, [(str(tmp_path / "not-on-this-worker.pdf"), None, True)], executor="dask",
                   scheduler=cluster.scheduler_address)
    assert result.error_code == "not_found" and "docs/scale.md" in result.fix
