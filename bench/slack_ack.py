"""How fast the Slack app acknowledges under load, against a bare Bolt app in the same run.

Each server runs in its own process (uvicorn, the same Starlette route and thread-pool
dispatch as `serve`), its Web API pointed at a local fake in a process of its own; this
process sends correctly signed slash commands and button clicks, 50 at a time, and
measures the time to the acknowledgement, in three rounds taking turns (each p99 is the
median of its rounds). Baselines, with no-op listeners that only ack:
Bolt as it comes (`baseline_p99_ms`, the issue's baseline), and Bolt acking from the
request thread as DX Desk does (`ack_first_baseline_p99_ms`). DX Desk also does the real
work after each ack (database, replies to Slack) in its worker process, which the
baselines do not.

CPUs (2 here): every server under test has CPU 0 to itself; the load generator, the fake
Slack and DX Desk's worker share CPU 1 (the worker through its own setting,
`DXDESK_WORKER_CPUS`, at the lowest scheduling priority). Left to the scheduler, the
server's threads and the worker's meet on one CPU and the acks pay for it — 1.6–1.8×
the baseline's p99, against 0.6–1.1× when kept apart; on a production machine the same
setting keeps the worker off the web process's CPUs.

    python -m bench.slack_ack [--requests 1000] [--postgres URL]

Prints one JSON line per database; the last line is PostgreSQL's (when reachable).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from typing import Any

import httpx  # only to wait for the server's health check

from tests.support.db_setup import scratch_postgres

SECRET = "bench-signing-secret"
CONCURRENCY = 50
ROUNDS = 3
_CPUS = sorted(os.sched_getaffinity(0))
# With fewer than two CPUs there is nothing to keep apart: everyone shares the one.
SERVER_CPUS = frozenset(_CPUS[:1])
CLIENT_CPUS = frozenset(_CPUS[1:] or _CPUS)
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(kind: str, database_url: str, port: int, api_url: str) -> None:
    """The server process: DX Desk's app, or a bare Bolt app acking with no-op listeners.
    It has CPU 0 to itself (SERVER_CPUS), as a server under test should."""
    os.sched_setaffinity(0, SERVER_CPUS)
    import uvicorn
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.runtime.web import create_web_app
    from bot.runtime.wiring import build_context
    from bot.runtime.worker import ProcessJobs
    from bot.slack.app import SlackBot

    settings = Settings(
        database_url=database_url,
        slack_bot_token="xoxb-bench",
        slack_signing_secret=SECRET,
        slack_api_url=api_url,
        slack_approval_channel="CAPPROVE",
        log_level="WARNING",
        worker_cpus=CLIENT_CPUS,  # DX Desk's worker: off the server's CPU
    )
    ctx = build_context(settings)
    bot = SlackBot(ctx, settings, jobs=ProcessJobs(settings) if kind == "dxdesk" else None)
    if kind != "dxdesk":
        bare = App(
            client=WebClient(token="xoxb-bench", base_url=api_url),
            signing_secret=SECRET,
            token_verification_enabled=False,
            # "bare": Bolt as it comes; "bare-ack-first": acking from the request thread
            # as DX Desk does, to show what DX Desk's own work costs on top.
            process_before_response=kind == "bare-ack-first",
        )
        bare.command("/dx")(lambda ack: ack())
        bare.action("request.view")(lambda ack: ack())
        bot.app = bare
    try:
        uvicorn.run(create_web_app(ctx, bot), host="127.0.0.1", port=port, log_level="error")
    finally:
        bot.jobs.shutdown()


def fake_slack(ready: Any, stop: Any) -> None:
    """The fake Web API in a process of its own, at the lowest CPU priority: Slack's
    servers are not on this machine, so answering the worker's calls should not take
    CPU from the servers under test or the load generator."""
    from bot.runtime.worker import lower_priority
    from tests.support.slack_fake import FakeSlackAPI

    lower_priority()
    with FakeSlackAPI() as fake:
        ready.put((fake.base, fake.url))
        stop.wait()


def prepare(database_url: str) -> dict[str, Any]:
    """A migrated database with the demo's roster, Slack accounts and one request."""
    from datetime import datetime

    from bot.demo.cast import CAST, person_values
    from handlers.core.actor import Actor
    from handlers.core.clock import TOKYO, FakeClock
    from handlers.core.context import Context, Rules
    from handlers.intake import submission
    from handlers.people import roster
    from storage import migrate, people
    from storage.db import Database
    from tests.support.factories import consultation

    database = Database(database_url)
    migrate.upgrade(database)
    ctx = Context(database, FakeClock(datetime(2026, 7, 1, 10, tzinfo=TOKYO)), Rules())
    with database.transaction() as session:
        ids = {m.name: m.id or 0 for m in people.municipalities(session)}
    cast = {}
    for entry in CAST:
        person = roster.add_person(ctx, person_values(entry, ids))
        cast[person.name] = Actor.from_person(person)
        with database.transaction() as session:
            people.link_identity(session, person.id or 0, "slack", f"U{person.id}")
    staff = cast["田中 美咲"]
    reply = submission.submit(ctx, staff, consultation(staff, description="ベンチマーク"))
    database.dispose()
    return {
        "staff": f"U{staff.id}",
        "approver": f"U{cast['熊本 県子'].id}",
        "request": reply.data["request_id"],
    }


