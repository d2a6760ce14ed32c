"""Executors: results for every task, lazily and in bounded memory; time and memory limits
that hold even when a task is stuck in C code; a crash costs one task, not the run."""

from __future__ import annotations

import ctypes
import os
import shutil
import time
from pathlib import Path

import pytest
from db_helpers import scalar
from project_fixtures import UNSEEN, example, examples, unseen

from whatworks import executor
from whatworks.collect import add_paths
from whatworks.executor import TaskFailure, grace, run
from whatworks.store import open_store

# --- tasks (module level: they are pickled by name into worker processes) -----------------


def square(x: int) -> int:
    return x * x


def pid_of(x: int) -> tuple[int, int]:
    return x, os.getpid()


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def spin_in_c(n: int) -> int:
    """Sums in C without ever returning to the interpreter: SIGALRM cannot interrupt it."""
    return sum(range(n))


def segfault(x: int) -> int:
    ctypes.string_at(0)
    return x


def hog(megabytes: int) -> int:
    block = bytearray(megabytes * 2**20)
    time.sleep(2)
    return len(block)


def fail(x: int) -> int:
    raise ValueError(f"bad task {x}")


def quick_after_slow_warmup(x: int) -> int:
    return x


def _slow_warmup() -> None:
    time.sleep(1.5)


quick_after_slow_warmup.warmup = _slow_warmup  # type: ignore[attr-defined]


def mixed(x: int) -> int:
    """A task list where some tasks crash, hang or fail: the rest must still come back."""
    if x == 3:
        ctypes.string_at(0)
    if x == 5:
        sum(range(10**13))
    if x == 7:
        raise RuntimeError("seven")
    return x


def failure_row(task, code: str, message: str) -> tuple:
    return ("failed", task, code, message)


# --- local executor -----------------------------------------------------------------------


def test_every_task_comes_back_once():
    assert sorted(run(square, range(40), jobs=2)) == [x * x for x in range(40)]
    assert sorted(run(square, range(5), executor="inline")) == [0, 1, 4, 9, 16]
    assert list(run(square, [], jobs=2)) == []


def test_work_is_spread_over_processes():
    pids = {pid for _, pid in run(pid_of, range(20), jobs=2)}
    assert len(pids) == 2 and os.getpid() not in pids


def test_tasks_are_pulled_lazily_and_results_do_not_pile_up():
    pulled = 0

    def tasks():
        nonlocal pulled
        for i in range(60):
            pulled += 1
            yield i

    jobs, consumed = 2, 0
    for _ in run(square, tasks(), jobs=jobs):
        consumed += 1
        # each worker holds one task and the results queue at most `jobs`: the rest wait untouched
        assert pulled <= consumed + 2 * jobs + 1, (pulled, consumed)
        time.sleep(0.01)  # a slow consumer (the database) must not let results accumulate
    assert consumed == 60


def test_soft_time_limit():
    start = time.monotonic()
    [result] = run(nap, [30], jobs=1, timeout=1)
    assert isinstance(result, TaskFailure) and result.code == "timeout" and "1 s" in result.message
    assert time.monotonic() - start < 1 + grace(1)


def test_hard_time_limit_kills_a_task_stuck_in_c():
    start = time.monotonic()
    results = list(run(spin_in_c, [10**13, 10], jobs=1, timeout=1))
    elapsed = time.monotonic() - start
    assert results[0] == TaskFailure(10**13, "timeout", results[0].message)
    assert "killed" in results[0].message
    assert results[1] == 45  # the next task gets a fresh worker
    assert elapsed < 1 + grace(1) + 5


def test_crash_costs_one_task():
    results = list(run(segfault, [1], jobs=1)) + list(run(mixed, range(10), jobs=2, timeout=1,
                                                            on_failure=failure_row))
    assert results[0].code == "crashed" and "SIGSEGV" in results[0].message
    by_task = {r[1] if isinstance(r, tuple) else r: r for r in results[1:]}
    assert set(by_task) == set(range(10))
    assert by_task[3][2] == "crashed" and by_task[5][2] == "timeout" and by_task[7][2] == "internal"
    assert "seven" in by_task[7][3]
    assert [x for x in range(10) if by_task[x] == x] == [0, 1, 2, 4, 6, 8, 9]


def test_memory_limit():
    [result] = run(hog, [800], jobs=1, memory_mb=300)
    assert result.code == "memory" and "300 MB" in result.message
    assert list(run(hog, [50], jobs=1, memory_mb=300)) == [50 * 2**20]


