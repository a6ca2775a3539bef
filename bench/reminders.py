"""Reminders at volume: 10,000 notifications falling due within one minute, sent by two
service instances against one PostgreSQL database, to a local fake Slack that records
what arrives. In the same run, the baseline: the same 10,000 sends as plain APScheduler
date jobs in one process (no database, no claiming: the lower bound of lag, and no
protection at all against a second instance or a restart).

Each instance is the production wiring: `bot.runtime.scheduler.start` (APScheduler ticking the
deliver job every second) and `SlackBot.deliver` claiming with SKIP LOCKED. The clock of
both instances is the real one, shifted onto a business morning so that the business-
hours rule lets everything out (the bench may run at night).

    python bench/reminders.py [--notifications 10000] [--postgres URL]

Last line: {"notifications", "instances", "duplicates", "lost", "p50_lag_s", "p99_lag_s",
"baseline_p99_lag_s"}. Targets: 0 duplicates, 0 lost, p99 lag under 2 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.core.clock import TOKYO  # noqa: E402
from tests.support.db_setup import scratch_postgres  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BUSINESS_MORNING = datetime(2026, 7, 1, 10, 0, tzinfo=TOKYO)  # a Wednesday
SPREAD_SECONDS = 60
USERS = 50


class ShiftedClock:
    """Real time, moved so that `real_start` reads as `virtual_start`."""

    def __init__(self, real_start: float, virtual_start: datetime) -> None:
        self.offset = virtual_start.timestamp() - real_start

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset, TOKYO)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def populate(url: str, count: int, real_start: float, lead: float) -> dict[str, float]:
    """People with Slack ids, and `count` notices due over a minute starting `lead`
    seconds after `real_start`; returns each key's due time (wall clock)."""
    from handlers.core.lookups import notify
    from storage import migrate, people
    from storage.db import Database
    from storage.models import Person

    database = Database(url)
    migrate.upgrade(database)
    clock = ShiftedClock(real_start, BUSINESS_MORNING)
    due: dict[str, float] = {}
    with database.transaction() as session:
        ids = []
        for n in range(USERS):
            person = Person(name=f"コンサル{n}", role="consultant", email=f"c{n}@example.jp")
            session.add(person)
            session.flush()
            people.link_identity(session, person.id or 0, "slack", f"U{n:04d}")
            ids.append(person.id or 0)
        for n in range(count):
            at = real_start + lead + SPREAD_SECONDS * n / count
            when = datetime.fromtimestamp(at + clock.offset, TOKYO)
            key = f"bench:{n}"
            notify(
                session,
                key=key,
                person_ids=[ids[n % USERS]],
                message="notice.assigned",
                params={"number": f"相談-2026-{n:05d}", "municipality": "宇土市"},
                now=when,
            )
            due[f"{key}:{ids[n % USERS]}"] = at
    database.dispose()
    return due


def instance(url: str, api_url: str, real_start: float, seconds: float, sent: object) -> None:
    """One service instance: the production scheduler and Slack deliverer."""
    from bot.config import Settings
    from bot.runtime import scheduler
    from bot.runtime.wiring import build_context
    from bot.slack.app import SlackBot

    settings = Settings(
        database_url=url,
        slack_bot_token="xoxb-bench",
        slack_signing_secret="bench",
        slack_api_url=api_url,
        log_level="WARNING",
    )
    ctx = build_context(settings, ShiftedClock(real_start, BUSINESS_MORNING))
    bot = SlackBot(ctx, settings)
    counted = [0]
    deliver = bot.deliver

    def counting() -> int:
        n = deliver()
        counted[0] += n
        return n

    bot.deliver = counting  # type: ignore[method-assign]
    clock = scheduler.start(ctx, settings, bot)
    time.sleep(seconds)
    clock.shutdown(wait=True)
    ctx.db.dispose()
    sent.put(counted[0])  # type: ignore[attr-defined]


def baseline(api_url: str, due: dict[str, float]) -> list[float]:
    """The same sends as APScheduler date jobs in one process: lag of each."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from slack_sdk import WebClient

    client = WebClient(token="xoxb-bench", base_url=api_url)
    lags: list[float] = []
    scheduler = BackgroundScheduler(timezone="Asia/Tokyo", job_defaults={"misfire_grace_time": 600})

    def send(key: str, at: float) -> None:
        client.chat_postMessage(channel="UBASE", text=key)
        lags.append(time.time() - at)

    for key, at in due.items():
        scheduler.add_job(send, "date", run_date=datetime.fromtimestamp(at, TOKYO), args=(key, at))
    scheduler.start()
    deadline = time.time() + SPREAD_SECONDS + 120
    while len(lags) < len(due) and time.time() < deadline:
        time.sleep(0.2)
    scheduler.shutdown(wait=False)
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES)
    args = parser.parse_args()
    if not args.postgres.startswith("postgres"):
        args.postgres = DEFAULT_POSTGRES

    from tests.support.slack_fake import FakeSlackAPI

    url, drop = scratch_postgres(args.postgres)
    try:
        with FakeSlackAPI() as fake:
            real_start = time.time()
            lead = 10.0  # time to start the instances before the first is due
            print(f"queueing {args.notifications} notifications …", file=sys.stderr, flush=True)
            due = populate(url, args.notifications, real_start, lead)
            spawn = multiprocessing.get_context("spawn")
            run_for = lead + SPREAD_SECONDS + 15 - (time.time() - real_start)
            counts = spawn.Queue()
            workers = [
                spawn.Process(target=instance, args=(url, fake.url, real_start, run_for, counts))
                for _ in range(2)
            ]
            for worker in workers:
                worker.start()
            print("two instances sending …", file=sys.stderr, flush=True)
            per_instance = sorted(counts.get() for _ in workers)
            for worker in workers:
                worker.join()
            print(f"sent per instance: {per_instance}", file=sys.stderr, flush=True)
            posts = fake.calls_to("chat.postMessage")
            keys = Counter(
                call.params["metadata"]["event_payload"]["key"]
                for call in posts
                if isinstance(call.params.get("metadata"), dict)
            )
            arrived: dict[str, float] = {}
            for call in posts:
                metadata = call.params.get("metadata")
                if isinstance(metadata, dict):
                    arrived.setdefault(metadata["event_payload"]["key"], call.at)
            lags = [arrived[k] - at for k, at in due.items() if k in arrived]
            duplicates = sum(n - 1 for n in keys.values() if n > 1)
            lost = sum(1 for k in due if k not in keys)
            print(
                f"sent {len(arrived)}: p50 {statistics.median(lags):.2f} s, "
                f"p99 {percentile(lags, 0.99):.2f} s; baseline …",
                file=sys.stderr,
                flush=True,
            )
            fake.reset()
            start = time.time() + 5
            shifted = {k: start + (at - real_start - lead) for k, at in due.items()}
            base_lags = baseline(fake.url, shifted)
    finally:
        drop()
    print(
        json.dumps(
            {
                "notifications": len(due),
                "instances": len(workers),
                "duplicates": duplicates,
                "lost": lost,
                "p50_lag_s": round(statistics.median(lags), 3),
                "p99_lag_s": round(percentile(lags, 0.99), 3),
                "baseline_p99_lag_s": round(percentile(base_lags, 0.99), 3),
                "per_instance": per_instance,
            }
        )
    )


if __name__ == "__main__":
    main()
