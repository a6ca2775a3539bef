"""Private calendar feeds: `GET /calendar/{token}.ics`, subscribed to from Google
Calendar, Outlook or any iCalendar client, and the intents that hand out and revoke
the URL.

Only a hash of each token is stored, so a URL cannot be shown twice: asking for it
again issues a new one, and the earlier URLs keep working (a calendar already
subscribed is not cut off because its owner looked up the address on a phone).
`calendar.revoke` ends all of a person's URLs at once; the next request issues a fresh
one. Both are audited.

What a feed holds: a consultant's own sessions, with each day's drives as busy blocks
(so a shared free/busy view does not offer the drive as free time), chained as the
diary's travel buffer reckons them: from the prefectural office to the first site before
the first visit, from site to site right after each visit that another follows, and from
the last site back after the last (an office day is at the office; online sessions need
no drive and break no chain); municipal staff see their
municipality's sessions; the prefecture (and admins) every session. Cancelled sessions
are left out: a subscribed calendar drops an event that is no longer in the feed.
Attendees are left out too: a feed is a view, not a meeting invitation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any, NamedTuple, TypeVar

from icalendar import Event
from sqlmodel import Session

from handlers.core import payloads, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import t
from handlers.core.intents import intent
from handlers.core.reply import Button, Buttons, Field, Fields, Reply, Text
from handlers.scheduling import diary, invites
from handlers.scheduling.travel import OFFICE, TravelTable
from storage import audit, calendar_tokens, outbox, people, sessions
from storage.models import Person, Role, SupportSession

FEED_PAST = timedelta(days=180)  # older sessions drop out of subscribed calendars
T = TypeVar("T")


def feed_url(ctx: Context, token: str) -> str:
    return f"{ctx.rules.public_url.rstrip('/')}/calendar/{token}.ics"


@intent("calendar.feed", policy.CALENDAR_FEED)
def show(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """A new private feed URL for this person (shown once: only its hash is kept)."""
    lang = actor.language
    token = _audited(
        ctx,
        actor,
        "calendar.feed",
        lambda session, now: (calendar_tokens.issue(session, actor.id, now), None),
    )
    return Reply(
        (
            Text(t(lang, "feed.title"), "heading"),
            Text(t(lang, "feed.intro")),
            Fields((Field(t(lang, "feed.url"), feed_url(ctx, token)),)),
            Text(t(lang, "feed.private"), "muted"),
            Buttons((Button("calendar.revoke", t(lang, "feed.revoke_button"), style="danger"),)),
        )
    )


@intent("invite.file")
def invite_file(ctx: Context, actor: Actor, ref: str) -> Reply:
    """The .ics of one of the reader's own invite notices, built again from the notice
    (for a platform that uploads a file only once its reader agrees: Teams' file
    consent). Anyone else's notice, or one without a file, is refused and audited."""
    notification_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        row = outbox.get(session, notification_id)
        where: dict[str, Any] = {"target_type": "notification", "target_id": notification_id}
        if row is None:
            raise Refused("refusal.not_allowed", **where)
        policy.owns(actor, policy.NOTICES_VIEW, addressees=[row.person_id or 0], **where)
        if row.kind != invites.CHAT_KIND:
            raise Refused("refusal.not_allowed", **where)
        file = invites.invite_file(
            session, row.payload, actor.language, ctx.clock.now(), ctx.rules.organizer_email
        )
    return Reply((file,))


@intent("calendar.revoke", policy.CALENDAR_REVOKE)
def revoke(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """End every feed URL of this person at once (one may have leaked)."""
    lang = actor.language

    def revoke_all(session: Session, now: datetime) -> tuple[int, dict[str, Any]]:
        count = calendar_tokens.revoke_all(session, actor.id, now)
        return count, {"revoked": count}

    count = _audited(ctx, actor, "calendar.revoke", revoke_all)
    return Reply(
        (
            Text(t(lang, "feed.revoked", count=count), "success"),
            Buttons((Button("calendar.feed", t(lang, "feed.new_button")),)),
        )
    )


def _audited(
    ctx: Context,
    actor: Actor,
    action: str,
    change: Callable[[Session, datetime], tuple[T, dict[str, Any] | None]],
) -> T:
    """Change this person's tokens and audit it in one transaction (never the token)."""
    with ctx.db.transaction() as session:
        now = ctx.clock.now()
        result, after = change(session, now)
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action=action,
            target_type="person",
            target_id=actor.id,
            after=after,
        )
    return result


