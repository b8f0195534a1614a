"""What SendGrid's Event Webhook reports: deliveries, opens, clicks, bounces, complaints, unsubscribes.

Revision ID: 0002
Revises: 0001
Create Date: 2024-01-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sg_event_id", sa.String(100), nullable=False),
        sa.Column("issue", sa.String(10), nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name="fk_events_subscriber_id_subscribers",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("sg_event_id", name="uq_events_sg_event_id"),
    )
    op.create_index("ix_events_issue_kind", "events", ["issue", "kind"])


def downgrade() -> None:
    op.drop_table("events")
