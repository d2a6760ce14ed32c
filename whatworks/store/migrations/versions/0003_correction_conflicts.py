"""Contested corrections: a reviewer's value for a field another person corrected differently,
kept (not written over the standing correction) until a lead settles it.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correction_conflicts",
        sa.Column("sha256", sa.Text, primary_key=True),
        sa.Column("target", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("reviewer", sa.Text, primary_key=True),
        sa.Column("value", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("correction_conflicts")
