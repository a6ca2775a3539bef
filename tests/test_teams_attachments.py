"""Files attached on Teams, end to end over real HTTP: the log card has no file input and
says to send the files in the chat; files sent there arrive as `file.download.info`
attachments whose downloadUrl a local stand-in for SharePoint serves; the bot downloads
them (no token of its own sent), checks them by the form's rules and attaches them to the
sender's latest log, answering with what went where and each refusal in Japanese."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.runtime.web import create_web_app
from bot.teams.app import TeamsBot
from bot.teams.files import DOWNLOAD_INFO, onedrive
from handlers.core.context import Context
from storage import attachments, people
from storage.models import Attachment, AuditEntry
from tests.support.factories import count
from tests.support.live_server import serving
from tests.support.teams_fake import FakeConnector, activity, execute
from tests.support.uploads import CSV_SJIS, PDF, due_consultation

KOBAYASHI, DM = "aad-kobayashi", "a:dm-kobayashi"
LIMIT = 4096


class FileHost:
    """Serves files at /<key> as SharePoint serves a pre-authorised downloadUrl, and
    records each request with the Authorization header it came with."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, bytes]] = {}
        self.seen: list[tuple[str, str | None]] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.seen.append((self.path, self.headers.get("Authorization")))
                status, body = host.files.get(self.path.lstrip("/"), (404, b""))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{key}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Teams:
    def __init__(self, base: str, fake: FakeConnector, host: FileHost, bot: TeamsBot) -> None:
        self.base, self.fake, self.host, self.bot = base, fake, host, bot
        self.http = httpx.Client(timeout=10)

    def post(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"{self.base}/api/messages", json=body)

    def click(self, data: dict[str, Any]) -> dict[str, Any]:
        response = self.post(execute(self.fake.url, KOBAYASHI, data, DM))
        assert response.status_code == 200, response.text
        return response.json()

    def send_files(self, *files: tuple[str, str], text: str = "") -> str:
        """A message in the 1:1 chat carrying files (name, key on the file host), as
        Teams posts it (with the html rendering of the message beside them); the bot's
        answer as text."""
        self.fake.reset()
        sent = [
            {
                "contentType": DOWNLOAD_INFO,
                "name": name,
                "contentUrl": "https://contoso-my.sharepoint.com/personal/kobayashi/x",
                "content": {
                    "downloadUrl": key if key.startswith("https:") else self.host.url(key),
                    "uniqueId": f"id-{key}",
                    "fileType": name.rsplit(".", 1)[-1],
                },
            }
            for name, key in files
        ]
        sent.append({"contentType": "text/html", "content": f"<div>{text}</div>"})
        body = activity(self.fake.url, KOBAYASHI, conversation=DM, text=text, attachments=sent)
        assert self.post(body).status_code in (200, 202)
        call = self.fake.wait_for(lambda c: c.method == "POST" and DM in c.path)
        return json.dumps(call.cards, ensure_ascii=False)


@pytest.fixture
def teams(ctx, cast) -> Iterator[Teams]:
    with ctx.db.transaction() as session:
        people.link_identity(session, cast["小林 健"].id, "teams", KOBAYASHI)
    small = Context(ctx.db, ctx.clock, dataclasses.replace(ctx.rules, attachment_max_bytes=LIMIT))
    settings = Settings(database_url="sqlite:///unused.db", teams_anonymous=True)
    bot = TeamsBot(small, settings)
    host = FileHost()
    try:
        with FakeConnector() as fake, serving(create_web_app(small, None, bot)) as base:
            yield Teams(base, fake, host, bot)
    finally:
        host.close()


def file_log(teams: Teams, session_id: str) -> dict[str, Any]:
    data = {
        "action": "log.file",
        "context": "",
        "sessions": session_id,
        "attendees": "住民課/主事/森 翔太",
        "summary": "電子申請の対象手続を整理した。",
        "response": "様式の作成手順を助言した。",
    }
    return teams.click(data)


def test_the_log_card_has_no_file_box_and_says_to_send_the_files_in_the_chat(teams, ctx, cast):
    due_consultation(ctx, cast)
    card = teams.click({"action": "log.form", "value": ""})["value"]
    inputs = [n for n in card["body"] if n.get("type", "").startswith("Input.")]
    assert "files" not in {n["id"] for n in inputs}  # nothing typed there can be a file
    text = json.dumps(card, ensure_ascii=False)
    assert "添付ファイル" in text
    assert "このフォームを送ったあとで、このチャットにファイルを送ってください" in text
    assert "7日以内" in text


