"""routing: rotations, offers and the routing of new leads (DESIGN §8)

Department columns ``accept_minutes`` (1–1440, default 15, held by a CHECK) and
``work_hours`` (default ``"09:00-18:00"``); tables ``routing`` (one lead on its way to an
owner; at most one unsettled per lead, a partial unique index), ``offer`` (one rep offered
it; at most one open per routing) and ``rotation_turn`` (when each rep was last offered a
lead). The outbox keeps where a message landed (``posted_channel``, ``posted_ts``) so that a
later row can edit it: an offer's DM and channel line are updated when the offer is settled.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("department") as batch:
        batch.add_column(
            sa.Column("accept_minutes", sa.Integer(), nullable=False, server_default="15")
        )
        batch.add_column(
            sa.Column(
                "work_hours", sa.String(length=11), nullable=False, server_default="09:00-18:00"
            )
        )
        batch.create_check_constraint(
            "ck_department_accept_minutes", "accept_minutes BETWEEN 1 AND 1440"
        )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("posted_channel", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("posted_ts", sa.String(length=32), nullable=True))
    op.create_table(
        "routing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.Column("settled_by", sa.String(length=32), nullable=True),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("working_minutes", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_routing_lead_id", "routing", ["lead_id"])
    op.create_index("ix_routing_status", "routing", ["status"])
    op.create_index("ix_routing_department_started", "routing", ["department_id", "started_at"])
    op.create_index(
        "uq_routing_open_lead",
        "routing",
        ["lead_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('offering', 'waiting')"),
        postgresql_where=sa.text("status IN ('offering', 'waiting')"),
    )
    op.create_table(
        "offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("routing_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offered_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["routing_id"], ["routing.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_offer_routing_id", "offer", ["routing_id"])
    op.create_index("ix_offer_user_id", "offer", ["user_id"])
    op.create_index("ix_offer_status_due", "offer", ["status", "due_at"])
    op.create_index(
        "uq_offer_open_routing",
        "offer",
        ["routing_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "rotation_turn",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("turn", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("department_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("rotation_turn")
    op.drop_index("uq_offer_open_routing", table_name="offer")
    op.drop_index("ix_offer_status_due", table_name="offer")
    op.drop_index("ix_offer_user_id", table_name="offer")
    op.drop_index("ix_offer_routing_id", table_name="offer")
    op.drop_table("offer")
    op.drop_index("uq_routing_open_lead", table_name="routing")
    op.drop_index("ix_routing_department_started", table_name="routing")
    op.drop_index("ix_routing_status", table_name="routing")
    op.drop_index("ix_routing_lead_id", table_name="routing")
    op.drop_table("routing")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("posted_ts")
        batch.drop_column("posted_channel")
    with op.batch_alter_table("department") as batch:
        batch.drop_constraint("ck_department_accept_minutes", type_="check")
        batch.drop_column("work_hours")
        batch.drop_column("accept_minutes")
