"""The one error path, and where an intent is declared: every intent runs inside
`intent`, which checks its permissions first (`handlers.core.policy.permit`), then turns
refusals into a friendly reply (audited), bad input into the form with its errors, and
anything unexpected into "something went wrong (ref …)" plus a log line with the traceback.

`@intent("request.approve", policy.REQUEST_APPROVE, target="request")` is the whole
declaration: the name the router routes and the audit log records, the permissions (their
roles and ownership rules live in `handlers.core.policy`), and what the id in the intent's
first argument (a button's or form's payload) names. The router, the menu and the buttons
refer to the function, which carries its `policy.Declaration`.

A rule the record holds in storage (`storage.rules.Broken`) is refused here like any
other refusal; a refusal a form turned into field errors (`Invalid.refusal`) is
still audited."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from handlers.core import payloads, policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Invalid, Refused, logged
from handlers.core.i18n import t
from handlers.core.reply import Block, Buttons, Reply, Text
from storage import audit
from storage.rules import Broken

log = logging.getLogger("dxdesk")
P = ParamSpec("P")
Intent = Callable[Concatenate[Context, Actor, P], Reply]


def intent(
    name: str, *needs: policy.Permission, target: str | None = None
) -> Callable[[Intent[P]], Intent[P]]:
    """Declare an intent: its name, the permissions it needs (all of them; none for what
    anyone on the roster may do, such as the menu) and what its payload's id names."""
    declared = policy.Declaration(name, needs, target)

    def decorate(function: Intent[P]) -> Intent[P]:
        @functools.wraps(function)
        def run(ctx: Context, actor: Actor, /, *args: P.args, **kwargs: P.kwargs) -> Reply:
            try:
                policy.permit(actor, declared, target_of(declared, args))
                return function(ctx, actor, *args, **kwargs)
            except (Refused, Broken) as error:
                refusal = error if isinstance(error, Refused) else refused_by_rule(error)
                if refusal.audit:
                    record_refusal(ctx, actor, name, refusal)
                return refusal_reply(actor.language, refusal)
            except Invalid as invalid:
                if invalid.refusal is not None and invalid.refusal.audit:
                    record_refusal(ctx, actor, name, invalid.refusal)
                return invalid_reply(actor.language, invalid)
            except Exception:
                return unexpected_reply(actor.language, name)

        run.declaration = declared  # type: ignore[attr-defined]
        return run

    return decorate


def target_of(declared: policy.Declaration, args: tuple[Any, ...]) -> int | str | None:
    """The id a refusal before the intent runs is audited against: the declared target's
    id, from the first argument (a payload, or the id itself). A payload that does not
    parse names nothing here; the intent refuses it itself when it reads it."""
    if declared.target is None or not args:
        return None
    first = args[0]
    if isinstance(first, int):
        return first
    if not isinstance(first, str):
        return None
    try:
        return payloads.decode(first).id
    except Refused:
        return None


def record_refusal(ctx: Context, actor: Actor | None, name: str, refusal: Refused) -> None:
    """Written in a transaction of its own: the refused change itself was rolled back."""
    with ctx.db.transaction() as session:
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id if actor else None,
            action=name,
            outcome="refused",
            target_type=refusal.target_type,
            target_id=refusal.target_id,
            detail=refusal.key,
        )


def refused_by_rule(broken: Broken) -> Refused:
    """A storage rule's refusal, as the handlers' own."""
    return Refused(
        broken.key, target_type=broken.target_type, target_id=broken.target_id, **broken.params
    )


def refusal_reply(language: str, refusal: Refused) -> Reply:
    blocks: list[Block] = [Text(refusal.text(language), "error")]
    blocks.extend(Text(more.text(language), "error") for more in refusal.also)
    if refusal.buttons:
        blocks.append(Buttons(refusal.buttons))
    return Reply(tuple(blocks), ok=False, data={"refusal": refusal.key})


def invalid_reply(language: str, invalid: Invalid) -> Reply:
    blocks: list[Any] = [Text(t(language, "error.invalid_input"), "error")]
    blocks.extend(Text(message, "error") for message in invalid.errors.values())
    if invalid.form is not None:
        blocks.append(invalid.form)
    data: dict[str, Any] = {"errors": invalid.errors}
    if invalid.refusal is not None:
        data["refusal"] = invalid.refusal.key
    return Reply(tuple(blocks), ok=False, data=data)


def unexpected_reply(language: str, name: str) -> Reply:
    reference = logged(log, "unexpected error in %s", name)
    return Reply((Text(t(language, "error.unexpected", ref=reference), "error"),), ok=False)
