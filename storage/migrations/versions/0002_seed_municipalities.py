"""seed the 45 municipalities of Kumamoto Prefecture

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.seed_municipalities import MUNICIPALITIES

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

municipality = sa.table(
    "municipality",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("reading", sa.String),
    sa.column("kind", sa.String),
    sa.column("district", sa.String),
    sa.column("travel_minutes", sa.Integer),
)


def upgrade() -> None:
    op.bulk_insert(
        municipality,
        [
            {
                "code": code,
                "name": name,
                "reading": reading,
                "kind": kind,
                "district": district,
                "travel_minutes": minutes,
            }
            for code, name, reading, kind, district, minutes in MUNICIPALITIES
        ],
    )


def downgrade() -> None:
    codes = [row[0] for row in MUNICIPALITIES]
    op.execute(municipality.delete().where(municipality.c.code.in_(codes)))
