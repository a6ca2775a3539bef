"""The outbox on Teams, run by the scheduler (`deliver`): the approval channel's cards
kept first, then each notice due sent proactively as an Adaptive Card into the reader's
1:1 chat (opened with their Teams user id the first time) or, when Teams holds the
prefecture's channel, into that channel. Sends run on the process's send loop (loop.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.delivery import sending
from bot.teams import loop
from bot.teams.activities import message
from bot.teams.channel import ApprovalChannel, ChannelCards
from bot.teams.files import consent
from bot.teams.proactive import SEND_ERRORS, outcome_of
from bot.teams.service import PLATFORM, TeamsService
from handlers.notifications import addresses, notices
from handlers.notifications.addresses import Address, Audience
from handlers.people import roster

log = logging.getLogger("dxdesk.teams")
NO_REFERENCE_RETRY = timedelta(hours=1)
"""A person linked to Teams who has never written to the bot cannot be reached yet."""


class Outbox:
    def __init__(self, service: TeamsService, approvals: ApprovalChannel) -> None:
        self.service, self.approvals = service, approvals

    def deliver(self) -> int:
        """Post approval cards still missing and update stale ones, then send the notices
        queued for people whose notices go to Teams (and, when Teams holds the
        prefecture's channel, those for that channel) as Adaptive Cards. A notice that
        fails goes back to the queue with a back-off; after a few attempts it is
        `failed`."""
        ctx = self.service.ctx
        if self.service.channel:
            sending.keep_cards(ctx, ChannelCards(self.approvals))
        audiences = (Audience.PREFECTURE,) if self.service.channel_notices else ()
        return sending.deliver(ctx, PLATFORM, audiences, self.send)

    def send(self, out: notices.Outgoing) -> sending.Outcome:
        """One notice. Teams keeps no metadata the bot could look for, so a row reaped
        from a sender that died mid-send cannot be checked: it is sent again, marked as a
        resend (at least once, never silently twice). Files (an invite's .ics) follow as
        file-consent cards: Teams uploads one to the reader's OneDrive once they agree."""
        ctx = self.service.ctx
        reference = self.reference(out)
        if reference is None:
            if out.to and roster.hand_over(ctx, PLATFORM, out.to):
                notices.hand_back(ctx, out.notification_id)  # for their other platform
                return sending.Outcome(False)
            log.warning("notice %s: no Teams conversation to write to yet", out.notification_id)
            return sending.Outcome(False, NO_REFERENCE_RETRY)
        reply = out.reply
        if out.maybe_sent:
            reply = notices.marked_resent(reply, out.language)
        activities = [message(reply)]
        if not out.audience:
            activities += [consent(out.notification_id, f, out.language) for f in reply.files]
        try:
            created = loop.run(self.service.proactive.send_to_person(reference, activities))
        except SEND_ERRORS as error:  # classified: a chat gone or a blocked bot fails at once
            outcome = outcome_of(error)
            log.warning("notice %s not delivered: %s", out.notification_id, outcome.reason)
            return outcome
        if created:
            addresses.remember_created(ctx, reference, created)
        return sending.Outcome(True)

    def reference(self, out: notices.Outgoing) -> Address | None:
        ctx, channel = self.service.ctx, self.service.channel
        if out.audience:
            return addresses.channel(ctx, channel) if channel else None
        return addresses.personal(ctx, out.person_id) if out.person_id else None