def test_files_sent_in_the_chat_are_attached_to_the_latest_log(teams, ctx, cast):
    session_id = due_consultation(ctx, cast)
    filed = file_log(teams, session_id)
    assert "業務日報を提出しました" in json.dumps(filed["value"], ensure_ascii=False)
    teams.host.files.update({"flow": (200, PDF), "list": (200, CSV_SJIS)})
    answer = teams.send_files(("業務フロー図.pdf", "flow"), ("手続一覧.csv", "list"))
    assert "業務日報（" in answer and "相談" in answer
    assert "に「業務フロー図.pdf」、「手続一覧.csv」を添付しました" in answer
    assert {path for path, _ in teams.host.seen} == {"/flow", "/list"}
    assert all(auth is None for _, auth in teams.host.seen)  # pre-authorised: no bot token
    with ctx.db.transaction() as session:
        found = attachments.for_logs(session, [1])
        assert [(f.filename, f.media_type) for f in found] == [
            ("業務フロー図.pdf", "application/pdf"),
            ("手続一覧.csv", "text/csv"),
        ]
        assert found[0].read(session) == PDF and found[1].read(session) == CSV_SJIS
        assert {f.uploaded_by_id for f in found} == {cast["小林 健"].id}
        audit = [a for a in session.exec(AuditEntry.__table__.select()).all()]
    assert any(a.action == "log.attach" and a.target_id == "1" for a in audit)


def test_each_bad_file_is_named_with_why_and_the_good_ones_still_go(teams, ctx, cast):
    file_log(teams, due_consultation(ctx, cast))
    teams.host.files.update(
        {
            "exe": (200, b"MZ\x90\x00 not a pdf"),
            "big": (200, PDF + b"\x00" * LIMIT),
            "gone": (404, b""),
            "good": (200, PDF),
        }
    )
    answer = teams.send_files(
        ("手順書.pdf", "exe"),
        ("写真.pdf", "big"),
        ("消えた.xlsx", "gone"),
        ("議事メモ.pdf", "good"),
    )
    assert "「手順書.pdf」は添付できない種類のファイルです" in answer
    assert "「写真.pdf」は4KBあります。1ファイル4KBまで添付できます" in answer
    assert "「消えた.xlsx」を受け取れませんでした" in answer
    assert "「議事メモ.pdf」を添付しました" in answer
    assert "提出済みです。添付できなかったファイルだけが付いていません" in answer
    assert count(ctx, Attachment) == 1


def test_the_count_limit_holds_across_messages(teams, ctx, cast):
    file_log(teams, due_consultation(ctx, cast))
    teams.host.files["a"] = (200, PDF)
    limit = teams.bot.ctx.rules.attachment_max_files
    first = teams.send_files(*[(f"{n}.pdf", "a") for n in range(limit - 1)])
    assert "を添付しました" in first
    second = teams.send_files(("最後.pdf", "a"), ("多すぎ.pdf", "a"))
    assert "「最後.pdf」を添付しました" in second
    assert f"「添付ファイル」は{limit}件まで添付できます" in second
    assert count(ctx, Attachment) == limit


def test_only_onedrive_urls_are_fetched_outside_an_emulator(teams, ctx, cast):
    file_log(teams, due_consultation(ctx, cast))
    teams.bot.any_upload_host = False
    teams.host.files["a"] = (200, PDF)
    answer = teams.send_files(("資料.pdf", "a"))
    assert "「資料.pdf」を受け取れませんでした" in answer
    assert teams.host.seen == []  # never asked
    assert count(ctx, Attachment) == 0


def test_files_without_a_log_to_go_to_are_refused(teams, ctx, cast):
    teams.host.files["a"] = (200, PDF)
    answer = teams.send_files(("資料.pdf", "a"))
    assert "ファイルを添付する業務日報・議事録がありません" in answer
    assert count(ctx, Attachment) == 0
    with ctx.db.transaction() as session:
        audit = session.exec(AuditEntry.__table__.select()).all()
    assert any(a.action == "log.attach" and a.outcome == "refused" for a in audit)


def test_a_message_without_files_is_a_command_as_before(teams, ctx, cast):
    body = activity(teams.fake.url, KOBAYASHI, conversation=DM, text="状況")
    assert teams.post(body).status_code in (200, 202)
    call = teams.fake.wait_for(lambda c: c.method == "POST" and DM in c.path)
    assert "添付" not in json.dumps(call.cards, ensure_ascii=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://contoso-my.sharepoint.com/personal/a/_layouts/15/download.aspx?x=1", True),
        ("https://contoso.sharepoint.com/sites/dx/doc.pdf", True),
        ("http://contoso-my.sharepoint.com/personal/a/x", False),
        ("https://sharepoint.com.evil.example/x", False),
        ("https://evil.example/contoso.sharepoint.com", False),
        ("file:///etc/passwd", False),
    ],
)
def test_download_urls_must_be_onedrive_over_https(url, expected):
    assert onedrive(url) is expected
