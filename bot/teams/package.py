"""`python -m bot teams-package --out PATH`: the Teams app package to upload (Teams admin
center or "Upload a custom app"): manifest.json, color.png (192×192) and outline.png
(32×32, white on transparent) at the root of a zip. The manifest (templates/teams/manifest.json)
gets the bot's app id and the service's public address (DXDESK_PUBLIC_URL, required: its
links go to the /privacy and /terms pages `serve` answers, bot/runtime/web.py); the icons are
drawn here."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import templates

MANIFEST = templates.DIR / "teams" / "manifest.json"  # package data: works when installed
ACCENT = (0x1F, 0x6F, 0xB2)
WHITE = (0xFF, 0xFF, 0xFF)


def manifest(app_id: str, public_url: str) -> dict[str, Any]:
    text = MANIFEST.read_text(encoding="utf-8")
    text = text.replace("{{TEAMS_APP_ID}}", app_id).replace("{{PUBLIC_URL}}", public_url)
    out: dict[str, Any] = json.loads(text)
    return out


def png(size: int, pixel: Any) -> bytes:
    """An RGBA PNG of `pixel(x, y) -> (r, g, b, a)`, with the standard library only."""
    rows = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _mark(size: int, x: int, y: int) -> bool:
    """A speech bubble: a rounded box with a tail at the lower left."""
    m = size // 6
    inside = m <= x < size - m and m <= y < size - 2 * m
    corner = min(x - m, size - m - 1 - x) + min(y - m, size - 2 * m - 1 - y) < m // 2
    tail = size - 2 * m <= y < size - m and m + m // 2 <= x < m + m // 2 + (size - m - y)
    return (inside and not corner) or tail


def color_icon() -> bytes:
    size = 192
    return png(size, lambda x, y: (*WHITE, 255) if _mark(size, x, y) else (*ACCENT, 255))


def outline_icon() -> bytes:
    size = 32
    return png(size, lambda x, y: (*WHITE, 255) if _mark(size, x, y) else (*WHITE, 0))


def write(out: Path, app_id: str, public_url: str) -> Path:
    if out.suffix.lower() != ".zip":
        out = out / "dxdesk-teams.zip" if out.is_dir() else out.with_suffix(".zip")
    out.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(manifest(app_id, public_url), ensure_ascii=False, indent=2)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", body)
        archive.writestr("color.png", color_icon())
        archive.writestr("outline.png", outline_icon())
    return out
