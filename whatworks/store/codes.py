"""Coding: the machine's codes, the people's code decisions, embeddings and emerging themes.

`coded_items` and `codes` are the machine's (per item: polarity, whether it is evidence at all,
and one row per theme and engine). `code_decisions` is the one table of human coding decisions —
one row per item and person, the person's whole answer for the item (themes, polarity, not
evidence) — written by `whatworks code` decisions and the workspace alike; it keeps the item's
text, so a review's decisions stay training data even after the report is described again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from whatworks.store.base import Int, Store, chunks, metadata

embeddings = sa.Table(
    "embeddings", metadata,
    sa.Column("key", sa.Text, primary_key=True),  # sha1 of model + text
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),  # float16, L2-normalised
)

coded_items = sa.Table(
    "coded_items", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("item_key", sa.Text, primary_key=True),
    sa.Column("idx", Int),
    sa.Column("fingerprint", sa.Text, nullable=False),  # codebook + coder version it was coded with
    sa.Column("language", sa.Text),
    sa.Column("best_score", sa.Float),  # highest theme score, codes or not (low: fits no theme)
    sa.Column("polarity", sa.Text),  # positive | negative | neutral | mixed
    sa.Column("polarity_score", sa.Float),
    sa.Column("not_evidence", Int, server_default="0"),
    sa.Column("uncertainty", sa.Float),  # how unsure the coder is (the queue serves the highest first)
    sa.Column("sentences", sa.Text),  # JSON: per-sentence polarity where an item mixes both
    sa.Column("coded_at", sa.Float),
)

codes = sa.Table(
    "codes", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("item_key", sa.Text, primary_key=True),
    sa.Column("theme", sa.Text, primary_key=True, index=True),
    sa.Column("engine", sa.Text, primary_key=True, server_default="offline"),  # offline | llm
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("keyword_score", sa.Float),
    sa.Column("embedding_score", sa.Float),
    sa.Column("triggers", sa.Text),  # JSON list of the words that triggered it
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("quote", sa.Text),  # the sentence of the item that best supports it
    sa.Column("codebook", sa.Text),
)

code_decisions = sa.Table(
    "code_decisions", metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("item_key", sa.Text, primary_key=True),
    sa.Column("reviewer", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("idx", Int),
    sa.Column("themes", sa.Text, nullable=False),  # JSON list: the person's themes for the item
    sa.Column("polarity", sa.Text),  # None: the machine's stands
    sa.Column("not_evidence", Int),  # None: the machine's stands
    sa.Column("machine", sa.Text),  # JSON list: the machine's themes when the person decided
    sa.Column("note", sa.Text),
    sa.Column("text", sa.Text),  # the item's text when decided (training data that outlives re-runs)
    sa.Column("decided_at", sa.Float, nullable=False),
)
sa.Index("code_decisions_reviewer", code_decisions.c.reviewer)

emerging_themes = sa.Table(
    "emerging_themes", metadata,
    sa.Column("id", Int, primary_key=True, autoincrement=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("terms", sa.Text),  # JSON list of top terms
    sa.Column("size", Int),
    sa.Column("status", sa.Text, nullable=False, server_default="candidate"),  # candidate | named | dismissed | promoted
    sa.Column("name", sa.Text),
    sa.Column("reviewer", sa.Text),
    sa.Column("cohesion", sa.Float),
    sa.Column("created_at", sa.Float),
    sa.Column("updated_at", sa.Float),
)

emerging_items = sa.Table(
    "emerging_items", metadata,
    sa.Column("theme_id", Int, primary_key=True),
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("item_key", sa.Text, primary_key=True),
    sa.Column("similarity", sa.Float),
)


# --- embeddings cache ----------------------------------------------------------------------------

def cached_vectors(store: Store, keys: Sequence[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for part in chunks(list(keys)):
        out.update({r[0]: r[1] for r in store.execute(sa.select(embeddings.c.key, embeddings.c.vector)
                                                      .where(embeddings.c.key.in_(part)))})
    return out


def cache_vectors(store: Store, rows: Sequence[tuple[str, str, bytes]]) -> None:
    """(key, model, vector) each; a key already cached is left as it is."""
    with store.transaction():
        for part in chunks(list(rows), 1000):
            store.upsert(embeddings, [{"key": k, "model": m, "vector": v} for k, m, v in part], ignore=True)


# --- machine codes ---------------------------------------------------------------------------------

def coded_keys(store: Store, fingerprint: str | None = None, sha256: str | None = None) -> set[tuple[str, str]]:
    q = sa.select(coded_items.c.sha256, coded_items.c.item_key)
    if fingerprint is not None:
        q = q.where(coded_items.c.fingerprint == fingerprint)
    if sha256 is not None:
        q = q.where(coded_items.c.sha256 == sha256)
    return {(r[0], r[1]) for r in store.execute(q)}


def drop_codes(store: Store, keys: Iterable[tuple[str, str]]) -> None:
    """Forget the machine's coding of these (sha256, item key) items."""
    with store.transaction():
        for sha, key in keys:
            store.execute(codes.delete().where(codes.c.sha256 == sha, codes.c.item_key == key))
            store.execute(coded_items.delete().where(coded_items.c.sha256 == sha, coded_items.c.item_key == key))


