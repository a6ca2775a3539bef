"""Per-person settings (`/dx 設定`, the menu's 設定 on every platform): the language every
reply and notice to this person is worded in (R15), and how they want session invites —
a message with the .ics, an e-mail, both, or none at all (their private calendar feed
shows the sessions).

A setting is the person's own: nobody sets it for someone else, and each change is
audited (before and after) in the same transaction that makes it."""

from __future__ import annotations

from typing import Any

from handlers.core import forms, policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.i18n import LANGUAGES, t
from handlers.core.intents import intent
from handlers.core.reply import Button, Buttons, Reply, Text
from storage import audit, people
from storage.models import Person

INVITE_DELIVERIES = ("both", "message", "email", "feed")
"""How a person wants invites; "both" (a message, and an e-mail when they have an
address) is what everyone gets until they choose."""
CHANNELS = {"both": ("chat", "email"), "message": ("chat",), "email": ("email",), "feed": ()}

SETTINGS = FormSpec(
    action="settings.set",
    title="settings.title",
    fields=(
        FieldSpec("language", kind="select", choices=LANGUAGES),
        FieldSpec("invite_delivery", kind="select", choices=INVITE_DELIVERIES, hint=True),
    ),
    submit="button.save",
)


def invite_channels(person: Person) -> tuple[str, ...]:
    """The channels ("chat", "email") a session invite is queued on for this person: as
    they chose, and e-mail only when they have an address (without one, "email" falls
    back to a message rather than to nothing: an invite must reach them somehow)."""
    wanted = CHANNELS.get(person.invite_delivery or "both", CHANNELS["both"])
    if "email" in wanted and not person.email:
        return tuple(c for c in wanted if c != "email") or ("chat",)
    return wanted


@intent("settings.form", policy.SETTINGS_MANAGE)
def settings_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """The form, filled with what this person has now."""
    with ctx.db.transaction() as session:
        person = _own(session, actor)
        values = {"language": actor.language, "invite_delivery": person.invite_delivery}
    return Reply((forms.build(SETTINGS, actor.language, values=values),))


@intent("settings.set", policy.SETTINGS_MANAGE)
def set_settings(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """Save both settings at once; the answer is already in the chosen language. E-mail
    invites need an address on the roster: refused next to that field otherwise."""
    form = forms.Submission(ctx, actor, SETTINGS, values)
    with ctx.db.transaction() as session:
        person = _own(session, actor)
        wants_mail = form.has("invite_delivery") and form.clean["invite_delivery"] == "email"
        if wants_mail and not person.email:
            form.fail("invite_delivery", "settings.error.no_email")
        clean = form.done()
        before = {"language": person.language, "invite_delivery": person.invite_delivery}
        person.language = clean["language"]
        person.invite_delivery = clean["invite_delivery"]
        session.add(person)
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="settings.set",
            target_type="person",
            target_id=actor.id,
            before=before,
            after={"language": person.language, "invite_delivery": person.invite_delivery},
        )
    return _saved(clean["language"], clean["invite_delivery"])


def _saved(lang: str, delivery: str) -> Reply:
    blocks: list[Text | Buttons] = [
        Text(t(lang, "settings.saved"), "success"),
        Text(t(lang, "settings.summary", language=t(lang, f"choice.language.{lang}"))),
        Text(t(lang, f"settings.delivery.{delivery}")),
    ]
    if delivery == "feed":  # the feed is now their only calendar: offer its URL at once
        blocks.append(Buttons((Button("calendar.feed", t(lang, "feed.menu")),)))
    return Reply(tuple(blocks))


def _own(session: Any, actor: Actor) -> Person:
    person = people.get(session, actor.id)
    if person is None or not person.active:
        raise Refused("refusal.not_allowed", target_type="person", target_id=actor.id)
    return person
