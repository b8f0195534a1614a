"""A sign-up awaiting its confirmation holds what it would change (consent, and for an address that left, its
name and language) apart from the record; `broadsheet report` finds a forgotten subscriber's copy by an index.

Revision ID: 0006
Revises: 0005
Create Date: 2024-03-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("pending_consent_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("pending_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("pending_locale", sa.String(35), nullable=True))
    # Revision 0005 kept a pending sign-up's statement as its consent: it is not one until confirmed.
    op.execute(
        sa.text(
            "UPDATE subscribers SET pending_consent_text = consent_text, consent_text = NULL "
            "WHERE status = 'pending' AND consented_at IS NULL"
        )
    )
    op.create_index("ix_ledger_issue_anonymous", "ledger", ["issue", "anonymous_id"])


def downgrade() -> None:
    op.drop_index("ix_ledger_issue_anonymous", "ledger")
    op.execute(
        sa.text(
            "UPDATE subscribers SET consent_text = pending_consent_text "
            "WHERE status = 'pending' AND consented_at IS NULL"
        )
    )
    # Dropped in place (SQLite 3.35 or later): copying the table, as batch mode otherwise does on SQLite, would
    # delete every subscriber once, and with them (ON DELETE CASCADE of 0004's schema) every ledger row and event.
    with op.batch_alter_table("subscribers", recreate="never") as batch:
        batch.drop_column("pending_locale")
        batch.drop_column("pending_name")
        batch.drop_column("pending_consent_text")
