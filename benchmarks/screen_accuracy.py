"""Screening accuracy of the canada-social-security protocol on the whole shared corpus.

Reads corpus/canada + iom + idrc + eba into a project with the Canadian protocol, screens it,
and scores the decisions against tests/labels/canada_relevance.yaml (made by reading each
Canada page's title and summary; every non-Canada document is irrelevant):

* recall — relevant reports kept (include or maybe); none may be silently excluded;
* precision of include + maybe — share of the kept reports that are relevant (or borderline);
* precision of include alone.

    .venv/bin/python benchmarks/screen_accuracy.py [--project DIR] [--jobs 2] [--protocol NAME|PATH]

With --project, an existing folder is reused (only new files are read), so re-runs after a
change to the screen or the protocol take seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whatworks.api import Review  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"
LABELS = ROOT / "tests" / "labels" / "canada_relevance.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", type=Path, help="project folder to (re)use")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--protocol", default="canada-social-security")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every kept or relevant document")
    args = ap.parse_args()
    root = args.project or Path(tempfile.mkdtemp(prefix="ww-screen-"))
    review = Review.open_or_create(root, protocol=args.protocol)
    t = time.perf_counter()
    summary = review.add([SHARED / d for d in ("canada", "iom", "idrc", "eba")], jobs=args.jobs)
    print(f"read: {summary.line()} ({time.perf_counter() - t:.0f} s)")
    t = time.perf_counter()
    s = review.screen()
    print(f"screen: {s.line()}")
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))["documents"]

    def label(source: str) -> str:
        p = Path(source)
        if p.parent.name != "canada":
            return "no"
        v = labels.get(p.name, {}).get("relevant")
        return "yes" if v is True else "borderline" if v == "borderline" else "no"

    rows = review.screening()
    by = Counter()
    misses, false_pos = [], []
    for r in rows:
        lab = label(r["source"])
        kept = r["decision"] in ("include", "maybe")
        by[(lab, r["decision"])] += 1
        if lab == "yes" and not kept:
            misses.append(r)
        if lab == "no" and kept:
            false_pos.append(r)
        if args.verbose and (kept or lab != "no"):
            print(f"  {r['decision']:8} {r['stage']:12} [{lab:10}] {Path(r['source']).name[:90]}")
    relevant = sum(v for (lab, _), v in by.items() if lab == "yes")
    kept_rel = sum(v for (lab, d), v in by.items() if lab == "yes" and d in ("include", "maybe"))
    kept = sum(v for (_, d), v in by.items() if d in ("include", "maybe"))
    kept_ok = sum(v for (lab, d), v in by.items() if lab != "no" and d in ("include", "maybe"))
    inc = sum(v for (_, d), v in by.items() if d == "include")
    inc_ok = sum(v for (lab, d), v in by.items() if lab != "no" and d == "include")
    inc_rel = sum(v for (lab, d), v in by.items() if lab == "yes" and d == "include")
    print(f"documents: {len(rows)} records; relevant {relevant}, borderline "
          f"{sum(v for (lab, _), v in by.items() if lab == 'borderline')}")
    print("decisions by label: " + ", ".join(f"{lab}/{d}: {v}" for (lab, d), v in sorted(by.items())))
    print(f"recall (relevant kept as include or maybe): {kept_rel}/{relevant} = {kept_rel / max(relevant, 1):.3f}"
          f"   (relevant included outright: {inc_rel}/{relevant})")
    print(f"precision of include + maybe: {kept_ok}/{kept} = {kept_ok / max(kept, 1):.3f}")
    print(f"precision of include alone:   {inc_ok}/{inc} = {inc_ok / max(inc, 1):.3f}")
    for r in misses:
        why = next((x["reason"] for x in r["reasons"] if x["decision"] == "exclude"), "")
        print(f"  MISSED {r['source']}: {r['stage']} — {why[:300]}")
    for r in false_pos:
        why = next((x["reason"] for x in r["reasons"] if x["criterion"] == "content"), "")
        print(f"  KEPT (irrelevant) {Path(r['source']).name}: {r['decision']} — {why[:300]}")
    print(f"screen time: {s.seconds:.1f} s for {s.records} records")


if __name__ == "__main__":
    main()
