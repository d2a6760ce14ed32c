"""Bring a review database to the current schema with Alembic, when it opens.

A database made before the schema was versioned (whatworks 0.1) has the baseline's tables but no
`alembic_version`: it is stamped as the baseline, then upgraded like any other. The check is one
query when the database is current, so opening stays cheap.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from whatworks.store.base import Store

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest revision; tests/test_migrations.py checks it is Alembic's head.
HEAD = "0003"
BASELINE = "0001"


def current(store: Store) -> str | None:
    """The database's schema revision, None for a new (or 0.1) database."""
    if "alembic_version" not in store.tables():
        return None
    return store.scalar(sa.text("SELECT version_num FROM alembic_version"))


def _config(store: Store):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = store.conn
    return cfg


def upgrade(store: Store, revision: str = "head") -> None:
    """Apply the migrations the database lacks, in one transaction."""
    if revision == "head" and current(store) == HEAD:
        return
    from alembic import command

    store._end_autobegun()
    cfg = _config(store)
    tables = set(store.tables())
    store.conn.info["immediate"] = True
    try:
        if "alembic_version" not in tables and "documents" in tables:
            log.info("%s: a whatworks 0.1 review database; upgrading it", store.target)
            command.stamp(cfg, BASELINE)
        command.upgrade(cfg, revision)
        if store.conn.in_transaction():
            store.conn.commit()
    finally:
        store.conn.info["immediate"] = False
    log.info("%s: schema at revision %s", store.target, current(store))
