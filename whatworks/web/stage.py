"""The workspace's window on the stage modules (screen, search, coding, emerging, synthesize, report).

Everything the pages need from another module goes through here, so an interface change
is fixed in one place, and a stage that is not installed degrades to an empty panel
instead of a broken page.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


# --- screening --------------------------------------------------------------------------------


def machine_join_sql() -> str:
    """A LEFT JOIN giving each document `d` the machine's current screening decision as `m.decision`.

    Reads whatworks.screen's `screen_records` (its primary record per document) directly: the
    listing pages and sorts 20,000 documents in SQL, which screen_results() cannot do."""
    return "LEFT JOIN screen_records m ON m.sha256 = d.sha256 AND m.is_primary = 1"


def machine_map(db) -> dict[str, str]:
    """sha256 → the machine's current screening decision (include, maybe, exclude, duplicate, error)."""
    return {r[0]: r[1] for r in db.query("SELECT sha256, decision FROM screen_records WHERE is_primary = 1 "
                                         "AND sha256 IS NOT NULL")}


def machine_decision(db, sha256: str) -> str | None:
    return db.scalar("SELECT decision FROM screen_records WHERE sha256 = ? AND is_primary = 1", (sha256,))


CSS = {"include": "yes", "exclude": "no", "maybe": "unknown"}


def machine_detail(db, sha256: str, protocol) -> dict[str, Any]:
    """The machine's decision on one document and every check it made (eligibility, each protocol
    criterion, quality), with the reason and the page and passage it rests on."""
    from whatworks import screen

    row = db.one("SELECT decision, stage, quality_score, duplicate_of FROM screen_records WHERE sha256 = ? "
                 "AND is_primary = 1", (sha256,))
    criteria: dict[str, tuple[str, str]] = {}
    if protocol is not None:
        criteria = {c.id: (c.text, c.tier) for c in protocol.all_criteria()}
        criteria.update({c.id: (c.text, "quality") for c in protocol.quality})
    checks = []
    for c in screen.criteria_rows(db, sha256):
        text, tier = criteria.get(c["criterion"], (None, c["stage"]))
        checks.append({"id": c["criterion"], "tier": tier, "text": text or c["reason"],
                       "result": c["decision"], "css": CSS.get(c["decision"], "unknown"),
                       "evidence": [{"page": c["page"], "text": c["evidence"]}] if c["evidence"] else [],
                       "note": c["reason"] if text else None})
    reason = None
    if row is not None:
        reason = f"decided at the {row['stage']} stage"
        if row["quality_score"] is not None:
            reason += f", quality score {row['quality_score']:.2f}"
        if row["duplicate_of"]:
            reason += f", duplicate of {Path(row['duplicate_of']).name}"
    return {"decision": row["decision"] if row else None, "reason": reason, "criteria": checks}


def included(db) -> list[str]:
    from whatworks import screen

    return list(screen.included(db))


def summary_text(db, sha256: str, description, limit: int = 1500) -> str | None:
    """The executive summary (or the first findings) of a document, for the screening page."""
    for kind in ("executive_summary", "findings", "conclusions"):
        section = next((s for s in description.sections if s.kind == kind), None)
        if section is None:
            continue
        document = db.document(sha256)
        blocks = document.blocks[section.block_start + 1:section.block_end]
        text = "\n".join(b.text for b in blocks if b.kind not in ("header", "footer", "heading"))
        if text.strip():
            return text[:limit]
    return None


# --- search ------------------------------------------------------------------------------------


def search(db, q: str, *, limit: int, offset: int, mark: tuple[str, str], **filters: Any) -> tuple[list, int]:
    """Passages matching `q` (whatworks.search: FTS5 in SQLite, its tsvector emulation in PostgreSQL)
    and how many there are."""
    from whatworks import search as search_module

    hits = search_module.search(db, q, limit=limit, offset=offset, mark=mark, **filters)
    total = search_module.count(db, q, **filters) if hits or offset else 0
    return hits, total


# --- coding ------------------------------------------------------------------------------------


def emerging(db, examples: int = 3) -> list[dict[str, Any]]:
    """Candidate themes from items that fit no theme (whatworks.emerging), with a few example items."""
    import json

    try:
        rows = db.query("SELECT id, label, terms, size, status FROM emerging_themes WHERE status <> 'dismissed' "
                        "ORDER BY size DESC, id LIMIT 50")
    except Exception:  # noqa: BLE001 - the coding stage has not created its tables
        return []
    out = []
    from whatworks.coding import item_key

    for r in rows:
        ex = []
        for e in db.query("SELECT sha256, item_key FROM emerging_items WHERE theme_id = ? ORDER BY similarity DESC "
                          "LIMIT ?", (r["id"], examples)):
            for it in db.query("SELECT idx, text, page FROM items WHERE sha256 = ?", (e["sha256"],)):
                if item_key(it["text"]) == e["item_key"]:
                    ex.append({"sha256": e["sha256"], "page": it["page"], "text": it["text"]})
                    break
        terms = json.loads(r["terms"]) if r["terms"] else []
        out.append({"id": r["id"], "label": r["label"], "terms": terms, "size": r["size"], "status": r["status"],
                    "examples": ex, "definition": ""})
    return out


def add_theme(project, *, label: str, definition: str, question: str, group: str | None,
              descriptors: list[str]) -> str:
    """Append a theme to the project's codebook.yaml (checked by the codebook parser before writing)."""
    import yaml

    from whatworks.codebook import parse_codebook
    from whatworks.errors import ProtocolError

    path = project.codebook_path
    if not path.exists():
        raise ValueError(f"the project has no {path.name} to add a theme to")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    theme_id = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40] or "theme"
    existing = {t["id"] for q in raw.get("questions", []) for t in _theme_lists(q)}
    base, n = theme_id, 2
    while theme_id in existing:
        theme_id, n = f"{base}_{n}", n + 1
    q = next((q for q in raw.get("questions", []) if q.get("id") == question), None)
    if q is None:
        raise ValueError(f"the codebook has no question {question!r}")
    theme = {"id": theme_id, "label": label, "definition": definition, "descriptors": {"en": descriptors}}
    if group:
        g = next((g for g in q.get("groups") or [] if g.get("id") == group), None)
        if g is None:
            raise ValueError(f"question {question} has no group {group!r}")
        g.setdefault("themes", []).append(theme)
    else:
        q.setdefault("themes", []).append(theme)
    try:
        parse_codebook(raw, str(path))
    except ProtocolError as e:
        raise ValueError(str(e)) from None
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=100)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return theme_id


def _theme_lists(q: dict) -> list[dict]:
    out = list(q.get("themes") or [])
    for g in q.get("groups") or []:
        out += list(g.get("themes") or [])
    return out


def name_emerging(db, emerging_id: int, theme_id: str, reviewer: str) -> None:
    db.execute("UPDATE emerging_themes SET status = 'named', name = ?, reviewer = ?, updated_at = ? WHERE id = ?",
               (theme_id, reviewer, time.time(), emerging_id))


# --- synthesis and reports ------------------------------------------------------------------------


def export_formats() -> list[tuple[str, str]]:
    return [("all", "Every format"), ("html", "HTML"), ("docx", "Word"), ("md", "Markdown"), ("xlsx", "Excel")]


def synthesis_preview(project, db) -> dict[str, Any]:
    return {"sections": [], "seconds": None, "error": "The synthesis module is not available yet.", "fresh": []}


def write(project, db, fmt: str) -> list[Path]:
    from whatworks.report import write_reports

    return list(write_reports(project))
