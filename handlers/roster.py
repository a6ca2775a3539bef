"""Who is who: turning a chat user into an Actor, and the admin's roster."""

from __future__ import annotations

from typing import Any

from handlers import forms, policy
from handlers.actor import Actor
from handlers.common import municipality_choices
from handlers.context import Context
from handlers.core import intent
from handlers.errors import Invalid, Refused
from handlers.forms import FieldSpec, FormSpec
from handlers.i18n import t
from handlers.reply import Reply, Text
from storage import audit, people
from storage.models import Person, Role

QUALIFICATIONS = ("itc", "fe", "ap")
PERSON = FormSpec(
    "roster.add",
    "form.person.title",
    (
        FieldSpec("name", max_length=100),
        FieldSpec("role", "select", choices=tuple(r.value for r in Role)),
        FieldSpec("email", required=False, max_length=200),
        FieldSpec("title", required=False, max_length=100),
        FieldSpec("municipality", "select", required=False),
        FieldSpec("department", required=False, max_length=100),
        FieldSpec("approver", "select", required=False, choices=("yes", "no")),
        FieldSpec("lead", "select", required=False, choices=("yes", "no")),
        FieldSpec("qualifications", "multiselect", required=False, choices=QUALIFICATIONS),
    ),
)


def identify(
    ctx: Context, platform: str, platform_user_id: str, *, inbound: bool = True
) -> Actor | None:
    """The registered person behind a chat account, or None (the adapter then explains).

    `inbound`: the person is using DX Desk from this platform now, so it becomes the one
    their notices go to (people.notified_on); written only when it changes, so the usual
    call stays one read. Pass False for lookups that are not the person's doing (a
    deliverer finding a notice's recipient)."""
    with ctx.db.transaction() as session:
        person = people.by_identity(session, platform, platform_user_id)
        if person is None:
            return None
        if inbound and person.notify_platform != platform:
            person.notify_platform = platform
            session.add(person)
        return Actor.from_person(person, ctx.rules.language)


def hand_over(ctx: Context, platform: str, platform_user_id: str) -> bool:
    """Whether a notice `platform` cannot deliver (Teams can write only to those who have
    written to the bot) goes to another platform of the person's instead: it does when
    they have never used DX Desk anywhere (from now on, their earliest other platform),
    or when their notices go elsewhere already (a second notice claimed in the same
    batch as the first)."""
    with ctx.db.transaction() as session:
        person = people.by_identity(session, platform, platform_user_id)
        if person is None or person.id is None:
            return False
        others = [p for p in people.platforms_of(session, person.id) if p != platform]
        if not others:
            return False
        if person.notify_platform is None:
            person.notify_platform = others[0]
            session.add(person)
            return True
        return person.notify_platform in others


def find(ctx: Context, key: str) -> list[Actor]:
    with ctx.db.transaction() as session:
        return [
            Actor.from_person(p, ctx.rules.language) for p in people.find(session, key) if p.active
        ]


def unknown_user(language: str) -> Reply:
    return Reply((Text(t(language, "identity.unknown"), "error"),), ok=False)


def add_person(ctx: Context, values: dict[str, Any], actor_id: int | None = None) -> Person:
    """Validate and store a person; used by the admin intent and the `roster add` command."""
    lang = ctx.rules.language
    with ctx.db.transaction() as session:
        choices = {"municipality": municipality_choices(session)}
        clean = forms.validate(
            PERSON, lang, values, today=ctx.clock.now().date(), rules=ctx.rules, choices=choices
        )
        role = Role(clean["role"])
        errors = {}
        if role == Role.MUNICIPAL and not (clean.get("municipality") and clean.get("department")):
            errors["municipality"] = t(
                lang, "error.municipal_needs_place", field=t(lang, "field.municipality")
            )
        if role != Role.MUNICIPAL and clean.get("municipality"):
            errors["municipality"] = t(
                lang, "error.only_municipal", field=t(lang, "field.municipality")
            )
        if clean.get("email") and people.find(session, clean["email"]):
            errors["email"] = t(lang, "error.duplicate", field=t(lang, "field.email"))
        if errors:
            raise Invalid(
                errors, forms.build(PERSON, lang, choices=choices).with_errors(values, errors)
            )
        person = people.add(
            session,
            Person(
                name=clean["name"],
                role=role,
                email=clean.get("email"),
                title=clean.get("title"),
                municipality_id=int(clean["municipality"]) if role == Role.MUNICIPAL else None,
                department=clean.get("department") if role == Role.MUNICIPAL else None,
                is_approver=role == Role.PREFECTURE and clean.get("approver") == "yes",
                is_lead=role == Role.CONSULTANT and clean.get("lead") == "yes",
                is_admin=role == Role.ADMIN,
                qualifications=clean.get("qualifications") or [],
            ),
        )
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor_id,
            action="roster.add",
            target_type="person",
            target_id=person.id,
            after={"role": role.value, "municipality_id": person.municipality_id},
        )
        return person


@intent("roster.add")
def add(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    policy.require(actor, "roster.manage")
    person = add_person(ctx, values, actor.id)
    return Reply(
        (Text(t(actor.language, "roster.added", name=person.name), "success"),),
        data={"person_id": person.id},
    )


@intent("roster.form")
def add_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    policy.require(actor, "roster.manage")
    with ctx.db.transaction() as session:
        choices = {"municipality": municipality_choices(session)}
    return Reply((forms.build(PERSON, actor.language, choices=choices),))


def link_by_email(ctx: Context, platform: str, platform_user_id: str, email: str) -> Actor | None:
    """Link a chat account to the registered person with this e-mail, if there is one.

    The platform vouches for the address (Slack's users.info, Teams' AAD profile)."""
    with ctx.db.transaction() as session:
        person = people.by_email(session, email)
        if person is None or person.id is None:
            return None
        people.link_identity(session, person.id, platform, platform_user_id)
        person.notify_platform = platform  # first contact: they are using this platform
        session.add(person)
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=person.id,
            action="roster.link",
            target_type="person",
            target_id=person.id,
            after={"platform": platform},
            detail="email",
        )
        return Actor.from_person(person, ctx.rules.language)


def link_account(
    ctx: Context, person_id: int, platform: str, platform_user_id: str, *, force: bool = False
) -> None:
    """Link a chat account to a person (the admin's `roster link`). An account already
    linked to someone else is refused unless `force`: moving it changes who that chat
    user acts as, so the move is audited with the previous owner."""
    with ctx.db.transaction() as session:
        current = people.by_identity(session, platform, platform_user_id)
        if current is not None and current.id != person_id and not force:
            raise Refused(
                "refusal.account_taken",
                target_type="person",
                target_id=person_id,
                name=current.name,
            )
        people.link_identity(session, person_id, platform, platform_user_id)
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=None,
            action="roster.link",
            target_type="person",
            target_id=person_id,
            before={"person_id": current.id if current else None},
            after={"person_id": person_id, "platform": platform},
        )
