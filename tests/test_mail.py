"""Invite e-mails through a real SMTP server (aiosmtpd on a free local port): the
calendar part's method matches the METHOD inside, the ORGANIZER is the From address
(`DXDESK_MAIL_FROM`) and is never mailed, each mail says what was true when queued, and
a refused or unreachable server puts the rows back in the queue."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage as Message
from email.policy import default

import icalendar
import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from bot.config import ConfigError, Settings, SmtpServer, load, smtp_server
from bot.delivery.mail import deliver_mail
from handlers.core.clock import TOKYO
from storage.models import Notification
from tests.support.bookings import book_consultation, cancel, move, queue


class Inbox:
    """An aiosmtpd handler that keeps what it is sent, or refuses it when told to."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        self.messages.append(
            (list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=default))
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def settings_for(port: int) -> Settings:
    return Settings(smtp_url=f"smtp://127.0.0.1:{port}", mail_from="dxdesk@pref.example.jp")


@pytest.fixture(autouse=True)
def _configured(ctx) -> None:
    """The rules as `serve` makes them from the same settings: ORGANIZER = From."""
    ctx.rules = replace(ctx.rules, organizer_email=settings_for(0).rules().organizer_email)


def rows(ctx) -> list[Notification]:
    with ctx.db.transaction() as session:
        found = session.exec(select(Notification).where(Notification.kind == "invite_email"))
        return [Notification.model_validate(row) for row in found]


def parts(message: Message) -> tuple[Message, Message]:
    assert message.get_content_type() == "multipart/alternative"
    plain, calendar = message.iter_parts()
    return plain, calendar


def calendar_of(message: Message) -> tuple[Message, icalendar.Calendar, icalendar.Event]:
    _, calendar = parts(message)
    parsed = icalendar.Calendar.from_ical(calendar.get_payload(decode=True))
    (event,) = parsed.walk("VEVENT")
    assert calendar.get_param("method") == str(parsed["method"])
    return calendar, parsed, event


def test_invites_are_mailed_to_attendees_with_a_matching_calendar_part(ctx, cast, smtp, clock):
    inbox, port = smtp
    session_id = book_consultation(ctx, cast)
    queue(ctx, session_id, "REQUEST")
    assert deliver_mail(ctx, settings_for(port)) == 3
    assert deliver_mail(ctx, settings_for(port)) == 0  # each once
    recipients = sorted(to for tos, _ in inbox.messages for to in tos)
    assert recipients == ["hana@example.jp", "kobayashi@example.jp", "tanaka@uto.example.jp"]

    for _, message in inbox.messages:
        assert message["From"] == "DX Desk <dxdesk@pref.example.jp>"
        assert message["Subject"].startswith("【DX Desk】個別相談のご案内(2026年7月15日")
        plain, calendar = parts(message)
        assert plain.get_content_type() == "text/plain"
        body = plain.get_content()
        assert "様" in body and "個別相談の予定をお送りします" in body
        assert calendar.get_content_type() == "text/calendar"
        assert calendar.get_content_charset() == "utf-8"
        _, parsed, event = calendar_of(message)
        assert str(parsed["method"]) == "REQUEST" and event["sequence"] == 0
        assert str(event["organizer"]) == "mailto:dxdesk@pref.example.jp"  # the From
        assert event["organizer"].params["CN"] == "DX Desk"
    assert {r.status for r in rows(ctx)} == {"sent"}

    # Moved and cancelled before the next round of mail: each still says its own state.
    move(ctx, cast["水前寺 花"], session_id, "2026-07-16", "13:00")
    cancel(ctx, cast["水前寺 花"], session_id)
    assert deliver_mail(ctx, settings_for(port)) == 6
    later = {}
    for _, message in inbox.messages[3:]:
        _, parsed, event = calendar_of(message)
        subject, _, when = message["Subject"].partition("(")
        assert when.startswith("2026年7月16日")  # the subject names the time as queued too
        later.setdefault(event["sequence"], set()).add(
            (str(parsed["method"]), str(event["status"]), event.start, subject)
        )
    moved_at = datetime(2026, 7, 16, 13, 0, tzinfo=TOKYO)
    assert later == {
        1: {("REQUEST", "CONFIRMED", moved_at, "【DX Desk】個別相談の日程変更")},
        2: {("CANCEL", "CANCELLED", moved_at, "【DX Desk】個別相談の取消")},
    }


