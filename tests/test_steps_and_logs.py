"""Issue #14, items 2 and 3: a log's facts are its sessions'; a done step names the held
session(s) it was done in, and filing a BPR log can mark the next step(s) done."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from docx import Document as open_docx
from sqlmodel import select

from handlers.core import payloads
from handlers.core.context import Context
from handlers.core.reply import Upload
from handlers.documents import build, gathering
from handlers.fieldwork import engagements as bpr
from handlers.fieldwork import logs
from handlers.record import check
from storage import engagements
from storage.models import (
    EngagementStepSession,
    SupportSession,
    WorkLog,
)
from storage.rules import Broken
from tests.support import factories
from tests.support.factories import apply, approve, count
from tests.support.uto_engagement import URL, log_values, when


def step_ids(ctx, engagement_id):
    with ctx.db.transaction() as session:
        return {s.number: s.id for s in engagements.steps(session, engagement_id)}


def links(ctx):
    with ctx.db.transaction() as session:
        return {(r.step_id, r.session_id) for r in session.exec(select(EngagementStepSession))}


def statuses(ctx, engagement_id):
    with ctx.db.transaction() as session:
        return [s.status for s in engagements.steps(session, engagement_id)]


# -- logs take their facts from their sessions ------------------------------------------
def test_the_log_form_shows_each_sessions_facts_and_asks_none_of_them(ctx, uto, lead):
    form = logs.log_form(ctx, lead, payloads.encode(id=uto["visit"]))
    names = [i.name for i in form.form.inputs]
    assert "method" not in names and "place" not in names
    text = form.plain_text()
    assert "予約から記録されます" in text
    assert "訪問(宇土市役所)/担当: 高橋 誠" in text
    assert URL not in text  # only the chosen session's facts when one is chosen
    steps = next(i for i in form.form.inputs if i.name == "steps")
    assert steps.value == (str(step_ids(ctx, uto["engagement"])[1]),)  # the next step
    assert [c.label for c in steps.choices][:2] == [
        "宇土市 1回目 ヒアリング・対象部署の整理",
        "宇土市 2回目 ヒアリング・対象部署の整理",
    ]
    every = logs.log_form(ctx, lead).plain_text()  # nothing chosen: every due session
    assert "訪問(宇土市役所)" in every and f"オンライン({URL})/担当: 高橋 誠、中村 由紀" in every


def test_the_log_form_says_how_many_sessions_facts_it_does_not_show(ctx, uto, lead):
    for day in range(1, 10):  # 9 more begun sessions: 11 due in all
        factories.bpr_session(ctx, uto["engagement"], when(day, 15, month=6), [lead])
    text = logs.log_form(ctx, lead).plain_text()
    assert "ほか 1 件(すべてはデスクのページ" in text
    assert "訪問(宇土市役所)" in text and URL not in text  # the 11th, latest, left out
    chosen = logs.log_form(ctx, lead, payloads.encode(id=uto["visit"])).plain_text()
    assert "ほか" not in chosen


def test_old_callers_sending_method_and_place_are_not_refused_and_not_believed(ctx, uto, lead):
    values = log_values([uto["online"]], method="visit", place="宇土市役所")
    filed = logs.file_log(ctx, lead, values)
    assert filed.ok, filed.plain_text()
    document = build.build(ctx, "log", "html", "ja", log_ids=[filed.data["log_id"]])
    text = html_text(document.file.content)
    assert "オンライン" in text and URL in text
    assert "訪問" not in text and "宇土市役所" not in text


def test_a_batched_log_over_a_visit_and_an_online_session_says_which_was_which(ctx, uto, lead):
    filed = logs.file_log(ctx, lead, log_values([uto["visit"], uto["online"]]))
    assert filed.ok, filed.plain_text()
    built = {
        fmt: build.build(ctx, "log", fmt, "ja", log_ids=[filed.data["log_id"]])
        for fmt in ("docx", "html")
    }
    for text in (docx_text(built["docx"].file.content), html_text(built["html"].file.content)):
        assert re.search(r"令和8年7月2日 10:00 訪問\s*令和8年7月6日 10:00 オンライン", text)
        assert re.search(rf"令和8年7月2日 10:00 宇土市役所\s*令和8年7月6日 10:00 {URL}", text)
        assert "高橋 誠、中村 由紀" in text  # the consultants of its sessions


# -- steps advance from sessions ---------------------------------------------------------
def test_filing_a_bpr_log_marks_the_chosen_steps_done_in_its_session(ctx, uto, lead, approver):
    ids = step_ids(ctx, uto["engagement"])
    filed = logs.file_log(ctx, lead, log_values([uto["visit"]], steps=[str(ids[1]), str(ids[2])]))
    assert filed.ok and "工程1、2を実施済み" in filed.plain_text()
    assert links(ctx) == {(ids[1], uto["visit"]), (ids[2], uto["visit"])}  # two share one
    view = bpr.view(ctx, approver, uto["ref"])
    assert "10工程中2工程完了" in view.plain_text()
    assert "2回目 ヒアリング・対象部署の整理: 実施済み 2026年7月2日(木)" in view.plain_text()
    listed = bpr.listing(ctx, approver).plain_text()
    assert "10工程中2工程完了" in listed
    # the next log offers step 3 next
    form = logs.log_form(ctx, lead, payloads.encode(id=uto["online"])).form
    assert next(i for i in form.inputs if i.name == "steps").value == (str(ids[3]),)


def test_a_step_spanning_two_sessions_is_dated_first_to_last_in_the_plan(ctx, uto, lead):
    ids = step_ids(ctx, uto["engagement"])
    filed = logs.file_log(ctx, lead, log_values([uto["visit"], uto["online"]], steps=[str(ids[1])]))
    assert filed.ok, filed.plain_text()
    assert links(ctx) == {(ids[1], uto["visit"]), (ids[1], uto["online"])}
    built = build.build(ctx, "plan", "docx", "ja", municipality_id=municipality(ctx, uto))
    document = open_docx(io.BytesIO(built.file.content))
    rows = [[c.text for c in r.cells] for t in document.tables for r in t.rows]
    step_rows = {r[0]: r for r in rows if r[0].isdigit()}
    assert step_rows["1"][3] == "令和8年7月2日〜令和8年7月6日"
    assert step_rows["1"][4] == "実施済み"
    # 予定日: the remaining planned steps take the upcoming booked sessions in order
    assert step_rows["2"][2] == "令和8年7月13日" and step_rows["3"][2] == "令和8年7月20日"
    assert step_rows["4"][2] == "-" and step_rows["2"][3] == "-"
    assert all(step_rows[str(n)][4] == "予定" for n in range(2, 11))  # no future step done


def test_a_log_step_of_another_engagement_is_a_field_error_and_nothing_is_written(
    ctx, uto, lead, cast, approver
):
    yamaga = approve(ctx, approver, apply(ctx, cast["松本 大輔"]), [lead]).data["engagement_id"]
    visit = factories.bpr_session(ctx, yamaga, when(3), [lead])
    other_step = step_ids(ctx, yamaga)[1]
    form = logs.log_form(ctx, lead).form
    offered = {c.label for c in next(i for i in form.inputs if i.name == "steps").choices}
    assert "山鹿市 1回目 ヒアリング・対象部署の整理" in offered
    bad = logs.file_log(
        ctx, lead, log_values([uto["visit"]], steps=[str(other_step)], attendees="田中")
    )
    assert not bad.ok
    assert set(bad.data["errors"]) == {"steps", "attendees"}  # every error at once
    assert "選んだ支援のBPR伴走支援の工程ではありません" in bad.data["errors"]["steps"]
    assert bad.form.action == "log.file"
    assert count(ctx, WorkLog) == 0 and links(ctx) == set()
    with ctx.db.transaction() as session:
        assert session.get(SupportSession, uto["visit"]).status == "booked"
    assert set(statuses(ctx, yamaga)) == {"planned"}
    # filed with its own session, the same step is fine
    assert logs.file_log(ctx, lead, log_values([visit], steps=[str(other_step)])).ok


def test_the_step_form_offers_the_held_sessions_and_defaults_to_the_latest(ctx, uto, lead):
    form = bpr.step_form(ctx, lead, uto["ref"]).form
    done_in = next(i for i in form.inputs if i.name == "done_in")
    assert [c.value for c in done_in.choices] == [str(uto["visit"]), str(uto["online"])]
    assert done_in.value == (str(uto["online"]),)
    assert "done_on" not in [i.name for i in form.inputs]
    too_many = bpr.update_step(
        ctx,
        lead,
        uto["ref"],
        {"step": 1, "step_action": "done", "done_in": [str(uto["visit"]), str(uto["online"])]},
    )
    assert too_many.ok  # two is a span
    three = factories.bpr_session(ctx, uto["engagement"], when(6, 14), [lead])
    refused = bpr.update_step(
        ctx,
        lead,
        uto["ref"],
        {
            "step": 2,
            "step_action": "done",
            "done_in": [str(uto["visit"]), str(uto["online"]), str(three)],
        },
    )
    assert not refused.ok and "2件まで" in refused.data["errors"]["done_in"]
    assert statuses(ctx, uto["engagement"])[1] == "planned"


@pytest.mark.parametrize(
    ("case", "key"),
    [
        ("not_begun", "refusal.step_session_not_held"),
        ("cancelled", "refusal.step_session_not_held"),
        ("elsewhere", "refusal.step_session_elsewhere"),
        ("three", "refusal.step_sessions_count"),
        ("none", "refusal.step_sessions_count"),
        ("skipped_with_session", "refusal.step_skipped_in_session"),
        ("again", "refusal.step_not_planned"),
    ],
)
def test_every_writer_of_a_step_meets_the_same_rules(ctx, uto, lead, cast, approver, case, key):
    """`close_step` is the one writer: each broken rule is refused, nothing written."""
    yamaga = approve(ctx, approver, apply(ctx, cast["松本 大輔"]), [lead]).data["engagement_id"]
    elsewhere = factories.bpr_session(ctx, yamaga, when(3), [lead])
    with ctx.db.transaction() as session:
        session.get(SupportSession, uto["online"]).status = "cancelled"
    chosen = {
        "not_begun": [uto["next"]],
        "cancelled": [uto["online"]],
        "elsewhere": [elsewhere],
        "three": [uto["visit"], uto["next"], uto["after"]],
        "none": [],
        "skipped_with_session": [uto["visit"]],
        "again": [uto["visit"]],
    }[case]
    now = ctx.clock.now()
    if case == "again":
        with ctx.db.transaction() as session:
            step = engagements.steps(session, uto["engagement"])[0]
            engagements.close_step(session, step, "done", [uto["visit"]], now=now, by=lead.id)
    before = links(ctx)
    status = "skipped" if case == "skipped_with_session" else "done"
    with pytest.raises(Broken) as refused, ctx.db.transaction() as session:
        step = engagements.steps(session, uto["engagement"])[0]
        engagements.close_step(session, step, status, chosen, now=now, by=lead.id)
    assert refused.value.key == key
    assert links(ctx) == before
    assert statuses(ctx, uto["engagement"])[0] == ("done" if case == "again" else "planned")


def test_no_step_before_a_held_session_and_the_goal_flag_counts_held_sessions(
    ctx, cast, approver, lead
):
    selected = approve(ctx, approver, apply(ctx, cast["田中 美咲"]), [lead])
    engagement_id = selected.data["engagement_id"]
    ref = payloads.encode(id=engagement_id)
    factories.bpr_session(ctx, engagement_id, when(8), [lead])
    early = bpr.update_step(ctx, lead, ref, {"step": 1, "step_action": "done"})
    assert not early.ok and early.data["refusal"] == "refusal.step_before_sessions"
    assert factories.refusals(ctx, "bpr.step")  # audited
    assert not bpr.view(ctx, approver, ref).data["goal_overdue"]
    assert links(ctx) == set()


# -- a joint BPR session serves every engaged town in it ----------------------------------
@pytest.fixture
def joint(ctx, uto, lead, cast, approver):
    """山鹿市 (engaged too, its own visit on 7/1) shares a session with 宇土市 on 7/3,
    booked under 宇土市's engagement (as scheduling stores a joint session)."""
    yamaga = approve(ctx, approver, apply(ctx, cast["松本 大輔"]), [lead]).data["engagement_id"]
    with ctx.db.transaction() as session:
        towns = [engagements.get(session, e).municipality_id for e in (uto["engagement"], yamaga)]
    own = factories.bpr_session(ctx, yamaga, when(1), [lead])
    shared = factories.bpr_session(ctx, uto["engagement"], when(3), [lead], municipality_ids=towns)
    return {"yamaga": yamaga, "ref": payloads.encode(id=yamaga), "own": own, "shared": shared}


