"""Reviewers' corrections of descriptions: a human value for a metadata field, the kind, a
section or an item, kept apart from the machine's description (whatworks.corrections applies them);
and the values people gave that contest another person's standing correction, until a lead settles
them (`correction_conflicts`)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from whatworks.store.base import Store, chunks, metadata
from whatworks.store.documents import descriptions

corrections = sa.Table(
    "corrections", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("target", sa.Text, primary_key=True),  # kind | metadata | section | item
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text),  # JSON
    sa.Column("machine", sa.Text),  # JSON: the machine's value when corrected
    sa.Column("reason", sa.Text),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("corrected_at", sa.Float, nullable=False),
)


correction_conflicts = sa.Table(
    "correction_conflicts", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("target", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("reviewer", sa.Text, primary_key=True),  # who contests the standing correction
    sa.Column("value", sa.Text),  # JSON: the value they gave (null: the machine's)
    sa.Column("reason", sa.Text),
    sa.Column("at", sa.Float, nullable=False),
)


def _decode(r: Any) -> dict[str, Any]:
    d = dict(r)
    d["value"] = json.loads(d["value"]) if d["value"] is not None else None
    d["machine"] = json.loads(d["machine"]) if d["machine"] is not None else None
    return d


def rows(store: Store, sha256: str | None = None) -> list[dict[str, Any]]:
    q = sa.select(corrections).order_by(corrections.c.sha256, corrections.c.corrected_at)
    if sha256 is not None:
        q = q.where(corrections.c.sha256 == sha256)
    return [_decode(r) for r in store.rows(q)]


def rows_for(store: Store, shas: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for part in chunks(list(shas)):
        for r in store.rows(sa.select(corrections).where(corrections.c.sha256.in_(part))):
            out.setdefault(r["sha256"], []).append(_decode(r))
    return out


def corrected_shas(store: Store) -> list[str]:
    return store.scalars(sa.select(corrections.c.sha256).distinct())


def has_any(store: Store, sha256: str | None = None) -> bool:
    q = sa.select(corrections.c.sha256).limit(1)
    if sha256 is not None:
        q = q.where(corrections.c.sha256 == sha256)
    return store.scalar(q) is not None


def save(store: Store, sha256: str, target: str, key: str, value: Any, machine: Any, reason: str,
         reviewer: str) -> None:
    store.upsert(corrections, {
        "sha256": sha256, "target": target, "key": key,
        "value": json.dumps(value, ensure_ascii=False, sort_keys=True, default=str),
        "machine": None if machine is None else json.dumps(machine, ensure_ascii=False, sort_keys=True, default=str),
        "reason": reason, "reviewer": reviewer, "corrected_at": time.time()})


def delete(store: Store, sha256: str, target: str, key: str) -> None:
    store.execute(corrections.delete().where(corrections.c.sha256 == sha256, corrections.c.target == target,
                                             corrections.c.key == key))


def rekey(store: Store, sha256: str, target: str, old: str, new: str) -> None:
    """File a correction (and the values contesting it) under another key."""
    store.execute(corrections.update().where(corrections.c.sha256 == sha256, corrections.c.target == target,
                                             corrections.c.key == old).values(key=new))
    c = correction_conflicts.c
    store.execute(correction_conflicts.update().where(c.sha256 == sha256, c.target == target, c.key == old)
                  .values(key=new))


def stamp(store: Store) -> tuple:
    """Changes whenever a correction or a description changes (for caches)."""
    a = store.first(sa.select(sa.func.count(), sa.func.max(corrections.c.corrected_at)))
    b = store.first(sa.select(sa.func.max(descriptions.c.updated_at)))
    return (tuple(a.values()) if a else ()) + (tuple(b.values()) if b else ())


# --- contested corrections ------------------------------------------------------------------------

def save_conflict(store: Store, sha256: str, target: str, key: str, reviewer: str, value: Any, reason: str) -> None:
    store.upsert(correction_conflicts, {
        "sha256": sha256, "target": target, "key": key, "reviewer": reviewer,
        "value": json.dumps(value, ensure_ascii=False, sort_keys=True, default=str), "reason": reason,
        "at": time.time()})


def conflict_rows(store: Store, sha256: str | None = None) -> list[dict[str, Any]]:
    q = sa.select(correction_conflicts).order_by(correction_conflicts.c.sha256, correction_conflicts.c.at)
    if sha256 is not None:
        q = q.where(correction_conflicts.c.sha256 == sha256)
    return [{**dict(r), "value": json.loads(r["value"]) if r["value"] is not None else None} for r in store.rows(q)]


def delete_conflicts(store: Store, sha256: str, target: str, key: str, reviewer: str | None = None) -> None:
    """Forget the contested values of a field (only `reviewer`'s, if given)."""
    c = correction_conflicts.c
    q = correction_conflicts.delete().where(c.sha256 == sha256, c.target == target, c.key == key)
    store.execute(q.where(c.reviewer == reviewer) if reviewer is not None else q)


def conflict_stamp(store: Store) -> tuple:
    a = store.first(sa.select(sa.func.count(), sa.func.max(correction_conflicts.c.at)))
    return tuple(a.values()) if a else ()
