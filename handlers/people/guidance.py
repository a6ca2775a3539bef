"""What DX Desk does for this person, in a few lines (`/dx ヘルプ`, the console menu), and
the table both this text and the menu's buttons are made from: each entry names the
intent it opens, whose declaration says who may use it."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from handlers.core import payloads, policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.i18n import render, t
from handlers.core.intents import intent
from handlers.core.reply import Button, Buttons, Reply, Text
from handlers.desk import signin
from handlers.documents import build, casebook
from handlers.fieldwork import engagements, logs
from handlers.intake import decision, submission
from handlers.notifications import notices
from handlers.people import preferences, roster
from handlers.planning import quotas, season
from handlers.scheduling import availability, booking, feeds, results_meeting


class Entry(NamedTuple):
    """One thing a person may do: the intent a button opens (offered to whoever its
    declaration admits), its payload's kind, and the label's catalogue key."""

    opens: Callable[..., Reply]
    kind: str | None
    label: str


@intent("help", policy.HELP_VIEW)
def show(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    lang = actor.language
    text = render(
        lang,
        "messages/help.j2",
        name=actor.name,
        role=t(lang, f"role.{actor.role}"),
        entries=[t(lang, entry.label) for entry in offered(actor)],
    )
    return Reply((Text(text.strip()), buttons(actor)))


# in the order a person would look for them
ENTRIES: tuple[Entry, ...] = (
    Entry(submission.consultation_form, "consultation", "menu.new_request"),
    Entry(submission.application_form, "bpr_application", "menu.new_bpr"),
    Entry(submission.mine, None, "menu.requests"),
    Entry(decision.queue, None, "menu.queue"),
    Entry(engagements.listing, None, "menu.engagements"),
    Entry(booking.upcoming, None, "menu.sessions"),
    Entry(booking.book_form, None, "menu.book"),
    Entry(season.draft, None, "menu.plan"),
    Entry(results_meeting.results_form, None, "menu.results"),
    Entry(availability.week_form, None, "menu.week"),
    Entry(availability.absence_form, None, "menu.absence"),
    Entry(availability.absences, None, "menu.absences"),
    Entry(logs.log_form, None, "menu.log"),
    Entry(logs.minutes_form, None, "menu.minutes"),
    Entry(quotas.status, None, "menu.quota"),
    Entry(notices.inbox, None, "menu.notices"),
    Entry(feeds.show, None, "feed.menu"),
    Entry(signin.link, None, "desk.menu"),
    Entry(preferences.settings_form, None, "settings.menu"),
    Entry(build.casebook_form, None, "menu.casebook"),
    Entry(casebook.review, None, "menu.case_review"),
    Entry(build.report_form, None, "menu.report"),
    Entry(roster.add_form, None, "menu.roster"),
    Entry(show, None, "menu.help"),
)


def offered(actor: Actor) -> list[Entry]:
    return [entry for entry in ENTRIES if policy.allowed(actor, entry.opens)]


def buttons(actor: Actor) -> Buttons:
    """The menu's buttons: each presses its intent by its declared name."""
    lang = actor.language
    return Buttons(
        tuple(
            Button(
                policy.declaration(entry.opens).name,
                t(lang, entry.label),
                payloads.encode(kind=entry.kind) if entry.kind else "",
            )
            for entry in offered(actor)
        )
    )
