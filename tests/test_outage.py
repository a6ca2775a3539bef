"""The database out of reach while `serve` runs (issue #15): Slack requests, Teams
activities and the calendar feeds get a short Japanese "try again" (service.busy) — no
traceback, no crash — and everything works again, by itself, once the database is back.

A real outage on either database, shortened for the suite: on PostgreSQL the app reaches
the server through a TCP relay that is cut (every connection dropped, every new one
closed, as a restarting server does) and restored; on SQLite another process holds the
file's write lock, and the app's busy timeout is shortened from 30 s to a fraction of a
second. `python bench/chaos.py` is the long, noisy version of the delivery side."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.runtime.outage import unreachable
from bot.runtime.web import create_web_app
from bot.slack.app import SlackBot
from bot.teams.app import TeamsBot
from handlers.core.context import Context
from handlers.core.i18n import t
from handlers.core.lookups import notify
from storage import people
from storage.db import Database
from tests.support.live_server import serving
from tests.support.slack_fake import FakeSlackAPI, block_action, signed_headers, slash_command
from tests.support.slack_fake import view_submission as submission
from tests.support.teams_fake import FakeConnector, message

SECRET = "outage-secret"
BUSY = t("ja", "service.busy")
TANAKA_AAD = "aad-tanaka"


class Relay:
    """A TCP relay to the PostgreSQL server that can be cut and restored."""

    def __init__(self, host: str, port: int) -> None:
        self.target, self.up = (host, port), True
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._close(end)

    def _close(self, end: socket.socket) -> None:
        with self.lock:
            self.open.discard(end)
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        end.close()

    def cut(self) -> None:
        self.up = False
        with self.lock:
            ends = list(self.open)
        for end in ends:
            self._close(end)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


class Locked:
    """Another process holding the SQLite file's write lock."""

    def __init__(self, path: str) -> None:
        self.path, self.holder = path, None

    def cut(self) -> None:
        self.holder = sqlite3.connect(self.path, isolation_level=None)
        self.holder.execute("BEGIN EXCLUSIVE")

    def restore(self) -> None:
        if self.holder is not None:
            self.holder.execute("ROLLBACK")
            self.holder.close()
            self.holder = None

    def close(self) -> None:
        self.restore()


