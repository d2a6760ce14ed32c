"""A small real review for the workspace tests: 10 Canada evaluations (or, without the shared
corpus, the 10 example reports) read, described, indexed, screened and coded once per test
process, then copied for each test that changes it.

Not a conftest: test_web.py, test_web_security.py and test_web_browser.py import it, and the
module-level cache makes the pipeline run once however many of them run.
"""

from __future__ import annotations

import re
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from project_fixtures import examples

#: The Debian package's Chromium (scripts/setup.sh --test installs it), and how the tests start it.
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

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


@dataclass(frozen=True)
class Sample:
    """What the workspace tests look for in the prepared review: names of its reports and words in
    them. The Canada evaluations with the corpus, the example reports without it."""

    documents: int  # documents in the review (its reports and the hostile one)
    main: str  # the start of the file name of the report most tests act on (the machine includes it)
    title: str  # words of its title
    other: str  # the start of another report's file name
    query: str  # a search that finds passages of the main report…
    marked: str  # …and a word it marks
    odd_kind: str  # a kind only one report has (not an evaluation report)…
    odd_title: str  # …words of that report's title
    not_odd: str  # words of another report's title
    trimmed: str  # a sentence of the main report's item 1 (a reviewer trims the item to it)
    reword: tuple[str, str]  # words of that item, and others a new describer puts instead
    many_items: str  # words of the title of an included report with many items (the browser codes it)


CANADA_SAMPLE = Sample(
    documents=11, main="esdc_021", title="Evaluation of the Employment Insurance Maternity and Parental Benefits",
    other="esdc_036", query="parental benefits", marked="parental", odd_kind="evaluation_plan",
    odd_title="Departmental Evaluation Plan", not_odd="Old Age Security",
    trimmed="The participation rate of male parents was relatively low over the study period (below 13%).",
    reword=("relatively low", "rather low"), many_items="Canada Pension Plan Disability")
EXAMPLES_SAMPLE = Sample(
    documents=len(examples()) + 1, main="en_zambia_tanzania", title="Extending social security to domestic workers in Zambia",
    other="es_guatemala_honduras", query="domestic workers", marked="domestic", odd_kind="terms_of_reference",
    odd_title="Terms of Reference", not_odd="Protección de la maternidad",
    trimmed="The design correctly targeted both institutions and employers, but it underestimated the difficulty "
            "of enforcing contributions in private households.",
    reword=("underestimated", "misjudged"), many_items="Extension de la protection sociale aux travailleurs")


def sample(corpus: Path | None) -> Sample:
    return CANADA_SAMPLE if corpus is not None else EXAMPLES_SAMPLE


def canada_files(corpus: Path) -> list[Path]:
    folder = corpus / "canada"
    return [next(folder.glob(prefix + "*")) for prefix in CANADA]


def review_files(corpus: Path | None) -> list[Path]:
    """The reports of the prepared review: the Canada evaluations, else the example reports."""
    return canada_files(corpus) if corpus is not None else examples()


def _build(corpus: Path | None, hostile: bool) -> Path:
    from whatworks.api import Review

    root = Path(tempfile.mkdtemp(prefix="ww-web-base-")) / "review"
    paths: list[Path] = review_files(corpus)
    if hostile:
        extra = root.parent / "reports"
        extra.mkdir(parents=True)
        (extra / "hostile-report.txt").write_text(HOSTILE, encoding="utf-8")
        paths.append(extra / "hostile-report.txt")
    with Review.create(root, "canada-social-security" if corpus is not None else "ilo-social-protection") as review:
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


def base_project(corpus: Path | None, hostile: bool = True) -> Path:
    """The prepared review (built once per process); do not change it — use `copy_project`.
    `corpus` None: the review of the example reports (no shared corpus)."""
    key = f"{corpus}:{hostile}"
    with _LOCK:
        if key not in _BASE:
            _BASE[key] = _build(corpus, hostile)
        return _BASE[key]


def copy_project(corpus: Path | None, target: Path, hostile: bool = True) -> Path:
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


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    m = CSRF.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)
