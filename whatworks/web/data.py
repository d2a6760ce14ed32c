"""What each workspace page shows, gathered from the stage modules and the workspace tables.

Pages call these functions and templates only format. Listings page in SQL (LIMIT/OFFSET
over indexed tables) so a review of 20,000 documents stays fast; everything else goes
through the stage modules' public functions.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape

from whatworks import workspace as ws
from whatworks.model import ITEM_KINDS, SECTION_KINDS

log = logging.getLogger(__name__)

MARKS = ("\x02", "\x03")  # search marks: never in escaped text, turned into <mark> after escaping


# --- template filters ---------------------------------------------------------------------


def _label(value: Any) -> str:
    return "" if value is None else str(value).replace("_", " ")


def _show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _edit(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _marked(text: str) -> Markup:
    """Escape a snippet, then turn the search marks into <mark> (only those tags are ever added)."""
    escaped = str(escape(text))
    return Markup(escaped.replace(MARKS[0], "<mark>").replace(MARKS[1], "</mark>"))


def _pct(value: Any) -> str:
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return ""


def _bars(value: Any) -> str:
    return ", ".join(v for v in str(value or "").split("|") if v)


def _basename(value: Any) -> str:
    return re.split(r"[\\/]", str(value or ""))[-1]


def _when(value: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(float(value)))
    except (TypeError, ValueError):
        return ""


def _kappa(value: Any) -> str:
    return "—" if value is None else f"{value:.2f}"


FILTERS = {"label": _label, "show": _show, "edit": _edit, "marked": _marked, "pct": _pct, "bars": _bars,
           "basename": _basename, "when": _when, "kappa": _kappa,
           "jsonv": lambda v: _show(json.loads(v)) if v else "—"}


# --- cached project files and facets --------------------------------------------------------


class Cache:
    """Protocol, codebook and filter choices, reread when their file changes (or every 30 s)."""

    def __init__(self, project):
        self.project = project
        self.lock = threading.Lock()
        self.items: dict[str, tuple[Any, Any]] = {}
        self.version = 0

    def clear(self) -> None:
        with self.lock:
            self.items.clear()

    def _get(self, key: str, stamp: Any, make):
        with self.lock:
            hit = self.items.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = make()
        with self.lock:
            self.items[key] = (stamp, value)
        return value

    def _mtime(self, path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    def protocol(self):
        def make():
            try:
                return self.project.protocol()
            except Exception as e:  # noqa: BLE001 - a broken protocol must not break the workspace
                log.warning("cannot read the protocol: %s", e)
                return None

        return self._get("protocol", self._mtime(self.project.protocol_path), make)

    def codebook(self):
        def make():
            try:
                return self.project.codebook()
            except Exception as e:  # noqa: BLE001
                log.warning("cannot read the codebook: %s", e)
                return None

        return self._get("codebook", self._mtime(self.project.codebook_path), make)

    def included(self, db) -> list[str]:
        """whatworks.screen.included, kept for a few seconds (the coding queue asks on every page)."""
        from whatworks.web import stage

        return self.get("included", lambda: stage.included(db))

    def get(self, key: str, make):
        """A value that depends on the decisions: kept 5 s, dropped at once when one is recorded here."""
        return self._get(key, (int(time.time() // 5), self.version), make)

    def all_indexed(self, db) -> bool:
        """Every document has its doc_facets row (both counts come from indexes, so this is cheap)."""
        return (db.scalar("SELECT COUNT(*) FROM documents") or 0) == (db.scalar("SELECT COUNT(*) FROM doc_facets") or 0)

    def changed(self) -> None:
        """A decision was recorded here: drop what depends on decisions."""
        with self.lock:
            self.version += 1

    def theme_ids(self) -> list[str]:
        cb = self.codebook()
        return [t.id for t in cb.themes] if cb else []

    def facets(self, db) -> dict[str, list[str]]:
        def make():
            kinds = [r[0] for r in db.query("SELECT DISTINCT kind FROM descriptions WHERE kind IS NOT NULL "
                                            "ORDER BY kind")]
            languages = [r[0] for r in db.query("SELECT DISTINCT language FROM documents WHERE language IS NOT NULL "
                                                "ORDER BY language")]
            return {"kinds": kinds, "languages": languages, "sections": list(SECTION_KINDS)}

        return self._get("facets", int(time.time() // 30), make)


# --- corpus ---------------------------------------------------------------------------------

SORTS = {
    "title": "LOWER(COALESCE(f.title, d.title, d.source))",
    "kind": "f.kind",
    "year": "f.year",
    "language": "d.language",
    "pages": "d.pages",
    "source": "d.source",
    "machine": "m.decision",
}


#: Sorts that can walk an index of doc_facets (search's year and kind indexes, our title index).
FACET_SORTS = {"title": "f.title COLLATE NOCASE", "year": "f.year", "kind": "f.kind"}


@dataclass
class CorpusFilter:
    q: str = ""
    kind: str = ""
    language: str = ""
    year: str = ""
    country: str = ""
    region: str = ""
    section: str = ""
    machine: str = ""
    status: str = ""
    sort: str = "source"
    dir: str = "asc"

    @classmethod
    def from_params(cls, params) -> CorpusFilter:
        f = cls(**{fl.name: str(params.get(fl.name) or "").strip()[:300] for fl in fields(cls)
                   if params.get(fl.name)})
        if f.sort not in SORTS:
            f.sort = "source"
        if f.dir not in ("asc", "desc"):
            f.dir = "asc"
        return f

    def params(self, **changes: Any) -> dict[str, Any]:
        out = {fl.name: getattr(self, fl.name) for fl in fields(self)}
        out.update(changes)
        return {k: v for k, v in out.items() if v not in (None, "") and not (k == "sort" and v == "source")
                and not (k == "dir" and v == "asc")}

    def url(self, **changes: Any) -> str:
        return "/corpus?" + urlencode(self.params(**changes))

    def page_url(self, page: int) -> str:
        return self.url(page=page)

    def year_range(self) -> tuple[int | None, int | None]:
        m = re.fullmatch(r"\s*(\d{4})?\s*(?:[-–:]|\.\.)?\s*(\d{4})?\s*", self.year or "")
        if not m or not any(m.groups()):
            return None, None
        lo, hi = m.group(1), m.group(2)
        if lo and not hi and not re.search(r"[-–:.]", self.year):
            hi = lo
        return (int(lo) if lo else None, int(hi) if hi else None)


def _machine_join() -> str:
    """SQL joining the machine's current screening decision as m.decision (one row per document)."""
    from whatworks.web import stage

    return stage.machine_join_sql()


