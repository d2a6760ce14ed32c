"""Whole-review speed: `whatworks review` of the shared corpus (≈300 documents), then again after
adding one report — which must redo only that report.

Prints, per stage, the wall time, the CPU time of the main process and of the worker processes,
and the machine's load average before and after (other work on the machine slows every figure:
read them with the load). Target (the issue): the first review in under 2 minutes on a 2-core
machine; the re-run after one new report in a few seconds.

    python benchmarks/review_speed.py [--corpus DIR] [--protocol canada-social-security] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("WHATWORKS_SHARED", ROOT.parent / "shared"))
NEW_REPORT = ROOT / "whatworks" / "data" / "examples" / "en_asean_unemployment_insurance_final_2018.md"


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def run(project: Path, paths: list[Path], protocol: str, label: str) -> dict:
    from whatworks import executor
    from whatworks.api import Review

    load = os.getloadavg()[0]
    t0, (c0, k0) = time.perf_counter(), _cpu()
    with Review.open_or_create(project, protocol=protocol) as review:
        result = review.run(paths)
    executor.close_idle()  # reap the workers, so that their CPU time is counted
    wall, (c1, k1) = time.perf_counter() - t0, _cpu()
    print(f"\n{label}: {wall:.1f} s wall; CPU {c1 - c0:.1f} s main + {k1 - k0:.1f} s workers; "
          f"load average {load:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for stage, seconds in result.stages.items():
        print(f"  {stage:32s} {seconds:6.1f} s")
    for line in result.lines:
        print(f"  | {line}")
    return result.counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    ap.add_argument("--protocol", default="canada-social-security")
    ap.add_argument("--keep", type=Path, help="keep the review project here (default: a temporary folder)")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus} (set WHATWORKS_SHARED)", file=sys.stderr)
        return 1
    base = Path(tempfile.mkdtemp(prefix="whatworks-review-speed-"))
    project = args.keep or base / "review"
    if project.exists():
        shutil.rmtree(project)
    extra = base / "new"
    extra.mkdir()
    try:
        first = run(project, [args.corpus], args.protocol, f"first review of {args.corpus}")
        # one new report (a copy made unique) in a folder reviewed alongside the corpus
        text = NEW_REPORT.read_text(encoding="utf-8") + f"\n\nAdded for the speed benchmark at {time.time()}.\n"
        (extra / "new_report.md").write_text(text, encoding="utf-8")
        second = run(project, [args.corpus, extra], args.protocol, "re-run after adding one report")
        print(f"\nre-run: {second.get('read')} read, {second.get('screened')} screened, {second.get('coded')} "
              f"items coded (first review: {first.get('read')}, {first.get('screened')}, {first.get('coded')})")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
