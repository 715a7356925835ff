"""intake: API tokens for ``POST /api/leads`` and the answers kept per ``external_id`` (DESIGN §8)

``api_token``: one row per token, by a unique ``name`` (the default ``source`` of its leads);
only the SHA-256 of the token is kept (``token_hash``, unique), never the token. A revoked
token keeps its row (``revoked_at``) so its name and its intakes stay explained.

``intake``: the answer given to a lead that came with an ``external_id``, unique per token, so
the same ``external_id`` from the same token again gets the same answer and creates nothing.
The row is written in the transaction that creates (or finds) the lead.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_api_token_name"),
        sa.UniqueConstraint("token_hash", name="uq_api_token_hash"),
    )
    op.create_table(
        "intake",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["api_token.id"], name="fk_intake_token"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_id", "external_id", name="uq_intake_token_external_id"),
    )


def downgrade() -> None:
    op.drop_table("intake")
    op.drop_table("api_token")
