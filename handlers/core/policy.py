"""Who may do what, declared once and checked in one place (R2, R16).

Roles are those of `Actor.roles`: municipal, prefecture, approver, consultant, lead,
admin. Each permission below names the roles that hold it and its ownership rules, each
binding some of those roles (`BINDS`):
`Owner.TOWN` — municipal staff act only within their own municipality; `Owner.ASSIGNED` —
consultants act only on engagements, requests and sessions they are assigned to;
`Owner.SERVED` — consultants look only at the towns they serve; `Owner.SELF` — consultants
keep only their own diary (the prefecture names whose); `Owner.ENTERED` — besides the town's
own staff, only whoever entered a request answers for it or amends it; `Owner.ADDRESSEE` —
everyone acts only on what is addressed to them (their notice, a session they are invited to).

An intent declares which permissions it needs (`handlers.core.intents.intent`, whose
`Declaration` lands on the function): the role check runs there, before the intent,
through `permit`; the ownership rule needs the record and is checked by `owns` once the
intent has read it (`holds` asks the same as a question, for a button; `binds` whether a
rule limits an actor at all, e.g. the town's staff and their notice deadline). Menus and
buttons ask `allowed` with the intent itself (or a permission), never with a name spelled
again; no handler compares a role next to a refusal (tests/test_intents.py scans for it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import Enum, Flag, auto
from typing import Any

from handlers.core.actor import Actor
from handlers.core.errors import Refused

MUNICIPAL, PREFECTURE, APPROVER, CONSULTANT, ADMIN = (
    "municipal",
    "prefecture",
    "approver",
    "consultant",
    "admin",
)


class Owner(Flag):
    """Which ownership rules a permission carries, beyond its roles."""

    NONE = 0
    TOWN = auto()  # municipal staff: their own municipality only
    ASSIGNED = auto()  # consultants: what they are assigned to only
    SERVED = auto()  # consultants: the towns they serve only
    SELF = auto()  # consultants: their own diary only
    ENTERED = auto()  # all but the town's staff: requests they entered only
    ADDRESSEE = auto()  # everyone: what is addressed to them only


# Whom each rule binds, by the actor's roles: the one place outside the permission table
# where a role decides anything (ENTERED binds all but the town's staff, whom TOWN binds).
BINDS: dict[Owner, Callable[[frozenset[str]], bool]] = {
    Owner.TOWN: lambda roles: MUNICIPAL in roles,
    Owner.ASSIGNED: lambda roles: CONSULTANT in roles,
    Owner.SERVED: lambda roles: CONSULTANT in roles,
    Owner.SELF: lambda roles: CONSULTANT in roles,
    Owner.ENTERED: lambda roles: MUNICIPAL not in roles,
    Owner.ADDRESSEE: lambda roles: True,
}


@dataclass(frozen=True)
class Permission:
    name: str
    roles: frozenset[str]
    owner: Owner = Owner.NONE


PERMISSIONS: dict[str, Permission] = {}


def _permission(name: str, *roles: str, owner: Owner = Owner.NONE) -> Permission:
    assert name not in PERMISSIONS, name
    PERMISSIONS[name] = Permission(name, frozenset(roles), owner)
    return PERMISSIONS[name]


EVERYONE = (MUNICIPAL, PREFECTURE, CONSULTANT, ADMIN)
TOWN, ASSIGNED, SEEN = Owner.TOWN, Owner.ASSIGNED, Owner.TOWN | Owner.ASSIGNED
ENTERED, SERVED, SELF, ADDRESSEE = Owner.ENTERED, Owner.SERVED, Owner.SELF, Owner.ADDRESSEE

REQUEST_SUBMIT = _permission("request.submit", MUNICIPAL, PREFECTURE, CONSULTANT, owner=TOWN)
REQUEST_SUBMIT_ON_BEHALF = _permission("request.submit_on_behalf", PREFECTURE, CONSULTANT)
REQUEST_VIEW = _permission("request.view", MUNICIPAL, PREFECTURE, CONSULTANT, owner=SEEN)
REQUEST_AMEND = _permission(
    "request.amend", MUNICIPAL, PREFECTURE, CONSULTANT, owner=SEEN | ENTERED
)
REQUEST_ANSWER_INFO = _permission(
    "request.answer_info", MUNICIPAL, PREFECTURE, CONSULTANT, owner=SEEN | ENTERED
)
REQUEST_CANCEL = _permission("request.cancel", MUNICIPAL, APPROVER, owner=SEEN)
APPROVAL_QUEUE = _permission("approval.queue", PREFECTURE)
REQUEST_ASK_INFO = _permission("request.ask_info", APPROVER, owner=SEEN)
REQUEST_APPROVE = _permission("request.approve", APPROVER, owner=SEEN)
REQUEST_DECLINE = _permission("request.decline", APPROVER, owner=SEEN)
BPR_APPLY = _permission("bpr.apply", MUNICIPAL, PREFECTURE, owner=TOWN)
BPR_VIEW = _permission("bpr.view", MUNICIPAL, PREFECTURE, CONSULTANT, owner=SEEN)
BPR_GOAL = _permission("bpr.goal", MUNICIPAL, PREFECTURE, CONSULTANT, owner=SEEN)
BPR_STEP = _permission("bpr.step", PREFECTURE, CONSULTANT, owner=SEEN)
SESSION_BOOK = _permission("session.book", PREFECTURE, CONSULTANT)
# to view is the intent's own rule (what it lists); to answer an invitation, its invitee
SESSION_VIEW = _permission("session.view", MUNICIPAL, PREFECTURE, CONSULTANT, owner=ADDRESSEE)
SESSION_CHANGE = _permission("session.change", MUNICIPAL, PREFECTURE, owner=TOWN)
SESSION_DETAILS = _permission("session.details", PREFECTURE, CONSULTANT, owner=ASSIGNED)
SLOTS_PICK = _permission("slots.pick", MUNICIPAL, PREFECTURE, owner=TOWN)
AVAILABILITY_MANAGE = _permission("availability.manage", PREFECTURE, CONSULTANT, owner=SELF)
PLAN_MANAGE = _permission("plan.manage", PREFECTURE)
CHECKIN_ANSWER = _permission("checkin.answer", MUNICIPAL, PREFECTURE, owner=TOWN)
LOG_FILE = _permission("log.file", CONSULTANT, owner=ASSIGNED)
MINUTES_FILE = _permission("minutes.file", CONSULTANT, owner=ASSIGNED)
QUOTA_VIEW = _permission("quota.view", PREFECTURE, CONSULTANT, ADMIN)
ROSTER_MANAGE = _permission("roster.manage", ADMIN)
NOTICES_VIEW = _permission("notices.view", *EVERYONE, owner=ADDRESSEE)
HELP_VIEW = _permission("help.view", *EVERYONE)
CALENDAR_FEED = _permission("calendar.feed", *EVERYONE)
CALENDAR_REVOKE = _permission("calendar.revoke", *EVERYONE)
SETTINGS_MANAGE = _permission("settings.manage", *EVERYONE)
REPORT_REQUEST = _permission("report.request", PREFECTURE)
CASEBOOK_SEARCH = _permission("casebook.search", *EVERYONE)
CASE_REVIEW = _permission("case.review", PREFECTURE)
# the desk's pages (issue #19); a consultant's towns are those they serve, see handlers.desk.views
DESK_DASHBOARD = _permission("desk.dashboard", PREFECTURE, CONSULTANT, ADMIN)
DESK_CALENDAR = _permission("desk.calendar", *EVERYONE, owner=TOWN | SERVED)
DESK_TOWN = _permission("desk.town", *EVERYONE, owner=TOWN | SERVED)
DESK_AUDIT = _permission("desk.audit", PREFECTURE, ADMIN)
DESK_LINK = _permission("desk.link", *EVERYONE)


@dataclass(frozen=True)
class Declaration:
    """An intent as declared by its decorator: the name it is routed and audited under,
    the permissions it needs (all of them; none: anyone on the roster), and what the id
    in its first argument names, so that a refusal before it runs is audited against it."""

    name: str
    needs: tuple[Permission, ...] = ()
    target: str | None = None


def declaration(function: Callable[..., Any]) -> Declaration:
    """The declaration an intent's decorator attached (AttributeError for a plain function)."""
    found = function.declaration  # type: ignore[attr-defined]
    assert isinstance(found, Declaration)
    return found


