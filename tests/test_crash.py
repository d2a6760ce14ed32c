"""Nothing is lost when ingest is killed: SIGKILL it at random moments, run it again, and
the final database equals an uninterrupted run's, with human decisions untouched.

Two kinds of kill: (1) the real thing — a driver process running `add_paths` with two
worker processes, killed with SIGKILL (its workers must die with it); (2) many quick
kills of a process forked from a warmed-up "zygote", so that each kill lands while
documents are being read and written rather than while libraries load (loading the
language and place models takes ~3 s per process, which would make 20 real restarts
slow). Both write to the same database file through the same code path.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from db_helpers import query, scalar
from project_fixtures import varied_reports

from whatworks.collect import add_paths
from whatworks.read import sha256_file
from whatworks.store import open_store
from whatworks.store import selection as screening_store

SEED = 20261127
QUICK_KILLS = 22
DRIVER_KILLS = 2

DRIVER = """
import sys
from whatworks.collect import add_paths
from whatworks.store import open_store
summary = add_paths(open_store(sys.argv[1]), [sys.argv[2]], jobs=2)
print(summary.line(), flush=True)
"""

ZYGOTE = """
import os, signal, sys
from whatworks.collect import add_paths, process_file
process_file.warmup()
from whatworks.store import open_store
open_store(":memory:").close()  # (screen helper) warm the store's SCHEMA modules too: without bytecode caching a fork spent its kill window compiling them
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
print("ready", flush=True)
for line in sys.stdin:
    db_path, folder = line.rstrip("\\n").split("\\t")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            add_paths(open_store(db_path), [folder], executor="inline")
            code = 0
        finally:
            os._exit(code)
    print(pid, flush=True)
"""

#: Everything but timings, per table.
TABLES = {
    "files": "path, sha256, size, mtime, status, error_code, error, fix",
    "documents": "sha256, source, format, title, language, pages, chars, ocr, warnings, data",
    "descriptions": "sha256, kind, data, version",
    "items": "sha256, idx, kind, text, page, section_kind, data",
}
KEYS = {"files": "path", "documents": "sha256", "descriptions": "sha256", "items": "sha256, idx"}


def snapshot(db) -> dict[str, list[tuple]]:
    return {name: [tuple(r.values()) for r in query(db, f"SELECT {cols} FROM {name} ORDER BY {KEYS[name]}")]
            for name, cols in TABLES.items()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def _workers_of(pid: int) -> list[int]:
    """Sandbox worker processes started by `pid` (they carry its pid as their last argument)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(b"_serve()" in a for a in argv) and str(pid).encode() in argv[-3:]:
                found.append(int(entry.name))
    return found


def _count_files(path: Path) -> int:
    """Rows in `files`, read without disturbing the process writing the database."""
    if not path.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute("SELECT count(*) FROM files").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


