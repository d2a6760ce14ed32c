"""What each workspace page shows, from what the Review API returns: the templates only format.

Nothing here reads the database: every value comes from a `Review` method; these functions
arrange it for the page (labels, the text of a page with its items marked, the checks with the
protocol's wording). `visible` (Review.visible) hides other reviewers' decisions in blind mode.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from whatworks.api import Review
from whatworks.errors import NotFound, WhatworksError
from whatworks.model import DOCUMENT_KINDS, ITEM_KINDS, SECTION_KINDS
from whatworks.web import evidence
from whatworks.web.cache import Cache, visible_key
from whatworks.web.parts import part_of_items, parts_of

CSS = {"include": "yes", "met": "yes", "exclude": "no", "maybe": "unknown", "not_met": "muted"}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


# --- document -------------------------------------------------------------------------------------

def document(review: Review, sha256: str, p: int, part: int = 1) -> dict[str, Any]:
    """The document page: the text of page `p` (of its `part`, when the page is longer than
    PART_CHARS) with its sections and items marked, the metadata, sections and items with people's
    corrections over the machine's values."""
    dv = review.document_view(sha256)
    doc, machine, fixes, ov = dv.document, dv.machine, dv.corrections, dv.overlay
    looks = {(f["target"], f["key"]): f for f in ov.second_looks}
    npages = max(1, len(doc.pages))
    p = max(1, min(p, npages))
    sections = []
    for i, s in enumerate(machine.sections if machine else []):
        c = ov.sections.get(i)
        value = dict(s.to_dict(), index=i, human=c is not None, human_by=c.reviewer if c else None,
                     look=looks.get(("section", c.key)) if c else None)
        if c is not None:  # as the outputs see it (what the reviewer changed over the machine's section)
            fixed = ov.description.sections[i]
            value.update({k: getattr(fixed, k) for k in ("kind", "heading", "page_start", "page_end")})
        sections.append(value)
    starts: dict[int, list[dict]] = {}
    for s in sections:
        if s["human"] and machine and s["page_start"] != machine.sections[s["index"]].page_start:
            first = next((i for i, b in enumerate(doc.blocks) if b.page == s["page_start"]), s["block_start"])
            starts.setdefault(first, []).append(s)
        else:
            starts.setdefault(s["block_start"], []).append(s)
    items = item_views(ov)
    here = [it for it in items if it["page"] == p]
    parts = parts_of([(i, b) for i, b in enumerate(doc.blocks) if b.page == p])
    part = max(1, min(part, len(parts)))
    if len(parts) > 1:  # each item on the part that holds its text (an added one on the first)
        found = part_of_items(parts, here)
        here = [it for it in here if found.get(id(it), 1) == part]
    texts = [_norm(it["text"]) for it in here if not it["deleted"]]
    blocks = []
    for i, b, text in parts[part - 1]:
        nb = _norm(text[:2000])
        in_item = len(nb) > 15 and any(t and (nb[:80] in t or t[:80] in nb) for t in texts)
        blocks.append({"index": i, "kind": b.kind, "text": text, "sections": starts.get(i, []) if text is b.text
                       or b.text.startswith(text) else [], "in_item": in_item})
    counts: dict[int, int] = {}
    for it in items:
        if it["page"] != p:
            counts[it["page"]] = counts.get(it["page"], 0) + 1
    kind_fix = fixes.get(("kind", "kind"))
    kind = {"machine": machine.kind.value if machine else None,
            "confidence": machine.kind.confidence if machine else None,
            "evidence": machine.kind.evidence if machine else None,
            "human": kind_fix.value if kind_fix else None, "human_by": kind_fix.reviewer if kind_fix else None,
            "look": looks.get(("kind", "kind"))}
    keys = list(machine.metadata) if machine else []
    keys += [k for (t, k) in fixes if t == "metadata" and k not in keys]
    metadata = []
    for key in keys:
        val = machine.metadata.get(key) if machine else None
        c = fixes.get(("metadata", key))
        metadata.append({"key": key, "machine": val.value if val else None,
                         "confidence": val.confidence if val else None, "evidence": val.evidence if val else None,
                         "human": c.value if c else None, "human_by": c.reviewer if c else None,
                         "reason": c.reason if c else "", "look": looks.get(("metadata", key)),
                         "is_list": isinstance(val.value if val else None, list)})
    title = ov.description.value("title") or doc.title or Path(doc.source).name
    return {"sha256": sha256, "title": str(title), "source": doc.source, "format": doc.format,
            "language": doc.language, "npages": npages, "p": p, "part": part, "parts": len(parts), "warnings": doc.warnings, "blocks": blocks,
            "sections": sections, "items_here": here, "items_total": len(items), "other_pages": sorted(counts.items()),
            "kind": kind, "metadata": metadata, "second_looks": len(looks), "kinds": DOCUMENT_KINDS,
            "section_kinds": SECTION_KINDS, "item_kinds": ITEM_KINDS}


