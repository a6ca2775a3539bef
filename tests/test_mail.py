"""Invite e-mails through a real SMTP server (aiosmtpd on a free local port): the
calendar part's method matches the METHOD inside, the organizer is never mailed, and
a refused or unreachable server puts the rows back in the queue."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import EmailMessage as Message
from email.policy import default

import icalendar
import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from bot.config import ConfigError, Settings, SmtpServer, load, smtp_server
from bot.mail import deliver_mail
from storage.models import Notification, SessionStatus
from tests.test_invites import book_consultation, change, queue


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


def rows(ctx) -> list[Notification]:
    with ctx.db.transaction() as session:
        found = session.exec(select(Notification).where(Notification.kind == "invite_email"))
        return [Notification.model_validate(row) for row in found]


def parts(message: Message) -> tuple[Message, Message]:
    assert message.get_content_type() == "multipart/alternative"
    plain, calendar = message.iter_parts()
    return plain, calendar


def test_invites_are_mailed_to_attendees_with_a_matching_calendar_part(ctx, cast, smtp):
    inbox, port = smtp
    session_id = book_consultation(ctx, cast)
    queue(ctx, session_id, "REQUEST")
    assert deliver_mail(ctx, settings_for(port)) == 2
    assert deliver_mail(ctx, settings_for(port)) == 0  # each once
    recipients = sorted(to for tos, _ in inbox.messages for to in tos)
    assert recipients == ["kobayashi@example.jp", "tanaka@uto.example.jp"]  # not hana@ (organizer)

    for _, message in inbox.messages:
        assert message["From"] == "DX Desk <dxdesk@pref.example.jp>"
        assert message["Subject"].startswith("【DX Desk】個別相談のご案内(2026年7月15日")
        plain, calendar = parts(message)
        assert plain.get_content_type() == "text/plain"
        body = plain.get_content()
        assert "様" in body and "個別相談の予定をお送りします" in body
        assert calendar.get_content_type() == "text/calendar"
        assert calendar.get_content_charset() == "utf-8"
        ics = calendar.get_payload(decode=True)
        parsed = icalendar.Calendar.from_ical(ics)
        assert calendar.get_param("method") == str(parsed["method"]) == "REQUEST"
        (event,) = parsed.walk("VEVENT")
        assert event["sequence"] == 0 and str(event["organizer"]) == "mailto:hana@example.jp"
    assert {r.status for r in rows(ctx)} == {"sent"}

    change(ctx, session_id, status=SessionStatus.CANCELLED)
    queue(ctx, session_id, "CANCEL")
    assert deliver_mail(ctx, settings_for(port)) == 2
    for _, message in inbox.messages[2:]:
        _, calendar = parts(message)
        parsed = icalendar.Calendar.from_ical(calendar.get_payload(decode=True))
        (event,) = parsed.walk("VEVENT")
        assert calendar.get_param("method") == str(parsed["method"]) == "CANCEL"
        assert (str(event["status"]), event["sequence"]) == ("CANCELLED", 1)


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
    assert deliver_mail(ctx, settings_for(port)) == 2
    assert {(r.status, r.attempts) for r in rows(ctx)} == {("sent", 2)}
    assert len(inbox.messages) == 2


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