def corpus_page(db, f: CorpusFilter, page: int, per_page: int, v, cache: Cache) -> tuple[list[dict], int]:
    """One page of the corpus listing, filtered and sorted in SQL, and the total count.

    Facets (kind, year, countries, title) come from whatworks.search's `doc_facets`; only the
    joins a filter or the sort needs are made (narrow covering indexes keep them cheap)."""
    where, params, need = [], [], set()
    if f.kind:
        where.append("f.kind = ?")
        params.append(f.kind)
        need.add("f")
    if f.language:
        where.append("d.language = ?")
        params.append(f.language)
    lo, hi = f.year_range()
    if lo is not None:
        where.append("f.year >= ?")
        params.append(lo)
    if hi is not None:
        where.append("f.year <= ?")
        params.append(hi)
    if f.country:
        where.append("f.countries LIKE ?")
        params.append(f"%|{f.country.upper()}|%")
    if f.region:
        where.append("f.regions LIKE ?")
        params.append(f"%|{f.region.lower()}|%")
    if lo is not None or hi is not None or f.country or f.region:
        need.add("f")
    if f.machine in ws.DECISIONS or f.machine in ("duplicate", "error"):
        where.append("m.decision = ?")
        params.append(f.machine)
        need.add("m")
    elif f.machine == "none":
        where.append("m.decision IS NULL")
        need.add("m")
    if f.status == "todo":
        where.append("NOT EXISTS (SELECT 1 FROM ws_screening h WHERE h.sha256 = d.sha256 AND h.reviewer = ?)")
        params.append(v.name)
    elif f.status == "mine":
        where.append("EXISTS (SELECT 1 FROM ws_screening h WHERE h.sha256 = d.sha256 AND h.reviewer = ?)")
        params.append(v.name)
    elif f.status == "human":
        where.append("EXISTS (SELECT 1 FROM ws_screening h WHERE h.sha256 = d.sha256)")
    elif f.status == "none":
        where.append("NOT EXISTS (SELECT 1 FROM ws_screening h WHERE h.sha256 = d.sha256)")
    elif f.status == "resolved":
        where.append("EXISTS (SELECT 1 FROM ws_resolutions r WHERE r.sha256 = d.sha256)")

    def joins(which: set[str]) -> str:
        out = "FROM documents d "
        if "f" in which:
            out += "LEFT JOIN doc_facets f ON f.sha256 = d.sha256 "
        if "m" in which:
            out += _machine_join()
        return out

    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = db.scalar(f"SELECT COUNT(*) {joins(need)}{clause}", params) or 0
    direction = "DESC" if f.dir == "desc" else "ASC"
    offset = (page - 1) * per_page
    if f.sort in FACET_SORTS and cache.all_indexed(db):
        # walk doc_facets' index in order (every document has its facets row): no sort of 20,000 rows
        driver = ("FROM doc_facets f JOIN documents d ON d.sha256 = f.sha256 "
                  + (_machine_join() if "m" in need else ""))
        ids = db.query(f"SELECT d.sha256 {driver}{clause} ORDER BY {FACET_SORTS[f.sort]} {direction} "
                       "LIMIT ? OFFSET ?", [*params, per_page, offset])
    else:
        order = SORTS[f.sort]
        nulls = f"CASE WHEN {order} IS NULL THEN 1 ELSE 0 END, " if order.startswith(("f.", "m.")) else ""
        sort_needs = need | ({"f"} if order.startswith("f.") or "f." in order else set()) | (
            {"m"} if order.startswith("m.") else set())
        ids = db.query(f"SELECT d.sha256 {joins(sort_needs)}{clause} ORDER BY {nulls}{order} {direction}, d.source "
                       "LIMIT ? OFFSET ?", [*params, per_page, offset])
    order_of = {r[0]: i for i, r in enumerate(ids)}
    rows = []
    if order_of:  # the page's rows, with everything the listing shows (50 lookups, not 20,000)
        marks = ", ".join("?" for _ in order_of)
        rows = db.query(
            f"SELECT d.sha256, d.source, d.format, d.pages, d.language, COALESCE(f.title, d.title) AS title, "
            f"f.kind, f.year, f.countries, m.decision AS machine, r.decision AS final "
            f"{joins({'f', 'm'})} LEFT JOIN ws_resolutions r ON r.sha256 = d.sha256 WHERE d.sha256 IN ({marks})",
            list(order_of))
        rows = sorted(rows, key=lambda r: order_of[r["sha256"]])
    out = [dict(zip(r.keys(), tuple(r), strict=True)) for r in rows]
    shas = [r["sha256"] for r in out]
    humans: dict[str, list[dict]] = {}
    kinds: dict[str, str] = {}
    if shas:
        marks = ", ".join("?" for _ in shas)
        for h in db.query(f"SELECT sha256, reviewer, decision, machine FROM ws_screening WHERE sha256 IN ({marks}) "
                          "ORDER BY reviewer", shas):
            humans.setdefault(h["sha256"], []).append(dict(zip(h.keys(), tuple(h), strict=True)))
        missing = [r["sha256"] for r in out if r["kind"] is None]
        if missing:  # not indexed by search yet: the description knows the kind
            marks = ", ".join("?" for _ in missing)
            kinds = {r[0]: r[1] for r in db.query(f"SELECT sha256, kind FROM descriptions WHERE sha256 IN ({marks})",
                                                  missing)}
    hide = hide_others(db, v, "screening")
    for r in out:
        r["kind"] = r["kind"] or kinds.get(r["sha256"])
        hs = humans.get(r["sha256"], [])
        r["flag"] = any(h["machine"] and r["machine"] and h["machine"] != r["machine"] for h in hs)
        visible = [h for h in hs if not hide or h["reviewer"] == v.name]
        r["humans"] = visible
        r["hidden"] = len(hs) - len(visible)
        r["stage"] = ("resolved" if r["final"] else "reviewed" if hs else "screened" if r["machine"]
                      else "described" if r["kind"] else "read")
    return out, total


