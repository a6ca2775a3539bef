"""The prefecture's approval channel on Teams: each request's card, kept by
handlers/intake/approval_card.py's one sequence through `ChannelCards` (post, update,
delete, reply in a card's thread: the nudges under undecided cards).

Teams shows each viewer their own version of a card: everyone sees the request, and the
approvers Teams knows get the decision buttons through the card's refresh
(`card_activity`). Every card is sent on the process's send loop (loop.py), from a turn
as from the scheduler: a turn's worker thread waiting on its own loop would hold one of
the threads the send itself needs (the SDK's token and DNS lookups run in that loop's
thread pool), and enough clicks at once would leave none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import TurnContext

from bot.runtime.edge import logged
from bot.teams import cards, loop
from bot.teams.activities import message, staff_view, tenant_of
from bot.teams.service import PLATFORM, TeamsService
from handlers.core.reply import Reply
from handlers.intake import approval_card
from handlers.intake.approval_card import ChannelAway, NotSent, Posted
from handlers.notifications import addresses
from handlers.notifications.addresses import Address

log = logging.getLogger("dxdesk.teams")
T = TypeVar("T")


class ApprovalChannel:
    def __init__(self, service: TeamsService) -> None:
        self.service = service

    def approver_user_ids(self) -> list[str]:
        return addresses.approver_user_ids(self.service.ctx, cards.REFRESH_USERS)

    def shared_card(self, request_id: int) -> tuple[Activity, Reply]:
        """The channel's card as everyone sees it (`card_activity`)."""
        reply = approval_card.public_card(self.service.ctx, request_id, self.service.lang)
        return self.card_activity(reply), reply

    def card_activity(self, reply: Reply) -> Activity:
        """A card for the channel: everyone sees the request; approvers Teams knows (up
        to 60, by their Teams user id) get their own view with the decision buttons,
        read afresh whenever it is shown (`refresh.userIds`); any other approver opens it
        with the card's button. Decided: nothing left for approvers to do."""
        if not reply.data.get("staff_view"):
            return message(reply)
        refresh = (staff_view(int(reply.data["request_id"])), self.approver_user_ids())
        return message(reply, refresh=refresh)

    async def post_card(self, request_id: int, turn: Activity | None = None) -> None:
        """The request's card in the prefecture's channel (approval_card.post: once,
        however many try), remembered so decisions update it in place. Proactive, so the
        scheduler posts cards missing (a request entered elsewhere, or a post that
        failed) the same way a turn does."""
        channel = ChannelCards(self, turn)
        await asyncio.to_thread(approval_card.post, self.service.ctx, channel, request_id)

    async def card_after(self, turn_context: TurnContext, action: str, request_id: int) -> None:
        """Keep the channel's card current after a click. A card Teams refused, or whose
        bookkeeping failed, is logged and left to the deliverer's next run (it posts
        missing cards and updates stale ones); the click's own answer still goes back,
        whatever went wrong here (an edge: the decision itself is already committed)."""
        channel = ChannelCards(self, turn_context.activity)
        ctx = self.service.ctx
        try:
            await asyncio.to_thread(approval_card.after, ctx, channel, action, request_id)
        except Exception:
            logged(log, "teams approval card for request %s not posted/updated", request_id)

    def nudge(self) -> int:
        """Remind the card's thread of requests waiting more than a business day."""
        return approval_card.nudge(self.service.ctx, ChannelCards(self))


class ChannelCards:
    """The approval channel as handlers/intake/approval_card.py's sequence sees it on
    Teams: cards posted proactively, each viewer shown their own version (approvers get
    the decision buttons through the card's refresh). Its methods block, as the
    sequence runs in a worker thread; the sends run on the process's send loop. A
    question and its answer are not added in the card's thread here (only the nudges)."""

    platform = PLATFORM
    per_viewer = True
    threads_exchanges = False

    def __init__(self, approvals: ApprovalChannel, turn: Activity | None = None) -> None:
        self.approvals, self.turn = approvals, turn
        self.service = approvals.service
        self.addresses: dict[str, Address | None] = {}  # a channel's, looked up once

    @property
    def channel(self) -> str | None:
        return self.service.channel

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return loop.run(work)

    def address(self, channel: str) -> Address:
        """Where the channel is reached: its stored address, else (the first time) the
        address of the turn at hand or of anyone who has written to the bot."""
        turn = self.turn
        source = (turn.service_url, tenant_of(turn)) if turn and turn.service_url else None
        found = addresses.channel_or_latest(self.service.ctx, channel, source)
        if found is None:
            raise ChannelAway(channel)
        return found

    def post(self, card: Reply) -> Posted:
        channel = self.service.channel or ""
        address = self.address(channel)
        activity = self.approvals.card_activity(card)
        (message_id,) = self.run(self.service.proactive.send(address, channel, [activity]))
        return Posted(channel, message_id)

    def update(self, where: Posted, card: Reply) -> None:
        address = addresses.channel(self.service.ctx, where.channel)
        if address is None:
            raise ChannelAway(where.channel)
        activity = self.approvals.card_activity(card)
        activity.id = where.message_id

        async def replace(turn_context: TurnContext) -> None:
            await turn_context.update_activity(activity)

        self.run(self.service.proactive.continue_in(address, where.channel, replace))

    def delete(self, where: Posted) -> None:
        address = self.address(where.channel)

        async def remove(turn_context: TurnContext) -> None:
            await turn_context.delete_activity(where.message_id)

        self.run(self.service.proactive.continue_in(address, where.channel, remove))

    def reply_in_thread(self, where: Posted, reply: Reply) -> None:
        """A message under the card. One Teams refused is logged and left for the next
        run (`NotSent`); the others go on."""
        if where.channel not in self.addresses:
            self.addresses[where.channel] = addresses.channel(self.service.ctx, where.channel)
        address = self.addresses[where.channel]
        if address is None:
            raise ChannelAway(where.channel)
        thread = f"{where.channel};messageid={where.message_id}"
        try:
            self.run(self.service.proactive.send(address, thread, [message(reply)]))
        except Exception as error:  # one nudge's failure, whatever it is, spares the rest
            logged(log, "teams reply under card %s not posted", where.message_id)
            raise NotSent(where.message_id) from error
