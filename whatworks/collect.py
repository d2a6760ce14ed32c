"""collect: find report files, skip what is unchanged, read and describe the rest.

`add_paths` is the ingest step behind `whatworks read` and `whatworks add`. Work on
one file is a pure function (`process_file`) that any executor can run; results are
written by the calling process, one transaction per file, so an interrupted run
resumes where it stopped and never leaves half a document.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from whatworks import corrections
from whatworks import executor as executors
from whatworks.errors import ReadError
from whatworks.model import Description, Document
from whatworks.read import ieval, sha256_file
from whatworks.store import documents as docs
from whatworks.store.base import Store

log = logging.getLogger(__name__)

#: Bumped when describe changes enough that stored descriptions should be redone.
DESCRIBE_VERSION = "1"


def collect(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every file under `paths` (files or folders, recursive), hidden ones skipped, sorted."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and not name.startswith("~$"):
                        yield Path(root) / name
        elif p.exists():
            yield p
        else:
            log.warning("%s: no such file or folder", p)


@dataclass
class FileResult:
    """What happened to one file: its document (packed) and description, or its error."""

    path: str
    sha256: str | None
    size: int
    mtime: float
    document: bytes | None = None
    description: dict | None = None
    error_code: str | None = None
    error: str | None = None
    fix: str | None = None
    read_seconds: float = 0.0
    describe_seconds: float = 0.0
    pages: int = 0
    warnings: list[str] = field(default_factory=list)


def process_file(task: tuple[str, str | None, bool]) -> FileResult:
    """Read (and describe) one file. Never raises: errors come back in the result."""
    from whatworks.read import read_document

    path, sha, describe = task
    try:  # a missing file (a dangling symlink, or not visible on a Dask worker) is a result too
        st = os.stat(path)
    except OSError as e:
        return FileResult(path=path, sha256=sha, size=0, mtime=0.0,
                          error_code="not_found" if e.errno == errno.ENOENT else "unreadable",
                          error=f"the file cannot be opened on {platform.node()}: {e.strerror}",
                          fix="check the path and any symbolic link; on a cluster every worker must see "
                              "the same paths (see docs/scale.md)")
    result = FileResult(path=path, sha256=sha, size=st.st_size, mtime=st.st_mtime)
    try:
        result.sha256 = sha or sha256_file(Path(path))
        t0 = time.perf_counter()
        document = read_document(path, result.sha256)
        result.read_seconds = time.perf_counter() - t0
        result.pages = len(document.pages)
        result.warnings = document.warnings
        if describe:
            from whatworks.describe import describe as describe_document

            t1 = time.perf_counter()
            result.description = describe_document(document).to_dict()
            result.describe_seconds = time.perf_counter() - t1
        result.document = document.pack()
    except ReadError as e:
        result.error_code, result.error, result.fix = e.code, e.message, e.fix
    except executors.TaskTimeout as e:
        limit = e.seconds or executors.DEFAULT_TIMEOUT
        failed = failed_result(task, "timeout", f"took longer than the time limit ({limit:g} s)")
        result.error_code, result.error, result.fix = failed.error_code, failed.error, failed.fix
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the run
        log.debug("failed on %s", path, exc_info=True)
        result.error_code = "internal"
        result.error = f"whatworks failed on this file: {type(e).__name__}: {e}"
        result.fix = "please report this as a bug with the file if you can share it"
    return result


_WARMUP_TEXT = ("Final evaluation of the social protection programme\n\nExecutive summary\n\n"
                "The programme extended social security coverage to domestic workers.\n\n"
                "Recommendations\n\n1. The ministry should continue its support to the institute.\n")


def _warm_up() -> None:
    """Load readers, language models and describe's data once per worker process, so that
    loading them is not charged to the first file's time limit (executor calls it)."""
    import tempfile

    import whatworks.read.docx  # noqa: F401
    import whatworks.read.html  # noqa: F401
    import whatworks.read.pdf  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="whatworks-warmup-") as tmp:
        path = Path(tmp) / "warmup.txt"
        path.write_text(_WARMUP_TEXT, encoding="utf-8")
        process_file((str(path), None, True))


process_file.warmup = _warm_up  # type: ignore[attr-defined]