def hide_others(db, v, stage: str) -> bool:
    """Blind mode: a reviewer in team mode sees no one else's decisions until the lead reveals them."""
    return bool(v.team and not v.user.is_lead and ws.blind(db, stage))


def search_page(db, f: CorpusFilter, page: int, per_page: int) -> dict[str, Any]:
    """Full-text search results (passages with marked snippets) for the corpus page."""
    from whatworks.web import stage

    try:
        hits, total = stage.search(db, f.q, year=f.year or None, kind=f.kind or None, region=f.region or None,
                                   country=f.country.upper() or None, language=f.language or None,
                                   section=f.section or None, limit=per_page, offset=(page - 1) * per_page,
                                   mark=MARKS)
    except ValueError as e:  # search.QueryError: the message says how to write the query
        return {"hits": [], "total": 0, "error": str(e)}
    return {"hits": hits, "total": total, "error": None}


# --- document -------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def document_view(db, sha256: str, p: int, cache: Cache) -> dict[str, Any] | None:
    try:
        document = db.document(sha256)
    except KeyError:
        return None
    machine = db.description(sha256)
    fixes = ws.corrections(db, sha256)
    ov = _overlay(machine, fixes)
    looks = {(f["target"], f["key"]): f for f in ov.second_looks} if ov else {}
    npages = max(1, len(document.pages))
    p = max(1, min(p, npages))
    # sections (machine + corrections, which follow their section when a re-run renumbered them)
    sections = []
    for i, s in enumerate(machine.sections if machine else []):
        c = ov.sections.get(i) if ov else None
        value = dict(s.to_dict(), index=i, human=c is not None, human_by=c.reviewer if c else None,
                     look=looks.get(("section", c.key)) if c else None)
        if c is not None:  # as the outputs see it (what the reviewer changed over the machine's section)
            fixed = ov.description.sections[i]
            value.update({k: getattr(fixed, k) for k in ("kind", "heading", "page_start", "page_end")})
        sections.append(value)
    # blocks of this page, with section starts and items marked
    blocks_all = document.blocks
    starts: dict[int, list[dict]] = {}
    for s in sections:
        if s["human"] and s["page_start"] != (machine.sections[s["index"]].page_start if machine else None):
            first = next((i for i, b in enumerate(blocks_all) if b.page == s["page_start"]), s["block_start"])
            starts.setdefault(first, []).append(s)
        else:
            starts.setdefault(s["block_start"], []).append(s)
    items = item_views(db, sha256, machine, fixes, ov)
    here = [it for it in items if it["page"] == p]
    texts = [_norm(it["text"]) for it in here if not it["deleted"]]
    blocks = []
    for i, b in enumerate(blocks_all):
        if b.page != p:
            continue
        nb = _norm(b.text)
        in_item = len(nb) > 15 and any(t and (nb[:80] in t or t[:80] in nb) for t in texts)
        blocks.append({"index": i, "kind": b.kind, "text": b.text, "sections": starts.get(i, []),
                       "in_item": in_item})
    counts: dict[int, int] = {}
    for it in items:
        if it["page"] != p:
            counts[it["page"]] = counts.get(it["page"], 0) + 1
    # metadata
    kind_fix = fixes.get(("kind", "kind"))
    kind = {"machine": machine.kind.value if machine else None,
            "confidence": machine.kind.confidence if machine else None,
            "evidence": machine.kind.evidence if machine else None,
            "human": kind_fix.value if kind_fix else None, "human_by": kind_fix.reviewer if kind_fix else None,
            "look": looks.get(("kind", "kind"))}
    metadata = []
    keys_meta = list(machine.metadata) if machine else []
    keys_meta += [k for (t, k) in fixes if t == "metadata" and k not in keys_meta]
    for key in keys_meta:
        val = machine.metadata.get(key) if machine else None
        c = fixes.get(("metadata", key))
        metadata.append({"key": key, "machine": val.value if val else None,
                         "confidence": val.confidence if val else None, "evidence": val.evidence if val else None,
                         "human": c.value if c else None, "human_by": c.reviewer if c else None,
                         "reason": c.reason if c else "", "look": looks.get(("metadata", key)),
                         "is_list": isinstance(val.value if val else None, list)})
    from whatworks import protocol as protocol_module

    title = (machine.value("title") if machine else None) or document.title or Path(document.source).name
    tfix = fixes.get(("metadata", "title"))
    if tfix and tfix.value:
        title = tfix.value
    return {"sha256": sha256, "title": str(title), "source": document.source, "format": document.format,
            "language": document.language, "npages": npages, "p": p, "warnings": document.warnings,
            "blocks": blocks, "sections": sections, "items_here": here, "items_total": len(items),
            "other_pages": sorted(counts.items()), "kind": kind, "metadata": metadata,
            "second_looks": len(looks),
            "kinds": protocol_module.KINDS, "section_kinds": SECTION_KINDS, "item_kinds": ITEM_KINDS}


