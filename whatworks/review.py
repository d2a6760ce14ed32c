"""review: the whole pipeline in one call — init, add, screen, code, synthesize, report.

Each stage is incremental, so running a review again after adding one report redoes
only what that report changes, and never touches a reviewer's decisions.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from whatworks.project import DEFAULT_PROTOCOL, PROTOCOL_FILE, Project

log = logging.getLogger(__name__)


@dataclass
class ReviewResult:
    project: Project
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage
    lines: list[str] = field(default_factory=list)  # one line of news per stage
    outputs: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        total = sum(self.stages.values())
        out = [f"review of {self.project.root} done in {total:.1f} s"]
        out += [f"  {line}" for line in self.lines]
        out.append("outputs:")
        out += [f"  {p}" for p in self.outputs]
        return "\n".join(out)


def write_outputs(project: Project, synthesis=None) -> list[Path]:
    """Selection flow, matrix, selection figures, and the synthesis reports in every format."""
    from whatworks import selection
    from whatworks.report import write_reports

    out = project.output_dir
    paths: list[Path] = []
    paths += selection.write_flow(project.db, out)
    paths += selection.write_matrix(project, out)
    paths += selection.write_selection_figures(project.db, out)
    paths += write_reports(project, synthesis)
    return paths


def _stage(result: ReviewResult, name: str, quiet: bool):
    """Time a stage and say it started (the library logs; the CLI speaks plainly)."""

    class _Timer:
        def __enter__(self):
            if not quiet:
                print(f"{name}…", file=sys.stderr, flush=True)
            self.t0 = time.perf_counter()
            return self

        def __exit__(self, *exc):
            result.stages[name] = time.perf_counter() - self.t0
            return False

    return _Timer()


def run_review(root: str | Path, paths: list[str | Path], *, protocol: str | None = None,
               jobs: int | None = None, executor: str = "local", scheduler: str | None = None,
               timeout: float | None = None, quiet: bool = False) -> ReviewResult:
    """Run every stage of a review of the reports under `paths` into the project at `root`."""
    from whatworks.cli import _progress
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

    with _stage(result, "read and describe", quiet):
        added = add_paths(db, paths, jobs=jobs, executor=executor, scheduler=scheduler, timeout=timeout,
                          progress=_progress("reading", quiet))
        index(db)
    result.lines.append(f"documents: {added.line()}")
    for r in added.errors:
        result.lines.append(f"  could not read {r.path}: {r.error} — {r.fix}")

    with _stage(result, "screen", quiet):
        screened = screen(project)
    result.lines.append(f"screening: {screened.line() if hasattr(screened, 'line') else screened}")

    with _stage(result, "code", quiet):
        coded = code(project)
    result.lines.append(f"coding: {coded.line() if hasattr(coded, 'line') else coded}")

    with _stage(result, "synthesize", quiet):
        synthesis = synthesize(project)

    with _stage(result, "report", quiet):
        result.outputs = write_outputs(project, synthesis)
    result.lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.stages.items()))
    return result
