"""The Teams app: `POST /api/messages` on the Microsoft 365 Agents SDK — the activity
handler that mirrors the Slack adapter: resolve the Teams user (AAD object id) to an
Actor, call the platform-neutral handlers, render their replies as Adaptive Cards.
Beside it: transport.py (requests in, tokens in and out), activities.py (reading and
building activities), proactive.py (writing first), files.py (file consent), cards.py.

A message answers with a card (the form, or what the words ask for); asked in a channel,
in the person's own chat. A card button or form submit is an `Action.Execute` invoke
(`adaptiveCard/action`): it runs `router.press`/`router.submit` and its invoke response
is the refreshed card, so field errors and decisions show in place; a refusal answers
with a message and leaves the card as it was. Handlers block on the database, so they
run in a worker thread.

Every activity the person makes refreshes the conversation reference of its sender (a
linked person) and of the approval channel (storage/teams.py); `deliver` (run by the
scheduler) keeps the channel's approval cards and sends the outbox's notices through
those references.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes, InvokeResponse
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import ClaimsIdentity, JwtTokenValidator
from microsoft_agents.hosting.teams import TeamsActivityHandler
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import delivery, redact
from bot.config import Settings
from bot.outage import unreachable
from bot.teams import cards
from bot.teams.activities import (
    CARD,
    PERSONAL,
    aad_id,
    acted,
    answer,
    automatic,
    message,
    staff_view,
    strip_mention,
    tenant_of,
)
from bot.teams.files import (
    by_chat,
    consent,
    file_info,
    onedrive,
    put_file,
    received,
    sent_files,
)
from bot.teams.proactive import Proactive, outcome_of
from bot.teams.transport import (
    Adapter,
    AnonymousClients,
    SdkRequest,
    auth,
    connections,
    issuers,
    replay_key,
    same_service,
)
from handlers import approval, logs, notices, payloads, policy, roster, router
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
STAFF_VIEWS = (*approval.DECISIONS, "request.card")
SENDER = "dxdesk.sender"  # the turn state's key for the Actor behind the activity
"""Answers that are an approver's own view of the channel's shared card."""
NO_REFERENCE_RETRY = timedelta(hours=1)
"""A person linked to Teams who has never written to the bot cannot be reached yet."""


class TeamsBot(TeamsActivityHandler):
    def __init__(self, ctx: Context, settings: Settings) -> None:
        self.ctx = ctx
        self.lang = ctx.rules.language
        self.anonymous = settings.teams_anonymous
        # a local emulator uploads to, and serves files sent to the bot from, anywhere
        self.any_upload_host = settings.teams_anonymous
        self.channel = settings.teams_approval_channel
        # Notices for the prefecture's channel go to one platform: Slack's channel when
        # both are configured (a row is sent once), else this one.
        self.channel_notices = bool(self.channel) and not (
            settings.slack_enabled and settings.slack_approval_channel
        )
        redact.install(settings.secrets())
        self.validator = JwtTokenValidator(auth(settings))
        self.issuers = issuers(settings)
        busy = t(self.lang, "service.busy")  # a turn the database cannot serve now
        if settings.teams_anonymous:
            self.adapter = Adapter(busy, channel_service_client_factory=AnonymousClients(None))
        else:
            self.adapter = Adapter(busy, connection_manager=connections(settings))
        self.proactive = Proactive(self.adapter, settings.teams_app_id or "")

    # -- HTTP ----------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """POST /api/messages: the bearer token is validated before anything is parsed
        (anonymous mode, for a local emulator only, skips that when no token is sent),
        and the activity must name the serviceUrl the token was issued for — else a
        valid token could send the bot's own outbound token anywhere."""
        claims = await self.claims(request.headers.get("authorization", ""))
        if claims is None:
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "Invalid JSON"}, status_code=400)
        if claims.is_authenticated and not same_service(claims, body):
            log.warning("teams token refused: its serviceurl is not the activity's")
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        key = replay_key(body)
        try:
            first = key is None or await asyncio.to_thread(self.first_time, key)
        except Exception as error:  # the turn answers busy (transport.Adapter)
            if not unreachable(error):
                raise
            key, first = None, True
        if not first:
            log.info("teams activity delivered again: dropped")
            return Response(status_code=200)
        try:
            response = await self.adapter.process_request(SdkRequest(request, body, claims), self)
        except Exception:  # e.g. no outbound token (a wrong TEAMS_APP_PASSWORD)
            log.exception("teams activity not processed")
            await asyncio.to_thread(self.forget, key)
            return JSONResponse({"error": "Internal error"}, status_code=500)
        if response.status_code >= 500:
            await asyncio.to_thread(self.forget, key)
        if response.body is None:
            return Response(status_code=response.status_code)
        return JSONResponse(response.body, status_code=response.status_code)

    async def claims(self, header: str) -> ClaimsIdentity | None:
        """The token's claims when it is valid and was issued by Bot Framework or by
        Entra ID for this tenant (the SDK checks signature, expiry and audience; the
        issuer only chooses its keys)."""
        scheme, _, token = header.partition(" ")
        if not token:
            return self.validator.get_anonymous_claims() if self.anonymous else None
        if scheme.lower() != "bearer":
            return None
        try:
            claims = await self.validator.validate_token(token)
        except Exception as error:  # any malformed, expired or foreign token
            log.warning("teams token refused: %s", type(error).__name__)
            return None
        if claims.get_claim_value("iss") not in self.issuers:
            log.warning("teams token refused: issuer %s", claims.get_claim_value("iss"))
            return None
        if not isinstance(claims.get_claim_value("exp"), int | float):
            log.warning("teams token refused: it does not expire")  # the SDK checks exp if any
            return None
        return claims

    def first_time(self, key: str) -> bool:
        """Claim an activity before its work (see `replay_key`)."""
        with self.ctx.db.transaction() as session:
            return messages.first_time(
                session, platform=PLATFORM, event_id=key, now=self.ctx.clock.now()
            )

    def forget(self, key: str | None) -> None:
        """The activity's handling failed: Teams' redelivery is handled, not dropped."""
        if key is not None:
            with self.ctx.db.transaction() as session:
                messages.forget(session, platform=PLATFORM, event_id=key)

    # -- identity ------------------------------------------------------------------------
    def actor(self, activity: Activity) -> Actor | None:
        user_id = aad_id(activity)
        if not user_id:
            return None
        # Only what the person does is their using Teams (their notices go where they last
        # acted): not a card refreshing itself on screen, a reaction or a membership change.
        return roster.identify(self.ctx, PLATFORM, user_id, inbound=acted(activity))

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
        """Who sent the activity, looked up once for the whole turn (`sender`)."""
        turn_context.turn_state[SENDER] = await asyncio.to_thread(
            self.arrive, turn_context.activity
        )
        await super().on_turn(turn_context)

    def arrive(self, activity: Activity) -> Actor | None:
        actor = self.actor(activity)
        if not automatic(activity):  # no write each time a card is shown
            self.remember(activity, actor)
        return actor

    @staticmethod
    def sender(turn_context: TurnContext) -> Actor | None:
        return turn_context.turn_state.get(SENDER)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        """Members added or removed, the app installed: nothing to answer (the Teams
        handler would look each new member up); the reference was refreshed above."""

    def remember(self, activity: Activity, actor: Actor | None) -> None:
        """Refresh where the sender (a linked person) and the approval channel can be
        written to later. Never fails the turn."""
        conversation = activity.conversation
        if not activity.service_url or conversation is None or not conversation.id:
            return
        try:
            tenant = tenant_of(activity)
            now = self.ctx.clock.now()
            base = conversation.id.split(";", 1)[0]  # a channel reply: "19:…;messageid=…"
            with self.ctx.db.transaction() as session:
                if self.channel and base == self.channel:
                    references.remember_channel(
                        session, base, service_url=activity.service_url, now=now, tenant_id=tenant
                    )
                if actor is not None:
                    personal = conversation.conversation_type in PERSONAL
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
        """The answer, in the conversation it was asked in; asked in a channel (or a
        group chat), in the person's own chat with the bot instead — answers, refusals
        and registration help are personal (their requests, their private calendar
        URL). The channel hears a neutral line, or nothing for someone the bot does not
        know."""
        activity = turn_context.activity
        actor = self.sender(turn_context)
        conversation = activity.conversation
        personal = conversation is None or conversation.conversation_type in PERSONAL
        files = sent_files(activity)
        if actor is not None and personal and files:
            await turn_context.send_activity(message(await self.attach(actor, files)))
            return
        reply = await asyncio.to_thread(self.message_reply, activity, actor)
        if personal:
            await turn_context.send_activity(message(reply))
            return
        if actor is None:
            await self.tell_stranger(activity, reply)
            return
        language = actor.language
        try:
            await self.send_personal(actor.id, [message(reply)])
        except Exception:
            log.exception("teams answer to a channel message not sent privately")
            await turn_context.send_activity(t(language, "teams.not_sent_privately"))
            return
        await turn_context.send_activity(t(language, "teams.sent_privately"))

    async def tell_stranger(self, activity: Activity, reply: Reply) -> None:
        """How to register, for someone unknown who wrote in a channel: in a 1:1 chat
        opened with their Teams user id (nothing is stored for them), else not at all."""
        sender = activity.from_property
        if not sender or not sender.id or not activity.service_url:
            return
        address = TeamsConversation(
            kind="personal",
            service_url=activity.service_url,
            user_id=sender.id,
            tenant_id=tenant_of(activity),
        )
        try:
            await self.proactive.send_to_person(address, [message(reply)])
        except Exception:
            log.warning("teams registration help not sent privately")

    async def send_personal(self, person_id: int, activities: list[Activity]) -> None:
        """Into the person's 1:1 chat with the bot, opening it if need be."""

        def find() -> TeamsConversation | None:
            with self.ctx.db.transaction() as session:
                return references.personal(session, person_id)

        reference = await asyncio.to_thread(find)
        if reference is None:
            raise LookupError("no Teams reference for this person")
        created = await self.proactive.send_to_person(reference, activities)
        if created:
            await asyncio.to_thread(self.remember_created, reference, created)

    def message_reply(self, activity: Activity, actor: Actor | None) -> Reply:
        if actor is None:
            return self.stranger(activity, "teams.message")
        reply = router.command(self.ctx, actor, strip_mention(activity.text or ""))
        return by_chat(reply, actor.language)

    async def attach(self, actor: Actor, files: list[tuple[str, str]]) -> Reply:
        """Files the person sent in their chat with the bot: downloaded (bot/teams/
        files.py) and attached to their latest log or minutes; the answer names it, and
        each file refused with why."""
        limit = self.ctx.rules.attachment_max_bytes
        uploads = await received(files, limit, any_host=self.any_upload_host)
        return await asyncio.to_thread(logs.attach_files, self.ctx, actor, uploads)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """Universal actions answered here: the SDK's own model of the response cannot
        carry the plain-text `value` a message response needs. Other invokes (file
        consent) go through the Teams extension's handler."""
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        return InvokeResponse(status=200, body=await self.on_action(turn_context, dict(data)))

    async def on_teams_file_consent(self, turn_context: TurnContext, response: Any) -> None:
        await self.on_file_consent(turn_context)

    async def on_action(self, turn_context: TurnContext, data: dict[str, Any]) -> dict[str, Any]:
        activity = turn_context.activity
        actor = self.sender(turn_context)
        quiet = await asyncio.to_thread(self.shared_view, activity, data, actor)
        if quiet is not None:
            return quiet
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
        reply = by_chat(reply, actor.language)
        request_id = reply.data.get("request_id")
        if reply.ok and request_id and action in (*approval.NEW_REQUESTS, *approval.CHANGES_CARD):
            await self.card_after(turn_context, action, int(request_id))
            if action in approval.DECISIONS:  # the approver's own view, refreshed: who, when
                reply = await asyncio.to_thread(approval.card, self.ctx, int(request_id), self.lang)
        if action in STAFF_VIEWS and request_id:  # an approver's view keeps refreshing
            user_ids = await asyncio.to_thread(self.approver_user_ids)
            return answer(reply, card=True, refresh=(staff_view(int(request_id)), user_ids))
        return answer(reply, card=True)

    def shared_view(
        self, activity: Activity, data: dict[str, Any], actor: Actor | None
    ) -> dict[str, Any] | None:
        """A card in the approval channel refreshing itself for someone who may not
        decide (in a small channel Teams refreshes a shared card for everyone): the card
        everyone sees, without an audit entry each time it scrolls past. None: the usual
        path (an approver, a click, or anything not from the approval channel — which
        refuses and audits what it must)."""
        conversation = activity.conversation
        in_channel = bool(self.channel and conversation and conversation.id)
        if not (in_channel and automatic(activity) and data.get("action") == "request.card"):
            return None
        if conversation.id.split(";", 1)[0] != self.channel:  # type: ignore[union-attr]
            return None
        if actor is not None and policy.allowed(actor, "request.approve"):
            return None
        try:
            request_id = payloads.require_id(str(data.get("value") or ""))
            card, _ = self.shared_card(request_id)
        except (Refused, LookupError):
            return None
        return {"statusCode": 200, "type": CARD, "value": card.attachments[0].content}

    def approver_user_ids(self) -> list[str]:
        with self.ctx.db.transaction() as session:
            return references.approver_user_ids(session, limit=cards.REFRESH_USERS)

    # -- the approval channel ------------------------------------------------------------
    def shared_card(self, request_id: int) -> tuple[Activity, Reply]:
        """The channel's card: everyone sees the request; approvers Teams knows (up to
        60, by their Teams user id) get their own view with the decision buttons, read
        afresh whenever it is shown (`refresh.userIds`); any other approver opens it with
        the card's button."""
        reply = approval.public_card(self.ctx, request_id, self.lang)
        if not reply.data.get("staff_view"):  # decided: nothing left for approvers to do
            return message(reply), reply
        refresh = (staff_view(request_id), self.approver_user_ids())
        return message(reply, refresh=refresh), reply

    def channel_reference(self, turn: Activity | None = None) -> TeamsConversation | None:
        """Where the approval channel is reached: its stored reference, else (the first
        time) the address of the turn at hand or of anyone who has written to the bot."""
        if not self.channel:
            return None
        with self.ctx.db.transaction() as session:
            stored = references.channel(session, self.channel)
            if stored is not None:
                return stored
            source = (turn.service_url, tenant_of(turn)) if turn and turn.service_url else None
            if source is None:
                latest = references.latest(session)
                source = (latest.service_url, latest.tenant_id) if latest else None
            if source is None:
                return None
            return references.remember_channel(
                session,
                self.channel,
                service_url=source[0],
                now=self.ctx.clock.now(),
                tenant_id=source[1],
            )

    async def post_card(self, request_id: int, turn: Activity | None = None) -> None:
        """The request's card in the prefecture's channel, remembered so decisions update
        it in place. Proactive, so the scheduler posts cards missing (a request entered
        elsewhere, or a post that failed) the same way a turn does."""
        reference = await asyncio.to_thread(self.channel_reference, turn)
        channel = self.channel
        if reference is None or not channel:
            return
        token = await asyncio.to_thread(
            approval.reserve_card, self.ctx, PLATFORM, request_id, channel
        )
        if not token:
            return  # posted, or being posted, by someone else
        try:
            card, shown = await asyncio.to_thread(self.shared_card, request_id)
            (message_id,) = await self.proactive.send(reference, channel, [card])
        except Exception:
            await asyncio.to_thread(approval.release_card, self.ctx, token)
            raise
        if not await asyncio.to_thread(
            approval.fill_card, self.ctx, token, channel, message_id, shown
        ):
            log.warning(
                "teams approval card for request %s posted twice: deleting ours", request_id
            )

            async def remove(turn_context: TurnContext) -> None:
                await turn_context.delete_activity(message_id)

            await self.proactive.continue_in(reference, channel, remove)

    async def update_card(self, request_id: int) -> None:
        def find() -> tuple[Any, TeamsConversation | None]:
            with self.ctx.db.transaction() as session:
                posted = messages.find(
                    session, platform=PLATFORM, purpose="approval", target_id=request_id
                )
                stored = references.channel(session, posted.channel) if posted else None
                return posted, stored

        posted, reference = await asyncio.to_thread(find)
        if posted is None or reference is None:
            return
        update, shown = await asyncio.to_thread(self.shared_card, request_id)
        update.id = posted.message_id

        async def replace(turn_context: TurnContext) -> None:
            await turn_context.update_activity(update)

        try:
            await self.proactive.continue_in(reference, posted.channel, replace)
        except Exception:
            await asyncio.to_thread(approval.card_not_updated, self.ctx, posted.id or 0)
            raise
        await asyncio.to_thread(approval.card_shown, self.ctx, posted.id or 0, shown)

    async def card_after(self, turn_context: TurnContext, action: str, request_id: int) -> None:
        """Keep the channel's card current after a click; a failure is logged, the
        click's own answer still goes back."""
        try:
            if action in approval.NEW_REQUESTS:
                await self.post_card(request_id, turn_context.activity)
            elif action in approval.CHANGES_CARD:
                await self.update_card(request_id)
        except Exception:
            log.exception("teams approval card for request %s not posted/updated", request_id)

    def nudge(self) -> int:
        """Remind the card's thread of requests waiting more than a business day."""
        count = 0
        channels: dict[str, TeamsConversation | None] = {}
        for nudge in approval.nudges_due(self.ctx, PLATFORM):
            if nudge.channel not in channels:
                with self.ctx.db.transaction() as session:
                    channels[nudge.channel] = references.channel(session, nudge.channel)
            reference = channels[nudge.channel]
            if reference is None:
                continue
            thread = f"{nudge.channel};messageid={nudge.message_id}"
            try:
                asyncio.run(self.proactive.send(reference, thread, [message(nudge.reply)]))
            except Exception:
                log.exception("teams nudge for card %s not posted", nudge.message_id)
                continue
            approval.mark_nudged(self.ctx, nudge.posted_id)
            count += 1
        return count

    # -- proactive delivery of the outbox ---------------------------------------------------
    def deliver(self) -> int:
        """Post approval cards still missing and update stale ones, then send the notices
        queued for people whose notices go to Teams (and, when Teams holds the
        prefecture's channel, those for that channel) as Adaptive Cards. A notice that
        fails goes back to the queue with a back-off; after a few attempts it is
        `failed`."""
        if self.channel:
            delivery.keep_cards(
                self.ctx,
                PLATFORM,
                lambda i: asyncio.run(self.post_card(i)),
                lambda i: asyncio.run(self.update_card(i)),
            )
        audiences = (Audience.PREFECTURE,) if self.channel_notices else ()
        return delivery.deliver(self.ctx, PLATFORM, audiences, self.send)

    def send(self, out: notices.Outgoing) -> delivery.Outcome:
        """One notice. Teams keeps no metadata the bot could look for, so a row reaped
        from a sender that died mid-send cannot be checked: it is sent again, marked as a
        resend (at least once, never silently twice). Files (an invite's .ics) follow as
        file-consent cards: Teams uploads one to the reader's OneDrive once they agree."""
        reference = self.reference(out)
        if reference is None:
            if out.to and roster.hand_over(self.ctx, PLATFORM, out.to):
                notices.hand_back(self.ctx, out.notification_id)  # for their other platform
                return False, None
            log.warning("notice %s: no Teams conversation to write to yet", out.notification_id)
            return False, NO_REFERENCE_RETRY
        reply = out.reply
        if out.maybe_sent:
            reply = notices.marked_resent(reply, out.language)
        activities = [message(reply)]
        if not out.audience:
            activities += [consent(out.notification_id, f, out.language) for f in reply.files]
        try:
            created = asyncio.run(self.proactive.send_to_person(reference, activities))
        except Exception as error:  # classified: a chat gone or a blocked bot fails at once
            outcome = outcome_of(error)
            log.warning("notice %s not delivered: %s", out.notification_id, outcome.reason)
            return outcome
        if created:
            self.remember_created(reference, created)
        return True, None

    def reference(self, out: notices.Outgoing) -> TeamsConversation | None:
        with self.ctx.db.transaction() as session:
            if out.audience:
                return references.channel(session, self.channel) if self.channel else None
            return references.personal(session, out.person_id) if out.person_id else None

    def remember_created(self, reference: TeamsConversation, conversation_id: str) -> None:
        with self.ctx.db.transaction() as session:
            references.remember_personal(
                session,
                reference.person_id or 0,
                service_url=reference.service_url,
                now=self.ctx.clock.now(),
                conversation_id=conversation_id,
            )

    async def on_file_consent(self, turn_context: TurnContext) -> None:
        """The reader answered a file-consent card. On accept the file (built again from
        the notice, for its own reader only) is PUT to the upload URL Teams gave, then
        shown as a file card in place of the consent card."""
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        context = value.get("context") if isinstance(value.get("context"), dict) else {}
        upload = value.get("uploadInfo") if isinstance(value.get("uploadInfo"), dict) else {}
        actor = self.sender(turn_context)
        if actor is None:
            reply = await asyncio.to_thread(self.stranger, activity, "teams.file")
            await turn_context.send_activity(message(reply))
            return
        notification = context.get("notification")
        ref = payloads.encode(id=notification) if isinstance(notification, int) else ""
        reply = await asyncio.to_thread(router.press, self.ctx, actor, "invite.file", ref)
        if not reply.ok or not reply.files:
            await turn_context.send_activity(message(reply))
            return
        file = reply.files[0]
        if value.get("action") != "accept":
            text = t(actor.language, "teams.file.declined", name=file.name)
            await turn_context.send_activity(text)
            return
        url = str(upload.get("uploadUrl") or "")
        if not self.any_upload_host and not onedrive(url):
            refusal = Refused(
                "refusal.bad_payload", target_type="notification", target_id=notification
            )
            await asyncio.to_thread(record_refusal, self.ctx, actor, "teams.file", refusal)
            await turn_context.send_activity(t(actor.language, "teams.file.failed", name=file.name))
            return
        try:
            await put_file(url, file.content)
        except Exception:
            log.exception("teams file upload failed")
            await turn_context.send_activity(t(actor.language, "teams.file.failed", name=file.name))
            return
        await turn_context.send_activity(
            Activity(type=ActivityTypes.message, attachments=[file_info(upload, file.name)])
        )
        if activity.reply_to_id:  # the consent card has served its purpose
            try:
                await turn_context.delete_activity(activity.reply_to_id)
            except Exception:
                log.warning("teams consent card %s not removed", activity.reply_to_id)
