"""availability, calendar feeds, season plans, outbox leases

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 20:32:20.107513
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.column_types
from storage.seed_municipalities import POSITIONS

municipality = sa.table(
    "municipality",
    sa.column("code", sa.String),
    sa.column("latitude", sa.Float),
    sa.column("longitude", sa.Float),
)


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "absence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=True),
        sa.Column("ends", sa.Time(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("absence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_absence_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_absence_person_id"), ["person_id"], unique=False)

    op.create_table(
        "availability_pattern",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "weekday"),
    )
    with op.batch_alter_table("availability_pattern", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_availability_pattern_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "calendar_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", storage.column_types.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("calendar_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_token_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "season_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", storage.column_types.AwareDateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("season_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_season_plan_status"), ["status"], unique=False)

    op.create_table(
        "planned_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("starts_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("engagement_id", sa.Integer(), nullable=True),
        sa.Column("municipality_ids", sa.JSON(), nullable=False),
        sa.Column("consultant_ids", sa.JSON(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["season_plan.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["support_session.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("planned_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planned_session_plan_id"), ["plan_id"], unique=False)

    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
    for code, (latitude, longitude) in POSITIONS.items():
        op.execute(
            municipality.update()
            .where(municipality.c.code == code)
            .values(latitude=latitude, longitude=longitude)
        )

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lease_until", storage.column_types.AwareDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("session_municipality", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("presenting", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("session_municipality", schema=None) as batch_op:
        batch_op.drop_column("presenting")

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("lease_until")

    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")

    with op.batch_alter_table("planned_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planned_session_plan_id"))

    op.drop_table("planned_session")
    with op.batch_alter_table("season_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_season_plan_status"))

    op.drop_table("season_plan")
    with op.batch_alter_table("calendar_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_token_person_id"))

    op.drop_table("calendar_token")
    with op.batch_alter_table("availability_pattern", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_availability_pattern_person_id"))

    op.drop_table("availability_pattern")
    with op.batch_alter_table("absence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_absence_person_id"))
        batch_op.drop_index(batch_op.f("ix_absence_day"))

    op.drop_table("absence")