def _overlay(machine, fixes: dict):
    """The workspace's overlay of `fixes` on the machine's description (None without corrections)."""
    if not fixes:
        return None
    from whatworks.model import Description, Value

    return ws.overlay(machine or Description(kind=Value(None, 0.0)), fixes)


def item_views(db, sha256: str, machine, fixes: dict, ov=None) -> list[dict[str, Any]]:
    """The machine's items with reviewers' corrections (and added items) applied, for display — the
    same items, in the same way, as the outputs use (workspace.overlay)."""
    ov = ov if ov is not None else _overlay(machine, fixes)
    if ov is None:
        return [{"key": str(i), "idx": i, "kind": item.kind, "text": item.text, "page": item.page,
                 "number": item.number, "human": False, "human_by": None, "deleted": False, "look": None,
                 "machine_now": None}
                for i, item in enumerate(machine.items if machine else [])]
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


def _parse_value(raw: str, like: Any) -> Any:
    """A form's text as the type of the machine's value (list, number, text)."""
    raw = raw.strip()
    if isinstance(like, list):
        return [x.strip() for x in raw.split(",") if x.strip()]
    if isinstance(like, bool):
        return raw.lower() in ("1", "true", "yes", "y")
    if isinstance(like, int) and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if isinstance(like, float):
        try:
            return float(raw)
        except ValueError:
            return raw
    if like is None and re.fullmatch(r"\d{4}", raw):
        return int(raw)
    return raw


def apply_correction(db, sha256: str, form: dict[str, str], user: ws.User) -> None:
    """Turn a correction form into workspace.correct (one transaction with its audit line)."""
    from fastapi import HTTPException

    if not db.has_document(sha256):
        raise HTTPException(404, "No such document in this review.")
    machine = db.description(sha256)
    target, key = form.get("target", ""), form.get("key", "")[:100]
    reason = form.get("reason", "")[:2000]
    remove = bool(form.get("remove"))
    npages = db.scalar("SELECT pages FROM documents WHERE sha256 = ?", (sha256,)) or 1

    def page(name: str, default: int) -> int:
        raw = form.get(name) or default
        try:
            value = int(raw)
        except ValueError:
            raise HTTPException(400, f"{name.replace('_', ' ')}: {raw!r} is not a page number.") from None
        if not 1 <= value <= npages:
            raise HTTPException(400, f"{name.replace('_', ' ')}: the document has pages 1 to {npages}, not {value}.")
        return value

    if target == "kind":
        from whatworks.protocol import KINDS

        value = form.get("value", "")
        if not remove and value not in KINDS:
            raise HTTPException(400, f"Unknown kind {value!r}.")
        ws.correct(db, sha256, "kind", "kind", None if remove else value, user,
                   machine.kind.value if machine else None, reason)
    elif target == "metadata":
        if not re.fullmatch(r"[a-z0-9_]{1,60}", key):
            raise HTTPException(400, "Unknown metadata field.")
        old = machine.metadata.get(key) if machine else None
        like = old.value if old else None
        ws.correct(db, sha256, "metadata", key, None if remove else _parse_value(form.get("value", ""), like),
                   user, like, reason)
    elif target == "section":
        if not key.isdigit() or machine is None or int(key) >= len(machine.sections):
            raise HTTPException(400, "Unknown section.")
        s = machine.sections[int(key)]
        kind = form.get("kind", s.kind)
        if kind not in SECTION_KINDS:
            raise HTTPException(400, f"Unknown section kind {kind!r}.")
        start, end = page("page_start", s.page_start), page("page_end", s.page_end)
        if end < start:
            raise HTTPException(400, "A section cannot end before it starts: check the pages.")
        value = {"kind": kind, "heading": form.get("heading", s.heading)[:500], "page_start": start,
                 "page_end": end}
        ws.correct(db, sha256, "section", key, None if remove else value, user,
                   {k: getattr(s, k) for k in ("kind", "heading", "page_start", "page_end")}, reason)
    elif target == "item":
        kind = form.get("kind", "")
        text = form.get("text", "").strip()[:20000]
        if key == "new":
            if kind not in ITEM_KINDS or not text:
                raise HTTPException(400, "A new item needs a kind and its text.")
            key = f"new:{int(time.time() * 1000)}"
            ws.correct(db, sha256, "item", key, {"kind": kind, "text": text, "page": page("page", 1)}, user,
                       None, reason)
            return
        if key.startswith(("new:", "gone:")):
            old_machine = None
        elif key.isdigit() and machine is not None and int(key) < len(machine.items):
            it = machine.items[int(key)]
            old_machine = {"kind": it.kind, "text": it.text, "page": it.page}
        else:
            raise HTTPException(400, "Unknown item.")
        if remove or (kind == "deleted" and key.startswith("new:")):  # an added item that is not one: gone
            ws.correct(db, sha256, "item", key, None, user, old_machine, reason)
            return
        if kind == "deleted":
            value = {"deleted": True}
        elif kind in ITEM_KINDS:
            value = {"kind": kind, "text": text or (old_machine or {}).get("text", ""), "page": page("page", 1)}
        else:
            raise HTTPException(400, f"Unknown item kind {kind!r}.")
        ws.correct(db, sha256, "item", key, value, user, old_machine, reason)
    else:
        raise HTTPException(400, "Unknown correction.")


