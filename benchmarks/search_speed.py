"""Search latency on a review of 20,000 reports, through the paths a user hits (target: p95 < 100 ms).

Builds a synthetic review (`Review.create`, then the store's own writers: whatworks.store.documents
and whatworks.store.search): ~N documents × ~50 passages whose text recombines real sentences of
the shared corpus (so word frequencies and languages look like real reports, and no two passages
are the same), with description facets (year, kind, language, countries, regions, section kinds).
Each document is indexed in a transaction of its own, as `Review.add` does, so the full-text index
has the segments a real review has. Then runs a mixed set of queries — words, phrases, boolean,
prefix, in EN/FR/ES/PT, with and without filters, each as a user types it — through:

* `query`: `Review.search` on an open review (what the command and the page both call);
* `cli`:   `whatworks search DIR QUERY [--year …]` in this process (whatworks.cli.main: opens the
  review, searches, prints), without Python's start-up, which is timed apart, a few times, as a
  separate process;
* `web`:   GET /corpus?q=…&year=… on the workspace (FastAPI's TestClient: routing, `search_page`
  with its count, the template).

    .venv/bin/python benchmarks/search_speed.py [--docs 20000] [--passages 50] [--keep DIR] [--rounds 5]

The build is fast because stemming is per word: each real sentence is stemmed once, and a
synthetic passage's index text is the join of its sentences' stemmed forms (checked against what
the indexer would store on a sample).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whatworks import search as S  # noqa: E402
from whatworks.api import Review  # noqa: E402
from whatworks.model import Block, Document, Page  # noqa: E402
from whatworks.read import read_document  # noqa: E402
from whatworks.store import documents as docs_store  # noqa: E402
from whatworks.store import search as search_store  # noqa: E402

SHARED = Path(os.environ.get("WHATWORKS_SHARED", ROOT.parent / "shared")) / "corpus"

#: (query, filters) as a user gives them: the CLI's options and the corpus page's fields are text.
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("social protection", {}),
    ('"employment insurance"', {}),
    ("recommendations", {}),
    ("pension OR disability", {}),
    ('"maternity benefits" AND parental', {}),
    ("evaluation NOT audit", {}),
    ("migra*", {}),
    ("recomendaciones", {}),
    ("évaluation des programmes", {}),
    ("proteção social", {}),
    ("gender equality women", {}),
    ('"lessons learned"', {}),
    ("sustainability", {"year": "2012-2018"}),
    ("social security", {"country": "CAN"}),
    ("effectiveness", {"kind": "evaluation_report", "year": "2016"}),
    ("capacity building", {"region": "africa"}),
    ("recommendations", {"section": "recommendations"}),
    ("financement", {"language": "fr"}),
    ("health insurance coverage", {"year": "2010-2020", "kind": "evaluation_report"}),
    ('"labour market" AND training', {"section": "findings"}),
    ("beneficiaries", {"country": "KEN", "year": "2015-2023"}),
    ("vaccine", {"language": "en", "kind": "completion_report"}),
]
#: p95 targets (ms): the query's own, and the workspace's for every page; the command opens the review
#: each time (its figure is what that adds), and Python's start-up is apart.
TARGETS = {"query": 100, "web": 200}
#: A few of them again as separate processes (`whatworks search`, Python's start-up and imports included).
PROCESS_QUERIES = [0, 4, 12, 14]

KINDS = ["evaluation_report"] * 6 + ["evaluation_brief", "management_response", "completion_report",
                                       "terms_of_reference", "research_report"]
COUNTRIES = ["CAN", "KEN", "ETH", "HTI", "DOM", "SWE", "KHM", "LAO", "MOZ", "PER", "BOL", "SEN", "TJK"]
REGIONS = ["africa", "americas", "asia and the pacific", "europe and central asia", "arab states"]
SECTIONS = ["executive_summary", "background", "methodology", "findings", "effectiveness", "efficiency",
            "sustainability", "conclusions", "recommendations", "lessons_learned", "annex", None]


# --- the synthetic review ------------------------------------------------------------------------

def sentences(limit_files: int) -> list[tuple[str, str, str]]:
    """(language, text, stemmed) for real sentences of the corpus."""
    files = sorted((SHARED / "canada").glob("*.html"))[::3][: limit_files // 2]
    files += sorted((SHARED / "canada").glob("esdc_0[26]*.html"))[:4]  # EI maternity/sickness benefits
    files += sorted((SHARED / "idrc").rglob("*.md"))[: limit_files // 4]
    files += sorted((SHARED / "iom").rglob("*.pdf"))[:4] + sorted((SHARED / "eba").glob("*.pdf"))[:1]
    out: list[tuple[str, str, str]] = []
    for f in files:
        try:
            doc = read_document(f)
        except Exception as e:  # noqa: BLE001 - a reader that is not ready must not stop the benchmark
            print(f"  (skipped {f.name}: {e})", file=sys.stderr)
            continue
        for b in doc.blocks:
            if b.kind in ("header", "footer") or len(b.text) < 40:
                continue
            lang = b.language or doc.language
            for s in re.split(r"(?<=[.!?])\s+", b.text):
                if len(s) >= 30:
                    out.append((lang, s, S.stem_text(s, lang)))
    # a few synthetic FR/ES/PT sentences so every language has text to find
    extra = [
        ("fr", "L'évaluation recommande de renforcer la protection sociale et la sécurité sociale des travailleurs."),
        ("fr", "Les recommandations portent sur le financement durable des programmes de pensions."),
        ("es", "La evaluación formula recomendaciones para ampliar la cobertura de la seguridad social."),
        ("es", "El proyecto apoyó la extensión de la protección social a los trabajadores de la economía informal."),
        ("pt", "A avaliação recomenda reforçar a proteção social e a segurança social nos países da CPLP."),
        ("pt", "As recomendações incluem a extensão da cobertura aos trabalhadores informais."),
    ]
    out += [(lang, s, S.stem_text(s, lang)) for lang, s in extra] * 50
    return out


def _blob() -> bytes:
    """One small packed document shared by every row (search never unpacks it; the store needs one)."""
    page = Page(1, [Block("paragraph", "Synthetic report for the search benchmark.", 1)])
    return Document(source="synthetic", sha256="0" * 64, format="pdf", pages=[page], title="Synthetic",
                    language="en").pack()


def build(review: Review, n_docs: int, n_passages: int, pool: list[tuple[str, str, str]], seed: int = 7) -> None:
    """Fill the review: per document, its row, its passages and full-text rows and its facets, in one
    transaction (what search.index_document writes, with the stems computed once per sentence)."""
    store = review.store
    rnd = random.Random(seed)
    by_lang: dict[str, list[tuple[str, str, str]]] = {}
    for item in pool:
        by_lang.setdefault(item[0], []).append(item)
    langs = list(by_lang)
    weights = [len(by_lang[lg]) for lg in langs]
    blob = _blob()
    pid, checked = 0, 0
    t0 = time.perf_counter()
    for d in range(n_docs):
        sha = f"{d:064x}"
        lang = rnd.choices(langs, weights)[0]
        sents = by_lang[lang]
        year = rnd.randint(2005, 2023)
        countries = rnd.sample(COUNTRIES, rnd.randint(1, 3))
        title = f"Evaluation {d}: " + rnd.choice(sents)[1][:80]
        source = f"/synthetic/{d}.pdf"
        facet = {"sha256": sha, "source": source, "title": title, "kind": rnd.choice(KINDS), "year": year,
                 "language": lang, "countries": "|" + "|".join(countries) + "|",
                 "regions": "|" + rnd.choice(REGIONS) + "|"}
        rows, bodies = [], []
        for j in range(max(5, int(rnd.gauss(n_passages, n_passages / 5)))):
            pid += 1
            picks = [rnd.choice(sents) for _ in range(rnd.randint(1, 4))]
            number = f" ({rnd.randint(1, 999)})" if rnd.random() < 0.3 else ""
            text = " ".join(p[1] for p in picks) + number
            body = " ".join(p[2] for p in picks) + (f" {number.strip(' ()')}" if number else "")
            if checked < 200:  # the shortcut must give what the indexer stores
                checked += 1
                if body != S.stem_text(text, lang):
                    sys.exit(f"the synthetic index text differs from the indexer's for {text[:80]!r}")
            section = rnd.choice(SECTIONS)
            rows.append({"id": pid, "sha256": sha, "page": 1 + j // 3, "block_start": j, "block_end": j + 1,
                         "section_kind": section, "language": lang, "text": text,
                         "tags": S.tags(facet, section, lang)})
            bodies.append(body)
        with store.transaction():
            store.insert(docs_store.documents, {"sha256": sha, "source": source, "format": "pdf", "title": title,
                                                "language": lang, "pages": 1 + len(rows) // 3, "chars": 0,
                                                "data": blob, "added_at": time.time()})
            search_store.add_passages(store, rows, bodies)
            search_store.save_facets(store, {**facet, "passages": len(rows), "indexed_at": time.time()})
        if (d + 1) % 2000 == 0 or d == n_docs - 1:
            print(f"  {d + 1} documents, {pid} passages, {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                  flush=True)
    store.set_meta("search.index", S.index_version())  # the index is current: nothing may rebuild it
    print(f"built {n_docs} documents, {pid} passages in {time.perf_counter() - t0:.1f} s")


# --- the three paths ---------------------------------------------------------------------------

def cli_args(root: Path, query: str, filters: dict[str, str]) -> list[str]:
    args = ["search", str(root), query]
    for key, value in filters.items():
        args += [f"--{key}", value]
    return args


def via_cli(root: Path) -> Callable[[str, dict[str, str]], int]:
    from whatworks.cli import main

    def run(query: str, filters: dict[str, str]) -> int:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = main(cli_args(root, query, filters))
        if status != 0:
            raise SystemExit(f"whatworks {' '.join(cli_args(root, query, filters))}: exit status {status}")
        text = out.getvalue()
        return 0 if text.startswith("no matches") else text.count("\n    ")  # one snippet line a hit
    return run


def via_web(client) -> Callable[[str, dict[str, str]], int]:
    def run(query: str, filters: dict[str, str]) -> int:
        r = client.get("/corpus?" + urlencode({"q": query, **filters}))
        if r.status_code != 200:
            raise SystemExit(f"/corpus?q={query}: HTTP {r.status_code}\n{r.text[:2000]}")
        return r.text.count('<div class="snippet">')
    return run


def via_api(review: Review) -> Callable[[str, dict[str, str]], int]:
    def run(query: str, filters: dict[str, str]) -> int:
        return len(review.search(query, **filters))  # as cli.search calls it: limit 20
    return run


def measure(name: str, run: Callable[[str, dict[str, str]], int], rounds: int) -> dict[str, float]:
    """Every query `rounds` times after one warming round; prints each query's median and the p50/p95."""
    times: list[float] = []
    cpu: list[float] = []
    per_query: dict[str, list[float]] = {}
    per_query_cpu: dict[str, list[float]] = {}
    hits: dict[str, int] = {}
    for r in range(rounds + 1):
        for q, filters in QUERIES:
            label = q + (f"  {filters}" if filters else "")
            t, c = time.perf_counter(), time.process_time()
            n = run(q, filters)
            dt = (time.perf_counter() - t) * 1000
            dc = (time.process_time() - c) * 1000
            if r == 0:
                per_query[label], per_query_cpu[label], hits[label] = [dt], [], n
                continue  # the first round warms the caches; reported separately as "cold"
            times.append(dt)
            cpu.append(dc)
            per_query[label].append(dt)
            per_query_cpu[label].append(dc)
    print(f"\n{name}:")
    for label, vals in per_query.items():
        print(f"  {statistics.median(vals[1:]):7.1f} ms  (CPU {statistics.median(per_query_cpu[label]):6.1f}, "
              f"cold {vals[0]:6.1f}, {hits[label]:2d} hits)  {label}")
    times.sort()
    cpu.sort()
    out = {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))], "max": times[-1],
           "cpu50": statistics.median(cpu), "cpu95": cpu[int(0.95 * (len(cpu) - 1))], "n": len(times)}
    print(f"  {name}: {out['n']} queries  p50 {out['p50']:.1f} ms  p95 {out['p95']:.1f} ms  max {out['max']:.1f} ms;"
          f" CPU p50 {out['cpu50']:.1f} ms  p95 {out['cpu95']:.1f} ms  (load average {load()})", flush=True)
    return out


