"""PostgreSQL backing for a team review: the same `Database` API over psycopg 3.

Every stage writes the SQLite dialect; this class translates what the project uses:
``?`` placeholders → ``%s`` (and a literal ``%`` → ``%%``), ``LIKE`` → ``ILIKE`` (SQLite's
LIKE ignores ASCII case), ``INSERT OR IGNORE`` → ``ON CONFLICT DO NOTHING``, and in schemas
``BLOB`` → ``BYTEA``, ``REAL`` → ``DOUBLE PRECISION``, ``INTEGER`` → ``BIGINT``,
``REFERENCES`` dropped (SQLite runs with foreign keys off), ``INTEGER PRIMARY KEY [AUTOINCREMENT]`` → an
identity column (explicit ids still allowed), ``CREATE VIEW IF
NOT EXISTS`` → ``CREATE OR REPLACE VIEW``, ``rowid`` → ``ctid``. ``INSERT … ON CONFLICT … DO UPDATE`` is the same in both.
FTS5 has no PostgreSQL equivalent: a ``CREATE VIRTUAL TABLE … USING fts5(…)`` becomes a plain
table with the same columns, so writes work, and `dialect` tells readers to search with ILIKE.
PRAGMAs are dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from whatworks.store import Database, schema_scripts

log = logging.getLogger(__name__)


class Row(tuple):
    """A result row readable by position and by column name, like sqlite3.Row."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]):
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)

    def get(self, key: str, default: Any = None) -> Any:
        i = self._index.get(key)
        return default if i is None else tuple.__getitem__(self, i)


def _row_factory(cursor):
    names = [c.name for c in cursor.description or []]
    index = {name: i for i, name in enumerate(names)}

    def make(values: Sequence[Any]) -> Row:
        return Row(values, index)

    return make


