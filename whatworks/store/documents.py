"""Files, documents, descriptions and items: what collect reads and describe finds.

`items` holds each document's items as the later stages see them: the description's items with
reviewers' corrections applied (whatworks.corrections builds that list; this module only stores
it). Machine items keep their index; items a reviewer added are numbered from ADDED_ITEM_BASE.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from whatworks.model import Description, Document, Item
from whatworks.store.base import Int, Store, chunks, metadata

files = sa.Table(
    "files", metadata,
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("sha256", sa.Text, index=True),
    sa.Column("size", Int),
    sa.Column("mtime", sa.Float),
    sa.Column("status", sa.Text, nullable=False),  # read | failed
    sa.Column("error_code", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("fix", sa.Text),
    sa.Column("updated_at", sa.Float),
)

documents = sa.Table(
    "documents", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("language", sa.Text),
    sa.Column("pages", Int),
    sa.Column("chars", Int),
    sa.Column("ocr", Int, server_default="0"),
    sa.Column("warnings", sa.Text),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("read_seconds", sa.Float),
    sa.Column("added_at", sa.Float),
)

descriptions = sa.Table(
    "descriptions", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("describe_seconds", sa.Float),
    sa.Column("version", sa.Text),
    sa.Column("updated_at", sa.Float),
)

items = sa.Table(
    "items", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("idx", Int, primary_key=True),
    sa.Column("item_key", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("page", Int),
    sa.Column("section_kind", sa.Text),
    sa.Column("data", sa.Text),
)

sa.Index("documents_listing", documents.c.source, documents.c.sha256, documents.c.format, documents.c.pages,
         documents.c.language, documents.c.title)
sa.Index("descriptions_kind", descriptions.c.sha256, descriptions.c.kind)

#: Items a reviewer adds are numbered from here up (the machine's are 0, 1, …), so an added item
#: keeps its number whatever a re-run of describe finds.
ADDED_ITEM_BASE = 100_000
#: A corrected item the machine no longer finds is kept as the reviewer's, at this base + its number.
ORPHAN_ITEM_BASE = 200_000

SUMMARY = (documents.c.sha256, documents.c.source, documents.c.format, documents.c.title,
           documents.c.language, documents.c.pages, documents.c.chars, documents.c.ocr, documents.c.warnings)


def item_key(text: str) -> str:
    """An item's identity across re-runs: a hash of its text with spaces normalised (codes and
    reviewers' decisions follow the text, not the item's position)."""
    text = text.replace("\ufffe", "").replace("\u00ad", "")
    return hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


# --- files -----------------------------------------------------------------------------------

def file_unchanged(store: Store, path: str, size: int, mtime: float) -> bool:
    row = store.first(sa.select(files.c.size, files.c.mtime, files.c.status).where(files.c.path == path))
    return bool(row and row["size"] == size and row["mtime"] == mtime and row["status"] == "read")


def file_described(store: Store, path: str, version: str) -> bool:
    """Whether the file at `path` was read and described by describe `version`."""
    q = (sa.select(sa.literal(1)).select_from(files.join(descriptions, descriptions.c.sha256 == files.c.sha256))
         .where(files.c.path == path, descriptions.c.version == version))
    return store.scalar(q) is not None


def record_file(store: Store, path: str, sha256: str | None, size: int, mtime: float, status: str,
                error_code: str | None = None, error: str | None = None, fix: str | None = None) -> None:
    store.upsert(files, {"path": path, "sha256": sha256, "size": size, "mtime": mtime, "status": status,
                         "error_code": error_code, "error": error, "fix": fix, "updated_at": time.time()})


def file_rows(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    q = sa.select(files).order_by(files.c.path)
    if status:
        q = q.where(files.c.status == status)
    return [dict(r) for r in store.rows(q)]


def find_document(store: Store, ref: str) -> list[str]:
    """The sha256s `ref` may name: a whole sha256, its start (6+ characters), or a file path
    (whole, or its end)."""
    ref = ref.strip()
    if not ref:
        return []
    by_path = store.scalars(sa.select(files.c.sha256).where(files.c.path == ref, files.c.sha256.isnot(None)))
    if by_path:
        return sorted(set(by_path))
    if len(ref) >= 6 and all(c in "0123456789abcdef" for c in ref.lower()):
        found = store.scalars(sa.select(documents.c.sha256).where(documents.c.sha256.like(ref.lower() + "%")))
        if found:
            return sorted(found)
    tail = "%" + _escape_like(ref)
    for pattern in (tail, tail + ".%"):  # the path's end, with or without its extension
        found = store.scalars(sa.select(files.c.sha256).where(files.c.path.like(pattern, escape="\\"),
                                                              files.c.sha256.isnot(None)))
        if found:
            return sorted(set(found))
    return []


def file_paths_under(store: Store, prefix: str) -> list[str]:
    """The file rows whose path starts with `prefix` (the records read from one database export)."""
    return store.scalars(sa.select(files.c.path).where(files.c.path.like(_escape_like(prefix) + "%", escape="\\")))


def forget_files(store: Store, paths: Sequence[str]) -> None:
    """Drop file rows (records an export no longer holds); their documents stay, unreferenced."""
    for part in chunks(list(paths)):
        store.execute(sa.delete(files).where(files.c.path.in_(part)))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- documents --------------------------------------------------------------------------------

def has_document(store: Store, sha256: str) -> bool:
    return store.scalar(sa.select(documents.c.sha256).where(documents.c.sha256 == sha256)) is not None


def described(store: Store, sha256: str, version: str) -> bool:
    q = sa.select(descriptions.c.sha256).where(descriptions.c.sha256 == sha256, descriptions.c.version == version)
    return store.scalar(q) is not None


def save_document(store: Store, document: Document, read_seconds: float | None = None,
                  packed: bytes | None = None) -> None:
    """Store a document; `packed` is its `pack()` when the caller has it already."""
    store.upsert(documents, {
        "sha256": document.sha256, "source": document.source, "format": document.format,
        "title": document.title, "language": document.language, "pages": len(document.pages),
        "chars": len(document.text), "ocr": int(document.ocr), "warnings": json.dumps(document.warnings),
        "data": packed or document.pack(), "read_seconds": read_seconds, "added_at": time.time()},
        update=["source", "format", "title", "language", "pages", "chars", "ocr", "warnings", "data",
                "read_seconds"])


def document(store: Store, sha256: str) -> Document:
    data = store.scalar(sa.select(documents.c.data).where(documents.c.sha256 == sha256))
    if data is None:
        raise KeyError(sha256)
    return Document.unpack(data)


def document_rows(store: Store, shas: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every document's summary (no body), in the order of their paths."""
    q = sa.select(*SUMMARY).order_by(documents.c.source)
    if shas is None:
        return [dict(r) for r in store.rows(q)]
    out = []
    for part in chunks(list(shas)):
        out += [dict(r) for r in store.rows(q.where(documents.c.sha256.in_(part)))]
    return sorted(out, key=lambda r: r["source"])


