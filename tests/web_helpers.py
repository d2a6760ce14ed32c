"""A small real review for the workspace tests: 10 Canada evaluations read, described, indexed,
screened and coded once per test process, then copied for each test that changes it.

Not a conftest: test_web.py, test_web_security.py and test_web_browser.py import it, and the
module-level cache makes the pipeline run once however many of them run.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

CANADA = ("esdc_002_", "esdc_021_", "esdc_027_", "esdc_034_", "esdc_036_", "esdc_062_", "esdc_085_",
          "esdc_099_", "esdc_116_", "esdc_169_")

#: A report whose text tries to run script: the workspace must show it as text.
HOSTILE = """<script>window.__pwned=1</script> Evaluation of the <img src=x onerror="window.__pwned=2"> Pension Pilot

Executive summary

This evaluation of the pension pilot programme found that <script>window.__pwned=3</script> coverage of
old age pensions improved for women workers. Social protection and social security benefits reached
more households.

Findings

Finding 1: The pension pilot increased coverage of social security among informal workers.

Recommendations

Recommendation 1: Extend the pension pilot to all provinces. <b onmouseover="window.__pwned=4">bold</b>
"""

# argon2id stays argon2id, only cheaper: each hash costs ~0.5 s with the production parameters
from whatworks import team as _team  # noqa: E402

_team.HASH_PARAMS.update(time_cost=1, memory_cost=8192, parallelism=1)

_BASE: dict[str, Path] = {}
_LOCK = threading.Lock()


def canada_files(corpus: Path) -> list[Path]:
    folder = corpus / "canada"
    return [next(folder.glob(prefix + "*")) for prefix in CANADA]


def _build(corpus: Path, hostile: bool) -> Path:
    from whatworks.api import Review

    root = Path(tempfile.mkdtemp(prefix="ww-web-base-")) / "review"
    paths: list[Path] = canada_files(corpus)
    if hostile:
        extra = root.parent / "reports"
        extra.mkdir(parents=True)
        (extra / "hostile-report.txt").write_text(HOSTILE, encoding="utf-8")
        paths.append(extra / "hostile-report.txt")
    with Review.create(root, "canada-social-security") as review:
        review.add(paths, jobs=2)
        review.screen()
        review.code(llm=None)
        review.store.raw("PRAGMA wal_checkpoint(TRUNCATE)")  # the copies leave the -wal file behind
    return root


def add_user(project: Path, name: str, role: str, password: str, database: str | None = None):
    """An account, as `whatworks user add` makes it."""
    from whatworks.api import Review

    with Review.open(project, database=database) as review:
        return review.save_user(name, role, password)


def base_project(corpus: Path, hostile: bool = True) -> Path:
    """The prepared review (built once per process); do not change it — use `copy_project`."""
    key = f"{corpus}:{hostile}"
    with _LOCK:
        if key not in _BASE:
            _BASE[key] = _build(corpus, hostile)
        return _BASE[key]


def copy_project(corpus: Path, target: Path, hostile: bool = True) -> Path:
    """A private copy of the prepared review at `target`."""
    source = base_project(corpus, hostile)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The workspace served by uvicorn in a thread (for the browser)."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("the workspace server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