def test_the_second_town_of_a_joint_session_marks_a_step_done_in_it(ctx, uto, joint, lead):
    form = bpr.step_form(ctx, lead, joint["ref"]).form
    done_in = next(i for i in form.inputs if i.name == "done_in")
    assert [c.value for c in done_in.choices] == [str(joint["own"]), str(joint["shared"])]
    assert done_in.value == (str(joint["shared"]),)  # the latest held one
    assert bpr.view(ctx, lead, joint["ref"]).data["goal_overdue"]  # 2 held: own + joint
    step = {"step": 1, "step_action": "done", "done_in": [str(joint["shared"])]}
    done = bpr.update_step(ctx, lead, joint["ref"], step)
    assert done.ok, done.plain_text()
    yamaga_steps = step_ids(ctx, joint["yamaga"])
    assert links(ctx) == {(yamaga_steps[1], joint["shared"])}
    # 宇土市's own visit is still not 山鹿市's
    with pytest.raises(Broken) as refused, ctx.db.transaction() as session:
        second = engagements.steps(session, joint["yamaga"])[1]
        now = ctx.clock.now()
        engagements.close_step(session, second, "done", [uto["visit"]], now=now, by=lead.id)
    assert refused.value.key == "refusal.step_session_elsewhere"
    assert found_steps(ctx) == []


