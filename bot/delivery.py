"""The delivery loop every chat platform shares: claim due notices in batches and send
them one by one, never past the lease of the batch, within a time budget per run."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import NamedTuple

from bot.outage import unreachable
from handlers import approval, notices
from handlers.context import Context

BUDGET_SECONDS = 20  # one deliver run; the scheduler starts the next at once
LEASE_MARGIN = timedelta(minutes=1)  # stop sending a claimed batch this close to its lease
CARD_FAILURES = 3  # in one run: then the platform itself is failing, not one card
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
                outcome = Outcome(*send(out))
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


@contextmanager
def paused_in_outage(platform: str) -> Iterator[None]:
    """The database out of reach (bot/outage.py) ends this run quietly: one warning
    when the outage begins, not a traceback every second, and one line when delivery
    resumes; the scheduler's next run carries on by itself. A notice sent whose outcome
    could not be written stays `sending`: when its lease ends, the next sender checks
    the platform before posting it again."""
    try:
        yield
    except Exception as error:
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


def keep_cards(
    ctx: Context,
    platform: str,
    post: Callable[[int], None],
    update: Callable[[int], None],
) -> None:
    """Post the approval cards still missing on a platform and update the stale ones
    (by request id). One card that keeps failing (deleted, its channel archived) backs
    off on its own and does not hold up the rest; several failures in one run mean the
    platform is failing, and the next run tries again. Posts and updates fail
    separately (a post too big for the platform must not starve the updates)."""
    with paused_in_outage(platform):
        for job, request_ids in (
            (post, approval.without_card(ctx, platform)),
            (update, approval.stale_cards(ctx, platform)),
        ):
            failures = 0
            for request_id in request_ids:
                try:
                    job(request_id)
                except Exception as error:
                    if unreachable(error):
                        raise
                    log.exception(
                        "%s approval card for request %s not posted/updated", platform, request_id
                    )
                    failures += 1
                    if failures >= CARD_FAILURES:
                        break
