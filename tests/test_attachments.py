"""§2.5(2) real attachments: files on logs and minutes, checked for type and size with the
refusal next to the field, stored in the database or a directory, listed for documents
by `storage.attachments.for_logs` / `for_minutes`, and never orphaned by a removed log."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.reply import Upload
from handlers.fieldwork import logs
from handlers.scheduling import booking
from storage import attachments, sessions
from storage.models import Attachment, Minutes, WorkLog
from tests.support.factories import count
from tests.support.uploads import CSV_SJIS, PDF, due_consultation

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
XLSX = b"PK\x03\x04" + b"\x14\x00" * 30


def upload(name: str, content: bytes, **changes: Any) -> Upload:
    return dataclasses.replace(Upload(name, content, len(content)), **changes)


def log_values(session_id: str, files: list[Upload]) -> dict[str, Any]:
    return {
        "sessions": [session_id],
        "attendees": "住民課/主事/森 翔太",
        "summary": "電子申請の対象手続を整理した。",
        "response": "様式の作成手順を助言した。",
        "files": files,
    }


def test_a_log_keeps_its_files_and_documents_list_and_read_them(ctx, cast):
    session_id = due_consultation(ctx, cast)
    form = logs.log_form(ctx, cast["小林 健"]).form
    assert form is not None
    (field,) = [i for i in form.inputs if i.name == "files"]
    assert field.kind == "file" and not field.required and field.label == "添付ファイル"
    files = [upload("業務フロー図.pdf", PDF), upload("手続一覧.csv", CSV_SJIS)]
    filed = logs.file_log(ctx, cast["小林 健"], log_values(session_id, files))
    assert filed.ok, filed.plain_text()
    log_id = filed.data["log_id"]
    with ctx.db.transaction() as session:
        found = attachments.for_logs(session, [log_id, 9999])
        assert [(f.filename, f.media_type, f.size) for f in found] == [
            ("業務フロー図.pdf", "application/pdf", len(PDF)),
            ("手続一覧.csv", "text/csv", len(CSV_SJIS)),
        ]
        assert found[0].read(session) == PDF and found[1].read(session) == CSV_SJIS
        assert found[0].sha256 == hashlib.sha256(PDF).hexdigest()
        assert {f.log_id for f in found} == {log_id} and found[0].path is None
        assert found[0].uploaded_by_id == cast["小林 健"].id
        assert attachments.for_minutes(session, [log_id]) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            [upload("手順書.pdf", b"MZ\x90\x00 not a pdf")],
            "「添付ファイル」の「手順書.pdf」は添付できない種類のファイルです。",
        ),
        ([upload("setup.exe", b"MZ\x90\x00")], "「setup.exe」は添付できない種類"),
        ([upload("メモ.txt", b"a\x00b")], "「メモ.txt」は添付できない種類"),
        (
            [upload("写真.png", PNG[:20], size=11 * 1024 * 1024)],
            "「添付ファイル」の「写真.png」は11MBあります。1ファイル10MBまで添付できます。",
        ),
        ([upload("空.csv", b"")], "「空.csv」は空のファイルです。"),
        (
            [upload("資料.pdf", b"", failed=True)],
            "「資料.pdf」を受け取れませんでした。もう一度添付してください。",
        ),
        ([upload(f"{n}.pdf", PDF) for n in range(6)], "「添付ファイル」は5件まで添付できます。"),
        (["手続一覧.xlsx"], "「手続一覧.xlsx」を受け取れませんでした"),
    ],
)
def test_a_bad_file_is_refused_next_to_the_field_and_nothing_is_filed(ctx, cast, files, expected):
    session_id = due_consultation(ctx, cast)
    values = log_values(session_id, files)
    reply = logs.file_log(ctx, cast["小林 健"], values)
    assert not reply.ok
    assert reply.data["errors"] == {"files": expected} or expected in reply.data["errors"]["files"]
    form = reply.form
    assert form is not None
    by_name = {i.name: i for i in form.inputs}
    assert by_name["files"].error and by_name["files"].value is None  # attached again
    assert by_name["summary"].value == values["summary"]  # the rest is kept
    assert count(ctx, WorkLog) == 0 and count(ctx, Attachment) == 0


def test_the_limits_are_settings(ctx, cast):
    session_id = due_consultation(ctx, cast)
    small = Context(
        ctx.db,
        ctx.clock,
        dataclasses.replace(ctx.rules, attachment_max_bytes=1024, attachment_max_files=1),
    )
    two = [upload("a.pdf", PDF), upload("b.pdf", PDF)]
    assert (
        "1件まで" in logs.file_log(small, cast["小林 健"], log_values(session_id, two)).plain_text()
    )
    big = [upload("a.xlsx", XLSX + b"\x00" * 2000)]
    refused = logs.file_log(small, cast["小林 健"], log_values(session_id, big))
    assert "「a.xlsx」は2KBあります。1ファイル1KBまで" in refused.plain_text()
    assert logs.file_log(small, cast["小林 健"], log_values(session_id, two[:1])).ok


def test_removing_a_log_removes_its_files_in_the_database(ctx, cast):
    session_id = due_consultation(ctx, cast)
    filed = logs.file_log(ctx, cast["小林 健"], log_values(session_id, [upload("a.pdf", PDF)]))
    log_id = filed.data["log_id"]
    assert count(ctx, Attachment) == 1
    with ctx.db.transaction() as session:  # the foreign key cascades on its own
        for table in ("work_log_session", "work_log_attendee", "follow_up_issue"):
            session.connection().exec_driver_sql(f"DELETE FROM {table} WHERE log_id = {log_id}")
        session.connection().exec_driver_sql(f"DELETE FROM work_log WHERE id = {log_id}")
    assert count(ctx, Attachment) == 0


def test_files_in_a_directory_go_with_their_log_once_committed(ctx, cast, tmp_path: Path):
    folder = tmp_path / "files"
    stored = Context(ctx.db, ctx.clock, dataclasses.replace(ctx.rules, attachment_dir=str(folder)))
    session_id = due_consultation(ctx, cast)
    filed = logs.file_log(stored, cast["小林 健"], log_values(session_id, [upload("図.png", PNG)]))
    assert filed.ok, filed.plain_text()
    log_id = filed.data["log_id"]
    with ctx.db.transaction() as session:
        (file,) = attachments.for_logs(session, [log_id])
        row = session.exec(select(Attachment)).one()
        assert row.content is None and file.path is not None
        assert Path(file.path).is_file() and file.read(session) == PNG
        assert Path(file.path).is_relative_to(folder.resolve())
    with pytest.raises(RuntimeError), ctx.db.transaction() as session:
        attachments.remove_for_log(session, log_id)
        raise RuntimeError("rolled back")
    assert Path(file.path).is_file() and count(ctx, Attachment) == 1  # kept
    with ctx.db.transaction() as session:
        attachments.remove_for_log(session, log_id)
    assert not Path(file.path).exists() and count(ctx, Attachment) == 0
    (folder / "ab").mkdir()
    (folder / "ab" / "abandoned").write_bytes(b"x")  # a write whose transaction failed
    with ctx.db.transaction() as session:
        assert [p.name for p in attachments.sweep(session, folder)] == ["abandoned"]


def test_minutes_take_files_too(ctx, cast):
    booked = booking.book(
        ctx,
        cast["水前寺 花"],
        {
            "session_kind": "office_day",
            "date": "2026-07-08",
            "start": "09:00",
            "minutes": 240,
            "mode": "visit",
            "consultants": [str(cast["高橋 誠"].id)],
        },
    )
    ctx.clock.set(datetime(2026, 7, 8, 14, 0, tzinfo=TOKYO))
    values = {
        "office_day": str(booked.data["session_id"]),
        "attendees_text": "熊本 県子、高橋 誠",
        "body": "支援状況を報告した。",
        "files": [upload("..\\..\\配布資料.xlsx", XLSX)],
    }
    assert logs.file_minutes(ctx, cast["高橋 誠"], values).ok
    with ctx.db.transaction() as session:
        minutes = session.exec(select(Minutes)).one()
        (file,) = attachments.for_minutes(session, [minutes.id])
        assert file.filename == "配布資料.xlsx"  # no folder from the sender's machine
        assert file.media_type.endswith("spreadsheetml.sheet") and file.read(session) == XLSX


def test_minutes_refused_by_a_session_rule_write_no_file(ctx, cast, tmp_path: Path, monkeypatch):
    """The office day is cancelled by someone else before `mark_held` takes its lock: the
    refusal leaves neither minutes nor a file in the attachment directory."""
    folder = tmp_path / "files"
    stored = Context(ctx.db, ctx.clock, dataclasses.replace(ctx.rules, attachment_dir=str(folder)))
    booked = booking.book(
        ctx,
        cast["水前寺 花"],
        {
            "session_kind": "office_day",
            "date": "2026-07-08",
            "start": "09:00",
            "minutes": 240,
            "mode": "visit",
            "consultants": [str(cast["高橋 誠"].id)],
        },
    )
    ctx.clock.set(datetime(2026, 7, 8, 14, 0, tzinfo=TOKYO))
    real = sessions.mark_held

    def raced(session, row, now):
        row.status = "cancelled"  # what the lock would have read
        return real(session, row, now)

    monkeypatch.setattr(sessions, "mark_held", raced)
    values = {
        "office_day": str(booked.data["session_id"]),
        "attendees_text": "熊本 県子、高橋 誠",
        "body": "支援状況を報告した。",
        "files": [upload("配布資料.pdf", PDF)],
    }
    refused = logs.file_minutes(stored, cast["高橋 誠"], values)
    assert not refused.ok and refused.data["refusal"] == "refusal.session_cancelled"
    assert count(ctx, Minutes) == 0 and count(ctx, Attachment) == 0
    assert not folder.exists() or not any(folder.rglob("*"))


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.PDF", PDF, "application/pdf"),
        ("a.jpeg", b"\xff\xd8\xff\xe0", "image/jpeg"),
        ("a.JPG", b"\xff\xd8\xff\xe0", "image/jpeg"),
        ("a.docx", XLSX, attachments.TYPES["docx"]),
        ("a.pptx", XLSX, attachments.TYPES["pptx"]),
        ("a.txt", "メモ".encode(), "text/plain"),
        ("a.csv", CSV_SJIS, "text/csv"),
        ("a.png", PDF, None),
        ("a.doc", b"\xd0\xcf\x11\xe0", None),
        ("a.zip", XLSX, None),
        ("pdf", PDF, None),
        ("a.txt", b"\xff\xfe\xfa", None),
    ],
)
def test_what_may_be_attached(name, content, expected):
    assert attachments.sniff(name, content) == expected


def test_the_terminal_takes_paths(ctx, cast, tmp_path: Path):
    import io

    from bot.console.chat import Console
    from handlers.core.reply import Input

    (tmp_path / "議事メモ.txt").write_text("次回までに様式案を作る。", encoding="utf-8")
    (tmp_path / "図.pdf").write_bytes(PDF)
    answers = iter(
        [f"{tmp_path / '議事メモ.txt'}, '{tmp_path / '図.pdf'}'", str(tmp_path / "無い.pdf")]
    )
    console = Console(ctx, cast["小林 健"], lambda _: next(answers), io.StringIO())
    field = Input("files", "添付ファイル", "file", required=False)
    files = console.prompt(field)
    assert [(f.name, f.content, f.failed) for f in files] == [
        ("議事メモ.txt", "次回までに様式案を作る。".encode(), False),
        ("図.pdf", PDF, False),
    ]
    session_id = due_consultation(ctx, cast)
    assert logs.file_log(ctx, cast["小林 健"], log_values(session_id, files)).ok
    missing = console.prompt(field)
    assert missing[0].failed
    refused = logs.file_log(ctx, cast["小林 健"], log_values(session_id, missing))
    assert "「無い.pdf」を受け取れませんでした" in refused.plain_text()
    small = dataclasses.replace(ctx.rules, attachment_max_bytes=4)
    big = Console(Context(ctx.db, ctx.clock, small), cast["小林 健"], lambda _: "x", io.StringIO())
    read = big.read_file(str(tmp_path / "図.pdf"))
    assert read.size == len(PDF) and len(read.content) == 5  # stopped past the limit


def test_slack_renders_a_file_input_and_fetches_the_files_with_the_bot_token():
    """file_input in the modal; the submission's file ids fetched through files.info and
    url_private with the bot token (a local stand-in for Slack's Web API)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from slack_sdk import WebClient

    from bot.slack import blocks
    from bot.slack import files as slack_files
    from handlers.core.reply import Input

    seen: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.answer("")

        def do_POST(self) -> None:
            self.answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())

        def answer(self, body_text: str) -> None:
            seen.append((self.path.split("?")[0], self.headers.get("Authorization")))
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path.startswith("/api/files.info"):
                file_id = "F1" if "F1" in self.path + body_text else "F2"
                info = {"id": file_id, "name": "図.pdf", "size": len(PDF)}
                if file_id == "F2":
                    info.update(name="大きい.pdf", size=50 * 1024 * 1024)
                info["url_private"] = f"{base}/files/{file_id}"
                body = json.dumps({"ok": True, "file": info}).encode()
            elif self.headers.get("Authorization") == "Bearer xoxb-test":
                body = PDF
            else:
                self.send_response(403)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    try:
        client = WebClient(
            token="xoxb-test", base_url=f"http://127.0.0.1:{server.server_address[1]}/api/"
        )
        block = blocks._input(Input("files", "添付ファイル", "file", required=False)).to_dict()
        assert block["element"]["type"] == "file_input" and block["optional"]
        assert {"pdf", "xlsx", "csv"} <= set(block["element"]["filetypes"])
        state = {"files": {"value": {"type": "file_input", "files": [{"id": "F1"}, {"id": "F2"}]}}}
        values = blocks.submitted_values(state)
        assert slack_files.is_files(values["files"])
        small, big = slack_files.fetch(client, values["files"], 10 * 1024 * 1024)
        assert (small.name, small.content, small.failed) == ("図.pdf", PDF, False)
        assert big.size == 50 * 1024 * 1024 and big.content == b""  # never downloaded
        assert ("/files/F1", "Bearer xoxb-test") in seen
        assert not any(path == "/files/F2" for path, _ in seen)
        failed = slack_files.fetch(
            WebClient(token="xoxb-test", base_url="http://127.0.0.1:9/api/"), [{"id": "F9"}], 10
        )
        assert failed[0].failed
    finally:
        server.shutdown()
