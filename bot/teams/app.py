"""The Teams app: `POST /api/messages` on the Microsoft 365 Agents SDK.

The SDK's framework-neutral `HttpAdapterBase` runs each activity through a turn (the
connector client that calls back to the activity's serviceUrl comes with it); this module
adds the Starlette request wrapper, the JWT check in front of it, and an activity handler
that mirrors the Slack adapter: resolve the Teams user (AAD object id) to an Actor, call
the platform-neutral handlers, render their replies as Adaptive Cards.

A message answers with a card (the form, or what the words ask for). A card button or
form submit is an `Action.Execute` invoke (`adaptiveCard/action`): it runs
`router.press`/`router.submit` and its invoke response is the refreshed card, so field
errors and decisions show in place; a refusal answers with a message and leaves the card
as it was. Handlers block on the database, so they run in a worker thread.

Every inbound activity refreshes the conversation reference of its sender (a linked
person) and of the approval channel (storage/teams.py); `deliver` (run by the scheduler)
sends the outbox's notices through them proactively: it continues a stored conversation,
or creates the 1:1 chat at the stored serviceUrl for someone seen only in a channel.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    InvokeResponse,
)
from microsoft_agents.hosting.core import (
    ActivityHandler,
    RestChannelServiceClientFactory,
    TurnContext,
)
from microsoft_agents.hosting.core.authorization import (
    AgentAuthConfiguration,
    ClaimsIdentity,
    JwtTokenValidator,
)
from microsoft_agents.hosting.core.http import HttpAdapterBase
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import delivery
from bot.config import Settings
from bot.teams import cards
from handlers import approval, notices, payloads, roster, router
from handlers.actor import Actor
from handlers.context import Context
from handlers.core import record_refusal
from handlers.errors import Refused
from handlers.i18n import t
from handlers.reply import Reply
from storage import messages
from storage import teams as references
from storage.models import Audience, TeamsConversation

log = logging.getLogger("dxdesk.teams")
PLATFORM = "teams"
CARD = "application/vnd.microsoft.card.adaptive"
MESSAGE = "application/vnd.microsoft.activity.message"
NEW_REQUESTS = ("request.submit", "bpr.apply")
DECISIONS = ("request.approve", "request.decline", "request.ask_info", "request.reassign")
CHANGES_CARD = (*DECISIONS, "request.answer", "request.amend", "request.cancel", "session.book")
TEAMS_CHANNEL_ID = "msteams"
NO_REFERENCE_RETRY = timedelta(hours=1)
"""A person linked to Teams who has never written to the bot cannot be reached yet."""


class _Request:
    """A Starlette request as the SDK's HttpRequestProtocol, with the checked claims."""

    def __init__(self, request: Request, body: Any, claims: ClaimsIdentity) -> None:
        self._request, self._body, self._claims = request, body, claims

    @property
    def method(self) -> str:
        return self._request.method

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._request.headers)

    async def json(self) -> Any:
        return self._body

    def get_claims_identity(self) -> ClaimsIdentity:
        return self._claims

    def get_path_param(self, name: str) -> str:
        return str(self._request.path_params.get(name, ""))


