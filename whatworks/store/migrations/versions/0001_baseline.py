"""The schema of whatworks 0.1, before versioning: the baseline every review database starts from.

A 0.1 database is stamped at this revision (its tables exist); a new one is created by it.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Int = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
T, F, B = sa.Text, sa.Float, sa.LargeBinary


def col(name: str, type_, *flags: str, default: str | None = None) -> sa.Column:
    return sa.Column(name, type_, primary_key="pk" in flags, nullable="null" in flags or "pk" in flags,
                     server_default=default)


def table(name: str, *columns: sa.Column, pk: tuple[str, ...] = ()) -> None:
    args = list(columns)
    if pk:
        args.append(sa.PrimaryKeyConstraint(*pk))
    op.create_table(name, *args)


def upgrade() -> None:
    table("meta", col("key", T, "pk"), col("value", T, "null"))
    table("files", col("path", T, "pk"), col("sha256", T, "null"), col("size", Int, "null"),
          col("mtime", F, "null"), col("status", T), col("error_code", T, "null"), col("error", T, "null"),
          col("fix", T, "null"), col("updated_at", F, "null"))
    op.create_index("files_sha", "files", ["sha256"])
    table("documents", col("sha256", T, "pk"), col("source", T), col("format", T), col("title", T, "null"),
          col("language", T, "null"), col("pages", Int, "null"), col("chars", Int, "null"),
          col("ocr", Int, "null", default="0"), col("warnings", T, "null"), col("data", B),
          col("read_seconds", F, "null"), col("added_at", F, "null"))
    table("descriptions", col("sha256", T, "pk"), col("kind", T, "null"), col("data", T),
          col("describe_seconds", F, "null"), col("version", T, "null"), col("updated_at", F, "null"))
    table("items", col("sha256", T), col("idx", Int), col("kind", T), col("text", T), col("page", Int, "null"),
          col("section_kind", T, "null"), col("data", T, "null"), pk=("sha256", "idx"))
    op.create_index("items_kind", "items", ["kind"])
    table("passages", col("id", Int, "pk"), col("sha256", T), col("page", Int, "null"), col("block_start", Int),
          col("block_end", Int), col("section_kind", T, "null"), col("language", T, "null"), col("text", T),
          col("tags", T, "null"))
    op.create_index("passages_sha", "passages", ["sha256"])
    table("doc_facets", col("sha256", T, "pk"), *(col(c, T, "null") for c in ("source", "title", "kind")),
          col("year", Int, "null"), *(col(c, T, "null") for c in ("language", "countries", "regions",
                                                                  "organisation", "evaluation_type", "timing",
                                                                  "evaluator_type")),
          col("passages", Int, "null"), col("described_at", F, "null"), col("indexed_at", F, "null"))
    op.create_index("doc_facets_year", "doc_facets", ["year"])
    op.create_index("doc_facets_kind", "doc_facets", ["kind"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE passages_fts USING fts5(body, tags, content='', "
                   "tokenize='unicode61 remove_diacritics 2')")
    else:
        vector = ("setweight(to_tsvector('simple', coalesce(body, '')), 'A') || "
                  "setweight(to_tsvector('simple', coalesce(tags, '')), 'B')")
        op.execute(f"CREATE TABLE passages_fts (rowid BIGINT PRIMARY KEY, body TEXT, tags TEXT, "
                   f"tsv tsvector GENERATED ALWAYS AS ({vector}) STORED)")
        op.execute("CREATE INDEX passages_fts_tsv ON passages_fts USING GIN (tsv)")

    table("screen_records", col("source", T, "pk"), col("sha256", T, "null"), col("is_primary", Int),
          col("decision", T), col("stage", T), col("duplicate_of", T, "null"), col("quality_score", F, "null"),
          col("reasons", T), col("protocol", T, "null"), col("screened_at", F, "null"))
    op.create_index("screen_records_sha", "screen_records", ["sha256"])
    table("screen_criteria", col("sha256", T), col("criterion", T), col("stage", T), col("decision", T),
          col("reason", T), col("page", Int, "null"), col("evidence", T, "null"), pk=("sha256", "criterion"))
    table("screen_human", col("id", Int, "pk"), col("sha256", T), col("reviewer", T),
          col("role", T, default="reviewer"), col("decision", T), col("reason", T), col("created_at", F))
    op.create_index("screen_human_sha", "screen_human", ["sha256"])
    op.create_table("report_ids", col("sha256", T, "pk"), col("report_id", T), col("series", T),
                    col("number", Int), col("assigned_at", F, "null"), sa.UniqueConstraint("report_id"))
    table("screen_cache", col("sha256", T, "pk"), col("key", T), col("data", B))
    op.execute("CREATE VIEW screen_final AS "
               "SELECT r.source, r.sha256, r.is_primary, r.decision AS machine_decision, r.stage, r.duplicate_of, "
               "r.quality_score, r.reasons, h.decision AS human_decision, h.reviewer AS human_reviewer, "
               "h.role AS human_role, h.reason AS human_reason, h.created_at AS human_at, "
               "COALESCE(h.decision, r.decision) AS decision FROM screen_records r "
               "LEFT JOIN screen_human h ON h.id = (SELECT x.id FROM screen_human x WHERE r.is_primary = 1 "
               "AND x.sha256 = r.sha256 ORDER BY (x.role = 'lead') DESC, x.created_at DESC, x.id DESC LIMIT 1)")

    table("embeddings", col("key", T, "pk"), col("model", T), col("vector", B))
    table("coded_items", col("sha256", T), col("item_key", T), col("idx", Int, "null"), col("fingerprint", T),
          col("language", T, "null"), col("best_score", F, "null"), col("coded_at", F, "null"),
          pk=("sha256", "item_key"))
    table("codes", col("sha256", T), col("item_key", T), col("theme", T), col("engine", T, default="offline"),
          col("score", F), col("keyword_score", F, "null"), col("embedding_score", F, "null"),
          col("triggers", T, "null"), col("method", T), col("quote", T, "null"), col("codebook", T, "null"),
          pk=("sha256", "item_key", "theme", "engine"))
    op.create_index("codes_theme", "codes", ["theme"])
    table("human_codes", col("sha256", T), col("item_key", T), col("theme", T), col("decision", T),
          col("reviewer", T, "null"), col("note", T, "null"), col("quote", T, "null"), col("decided_at", F, "null"),
          pk=("sha256", "item_key", "theme"))
    table("emerging_themes", col("id", Int, "pk"), col("label", T), col("terms", T, "null"), col("size", Int, "null"),
          col("status", T, default="candidate"), col("name", T, "null"), col("reviewer", T, "null"),
          col("cohesion", F, "null"), col("created_at", F, "null"), col("updated_at", F, "null"))
    table("emerging_items", col("theme_id", Int), col("sha256", T), col("item_key", T), col("similarity", F, "null"),
          pk=("theme_id", "sha256", "item_key"))

    table("ws_users", col("name", T, "pk"), col("role", T), col("password_hash", T), col("created_at", F, "null"),
          col("active", Int, default="1"))
    table("ws_sessions", col("token_hash", T, "pk"), col("user_name", T), col("csrf", T), col("created_at", F),
          col("expires_at", F))
    table("ws_screening", col("sha256", T), col("reviewer", T), col("role", T), col("decision", T),
          col("reason", T, "null"), col("machine", T, "null"), col("decided_at", F), pk=("sha256", "reviewer"))
    op.create_index("ws_screening_reviewer", "ws_screening", ["reviewer"])
    table("ws_resolutions", col("sha256", T, "pk"), col("decision", T), col("reason", T, "null"), col("lead", T),
          col("machine", T, "null"), col("resolved_at", F))
    table("ws_coding", col("sha256", T), col("idx", Int), col("reviewer", T), col("role", T), col("themes", T),
          col("machine", T, "null"), col("note", T, "null"), col("decided_at", F), pk=("sha256", "idx", "reviewer"))
    op.create_index("ws_coding_reviewer", "ws_coding", ["reviewer"])
    table("ws_corrections", col("sha256", T), col("target", T), col("key", T), col("value", T, "null"),
          col("machine", T, "null"), col("reason", T, "null"), col("reviewer", T), col("corrected_at", F),
          pk=("sha256", "target", "key"))
    table("ws_audit", col("id", Int, "pk"), col("at", F), col("user_name", T), col("action", T),
          col("target", T, "null"), col("before", T, "null"), col("after", T, "null"))
    op.create_index("ws_audit_at", "ws_audit", ["at"])
    op.create_index("ws_audit_user", "ws_audit", ["user_name", "id"])
    op.create_index("ws_documents_listing", "documents", ["source", "sha256", "format", "pages", "language", "title"])
    op.create_index("ws_descriptions_kind", "descriptions", ["sha256", "kind"])
    op.create_index("ws_facets_listing", "doc_facets", ["sha256", "title", "kind", "year", "language", "countries"])
    op.create_index("ws_screen_records_listing", "screen_records", ["sha256", "is_primary", "decision"])
    op.create_index("ws_screen_records_final", "screen_records", ["is_primary", "source", "sha256", "decision"])
