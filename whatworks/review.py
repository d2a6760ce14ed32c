"""review: the whole pipeline in one call — init, add, screen, code, synthesize, report.

Each stage is incremental, so running a review again after adding one report redoes
only what that report changes (it alone is read, described, indexed, screened and coded;
figures are redrawn only when what they show changed), and never touches a reviewer's
decisions.

The library logs; `run_review(..., say=print)` also says what it is doing, one plain line a
stage, for the CLI.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whatworks.project import DEFAULT_PROTOCOL, PROTOCOL_FILE, Project

log = logging.getLogger(__name__)

STAGES = ("reading and describing reports", "screening", "coding", "synthesizing", "writing the reports")


@dataclass
class ReviewResult:
    project: Project
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage
    lines: list[str] = field(default_factory=list)  # one line of news per stage
    outputs: list[Path] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)  # what each stage did (read, screened, coded…)
    said: bool = False  # the stage lines were already said as the run went

    def summary(self) -> str:
        """What a user needs at the end: what was done, and where the outputs are."""
        total = sum(self.stages.values())
        c = self.counts
        head = f"Review of {self.project.root} done in {total:.0f} s"
        if "records" in c:
            head += (f": {c.get('included', 0)} of {c['records']} records included, {c.get('themes', 0)} themes with "
                     f"evidence, {c.get('quotes', 0)} verbatim quotes")
        out = [head + "."]
        if not self.said:
            out += [f"  {line}" for line in self.lines]
        out += self.outputs_lines()
        return "\n".join(out)

    def outputs_lines(self) -> list[str]:
        folder = self.project.output_dir
        by_name = {p.name: p for p in self.outputs}

        def rel(p: Path) -> str:
            try:
                return str(p.relative_to(folder))
            except ValueError:
                return str(p)

        rows = []
        for label, first, others in (
                ("the report", "synthesis.html", ["synthesis.docx", "synthesis.md", "synthesis.xlsx"]),
                ("selection matrix", "matrix.xlsx", ["matrix.csv"]),
                ("selection flow", "flow.svg", ["flow.png", "prisma_flow.csv"])):
            if first in by_name:
                also = [rel(by_name[n]) for n in others if n in by_name]
                rows.append((rel(by_name[first]), label + (f" (also {', '.join(also)})" if also else "")))
        figures = {p.stem for p in self.outputs if p.parent.name == "figures"}
        if figures:
            rows.append(("figures/", f"{len(figures)} figures, SVG and PNG"))
        if not rows:
            return []
        width = max(len(a) for a, _ in rows) + 2
        out = [f"Outputs, in {folder}:"] + [f"  {a:<{width}}{b}" for a, b in rows]
        if "synthesis.html" in by_name:
            out.append(f"Next: open {by_name['synthesis.html']} in a browser, and check the machine's decisions "
                       f"with `whatworks serve {self.project.root}`.")
        return out


def write_outputs(project: Project, synthesis=None) -> list[Path]:
    """The matrix, and the synthesis reports in every format with their figures (the selection flow
    and figures 1 and 3 among them, drawn once, into output/figures/)."""
    from whatworks import selection
    from whatworks.report import write_reports

    out = project.output_dir
    paths: list[Path] = []
    paths += selection.write_matrix(project, out)
    paths += write_reports(project, synthesis)
    return paths


class _Stage:
    """Times a stage and says it started (one plain line; the library itself only logs)."""

    def __init__(self, result: ReviewResult, name: str, say: Callable[[str], None] | None):
        self.result, self.name, self.say = result, name, say

    def __enter__(self):
        if self.say:
            n = STAGES.index(self.name) + 1 if self.name in STAGES else 0
            self.say(f"[{n}/{len(STAGES)}] {self.name}…")
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.result.stages[self.name] = time.perf_counter() - self.t0
        return False

    def news(self, line: str) -> None:
        """The stage's one line of news, with its time, said and kept for the summary."""
        line = f"{line} — {self.result.stages.get(self.name, time.perf_counter() - self.t0):.1f} s"
        self.result.lines.append(line)
        if self.say:
            self.say(f"      {line}")


def _warm_up(project: Project) -> threading.Thread | None:
    """Load what coding needs (the language identifier, the embedding model, the codebook's theme
    vectors) in a thread while the workers read: otherwise it is seconds on the critical path after
    reading. The theme vectors go to the embeddings cache through the thread's own connection (the
    SQLite file only); coding then finds them there, computed the same way."""
    if getattr(project, "database_url", None) is not None:
        return None

    def work() -> None:
        from whatworks.store import Database

        try:
            from whatworks.coding import Coder, Embedder
            from whatworks.language import detect

            detect("warm up the language identifier")
            db = Database(project.db_path)
            try:
                Coder(project.codebook(), Embedder(db)).theme_matrix  # noqa: B018 - computed and cached
            finally:
                db.close()
        except Exception as e:  # noqa: BLE001 - only a head start: coding does it itself if this failed
            log.debug("warm-up for coding failed: %s", e)

    thread = threading.Thread(target=work, name="whatworks-warm-up", daemon=True)
    thread.start()
    return thread