class _Adapter(HttpAdapterBase):
    """The SDK's HTTP adapter; a failed turn is logged, never shown as a traceback."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

        async def on_turn_error(context: TurnContext, error: Exception) -> None:
            log.error("teams turn failed", exc_info=error)

        self.on_turn_error = on_turn_error


class _AnonymousClients(RestChannelServiceClientFactory):
    """Anonymous mode (local development): outbound calls, proactive ones included,
    carry no token."""

    async def create_connector_client(
        self,
        context: Any,
        claims_identity: Any,
        service_url: str,
        audience: str,
        scopes: Any = None,
        use_anonymous: bool = False,
    ) -> Any:
        return await super().create_connector_client(
            context, claims_identity, service_url, audience, scopes, use_anonymous=True
        )

    async def create_user_token_client(
        self, context: Any, claims_identity: Any, use_anonymous: bool = False
    ) -> Any:
        return await super().create_user_token_client(context, claims_identity, use_anonymous=True)


def connections(settings: Settings) -> Any:
    """The MSAL connection that gets outbound tokens (None in anonymous mode)."""
    if settings.teams_anonymous:
        return None
    from microsoft_agents.authentication.msal import MsalConnectionManager

    return MsalConnectionManager(connections_configurations={"SERVICE_CONNECTION": auth(settings)})


def auth(settings: Settings) -> AgentAuthConfiguration:
    secret = settings.teams_app_password
    return AgentAuthConfiguration(
        client_id=settings.teams_app_id,
        tenant_id=settings.teams_tenant_id,
        client_secret=secret.get_secret_value() if secret else None,
        anonymous_allowed=settings.teams_anonymous,
    )


class TeamsBot(ActivityHandler):
    def __init__(self, ctx: Context, settings: Settings) -> None:
        self.ctx = ctx
        self.lang = ctx.rules.language
        self.anonymous = settings.teams_anonymous
        self.channel = settings.teams_approval_channel
        self.app_id = settings.teams_app_id or ""
        self.validator = JwtTokenValidator(auth(settings))
        if settings.teams_anonymous:
            self.adapter = _Adapter(channel_service_client_factory=_AnonymousClients(None))
        else:
            self.adapter = _Adapter(connection_manager=connections(settings))

    # -- HTTP ----------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """POST /api/messages: the bearer token is validated before anything is parsed
        (anonymous mode, for a local emulator only, skips that when no token is sent)."""
        claims = await self.claims(request.headers.get("authorization", ""))
        if claims is None:
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "Invalid JSON"}, status_code=400)
        response = await self.adapter.process_request(_Request(request, body, claims), self)
        if response.body is None:
            return Response(status_code=response.status_code)
        return JSONResponse(response.body, status_code=response.status_code)

    async def claims(self, header: str) -> ClaimsIdentity | None:
        scheme, _, token = header.partition(" ")
        if not token:
            return self.validator.get_anonymous_claims() if self.anonymous else None
        if scheme.lower() != "bearer":
            return None
        try:
            return await self.validator.validate_token(token)
        except Exception as error:  # any malformed, expired or foreign token
            log.warning("teams token refused: %s", type(error).__name__)
            return None

    # -- identity ------------------------------------------------------------------------
    def actor(self, activity: Activity) -> Actor | None:
        user_id = aad_id(activity)
        return roster.identify(self.ctx, PLATFORM, user_id) if user_id else None

    def stranger(self, activity: Activity, what: str) -> Reply:
        """The explanation for an unregistered user, and an audit entry of the attempt."""
        user_id = aad_id(activity) or (activity.from_property.id if activity.from_property else "")
        record_refusal(
            self.ctx,
            None,
            what,
            Refused("identity.unknown", target_type="teams_user", target_id=str(user_id)[:50]),
        )
        return roster.unknown_user(self.lang)

    # -- conversation references -----------------------------------------------------------
    async def on_turn(self, turn_context: TurnContext) -> None:
        await asyncio.to_thread(self.remember, turn_context.activity)
        await super().on_turn(turn_context)

    def remember(self, activity: Activity) -> None:
        """Refresh where the sender (a linked person) and the approval channel can be
        written to later. Never fails the turn."""
        conversation = activity.conversation
        if not activity.service_url or conversation is None or not conversation.id:
            return
        try:
            tenant = tenant_of(activity)
            now = self.ctx.clock.now()
            actor = self.actor(activity)
            base = conversation.id.split(";", 1)[0]  # a channel reply: "19:…;messageid=…"
            with self.ctx.db.transaction() as session:
                if self.channel and base == self.channel:
                    references.remember_channel(
                        session, base, service_url=activity.service_url, now=now, tenant_id=tenant
                    )
                if actor is not None:
                    personal = conversation.conversation_type in (None, "personal")
                    references.remember_personal(
                        session,
                        actor.id,
                        service_url=activity.service_url,
                        now=now,
                        conversation_id=conversation.id if personal else None,
                        user_id=activity.from_property.id if activity.from_property else None,
                        tenant_id=tenant,
                    )
        except Exception:
            log.exception("teams conversation reference not stored")

    # -- activities ----------------------------------------------------------------------
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        reply = await asyncio.to_thread(self.message_reply, activity)
        await turn_context.send_activity(message(reply))

    def message_reply(self, activity: Activity) -> Reply:
        actor = self.actor(activity)
        if actor is None:
            return self.stranger(activity, "teams.message")
        words = strip_mention(activity.text or "").split(maxsplit=1)
        return command_reply(self.ctx, actor, words[0] if words else "", "".join(words[1:]))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """Universal actions answered here: the SDK's own model of the response cannot
        carry the plain-text `value` a message response needs."""
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        return InvokeResponse(status=200, body=await self.on_action(turn_context, dict(data)))

    async def on_action(self, turn_context: TurnContext, data: dict[str, Any]) -> dict[str, Any]:
        activity = turn_context.activity
        actor = self.actor(activity)
        if actor is None:
            reply = await asyncio.to_thread(self.stranger, activity, str(data.get("action"))[:50])
            return answer(reply)
        action = str(data.get("action") or "")
        if "context" in data:
            values = cards.submitted_values(data)
            context = str(data.get("context") or "")
            reply = await asyncio.to_thread(router.submit, self.ctx, actor, action, values, context)
        else:
            value = str(data.get("value") or "")
            reply = await asyncio.to_thread(router.press, self.ctx, actor, action, value)
        if not reply.ok and not reply.data.get("errors"):
            return answer(reply)  # refused: the card stays as it was
        request_id = reply.data.get("request_id")
        if reply.ok and request_id and action in NEW_REQUESTS:
            await self.post_card(turn_context, int(request_id))
        elif reply.ok and request_id and action in CHANGES_CARD:
            await self.update_card(turn_context, int(request_id))
            if action in DECISIONS:  # the approval card, refreshed: the decision, who, when
                reply = await asyncio.to_thread(approval.card, self.ctx, int(request_id), self.lang)
        return answer(reply, card=True)

    # -- the approval channel ------------------------------------------------------------
    async def post_card(self, turn_context: TurnContext, request_id: int) -> None:
        """The new request's card in the prefecture's channel, remembered so decisions can
        update it in place. The channel is reached through the serviceUrl of the turn."""
        if not self.channel:
            return
        card = await asyncio.to_thread(approval.card, self.ctx, request_id, self.lang)
        client = connector(turn_context)
        try:
            posted = await client.conversations.send_to_conversation(self.channel, message(card))
        except Exception:
            log.exception("teams approval card for request %s not posted", request_id)
            return

        def remember() -> None:
            channel = self.channel or ""
            approval.remember_card(self.ctx, PLATFORM, request_id, channel, str(posted.id))
            activity = turn_context.activity
            with self.ctx.db.transaction() as session:
                references.remember_channel(
                    session,
                    channel,
                    service_url=activity.service_url or "",
                    now=self.ctx.clock.now(),
                    tenant_id=tenant_of(activity),
                )

        await asyncio.to_thread(remember)

    async def update_card(self, turn_context: TurnContext, request_id: int) -> None:
        def find() -> Any:
            with self.ctx.db.transaction() as session:
                return messages.find(
                    session, platform=PLATFORM, purpose="approval", target_id=request_id
                )

        posted = await asyncio.to_thread(find)
        if posted is None:
            return
        card = await asyncio.to_thread(approval.card, self.ctx, request_id, self.lang)
        update = message(card)
        update.id = posted.message_id
        try:
            await connector(turn_context).conversations.update_activity(
                posted.channel, posted.message_id, update
            )
        except Exception:
            log.exception("teams approval card for request %s not updated", request_id)

    # -- proactive delivery of the outbox ---------------------------------------------------
    def deliver(self) -> int:
        """Send the notices queued for people linked to Teams (and, with an approval
        channel, those for the prefecture's channel) as Adaptive Cards. A notice that fails
        goes back to the queue with a back-off; after a few attempts it is `failed`. Teams
        keeps no metadata to check, so a row reaped from a sender that died mid-send may
        be sent twice (at least once)."""
        audiences = (Audience.PREFECTURE,) if self.channel else ()
        return delivery.deliver(self.ctx, PLATFORM, audiences, self.send)

    def send(self, out: notices.Outgoing) -> delivery.Outcome:
        retry_after: timedelta | None = None
        reference = self.reference(out)
        if reference is None:
            log.warning("notice %s: no Teams conversation to write to yet", out.notification_id)
            ok, retry_after = False, NO_REFERENCE_RETRY
        else:
            try:
                created = asyncio.run(self.post_proactive(reference, message(out.reply)))
            except Exception:
                log.exception("notice %s not delivered", out.notification_id)
                ok = False
            else:
                ok = True
                if created:
                    self.remember_created(reference, created)
        return ok, retry_after

    def reference(self, out: notices.Outgoing) -> TeamsConversation | None:
        actor = roster.identify(self.ctx, PLATFORM, out.to) if out.to else None
        with self.ctx.db.transaction() as session:
            if out.audience:
                return references.channel(session, self.channel) if self.channel else None
            return references.personal(session, actor.id) if actor else None

    def remember_created(self, reference: TeamsConversation, conversation_id: str) -> None:
        with self.ctx.db.transaction() as session:
            references.remember_personal(
                session,
                reference.person_id or 0,
                service_url=reference.service_url,
                now=self.ctx.clock.now(),
                conversation_id=conversation_id,
            )

    def agent_account(self) -> ChannelAccount:
        return ChannelAccount(id=f"28:{self.app_id}")

    async def post_proactive(self, reference: TeamsConversation, activity: Activity) -> str | None:
        """Send through the SDK's proactive path; the id of a conversation it had to create
        (None when it continued a stored one)."""

        async def send(turn_context: TurnContext) -> None:
            await turn_context.send_activity(activity)

        if reference.conversation_id:
            continuation = Activity(
                type=ActivityTypes.event,
                name="ContinueConversation",
                channel_id=TEAMS_CHANNEL_ID,
                service_url=reference.service_url,
                conversation=ConversationAccount(
                    id=reference.conversation_id, tenant_id=reference.tenant_id
                ),
                recipient=self.agent_account(),
                from_property=ChannelAccount(id=reference.user_id or ""),
            )
            await self.adapter.continue_conversation(self.app_id, continuation, send)
            return None
        if not reference.user_id:
            raise LookupError("no Teams user id to open a conversation with")
        created: list[str] = []

        async def send_and_note(turn_context: TurnContext) -> None:
            conversation = turn_context.activity.conversation
            created.append(conversation.id if conversation else "")
            await send(turn_context)

        parameters = ConversationParameters(
            is_group=False,
            agent=self.agent_account(),
            members=[ChannelAccount(id=reference.user_id)],
            tenant_id=reference.tenant_id,
            channel_data={"tenant": {"id": reference.tenant_id}} if reference.tenant_id else None,
        )
        audience = self.adapter.create_claims_identity(self.app_id).get_token_audience()
        await self.adapter.create_conversation(
            self.app_id,
            TEAMS_CHANNEL_ID,
            reference.service_url,
            audience,
            parameters,
            send_and_note,
        )
        return created[0] if created and created[0] else None


def tenant_of(activity: Activity) -> str | None:
    if activity.conversation and activity.conversation.tenant_id:
        return activity.conversation.tenant_id
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant") if isinstance(data.get("tenant"), dict) else {}
    value = tenant.get("id")
    return str(value) if value else None


def connector(turn_context: TurnContext) -> Any:
    return turn_context.turn_state[HttpAdapterBase._AGENT_CONNECTOR_CLIENT_KEY]


def aad_id(activity: Activity) -> str | None:
    sender = activity.from_property
    return sender.aad_object_id if sender and sender.aad_object_id else None


def strip_mention(text: str) -> str:
    """In a channel the message starts with <at>DX Desk</at>: drop it."""
    while "<at>" in text and "</at>" in text:
        start, end = text.index("<at>"), text.index("</at>") + len("</at>")
        text = text[:start] + text[end:]
    return text.strip()


def message(reply: Reply) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=cards.fallback_text(reply)[:200],  # the notification preview
        attachments=[Attachment(content_type=CARD, content=cards.card(reply))],
    )


def answer(reply: Reply, *, card: bool = False) -> dict[str, Any]:
    """The invoke response: the refreshed card, or a message that leaves the card be."""
    if card:
        return {"statusCode": 200, "type": CARD, "value": cards.card(reply)}
    return {"statusCode": 200, "type": MESSAGE, "value": cards.fallback_text(reply)}


def command_reply(ctx: Context, actor: Actor, word: str, rest: str = "") -> Reply:
    """The same words as Slack's `/dx`: 相談 (or nothing), 申込, 状況, 事例 …, ヘルプ."""

    def means(key: str) -> bool:
        return word in (t("ja", key), t("en", key))

    if means("command.casebook"):
        if rest.strip():
            return router.submit(ctx, actor, "casebook.search", {"casebook_words": rest.strip()})
        return router.press(ctx, actor, "casebook.form")
    if not word or means("command.consult"):
        return router.press(ctx, actor, "request.form", payloads.encode(kind="consultation"))
    if means("command.apply"):
        return router.press(ctx, actor, "request.form", payloads.encode(kind="bpr_application"))
    if means("command.status"):
        return Reply.joined(
            router.press(ctx, actor, "request.list"), router.press(ctx, actor, "session.list")
        )
    return router.press(ctx, actor, "help")
