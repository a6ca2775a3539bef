"""The tables of DX Desk.

Enumerations are stored as short strings (checked in code, not as database enum
types) so that adding a value never needs an ALTER TYPE on PostgreSQL.
Times are aware and stored as UTC; calendar dates are plain dates in Asia/Tokyo.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from storage.column_types import AwareDateTime


class Role(StrEnum):
    MUNICIPAL = "municipal"
    PREFECTURE = "prefecture"
    CONSULTANT = "consultant"
    ADMIN = "admin"


class RequestKind(StrEnum):
    CONSULTATION = "consultation"
    BPR_APPLICATION = "bpr_application"


class RequestState(StrEnum):
    SUBMITTED = "submitted"
    NEEDS_INFO = "needs_info"
    APPROVED = "approved"
    DECLINED = "declined"
    SCHEDULED = "scheduled"
    DONE = "done"
    CANCELLED = "cancelled"


class Channel(StrEnum):
    CHAT = "chat"
    PHONE = "phone"
    EMAIL = "email"


class Mode(StrEnum):
    VISIT = "visit"
    ONLINE = "online"


class SessionKind(StrEnum):
    BPR = "bpr"
    CONSULTATION = "consultation"
    OFFICE_DAY = "office_day"
    RESULTS_MEETING = "results_meeting"


class SessionStatus(StrEnum):
    BOOKED = "booked"
    HELD = "held"
    CANCELLED = "cancelled"


class StepStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    SKIPPED = "skipped"


class IssueStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    NEED_HELP = "need_help"
    RESOLVED = "resolved"


class AbsenceKind(StrEnum):
    LEAVE = "leave"  # 休暇: blocks booking and pauses reminders
    BUSY = "busy"  # other work: blocks booking only


class PlanStatus(StrEnum):
    DRAFT = "draft"
    CONFIRMED = "confirmed"
    DISCARDED = "discarded"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


def aware(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(AwareDateTime(), nullable=nullable, index=index))


def json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def long_text(nullable: bool = True) -> Any:
    return Field(default=None if nullable else "", sa_column=Column(Text, nullable=nullable))


class Municipality(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=6, unique=True)
    name: str = Field(max_length=20, unique=True)
    reading: str = Field(max_length=40)
    kind: str = Field(max_length=2)
    district: str = Field(max_length=20, default="")
    travel_minutes: int
    latitude: float | None = None
    longitude: float | None = None


class Person(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(
            "(role = 'municipal' AND municipality_id IS NOT NULL AND department IS NOT NULL)"
            " OR (role <> 'municipal' AND municipality_id IS NULL)",
            name="ck_person_municipal_scope",
        ),
        CheckConstraint("NOT is_approver OR role = 'prefecture'", name="ck_person_approver"),
        CheckConstraint("NOT is_lead OR role = 'consultant'", name="ck_person_lead"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=200, unique=True)
    title: str | None = Field(default=None, max_length=100)
    role: str = Field(max_length=20, index=True)
    municipality_id: int | None = Field(default=None, foreign_key="municipality.id", index=True)
    department: str | None = Field(default=None, max_length=100)
    is_approver: bool = False
    is_lead: bool = False
    is_admin: bool = False
    qualifications: list[str] = json_list()
    language: str | None = Field(default=None, max_length=5)
    active: bool = True
    # the chat platform (as in chat_identity.platform) this person last used DX Desk from:
    # their notices go there (storage.people.notified_on)
    notify_platform: str | None = Field(default=None, max_length=20)
    # how this person wants session invites (handlers/people/preferences.py): "both" (a notice
    # with the .ics, and an e-mail when they have an address), "message", "email" or
    # "feed" (none: their calendar feed shows the sessions)
    invite_delivery: str = Field(
        default="both", max_length=10, sa_column_kwargs={"server_default": "both"}
    )


class ChatIdentity(SQLModel, table=True):
    __tablename__ = "chat_identity"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=20)
    platform_user_id: str = Field(max_length=200)


class NumberCounter(SQLModel, table=True):
    """The last readable number given per kind and fiscal year."""

    __tablename__ = "number_counter"

    kind: str = Field(max_length=20, primary_key=True)
    year: int = Field(primary_key=True)
    last: int = 0


class Request(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=30, unique=True)
    kind: str = Field(max_length=20, index=True)
    state: str = Field(max_length=20, index=True)
    municipality_id: int = Field(foreign_key="municipality.id", index=True)
    department: str = Field(max_length=100)
    requester_name: str = Field(max_length=100)
    requester_title: str = Field(max_length=100)
    requester_id: int | None = Field(default=None, foreign_key="person.id")
    entered_by_id: int = Field(foreign_key="person.id")
    channel: str = Field(max_length=10)
    topic: str = Field(max_length=30)
    description: str = long_text(nullable=False)
    mode: str = Field(max_length=10)
    preferred_dates: list[str] = json_list()
    goal: str | None = long_text()
    decline_reason: str | None = long_text()
    decided_by_id: int | None = Field(default=None, foreign_key="person.id")
    decided_at: datetime | None = aware(nullable=True)
    created_at: datetime = aware()
    updated_at: datetime = aware()


class RequestConsultant(SQLModel, table=True):
    __tablename__ = "request_consultant"

    request_id: int = Field(foreign_key="request.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)


class InfoRequest(SQLModel, table=True):
    """A question from the prefecture to the requester, and its answer."""

    __tablename__ = "info_request"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    question: str = long_text(nullable=False)
    asked_by_id: int = Field(foreign_key="person.id")
    asked_at: datetime = aware()
    answer: str | None = long_text()
    answered_by_id: int | None = Field(default=None, foreign_key="person.id")
    answered_at: datetime | None = aware(nullable=True)


class Engagement(SQLModel, table=True):
    """One selected BPR municipality and its accompaniment."""

    id: int | None = Field(default=None, primary_key=True)
    municipality_id: int = Field(foreign_key="municipality.id", unique=True)
    application_id: int = Field(foreign_key="request.id", unique=True)
    department: str = Field(max_length=100)
    goal: str | None = long_text()
    created_at: datetime = aware()


class GoalRevision(SQLModel, table=True):
    __tablename__ = "goal_revision"

    id: int | None = Field(default=None, primary_key=True)
    engagement_id: int = Field(foreign_key="engagement.id", index=True)
    goal: str = long_text(nullable=False)
    reason: str | None = long_text()
    revised_by_id: int = Field(foreign_key="person.id")
    revised_at: datetime = aware()


class EngagementStep(SQLModel, table=True):
    __tablename__ = "engagement_step"
    __table_args__ = (UniqueConstraint("engagement_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    engagement_id: int = Field(foreign_key="engagement.id", index=True)
    number: int
    phase: str = Field(max_length=30)
    status: str = Field(max_length=10, default=StepStatus.PLANNED)
    note: str | None = long_text()
    updated_by_id: int | None = Field(default=None, foreign_key="person.id")


class EngagementStepSession(SQLModel, table=True):
    """The held BPR session(s) a done step was done in (1 or 2): its 実施日 is derived from
    them, so a step can never be dated apart from the session it happened in."""

    __tablename__ = "engagement_step_session"

    step_id: int = Field(foreign_key="engagement_step.id", primary_key=True)
    session_id: int = Field(foreign_key="support_session.id", primary_key=True)


class SupportSession(SQLModel, table=True):
    """A booked visit, online session, office day or the results meeting."""

    __tablename__ = "support_session"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, index=True)
    starts_at: datetime = aware(index=True)
    ends_at: datetime = aware()
    mode: str = Field(max_length=10)
    place: str | None = Field(default=None, max_length=200)
    meeting_url: str | None = Field(default=None, max_length=500)
    request_id: int | None = Field(default=None, foreign_key="request.id", index=True)
    engagement_id: int | None = Field(default=None, foreign_key="engagement.id", index=True)
    status: str = Field(max_length=10, default=SessionStatus.BOOKED)
    uid: str = Field(max_length=100, unique=True)
    sequence: int = 0
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = aware()


class SessionMunicipality(SQLModel, table=True):
    __tablename__ = "session_municipality"

    session_id: int = Field(foreign_key="support_session.id", primary_key=True)
    municipality_id: int = Field(foreign_key="municipality.id", primary_key=True, index=True)
    presenting: bool = False  # results meeting: this municipality presents its work


class SessionConsultant(SQLModel, table=True):
    __tablename__ = "session_consultant"

    session_id: int = Field(foreign_key="support_session.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)


class WorkLog(SQLModel, table=True):
    """業務日報: one log may cover several sessions (R9)."""

    __tablename__ = "work_log"

    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="person.id")
    # method, place/meeting link, consultants and dates are its sessions' (never copied)
    summary: str = long_text(nullable=False)
    response: str = long_text(nullable=False)
    next_plan: str | None = long_text()
    attachments: list[str] = json_list()
    filed_at: datetime = aware()


class WorkLogSession(SQLModel, table=True):
    __tablename__ = "work_log_session"

    log_id: int = Field(foreign_key="work_log.id", primary_key=True)
    session_id: int = Field(foreign_key="support_session.id", primary_key=True, unique=True)


class WorkLogAttendee(SQLModel, table=True):
    __tablename__ = "work_log_attendee"

    id: int | None = Field(default=None, primary_key=True)
    log_id: int = Field(foreign_key="work_log.id", index=True)
    department: str = Field(max_length=100)
    title: str = Field(max_length=100)
    name: str = Field(max_length=100)


class Minutes(SQLModel, table=True):
    """議事録 of an office day (R6)."""

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="support_session.id", unique=True)
    author_id: int = Field(foreign_key="person.id")
    attendees: str = Field(max_length=500)
    body: str = long_text(nullable=False)
    filed_at: datetime = aware()


class Attachment(SQLModel, table=True):
    """A file attached to a work log or to office-day minutes (§2.5(2)). Its bytes are in
    `content`, or (content None) at `path`, in the configured directory; removing
    the log or the minutes removes the row (ON DELETE CASCADE, see storage.attachments)."""

    __table_args__ = (
        CheckConstraint(
            "(log_id IS NOT NULL AND minutes_id IS NULL)"
            " OR (log_id IS NULL AND minutes_id IS NOT NULL)",
            name="ck_attachment_owner",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    log_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("work_log.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    minutes_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("minutes.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64, index=True)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    path: str | None = Field(default=None, max_length=500)  # in the attachment directory
    uploaded_by_id: int = Field(foreign_key="person.id")
    uploaded_at: datetime = aware()


class CaseReview(SQLModel, table=True):
    """The prefecture's decision on one case of the case book (R13): only a published
    case is found by other towns; `ref` is the case's (C12, B3)."""

    __tablename__ = "case_review"

    ref: str = Field(max_length=20, primary_key=True)
    municipality_id: int | None = Field(default=None, foreign_key="municipality.id")
    status: str = Field(max_length=10, index=True)  # published / withheld
    reviewed_by_id: int = Field(foreign_key="person.id")
    reviewed_at: datetime = aware()
    # sha256 of the anonymised content as reviewed (0014): published with another digest
    # (a log filed since) is awaiting review again; None (before 0014) likewise
    digest: str | None = Field(default=None, max_length=64)