def _index_as_read(db) -> Callable[[Any], None]:
    """Index each document as soon as it is stored, while the workers read the next ones."""
    from whatworks.search import index_document

    def on_result(result) -> None:
        if result is None or result.document is None or not result.sha256:
            return
        try:
            row = db.one("SELECT updated_at FROM descriptions WHERE sha256 = ?", (result.sha256,))
            index_document(db, db.document(result.sha256), db.description(result.sha256),
                           row["updated_at"] if row else None)
        except Exception as e:  # noqa: BLE001 - search.index() after reading catches up on anything missed
            log.debug("indexing %s while reading failed: %s", result.path, e)

    return on_result


def progress_bar(quiet: bool, also: Callable[[Any], None] | None = None):
    """A progress callback for add_paths: a bar on a terminal, nothing in a log file or a pipe.
    `also(result)` is called for every file done."""
    state: dict[str, Any] = {}
    show = not quiet and sys.stderr.isatty()

    def update(result, done: int, total: int) -> None:
        if also is not None and result is not None:
            also(result)
        if not show:
            return
        if result is None:
            from tqdm import tqdm

            state["bar"] = tqdm(total=total, desc="    reading", unit="file", file=sys.stderr,
                                disable=total == 0, mininterval=0.5, leave=False)
            return
        bar = state.get("bar")
        if bar is not None:
            bar.update(1)
            if done == total:
                bar.close()

    return update


def _same_protocol(project: Project, protocol: str) -> bool:
    """Whether `protocol` (a name or a file) is the one the project already has (then nothing to say)."""
    try:
        if Path(protocol).is_file():
            return Path(protocol).read_bytes() == project.protocol_path.read_bytes()
        return project.protocol().name == protocol
    except Exception:  # noqa: BLE001 - when in doubt, say it
        return False


def run_review(root: str | Path, paths: list[str | Path], *, protocol: str | None = None,
               jobs: int | None = None, executor: str = "local", scheduler: str | None = None,
               timeout: float | None = None, quiet: bool = False,
               say: Callable[[str], None] | None = None) -> ReviewResult:
    """Run every stage of a review of the reports under `paths` into the project at `root`.

    `say`: called with one plain line as each stage starts and ends (the CLI passes a printer
    to stderr); `quiet`: no progress bar.
    """
    from whatworks.coding import code
    from whatworks.collect import add_paths
    from whatworks.screen import screen
    from whatworks.search import index
    from whatworks.synthesize import synthesize

    root = Path(root)
    if (root / PROTOCOL_FILE).exists():
        project = Project.open(root)
        if protocol and not _same_protocol(project, protocol):
            log.warning("%s already has a protocol; --protocol %s ignored (edit %s to change it)",
                        root, protocol, root / PROTOCOL_FILE)
    else:
        project = Project.init(root, protocol or DEFAULT_PROTOCOL)
    result = ReviewResult(project, said=say is not None)
    db = project.db

    warm = _warm_up(project)
    with _Stage(result, STAGES[0], say) as stage:
        index(db)  # (brings the index to the current version before documents join it one by one)
        added = add_paths(db, paths, jobs=jobs, executor=executor, scheduler=scheduler, timeout=timeout,
                          progress=progress_bar(quiet, _index_as_read(db)))
        indexed = index(db)
    result.counts.update(read=added.read, unchanged=added.unchanged, failed=added.failed, indexed=indexed)
    stage.news(f"documents: {added.read} read ({added.pages} pages), {added.unchanged} unchanged, "
               f"{added.failed} could not be read")
    for r in added.errors:
        result.lines.append(f"  could not read {r.path}: {r.error} — {r.fix}")
        if say:
            say(f"        could not read {r.path}: {r.error} — {r.fix}")

    with _Stage(result, STAGES[1], say) as stage:
        screened = screen(project)
    d = screened.decisions
    checked = getattr(screened, "checked", None)
    result.counts.update(records=screened.records, included=d.get("include", 0), screened=checked)
    supplementary = screened.stages.get("supplementary", 0)
    parts = [f"{d.get('include', 0)} included" + (f" ({supplementary} supplementary)" if supplementary else "")]
    parts += [f"{d[k]} {label}" for k, label in (("maybe", "for a reviewer to decide"), ("exclude", "excluded"),
                                                   ("duplicate", "duplicates"), ("error", "unreadable")) if d.get(k)]
    line = f"screening: {screened.records} records, " + ", ".join(parts)
    if checked is not None:
        line += f"; {checked} checked now, {screened.documents - checked} unchanged"
    if screened.human:
        line += f"; {screened.human} reviewer decision{'s' if screened.human != 1 else ''} kept"
    stage.news(line)

    with _Stage(result, STAGES[2], say) as stage:
        if warm is not None:
            warm.join()
        coded = code(project)
    result.counts.update(coded=coded.coded, codes=coded.codes)
    stage.news(f"coding: {coded.items} items of {coded.reports} included reports: {coded.coded} coded now "
               f"({coded.codes} theme codes), {coded.skipped} unchanged; {coded.uncoded} fit no theme")

    with _Stage(result, STAGES[3], say) as stage:
        synthesis = synthesize(project)
    result.counts.update(themes=len(synthesis.themes()), quotes=len(synthesis.quotes()))
    stage.news(f"synthesis: {len(synthesis.themes())} themes with evidence from {synthesis.n_reports} reports, "
               f"{len(synthesis.quotes())} verbatim quotes")

    with _Stage(result, STAGES[4], say) as stage:
        result.outputs = write_outputs(project, synthesis)
    stage.news(f"reports: {len(result.outputs)} files written in {project.output_dir}")
    return result
