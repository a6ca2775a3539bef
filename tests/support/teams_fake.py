"""A local HTTP server standing in for Teams' serviceUrl (the Bot Connector REST API):
it records every call the bot makes and answers like the service, plus builders for the
activities Teams posts to `/api/messages`."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any]
    authorization: str | None
    raw: bytes = b""
    headers: dict[str, str] | None = None

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [a["content"] for a in self.body.get("attachments") or []]


class FakeConnector:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:  # a file uploaded to an upload URL
                    body = {}
                with fake.lock:
                    fake.calls.append(
                        Call(
                            self.command,
                            self.path,
                            body if isinstance(body, dict) else {},
                            self.headers.get("Authorization"),
                            raw,
                            dict(self.headers),
                        )
                    )
                    answer = json.dumps({"id": f"activity-{next(fake.ids)}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> FakeConnector:
        # polled often so that it stops in milliseconds (the default waits up to 0.5 s)
        serve = self.server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> Call:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for call in self.calls:
                    if predicate(call):
                        return call
            time.sleep(0.02)
        raise AssertionError(f"no matching call; seen {[(c.method, c.path) for c in self.calls]}")


_ids = itertools.count(1)


def activity(
    service_url: str,
    aad: str | None,
    *,
    conversation: str,
    type: str = "message",
    conversation_type: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    if conversation_type is None:  # channel conversation ids start 19:, a 1:1 chat's a:
        conversation_type = "channel" if conversation.startswith("19:") else "personal"
    sender: dict[str, Any] = {"id": f"29:{aad or 'nobody'}", "name": "someone"}
    if aad:
        sender["aadObjectId"] = aad
    return {
        "type": type,
        "id": f"in-{next(_ids)}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": sender,
        "recipient": {"id": "28:dxdesk", "name": "DX Desk"},
        "conversation": {"id": conversation, "conversationType": conversation_type},
        "channelData": {"tenant": {"id": "tenant-1"}},
        **fields,
    }


def message(service_url: str, aad: str | None, text: str, conversation: str) -> dict[str, Any]:
    return activity(service_url, aad, conversation=conversation, text=text)


def execute(
    service_url: str,
    aad: str | None,
    data: dict[str, Any],
    conversation: str,
    trigger: str = "manual",
) -> dict[str, Any]:
    """An Action.Execute click (`manual`), or a card's refresh run by Teams as it is shown
    (`automatic`): Teams merges the inputs into the action's data."""
    return activity(
        service_url,
        aad,
        conversation=conversation,
        type="invoke",
        name="adaptiveCard/action",
        value={
            "action": {"type": "Action.Execute", "verb": data.get("action"), "data": data},
            "trigger": trigger,
        },
    )