def safe_only(value: str) -> str:
    return value if value in ("todo", "all", "include", "maybe", "exclude", "flagged") else "todo"


# --- screening ------------------------------------------------------------------------------


def machine_decision(db, sha256: str) -> str | None:
    from whatworks.web import stage

    return stage.machine_decision(db, sha256)


def screening_queue(db, v, only: str, cache: Cache) -> dict[str, Any]:
    """Progress and the next document of the reviewer's queue (`only`: todo, all, a machine decision,
    flagged)."""
    only = safe_only(only)
    where, params = [], []
    if only in ws.DECISIONS:
        where.append("m.decision = ?")
        params.append(only)
    if only in ("todo",) or only in ws.DECISIONS:
        where.append("NOT EXISTS (SELECT 1 FROM ws_screening h WHERE h.sha256 = d.sha256 AND h.reviewer = ?)")
        params.append(v.name)
    if only == "flagged":
        where.append("EXISTS (SELECT 1 FROM ws_screening h WHERE h.sha256 = d.sha256 AND h.reviewer = ? "
                     "AND h.machine IS NOT NULL AND m.decision IS NOT NULL AND h.machine <> m.decision)")
        params.append(v.name)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    joins = "FROM documents d " + _machine_join()
    nxt = db.scalar(f"SELECT d.sha256 {joins}{clause} ORDER BY d.source LIMIT 1", params)
    total = db.scalar("SELECT COUNT(*) FROM documents") or 0
    done = db.scalar("SELECT COUNT(*) FROM ws_screening WHERE reviewer = ?", (v.name,)) or 0
    flagged = db.scalar(f"SELECT COUNT(*) FROM ws_screening h JOIN documents d ON d.sha256 = h.sha256 {_machine_join()} "
                        "WHERE h.reviewer = ? AND h.machine IS NOT NULL AND m.decision IS NOT NULL "
                        "AND h.machine <> m.decision", (v.name,)) or 0
    conflicts = db.scalar("SELECT COUNT(*) FROM (SELECT sha256 FROM ws_screening GROUP BY sha256 "
                          "HAVING COUNT(DISTINCT decision) > 1) c WHERE NOT EXISTS (SELECT 1 FROM ws_resolutions r "
                          "WHERE r.sha256 = c.sha256)") or 0
    if hide_others(db, v, "screening"):
        conflicts = 0
    return {"next": nxt, "total": total, "done": done, "flagged": flagged, "conflicts": conflicts, "only": only}


def screening_view(db, sha256: str, v, cache: Cache, with_document: bool = True,
                   only: str = "todo") -> dict[str, Any] | None:
    """One document as the screening page shows it: summary, the machine's decision per criterion with
    evidence, the reviewer's own decision, the others' (unless blind) and the lead's."""
    from whatworks.web import stage

    row = db.one("SELECT d.sha256, d.source, d.pages, d.language, d.title, f.title AS ftitle, f.kind, f.year, "
                 "f.countries FROM documents d LEFT JOIN doc_facets f ON f.sha256 = d.sha256 WHERE d.sha256 = ?",
                 (sha256,))
    if row is None:
        return None
    detail = stage.machine_detail(db, sha256, cache.protocol())
    decisions = ws.screening_decisions(db, sha256)
    mine = next((d for d in decisions if d["reviewer"] == v.name), None)
    others = [d for d in decisions if d["reviewer"] != v.name]
    hidden = 0
    if hide_others(db, v, "screening"):
        hidden, others = len(others), []
    view = {"sha256": sha256, "machine": detail["decision"], "machine_reason": detail.get("reason"),
            "criteria": detail["criteria"], "mine": mine, "others": others, "hidden": hidden,
            "final": ws.resolution(db, sha256)}
    if with_document:
        description = db.description(sha256)
        summary = None
        if description is not None:
            summary = stage.summary_text(db, sha256, description)
        view.update(title=row["ftitle"] or row["title"] or _basename(row["source"]), source=row["source"],
                    pages=row["pages"], language=row["language"],
                    kind=row["kind"] or (description.kind.value if description else None), year=row["year"],
                    countries=[c for c in str(row["countries"] or "").split("|") if c], summary=summary)
        nxt = db.scalar("SELECT d.sha256 FROM documents d WHERE d.source > ? AND NOT EXISTS (SELECT 1 FROM "
                        "ws_screening h WHERE h.sha256 = d.sha256 AND h.reviewer = ?) ORDER BY d.source LIMIT 1",
                        (row["source"], v.name))
        view["next_sha"] = nxt
    return view