class FollowUpIssue(SQLModel, table=True):
    """課題 found in a log; stays open until resolved (R10)."""

    __tablename__ = "follow_up_issue"

    id: int | None = Field(default=None, primary_key=True)
    log_id: int = Field(foreign_key="work_log.id", index=True)
    municipality_id: int = Field(foreign_key="municipality.id", index=True)
    content: str = long_text(nullable=False)
    policy: str = long_text(nullable=False)
    status: str = Field(max_length=20, default=IssueStatus.OPEN, index=True)
    created_at: datetime = aware()


class IssueStatusChange(SQLModel, table=True):
    __tablename__ = "issue_status_change"

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="follow_up_issue.id", index=True)
    status: str = Field(max_length=20)
    note: str | None = long_text()
    changed_by_id: int | None = Field(default=None, foreign_key="person.id")
    changed_at: datetime = aware()


class AuditEntry(SQLModel, table=True):
    """Who did (or tried to do) what, to what, and when (R2, R16)."""

    __tablename__ = "audit_log"
    # the entries about one thing (the desk's audit filter by town, migration 0013)
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = aware(index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    action: str = Field(max_length=50, index=True)
    outcome: str = Field(max_length=10)
    target_type: str | None = Field(default=None, max_length=30)
    target_id: str | None = Field(default=None, max_length=50)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    detail: str | None = long_text()


class Audience(StrEnum):
    PREFECTURE = "prefecture"  # the prefecture's channel (Slack: SLACK_APPROVAL_CHANNEL)


class Notification(SQLModel, table=True):
    """An outbox row: one message to one person, or to a channel (`audience`), sent once
    (key is unique). While `sending`, `lease_until` says until when the sender that
    claimed it owns it; after that a reaper returns it to `pending`."""

    __table_args__ = (
        CheckConstraint(
            "person_id IS NOT NULL OR audience IS NOT NULL", name="ck_notification_target"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=50)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    audience: str | None = Field(default=None, max_length=30)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    due_at: datetime = aware(index=True)
    status: str = Field(max_length=10, default=NotificationStatus.PENDING, index=True)
    attempts: int = 0
    created_at: datetime = aware()
    sent_at: datetime | None = aware(nullable=True)
    lease_until: datetime | None = aware(nullable=True)


class InboxMessage(SQLModel, table=True):
    """A notice the local service delivered to the terminal (bot/console/inbox.py): its text as
    rendered when sent, in the reader's language, and the files written for it (an
    invite's .ics), read later with `python -m bot console --as NAME`."""

    __tablename__ = "inbox_message"
    __table_args__ = (
        CheckConstraint(
            "person_id IS NOT NULL OR audience IS NOT NULL", name="ck_inbox_message_target"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", unique=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    audience: str | None = Field(default=None, max_length=30, index=True)
    text: str = long_text(nullable=False)
    files: list[str] = json_list()  # paths of the files written for it (an invite's .ics)
    buttons: list[list[str]] = json_list()  # [action, label, value]: pressed from the console
    delivered_at: datetime = aware()


class InboxRead(SQLModel, table=True):
    """Who has read a terminal inbox message (a channel's is read by each of its readers)."""

    __tablename__ = "inbox_read"

    message_id: int = Field(foreign_key="inbox_message.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    read_at: datetime = aware()


class PostedMessage(SQLModel, table=True):
    """A chat message the bot posted about a record, so it can be updated in place
    (Slack chat.update, Teams card refresh) and replied to in its thread."""

    __tablename__ = "posted_message"
    __table_args__ = (UniqueConstraint("platform", "purpose", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    purpose: str = Field(max_length=30)
    target_id: int
    channel: str = Field(max_length=200)
    message_id: str = Field(max_length=200)
    posted_at: datetime = aware()
    nudged_at: datetime | None = aware(nullable=True)
    shows_version: datetime | None = aware(nullable=True)
    """The `updated_at` of the record as the message last showed it: another value than
    the record's means the message is stale (changed from another platform, or an update
    that failed or finished out of order) and the platform's deliverer updates it."""
    retry_at: datetime | None = aware(nullable=True)
    failures: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class TeamsConversation(SQLModel, table=True):
    """Where Teams can be written to without being spoken to first (a conversation
    reference, refreshed on every inbound activity): a person's 1:1 chat with the bot
    (`personal`; no conversation yet when they were only seen in a channel — then one is
    created with `user_id`), or a channel (`channel`, by its conversation id)."""

    __tablename__ = "teams_conversation"
    __table_args__ = (
        UniqueConstraint("person_id", "kind"),
        UniqueConstraint("channel_id"),
        CheckConstraint(
            "(kind = 'personal' AND person_id IS NOT NULL)"
            " OR (kind = 'channel' AND channel_id IS NOT NULL)",
            name="ck_teams_conversation_target",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    channel_id: str | None = Field(default=None, max_length=200)
    conversation_id: str | None = Field(default=None, max_length=400)
    user_id: str | None = Field(default=None, max_length=200)
    service_url: str = Field(max_length=500)
    tenant_id: str | None = Field(default=None, max_length=100)
    updated_at: datetime = aware()


class InboundEvent(SQLModel, table=True):
    """Platform event ids already handled: a retried delivery is acknowledged, not redone."""

    __tablename__ = "inbound_event"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    event_id: str = Field(max_length=200)
    received_at: datetime = aware()


class AvailabilityPattern(SQLModel, table=True):
    """A consultant's usual week. Someone with no rows is available whenever the office
    is open; with rows, only on those weekdays (0 = Monday) between `starts` and `ends`."""

    __tablename__ = "availability_pattern"
    __table_args__ = (UniqueConstraint("person_id", "weekday"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    weekday: int
    starts: time
    ends: time


class Absence(SQLModel, table=True):
    """A day (or part of one) a consultant cannot be booked: leave or other work."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    day: date = Field(index=True)
    starts: time | None = None  # None with `ends` None: the whole day
    ends: time | None = None
    kind: str = Field(max_length=10)
    note: str | None = Field(default=None, max_length=200)
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = aware()


class CalendarToken(SQLModel, table=True):
    """The secret in a person's private calendar feed URL, stored only as a hash."""

    __tablename__ = "calendar_token"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = aware()
    revoked_at: datetime | None = aware(nullable=True)


class SignInLink(SQLModel, table=True):
    """A one-time link into the desk (`/dx ダッシュボード`), stored only as a hash: valid
    until `expires_at`, spent when `used_at` is set (storage/web_sessions.py)."""

    __tablename__ = "sign_in_link"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = aware()
    expires_at: datetime = aware()
    used_at: datetime | None = aware(nullable=True)


class WebSession(SQLModel, table=True):
    """A browser signed in to the desk; the cookie's secret is stored only as a hash.
    `method` says how it was opened ("link" today; Entra ID or Slack sign-in later)."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    method: str = Field(max_length=20)
    created_at: datetime = aware()
    last_seen_at: datetime = aware()
    expires_at: datetime = aware()  # the absolute end, whatever the activity
    ended_at: datetime | None = aware(nullable=True)


class SeasonPlan(SQLModel, table=True):
    """A proposed season of sessions; nothing is booked until the prefecture confirms."""

    __tablename__ = "season_plan"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(max_length=10, default=PlanStatus.DRAFT, index=True)
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = aware()
    decided_by_id: int | None = Field(default=None, foreign_key="person.id")
    decided_at: datetime | None = aware(nullable=True)
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PlannedSession(SQLModel, table=True):
    """One session of a season plan; `session_id` once confirmed and booked."""

    __tablename__ = "planned_session"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="season_plan.id", index=True)
    kind: str = Field(max_length=20)
    starts_at: datetime = aware()
    ends_at: datetime = aware()
    mode: str = Field(max_length=10)
    place: str | None = Field(default=None, max_length=200)
    engagement_id: int | None = Field(default=None, foreign_key="engagement.id")
    municipality_ids: list[int] = json_list()
    consultant_ids: list[int] = json_list()
    session_id: int | None = Field(default=None, foreign_key="support_session.id")
