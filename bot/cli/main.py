"""`python -m bot` (also installed as `dxdesk`): every command of DX Desk."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import config
from bot.config import ConfigError
from handlers.core.i18n import t
from handlers.documents.model import DATE_STYLES, EXPORTS, FORMATS, KINDS


class OneLineHelp(argparse.HelpFormatter):
    """argparse sizes the help column before it sees sub-commands; fix it wide enough
    that every command and its help stay on one line."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=110)
        self._action_max_length = 26


def _language() -> str:
    """Help text is worded before settings load, so read the language variable directly."""
    value = os.environ.get("DXDESK_LANGUAGE", "ja")
    return value if value in ("ja", "en") else "ja"


def parser(lang: str) -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m bot",
        description=t(lang, "cli.description"),
        formatter_class=OneLineHelp,
    )
    commands = root.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("migrate", help=t(lang, "cli.migrate"))
    serve = commands.add_parser("serve", help=t(lang, "cli.serve"))
    serve.add_argument("--clock", metavar="YYYY-MM-DDTHH:MM", help=t(lang, "cli.serve.clock"))
    serve.add_argument("--speed", type=float, default=1.0, help=t(lang, "cli.serve.speed"))
    serve.add_argument("--files", type=Path, default=None, help=t(lang, "cli.serve.files"))
    console = commands.add_parser("console", help=t(lang, "cli.console"))
    console.add_argument("--as", dest="who", metavar="PERSON", help=t(lang, "cli.console.as"))
    console.add_argument("--clock", metavar="YYYY-MM-DDTHH:MM", help=t(lang, "cli.console.clock"))
    demo = commands.add_parser("demo", help=t(lang, "cli.demo"))
    demo.add_argument("--out", type=Path, default=Path("dxdesk-demo"), help=t(lang, "cli.demo.out"))
    commands.add_parser("sample-data", help=t(lang, "cli.sample_data"))
    report = commands.add_parser("report", help=t(lang, "cli.report"))
    report.add_argument("kind", choices=(*KINDS, *EXPORTS), help=t(lang, "cli.report.kind"))
    report.add_argument("--municipality", help=t(lang, "cli.report.municipality"))
    report.add_argument("--from", dest="start", metavar="DATE", help=t(lang, "cli.report.from"))
    report.add_argument("--to", dest="end", metavar="DATE", help=t(lang, "cli.report.to"))
    report.add_argument(
        "--log", type=int, action="append", metavar="ID", help=t(lang, "report.cli.log")
    )
    formats = (*FORMATS, *dict.fromkeys(EXPORTS.values()))
    report.add_argument("--format", choices=formats, help=t(lang, "cli.report.format"))
    report.add_argument("--dates", choices=DATE_STYLES, help=t(lang, "cli.report.dates"))
    report.add_argument("--out", type=Path, required=True, help=t(lang, "cli.report.out"))
    commands.add_parser("municipalities", help=t(lang, "cli.municipalities"))
    commands.add_parser("check", help=t(lang, "cli.check"))
    outbox = commands.add_parser("outbox", help=t(lang, "cli.outbox"))
    outbox.add_argument("action", nargs="?", choices=["resend"], help=t(lang, "cli.outbox.action"))
    outbox.add_argument("ids", nargs="*", type=int, metavar="ID", help=t(lang, "cli.outbox.ids"))
    outbox.add_argument("--all", action="store_true", help=t(lang, "cli.outbox.all"))
    package = commands.add_parser("teams-package", help=t(lang, "cli.teams_package"))
    package.add_argument(
        "--out", type=Path, default=Path("dxdesk-teams.zip"), help=t(lang, "cli.teams_package.out")
    )
    roster = commands.add_parser("roster", help=t(lang, "cli.roster"))
    roster_commands = roster.add_subparsers(dest="roster_command", metavar="ACTION", required=True)
    roster_commands.add_parser("list", help=t(lang, "cli.roster.list"))
    add = roster_commands.add_parser("add", help=t(lang, "cli.roster.add"))
    add.add_argument("--name", required=True)
    add.add_argument(
        "--role", required=True, choices=["municipal", "prefecture", "consultant", "admin"]
    )
    add.add_argument("--email")
    add.add_argument("--title")
    add.add_argument("--municipality", help=t(lang, "cli.roster.municipality"))
    add.add_argument("--department")
    add.add_argument("--approver", action="store_true")
    add.add_argument("--lead", action="store_true")
    add.add_argument("--qualification", action="append", choices=["itc", "fe", "ap"], default=[])
    link = roster_commands.add_parser("link", help=t(lang, "cli.roster.link"))
    link.add_argument("--person", required=True)
    link.add_argument("--platform", required=True, choices=["slack", "teams"])
    link.add_argument("--user-id", required=True)
    link.add_argument("--force", action="store_true", help=t(lang, "cli.roster.force"))
    return root


def main(argv: Sequence[str] | None = None) -> int:
    lang = _language()
    args = parser(lang).parse_args(argv)
    try:
        settings = config.load()
        from bot.cli import commands

        return commands.run(args, settings)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