def feed_for(ctx: Context, token: str) -> bytes | None:
    """The calendar behind a feed URL, or None for a token that is unknown or revoked
    (or whose owner is no longer active): the web layer answers 404 either way."""
    with ctx.db.transaction() as session:
        person_id = calendar_tokens.person_for(session, token)
        person = people.get(session, person_id) if person_id is not None else None
        if person is None or not person.active:
            return None
        now = ctx.clock.now()
        lang = person.language or ctx.rules.language
        calendar = invites.new_calendar(name=t(lang, "feed.calendar_name", name=person.name))
        rows = _sessions_of(session, person, now - FEED_PAST)
        for row in rows:
            data = invites.session_data(session, row, lang, with_people=False)
            calendar.add_component(invites.session_event(data, now))
        if person.role == Role.CONSULTANT:
            travel = diary.travel_table(session)
            for block in travel_blocks(session, rows, travel, lang, now):
                calendar.add_component(block)
        return invites.to_bytes(calendar)


def _sessions_of(session: Session, person: Person, start: datetime) -> list[SupportSession]:
    if person.role == Role.CONSULTANT:
        return sessions.listing(session, start=start, consultant_id=person.id)
    if person.role == Role.MUNICIPAL:
        return sessions.listing(session, start=start, municipality_id=person.municipality_id)
    return sessions.listing(session, start=start)


class Leg(NamedTuple):
    """One drive, leaving `at` the end of a session, or arriving `at` the start of the
    day's first (`arrives`)."""

    uid: str
    sequence: int
    origin: int | None
    destination: int | None
    at: datetime
    arrives: bool = False


def day_legs(stops: list[tuple[SupportSession, int | None]]) -> list[Leg]:
    """One day's drives through the sessions that have a place, in order: from the
    office to the first, from each to the next right after it ends, from the last back."""
    (first, first_site), (last, last_site) = stops[0], stops[-1]
    return [
        Leg(f"travel-to-{first.uid}", first.sequence, OFFICE, first_site, first.starts_at, True),
        *(
            Leg(f"travel-{a.uid}-{b.uid}", a.sequence + b.sequence, a_site, b_site, a.ends_at)
            for (a, a_site), (b, b_site) in pairwise(stops)
        ),
        Leg(f"travel-back-{last.uid}", last.sequence, last_site, OFFICE, last.ends_at),
    ]


def travel_blocks(
    session: Session,
    rows: list[SupportSession],
    travel: TravelTable,
    language: str,
    now: datetime,
) -> list[Event]:
    """Busy blocks for one consultant's drives (a planning estimate), chained per day
    (`day_legs`) with the diary's car minutes, so they never overlap another visit the
    diary accepted. Office days are at the office (no drive to them from it, and from or
    to a visit the same day via it); online sessions have no place and need no drive."""
    days: dict[date, list[tuple[SupportSession, int | None]]] = {}
    places = sessions.municipalities_of_sessions(session, [r.id or 0 for r in rows])
    for row in sorted(rows, key=lambda r: r.starts_at):
        site = diary.site_of(row.kind, row.mode, places[row.id or 0])
        if site != diary.ONLINE:
            days.setdefault(row.starts_at.astimezone(TOKYO).date(), []).append((row, site))
    names = people.municipality_names(session)
    blocks = []
    for stops in days.values():
        for leg in day_legs(stops):
            minutes = diary.travel_between(travel, leg.origin, leg.destination)
            if minutes <= 0:
                continue
            length = timedelta(minutes=minutes)
            starts_at = leg.at - length if leg.arrives else leg.at
            office = OFFICE in (leg.origin, leg.destination)
            data = invites.InviteData(
                uid=leg.uid,
                sequence=leg.sequence,
                status="CONFIRMED",
                kind="travel",
                starts_at=starts_at,
                ends_at=starts_at + length,
                summary=_leg_summary(language, names, leg),
                description=t(
                    language,
                    "feed.travel_description" if office else "feed.travel_between_description",
                    minutes=minutes,
                ),
            )
            blocks.append(invites.session_event(data, now))
    return blocks


def _leg_summary(language: str, names: dict[int, str], leg: Leg) -> str:
    def name(site: int | None) -> str:
        return names.get(site or 0, "?")

    if leg.origin is OFFICE:
        return t(language, "feed.travel_to", where=name(leg.destination))
    if leg.destination is OFFICE:
        return t(language, "feed.travel_back", where=name(leg.origin))
    return t(language, "feed.travel_between", origin=name(leg.origin), where=name(leg.destination))
