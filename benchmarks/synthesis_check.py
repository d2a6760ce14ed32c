"""Is the synthesis what it says? Verbatim citations, polarity routing, blind judgements, speed.

    .venv/bin/python benchmarks/synthesis_check.py            # examples review + a Canadian review
    .venv/bin/python benchmarks/synthesis_check.py --export round2   # and statements for blind judging
    .venv/bin/python benchmarks/synthesis_check.py --scale 300       # and the synthesis of 300 reports

For each review (built once into benchmarks/out/, then reused):
* every citation of every statement is looked up in the stored document: verbatim at its page
  (PDF) or in the document (other formats) — the target is 100%;
* statements under success factors cite only positive items and under challenges only negative
  ones (the coder's polarity, or a reviewer's);
* the synthesis is timed (warm: embeddings cached);
* blind judgements (benchmarks/data/synthesis/<round>/judgements.<judge>.jsonl, made by judges who
  saw only the statements, their quotes and docs/synthesis-judging.md) are scored: the share of
  statements judged supported by their own quotes (target ≥ 90%), and how often two judges agree.
  Round 1 judged the first version; later rounds judge statements the changes were not tuned on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"
DATA = ROOT / "benchmarks" / "data"
SHARED = ROOT.parent / "shared" / "corpus"
REVIEWS = {
    "examples": (ROOT / "whatworks" / "data" / "examples", "ilo-social-protection"),
    "canada": (SHARED / "canada", "canada-social-security"),
    "ieval": (SHARED / "ilo-ieval", "ilo-social-protection"),  # the ILO database: EN/ES/FR/PT entries
}


def review_of(name: str):
    from whatworks.api import Review

    reports, protocol = REVIEWS[name]
    folder = OUT / f"synthesis-{name}"
    if not (folder / "review.db").exists():
        if not reports.exists():
            return None
        review = Review.create(folder, protocol)
        review.run([reports], say=lambda line: print("   ", line, flush=True))
        return review
    return Review.open(folder)


def statement_id(review: str, st) -> str:
    blob = json.dumps([review, st.text, [c.quote for c in st.citations]], ensure_ascii=False)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def check(name: str) -> dict | None:
    from whatworks.text import normalise_space

    review = review_of(name)
    if review is None:
        print(f"{name}: reports not found (../shared is needed): skipped")
        return None
    review.synthesize()  # warm: embeddings and pages cached
    t0 = time.perf_counter()
    s = review.synthesize()
    seconds = time.perf_counter() - t0
    statements = s.statements()
    citations = [c for st in statements for c in st.citations] + [c for t in s.themes() for c in t.quotes]
    pages: dict[str, list[str]] = {}
    verbatim = 0
    for c in citations:
        if c.sha256 not in pages:
            pages[c.sha256] = [normalise_space(" ".join(b.text for b in p.blocks))
                               for p in review.document(c.sha256).pages]
        texts = [pages[c.sha256][c.page - 1]] if c.page else pages[c.sha256]
        verbatim += any(normalise_space(c.quote) in t for t in texts)
    from whatworks.synthesize import item_polarity

    # the direction each item counts in: its polarity (a reviewer's, else the coder's); a good
    # practice read as neutral counts as positive, and a neutral or mixed lesson, finding or
    # conclusion under a success factor or challenge counts in the theme's direction
    # (whatworks.synthesize.item_polarity). Misrouted: an item of the other polarity.
    polarity = {(c.sha256, c.idx): item_polarity(c.polarity, c.kind) for c in review.codes()}
    why = next(q for q in s.questions if q.id == "why")
    misrouted = routed = directed = 0
    for g, wanted in ((g, {"success_factors": "positive", "challenges": "negative"}.get(g.id)) for g in why.groups):
        other = {"positive": "negative", "negative": "positive"}.get(wanted or "")
        for st in g.statements + [c for t in g.themes for c in t.claims]:
            for c in st.citations:
                routed += 1
                misrouted += polarity.get((c.sha256, c.item)) == other
                directed += polarity.get((c.sha256, c.item)) != wanted
    items = s.items_total
    located = sum(1 for c in citations if c.page or c.section)
    print(f"\n== {name}: {s.n_reports} reports, {items} items, {s.codes_total} codes")
    print(f"  statements: {len(statements)} ({len(s.summary)} in the executive summary); "
          f"claims {sum(len(t.claims) for t in s.themes())}")
    print(f"  citations verbatim in their source: {verbatim} of {len(citations)} "
          f"({100 * verbatim / max(len(citations), 1):.1f}%); with a page or section: {located}")
    print(f"  success factors / challenges citing an item of the other polarity: {misrouted} of {routed} "
          f"(a neutral or mixed item the theme directs: {directed})")
    summary_two = sum(1 for st in s.summary if len({c.report_id for c in st.citations}) >= 2)
    print(f"  summary statements citing 2+ reports: {summary_two} of {len(s.summary)}")
    two = [t for t in s.themes() if len(t.claims) >= 2]
    one_voice = sum(1 for t in two if len({c.reports[0] for c in t.claims}) == 1 and len(t.supporting) > 1)
    print(f"  themes whose claims all quote one report while others support them: {one_voice} of {len(two)} "
          "with two claims or more")
    print(f"  synthesis: {seconds:.1f} s (warm)")
    review.close()
    return {"statements": statements, "synthesis": s}


def export(results: dict[str, dict], round_name: str, per_review: int = 30) -> Path:
    """A sample of statements for blind judging: the summary's, then others at random (seed 7)."""
    folder = DATA / "synthesis" / round_name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "statements.jsonl"
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as f:
        for name, r in results.items():
            s = r["synthesis"]
            chosen = list(s.summary)
            others = [st for q in s.questions for st in q.statements if st not in chosen]
            rng.shuffle(others)
            chosen += others[: max(0, per_review - len(chosen))]
            for st in chosen:
                f.write(json.dumps({"id": statement_id(name, st), "review": name, "statement": st.text,
                                    "quotes": [{"report": c.report_id, "quote": c.quote} for c in st.citations]},
                                   ensure_ascii=False) + "\n")
    print(f"\nstatements for blind judging -> {path}")
    return path


