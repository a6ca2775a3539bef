"""The request's card in the prefecture's approval channel, on every platform.

What the card shows (`card`, `public_card` for platforms that give each viewer their own
version, `staff_card` for an approver opening theirs), which actions change it, and the
one sequence that keeps it: reserve → post → fill (or release when the post failed) →
delete our post when someone else's won; update in place, recording which state of the
request it shows; post missing cards and update stale ones (`keep`, which the deliverers
run); nudge the card's thread about a request left waiting, and add a question and its
answer there. A platform supplies only a `CardChannel` (post, update, delete, reply in a
thread); the sequence and its bookkeeping live here, so the adapters never touch storage
for it. Which actions change a card is read from the intents' own declarations: an
intent's name is spelled once, where it is declared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple, Protocol

from handlers.core import payloads, policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.i18n import t
from handlers.core.intents import intent
from handlers.core.reply import Button, Buttons, Reply, Text
from handlers.intake import decision, submission, workflow
from handlers.intake.decision import REASSIGNABLE
from handlers.intake.submission import decision_buttons, detail, load_visible
from handlers.scheduling import booking
from storage import messages, request_store

log = logging.getLogger("dxdesk.cards")
PURPOSE = "approval"  # what the posted-message rows of approval cards are for
CARD_FAILURES = 3  # in one `keep` run: then the platform itself is failing, not one card


def names(*intents: Callable[..., Reply]) -> tuple[str, ...]:
    """The names these intents are declared under (`@intent`)."""
    return tuple(policy.declaration(function).name for function in intents)


NEW_REQUESTS = names(submission.submit, submission.apply_bpr)
"""Actions that create a request: its card is posted to the approval channel."""
DECISIONS = names(decision.approve, decision.decline, decision.ask_info, decision.reassign)
"""The approvers' actions on a card: their answer is their own view of it, refreshed."""
CHANGES_CARD = (
    *DECISIONS,
    *names(submission.answer, submission.amend, submission.cancel, booking.book),
)
"""Actions after which a request's approval card shows something new."""
THREADED = names(decision.ask_info, submission.answer)
"""Actions whose exchange (the question, its answer) a platform that threads exchanges
adds under the card (`latest_exchange`)."""


class Posted(NamedTuple):
    """Where a card went: the conversation (as the platform names it once posted) and
    the message in it."""

    channel: str
    message_id: str


class NotSent(Exception):
    """One message the platform did not take, already logged by its adapter where that
    platform goes on with the others (Teams' nudges): nothing is recorded, so the next
    run tries it again."""


class ChannelAway(NotSent):
    """The platform cannot reach the approval channel yet (Teams: nobody has written to
    the bot from there, so there is no address): nothing was sent, which is no failure;
    the deliverer tries again on its next run."""


class CardChannel(Protocol):
    """What a platform supplies to keep approval cards: the channel they go to, whether
    it shows each viewer their own version of a card (then everyone gets `public_card`
    and approvers open `staff_card`), whether a question and its answer go in the card's
    thread too (`threads_exchanges`), and how to post, update and delete a message there
    and reply in a card's thread. The methods block (an async platform wraps its calls);
    each raises when the platform refuses, or `ChannelAway` (or `NotSent`)."""

    @property
    def platform(self) -> str: ...

    @property
    def channel(self) -> str | None: ...

    @property
    def per_viewer(self) -> bool: ...

    @property
    def threads_exchanges(self) -> bool: ...

    def post(self, card: Reply) -> Posted: ...

    def update(self, where: Posted, card: Reply) -> None: ...

    def delete(self, where: Posted) -> None: ...

    def reply_in_thread(self, where: Posted, reply: Reply) -> None: ...


def card(ctx: Context, request_id: int, language: str) -> Reply:
    """The request as posted in the prefecture's approval channel: its detail and, while
    undecided, the decision buttons (re-authorised when pressed). Once decided, the same
    card shows who decided and when, without buttons."""
    with ctx.db.transaction() as session:
        request = request_store.get(session, request_id)
        if request is None:
            raise LookupError(request_id)
        blocks = detail(session, language, request)
    buttons = decision_buttons(language, request)
    if request.state in REASSIGNABLE:
        buttons.append(
            Button(
                policy.declaration(decision.reassign_form).name,
                t(language, "button.reassign"),
                payloads.encode(id=request_id),
            )
        )
    if buttons:
        blocks.append(Buttons(tuple(buttons)))
    data = {"request_id": request_id, "state": request.state, "version": request.updated_at}
    return Reply(tuple(blocks), data=data)


