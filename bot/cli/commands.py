"""What each command of `python -m bot` does (the parser lives in bot.cli.main)."""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.config import ConfigError, Settings
from bot.console import chat
from bot.console.render import render, table
from bot.demo import scenario
from bot.demo.cast import CAST, person_values
from bot.runtime.wiring import build_context, database_errors
from handlers.core.clock import TOKYO, ScaledClock, SystemClock
from handlers.core.context import Context
from handlers.core.errors import Invalid, Refused
from handlers.core.i18n import format_when, t
from handlers.core.intents import invalid_reply, refusal_reply
from handlers.people import roster
from handlers.record import check
from storage import migrate, outbox, people
from storage.db import Database


def run(args: argparse.Namespace, settings: Settings) -> int:
    lang = settings.language
    command = args.command
    url = settings.database_url
    if command == "migrate":
        database = Database(settings.database_url)
        with database_errors(lang, url):
            migrate.upgrade(database)
            print(t(lang, "cli.migrated", revision=migrate.current(database)))
        return 0
    if command == "serve":
        return _serve(args, settings, lang)
    if command == "demo":
        try:
            with database_errors(lang, f"sqlite:///{args.out}"):
                return scenario.run(args.out, sys.stdout, lang)
        except (PermissionError, FileNotFoundError, NotADirectoryError):
            print(t(lang, "cli.database.unwritable", path=str(args.out)), file=sys.stderr)
            return 2
    if command == "teams-package":
        return _teams_package(args.out, settings, lang)
    if command == "check":
        return _check(settings, lang)
    with database_errors(lang, url):
        ctx = build_context(settings)
    if command == "console":
        if args.clock is not None:  # the same moment as a local service's `--clock`
            start = _moment(args.clock, lang)
            if start is None:
                return 2
            ctx.clock = ScaledClock(start)
        return _console(ctx, args.who, lang)
    if command == "sample-data":
        return _sample(ctx, lang)
    if command == "municipalities":
        with ctx.db.transaction() as session:
            rows = [
                [m.code, m.name, m.reading, m.district or "-", str(m.travel_minutes)]
                for m in people.municipalities(session)
            ]
        print(table(["code", "name", "reading", "district", "minutes"], rows))
        return 0
    if command == "roster":
        return _roster(ctx, args, lang)
    if command == "report":
        from bot.cli import report

        return report.run(ctx, args, lang)
    if command == "outbox":
        return _outbox(ctx, args, lang)
    raise ConfigError(f"unknown command {command}")


def _serve(args: argparse.Namespace, settings: Settings, lang: str) -> int:
    """`python -m bot serve`. A clock of its own (`--clock`, `--speed`) only for the local
    service: a service people use through Slack or Teams keeps the real time."""
    from bot.runtime import scheduler, serve

    local = not (settings.slack_enabled or settings.teams_enabled)
    moved = args.clock is not None or args.speed != 1.0
    if moved and not local:
        print(t(lang, "cli.serve.clock_local_only"), file=sys.stderr)
        return 2
    if args.speed <= 0:
        print(t(lang, "cli.serve.bad_speed"), file=sys.stderr)
        return 2
    start = None
    if args.clock is not None:
        start = _moment(args.clock, lang)
        if start is None:
            return 2
    with database_errors(lang, settings.database_url):
        serving = build_context(settings)
    if moved:
        serving.clock = ScaledClock(start or datetime.now(TOKYO), args.speed)
    files = args.files or scheduler.FILES
    return serve.run(serving, settings, speed=args.speed, files_dir=files)


def _moment(typed: str, lang: str) -> datetime | None:
    """A `--clock` value (Asia/Tokyo when no zone is given); None, said, when unreadable."""
    try:
        moment = datetime.fromisoformat(typed)
    except ValueError:
        print(t(lang, "cli.serve.bad_clock", value=typed), file=sys.stderr)
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=TOKYO)


def _console(ctx: Any, who: str | None, lang: str) -> int:
    with ctx.db.transaction() as session:
        everyone = people.listing(session)
    if not everyone:
        print(t(lang, "console.no_people"), file=sys.stderr)
        return 2
    if not who:
        print(t(lang, "console.who"))
        _print_roster(everyone, lang)
        return 2
    found = roster.find(ctx, who)
    if not found:
        print(t(lang, "console.not_found", key=who), file=sys.stderr)
        return 2
    if len(found) > 1:
        print(t(lang, "console.ambiguous", key=who), file=sys.stderr)
        return 2
    files = Path("dxdesk-files")  # documents asked for in the chat are saved here
    return chat.Console(ctx, found[0], input, sys.stdout, files).run()


def _print_roster(everyone: list[Any], lang: str) -> None:
    rows = [[str(p.id), p.name, t(lang, f"role.{p.role}"), p.email or "-"] for p in everyone]
    print(table(["id", t(lang, "field.name"), t(lang, "field.role"), t(lang, "field.email")], rows))


