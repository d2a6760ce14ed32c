"""The workspace's window on the stage modules (screen, search, coding, emerging, synthesize, report).

Everything the pages need from another module goes through here, so an interface change
is fixed in one place, and a stage that is not installed degrades to an empty panel
instead of a broken page.
"""

from __future__ import annotations

import logging
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


CSS = {"include": "yes", "met": "yes", "exclude": "no", "maybe": "unknown", "not_met": "muted"}


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
    try:
        from whatworks.emerging import emerging_themes
    except ImportError:
        return []
    out = []
    for e in emerging_themes(db):
        out.append({"id": e.id, "label": e.title, "terms": e.terms, "size": e.size, "status": e.status,
                    "examples": e.items[:examples], "definition": ""})
    return out


def add_theme(project, *, label: str, definition: str, question: str, group: str | None,
              descriptors: list[str]) -> str:
    """Add a theme to the project's codebook.yaml (whatworks.codebook.add_theme: comments and layout
    kept, checked before writing, the previous version kept as codebook.yaml.bak)."""
    from whatworks.codebook import add_theme as add
    from whatworks.errors import ProtocolError

    path = project.codebook_path
    if not path.exists():
        raise ValueError(f"the project has no {path.name} to add a theme to")
    try:
        return add(path, label=label, definition=definition, question=question, group=group,
                   descriptors=descriptors)
    except ProtocolError as e:
        raise ValueError(str(e)) from None


def name_emerging(db, emerging_id: int, label: str, reviewer: str) -> None:
    from whatworks.emerging import name_emerging as name

    name(db, emerging_id, label, reviewer)


def dismiss_emerging(db, emerging_id: int, reviewer: str) -> None:
    from whatworks.emerging import dismiss_emerging as dismiss

    dismiss(db, emerging_id, reviewer)


# --- synthesis and reports ------------------------------------------------------------------------


def bound_project(project, db):
    """The project with its database swapped for `db` (the request's connection, SQLite or PostgreSQL),
    for stage functions that take a project."""
    from whatworks.project import Project

    bound = Project(project.root)
    bound._db = db
    return bound


def export_formats() -> list[tuple[str, str]]:
    """(format, button label) for every report format write_reports knows, plus "all"."""
    out = [("all", "Every format")]
    try:
        from whatworks import report
    except ImportError:
        return out
    formats = getattr(report, "FORMATS", None)
    labels = {"html": "HTML", "docx": "Word", "md": "Markdown", "markdown": "Markdown", "xlsx": "Excel",
              "json": "JSON", "csv": "CSV", "pdf": "PDF"}
    if formats:
        out += [(f, labels.get(f, f.upper())) for f in formats]
    return out


def synthesis_preview(project, db) -> dict[str, Any]:
    """The synthesis from the current decisions and codes (whatworks.synthesize, template narratives:
    the preview never waits for a language model)."""
    try:
        from whatworks.synthesize import synthesize
    except ImportError:
        return {"synthesis": None, "seconds": None, "error": "The synthesis stage is not installed."}
    t0 = time.perf_counter()
    try:
        synthesis = synthesize(bound_project(project, db), use_llm=False)
    except Exception as e:  # noqa: BLE001 - show why, keep the page
        log.exception("synthesis preview failed")
        return {"synthesis": None, "seconds": None, "error": f"The synthesis failed: {type(e).__name__}: {e}"}
    return {"synthesis": synthesis, "seconds": time.perf_counter() - t0, "error": None}


def write(project, db, fmt: str, synthesis=None) -> list[Path]:
    """whatworks.report.write_reports for one format (or all) into the project's output folder."""
    import inspect

    from whatworks.report import write_reports

    bound = bound_project(project, db)
    params = inspect.signature(write_reports).parameters
    kwargs: dict[str, Any] = {}
    if fmt != "all" and "formats" in params:
        kwargs["formats"] = [fmt]
    if synthesis is not None and "synthesis" in params:
        kwargs["synthesis"] = synthesis
    return list(write_reports(bound, **kwargs))
