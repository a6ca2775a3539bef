"""Scopes derived, not remembered: every Slack Web API method the code calls is found in
the source (bot/), and manifest.yml must grant the scopes Slack documents for it (the
table is data, tests/support/slack_fake.py METHOD_SCOPES, which the fake also answers by). A
method added without its scope — or a scope dropped from the manifest — fails here, not
in production as `missing_scope` (issue #15: channel notices lost for want of
channels:history)."""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache
from pathlib import Path

import pytest
from slack_sdk import WebClient

from tests.support.slack_fake import METHOD_SCOPES, manifest_scopes

ROOT = Path(__file__).resolve().parent.parent
API_CALL = re.compile(r"""api_call\(\s*["']([A-Za-z]+\.[A-Za-z.]+)["']""")
SDK_CALL = re.compile(r"self\.([a-z]+_[A-Za-z0-9_]+)\(")


@cache
def api_methods_of(sdk_method: str) -> frozenset[str]:
    """The Web API methods one WebClient method calls: its own api_call("…"), and those
    of the WebClient methods it calls in turn (files_upload_v2 calls two)."""
    function = getattr(WebClient, sdk_method, None)
    if function is None or not callable(function):
        return frozenset()
    source = inspect.getsource(function)
    found = set(API_CALL.findall(source))
    for other in SDK_CALL.findall(source):
        if other != sdk_method and hasattr(WebClient, other):
            found |= api_methods_of(other)
    return frozenset(found)


def called_methods(source: str) -> set[str]:
    """Web API methods called in this source: `<…client>.<sdk method>(…)` and
    `api_call("<method>")`."""
    found = set(API_CALL.findall(source))
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = ast.unparse(node.func.value)
        if receiver.split(".")[-1].lower().endswith("client"):
            found |= api_methods_of(node.func.attr)
    return found


def code_methods() -> set[str]:
    methods: set[str] = set()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        methods |= called_methods(path.read_text(encoding="utf-8"))
    return methods


def problems(methods: set[str], granted: frozenset[str]) -> list[str]:
    """What is wrong: a method with no entry in the table, or a scope not granted."""
    out = []
    for method in sorted(methods):
        if method not in METHOD_SCOPES:
            out.append(f"{method}: not in METHOD_SCOPES (look up its scopes in Slack's docs)")
            continue
        missing = [scope for scope in METHOD_SCOPES[method] if scope not in granted]
        if missing:
            out.append(f"{method}: manifest.yml lacks {', '.join(missing)}")
    return out


def test_the_scan_finds_what_the_bot_calls():
    methods = code_methods()
    assert {
        "chat.postMessage",
        "chat.update",
        "chat.delete",
        "conversations.history",
        "conversations.open",
        "users.info",
        "views.open",
        "views.publish",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    } <= methods


def test_the_manifest_grants_every_scope_the_code_needs():
    assert problems(code_methods(), manifest_scopes()) == []


def test_channel_history_needs_both_channel_scopes():
    """The approval channel may be public (channels:history) or private (groups:history)."""
    granted = manifest_scopes()
    assert {"channels:history", "groups:history", "im:history"} <= granted


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("self.client.reactions_add(channel='C', name='x', timestamp='1')", "reactions.add"),
        ("client.api_call('pins.add', json={})", "pins.add"),
    ],
)
def test_a_method_added_without_its_scope_fails(source, expected):
    methods = code_methods() | called_methods(source)
    assert expected in methods
    assert any(p.startswith(f"{expected}:") for p in problems(methods, manifest_scopes()))


def test_a_scope_dropped_from_the_manifest_fails():
    granted = manifest_scopes() - {"channels:history"}
    assert problems(code_methods(), granted) == [
        "conversations.history: manifest.yml lacks channels:history"
    ]
