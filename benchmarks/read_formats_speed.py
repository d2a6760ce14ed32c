"""How fast the HTML, Markdown, text and DOCX readers alone are on the real corpus (one process).

    .venv/bin/python benchmarks/read_formats_speed.py [--repeat 3] [--annotate]

Prints, per set: files, MB, blocks, seconds (best of --repeat) and ms per file. The readers
are timed without sniffing or language annotation; `--annotate` times read_document instead.
(benchmarks/read_speed.py times the whole `read` step over every format, PDF included.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("WHATWORKS_SHARED", ROOT.parent / "shared"))


def main() -> None:
    from whatworks.read import read_document
    from whatworks.read.docx import read_docx
    from whatworks.read.html import read_html
    from whatworks.read.text import read_markdown, read_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--annotate", action="store_true", help="time read_document (sniff + language too)")
    args = parser.parse_args()
    corpus = SHARED / "corpus"
    sets = {
        "html (canada)": (read_html, sorted((corpus / "canada").glob("*.html"))),
        "markdown (idrc)": (read_markdown, sorted((corpus / "idrc").rglob("*.md"))),
        "text (seed)": (read_text, sorted((SHARED / "seed").glob("*.txt"))),
        "docx (iom)": (read_docx, sorted((corpus / "iom").rglob("*.docx"))),
    }
    print(f"{'set':<18} {'files':>5} {'MB':>6} {'blocks':>7} {'seconds':>8} {'ms/file':>8}")
    for name, (reader, files) in sets.items():
        size = sum(f.stat().st_size for f in files) / 2**20
        best, blocks = float("inf"), 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            docs = [read_document(f) if args.annotate else reader(f, "0" * 64) for f in files]
            best = min(best, time.perf_counter() - start)
            blocks = sum(len(d.blocks) for d in docs)
        print(f"{name:<18} {len(files):>5} {size:>6.1f} {blocks:>7} {best:>8.2f} {1000 * best / len(files):>8.1f}")


if __name__ == "__main__":
    main()
