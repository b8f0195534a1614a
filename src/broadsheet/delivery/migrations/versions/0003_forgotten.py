"""Addresses whose owners asked to be forgotten, as keyed hashes only.

Revision ID: 0003
Revises: 0002
Create Date: 2024-01-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forgotten",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_forgotten"),
        sa.UniqueConstraint("address_hash", name="uq_forgotten_address_hash"),
    )


def downgrade() -> None:
    op.drop_table("forgotten")
