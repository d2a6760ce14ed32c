"""selection: the selection log as data — PRISMA 2020 flow counts, the matrix, the breakdowns.

* `flow_counts` — how many records were identified, removed as duplicates or unreadable,
  screened by the keyword search, assessed, excluded (by reason), left to a reviewer or in
  conflict, included and kept as supplementary; the counts add up (`check_flow`).
* `prisma_values` — the same counts in the rows of the PRISMA2020 app's template.
* `matrix_rows` — one row per record, like the review's matrix: short id, title, type,
  timing, evaluator, regions, countries, themes, donors, year, language, project codes,
  the stage reached, the decision and its reasons, the quality score and the human decision.
  `MATRIX_COLUMNS` is the one list of its columns.
* `selection_breakdown` — figures 1 and 3 of the ILO review as counts: short-listed and
  finally selected reports by type, timing and region.

Everything is read from the final decisions (whatworks.store.selection). whatworks.report
draws and writes them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from whatworks import coding, corrections
from whatworks.store import documents as docs
from whatworks.store import selection as records_store
from whatworks.store.base import Store

log = logging.getLogger(__name__)

ELIGIBILITY_ORDER = ("kind", "language", "period", "organisation", "evaluation_type", "timing",
                     "evaluator_type", "country")


def _labels() -> dict[str, str]:
    from whatworks.screen import labels

    return labels()["check_labels"]


def _criterion_texts(store: Store) -> dict[str, str]:
    raw = store.get_meta("screen.criteria")
    return json.loads(raw) if raw else {}


def exclusion_reason(row: dict[str, Any], texts: dict[str, str] | None = None) -> str:
    """The one reason an excluded record is counted under in the flow diagram."""
    texts = texts or {}
    if row["human_decision"] == "exclude":
        return "Excluded by a reviewer"
    reasons = json.loads(row["reasons"] or "[]")
    labels = _labels()
    stage = row["stage"]
    if stage == "eligibility":
        for name in ELIGIBILITY_ORDER:
            if any(r["criterion"] == name and r["decision"] == "exclude" for r in reasons):
                return labels.get(name, name)
    if stage in ("content", "quality"):
        skip = {"content", "quality"}
        for r in reasons:
            if r["decision"] == "exclude" and r["criterion"] not in skip and r["criterion"] not in labels:
                cid = r["criterion"]
                text = texts.get(cid, "")
                prefix = "Content" if stage == "content" else "Quality"
                text = text.strip().rstrip(".")
                return f"{prefix} {cid}: {text}" if text else f"{prefix} criterion {cid}"
        if stage == "content":
            return "Content criteria not met"
        return labels.get("quality", "Quality")
    if row["machine_decision"] != "exclude":
        return "Excluded by a reviewer"
    return labels.get(stage, stage)


def flow_counts(store: Store, visible: list[str] | None = None) -> dict[str, Any]:
    """PRISMA 2020 counts from the final decisions. The identities checked by `check_flow`:

    identified = duplicates + failed + screened
    screened   = not_shortlisted + shortlisted
    shortlisted = excluded + maybe + conflicts + included + supplementary
    excluded   = sum(excluded_by_reason)
    """
    rows = records_store.final_rows(store, visible)
    texts = _criterion_texts(store)
    c: dict[str, Any] = {"identified": len(rows)}
    dec = Counter(r["decision"] for r in rows)
    c["duplicates"] = dec["duplicate"]
    c["failed"] = dec["error"]
    screened = [r for r in rows if r["decision"] not in ("duplicate", "error")]
    c["screened"] = len(screened)
    not_short = [r for r in screened if r["decision"] == "exclude" and r["stage"] == "search"
                 and r["human_decision"] is None]
    c["not_shortlisted"] = len(not_short)
    short = [r for r in screened if r not in not_short]
    c["shortlisted"] = len(short)
    excluded = [r for r in short if r["decision"] == "exclude"]
    reasons = Counter(exclusion_reason(r, texts) for r in excluded)
    c["excluded"] = len(excluded)
    c["excluded_by_reason"] = dict(reasons.most_common())
    c["maybe"] = sum(1 for r in short if r["decision"] == "maybe")
    c["conflicts"] = sum(1 for r in short if r["decision"] == records_store.CONFLICT)
    inc = [r for r in short if r["decision"] == "include"]
    c["supplementary"] = sum(1 for r in inc if r["stage"] == "supplementary")
    c["included"] = len(inc) - c["supplementary"]
    c["included_total"] = len(inc)
    c["appraised"] = sum(1 for r in short if r["quality_score"] is not None)
    c["human_decisions"] = sum(1 for r in rows if r["human_decision"] is not None)
    return c


def exclusion_reasons(store: Store, visible: list[str] | None = None) -> dict[str, str]:
    """path → the one reason each excluded record is counted under."""
    texts = _criterion_texts(store)
    return {r["source"]: exclusion_reason(r, texts) for r in records_store.final_rows(store, visible)
            if r["decision"] == "exclude"}


def check_flow(c: dict[str, Any]) -> list[str]:
    """The identities that do not hold (empty when the flow adds up)."""
    problems = []
    if c["identified"] != c["duplicates"] + c["failed"] + c["screened"]:
        problems.append("identified != duplicates + failed + screened")
    if c["screened"] != c["not_shortlisted"] + c["shortlisted"]:
        problems.append("screened != not_shortlisted + shortlisted")
    if c["shortlisted"] != c["excluded"] + c["maybe"] + c["conflicts"] + c["included"] + c["supplementary"]:
        problems.append("shortlisted != excluded + maybe + conflicts + included + supplementary")
    if c["excluded"] != sum(c["excluded_by_reason"].values()):
        problems.append("excluded != sum of the reasons")
    return problems


# --- the flow diagram -------------------------------------------------------------------------

PRISMA_TEMPLATE = [
    # data, node, box, description, boxtext, tooltips, url
    ("NA", "node4", "prevstud", "Grey title box; Previous studies", "Previous studies",
     "Grey title box; Previous studies", "prevstud.html"),
    ("previous_studies", "node5", "box1", "Studies included in previous version of review",
     "Studies included in previous version of review", "Studies included in previous version of review",
     "previous_studies.html"),
    ("previous_reports", "NA", "box1", "Reports of studies included in previous version of review",
     "Reports of studies included in previous version of review", "NA", "previous_reports.html"),
    ("NA", "node6", "newstud", "Yellow title box; Identification of new studies via databases and registers",
     "Identification of new studies via databases and registers",
     "Yellow title box; Identification of new studies via databases and registers", "newstud.html"),
    ("database_results", "node7", "box2", "Records identified from: Databases", "Databases",
     "Records identified from: Databases", "database_results.html"),
    ("register_results", "NA", "box2", "Records identified from: Registers", "Registers", "NA", "NA"),
    ("NA", "node16", "othstud", "Grey title box; Identification of new studies via other methods",
     "Identification of new studies via other methods",
     "Grey title box; Identification of new studies via other methods", "othstud.html"),
    ("website_results", "node17", "box11", "Records identified from: Websites", "Websites",
     "Records identified from: Websites", "website_results.html"),
    ("organisation_results", "NA", "box11", "Records identified from: Organisations", "Organisations", "NA", "NA"),
    ("citations_results", "NA", "box11", "Records identified from: Citation searching", "Citation searching",
     "NA", "NA"),
    ("duplicates", "node8", "box3", "Duplicate records", "Duplicate records", "Duplicate records",
     "duplicates.html"),
    ("excluded_automatic", "NA", "box3", "Records marked as ineligible by automation tools",
     "Records marked as ineligible by automation tools", "NA", "NA"),
    ("excluded_other", "NA", "box3", "Records removed for other reasons", "Records removed for other reasons",
     "NA", "NA"),
    ("records_screened", "node9", "box4", "Records screened (databases and registers)", "Records screened",
     "Records screened (databases and registers)", "records_screened.html"),
    ("records_excluded", "node10", "box5", "Records excluded (databases and registers)", "Records excluded",
     "Records excluded (databases and registers)", "records_excluded.html"),
    ("dbr_sought_reports", "node11", "box6", "Reports sought for retrieval (databases and registers)",
     "Reports sought for retrieval", "Reports sought for retrieval (databases and registers)",
     "dbr_sought_reports.html"),
    ("dbr_notretrieved_reports", "node12", "box7", "Reports not retrieved (databases and registers)",
     "Reports not retrieved", "Reports not retrieved (databases and registers)", "dbr_notretrieved_reports.html"),
    ("other_sought_reports", "node18", "box12", "Reports sought for retrieval (other)", "Reports sought for retrieval",
     "Reports sought for retrieval (other)", "other_sought_reports.html"),
    ("other_notretrieved_reports", "node19", "box13", "Reports not retrieved (other)", "Reports not retrieved",
     "Reports not retrieved (other)", "other_notretrieved_reports.html"),
    ("dbr_assessed", "node13", "box8", "Reports assessed for eligibility (databases and registers)",
     "Reports assessed for eligibility", "Reports assessed for eligibility (databases and registers)",
     "dbr_assessed.html"),
    ("dbr_excluded", "node14", "box9",
     "Reports excluded (databases and registers): [separate reasons and numbers using ; e.g. Reason1, xxx; "
     "Reason2, xxx; Reason3, xxx]", "Reports excluded",
     "Reports excluded (databases and registers): [separate reasons and numbers using ; e.g. Reason1, xxx; "
     "Reason2, xxx; Reason3, xxx", "dbrexcludedrecords.html"),
    ("other_assessed", "node20", "box14", "Reports assessed for eligibility (other)",
     "Reports assessed for eligibility", "Reports assessed for eligibility (other)", "other_assessed.html"),
    ("other_excluded", "node21", "box15",
     "Reports excluded (other): [separate reasons and numbers using ; e.g. Reason1, xxx; Reason2, xxx; "
     "Reason3, xxx]", "Reports excluded",
     "Reports excluded (other): [separate reasons and numbers using ; e.g. Reason1, xxx; Reason2, xxx; "
     "Reason3, xxx", "other_excluded.html"),
    ("new_studies", "node15", "box10", "New studies included in review", "New studies included in review",
     "New studies included in review", "new_studies.html"),
    ("new_reports", "NA", "box10", "Reports of new included studies", "Reports of new included studies", "NA", "NA"),
    ("total_studies", "node22", "box16", "Total studies included in review", "Total studies included in review",
     "Total studies included in review", "total_studies.html"),
    ("total_reports", "NA", "box16", "Reports of total included studies", "Reports of total included studies",
     "NA", "NA"),
    ("identification", "node1", "identification", "Blue identification box", "Identification",
     "Blue identification box", "identification.html"),
    ("screening", "node2", "screening", "Blue screening box", "Screening", "Blue screening box", "screening.html"),
    ("included", "node3", "included", "Blue included box", "Included", "Blue included box", "included.html"),
]


def prisma_values(c: dict[str, Any]) -> dict[str, Any]:
    """The n of each row of the PRISMA2020 template, from `flow_counts`.

    Mapping: every file collected is a database record; unreadable files are "removed for
    other reasons"; records excluded at screening are those the keyword search did not
    find; reports still awaiting a reviewer are listed among the "excluded" reasons as
    "Awaiting a reviewer's decision" so that assessed = excluded + included holds; a study
    is a project (main report), and supplementary reports are further reports of included
    studies.
    """
    # the app splits reasons on ';' and a reason from its number on ',': keep both out of labels
    reasons = [f"{label.replace(';', ' -').replace(',', '').rstrip('.')}, {n}"
               for label, n in c["excluded_by_reason"].items()]
    if c["maybe"]:
        reasons.append(f"Awaiting a reviewer's decision (maybe), {c['maybe']}")
    if c.get("conflicts"):
        reasons.append(f"Reviewers disagree - awaiting the lead, {c['conflicts']}")
    v: dict[str, Any] = {row[0]: 0 for row in PRISMA_TEMPLATE if row[0] != "NA"}
    v.update({
        "database_results": c["identified"],
        "duplicates": c["duplicates"],
        "excluded_automatic": 0,
        "excluded_other": c["failed"],
        "records_screened": c["screened"],
        "records_excluded": c["not_shortlisted"],
        "dbr_sought_reports": c["shortlisted"],
        "dbr_notretrieved_reports": 0,
        "dbr_assessed": c["shortlisted"],
        "dbr_excluded": "; ".join(reasons) if reasons else 0,
        "new_studies": c["included"],
        "new_reports": c["included_total"],
        "total_studies": c["included"],
        "total_reports": c["included_total"],
    })
    return v


# --- the matrix ---------------------------------------------------------------------------------

MATRIX_COLUMNS = [
    ("report_id", "Report No."), ("title", "Title"), ("source", "Source file"), ("kind", "Kind"),
    ("evaluation_type", "Type"), ("timing", "Timing"), ("evaluator_type", "Evaluator"),
    ("regions", "Region(s)"), ("countries", "Countries"), ("themes", "Theme(s)"), ("donors", "Funding source/donors"),
    ("year", "Year"), ("period", "Period evaluated"), ("language", "Language"), ("project_codes", "Project codes"),
    ("link", "Link"), ("stage", "Stage reached"), ("decision", "Decision"), ("machine_decision", "Machine decision"),
    ("reasons", "Reasons"), ("quality_score", "Quality score"), ("human_decision", "Human decision"),
    ("human_reason", "Human reason"), ("sha256", "sha256"),
]


def _join(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        parts = []
        for v in value:
            parts.append(str(v.get("code")) if isinstance(v, dict) and "code" in v else str(v))
        return "; ".join(p for p in parts if p and p != "None")
    return str(value)


def _themes(store: Store, visible: list[str] | None = None) -> dict[str, str]:
    """The six themes with most items per document, from the codes that stand (people's decisions applied)."""
    counts: dict[str, Counter] = {}
    for c in coding.effective_codes(store, visible=visible):
        counts.setdefault(c.sha256, Counter())[c.theme] += 1
    return {sha: "; ".join(t for t, _ in sorted(n.items(), key=lambda kv: (-kv[1], kv[0]))[:6])
            for sha, n in counts.items()}


def _reason_summary(row: dict[str, Any]) -> str:
    reasons = json.loads(row["reasons"] or "[]")
    decision = row["machine_decision"]
    if decision in ("duplicate", "error"):
        picked = reasons[:1]
    else:
        picked = [r for r in reasons if r["decision"] == decision and r["criterion"] not in ("shortlist",)]
        if decision == "include":
            picked = [r for r in reasons if r["criterion"] in ("content", "quality", "supersede")]
    text = " | ".join(f"{r['criterion']}: {r['reason']}" for r in picked[:4])
    return text[:1500]


def matrix_rows(store: Store, visible: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per record (file) identified, with what it is and what became of it. `visible`:
    only these people's decisions show (blind mode)."""
    from whatworks.screen import report_ids

    ids = report_ids(store)
    themes = _themes(store, visible)
    descriptions = corrections.effective_descriptions(store)  # reviewers' corrections applied
    documents = {r["sha256"]: r for r in docs.document_rows(store)}
    people: dict[str, list[str]] = {}
    for p in records_store.decision_rows(store):
        if visible is None or p["reviewer"] in visible:
            people.setdefault(p["sha256"], []).append(f"{p['reason'] or p['decision']} ({p['role']} {p['reviewer']})")
    out = []
    for r in records_store.final_rows(store, visible):
        sha = r["sha256"]
        d = descriptions.get(sha) if r["is_primary"] else None
        meta = {k: v.get("value") for k, v in (d or {}).get("metadata", {}).items()}
        doc = documents.get(sha, {})
        regions = meta.get("regions_ilo") or meta.get("regions_m49")
        period = meta.get("period")
        out.append({
            "report_id": ids.get(sha, "") if r["decision"] == "include" and r["is_primary"] else "",
            "title": meta.get("title") or doc.get("title") or Path(r["source"]).stem,
            "source": r["source"],
            "kind": (d or {}).get("kind", ""),
            "evaluation_type": meta.get("evaluation_type") or "",
            "timing": meta.get("timing") or "",
            "evaluator_type": meta.get("evaluator_type") or "",
            "regions": _join(regions),
            "countries": _join(meta.get("countries")),
            "themes": themes.get(sha, ""),
            "donors": _join(meta.get("donors")),
            "year": meta.get("year") or "",
            "period": "–".join(str(p) for p in period if p) if isinstance(period, list) else _join(period),
            "language": meta.get("language") or doc.get("language") or "",
            "project_codes": _join(meta.get("project_codes")),
            "link": meta.get("url") or "",
            "stage": r["stage"],
            "decision": r["decision"],
            "machine_decision": r["machine_decision"],
            "reasons": _reason_summary(r),
            "quality_score": r["quality_score"] if r["quality_score"] is not None else "",
            "human_decision": r["human_decision"] or "",
            "human_reason": "; ".join(people.get(sha, [])) if r["human_decision"] else "",
            "sha256": sha or "",
        })
    return out


# --- figures 1 and 3 -----------------------------------------------------------------------------

TIMING_LABELS = {"final": "Final", "midterm": "Mid-term", "ex_post": "Ex post", "other": "Other/not stated"}


def _type_label(meta: dict[str, Any]) -> str:
    et = meta.get("evaluation_type")
    if et in ("high_level", "strategy"):
        return "High-level/strategy"
    if et == "meta":
        return "Meta/synthesis"
    ev = meta.get("evaluator_type")
    return {"independent": "Independent", "internal": "Internal", "self": "Self-evaluation",
            "joint": "Joint"}.get(ev, "Not stated")


def _region_label(meta: dict[str, Any]) -> str:
    regions = meta.get("regions_ilo") or []
    if isinstance(regions, str):
        regions = [regions]
    if meta.get("scope") == "global" or len(regions) > 1:
        return "Global/interregional"
    return str(regions[0]) if regions else "Not stated"


def selection_breakdown(store: Store, visible: list[str] | None = None) -> dict[str, dict[str, Counter]]:
    """Counts by type, timing and region of the short-listed and of the finally selected reports."""
    descriptions = corrections.effective_descriptions(store)  # reviewers' corrections applied
    out = {"shortlisted": {"Type": Counter(), "Timing": Counter(), "Region": Counter()},
           "selected": {"Type": Counter(), "Timing": Counter(), "Region": Counter()}}
    for r in records_store.final_rows(store, visible):
        if not r["is_primary"] or r["decision"] in ("duplicate", "error"):
            continue
        if r["decision"] == "exclude" and r["stage"] == "search" and r["human_decision"] is None:
            continue
        meta = {k: v.get("value") for k, v in descriptions.get(r["sha256"], {}).get("metadata", {}).items()}
        groups = ["shortlisted"] + (["selected"] if r["decision"] == "include" else [])
        for g in groups:
            out[g]["Type"][_type_label(meta)] += 1
            out[g]["Timing"][TIMING_LABELS.get(meta.get("timing") or "other", "Other/not stated")] += 1
            out[g]["Region"][_region_label(meta)] += 1
    return out


