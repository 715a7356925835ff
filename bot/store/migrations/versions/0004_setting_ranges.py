"""setting ranges: the database holds the ranges of a department's numbers

``claim_days`` 1–365, ``warn_days`` from 0 to below ``claim_days``, ``max_leads_per_rep``
0–10000 (0 = no cap), as ``bot.services.departments.parse_option`` checks them. A value set
before those checks existed (``claim_days 10000000`` made every later claim overflow) is
brought into range first: the nearest allowed value.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (name, condition): the same as ``Department.__table_args__``.
CHECKS = (
    ("ck_department_claim_days", "claim_days BETWEEN 1 AND 365"),
    ("ck_department_warn_days", "warn_days >= 0 AND warn_days < claim_days"),
    ("ck_department_max_leads", "max_leads_per_rep BETWEEN 0 AND 10000"),
)

REPAIRS = (
    "UPDATE department SET claim_days = 365 WHERE claim_days > 365",
    "UPDATE department SET claim_days = 1 WHERE claim_days < 1",
    "UPDATE department SET warn_days = 0 WHERE warn_days < 0",
    "UPDATE department SET warn_days = claim_days - 1 WHERE warn_days >= claim_days",
    "UPDATE department SET max_leads_per_rep = 10000 WHERE max_leads_per_rep > 10000",
    "UPDATE department SET max_leads_per_rep = 0 WHERE max_leads_per_rep < 0",
)


def upgrade() -> None:
    for repair in REPAIRS:
        op.execute(repair)
    with op.batch_alter_table("department", schema=None) as batch_op:
        for name, condition in CHECKS:
            batch_op.create_check_constraint(name, condition)


def downgrade() -> None:
    with op.batch_alter_table("department", schema=None) as batch_op:
        for name, _condition in CHECKS:
            batch_op.drop_constraint(name, type_="check")
