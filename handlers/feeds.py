"""Private calendar feeds: `GET /calendar/{token}.ics`, subscribed to from Google
Calendar, Outlook or any iCalendar client, and the intents that hand out and revoke
the URL.

Only a hash of each token is stored, so a URL cannot be shown twice: asking for it
again issues a new one, and the earlier URLs keep working (a calendar already
subscribed is not cut off because its owner looked up the address on a phone).
`calendar.revoke` ends all of a person's URLs at once; the next request issues a fresh
one. Both are audited.

What a feed holds: a consultant's own sessions, with the car time from and back to the
prefectural office before and after each on-site visit as busy blocks (so a shared
free/busy view does not offer the drive as free time); municipal staff see their
municipality's sessions; the prefecture (and admins) every session. Cancelled sessions
are left out: a subscribed calendar drops an event that is no longer in the feed.
Attendees are left out too: a feed is a view, not a meeting invitation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from icalendar import Event
from sqlmodel import Session

from handlers import diary, invites, policy
from handlers.actor import Actor
from handlers.context import Context
from handlers.core import intent
from handlers.i18n import t
from handlers.reply import Button, Buttons, Field, Fields, Reply, Text
from handlers.travel import OFFICE, TravelTable
from storage import audit, calendar_tokens, people, sessions
from storage.models import Mode, Person, Role, SupportSession

FEED_PAST = timedelta(days=180)  # older sessions drop out of subscribed calendars
T = TypeVar("T")


def feed_url(ctx: Context, token: str) -> str:
    return f"{ctx.rules.public_url.rstrip('/')}/calendar/{token}.ics"


@intent("calendar.feed")
def show(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """A new private feed URL for this person (shown once: only its hash is kept)."""
    policy.require(actor, "calendar.feed")
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


@intent("calendar.revoke")
def revoke(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """End every feed URL of this person at once (one may have leaked)."""
    policy.require(actor, "calendar.revoke")
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
        consultant = person.role == Role.CONSULTANT
        travel = diary.travel_table(session) if consultant else None
        for row in _sessions_of(session, person, now - FEED_PAST):
            data = invites.session_data(session, row, lang, with_people=False)
            calendar.add_component(invites.session_event(data, now))
            if travel is not None:
                for block in travel_blocks(session, row, travel, lang, now):
                    calendar.add_component(block)
        return invites.to_bytes(calendar)


def _sessions_of(session: Session, person: Person, start: datetime) -> list[SupportSession]:
    if person.role == Role.CONSULTANT:
        return sessions.listing(session, start=start, consultant_id=person.id)
    if person.role == Role.MUNICIPAL:
        return sessions.listing(session, start=start, municipality_id=person.municipality_id)
    return sessions.listing(session, start=start)


def travel_blocks(
    session: Session, row: SupportSession, travel: TravelTable, language: str, now: datetime
) -> list[Event]:
    """Busy blocks for the drive from the prefectural office to an on-site visit and
    back (a planning estimate; online sessions and office days need none)."""
    municipality_ids = sessions.municipality_ids(session, row.id or 0)
    site = diary.site_of(row.kind, row.mode, municipality_ids)
    if row.mode != Mode.VISIT or site is None or site == diary.ONLINE:
        return []
    minutes = diary.travel_between(travel, OFFICE, site)
    if minutes <= 0:
        return []
    where = people.municipality_names(session).get(site, "?")
    description = t(language, "feed.travel_description", minutes=minutes)
    length = timedelta(minutes=minutes)
    legs = (
        ("to", row.starts_at - length, row.starts_at, t(language, "feed.travel_to", where=where)),
        ("back", row.ends_at, row.ends_at + length, t(language, "feed.travel_back", where=where)),
    )
    return [
        invites.session_event(
            invites.InviteData(
                uid=f"travel-{leg}-{row.uid}",
                sequence=row.sequence,
                status="CONFIRMED",
                kind="travel",
                starts_at=starts_at,
                ends_at=ends_at,
                summary=summary,
                description=description,
            ),
            now,
        )
        for leg, starts_at, ends_at, summary in legs
    ]
