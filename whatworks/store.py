"""The review database: one SQLite file (WAL mode) that is the spine of a review.

Every stage writes here and reads from here; the CLI and the web app are views on it.
Each stage module that needs tables of its own declares them in a module-level
``SCHEMA`` string, listed in `SCHEMA_MODULES`, so a table lives beside the code that
owns it. Machine results and human decisions are kept in separate tables: re-running
a stage rewrites only the machine's.
"""

from __future__ import annotations

import importlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whatworks.model import Description, Document, Value

log = logging.getLogger(__name__)

CORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    sha256 TEXT,
    size INTEGER,
    mtime REAL,
    status TEXT NOT NULL,          -- read | failed
    error_code TEXT,
    error TEXT,
    fix TEXT,
    updated_at REAL
);
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS documents (
    sha256 TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    title TEXT,
    language TEXT,
    pages INTEGER,
    chars INTEGER,
    ocr INTEGER DEFAULT 0,
    warnings TEXT,
    data BLOB NOT NULL,
    read_seconds REAL,
    added_at REAL
);
CREATE TABLE IF NOT EXISTS descriptions (
    sha256 TEXT PRIMARY KEY REFERENCES documents(sha256),
    kind TEXT,
    data TEXT NOT NULL,
    describe_seconds REAL,
    version TEXT,
    updated_at REAL
);
CREATE TABLE IF NOT EXISTS items (
    sha256 TEXT NOT NULL,
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    section_kind TEXT,
    data TEXT,
    PRIMARY KEY (sha256, idx)
);
CREATE INDEX IF NOT EXISTS items_kind ON items(kind);
"""

#: Modules whose ``SCHEMA`` string is applied when a database opens (missing ones are skipped).
SCHEMA_MODULES = (
    "whatworks.search",
    "whatworks.screen",
    "whatworks.coding",
    "whatworks.workspace",
)


def schema_scripts(*names: str) -> list[str]:
    """The core schema and each stage module's, in order. A module's first attribute among
    `names` that is set wins (PostgreSQL asks for ``PG_SCHEMA`` before ``SCHEMA``)."""
    scripts = [CORE_SCHEMA]
    for name in SCHEMA_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        schema = next((getattr(module, n) for n in names or ("SCHEMA",) if getattr(module, n, None)), None)
        if schema:
            scripts.append(schema)
    return scripts


class Database:
    """A review database. Thin: SQL in, rows out, one transaction per unit of work."""

    #: How a transaction starts: IMMEDIATE takes SQLite's write lock at once, so two writers wait
    #: instead of failing half-way.
    BEGIN = "BEGIN IMMEDIATE"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=OFF")
        self._depth = 0
        self.apply_schema()

    def apply_schema(self) -> None:
        for script in schema_scripts():
            self.conn.executescript(script)

    # --- plumbing ------------------------------------------------------------------
    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return self.execute(sql, params).fetchall()

    def one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        return self.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """All or nothing; nested calls join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.conn.execute(self.BEGIN)
        self._depth = 1
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._depth = 0

    def close(self) -> None:
        self.conn.close()

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return default if value is None else value

    def set_meta(self, key: str, value: str) -> None:
        self.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     (key, value))

    # --- files and documents ---------------------------------------------------------
    def file_unchanged(self, path: str, size: int, mtime: float) -> bool:
        row = self.one("SELECT size, mtime, status FROM files WHERE path = ?", (path,))
        return bool(row and row["size"] == size and row["mtime"] == mtime and row["status"] == "read")

    def has_document(self, sha256: str) -> bool:
        return self.one("SELECT 1 FROM documents WHERE sha256 = ?", (sha256,)) is not None

    def record_file(self, path: str, sha256: str | None, size: int, mtime: float, status: str,
                    error_code: str | None = None, error: str | None = None, fix: str | None = None) -> None:
        self.execute(
            """INSERT INTO files(path, sha256, size, mtime, status, error_code, error, fix, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(path) DO UPDATE SET sha256=excluded.sha256, size=excluded.size,
                 mtime=excluded.mtime, status=excluded.status, error_code=excluded.error_code,
                 error=excluded.error, fix=excluded.fix, updated_at=excluded.updated_at""",
            (path, sha256, size, mtime, status, error_code, error, fix, time.time()),
        )

    def save_document(self, document: Document, read_seconds: float | None = None,
                      packed: bytes | None = None) -> None:
        """Store a document; `packed` is its `pack()` when the caller has it already (no second compression)."""
        self.execute(
            """INSERT INTO documents(sha256, source, format, title, language, pages, chars, ocr, warnings,
                                     data, read_seconds, added_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(sha256) DO UPDATE SET source=excluded.source, format=excluded.format,
                 title=excluded.title, language=excluded.language, pages=excluded.pages,
                 chars=excluded.chars, ocr=excluded.ocr, warnings=excluded.warnings, data=excluded.data,
                 read_seconds=excluded.read_seconds""",
            (document.sha256, document.source, document.format, document.title, document.language,
             len(document.pages), len(document.text), int(document.ocr), json.dumps(document.warnings),
             packed or document.pack(), read_seconds, time.time()),
        )

    def document(self, sha256: str) -> Document:
        row = self.one("SELECT data FROM documents WHERE sha256 = ?", (sha256,))
        if row is None:
            raise KeyError(sha256)
        return Document.unpack(row["data"])

    def documents(self) -> list[sqlite3.Row]:
        """Every document's summary row (no body), in a stable order."""
        return self.query("SELECT sha256, source, format, title, language, pages, chars, ocr, warnings "
                          "FROM documents ORDER BY source")

    def iter_documents(self) -> Iterator[Document]:
        """Documents one at a time, so memory does not grow with the corpus."""
        for (sha,) in self.query("SELECT sha256 FROM documents ORDER BY source"):
            yield self.document(sha)

    # --- descriptions --------------------------------------------------------------
    def save_description(self, sha256: str, description: Description, seconds: float | None = None,
                         version: str = "") -> None:
        """The machine's description, and its `items` rows with reviewers' corrections applied (a
        re-run of describe keeps them: see `effective_description`)."""
        with self.transaction():
            self.execute(
                """INSERT INTO descriptions(sha256, kind, data, describe_seconds, version, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(sha256) DO UPDATE SET kind=excluded.kind, data=excluded.data,
                     describe_seconds=excluded.describe_seconds, version=excluded.version,
                     updated_at=excluded.updated_at""",
                (sha256, description.kind.value, json.dumps(description.to_dict(), ensure_ascii=False),
                 seconds, version, time.time()),
            )
            self._write_items(sha256, description)

    def _write_items(self, sha256: str, description: Description | None) -> None:
        """`items`: the rows coding, emerging themes and the synthesis read — the description's items
        with the workspace's corrections applied (machine items keep their index; added ones are
        numbered from workspace.ADDED_ITEM_BASE)."""
        pairs: list[tuple[int, Any]] = list(enumerate(description.items)) if description else []
        sections = description.sections if description else []
        if self._corrections_for(sha256):
            from whatworks.workspace import corrections, overlay

            ov = overlay(description or Description(kind=Value(None, 0.0)), corrections(self, sha256))
            pairs = [(e.idx, e.item) for e in ov.items if e.item is not None]
            sections = ov.description.sections
        self.execute("DELETE FROM items WHERE sha256 = ?", (sha256,))
        self.executemany(
            "INSERT INTO items(sha256, idx, kind, text, page, section_kind, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (sha256, i, item.kind, item.text, item.page,
                 sections[item.section_index].kind
                 if item.section_index is not None and item.section_index < len(sections) else None,
                 json.dumps(item.to_dict(), ensure_ascii=False))
                for i, item in pairs
            ],
        )

    def refresh_items(self, sha256: str) -> None:
        """Rewrite one document's `items` rows (after a reviewer corrected an item or a section)."""
        with self.transaction():
            self._write_items(sha256, self.description(sha256))

    def description(self, sha256: str) -> Description | None:
        """The machine's description (what `describe` found), without reviewers' corrections."""
        row = self.one("SELECT data FROM descriptions WHERE sha256 = ?", (sha256,))
        return Description.from_dict(json.loads(row["data"])) if row else None

    def effective_description(self, sha256: str) -> Description | None:
        """The description the outputs use: the machine's with the reviewers' corrections (metadata,
        kind, sections, items) from the workspace applied. The synthesis, the selection matrix,
        the figures and the reports read this, never `description` directly."""
        if not self._corrections_for(sha256):
            return self.description(sha256)
        from whatworks.workspace import corrected_description

        return corrected_description(self, sha256)

    def effective_descriptions(self) -> dict[str, dict[str, Any]]:
        """Every document's effective description as a dict (`Description.to_dict`), in two queries."""
        if not self.has_table("ws_corrections"):
            return {r["sha256"]: json.loads(r["data"]) for r in self.query("SELECT sha256, data FROM descriptions")}
        from whatworks.workspace import corrected_descriptions

        return corrected_descriptions(self)

    def _corrections_for(self, sha256: str) -> bool:
        return self.has_table("ws_corrections") and self.one(
            "SELECT 1 FROM ws_corrections WHERE sha256 = ? LIMIT 1", (sha256,)) is not None

    def has_table(self, name: str) -> bool:
        """Whether the database has table `name` (asked once per connection and name)."""
        known: dict[str, bool] = self.__dict__.setdefault("_tables_known", {})
        if name not in known:
            known[name] = self._table_exists(name)
        return known[name]

    def _table_exists(self, name: str) -> bool:
        return self.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None

    def file_rows(self) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM files ORDER BY path")
