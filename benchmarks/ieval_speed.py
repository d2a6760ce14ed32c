"""Speed of the i-eval Discovery import and of a whole review of the export.

1. Reading the export (../shared/corpus/ilo-ieval/EvalDataset.xlsx; about 10,000 item rows): the
   rows read, merged into one record per evaluation, each made a document and a description
   (whatworks.read.ieval.read_export). Target (issue 15): under 30 s.
2. The whole review of the folder (`make review REPORTS=../shared/corpus/ilo-ieval` runs the same
   `whatworks review`): import, screen, code, synthesize, reports, in a new project. Target: under
   2 minutes on 2 cores.

Prints wall time, CPU time (this process + its worker processes) and the load average before and
after: other work on the machine slows the wall time, so read it with the load.

    python benchmarks/ieval_speed.py [--folder ../shared/corpus/ilo-ieval] [--no-review]
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
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("WHATWORKS_SHARED", ROOT.parent / "shared"))


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folder", type=Path, default=SHARED / "corpus" / "ilo-ieval")
    ap.add_argument("--no-review", action="store_true", help="only time reading the export")
    args = ap.parse_args()
    workbook = args.folder / "EvalDataset.xlsx"
    if not workbook.exists():
        print(f"no export at {workbook} (set WHATWORKS_SHARED)", file=sys.stderr)
        return 1
    from whatworks.read import ieval

    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), _cpu()
    records = ieval.read_export([workbook])
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    items = sum(len(d.items) for _, d in records)
    print(f"read {workbook.name}: {len(records)} records, {items} items in {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"(load average {load:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if args.no_review:
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import review_speed  # the whole review, timed stage by stage, as for the report corpus

    base = Path(tempfile.mkdtemp(prefix="whatworks-ieval-speed-"))
    try:
        review_speed.run(base / "review", [args.folder], "ilo-social-protection", f"whole review of {args.folder}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