def out_of_reach(url: str) -> tuple[Database, Relay | Locked]:
    """The app's database, and the switch that takes it out of reach."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = Database(url)

        @event.listens_for(database.engine, "connect")
        def impatient(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout=200")  # after storage.db's 30 s

        return database, Locked(str(parsed.database))
    relay = Relay(parsed.host or "127.0.0.1", parsed.port or 5432)
    proxied = parsed.set(host="127.0.0.1", port=relay.port)
    return Database(proxied.render_as_string(hide_password=False)), relay


class Service:
    def __init__(self, base: str, fake: FakeSlackAPI, connector: FakeConnector) -> None:
        self.base, self.fake, self.connector = base, fake, connector
        self.http = httpx.Client(timeout=20)

    def slack(self, body: str) -> httpx.Response:
        headers = signed_headers(SECRET, body)
        return self.http.post(f"{self.base}/slack/events", content=body, headers=headers)

    def command(self) -> httpx.Response:
        url = f"{self.fake.base}/response/cmd"
        return self.slack(slash_command("ヘルプ", user_id="U_TANAKA", response_url=url))

    def teams(self, text: str) -> httpx.Response:
        activity = message(self.connector.url, TANAKA_AAD, text, "a:dm-tanaka")
        return self.http.post(f"{self.base}/api/messages", json=activity)


@pytest.fixture
def service(ctx, cast) -> Iterator[tuple[Service, Relay | Locked]]:
    tanaka = cast["田中 美咲"].id
    with ctx.db.transaction() as session:
        people.link_identity(session, tanaka, "slack", "U_TANAKA")
        people.link_identity(session, tanaka, "teams", TANAKA_AAD)
    database, switch = out_of_reach(ctx.db.url)
    app_ctx = Context(database, ctx.clock, ctx.rules)
    with FakeSlackAPI() as fake, FakeConnector() as connector:
        settings = Settings(  # the app runs on `database`; this URL only passes the checks
            database_url="sqlite:///unused.db",
            slack_bot_token="xoxb-outage",
            slack_signing_secret=SECRET,
            slack_api_url=fake.url,
            teams_anonymous=True,
        )
        slack = SlackBot(app_ctx, settings)
        teams = TeamsBot(app_ctx, settings)
        try:
            with serving(create_web_app(app_ctx, slack, teams)) as base:
                yield Service(base, fake, connector), switch
        finally:
            switch.close()
            slack.jobs.drain()
            database.dispose()


def teams_said(connector: FakeConnector, since: int) -> list[str]:
    return [json.dumps(c.body, ensure_ascii=False) for c in connector.calls[since:]]


def test_requests_are_told_to_try_again_and_work_once_the_database_is_back(service, caplog):
    app, switch = service
    assert app.http.get(f"{app.base}/healthz").status_code == 200
    switch.cut()
    started = time.monotonic()

    answer = app.command()  # a slash command: acknowledged at once, told through its
    assert answer.status_code == 200  # response_url, to the person only
    assert time.monotonic() - started < 3  # inside Slack's 3 s
    told = app.fake.wait_for("response_url")
    assert told[-1].params["text"] == BUSY and told[-1].params["response_type"] == "ephemeral"

    submitted = app.slack(submission("dx_form", {}, user_id="U_TANAKA"))
    assert submitted.status_code == 200  # pushed over the form, which stays filled in
    assert submitted.json()["response_action"] == "push"
    assert BUSY in json.dumps(submitted.json()["view"], ensure_ascii=False)

    url = f"{app.fake.base}/response/click"
    clicked = app.slack(block_action("request.list", "-", user_id="U_TANAKA", response_url=url))
    assert clicked.status_code == 200
    told = app.fake.wait_for("response_url", count=2)
    assert told[-1].params["text"] == BUSY and told[-1].params["response_type"] == "ephemeral"

    calls = len(app.connector.calls)
    assert app.teams("状況").status_code < 500
    app.connector.wait_for(lambda c: BUSY in json.dumps(c.body, ensure_ascii=False))

    feed = app.http.get(f"{app.base}/calendar/{'x' * 43}.ics")
    assert (feed.status_code, feed.text) == (503, BUSY)
    assert feed.headers["Retry-After"] == "30"
    assert app.http.get(f"{app.base}/healthz").status_code == 503
    page = app.http.get(f"{app.base}/desk/", cookies={"dxdesk_session": "x" * 43})
    assert (page.status_code, page.text) == (503, BUSY)  # the desk too, no traceback

    switch.restore()  # nothing restarted: the same process serves again
    assert app.http.get(f"{app.base}/healthz").status_code == 200
    answer = app.command()
    assert answer.status_code == 200 and BUSY not in answer.text
    reply = app.fake.wait_for("response_url", count=3)[-1]
    assert reply.params["text"] != BUSY
    calls = len(app.connector.calls)
    assert app.teams("状況").status_code < 500
    app.connector.wait_for(lambda c: c.method == "POST" and c.body.get("attachments"))
    assert not any(BUSY in said for said in teams_said(app.connector, calls))
    assert app.http.get(f"{app.base}/calendar/{'x' * 43}.ics").status_code == 404
    assert "Traceback" not in caplog.text


def test_an_outage_is_told_apart_from_a_bug(ctx):
    """Only a database out of reach is "try again"; a broken query is still an error."""
    with pytest.raises(Exception) as broken, ctx.db.transaction() as session:
        session.connection().exec_driver_sql("SELECT * FROM no_such_table")
    assert not unreachable(broken.value)
    database, switch = out_of_reach(ctx.db.url)
    try:
        switch.cut()
        with pytest.raises(Exception) as cut, database.transaction() as session:
            session.connection().exec_driver_sql("UPDATE municipality SET name = name")
        assert unreachable(cut.value)
    finally:
        switch.close()
        database.dispose()


def test_delivery_pauses_quietly_and_resumes(ctx, cast, caplog):
    """The scheduler's runs meet the outage with one warning, not a traceback a second;
    the notice queued before it goes out once the database is back."""
    tanaka = cast["田中 美咲"].id
    with ctx.db.transaction() as session:
        people.link_identity(session, tanaka, "slack", "U_TANAKA")
        notify(
            session,
            key="test.outage",
            person_ids=[tanaka],
            message="notice.approved.consultation",
            params={"number": "相談-2026-042"},
            now=ctx.clock.now(),
        )
    database, switch = out_of_reach(ctx.db.url)
    try:
        with FakeSlackAPI() as fake:
            settings = Settings(
                slack_bot_token="xoxb-outage",
                slack_signing_secret=SECRET,
                slack_api_url=fake.url,
                slack_approval_channel="C1",
            )
            bot = SlackBot(Context(database, ctx.clock, ctx.rules), settings)
            switch.cut()
            for _ in range(3):
                assert bot.deliver() == 0
            paused = [r for r in caplog.records if "paused" in r.getMessage()]
            assert len(paused) == 1 and paused[0].exc_info is None
            assert fake.calls_to("chat.postMessage") == []
            switch.restore()
            assert bot.deliver() == 1
            assert "resumed" in caplog.text
            assert "Traceback" not in caplog.text
    finally:
        switch.close()
        database.dispose()
