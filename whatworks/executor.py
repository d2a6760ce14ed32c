"""Where per-document work runs: inline, in local processes, or on a Dask cluster.

Every executor takes the same picklable function and tasks and yields results as
they finish; the caller (one process) writes them to the database, so the database
never sees two writers and a crash loses at most the documents in flight.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)

#: Seconds one document may take before it is given up as an error.
DEFAULT_TIMEOUT = 300


class TaskTimeout(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise TaskTimeout()


def with_time_limit(func: Callable[[Any], Any], task: Any, seconds: float | None) -> Any:
    """Run func(task) and raise TaskTimeout after `seconds` (main thread of a process only)."""
    if not seconds or os.name != "posix" or threading.current_thread() is not threading.main_thread():
        return func(task)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return func(task)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _call(args: tuple[Callable[[Any], Any], Any, float | None]) -> Any:
    func, task, seconds = args
    return with_time_limit(func, task, seconds)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run(func: Callable[[Any], Any], tasks: Iterable[Any], *, jobs: int | None = None,
        executor: str = "local", scheduler: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT) -> Iterator[Any]:
    """Yield func(task) for every task, in completion order.

    `func` must catch its own errors and return them as values; a TaskTimeout from
    the time limit is the one exception it should turn into a result itself.
    """
    tasks = list(tasks)
    if executor == "dask":
        yield from _run_dask(func, tasks, scheduler, timeout)
        return
    jobs = jobs or default_jobs()
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield with_time_limit(func, task, timeout)
        return
    ctx = mp.get_context("forkserver" if os.name == "posix" else "spawn")
    with ctx.Pool(processes=min(jobs, len(tasks)), maxtasksperchild=200) as pool:
        yield from pool.imap_unordered(_call, [(func, t, timeout) for t in tasks], chunksize=1)


def _run_dask(func: Callable[[Any], Any], tasks: list[Any], scheduler: str | None,
              timeout: float | None) -> Iterator[Any]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("the Dask executor needs dask[distributed]: pip install 'whatworks[dask]'") from e
    client = Client(scheduler) if scheduler else Client(processes=True)
    try:
        futures = client.map(_call, [(func, t, timeout) for t in tasks], pure=False)
        for future in as_completed(futures):
            yield future.result()
            future.release()
    finally:
        client.close()
