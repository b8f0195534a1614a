"""Every copy's fate, exactly: the ledger's states `queued`, `deferred` and `unknown`, checked by the database,
and when a deferred copy was first deferred.

Revision ID: 0010
Revises: 0009
Create Date: 2024-04-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("pending", "queued", "sending", "sent", "failed", "deferred", "unknown")


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("deferred_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(
            "ck_ledger_state", f"state IN ({', '.join(repr(state) for state in STATES)})"
        )


def downgrade() -> None:
    # Before 0010 a copy not yet handed over was pending, and one of unknown fate was left `sending` by a
    # run that had finished; deferred copies were not kept apart.
    op.execute(
        sa.text("UPDATE ledger SET state = 'pending', run_id = NULL WHERE state IN ('queued', 'deferred')")
    )
    op.execute(sa.text("UPDATE ledger SET state = 'sending' WHERE state = 'unknown'"))
    with op.batch_alter_table("ledger") as batch:
        batch.drop_constraint("ck_ledger_state", type_="check")
        batch.drop_column("deferred_at")
