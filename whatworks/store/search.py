"""The search index: passages, their full-text index and each document's facets.

SQLite indexes the passages' stemmed text with FTS5 (BM25 ranking); PostgreSQL with a weighted
tsvector and a GIN index (ts_rank). Both take the same query tree (`Query`), built by
whatworks.search from what a user typed, so the query language is one and only its rendering
differs per database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from whatworks.store.base import Int, Store, chunks, metadata
from whatworks.store.documents import descriptions, documents

passages = sa.Table(
    "passages", metadata,
    sa.Column("id", Int, primary_key=True, autoincrement=False),
    sa.Column("sha256", sa.Text, nullable=False, index=True),
    sa.Column("page", Int),
    sa.Column("block_start", Int, nullable=False),  # index into Document.blocks, inclusive
    sa.Column("block_end", Int, nullable=False),  # exclusive
    sa.Column("section_kind", sa.Text),
    sa.Column("language", sa.Text),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("tags", sa.Text),  # the filter tokens indexed with it
)

doc_facets = sa.Table(
    "doc_facets", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("source", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("kind", sa.Text, index=True),
    sa.Column("year", Int, index=True),
    sa.Column("language", sa.Text),
    sa.Column("countries", sa.Text),  # '|CAN|FRA|'
    sa.Column("regions", sa.Text),  # '|africa|western africa|'
    sa.Column("organisation", sa.Text),
    sa.Column("evaluation_type", sa.Text),
    sa.Column("timing", sa.Text),
    sa.Column("evaluator_type", sa.Text),
    sa.Column("passages", Int),
    sa.Column("described_at", sa.Float),  # descriptions.updated_at when indexed
    sa.Column("indexed_at", sa.Float),
)
sa.Index("facets_listing", doc_facets.c.sha256, doc_facets.c.title, doc_facets.c.kind, doc_facets.c.year,
         doc_facets.c.language, doc_facets.c.countries)

#: The full-text table: SQLite's is an FTS5 virtual table (made by the migrations); PostgreSQL's a
#: plain table with a generated tsvector. Both have (rowid, body, tags).
fts = sa.Table(
    "passages_fts", sa.MetaData(),  # not in `metadata`: the migrations make it per database
    sa.Column("rowid", Int, primary_key=True),
    sa.Column("body", sa.Text),
    sa.Column("tags", sa.Text),
)

FACET_COLUMNS = [c.name for c in doc_facets.columns]


# --- the query tree ------------------------------------------------------------------------

@dataclass
class Term:
    """A word or phrase: its stemmed forms, one per language (any may match), as word lists."""

    variants: list[list[str]]
    prefix: bool = False  # the (single, folded) word is a prefix


@dataclass
class Query:
    """What to find: `tree` is a Term or (op, left, right) with op AND | OR | NOT (left and not
    right); `filters` are groups of tag tokens, each group a disjunction, the groups a conjunction."""

    tree: Any
    filters: list[list[str]] = field(default_factory=list)


def _fts5(node: Any) -> str:
    if isinstance(node, Term):
        if node.prefix:
            return f'"{node.variants[0][0]}"*'
        parts = ['"' + " ".join(v) + '"' for v in node.variants]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    op, left, right = node
    return f"({_fts5(left)} {op} {_fts5(right)})"


def fts5_match(query: Query) -> str:
    """The FTS5 MATCH expression: the words in `body`, the filters in `tags`."""
    out = f"body:({_fts5(query.tree)})"
    for group in query.filters:
        out += " AND tags:(" + " OR ".join(group) + ")"
    return out


def _lexeme(word: str, weight: str, prefix: bool = False) -> str:
    word = "".join(c for c in word if c.isalnum()) or "xnomatchx"
    return f"'{word}':" + ("*" if prefix else "") + weight


def _tsquery(node: Any) -> str:
    if isinstance(node, Term):
        if node.prefix:
            return _lexeme(node.variants[0][0], "A", prefix=True)
        parts = []
        for v in node.variants:
            lexemes = [_lexeme(w, "A") for w in v]
            parts.append(lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")")
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"
    op, left, right = node
    sign = {"AND": " & ", "OR": " | ", "NOT": " & !"}[op]
    return f"({_tsquery(left)}{sign}{_tsquery(right)})"


def tsquery(query: Query) -> str:
    """The PostgreSQL tsquery: words weighted A (body), filter tokens weighted B (tags)."""
    out = _tsquery(query.tree)
    for group in query.filters:
        out += " & (" + " | ".join(_lexeme(t, "B") for t in group) + ")"
    return out


# --- writing -----------------------------------------------------------------------------------

def unindex(store: Store, sha256: str, body: Callable[[str, str | None], str]) -> None:
    """Remove one document's passages, full-text rows and facets. `body(text, language)` gives the
    stemmed body a passage was indexed with: SQLite's contentless FTS5 index forgets a row only when
    told the exact values it indexed."""
    with store.transaction():
        rows = store.rows(sa.select(passages.c.id, passages.c.text, passages.c.language, passages.c.tags)
                          .where(passages.c.sha256 == sha256))
        if rows and store.dialect == "sqlite":
            store.execute(sa.text("INSERT INTO passages_fts(passages_fts, rowid, body, tags) "
                                  "VALUES ('delete', :rowid, :body, :tags)"),
                          [{"rowid": r["id"], "body": body(r["text"], r["language"]), "tags": r["tags"] or ""}
                           for r in rows])
        elif rows:
            for part in chunks([r["id"] for r in rows]):
                store.execute(fts.delete().where(fts.c.rowid.in_(part)))
        store.execute(passages.delete().where(passages.c.sha256 == sha256))
        store.execute(doc_facets.delete().where(doc_facets.c.sha256 == sha256))


def _clear_fts(store: Store) -> None:
    if store.dialect == "sqlite":
        store.execute(sa.text("INSERT INTO passages_fts(passages_fts) VALUES ('delete-all')"))
    else:
        store.execute(fts.delete())


def next_passage_id(store: Store) -> int:
    return (store.scalar(sa.select(sa.func.max(passages.c.id))) or 0) + 1


def add_passages(store: Store, rows: Sequence[dict[str, Any]], bodies: Sequence[str]) -> None:
    """Insert passages (dicts of the passages columns) and their stemmed bodies into the index."""
    store.insert(passages, rows)
    store.insert(fts, [{"rowid": r["id"], "body": b, "tags": r["tags"] or ""} for r, b in zip(rows, bodies,
                                                                                              strict=True)])


def save_facets(store: Store, facet: dict[str, Any]) -> None:
    store.upsert(doc_facets, {k: v for k, v in facet.items() if k in FACET_COLUMNS})


def reindex_all(store: Store, rows: Iterable[tuple[int, str, str]]) -> None:
    """Rebuild the full-text rows from (passage id, stemmed body, tags) (after the stemmer or the
    tags changed), and store the new tags on the passages."""
    rows = list(rows)
    with store.transaction():
        _clear_fts(store)
        for part in chunks(rows, 2000):
            store.execute(passages.update().where(passages.c.id == sa.bindparam("pid"))
                          .values(tags=sa.bindparam("new_tags")),
                          [{"pid": i, "new_tags": t} for i, _, t in part])
            store.insert(fts, [{"rowid": i, "body": b, "tags": t} for i, b, t in part])


# --- reading ------------------------------------------------------------------------------------

def passage_rows(store: Store, sha256: str | None = None, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    q = sa.select(passages).order_by(passages.c.id)
    if sha256 is not None:
        q = q.where(passages.c.sha256 == sha256)
    if ids is None:
        return [dict(r) for r in store.rows(q)]
    out: list[dict[str, Any]] = []
    for part in chunks(list(ids)):
        out += [dict(r) for r in store.rows(q.where(passages.c.id.in_(part)))]
    return out


def has_passages(store: Store) -> bool:
    return store.scalar(sa.select(passages.c.id).limit(1)) is not None


def facet_rows(store: Store, shas: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    q = sa.select(doc_facets)
    if shas is None:
        return {r["sha256"]: dict(r) for r in store.rows(q)}
    out = {}
    for part in chunks(list(shas)):
        out.update({r["sha256"]: dict(r) for r in store.rows(q.where(doc_facets.c.sha256.in_(part)))})
    return out


def facet_row(store: Store, sha256: str) -> dict[str, Any] | None:
    row = store.first(sa.select(doc_facets).where(doc_facets.c.sha256 == sha256))
    return dict(row) if row else None


def count_facets(store: Store) -> int:
    return store.scalar(sa.select(sa.func.count()).select_from(doc_facets)) or 0


def index_state(store: Store) -> list[dict[str, Any]]:
    """Every document with when it was described and when its facets were indexed (None: never)."""
    q = (sa.select(documents.c.sha256, descriptions.c.updated_at.label("described_at"),
                   doc_facets.c.described_at.label("indexed_desc"), doc_facets.c.sha256.label("done"))
         .select_from(documents.outerjoin(descriptions, descriptions.c.sha256 == documents.c.sha256)
                      .outerjoin(doc_facets, doc_facets.c.sha256 == documents.c.sha256)))
    return [dict(r) for r in store.rows(q)]


def orphan_facets(store: Store) -> list[str]:
    """Documents still indexed that are no longer in the database."""
    q = sa.select(doc_facets.c.sha256).where(doc_facets.c.sha256.not_in(sa.select(documents.c.sha256)))
    return store.scalars(q)


def matches(store: Store, query: Query, *, limit: int, offset: int) -> list[tuple[int, float]]:
    """(passage id, score) of the best matches, best first; the score is lower-is-better (BM25's
    sign convention) on both databases."""
    if store.dialect == "sqlite":
        q = sa.text("SELECT rowid, bm25(passages_fts, 1.0, 0.0) AS score FROM passages_fts "
                    "WHERE passages_fts MATCH :m ORDER BY score LIMIT :lim OFFSET :off")
        rows = store.execute(q, {"m": fts5_match(query), "lim": limit, "off": offset})
    else:
        q = sa.text("SELECT rowid, -ts_rank(tsv, to_tsquery('simple', :m)) AS score FROM passages_fts "
                    "WHERE tsv @@ to_tsquery('simple', :m) ORDER BY score, rowid LIMIT :lim OFFSET :off")
        rows = store.execute(q, {"m": tsquery(query), "lim": limit, "off": offset})
    return [(int(r[0]), float(r[1])) for r in rows]


def count_matches(store: Store, query: Query) -> int:
    if store.dialect == "sqlite":
        q = sa.text("SELECT COUNT(*) FROM passages_fts WHERE passages_fts MATCH :m")
        return int(store.scalar(q, {"m": fts5_match(query)}) or 0)
    q = sa.text("SELECT COUNT(*) FROM passages_fts WHERE tsv @@ to_tsquery('simple', :m)")
    return int(store.scalar(q, {"m": tsquery(query)}) or 0)


def hit_rows(store: Store, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Passages with their document's path and title, by id."""
    q = (sa.select(passages.c.id, passages.c.sha256, passages.c.page, passages.c.section_kind,
                   passages.c.language, passages.c.text, passages.c.block_start, passages.c.block_end,
                   documents.c.source, sa.func.coalesce(doc_facets.c.title, documents.c.title).label("title"))
         .select_from(passages.outerjoin(documents, documents.c.sha256 == passages.c.sha256)
                      .outerjoin(doc_facets, doc_facets.c.sha256 == passages.c.sha256)))
    out = {}
    for part in chunks(list(ids)):
        out.update({r["id"]: dict(r) for r in store.rows(q.where(passages.c.id.in_(part)))})
    return out


def match_counts(store: Store, query: Query) -> dict[str, tuple[int, int]]:
    """sha256 → (how many passages match, the first one's id), for the documents that match."""
    if store.dialect == "sqlite":
        q = sa.text("SELECT p.sha256, COUNT(*) AS n, MIN(p.id) AS first FROM passages_fts "
                    "JOIN passages p ON p.id = passages_fts.rowid WHERE passages_fts MATCH :m GROUP BY p.sha256")
        rows = store.execute(q, {"m": fts5_match(query)})
    else:
        q = sa.text("SELECT p.sha256, COUNT(*) AS n, MIN(p.id) AS first FROM passages_fts f "
                    "JOIN passages p ON p.id = f.rowid WHERE f.tsv @@ to_tsquery('simple', :m) GROUP BY p.sha256")
        rows = store.execute(q, {"m": tsquery(query)})
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}
