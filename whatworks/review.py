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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whatworks.project import DEFAULT_PROTOCOL, PROTOCOL_FILE, Project

log = logging.getLogger(__name__)

STAGES = ("read and describe", "screen", "code", "synthesize", "report")


@dataclass
class ReviewResult:
    project: Project
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage
    lines: list[str] = field(default_factory=list)  # one line of news per stage
    outputs: list[Path] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)  # what each stage did (read, screened, coded…)

    def summary(self) -> str:
        """What a user needs at the end: what was done, and where the outputs are."""
        total = sum(self.stages.values())
        out = [f"Review done in {total:.0f} s: {self.project.root}"]
        out += [f"  {line}" for line in self.lines]
        by_name = {p.name: p for p in self.outputs}
        groups = [("report", ["synthesis.html", "synthesis.docx", "synthesis.md", "synthesis.xlsx"]),
                  ("selection matrix", ["matrix.xlsx", "matrix.csv"]),
                  ("selection flow", ["flow.svg", "flow.png", "prisma_flow.csv"])]
        shown: set[str] = set()
        out.append("Outputs:")
        for label, names in groups:
            present = [by_name[n] for n in names if n in by_name]
            if not present:
                continue
            shown.update(p.name for p in present)
            first = present[0]
            rest = ", ".join(p.name for p in present[1:] if p.parent == first.parent)
            out.append(f"  {label + ':':18s}{first}" + (f"  (also {rest})" if rest else ""))
        figures = [p for p in self.outputs if p.parent.name == "figures" and p.name not in shown]
        if figures:
            out.append(f"  {'figures:':18s}{figures[0].parent}/  ({len({p.stem for p in figures})} figures, "
                       "SVG and PNG)")
        if "synthesis.html" in by_name:
            out.append(f"Open {by_name['synthesis.html']} in a browser; check and correct the machine's decisions "
                       f"with: whatworks serve {self.project.root}")
        return "\n".join(out)


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


def _progress_bar(quiet: bool):
    """A progress callback for add_paths: a bar on a terminal, nothing in a log file or a pipe."""
    state: dict[str, Any] = {}
    show = not quiet and sys.stderr.isatty()

    def update(result, done: int, total: int) -> None:
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
        if protocol:
            log.warning("%s already has a protocol; --protocol %s ignored (edit %s to change it)",
                        root, protocol, root / PROTOCOL_FILE)
        project = Project.open(root)
    else:
        project = Project.init(root, protocol or DEFAULT_PROTOCOL)
    result = ReviewResult(project)
    db = project.db

    def news(line: str) -> None:
        result.lines.append(line)
        if say:
            say(f"      {line}")

    with _Stage(result, "read and describe", say):
        added = add_paths(db, paths, jobs=jobs, executor=executor, scheduler=scheduler, timeout=timeout,
                          progress=_progress_bar(quiet))
        indexed = index(db)
    result.counts.update(read=added.read, unchanged=added.unchanged, failed=added.failed, indexed=indexed)
    news(f"documents: {added.read} read ({added.pages} pages), {added.unchanged} unchanged, "
         f"{added.failed} could not be read")
    for r in added.errors:
        news(f"  could not read {r.path}: {r.error} — {r.fix}")

    with _Stage(result, "screen", say):
        screened = screen(project)
    checked = getattr(screened, "checked", None)
    result.counts.update(screened=checked, included=screened.decisions.get("include", 0))
    news(f"screening: {screened.line().split(' — ')[0]}"
         + (f" ({checked} checked, {screened.documents - checked} unchanged)" if checked is not None else ""))

    with _Stage(result, "code", say):
        coded = code(project)
    result.counts.update(coded=coded.coded, codes=coded.codes)
    news(f"coding: {coded.items} items of {coded.reports} included reports — {coded.coded} coded now "
         f"({coded.codes} theme codes), {coded.skipped} unchanged; {coded.uncoded} fit no theme")

    with _Stage(result, "synthesize", say):
        synthesis = synthesize(project)
    news(f"synthesis: {len(synthesis.themes())} themes with evidence from {synthesis.n_reports} reports, "
         f"{len(synthesis.quotes())} verbatim quotes")

    with _Stage(result, "report", say):
        result.outputs = write_outputs(project, synthesis)
    news("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.stages.items()))
    return result
