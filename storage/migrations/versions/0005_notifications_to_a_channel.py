"""notifications to a channel

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:55:45.632554
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
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True)
        )
        batch_op.alter_column("person_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_check_constraint(
            "ck_notification_target", "person_id IS NOT NULL OR audience IS NOT NULL"
        )


def downgrade() -> None:
    op.execute("DELETE FROM notification WHERE person_id IS NULL")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint("ck_notification_target", type_="check")
        batch_op.alter_column("person_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("audience")
