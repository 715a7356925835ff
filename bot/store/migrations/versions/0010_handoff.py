"""handoff: won customers handed from the department that won them to the one that keeps them

Department columns ``handoff_to_id`` (the department its won customers go to; None: they stay)
and ``handoff_after_days`` (0–365, default 7, held by a CHECK; a department never hands off to
itself, also a CHECK); table ``handoff`` (one won lead on its way: due, offered through the
target's rotation, done or cancelled; the hunter's note as JSON), at most one open (due or
offered) per lead, a partial unique index (DESIGN §10).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("department") as batch:
        batch.add_column(sa.Column("handoff_to_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("handoff_after_days", sa.Integer(), nullable=False, server_default="7")
        )
        batch.create_foreign_key(
            "fk_department_handoff_to", "department", ["handoff_to_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_check_constraint(
            "ck_department_handoff_after_days", "handoff_after_days BETWEEN 0 AND 365"
        )
        batch.create_check_constraint(
            "ck_department_handoff_not_self", "handoff_to_id IS NULL OR handoff_to_id <> id"
        )
    op.create_table(
        "handoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("from_department_id", sa.Integer(), nullable=True),
        sa.Column("from_owner", sa.String(length=32), nullable=True),
        sa.Column("to_department_id", sa.Integer(), nullable=True),
        sa.Column("won_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("routing_id", sa.Integer(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("to_owner", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["from_department_id"], ["department.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["to_department_id"], ["department.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["routing_id"], ["routing.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_lead_id", "handoff", ["lead_id"])
    op.create_index("ix_handoff_status_due", "handoff", ["status", "due_at"])
    op.create_index(
        "uq_handoff_open_lead",
        "handoff",
        ["lead_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('due', 'offered')"),
        postgresql_where=sa.text("status IN ('due', 'offered')"),
    )


def downgrade() -> None:
    op.drop_index("uq_handoff_open_lead", table_name="handoff")
    op.drop_index("ix_handoff_status_due", table_name="handoff")
    op.drop_index("ix_handoff_lead_id", table_name="handoff")
    op.drop_table("handoff")
    with op.batch_alter_table("department") as batch:
        batch.drop_constraint("ck_department_handoff_not_self", type_="check")
        batch.drop_constraint("ck_department_handoff_after_days", type_="check")
        batch.drop_constraint("fk_department_handoff_to", type_="foreignkey")
        batch.drop_column("handoff_after_days")
        batch.drop_column("handoff_to_id")
