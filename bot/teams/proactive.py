"""Writing to Teams without being spoken to first: continuing a stored conversation
(a person's chat, a channel, a channel's thread) or opening a 1:1 chat, through the
SDK's proactive path. The SDK's turn-error handler logs and swallows a failure inside
such a turn; here every proactive turn reports its own, so a notice that was not sent
is never counted as sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import ClientError, ClientResponseError
from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
)
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.http import HttpAdapterBase

from bot.delivery.sending import Outcome
from handlers.notifications.addresses import Address

TEAMS_CHANNEL_ID = "msteams"
PERMANENT_STATUSES = {
    401: "invalid_app_credentials",  # the connector refused the bot's own token
    403: "bot_blocked",  # blocked by the person, uninstalled, or disabled by the admin
    404: "conversation_not_found",  # the chat or channel is gone, or the bot was removed
    413: "message_too_large",  # the same card is too big every time
}
"""Connector answers the same send meets again until someone changes something."""
TOKEN_REFUSALS = ("invalid_client", "unauthorized_client", "invalid_grant")
"""Entra ID's answers to a wrong app id or password (MSAL's error codes)."""
RATE_LIMIT_WAIT = timedelta(seconds=1)  # a 429 that names no Retry-After
SEND_ERRORS: tuple[type[Exception], ...] = (ClientError, OSError, ValueError, LookupError)
"""What a proactive send raises when Teams or the network refuses it: the connector's
answer or a dropped connection (aiohttp), a timeout or MSAL's network (OSError), a token
Entra ID refuses (ValueError, as the SDK reports it), no conversation to write to
(LookupError). `outcome_of` classifies them."""


class Proactive:
    def __init__(self, adapter: HttpAdapterBase, app_id: str) -> None:
        self.adapter, self.app_id = adapter, app_id

    def agent_account(self) -> ChannelAccount:
        return ChannelAccount(id=f"28:{self.app_id}")

    async def continue_in(
        self,
        reference: Address,
        conversation_id: str,
        work: Callable[[TurnContext], Awaitable[None]],
    ) -> None:
        """Run `work` in a turn of a stored conversation (a chat, a channel, or a
        channel's thread `…;messageid=…`), through the SDK's proactive path."""
        fields: dict[str, Any] = {}
        if reference.user_id:  # a person's chat; a channel has no one to name
            fields["from_property"] = ChannelAccount(id=reference.user_id)
        continuation = Activity(
            type=ActivityTypes.event,
            name="ContinueConversation",
            channel_id=TEAMS_CHANNEL_ID,
            service_url=reference.service_url,
            conversation=ConversationAccount(id=conversation_id, tenant_id=reference.tenant_id),
            recipient=self.agent_account(),
            **fields,
        )
        guard = Guard(work)
        await self.adapter.continue_conversation(self.app_id, continuation, guard)
        guard.check()

    async def send(
        self, reference: Address, conversation_id: str, activities: list[Activity]
    ) -> list[str]:
        """Send these into a stored conversation; the ids Teams gave them."""
        ids: list[str] = []

        async def send(turn_context: TurnContext) -> None:
            for activity in activities:
                sent = await turn_context.send_activity(activity)
                ids.append(str(sent.id) if sent and sent.id else "")

        await self.continue_in(reference, conversation_id, send)
        return ids

    async def send_to_person(self, reference: Address, activities: list[Activity]) -> str | None:
        """Send to a person: into their stored chat, or into a new one opened with
        their Teams user id. The id of a conversation it had to create (None when it
        continued a stored one)."""
        if reference.conversation_id:
            await self.send(reference, reference.conversation_id, activities)
            return None
        if not reference.user_id:
            raise LookupError("no Teams user id to open a conversation with")
        created: list[str] = []

        async def send_and_note(turn_context: TurnContext) -> None:
            conversation = turn_context.activity.conversation
            created.append(conversation.id if conversation else "")
            for activity in activities:
                await turn_context.send_activity(activity)

        parameters = ConversationParameters(
            is_group=False,
            agent=self.agent_account(),
            members=[ChannelAccount(id=reference.user_id)],
            tenant_id=reference.tenant_id,
            channel_data={"tenant": {"id": reference.tenant_id}} if reference.tenant_id else None,
        )
        audience = self.adapter.create_claims_identity(self.app_id).get_token_audience()
        guard = Guard(send_and_note)
        await self.adapter.create_conversation(
            self.app_id, TEAMS_CHANNEL_ID, reference.service_url, audience, parameters, guard
        )
        guard.check()
        return created[0] if created and created[0] else None


class Guard:
    """A proactive turn's work whose failure reaches the caller: the adapter's turn-error
    handler would log and swallow it, and a notice that was not sent would count as sent."""

    def __init__(self, work: Callable[[TurnContext], Awaitable[None]]) -> None:
        self.work = work
        self.error: Exception | None = None

    async def __call__(self, turn_context: TurnContext) -> None:
        try:
            await self.work(turn_context)
        except Exception as error:  # not handled here: handed to the caller (`check`)
            self.error = error

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def outcome_of(error: Exception) -> Outcome:
    """A failed proactive send as the outbox records it, like Slack's (bot/slack/app.py
    outcome_of): 429 throttled (wait its Retry-After, not an attempt); 401, 403, 404 and
    413, and a token Entra ID refuses, permanent (the row fails at once with its reason
    and the admins are told); 5xx, timeouts and anything unknown transient, waiting at
    least a Retry-After the service gave."""
    if isinstance(error, ClientResponseError):
        wait = retry_after_of(error)
        if error.status == 429:
            return Outcome(False, wait or RATE_LIMIT_WAIT, "ratelimited", throttled=True)
        if error.status in PERMANENT_STATUSES:
            return Outcome(False, None, PERMANENT_STATUSES[error.status], permanent=True)
        return Outcome(False, wait, f"http_{error.status}")
    text = str(error)
    if isinstance(error, ValueError) and any(code in text for code in TOKEN_REFUSALS):
        return Outcome(False, None, "invalid_app_credentials", permanent=True)
    return Outcome(False, None, type(error).__name__)


def retry_after_of(error: ClientResponseError) -> timedelta | None:
    """The connector's Retry-After (whole seconds), if it gave one."""
    value = (error.headers or {}).get("Retry-After")
    try:
        return timedelta(seconds=max(0, int(str(value))))
    except (TypeError, ValueError):
        return None
