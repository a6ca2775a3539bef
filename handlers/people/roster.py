"""Who is who: turning a chat user into an Actor, and the admin's roster."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from handlers.core import forms, policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Invalid, Refused
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.i18n import format_when, t
from handlers.core.intents import intent
from handlers.core.lookups import municipality_choices
from handlers.core.reply import Choice, Form, Reply, Text
from handlers.desk import signin
from storage import audit, people, sessions
from storage.models import Person, Role, SupportSession

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


@intent("roster.add", policy.ROSTER_MANAGE)
def add(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    person = add_person(ctx, values, actor.id)
    return Reply(
        (Text(t(actor.language, "roster.added", name=person.name), "success"),),
        data={"person_id": person.id},
    )


@intent("roster.form", policy.ROSTER_MANAGE)
def add_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
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
    ctx: Context,
    person_id: int,
    platform: str,
    platform_user_id: str,
    *,
    force: bool = False,
    actor_id: int | None = None,
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
            actor_id=actor_id,
            action="roster.link",
            target_type="person",
            target_id=person_id,
            before={"person_id": current.id if current else None},
            after={"person_id": person_id, "platform": platform},
        )


# -- the desk's roster page: edit, deactivate, link and merge --------------------------
PLATFORMS = ("slack", "teams")
EDIT = FormSpec(
    "roster.edit",
    "form.roster_edit.title",
    (
        FieldSpec("person", "select"),
        FieldSpec("name", required=False, max_length=100),
        FieldSpec("email", required=False, max_length=200),
        FieldSpec("title", required=False, max_length=100),
        FieldSpec("department", required=False, max_length=100),
        FieldSpec("approver", "select", required=False, choices=("yes", "no")),
        FieldSpec("lead", "select", required=False, choices=("yes", "no")),
    ),
    submit="button.save",
)
DEACTIVATE = FormSpec(
    "roster.deactivate",
    "form.roster_deactivate.title",
    (FieldSpec("person", "select"), FieldSpec("roster_active", "select", choices=("no", "yes"))),
    submit="button.save",
)
LINK = FormSpec(
    "roster.link",
    "form.roster_link.title",
    (
        FieldSpec("person", "select"),
        FieldSpec("platform", "select", choices=PLATFORMS),
        FieldSpec("platform_user_id", max_length=200),
    ),
    submit="button.link",
)
MERGE = FormSpec(
    "roster.merge",
    "form.roster_merge.title",
    (FieldSpec("person", "select"), FieldSpec("duplicate", "select")),
    submit="button.merge",
)
EDITED = ("name", "email", "title", "department", "is_approver", "is_lead", "active")


def person_choices(session: Any) -> list[Choice]:
    return [
        Choice(str(p.id), p.name if p.active else f"{p.name} (-)")
        for p in people.listing_all(session)
    ]


def desk_forms(session: Any, language: str) -> tuple[Form, ...]:
    """The roster page's forms: add, edit, deactivate, link, merge."""
    who = person_choices(session)
    choices = {"municipality": municipality_choices(session), "person": who, "duplicate": who}
    return tuple(
        forms.build(spec, language, choices=choices)
        for spec in (PERSON, EDIT, DEACTIVATE, LINK, MERGE)
    )


def _person(session: Any, form: forms.Submission, name: str = "person") -> Person | None:
    if not form.has(name):
        return None
    return people.get(session, int(form.clean[name]))


@intent("roster.edit", policy.ROSTER_MANAGE)
def edit(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """Change a person's name, address, title, department or flags; what is left blank
    stays. A role or town changes by adding the person anew and merging."""
    lang = actor.language
    with ctx.db.transaction() as session:
        choices = {"person": person_choices(session)}
        form = forms.Submission(ctx, actor, EDIT, values, choices=choices)
        person = _person(session, form)
        if person is not None:
            email = form.clean.get("email")
            if email and any(p.id != person.id for p in people.find(session, email)):
                form.fail("email", "error.duplicate")
            if form.clean.get("approver") == "yes" and person.role != Role.PREFECTURE:
                form.fail("approver", "error.roster_flag_role")
            if form.clean.get("lead") == "yes" and person.role != Role.CONSULTANT:
                form.fail("lead", "error.roster_flag_role")
            if form.clean.get("department") and person.role != Role.MUNICIPAL:
                form.fail("department", "error.only_municipal")
        clean = form.done()
        assert person is not None
        before = audit.snapshot(person, *EDITED)
        for name in ("name", "email", "title", "department"):
            if clean.get(name):
                setattr(person, name, clean[name])
        if clean.get("approver"):
            person.is_approver = clean["approver"] == "yes"
        if clean.get("lead"):
            person.is_lead = clean["lead"] == "yes"
        session.add(person)
        session.flush()
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="roster.edit",
            target_type="person",
            target_id=person.id,
            before=before,
            after=audit.snapshot(person, *EDITED),
        )
    return Reply(
        (Text(t(lang, "roster.edited", name=person.name), "success"),),
        data={"person_id": person.id},
    )


