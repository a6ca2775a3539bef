"""web sign-in: one-time sign-in links (`/dx ダッシュボード`) and the desk's browser
sessions, both stored only as hashes of their secrets

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.column_types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("used_at", storage.column_types.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_sign_in_link_person_id"), "sign_in_link", ["person_id"], unique=False)
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", storage.column_types.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_web_session_person_id"), "web_session", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_session_person_id"), table_name="web_session")
    op.drop_table("web_session")
    op.drop_index(op.f("ix_sign_in_link_person_id"), table_name="sign_in_link")
    op.drop_table("sign_in_link")
