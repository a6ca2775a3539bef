"""The command line: help, configuration errors, roster and console entry (the demo's own
tests are in test_demo.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (
    "migrate",
    "serve",
    "console",
    "demo",
    "sample-data",
    "municipalities",
    "roster",
    "report",
    "teams-package",
)


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
        ("DXDESK_WORKER_CPUS", "one"),
    ],
)
def test_a_wrong_setting_stops_with_one_line_naming_it(name, value, tmp_path):
    result = cli("municipalities", env={name: value}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], result.stderr


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


# `serve` without credentials runs the local service now (issue #17): see
# tests/test_local_service.py::test_serve_without_credentials_runs_the_local_service


def test_serve_runs_the_slack_app_with_its_worker_process(tmp_path):
    """The production path: `serve` with credentials, acking in the web process and
    opening the modal from the worker process."""
    import socket
    import time

    import httpx

    from tests.support.slack_fake import FakeSlackAPI, signed_headers, slash_command

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = f"sqlite:///{tmp_path / 'serve.db'}"
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "PORT": str(port),
        "SLACK_BOT_TOKEN": "xoxb-serve",
        "SLACK_SIGNING_SECRET": "serve-secret",
        "SLACK_APPROVAL_CHANNEL": "CAPPROVE",
        "DXDESK_LOG_LEVEL": "WARNING",
    }
    assert cli("sample-data", env={"DATABASE_URL": database}, cwd=tmp_path).returncode == 0
    assert (
        cli(
            "roster",
            "link",
            "--person",
            "田中 美咲",
            "--platform",
            "slack",
            "--user-id",
            "U1",
            env={"DATABASE_URL": database},
            cwd=tmp_path,
        ).returncode
        == 0
    )
    with FakeSlackAPI() as fake:
        env["SLACK_API_URL"] = fake.url
        server = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, server.stderr.read().decode()
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline
                time.sleep(0.2)
            body = slash_command("", user_id="U1", response_url=f"{fake.base}/response/1")
            response = httpx.post(
                f"{base}/slack/events", content=body, headers=signed_headers("serve-secret", body)
            )
            assert response.status_code == 200
            view = fake.wait_for("views.open", timeout=20)[0].params["view"]
            assert view["callback_id"] == "dx_form"
        finally:
            server.terminate()
            server.wait(timeout=20)
