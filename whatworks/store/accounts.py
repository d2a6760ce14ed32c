"""Team-mode accounts, their sessions, and failed logins (the throttle survives a restart)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from whatworks.store.base import Int, Store, metadata

users = sa.Table(
    "users", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),  # lead | reviewer | viewer
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float),
    sa.Column("active", Int, nullable=False, server_default="1"),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),  # only a hash of the cookie's token
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("csrf", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

login_failures = sa.Table(
    "login_failures", metadata,
    sa.Column("key", sa.Text, primary_key=True),  # "user:NAME" or "ip:ADDRESS"
    sa.Column("failures", Int, nullable=False),
    sa.Column("first_at", sa.Float, nullable=False),
    sa.Column("locked_until", sa.Float),
)


def user_row(store: Store, name: str, active_only: bool = True) -> dict[str, Any] | None:
    q = sa.select(users).where(users.c.name == name)
    if active_only:
        q = q.where(users.c.active == 1)
    row = store.first(q)
    return dict(row) if row else None


def user_rows(store: Store, active_only: bool = True) -> list[dict[str, Any]]:
    q = sa.select(users.c.name, users.c.role, users.c.active, users.c.created_at).order_by(users.c.name)
    if active_only:
        q = q.where(users.c.active == 1)
    return [dict(r) for r in store.rows(q)]


def save_user(store: Store, name: str, role: str, password_hash: str | None = None, active: bool = True) -> None:
    row: dict[str, Any] = {"name": name, "role": role, "active": int(active)}
    if password_hash is not None:
        row["password_hash"] = password_hash
    if user_row(store, name, active_only=False) is None:
        store.insert(users, {**row, "created_at": time.time()})
    else:
        store.execute(users.update().where(users.c.name == name).values(**row))


def delete_user(store: Store, name: str) -> None:
    store.execute(users.delete().where(users.c.name == name))


def count_leads(store: Store) -> int:
    q = sa.select(sa.func.count()).select_from(users).where(users.c.role == "lead", users.c.active == 1)
    return store.scalar(q) or 0


def start_session(store: Store, token_hash: str, user: str, csrf: str, seconds: float) -> None:
    now = time.time()
    store.execute(sessions.delete().where(sessions.c.expires_at < now))
    store.insert(sessions, {"token_hash": token_hash, "user_name": user, "csrf": csrf, "created_at": now,
                            "expires_at": now + seconds})


def session_row(store: Store, token_hash: str) -> dict[str, Any] | None:
    q = (sa.select(users.c.name, users.c.role, sessions.c.csrf)
         .select_from(sessions.join(users, users.c.name == sessions.c.user_name))
         .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > time.time(), users.c.active == 1))
    row = store.first(q)
    return dict(row) if row else None


def end_session(store: Store, token_hash: str) -> str | None:
    """Delete a session; returns its user's name."""
    name = store.scalar(sa.select(sessions.c.user_name).where(sessions.c.token_hash == token_hash))
    store.execute(sessions.delete().where(sessions.c.token_hash == token_hash))
    return name


def end_sessions_of(store: Store, user: str) -> None:
    store.execute(sessions.delete().where(sessions.c.user_name == user))


def failures(store: Store, key: str) -> dict[str, Any] | None:
    row = store.first(sa.select(login_failures).where(login_failures.c.key == key))
    return dict(row) if row else None


def save_failures(store: Store, key: str, count: int, first_at: float, locked_until: float | None) -> None:
    store.upsert(login_failures, {"key": key, "failures": count, "first_at": first_at, "locked_until": locked_until})


def clear_failures(store: Store, key: str) -> None:
    store.execute(login_failures.delete().where(login_failures.c.key == key))


def keys_like(store: Store, prefix: str) -> list[str]:
    """The throttle's keys that start with `prefix` (e.g. every "known:" pair)."""
    return store.scalars(sa.select(login_failures.c.key).where(login_failures.c.key.startswith(prefix, autoescape=True)))


def clear_failures_like(store: Store, prefixes: tuple[str, ...]) -> int:
    """Forget the throttle's counts whose key starts with one of `prefixes`; how many."""
    keys = [k for prefix in prefixes for k in keys_like(store, prefix)]
    for key in keys:
        clear_failures(store, key)
    return len(keys)
