"""Scale benchmark: read, describe and screen 1,000 / 5,000 / 20,000 reports on this machine.

Builds a corpus of N reports from the real documents in ../shared/corpus (each copy made
unique so its content hash differs: a paragraph added to HTML/Markdown, a comment line
after %%EOF in a PDF, a ZIP comment in a DOCX), then, for each size, runs a fresh review
project in a child process and prints the time per stage, pages per second, peak memory
of the main process and of the largest worker, the database size, and the cost per report
so that linearity can be checked.

    python benchmarks/scale.py --sizes 1000 5000 20000          # all sizes (hours for 20,000)
    python benchmarks/scale.py --sizes 1000 --jobs 2 --no-screen

Targets on a 2-core machine: 20,000 reports read, described and screened in under 4 hours,
peak memory under 2 GB, cost per report flat with size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("WHATWORKS_SHARED", ROOT.parent / "shared"))
OUT = ROOT / "benchmarks" / "out" / "scale"
FORMATS = {".pdf", ".html", ".htm", ".md", ".docx", ".txt"}
PER_FOLDER = 1000


# --- corpus ----------------------------------------------------------------------------------


def sources(corpus: Path) -> list[Path]:
    """The real reports, in a fixed shuffled order so every prefix has the same mix of formats."""
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in FORMATS)
    random.Random(2026).shuffle(files)
    return files


def unique_copy(src: Path, dst: Path, n: int) -> None:
    """Copy `src` to `dst` with a change that makes its content (and hash) unique to copy `n`."""
    data = src.read_bytes()
    suffix = src.suffix.lower()
    note = f"Benchmark copy {n}: this paragraph was added so that the copy is a distinct file."
    if suffix == ".pdf":
        dst.write_bytes(data + f"\n% whatworks benchmark copy {n}\n".encode())
    elif suffix in (".html", ".htm"):
        at = data.lower().rfind(b"</body>")
        para = f"<p>{note}</p>".encode()
        dst.write_bytes(data[:at] + para + data[at:] if at >= 0 else data + para)
    elif suffix == ".docx":
        shutil.copyfile(src, dst)
        with zipfile.ZipFile(dst, "a") as z:
            z.comment = f"whatworks benchmark copy {n}".encode()
    else:
        dst.write_bytes(data + f"\n\n{note}\n".encode())


def build_corpus(folder: Path, size: int) -> list[Path]:
    """Make (or extend) a corpus of `size` unique reports under `folder`; return their paths."""
    src = sources(SHARED / "corpus")
    if not src:
        sys.exit(f"no documents under {SHARED / 'corpus'} (set WHATWORKS_SHARED)")
    paths = []
    made = 0
    start = time.perf_counter()
    for i in range(size):
        s = src[i % len(src)]
        sub = folder / f"{i // PER_FOLDER:03d}"
        dst = sub / f"{i:05d}-{s.stem[:60]}{s.suffix.lower()}"
        if not dst.exists():
            sub.mkdir(parents=True, exist_ok=True)
            unique_copy(s, dst, i)
            made += 1
        paths.append(dst)
    if made:
        print(f"corpus: made {made} copies in {time.perf_counter() - start:.0f} s "
              f"({len(src)} real documents, {size} reports)", file=sys.stderr)
    return paths


# --- one run (in a child process, so rusage is per size) -----------------------------------------


def run_one(size: int, corpus: Path, work: Path, jobs: int | None, screen: bool) -> dict:
    from whatworks.api import Review

    files = build_corpus(corpus, size)
    root = work / f"review-{size}"
    shutil.rmtree(root, ignore_errors=True)
    review = Review.create(root)
    result: dict = {"size": size, "jobs": jobs, "stages": {}}
    last = [time.perf_counter()]

    def progress(r, done, total):
        now = time.perf_counter()
        if r is not None and (done % 500 == 0 or done == total) and now - last[0] > 1:
            last[0] = now
            print(f"  {size}: {done}/{total} read+described, {now - t0:.0f} s", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    summary = review.add(files, jobs=jobs, progress=progress)
    result["stages"]["read+describe"] = time.perf_counter() - t0
    result["read"], result["failed"] = summary.read, summary.failed
    result["errors"] = dict(Counter(f["error_code"] for f in review.failed_files()))
    result["pages"] = sum(d.get("pages") or 0 for d in review.documents())
    result["items"] = review.store.raw("SELECT count(*) AS n FROM items")[0]["n"]
    result["maxrss_after_read_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if screen:
        t1 = time.perf_counter()
        s = review.screen()
        result["stages"]["screen"] = time.perf_counter() - t1
        result["screen"] = dict(sorted(s.decisions.items()))
    review.close()
    result["seconds"] = sum(result["stages"].values())
    result["maxrss_main_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["maxrss_worker_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu_main_s"], result["cpu_workers_s"] = me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime
    result["db_mb"] = sum(p.stat().st_size for p in root.glob("review.db*")) / 2**20
    result["load_avg"] = os.getloadavg()
    return result


# --- report --------------------------------------------------------------------------------------


def report(results: list[dict]) -> str:
    """The figures as a table, and the cost per report by size as bars (flat = linear)."""
    lines = ["", "  size  read+describe   screen    total  ms/report   pages  pages/s  CPU ms/report"
             "  main MB  worker MB  DB MB", "-" * 110]
    for r in results:
        st = r["stages"]
        rd, sc = st.get("read+describe", 0), st.get("screen")
        cpu = 1000 * (r["cpu_main_s"] + r["cpu_workers_s"]) / r["size"]
        lines.append(
            f"{r['size']:>6} {rd:>12.0f} s {'-' if sc is None else f'{sc:.0f} s':>8} {r['seconds']:>6.0f} s"
            f" {1000 * r['seconds'] / r['size']:>9.0f} {r['pages']:>8} {r['pages'] / rd:>8.1f} {cpu:>13.0f}"
            f" {r['maxrss_main_mb']:>8.0f} {r['maxrss_worker_mb']:>10.0f} {r['db_mb']:>6.0f}")
    lines += ["", "cost per report by size (wall ms | CPU ms, all processes) — equal bars mean linear cost:"]
    top = max(max(r["seconds"], r["cpu_main_s"] + r["cpu_workers_s"]) / r["size"] for r in results)
    for r in results:
        for label, value in (("wall", r["seconds"]), ("CPU ", r["cpu_main_s"] + r["cpu_workers_s"])):
            per = value / r["size"]
            lines.append(f"{r['size']:>6} {label} | {'#' * max(1, round(50 * per / top)):<50} {1000 * per:.0f}")
    lines.append("")
    for r in results:
        lines.append(f"{r['size']}: {r['read']} read, {r['failed']} failed {r['errors']}; {r['items']} items;"
                     f" main {r['maxrss_after_read_mb']:.0f} MB after reading; screen {r.get('screen')};"
                     f" load average {[round(x, 1) for x in r['load_avg']]}")
    biggest = results[-1]
    if biggest["size"] < 20000:
        per = biggest["seconds"] / biggest["size"]
        lines.append(f"extrapolated from {biggest['size']} (linear): 20,000 reports ≈ {20000 * per / 3600:.1f} h")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"corpus and review folders (default {OUT})")
    ap.add_argument("--no-screen", action="store_true", help="read and describe only")
    ap.add_argument("--report", action="store_true", help="print the table from the last results.jsonl runs")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = ap.parse_args()
    corpus, work = args.out / "corpus", args.out / "work"
    if args.report:
        with open(args.out / "results.jsonl") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        latest = {r["size"]: r for r in rows}  # the last run of each size
        print(report([latest[k] for k in sorted(latest)]))
        return
    if args.one:
        print(json.dumps(run_one(args.one, corpus, work, args.jobs, not args.no_screen)))
        return
    build_corpus(corpus, max(args.sizes))
    results = []
    for size in sorted(args.sizes):
        cmd = [sys.executable, __file__, "--one", str(size), "--out", str(args.out)]
        cmd += (["--jobs", str(args.jobs)] if args.jobs else []) + (["--no-screen"] if args.no_screen else [])
        out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
        with open(args.out / "results.jsonl", "a") as f:
            f.write(json.dumps(results[-1]) + "\n")
    print(report(results))


if __name__ == "__main__":
    main()
