"""mistaken leads: a lead can be retired, and an activity remembers the lead it created

``lead.deleted_at`` marks a lead retired by ``/lead merge`` or ``/lead delete``: it keeps its
audit trail but appears in no list, report or check, and its name and domain keys are freed
(rewritten) so the customer can be claimed again. ``lead.merged_into_id`` names the lead a
merged one lives on as. ``activity.created_lead`` is true for the activity whose ``/log``
created its lead, so ``/log undo`` removes that lead too.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("created_lead", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_column("created_lead")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("deleted_at")