#: What to tell the user when the executor had to give up on a file (see executor.TaskFailure).
_FAILURES = {
    "timeout": ("timeout", "reading {message}",
                "check the file; raise the limit with --timeout if it is a very long report"),
    "memory": ("too_large", "reading {message}",
               "check the file (a huge or malformed file?); raise WHATWORKS_WORKER_MB if it is a real report"),
    "crashed": ("crashed", "{message} while reading this file",
                "check the file; please report it as a bug if you can share it"),
    "internal": ("internal", "whatworks failed on this file: {message}",
                 "please report this as a bug with the file if you can share it"),
}


def failed_result(task: tuple[str, str | None, bool], code: str, message: str) -> FileResult:
    """The error row for a file the executor gave up on (time or memory limit, crash)."""
    path, sha, _ = task
    try:
        st = os.stat(path)
        size, mtime = st.st_size, st.st_mtime
    except OSError:
        size, mtime = 0, 0.0
    error_code, text, fix = _FAILURES.get(code, _FAILURES["internal"])
    return FileResult(path=path, sha256=sha, size=size, mtime=mtime, error_code=error_code,
                      error=text.format(message=message), fix=fix)


@dataclass
class AddSummary:
    read: int = 0
    unchanged: int = 0
    failed: int = 0
    pages: int = 0
    seconds: float = 0.0
    errors: list[FileResult] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.read} read, {self.unchanged} unchanged (skipped), {self.failed} failed"
                f" — {self.pages} pages in {self.seconds:.1f} s")


def save_result(store: Store, result: FileResult) -> Document | None:
    """Write one file's outcome in a single transaction; returns the document read (None on error)."""
    with store.transaction():
        if result.document is None:
            docs.record_file(store, result.path, result.sha256, result.size, result.mtime, "failed",
                             result.error_code, result.error, result.fix)
            return None
        document = Document.unpack(result.document)
        docs.save_document(store, document, result.read_seconds, packed=result.document)
        if result.description is not None:
            corrections.save_description(store, result.sha256, Description.from_dict(result.description),
                                         result.describe_seconds, DESCRIBE_VERSION)
        docs.record_file(store, result.path, result.sha256, result.size, result.mtime, "read")
        return document


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_name(path: Path) -> FileResult:
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")
    try:
        st = path.stat()
        size, mtime = st.st_size, st.st_mtime
    except OSError:
        size, mtime = 0, 0.0
    return FileResult(path=shown, sha256=None, size=size, mtime=mtime, error_code="bad_name",
                      error="the file name is not valid UTF-8 (written in an older encoding?), so it cannot be "
                            "recorded", fix="rename the file, e.g. `convmv -f latin1 -t utf8 --notest FILE`")


def _export_stamp(path: Path) -> str:
    st = path.stat()
    return json.dumps([st.st_size, st.st_mtime, DESCRIBE_VERSION, ieval.FORMAT])


def add_exports(store: Store, exports: list[Path], summary: AddSummary,
                on_document: Callable[[Document], None] | None = None,
                progress: Callable[[FileResult | None, int, int], None] | None = None) -> None:
    """Read database exports (whatworks.read.ieval) into the store: each evaluation one record,
    with its file row `EXPORT#eval=NUMBER`. The files are read together, so the sheets of one
    export saved as separate CSV files still make one record per evaluation; when none changed
    since the last run nothing is read. Records an export no longer holds lose their file row.
    `progress` is told as `add_paths` tells it of files: first of the export files (read as one, a
    few seconds), then of each record stored and indexed (most of the time)."""
    stamps = {str(p): _export_stamp(p) for p in exports}
    if all(store.get_meta(f"export:{p}") == stamp for p, stamp in stamps.items()):
        summary.unchanged += sum(len(docs.file_paths_under(store, f"{p}#")) for p in stamps)
        return

    def files_done(error: Exception | None = None) -> list[FileResult]:
        results = []
        for i, p in enumerate(exports, 1):
            st = p.stat()
            result = FileResult(path=str(p), sha256=None, size=st.st_size, mtime=st.st_mtime)
            if error is not None:
                result.error_code = "corrupt"
                result.error = f"the database export could not be read: {type(error).__name__}: {error}"
                result.fix = "open the file and save it again (Excel workbook, CSV or JSON lines)"
            results.append(result)
            if progress:
                progress(result, i, len(exports))
        return results

    if progress:
        progress(None, 0, len(exports))
    t0 = time.perf_counter()
    try:
        records = ieval.read_export(exports)
    except Exception as e:  # noqa: BLE001 - a damaged export is one error row, not a crash
        log.debug("export reading failed", exc_info=True)
        for result in files_done(e):
            save_result(store, result)
            summary.failed += 1
            summary.errors.append(result)
        return
    files_done()
    log.info("database export %s: %d records read in %.1f s", ", ".join(p.name for p in exports), len(records),
             time.perf_counter() - t0)
    seconds = (time.perf_counter() - t0) / max(1, len(records))
    seen: set[str] = set()
    if progress:
        progress(None, 0, len(records))
    with store.transaction():
        for n, (document, description) in enumerate(records, 1):
            seen.add(document.source)
            export = Path(document.source.split("#", 1)[0])
            st = export.stat()
            if docs.has_document(store, document.sha256) and docs.described(store, document.sha256,
                                                                             DESCRIBE_VERSION):
                docs.record_file(store, document.source, document.sha256, st.st_size, st.st_mtime, "read")
                summary.unchanged += 1
            else:
                docs.save_document(store, document, seconds)
                corrections.save_description(store, document.sha256, description, 0.0, DESCRIBE_VERSION)
                docs.record_file(store, document.source, document.sha256, st.st_size, st.st_mtime, "read")
                summary.read += 1
                summary.pages += len(document.pages)
                if on_document is not None:
                    on_document(document)
            if progress:
                progress(FileResult(path=document.source, sha256=document.sha256, size=st.st_size,
                                    mtime=st.st_mtime, pages=len(document.pages)), n, len(records))
        for p in stamps:
            gone = [path for path in docs.file_paths_under(store, f"{p}#") if path not in seen]
            if gone:
                docs.forget_files(store, gone)
        for p, stamp in stamps.items():
            store.set_meta(f"export:{p}", stamp)
    log.info("database export: %d records stored in %.1f s", len(records), time.perf_counter() - t0)


