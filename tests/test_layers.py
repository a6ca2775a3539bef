"""The layers hold: `bot` → `handlers` → `storage`, never back up. Adapters (Slack, Teams,
the terminal, the desk in the browser) and everything else in `bot` reach the database only
through handlers; only what assembles the process (`ASSEMBLY`) opens it itself. Handlers
know no chat platform, storage knows neither.
Read from the source (every import statement anywhere in a module: inside functions and
`if TYPE_CHECKING:` blocks too, and `importlib.import_module("…")` with a literal name),
so a violation fails here before anyone has to notice it in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN: dict[str, frozenset[str]] = {
    "bot": frozenset({"storage"}),
    "handlers": frozenset({"slack_bolt", "slack_sdk", "microsoft_agents", "bot"}),
    "storage": frozenset({"handlers", "bot"}),
}
"""A folder of the project, and the top-level packages none of its modules may import."""

ASSEMBLY: dict[str, str] = {
    "bot/cli": "the operator's command line (migrating, the roster's import, the outbox's "
    "and the season's reports) works on the database itself: a tool, not an adapter",
    "bot/demo": "the demo builds its season straight into the database it starts with",
    "bot/runtime/wiring.py": "opens the database and hands the context to every adapter",
}
"""What assembles the process, and why it may import `storage` although it lives in `bot`
(a folder, or one module)."""

ADAPTERS = ("bot/slack", "bot/teams", "bot/console", "bot/desk")
"""Where people reach the bot: none of them may be (or sit inside) an `ASSEMBLY` entry."""


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """The dotted names `module`'s source imports, relative imports resolved: for
    `from a.b import c` both `a.b` and `a.b.c` (c may be a module or a name in it)."""
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return {name for name in names if name}


def modules_in(folder: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / folder).rglob("*.py"))


def assembles(relative: str) -> bool:
    """Whether this module (a path from the root) is, or lies in, an `ASSEMBLY` entry."""
    return any(relative == entry or relative.startswith(f"{entry}/") for entry in ASSEMBLY)


def violations(folder: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in modules_in(folder, root):
        relative = path.relative_to(root).as_posix()
        forbidden = FORBIDDEN[folder] - ({"storage"} if assembles(relative) else set())
        source = path.read_text(encoding="utf-8")
        module = module_name(path, root)
        for name in sorted(imported(source, module, is_package=path.name == "__init__.py")):
            if name.split(".")[0] in forbidden:
                found.append(f"{relative} imports {name}")
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_import_runs_against_the_layers(folder):
    assert len(modules_in(folder)) > 1, f"{folder} has moved: the rule checks nothing"
    assert violations(folder) == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_every_adapter_is_held_to_the_rule(adapter):
    """An adapter that moved, or that someone listed as assembling the process, would
    escape the rule without anyone noticing."""
    assert len(modules_in(adapter)) > 1, f"{adapter} has moved: the rule checks nothing"
    assert not any(assembles(p.relative_to(ROOT).as_posix()) for p in modules_in(adapter))


@pytest.mark.parametrize("entry", sorted(ASSEMBLY))
def test_every_exception_is_still_needed(entry):
    """An entry whose modules no longer open the database is an exception nobody needs:
    drop it, so the rule holds there too."""
    paths = [ROOT / entry] if entry.endswith(".py") else modules_in(entry)
    assert paths and all(p.exists() for p in paths), f"{entry} has moved"
    uses = {
        name.split(".")[0]
        for p in paths
        for name in imported(
            p.read_text(encoding="utf-8"), module_name(p), is_package=p.name == "__init__.py"
        )
    }
    assert "storage" in uses


def test_every_kind_of_import_is_seen():
    source = """
import storage.models
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from storage import messages
def late():
    from slack_sdk import WebClient
    import importlib
    importlib.import_module("microsoft_agents.activity")
from . import sibling
from ..core import reply
"""
    names = imported(source, "handlers.intake.decision")
    assert {
        "storage.models",
        "storage",
        "storage.messages",
        "slack_sdk.WebClient",
        "microsoft_agents.activity",
        "handlers.intake.sibling",
        "handlers.core.reply",
    } <= names
    assert imported("from . import x", "handlers.core", is_package=True) == {
        "handlers.core",
        "handlers.core.x",
    }


def test_a_violation_is_reported(tmp_path):
    """The check itself: a module that breaks a rule is named, with what it imports."""
    fake = tmp_path / "bot" / "slack"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "app.py").write_text("def f():\n    from storage import messages\n")
    assert violations("bot", tmp_path) == [
        "bot/slack/app.py imports storage",
        "bot/slack/app.py imports storage.messages",
    ]


def test_only_what_assembles_the_process_opens_the_database(tmp_path):
    """The console, the desk and the runtime beside its wiring are held to the rule; the
    CLI, the demo and the wiring are not."""
    planted = {
        "bot/console/inbox.py": "from storage import inbox as store\n",
        "bot/desk/pages.py": "from storage.models import Role\n",
        "bot/runtime/scheduler.py": "import storage.outbox\n",
        "bot/runtime/wiring.py": "from storage.db import Database\n",
        "bot/cli/commands.py": "from storage import people\n",
        "bot/demo/scenario.py": "from storage import sessions\n",
        "bot/desk/signin.py": "from handlers.desk.signin import LINK_VALID\n",
    }
    for relative, source in planted.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    assert violations("bot", tmp_path) == [
        "bot/console/inbox.py imports storage",
        "bot/console/inbox.py imports storage.inbox",
        "bot/desk/pages.py imports storage.models",
        "bot/desk/pages.py imports storage.models.Role",
        "bot/runtime/scheduler.py imports storage.outbox",
    ]
