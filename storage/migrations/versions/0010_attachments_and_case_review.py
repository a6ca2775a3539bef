"""attachments and case review: files attached to a work log or to office-day minutes
(bytes in the database, or in a configured directory by their sha256), and the
prefecture's decision to publish a case of the case book to other towns

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.column_types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=True),
        sa.Column("minutes_id", sa.Integer(), nullable=True),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(log_id IS NOT NULL AND minutes_id IS NULL)"
            " OR (log_id IS NULL AND minutes_id IS NOT NULL)",
            name="ck_attachment_owner",
        ),
        sa.ForeignKeyConstraint(["log_id"], ["work_log.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["minutes_id"], ["minutes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_attachment_log_id"), "attachment", ["log_id"], unique=False)
    op.create_index(op.f("ix_attachment_minutes_id"), "attachment", ["minutes_id"], unique=False)
    op.create_index(op.f("ix_attachment_sha256"), "attachment", ["sha256"], unique=False)
    op.create_table(
        "case_review",
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["municipality_id"], ["municipality.id"]),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("ref"),
    )
    op.create_index(op.f("ix_case_review_status"), "case_review", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_review_status"), table_name="case_review")
    op.drop_table("case_review")
    op.drop_index(op.f("ix_attachment_sha256"), table_name="attachment")
    op.drop_index(op.f("ix_attachment_minutes_id"), table_name="attachment")
    op.drop_index(op.f("ix_attachment_log_id"), table_name="attachment")
    op.drop_table("attachment")
