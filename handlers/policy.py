"""Who may do what, declared once and checked in one place (R2, R16).

Roles are those of `Actor.roles`: municipal, prefecture, approver, consultant, lead,
admin. Ownership rules: municipal staff act only within their own municipality;
consultants act on engagements and sessions they are assigned to.
"""

from __future__ import annotations

from collections.abc import Collection

from handlers.actor import Actor
from handlers.errors import Refused

MUNICIPAL, PREFECTURE, APPROVER, CONSULTANT, ADMIN = (
    "municipal",
    "prefecture",
    "approver",
    "consultant",
    "admin",
)

PERMISSIONS: dict[str, frozenset[str]] = {
    "request.submit": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT}),
    "request.submit_on_behalf": frozenset({PREFECTURE, CONSULTANT}),
    "request.view": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT}),
    "request.amend": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT}),
    "request.answer_info": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT}),
    "request.cancel": frozenset({MUNICIPAL, APPROVER}),
    "approval.queue": frozenset({PREFECTURE}),
    "request.ask_info": frozenset({APPROVER}),
    "request.approve": frozenset({APPROVER}),
    "request.decline": frozenset({APPROVER}),
    "bpr.apply": frozenset({MUNICIPAL, PREFECTURE}),
    "bpr.view": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT}),
    "bpr.goal": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT}),
    "bpr.step": frozenset({PREFECTURE, CONSULTANT}),
    "session.book": frozenset({PREFECTURE, CONSULTANT}),
    "session.view": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT}),
    "session.change": frozenset({MUNICIPAL, PREFECTURE}),
    "session.details": frozenset({PREFECTURE, CONSULTANT}),
    "slots.pick": frozenset({MUNICIPAL, PREFECTURE}),
    "availability.manage": frozenset({PREFECTURE, CONSULTANT}),
    "plan.manage": frozenset({PREFECTURE}),
    "checkin.answer": frozenset({MUNICIPAL, PREFECTURE}),
    "log.file": frozenset({CONSULTANT}),
    "minutes.file": frozenset({CONSULTANT}),
    "quota.view": frozenset({PREFECTURE, CONSULTANT, ADMIN}),
    "roster.manage": frozenset({ADMIN}),
    "notices.view": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT, ADMIN}),
    "help.view": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT, ADMIN}),
    "calendar.feed": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT, ADMIN}),
    "calendar.revoke": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT, ADMIN}),
    "settings.manage": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT, ADMIN}),
    "report.request": frozenset({PREFECTURE}),
    "casebook.search": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT, ADMIN}),
    "case.review": frozenset({PREFECTURE}),
    # the desk's pages (issue #19); towns as in `require`, see handlers.desk_views
    "desk.dashboard": frozenset({PREFECTURE, CONSULTANT, ADMIN}),
    "desk.calendar": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT, ADMIN}),
    "desk.town": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT, ADMIN}),
    "desk.audit": frozenset({PREFECTURE, ADMIN}),
    "desk.link": frozenset({MUNICIPAL, PREFECTURE, CONSULTANT, ADMIN}),
}


def allowed(actor: Actor, intent: str) -> bool:
    return bool(actor.roles & PERMISSIONS[intent])


def require(
    actor: Actor,
    intent: str,
    *,
    municipality_id: int | None = None,
    assigned: Collection[int] | None = None,
    target_type: str | None = None,
    target_id: int | str | None = None,
) -> None:
    """Raise `Refused` (audited by the caller's error path) unless `actor` may do it."""
    if not allowed(actor, intent):
        raise Refused(
            "refusal.not_allowed", target_type=target_type, target_id=target_id, intent=intent
        )
    if (
        municipality_id is not None
        and MUNICIPAL in actor.roles
        and actor.municipality_id != municipality_id
    ):
        raise Refused("refusal.other_municipality", target_type=target_type, target_id=target_id)
    if assigned is not None and actor.role == CONSULTANT and actor.id not in assigned:
        raise Refused("refusal.not_assigned", target_type=target_type, target_id=target_id)
