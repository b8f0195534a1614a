"""The text a subscriber consented to; a forgotten subscriber's ledger rows and events kept under an anonymous id.

Revision ID: 0005
Revises: 0004
Create Date: 2024-03-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("consent_text", sa.Text(), nullable=True))
    for table in ("ledger", "events"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("anonymous_id", sa.String(36), nullable=True))
            batch.alter_column("subscriber_id", existing_type=sa.Integer(), nullable=True)
            batch.drop_constraint(f"fk_{table}_subscriber_id_subscribers", type_="foreignkey")
            batch.create_foreign_key(
                f"fk_{table}_subscriber_id_subscribers",
                "subscribers",
                ["subscriber_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    # Rows kept for forgotten subscribers have nobody to point to: they go, as before this revision.
    op.execute(sa.text("DELETE FROM ledger WHERE subscriber_id IS NULL"))
    op.execute(sa.text("DELETE FROM events WHERE subscriber_id IS NULL AND anonymous_id IS NOT NULL"))
    for table in ("events", "ledger"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_subscriber_id_subscribers", type_="foreignkey")
            batch.create_foreign_key(
                f"fk_{table}_subscriber_id_subscribers",
                "subscribers",
                ["subscriber_id"],
                ["id"],
                ondelete="CASCADE",
            )
            if table == "ledger":
                batch.alter_column("subscriber_id", existing_type=sa.Integer(), nullable=False)
            batch.drop_column("anonymous_id")
    # Dropped in place: copying the table, as batch mode otherwise does on SQLite, would delete every subscriber
    # once, and with them (ON DELETE CASCADE again) every ledger row and event.
    with op.batch_alter_table("subscribers", recreate="never") as batch:
        batch.drop_column("consent_text")