def _sample(ctx: Any, lang: str) -> int:
    with ctx.db.transaction() as session:
        if people.count(session):
            print(t(lang, "cli.sample_exists"), file=sys.stderr)
            return 1
        ids = {m.name: m.id or 0 for m in people.municipalities(session)}
    for entry in CAST:
        roster.add_person(ctx, person_values(entry, ids))
    print(t(lang, "cli.sample_loaded", count=len(CAST), example=CAST[1]["name"]))
    return 0


def _roster(ctx: Any, args: argparse.Namespace, lang: str) -> int:
    if args.roster_command == "list":
        with ctx.db.transaction() as session:
            _print_roster(people.listing(session), lang)
        return 0
    if args.roster_command == "add":
        with ctx.db.transaction() as session:
            place = people.municipality_named(session, args.municipality or "")
        values = {
            "name": args.name,
            "role": args.role,
            "email": args.email,
            "title": args.title,
            "municipality": str(place.id) if place else args.municipality,
            "department": args.department,
            "approver": "yes" if args.approver else "no",
            "lead": "yes" if args.lead else "no",
            "qualifications": args.qualification,
        }
        try:
            person = roster.add_person(ctx, values)
        except Invalid as invalid:
            print(render(invalid_reply(lang, invalid), lang).text.split("\n■")[0], file=sys.stderr)
            return 2
        print(t(lang, "roster.added", name=person.name))
        return 0
    found = roster.find(ctx, args.person)
    if len(found) != 1:
        key = "console.not_found" if not found else "console.ambiguous"
        print(t(lang, key, key=args.person), file=sys.stderr)
        return 2
    try:
        roster.link_account(ctx, found[0].id, args.platform, args.user_id, force=args.force)
    except Refused as refusal:
        print(refusal_reply(lang, refusal).plain_text(), file=sys.stderr)
        return 2
    print(t(lang, "cli.linked", name=found[0].name, platform=args.platform, user=args.user_id))
    return 0


def _outbox(ctx: Context, args: argparse.Namespace, lang: str) -> int:
    """`python -m bot outbox`: the notices that could not be sent, with why and when;
    `outbox resend --all|ID…` puts them back in the queue once the cause is fixed."""
    if args.action != "resend":
        with ctx.db.transaction() as session:
            failed = outbox.failures(session)
            names = people.by_ids(session, {f.notification.person_id or 0 for f in failed})
        if not failed:
            print(t(lang, "cli.outbox.none"))
            return 0
        channel = t(lang, "cli.outbox.channel")
        rows = [
            [
                str(f.notification.id),
                f.notification.key,
                f.notification.kind,
                names[f.notification.person_id].name
                if f.notification.person_id in names
                else channel,
                f.reason,
                format_when(lang, f.at) if f.at else "-",
            ]
            for f in failed
        ]
        print(t(lang, "cli.outbox.heading", count=len(failed)))
        print(table(t(lang, "cli.outbox.columns").split("|"), rows))
        return 0
    if not args.all and not args.ids:
        print(t(lang, "cli.outbox.which"), file=sys.stderr)
        return 2
    wanted = None if args.all else set(args.ids)
    with ctx.db.transaction() as session:
        put_back = outbox.resend(session, wanted, ctx.clock.now())
    unknown = sorted((wanted or set()) - set(put_back))
    if unknown:
        print(t(lang, "cli.outbox.unknown", ids=", ".join(map(str, unknown))), file=sys.stderr)
    print(t(lang, "cli.outbox.resent", count=len(put_back)))
    return 1 if unknown else 0


def _check(settings: Settings, lang: str) -> int:
    """`python -m bot check`: the findings (exit 1 if any, 0 if none). It only reads: a
    missing SQLite file is not created and an old schema not migrated (exit 2, one line)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        path = url.database or settings.database_url
        print(t(lang, "check.no_database", path=path), file=sys.stderr)
        return 2
    try:
        database = Database(settings.database_url)
        current, head = migrate.current(database), migrate.head()
        if current != head:
            print(t(lang, "check.schema", current=current or "-", head=head), file=sys.stderr)
            return 2
        found = check.findings(Context(database, SystemClock(), settings.rules()))
    except DBAPIError as error:
        reason = str(error).strip().splitlines()[0]
        print(t(lang, "check.unreadable", reason=reason), file=sys.stderr)
        return 2
    print("\n".join(check.report(found, lang)))
    return 1 if found else 0


def _teams_package(out: Path, settings: Settings, lang: str) -> int:
    if not settings.teams_app_id:
        print(t(lang, "cli.teams_package.no_app_id"), file=sys.stderr)
        return 2
    try:  # Teams refuses a package whose app and bot ids are not GUIDs
        uuid.UUID(settings.teams_app_id)
    except ValueError:
        print(t(lang, "cli.teams_package.bad_app_id", value=settings.teams_app_id), file=sys.stderr)
        return 2
    if not settings.public_url_set:  # its links must reach this service's /privacy, /terms
        print(t(lang, "cli.teams_package.no_public_url"), file=sys.stderr)
        return 2
    from bot.teams import package

    written = package.write(out, settings.teams_app_id, settings.public_url)
    print(t(lang, "cli.teams_package.written", path=str(written)))
    return 0
