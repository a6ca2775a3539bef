"""per-person settings and the terminal inbox: how a person wants their invites
(`person.invite_delivery`: both, message, email or feed), and the notices the local
service delivered to the terminal (`inbox_message`: their text as rendered, the files
written for them and their buttons) with who has read them (`inbox_read`: a channel's
message is read by each of its readers)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.column_types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "invite_delivery",
                sqlmodel.sql.sqltypes.AutoString(length=10),
                nullable=False,
                server_default="both",
            )
        )
    op.create_table(
        "inbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("delivered_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "person_id IS NOT NULL OR audience IS NOT NULL", name="ck_inbox_message_target"
        ),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notification_id"),
    )
    op.create_index(
        op.f("ix_inbox_message_person_id"), "inbox_message", ["person_id"], unique=False
    )
    op.create_index(op.f("ix_inbox_message_audience"), "inbox_message", ["audience"], unique=False)
    op.create_table(
        "inbox_read",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("read_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["inbox_message.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("message_id", "person_id"),
    )


def downgrade() -> None:
    op.drop_table("inbox_read")
    op.drop_index(op.f("ix_inbox_message_audience"), table_name="inbox_message")
    op.drop_index(op.f("ix_inbox_message_person_id"), table_name="inbox_message")
    op.drop_table("inbox_message")
    # A plain DROP COLUMN (SQLite 3.35+), as in 0007: batch mode would copy the person table.
    op.drop_column("person", "invite_delivery")
