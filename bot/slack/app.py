"""The Slack app: Bolt listeners that resolve the Slack user to an Actor, call the
platform-neutral handlers and render their replies as Block Kit.

Every listener acknowledges first, from the request thread: commands, shortcuts, buttons
and events through lazy listeners (the ack returns at once, the work runs after it); a
modal submission runs its handler inside the ack, because field errors must travel back
in that response, and hands everything else (DMs, the approval channel) to a background
pool.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot import delivery
from bot.config import Settings
from bot.slack import blocks
from bot.slack.jobs import Jobs, ThreadJobs
from handlers import approval, intake, notices, roster, router
from handlers.actor import Actor
from handlers.context import Context
from handlers.core import record_refusal
from handlers.errors import Refused
from handlers.i18n import t
from handlers.reply import File, Reply
from storage import messages
from storage.models import Audience

log = logging.getLogger("dxdesk.slack")
PLATFORM = "slack"
NOTICE_EVENT = "dxdesk_notice"  # message metadata type carrying a notice's outbox key
MESSAGE_SHORTCUT = "dx_request_from_message"
ACTION_IDS = re.compile(r"^[a-z_]+(\.[a-z_]+)*$")


def make_client(settings: Settings) -> WebClient:
    """A Web API client that retries 429 (honouring Retry-After), 5xx and dropped
    connections with slack_sdk's own retry handlers."""
    assert settings.slack_bot_token is not None
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


