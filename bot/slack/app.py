"""The Slack app: Bolt listeners that resolve the Slack user to an Actor, call the
platform-neutral handlers and render their replies as Block Kit.

Every listener acknowledges first, from the request thread: commands, shortcuts, buttons
and events through lazy listeners (the ack returns at once, the work runs after it); a
modal submission runs its handler inside the ack, because field errors must travel back
in that response, and hands everything else (DMs, the approval channel) to a background
pool.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.middleware.request_verification import RequestVerification
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.config import Settings
from bot.delivery import sending
from bot.runtime import redact
from bot.runtime.edge import logged
from bot.runtime.outage import unreachable
from bot.slack import blocks
from bot.slack import files as slack_files
from bot.slack.errors import SLACK_ERRORS
from bot.slack.jobs import Jobs, ThreadJobs
from handlers import router
from handlers.core import replays
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import t
from handlers.core.intents import record_refusal
from handlers.core.reply import File, Reply, Text, Upload
from handlers.fieldwork import logs
from handlers.intake import approval_card, submission
from handlers.intake.approval_card import Posted
from handlers.notifications import notices
from handlers.notifications.addresses import Audience
from handlers.people import roster

log = logging.getLogger("dxdesk.slack")
PLATFORM = "slack"
NOTICE_EVENT = "dxdesk_notice"  # message metadata type carrying a notice's outbox key
HISTORY_PAGE = 200  # conversations.history page size while looking for a notice
HISTORY_SKEW = timedelta(minutes=5)  # looked back this much further, for clock skew
RATE_LIMIT_WAIT = timedelta(seconds=1)  # a 429 that names no Retry-After
READ_RETRY_SECONDS = 0.2  # a look-up that got a 5xx is asked again this soon
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


def notice_client(client: WebClient, *, reads: bool = False) -> WebClient:
    """A client notices go out with: `client`'s token and address, but a 429 comes
    straight back instead of being slept on inside the call — the outbox retries after
    its Retry-After (not as an attempt), and meanwhile the sender goes on with rows for
    other conversations. A post that got a 5xx may have gone out: it is retried only
    after the "already posted?" check, never blindly by the SDK. The look-ups of that
    check (`reads`: conversations.open, .history, which change nothing) are retried at
    once on a 5xx, so a reaped row is not held up a back-off for a blip."""
    handlers: list[Any] = [ConnectionErrorRetryHandler(max_retry_count=1)]
    if reads:
        again = FixedValueRetryIntervalCalculator(READ_RETRY_SECONDS)
        handlers.append(ServerErrorRetryHandler(max_retry_count=2, interval_calculator=again))
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=handlers,
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
        self.notice_client = notice_client(self.client)
        self.lookup_client = notice_client(self.client, reads=True)
        secret = settings.slack_signing_secret
        self.app = App(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else None,
            # Acks go straight back from the request thread (no executor hop, no polling);
            # the work after them is handed to `jobs`.
            process_before_response=True,
            token_verification_enabled=False,
        )
        if secret:
            signed_only(self.app, secret.get_secret_value())
        redact.install(settings.secrets())  # in the worker process too (its own logging)
        self.cards = ChannelCards(self)
        self.jobs = jobs or ThreadJobs()
        self.jobs.bind(self)
        self.app.middleware(self._once_per_event)
        self.app.command("/dx")(self._ack_then("on_command"))
        self.app.shortcut(MESSAGE_SHORTCUT)(self._ack_then("on_shortcut"))
        self.app.action(ACTION_IDS)(self._ack_then("on_action"))
        self.app.view(blocks.FORM_CALLBACK)(self.on_view)
        self.app.event("app_home_opened")(self._ack_then("on_home"))
        self.app.error(self.on_error)

    # -- plumbing ------------------------------------------------------------------------
    def _ack_then(self, job: str) -> Any:
        """A listener that acknowledges and queues the payload for `job`; if that fails,
        the payload is not marked as handled, so Slack's retry is."""

        def listener(ack: Any, body: dict[str, Any]) -> None:
            ack()
            self.jobs.submit(job, body)

        listener.__name__ = f"ack_then_{job}"
        return listener

    def _once_per_event(self, body: dict[str, Any], next: Any) -> BoltResponse | None:
        """A replayed view submission (the same signed body sent again inside Slack's
        5-minute window) is acknowledged and dropped: a submission does its work inside
        the ack, so its key is claimed here, before that work. Everything else is
        acknowledged at once and claimed by the job that does its work (`claim`), so no
        acknowledgement waits for a database write."""
        if body.get("type") == "view_submission" and not self.claim(body):
            return BoltResponse(status=200, body="")
        return next()

    def claim(self, body: dict[str, Any]) -> bool:
        """True the first time this payload is seen; False for a redelivered event
        (Slack retries after 3 s or on errors) or a replayed interaction. The key
        (`replay_key`) is claimed in its own transaction, before any work, and given
        back (`forget`) when the work failed or changed nothing."""
        key = replay_key(body)
        if key is None:
            return True
        first = replays.first_time(self.ctx, PLATFORM, key)
        if not first:
            log.info("slack %s delivered again: dropped", body.get("type"))
        return first

    def forget(self, body: dict[str, Any]) -> None:
        """Let the payload be handled again (its handling failed or changed nothing)."""
        key = replay_key(body)
        if key is not None:
            replays.forget(self.ctx, PLATFORM, key)

    def on_error(self, error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        """What a middleware or listener raised: the edge of every Slack request. The
        database out of reach (bot/runtime/outage.py) gets the busy answer; anything else
        is logged with a reference number and answered 500, as Bolt does (Slack shows
        the person its own error, and a submission can be sent again)."""
        if not unreachable(error):
            logged(log, "slack request failed", error=error)
            return None
        log.warning("slack %s answered busy: database unreachable", body.get("type") or "command")
        return self.busy_answer(body)

    def busy_answer(self, body: dict[str, Any]) -> BoltResponse:
        """「混み合っています」 in the request's own answer: a modal pushed over the submitted
        form, which stays filled in beneath it to submit again. (Only a view submission
        touches the database before its ack; everything else is told by its job,
        `tell_busy`.) Anything else that got here is acknowledged and told the same way."""
        if body.get("type") == "view_submission":
            view = self.result_view(self.busy_reply(), self.lang)
            return BoltResponse(status=200, body={"response_action": "push", "view": view})
        self.jobs.submit("tell_busy", body)
        return BoltResponse(status=200, body="")

    def busy_reply(self) -> Reply:
        return Reply((Text(t(self.lang, "service.busy")),))

    def unexpected_reply(self, reference: str) -> Reply:
        """What went wrong, for the person: only the reference number of its log line."""
        text = Text(t(self.lang, "error.unexpected", ref=reference), "error")
        return Reply((text,), ok=False)

    def tell_busy(self, body: dict[str, Any]) -> None:
        """The busy answer to the person (`tell`)."""
        self.tell(body, self.busy_reply())

    def tell_unexpected(self, body: dict[str, Any], reference: str) -> None:
        """A job that failed, told to the person with its reference number (`tell`)."""
        self.tell(body, self.unexpected_reply(reference))

    def tell(self, body: dict[str, Any], reply: Reply) -> None:
        """An answer to the person only, without the database: ephemeral through the
        request's response_url, else a modal on its trigger, else a DM."""
        user = body.get("user_id") or (body.get("user") or {}).get("id") or ""
        self.show(
            reply,
            self.lang,
            trigger_id=None if body.get("response_url") else body.get("trigger_id"),
            response_url=body.get("response_url"),
            user_id=str(user),
        )

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
        reply = submission.new_form(self.ctx, actor, "consultation", prefill=text)
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
        """A modal submitted. The ack comes before any Web API call: the person is
        looked up in storage only; someone unknown there (first contact through a
        modal) is shown a "checking" view at once and answered by `late_view`, which
        may ask users.info. A submission that changed nothing (field errors, a
        refusal) is not remembered as handled: the corrected form can come back."""
        try:
            took_effect = self.answer_view(ack, body, view)
        except Exception:  # not handled here: given back, then raised on to `on_error`
            self.forget(body)
            raise
        if not took_effect:
            self.forget(body)

    def answer_view(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> bool:
        user_id = body["user"]["id"]
        actor = roster.identify(self.ctx, PLATFORM, user_id)
        if actor is None:
            checking = Reply((Text(t(self.lang, "slack.checking")),))
            ack(response_action="update", view=self.result_view(checking, self.lang))
            self.jobs.submit("late_view", user_id, view)
            return True
        meta = blocks.metadata(view)
        action = str(meta.get("a") or "")
        values = self.values_of(view)
        reply = router.submit(self.ctx, actor, action, values, str(meta.get("c") or ""))
        errors = reply.data.get("errors")
        if errors:
            ack(
                response_action="errors",
                errors={name: blocks.cut(message, 150) for name, message in errors.items()},
            )
            return False
        if not reply.ok:
            ack(response_action="update", view=self.result_view(reply, actor.language))
            return False
        ack()
        self.jobs.submit("after_submit", actor, user_id, action, reply, later(values))
        return True

    def values_of(self, view: dict[str, Any]) -> dict[str, Any]:
        """The submitted values, the files of a file_input described by files.info (their
        bytes are downloaded after the ack: bot.slack.files)."""
        values = blocks.submitted_values(view.get("state", {}).get("values", {}))
        return {
            name: slack_files.describe(self.client, value) if slack_files.is_files(value) else value
            for name, value in values.items()
        }

    def result_view(self, reply: Reply, language: str) -> dict[str, Any]:
        title, close = t(language, "slack.done_title"), t(language, "slack.close")
        return blocks.result_modal(reply, title=title, close=close)

    def late_view(self, user_id: str, view: dict[str, Any]) -> None:
        """A modal submitted by someone storage did not know, after the ack: linked by
        e-mail now (users.info) and the submission handled, or told how to register;
        the "checking" view is replaced with the outcome (the form again, with its
        errors above it, when fields were wrong)."""
        actor = self.actor(user_id)
        if actor is None:
            outcome = self.result_view(self.stranger(user_id, "slack.view"), self.lang)
            self.client.views_update(view_id=view["id"], view=outcome)
            return
        meta = blocks.metadata(view)
        action = str(meta.get("a") or "")
        values = self.values_of(view)
        reply = router.submit(self.ctx, actor, action, values, str(meta.get("c") or ""))
        errors = reply.data.get("errors")
        if errors and reply.form is not None:
            intro = Reply(tuple(Text(str(message)) for message in errors.values()))
            close = t(actor.language, "slack.close")
            outcome = blocks.modal(reply.form, close=close, intro=intro)
        else:
            outcome = self.result_view(reply, actor.language)
        self.client.views_update(view_id=view["id"], view=outcome)
        if reply.ok and not errors:
            self.after_submit(actor, user_id, action, reply, later(values))

    def after_submit(
        self,
        actor: Actor,
        user_id: str,
        action: str,
        reply: Reply,
        files: tuple[Upload, ...] = (),
    ) -> None:
        """Attach the form's files, tell the person, keep the approval channel current,
        send the queued notices. Each step stands alone (an edge: the submission itself is
        committed): a failed DM must not cost the approval card (a card that could not be
        posted is posted by the next `deliver`)."""
        if files:
            reply = self.attach_later(actor, reply, files)
        request_id = reply.data.get("request_id")
        steps: list[tuple[str, Any]] = [
            ("dm", lambda: self.post(user_id, reply)),
        ]
        if request_id and approval_card.changes_card(action):
            steps.append(("card", lambda: self.card_after(action, int(request_id))))
        steps.append(("notices", self.deliver))
        for name, step in steps:
            try:
                step()
            except Exception:
                logged(log, "after %s: %s failed", action, name)

    def attach_later(self, actor: Actor, reply: Reply, files: tuple[Upload, ...]) -> Reply:
        """The form's files, downloaded now that the ack is sent and attached to the log
        or minutes it filed. The DM that confirms the filing says what was attached and
        names each file that could not be (the filing stands either way)."""
        log_id, minutes_id = reply.data.get("log_id"), reply.data.get("minutes_id")
        if log_id is None and minutes_id is None:
            log.warning("files submitted with a form that files no log or minutes: dropped")
            return reply
        limit = self.ctx.rules.attachment_max_bytes
        uploads = [slack_files.download(self.client, upload, limit) for upload in files]
        attached = logs.attach_files(self.ctx, actor, uploads, log_id=log_id, minutes_id=minutes_id)
        return Reply((*reply.blocks, *attached.blocks), ok=reply.ok, data=reply.data)

    def post(
        self, channel: str, reply: Reply, *, client: WebClient | None = None, **extra: Any
    ) -> Any:
        """The message, then any files it carries (an invite's .ics) into the same
        conversation (through `client`: the notice sender's own, see notice_client)."""
        client = client or self.client
        posted = client.chat_postMessage(
            channel=channel,
            blocks=blocks.message_blocks(reply),
            text=blocks.fallback_text(reply),
            **extra,
        )
        if reply.files:
            self.upload(str(posted.get("channel") or channel), reply.files, client=client)
        return posted

    def conversation_of(self, channel: str, client: WebClient | None = None) -> str:
        """A user id (a DM) as the bot's DM channel with that user (conversations.open,
        im:write); a conversation id as it is."""
        client = client or self.client
        if channel[:1] in ("U", "W"):
            return str(client.conversations_open(users=channel)["channel"]["id"])
        return channel

    def upload(
        self, channel: str, files: tuple[File, ...], client: WebClient | None = None
    ) -> None:
        """files_upload_v2 shares into a conversation id, not a user id."""
        client = client or self.client
        client.files_upload_v2(
            channel=self.conversation_of(channel, client),
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
    def card_after(self, action: str, request_id: int) -> None:
        """Keep the request's card current (handlers/intake/approval_card.py); a question
        or its answer goes in the card's thread too."""
        approval_card.after(self.ctx, self.cards, action, request_id)

    # -- scheduled work ------------------------------------------------------------------
    def deliver(self) -> int:
        """Post approval cards still missing (requests entered elsewhere, or a post that
        failed) and bring stale ones up to date (decided elsewhere, or an update that
        failed), then send the notices queued for Slack users as DMs. A notice that fails
        goes back to the queue with a back-off; after a few attempts it is `failed`."""
        if self.channel:
            sending.keep_cards(self.ctx, self.cards)
        audiences = (Audience.PREFECTURE,) if self.channel else ()
        return sending.deliver(self.ctx, PLATFORM, audiences, self.send)

    def send(self, out: notices.Outgoing) -> sending.Outcome:
        """One notice: posted with its outbox key in the message metadata, so that a row
        reaped from a sender that died mid-send is not posted twice. When that check
        cannot be made (no history scope, any error) the notice goes out again with the
        visible 再送 mark: at least once, never silently twice. A failure is classified
        (failure_of): transient ones come back with a back-off, permanent ones fail the
        row at once, a 429 waits its Retry-After while the sender goes on."""
        target = (self.channel if out.audience else out.to) or ""
        reply = out.reply
        client = self.notice_client
        try:
            if out.maybe_sent:  # checked and resent in the one DM conversation
                target = self.conversation_of(target, self.lookup_client)
                posted = self.already_posted(target, out.key, since=out.queued_at)
                if posted and reply.files:  # the message went out; its file may not have
                    self.upload(target, reply.files, client)
                if posted:
                    return sending.Outcome(True)
                if posted is None:
                    reply = notices.marked_resent(reply, out.language)
            self.post(
                target,
                reply,
                client=client,
                metadata={"event_type": NOTICE_EVENT, "event_payload": {"key": out.key}},
            )
        except SlackApiError as error:
            outcome = outcome_of(error)
            log.warning("notice %s not delivered: %s", out.notification_id, outcome.reason)
            return outcome
        except SLACK_ERRORS as error:  # a timeout, a dropped connection: try again later
            log.exception("notice %s not delivered", out.notification_id)
            return sending.Outcome(False, None, type(error).__name__)
        return sending.Outcome(True)

    def already_posted(self, channel: str, key: str, since: datetime | None) -> bool | None:
        """Whether a notice went out before its sender died (its row was reaped): every
        notice carries its outbox key in the message metadata, so the conversation's
        history since the row was queued says — looked through by time, page by page,
        however busy the channel. Only reaped rows pay for this lookup. None when it
        cannot look (a channel needs channels:history / groups:history; any error but
        a busy Slack's: a 429 or 5xx is raised, and the row waits to look again)."""
        oldest = (since - HISTORY_SKEW).timestamp() if since else 0.0
        cursor: str | None = None
        client = self.lookup_client
        try:
            while True:
                page = client.conversations_history(
                    channel=channel,
                    oldest=f"{oldest:.6f}",
                    limit=HISTORY_PAGE,
                    include_all_metadata=True,
                    cursor=cursor,
                )
                if any(
                    (message.get("metadata") or {}).get("event_payload", {}).get("key") == key
                    for message in page.get("messages", [])
                ):
                    return True
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not page.get("has_more") or not cursor:
                    return False
        except SlackApiError as error:
            if busy(error):
                raise
            reason = failure_of(error)[0]
        except SLACK_ERRORS as error:  # the SDK's own, or the network's
            reason = repr(error)
        log.warning("cannot tell whether notice %s went out (%s): resending", key, reason)
        return None

    def nudge(self) -> int:
        """Remind the approval thread of requests waiting more than a business day."""
        return approval_card.nudge(self.ctx, self.cards)


class ChannelCards:
    """The approval channel as handlers/intake/approval_card.py's sequence sees it on
    Slack: one message per request that everyone sees alike (its buttons re-authorise
    whoever presses them), posted, updated and deleted through the Web API, with its
    thread for the nudges and for a question and its answer."""

    platform = PLATFORM
    per_viewer = False
    threads_exchanges = True

    def __init__(self, bot: SlackBot) -> None:
        self.bot = bot

    @property
    def channel(self) -> str | None:
        return self.bot.channel

    def post(self, card: Reply) -> Posted:
        posted = self.bot.post(self.bot.channel or "", card)
        return Posted(str(posted["channel"]), str(posted["ts"]))

    def update(self, where: Posted, card: Reply) -> None:
        self.bot.client.chat_update(
            channel=where.channel,
            ts=where.message_id,
            blocks=blocks.message_blocks(card),
            text=blocks.fallback_text(card),
        )

    def delete(self, where: Posted) -> None:
        self.bot.client.chat_delete(channel=where.channel, ts=where.message_id)

    def reply_in_thread(self, where: Posted, reply: Reply) -> None:
        self.bot.client.chat_postMessage(
            channel=where.channel,
            thread_ts=where.message_id,
            blocks=blocks.message_blocks(reply),
            text=blocks.fallback_text(reply),
        )


PERMANENT_ERRORS = frozenset(
    {
        "missing_scope",
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "not_allowed_token_type",
        "team_access_not_granted",
        "ekm_access_denied",
        "restricted_action",
        "cannot_dm_bot",
        "user_not_found",
        "invalid_blocks",
        "msg_too_long",
    }
)
"""Slack error codes that the same call will meet again until someone changes something
(a scope, a channel membership, the token, the message itself)."""


def failure_of(error: SlackApiError) -> tuple[str, bool]:
    """The error code, and whether it is permanent. 429 and 5xx are transient whatever
    the body says; an ok:false answer is permanent when its code is in PERMANENT_ERRORS
    (an unknown code is retried: a few wasted attempts beat a notice given up)."""
    response = error.response
    status = int(getattr(response, "status_code", 200) or 200)
    data = getattr(response, "data", None)
    code = str((data.get("error") if isinstance(data, dict) else None) or f"http_{status}")
    return code, not busy(error) and code in PERMANENT_ERRORS


def busy(error: SlackApiError) -> bool:
    """A 429 or a 5xx: Slack is busy, the call may work in a moment."""
    status = int(getattr(error.response, "status_code", 200) or 200)
    return status == 429 or status >= 500


def outcome_of(error: SlackApiError) -> sending.Outcome:
    """A failed send as the outbox records it: a 429 throttled (nothing went out; wait
    its Retry-After, a second when Slack gave none), anything else transient or
    permanent by failure_of."""
    reason, permanent = failure_of(error)
    if getattr(error.response, "status_code", None) == 429:
        wait = retry_after_of(error) or RATE_LIMIT_WAIT
        return sending.Outcome(False, wait, reason, throttled=True)
    return sending.Outcome(False, retry_after_of(error), reason, permanent)


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


def later(values: dict[str, Any]) -> tuple[Upload, ...]:
    """The submitted files still to download (described inside the ack)."""
    return tuple(
        item
        for value in values.values()
        if isinstance(value, list)
        for item in value
        if isinstance(item, Upload) and item.deferred
    )


def replay_key(body: dict[str, Any]) -> str | None:
    """What Slack repeats when it delivers the same thing again: an event's id; a
    submitted view's id and hash (a new hash each time the view changes); a click's
    trigger id and action_ts; a command's or shortcut's trigger id. None: nothing to
    recognise a replay by."""
    kind = body.get("type")
    if kind == "event_callback":
        return str(body.get("event_id") or "") or None
    trigger = str(body.get("trigger_id") or "")
    if kind == "view_submission":
        view = body.get("view") or {}
        key = f"view:{view.get('id')}:{view.get('hash')}" if view.get("id") else ""
    elif kind == "block_actions":
        actions = body.get("actions") or [{}]
        stamp = str(actions[0].get("action_ts") or "")
        key = f"action:{trigger}:{stamp}" if trigger or stamp else ""
    elif body.get("command"):
        key = f"command:{trigger}" if trigger else ""
    elif kind in ("message_action", "shortcut"):
        key = f"shortcut:{trigger}" if trigger else ""
    else:
        key = ""
    if len(key) > 200:  # the column's width; Slack's ids are far shorter
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key or None


class StrictVerifier(SignatureVerifier):
    """slack_sdk's check, refusing (not raising on) headers it cannot read: a timestamp
    that is not a plain number of seconds, a signature that is not ASCII."""

    TIMESTAMP = re.compile(r"[0-9]{1,12}")

    def is_valid(self, body: str | bytes, timestamp: str | None, signature: str | None) -> bool:
        if not timestamp or not self.TIMESTAMP.fullmatch(timestamp):
            return False
        if not signature or not signature.isascii():
            return False
        return super().is_valid(body, timestamp, signature)


class SignedOnly(RequestVerification):
    """Bolt's signature check with a malformed header refused as 401 (not a 500 with a
    traceback), and the refused request logged without its body."""

    def __init__(self, signing_secret: str) -> None:
        super().__init__(signing_secret)
        self._verifier = StrictVerifier(signing_secret)

    def _debug_log_error(self, signature: Any, timestamp: Any, body: Any) -> None:
        log.info("slack request refused: bad or missing signature")


def signed_only(app: App, signing_secret: str) -> None:
    """Put `SignedOnly` where Bolt's own check stands: first, before any middleware
    could answer or call the Web API."""
    chain = app._middleware_list  # Bolt has no public way to replace a built-in
    for index, middleware in enumerate(chain):
        if isinstance(middleware, RequestVerification):
            chain[index] = SignedOnly(signing_secret)
