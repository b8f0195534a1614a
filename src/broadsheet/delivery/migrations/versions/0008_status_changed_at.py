"""Each subscriber records when their status last changed, so that an old SendGrid event (one replayed, or
from before they signed up again) changes nothing.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: making it NOT NULL would make SQLite copy the table, and dropping the old one sets every
    # ledger row's and event's subscriber to NULL (ON DELETE SET NULL). The store always sets it.
    with op.batch_alter_table("subscribers", recreate="never") as batch:
        batch.add_column(sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True))
    # The best time known of each one's last change of status: for a subscriber active by the web form, their
    # confirmation (when they consented); for another active one, when they were added; for the others, their
    # record's last change, at or after their leaving. Only an active subscriber changes on an event, and for
    # them this time is never later than the truth: no event they caused since is taken for an old one.
    op.execute(
        sa.text(
            "UPDATE subscribers SET status_changed_at = CASE "
            "WHEN status = 'active' AND consent_source LIKE 'web form%' AND consented_at IS NOT NULL THEN consented_at "
            "WHEN status = 'active' THEN created_at "
            "ELSE updated_at END"
        )
    )


def downgrade() -> None:
    # Dropped in place (SQLite 3.35 or later), for the reason given in upgrade.
    with op.batch_alter_table("subscribers", recreate="never") as batch:
        batch.drop_column("status_changed_at")