def bodies(seed: dict[str, Any], count: int, response_url: str) -> list[str]:
    from handlers.core import payloads
    from tests.support.slack_fake import block_action, slash_command

    out = []
    for i in range(count):
        if i % 2:
            out.append(
                block_action(
                    "request.view",
                    payloads.encode(id=seed["request"]),
                    user_id=seed["approver"],
                    response_url=response_url,
                )
            )
        else:
            out.append(slash_command("状況", user_id=seed["staff"], response_url=response_url))
    return out


async def load(url: str, payloads_: list[str]) -> list[float]:
    """Closed-loop load: CONCURRENCY keep-alive connections, each sending its next request
    when the previous one is answered. Requests are signed and encoded before the clock
    starts, and sent over raw asyncio streams, so the client adds as little as it can to
    what is measured."""
    from urllib.parse import urlsplit

    from tests.support.slack_fake import signed_headers

    target = urlsplit(url)
    raw: asyncio.Queue[bytes] = asyncio.Queue()
    for body in payloads_:
        headers = signed_headers(SECRET, body)
        encoded = body.encode()
        lines = [
            f"POST {target.path} HTTP/1.1",
            f"Host: {target.netloc}",
            f"Content-Length: {len(encoded)}",
        ]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        raw.put_nowait(("\r\n".join(lines) + "\r\n\r\n").encode() + encoded)
    latencies: list[float] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        try:
            while not raw.empty():
                request = raw.get_nowait()
                started = time.perf_counter()
                writer.write(request)
                await writer.drain()
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - started) * 1000)
                if b" 200 " not in status:
                    raise RuntimeError(f"unexpected answer: {status!r}")
        finally:
            writer.close()

    gc.disable()  # the client's own pauses are not the server's latency
    try:
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    finally:
        gc.enable()
    return latencies


def wait_up(base: str, process: multiprocessing.Process) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise RuntimeError("server exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def measure(kind: str, database_url: str, api_url: str, payloads_: list[str]) -> list[float]:
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=serve, args=(kind, database_url, port, api_url)
    )
    process.start()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(base, process)
        asyncio.run(load(f"{base}/slack/events", payloads_[:100]))  # warm up
        return asyncio.run(load(f"{base}/slack/events", payloads_))
    finally:
        process.terminate()
        process.join(timeout=10)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run_one(database: str, database_url: str, requests: int) -> dict[str, Any]:
    print(f"[{database}] preparing the database …", file=sys.stderr, flush=True)
    seed = prepare(database_url)
    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Queue(), spawn.Event()
    fake = spawn.Process(target=fake_slack, args=(ready, stop))
    fake.start()
    try:
        fake_base, fake_url = ready.get(timeout=30)
        payloads_ = bodies(seed, requests, f"{fake_base}/response/bench")
        runs: dict[str, list[list[float]]] = {"bare": [], "bare-ack-first": [], "dxdesk": []}
        for round_number in range(1, ROUNDS + 1):
            # The three servers take turns, so a noisy moment on the machine does not
            # fall on one of them only; each figure is the median of its rounds.
            for kind in runs:
                print(
                    f"[{database}] round {round_number}/{ROUNDS}: {kind}, {requests} requests,"
                    f" {CONCURRENCY} concurrent",
                    file=sys.stderr,
                    flush=True,
                )
                runs[kind].append(measure(kind, database_url, fake_url, payloads_))
    finally:
        stop.set()
        fake.join(timeout=10)
        if fake.is_alive():
            fake.kill()

    def p99_of(kind: str) -> float:
        return statistics.median(percentile(run, 0.99) for run in runs[kind])

    p99, baseline_p99, ack_first_p99 = p99_of("dxdesk"), p99_of("bare"), p99_of("bare-ack-first")
    ours = [latency for run in runs["dxdesk"] for latency in run]
    return {
        "p50_ms": round(statistics.median(ours), 1),
        "p99_ms": round(p99, 1),
        "baseline_p99_ms": round(baseline_p99, 1),
        "ratio_p99": round(p99 / baseline_p99, 2),
        "ack_first_baseline_p99_ms": round(ack_first_p99, 1),
        "ratio_p99_ack_first": round(p99 / ack_first_p99, 2),
        "requests": requests,
        "concurrency": CONCURRENCY,
        "db": database,
    }


def main() -> int:
    os.sched_setaffinity(0, CLIENT_CPUS)  # the load generator and the fake Slack
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", DEFAULT_POSTGRES))
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="dxdesk-bench-")
    results = []
    try:
        results.append(run_one("sqlite", f"sqlite:///{folder}/bench.db", args.requests))
        print(json.dumps(results[-1]), flush=True)
        try:
            url, drop = scratch_postgres(args.postgres)
        except Exception as error:  # no server: say so, keep the SQLite figures
            print(f"PostgreSQL unavailable, skipped: {error}", file=sys.stderr)
        else:
            try:
                results.append(run_one("postgresql", url, args.requests))
                print(json.dumps(results[-1]), flush=True)
            finally:
                drop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
