"""The review store's plumbing: one SQLAlchemy Core connection to SQLite or PostgreSQL.

A `Store` holds one connection and its transaction: `with store.transaction():` is all or nothing,
and nested calls join the outer one. Statements are SQLAlchemy Core expressions written by the
table-owning modules of this package (`documents`, `screening`, `coding`, …); nothing above the
store writes SQL. SQLite is the spine (WAL, one file per review); PostgreSQL serves team reviews.
The schema is versioned by Alembic migrations (`whatworks/store/migrations`): `open_store` (in
whatworks.store) applies them; a bare `Store` is for a database known to be current (a worker's).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

#: Every table of the review database, declared by the module that owns it.
metadata = sa.MetaData()

#: Integers: BIGINT in PostgreSQL, INTEGER in SQLite (where only INTEGER PRIMARY KEY is the rowid).
Int = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

meta_table = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text),
)

#: Raised when two connections write the same unique row at once (the caller may try again).
Conflict = sa.exc.IntegrityError

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def url_of(target: str | Path) -> str:
    """A SQLAlchemy URL for a SQLite file path or a postgresql:// URL."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if text.startswith(("postgresql+", "sqlite:")):
        return text
    if text == ":memory:":
        return "sqlite://"
    return f"sqlite:///{Path(text).resolve()}"


def _sqlite_engine(url: str) -> Engine:
    engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI objects
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves (below)
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # noqa: ANN001
        # Inside Store.transaction(): IMMEDIATE takes the write lock at once, so two writers wait
        # for each other instead of one failing half-way. A read outside it stays in SQLite's
        # autocommit (no BEGIN), so readers never hold a lock.
        if conn.info.get("immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def engine_for(target: str | Path) -> Engine:
    """One engine per database, shared by every Store of the process (its pool serves the web)."""
    url = url_of(target)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                if "///" in url:
                    Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
                engine = _sqlite_engine(url)
            else:
                engine = sa.create_engine(url, pool_pre_ping=True)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and before a process forks workers)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


class Store:
    """One connection to a review database, and its transaction.

    Reads outside `transaction()` run in autocommit (each statement on its own); writes belong
    inside one. The table-owning modules take a Store as their first argument.
    """

    def __init__(self, target: str | Path):
        self.target = str(target)
        self.engine = engine_for(target)
        self.dialect = self.engine.dialect.name  # "sqlite" | "postgresql"
        self.path = Path(target) if self.dialect == "sqlite" and str(target) != ":memory:" else None
        self.conn: Connection = self.engine.connect()
        self._depth = 0

    # --- transactions --------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All or nothing; nested calls join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._end_autobegun()
        self.conn.info["immediate"] = True
        try:
            with self.conn.begin():
                self._depth = 1
                try:
                    yield self
                finally:
                    self._depth = 0
        finally:
            self.conn.info["immediate"] = False

    def _end_autobegun(self) -> None:
        # SQLAlchemy 2 begins a transaction on the first statement ("autobegin"); a read outside
        # `transaction()` must not hold it open, or the next `begin()` would fail.
        if self.conn.in_transaction():
            self.conn.commit()

    # --- statements ----------------------------------------------------------------------
    def execute(self, statement: sa.Executable, params: Any = None) -> sa.CursorResult:
        """Run one statement; outside a transaction it commits at once."""
        result = self.conn.execute(statement, params) if params is not None else self.conn.execute(statement)
        if not self._depth:
            self.conn.commit()
        return result

    def rows(self, statement: sa.Executable, params: Any = None) -> list[sa.RowMapping]:
        """Every row of a query, each readable as a mapping (row["column"])."""
        return list(self.execute(statement, params).mappings())

    def first(self, statement: sa.Executable, params: Any = None) -> sa.RowMapping | None:
        return self.execute(statement, params).mappings().first()

    def scalar(self, statement: sa.Executable, params: Any = None) -> Any:
        return self.execute(statement, params).scalar()

    def scalars(self, statement: sa.Executable, params: Any = None) -> list[Any]:
        return list(self.execute(statement, params).scalars())

    def insert(self, table: sa.Table, rows: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> None:
        """Insert one row (a mapping) or many (a sequence of mappings)."""
        if isinstance(rows, Mapping):
            rows = [rows]
        if rows:
            self.execute(table.insert(), list(rows))

    def upsert(self, table: sa.Table, rows: Sequence[Mapping[str, Any]] | Mapping[str, Any],
               keys: Iterable[str] | None = None, *, update: Iterable[str] | None = None,
               ignore: bool = False) -> None:
        """Insert rows; on a conflict on `keys` (the primary key by default) update the other
        columns given (or `update`), or leave the row as it is when `ignore`."""
        if isinstance(rows, Mapping):
            rows = [rows]
        if not rows:
            return
        keys = list(keys) if keys is not None else [c.name for c in table.primary_key.columns]
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)
        if ignore:
            statement = insert.on_conflict_do_nothing(index_elements=keys)
        else:
            columns = list(update) if update is not None else [c for c in rows[0] if c not in keys]
            if not columns:
                statement = insert.on_conflict_do_nothing(index_elements=keys)
            else:
                statement = insert.on_conflict_do_update(
                    index_elements=keys, set_={c: insert.excluded[c] for c in columns})
        self.execute(statement, list(rows))

    def raw(self, sql: str, **params: Any) -> list[sa.RowMapping]:
        """A literal SQL query, for tests and diagnostics only: product code goes through the
        table-owning modules."""
        return self.rows(sa.text(sql), params or None)

    def close(self) -> None:
        try:
            self._end_autobegun()
        finally:
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the meta table ----------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar(sa.select(meta_table.c.value).where(meta_table.c.key == key))
        return default if value is None else value

    def set_meta(self, key: str, value: str) -> None:
        self.upsert(meta_table, {"key": key, "value": value})

    def tables(self) -> list[str]:
        return sa.inspect(self.conn).get_table_names()


def chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """`values` in slices small enough for one IN (…) list on every database."""
    for i in range(0, len(values), size):
        yield values[i:i + size]
