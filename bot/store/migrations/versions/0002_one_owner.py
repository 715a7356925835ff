"""one owner: the database holds the ownership rules

The owner of a lead is a member of the lead's department (a composite foreign key from the
lead's (owner_id, department_id) to the member's (user_id, department_id)), and a lead has an
owner exactly when it has a department (a CHECK). A lead has a ``version`` that every locked
change counts up (bot.store.locks). A lead has at most one pending transfer request (a partial
unique index).

Rows that break these rules, left by the races this revision closes, are repaired first: an
owner who is in another department takes the lead there; a lead whose owner is in no
department returns to the pool, with an audit line; all but the newest pending request of a
lead are cancelled.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def _repair() -> None:
    bind = op.get_bind()
    # Owner in another department: the lead follows its owner.
    bind.execute(
        sa.text(
            "UPDATE lead SET department_id = (SELECT m.department_id FROM member m"
            " WHERE m.user_id = lead.owner_id)"
            " WHERE owner_id IS NOT NULL AND EXISTS (SELECT 1 FROM member m"
            " WHERE m.user_id = lead.owner_id AND m.department_id IS NOT NULL"
            " AND (lead.department_id IS NULL OR m.department_id <> lead.department_id))"
        )
    )
    # Owner in no department: back to the pool, with a line in the audit trail.
    orphans = sa.text(
        "owner_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM member m"
        " WHERE m.user_id = lead.owner_id AND m.department_id IS NOT NULL)"
    )
    bind.execute(
        sa.text(
            "INSERT INTO ownership_event (lead_id, at, action, from_owner, from_department_id,"
            " reason) SELECT id, :now, 'release', owner_id, department_id,"
            " 'owner is in no department' FROM lead WHERE " + orphans.text
        ).bindparams(sa.bindparam("now", type_=UTCDateTime())),
        {"now": datetime.now(UTC)},
    )
    bind.execute(
        sa.text(
            "UPDATE lead SET owner_id = NULL, department_id = NULL, expires_at = NULL,"
            " warned_at = NULL WHERE " + orphans.text
        )
    )
    # A department without an owner: the pool has none.
    bind.execute(sa.text("UPDATE lead SET department_id = NULL WHERE owner_id IS NULL"))
    bind.execute(
        sa.text(
            "UPDATE transfer_request SET status = 'cancelled' WHERE status = 'pending'"
            " AND id <> (SELECT max(t.id) FROM transfer_request t"
            " WHERE t.lead_id = transfer_request.lead_id AND t.status = 'pending')"
        )
    )


def upgrade() -> None:
    _repair()
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_member_user_department", ["user_id", "department_id"])
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_foreign_key(
            "fk_lead_owner_member",
            "member",
            ["owner_id", "department_id"],
            ["user_id", "department_id"],
        )
        batch_op.create_check_constraint(
            "ck_lead_owner_department", "(owner_id IS NULL) = (department_id IS NULL)"
        )
    op.create_index(
        "uq_transfer_request_pending",
        "transfer_request",
        ["lead_id"],
        unique=True,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("uq_transfer_request_pending", table_name="transfer_request")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_constraint("ck_lead_owner_department", type_="check")
        batch_op.drop_constraint("fk_lead_owner_member", type_="foreignkey")
        batch_op.drop_column("version")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_constraint("uq_member_user_department", type_="unique")
