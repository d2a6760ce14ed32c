"""How fast does `read` go on the real corpus? One process, every file under shared/corpus.

Prints, per format: files, pages, seconds, pages/s; then PDF pages per second per core
(text-layer PDFs only, OCR excluded), peak memory (ru_maxrss), and — when
whatworks.describe exists — the time `describe` takes on the same documents.

    .venv/bin/python benchmarks/read_speed.py [corpus-dir] [--repeat N] [--no-describe] [--no-ocr]

--no-ocr sets WHATWORKS_OCR=off: image-only pages inside text PDFs are then skipped with a
warning, and every PDF counts in the per-core figure.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whatworks.errors import ReadError  # noqa: E402
from whatworks.read import read_document, sniff  # noqa: E402

DEFAULT_CORPUS = Path(os.environ.get("WHATWORKS_SHARED", ROOT.parent / "shared")) / "corpus"
SKIP_SUFFIXES = {".jsonl", ".json", ".csv"}  # data files, not reports


def peak_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 2**20  # KiB on Linux, bytes on macOS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=1, help="read everything N times (steadier figures)")
    parser.add_argument("--no-describe", action="store_true", help="skip timing describe")
    parser.add_argument("--no-ocr", action="store_true", help="never run Tesseract (WHATWORKS_OCR=off)")
    args = parser.parse_args()
    if args.no_ocr:
        os.environ["WHATWORKS_OCR"] = "off"
    files = sorted(p for p in args.corpus.rglob("*") if p.is_file() and p.suffix.lower() not in SKIP_SUFFIXES)
    if not files:
        sys.exit(f"no files under {args.corpus}")

    try:
        from whatworks.describe import describe
    except Exception as e:  # being written by others: time it only when it imports
        describe = None
        print(f"describe: not timed ({type(e).__name__}: {e})")
    if args.no_describe:
        describe = None

    stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    errors: list[str] = []
    describe_seconds = 0.0
    describe_docs = 0
    describe_errors: list[str] = []
    cpu_pdf = 0.0
    pdf_text_pages = 0
    ocr_pages = 0
    start_all = time.perf_counter()
    for _ in range(args.repeat):
        for path in files:
            try:
                fmt = sniff(path)
            except ReadError as e:
                fmt = "unreadable"
                errors.append(f"{path.name}: {e}")
                continue
            t0 = time.perf_counter()
            c0 = time.process_time()
            try:
                doc = read_document(path)
            except ReadError as e:
                errors.append(f"{path.name}: [{e.code}] {e}")
                continue
            seconds = time.perf_counter() - t0
            cpu = time.process_time() - c0
            s = stats[fmt]
            s["files"] += 1
            s["pages"] += len(doc.pages)
            s["seconds"] += seconds
            if fmt == "pdf":
                if doc.ocr or any("read by OCR" in w for w in doc.warnings):
                    ocr_pages += len(doc.pages)  # Tesseract time would swamp the figure
                else:
                    cpu_pdf += cpu
                    pdf_text_pages += len(doc.pages)
            if describe is not None:
                t1 = time.perf_counter()
                try:
                    describe(doc)
                    describe_docs += 1
                except Exception as e:  # report, keep timing the rest
                    describe_errors.append(f"{path.name}: {type(e).__name__}: {e}")
                describe_seconds += time.perf_counter() - t1
            del doc
            gc.collect(0)
    total = time.perf_counter() - start_all

    print(f"corpus: {args.corpus}  ({len(files)} files, read {args.repeat}x)")
    print(f"{'format':<10} {'files':>6} {'pages':>7} {'seconds':>9} {'pages/s':>9}")
    for fmt, s in sorted(stats.items()):
        rate = s["pages"] / s["seconds"] if s["seconds"] else 0
        print(f"{fmt:<10} {int(s['files']):>6} {int(s['pages']):>7} {s['seconds']:>9.2f} {rate:>9.1f}")
    if pdf_text_pages:
        print(f"PDF text-layer pages per second per core (CPU time, OCR'd files excluded): "
              f"{pdf_text_pages / cpu_pdf:.1f}  ({pdf_text_pages} pages, {cpu_pdf:.2f} s CPU)")
    if ocr_pages:
        print(f"PDF files with OCR'd pages: {ocr_pages} pages in all (left out of the per-core figure)")
    print(f"total wall time: {total:.2f} s")
    print(f"peak memory (ru_maxrss): {peak_mb():.0f} MB")
    if describe is not None:
        rate = describe_docs / describe_seconds if describe_seconds else 0
        print(f"describe: {describe_docs} documents in {describe_seconds:.2f} s ({rate:.1f} documents/s)")
        for line in describe_errors[:10]:
            print(f"  describe error: {line}")
    if errors:
        print(f"read errors: {len(errors)}")
        for line in errors[:20]:
            print(f"  {line}")


if __name__ == "__main__":
    main()
