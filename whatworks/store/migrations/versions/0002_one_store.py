"""One store: one human-decision table per stage, the workspace's tables named for what they hold.

- `screening_decisions` replaces `ws_screening` and `screen_human` (a CLI decision was written to
  the second only: it gets its audit line now); `screening_resolutions` replaces `ws_resolutions`.
- `code_decisions` replaces `ws_coding` and `human_codes`: one row per item and person with their
  whole answer (themes, polarity, not evidence) and the item's text.
- `users`, `sessions`, `audit` (with a `reason`), `corrections` replace the `ws_` tables;
  `login_failures` keeps the login throttle across restarts.
- `items` gain their key (a hash of the text), `screen_criteria` their order, `coded_items` the
  coder's polarity, not-evidence flag and uncertainty; the `screen_final` view goes (its rule now
  lives in whatworks.store.selection, where conflicts stay conflicts).

Revision ID: 0002
Revises: 0001
"""

import hashlib
import json
import time

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Int = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _item_key(text: str) -> str:
    # frozen copy of whatworks.store.documents.item_key as of this revision
    text = (text or "").replace("\ufffe", "").replace("\u00ad", "")
    return hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


def _rows(sql: str, **params) -> list:
    return list(op.get_bind().execute(sa.text(sql), params).mappings())


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.execute("DROP VIEW IF EXISTS screen_final")

    # --- accounts, audit, corrections: the ws_ tables renamed ---------------------------------
    for old, new in (("ws_users", "users"), ("ws_sessions", "sessions"), ("ws_audit", "audit"),
                     ("ws_corrections", "corrections")):
        op.rename_table(old, new)
    op.add_column("audit", sa.Column("reason", sa.Text))
    for index in ("ws_audit_at", "ws_audit_user", "ws_documents_listing", "ws_descriptions_kind",
                  "ws_facets_listing", "ws_screen_records_listing", "ws_screen_records_final",
                  "ws_facets_title", "files_sha", "items_kind", "passages_sha", "doc_facets_year", "doc_facets_kind",
                  "screen_records_sha", "codes_theme"):
        op.execute(f"DROP INDEX IF EXISTS {index}")
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("audit_user", "audit", ["user_name", "id"])
    op.create_index("ix_files_sha256", "files", ["sha256"])
    op.create_index("ix_passages_sha256", "passages", ["sha256"])
    op.create_index("ix_doc_facets_year", "doc_facets", ["year"])
    op.create_index("ix_doc_facets_kind", "doc_facets", ["kind"])
    op.create_index("ix_screen_records_sha256", "screen_records", ["sha256"])
    op.create_index("ix_codes_theme", "codes", ["theme"])
    op.create_index("documents_listing", "documents", ["source", "sha256", "format", "pages", "language", "title"])
    op.create_index("descriptions_kind", "descriptions", ["sha256", "kind"])
    op.create_index("facets_listing", "doc_facets", ["sha256", "title", "kind", "year", "language", "countries"])
    op.create_index("screen_records_listing", "screen_records", ["sha256", "is_primary", "decision"])
    op.create_index("screen_records_final", "screen_records", ["is_primary", "source", "sha256", "decision"])
    op.create_table("login_failures", sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("failures", Int, nullable=False), sa.Column("first_at", sa.Float, nullable=False),
                    sa.Column("locked_until", sa.Float))

    # --- items: their key -----------------------------------------------------------------------
    op.add_column("items", sa.Column("item_key", sa.Text, nullable=False, server_default=""))
    keys = [{"s": r["sha256"], "i": r["idx"], "k": _item_key(r["text"])}
            for r in _rows("SELECT sha256, idx, text FROM items")]
    if keys:
        bind.execute(sa.text("UPDATE items SET item_key = :k WHERE sha256 = :s AND idx = :i"), keys)
    op.create_index("ix_items_item_key", "items", ["item_key"])
    op.create_index("ix_items_kind", "items", ["kind"])

    # --- screening: one decision table ----------------------------------------------------------
    op.add_column("screen_criteria", sa.Column("position", Int))
    if sqlite:
        op.execute("UPDATE screen_criteria SET position = rowid")
    op.create_table(
        "screening_decisions", sa.Column("sha256", sa.Text, primary_key=True),
        sa.Column("reviewer", sa.Text, primary_key=True), sa.Column("role", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=False), sa.Column("reason", sa.Text), sa.Column("machine", sa.Text),
        sa.Column("decided_at", sa.Float, nullable=False))
    op.create_index("screening_decisions_reviewer", "screening_decisions", ["reviewer"])
    op.execute("INSERT INTO screening_decisions(sha256, reviewer, role, decision, reason, machine, decided_at) "
               "SELECT sha256, reviewer, role, decision, reason, machine, decided_at FROM ws_screening")
    have = {(r["sha256"], r["reviewer"]) for r in _rows("SELECT sha256, reviewer FROM screening_decisions")}
    latest: dict[tuple[str, str], dict] = {}
    for r in _rows("SELECT * FROM screen_human ORDER BY created_at, id"):
        latest[(r["sha256"], r["reviewer"])] = dict(r)
    cli = [r for k, r in latest.items() if k not in have]
    if cli:
        bind.execute(sa.text("INSERT INTO screening_decisions(sha256, reviewer, role, decision, reason, machine, "
                             "decided_at) VALUES (:sha256, :reviewer, :role, :decision, :reason, NULL, :created_at)"),
                     cli)
        bind.execute(sa.text("INSERT INTO audit(at, user_name, action, target, before, after, reason) "
                             "VALUES (:at, :user, 'screen', :target, NULL, :after, :reason)"),
                     [{"at": r["created_at"], "user": r["reviewer"], "target": f"document:{r['sha256']}",
                       "after": json.dumps({"decision": r["decision"], "reason": r["reason"], "machine": None},
                                           sort_keys=True),
                       "reason": r["reason"]} for r in cli])
    op.rename_table("ws_resolutions", "screening_resolutions")
    op.drop_table("ws_screening")
    op.drop_table("screen_human")

    # --- coding: one decision table ---------------------------------------------------------------
    op.create_table(
        "code_decisions", sa.Column("sha256", sa.Text, primary_key=True),
        sa.Column("item_key", sa.Text, primary_key=True), sa.Column("reviewer", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, nullable=False), sa.Column("idx", Int), sa.Column("themes", sa.Text, nullable=False),
        sa.Column("polarity", sa.Text), sa.Column("not_evidence", Int), sa.Column("machine", sa.Text),
        sa.Column("note", sa.Text), sa.Column("text", sa.Text), sa.Column("decided_at", sa.Float, nullable=False))
    op.create_index("code_decisions_reviewer", "code_decisions", ["reviewer"])
    texts = {(r["sha256"], r["idx"]): r["text"] for r in _rows("SELECT sha256, idx, text FROM items")}
    rows: dict[tuple[str, str, str], dict] = {}
    for r in _rows("SELECT * FROM ws_coding ORDER BY decided_at"):
        text = texts.get((r["sha256"], r["idx"]))
        if text is None:
            continue
        key = _item_key(text)
        rows[(r["sha256"], key, r["reviewer"])] = {
            "sha256": r["sha256"], "item_key": key, "reviewer": r["reviewer"], "role": r["role"], "idx": r["idx"],
            "themes": r["themes"], "machine": r["machine"], "note": r["note"], "text": text,
            "decided_at": r["decided_at"]}
    machine: dict[tuple[str, str], set[str]] = {}
    for r in _rows("SELECT sha256, item_key, theme FROM codes"):
        machine.setdefault((r["sha256"], r["item_key"]), set()).add(r["theme"])
    by_key = {(s, _item_key(t)): (i, t) for (s, i), t in texts.items()}
    per: dict[tuple[str, str, str], list] = {}
    for r in _rows("SELECT * FROM human_codes ORDER BY decided_at"):
        per.setdefault((r["sha256"], r["item_key"], r["reviewer"] or "cli"), []).append(r)
    for (sha, key, reviewer), decisions in per.items():
        if (sha, key, reviewer) in rows:
            continue
        themes = set(machine.get((sha, key), set()))
        for d in decisions:
            if d["decision"] == "reject":
                themes.discard(d["theme"])
            else:
                themes.add(d["theme"])
        idx, text = by_key.get((sha, key), (None, None))
        rows[(sha, key, reviewer)] = {
            "sha256": sha, "item_key": key, "reviewer": reviewer, "role": "lead", "idx": idx,
            "themes": json.dumps(sorted(themes)), "machine": json.dumps(sorted(machine.get((sha, key), set()))),
            "note": decisions[-1]["note"], "text": text, "decided_at": decisions[-1]["decided_at"] or time.time()}
    if rows:
        bind.execute(sa.text("INSERT INTO code_decisions(sha256, item_key, reviewer, role, idx, themes, polarity, "
                             "not_evidence, machine, note, text, decided_at) VALUES (:sha256, :item_key, :reviewer, "
                             ":role, :idx, :themes, NULL, NULL, :machine, :note, :text, :decided_at)"),
                     list(rows.values()))
    op.drop_table("ws_coding")
    op.drop_table("human_codes")
    for name, type_ in (("polarity", sa.Text), ("polarity_score", sa.Float), ("not_evidence", Int),
                        ("uncertainty", sa.Float), ("sentences", sa.Text)):
        op.add_column("coded_items", sa.Column(name, type_, server_default="0" if name == "not_evidence" else None))
