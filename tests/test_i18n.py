"""Every message the code names exists in both catalogs, with the same placeholders."""

import ast
import re
from pathlib import Path

import pytest

import templates
from handlers.core import forms, i18n
from handlers.core.forms import FormSpec
from storage.engagements import DEFAULT_STEPS
from storage.models import (
    AbsenceKind,
    IssueStatus,
    PlanStatus,
    RequestState,
    Role,
    SessionKind,
    SessionStatus,
    StepStatus,
)
from tests.support.message_catalog import catalog

ROOT = Path(__file__).resolve().parent.parent
KEY = re.compile(r"^[a-z_]+(\.[a-z_0-9]+)+$")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def literal_keys():
    """String literals in the code that look like message keys and are used as such."""
    keys = set()
    for path in [*ROOT.glob("handlers/**/*.py"), *ROOT.glob("bot/**/*.py")]:  # bot/desk too
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("t", "say", "event"):
                for arg in node.args:
                    if (
                        isinstance(arg, ast.Constant)
                        and isinstance(arg.value, str)
                        and KEY.match(arg.value)
                    ):
                        keys.add(arg.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                "Refused",
                "_FieldError",
                "fail",
            ):
                for arg in node.args:
                    if (
                        isinstance(arg, ast.Constant)
                        and isinstance(arg.value, str)
                        and KEY.match(arg.value)
                        and "." in arg.value
                    ):
                        keys.add(arg.value)
    for path in templates.DIR.rglob("*.j2"):
        keys |= set(re.findall(r'_\("([a-z_.]+)"', path.read_text(encoding="utf-8")))
    return keys


def dynamic_keys():
    """Keys the code builds from names: fields, hints, choices, states, phases…"""
    keys = set()
    import handlers.fieldwork.engagements as bpr
    import handlers.fieldwork.logs as logs
    import handlers.intake.decision as approval
    import handlers.intake.submission as intake
    import handlers.people.roster as roster
    import handlers.scheduling.availability as availability
    import handlers.scheduling.booking as scheduling
    import handlers.scheduling.results_meeting as results_meeting

    specs = [
        v
        for m in (approval, availability, bpr, intake, logs, results_meeting, roster, scheduling)
        for v in vars(m).values()
        if isinstance(v, FormSpec)
    ]
    specs.append(intake.spec_for("consultation", type("A", (), {"role": "prefecture"})()))
    for spec in specs:
        keys |= {spec.title, spec.submit}
        for field in spec.fields:
            keys.add(f"field.{field.name}")
            if field.hint:
                keys.add(f"hint.{field.name}")
            keys |= {f"choice.{field.name}.{c}" for c in field.choices}
    keys |= {f"state.{s.value}" for s in RequestState}
    keys |= {f"role.{r.value}" for r in Role}
    keys |= {f"choice.session_kind.{k.value}" for k in SessionKind}
    keys |= {f"step.{s.value}" for s in StepStatus}
    keys |= {f"step.updated.{s}" for s in ("done", "skipped")}
    keys |= {f"phase.{phase}" for _, phase in DEFAULT_STEPS}
    keys |= {f"kind.{k}" for k in ("consultation", "bpr_application")}
    keys |= {f"submitted.{k}" for k in ("consultation", "bpr_application")}
    keys |= {f"notice.approved.{k}" for k in ("consultation", "bpr_application")}
    keys |= {f"pace.{p}" for p in ("on_track", "ahead", "behind", "early")}
    keys |= {f"quota.{q}" for q in ("program", "plan", "expected", "projected", "pace")}
    keys |= {f"session.status.{s.value}" for s in SessionStatus}
    keys |= {f"choice.channel.{c}" for c in ("chat", "phone", "email")}
    keys |= {f"choice.topic.{c}" for c in (*intake.TOPICS, "bpr")}
    keys |= {"calendar.closed.weekend", "calendar.closed.holiday", "calendar.closed.year_end"}
    keys |= {f"plan.status.{s.value}" for s in PlanStatus}
    keys |= {f"plan.kind.{k.value}" for k in SessionKind} | {"plan.kind.reserve"}
    keys |= {f"conflict.absence.{k.value}" for k in AbsenceKind}
    keys |= {"conflict.double_booking", "conflict.travel", "conflict.outside_week"}
    for paper in ("log", "minutes"):
        keys |= {f"reminder.{paper}.{step}" for step in ("ask", "remind", "snooze", "done")}
        keys |= {f"reminder.escalation.{paper}", f"button.{paper}_now"}
    keys |= {"button.snooze_hour", "button.snooze_morning", "reminder.goal", "reminder.goal_flag"}
    keys |= {f"checkin.thanks.{s.value}" for s in IssueStatus if s != IssueStatus.OPEN}
    keys |= {f"issue.status.{s.value}" for s in IssueStatus} | {"checkin.question"}
    keys |= {
        f"digest.{k}"
        for k in (
            "title",
            "last_week",
            "missing_logs",
            "next_week",
            "decision",
            "pace",
        )
    }
    from handlers.people.menu import ENTRIES

    keys |= {label for *_, label in ENTRIES}
    from handlers.planning.planner import UNPLACED_REASONS, UNPLACED_WHATS

    keys |= {f"planner.unplaced.{w}" for w in UNPLACED_WHATS}
    keys |= {f"planner.reason.{r}" for r in UNPLACED_REASONS}
    return keys


