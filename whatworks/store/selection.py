"""Screening: the machine's records and checks, and the people's decisions.

`screen_records` and `screen_criteria` are the machine's, rewritten by every run of screen.
`screening_decisions` is the one table of human screening decisions — one row per document and
person, written by `whatworks decide` and the workspace alike — and `screening_resolutions` the
lead's word on a conflict. `final_decisions` combines them: a resolution wins (until someone
decides again after it, which reopens the conflict), then a lead's decision, then the reviewers'
when they agree; reviewers who disagree leave the document in
`conflict` (out of the selection) until a lead settles it; else the machine's decision stands.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from whatworks.store.base import Int, Store, chunks, metadata

screen_records = sa.Table(
    "screen_records", metadata,
    sa.Column("source", sa.Text, primary_key=True),  # the file path: one row per record
    sa.Column("sha256", sa.Text, index=True),
    sa.Column("is_primary", Int, nullable=False),  # 0: another path of the same file
    sa.Column("decision", sa.Text, nullable=False),  # include | maybe | exclude | duplicate | error
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("duplicate_of", sa.Text),
    sa.Column("quality_score", sa.Float),
    sa.Column("reasons", sa.Text, nullable=False),  # JSON list of {criterion, decision, reason, evidence}
    sa.Column("protocol", sa.Text),
    sa.Column("screened_at", sa.Float),
)
sa.Index("screen_records_listing", screen_records.c.sha256, screen_records.c.is_primary, screen_records.c.decision)
sa.Index("screen_records_final", screen_records.c.is_primary, screen_records.c.source, screen_records.c.sha256,
         screen_records.c.decision)

screen_criteria = sa.Table(
    "screen_criteria", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("criterion", sa.Text, primary_key=True),
    sa.Column("position", Int),  # the order the checks were made in
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("page", Int),
    sa.Column("evidence", sa.Text),
)

report_ids_table = sa.Table(
    "report_ids", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("report_id", sa.Text, nullable=False, unique=True),
    sa.Column("series", sa.Text, nullable=False),  # E (independent/external) | I (internal/self)
    sa.Column("number", Int, nullable=False),
    sa.Column("assigned_at", sa.Float),
)

#: Per-document checks, reused while the document, its description, the protocol and the code are unchanged.
screen_cache = sa.Table(
    "screen_cache", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

screening_decisions = sa.Table(
    "screening_decisions", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("reviewer", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),  # lead | reviewer
    sa.Column("decision", sa.Text, nullable=False),  # include | maybe | exclude
    sa.Column("reason", sa.Text),
    sa.Column("machine", sa.Text),  # the machine's decision when the person decided
    sa.Column("decided_at", sa.Float, nullable=False),
)
sa.Index("screening_decisions_reviewer", screening_decisions.c.reviewer)

screening_resolutions = sa.Table(
    "screening_resolutions", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("lead", sa.Text, nullable=False),
    sa.Column("machine", sa.Text),
    sa.Column("resolved_at", sa.Float, nullable=False),
)

CONFLICT = "conflict"


# --- the machine's records ---------------------------------------------------------------------

def replace_records(store: Store, records: Sequence[dict[str, Any]], checks: Sequence[dict[str, Any]]) -> None:
    """Replace every record and check with this run's."""
    with store.transaction():
        store.execute(screen_records.delete())
        store.execute(screen_criteria.delete())
        for part in chunks(list(records), 2000):
            store.insert(screen_records, part)
        for part in chunks(list(checks), 2000):
            store.upsert(screen_criteria, part)


def criteria_rows(store: Store, sha256: str) -> list[dict[str, Any]]:
    """One document's checks, in the order they were made."""
    q = (sa.select(screen_criteria.c.criterion, screen_criteria.c.stage, screen_criteria.c.decision,
                   screen_criteria.c.reason, screen_criteria.c.page, screen_criteria.c.evidence)
         .where(screen_criteria.c.sha256 == sha256).order_by(screen_criteria.c.position))
    return [dict(r) for r in store.rows(q)]


def machine_decisions(store: Store) -> dict[str, str]:
    """sha256 → the machine's decision on the document (its primary record)."""
    q = sa.select(screen_records.c.sha256, screen_records.c.decision).where(
        screen_records.c.is_primary == 1, screen_records.c.sha256.isnot(None))
    return {r[0]: r[1] for r in store.execute(q)}


def machine_record(store: Store, sha256: str) -> dict[str, Any] | None:
    q = sa.select(screen_records).where(screen_records.c.sha256 == sha256, screen_records.c.is_primary == 1)
    row = store.first(q)
    return dict(row) if row else None


def cache_rows(store: Store) -> dict[str, tuple[str, bytes]]:
    return {r["sha256"]: (r["key"], r["data"]) for r in store.rows(sa.select(screen_cache))}


def save_cache(store: Store, rows: Sequence[tuple[str, str, bytes]]) -> None:
    store.upsert(screen_cache, [{"sha256": s, "key": k, "data": d} for s, k, d in rows])


# --- people's decisions ---------------------------------------------------------------------------

def decision_of(store: Store, sha256: str, reviewer: str) -> dict[str, Any] | None:
    row = store.first(sa.select(screening_decisions).where(screening_decisions.c.sha256 == sha256,
                                                           screening_decisions.c.reviewer == reviewer))
    return dict(row) if row else None


def save_decision(store: Store, sha256: str, reviewer: str, role: str, decision: str, reason: str,
                  machine: str | None) -> None:
    store.upsert(screening_decisions, {"sha256": sha256, "reviewer": reviewer, "role": role, "decision": decision,
                                       "reason": reason, "machine": machine, "decided_at": time.time()})