def public_card(ctx: Context, request_id: int, language: str) -> Reply:
    """The approval card as everyone in a shared channel sees it, where a platform can
    show each viewer their own version (Teams' user-specific views): the detail without
    the approvers' buttons, and one button that opens an approver's own view."""
    full = card(ctx, request_id, language)
    blocks = tuple(b for b in full.blocks if not isinstance(b, Buttons))
    if len(blocks) < len(full.blocks):
        ref = payloads.encode(id=request_id)
        opens = policy.declaration(staff_card).name
        blocks += (Buttons((Button(opens, t(language, "button.staff_view"), ref),)),)
        return Reply(blocks, data={**full.data, "staff_view": True})
    return Reply(blocks, data=full.data)


@intent("request.card", policy.REQUEST_APPROVE, target="request")
def staff_card(ctx: Context, actor: Actor, ref: str) -> Reply:
    """An approver's own view of a shared approval card, read afresh from the database
    each time it is shown (so a decision taken elsewhere shows too)."""
    request_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        load_visible(session, actor, request_id, policy.REQUEST_APPROVE)
    return card(ctx, request_id, actor.language)


def latest_exchange(ctx: Context, request_id: int, language: str) -> Reply:
    """The newest question on a request and its answer, for the approval thread."""
    with ctx.db.transaction() as session:
        asked = request_store.questions(session, request_id)
        request = request_store.get(session, request_id)
    if not asked or request is None:
        return Reply(())
    last = asked[-1]
    lines = [t(language, "question.line", question=last.question)]
    if last.answer:
        lines.append(t(language, "answer.line", answer=last.answer))
    return Reply(
        (Text(t(language, "thread.exchange", number=request.number)), Text("\n".join(lines)))
    )


# -- the sequence every platform shares ----------------------------------------------------
def shown_in(ctx: Context, channel: CardChannel, request_id: int) -> Reply:
    """The card as this platform's channel shows it to everyone."""
    language = ctx.rules.language
    if channel.per_viewer:
        return public_card(ctx, request_id, language)
    return card(ctx, request_id, language)


def post(ctx: Context, channel: CardChannel, request_id: int) -> bool:
    """The request's card in the approval channel, posted once however many try (the
    action that created the request, and the deliverers of any number of instances,
    race): only the caller holding the reservation posts; a post that fails gives the
    reservation back (the next run posts it); a post whose reservation was taken over
    while it stalled is a duplicate and is deleted. True when this call posted it."""
    where = channel.channel
    token = reserve_card(ctx, channel.platform, request_id, where) if where else None
    if not token:
        return False  # no channel, or posted (or being posted) by someone else
    try:
        shown = shown_in(ctx, channel, request_id)
        posted = channel.post(shown)
    except ChannelAway:
        release_card(ctx, token)
        return False
    except Exception:  # not BaseException: an interrupted process writes nothing more; its
        release_card(ctx, token)  # reservation lapses like a dead poster's (messages.reserve)
        raise
    if fill_card(ctx, token, posted.channel, posted.message_id, shown):
        return True
    log.warning(
        "%s approval card for request %s posted twice: deleting ours", channel.platform, request_id
    )
    channel.delete(posted)
    return False


def update(ctx: Context, channel: CardChannel, request_id: int) -> Posted | None:
    """Show the request's present state (a decision: who, when) in its posted card, in
    place. Where the card is, when it was updated; None when there is no card yet (or
    its channel cannot be reached now). A failed update backs off and is raised."""
    with ctx.db.transaction() as session:
        row = messages.find(
            session, platform=channel.platform, purpose=PURPOSE, target_id=request_id
        )
    if row is None or row.id is None:
        return None
    where = Posted(row.channel, row.message_id)
    shown = shown_in(ctx, channel, request_id)
    try:
        channel.update(where, shown)
    except ChannelAway:
        return None
    except Exception:  # not BaseException: an interrupted process writes nothing more; the
        card_not_updated(ctx, row.id)  # card stays stale and the next run updates it
        raise
    card_shown(ctx, row.id, shown)
    return where