def add_paths(store: Store, paths: Iterable[str | Path], *, describe: bool = True, jobs: int | None = None,
              executor: str = "local", scheduler: str | None = None, timeout: float | None = None,
              progress: Callable[[FileResult | None, int, int], None] | None = None,
              on_document: Callable[[Document], None] | None = None) -> AddSummary:
    """Read every new or changed file under `paths` into the store; unchanged files are skipped.

    A file whose content (sha256) is already in the database is recorded without being
    read again. `progress(result, done, total)` is called after each file (`progress(None, 0, total)`
    first; a database export adds two such rounds: its files, then its records); `on_document(document)`
    with each document read, once, while it is in memory (the search index takes it from there).
    """
    start = time.perf_counter()
    summary = AddSummary()
    tasks: list[tuple[str, str | None, bool]] = []
    exports: list[Path] = []
    for path in collect(paths):
        key = str(path)
        if not _storable(key):  # a name that is not UTF-8 cannot be stored: one error row, not a crash
            result = _bad_name(path)
            save_result(store, result)
            summary.failed += 1
            summary.errors.append(result)
            continue
        if ieval.is_export(path):  # a database export: many records, read together below
            exports.append(path)
            continue
        try:
            st = path.stat()
        except OSError:  # a dangling or looping symlink, a file gone since listing: process_file says so
            tasks.append((key, None, describe))
            continue
        if docs.file_unchanged(store, key, st.st_size, st.st_mtime) and (
                not describe or docs.file_described(store, key, DESCRIBE_VERSION)):
            summary.unchanged += 1
            continue
        try:
            sha = sha256_file(path)
        except OSError as e:
            tasks.append((key, None, describe))  # process_file reports the error
            log.debug("cannot hash %s: %s", path, e)
            continue
        if docs.has_document(store, sha) and (not describe or docs.described(store, sha, DESCRIBE_VERSION)):
            docs.record_file(store, key, sha, st.st_size, st.st_mtime, "read")  # same content seen before
            summary.unchanged += 1
            continue
        tasks.append((key, sha, describe))
    if exports:
        add_exports(store, exports, summary, on_document, progress)
    total = len(tasks)
    if progress:
        progress(None, 0, total)
    done = 0
    for result in executors.run(process_file, tasks, jobs=jobs, executor=executor, scheduler=scheduler,
                                timeout=timeout or executors.DEFAULT_TIMEOUT, on_failure=failed_result):
        document = save_result(store, result)
        if document is not None and on_document is not None:
            on_document(document)
        done += 1
        if result.document is not None:
            summary.read += 1
            summary.pages += result.pages
        else:
            summary.failed += 1
            summary.errors.append(result)
        if progress:
            progress(result, done, total)
    summary.seconds = time.perf_counter() - start
    return summary
