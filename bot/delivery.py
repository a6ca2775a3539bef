"""The delivery loop every chat platform shares: claim due notices in batches and send
them one by one, never past the lease of the batch, within a time budget per run."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from datetime import timedelta

from handlers import approval, notices
from handlers.context import Context

BUDGET_SECONDS = 20  # one deliver run; the scheduler starts the next at once
LEASE_MARGIN = timedelta(minutes=1)  # stop sending a claimed batch this close to its lease
CARD_FAILURES = 3  # in one run: then the platform itself is failing, not one card
log = logging.getLogger("dxdesk.delivery")


Outcome = tuple[bool, timedelta | None]  # sent?, and if not, the platform's Retry-After


def deliver(
    ctx: Context,
    platform: str,
    audiences: Collection[str],
    send: Callable[[notices.Outgoing], Outcome],
) -> int:
    """How many were sent. Each outcome is recorded under the batch's lease; slow sends
    (a long Retry-After) that eat the lease leave the rest to be reaped and sent by
    whoever is free."""
    sent = 0
    deadline = time.monotonic() + BUDGET_SECONDS
    while batch := notices.claim(ctx, platform, audiences=audiences):
        for out in batch:
            if ctx.clock.now() > out.lease_until - LEASE_MARGIN:
                return sent
            ok, retry_after = send(out)
            notices.finish(
                ctx,
                out.notification_id,
                sent=ok,
                lease_until=out.lease_until,
                retry_after=retry_after,
            )
            sent += ok
        if time.monotonic() > deadline:
            break  # the next run carries on
    return sent


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
    for job, request_ids in (
        (post, approval.without_card(ctx, platform)),
        (update, approval.stale_cards(ctx, platform)),
    ):
        failures = 0
        for request_id in request_ids:
            try:
                job(request_id)
            except Exception:
                log.exception(
                    "%s approval card for request %s not posted/updated", platform, request_id
                )
                failures += 1
                if failures >= CARD_FAILURES:
                    break