def after(ctx: Context, channel: CardChannel, action: str, request_id: int) -> Posted | None:
    """Keep the card current after an action that took effect: posted for a new request,
    updated for anything that changes it, and a question or its answer added in its
    thread where the platform threads them. Where the card is, when it was updated."""
    if action in NEW_REQUESTS:
        post(ctx, channel, request_id)
        return None
    if action not in CHANGES_CARD:
        return None
    where = update(ctx, channel, request_id)
    if where is not None and action in THREADED and channel.threads_exchanges:
        note = latest_exchange(ctx, request_id, ctx.rules.language)
        channel.reply_in_thread(where, note)
    return where


def changes_card(action: str) -> bool:
    """Whether `after` has anything to do for this action."""
    return action in NEW_REQUESTS or action in CHANGES_CARD


Attempt = Callable[[Callable[[], Any], int], bool]
"""Runs one card's step (for the request id given) at the process's edge, which logs a
failure with its reference: whether it went. Handlers catch no more than they expect."""


def keep(ctx: Context, channel: CardChannel, attempt: Attempt) -> None:
    """Post the cards still missing on this platform and update the stale ones, each step
    run through the deliverer's `attempt`. One card that keeps failing (deleted, its
    channel archived) backs off on its own and does not hold up the rest; CARD_FAILURES
    failures in one run mean the platform is failing, and the next run tries again. Posts
    and updates fail separately (a post too big for the platform must not starve the
    updates)."""
    platform = channel.platform
    steps: tuple[tuple[Callable[[Context, CardChannel, int], Any], list[int]], ...] = (
        (post, without_card(ctx, platform)),
        (update, stale_cards(ctx, platform)),
    )
    for step, request_ids in steps:
        failures = 0
        for request_id in request_ids:
            if attempt(partial(step, ctx, channel, request_id), request_id):
                continue
            failures += 1
            if failures >= CARD_FAILURES:
                break


def nudge(ctx: Context, channel: CardChannel) -> int:
    """Remind the card's thread of requests waiting more than a business day
    (`decision.nudges_due`), each at most once a day. How many were sent."""
    count = 0
    for due in decision.nudges_due(ctx, channel.platform):
        try:
            channel.reply_in_thread(Posted(due.channel, due.message_id), due.reply)
        except NotSent:  # not reached, or refused and logged: the next run tries again
            continue
        decision.mark_nudged(ctx, due.posted_id)
        count += 1
    return count


# -- the bookkeeping under it --------------------------------------------------------------
def without_card(ctx: Context, platform: str) -> list[int]:
    """Undecided requests not yet posted to the approval channel (entered from another
    platform or the terminal, or whose post failed or whose poster died), oldest
    first; `reserve_card` decides who posts each."""
    with ctx.db.transaction() as session:
        return messages.unposted_requests(session, platform, workflow.PENDING)


def reserve_card(ctx: Context, platform: str, request_id: int, channel: str) -> str | None:
    """A token when this caller is the one to post the request's card on this platform
    (the click that created it and the deliverers of any number of instances race);
    then `fill_card` with it, or `release_card` when the post fails."""
    with ctx.db.transaction() as session:
        return messages.reserve(
            session,
            platform=platform,
            purpose=PURPOSE,
            target_id=request_id,
            channel=channel,
            now=ctx.clock.now(),
        )


def release_card(ctx: Context, token: str) -> None:
    with ctx.db.transaction() as session:
        messages.release(session, token)


def fill_card(ctx: Context, token: str, channel: str, message_id: str, card: Reply) -> bool:
    """Where the reserved card was posted (and which state of the request it shows), so
    it is updated in place. False: the reservation was taken over while this poster
    stalled, and the message just posted is a duplicate to delete."""
    with ctx.db.transaction() as session:
        return messages.fill(
            session,
            token,
            channel=channel,
            message_id=message_id,
            now=ctx.clock.now(),
            version=card.data.get("version"),
        )


def card_shown(ctx: Context, posted_id: int, card: Reply) -> None:
    """A posted card was updated to show `card`'s state of its request."""
    with ctx.db.transaction() as session:
        messages.shown(session, posted_id, card.data.get("version"))


def card_not_updated(ctx: Context, posted_id: int) -> None:
    """Updating a posted card failed: the deliverer tries again later, less often."""
    with ctx.db.transaction() as session:
        messages.update_failed(session, posted_id, ctx.clock.now())


def stale_cards(ctx: Context, platform: str) -> list[int]:
    """Requests whose card on this platform shows another state than they have now
    (decided on another platform, or an update that failed or finished out of order):
    the deliverer updates them."""
    with ctx.db.transaction() as session:
        return [m.target_id for m in messages.stale_requests(session, platform, ctx.clock.now())]