def item_views(ov) -> list[dict[str, Any]]:
    """The machine's items with reviewers' corrections (and added items) applied, for display: the
    same items, applied the same way, as the outputs use (corrections.overlay)."""
    out = []
    for e in ov.items:
        c = e.correction
        shown = e.item if e.item is not None else e.machine
        if shown is None:  # an added item marked "not an item", or a gone one: show the reviewer's text
            v = c.value if c is not None and isinstance(c.value, dict) else {}
            then = c.machine if c is not None and isinstance(c.machine, dict) else {}
            kind, text, page = (v.get("kind") or then.get("kind"), v.get("text") or then.get("text", ""),
                                int(v.get("page") or then.get("page") or 1))
            number = None
        else:
            kind, text, page, number = shown.kind, shown.text, shown.page, shown.number
        gone = c is not None and e.machine is None and not c.key.startswith("new:")
        out.append({"key": c.key if c is not None and not c.key.isdigit() else str(e.idx),
                    "idx": e.idx if e.machine is not None else None, "kind": kind, "text": text, "page": page,
                    "number": number, "human": c is not None, "human_by": c.reviewer if c else None,
                    "deleted": e.item is None, "look": e.second_look, "gone": gone,
                    "machine_now": e.machine.text if e.second_look and e.machine is not None else None})
    return out


# --- screening ------------------------------------------------------------------------------------

def checks(record: dict[str, Any], protocol) -> dict[str, Any]:
    """The machine's decision on one document and every check it made, in the protocol's words,
    with the reason and the page and passage it rests on."""
    criteria: dict[str, tuple[str, str]] = {}
    if protocol is not None:
        criteria = {c.id: (c.text, c.tier) for c in protocol.all_criteria()}
        criteria.update({c.id: (c.text, "quality") for c in protocol.quality})
    out = []
    for c in record["checks"]:
        text, tier = criteria.get(c["criterion"], (None, c["stage"]))
        out.append({"id": c["criterion"], "tier": tier, "text": text or c["reason"], "result": c["decision"],
                    "css": CSS.get(c["decision"], "unknown"),
                    "evidence": [{"page": c["page"], "text": c["evidence"]}] if c["evidence"] else [],
                    "note": c["reason"] if text else None})
    m = record["machine"]
    reason = None
    if m is not None:
        reason = f"decided at the {m['stage']} stage"
        if m["quality_score"] is not None:
            reason += f", quality score {m['quality_score']:.2f}"
        if m["duplicate_of"]:
            reason += f", duplicate of {Path(m['duplicate_of']).name}"
    return {"machine": m["decision"] if m else None, "machine_reason": reason, "criteria": out}


def _protocol(review: Review):
    """The protocol, or None when its file is broken (the checks then show the machine's reasons)."""
    try:
        return review.protocol
    except WhatworksError:
        return None


def summary_text(document, description, limit: int = 1500) -> str | None:
    """The executive summary (or the first findings) of a document, for the screening page."""
    for kind in ("executive_summary", "findings", "conclusions"):
        section = next((s for s in description.sections if s.kind == kind), None)
        if section is None:
            continue
        blocks = document.blocks[section.block_start + 1:section.block_end]
        text = "\n".join(b.text for b in blocks if b.kind not in ("header", "footer", "heading"))
        if text.strip():
            return text[:limit]
    return None


