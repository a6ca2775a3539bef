"""Chaos: 3,000 notifications due at once, two service instances on one PostgreSQL
database, a fake Slack that answers in 20 ms and fails 10 % of Web API calls with 429
(Retry-After: 1) or 500, and one instance killed with SIGKILL three times at random
moments and restarted. Nothing may be lost, nothing posted twice, and what a killed
instance had claimed must go out soon after its lease ends.

Each instance is the production wiring (`bot.runtime.scheduler.start`, `SlackBot.deliver`, the
SDK's retry handlers, the outbox's classification and back-off) with three settings
shortened for the bench, in the worker processes only: the outbox lease (LEASE_SECONDS,
20 s instead of 5 min), the delivery loop's lease margin (5 s instead of 1 min) and the
first back-off of a failed row (1 s instead of 2 min). A 429 is not slept on in the
sender: the row waits its Retry-After in the queue and the sender goes on. Each kill
comes at a random moment once the victim's incarnation is at work (KILL_WINDOWS). A dead
instance's rows are taken over by the next claim once its lease ends (no need to wait
for the reaper's tick).

    python bench/chaos.py [--notifications 3000] [--postgres URL] [--seed N]

PostgreSQL defaults to DATABASE_URL (or 127.0.0.1:5432 as postgres); the bench creates
and drops its own database. It takes about two to three minutes. Last line (JSON):
{"notifications", "instances", "kills", "lost", "duplicates", "recovered_s",
"recovered_s_each", "stranded_each", "lease_s", "api_calls", "failed_calls",
"seconds"}. Targets: 0 lost, 0 duplicates,
recovered_s (the longest, from a kill until every row the killed instance had claimed
was sent) ≤ lease + 10 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reminders import (  # noqa: E402
    BUSINESS_MORNING,
    DEFAULT_POSTGRES,
    SPREAD_SECONDS,
    ShiftedClock,
    populate,
)
from tests.support.db_setup import scratch_postgres  # noqa: E402

LEASE_SECONDS = 20
FAILURE_RATE = 0.10
DEADLINE_SECONDS = 240  # give up waiting for the queue to empty after this long
API_LATENCY = 0.02  # seconds each Web API answer takes (recorded first: a kill in between
# leaves a posted notice unfinished, which the next sender must find, not post again)
KILL_WINDOWS = ((0.10, 0.30), (0.40, 0.60), (0.70, 0.85))
"""Kill k comes once the victim's incarnation has claimed, when the share of notices sent
reaches a point drawn at random from window k (and the victim holds a claim, not between
two batches): at random moments, yet all while there is work to strand, however fast or
loaded the machine is."""
RETRY_SECONDS = 1  # the first back-off of a failed row (2 min in production)


def instance(url: str, api_url: str, real_start: float, claims_log: str) -> None:
    """One service instance until it is killed or terminated; every claim's row ids are
    appended to `claims_log` as soon as the claim is committed, so the bench knows what a
    killed instance held."""
    from bot.config import Settings
    from bot.delivery import sending
    from bot.runtime import scheduler
    from bot.runtime.wiring import build_context
    from bot.slack.app import SlackBot
    from handlers.notifications import notices
    from storage import outbox

    outbox.LEASE = timedelta(seconds=LEASE_SECONDS)
    outbox.RETRY_AFTER = timedelta(seconds=RETRY_SECONDS)
    sending.LEASE_MARGIN = timedelta(seconds=5)
    settings = Settings(
        database_url=url,
        slack_bot_token="xoxb-chaos",
        slack_signing_secret="chaos",
        slack_api_url=api_url,
        log_level="ERROR",
    )
    ctx = build_context(settings, ShiftedClock(real_start, BUSINESS_MORNING))
    claim = notices.claim
    log = open(claims_log, "a", encoding="utf-8")  # noqa: SIM115 (open until killed)

    def logged_claim(*args: object, **kwargs: object) -> list[notices.Outgoing]:
        out = claim(*args, **kwargs)  # type: ignore[arg-type]
        if out:
            log.write(" ".join(str(o.notification_id) for o in out) + "\n")
            log.flush()
        return out

    notices.claim = logged_claim  # type: ignore[assignment]
    scheduler.start(ctx, settings, SlackBot(ctx, settings))
    while True:
        time.sleep(3600)


@dataclass
class Kill:
    at: float
    stranded: set[int]
    recovered_at: float | None = None
    incarnation: int = 0
    notes: list[str] = field(default_factory=list)


def first_claim(claims_log: str, timeout: float) -> None:
    """Wait until an instance has logged its first claim (or `timeout` passed)."""
    path = Path(claims_log)
    deadline = time.time() + timeout
    while time.time() < deadline and not (path.exists() and path.stat().st_size):
        time.sleep(0.1)


ENGINES: dict[str, Any] = {}


def query(url: str, sql: str, **params: object) -> list[Any]:
    """Rows of one small query (the bench's process also serves the fake Slack: it
    reads counts and a few ids, never the whole table, so as not to slow the fake)."""
    from sqlalchemy import bindparam, create_engine, text

    engine = ENGINES.setdefault(url, create_engine(url))
    statement = text(sql)
    if "ids" in params:
        statement = statement.bindparams(bindparam("ids", expanding=True))
    with engine.connect() as connection:
        return list(connection.execute(statement, params))


def tally(url: str) -> Counter[str]:
    """The bench's rows by status (the tick also queues the weekly digest for the
    prefecture's channel, which no instance here sends: not counted)."""
    sql = "SELECT status, count(*) FROM notification WHERE key LIKE 'bench:%' GROUP BY status"
    return Counter({str(status): int(count) for status, count in query(url, sql)})


