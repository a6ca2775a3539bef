"""Issue #15: one escaping rule per output format, input normalised at the edge.

The corpus (tests/support/hostile_strings.py) goes in through real intents (a request
description, a decline reason, a question, a log summary) and comes out through every
renderer: Slack blocks and the message `text`, Teams cards, the terminal, e-mail and
iCalendar, the HTML document. What each platform would receive must show the text as
typed and nothing more: no mention, ping, link or markup, no control character.
"""

from __future__ import annotations

import email
import json
import re
import xml.etree.ElementTree as ElementTree
from datetime import UTC, date, datetime
from email import policy
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import icalendar
import pytest
from docx import Document as new_docx

from bot.console.render import render
from bot.delivery import mail as mail_out
from bot.slack import blocks
from bot.teams import cards
from handlers.core import forms
from handlers.core.errors import Invalid
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.reply import Field, Fields, Reply, Text
from handlers.core.text_rules import (
    clean_long_text,
    forbidden_in_line,
    normalise_number_text,
    printable,
    printable_line,
)
from handlers.documents import build
from handlers.fieldwork import logs
from handlers.intake import approval_card, decision, submission
from handlers.notifications import notices
from handlers.scheduling import invites
from storage import people
from storage.models import Request, WorkLog
from tests.support.card_schema import valid
from tests.support.factories import consultation, ref, state
from tests.support.hostile_strings import CORPUS, INVISIBLE, NEVER_OUTPUT
from tests.support.slack_app import CHANNEL, blocks_text, consultation_values
from tests.support.slack_app import text as slack_input
from tests.support.teams_app import CHANNEL as TEAMS_CHANNEL
from tests.support.teams_app import DM_TANAKA, KEN, TANAKA
from tests.support.uto_engagement import log_values

# Everything a renderer must neutralise, in one description (within its 2000 characters).
MARKUP = "\n".join(
    CORPUS[name]
    for name in (
        "slack_mentions",
        "slack_link",
        "slack_broadcast_words",
        "slack_markup",
        "slack_date_trick",
        "teams_link",
        "teams_lists",
        "teams_functions",
        "html_script",
        "vertical_tab",
        "nul",
        "bidi_override",
    )
)
USER_MARKUP = ("*至急*", "_重要_", "~取消~", "`code`", "```")
TEAMS_LINK = re.compile(r"\[[^\]\n]*\]\(")
TEAMS_LINE_MARK = re.compile(r"^[ \t]*(?:[-*+#>]|\d+\.)(?:[ \t]|$)", re.MULTILINE)


# -- what each platform would show ---------------------------------------------------------


def slack_mrkdwn(payload: Any) -> list[str]:
    """Every string Slack parses as mrkdwn in a payload: the message `text` and each
    mrkdwn text object (plain_text objects are shown literally by Slack)."""
    found: list[str] = []
    if isinstance(payload, dict):
        if payload.get("type") == "mrkdwn" or (
            "blocks" in payload and isinstance(payload.get("text"), str)
        ):
            found.append(payload["text"])
        for key, value in payload.items():
            if key != "text" or isinstance(value, dict | list):
                found += slack_mrkdwn(value)
    elif isinstance(payload, list):
        for value in payload:
            found += slack_mrkdwn(value)
    return found


def assert_slack_inert(texts: list[str]) -> None:
    assert texts
    for text in texts:
        assert "<" not in text and ">" not in text, text  # no <!channel>, <@U…>, <url|…>
        assert not any(mark in text for mark in USER_MARKUP), text
        assert not re.search(r"^\s*&gt;", text, re.MULTILINE), text  # no quote
        assert not re.search(r"(?<!\uff20)@(channel|here|everyone)\b", text), text


