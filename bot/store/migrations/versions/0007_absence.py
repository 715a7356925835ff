"""absence: who is away from which day to which day, and who covers for them (``/away``)

One row per absence, days in the person's department zone, both ends included. The database
holds ``last_day >= first_day`` and that nobody covers for themselves. Overlapping absences of
one person are not refused: a new ``/away`` replaces (cancels) the ones it overlaps, in the same
transaction, under the member's lock; a cancelled row is kept (``cancelled_at``/``cancelled_by``)
as the record of who changed what.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "absence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("cover_id", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=400), nullable=True),
        sa.Column("set_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=32), nullable=True),
        sa.CheckConstraint("last_day >= first_day", name="ck_absence_days"),
        sa.CheckConstraint(
            "cover_id IS NULL OR cover_id <> user_id", name="ck_absence_cover_not_self"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_absence_user_last_day", "absence", ["user_id", "last_day"])


def downgrade() -> None:
    op.drop_index("ix_absence_user_last_day", table_name="absence")
    op.drop_table("absence")