def decision_rows(store: Store, sha256: str | None = None, reviewer: str | None = None) -> list[dict[str, Any]]:
    """People's decisions, oldest first."""
    q = sa.select(screening_decisions).order_by(screening_decisions.c.decided_at, screening_decisions.c.reviewer)
    if sha256 is not None:
        q = q.where(screening_decisions.c.sha256 == sha256)
    if reviewer is not None:
        q = q.where(screening_decisions.c.reviewer == reviewer)
    return [dict(r) for r in store.rows(q)]


def resolution(store: Store, sha256: str) -> dict[str, Any] | None:
    row = store.first(sa.select(screening_resolutions).where(screening_resolutions.c.sha256 == sha256))
    return dict(row) if row else None


def resolution_rows(store: Store) -> list[dict[str, Any]]:
    return [dict(r) for r in store.rows(sa.select(screening_resolutions))]


def save_resolution(store: Store, sha256: str, decision: str, reason: str, lead: str, machine: str | None) -> None:
    store.upsert(screening_resolutions, {"sha256": sha256, "decision": decision, "reason": reason, "lead": lead,
                                         "machine": machine, "resolved_at": time.time()})


def last_change(store: Store) -> tuple:
    """A stamp that changes whenever a decision or a resolution is written (for caches)."""
    a = store.first(sa.select(sa.func.count(), sa.func.max(screening_decisions.c.decided_at)))
    b = store.first(sa.select(sa.func.count(), sa.func.max(screening_resolutions.c.resolved_at)))
    return (tuple(a.values()) if a else ()) + (tuple(b.values()) if b else ())


# --- final decisions ------------------------------------------------------------------------------

def _final_columns(records: sa.Table | sa.Alias, visible: Sequence[str] | None = None) -> list[Any]:
    """The human and final decision of each record, as SQL expressions (see the module doc).
    `visible`: only these reviewers' decisions count (blind mode hides the others')."""
    d = screening_decisions.alias("d")
    r = screening_resolutions.alias("r")

    def among(q: sa.Select) -> sa.Select:
        q = q.where(d.c.sha256 == records.c.sha256)
        return q.where(d.c.reviewer.in_(list(visible))) if visible is not None else q

    lead = among(sa.select(d.c.decision).where(d.c.role == "lead")
                 .order_by(d.c.decided_at.desc()).limit(1)).scalar_subquery()
    low = among(sa.select(sa.func.min(d.c.decision)).where(d.c.role != "lead")).scalar_subquery()
    high = among(sa.select(sa.func.max(d.c.decision)).where(d.c.role != "lead")).scalar_subquery()
    # the lead's resolution holds until someone decides again: a later decision reopens the conflict
    later = among(sa.select(d.c.sha256).where(d.c.decided_at > r.c.resolved_at)).exists()
    resolved = sa.select(r.c.decision).where(r.c.sha256 == records.c.sha256, ~later)
    if visible is not None:
        resolved = resolved.where(r.c.lead.in_(list(visible)))
    resolved = resolved.scalar_subquery()
    human = sa.case((records.c.is_primary == 0, sa.null()), (resolved.isnot(None), resolved),
                    (lead.isnot(None), lead), (low != high, CONFLICT), else_=low)
    final = sa.func.coalesce(human, records.c.decision)
    return [human.label("human_decision"), final.label("decision")]


def final_query(visible: Sequence[str] | None = None) -> sa.Select:
    """Every record with its machine, human and final decision."""
    rec = screen_records
    return sa.select(rec.c.source, rec.c.sha256, rec.c.is_primary, rec.c.decision.label("machine_decision"),
                     rec.c.stage, rec.c.duplicate_of, rec.c.quality_score, rec.c.reasons,
                     *_final_columns(rec, visible))


def final_rows(store: Store, visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every record, its machine, human and final decision, ordered by path."""
    return [dict(r) for r in store.rows(final_query(visible).order_by(screen_records.c.source))]


def final_decisions(store: Store, visible: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """sha256 → the primary record's final row."""
    q = final_query(visible).where(screen_records.c.is_primary == 1, screen_records.c.sha256.isnot(None))
    return {r["sha256"]: dict(r) for r in store.rows(q)}


def included(store: Store, visible: Sequence[str] | None = None, stage: str | None = None) -> list[str]:
    """sha256 of every report finally included, by path (`stage`: only those included at it)."""
    sub = final_query(visible).where(screen_records.c.is_primary == 1).subquery()
    q = sa.select(sub.c.sha256).where(sub.c.decision == "include").order_by(sub.c.source)
    if stage:
        q = q.where(sub.c.stage == stage)
    return store.scalars(q)


# --- report ids -----------------------------------------------------------------------------------

def report_id_rows(store: Store) -> dict[str, str]:
    return {r[0]: r[1] for r in store.execute(sa.select(report_ids_table.c.sha256, report_ids_table.c.report_id))}


def max_report_number(store: Store, series: str) -> int:
    q = sa.select(sa.func.max(report_ids_table.c.number)).where(report_ids_table.c.series == series)
    return store.scalar(q) or 0


def add_report_ids(store: Store, rows: Sequence[tuple[str, str, str, int]]) -> None:
    """(sha256, report id, series, number) each."""
    now = time.time()
    store.insert(report_ids_table, [{"sha256": s, "report_id": rid, "series": se, "number": n, "assigned_at": now}
                                    for s, rid, se, n in rows])