def test_filing_the_log_of_a_joint_session_marks_each_towns_step(ctx, uto, joint, lead):
    form = logs.log_form(ctx, lead, payloads.encode(id=joint["shared"])).form
    steps = next(i for i in form.inputs if i.name == "steps")
    uto_steps, yamaga_steps = step_ids(ctx, uto["engagement"]), step_ids(ctx, joint["yamaga"])
    assert steps.value == (str(uto_steps[1]), str(yamaga_steps[1]))  # each town's next one
    labels = {c.label for c in steps.choices}
    assert {
        "宇土市 1回目 ヒアリング・対象部署の整理",
        "山鹿市 1回目 ヒアリング・対象部署の整理",
    } <= labels
    filed = logs.file_log(ctx, lead, log_values([joint["shared"]], steps=list(steps.value)))
    assert filed.ok, filed.plain_text()
    assert links(ctx) == {(uto_steps[1], joint["shared"]), (yamaga_steps[1], joint["shared"])}
    assert statuses(ctx, joint["yamaga"])[0] == "done"
    # a log of 山鹿市's own visit cannot mark 宇土市's step
    bad = logs.file_log(ctx, lead, log_values([joint["own"]], steps=[str(uto_steps[2])]))
    assert not bad.ok and "steps" in bad.data["errors"]
    assert found_steps(ctx) == []


