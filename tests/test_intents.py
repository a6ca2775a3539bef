"""An intent is declared once — its name, the permissions it needs (their roles and
ownership rules in handlers.core.policy) — and checked in one place (issue #16)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from handlers import router
from handlers.core import policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.intents import intent
from handlers.core.reply import Buttons, Reply, Text
from handlers.desk import views
from handlers.fieldwork import logs
from handlers.intake import submission
from handlers.people import guidance, menu, roster
from tests.support.factories import ref, refusals, submit

ROOT = Path(__file__).resolve().parents[1]
M, P, A, C, AD = "municipal", "prefecture", "approver", "consultant", "admin"
EVERY = {M, P, C, AD}

# Who holds each permission, as it was when the checks were written by hand: a change here
# is a change of who may do what, to be made on purpose.
ROLES: dict[str, set[str]] = {
    "request.submit": {M, P, C},
    "request.submit_on_behalf": {P, C},
    "request.view": {M, P, C},
    "request.amend": {M, P, C},
    "request.answer_info": {M, P, C},
    "request.cancel": {M, A},
    "approval.queue": {P},
    "request.ask_info": {A},
    "request.approve": {A},
    "request.decline": {A},
    "bpr.apply": {M, P},
    "bpr.view": {M, P, C},
    "bpr.goal": {M, P, C},
    "bpr.step": {P, C},
    "session.book": {P, C},
    "session.view": {M, P, C},
    "session.change": {M, P},
    "session.details": {P, C},
    "slots.pick": {M, P},
    "availability.manage": {P, C},
    "plan.manage": {P},
    "checkin.answer": {M, P},
    "log.file": {C},
    "minutes.file": {C},
    "quota.view": {P, C, AD},
    "roster.manage": {AD},
    "notices.view": EVERY,
    "help.view": EVERY,
    "calendar.feed": EVERY,
    "calendar.revoke": EVERY,
    "settings.manage": EVERY,
    "report.request": {P},
    "casebook.search": EVERY,
    "case.review": {P},
    "desk.dashboard": {P, C, AD},
    "desk.calendar": EVERY,
    "desk.town": EVERY,
    "desk.audit": {P, AD},
    "desk.link": EVERY,
}

# What each intent needs, as the hand-written checks asked for it.
NEEDS: dict[str, tuple[str, ...]] = {
    "menu": (),
    "home": (),
    "invite.file": (),  # the reader's own notice only: checked against the notice
    "help": ("help.view",),
    "log.due": ("log.file",),
    "log.overdue": ("quota.view",),
    "log.form": ("log.file",),
    "log.file": ("log.file",),
    "log.attach": ("log.file", "minutes.file"),
    "minutes.form": ("minutes.file",),
    "minutes.file": ("minutes.file",),
    "reminder.snooze": ("log.file", "minutes.file"),
    "request.list": ("request.view",),
    "request.view": ("request.view",),
    "request.submit": ("request.submit",),
    "bpr.apply": ("bpr.apply",),
    "request.amend.form": ("request.amend",),
    "request.amend": ("request.amend",),
    "request.answer.form": ("request.answer_info",),
    "request.answer": ("request.answer_info",),
    "request.cancel.form": ("request.cancel",),
    "request.cancel": ("request.cancel",),
    "approval.queue": ("approval.queue",),
    "request.approve.form": ("request.approve",),
    "request.approve": ("request.approve",),
    "request.decline.form": ("request.decline",),
    "request.decline": ("request.decline",),
    "request.ask_info.form": ("request.ask_info",),
    "request.ask_info": ("request.ask_info",),
    "request.reassign.form": ("request.approve",),
    "request.reassign": ("request.approve",),
    "request.card": ("request.approve",),
    "bpr.list": ("bpr.view",),
    "bpr.view": ("bpr.view",),
    "bpr.goal.form": ("bpr.goal",),
    "bpr.goal": ("bpr.goal",),
    "bpr.step.form": ("bpr.step",),
    "bpr.step": ("bpr.step",),
    "session.list": ("session.view",),
    "session.book.form": ("session.book",),
    "session.book": ("session.book",),
    "session.move.form": ("session.change",),
    "session.move": ("session.change",),
    "session.cancel.form": ("session.change",),
    "session.cancel": ("session.change",),
    "session.details.form": ("session.details",),
    "session.details": ("session.details",),
    "slots.offer": ("slots.pick",),
    "slots.pick": ("slots.pick",),
    "availability.form": ("availability.manage",),
    "availability.set": ("availability.manage",),
    "absence.form": ("availability.manage",),
    "absence.add": ("availability.manage",),
    "absence.list": ("availability.manage",),
    "absence.remove": ("availability.manage",),
    "checkin.answer": ("checkin.answer",),
    "plan.draft": ("plan.manage",),
    "plan.view": ("plan.manage",),
    "plan.confirm": ("plan.manage",),
    "plan.discard": ("plan.manage",),
    "plan.balance": ("plan.manage", "request.approve"),
    "results.form": ("plan.manage",),
    "results.set": ("plan.manage",),
    "quota.view": ("quota.view",),
    "notices.list": ("notices.view",),
    "calendar.feed": ("calendar.feed",),
    "calendar.revoke": ("calendar.revoke",),
    "attendance.decline": ("session.view",),
    "attendance.change": ("session.view",),
    "attendance.list": ("session.view",),
    "roster.form": ("roster.manage",),
    "roster.add": ("roster.manage",),
    "roster.edit": ("roster.manage",),
    "roster.deactivate": ("roster.manage",),
    "roster.link": ("roster.manage",),
    "roster.merge": ("roster.manage",),
    "report.form": ("report.request",),
    "report.request": ("report.request",),
    "casebook.form": ("casebook.search",),
    "casebook.search": ("casebook.search",),
    "case.review": ("case.review",),
    "case.publish": ("case.review",),
    "case.withhold": ("case.review",),
    "desk.link": ("desk.link",),
    "settings.form": ("settings.manage",),
    "settings.set": ("settings.manage",),
    # the desk's pages
    "desk.dashboard": ("desk.dashboard",),
    "desk.calendar": ("desk.calendar",),
    "desk.towns": ("desk.town",),
    "desk.town": ("desk.town",),
    "desk.audit": ("desk.audit",),
    "desk.roster": ("roster.manage",),
    "desk.downloads": ("report.request",),
    "desk.session": ("desk.calendar",),
}

OWN = policy.Owner
# The ownership rules, as they were written by hand next to their refusals.
OWNERS = {
    "request.submit": OWN.TOWN,
    "bpr.apply": OWN.TOWN,
    "session.change": OWN.TOWN,
    "slots.pick": OWN.TOWN,
    "checkin.answer": OWN.TOWN,
    "desk.calendar": OWN.TOWN | OWN.SERVED,
    "desk.town": OWN.TOWN | OWN.SERVED,
    "session.details": OWN.ASSIGNED,
    "log.file": OWN.ASSIGNED,
    "minutes.file": OWN.ASSIGNED,
    "availability.manage": OWN.SELF,
    "session.view": OWN.ADDRESSEE,
    "notices.view": OWN.ADDRESSEE,
    "request.amend": OWN.TOWN | OWN.ASSIGNED | OWN.ENTERED,
    "request.answer_info": OWN.TOWN | OWN.ASSIGNED | OWN.ENTERED,
    **{
        name: OWN.TOWN | OWN.ASSIGNED
        for name in (
            "request.view",
            "request.cancel",
            "request.ask_info",
            "request.approve",
            "request.decline",
            "bpr.view",
            "bpr.goal",
            "bpr.step",
        )
    },
}


def routed() -> dict[str, list[object]]:
    found: dict[str, list[object]] = {}
    for table in (router.BUTTONS, router.FORMS, router.TARGETED_FORMS):
        for action, handler in table.items():
            found.setdefault(action, []).append(handler)
    return found


def declared_everywhere() -> dict[str, set[tuple[str, ...]]]:
    """Every intent and desk view there is, by name: what its declaration needs."""
    functions = [h for handlers in routed().values() for h in handlers]
    functions += [submission.consultation_form, submission.application_form, logs.attach_files]
    functions += [roster.edit, roster.deactivate, roster.link, roster.merge]
    functions += [
        views.dashboard,
        views.calendar_view,
        views.towns_list,
        views.town_view,
        views.audit_view,
        views.roster_view,
        views.downloads,
        views.session_view,
    ]
    found: dict[str, set[tuple[str, ...]]] = {}
    for function in functions:
        declared = policy.declaration(function)  # type: ignore[arg-type]
        found.setdefault(declared.name, set()).add(tuple(n.name for n in declared.needs))
    return found


def test_the_permission_table_is_as_it_was():
    assert {name: set(p.roles) for name, p in policy.PERMISSIONS.items()} == ROLES
    assert {n: p.owner for n, p in policy.PERMISSIONS.items() if p.owner} == OWNERS
    assert all(name == p.name for name, p in policy.PERMISSIONS.items())


def test_every_routed_action_is_an_intent_declared_under_that_name():
    for action, handlers in routed().items():
        assert len(handlers) == 1, f"{action} routed twice"
        assert policy.declaration(handlers[0]).name == action  # type: ignore[arg-type]
    assert router.REQUEST_FORM not in routed()  # pressed by its kind: press → new_form
    for form in (submission.consultation_form, submission.application_form):
        assert policy.declaration(form).name == router.REQUEST_FORM
    with pytest.raises(ValueError, match="two intents"):
        router.routes(submission.mine, submission.mine)
    with pytest.raises(AttributeError):
        router.routes(submission.new_form)  # a plain function is no intent


def test_each_intent_needs_what_was_checked_by_hand():
    found = declared_everywhere()
    assert found.pop("request.form") == {("request.submit",), ("bpr.apply",)}
    assert {name: needs.pop() for name, needs in found.items() if len(needs) == 1} == NEEDS
    open_to_all = {name for name, needs in NEEDS.items() if not needs}
    assert open_to_all == {"menu", "home", "invite.file"}


def test_every_menu_entry_presses_a_routed_intent():
    names = {policy.declaration(entry.opens).name for entry in guidance.ENTRIES}
    assert names <= set(router.BUTTONS) | {router.REQUEST_FORM}
    assert menu.ENTRIES is guidance.ENTRIES


def test_the_menu_offers_what_the_declarations_admit(ctx, cast, staff, approver):
    for actor in (staff, approver, cast["高橋 誠"]):
        reply = menu.home(ctx, actor)
        pressed = {
            b.action for block in reply.blocks if isinstance(block, Buttons) for b in block.buttons
        }
        admitted = {
            policy.declaration(entry.opens).name
            for entry in guidance.ENTRIES
            if all(actor.roles & need.roles for need in policy.declaration(entry.opens).needs)
        }
        assert pressed == admitted
    assert "approval.queue" not in {
        b.action
        for block in menu.home(ctx, staff).blocks
        if isinstance(block, Buttons)
        for b in block.buttons
    }


def _calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _source_files() -> list[Path]:
    return sorted([*(ROOT / "handlers").rglob("*.py"), *(ROOT / "bot").rglob("*.py")])


DECORATORS = {"handlers/core/intents.py", "handlers/desk/views.py"}  # where permit may run


def hand_checks(path: Path, where: str) -> list[str]:
    """Role checks written by hand in one module: `policy.require`, `policy.permit`
    outside the declaring decorators, `allowed`/`owns` asked with a name spelled out, a
    permission declared outside the policy."""
    problems = []
    for call in _calls(path):
        called = ast.unparse(call.func)
        if called.endswith("policy.require"):
            problems.append(f"{where}:{call.lineno} policy.require")
        if called.endswith("policy.permit") and where not in DECORATORS:
            problems.append(f"{where}:{call.lineno} policy.permit outside a decorator")
        if called.endswith(("policy.allowed", "policy.owns")) and any(
            isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args
        ):
            problems.append(f"{where}:{call.lineno} {called} with a name spelled out")
        if called.endswith(("Permission", "_permission")) and where != "handlers/core/policy.py":
            problems.append(f"{where}:{call.lineno} a permission declared outside policy")
    return problems


ROLE_FACTS = {"role", "roles", "is_approver", "is_admin", "is_lead"}

# Comparisons of an actor's role under handlers/ that may stay where they are, by module and
# function, each with why: they choose what to show or which facts to read, and whether to
# allow is asked of the policy. Everything else that compares a role in a function that can
# refuse is an ownership rule written by hand (`policy.owns` declares those).
CHOOSES: dict[tuple[str, str], str] = {
    ("handlers/fieldwork/checkins.py", "answer"): (
        "what to show: whether the thanks come with a request form (the town's staff ask)"
    ),
    ("handlers/scheduling/slots.py", "pick"): (
        "not ownership: how soon the town's staff may book (a scheduling limit, its own key)"
    ),
}


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _refuses(function: ast.AST) -> bool:
    """Whether a function raises `Refused` or `Invalid` itself."""
    return any(
        isinstance(node, ast.Raise)
        and node.exc is not None
        and ast.unparse(node.exc).split("(", 1)[0] in {"Refused", "Invalid"}
        for node in ast.walk(function)
    )


def _role_tests(function: ast.AST) -> list[ast.AST]:
    """Where a function asks an actor's role: in a comparison (`actor.role == …`,
    `… in actor.roles`) or as a condition (`if actor.is_admin`)."""

    def about_role(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Attribute)
            and node.attr in ROLE_FACTS
            and isinstance(node.value, ast.Name)
            and node.value.id == "actor"
        )

    found: list[ast.AST] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Compare) and any(
            about_role(operand) for operand in (node.left, *node.comparators)
        ):
            found.append(node)
        tests = []
        if isinstance(node, ast.If | ast.IfExp | ast.While | ast.Assert):
            tests.append(node.test)
        if isinstance(node, ast.BoolOp):
            tests.extend(node.values)
        if isinstance(node, ast.UnaryOp):
            tests.append(node.operand)
        found.extend(test for test in tests if about_role(test))
    return found


def role_checks(path: Path, where: str) -> list[str]:
    """Role comparisons in functions that can refuse, outside the policy and `CHOOSES`:
    an ownership rule written by hand next to its own `Refused`."""
    if where == "handlers/core/policy.py" or not where.startswith("handlers/"):
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = []
    for function in _functions(tree):
        if not _refuses(function) or (where, function.name) in CHOOSES:
            continue
        inner = {id(n) for f in _functions(function) if f is not function for n in ast.walk(f)}
        problems += [
            f"{where}:{node.lineno} {ast.unparse(node)} in {function.name}, which refuses"
            for node in _role_tests(function)
            if id(node) not in inner
        ]
    return problems


def test_no_module_checks_a_role_by_hand():
    """The role check runs in the declaring decorators only (`intent`, the desk's
    `viewed`); everywhere else asks with the intent or a permission, never a name; and an
    ownership rule is declared in the policy and asked of `policy.owns`, never written as a
    role comparison next to a refusal."""
    problems = [
        problem
        for path in _source_files()
        for problem in (
            *hand_checks(path, path.relative_to(ROOT).as_posix()),
            *role_checks(path, path.relative_to(ROOT).as_posix()),
        )
    ]
    assert not problems, problems
    assert len(_source_files()) > 50


def test_each_allowed_role_comparison_is_still_there():
    """An entry of `CHOOSES` whose comparison has gone would let a new one in unseen."""
    for (where, name), reason in CHOOSES.items():
        assert reason
        tree = ast.parse((ROOT / where).read_text(encoding="utf-8"))
        (function,) = [f for f in _functions(tree) if f.name == name]
        assert _role_tests(function) and _refuses(function), (where, name)


def test_the_scan_sees_a_check_written_by_hand(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "from handlers.core import policy\n"
        "policy.require(actor, 'request.approve')\n"
        "if policy.allowed(actor, 'request.approve'):\n"
        "    policy.permit(actor, declared)\n"
        "policy.owns(actor, policy.SLOTS_PICK, municipality_id=1)\n"
        "EXTRA = policy.Permission('x', frozenset())\n"
    )
    found = hand_checks(sneaky, "handlers/sneaky.py")
    assert sorted(p.split(" ", 1)[0] for p in found) == [
        "handlers/sneaky.py:2",
        "handlers/sneaky.py:3",
        "handlers/sneaky.py:4",
        "handlers/sneaky.py:6",
    ]


def test_the_scan_sees_an_ownership_rule_written_by_hand(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "def amend(actor, request):\n"
        "    if actor.role != Role.MUNICIPAL and request.entered_by_id != actor.id:\n"
        "        raise Refused('refusal.not_yours')\n"
        "def remove(actor, absence):\n"
        "    if 'consultant' in actor.roles and absence.person_id != actor.id:\n"
        "        raise Refused('refusal.not_allowed')\n"
        "def audit(actor):\n"
        "    if not actor.is_admin:\n"
        "        raise Invalid({})\n"
        "def shown(actor):\n"  # chooses what to show: no refusal, not flagged
        "    return 'a' if actor.role == Role.MUNICIPAL else 'b'\n"
    )
    found = role_checks(sneaky, "handlers/intake/sneaky.py")
    assert sorted(p.split(" ", 1)[0] for p in found) == [
        "handlers/intake/sneaky.py:2",
        "handlers/intake/sneaky.py:5",
        "handlers/intake/sneaky.py:8",
    ]
    assert role_checks(sneaky, "handlers/core/policy.py") == []  # where the rules live


def test_a_refused_intent_never_runs_and_is_refused_against_its_target(ctx, cast, staff):
    ran: list[str] = []

    @intent("test.decide", policy.REQUEST_APPROVE, target="request")
    def decide(ctx: Context, actor: Actor, ref_: str) -> Reply:
        ran.append(ref_)
        return Reply((Text("done"),))

    request_id = submit(ctx, staff)
    reply = decide(ctx, staff, ref(request_id))
    assert not reply.ok and reply.data["refusal"] == "refusal.not_allowed"
    assert ran == []
    (entry,) = refusals(ctx, "test.decide")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        staff.id,
        "request",
        str(request_id),
    )
    assert decide(ctx, staff, "not json").data["refusal"] == "refusal.not_allowed"
    assert refusals(ctx, "test.decide")[-1].target_id is None  # a forged payload names nothing
    assert decide(ctx, cast["阿蘇 一郎"], ref(request_id)).ok
    assert ran == [ref(request_id)]


def test_ownership_is_the_declared_rule(cast, staff):
    other = cast["松本 大輔"].municipality_id
    with pytest.raises(Refused) as refused:
        policy.owns(staff, policy.REQUEST_VIEW, municipality_id=other, target_type="request")
    assert refused.value.key == "refusal.other_municipality"
    policy.owns(staff, policy.REQUEST_VIEW, municipality_id=staff.municipality_id)
    with pytest.raises(Refused) as refused:
        policy.owns(cast["小林 健"], policy.SESSION_DETAILS, assigned=[cast["高橋 誠"].id])
    assert refused.value.key == "refusal.not_assigned"
    with pytest.raises(Refused) as refused:  # the roles still come first
        policy.owns(staff, policy.REQUEST_APPROVE, municipality_id=staff.municipality_id)
    assert refused.value.key == "refusal.not_allowed"
    with pytest.raises(TypeError, match="municipality"):  # a rule nobody declared
        policy.owns(staff, policy.SESSION_DETAILS, municipality_id=staff.municipality_id)
    with pytest.raises(TypeError, match="assigned"):
        policy.owns(staff, policy.SLOTS_PICK, assigned=[])


def test_each_ownership_rule_binds_whom_it_declares(cast, staff):
    """One rule a time, for who it binds and who it leaves free, with its refusal key."""
    consultant, prefecture = cast["小林 健"], cast["阿蘇 一郎"]
    other_town = cast["松本 大輔"].municipality_id or 0

    def refusal(actor: Actor, permission: policy.Permission, **facts: object) -> str | None:
        try:
            policy.owns(actor, permission, target_type="x", target_id=1, **facts)
        except Refused as refused:
            assert (refused.target_type, refused.target_id) == ("x", 1)
            return refused.key
        return None

    # SELF: a consultant's own diary only; the prefecture names anyone's
    assert refusal(consultant, policy.AVAILABILITY_MANAGE, person=str(consultant.id)) is None
    assert refusal(consultant, policy.AVAILABILITY_MANAGE, person=prefecture.id) == (
        "refusal.not_allowed"
    )
    assert refusal(prefecture, policy.AVAILABILITY_MANAGE, person=consultant.id) is None
    # ENTERED: the town's staff answer for their town's requests; others for what they entered
    assert refusal(staff, policy.REQUEST_AMEND, entered_by=None) is None
    assert refusal(prefecture, policy.REQUEST_AMEND, entered_by=None) == "refusal.not_yours"
    assert refusal(consultant, policy.REQUEST_ANSWER_INFO, entered_by=consultant.id) is None
    # SERVED: a consultant's towns are those they serve; the town's staff have TOWN
    served = [other_town]
    assert refusal(consultant, policy.DESK_TOWN, municipality_id=other_town, served=served) is None
    assert (
        refusal(consultant, policy.DESK_TOWN, municipality_id=other_town + 1, served=served)
        == "refusal.not_assigned"
    )
    assert refusal(staff, policy.DESK_TOWN, municipality_id=other_town, served=served) == (
        "refusal.other_municipality"
    )
    # ADDRESSEE: everyone, only what is addressed to them
    for actor in (staff, consultant, prefecture):
        assert refusal(actor, policy.NOTICES_VIEW, addressees=[actor.id]) is None
        assert refusal(actor, policy.NOTICES_VIEW, addressees=[0]) == "refusal.not_allowed"
    # the question form of the same rule, and whom each rule binds
    assert policy.holds(consultant, policy.SESSION_DETAILS, assigned=[consultant.id])
    assert not policy.holds(consultant, policy.SESSION_DETAILS, assigned=[])
    assert policy.holds(prefecture, policy.SESSION_DETAILS, assigned=[])
    assert policy.binds(staff, policy.SESSION_CHANGE, policy.Owner.TOWN)
    assert not policy.binds(prefecture, policy.SESSION_CHANGE, policy.Owner.TOWN)
    assert not policy.binds(staff, policy.SESSION_VIEW, policy.Owner.TOWN)  # not declared
    assert set(policy.BINDS) == set(policy.Owner) - {policy.Owner.NONE}
    with pytest.raises(TypeError, match="who entered"):
        policy.owns(staff, policy.REQUEST_VIEW, entered_by=staff.id)
    with pytest.raises(TypeError, match="one municipality"):
        policy.owns(consultant, policy.DESK_TOWN, served=served)
