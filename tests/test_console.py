"""The terminal chat, driven as a person would type."""

import io

from bot.console.chat import Console
from storage.models import Request
from tests.support.factories import count, state


def run(ctx, actor, answers):
    script = iter(answers)
    out = io.StringIO()

    def ask(prompt):
        out.write(prompt)
        try:
            return next(script)
        except StopIteration:
            raise EOFError from None

    assert Console(ctx, actor, ask, out).run() == 0
    return out.getvalue()


def menu_number(text, label, after=""):
    """The number the console offers for a button labelled exactly `label`."""
    text = text[text.index(after) :] if after else text
    for line in text.splitlines():
        if line.strip().endswith(f"] {label}") and "[" in line:
            return line.split("[")[1].split("]")[0]
    raise AssertionError(f"{label} not offered:\n{text}")


def test_staff_submit_a_request_and_fix_a_mistake(ctx, cast, staff):
    answers = [
        "1",  # 個別相談を申し込む
        "",
        "",
        "主査",
        "",  # municipality, department, title, name (defaults)
        "3",  # topic: オンライン申請
        "",  # description: empty → error shown after submit
        "",  # mode default
        "2026-07-21",  # preferred dates
        "y",
        # the form comes back with the error: fill it again
        "",
        "",
        "",
        "",
        "",
        "電子申請の進め方を相談したい",
        "",
        "",
        "",
        "y",
        "q",
    ]
    text = run(ctx, staff, answers)
    assert "「相談内容」を入力してください。" in text
    assert "受付番号は相談-2026-001です" in text
    assert count(ctx, Request) == 1
    assert "お疲れさまでした" in text


def test_approver_approves_from_the_queue(ctx, cast, staff, approver):
    from tests.support.factories import submit

    request_id = submit(ctx, staff)
    queue = menu_number(run(ctx, approver, ["q"]), "承認待ち")
    listed = run(ctx, approver, [queue, "q"])
    approve = menu_number(listed, "承認", after="承認待ち(1件)")
    text = run(ctx, approver, [queue, approve, "1", "y", "q"])  # consultant 1 = the lead
    assert "相談-2026-001を承認しました。" in text, text
    assert state(ctx, request_id) == "approved"


def test_a_bad_choice_is_explained_and_eof_ends_cleanly(ctx, cast, staff):
    text = run(ctx, staff, ["99", "abc"])
    assert text.count("その番号は選べません。") == 2
    assert "終了します" in text
