"""territories: a lead's attributes and a department's territory

``lead.employees`` (a head count), ``lead.country`` (ISO 3166-1 alpha-2, upper case) and
``lead.industry`` (a lower-case word) are what a territory is decided on; each is unknown
(NULL) until intake, import or ``/lead set`` gives it. ``department.territory`` holds the
department's ``[department.territory]`` from the setup file as JSON (employees_min,
employees_max, countries, industries, accounts with their name and domain keys); NULL is no
territory. The workspace's ``territory_policy`` and ``default_department`` are ``setting`` rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("employees", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True)
        )
        batch_op.add_column(
            sa.Column("industry", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True)
        )
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.add_column(sa.Column("territory", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_column("territory")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("industry")
        batch_op.drop_column("country")
        batch_op.drop_column("employees")