def test_the_service_address_is_never_mailed(ctx, cast, smtp):
    """Someone on the roster with the From address (a shared mailbox) is not mailed."""
    inbox, port = smtp
    ctx.rules = replace(ctx.rules, organizer_email="hana@example.jp")
    book_consultation(ctx, cast)
    assert deliver_mail(ctx, settings_for(port)) == 2
    recipients = sorted(to for tos, _ in inbox.messages for to in tos)
    assert recipients == ["kobayashi@example.jp", "tanaka@uto.example.jp"]
    assert sorted(r.status for r in rows(ctx)) == ["cancelled", "sent", "sent"]


def test_a_refusing_server_leaves_the_invites_queued_for_a_retry(ctx, cast, smtp, clock):
    inbox, port = smtp
    session_id = book_consultation(ctx, cast)
    queue(ctx, session_id, "REQUEST")
    inbox.refuse = True
    assert deliver_mail(ctx, settings_for(port)) == 0
    assert {(r.status, r.attempts) for r in rows(ctx)} == {("pending", 1)}
    assert all(r.due_at > ctx.clock.now() for r in rows(ctx))
    inbox.refuse = False
    assert deliver_mail(ctx, settings_for(port)) == 0  # not due yet: backing off
    clock.advance(minutes=5)
    assert deliver_mail(ctx, settings_for(port)) == 3
    assert {(r.status, r.attempts) for r in rows(ctx)} == {("sent", 2)}
    assert len(inbox.messages) == 3


def test_an_unreachable_server_leaves_the_invites_queued(ctx, cast):
    session_id = book_consultation(ctx, cast)
    queue(ctx, session_id, "REQUEST")
    assert deliver_mail(ctx, settings_for(free_port())) == 0
    assert {(r.status, r.attempts) for r in rows(ctx)} == {("pending", 1)}


def test_without_smtp_nothing_is_claimed(ctx, cast):
    session_id = book_consultation(ctx, cast)
    queue(ctx, session_id, "REQUEST")
    assert deliver_mail(ctx, Settings()) == 0
    assert {(r.status, r.attempts) for r in rows(ctx)} == {("pending", 0)}


def test_smtp_urls(monkeypatch):
    assert smtp_server("smtp://u:p%40ss@mail.example.jp:2525") == SmtpServer(
        "mail.example.jp", 2525, "none", "u", "p@ss"
    )
    assert smtp_server("smtps://mail.example.jp").port == 465
    assert smtp_server("smtp://mail.example.jp?starttls=1") == SmtpServer(
        "mail.example.jp", 587, "starttls"
    )
    monkeypatch.setenv("SMTP_URL", "https://mail.example.jp")
    with pytest.raises(ConfigError, match=r"^configuration error: SMTP_URL: expected smtp://"):
        load()
    monkeypatch.setenv("SMTP_URL", "smtp://mail.example.jp")
    monkeypatch.setenv("DXDESK_MAIL_FROM", "not an address")
    with pytest.raises(ConfigError, match="DXDESK_MAIL_FROM"):
        load()
    monkeypatch.setenv("DXDESK_MAIL_FROM", " dxdesk@pref.kumamoto.lg.jp ")
    assert load().rules().organizer_email == "dxdesk@pref.kumamoto.lg.jp"
    # e-mail without a real organizer is refused at start-up (issue #17): one line
    for unreal in ("dxdesk@pref.example.jp", "dxdesk@localhost", "a@b.example"):
        monkeypatch.setenv("DXDESK_MAIL_FROM", unreal)
        with pytest.raises(ConfigError, match="DXDESK_MAIL_FROM") as refused:
            load()
        assert "\n" not in str(refused.value) and unreal in str(refused.value)
    monkeypatch.delenv("DXDESK_MAIL_FROM")
    with pytest.raises(ConfigError, match="DXDESK_MAIL_FROM"):
        load()  # the default organizer is no mailbox either
    monkeypatch.delenv("SMTP_URL")
    assert load().rules().organizer_email == "noreply@dxdesk.invalid"  # chat-only: fine
