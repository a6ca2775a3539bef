"""A local stand-in for Slack, so tests drive the real slack_sdk and slack_bolt over real HTTP.

Mocking the SDK would hide exactly the bugs we care about: wrong parameter encoding, missing
retries, JSON strings where Slack expects objects. Instead, `FakeSlackAPI` is a small HTTP server
that answers like https://slack.com/api/ and records every call, and the payload helpers build
inbound requests signed the way Slack signs them, so Bolt's own verification and routing run
unchanged in tests.

Typical use::

    with FakeSlackAPI(emails={"U1": "u1@example.jp"}) as fake:
        client = WebClient(base_url=fake.url, token="xoxb-test")
        app = App(signing_secret=SECRET, client=client)
        body = slash_command("new", user_id="U1", response_url=f"{fake.base}/response/1")
        response = app.dispatch(BoltRequest(body=body, headers=signed_headers(SECRET, body)))
        fake.wait_for("chat.postMessage")
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

import yaml
from slack_sdk.signature import SignatureVerifier

__all__ = [
    "RESPONSE_URL_METHOD",
    "UPLOAD_METHOD",
    "Call",
    "FakeSlackAPI",
    "block_action",
    "event",
    "message_shortcut",
    "signed_headers",
    "slash_command",
    "view_submission",
]

RESPONSE_URL_METHOD = "response_url"
"""`Call.method` of POSTs to a payload's response_url (``{fake.base}/response/<anything>``)."""

UPLOAD_METHOD = "file_upload"
"""`Call.method` of the raw file POST files_upload_v2 makes to the URL files.getUploadURLExternal
gave it; its params are ``{"file_id": ..., "content": <bytes>}``."""

TEAM_ID = "T1"
APP_ID = "A1"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
FIRST_TS = 1_700_000_000
"""Message timestamps start here, so the first posted message gets "1700000000.000100", which is
also the default `message_ts` of `block_action` (a click on the first message the app posted)."""

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    # Slack's documented bot-token scopes of each Web API method the app calls
    # (https://api.slack.com/methods/<method>, "Required scopes"). Where Slack accepts one
    # of several (by conversation type) the app needs every one it may meet: the approval
    # channel public or private, a DM. tests/test_scopes.py checks manifest.yml against it.
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.open": ("im:write",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "files.upload": ("files:write",),
    "files.info": ("files:read",),
    "users.info": ("users:read", "users:read.email"),
    "users.lookupByEmail": ("users:read.email",),
    "views.open": (),
    "views.update": (),
    "views.push": (),
    "views.publish": (),
}
HISTORY_SCOPES = {"C": "channels:history", "G": "groups:history", "D": "im:history"}
"""conversations.history needs the one scope of the conversation's type (C public, G
private, D a DM): without it Slack answers missing_scope."""
CHANNEL_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update", "conversations.history")
"""Methods that answer a channel's `channel_errors` (not_in_channel, channel_not_found …)."""


def manifest_scopes() -> frozenset[str]:
    """The bot scopes manifest.yml grants: what an app installed from it may call."""
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return frozenset(manifest["oauth_config"]["scopes"]["bot"])


@dataclass
class Call:
    """One request the fake received, decoded so tests can assert on plain Python values.

    `params` merges the query string with the form-encoded or JSON body; string values holding a
    JSON object or array (form-encoded "blocks", "view", "attachments"...) are decoded, so tests
    need not care which encoding the SDK chose for a given method. `headers` has lower-cased names
    (urllib sends "Content-type"; lower-casing makes lookups predictable).
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.time)  # when it arrived (wall clock)


def _decode_json_string(value: Any) -> Any:
    """A JSON object/array carried as a string becomes that object; anything else is unchanged."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, dict | list):
            return decoded
    return value


def _form(text: str) -> dict[str, Any]:
    """Form/query fields as a flat dict: one value stays a string, repeated keys become a list."""
    parsed = parse_qs(text, keep_blank_values=True)
    return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}


