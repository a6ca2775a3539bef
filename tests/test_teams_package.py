"""`python -m bot teams-package`: the zip Teams takes as a custom app. Its manifest.json
validates against Microsoft's published Teams app manifest schema 1.17
(tests/data/teams-manifest-1.17.schema.json, vendored verbatim, MIT licence), and its
icons follow the manifest's rules (color 192×192; outline 32×32, white on transparent)."""

# Schema source: github.com/microsoft/json-schemas (the repository behind
# https://developer.microsoft.com/json-schemas/), teams/v1.17/MicrosoftTeams.schema.json
# at commit f891f5bfc1ce0030aa53d805d90881a1b8b07643 (file last changed in ce83dc786a8a).

from __future__ import annotations

import copy
import io
import json
import re
import struct
import zipfile
import zlib
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import FormatChecker, validators

from bot.cli.main import main

APP_ID = "00000000-1111-2222-3333-444444444444"
SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "teams-manifest-1.17.schema.json").read_text("utf-8")
)
SCHEMA_CLASS = validators.validator_for(SCHEMA, default=None)  # from the schema's $schema
assert SCHEMA_CLASS is not None, SCHEMA.get("$schema")
SCHEMA_CLASS.check_schema(SCHEMA)
FORMATS = FormatChecker(SCHEMA_CLASS.FORMAT_CHECKER.checkers)

if "uri" not in FORMATS.checkers:  # jsonschema checks "uri" only with rfc3987 installed

    @FORMATS.checks("uri")
    def _absolute_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return bool(
            re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+", value)
            and urlsplit(value).scheme
        )


VALIDATOR = SCHEMA_CLASS(SCHEMA, format_checker=FORMATS)


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    errors = sorted(VALIDATOR.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    return [f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors]


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> dict[str, bytes]:
    """The files of the zip the real command writes (built once for this module)."""
    out = tmp_path_factory.mktemp("teams") / "app.zip"
    with pytest.MonkeyPatch.context() as env, redirect_stdout(io.StringIO()) as stdout:
        env.setenv("TEAMS_APP_ID", APP_ID)
        env.setenv("TEAMS_APP_PASSWORD", "secret")
        env.setenv("TEAMS_TENANT_ID", "tenant-1")
        env.setenv("DXDESK_PUBLIC_URL", "https://dxdesk.example.jp")
        assert main(["teams-package", "--out", str(out)]) == 0
    assert str(out) in stdout.getvalue()
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_package_has_the_manifest_and_both_icons(package):
    assert sorted(package) == ["color.png", "manifest.json", "outline.png"]
    manifest = json.loads(package["manifest.json"])
    assert manifest["manifestVersion"] == "1.17"
    assert "v1.17/MicrosoftTeams.schema.json" in manifest["$schema"]
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    links = {k: v for k, v in manifest["developer"].items() if k.endswith("Url")}
    assert links == {
        "websiteUrl": "https://dxdesk.example.jp/terms",
        "privacyUrl": "https://dxdesk.example.jp/privacy",
        "termsOfUseUrl": "https://dxdesk.example.jp/terms",
    }
    assert "{{" not in json.dumps(manifest)
    titles = [c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]]
    assert titles == ["相談", "申込", "状況", "事例", "カレンダー", "ヘルプ"]
    assert manifest["bots"][0]["supportsFiles"]  # invite files: the file-consent flow
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    for name, size in (("color.png", 192), ("outline.png", 32)):
        data = package[name]
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size)
        assert len(data) < 10_000


def test_the_manifest_is_valid_against_the_official_1_17_schema(package):
    manifest = json.loads(package["manifest.json"])
    # "const" is not a draft-04 keyword, so the validator skips it: checked here instead.
    assert SCHEMA["properties"]["manifestVersion"]["const"] == manifest["manifestVersion"]
    assert manifest["$schema"].endswith("/teams/v1.17/MicrosoftTeams.schema.json")
    assert schema_errors(manifest) == []
    # The files the manifest names are in the zip.
    assert set(manifest["icons"].values()) <= set(package)


def _without(field: str):
    def change(manifest: dict[str, Any]) -> None:
        *parents, last = field.split(".")
        node: Any = manifest
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]

    return change


