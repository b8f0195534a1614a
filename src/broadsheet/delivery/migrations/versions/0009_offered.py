"""The URLs `broadsheet collect` offered for each issue, so that one the editor deleted is not offered again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offered",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue", sa.String(10), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_offered"),
        sa.UniqueConstraint("issue", "url", name="uq_offered_issue_url"),
    )


def downgrade() -> None:
    op.drop_table("offered")
