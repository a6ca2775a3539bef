"""desk indexes: a town's sessions (`session_municipality.municipality_id`), a
consultant's sessions (`session_consultant.person_id`) and the audit entries about one
thing (`audit_log (target_type, target_id)`) — the composite primary keys start with the
session, so without these the desk's town page, calendar filters and the audit log's
town filter scan whole tables

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_session_municipality_municipality_id"),
        "session_municipality",
        ["municipality_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_session_consultant_person_id"), "session_consultant", ["person_id"], unique=False
    )
    op.create_index("ix_audit_log_target", "audit_log", ["target_type", "target_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_target", table_name="audit_log")
    op.drop_index(op.f("ix_session_consultant_person_id"), table_name="session_consultant")
    op.drop_index(
        op.f("ix_session_municipality_municipality_id"), table_name="session_municipality"
    )