def _set(field: str, value: Any):
    def change(manifest: dict[str, Any]) -> None:
        *parents, last = field.split(".")
        node: Any = manifest
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_without("developer"), "'developer' is a required property"),
        (_without("icons.outline"), "'outline' is a required property"),
        (_without("name.full"), "'full' is a required property"),
        (_set("id", "dxdesk-bot"), "does not match"),
        (_set("bots.0.botId", "not-a-guid"), "does not match"),
        (_set("accentColor", "blue"), "does not match"),
        (_set("$schema", "not a uri"), "is not a 'uri'"),
        (_set("developer.privacyUrl", "ftp://dxdesk.example.jp"), "does not match"),
        (_set("name.short", "DX Desk " * 4), "is too long"),
        (_set("permissions", ["identity", "readAllMail"]), "is not one of"),
        (_set("bots.0.scopes", ["personal", "everyone"]), "is not one of"),
        (_set("bots.0.mascot", "cat"), "Additional properties are not allowed"),
    ],
)
def test_the_schema_check_rejects_a_broken_manifest(package, change, expected):
    manifest = json.loads(package["manifest.json"])
    broken = copy.deepcopy(manifest)
    change(broken)
    errors = schema_errors(broken)
    assert errors and any(expected in error for error in errors), errors


def read_png(data: bytes) -> tuple[int, int, list[list[tuple[int, ...]]]]:
    """Width, height and RGBA rows of an 8-bit RGBA PNG, checking every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks = 8, []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        at += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color_type, interlace) == (8, 6, 0), "expected 8-bit RGBA, not interlaced"
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride, previous, rows = width * 4, bytearray(width * 4), []
    assert len(raw) == height * (stride + 1)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - 4] if i >= 4 else 0
            up, corner = previous[i], previous[i - 4] if i >= 4 else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
            else:
                assert kind == 0, f"unknown filter {kind}"
        rows.append([tuple(line[x * 4 : x * 4 + 4]) for x in range(width)])
        previous = line
    return width, height, rows


def test_the_icons_follow_the_manifest_rules(package):
    """color: 192×192 full colour; outline: 32×32, white on a transparent background."""
    width, height, rows = read_png(package["color.png"])
    assert (width, height) == (192, 192)
    colors = {pixel for row in rows for pixel in row}
    assert len({pixel[:3] for pixel in colors}) > 1  # a picture, not a blank square

    width, height, rows = read_png(package["outline.png"])
    assert (width, height) == (32, 32)
    pixels = [pixel for row in rows for pixel in row]
    opaque = [p for p in pixels if p[3] > 0]
    assert all(p[:3] == (255, 255, 255) for p in opaque), "outline: white only"
    assert all(p[3] == 0 for p in (rows[0][0], rows[0][-1], rows[-1][0], rows[-1][-1]))
    assert 0 < len(opaque) < len(pixels) // 2  # a drawn outline on a transparent background


def test_without_an_app_id_one_japanese_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TEAMS_APP_ID", raising=False)
    monkeypatch.delenv("DXDESK_LANGUAGE", raising=False)
    assert main(["teams-package", "--out", str(tmp_path / "app.zip")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TEAMS_APP_ID が設定されていません" in err
    assert not (tmp_path / "app.zip").exists()


def test_an_app_id_that_is_not_a_guid_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TEAMS_APP_ID", "my-bot")
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "secret")
    monkeypatch.setenv("TEAMS_TENANT_ID", "tenant-1")
    monkeypatch.delenv("DXDESK_LANGUAGE", raising=False)
    assert main(["teams-package", "--out", str(tmp_path / "app.zip")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TEAMS_APP_ID（my-bot）は Azure Bot のアプリ ID" in err
    assert not (tmp_path / "app.zip").exists()


def test_the_links_are_pages_serve_answers(package, ctx):
    """Teams shows the privacy and terms links to everyone installing the app: they
    must open real pages (short, Japanese), not a 404 of the bot's own address."""
    import httpx

    from bot.runtime.web import create_web_app
    from tests.support.live_server import serving

    manifest = json.loads(package["manifest.json"])
    with serving(create_web_app(ctx, None)) as base, httpx.Client(base_url=base) as client:
        for name in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
            page = client.get(urlsplit(manifest["developer"][name]).path)
            assert page.status_code == 200, name
            assert "text/html" in page.headers["content-type"]
            assert re.search(r"[\u3040-\u30ff]", page.text), name  # in Japanese
        assert "プライバシー" in client.get("/privacy").text
        assert "利用規約" in client.get("/terms").text


def test_without_a_public_url_there_is_no_package(tmp_path, monkeypatch, capsys):
    """No fallback to http://localhost:3000: one clear Japanese line, exit 2."""
    monkeypatch.setenv("TEAMS_APP_ID", APP_ID)
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "secret")
    monkeypatch.setenv("TEAMS_TENANT_ID", "tenant-1")
    monkeypatch.delenv("DXDESK_PUBLIC_URL", raising=False)
    assert main(["teams-package", "--out", str(tmp_path / "app.zip")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("DXDESK_PUBLIC_URL が設定されていません")
    assert "\n" not in error and "Traceback" not in error
    assert not (tmp_path / "app.zip").exists()