def screening(review: Review, sha256: str, v, visible: Sequence[str] | None, *, full: bool = True) -> dict[str, Any]:
    """One document as the screening page shows it: the machine's checks with evidence, the person's
    own decision, the others' (unless blind) and the lead's."""
    record = review.screening_record(sha256, v.user, visible)
    row = record["document"]
    view = {"sha256": sha256, **checks(record, _protocol(review)), "mine": record["mine"], "others": record["others"],
            "hidden": record["hidden"], "final": record["resolution"], "next_sha": record["next"]}
    if full:
        summary = None
        dv = review.document_view(sha256)
        description = dv.overlay.description if dv.machine is not None or dv.corrections else None
        if description is not None:
            summary = summary_text(dv.document, description)
        view.update(title=row["facet_title"] or row["title"] or Path(row["source"]).name, source=row["source"],
                    pages=row["pages"], language=row["language"], kind=row["kind"], year=row["year"],
                    countries=[c for c in str(row["countries"] or "").split("|") if c], summary=summary,
                    pane=evidence.document_pane(review, sha256, {f"crit-{c['id']}": (e["page"], e["text"])
                                                                 for c in view["criteria"] for e in c["evidence"]}))
    return view


def conflicts(review: Review, v, visible: Sequence[str] | None, cache: Cache, page: int = 1,
              per_page: int = 50) -> dict[str, Any]:
    """Open conflicts (and second looks, and corrections to look at again), a page at a time."""
    stamp = review.changes()
    key = visible_key(visible)
    items = cache.get(("conflicts", key), stamp["screening"], lambda: review.conflicts(visible))
    flagged = cache.get(("second-looks", key), stamp["screening"], lambda: review.second_looks(visible))
    fixes = cache.get("correction-looks", (stamp["corrections"], stamp["documents"]), review.correction_second_looks)
    # conflicts between reviewers first: they are the ones only the lead can settle
    items = sorted(items, key=lambda c: ("reviewers" not in c["kinds"], c["sha256"]))
    total, flagged_total, fixes_total = len(items), len(flagged), len(fixes)
    items = [dict(c) for c in items[(page - 1) * per_page: page * per_page]]  # copies: the lists are cached
    flagged = [dict(f) for f in flagged[:per_page]]
    fixes = [dict(f) for f in fixes[:per_page]]
    contested = review.correction_conflicts(visible=visible)[:per_page]
    titles = review.titles({c["sha256"] for c in items + flagged + fixes + contested})
    for row in items + flagged + fixes + contested:
        row["title"] = titles.get(row["sha256"], row["sha256"][:12])
    return {"conflicts": items, "contested": contested, "flagged": flagged, "flagged_total": flagged_total, "hidden": visible is not None,
            "corrections": fixes, "corrections_total": fixes_total, "total": total, "page": page,
            "per_page": per_page, "page_url": lambda n: f"/screen/conflicts?page={n}"}


# --- coding ---------------------------------------------------------------------------------------

def questions(codebook) -> list[dict[str, Any]]:
    if codebook is None:
        return []
    return [{"id": q.id, "label": q.label, "group": None, "groups": [{"id": g.id, "label": g.label} for g in q.groups],
             "themes": [{"id": t.id, "label": t.label, "definition": t.definition, "group": t.group}
                        for t in codebook.themes_for(q.id)]}
            for q in codebook.questions]


def _still_to_code(review: Review, user, queue: list[str], n_items: dict[str, int], n: int) -> list[str]:
    """The first `n` reports of `queue` that `user` has not coded every item of yet."""
    out: list[str] = []
    for i in range(0, len(queue), 20):
        part = queue[i:i + 20]
        mine = review.coded_counts(user, part)
        out += [x for x in part if mine.get(x, 0) < n_items.get(x, 0)]
        if len(out) >= n:
            break
    return out[:n]


