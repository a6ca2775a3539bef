"""The command line: help, configuration errors, the demo, roster and console entry."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import demo
from bot.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("migrate", "serve", "console", "demo", "sample-data", "municipalities", "roster")


def cli(*args, env=None, cwd=None):
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd or ROOT,
        timeout=120,
    )


def test_help_lists_every_command_with_one_line():
    result = cli("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        line = next(x for x in result.stdout.splitlines() if x.strip().startswith(command))
        assert len(line.split(None, 1)) == 2, line  # the command and its one-line help
    assert "デジタル人材" in result.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://nope"),
        ("DXDESK_LANGUAGE", "fr"),
        ("DXDESK_OFFICE_HOURS", "17:00-09:00"),
        ("DXDESK_CONTRACT_END", "yesterday"),
    ],
)
def test_a_wrong_setting_stops_with_one_line_naming_it(name, value, tmp_path):
    result = cli("municipalities", env={name: value}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], result.stderr


def test_demo_tells_a_season_and_ends_with_the_quota_table(tmp_path):
    out = io.StringIO()
    assert demo.run(tmp_path / "demo", out) == 0
    text = out.getvalue()
    for expected in (
        "BPR伴走支援に応募",
        "を選定し",
        "見送り",
        "追加情報を依頼",
        "権限がありません",
        "さんが",
        "合同支援",
        "まとめて提出",
        "取組目標を設定",
        "未設定のまま3回目",
        "成果報告会",
        "計画",
        "実施済み",
        "ペース",
    ):
        assert expected in text, expected
    assert (tmp_path / "demo" / "dxdesk-demo.db").exists()


def test_demo_twice_in_the_same_folder_starts_fresh(tmp_path):
    first, second = io.StringIO(), io.StringIO()
    demo.run(tmp_path, first)
    demo.run(tmp_path, second)
    assert first.getvalue().replace(str(tmp_path), "") == second.getvalue().replace(
        str(tmp_path), ""
    )


def test_roster_sample_data_and_console_entry(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["console", "--as", "誰か"]) == 2
    assert "sample-data" in capsys.readouterr().err
    assert main(["sample-data"]) == 0
    assert main(["sample-data"]) == 1
    assert (
        main(
            [
                "roster",
                "add",
                "--name",
                "新人 一郎",
                "--role",
                "municipal",
                "--municipality",
                "宇土市",
                "--department",
                "総務課",
            ]
        )
        == 0
    )
    assert main(["roster", "add", "--name", "迷子", "--role", "municipal"]) == 2
    err = capsys.readouterr().err
    assert "「市町村」" in err
    assert (
        main(
            ["roster", "link", "--person", "新人 一郎", "--platform", "slack", "--user-id", "U123"]
        )
        == 0
    )
    assert main(["console", "--as", "存在しない人"]) == 2
    assert main(["console"]) == 2
    assert "熊本 県子" in capsys.readouterr().out


def test_serve_without_credentials_points_to_console_and_demo(tmp_path):
    result = cli("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert "console" in result.stderr and "demo" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