def claimed_by(claims_log: str) -> set[int]:
    path = Path(claims_log)
    return {int(i) for i in path.read_text().split()} if path.exists() else set()


def holding(url: str, claims_log: str, timeout: float) -> None:
    """Wait until the instance holds a claim it has not finished (between two batches
    it holds none, and a kill then would strand nothing), or `timeout` passed."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if "sending" in statuses(url, claimed_by(claims_log)).values():
            return
        time.sleep(0.05)


def statuses(url: str, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = query(url, "SELECT id, status FROM notification WHERE id IN :ids", ids=sorted(ids))
    return {int(row[0]): str(row[1]) for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=3_000)
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if not args.postgres.startswith("postgres"):
        args.postgres = DEFAULT_POSTGRES
    chance = random.Random(args.seed)

    from tests.support.slack_fake import FakeSlackAPI

    url, drop = scratch_postgres(args.postgres)
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"dxdesk-chaos-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    spawn = multiprocessing.get_context("spawn")
    workers: dict[str, multiprocessing.process.BaseProcess] = {}
    kills: list[Kill] = []
    try:
        real_start = time.time()
        clock = ShiftedClock(real_start, BUSINESS_MORNING)
        with FakeSlackAPI(clock=lambda: clock.now().timestamp()) as fake:
            print(f"queueing {args.notifications} notifications …", file=sys.stderr, flush=True)
            due = populate(url, args.notifications, real_start, -SPREAD_SECONDS - 1)
            fake.failure_rate = FAILURE_RATE
            fake.failure_retry_after = 1
            fake.delay = API_LATENCY

            def start(name: str, incarnation: int) -> str:
                claims_log = str(workdir / f"{name}-{incarnation}.claims")
                worker = spawn.Process(
                    target=instance, args=(url, fake.url, real_start, claims_log), daemon=True
                )
                worker.start()
                workers[name] = worker
                return claims_log

            begun = time.time()
            start("A", 0)
            victim_log = start("B", 0)
            print("two instances sending …", file=sys.stderr, flush=True)
            done = threading.Event()

            def watch() -> None:
                """Notes when each kill's stranded rows have all been sent."""
                while not done.is_set():
                    now = time.time()
                    for kill in kills:
                        if kill.recovered_at is not None:
                            continue
                        try:
                            state = statuses(url, kill.stranded)
                        except Exception:  # the database going away at the end
                            return
                        if all(state.get(i) == "sent" for i in kill.stranded):
                            kill.recovered_at = now
                    time.sleep(0.25)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            for incarnation, window in enumerate(KILL_WINDOWS, start=1):
                # a kill before the incarnation's first claim (a slow start on a loaded
                # machine) would strand nothing
                first_claim(victim_log, timeout=60)
                share = chance.uniform(*window)
                while tally(url)["sent"] < share * len(due):
                    time.sleep(0.2)
                holding(url, victim_log, timeout=10)
                victim = workers["B"]
                os.kill(victim.pid or 0, signal.SIGKILL)
                killed_at = time.time()
                victim.join(timeout=10)
                claimed = claimed_by(victim_log)
                state = statuses(url, claimed)
                stranded = {i for i in claimed if state.get(i) == "sending"}
                kills.append(Kill(killed_at, stranded, incarnation=incarnation))
                sent = tally(url)["sent"]
                print(
                    f"kill {incarnation} at {killed_at - begun:.1f} s ({sent} sent): "
                    f"{len(stranded)} claimed rows stranded",
                    file=sys.stderr,
                    flush=True,
                )
                time.sleep(1.0)  # a restart takes a moment
                victim_log = start("B", incarnation)
            deadline = begun + DEADLINE_SECONDS
            while time.time() < deadline:
                counts = tally(url)
                if counts["sent"] + counts["failed"] == len(due) and all(
                    k.recovered_at for k in kills
                ):
                    break
                time.sleep(0.5)
            seconds = time.time() - begun
            done.set()
            watcher.join(timeout=5)
            for worker in workers.values():
                worker.kill()
                worker.join(timeout=10)
            posted = Counter(
                message["metadata"]["event_payload"]["key"]
                for messages in fake.history.values()
                for message in messages
                if (message.get("metadata") or {}).get("event_type") == "dxdesk_notice"
            )
            calls, failed_calls = len(fake.calls), fake.injected
            lost = sum(1 for key in due if key not in posted)
            duplicates = sum(posted[key] - 1 for key in due if posted[key] > 1)
            counts = tally(url)
            recovered = [
                round((k.recovered_at or time.time()) - k.at, 1) if k.stranded else 0.0
                for k in kills
            ]
    finally:
        for worker in workers.values():
            if worker.is_alive():
                worker.kill()
        for engine in ENGINES.values():
            engine.dispose()
        drop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"sent {counts['sent']}, failed {counts['failed']}, in {seconds:.0f} s",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "notifications": len(due),
                "instances": 2,
                "kills": len(kills),
                "lost": lost,
                "duplicates": duplicates,
                "recovered_s": max(recovered, default=0.0),
                "recovered_s_each": recovered,
                "stranded_each": [len(k.stranded) for k in kills],
                "lease_s": LEASE_SECONDS,
                "api_calls": calls,
                "failed_calls": failed_calls,
                "seconds": round(seconds, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