def test_the_check_accepts_a_step_done_in_a_joint_session_and_no_other_towns(ctx, uto, joint):
    with ctx.db.transaction() as session:
        first = engagements.steps(session, joint["yamaga"])[0]
        first.status = "done"
        session.add(EngagementStepSession(step_id=first.id, session_id=joint["shared"]))
    assert found_steps(ctx) == []
    with ctx.db.transaction() as session:
        second = engagements.steps(session, joint["yamaga"])[1]
        second.status = "done"
        session.add(EngagementStepSession(step_id=second.id, session_id=uto["visit"]))
    assert [f.key for f in check.findings(ctx) if f.rule == "steps"] == ["check.steps.bad_session"]


def found_steps(ctx):
    return [f.text("ja") for f in check.findings(ctx) if f.rule == "steps"]


# -- files reach the attachment directory only once every rule has passed ------------------
def test_a_filing_refused_by_a_step_rule_writes_no_file(ctx, uto, lead, tmp_path, monkeypatch):
    """Another writer closes the step between the form's check and `close_step`: the
    refusal leaves neither a log nor a file in the attachment directory."""
    folder = tmp_path / "files"
    stored = Context(ctx.db, ctx.clock, dataclasses.replace(ctx.rules, attachment_dir=str(folder)))
    real = engagements.close_step

    def raced(session, step, *args, **kwargs):
        session.connection().exec_driver_sql(
            f"UPDATE engagement_step SET status = 'done' WHERE id = {step.id}"
        )
        return real(session, step, *args, **kwargs)

    monkeypatch.setattr(engagements, "close_step", raced)
    first = step_ids(ctx, uto["engagement"])[1]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    values = log_values([uto["visit"]], steps=[str(first)], files=[Upload("図.png", png, len(png))])
    refused = logs.file_log(stored, lead, values)
    assert not refused.ok and refused.data["refusal"] == "refusal.step_not_planned"
    assert count(ctx, WorkLog) == 0
    assert not folder.exists() or not any(folder.rglob("*"))
    monkeypatch.setattr(engagements, "close_step", real)
    filed = logs.file_log(stored, lead, values)  # the same filing, unraced: the file is kept
    assert filed.ok, filed.plain_text()
    assert len([p for p in folder.rglob("*") if p.is_file()]) == 1