class SlackBot:
    def __init__(
        self,
        ctx: Context,
        settings: Settings,
        client: WebClient | None = None,
        jobs: Jobs | None = None,
    ) -> None:
        self.ctx = ctx
        self.lang = ctx.rules.language
        self.channel = settings.slack_approval_channel
        self.client = client or make_client(settings)
        secret = settings.slack_signing_secret
        self.app = App(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else None,
            # Acks go straight back from the request thread (no executor hop, no polling);
            # the work after them is handed to `jobs`.
            process_before_response=True,
            token_verification_enabled=False,
        )
        self.jobs = jobs or ThreadJobs()
        self.jobs.bind(self)
        self.app.middleware(self._once_per_event)
        self.app.command("/dx")(self._ack_then("on_command"))
        self.app.shortcut(MESSAGE_SHORTCUT)(self._ack_then("on_shortcut"))
        self.app.action(ACTION_IDS)(self._ack_then("on_action"))
        self.app.view(blocks.FORM_CALLBACK)(self.on_view)
        self.app.event("app_home_opened")(self._ack_then("on_home"))

    # -- plumbing ------------------------------------------------------------------------
    def _ack_then(self, job: str) -> Any:
        """A listener that acknowledges and queues the payload for `job`."""

        def listener(ack: Any, body: dict[str, Any]) -> None:
            ack()
            self.jobs.submit(job, body)

        listener.__name__ = f"ack_then_{job}"
        return listener

    def _once_per_event(self, body: dict[str, Any], next: Any) -> BoltResponse | None:
        """A redelivered event (Slack retries after 3 s or on errors) is acknowledged and
        dropped; the event id decides, not the X-Slack-Retry-Num header alone."""
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and event_id:
            with self.ctx.db.transaction() as session:
                first = messages.first_time(
                    session, platform=PLATFORM, event_id=str(event_id), now=self.ctx.clock.now()
                )
            if not first:
                return BoltResponse(status=200, body="")
        return next()

    def stranger(self, user_id: str, what: str) -> Reply:
        """The explanation for an unregistered user, and an audit entry of the attempt."""
        record_refusal(
            self.ctx,
            None,
            what,
            Refused("identity.unknown", target_type="slack_user", target_id=user_id),
        )
        return roster.unknown_user(self.lang)

    def actor(self, user_id: str) -> Actor | None:
        """The registered person behind a Slack user, linking them on first contact when
        users.info gives an e-mail address that a registered person has."""
        found = roster.identify(self.ctx, PLATFORM, user_id)
        if found is not None:
            return found
        try:
            profile = self.client.users_info(user=user_id)["user"].get("profile") or {}
        except SlackApiError:
            log.warning("users.info failed for an unknown user")
            return None
        email = profile.get("email")
        return roster.link_by_email(self.ctx, PLATFORM, user_id, email) if email else None

    def show(
        self,
        reply: Reply,
        actor_language: str,
        *,
        trigger_id: str | None,
        response_url: str | None,
        user_id: str,
        channel: str | None = None,
    ) -> None:
        """A form opens as a modal (with whatever the reply says above it); anything else
        goes to the person only: ephemeral where Slack gave a response_url, a modal for a
        click inside a view such as App Home, a DM otherwise."""
        form = reply.form
        close = t(actor_language, "slack.close")
        if form is not None and trigger_id:
            view = blocks.modal(
                form, close=close, extra={"ch": channel} if channel else None, intro=reply
            )
            self.client.views_open(trigger_id=trigger_id, view=view)
        elif response_url:
            WebhookClient(response_url, retry_handlers=self.client.retry_handlers).send(
                blocks=blocks.message_blocks(reply),
                text=blocks.fallback_text(reply),
                response_type="ephemeral",
                replace_original=False,
            )
        elif trigger_id:
            title = t(actor_language, "slack.done_title")
            view = blocks.result_modal(reply, title=title, close=close)
            self.client.views_open(trigger_id=trigger_id, view=view)
        else:
            self.post(user_id, reply)

    # -- listeners -----------------------------------------------------------------------
    def on_command(self, body: dict[str, Any]) -> None:
        response_url = body.get("response_url")
        user_id = body["user_id"]
        actor = self.actor(user_id)
        if actor is None:
            self.show(
                self.stranger(user_id, "slack.command"),
                self.lang,
                trigger_id=None,
                response_url=response_url,
                user_id=user_id,
            )
            return
        reply = router.command(self.ctx, actor, body.get("text") or "")
        self.show(
            reply,
            actor.language,
            trigger_id=body.get("trigger_id"),
            response_url=response_url,
            user_id=user_id,
            channel=body.get("channel_id"),
        )

    def on_shortcut(self, body: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        actor = self.actor(user_id)
        if actor is None:
            self.post(user_id, self.stranger(user_id, "slack.shortcut"))
            return
        text = (body.get("message") or {}).get("text") or ""
        reply = intake.new_form(self.ctx, actor, "consultation", prefill=text)
        self.show(
            reply,
            actor.language,
            trigger_id=body.get("trigger_id"),
            response_url=None,
            user_id=user_id,
        )

    def on_action(self, body: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        action = body["actions"][0]
        answer = body.get("response_url")
        actor = self.actor(user_id)
        if actor is None:
            self.show(
                self.stranger(user_id, str(action.get("action_id", ""))[:50]),
                self.lang,
                trigger_id=None,
                response_url=answer,
                user_id=user_id,
            )
            return
        value = action.get("value") or ""
        reply = router.press(self.ctx, actor, action["action_id"], "" if value == "-" else value)
        channel = (body.get("channel") or {}).get("id")
        self.show(
            reply,
            actor.language,
            trigger_id=body.get("trigger_id"),
            response_url=answer,
            user_id=user_id,
            channel=channel,
        )

    def on_view(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        actor = self.actor(user_id)
        if actor is None:
            ack(
                response_action="update",
                view=blocks.result_modal(
                    self.stranger(user_id, "slack.view"),
                    title=t(self.lang, "slack.done_title"),
                    close=t(self.lang, "slack.close"),
                ),
            )
            return
        meta = blocks.metadata(view)
        action = str(meta.get("a") or "")
        values = blocks.submitted_values(view.get("state", {}).get("values", {}))
        reply = router.submit(self.ctx, actor, action, values, str(meta.get("c") or ""))
        errors = reply.data.get("errors")
        if errors:
            ack(
                response_action="errors",
                errors={name: blocks.cut(message, 150) for name, message in errors.items()},
            )
            return
        if not reply.ok:
            ack(
                response_action="update",
                view=blocks.result_modal(
                    reply,
                    title=t(actor.language, "slack.done_title"),
                    close=t(actor.language, "slack.close"),
                ),
            )
            return
        ack()
        self.jobs.submit("after_submit", actor, user_id, action, reply)

    def after_submit(self, actor: Actor, user_id: str, action: str, reply: Reply) -> None:
        """Tell the person, keep the approval channel current, send the queued notices.
        Each step stands alone: a failed DM must not cost the approval card (a card that
        could not be posted is posted by the next `deliver`)."""
        request_id = reply.data.get("request_id")
        steps: list[tuple[str, Any]] = [
            ("dm", lambda: self.post(user_id, reply)),
        ]
        if request_id and action in approval.NEW_REQUESTS:
            steps.append(("card", lambda: self.post_card(int(request_id))))
        elif request_id and action in approval.CHANGES_CARD:
            thread = action in ("request.ask_info", "request.answer")
            steps.append(("card", lambda: self.update_card(int(request_id), thread=thread)))
        steps.append(("notices", self.deliver))
        for name, step in steps:
            try:
                step()
            except Exception:
                log.exception("after %s: %s failed", action, name)

    def post(self, channel: str, reply: Reply, **extra: Any) -> Any:
        """The message, then any files it carries (an invite's .ics) into the same
        conversation."""
        posted = self.client.chat_postMessage(
            channel=channel,
            blocks=blocks.message_blocks(reply),
            text=blocks.fallback_text(reply),
            **extra,
        )
        if reply.files:
            self.upload(str(posted.get("channel") or channel), reply.files)
        return posted

    def conversation_of(self, channel: str) -> str:
        """A user id (a DM) as the bot's DM channel with that user (conversations.open,
        im:write); a conversation id as it is."""
        if channel[:1] in ("U", "W"):
            return str(self.client.conversations_open(users=channel)["channel"]["id"])
        return channel

    def upload(self, channel: str, files: tuple[File, ...]) -> None:
        """files_upload_v2 shares into a conversation id, not a user id."""
        self.client.files_upload_v2(
            channel=self.conversation_of(channel),
            file_uploads=[
                {"content": file.content, "filename": file.name, "title": file.name}
                for file in files
            ],
        )

    def on_home(self, body: dict[str, Any]) -> None:
        user_id = body["event"]["user"]
        actor = self.actor(user_id)
        reply = router.press(self.ctx, actor, "home") if actor else roster.unknown_user(self.lang)
        self.client.views_publish(user_id=user_id, view=blocks.home_view(reply))

    # -- the approval channel ------------------------------------------------------------
    def post_card(self, request_id: int) -> None:
        """The request's card in the approval channel, posted once however many try."""
        channel = self.channel
        token = approval.reserve_card(self.ctx, PLATFORM, request_id, channel) if channel else None
        if not channel or not token:
            return
        try:
            card = approval.card(self.ctx, request_id, self.lang)
            posted = self.post(channel, card)
        except Exception:
            approval.release_card(self.ctx, token)
            raise
        if not approval.fill_card(self.ctx, token, posted["channel"], posted["ts"], card):
            log.warning("approval card for request %s posted twice: deleting ours", request_id)
            self.client.chat_delete(channel=posted["channel"], ts=posted["ts"])

    def update_card(self, request_id: int, *, thread: bool) -> None:
        """Show the decision (who, when) in place; questions and answers go in the thread."""
        with self.ctx.db.transaction() as session:
            posted = messages.find(
                session, platform=PLATFORM, purpose="approval", target_id=request_id
            )
        if posted is None:
            return
        card = approval.card(self.ctx, request_id, self.lang)
        try:
            self.client.chat_update(
                channel=posted.channel,
                ts=posted.message_id,
                blocks=blocks.message_blocks(card),
                text=blocks.fallback_text(card),
            )
        except Exception:
            approval.card_not_updated(self.ctx, posted.id or 0)
            raise
        approval.card_shown(self.ctx, posted.id or 0, card)
        if thread:
            note = approval.latest_exchange(self.ctx, request_id, self.lang)
            self.client.chat_postMessage(
                channel=posted.channel,
                thread_ts=posted.message_id,
                blocks=blocks.message_blocks(note),
                text=blocks.fallback_text(note),
            )

    # -- scheduled work ------------------------------------------------------------------
    def deliver(self) -> int:
        """Post approval cards still missing (requests entered elsewhere, or a post that
        failed) and bring stale ones up to date (decided elsewhere, or an update that
        failed), then send the notices queued for Slack users as DMs. A notice that fails
        goes back to the queue with a back-off; after a few attempts it is `failed`."""
        if self.channel:
            delivery.keep_cards(
                self.ctx, PLATFORM, self.post_card, lambda i: self.update_card(i, thread=False)
            )
        audiences = (Audience.PREFECTURE,) if self.channel else ()
        return delivery.deliver(self.ctx, PLATFORM, audiences, self.send)

    def send(self, out: notices.Outgoing) -> delivery.Outcome:
        """One notice: posted with its outbox key in the message metadata, so that a row
        reaped from a sender that died mid-send is not posted twice."""
        target = (self.channel if out.audience else out.to) or ""
        retry_after: timedelta | None = None
        try:
            if out.maybe_sent:  # checked and resent in the one DM conversation
                target = self.conversation_of(target)
            if out.maybe_sent and self.already_posted(target, out.key):
                if out.reply.files:  # the message went out; its file may not have
                    self.upload(target, out.reply.files)
            else:
                self.post(
                    target,
                    out.reply,
                    metadata={"event_type": NOTICE_EVENT, "event_payload": {"key": out.key}},
                )
        except SlackApiError as error:
            log.warning("notice %s not delivered: %s", out.notification_id, error)
            retry_after = retry_after_of(error)
            ok = False
        except Exception:
            log.exception("notice %s not delivered", out.notification_id)
            ok = False
        else:
            ok = True
        return ok, retry_after

    def already_posted(self, channel: str, key: str) -> bool:
        """Whether a notice went out before its sender died (its row was reaped): every
        notice carries its outbox key in the message metadata, so the conversation's
        recent history says. Only reaped rows pay for this lookup."""
        history = self.client.conversations_history(
            channel=self.conversation_of(channel), limit=100, include_all_metadata=True
        )
        return any(
            (message.get("metadata") or {}).get("event_payload", {}).get("key") == key
            for message in history.get("messages", [])
        )

    def nudge(self) -> int:
        """Remind the approval thread of requests waiting more than a business day."""
        count = 0
        for nudge in approval.nudges_due(self.ctx, PLATFORM):
            self.client.chat_postMessage(
                channel=nudge.channel,
                thread_ts=nudge.message_id,
                blocks=blocks.message_blocks(nudge.reply),
                text=blocks.fallback_text(nudge.reply),
            )
            approval.mark_nudged(self.ctx, nudge.posted_id)
            count += 1
        return count


def retry_after_of(error: SlackApiError) -> timedelta | None:
    """Slack's Retry-After on a 429 that outlasted the SDK's own retries: the row waits
    at least that long before its next attempt."""
    response = error.response
    if getattr(response, "status_code", None) != 429:
        return None
    headers = {k.lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return timedelta(seconds=int(str(value)))
    except (TypeError, ValueError):
        return None
