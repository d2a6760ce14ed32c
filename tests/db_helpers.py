"""Looking into a review database from tests (product code goes through whatworks.store's modules)."""

from __future__ import annotations

from typing import Any


def query(store, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in store.raw(sql, **params)]


def one(store, sql: str, **params: Any) -> dict[str, Any] | None:
    rows = query(store, sql, **params)
    return rows[0] if rows else None


def scalar(store, sql: str, **params: Any) -> Any:
    row = one(store, sql, **params)
    return next(iter(row.values())) if row else None