def test_exception_is_a_result_inline_too():
    [local] = run(fail, [1], jobs=1)
    [inline] = run(fail, [1], executor="inline")
    assert local.code == inline.code == "internal" and "bad task 1" in local.message
    [slow] = run(nap, [5], executor="inline", timeout=0.5)
    assert slow.code == "timeout"
    with pytest.raises(ValueError, match="unknown executor"):
        list(run(square, [1], executor="cloud"))


def test_warmup_is_not_charged_to_the_first_task():
    assert sorted(run(quick_after_slow_warmup, range(4), jobs=2, timeout=1)) == [0, 1, 2, 3]


def test_stopping_early_leaves_no_worker_behind():
    results = run(pid_of, range(100), jobs=2)
    pids = set()
    for _, pid in results:
        pids.add(pid)
        if len(pids) == 2:
            break
    results.close()
    time.sleep(0.2)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_worker_recycling(monkeypatch):
    monkeypatch.setattr(executor, "MAX_TASKS_PER_WORKER", 5)
    pids = [pid for _, pid in run(pid_of, range(20), jobs=1)]
    assert len(set(pids)) >= 4 and max(pids.count(p) for p in pids) <= 5


def test_warm_workers_are_reused_by_the_next_run(monkeypatch):
    executor.close_idle()
    first = {pid for _, pid in run(pid_of, range(6), jobs=2)}
    second = {pid for _, pid in run(pid_of, range(6), jobs=2)}
    assert first == second and len(first) == 2
    executor.close_idle()
    for pid in first:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    monkeypatch.setattr(executor, "IDLE_SECONDS", 0)  # keeping none: closed at the end of the run
    third = {pid for _, pid in run(pid_of, range(6), jobs=2)}
    assert not executor._idle and not third & first


# --- ingest: parallel, streamed, unchanged files skipped by content ------------------------


@pytest.fixture(scope="module")
def mix(corpus_or_none: Path | None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small mix of eight files: real ones (Canada HTML, IDRC Markdown, an IOM brief as PDF) from the
    corpus, else the project's own (Word, Markdown and a PDF brief)."""
    folder = tmp_path_factory.mktemp("mix")
    corpus = corpus_or_none
    if corpus is None:
        for p in [example("en_zambia_tanzania"), example("es_paraguay")] + examples()[:2]:
            shutil.copy(p, folder / p.name)
        for p in [p for p in unseen() if p.suffix == ".md"][:3]:
            shutil.copy(p, folder / p.name)
        brief = UNSEEN / "oit_resume_fr_maroc_tunisie.pdf"
    else:
        for p in sorted((corpus / "canada").glob("*.html"))[:4]:
            shutil.copy(p, folder / p.name)
        for p in sorted((corpus / "idrc").rglob("*.md"))[:3]:
            shutil.copy(p, folder / p.name)
        brief = corpus / "iom/8faad6edb0414cfc8f35415a93726e36/CS1137-CS1138_Evaluation Brief_Javier SANCHEZ MARTI.pdf"
    shutil.copy(brief, folder / "brief.pdf")
    return folder


def test_unchanged_files_are_skipped_by_content(mix: Path, tmp_path: Path):
    folder = tmp_path / "reports"
    shutil.copytree(mix, folder)
    db = open_store(tmp_path / "review.db")
    first = add_paths(db, [folder], jobs=2)
    assert (first.read, first.failed) == (8, 0)
    assert scalar(db, "SELECT count(*) FROM descriptions") == 8

    again = add_paths(db, [folder], jobs=2)
    assert (again.read, again.unchanged) == (0, 8)

    touched = folder / "brief.pdf"
    os.utime(touched, (1, 1))  # new mtime, same content: hashed, recognised, not read
    assert add_paths(db, [folder], jobs=2).read == 0

    shutil.copy(touched, folder / "copy of brief.pdf")  # a copy under a new name: not read
    copy = add_paths(db, [folder], jobs=2)
    assert (copy.read, copy.unchanged) == (0, 9)
    assert scalar(db, "SELECT count(*) FROM files WHERE status = 'read'") == 9
    assert scalar(db, "SELECT count(*) FROM documents") == 8

    md = next(folder.glob("*.md"))
    md.write_text(md.read_text(encoding="utf-8") + "\n\nA paragraph added later.\n", encoding="utf-8")
    changed = add_paths(db, [folder], jobs=2)
    assert changed.read == 1 and scalar(db, "SELECT count(*) FROM documents") == 9
    db.close()