def test_refusal_keys_of_the_step_rules_are_in_both_catalogs():
    """The step rules are worded from storage (`Broken`), outside the catalog scan."""
    from tests.support.message_catalog import catalog

    source = (factories.__file__.rsplit("/tests/", 1)[0]) + "/storage/engagements.py"
    with open(source, encoding="utf-8") as f:
        keys = set(re.findall(r'"(refusal\.step_[a-z_]+)"', f.read()))
    assert len(keys) == 6
    for language in ("ja", "en"):
        assert keys <= set(catalog(language)), language


# -- helpers -------------------------------------------------------------------------------
def municipality(ctx, uto):
    with ctx.db.transaction() as session:
        return engagements.get(session, uto["engagement"]).municipality_id


def docx_text(content: bytes) -> str:
    document = open_docx(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def html_text(content: bytes) -> str:
    body = content.decode("utf-8").split("</style>", 1)[1]
    return re.sub(r"<[^>]+>", "\n", body).replace("&amp;", "&")


def test_the_second_towns_plan_dates_its_next_step_by_the_joint_session(ctx, uto, joint):
    """Its 支援計画書 plans by the joint session too, not only the town it was booked
    under: on 7/2 山鹿市's first step is due in the joint session of 7/3."""
    ctx.clock.set(when(2, 12))
    with ctx.db.transaction() as session:
        town = engagements.get(session, joint["yamaga"]).municipality_id
        (plan,) = gathering.gather_plans(session, town, now=ctx.clock.now())
    assert plan.steps[0].planned == when(3).date()