_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?|%|\w+|[^'\"?%\w-]+|.", re.S)


def translate(sql: str, keep_rowid: bool = False) -> str:
    """SQLite SQL as the project writes it → PostgreSQL (placeholders, LIKE, INSERT OR IGNORE, rowid)."""
    out = []
    for m in _TOKEN.finditer(sql):
        tok = m.group(0)
        if tok == "?":
            out.append("%s")
        elif tok == "%":
            out.append("%%")
        elif tok.startswith("'"):
            out.append(tok.replace("%", "%%"))
        elif tok.startswith("--"):
            continue  # a comment could hold ? or %
        elif tok.upper() == "LIKE":
            out.append("ILIKE")
        elif tok.lower() == "rowid" and not keep_rowid:
            out.append("ctid")  # insertion order, near enough, for ORDER BY rowid
        else:
            out.append(tok)
    text = re.sub(r"\s+COLLATE\s+NOCASE\b", "", "".join(out), flags=re.I)  # PostgreSQL sorts case-sensitively
    if re.match(r"\s*INSERT\s+OR\s+IGNORE\s+", text, re.I):
        text = re.sub(r"^\s*INSERT\s+OR\s+IGNORE\s+", "INSERT ", text, flags=re.I).rstrip().rstrip(";")
        text += " ON CONFLICT DO NOTHING"
    return text


#: One token per word, literal, placeholder, space run or punctuation character.
_FINE = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?|\w+|\s+|.", re.S)


def split_statements(script: str) -> list[str]:
    """A script's statements (semicolons outside quotes and comments end them)."""
    parts, buf = [], []
    for m in re.finditer(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|;|[^'\";-]+|.", script, re.S):
        tok = m.group(0)
        if tok == ";":
            parts.append("".join(buf))
            buf = []
        elif not tok.startswith("--"):
            buf.append(tok)
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


_WRITE = re.compile(r"\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|DELETE\s+FROM|UPDATE)\s+(\w+)", re.I)
_REPLACE = re.compile(r"\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.I)
_FTS = re.compile(r"CREATE\s+VIRTUAL\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s+USING\s+fts5\s*\((.*)\)\s*$",
                  re.I | re.S)
_FTS_INSERT = re.compile(r"\s*INSERT\s+INTO\s+(\w+)\s*\(([^)]*)\)\s*VALUES\s*\((.*)\)\s*;?\s*$", re.I | re.S)
WEIGHTS = "ABCD"  # an FTS5 column becomes a tsvector weight, so `col:` filters work


def fts_columns(statement: str) -> tuple[str, list[str]] | None:
    """(table, indexed columns) of a CREATE VIRTUAL TABLE … USING fts5(…), else None."""
    m = _FTS.match(statement.strip())
    if not m:
        return None
    cols = []
    for part in m.group(3).split(","):
        name = part.strip().split()[0] if part.strip() else ""
        if name and "=" not in part and re.fullmatch(r"\w+", name):
            cols.append(name.lower())
    return m.group(2).lower(), cols


def translate_ddl(statement: str) -> list[str]:
    """One schema statement in PostgreSQL's dialect (possibly several, or none: PRAGMA, triggers).

    An FTS5 table becomes a table with a `rowid` key, its columns, and a generated, GIN-indexed
    tsvector `tsv` (one weight per column) that `MATCH` queries are translated to."""
    s = statement.strip()
    if re.match(r"PRAGMA\b", s, re.I):
        return []
    fts = fts_columns(s)
    if fts:
        table, cols = fts
        if len(cols) > len(WEIGHTS):
            raise ValueError(f"FTS table {table}: at most {len(WEIGHTS)} columns in PostgreSQL mode")
        vector = " || ".join(f"setweight(to_tsvector('simple', coalesce({c}, '')), '{WEIGHTS[i]}')"
                             for i, c in enumerate(cols))
        return [f"CREATE TABLE IF NOT EXISTS {table} (rowid BIGINT PRIMARY KEY, "
                + "".join(f"{c} TEXT, " for c in cols) + f"tsv tsvector GENERATED ALWAYS AS ({vector}) STORED)",
                f"CREATE INDEX IF NOT EXISTS {table}_tsv ON {table} USING GIN (tsv)"]
    if re.match(r"CREATE\s+TRIGGER\b", s, re.I):
        return []
    s = re.sub(r"^CREATE\s+VIEW\s+IF\s+NOT\s+EXISTS\b", "CREATE OR REPLACE VIEW", s, flags=re.I)
    s = re.sub(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b",
               "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", s, flags=re.I)
    s = re.sub(r"\bBLOB\b", "BYTEA", s, flags=re.I)
    s = re.sub(r"\bREAL\b", "DOUBLE PRECISION", s, flags=re.I)
    s = re.sub(r"\bINTEGER\b", "BIGINT", s, flags=re.I)
    s = re.sub(r"\bWITHOUT\s+ROWID\b", "", s, flags=re.I)
    s = re.sub(r"\s+COLLATE\s+NOCASE\b", "", s, flags=re.I)
    # the project's SQLite runs with foreign_keys=OFF: a REFERENCES clause documents, it does not enforce
    s = re.sub(r"\s+REFERENCES\s+\w+\s*(\([^)]*\))?", "", s, flags=re.I)
    return [s]


def primary_key(statement: str) -> tuple[str | None, list[str]]:
    """(table, primary-key columns) of a CREATE TABLE statement (lower case), else (None, [])."""
    m = re.match(r"\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)\s*$", statement, re.I | re.S)
    if not m:
        return None, []
    table, body = m.group(1).lower(), m.group(2)
    k = re.search(r"PRIMARY\s+KEY\s*\(([^)]*)\)", body, re.I)
    if k:
        return table, [c.strip().lower() for c in k.group(1).split(",")]
    for line in re.split(r",\s*(?![^()]*\))", body):
        c = re.match(r"\s*(\w+)\s+\w+.*\bPRIMARY\s+KEY\b", line, re.I | re.S)
        if c:
            return table, [c.group(1).lower()]
    return table, []


# --- FTS5 queries → tsquery -----------------------------------------------------------------

_FTS_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(\()|(\))|(\*)|(\w+)\s*:|(\w+)|(\S)', re.U)


class FtsQueryError(ValueError):
    pass


def fts_to_tsquery(expr: str, columns: list[str]) -> str:
    """An FTS5 MATCH expression (phrases, prefix*, AND/OR/NOT, parentheses, `col:` filters) as
    a PostgreSQL tsquery over the weighted tsvector of `translate_ddl`."""
    tokens: list[tuple[str, str]] = []
    for m in _FTS_TOKEN.finditer(expr):
        phrase, lp, rp, star, col, word, other = m.groups()
        if phrase is not None:
            tokens.append(("phrase", phrase.replace('""', '"')))
        elif lp:
            tokens.append(("(", lp))
        elif rp:
            tokens.append((")", rp))
        elif star:
            tokens.append(("*", star))
        elif col:
            tokens.append(("col", col.lower()))
        elif word in ("AND", "OR", "NOT"):
            tokens.append((word, word))
        elif word:
            tokens.append(("phrase", word))
        elif other not in ("^", "+"):
            raise FtsQueryError(f"unsupported FTS5 syntax {other!r} in {expr!r}")
    pos = 0

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def lexemes(text: str, weight: str, prefix: bool) -> str:
        words = re.findall(r"\w+", text.lower())
        if not words:
            return "'xnomatchx'"
        parts = [f"'{w}':" + ("*" if prefix and i == len(words) - 1 else "") + weight for i, w in enumerate(words)]
        parts = [p[:-1] if p.endswith(":") else p for p in parts]
        return parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")"

    def unary(weight: str) -> str:
        kind = peek()
        if kind == "col":
            name = take()[1]
            if name not in columns:
                raise FtsQueryError(f"no column {name!r} in the index ({', '.join(columns)})")
            return unary(WEIGHTS[columns.index(name)])
        if kind == "(":
            take()
            inner = orexpr(weight)
            if peek() != ")":
                raise FtsQueryError(f"missing ')' in {expr!r}")
            take()
            return f"({inner})"
        if kind == "phrase":
            text = take()[1]
            prefix = peek() == "*"
            if prefix:
                take()
            return lexemes(text, weight, prefix)
        raise FtsQueryError(f"a term is missing in {expr!r}")

    def notexpr(weight: str) -> str:
        left = unary(weight)
        while peek() == "NOT":
            take()
            left = f"{left} & !{unary(weight)}"
        return left

    def andexpr(weight: str) -> str:
        left = notexpr(weight)
        while peek() not in (None, ")", "OR"):
            if peek() == "AND":
                take()
            left = f"{left} & {notexpr(weight)}"
        return left

    def orexpr(weight: str) -> str:
        left = andexpr(weight)
        while peek() == "OR":
            take()
            left = f"{left} | {andexpr(weight)}"
        return left

    out = orexpr("")
    if pos != len(tokens):
        raise FtsQueryError(f"unbalanced ')' in {expr!r}")
    return out


class PostgresDatabase(Database):
    """A review database in PostgreSQL. Same methods as `whatworks.store.Database`.

    One connection per instance (not shared between threads: the web app keeps a pool).
    `dialect` is "postgresql" for readers that care; FTS5 tables and MATCH queries are emulated
    with tsvector columns, so whatworks.search and whatworks.screen run unchanged.
    """

    dialect = "postgresql"
    BEGIN = "BEGIN"

    def __init__(self, url: str, *, apply_schema: bool = True):  # noqa: D107 - no super().__init__ (SQLite)
        import psycopg

        self.url = url
        self.path = None  # type: ignore[assignment]
        self.conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory)
        self._depth = 0
        self.fts_tables: dict[str, list[str]] = {}
        self.primary_keys: dict[str, list[str]] = {}
        statements = self._schema_statements()
        for statement in statements:
            fts = fts_columns(statement)
            if fts:
                self.fts_tables[fts[0]] = fts[1]
                self.primary_keys[fts[0]] = ["rowid"]
            table, pk = primary_key(statement)
            if table and pk:
                self.primary_keys[table] = pk
        if apply_schema:
            self.apply_schema(statements)

    @staticmethod
    def _schema_statements() -> list[str]:
        scripts = schema_scripts("PG_SCHEMA", "SCHEMA")
        return [st for script in scripts for st in split_statements(script)]

    def apply_schema(self, statements: list[str] | None = None) -> None:
        with self.transaction():
            # one server-wide lock so two workers opening the database at once don't race on DDL
            self.conn.execute("SELECT pg_advisory_xact_lock(718290)")
            for statement in statements if statements is not None else self._schema_statements():
                for ddl in translate_ddl(statement):
                    self.conn.execute(ddl)

    # --- translation ---------------------------------------------------------------------
    def _fts_write(self, sql: str, rows: list[tuple]) -> tuple[str, list[tuple]] | None:
        """FTS5 writes as plain-table writes: ('delete-all'), ('delete', rowid, …), inserts."""
        m = _WRITE.match(sql)
        if not m or m.group(1).lower() not in self.fts_tables:
            return None
        table = m.group(1).lower()
        ins = _FTS_INSERT.match(sql)
        if not ins:
            return sql, rows  # DELETE FROM fts WHERE rowid = ?: the rowid column exists
        cols = [c.strip().lower() for c in ins.group(2).split(",")]
        values = ins.group(3)
        if cols and cols[0] == table:  # an FTS5 command
            command = re.match(r"\s*'([\w-]+)'", values)
            name = command.group(1) if command else ""
            if name == "delete-all":
                return f"DELETE FROM {table}", [()]
            if name == "delete":
                return f"DELETE FROM {table} WHERE rowid = ?", [(r[0],) for r in rows]
            return "SELECT 1 WHERE false", [()]  # rebuild, optimize, merge…: nothing to do
        update = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "rowid")
        return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({values}) ON CONFLICT (rowid) DO "
                + (f"UPDATE SET {update}" if update else "NOTHING"), rows)

    def _fts_query(self, sql: str, params: tuple) -> tuple[str, tuple]:
        """`T MATCH ?` → `T.tsv @@ to_tsquery(…)`; `bm25(T, …)` → `-ts_rank(T.tsv, …)`."""
        tokens = [m.group(0) for m in _FINE.finditer(sql)]
        words = [(i, t.lower()) for i, t in enumerate(tokens) if t.strip()]
        match_param = None
        q = 0
        for k, (_, t) in enumerate(words):
            if t == "?":
                if k >= 2 and words[k - 1][1] == "match" and words[k - 2][1] in self.fts_tables:
                    table = words[k - 2][1]
                    match_param = fts_to_tsquery(str(params[q]), self.fts_tables[table])
                q += 1
        if match_param is None:
            return sql, params
        out: list[str] = []
        new_params: list[Any] = []
        q = 0
        i = 0
        while i < len(tokens):
            t = tokens[i]
            low = t.lower()
            if low == "bm25" and i + 2 < len(tokens) and tokens[i + 1] == "(":
                j = i + 2
                while j < len(tokens) and not tokens[j].strip():
                    j += 1
                table = tokens[j].lower()
                depth, k = 1, j + 1
                while k < len(tokens) and depth:
                    depth += {"(": 1, ")": -1}.get(tokens[k], 0)
                    k += 1
                out.append(f"(-ts_rank({table}.tsv, to_tsquery('simple', ?)))")
                new_params.append(match_param)
                i = k
                continue
            if low == "match":
                table = out[-1].strip().lower() if out and out[-1].strip() else out[-2].strip().lower()
                while out and not out[-1].strip():
                    out.pop()
                out.pop()
                out.append(f"{table}.tsv @@ to_tsquery('simple', ?)")
                i += 1
                while i < len(tokens) and tokens[i] != "?":
                    i += 1
                new_params.append(match_param)
                q += 1
                i += 1
                continue
            if t == "?":
                new_params.append(params[q])
                q += 1
            out.append(t)
            i += 1
        return "".join(out), tuple(new_params)

    def _translate(self, sql: str) -> str:
        m = _REPLACE.match(sql)
        if m:  # INSERT OR REPLACE → an upsert on the table's primary key
            table = m.group(1)
            cols = [c.strip() for c in m.group(2).split(",")]
            pk = self.primary_keys.get(table.lower())
            if not pk:
                raise ValueError(f"INSERT OR REPLACE INTO {table}: no primary key known for it in PostgreSQL")
            update = ", ".join(f"{c} = excluded.{c}" for c in cols if c.lower() not in pk)
            sql = re.sub(r"^INSERT\s+OR\s+REPLACE\s+", "INSERT ", m.string.strip(), flags=re.I).rstrip(";")
            sql += f" ON CONFLICT ({', '.join(pk)}) " + (f"DO UPDATE SET {update}" if update else "DO NOTHING")
        keep_rowid = any(re.search(rf"\b{t}\b", sql, re.I) for t in self.fts_tables)
        return translate(sql, keep_rowid=keep_rowid)

    def execute(self, sql: str, params: Any = ()):
        params = tuple(params) if params is not None else ()
        fts = self._fts_write(sql, [params])
        if fts is not None:
            sql, rows = fts
            params = rows[0] if rows else ()
        elif " MATCH " in sql.upper().replace("\n", " "):
            sql, params = self._fts_query(sql, params)
        return self.conn.execute(self._translate(sql), params)

    def executemany(self, sql: str, rows: Any):
        rows = [tuple(r) for r in rows]
        fts = self._fts_write(sql, rows)
        if fts is not None:
            sql, rows = fts
        cur = self.conn.cursor()
        if rows and rows != [()]:
            cur.executemany(self._translate(sql), rows)
        elif rows == [()]:
            cur.execute(self._translate(sql))
        return cur

    def _table_exists(self, name: str) -> bool:
        return bool(self.scalar("SELECT to_regclass(?) IS NOT NULL", (name.lower(),)))

    def document(self, sha256: str):
        from whatworks.model import Document

        row = self.one("SELECT data FROM documents WHERE sha256 = ?", (sha256,))
        if row is None:
            raise KeyError(sha256)
        return Document.unpack(bytes(row["data"]))

    def close(self) -> None:
        self.conn.close()


def copy_database(source: Database, target: Database, *, batch: int = 500) -> dict[str, int]:
    """Copy every table the project knows from one review database to another (e.g. a local SQLite
    review into PostgreSQL before a team starts). Rows already in the target are kept."""
    tables = _tables(source)
    counts: dict[str, int] = {}
    for table in tables:
        cols = _columns(source, table)
        if not cols:
            continue
        collist = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        sql = f"INSERT INTO {table} ({collist}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        n = 0
        with target.transaction():
            cursor = source.execute(f"SELECT {collist} FROM {table}")
            while rows := cursor.fetchmany(batch):  # a batch at a time: documents hold large blobs
                target.executemany(sql, [tuple(r) for r in rows])
                n += len(rows)
        counts[table] = n
    if getattr(target, "dialect", "sqlite") == "postgresql":  # identity columns go on after the copied ids
        for r in target.query("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = current_schema() AND is_identity = 'YES'"):
            target.scalar(f"SELECT setval(pg_get_serial_sequence('{r[0]}', '{r[1]}'), "
                          f"GREATEST(COALESCE(MAX({r[1]}), 0), 1)) FROM {r[0]}")
    if "passages" in counts and getattr(target, "dialect", "sqlite") == "postgresql":
        _rebuild_search(target)
    return counts


def _rebuild_search(target: Database) -> None:
    """Fill the search index of a copied review from its `passages`.

    SQLite's FTS5 index is contentless (nothing to copy), so whatworks.search must rebuild it. It
    rebuilds when the index version it recorded in `meta` differs from its own; a copy used to mark
    one key ("search.stemmer") stale, and when search renamed its version key ("search.index",
    with the tag format) the copy kept a current-looking version over an empty index, and every
    search in PostgreSQL found nothing. Now every `search.*` version is forgotten, whatever its
    name, and the result is checked: one index row per passage, or the index is filled here."""
    try:
        from whatworks import search
    except ImportError:
        return
    target.execute("DELETE FROM meta WHERE key LIKE 'search.%'")
    search.index(target)
    if "passages_fts" not in getattr(target, "fts_tables", {}):
        return
    n = target.scalar("SELECT COUNT(*) FROM passages") or 0
    indexed = target.scalar("SELECT COUNT(*) FROM passages_fts") or 0
    if indexed != n:  # search did not rebuild (a changed version rule): fill the index from the passages
        log.warning("search index has %d of %d passages after the copy: rebuilding it", indexed, n)
        rows = target.query("SELECT id, language, text, tags FROM passages")
        with target.transaction():
            target.execute("INSERT INTO passages_fts(passages_fts) VALUES ('delete-all')")
            target.executemany("INSERT INTO passages_fts(rowid, body, tags) VALUES (?, ?, ?)",
                               [(r["id"], search.stem_text(r["text"], r["language"] or ""), r["tags"] or "")
                                for r in rows])


def _tables(db: Database) -> list[str]:
    if getattr(db, "dialect", "sqlite") == "postgresql":
        rows = db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                        "AND table_type = 'BASE TABLE' ORDER BY table_name")
        return [r[0] for r in rows]
    rows = db.query("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
    virtual = [r[0] for r in rows if "VIRTUAL TABLE" in (r[1] or "").upper()]
    # FTS5 tables and their shadow tables stay behind: PostgreSQL mode searches `passages`
    return [r[0] for r in rows if not r[0].startswith("sqlite_") and r[0] not in virtual
            and not any(r[0].startswith(v + "_") for v in virtual)]


def _columns(db: Database, table: str) -> list[str]:
    if getattr(db, "dialect", "sqlite") == "postgresql":
        rows = db.query("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                        "AND table_schema = current_schema() ORDER BY ordinal_position", (table,))
        return [r[0] for r in rows]
    return [r[1] for r in db.query(f"PRAGMA table_info({table})")]