def save_codes(store: Store, item_rows: Sequence[dict[str, Any]], code_rows: Sequence[dict[str, Any]],
               engines: Sequence[str] | None = None) -> None:
    """Replace the machine's coding of the items in `item_rows` (coded_items columns) with
    `code_rows` (codes columns); `engines`: only these engines' codes are replaced."""
    with store.transaction():
        for r in item_rows:
            q = codes.delete().where(codes.c.sha256 == r["sha256"], codes.c.item_key == r["item_key"])
            if engines is not None:
                q = q.where(codes.c.engine.in_(list(engines)))
            store.execute(q)
        store.upsert(codes, list(code_rows))
        store.upsert(coded_items, list(item_rows))


def coded_item_rows(store: Store, shas: Sequence[str] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """(sha256, item key) → the machine's per-item result."""
    q = sa.select(coded_items)
    if shas is None:
        return {(r["sha256"], r["item_key"]): dict(r) for r in store.rows(q)}
    out = {}
    for part in chunks(list(shas)):
        out.update({(r["sha256"], r["item_key"]): dict(r)
                    for r in store.rows(q.where(coded_items.c.sha256.in_(part)))})
    return out


def code_rows(store: Store, shas: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The machine's codes, the coder's before a language model's, best score first within an item."""
    q = sa.select(codes).order_by(codes.c.sha256, codes.c.item_key, codes.c.engine.desc(), codes.c.score.desc())
    if shas is None:
        return [dict(r) for r in store.rows(q)]
    out: list[dict[str, Any]] = []
    for part in chunks(list(shas)):
        out += [dict(r) for r in store.rows(q.where(codes.c.sha256.in_(part)))]
    return out


def keys_with_codes(store: Store, shas: Sequence[str]) -> set[tuple[str, str]]:
    """(sha256, item key) of every item of `shas` the machine coded with at least one theme."""
    q = sa.select(codes.c.sha256, codes.c.item_key).distinct()
    out: set[tuple[str, str]] = set()
    for part in chunks(list(shas)):
        out.update((r["sha256"], r["item_key"]) for r in store.rows(q.where(codes.c.sha256.in_(part))))
    return out


def count_uncoded(store: Store, shas: Sequence[str]) -> int:
    """Items of `shas` coded with no theme at all."""
    n = 0
    for part in chunks(list(shas)):
        sub = sa.select(codes.c.sha256).where(codes.c.sha256 == coded_items.c.sha256,
                                              codes.c.item_key == coded_items.c.item_key)
        q = sa.select(sa.func.count()).select_from(coded_items).where(coded_items.c.sha256.in_(part),
                                                                      ~sa.exists(sub))
        n += store.scalar(q) or 0
    return n


def least_sure(store: Store, reviewer: str, shas: Sequence[str]) -> dict[str, float]:
    """sha256 → the coder's highest uncertainty over the report's items `reviewer` has not answered
    (reports with no such item left out)."""
    cd = code_decisions
    answered = sa.select(cd.c.sha256).where(cd.c.sha256 == coded_items.c.sha256, cd.c.item_key == coded_items.c.item_key,
                                            cd.c.reviewer == reviewer)
    q = (sa.select(coded_items.c.sha256, sa.func.max(sa.func.coalesce(coded_items.c.uncertainty, 0.0)))
         .where(~sa.exists(answered)).group_by(coded_items.c.sha256))
    out: dict[str, float] = {}
    for part in chunks(list(shas)):
        out.update({r[0]: float(r[1]) for r in store.execute(q.where(coded_items.c.sha256.in_(part)))})
    return out


def theme_counts(store: Store) -> dict[tuple[str, str], int]:
    """(sha256, theme) → how many of the document's items the machine coded with it."""
    q = sa.select(codes.c.sha256, codes.c.theme, sa.func.count()).group_by(codes.c.sha256, codes.c.theme)
    return {(r[0], r[1]): r[2] for r in store.execute(q)}


# --- people's code decisions --------------------------------------------------------------------

def save_code_decision(store: Store, *, sha256: str, item_key: str, reviewer: str, role: str, idx: int | None,
                       themes: Iterable[str], machine: Iterable[str], text: str | None,
                       polarity: str | None = None, not_evidence: bool | None = None, note: str = "") -> None:
    store.upsert(code_decisions, {
        "sha256": sha256, "item_key": item_key, "reviewer": reviewer, "role": role, "idx": idx,
        "themes": json.dumps(sorted(set(themes))), "polarity": polarity,
        "not_evidence": None if not_evidence is None else int(not_evidence),
        "machine": json.dumps(sorted(set(machine))), "note": note, "text": text, "decided_at": time.time()})


def code_decision_rows(store: Store, sha256: str | None = None, item_key: str | None = None,
                       reviewer: str | None = None) -> list[dict[str, Any]]:
    """People's code decisions, oldest first, `themes` and `machine` decoded."""
    q = sa.select(code_decisions).order_by(code_decisions.c.decided_at)
    if sha256 is not None:
        q = q.where(code_decisions.c.sha256 == sha256)
    if item_key is not None:
        q = q.where(code_decisions.c.item_key == item_key)
    if reviewer is not None:
        q = q.where(code_decisions.c.reviewer == reviewer)
    out = []
    for r in store.rows(q):
        d = dict(r)
        d["themes"] = json.loads(d["themes"] or "[]")
        d["machine"] = json.loads(d["machine"] or "[]")
        d["not_evidence"] = None if d["not_evidence"] is None else bool(d["not_evidence"])
        out.append(d)
    return out


def code_decisions_stamp(store: Store) -> tuple:
    row = store.first(sa.select(sa.func.count(), sa.func.max(code_decisions.c.decided_at)))
    return tuple(row.values()) if row else ()


# --- emerging themes ------------------------------------------------------------------------------

def emerging_rows(store: Store) -> list[dict[str, Any]]:
    q = sa.select(emerging_themes).order_by(emerging_themes.c.size.desc(), emerging_themes.c.id)
    return [dict(r) for r in store.rows(q)]


def emerging_members(store: Store, theme_id: int | None = None) -> list[dict[str, Any]]:
    q = sa.select(emerging_items).order_by(emerging_items.c.theme_id, emerging_items.c.similarity.desc())
    if theme_id is not None:
        q = q.where(emerging_items.c.theme_id == theme_id)
    return [dict(r) for r in store.rows(q)]


def save_emerging(store: Store, theme_id: int | None, fields: dict[str, Any],
                  members: Sequence[tuple[str, str, float]]) -> int:
    """Create (theme_id None) or update a candidate theme and replace its items."""
    with store.transaction():
        if theme_id is None:
            theme_id = store.execute(emerging_themes.insert().values(**fields)).inserted_primary_key[0]
        else:
            store.execute(emerging_themes.update().where(emerging_themes.c.id == theme_id).values(**fields))
            store.execute(emerging_items.delete().where(emerging_items.c.theme_id == theme_id))
        store.upsert(emerging_items, [{"theme_id": theme_id, "sha256": s, "item_key": k, "similarity": sim}
                                      for s, k, sim in members])
    return int(theme_id)


def delete_emerging(store: Store, theme_id: int) -> None:
    with store.transaction():
        store.execute(emerging_items.delete().where(emerging_items.c.theme_id == theme_id))
        store.execute(emerging_themes.delete().where(emerging_themes.c.id == theme_id))


def set_emerging_status(store: Store, theme_id: int, status: str, reviewer: str, name: str | None = None) -> bool:
    values: dict[str, Any] = {"status": status, "reviewer": reviewer, "updated_at": time.time()}
    if name is not None:
        values["name"] = name
    result = store.execute(emerging_themes.update().where(emerging_themes.c.id == theme_id).values(**values))
    return bool(result.rowcount)


def max_decided_idx(store: Store, sha256: str, lo: int, hi: int) -> int | None:
    """The highest item number in [lo, hi) a person's code decision refers to, in one document."""
    q = sa.select(sa.func.max(code_decisions.c.idx)).where(
        code_decisions.c.sha256 == sha256, code_decisions.c.idx >= lo, code_decisions.c.idx < hi)
    return store.scalar(q)