def teams_markdown(card: Any) -> list[str]:
    """Every string a Teams card renders as markdown: TextBlocks and facts."""
    found: list[str] = []
    if isinstance(card, dict):
        if card.get("type") == "TextBlock":
            found.append(card["text"])
        if card.get("type") == "FactSet":
            found += [part for fact in card["facts"] for part in (fact["title"], fact["value"])]
        for value in card.values():
            found += teams_markdown(value)
    elif isinstance(card, list):
        for value in card:
            found += teams_markdown(value)
    return found


def assert_teams_inert(texts: list[str]) -> None:
    assert texts
    for text in texts:
        assert not TEAMS_LINK.search(text), text
        assert "**" not in text and "{{" not in text, text
        assert not TEAMS_LINE_MARK.search(text), text


def assert_printable(rendered: Any) -> None:
    """Nothing unprintable, and encodable as UTF-8 (a lone surrogate is not)."""
    serialised = json.dumps(rendered, ensure_ascii=False)
    serialised.encode("utf-8")
    for char in NEVER_OUTPUT:
        assert char not in serialised, repr(char)
    for raw in ("\\u0000", "\\u000b", "\\u000c", "\\u001b", "\\ud800"):
        assert raw not in serialised, raw


def every_renderer(reply: Reply) -> str:
    """Render `reply` for Slack, Teams and the terminal, check each, and return what the
    Slack message text says (for the caller's own checks)."""
    slack_payload = {"text": blocks.fallback_text(reply), "blocks": blocks.message_blocks(reply)}
    assert_slack_inert(slack_mrkdwn(slack_payload))
    assert_printable(slack_payload)
    card = valid(cards.card(reply))
    assert_teams_inert(teams_markdown(card))
    assert_printable(card)
    terminal = render(reply, "ja").text
    assert_printable(terminal)
    assert "\u202e" not in terminal and "\r" not in terminal
    return slack_payload["text"]


# -- the corpus through a real intent, out through every message renderer -----------------


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_hostile_description_reaches_every_renderer_as_plain_text(
    ctx, cast, staff, approver, name
):
    hostile = CORPUS[name]
    reply = submission.submit(ctx, staff, consultation(staff, description=hostile))
    every_renderer(reply)
    if name == "very_long":  # over the field's 2000 characters: the form comes back
        assert not reply.ok and "description" in reply.data["errors"]
        return
    assert reply.ok, reply.plain_text()
    request_id = int(reply.data["request_id"])
    with ctx.db.transaction() as session:
        stored = session.get(Request, request_id).description
    assert stored == clean_long_text(hostile).strip()  # the same on SQLite and PostgreSQL
    card = approval_card.staff_card(ctx, approver, ref(request_id))
    shown = every_renderer(card)
    assert "相談-2026-001" in shown
    if name == "slack_mentions":
        assert "&lt;!channel&gt; &lt;!here&gt;" in shown and "&lt;@U0123ABC&gt;" in shown
    if name == "teams_link":
        texts = teams_markdown(cards.card(card))
        assert any("\uff3bここ\uff3d(https://evil.example) \uff0a\uff0a至急" in t for t in texts)


def test_a_decline_reason_and_a_question_reach_the_requester_inert(ctx, cast, staff, approver):
    request_id = int(submission.submit(ctx, staff, consultation(staff)).data["request_id"])
    asked = decision.ask_info(ctx, approver, ref(request_id), {"question": MARKUP})
    assert asked.ok, asked.plain_text()
    every_renderer(asked)
    declined = decision.decline(ctx, approver, ref(request_id), {"reason": MARKUP})
    assert declined.ok, declined.plain_text()
    every_renderer(declined)
    assert state(ctx, request_id) == "declined"
    every_renderer(approval_card.staff_card(ctx, approver, ref(request_id)))
    with ctx.db.transaction() as session:
        for who in (staff, approver):
            people.link_identity(session, who.id, "slack", f"U{who.id}")
    sent = notices.claim(ctx, "slack")
    assert sent
    for out in sent:
        every_renderer(out.reply)


