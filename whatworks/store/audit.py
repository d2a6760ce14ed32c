"""The audit trail: who did what, when, before → after. Written in the transaction of the act."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from whatworks.store.base import Int, Store, metadata

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", Int, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    sa.Column("reason", sa.Text),
)
sa.Index("audit_user", audit.c.user_name, audit.c.id)

COLUMNS = ("id", "at", "user", "action", "target", "before", "after", "reason")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def add(store: Store, user: str, action: str, target: str | None, before: Any, after: Any,
        reason: str | None = None) -> None:
    store.insert(audit, {"at": time.time(), "user_name": user, "action": action, "target": target,
                         "before": _json(before), "after": _json(after), "reason": reason or None})


def _where(q: sa.Select, users: list[str] | None, action: str | None) -> sa.Select:
    if users is not None:
        q = q.where(audit.c.user_name.in_(users))
    if action:
        q = q.where(audit.c.action == action)
    return q


def rows(store: Store, *, limit: int = 100, offset: int = 0, users: list[str] | None = None,
         action: str | None = None) -> list[dict[str, Any]]:
    """Newest first; `users`: only these people's lines (blind mode shows a reviewer their own)."""
    q = _where(sa.select(audit.c.id, audit.c.at, audit.c.user_name, audit.c.action, audit.c.target,
                         audit.c.before, audit.c.after, audit.c.reason), users, action)
    q = q.order_by(audit.c.id.desc()).limit(limit).offset(offset)
    return [dict(zip(COLUMNS, tuple(r.values()), strict=True)) for r in store.rows(q)]


def count(store: Store, *, users: list[str] | None = None, action: str | None = None) -> int:
    return store.scalar(_where(sa.select(sa.func.count()).select_from(audit), users, action)) or 0


def last_id(store: Store) -> int:
    return store.scalar(sa.select(sa.func.max(audit.c.id))) or 0


def batches(store: Store, size: int = 2000, users: list[str] | None = None) -> Iterator[list[dict[str, Any]]]:
    """The whole trail, oldest first, `size` lines at a time."""
    last = 0
    while True:
        q = _where(sa.select(audit), users, None).where(audit.c.id > last).order_by(audit.c.id).limit(size)
        got = [dict(r) for r in store.rows(q)]
        if got:
            yield got
        if len(got) < size:
            return
        last = got[-1]["id"]
