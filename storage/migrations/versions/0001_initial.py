"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 18:47:17.951643
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.column_types


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "municipality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "reading", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False
        ),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column(
            "district", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False
        ),
        sa.Column("travel_minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "number_counter",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "year"),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.Column(
            "department", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True
        ),
        sa.Column("is_approver", sa.Boolean(), nullable=False),
        sa.Column("is_lead", sa.Boolean(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("qualifications", sa.JSON(), nullable=False),
        sa.Column(
            "language", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "(role = 'municipal' AND municipality_id IS NOT NULL AND department IS NOT NULL) OR (role <> 'municipal' AND municipality_id IS NULL)",
            name="ck_person_municipal_scope",
        ),
        sa.CheckConstraint(
            "NOT is_approver OR role = 'prefecture'", name="ck_person_approver"
        ),
        sa.CheckConstraint("NOT is_lead OR role = 'consultant'", name="ck_person_lead"),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_municipality_id"), ["municipality_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_person_role"), ["role"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column(
            "action", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False
        ),
        sa.Column(
            "outcome", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False
        ),
        sa.Column(
            "target_type", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True
        ),
        sa.Column(
            "target_id", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True
        ),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_action"), ["action"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "chat_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "platform", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False
        ),
        sa.Column(
            "platform_user_id",
            sqlmodel.sql.sqltypes.AutoString(length=200),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "platform_user_id"),
    )
    with op.batch_alter_table("chat_identity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_identity_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("due_at", storage.column_types.AwareDateTime(timezone=True), nullable=False),
        sa.Column(
            "status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.Column("sent_at", storage.column_types.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_due_at"), ["due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_status"), ["status"], unique=False
        )

    op.create_table(
        "request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "number", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False
        ),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column(
            "department", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False
        ),
        sa.Column(
            "requester_name",
            sqlmodel.sql.sqltypes.AutoString(length=100),
            nullable=False,
        ),
        sa.Column(
            "requester_title",
            sqlmodel.sql.sqltypes.AutoString(length=100),
            nullable=False,
        ),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False
        ),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("preferred_dates", sa.JSON(), nullable=False),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "decided_at", storage.column_types.AwareDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "created_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_request_municipality_id"), ["municipality_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_request_state"), ["state"], unique=False)

    op.create_table(
        "work_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column(
            "method", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False
        ),
        sa.Column(
            "place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False
        ),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("next_plan", sa.Text(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column(
            "filed_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "engagement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column(
            "department", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False
        ),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column(
            "created_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["request.id"],
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id"),
        sa.UniqueConstraint("municipality_id"),
    )
    op.create_table(
        "follow_up_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column(
            "status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False
        ),
        sa.Column(
            "created_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["work_log.id"],
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("follow_up_issue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_issue_log_id"), ["log_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_follow_up_issue_municipality_id"),
            ["municipality_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_follow_up_issue_status"), ["status"], unique=False
        )

    op.create_table(
        "info_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "asked_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "answered_at", storage.column_types.AwareDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["asked_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("info_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_info_request_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "request_consultant",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("request_id", "person_id"),
    )
    op.create_table(
        "work_log_attendee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column(
            "department", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False
        ),
        sa.Column(
            "title", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False
        ),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["work_log.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("work_log_attendee", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_work_log_attendee_log_id"), ["log_id"], unique=False
        )

    op.create_table(
        "engagement_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column(
            "status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False
        ),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("engagement_id", "number"),
    )
    with op.batch_alter_table("engagement_step", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_engagement_step_engagement_id"),
            ["engagement_id"],
            unique=False,
        )

    op.create_table(
        "goal_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("revised_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "revised_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
        ),
        sa.ForeignKeyConstraint(
            ["revised_by_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("goal_revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_goal_revision_engagement_id"),
            ["engagement_id"],
            unique=False,
        )

    op.create_table(
        "issue_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column(
            "status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "changed_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["follow_up_issue.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("issue_status_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_issue_status_change_issue_id"), ["issue_id"], unique=False
        )

    op.create_table(
        "support_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "starts_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "ends_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column(
            "meeting_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
        ),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("engagement_id", sa.Integer(), nullable=True),
        sa.Column(
            "status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False
        ),
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    with op.batch_alter_table("support_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_session_engagement_id"),
            ["engagement_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_support_session_kind"), ["kind"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_session_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_session_starts_at"), ["starts_at"], unique=False
        )

    op.create_table(
        "minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column(
            "attendees", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "filed_at", storage.column_types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["support_session.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id"),
    )
    op.create_table(
        "session_consultant",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["support_session.id"],
        ),
        sa.PrimaryKeyConstraint("session_id", "person_id"),
    )
    op.create_table(
        "session_municipality",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["support_session.id"],
        ),
        sa.PrimaryKeyConstraint("session_id", "municipality_id"),
    )
    op.create_table(
        "work_log_session",
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["work_log.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["support_session.id"],
        ),
        sa.PrimaryKeyConstraint("log_id", "session_id"),
        sa.UniqueConstraint("session_id"),
    )


def downgrade() -> None:

    op.drop_table("work_log_session")
    op.drop_table("session_municipality")
    op.drop_table("session_consultant")
    op.drop_table("minutes")
    with op.batch_alter_table("support_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_session_starts_at"))
        batch_op.drop_index(batch_op.f("ix_support_session_request_id"))
        batch_op.drop_index(batch_op.f("ix_support_session_kind"))
        batch_op.drop_index(batch_op.f("ix_support_session_engagement_id"))

    op.drop_table("support_session")
    with op.batch_alter_table("issue_status_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issue_status_change_issue_id"))

    op.drop_table("issue_status_change")
    with op.batch_alter_table("goal_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goal_revision_engagement_id"))

    op.drop_table("goal_revision")
    with op.batch_alter_table("engagement_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_step_engagement_id"))

    op.drop_table("engagement_step")
    with op.batch_alter_table("work_log_attendee", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_log_attendee_log_id"))

    op.drop_table("work_log_attendee")
    op.drop_table("request_consultant")
    with op.batch_alter_table("info_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_info_request_request_id"))

    op.drop_table("info_request")
    with op.batch_alter_table("follow_up_issue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_issue_status"))
        batch_op.drop_index(batch_op.f("ix_follow_up_issue_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_follow_up_issue_log_id"))

    op.drop_table("follow_up_issue")
    op.drop_table("engagement")
    op.drop_table("work_log")
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_state"))
        batch_op.drop_index(batch_op.f("ix_request_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_request_kind"))

    op.drop_table("request")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_status"))
        batch_op.drop_index(batch_op.f("ix_notification_person_id"))
        batch_op.drop_index(batch_op.f("ix_notification_due_at"))

    op.drop_table("notification")
    with op.batch_alter_table("chat_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_identity_person_id"))

    op.drop_table("chat_identity")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_role"))
        batch_op.drop_index(batch_op.f("ix_person_municipality_id"))

    op.drop_table("person")
    op.drop_table("number_counter")
    op.drop_table("municipality")
