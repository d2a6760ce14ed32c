"""The project's own reports, for tests that must run without the shared corpus.

`../shared/corpus` (or $WHATWORKS_SHARED) holds the real documents CI tests on; a fresh clone
does not have it. Every stage still has tests on what ships with the repository:

- `EXAMPLES`: whatworks/data/examples, ten ILO-template reports (EN/FR/ES/PT, Markdown and
  DOCX; nine evaluations, one terms of reference, a mid-term and the final of one project);
- `UNSEEN`: tests/fixtures/unseen, 44 short reports of many organisations and kinds (MD, TXT,
  DOCX, PDF) with their hand labels (`unseen_labels()`).

`varied_reports` makes as many distinct small files as a test needs from them. Nothing here
reads or copies the shared corpus.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("WHATWORKS_SHARED", ROOT.parent / "shared"))
EXAMPLES = ROOT / "whatworks" / "data" / "examples"
UNSEEN = ROOT / "tests" / "fixtures" / "unseen"
REPORT_SUFFIXES = (".md", ".txt", ".docx", ".pdf", ".html")


def have_corpus() -> bool:
    """Whether the shared corpus is there (CI has it; a fresh clone does not)."""
    return (SHARED / "corpus").is_dir()


NO_CORPUS = f"the shared corpus is not at {SHARED} (set WHATWORKS_SHARED)"


def examples() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in REPORT_SUFFIXES)


def example(prefix: str) -> Path:
    """The example report whose file name starts with `prefix`."""
    [path] = [p for p in examples() if p.name.startswith(prefix)]
    return path


def unseen() -> list[Path]:
    return sorted(p for p in UNSEEN.iterdir() if p.is_file() and p.suffix in REPORT_SUFFIXES)


def pdf_review(root: Path, screen: bool = False) -> tuple[Path, str]:
    """A review at `root` of one PDF report of the project's own fixtures (screened if asked):
    the review's folder and the report's sha256."""
    from whatworks.api import Review

    pdf = next(p for p in unseen() if p.name == "ilo_midterm_en_bangladesh.pdf")
    with Review.create(root) as review:
        review.add([pdf], jobs=1)
        if screen:
            review.screen()
    return root, hashlib.sha256(pdf.read_bytes()).hexdigest()


@cache
def unseen_labels() -> dict[str, dict]:
    """File name → hand labels (kind, year, countries, language, organisation, item counts…)."""
    return yaml.safe_load((UNSEEN / "labels.yaml").read_text(encoding="utf-8"))["documents"]


def by_size(paths: list[Path]) -> list[Path]:
    return sorted(paths, key=lambda p: (p.stat().st_size, p.name))


def varied_reports(folder: Path, n: int, *, suffixes: tuple[str, ...] = (".md", ".txt", ".docx", ".pdf"),
                   sources: list[Path] | None = None, annexes: int = 0) -> list[Path]:
    """`n` distinct report files in `folder`, from the examples and the unseen fixtures (smallest first).

    When more files are asked for than there are sources, text files are copied again with a
    closing paragraph of their own, so every file has its own content (and its own sha256); binary
    formats are only ever copied once. `annexes` > 0 makes each text file longer: its body is
    repeated that many times as numbered annexes (more work for each file, for timing tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    pool = sources if sources is not None else by_size([p for p in examples() + unseen() if p.suffix in suffixes])
    texts = [p for p in pool if p.suffix in (".md", ".txt")]
    if len(pool) < n and not texts:
        raise ValueError(f"cannot make {n} distinct reports from {len(pool)} files")

    def write(source: Path, target: Path, note: str = "") -> Path:
        if source.suffix not in (".md", ".txt"):
            return Path(shutil.copyfile(source, target))
        body = source.read_text(encoding="utf-8").rstrip("\n")
        parts = [body] + [f"Annex {i}. Appendix {i}\n\n{body}" for i in range(1, annexes + 1)]
        target.write_text("\n\n".join(parts) + (f"\n\n{note}\n" if note else "\n"), encoding="utf-8")
        return target

    out = [write(p, folder / p.name) for p in pool[:n]]
    round_ = 1
    while len(out) < n:
        for p in texts[: n - len(out)]:
            out.append(write(p, folder / f"{p.stem}-copy{round_}{p.suffix}",
                             f"Copy {round_} of this report, kept for a test of its own."))
        round_ += 1
    return out


def corpus_params(values: list, reason: str = "") -> list:
    """Parameters of a test over documents of the shared corpus: `values` when it is there, else one
    skipped parameter (one skip for the test, not one for each document it would have read)."""
    import pytest

    if have_corpus():
        return values
    n = len(values[0]) if values and isinstance(values[0], tuple) else 1
    empty = (None,) * n
    return [pytest.param(*empty, marks=pytest.mark.skip(reason=NO_CORPUS + (f": {reason}" if reason else "")),
                         id="no-corpus")]


def copy_review(review, dest: Path):
    """A private copy of a built review (SQLite backup API), for tests that change decisions."""
    import sqlite3

    from whatworks.api import Review

    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(review.project.protocol_path, dest / "protocol.yaml")
    shutil.copyfile(review.project.codebook_path, dest / "codebook.yaml")
    target = sqlite3.connect(dest / "review.db")
    review.store.conn.connection.driver_connection.backup(target)
    target.close()
    return Review.open(dest)


def check_matrix_files(rows: list[dict], paths: list[Path], folder: Path) -> None:
    """matrix.xlsx and matrix.csv as written for `rows`: one line each and the seed's columns."""
    import csv

    from openpyxl import load_workbook

    ws = load_workbook(folder / "matrix.xlsx")["Matrix"]
    assert ws.max_row == len(rows) + 1 and ws.cell(1, 1).value == "Report No."
    heads = [c.value for c in ws[1]]
    for head in ("Title", "Type", "Timing", "Evaluator", "Region(s)", "Countries", "Theme(s)",
                 "Funding source/donors", "Year", "Language", "Project codes", "Stage reached", "Decision",
                 "Reasons", "Quality score", "Human decision"):
        assert head in heads
    with open(folder / "matrix.csv", newline="", encoding="utf-8-sig") as f:
        assert len(list(csv.reader(f))) == len(rows) + 1
    assert {p.name for p in paths} == {"matrix.xlsx", "matrix.csv"}