def test_every_key_used_exists_in_japanese_and_english():
    ja, en = catalog("ja"), catalog("en")
    used = literal_keys() | dynamic_keys()
    assert len(used) > 200
    assert not sorted(used - set(ja)), "missing in ja"
    assert not sorted(used - set(en)), "missing in en"


def test_both_catalogs_have_the_same_keys_and_placeholders():
    ja, en = catalog("ja"), catalog("en")
    assert set(ja) == set(en)
    for key in ja:
        assert ja[key], f"{key} is empty in ja"
        if not key.startswith("format."):  # date formats pick different parts
            assert set(PLACEHOLDER.findall(ja[key])) == set(PLACEHOLDER.findall(en[key])), key


def test_templates_word_their_text_through_the_catalog(ctx):
    from handlers.core.actor import Actor
    from handlers.people import guidance
    from storage.models import Role

    staff = Actor(id=1, name="田中 美咲", role=Role.MUNICIPAL, municipality_id=1, department="x")
    text = guidance.show(ctx, staff).plain_text()
    assert text.startswith("田中 美咲さん(市町村職員)、DX Desk")
    assert "・個別相談を申し込む" in text and "承認待ち" not in text
    english = guidance.show(
        ctx, Actor(id=2, name="Ken", role=Role.PREFECTURE, is_approver=True, language="en")
    ).plain_text()
    assert "What you can do here:" in english and "・Waiting for approval" in english


def test_japanese_is_the_default_and_english_is_available():
    assert i18n.t("ja", "state.approved") == "承認済み"
    assert i18n.t("en", "state.approved") == "approved"
    with pytest.raises(ValueError):
        i18n.t("fr", "state.approved")


def test_no_japanese_text_in_code():
    """User-facing words live in the catalogs; only the demo's cast and story data (names,
    places, what the fictional staff type) are Japanese in code."""
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\u3000-\u303f]")
    data = {"cast.py", "scenario.py"}
    for path in [*ROOT.glob("handlers/**/*.py"), *ROOT.glob("bot/**/*.py")]:
        if path.name in data:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Docstrings and input patterns (which accept 2026年7月1日) are not user-facing text.
        docstrings = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        } | {
            id(arg)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "compile"
            for arg in node.args
        }
        for node in ast.walk(tree):
            if id(node) in docstrings:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if japanese.search(text):
                    raise AssertionError(f"{path.name}: {text!r}")


def test_form_labels_come_from_the_catalog():
    from handlers.core.context import Rules
    from handlers.intake.submission import CONSULTATION

    form = forms.build(CONSULTATION, "ja", choices={"municipality": []})
    assert [i.label for i in form.inputs][:2] == ["市町村", "所属部署"]
    assert Rules().language == "ja"