@intent("roster.deactivate", policy.ROSTER_MANAGE)
def deactivate(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """Deactivate a person (they can no longer act or be notified; their record stays),
    or activate them again. Nobody deactivates themselves."""
    lang = actor.language
    with ctx.db.transaction() as session:
        form = forms.Submission(
            ctx, actor, DEACTIVATE, values, choices={"person": person_choices(session)}
        )
        person = _person(session, form)
        active = form.clean.get("roster_active") == "yes"
        if person is not None and person.id == actor.id and not active:
            form.fail("person", "error.roster_self")
        form.done()
        assert person is not None
        before = audit.snapshot(person, "active")
        person.active = active
        session.add(person)
        if not active:  # their desk sessions end now, not at their next page
            signin.end_sessions(session, person.id or 0, ctx.clock.now())
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="roster.deactivate" if not active else "roster.activate",
            target_type="person",
            target_id=person.id,
            before=before,
            after={"active": active},
        )
        ahead = _sessions_ahead(ctx, session, person) if not active else []
    key = "roster.activated" if active else "roster.deactivated"
    blocks: list[Text] = [Text(t(lang, key, name=person.name), "success")]
    if ahead:
        lines = [
            t(
                lang,
                "roster.deactivated_session",
                id=row.id,
                kind=t(lang, f"choice.session_kind.{row.kind}"),
                when=format_when(lang, row.starts_at),
            )
            for row in ahead
        ]
        intro = t(lang, "roster.deactivated_sessions", name=person.name, count=len(ahead))
        blocks.append(Text("\n".join([intro, *lines]), "error"))
    return Reply(tuple(blocks), data={"person_id": person.id, "sessions_ahead": len(ahead)})


def _sessions_ahead(ctx: Context, session: Session, person: Person) -> list[SupportSession]:
    """A consultant's live sessions still to come: deactivating them leaves these to be
    re-staffed or cancelled, which the administrator is told at once (and
    `python -m bot check` keeps naming until it is done)."""
    if person.role != Role.CONSULTANT or person.id is None:
        return []
    return sessions.listing(session, start=ctx.clock.now(), consultant_id=person.id)


@intent("roster.link", policy.ROSTER_MANAGE)
def link(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """Link a chat account to a person (as `roster link` does); an account linked to
    someone else is refused next to its field."""
    lang = actor.language
    with ctx.db.transaction() as session:
        form = forms.Submission(
            ctx, actor, LINK, values, choices={"person": person_choices(session)}
        )
    clean = form.done()
    person_id = int(clean["person"])
    try:
        link_account(
            ctx, person_id, clean["platform"], clean["platform_user_id"], actor_id=actor.id
        )
    except Refused as refusal:
        refusal.field = "platform_user_id"
        with form.refusals():
            raise refusal from None
    return Reply(
        (Text(t(lang, "roster.linked", platform=clean["platform"]), "success"),),
        data={"person_id": person_id},
    )


@intent("roster.merge", policy.ROSTER_MANAGE)
def merge(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """Merge a duplicate person into the one kept: their sessions, requests, logs, chat
    accounts and the rest move over (`storage.people.merge`), the duplicate is
    deactivated; the audit log keeps who did what under the duplicate's id."""
    lang = actor.language
    with ctx.db.transaction() as session:
        who = person_choices(session)
        form = forms.Submission(
            ctx, actor, MERGE, values, choices={"person": who, "duplicate": who}
        )
        keep, drop = _person(session, form), _person(session, form, "duplicate")
        if keep is not None and drop is not None:
            if keep.id == drop.id:
                form.fail("duplicate", "error.roster_same_person")
            elif (keep.role, keep.municipality_id) != (drop.role, drop.municipality_id):
                form.fail("duplicate", "error.roster_merge_role")
        form.done()
        assert keep is not None and drop is not None and keep.id and drop.id
        moved = people.merge(session, keep.id, drop.id)
        drop.active = False
        session.add(drop)
        signin.end_sessions(session, drop.id, ctx.clock.now())
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="roster.merge",
            target_type="person",
            target_id=keep.id,
            before={"duplicate": drop.id},
            after=moved,
        )
    return Reply(
        (Text(t(lang, "roster.merged", name=keep.name, duplicate=drop.name), "success"),),
        data={"person_id": keep.id, "moved": moved},
    )
