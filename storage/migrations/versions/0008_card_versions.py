"""card versions: which state of its record a posted message shows

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 08:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "posted_message",
        sa.Column("shows_version", storage.types.AwareDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("posted_message", "shows_version")
