"""holidays: a department's public-holiday calendar and its own extra days

Three nullable department columns: ``holidays`` (a country, ``"CN"``, or a country and
subdivision, ``"US-CA"``, as the ``holidays`` package names them; empty means weekends only),
``extra_holidays`` and ``extra_workdays`` (ISO dates separated by commas, ``"2026-12-24,
2026-12-31"``; plain text so both databases read it the same). Existing departments keep
Monday–Friday as their working days.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("department") as batch:
        batch.add_column(sa.Column("holidays", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("extra_holidays", sa.Text(), nullable=True))
        batch.add_column(sa.Column("extra_workdays", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("department") as batch:
        batch.drop_column("extra_workdays")
        batch.drop_column("extra_holidays")
        batch.drop_column("holidays")
