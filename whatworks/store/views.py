"""Read-only listings across the stages' tables, for the workspace (whatworks.web through the API).

The corpus listing filters, sorts and pages 20,000 documents in SQL (a page reads its rows
only); the queues count and find the next document the same way. Nothing here writes. The
tables belong to the modules that declare them; this module only reads them. `visible`
(a list of reviewer names, or None for everyone) hides the other reviewers' decisions in
blind mode, as everywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa

from whatworks.store.audit import audit
from whatworks.store.base import Store, chunks
from whatworks.store.codes import code_decisions, coded_items, codes
from whatworks.store.corrections import corrections
from whatworks.store.documents import descriptions, documents, files, items
from whatworks.store.search import doc_facets
from whatworks.store.selection import (
    final_query,
    screen_records,
    screening_decisions,
    screening_resolutions,
)

MACHINE_DECISIONS = ("include", "maybe", "exclude", "duplicate", "error")
STATUSES = ("todo", "mine", "human", "none", "resolved")
SORTS = ("source", "title", "kind", "year", "language", "pages", "machine")


@dataclass
class CorpusQuery:
    """What the corpus listing shows: filters (None: any), the sort and its direction.

    `machine`: the machine's decision, or "none" (not screened); `status`, relative to the
    person asking: todo (not decided by them), mine, human (someone decided), none (nobody),
    resolved (a lead resolved a conflict)."""

    MACHINE: ClassVar[tuple[str, ...]] = MACHINE_DECISIONS
    STATUSES: ClassVar[tuple[str, ...]] = STATUSES
    SORTS: ClassVar[tuple[str, ...]] = SORTS

    kind: str | None = None
    language: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    country: str | None = None  # ISO 3166 alpha-3
    region: str | None = None
    machine: str | None = None
    status: str | None = None
    sort: str = "source"
    descending: bool = False


def _machine() -> sa.Alias:
    """The machine's record of each document (its primary one)."""
    return screen_records.alias("m")


def _count(store: Store, table: Any, *where: Any) -> int:
    return store.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0


def _decided(sha: Any, reviewers: Sequence[str] | None = None) -> sa.Exists:
    h = screening_decisions.alias("h")
    q = sa.select(h.c.sha256).where(h.c.sha256 == sha)
    if reviewers is not None:
        q = q.where(h.c.reviewer.in_(list(reviewers)))
    return sa.exists(q)


def _resolved(sha: Any, visible: Sequence[str] | None) -> sa.Exists:
    r = screening_resolutions.alias("r")
    q = sa.select(r.c.sha256).where(r.c.sha256 == sha)
    if visible is not None:
        q = q.where(r.c.lead.in_(list(visible)))
    return sa.exists(q)