def test_a_log_summary_is_stored_clean_and_escaped_in_the_html_document(ctx, uto, lead):
    filed = logs.file_log(ctx, lead, log_values([uto["visit"]], summary=MARKUP))
    assert filed.ok, filed.plain_text()
    with ctx.db.transaction() as session:
        summary = session.get(WorkLog, filed.data["log_id"]).summary
    assert "\x0b" not in summary and "\x00" not in summary and "\u202e" not in summary
    html = build.build(ctx, "log", "html", "ja", log_ids=[filed.data["log_id"]]).file.content
    page = html.decode("utf-8")
    assert "<script>" not in page and "<img src=x" not in page  # Jinja's autoescape
    assert "&lt;script&gt;" in page
    docx = build.build(ctx, "log", "docx", "ja", log_ids=[filed.data["log_id"]])
    assert docx.file.content[:2] == b"PK"


# -- the platforms, end to end: what the Web API and the Bot Connector receive -----------


def capture(app: Any) -> list[dict[str, Any]]:
    """The messages sent so far (then forgotten, so the next modal is the one opened)."""
    methods = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
    sent = [c.params for c in app.fake.calls if c.method in methods]
    app.fake.reset()
    return sent


def test_slack_receives_no_live_mention_link_or_markup_anywhere(slack, ctx):
    slack.fake.reset()
    assert slack.command("U_TANAKA").status_code == 200
    values = {**consultation_values(slack, ctx), "description": slack_input(MARKUP)}
    assert slack.submit("U_TANAKA", slack.opened_view(), values).status_code == 200
    posts = slack.fake.wait_for("chat.postMessage", count=2)
    card = next(c for c in posts if c.params["channel"] == CHANNEL)
    assert "&lt;!channel&gt;" in card.params["text"]
    slack.bot.jobs.drain()
    sent = capture(slack)
    slack.click("U_KEN", "request.ask_info.form", ref(1))
    slack.submit("U_KEN", slack.opened_view(), {"question": slack_input(MARKUP)})
    slack.until("chat.postMessage", lambda c: bool(c.params.get("thread_ts")))
    slack.bot.jobs.drain()
    sent += capture(slack)
    slack.click("U_KEN", "request.decline.form", ref(1))
    slack.submit("U_KEN", slack.opened_view(), {"reason": slack_input(MARKUP)})
    slack.fake.wait_for("chat.update")
    slack.until(
        "chat.postMessage",
        lambda c: c.params["channel"] == "U_TANAKA" and "理由:" in blocks_text(c),
    )
    slack.bot.jobs.drain()
    sent += capture(slack)
    assert len(sent) >= 6
    for params in sent:
        assert_slack_inert(slack_mrkdwn({**params, "blocks": params.get("blocks") or []}))
        assert_printable(params)


def test_teams_cards_show_no_live_link_bold_or_list(teams, ctx, staff):
    data = {"action": "request.submit", "context": "", **consultation(staff, description=MARKUP)}
    answer = teams.click(TANAKA, data, DM_TANAKA)
    assert_teams_inert(teams_markdown(answer["value"]))
    posted = teams.fake.wait_for(
        lambda c: c.path == f"/v3/conversations/{TEAMS_CHANNEL}/activities"
    )
    for card in posted.cards:
        assert_teams_inert(teams_markdown(valid(card)))
    view = teams.click(KEN, posted.cards[0]["refresh"]["action"]["data"], TEAMS_CHANNEL)["value"]
    assert "\uff3bここ\uff3d" in json.dumps(view, ensure_ascii=False)
    assert_teams_inert(teams_markdown(view))
    assert_printable(view)


# -- e-mail and iCalendar: built, then parsed back -------------------------------------------


