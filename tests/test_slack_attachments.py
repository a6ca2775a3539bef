"""Slack files around the 3-second ack: inside it only files.info (the count, size and
extension refused next to the field); the downloads come after it, in the worker, and
the DM that confirms the log names any file that could not be attached (the log is kept)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.slack import blocks
from bot.slack.app import SlackBot
from handlers.fieldwork import logs
from storage import attachments, people
from storage.models import Attachment, WorkLog
from tests.support.factories import count
from tests.support.uploads import PDF, due_consultation

SLOW = 1.5  # seconds each download takes: longer than an ack may


class FakeSlack:
    """files.info, url_private downloads (slow, bot token required) and every other Web
    API call answered ok, each recorded with the time it arrived."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[float, str, dict[str, Any]]] = []
        self.delay = SLOW  # each download's
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.answer()

            def do_POST(self) -> None:
                self.answer()

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                path = self.path.split("?")[0]
                fake.calls.append((time.monotonic(), path, {"raw": raw + self.path}))
                if path.startswith("/download/"):
                    file = fake.files[path.rsplit("/", 1)[-1]]
                    time.sleep(fake.delay)
                    if self.headers.get("Authorization") != "Bearer xoxb-test" or file["fail"]:
                        return self.reply(500, b"")
                    return self.reply(200, file["content"])
                body: dict[str, Any] = {"ok": True, "ts": "1.0", "channel": "D1"}
                if path == "/api/files.info":
                    file_id = next(k for k in fake.files if k in raw + self.path)
                    file = fake.files[file_id]
                    body["file"] = {
                        "id": file_id,
                        "name": file["name"],
                        "size": file["size"],
                        "url_private_download": f"{fake.base}/download/{file_id}",
                    }
                self.reply(200, json.dumps(body).encode())

            def reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def add(self, file_id: str, name: str, content: bytes, *, size: int = 0, fail=False) -> None:
        self.files[file_id] = {
            "name": name,
            "content": content,
            "size": size or len(content),
            "fail": fail,
        }

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.calls]

    def posted(self) -> str:
        """Every chat.postMessage's blocks and text, readable."""
        sent = [
            c["raw"].split("/api/")[0] for _, p, c in self.calls if p == "/api/chat.postMessage"
        ]
        return json.dumps([json.loads(body) for body in sent], ensure_ascii=False)


@pytest.fixture
def slack(ctx, cast) -> Iterator[tuple[SlackBot, FakeSlack]]:
    with ctx.db.transaction() as session:
        people.link_identity(session, cast["小林 健"].id, "slack", "U_KOBAYASHI")
    fake = FakeSlack()
    settings = Settings(
        database_url="sqlite:///unused.db", slack_bot_token="xoxb-test", slack_signing_secret="s"
    )
    client = WebClient(token="xoxb-test", base_url=f"{fake.base}/api/")
    bot = SlackBot(ctx, settings, client=client)
    try:
        yield bot, fake
    finally:
        bot.jobs.shutdown()
        fake.server.shutdown()


def submit(bot: SlackBot, ctx, cast, session_id: str, file_ids: list[str]) -> dict[str, Any]:
    """The log modal submitted with these files; returns what the ack answered and when."""
    form = logs.log_form(ctx, cast["小林 健"]).form
    assert form is not None
    view = blocks.modal(form, close="閉じる")
    state = {
        "sessions": {"value": {"selected_options": [{"value": session_id}]}},
        "attendees": {"value": {"value": "住民課/主事/森 翔太"}},
        "summary": {"value": {"value": "電子申請の対象手続を整理した。"}},
        "response": {"value": {"value": "様式の作成手順を助言した。"}},
        "files": {"value": {"type": "file_input", "files": [{"id": f} for f in file_ids]}},
    }
    view = {**view, "id": "V1", "hash": "h1", "state": {"values": state}}
    body = {"type": "view_submission", "user": {"id": "U_KOBAYASHI"}, "view": view}
    acked: dict[str, Any] = {}

    def ack(**answer: Any) -> None:
        acked.update(answer, at=time.monotonic())

    started = time.monotonic()
    bot.on_view(ack, body, view)
    acked["took"] = acked["at"] - started
    return acked


def test_files_are_downloaded_after_the_ack_and_attached_to_the_log(slack, ctx, cast):
    bot, fake = slack
    session_id = due_consultation(ctx, cast)
    fake.add("F1", "業務フロー図.pdf", PDF)
    fake.add("F2", "説明資料.pdf", PDF)
    acked = submit(bot, ctx, cast, session_id, ["F1", "F2"])
    assert "errors" not in acked and acked["took"] < SLOW  # answered before any download
    assert fake.paths().count("/api/files.info") == 2
    before = [path for at, path, _ in fake.calls if at <= acked["at"]]
    assert before and not any(path.startswith("/download/") for path in before)
    assert count(ctx, WorkLog) == 1  # filed at once, the files to follow
    bot.jobs.drain(timeout=20)
    with ctx.db.transaction() as session:
        found = attachments.for_logs(session, [1])
        assert [f.filename for f in found] == ["業務フロー図.pdf", "説明資料.pdf"]
        assert found[0].read(session) == PDF
    dm = fake.posted()
    assert "業務日報を提出しました" in dm and "を添付しました" in dm


def test_a_download_that_fails_afterwards_is_named_in_the_dm_and_the_log_is_kept(slack, ctx, cast):
    bot, fake = slack
    fake.delay = 0  # that downloads wait for the ack is the test above's
    session_id = due_consultation(ctx, cast)
    fake.add("F1", "業務フロー図.pdf", PDF)
    fake.add("F2", "消えた資料.pdf", PDF, fail=True)
    fake.add("F3", "偽物.pdf", b"MZ\x90\x00 not a pdf")  # its bytes give it away only now
    assert "errors" not in submit(bot, ctx, cast, session_id, ["F1", "F2", "F3"])
    bot.jobs.drain(timeout=20)
    assert count(ctx, WorkLog) == 1 and count(ctx, Attachment) == 1
    dm = fake.posted()
    assert "業務日報を提出しました" in dm
    assert "「業務フロー図.pdf」を添付しました" in dm
    assert "「消えた資料.pdf」を受け取れませんでした" in dm
    assert "「偽物.pdf」は添付できない種類のファイルです" in dm
    assert "提出済みです" in dm


def test_size_and_type_are_refused_inside_the_ack_from_files_info(slack, ctx, cast):
    bot, fake = slack
    session_id = due_consultation(ctx, cast)
    fake.add("F1", "大きい.pdf", b"", size=50 * 1024 * 1024)
    acked = submit(bot, ctx, cast, session_id, ["F1"])
    assert "「大きい.pdf」は50MBあります" in acked["errors"]["files"]
    fake.add("F2", "setup.exe", b"MZ")
    acked = submit(bot, ctx, cast, session_id, ["F2"])
    assert "「setup.exe」は添付できない種類" in acked["errors"]["files"]
    bot.jobs.drain(timeout=5)
    assert not any(p.startswith("/download/") for p in fake.paths())  # nothing fetched
    assert count(ctx, WorkLog) == 0 and count(ctx, Attachment) == 0