def _parse_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Everything the SDK sent as parameters, whatever the encoding it picked."""
    params: dict[str, Any] = _form(query)
    if body:
        text = body.decode("utf-8", errors="replace")
        if content_type.lower().startswith("application/json"):
            decoded = json.loads(text)
            if isinstance(decoded, dict):
                params.update(decoded)
            else:
                params["_body"] = decoded
        else:
            params.update(_form(text))
    return {key: _decode_json_string(value) for key, value in params.items()}


class _Server(ThreadingHTTPServer):
    """The HTTP server, with a back-reference so request handlers can reach the fake's state."""

    daemon_threads = True
    # Slack's edge takes every connection; the standard library's backlog of 5 resets
    # the sixth of a burst, which the real API never does (the ack bench sends 50).
    request_queue_size = 128

    def __init__(self, fake: FakeSlackAPI) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, lets the fake record and answer it, and writes the JSON reply."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: per-request access logs would only clutter pytest's captured output."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake = cast(_Server, self.server).fake
        status, extra_headers, payload = fake._respond(self.path, headers, body)
        if fake.delay:
            time.sleep(fake.delay)  # a slow Slack: recorded (sent) before it answers
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    error: str | None = None


class FakeSlackAPI:
    """Threaded HTTP server on 127.0.0.1 (free port) standing in for https://slack.com/api/.

    Every request is recorded as a `Call` before it is answered, so `wait_for` sees calls the app
    makes from worker threads after acking. Answers are the minimal successful responses the SDKs
    and our app read (ids, ts, view ids); `fail_next` injects HTTP errors to exercise retries.
    """

    def __init__(
        self,
        emails: dict[str, str] | None = None,
        *,
        scopes: Collection[str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`emails` maps user id -> e-mail, as users.info (and users.lookupByEmail) report it.
        `scopes`: what the bot token was granted (default: manifest.yml's); a method called
        without its scope answers missing_scope, as Slack does. `clock`: epoch seconds that
        message ts follow (default: a counter from FIRST_TS), so `oldest` can be tested
        against the app's clock."""
        self.emails: dict[str, str] = dict(emails or {})
        self.scopes: frozenset[str] = frozenset(manifest_scopes() if scopes is None else scopes)
        self.clock = clock
        self._last_micros = 0
        self.channel_errors: dict[str, str] = {}  # channel -> error, e.g. "not_in_channel"
        self.account_error: str | None = None  # every call: "invalid_auth", "account_inactive"
        self.failure_rate = 0.0  # share of API calls answered 429 (Retry-After) or 500
        self.failure_retry_after = 1
        self.injected = 0  # calls failed by `failure_rate` so far
        self._random = random.Random(0)
        self.calls: list[Call] = []
        self._lock = threading.Condition()
        self._failures: dict[str, deque[_Failure]] = {}
        self._counter = 0
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.delay = 0.0  # seconds every answer waits, after the call is recorded
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeSlackAPI:
        """Bind a free port and serve in a daemon thread; returns self for chaining."""
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-slack-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlackAPI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base(self) -> str:
        """Root of the server, e.g. "http://127.0.0.1:54321", for response_url values."""
        if self._server is None:
            raise RuntimeError("FakeSlackAPI is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """What to give WebClient(base_url=...): the SDK appends the method name to it."""
        return f"{self.base}/api/"

    # -- inspection and control --------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """A snapshot of the calls of one method, in arrival order."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until at least `count` calls of `method` arrived and return them all.

        Our app acks first and talks to Slack afterwards from worker threads, so asserting right
        after dispatch() would race; this waits instead. On timeout it fails with the methods that
        did arrive, which usually tells at once what went wrong.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                matching = [call for call in self.calls if call.method == method]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [call.method for call in self.calls]
                    raise AssertionError(
                        f"expected {count} call(s) to {method} within {timeout}s, "
                        f"got {len(matching)}; methods seen: {seen}"
                    )
                self._lock.wait(remaining)

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        retry_after: int | None = None,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with HTTP `status` (they are still recorded).

        429 carries a Retry-After header when `retry_after` is given, as Slack's rate limiting
        does, so slack_sdk's RateLimitErrorRetryHandler can be exercised; 5xx answers
        {"ok": false, "error": "fatal_error"}; `error` (with status 200, as Slack sends its
        ok:false answers) names the error, e.g. "invalid_auth". Repeated calls queue up in order.
        """
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend(_Failure(status, retry_after, error) for _ in range(times))

    def reset(self) -> None:
        """Forget calls and pending failures, and restart ts/id numbering, as if freshly started."""
        with self._lock:
            self.calls.clear()
            self._failures.clear()
            self.history.clear()
            self._counter = 0

    # -- request handling (called from server threads) ---------------------------------------

    def _respond(
        self, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Record one request and decide its (status, extra headers, JSON body)."""
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/")
        known = True
        if path.startswith("/api/"):
            method = path.removeprefix("/api/")
            params = _parse_params(parts.query, body, headers.get("content-type", ""))
        elif path.startswith("/response/"):
            method = RESPONSE_URL_METHOD
            params = _parse_params(parts.query, body, headers.get("content-type", ""))
        elif path.startswith("/upload/"):
            # The file bytes are the raw body (urllib still labels it form-encoded).
            method = UPLOAD_METHOD
            params = {"file_id": path.removeprefix("/upload/"), "content": body}
        else:
            known = False
            method = path
            params = _parse_params(parts.query, body, headers.get("content-type", ""))
        with self._lock:
            self.calls.append(Call(method=method, params=params, headers=headers))
            queue = self._failures.get(method)
            failure = queue.popleft() if queue else None
            if failure is None and known and path.startswith("/api/"):
                failure = self._chaos()
            self._lock.notify_all()
            if failure is not None:
                return self._failure_response(failure)
            if not known:
                return 404, {}, {"ok": False, "error": "unknown_method"}
            refusal = self._refusal(method, params) if path.startswith("/api/") else None
            if refusal is not None:
                return 200, {}, refusal
            return 200, {}, self._answer(method, params)

    def _chaos(self) -> _Failure | None:
        """With `failure_rate`, a share of calls fails as a busy Slack fails: 429 with
        Retry-After, or 500 (caller holds the lock)."""
        if not self.failure_rate or self._random.random() >= self.failure_rate:
            return None
        self.injected += 1
        status = self._random.choice((429, 500))
        return _Failure(status, self.failure_retry_after if status == 429 else None)

    def _refusal(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's ok:false answers that depend on the set-up, not on chance: a revoked or
        inactive token, a scope not granted, a channel the bot is not in or that is gone."""
        if self.account_error:
            return {"ok": False, "error": self.account_error}
        channel = str(params.get("channel") or "")
        if method == "conversations.history":
            needed: tuple[str, ...] = (HISTORY_SCOPES.get(channel[:1], "channels:history"),)
        else:
            needed = METHOD_SCOPES.get(method, ())
        if method == "users.info":
            needed = ("users:read",)  # without users:read.email the e-mail is left out
        missing = [scope for scope in needed if scope not in self.scopes]
        if missing:
            return {
                "ok": False,
                "error": "missing_scope",
                "needed": ",".join(missing),
                "provided": ",".join(sorted(self.scopes)),
            }
        if method in CHANNEL_METHODS and channel in self.channel_errors:
            return {"ok": False, "error": self.channel_errors[channel]}
        return None

    @staticmethod
    def _failure_response(failure: _Failure) -> tuple[int, dict[str, str], dict[str, Any]]:
        extra: dict[str, str] = {}
        if failure.retry_after is not None:
            extra["Retry-After"] = str(failure.retry_after)
        if failure.error:
            error = failure.error
        elif failure.status == 429:
            error = "ratelimited"
        elif failure.status >= 500:
            error = "fatal_error"
        else:
            error = f"http_{failure.status}"
        return failure.status, extra, {"ok": False, "error": error}

    def _next(self) -> int:
        """A per-server sequence number (caller holds the lock), for unique ts and ids."""
        self._counter += 1
        return self._counter

    def _ts(self) -> str:
        """Unique, increasing and same-width Slack-style ts, so string order is time order:
        from `clock` when given, else counted up from FIRST_TS."""
        if self.clock is None:
            micros = FIRST_TS * 1_000_000 + self._next() * 100
        else:
            micros = max(int(self.clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _user(self, user_id: str) -> dict[str, Any]:
        profile: dict[str, Any] = {}
        if user_id in self.emails:
            profile["email"] = self.emails[user_id]
        return {"id": user_id, "name": user_id, "team_id": TEAM_ID, "profile": profile}

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The successful reply to one method (caller holds the lock)."""
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "bot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = self._ts()
            message: dict[str, Any] = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "text": params.get("text", ""),
                "ts": ts,
            }
            for key in ("blocks", "attachments", "thread_ts", "metadata"):
                if key in params:
                    message[key] = params[key]
            self.history.setdefault(_conversation(str(params.get("channel"))), []).append(message)
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}
        if method == "conversations.history":
            return self._history_page(params)
        if method == "chat.update":
            return {
                "ok": True,
                "channel": params.get("channel"),
                "ts": params.get("ts"),
                "text": params.get("text", ""),
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._ts()}
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            view = params.get("view")
            view_id = params.get("view_id") if method == "views.update" else None
            return {
                "ok": True,
                "view": {
                    **(view if isinstance(view, dict) else {}),
                    "id": view_id or f"V{self._next():08d}",
                    "hash": "h",
                },
            }
        if method == "users.info":
            return {"ok": True, "user": self._user(str(params.get("user", "")))}
        if method == "users.lookupByEmail":
            wanted = str(params.get("email", "")).lower()
            for user_id, email in self.emails.items():
                if email.lower() == wanted:
                    return {"ok": True, "user": self._user(user_id)}
            return {"ok": False, "error": "users_not_found"}
        if method == "conversations.open":
            if params.get("channel"):
                return {"ok": True, "channel": {"id": params["channel"]}}
            users = [user for user in str(params.get("users", "")).split(",") if user]
            prefix = "D" if len(users) == 1 else "G"
            return {"ok": True, "channel": {"id": prefix + "".join(users)}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{self._next():08d}"
            return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            entries = files if isinstance(files, list) else []
            return {
                "ok": True,
                "files": [
                    {"id": entry.get("id"), "title": entry.get("title")}
                    for entry in entries
                    if isinstance(entry, dict)
                ],
            }
        return {"ok": True}

    def _history_page(self, params: dict[str, Any]) -> dict[str, Any]:
        """A page of conversations.history as Slack pages it: newest first, only messages
        after `oldest` (and up to `latest`), `limit` at a time (default 100, at most 999),
        `has_more` and a `next_cursor` for the rest."""
        messages = self.history.get(_conversation(str(params.get("channel"))), [])
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        inclusive = str(params.get("inclusive") or "").lower() in ("1", "true")
        chosen = [
            m
            for m in reversed(messages)
            if (float(m["ts"]) >= oldest if inclusive else float(m["ts"]) > oldest)
            and float(m["ts"]) <= latest
        ]
        start = int(str(params.get("cursor") or "0") or 0)
        limit = min(int(params.get("limit") or 100), 999)
        page = chosen[start : start + limit]
        more = start + limit < len(chosen)
        answer: dict[str, Any] = {"ok": True, "messages": page, "has_more": more}
        answer["response_metadata"] = {"next_cursor": str(start + limit) if more else ""}
        return answer


def _conversation(channel: str) -> str:
    """Posting to a user id posts into the DM with them, whose id conversations.open gives."""
    return "D" + channel if channel[:1] in ("U", "W") else channel


# -- inbound requests ----------------------------------------------------------------------------


def signed_headers(
    secret: str,
    body: str,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    retry_num: int | None = None,
) -> dict[str, str]:
    """Headers Slack would send with `body`, signed with Slack's v0 scheme under `secret`.

    Uses slack_sdk's own SignatureVerifier so the signature is exactly what Bolt checks; pass an
    old `timestamp` to test replay rejection and `retry_num` to imitate Slack's redelivery
    (X-Slack-Retry-Num / X-Slack-Retry-Reason) of events it thinks timed out.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


_serial = itertools.count(1)


def _unique(prefix: str) -> str:
    """A fresh id, as Slack gives each interaction its own trigger id and each opened
    modal its own view id (the app recognises replays by them)."""
    return f"{prefix}{next(_serial)}"


def _user(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": user_id, "name": user_id, "team_id": TEAM_ID}


def _team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": "example"}


def _payload_form(payload: dict[str, Any]) -> str:
    """Interactivity requests arrive form-encoded as a single JSON `payload` field."""
    return urlencode({"payload": json.dumps(payload)})


def slash_command(
    text: str,
    *,
    user_id: str,
    command: str = "/dx",
    channel_id: str = "C1",
    trigger_id: str | None = None,
    response_url: str,
) -> str:
    """Form-encoded body of a slash command invocation, as Slack POSTs it."""
    return urlencode(
        {
            "token": "verification-token",
            "team_id": TEAM_ID,
            "team_domain": "example",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or _unique("T-trigger-"),
        }
    )


def block_action(
    action_id: str,
    value: str,
    *,
    user_id: str,
    channel_id: str = "CAPPROVE",
    message_ts: str = "1700000000.000100",
    response_url: str,
    trigger_id: str | None = None,
    container_type: str = "message",
    block_id: str | None = None,
) -> str:
    """Form-encoded block_actions payload for a click on a button.

    With container_type "message" the click is on a message in `channel_id` at `message_ts`.
    With "view" it is in a view (home tab or modal, id "V1"); such payloads carry no channel,
    message or response_url in real Slack, so `response_url` is left out of them too, and an app
    that tries to respond() there fails in tests as it would in production.
    `block_id` defaults to the action id.
    """
    action_ts = f"{int(time.time())}.000001"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "token": "verification-token",
        "api_app_id": APP_ID,
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "user": _user(user_id),
        "trigger_id": trigger_id or _unique("T-trigger-"),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id or action_id,
                "value": value,
                "text": {"type": "plain_text", "text": action_id},
                "action_ts": action_ts,
            }
        ],
    }
    if container_type == "view":
        payload["container"] = {"type": "view", "view_id": "V1"}
        payload["view"] = {
            "id": "V1",
            "team_id": TEAM_ID,
            "type": "home",
            "blocks": [],
            "callback_id": "",
            "private_metadata": "",
            "state": {"values": {}},
            "hash": "h",
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
    else:
        payload["container"] = {
            "type": container_type,
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": channel_id.lower()}
        payload["message"] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": "",
            "ts": message_ts,
            "blocks": [],
        }
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url
    return _payload_form(payload)


def view_submission(
    callback_id: str,
    values: dict[str, Any],
    *,
    user_id: str,
    private_metadata: str = "",
    view_id: str | None = None,
) -> str:
    """Form-encoded view_submission payload of a modal being submitted.

    `values` is taken as is for view.state.values (block_id -> {action_id: state}, e.g.
    {"b": {"a": {"type": "plain_text_input", "value": "x"}}}), so tests exercise the same
    extraction code that real submissions do.
    """
    view_id = view_id or _unique("V-submitted-")
    payload = {
        "type": "view_submission",
        "token": "verification-token",
        "api_app_id": APP_ID,
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "user": _user(user_id),
        "trigger_id": _unique("T-trigger-"),
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "title": {"type": "plain_text", "text": "Form"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "close": None,
            "blocks": [],
            "state": {"values": values},
            "hash": "h",
            "previous_view_id": None,
            "root_view_id": view_id,
            "external_id": "",
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
    }
    return _payload_form(payload)


def message_shortcut(
    callback_id: str,
    text: str,
    *,
    user_id: str,
    channel_id: str = "C1",
    trigger_id: str | None = None,
    response_url: str,
    message_ts: str = "1700000000.000100",
    message_user: str | None = None,
) -> str:
    """Form-encoded message_action payload: `user_id` runs shortcut `callback_id` on a message.

    The message has `text` and was written by `message_user` (default: `user_id` themself).
    """
    payload = {
        "type": "message_action",
        "token": "verification-token",
        "action_ts": f"{int(time.time())}.000001",
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "user": _user(user_id),
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "callback_id": callback_id,
        "trigger_id": trigger_id or _unique("T-trigger-"),
        "response_url": response_url,
        "message_ts": message_ts,
        "message": {
            "type": "message",
            "user": message_user or user_id,
            "text": text,
            "ts": message_ts,
        },
    }
    return _payload_form(payload)


def event(event: dict[str, Any], *, event_id: str = "Ev1", team_id: str = "T1") -> str:
    """JSON body of an Events API event_callback wrapping `event` (send with a JSON content type).

    Includes `authorizations` for the bot, which Bolt reads to know who the app is.
    """
    return json.dumps(
        {
            "token": "verification-token",
            "team_id": team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
    )