def conflicts_view(db, v, cache: Cache, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """Open conflicts (and second looks), a page at a time."""
    items, flagged = screening_disagreements(db, cache)
    hidden = hide_others(db, v, "screening")
    if hidden:  # a blind reviewer sees only their own disagreements with the machine
        items = [{**c, "kinds": ["machine"], "decisions": [d for d in c["decisions"] if d["reviewer"] == v.name]}
                 for c in items if any(d["reviewer"] == v.name and d["decision"] != c["machine"]
                                       for d in c["decisions"])]
    # conflicts between reviewers first: they are the ones only the lead can settle
    items = sorted(items, key=lambda c: ("reviewers" not in c["kinds"], c["sha256"]))
    if hidden:
        flagged = [f for f in flagged if f["reviewer"] == v.name]
    total = len(items)
    items = [dict(c) for c in items[(page - 1) * per_page: page * per_page]]  # copies: the lists are cached
    flagged_total = len(flagged)
    flagged = [dict(f) for f in flagged[:per_page]]
    fixes = correction_looks(db, cache)  # corrections a re-run of describe changed the machine's value under
    fixes_total = len(fixes)
    fixes = fixes[:per_page]
    titles = _titles(db, {c["sha256"] for c in items} | {f["sha256"] for f in flagged} | {f["sha256"] for f in fixes})
    for c in items:
        c["title"] = titles.get(c["sha256"], c["sha256"][:12])
    for f in flagged:
        f["title"] = titles.get(f["sha256"], f["sha256"][:12])
    for f in fixes:
        f["title"] = titles.get(f["sha256"], f["sha256"][:12])
    return {"conflicts": items, "flagged": flagged, "flagged_total": flagged_total, "hidden": hidden,
            "corrections": fixes, "corrections_total": fixes_total,
            "total": total, "page": page, "per_page": per_page,
            "page_url": lambda n: f"/screen/conflicts?page={n}"}


def decisions_stamp(db) -> tuple:
    """Changes whenever a decision behind the conflicts changes: every workspace action writes an audit
    line, and a run of `whatworks screen` rewrites the machine's records with a new time (both O(1))."""
    return (db.scalar("SELECT MAX(id) FROM ws_audit"),
            db.scalar("SELECT screened_at FROM screen_records LIMIT 1"))


def screening_disagreements(db, cache: Cache) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(open conflicts, second looks) over every reviewer, kept until a decision or the machine's
    screening changes (the conflicts page of a large review reads thousands of decisions)."""
    def make():
        machine = ws.machine_screening(db, reviewed_only=True)
        return ws.conflicts(db, machine), ws.second_looks(db, machine)

    return cache._get("disagreements", (cache.version, *decisions_stamp(db)), make)


def correction_looks(db, cache: Cache) -> list[dict[str, Any]]:
    """workspace.correction_second_looks, kept until a correction or a re-described document changes them."""
    try:
        stamp = tuple(db.one("SELECT COUNT(*), MAX(c.corrected_at), MAX(d.updated_at) FROM ws_corrections c "
                             "LEFT JOIN descriptions d ON d.sha256 = c.sha256"))
    except Exception:  # noqa: BLE001 - no workspace tables
        return []
    return [dict(f) for f in cache._get("correction-looks", stamp, lambda: ws.correction_second_looks(db))]


def _titles(db, shas) -> dict[str, str]:
    """sha256 → the title to show (the description's, the file's, else the file name)."""
    shas = sorted(shas)
    out: dict[str, str] = {}
    for i in range(0, len(shas), 500):
        chunk = shas[i:i + 500]
        marks = ", ".join("?" for _ in chunk)
        for r in db.query(f"SELECT d.sha256, COALESCE(f.title, d.title) AS title, d.source FROM documents d "
                          f"LEFT JOIN doc_facets f ON f.sha256 = d.sha256 WHERE d.sha256 IN ({marks})", chunk):
            out[r["sha256"]] = str(r["title"] or _basename(r["source"]))
    return out


# --- coding ---------------------------------------------------------------------------------


def machine_themes(db, sha256: str, idx: int) -> list[str]:
    return ws.machine_codes(db, [(sha256, idx)]).get((sha256, idx), [])


def coding_view(db, v, cache: Cache, sha: str | None, only: str, dpage: int = 1,
                per_page: int = 100) -> dict[str, Any]:
    """The included reports with their item counts (a page of them), and one report's items with the
    machine's suggestions, the reviewer's themes and (unless blind) the others'."""
    from whatworks.coding import item_key

    codebook = cache.codebook()
    labels = {t.id: t.label for t in codebook.themes} if codebook else {}
    questions = _questions(codebook)
    def make_order() -> tuple[list[str], int]:
        order = cache.included(db)  # in file order, as whatworks.screen lists them
        total = 0
        for i in range(0, len(order), 2000):  # index-only counts
            chunk = order[i:i + 2000]
            total += db.scalar(f"SELECT COUNT(*) FROM items WHERE sha256 IN ({', '.join('?' for _ in chunk)})",
                               chunk) or 0
        return order, total

    order, total_items = cache.get("coding-order", make_order)
    position = {x: i for i, x in enumerate(order)}
    done = db.scalar("SELECT COUNT(*) FROM ws_coding WHERE reviewer = ?", (v.name,)) or 0

    def counted(shas: list[str]) -> list[dict[str, Any]]:
        if not shas:
            return []
        marks = ", ".join("?" for _ in shas)
        n = {r[0]: r[1] for r in db.query(f"SELECT sha256, COUNT(*) FROM items WHERE sha256 IN ({marks}) "
                                          "GROUP BY sha256", shas)}
        m = {r[0]: r[1] for r in db.query(f"SELECT sha256, COUNT(*) FROM ws_coding WHERE reviewer = ? AND "
                                          f"sha256 IN ({marks}) GROUP BY sha256", [v.name, *shas])}
        titles = _titles(db, shas)
        return [{"sha256": x, "title": titles.get(x, x[:12]), "n_items": n.get(x, 0), "mine": m.get(x, 0)}
                for x in shas]

    current = sha if sha in position else None
    if current is None:  # the first report (in title order) with items the reviewer has not coded
        for i in range(0, len(order), per_page):
            todo = [d for d in counted(order[i:i + per_page]) if d["mine"] < d["n_items"]]
            if todo:
                current = todo[0]["sha256"]
                break
        else:
            current = order[0] if order else None
    if current and (sha or dpage == 1):  # show the page of the nav that holds the current report
        dpage = position[current] // per_page + 1
    nav = counted(order[(dpage - 1) * per_page: dpage * per_page])
    docs = order
    items = []
    if current:
        machine: dict[str, list[dict]] = {}
        for r in db.query("SELECT item_key, theme, score, method, quote, engine FROM codes WHERE sha256 = ? "
                          "ORDER BY score DESC", (current,)):
            seen = machine.setdefault(r["item_key"], [])
            if not any(c["theme"] == r["theme"] for c in seen):
                seen.append({"theme": r["theme"], "label": labels.get(r["theme"], r["theme"]), "score": r["score"],
                             "method": r["method"], "quote": r["quote"], "engine": r["engine"]})
        coded = ws.coding_decisions(db, current)
        notes = {r["idx"]: (r["note"], r["machine"]) for r in db.query(
            "SELECT idx, note, machine FROM ws_coding WHERE sha256 = ? AND reviewer = ?", (current, v.name))}
        hide = hide_others(db, v, "coding")
        for r in db.query("SELECT idx, kind, text, page FROM items WHERE sha256 = ? ORDER BY idx", (current,)):
            suggestions = machine.get(item_key(r["text"]), [])
            by_theme = {c["theme"]: c for c in suggestions}
            offline = sorted(c["theme"] for c in suggestions if c["engine"] == "offline")
            per = coded.get((current, r["idx"]), {})
            my = per.get(v.name)
            others = [(who, ts) for who, ts in sorted(per.items()) if who != v.name]
            hidden = len(others) if hide else 0
            if hide:
                others = []
            chosen = set(my) if my is not None else {c["theme"] for c in suggestions}
            ids = list(dict.fromkeys([c["theme"] for c in suggestions] + sorted(chosen)))
            note, then = notes.get(r["idx"], (None, None))
            flag = my is not None and then is not None and sorted(json.loads(then)) != offline
            items.append({"idx": r["idx"], "kind": r["kind"], "text": r["text"], "page": r["page"],
                          "machine": suggestions, "mine": my, "others": others, "hidden": hidden, "note": note,
                          "flag": flag,
                          "choices": [{"id": t, "label": labels.get(t, t), "checked": t in chosen,
                                       "suggested": t in by_theme,
                                       "evidence": _code_evidence(by_theme.get(t))} for t in ids]})
    return {"docs": nav, "n_docs": len(docs), "dpage": dpage, "per_page": per_page, "current": current,
            "current_title": _titles(db, [current]).get(current, current[:12]) if current else "", "items": items,
            "questions": questions, "theme_labels": labels, "total_items": total_items, "done": done,
            "only": safe_only(only)}


def _code_evidence(code: dict | None) -> str:
    if not code:
        return ""
    text = f"machine: {code['method']}, score {code['score']:.2f}"
    return text + (f" — “{code['quote']}”" if code.get("quote") else "")


def _questions(codebook) -> list[dict[str, Any]]:
    if codebook is None:
        return []
    out = []
    for q in codebook.questions:
        out.append({"id": q.id, "label": q.label, "group": None,
                    "groups": [{"id": g.id, "label": g.label} for g in q.groups],
                    "themes": [{"id": t.id, "label": t.label, "definition": t.definition, "group": t.group}
                               for t in codebook.themes_for(q.id)]})
    return out


def themes_view(db, cache: Cache) -> dict[str, Any]:
    from whatworks.web import stage

    codebook = cache.codebook()
    counts = {r[0]: r[1] for r in db.query("SELECT theme, COUNT(*) FROM codes GROUP BY theme")}
    return {"questions": _questions(codebook), "counts": counts,
            "codebook_name": codebook.name if codebook else "(no codebook)", "emerging": stage.emerging(db)}


def create_theme(project, form: dict[str, str], user: ws.User, pool) -> None:
    from fastapi import HTTPException

    from whatworks.web import stage

    label = form.get("label", "").strip()[:120]
    definition = " ".join(form.get("definition", "").split())[:2000]
    descriptors = [d.strip() for d in form.get("descriptors", "").split(",") if d.strip()][:50]
    question, _, group = form.get("question", "").partition("/")
    if not label or not definition or not descriptors:
        raise HTTPException(400, "A theme needs a label, a definition and at least one keyword.")
    try:
        theme_id = stage.add_theme(project, label=label, definition=definition, question=question,
                                   group=group or None, descriptors=descriptors)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None
    emerging_id = form.get("emerging")
    with pool.connection() as db:
        with db.transaction():
            if emerging_id and emerging_id.isdigit():
                stage.name_emerging(db, int(emerging_id), label, user.name)
            ws.audit(db, user.name, "theme", f"theme:{theme_id}", None,
                     {"label": label, "question": question, "group": group or None, "descriptors": descriptors,
                      "emerging": int(emerging_id) if emerging_id and emerging_id.isdigit() else None})


# --- synthesis and exports --------------------------------------------------------------------


def dismiss_emerging(db, emerging_id: int, user: ws.User) -> None:
    from whatworks.web import stage

    with db.transaction():
        stage.dismiss_emerging(db, emerging_id, user.name)
        ws.audit(db, user.name, "theme.dismiss", f"emerging:{emerging_id}", None, {"status": "dismissed"})


class SynthesisBuilder:
    """The synthesis preview, built in a background thread so no page waits for it on a large review.

    A request whose preview is out of date (a decision recorded here, or the database changed under
    it) starts a rebuild and waits up to `wait` seconds: a small review gets a fresh preview at once,
    a large one gets the last preview (or "building…") and the page refreshes itself."""

    def __init__(self, project, pool, cache: Cache, wait: float = 1.0):
        self.project, self.pool, self.cache, self.wait = project, pool, cache, wait
        self.lock = threading.Lock()
        self.result: dict[str, Any] | None = None
        self.built_for: Any = None
        self.built_at: float | None = None
        self.thread: threading.Thread | None = None
        self.wanted: Any = None

    def stamp(self, db) -> tuple:
        """Changes whenever the decisions or the machine's results behind the synthesis change."""
        def n(sql: str) -> Any:
            try:
                return db.scalar(sql)
            except Exception:  # noqa: BLE001 - a stage whose tables are missing
                return None

        return (self.cache.version, n("SELECT COUNT(*) FROM screen_records"), n("SELECT MAX(id) FROM screen_human"),
                n("SELECT COUNT(*) FROM codes"), n("SELECT COUNT(*) FROM human_codes"),
                n("SELECT COUNT(*) FROM descriptions"), n("SELECT MAX(id) FROM ws_audit"))

    def _build(self, stamp: Any) -> None:
        from whatworks.web import stage

        try:
            with self.pool.connection() as db:
                result = stage.synthesis_preview(self.project, db)
        except Exception as e:  # noqa: BLE001 - keep the last good preview
            log.exception("synthesis preview failed")
            result = {"synthesis": None, "seconds": None, "error": f"The synthesis failed: {e}"}
        with self.lock:
            self.result, self.built_for, self.built_at, self.thread = result, stamp, time.time(), None

    def fresh(self, db):
        """The preview's Synthesis if it is up to date (exports reuse it), else None."""
        stamp = self.stamp(db)
        with self.lock:
            return (self.result or {}).get("synthesis") if self.built_for == stamp else None

    def view(self, db) -> dict[str, Any]:
        stamp = self.stamp(db)
        started = None
        with self.lock:
            if self.built_for != stamp and self.thread is None:
                started = self.thread = threading.Thread(target=self._build, args=(stamp,), daemon=True,
                                                         name="synthesis-preview")
                started.start()
        if started is not None:  # only the request that started a build waits (briefly) for it
            started.join(self.wait)
        with self.lock:
            result = dict(self.result or {"synthesis": None, "seconds": None, "error": None})
            result["building"] = self.thread is not None
            result["stale"] = self.built_for != stamp
            result["built_at"] = self.built_at
        return result


def synthesis_view(project, db, builder: SynthesisBuilder) -> dict[str, Any]:
    from whatworks.web import stage

    view = builder.view(db)
    view["formats"] = stage.export_formats()
    view["files"] = output_files(project)
    return view


def output_files(project) -> list[dict[str, Any]]:
    out = []
    folder = project.output_dir
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            size = st.st_size
            human = f"{size / 2**20:.1f} MB" if size > 2**20 else f"{size / 1024:.0f} kB" if size > 1024 else f"{size} B"
            out.append({"name": p.name, "size": human, "mtime": st.st_mtime})
    return out


def output_file(project, name: str) -> Path | None:
    """A file of the output folder by its bare name; anything that is not exactly such a file is None."""
    if not name or name != Path(name).name or name.startswith(".") or "/" in name or "\\" in name or "\x00" in name:
        return None
    folder = project.output_dir.resolve()
    if name not in {p.name for p in folder.iterdir()}:
        return None
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def export(project, db, fmt: str, user: ws.User, builder: SynthesisBuilder | None = None) -> list[Path]:
    from fastapi import HTTPException

    from whatworks.web import stage

    formats = dict(stage.export_formats())
    if fmt not in formats:
        raise HTTPException(400, f"Unknown export format {fmt!r}.")
    try:
        paths = stage.write(project, db, fmt, builder.fresh(db) if builder else None)
    except Exception as e:  # noqa: BLE001 - show the reason, keep the workspace up
        log.exception("export failed")
        raise HTTPException(500, f"The export failed: {type(e).__name__}: {e}") from None
    folder = project.output_dir.resolve()
    paths = [Path(p) for p in paths if Path(p).resolve().parent == folder]
    with db.transaction():
        ws.audit(db, user.name, "export", f"export:{fmt}", None, {"files": [p.name for p in paths]})
    return paths


# --- agreement --------------------------------------------------------------------------------


def agreement_view(db, v, cache: Cache) -> dict[str, Any]:
    """Agreement per stage; a stage still blind for this reviewer shows nothing (it would tell
    them how others decided)."""
    stages = []
    # kept until a decision changes (and 5 s at most: a run of `whatworks code` changes the machine's codes)
    stamp = (cache.version, int(time.time() // 5), *decisions_stamp(db), tuple(cache.theme_ids()))
    for name in ws.STAGES:
        if hide_others(db, v, name):
            stages.append((name, None))
        elif name == "screening":
            stages.append((name, cache._get("agreement-screening", stamp, lambda: ws.agreement(db, "screening"))))
        else:
            stages.append((name, cache._get("agreement-coding", stamp,
                                            lambda: ws.agreement(db, "coding", themes=cache.theme_ids()))))
    return {"stages": stages}
