"""`python -m bot teams-package`: the zip Teams takes as a custom app."""

from __future__ import annotations

import json
import struct
import zipfile

from bot.__main__ import main

APP_ID = "00000000-1111-2222-3333-444444444444"


def test_the_package_has_the_manifest_and_both_icons(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TEAMS_APP_ID", APP_ID)
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "secret")
    monkeypatch.setenv("TEAMS_TENANT_ID", "tenant-1")
    monkeypatch.setenv("DXDESK_PUBLIC_URL", "https://dxdesk.example.jp")
    out = tmp_path / "app.zip"
    assert main(["teams-package", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        icons = {name: archive.read(name) for name in ("color.png", "outline.png")}
    assert manifest["manifestVersion"] == "1.17"
    assert "v1.17/MicrosoftTeams.schema.json" in manifest["$schema"]
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["developer"]["websiteUrl"] == "https://dxdesk.example.jp"
    assert "{{" not in json.dumps(manifest)
    titles = [c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]]
    assert titles == ["相談", "申込", "状況", "事例", "ヘルプ"]
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    for name, size in (("color.png", 192), ("outline.png", 32)):
        data = icons[name]
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size)
        assert len(data) < 10_000


def test_without_an_app_id_one_japanese_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TEAMS_APP_ID", raising=False)
    monkeypatch.delenv("DXDESK_LANGUAGE", raising=False)
    assert main(["teams-package", "--out", str(tmp_path / "app.zip")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TEAMS_APP_ID が設定されていません" in err
    assert not (tmp_path / "app.zip").exists()