def invite_data(hostile: str) -> invites.InviteData:
    start = datetime(2026, 7, 15, 1, tzinfo=UTC)
    return invites.InviteData(
        uid="hostile@dxdesk",
        sequence=0,
        status="CONFIRMED",
        kind="consultation",
        starts_at=start,
        ends_at=start.replace(hour=2),
        summary=hostile,
        description=hostile,
        location=hostile,
        meeting_url="https://meet.example.jp/x" + hostile[:40],
        organizer=invites.Party("DX Desk", "desk@example.jp"),
        attendees=(invites.Party(hostile[:200], "tanaka@example.jp"),),
    )


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_an_invite_and_its_mail_parse_back_to_the_printable_text(name):
    hostile = CORPUS[name]
    ics = invites.build_invite(invite_data(hostile), "REQUEST", datetime(2026, 7, 1, tzinfo=UTC))
    (event,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["summary"]) == printable(hostile)
    assert str(event["description"]) == printable(hostile)
    assert str(event["location"]) == printable(hostile)
    assert event["attendee"].params["CN"] == printable_line(hostile[:200])
    assert str(event["url"]).startswith("https://meet.example.jp/x")
    for char in NEVER_OUTPUT:
        assert char.encode("utf-8", "surrogatepass") not in ics

    sent = notices.Mail(
        notification_id=1,
        to_name=hostile[:100],
        to_email="tanaka@example.jp",
        subject=hostile[:200],
        body=hostile,
        ics=ics,
        method="REQUEST",
        lease_until=datetime(2026, 7, 1, tzinfo=UTC),
    )
    raw = mail_out.message(sent, "desk@example.jp").as_bytes()
    back = email.message_from_bytes(raw, policy=policy.default)
    assert " ".join(str(back["Subject"]).split()) == " ".join(printable_line(hostile[:200]).split())
    body = back.get_body(("plain",)).get_content()
    assert body.rstrip("\n") == printable(hostile).rstrip("\n")  # set_content ends a line
    attached = next(p for p in back.walk() if p.get_content_type() == "text/calendar")
    assert attached.get_content() == ics.decode("utf-8")


# -- documents: printable text is XML 1.0 and Word text -------------------------------------


UNPRINTABLE = sorted(n for n, s in CORPUS.items() if any(c in s for c in NEVER_OUTPUT))


@pytest.mark.parametrize("name", UNPRINTABLE)
def test_unprintable_text_is_what_breaks_a_word_document(name):
    with pytest.raises(ValueError):  # the traceback of issue #15, item 3
        new_docx().add_paragraph(CORPUS[name])


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_printable_text_is_valid_xml_and_word_text(name):
    text = printable(CORPUS[name])
    ElementTree.fromstring(f"<p>{xml_escape(text)}</p>".encode())
    new_docx().add_paragraph(text)
    for char in NEVER_OUTPUT:
        assert char not in text


def test_printable_keeps_what_people_wrote():
    assert printable("取組目標\x0b二行目\x0c三行目") == "取組目標\n二行目\n三行目"
    assert printable("一\r\n二\r三\t四") == "一\n二\n三\t四"
    assert printable("説明\x00の\ud800途中\x1b") == "説明の途中"
    assert printable(CORPUS["emoji_zwj"]) == CORPUS["emoji_zwj"]
    assert printable(CORPUS["sql_ish"]) == CORPUS["sql_ish"]
    assert printable("") == ""
    assert printable_line("一\n二\x0b三") == "一 二 三"


# -- input at the edge ---------------------------------------------------------------------

EDGE = FormSpec(
    "test.edge",
    "form.test",
    (
        FieldSpec("date", "date"),
        FieldSpec("start", "time"),
        FieldSpec("participants", "number", minimum=1, maximum=5000),
        FieldSpec("requester_name"),
        FieldSpec("description", "textarea", max_length=2000),
    ),
)
GOOD = {
    "date": "2026-07-15",
    "start": "10:00",
    "participants": "12",
    "requester_name": "田中 美咲",
    "description": "相談",
}


def edge(ctx, **values: str) -> dict[str, Any]:
    return forms.validate(EDGE, "ja", {**GOOD, **values}, today=date(2026, 7, 1), rules=ctx.rules)


