"""Double opt-in sign-ups: when the confirmation went out, and when and how the subscriber consented.

Revision ID: 0004
Revises: 0003
Create Date: 2024-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("confirmation_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("consent_source", sa.String(50), nullable=True))


def downgrade() -> None:
    # Dropped in place: copying the table, as batch mode otherwise does on SQLite, would delete every subscriber
    # once, and with them (ON DELETE CASCADE) every ledger row and event.
    with op.batch_alter_table("subscribers", recreate="never") as batch:
        batch.drop_column("consent_source")
        batch.drop_column("consented_at")
        batch.drop_column("confirmation_sent_at")