def corpus_page(store: Store, query: CorpusQuery, *, limit: int, offset: int, me: str,
                visible: Sequence[str] | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of the corpus and how many documents match. Each row: the document's summary,
    its facets (title, kind, year, countries), the machine's decision, the people's decisions
    `visible` to the asker (with how many are hidden), the final human decision, and its stage.

    Once search has indexed every document, the listing reads `doc_facets` alone (it holds the
    path, title and language too): no join with 20,000 documents to filter or sort."""
    d, f, m = documents, doc_facets, _machine()
    base = d  # by path, the documents' listing index gives the order
    if query.sort in ("title", "kind", "year", "language") and _count(store, f) == _count(store, d):
        base = f
    elif query.sort == "machine" and _count(store, m, m.c.is_primary == 1, m.c.sha256.isnot(None)) == _count(store, d):
        base = m  # every document screened: its record holds the path too
    sha, source = base.c.sha256, base.c.source
    where: list[Any] = []
    need: set[str] = set()
    if query.kind:
        where.append(f.c.kind == query.kind)
        need.add("f")
    if query.language:
        where.append((f if base is f else d).c.language == query.language)
        need.add("d" if base is not f else "f")
    if query.year_from is not None:
        where.append(f.c.year >= query.year_from)
        need.add("f")
    if query.year_to is not None:
        where.append(f.c.year <= query.year_to)
        need.add("f")
    if query.country:
        where.append(f.c.countries.like(f"%|{query.country.upper()}|%"))
        need.add("f")
    if query.region:
        where.append(f.c.regions.like(f"%|{query.region.lower()}|%"))
        need.add("f")
    if query.machine in MACHINE_DECISIONS:
        where.append(m.c.decision == query.machine)
        need.add("m")
    elif query.machine == "none":
        where.append(m.c.decision.is_(None))
        need.add("m")
    if query.status == "todo":
        where.append(~_decided(sha, [me]))
    elif query.status == "mine":
        where.append(_decided(sha, [me]))
    elif query.status == "human":
        where.append(_decided(sha, visible))
    elif query.status == "none":
        where.append(~_decided(sha, visible))
    elif query.status == "resolved":
        where.append(_resolved(sha, visible))
    title = sa.func.coalesce(f.c.title, f.c.source) if base is f else sa.func.coalesce(f.c.title, d.c.title, d.c.source)
    order = {"source": source, "title": sa.func.lower(title), "kind": f.c.kind, "year": f.c.year,
             "language": (f if base is f else d).c.language, "pages": d.c.pages,
             "machine": m.c.decision}.get(query.sort, source)
    if query.sort in ("title", "kind", "year"):
        need.add("f")
    elif query.sort == "machine":
        need.add("m")

    if base is m:
        where.append(m.c.is_primary == 1)

    def joined(which: set[str]) -> Any:
        out: Any = base
        if "f" in which and base is not f:
            out = out.outerjoin(f, f.c.sha256 == sha)
        if "m" in which and base is not m:
            out = out.outerjoin(m, sa.and_(m.c.sha256 == sha, m.c.is_primary == 1))
        if "d" in which and base is not d:
            out = out.join(d, d.c.sha256 == sha)
        return out

    total = store.scalar(sa.select(sa.func.count()).select_from(joined(need)).where(*where)) or 0
    key = order.desc() if query.descending else order.asc()
    if query.sort != "source":
        key = key.nulls_last()
    ids = store.scalars(sa.select(sha).select_from(joined(need)).where(*where)
                        .order_by(key, source).limit(limit).offset(offset))
    return _corpus_rows(store, ids, me, visible), total


def _corpus_rows(store: Store, ids: list[str], me: str, visible: Sequence[str] | None) -> list[dict[str, Any]]:
    """The listing's rows for one page of documents, in the order of `ids`."""
    if not ids:
        return []
    d, f, m = documents, doc_facets, _machine()
    q = (sa.select(d.c.sha256, d.c.source, d.c.format, d.c.pages, d.c.language,
                   sa.func.coalesce(f.c.title, d.c.title).label("title"), f.c.kind, f.c.year, f.c.countries,
                   m.c.decision.label("machine"), descriptions.c.kind.label("described_kind"))
         .select_from(d.outerjoin(f, f.c.sha256 == d.c.sha256)
                      .outerjoin(m, sa.and_(m.c.sha256 == d.c.sha256, m.c.is_primary == 1))
                      .outerjoin(descriptions, descriptions.c.sha256 == d.c.sha256))
         .where(d.c.sha256.in_(ids)))
    rows = {r["sha256"]: dict(r) for r in store.rows(q)}
    people: dict[str, list[dict[str, Any]]] = {}
    for h in store.rows(sa.select(screening_decisions.c.sha256, screening_decisions.c.reviewer,
                                  screening_decisions.c.decision, screening_decisions.c.machine)
                        .where(screening_decisions.c.sha256.in_(ids)).order_by(screening_decisions.c.reviewer)):
        people.setdefault(h["sha256"], []).append(dict(h))
    final = {r["sha256"]: r["human_decision"] for r in store.rows(
        final_query(visible).where(screen_records.c.is_primary == 1, screen_records.c.sha256.in_(ids)))}
    res = screening_resolutions
    q = sa.select(res.c.sha256).where(res.c.sha256.in_(ids))
    if visible is not None:
        q = q.where(res.c.lead.in_(list(visible)))
    resolved = set(store.scalars(q))
    out = []
    for sha in ids:
        r = rows[sha]
        everyone = people.get(sha, [])
        shown = [h for h in everyone if visible is None or h["reviewer"] in visible]
        r["kind"] = r["kind"] or r.pop("described_kind")
        r.pop("described_kind", None)
        r["humans"] = shown
        r["hidden"] = len(everyone) - len(shown)
        r["mine"] = next((h["decision"] for h in everyone if h["reviewer"] == me), None)
        r["flag"] = any(h["machine"] and r["machine"] and h["machine"] != r["machine"] for h in shown)
        r["final"] = final.get(sha)
        r["resolved"] = sha in resolved
        r["stage"] = ("resolved" if r["resolved"] else "reviewed" if shown else "screened" if r["machine"]
                      else "described" if r["kind"] else "read")
        out.append(r)
    return out


# --- screening ------------------------------------------------------------------------------------

def screening_queue(store: Store, me: str, only: str = "todo",
                    visible: Sequence[str] | None = None) -> dict[str, Any]:
    """The next document of a person's screening queue and their progress. `only`: todo (not
    decided by them), all, a machine decision (include / maybe / exclude: those they have not
    decided), flagged (their decisions the machine has changed its mind under)."""
    d, m = documents, _machine()
    h = screening_decisions
    where: list[Any] = []
    if only in ("include", "maybe", "exclude"):
        where.append(m.c.decision == only)
    if only == "todo" or only in ("include", "maybe", "exclude"):
        where.append(~_decided(d.c.sha256, [me]))
    changed = sa.and_(h.c.machine.isnot(None), m.c.decision.isnot(None), h.c.machine != m.c.decision)
    if only == "flagged":
        where.append(sa.exists(sa.select(h.c.sha256).where(h.c.sha256 == d.c.sha256, h.c.reviewer == me, changed)))
    machine_join = d.outerjoin(m, sa.and_(m.c.sha256 == d.c.sha256, m.c.is_primary == 1))
    nxt = store.scalar(sa.select(d.c.sha256).select_from(machine_join).where(*where).order_by(d.c.source).limit(1))
    total = store.scalar(sa.select(sa.func.count()).select_from(d)) or 0
    done = store.scalar(sa.select(sa.func.count()).select_from(h.join(d, d.c.sha256 == h.c.sha256))
                        .where(h.c.reviewer == me)) or 0
    flagged = store.scalar(sa.select(sa.func.count()).select_from(
        h.join(m, sa.and_(m.c.sha256 == h.c.sha256, m.c.is_primary == 1))).where(h.c.reviewer == me, changed)) or 0
    return {"next": nxt, "total": total, "done": done, "flagged": flagged, "only": only,
            "conflicts": count_conflicts(store, visible)}


def count_conflicts(store: Store, visible: Sequence[str] | None = None) -> int:
    """Documents whose reviewers disagree with no lead's word yet: those whose final decision is
    `conflict` (whatworks.store.selection's rule), counted from the people's decisions alone."""
    h, lead, r = screening_decisions, screening_decisions.alias("lead"), screening_resolutions
    people = sa.select(h.c.sha256).where(h.c.role != "lead")
    leads = sa.select(lead.c.sha256).where(lead.c.sha256 == h.c.sha256, lead.c.role == "lead")
    resolved = sa.select(r.c.sha256).where(r.c.sha256 == h.c.sha256)
    if visible is not None:
        people = people.where(h.c.reviewer.in_(list(visible)))
        leads = leads.where(lead.c.reviewer.in_(list(visible)))
        resolved = resolved.where(r.c.lead.in_(list(visible)))
    primary = sa.select(screen_records.c.sha256).where(screen_records.c.sha256 == h.c.sha256,
                                                       screen_records.c.is_primary == 1)
    split = (people.where(~sa.exists(leads), ~sa.exists(resolved), sa.exists(primary)).group_by(h.c.sha256)
             .having(sa.func.min(h.c.decision) != sa.func.max(h.c.decision)).subquery())
    return store.scalar(sa.select(sa.func.count()).select_from(split)) or 0


def document_summary(store: Store, sha256: str) -> dict[str, Any] | None:
    """A document's path, size, language and title, with its facets (kind, year, countries)."""
    d, f = documents, doc_facets
    row = store.first(sa.select(d.c.sha256, d.c.source, d.c.format, d.c.pages, d.c.language, d.c.title,
                                f.c.title.label("facet_title"), sa.func.coalesce(f.c.kind, descriptions.c.kind)
                                .label("kind"), f.c.year, f.c.countries)
                      .select_from(d.outerjoin(f, f.c.sha256 == d.c.sha256)
                                   .outerjoin(descriptions, descriptions.c.sha256 == d.c.sha256))
                      .where(d.c.sha256 == sha256))
    return dict(row) if row else None


def next_undecided(store: Store, me: str, after_source: str) -> str | None:
    """The first document after `after_source` (by path) that `me` has not decided."""
    d = documents
    return store.scalar(sa.select(d.c.sha256).where(d.c.source > after_source, ~_decided(d.c.sha256, [me]))
                        .order_by(d.c.source).limit(1))


def titles(store: Store, shas: Sequence[str]) -> dict[str, dict[str, Any]]:
    """sha256 → {title (the facet's, else the file's), source}."""
    d, f = documents, doc_facets
    q = (sa.select(d.c.sha256, sa.func.coalesce(f.c.title, d.c.title).label("title"), d.c.source)
         .select_from(d.outerjoin(f, f.c.sha256 == d.c.sha256)))
    out: dict[str, dict[str, Any]] = {}
    for part in chunks(sorted(set(shas))):
        out.update({r["sha256"]: dict(r) for r in store.rows(q.where(d.c.sha256.in_(part)))})
    return out


# --- coding ------------------------------------------------------------------------------------------

def coded_counts(store: Store, reviewer: str, shas: Sequence[str]) -> dict[str, int]:
    """sha256 → how many of the document's current items `reviewer` has coded."""
    c = code_decisions
    q = (sa.select(c.c.sha256, sa.func.count())
         .select_from(c.join(items, sa.and_(items.c.sha256 == c.c.sha256, items.c.item_key == c.c.item_key)))
         .where(c.c.reviewer == reviewer).group_by(c.c.sha256))
    out: dict[str, int] = {}
    for part in chunks(list(shas)):
        out.update({r[0]: r[1] for r in store.execute(q.where(c.c.sha256.in_(part)))})
    return out


def count_code_decisions(store: Store, reviewer: str) -> int:
    q = sa.select(sa.func.count()).select_from(code_decisions).where(code_decisions.c.reviewer == reviewer)
    return store.scalar(q) or 0


def codes_per_theme(store: Store) -> dict[str, int]:
    """theme → how many codes the machine gave with it (an index-only count)."""
    return {r[0]: r[1] for r in store.execute(sa.select(codes.c.theme, sa.func.count()).group_by(codes.c.theme))}


# --- what changed ----------------------------------------------------------------------------------

def changes(store: Store) -> dict[str, tuple]:
    """Stamps that change when something behind a page changes, each cheap to read (indexes and the
    people's tables): `people` (every act writes an audit line), `screening` (a run of screen rewrites
    every record with its time; people's decisions and resolutions), `coding` (the machine's codes,
    people's code decisions), `documents` (read, described), `corrections`. A decision's time is
    summed, not maxed: a changed decision changes the stamp whatever the clocks say. A forced
    re-coding that gives the same number of codes is not seen until someone acts."""
    def count(table: Any) -> Any:
        return sa.select(sa.func.count()).select_from(table).scalar_subquery()

    def total(when: Any) -> Any:
        return sa.select(sa.func.sum(when)).scalar_subquery()

    parts = {  # one statement: one round trip
        "people": [sa.select(sa.func.max(audit.c.id)).scalar_subquery()],
        "screening": [sa.select(screen_records.c.screened_at).limit(1).scalar_subquery(),
                      count(screening_decisions), total(screening_decisions.c.decided_at),
                      count(screening_resolutions), total(screening_resolutions.c.resolved_at)],
        "coding": [count(coded_items), count(codes), count(code_decisions), total(code_decisions.c.decided_at)],
        "documents": [count(documents), count(descriptions), sa.select(sa.func.max(files.c.updated_at)).scalar_subquery()],
        "corrections": [count(corrections), total(corrections.c.corrected_at)],
    }
    row = list(store.execute(sa.select(*(c for cs in parts.values() for c in cs))).one())
    out = {}
    for name, columns in parts.items():
        out[name], row = tuple(row[:len(columns)]), row[len(columns):]
    return out
