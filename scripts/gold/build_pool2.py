"""A second, larger pool of items for the coding gold set's training folds (dev split only).

The first pool (build_pool.py) is a random draw; this one adds about 5,000 items from the same
sources, from evaluations whose split is `dev` only (the final `test` split keeps exactly the
items of the first draw), half at random and half drawn by topic words so that rare themes
(sickness, survivors, disability, child benefits, the ABND, older persons, Canada's CPP/OAS/GIS,
official-language minorities…) get enough examples to learn from. Drawing by words biases what
is labelled, not how: the labellers see the same guidelines and codebook, blind as before.

    python scripts/gold/build_pool2.py --db /tmp/gold/proj/review.db
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path

from build_pool import ROOT, corpus_items, ieval_items, split_of

TOPICS = {
    "ilo-social-protection": [
        r"sick(ness)? (leave|benefit|pay)|maladie|enfermedad|doen[çc]a|incapacidad temporal",
        r"survivor|widow|orphan|veuve|orphelin|viud|hu[ée]rfan|vi[úu]v|[óo]rf[ãa]o",
        r"child (benefit|allowance|grant)|family allowance|allocations? familiales?|asignaci[óo]n familiar|abono de fam",
        r"disabilit|handicap|discapacidad|defici[êe]ncia|invalid",
        r"employment injury|work(place)? (injur|accident)|occupational (disease|accident|safety)|accidents? du travail|"
        r"accidentes? de trabajo|acidentes? de trabalho",
        r"\bABND\b|assessment[- ]based national dialogue|dialogue national fond",
        r"older (person|people|worker)|elderly|pensioner|personnes [âa]g[ée]es|adultos? mayores|idosos",
        r"working poor|travailleurs pauvres",
        r"reputation|credibilit|cr[ée]dibilit|prestige|legitimacy",
        r"maternity|maternit|maternidad|maternidade|pregnan",
        r"unemployment (insurance|benefit)|assurance[- ]ch[ôo]mage|seguro de desempleo|seguro[- ]desemprego",
        r"pension|retraite|jubilaci|aposentad",
        r"health insurance|assurance maladie|seguro de salud|mutuelle|seguro de sa[úu]de",
        r"cash transfer|social assistance|transferts? mon[ée]taires?|transferencias? monetarias?|transfer[êe]ncias?",
        r"convention (no\. ?)?102|C102|R202|recommendation (no\. ?)?202",
        r"synerg|complementar|duplicat",
        r"political (instability|context|crisis)|instabilit[ée] politique|inestabilidad pol",
        r"economic (crisis|downturn|situation)|crise [ée]conomique|crisis econ[óo]mica",
        r"gender mainstream|gender equality|[ée]galit[ée] (de genre|femmes)|igualdad de g[ée]nero",
        r"local presence|country office|bureau (de pays|local)|oficina (de pa[íi]s|local)",
    ],
    "canada-social-security": [
        r"\bCPP\b|Canada Pension Plan|\bQPP\b",
        r"\bOAS\b|\bGIS\b|Old Age Security|Guaranteed Income Supplement|seniors?",
        r"child care|Canada Child Benefit|families with children|education savings|\bRESP\b|Learning Bond",
        r"income security|poverty|low[- ]income",
        r"union|labour organization",
        r"older workers?",
        r"official language minorit|francophone|anglophone",
        r"rural|remote|northern|north",
        r"stakeholder (engagement|consultation)|consulted",
        r"outreach|awareness|communication",
        r"automat|online|moderni[sz]|digital",
        r"governance|roles and responsibilit|accountabilit",
        r"staff (expertise|training|knowledge)|experienced staff|knowledgeable",
        r"\bIT\b|information technology|legacy system|systems? (limitation|issue)",
        r"disabilit",
        r"Indigenous|First Nations|Inuit|M[ée]tis",
        r"newcomer|immigrant|refugee",
        r"women|gender",
        r"sickness|caregiv|compassionate care|parental",
    ],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--out", default=ROOT / "tests/labels/sources/pool2.jsonl", type=Path)
    ap.add_argument("--seed", type=int, default=2027)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    first = [json.loads(line) for line in (ROOT / "tests/labels/sources/pool.jsonl").open(encoding="utf-8")]
    taken = {(r["codebook"], r["text"].lower()) for r in first}

    candidates: dict[str, list[dict]] = {"ilo-social-protection": [], "canada-social-security": []}
    for it in ieval_items():
        it.pop("sp", None)
        candidates["ilo-social-protection"].append(it)
    for it in corpus_items(args.db):
        if it["source"].startswith("eba/"):
            continue
        cb = "canada-social-security" if it["source"].startswith("canada/") else "ilo-social-protection"
        candidates[cb].append(it)
    want = {"ilo-social-protection": 3700, "canada-social-security": 1300}
    pool: list[dict] = []
    for cb, items in candidates.items():
        items = [i for i in items if split_of(i["group"])[0] == "dev" and len(i["text"]) >= 3
                 and (cb, i["text"].lower()) not in taken]
        rng.shuffle(items)
        chosen: dict[str, dict] = {}
        per_topic = want[cb] // 2 // len(TOPICS[cb])
        for pattern in TOPICS[cb]:
            rx = re.compile(pattern, re.I)
            hits = [i for i in items if rx.search(i["text"]) and i["text"].lower() not in chosen]
            for i in hits[:per_topic]:
                chosen[i["text"].lower()] = i
        for i in items:
            if len(chosen) >= want[cb]:
                break
            chosen.setdefault(i["text"].lower(), i)
        for i in chosen.values():
            i["codebook"] = cb
            pool.append(i)
    rng.shuffle(pool)
    for n, it in enumerate(pool):
        it["id"] = f"h{n:04d}"
        it["split"], it["fold"] = split_of(it["group"])
    with args.out.open("w", encoding="utf-8") as f:
        for it in pool:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    print(f"{len(pool)} items -> {args.out}")
    print("by codebook:", Counter(i["codebook"] for i in pool), "languages:", Counter(i["language"] for i in pool))


if __name__ == "__main__":
    main()
