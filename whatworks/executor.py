"""Where per-document work runs: in local worker processes, inline, or on a Dask cluster.

Every executor takes the same picklable function and tasks and yields results as
they finish; the caller (one process) writes them to the database, so the database
never sees two writers and a crash loses at most the documents in flight.

Each task runs in a *sandbox*: a child process that a watching thread can kill. A
Python-level alarm (SIGALRM) cannot interrupt a PDF library stuck in C code, and a
zip bomb or a segfault in a parser would take the whole run down with it; a child
process that is killed when it overruns its time or memory cannot. The same sandbox
runs inside Dask workers, whose tasks run in threads where SIGALRM does not work.

Memory stays flat with the corpus: tasks are pulled from the iterable only when a
worker is free, and at most `jobs` finished results wait for the caller.

Worker processes load libraries and models once (`func.warmup`, outside any time limit)
and are kept warm for `IDLE_SECONDS` after a run, so a process that ingests many times
(the web app, the tests) does not pay for the loading each time.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)

#: Seconds one document may take before it is given up as an error.
DEFAULT_TIMEOUT = 300
#: Resident memory (MB) one worker may use before its task is given up (env WHATWORKS_WORKER_MB).
DEFAULT_MEMORY_MB = 2048
#: A worker process is replaced after this many tasks, so slow leaks in libraries cannot add up.
MAX_TASKS_PER_WORKER = 500
#: Seconds a fresh worker may take to load its libraries and models (`func.warmup`).
WARMUP_SECONDS = 120
#: Idle worker processes are kept this long (s) for the next run in the same process.
IDLE_SECONDS = float(os.environ.get("WHATWORKS_IDLE_SECONDS", "120") or 0)
#: At most this many idle worker processes are kept.
MAX_IDLE = 8
#: How often (s) a sandbox's memory is checked while it works.
_POLL = 0.2


class TaskTimeout(BaseException):
    """Raised inside a task when it overruns its time limit (soft limit, SIGALRM).

    A BaseException, like KeyboardInterrupt, so that the `except Exception` with which
    readers turn library errors into ReadError ("corrupt") does not swallow it.
    """

    def __init__(self, seconds: float | None = None):
        super().__init__(seconds)
        self.seconds = seconds


@dataclass
class TaskFailure:
    """What `run` yields for a task that produced no result, when no `on_failure` is given.

    `code` is one of ``timeout`` (overran the time limit), ``memory`` (overran the memory
    limit), ``crashed`` (the worker process died, e.g. a segfault in a parser) or
    ``internal`` (the function raised).
    """

    task: Any
    code: str
    message: str


OnFailure = Callable[[Any, str, str], Any]


def _failure(task: Any, code: str, message: str) -> TaskFailure:
    return TaskFailure(task, code, message)


def with_time_limit(func: Callable[[Any], Any], task: Any, seconds: float | None) -> Any:
    """Run func(task) and raise TaskTimeout after `seconds` (main thread of a process only)."""
    if not seconds or os.name != "posix" or threading.current_thread() is not threading.main_thread():
        return func(task)

    def alarm(signum, frame):  # noqa: ARG001
        raise TaskTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return func(task)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def default_memory_mb() -> int:
    try:
        return int(os.environ.get("WHATWORKS_WORKER_MB", DEFAULT_MEMORY_MB))
    except ValueError:
        return DEFAULT_MEMORY_MB


def grace(seconds: float) -> float:
    """Extra time after the soft limit before the sandbox is killed outright."""
    return min(30.0, max(2.0, seconds * 0.2))


# --- the sandbox: one child process, one task at a time ------------------------------------


def _serve() -> None:
    """Child side of a sandbox: run tasks from the parent until the pipe closes."""
    rfd, wfd, ppid = (int(a) for a in sys.argv[1:4])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent(ppid)
    rx, tx = Connection(rfd, writable=False), Connection(wfd, readable=False)
    while True:
        try:
            message = rx.recv()
        except (EOFError, OSError):
            return
        if message[0] == "warm":  # load the function's libraries and models before any clock runs
            _, task, seconds = message
            func = _warm_up
        else:
            _, func, task, seconds = message
        try:
            reply: tuple[str, Any] = ("ok", with_time_limit(func, task, seconds))
        except TaskTimeout:
            reply = ("timeout", f"took longer than the time limit ({seconds:g} s)")
        except MemoryError:
            reply = ("memory", "ran out of memory")
        except BaseException as e:  # noqa: BLE001 - reported to the parent, the loop goes on
            reply = ("internal", f"{type(e).__name__}: {e}")
        try:
            tx.send(reply)
        except (BrokenPipeError, OSError):
            return
        except Exception as e:  # noqa: BLE001 - an unpicklable result
            tx.send(("internal", f"the result could not be sent back: {type(e).__name__}: {e}"))


def _warm_up(func: Callable[[Any], Any]) -> None:
    warmup = getattr(func, "warmup", None)
    if warmup is not None:
        warmup()


def _die_with_parent(ppid: int) -> None:
    """Ask Linux to kill this process when its parent dies (no orphans after a SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        return
    if os.getppid() != ppid:  # the parent died before prctl took effect
        os._exit(1)


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


_spawner_lock = threading.Lock()
_spawner: tuple[int, queue.Queue] | None = None


def _spawn(cmd: list[str], **kwargs: Any) -> subprocess.Popen:
    """Start a process from one long-lived thread.

    Linux sends the parent-death signal when the *thread* that started a child exits, so
    children must not be started by the short-lived threads that feed them.
    """
    global _spawner
    with _spawner_lock:
        if _spawner is None or _spawner[0] != os.getpid():  # none yet, or we are a forked child
            requests: queue.Queue = queue.Queue()
            threading.Thread(target=_spawn_loop, args=(requests,), name="whatworks-spawner", daemon=True).start()
            _spawner = (os.getpid(), requests)
        requests = _spawner[1]
    done, out = threading.Event(), {}
    requests.put((cmd, kwargs, done, out))
    done.wait()
    if "error" in out:
        raise out["error"]
    return out["proc"]


def _spawn_loop(requests: queue.Queue) -> None:
    while True:
        cmd, kwargs, done, out = requests.get()
        try:
            out["proc"] = subprocess.Popen(cmd, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the requesting thread
            out["error"] = e
        finally:
            done.set()


class Sandbox:
    """A child Python process that runs tasks one at a time and can be killed at any moment.

    The child is started with ``subprocess`` (not ``multiprocessing``) so that it can be
    started from daemonic processes such as Dask workers; tasks and results travel as
    pickles over two pipes, so anything the libraries print cannot corrupt them.
    """

    def __init__(self, memory_mb: int | None = None):
        self.memory_mb = default_memory_mb() if memory_mb is None else memory_mb
        self.proc: subprocess.Popen | None = None
        self.tx: Connection | None = None
        self.rx: Connection | None = None
        self.done = 0
        self.warm: tuple | None = None  # the function this child has warmed up for
        self.owner = os.getpid()  # the process that started the child
        self.idle_since = 0.0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        self.close()
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        env = dict(os.environ)
        # The child must import what the parent can (e.g. test modules): give it our sys.path.
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        try:
            self.proc = _spawn(
                [sys.executable, "-c", "from whatworks.executor import _serve; _serve()",
                 str(task_r), str(result_w), str(os.getpid())],
                pass_fds=(task_r, result_w), stdin=subprocess.DEVNULL, env=env)
        finally:
            os.close(task_r)
            os.close(result_w)
        self.tx = Connection(task_w, readable=False)
        self.rx = Connection(result_r, writable=False)
        self.done = 0
        self.warm = None
        self.owner = os.getpid()

    def kill(self) -> None:
        """Stop the child now (safe to call from another thread)."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                proc.kill()
            except OSError:  # pragma: no cover - already gone
                pass

    def close(self) -> None:
        self.kill()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                log.warning("worker process %s did not exit", self.proc.pid)
        for conn in (self.tx, self.rx):
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass
        self.proc = self.tx = self.rx = None

    def call(self, func: Callable[[Any], Any], task: Any, timeout: float | None) -> tuple[str, Any]:
        """Run func(task) in the child: ("ok", result) or (failure code, message).

        The child gets a soft limit of `timeout` seconds (TaskTimeout inside the task, which
        the task may turn into a result of its own); if it is still busy `grace()` seconds
        later, or uses more than `memory_mb` of memory, or dies, it is killed and replaced.
        A fresh child first runs `func.warmup()` if the function has one, outside the limit.
        """
        if not self.alive or self.done >= MAX_TASKS_PER_WORKER:
            self.start()
        name = (getattr(func, "__module__", None), getattr(func, "__qualname__", None))
        if self.warm != name:
            self.warm = name
            status, payload = self._exchange(("warm", func, WARMUP_SECONDS), WARMUP_SECONDS)
            if status != "ok":
                log.warning("warming up a worker failed: %s: %s", status, payload)
                if not self.alive:
                    self.start()
                    self.warm = name
        status, payload = self._exchange(("task", func, task, timeout), timeout)
        if status == "ok":
            self.done += 1
        return status, payload

    def _exchange(self, message: tuple, timeout: float | None) -> tuple[str, Any]:
        assert self.proc and self.tx and self.rx
        try:
            self.tx.send(message)
        except (BrokenPipeError, OSError):  # the idle child died (e.g. killed by the OOM killer)
            self.start()
            assert self.tx
            self.tx.send(message)
        assert self.proc and self.rx
        deadline = time.monotonic() + timeout + grace(timeout) if timeout else None
        pid = self.proc.pid
        while True:
            wait = _POLL if self.memory_mb else None
            if deadline is not None:
                wait = max(0.0, min(wait or 1e9, deadline - time.monotonic()))
            try:
                ready = self.rx.poll(wait)
            except (OSError, ValueError):  # the pipe was closed under us
                ready = True
            if ready:
                try:
                    return self.rx.recv()
                except (EOFError, OSError, ValueError):
                    return "crashed", self._death()
            if deadline is not None and time.monotonic() >= deadline:
                self.close()
                return "timeout", (f"took longer than the time limit ({timeout:g} s) and did not stop;"
                                   f" killed after {timeout + grace(timeout):g} s")
            if self.memory_mb and (rss := _rss_mb(pid)) > self.memory_mb:
                self.close()
                return "memory", f"used {rss:.0f} MB of memory, over the {self.memory_mb} MB limit; stopped"

    def _death(self) -> str:
        proc = self.proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        self.close()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"the worker process died ({name})"
        return f"the worker process died (exit code {code})"

    def run(self, func: Callable[[Any], Any], task: Any, timeout: float | None,
            on_failure: OnFailure = _failure) -> Any:
        """func(task), or on_failure(task, code, message) when it produced no result."""
        status, payload = self.call(func, task, timeout)
        if status == "ok":
            return payload
        log.warning("task %r: %s: %s", task, status, payload)
        return on_failure(task, status, payload)


# --- idle sandboxes, kept warm between runs ------------------------------------------------

_idle: list[Sandbox] = []
_idle_lock = threading.Lock()
_reaper: int | None = None


def _acquire(memory_mb: int) -> Sandbox:
    """A warm idle sandbox from an earlier run in this process, or a new one."""
    with _idle_lock:
        for i, box in enumerate(_idle):
            if box.memory_mb == memory_mb and box.owner == os.getpid() and box.alive:
                return _idle.pop(i)
    return Sandbox(memory_mb)


def _release(box: Sandbox) -> None:
    """Keep a sandbox that finished its run for the next run (a library or the web app may
    call `run` many times); it is closed after `IDLE_SECONDS` unused."""
    global _reaper
    if not box.alive or box.owner != os.getpid() or IDLE_SECONDS <= 0:
        box.close()
        return
    box.idle_since = time.monotonic()
    with _idle_lock:
        _idle.append(box)
        extra = _idle[:-MAX_IDLE] if len(_idle) > MAX_IDLE else []
        del _idle[:len(extra)]
        if _reaper != os.getpid():
            _reaper = os.getpid()
            threading.Thread(target=_reap, name="whatworks-reaper", daemon=True).start()
    for old in extra:
        old.close()


def _reap() -> None:
    while True:
        time.sleep(max(1.0, IDLE_SECONDS / 4))
        close_idle(older_than=IDLE_SECONDS)


def close_idle(older_than: float = 0.0) -> None:
    """Close idle sandboxes (all of them by default)."""
    now = time.monotonic()
    with _idle_lock:
        expired = [b for b in _idle if now - b.idle_since >= older_than]
        _idle[:] = [b for b in _idle if b not in expired]
    for box in expired:
        box.close()


atexit.register(close_idle)


# --- executors ---------------------------------------------------------------------


def run(func: Callable[[Any], Any], tasks: Iterable[Any], *, jobs: int | None = None,
        executor: str = "local", scheduler: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT, on_failure: OnFailure | None = None,
        memory_mb: int | None = None) -> Iterator[Any]:
    """Yield func(task) for every task, in completion order.

    `func` must be a module-level function (it is pickled by name) that returns its errors
    as values; a TaskTimeout raised inside it at the time limit it may turn into a result
    itself. When a task produces no result (killed at the hard time or memory limit, its
    process crashed, or `func` raised) `on_failure(task, code, message)` is yielded in its
    place (a `TaskFailure` by default). `executor` is ``local`` (worker processes on this
    machine), ``inline`` (this process; no memory limit, SIGALRM time limit only) or
    ``dask`` (a Dask cluster at `scheduler`, or a local one when it is None).
    """
    on_failure = on_failure or _failure
    memory_mb = default_memory_mb() if memory_mb is None else memory_mb
    if executor == "dask":
        yield from _run_dask(func, tasks, scheduler, timeout, on_failure, memory_mb, jobs)
    elif executor == "inline" or os.name != "posix":
        yield from _run_inline(func, tasks, timeout, on_failure)
    elif executor == "local":
        yield from _run_local(func, tasks, jobs or default_jobs(), timeout, on_failure, memory_mb)
    else:
        raise ValueError(f"unknown executor {executor!r}: use local, inline or dask")


def _run_inline(func: Callable[[Any], Any], tasks: Iterable[Any], timeout: float | None,
                on_failure: OnFailure) -> Iterator[Any]:
    for task in tasks:
        try:
            result = with_time_limit(func, task, timeout)
        except TaskTimeout:
            result = on_failure(task, "timeout", f"took longer than the time limit ({timeout:g} s)")
        except Exception as e:  # noqa: BLE001 - one bad task must not stop the run
            result = on_failure(task, "internal", f"{type(e).__name__}: {e}")
        yield result


_DONE = object()


@dataclass
class _Raised:
    error: BaseException


def _run_local(func: Callable[[Any], Any], tasks: Iterable[Any], jobs: int, timeout: float | None,
               on_failure: OnFailure, memory_mb: int) -> Iterator[Any]:
    """`jobs` threads, each feeding one sandbox; tasks are pulled only when a sandbox is free."""
    source = iter(tasks)
    source_lock = threading.Lock()
    results: queue.Queue = queue.Queue(maxsize=jobs)
    stop = threading.Event()
    active: list[Sandbox] = []
    active_lock = threading.Lock()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                results.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def work() -> None:
        box = None
        try:
            while not stop.is_set():
                with source_lock:
                    try:
                        task = next(source)
                    except StopIteration:
                        break
                if box is None:  # only a worker that gets a task starts (or borrows) a sandbox
                    box = _acquire(memory_mb)
                    with active_lock:
                        active.append(box)
                result = box.run(func, task, timeout, on_failure)
                if not stop.is_set():
                    put(result)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            put(_Raised(e))
        finally:
            if box is not None:
                if stop.is_set():  # the caller stopped early: the sandbox may be mid-task
                    box.close()
                else:
                    _release(box)
            put(_DONE)

    threads = [threading.Thread(target=work, name=f"whatworks-worker-{i}", daemon=True) for i in range(jobs)]
    for t in threads:
        t.start()
    finished = 0
    try:
        while finished < len(threads):
            item = results.get()
            if item is _DONE:
                finished += 1
            elif isinstance(item, _Raised):
                raise item.error
            else:
                yield item
    finally:
        stop.set()
        with active_lock, _idle_lock:
            for box in active:
                if box not in _idle:
                    box.kill()
        for t in threads:
            t.join(timeout=10)


# --- Dask --------------------------------------------------------------------------

_local = threading.local()


def _dask_call(func: Callable[[Any], Any], task: Any, timeout: float | None, on_failure: OnFailure,
               memory_mb: int) -> Any:
    """Runs on a Dask worker thread: the task goes to this thread's own sandbox process."""
    box = getattr(_local, "sandbox", None)
    if box is None:
        box = _local.sandbox = Sandbox(memory_mb)
    return box.run(func, task, timeout, on_failure)


def _worker_check() -> str:
    import whatworks

    return getattr(whatworks, "__version__", "?")


def _run_dask(func: Callable[[Any], Any], tasks: Iterable[Any], scheduler: str | None,
              timeout: float | None, on_failure: OnFailure, memory_mb: int,
              jobs: int | None) -> Iterator[Any]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("the Dask executor needs dask[distributed]: pip install 'whatworks[dask]'") from e
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout=30)
    else:  # tasks run in sandbox processes, so one worker process with threads is enough
        cluster = LocalCluster(n_workers=1, threads_per_worker=jobs or default_jobs(), processes=False,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError as e:
            raise RuntimeError(f"the Dask cluster at {scheduler} has no workers after 60 s: "
                               "start some with `dask worker` (see docs/scale.md)") from e
        try:
            versions = client.run(_worker_check)
        except Exception as e:  # noqa: BLE001 - typically whatworks missing on a worker
            raise RuntimeError(f"the Dask workers cannot run whatworks ({type(e).__name__}: {e}); install "
                               "the same whatworks version on every worker (see docs/scale.md)") from e
        if not versions:
            raise RuntimeError(f"the Dask cluster at {scheduler} has no workers: start some with dask-worker")
        threads = sum(client.nthreads().values())
        window = max(4, 2 * threads)  # tasks in flight: enough to keep every thread busy
        source = iter(tasks)
        pending: dict[str, Any] = {}
        done = as_completed()

        def submit() -> bool:
            for task in source:
                future = client.submit(_dask_call, func, task, timeout, on_failure, memory_mb, pure=False)
                pending[future.key] = task
                done.add(future)
                return True
            return False

        for _ in range(window):
            if not submit():
                break
        for future in done:
            task = pending.pop(future.key)
            try:
                result = future.result()
            except Exception as e:  # noqa: BLE001 - e.g. KilledWorker: the task, not the run, fails
                result = on_failure(task, "crashed", f"the Dask task failed: {type(e).__name__}: {e}")
            future.release()
            submit()
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