def allowed(actor: Actor, what: Permission | Callable[..., Any]) -> bool:
    """Whether `actor`'s roles admit a permission, or every permission an intent needs
    (whether to offer its button; the intent checks again when pressed)."""
    if isinstance(what, Permission):
        return bool(actor.roles & what.roles)
    return all(actor.roles & need.roles for need in declaration(what).needs)


def permit(actor: Actor, declared: Declaration, target_id: int | str | None = None) -> None:
    """The role check, made once by the intent's decorator before the intent runs."""
    for need in declared.needs:
        if not actor.roles & need.roles:
            raise Refused(
                "refusal.not_allowed",
                target_type=declared.target if target_id is not None else None,
                target_id=target_id,
                intent=need.name,
            )


class _Unsaid(Enum):
    """A fact the caller did not give (None may be a fact: a request nobody entered)."""

    UNSAID = auto()


UNSAID = _Unsaid.UNSAID


def binds(actor: Actor, permission: Permission, rule: Owner) -> bool:
    """Whether `permission` carries `rule` and the rule limits `actor` (`BINDS`): e.g. the
    town's staff, bound by TOWN, change a session only within the town's limits."""
    return rule in permission.owner and BINDS[rule](actor.roles)


def owns(
    actor: Actor,
    permission: Permission,
    *,
    municipality_id: int | None = None,
    assigned: Collection[int] | None = None,
    served: Collection[int] | None = None,
    person: int | str | None = None,
    entered_by: int | _Unsaid | None = UNSAID,
    addressees: Collection[int] | None = None,
    target_type: str | None = None,
    target_id: int | str | None = None,
) -> None:
    """The ownership rules `permission` declares, for the record the intent has read: its
    municipality, who is assigned to it, the towns a consultant serves, whose diary it is
    (`person`), who entered it, to whom it is addressed. A fact the rules do not speak of
    is a mistake in the caller, not something to skip silently. The roles are checked
    again too, so a helper shared by intents cannot lend one intent's rule to another's
    roles. Each rule refuses with its own key; the first broken one is the refusal."""
    given = {
        Owner.TOWN: municipality_id is not None,
        Owner.ASSIGNED: assigned is not None,
        Owner.SERVED: served is not None,
        Owner.SELF: person is not None,
        Owner.ENTERED: entered_by is not UNSAID,
        Owner.ADDRESSEE: addressees is not None,
    }
    for rule, spoken in given.items():
        if spoken and rule not in permission.owner:
            raise TypeError(f"{permission.name} declares no rule about {_ABOUT[rule]}")
    if served is not None and municipality_id is None:
        raise TypeError("the towns served are asked about one municipality")
    if not allowed(actor, permission):
        raise Refused(
            "refusal.not_allowed",
            target_type=target_type,
            target_id=target_id,
            intent=permission.name,
        )
    where = {"target_type": target_type, "target_id": target_id}
    bound = {rule: spoken and binds(actor, permission, rule) for rule, spoken in given.items()}
    if bound[Owner.TOWN] and actor.municipality_id != municipality_id:
        raise Refused("refusal.other_municipality", **where)
    if bound[Owner.ASSIGNED] and actor.id not in (assigned or ()):
        raise Refused("refusal.not_assigned", **where)
    if bound[Owner.SERVED] and municipality_id not in (served or ()):
        raise Refused("refusal.not_assigned", **where)
    if bound[Owner.SELF] and str(person) != str(actor.id):
        raise Refused("refusal.not_allowed", **where)
    if bound[Owner.ENTERED] and entered_by != actor.id:
        raise Refused("refusal.not_yours", **where)
    if bound[Owner.ADDRESSEE] and actor.id not in (addressees or ()):
        raise Refused("refusal.not_allowed", **where)


def holds(actor: Actor, permission: Permission, **facts: Any) -> bool:
    """`owns` as a question (whether to offer a button; pressing it asks `owns` again)."""
    try:
        owns(actor, permission, **facts)
    except Refused:
        return False
    return True


_ABOUT = {
    Owner.TOWN: "the municipality",
    Owner.ASSIGNED: "who is assigned",
    Owner.SERVED: "the towns served",
    Owner.SELF: "whose diary it is",
    Owner.ENTERED: "who entered it",
    Owner.ADDRESSEE: "to whom it is addressed",
}