def coding(review: Review, v, visible: Sequence[str] | None, cache: Cache, sha: str | None, only: str,
           dpage: int = 1, per_page: int = 100, item_order: str = "uncertain") -> dict[str, Any]:
    """The included reports with their item counts (a page of them), and one report's items with
    the machine's suggestions, the person's themes and (unless blind) the others'."""
    codebook = review.codebook
    labels = {t.id: t.label for t in codebook.themes}
    stamp = review.changes()  # the included reports change with screening; their items with describing and correcting
    reports = cache.get(("coding-reports", visible_key(visible)),
                        (stamp["screening"], stamp["documents"], stamp["corrections"]),
                        lambda: review.coding_reports(visible))
    order = [sha for sha, _ in reports]
    n_items = dict(reports)
    position = {x: i for i, x in enumerate(order)}

    def counted(shas: list[str]) -> list[dict[str, Any]]:
        mine = review.coded_counts(v.user, shas) if shas else {}
        titles = review.titles(shas)
        return [{"sha256": x, "title": titles.get(x, x[:12]), "n_items": n_items.get(x, 0), "mine": mine.get(x, 0)}
                for x in shas]

    if sha is not None and sha not in position and not review.titles([sha]):
        raise NotFound(f"no document {sha[:12]} in this review")
    current = sha if sha in position else None  # a report not included: the queue's first
    # least sure first; kept until the machine's codes change (a decision only takes reports off it,
    # checked here for the two it shows)
    queue = cache.get(("coding-queue", v.user.name, visible_key(visible)),
                      (stamp["screening"], stamp["documents"], stamp["corrections"], tuple(stamp["coding"][:2])),
                      lambda: review.coding_queue(v.user, order))
    queue = _still_to_code(review, v.user, queue, n_items, 2)
    if current is None and queue:
        current = queue[0]
    if current is None:  # the first report (in path order) with items the person has not coded
        for i in range(0, len(order), per_page):
            todo = [d for d in counted(order[i:i + per_page]) if d["mine"] < d["n_items"]]
            if todo:
                current = todo[0]["sha256"]
                break
        else:
            current = order[0] if order else None
    if current and (sha or dpage == 1):  # show the page of the list that holds the current report
        dpage = position[current] // per_page + 1
    items = evidence.coding_items(review, current, v.user, visible, labels, item_order) if current else []
    pane = evidence.document_pane(review, current, {f"item-{it['idx']}": (it["page"], it["text"]) for it in items}) \
        if current and items else None
    return {"docs": counted(order[(dpage - 1) * per_page: dpage * per_page]), "n_docs": len(order), "dpage": dpage,
            "per_page": per_page, "current": current,
            "current_title": review.titles([current]).get(current, current[:12]) if current else "", "items": items,
            "questions": questions(codebook), "theme_labels": labels, "total_items": sum(n_items.values()),
            "done": review.coded_total(v.user), "only": only, "order": item_order, "pane": pane,
            "next_in_queue": next((x for x in queue if x != current), None),
            "todo": sum(it["mine"] is None for it in items)}


def themes(review: Review, cache: Cache | None = None, examples: int = 3, unfit_shown: int = 10) -> dict[str, Any]:
    """The codebook with counts, the emerging themes, and the items no theme fits yet (the
    candidates emerging themes grow from: shown even when they form no group yet)."""
    codebook = review.codebook
    emerging = [{"id": e.id, "label": e.title, "terms": e.terms, "size": e.size, "status": e.status,
                 "examples": e.items[:examples], "definition": ""} for e in review.emerging()]
    stamp = review.changes()

    def unfit_items() -> list[dict[str, Any]]:  # seconds on a large review: on a thread and connection of its own
        with review.connection() as own:
            return own.unfit_items()

    if cache is not None:
        unfit, ready = cache.later("unfit", (stamp["screening"], stamp["coding"], stamp["documents"]), unfit_items)
    else:
        unfit, ready = review.unfit_items(), True
    return {"questions": questions(codebook), "counts": review.theme_counts(), "codebook_name": codebook.name,
            "emerging": emerging, "unfit": (unfit or [])[:unfit_shown], "unfit_total": len(unfit or []),
            "unfit_ready": ready, "unfit_known": unfit is not None}


# --- agreement ------------------------------------------------------------------------------------

def agreement(review: Review, visible: dict[str, list[str] | None], cache: Cache) -> dict[str, Any]:
    """Agreement per stage; a stage still blind for this person shows nothing (it would tell them
    how the others decided)."""
    stamp = review.changes()
    stages = []
    for stage, seen in visible.items():
        if seen is not None:
            stages.append((stage, None))
        else:
            stages.append((stage, cache.get(("agreement", stage), (stamp[stage], tuple(review.codebook.ids)),
                                            lambda s=stage: review.agreement(s))))
    return {"stages": stages}
