"""Adaptive Cards rendered from real replies validate against the official Adaptive Card
1.5 JSON schema (tests/data/adaptive-card-1.5.schema.json, vendored from
microsoft/AdaptiveCards schemas/1.5.0/adaptive-card.json, MIT licence)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.teams import cards
from handlers import router
from handlers.core import payloads
from handlers.core.reply import (
    Button,
    Buttons,
    Choice,
    Field,
    Fields,
    File,
    Form,
    Input,
    ListItem,
    ListView,
    Reply,
    Text,
)
from handlers.intake import approval_card, submission
from tests.support.card_schema import VALIDATOR, valid
from tests.support.factories import consultation


def walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "type" in node:
            found.append(node)
        for value in node.values():
            found += walk(value)
    elif isinstance(node, list):
        for value in node:
            found += walk(value)
    return found


def of_type(card: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [n for n in walk(card) if n.get("type") == kind]


EVERYTHING = Reply(
    (
        Text("見出し", "heading"),
        Text("本文"),
        Text("完了", "success"),
        Text("エラー", "error"),
        Text("補足", "muted"),
        Fields((Field("受付番号", "相談-2026-001"), Field("状態", "承認待ち"))),
        Buttons((Button("request.approve.form", "承認", "v1", "primary"), Button("help", "?"))),
        ListView(
            "一覧",
            (ListItem("項目", (Field("a", "b"),), (Button("request.view", "詳しく", "x"),)),),
            page=1,
            pages=2,
            more=Button("request.list", "次へ", "p2"),
        ),
        ListView("空", (), empty_text="ありません"),
        File("invite.ics", b"BEGIN:VCALENDAR", "text/calendar"),
        Form(
            "request.submit",
            "相談",
            (
                Input("a", "テキスト", max_length=10, hint="ヒント", value="x"),
                Input("b", "長文", "textarea", required=False),
                Input("c", "選択", "select", choices=(Choice("1", "一"),), value="1"),
                Input("d", "複数", "multiselect", choices=(Choice("1", "一"),), value=("1",)),
                Input("e", "日付", "date", value="2026-07-15", error="過去の日付です"),
                Input("f", "候補日", "dates", value=("2026-07-15", "2026-07-16")),
                Input("g", "時刻", "time", value="10:00"),
                Input("h", "数", "number", value="3"),
            ),
            "送信",
            context="ctx1",
        ),
    )
)


def test_every_block_kind_validates_and_carries_its_intent():
    card = valid(cards.card(EVERYTHING))
    execute = of_type(card, "Action.Execute")
    approve = next(a for a in execute if a["verb"] == "request.approve.form")
    assert approve["data"] == {"action": "request.approve.form", "value": "v1"}
    assert approve["style"] == "positive"
    submit = card["actions"][0]
    assert submit["data"] == {"action": "request.submit", "context": "ctx1"}
    inputs = {n["id"]: n for n in walk(card) if n["type"].startswith("Input.")}
    assert inputs["a"]["isRequired"] and inputs["a"]["label"] == "テキスト"
    assert inputs["a"]["maxLength"] == 10
    assert inputs["b"]["isMultiline"] and not inputs["b"]["isRequired"]
    assert inputs["c"]["type"] == "Input.ChoiceSet" and inputs["c"]["value"] == "1"
    assert inputs["d"]["isMultiSelect"]
    assert inputs["e"]["type"] == "Input.Date" and inputs["e"]["errorMessage"] == "過去の日付です"
    assert inputs["f"]["value"] == "2026-07-15,2026-07-16"
    assert inputs["g"]["type"] == "Input.Time" and inputs["h"]["value"] == 3
    shown = [n["text"] for n in of_type(card, "TextBlock")]
    assert "過去の日付です" in shown and "📎 invite.ics" in shown and "1 / 2" in shown


def test_reserved_input_names_are_refused():
    form = Form("x", "t", (Input("action", "l"),), "s")
    with pytest.raises(ValueError):
        cards.card(Reply((form,)))


def test_submitted_values_drop_the_action_keys():
    data = {"action": "request.submit", "context": "c", "topic": "a", "consultants": "1,2"}
    assert cards.submitted_values(data) == {"topic": "a", "consultants": "1,2"}


def test_cards_from_real_replies_validate(ctx, cast, staff, approver):
    new_form = router.press(ctx, staff, "request.form", payloads.encode(kind="consultation"))
    card = valid(cards.card(new_form))
    assert card["actions"][0]["data"]["action"] == "request.submit"

    with_errors = router.submit(ctx, staff, "request.submit", consultation(staff, description=""))
    assert with_errors.data.get("errors")
    card = valid(cards.card(with_errors))
    assert "「相談内容」を入力してください。" in json.dumps(card, ensure_ascii=False)

    done = router.submit(ctx, staff, "request.submit", consultation(staff))
    request_id = int(done.data["request_id"])
    valid(cards.card(done))
    shown = valid(cards.card(approval_card.card(ctx, request_id, "ja")))
    verbs = {a["verb"] for a in of_type(shown, "Action.Execute")}
    assert "request.approve.form" in verbs
    approve_form = router.press(ctx, approver, "request.approve.form", payloads.encode(id=1))
    valid(cards.card(approve_form))

    for action in ("menu", "help", "home", "request.list", "approval.queue", "quota.view"):
        for actor in (staff, approver):
            valid(cards.card(router.press(ctx, actor, action)))
    bpr = submission.new_form(ctx, staff, "bpr_application")
    valid(cards.card(bpr))


def test_the_schema_is_really_checked():
    bad = cards.card(Reply((Text("x"),)))
    bad["body"][0]["color"] = "Blue"
    assert list(VALIDATOR.iter_errors(bad))
    bad = cards.card(Reply((Buttons((Button("a", "b"),)),)))
    bad["body"][0]["actions"][0]["oops"] = 1
    assert list(VALIDATOR.iter_errors(bad))
