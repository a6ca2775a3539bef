"""The Teams app: `POST /api/messages` on the Microsoft 365 Agents SDK — the activity
handler that mirrors the Slack adapter: resolve the Teams user (AAD object id) to an
Actor, call the platform-neutral handlers, render their replies as Adaptive Cards.

`TeamsBot` wires the parts and routes each kind of activity to the module that answers
it:

- entry.py — the HTTP entry: tokens checked, replays dropped, the turn's edge;
- senders.py — who an activity is from, and where they can be written to later;
- messages.py — a message, answered (in the person's own chat);
- actions.py — a card's button or form (`Action.Execute`), answered with the card;
- consent.py — the answer to a file-consent card;
- channel.py — the approval channel's cards and nudges;
- outbox.py — the notices the scheduler sends (`deliver`);
- loop.py — the one event loop those scheduled sends run on.

Beneath them: transport.py (the SDK's adapter, tokens out), activities.py (reading and
building activities), proactive.py (writing first), files.py (files both ways),
cards.py (Adaptive Card rendering).
"""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import InvokeResponse
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import JwtTokenValidator
from microsoft_agents.hosting.teams import TeamsActivityHandler
from starlette.requests import Request
from starlette.responses import Response

from bot.config import Settings
from bot.runtime import redact
from bot.teams import actions, consent, messages, senders
from bot.teams.channel import ApprovalChannel
from bot.teams.entry import TurnEntry
from bot.teams.outbox import Outbox
from bot.teams.proactive import Proactive
from bot.teams.service import TeamsService
from bot.teams.transport import Adapter, AnonymousClients, connections
from handlers.core.context import Context


class TeamsBot(TeamsActivityHandler):
    def __init__(self, ctx: Context, settings: Settings) -> None:
        redact.install(settings.secrets())
        self.ctx = ctx
        language = ctx.rules.language
        if settings.teams_anonymous:
            self.adapter = Adapter(language, channel_service_client_factory=AnonymousClients(None))
        else:
            self.adapter = Adapter(language, connection_manager=connections(settings))
        channel = settings.teams_approval_channel
        self.service = TeamsService(
            ctx,
            Proactive(self.adapter, settings.teams_app_id or ""),
            channel=channel,
            # Notices for the prefecture's channel go to one platform: Slack's channel
            # when both are configured (a row is sent once), else this one.
            channel_notices=bool(channel)
            and not (settings.slack_enabled and settings.slack_approval_channel),
            any_upload_host=settings.teams_anonymous,
        )
        self.entry = TurnEntry(ctx, settings, self.adapter)
        self.approvals = ApprovalChannel(self.service)
        self.outbox = Outbox(self.service, self.approvals)

    @property
    def validator(self) -> JwtTokenValidator:
        return self.entry.validator

    @property
    def any_upload_host(self) -> bool:
        return self.service.any_upload_host

    @any_upload_host.setter
    def any_upload_host(self, value: bool) -> None:
        self.service.any_upload_host = value

    # -- in: the HTTP entry and the turn's activities ----------------------------------------
    async def handle(self, request: Request) -> Response:
        """POST /api/messages (entry.py)."""
        return await self.entry.handle(request, self)

    async def on_turn(self, turn_context: TurnContext) -> None:
        await senders.arrive(self.service, turn_context)
        await super().on_turn(turn_context)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        """Members added or removed, the app installed: nothing to answer (the Teams
        handler would look each new member up); the addresses were refreshed on arrival."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await messages.answer(self.service, turn_context)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """Universal actions answered here: the SDK's own model of the response cannot
        carry the plain-text `value` a message response needs. Other invokes (file
        consent) go through the Teams extension's handler."""
        if turn_context.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        body = await actions.respond(self.service, self.approvals, turn_context)
        return InvokeResponse(status=200, body=body)

    async def on_teams_file_consent(self, turn_context: TurnContext, response: Any) -> None:
        await consent.answer(self.service, turn_context)

    # -- out: what the scheduler runs ------------------------------------------------------
    def deliver(self) -> int:
        return self.outbox.deliver()

    def nudge(self) -> int:
        return self.approvals.nudge()

    async def post_card(self, request_id: int) -> None:
        await self.approvals.post_card(request_id)
