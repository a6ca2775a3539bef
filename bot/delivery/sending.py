"""The delivery loop every chat platform shares: claim due notices in batches and send
them one by one, never past the lease of the batch, within a time budget per run."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import NamedTuple

from bot.runtime.edge import logged
from bot.runtime.outage import unreachable
from handlers.core.context import Context
from handlers.intake import approval_card
from handlers.notifications import notices

BUDGET_SECONDS = 20  # one deliver run; the scheduler starts the next at once
LEASE_MARGIN = timedelta(minutes=1)  # stop sending a claimed batch this close to its lease
log = logging.getLogger("dxdesk.delivery")


class Outcome(NamedTuple):
    """How one send went. Not sent: `retry_after` is the platform's Retry-After,
    `reason` its error code (kept for `python -m bot outbox`), and `permanent` says
    that retrying cannot help until someone fixes something (a scope, a channel
    membership, a token): the row fails at once and the admins are told, instead of
    the same error five times. `throttled`: the platform refused at its door (a 429)
    and nothing went out; the row waits `retry_after` without using up an attempt,
    and the sender goes on with the rest of its batch (no sleeping in the sender: the
    next rows may go to conversations the limit does not hold up). A plain
    (sent, retry_after) pair is read as transient."""

    sent: bool
    retry_after: timedelta | None = None
    reason: str | None = None
    permanent: bool = False
    throttled: bool = False


def deliver(
    ctx: Context,
    platform: str,
    audiences: Collection[str],
    send: Callable[[notices.Outgoing], Outcome | tuple[bool, timedelta | None]],
) -> int:
    """How many were sent. Each outcome is recorded under the batch's lease; slow sends
    (a long Retry-After) that eat the lease leave the rest to be reaped and sent by
    whoever is free."""
    sent = 0
    deadline = time.monotonic() + BUDGET_SECONDS
    with paused_in_outage(platform):
        while batch := notices.claim(ctx, platform, audiences=audiences):
            for out in batch:
                if ctx.clock.now() > out.lease_until - LEASE_MARGIN:
                    return sent
                outcome = _sent(platform, send, out)
                notices.finish(
                    ctx,
                    out.notification_id,
                    sent=outcome.sent,
                    lease_until=out.lease_until,
                    retry_after=outcome.retry_after,
                    reason=outcome.reason,
                    permanent=outcome.permanent,
                    throttled=outcome.throttled,
                    maybe_sent=out.maybe_sent,
                    platform=platform,
                )
                sent += outcome.sent
            if time.monotonic() > deadline:
                break  # the next run carries on
    return sent


def _sent(
    platform: str,
    send: Callable[[notices.Outgoing], Outcome | tuple[bool, timedelta | None]],
    out: notices.Outgoing,
) -> Outcome:
    """One send, whatever it raises: the send loop's edge. A platform's `send` turns the
    errors it expects into an Outcome; anything else is logged with a reference number
    and the notice tried again later (transient, by the error's name) — except the
    database out of reach, which ends the run (`paused_in_outage`)."""
    try:
        return Outcome(*send(out))
    except Exception as error:  # the edge: one notice's surprise must not stop the rest
        if unreachable(error):
            raise
        logged(log, "%s notice %s not delivered", platform, out.notification_id)
        return Outcome(False, None, type(error).__name__)


@contextmanager
def paused_in_outage(platform: str) -> Iterator[None]:
    """The database out of reach (bot/runtime/outage.py) ends this run quietly: one warning
    when the outage begins, not a traceback every second, and one line when delivery
    resumes; the scheduler's next run carries on by itself. A notice sent whose outcome
    could not be written stays `sending`: when its lease ends, the next sender checks
    the platform before posting it again."""
    try:
        yield
    except Exception as error:  # not caught: an outage ends the run, anything else goes on up
        if not unreachable(error):
            raise
        if platform not in _paused:
            log.warning("%s delivery paused: database unreachable", platform)
        _paused.add(platform)
        return
    if platform in _paused:
        _paused.discard(platform)
        log.warning("%s delivery resumed", platform)


_paused: set[str] = set()  # platforms whose last run met the database out of reach


def keep_cards(ctx: Context, cards: approval_card.CardChannel) -> None:
    """Post the approval cards still missing on a platform and update the stale ones
    (`approval_card.keep`, through the platform's `cards`), each card's step run at this
    send loop's edge: a failure is logged with its reference and the run goes on (the
    sequence gives up on the platform after a few); the database out of reach pauses
    the run."""
    platform = cards.platform

    def attempt(step: Callable[[], object], request_id: int) -> bool:
        try:
            step()
        except Exception as error:  # the send loop's edge: one card, not the run
            if unreachable(error):
                raise
            logged(log, "%s approval card for request %s not posted/updated", platform, request_id)
            return False
        return True

    with paused_in_outage(platform):
        approval_card.keep(ctx, cards, attempt)
