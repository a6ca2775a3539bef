"""Bad input: a Japanese message naming the field, and nothing written."""

import pytest

from handlers.intake import submission
from storage.models import AuditEntry, Notification, NumberCounter, Request
from tests.support import factories
from tests.support.factories import consultation, count


def assert_nothing_written(ctx, audits_before):
    assert count(ctx, Request) == 0
    assert count(ctx, NumberCounter) == 0
    assert count(ctx, Notification) == 0
    assert count(ctx, AuditEntry) == audits_before


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("description", "", "「相談内容」を入力してください。"),
        ("description", "   ", "「相談内容」を入力してください。"),
        ("requester_name", "", "「氏名」を入力してください。"),
        ("description", "あ" * 2001, "「相談内容」は2000文字以内"),
        ("department", "課" * 101, "「所属部署」は100文字以内"),
        ("municipality", "9999", "「市町村」の「9999」は選択肢にありません"),
        ("municipality", "東京都", "「市町村」の「東京都」は選択肢にありません"),
        ("topic", "宇宙開発", "「相談分野」の「宇宙開発」は選択肢にありません"),
        ("preferred_dates", "2026-06-30", "「希望日」の2026年6月30日(火)は過去の日付です"),
        ("preferred_dates", "2027-04-01", "委託期間(2026年6月1日(月)〜2027年3月31日(水))の外"),
        ("preferred_dates", "2026-05-01", "過去の日付"),
        ("preferred_dates", "2026-02-30", "日付として読めません"),
        ("preferred_dates", "来週", "日付として読めません"),
        ("preferred_dates", "2026-11-23", "祝日のため選べません"),
        ("preferred_dates", "2026-12-29", "年末年始の閉庁日"),
        ("preferred_dates", "2026-07-18", "土日のため選べません"),
        (
            "preferred_dates",
            "2026-07-01,2026-07-02,2026-07-03,2026-07-06,2026-07-07,2026-07-08",
            "5件まで",
        ),
        ("preferred_dates", "", "「希望日」を入力してください。"),
    ],
)
def test_each_bad_field_is_named_and_nothing_is_saved(ctx, cast, staff, field, value, expected):
    before = count(ctx, AuditEntry)
    reply = submission.submit(ctx, staff, consultation(staff, **{field: value}))
    assert not reply.ok
    assert expected in reply.plain_text()
    assert "何も保存していません" in reply.plain_text()
    assert field in reply.data["errors"]
    form = reply.form
    assert form is not None and next(i for i in form.inputs if i.name == field).error
    assert_nothing_written(ctx, before)


def test_several_errors_at_once_and_the_typed_values_come_back(ctx, cast, staff):
    values = consultation(staff, description="", topic="x", requester_title="長" * 500)
    reply = submission.submit(ctx, staff, values)
    assert set(reply.data["errors"]) == {"description", "topic", "requester_title"}
    form = reply.form
    assert next(i for i in form.inputs if i.name == "requester_name").value == staff.name


def test_english_messages_name_the_field_too(ctx, cast, staff):
    from dataclasses import replace

    english = replace(staff, language="en")
    reply = submission.submit(ctx, english, consultation(staff, description=""))
    assert '"Description" is required.' in reply.plain_text()


def test_missing_or_odd_types_do_not_crash(ctx, cast, staff):
    audits = count(ctx, AuditEntry)
    for values in (
        {},
        {"municipality": ["1", "2"]},
        {"preferred_dates": 12345},
        {"description": None},
    ):
        reply = submission.submit(ctx, staff, values)
        assert not reply.ok
        assert "参照番号" not in reply.plain_text()
    assert_nothing_written(ctx, audits)


def test_a_valid_request_is_numbered_readably(ctx, cast, staff):
    first = submission.submit(ctx, staff, consultation(staff))
    second = submission.submit(ctx, staff, consultation(staff))
    application = submission.apply_bpr(ctx, staff, factories.application(staff))
    assert [first.data["number"], second.data["number"], application.data["number"]] == [
        "相談-2026-001",
        "相談-2026-002",
        "BPR-2026-001",
    ]
    assert "相談-2026-001" in first.plain_text()