def judged() -> None:
    """Each round's blind judgements (benchmarks/data/synthesis/<round>/judgements.<judge>.jsonl): the
    share judged supported, per judge and review, and how often two judges agree."""
    for folder in sorted((DATA / "synthesis").glob("*/")):
        statements = {r["id"]: r for r in map(json.loads, (folder / "statements.jsonl").open(encoding="utf-8"))}
        judges = {}
        for f in sorted(folder.glob("judgements.*.jsonl")):
            judges[f.name.split(".")[1]] = {r["id"]: r["judgement"] for r in
                                            map(json.loads, f.open(encoding="utf-8")) if r["id"] in statements}
        print(f"\nblind judgements, {folder.name}: {len(statements)} statements")
        for judge, said in judges.items():
            n = len(said)
            counts = {k: list(said.values()).count(k) for k in ("supported", "partly", "unsupported")}
            reviews = sorted({statements[i]["review"] for i in said})
            per = ", ".join(f"{r} {sum(1 for i, j in said.items() if statements[i]['review'] == r and j == 'supported')}"
                            f"/{sum(1 for i in said if statements[i]['review'] == r)}" for r in reviews)
            print(f"  judge {judge}: supported {counts['supported']} ({100 * counts['supported'] / max(n, 1):.0f}%), "
                  f"partly {counts['partly']}, unsupported {counts['unsupported']} of {n} ({per})")
        if len(judges) >= 2:
            a, b = list(judges.values())[:2]
            both = [i for i in a if i in b]
            agree = sum(a[i] == b[i] for i in both)
            print(f"  two judges agree on {agree} of {len(both)} ({100 * agree / max(len(both), 1):.0f}%)")


COUNTRIES = ["Viet Nam", "Senegal", "Peru", "Jordan", "Mozambique", "Cambodia", "Paraguay", "Zambia", "Nepal", "Togo"]


def scale(n_reports: int, per_report: int = 17) -> None:
    """Synthesis of `n_reports` included reports with about `per_report` items each: Markdown
    evaluation reports written from the gold set's real item texts (ILO recommendations, lessons,
    good practices), reviewed end to end once, then the synthesis alone timed (warm)."""
    from whatworks.api import Review

    rows = [json.loads(line) for name in ("coding_gold.jsonl", "coding_gold_more.jsonl")
            for line in (ROOT / "tests" / "labels" / name).open(encoding="utf-8")]
    texts = [r["text"] for r in rows if r["codebook"] == "ilo-social-protection" and not r["not_evidence"]
             and 80 < len(r["text"]) < 900 and "\n" not in r["text"]]
    random.Random(3).shuffle(texts)
    folder = OUT / f"synthesis-scale-{n_reports}"
    reports = folder / "reports"
    if not (folder / "review.db").exists():
        reports.mkdir(parents=True, exist_ok=True)
        for i in range(n_reports):
            chunk = texts[i * per_report:(i + 1) * per_report]
            country = COUNTRIES[i % len(COUNTRIES)]
            lines = [f"# Extending social protection in {country}, phase {i + 1}", "",
                     "Final independent evaluation", "", f"Countries: {country}", "", f"Year: {2012 + i % 7}", "",
                     "## Findings", ""]
            lines += [f"Finding {k + 1}. {t}\n" for k, t in enumerate(chunk[: per_report // 2])]
            lines += ["## Lessons learned", ""] + [f"Lesson {k + 1}. {t}\n" for k, t in
                                                   enumerate(chunk[per_report // 2:])]
            (reports / f"report_{i:03d}.md").write_text("\n".join(lines), encoding="utf-8")
        review = Review.create(folder, "ilo-social-protection")
        t0 = time.perf_counter()
        review.run([reports], say=lambda line: print("   ", line, flush=True))
        print(f"  whole review: {time.perf_counter() - t0:.0f} s")
        # the synthetic reports lack what the screen needs to decide alone: a lead includes them all
        for row in review.screening():
            if row["decision"] != "include" and row["sha256"]:
                review.decide(row["sha256"], "include", "benchmark: a synthetic report, included by the lead")
        t0 = time.perf_counter()
        coded = review.code()
        review.find_emerging()
        print(f"  coding the {coded.items} items of {coded.reports} included reports: {time.perf_counter() - t0:.0f} s")
    else:
        review = Review.open(folder)
    review.synthesize()
    t0 = time.perf_counter()
    s = review.synthesize()
    seconds = time.perf_counter() - t0
    print(f"\n== scale: {s.n_reports} included reports, {s.items_total} items, {s.codes_total} codes, "
          f"{len(s.statements())} statements: synthesis {seconds:.1f} s (warm)")
    review.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--export", metavar="ROUND", help="write statements for blind judging into this round")
    ap.add_argument("--scale", type=int, default=0, help="also time the synthesis of this many reports")
    ap.add_argument("reviews", nargs="*", default=list(REVIEWS))
    args = ap.parse_args()
    if args.scale:
        scale(args.scale)
    results = {name: r for name in args.reviews if name in REVIEWS and (r := check(name)) is not None}
    if args.export:
        export(results, args.export)
    judged()


if __name__ == "__main__":
    main()