@pytest.mark.parametrize(
    "typed",
    [
        "２０２６－０７－１５",
        "２０２６／７／１５",
        "２０２６年７月１５日",
        "2026ー07ー15",
        "2026−07−15",
    ],
)
def test_full_width_dates_are_read(ctx, typed):
    assert edge(ctx, date=typed)["date"] == date(2026, 7, 15)


def test_full_width_times_numbers_and_date_lists_are_read(ctx, staff):
    clean = edge(ctx, start="１０：００", participants="１，２００")
    assert clean["start"].hour == 10 and clean["participants"] == 1200
    values = consultation(staff, preferred_dates="２０２６－０７－１５，２０２６／７／１６")
    assert submission.submit(ctx, staff, values).ok


@pytest.mark.parametrize("name", (*INVISIBLE, "carriage_return", "escape_sequence"))
def test_a_single_line_field_refuses_invisible_characters_with_a_field_error(ctx, staff, name):
    with pytest.raises(Invalid) as refused:
        edge(ctx, requester_name="田中" + CORPUS[name])
    assert set(refused.value.errors) == {"requester_name"}
    assert "使えない文字(U+" in refused.value.errors["requester_name"]
    reply = submission.submit(ctx, staff, consultation(staff, department="市民課" + CORPUS[name]))
    assert not reply.ok and set(reply.data["errors"]) == {"department"}
    every_renderer(reply)


def test_a_single_line_field_takes_names_emoji_and_full_width_as_typed(ctx):
    for typed in ("田中 美咲", CORPUS["emoji_zwj"], CORPUS["full_width"], "O'Brien"):
        assert edge(ctx, requester_name=typed)["requester_name"] == typed


def test_long_text_is_stripped_of_invisible_characters_keeping_lines_and_tabs(ctx):
    typed = "一行目\r\n\t二行目\x0b三\u200b行\u202e目\x00\ud800\n" + CORPUS["emoji_zwj"]
    clean = edge(ctx, description=typed)["description"]
    assert clean == "一行目\n\t二行目\n三行目\n" + CORPUS["emoji_zwj"]


def test_the_character_rules():
    assert forbidden_in_line("a\u202eb") == "U+202E"
    assert forbidden_in_line("a\u200db") == "U+200D"  # a ZWJ outside an emoji
    assert forbidden_in_line(CORPUS["emoji_zwj"]) is None
    assert forbidden_in_line("\U000e0067") == "U+E0067"  # a tag outside a flag
    assert normalise_number_text("　１０：３０　") == "10:30"
    assert clean_long_text("\U000e0067x") == "x"


# -- a web address is shown as typed --------------------------------------------------------

ADDRESS = "https://desk.example.jp/calendar/_Ab-_c~d_.ics?x=1&y=_2"


def test_a_web_address_keeps_its_marks_where_the_text_around_it_is_made_inert():
    """A calendar feed token may start with _ or hold -_; an escape that made those
    full-width sent everyone who pasted the address to a page that does not exist."""
    reply = Reply((Text(f"購読URL: {ADDRESS} *至急* _重要_"), Fields((Field("URL", ADDRESS),))))
    slack_text = every_renderer(reply)
    assert ADDRESS.replace("&", "&amp;") in slack_text
    slack_fields = json.dumps(blocks.message_blocks(reply), ensure_ascii=False)
    assert slack_fields.count(ADDRESS.replace("&", "&amp;")) == 2
    card = json.dumps(cards.card(reply), ensure_ascii=False)
    assert card.count(ADDRESS) == 2 and "*至急*" not in card
    assert ADDRESS in render(reply, "ja").text


@pytest.mark.parametrize(
    "typed",
    (
        "<https://evil.example/_x_|ここ> <!channel>",
        "[ここ](https://evil.example/a_b) **至急**",
        "https://evil.example/*至急*  `code` https://evil.example/{{DATE(x)}}",
    ),
)
def test_an_address_in_hostile_text_carries_no_markup_out_with_it(typed):
    every_renderer(Reply((Text(typed),)))
