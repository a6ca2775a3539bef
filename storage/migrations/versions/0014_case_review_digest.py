"""case review digest: the sha256 of a case's anonymised content as the prefecture
reviewed it, so a case whose text changes after it was published (a log filed later)
is awaiting review again instead of reaching other towns unread; rows published before
this revision have none and are awaiting review again too

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_review") as batch:
        batch.add_column(
            sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("case_review") as batch:
        batch.drop_column("digest")
