"""card versions: which state of its record a posted message shows, and a back-off
for one that cannot be updated

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 08:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.column_types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "posted_message",
        sa.Column("shows_version", storage.column_types.AwareDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "posted_message",
        sa.Column("retry_at", storage.column_types.AwareDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "posted_message",
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
    )
    # Cards posted before this revision were kept current in place: take them as showing
    # their request as it is (else every decided card would be updated at once).
    op.execute(
        "UPDATE posted_message SET shows_version = (SELECT request.updated_at FROM request"
        " WHERE request.id = posted_message.target_id) WHERE purpose = 'approval'"
    )


def downgrade() -> None:
    op.drop_column("posted_message", "failures")
    op.drop_column("posted_message", "retry_at")
    op.drop_column("posted_message", "shows_version")