def document_row(store: Store, sha256: str) -> dict[str, Any] | None:
    row = store.first(sa.select(*SUMMARY).where(documents.c.sha256 == sha256))
    return dict(row) if row else None


def count_documents(store: Store) -> int:
    return store.scalar(sa.select(sa.func.count()).select_from(documents)) or 0


def languages(store: Store) -> list[str]:
    q = sa.select(documents.c.language).where(documents.c.language.isnot(None)).distinct()
    return sorted(store.scalars(q))


# --- descriptions ------------------------------------------------------------------------------

def save_description(store: Store, sha256: str, description: Description, seconds: float | None = None,
                     version: str = "") -> None:
    store.upsert(descriptions, {
        "sha256": sha256, "kind": description.kind.value,
        "data": json.dumps(description.to_dict(), ensure_ascii=False), "describe_seconds": seconds,
        "version": version, "updated_at": time.time()})


def description(store: Store, sha256: str) -> Description | None:
    """The machine's description (what describe found), without reviewers' corrections."""
    data = store.scalar(sa.select(descriptions.c.data).where(descriptions.c.sha256 == sha256))
    return Description.from_dict(json.loads(data)) if data is not None else None


def description_dicts(store: Store, shas: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """sha256 → the machine's description as a dict (`Description.to_dict`)."""
    q = sa.select(descriptions.c.sha256, descriptions.c.data)
    if shas is None:
        return {r["sha256"]: json.loads(r["data"]) for r in store.rows(q)}
    out = {}
    for part in chunks(list(shas)):
        out.update({r["sha256"]: json.loads(r["data"]) for r in store.rows(q.where(descriptions.c.sha256.in_(part)))})
    return out


def description_stamps(store: Store) -> dict[str, dict[str, Any]]:
    """sha256 → {kind, updated_at, version} of every description (cheap: no bodies)."""
    q = sa.select(descriptions.c.sha256, descriptions.c.kind, descriptions.c.updated_at, descriptions.c.version)
    return {r["sha256"]: dict(r) for r in store.rows(q)}


def described_at(store: Store, sha256: str) -> float | None:
    return store.scalar(sa.select(descriptions.c.updated_at).where(descriptions.c.sha256 == sha256))


def kinds(store: Store) -> list[str]:
    q = sa.select(descriptions.c.kind).where(descriptions.c.kind.isnot(None)).distinct()
    return sorted(store.scalars(q))


def count_descriptions(store: Store) -> int:
    return store.scalar(sa.select(sa.func.count()).select_from(descriptions)) or 0


# --- items ----------------------------------------------------------------------------------------

def write_items(store: Store, sha256: str, rows: Sequence[tuple[int, Item, str | None]]) -> None:
    """Replace one document's items: (index, item, section kind) each."""
    with store.transaction():
        store.execute(items.delete().where(items.c.sha256 == sha256))
        store.insert(items, [
            {"sha256": sha256, "idx": idx, "item_key": item_key(item.text), "kind": item.kind, "text": item.text,
             "page": item.page, "section_kind": section,
             "data": json.dumps(item.to_dict(), ensure_ascii=False)}
            for idx, item, section in rows])


def item_rows(store: Store, shas: Sequence[str] | None = None, *, sha256: str | None = None,
              idx: int | None = None) -> list[dict[str, Any]]:
    """Items (sha256, idx, item_key, kind, text, page, section_kind, data), by document and index."""
    q = sa.select(items).order_by(items.c.sha256, items.c.idx)
    if sha256 is not None:
        q = q.where(items.c.sha256 == sha256)
    if idx is not None:
        q = q.where(items.c.idx == idx)
    if shas is None:
        return [dict(r) for r in store.rows(q)]
    out: list[dict[str, Any]] = []
    for part in chunks(list(shas)):
        out += [dict(r) for r in store.rows(q.where(items.c.sha256.in_(part)))]
    return sorted(out, key=lambda r: (r["sha256"], r["idx"]))


def item_counts(store: Store, shas: Sequence[str] | None = None) -> dict[str, int]:
    q = sa.select(items.c.sha256, sa.func.count()).group_by(items.c.sha256)
    if shas is None:
        return {r[0]: r[1] for r in store.execute(q)}
    out = {}
    for part in chunks(list(shas)):
        out.update({r[0]: r[1] for r in store.execute(q.where(items.c.sha256.in_(part)))})
    return out


def shas_with_items(store: Store) -> list[str]:
    return store.scalars(sa.select(items.c.sha256).distinct().order_by(items.c.sha256))