def processes(root: Path, repeat: int = 3) -> list[float]:
    """`whatworks search` as a separate process: what a user waits for at the terminal."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    times = []
    for i in PROCESS_QUERIES:
        q, filters = QUERIES[i]
        for _ in range(repeat):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "whatworks.cli", *cli_args(root, q, filters)], env=env,
                           stdout=subprocess.DEVNULL, check=True)
            times.append((time.perf_counter() - t) * 1000)
    return sorted(times)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--passages", type=int, default=50, help="passages per document (on average)")
    ap.add_argument("--keep", type=Path, help="build the review in this folder and keep it (reused when it exists)")
    ap.add_argument("--files", type=int, default=60, help="corpus files to take sentences from")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--paths", default="query,cli,web,process", help="which paths to time (comma-separated)")
    args = ap.parse_args()
    paths = set(args.paths.split(","))
    root = args.keep or Path(tempfile.mkdtemp(prefix="ww-search-")) / "review"
    print(f"load average {load()} at the start")
    if (root / "review.db").exists():
        review = Review.open(root)
        print(f"using the review in {root}")
    else:
        if not SHARED.is_dir():
            sys.exit(f"no corpus at {SHARED} (set WHATWORKS_SHARED)")
        review = Review.create(root)
        t = time.perf_counter()
        pool = sentences(args.files)
        print(f"{len(pool)} real sentences from the corpus in {time.perf_counter() - t:.1f} s")
        build(review, args.docs, args.passages, pool)
    n_docs = search_store.count_facets(review.store)
    n_pass = search_store.next_passage_id(review.store) - 1
    size = sum(p.stat().st_size for p in root.glob("review.db*")) / 2**20
    print(f"review: {root} (database {size:.0f} MB), {n_docs} documents, {n_pass} passages")

    results = {}
    if "query" in paths:
        results["query"] = measure("query (Review.search on an open review)", via_api(review), args.rounds)
    review.close()
    if "cli" in paths:
        results["cli"] = measure("cli (whatworks search, in this process: open the review, search, print)",
                                 via_cli(root), args.rounds)
    if "web" in paths:
        from fastapi.testclient import TestClient

        from whatworks.web.app import create_app

        with TestClient(create_app(root), base_url="http://127.0.0.1") as client:
            results["web"] = measure("web (GET /corpus?q=…: the workspace's search page)", via_web(client),
                                     args.rounds)
    print(f"\nsummary ({n_docs} documents, {n_pass} passages; load average {load()}):")
    for name, r in results.items():
        target = TARGETS.get(name)
        verdict = f"target p95 < {target} ms: {'met' if r['p95'] < target else 'NOT met'}" if target else "no target"
        print(f"  {name:6s} p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  max {r['max']:7.1f} ms  "
              f"CPU p95 {r['cpu95']:6.1f} ms  ({verdict})")
    if "process" in paths:
        times = processes(root)
        print(f"  whatworks search as a process ({len(times)} runs, Python start-up and imports included): "
              f"median {statistics.median(times):.0f} ms, max {times[-1]:.0f} ms  (load average {load()})")


if __name__ == "__main__":
    main()