@pytest.fixture(scope="module")
def reports(corpus_or_none: Path | None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 small files, two of them bad: real ones (Canada HTML, IDRC Markdown, two IOM briefs) from the
    corpus, else the project's own reports (Markdown, text, DOCX and PDF)."""
    folder = tmp_path_factory.mktemp("crash-reports")
    corpus = corpus_or_none
    if corpus is None:
        varied_reports(folder, 38, annexes=3)  # (text files four times their length: work for the kills)
    else:
        def smallish(paths, n):
            return sorted(paths, key=lambda p: (p.stat().st_size, p.name))[5:5 + n]

        for p in smallish(corpus.glob("canada/*.html"), 12) + smallish(corpus.glob("idrc/**/*.md"), 24):
            shutil.copy(p, folder / p.name)
        shutil.copy(corpus / "iom/8faad6edb0414cfc8f35415a93726e36/CS1137-CS1138_Evaluation Brief_Javier SANCHEZ MARTI.pdf",
                    folder / "brief-fr.pdf")
        shutil.copy(corpus / "iom/6c3c2cf3fa479112967612b0baddab72/AAP_EN_Evaluation Brief_final_0.pdf",
                    folder / "brief-aap.pdf")
    (folder / "empty.md").write_bytes(b"")
    (folder / "junk.txt").write_bytes(bytes(range(256)) * 20)
    assert len(list(folder.iterdir())) == 40
    return folder


@pytest.fixture(scope="module")
def zygote():
    proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    proc.stdin.close()
    proc.wait(timeout=30)


def _fork_run(zygote, db_path: Path, folder: Path) -> int:
    zygote.stdin.write(f"{db_path}\t{folder}\n")
    zygote.stdin.flush()
    return int(zygote.stdout.readline())


def _wait_gone(pid: int, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while _alive(pid):
        assert time.monotonic() < end, f"process {pid} did not finish"
        time.sleep(0.01)


def test_killed_ingest_loses_nothing(reports: Path, zygote, tmp_path: Path):
    rng = random.Random(SEED)

    # the uninterrupted run, on a database created beforehand like the one the kills interrupt (so the
    # time to the first write, from which kills are timed, is a run's, not the schema's creation)
    ref_path = tmp_path / "reference.db"
    open_store(ref_path).close()
    start = time.monotonic()
    pid, first_write = _fork_run(zygote, ref_path, reports), None
    while _alive(pid):  # note when the first file is written: kills are timed from there
        if first_write is None and ref_path.exists() and _count_files(ref_path):
            first_write = time.monotonic() - start
        time.sleep(0.005)
    ref_seconds = time.monotonic() - start
    first_write = first_write or 0.0
    ref = open_store(ref_path)
    expected = snapshot(ref)
    ref.close()
    assert len(expected["files"]) == 40 and len(expected["documents"]) == 38 and expected["items"]

    # the run that will be killed, with human decisions recorded before it starts
    db_path = tmp_path / "review.db"
    db = open_store(db_path)
    for i, path in enumerate(sorted(reports.iterdir())[:5]):
        screening_store.save_decision(db, sha256_file(path), f"reviewer{i}", "lead", ("include", "exclude")[i % 2],
                                      f"reason {i} ✓", None)
    human = screening_store.decision_rows(db)
    db.close()

    # (1) the real driver with worker processes, killed outright; its workers must die too
    seen_workers = 0
    for i in range(DRIVER_KILLS):
        before = _count_files(db_path)
        driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(db_path), str(reports)],
                                  stdout=subprocess.DEVNULL)
        end = time.monotonic() + 30
        while not _workers_of(driver.pid) and driver.poll() is None and time.monotonic() < end:
            time.sleep(0.02)
        if i % 2 == 0:  # while the workers warm up
            time.sleep(rng.uniform(0.0, 1.0))
        else:  # while the driver writes results
            while _count_files(db_path) == before and driver.poll() is None and time.monotonic() < end:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.3))
        workers = _workers_of(driver.pid)
        seen_workers += len(workers)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        end = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < end:
            time.sleep(0.05)
        assert not [w for w in workers if _alive(w)], "worker processes outlived their killed parent"
    assert seen_workers >= 2

    # (2) quick kills at random moments while documents are read and written
    interrupted, progress = 0, []
    work = ref_seconds - first_write  # seconds of reading and writing in an uninterrupted run
    pace = 1.2  # share of the work left that one run may do before its kill; shortened when runs outpace it
    for i in range(QUICK_KILLS):
        before = _count_files(db_path)
        left = work * (40 - before) / 40
        pid = _fork_run(zygote, db_path, reports)
        if i % 4 == 0:  # while it starts, opens the database and lists and hashes the files
            time.sleep(rng.uniform(0.0, first_write))
        else:  # while it reads and writes documents, leaving work for the kills to come
            deadline = time.monotonic() + first_write + rng.uniform(0.0, pace * left / (QUICK_KILLS - i))
            # …and at the latest once it has written its share of the files left, so that a run faster than
            # the reference one (a machine less loaded than when it ran) cannot finish them all
            share = (40 - before) // (QUICK_KILLS - i + 1)
            while time.monotonic() < deadline and _alive(pid) and _count_files(db_path) - before < share:
                time.sleep(0.005)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            interrupted += 1
        else:  # this machine is faster than the reference run said: kill sooner
            pace /= 2
        _wait_gone(pid)
        check = open_store(db_path)
        progress.append(scalar(check, "SELECT count(*) FROM files"))
        check.close()
    # on a loaded machine many runs finish the little work left before their kill: what matters is that
    # a good number were killed, several of them mid-work (below), and that nothing was lost (after)
    assert interrupted >= QUICK_KILLS // 5, (interrupted, progress, first_write, ref_seconds)
    assert len({n for n in progress if n < 40}) >= 3, f"too few kills landed mid-work: {progress}"

    # then a run to completion, with the real driver
    done = subprocess.run([sys.executable, "-c", DRIVER, str(db_path), str(reports)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    db = open_store(db_path)
    assert scalar(db, "PRAGMA integrity_check") == "ok"
    got = snapshot(db)
    for name in TABLES:
        assert len(got[name]) == len(expected[name]), (name, len(got[name]), len(expected[name]))
        assert got[name] == expected[name], name
    keys = {"files": "path", "documents": "sha256", "descriptions": "sha256", "items": "sha256 || '/' || idx"}
    for name, key in keys.items():
        assert scalar(db, f"SELECT count(*) - count(DISTINCT {key}) FROM {name}") == 0, name
    assert screening_store.decision_rows(db) == human
    again = add_paths(db, [reports], executor="inline")  # only the two bad files are tried again
    assert (again.read, again.unchanged, again.failed) == (0, 38, 2)
    db.close()
