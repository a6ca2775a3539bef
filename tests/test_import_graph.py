"""The bot package's import graph: no loops, and the scheduler knows no chat adapter.

Every import counts — at module level, inside functions, under TYPE_CHECKING — since a
loop through a function-level import is still a loop a reader has to untangle (the one
this guards against ran scheduler → Slack app → job queue → scheduler).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS = ("bot.slack", "bot.teams")


def modules(package: str, root: Path) -> dict[str, Path]:
    """Each module of `package` by dotted name (a package by its own name)."""
    found = {}
    for path in (root / package).rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def owner(name: str, known: dict[str, Path]) -> str | None:
    """The known module an imported name lives in (`bot.slack.app.SlackBot` →
    `bot.slack.app`), or None for anything outside the graph."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules `name` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            # `from bot.runtime import scheduler` imports the module bot.runtime.scheduler
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        found |= {module for target in targets if (module := owner(target, known))}
    found.discard(name)
    return found


def graph(package: str = "bot", root: Path = ROOT) -> dict[str, set[str]]:
    known = modules(package, root)
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for other in edges.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def test_the_graph_is_read_from_every_kind_of_import(tmp_path):
    """The reader sees imports inside functions, under TYPE_CHECKING and relative ones,
    and finds the loop they make (else the tests below would pass on a blind reader)."""
    package = tmp_path / "pkg"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "inner" / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.inner import b\n"
    )
    (package / "inner" / "b.py").write_text("def f():\n    from . import c\n")
    (package / "inner" / "c.py").write_text("import pkg.a.thing\nimport os\n")
    (package / "d.py").write_text("from pkg.inner.c import x\n")
    edges = graph("pkg", tmp_path)
    assert edges["pkg.a"] == {"pkg.inner.b"}
    assert edges["pkg.inner.b"] == {"pkg.inner.c"}
    assert edges["pkg.inner.c"] == {"pkg.a"}
    assert cycles(edges) == [["pkg.a", "pkg.inner.b", "pkg.inner.c"]]
    assert reachable(edges, "pkg.d") == {"pkg.inner.c", "pkg.a", "pkg.inner.b"}


def test_no_module_of_bot_imports_its_way_back_to_itself():
    edges = graph()
    assert "bot.slack.app" in edges and "bot.runtime.scheduler" in edges  # read the tree
    assert cycles(edges) == []


def test_the_scheduler_imports_no_chat_adapter_even_indirectly():
    """It runs a platform's deliver and nudge through a Protocol (scheduler.Platform):
    the Slack worker and the server both start it, so it must not import them back."""
    edges = graph()
    assert "bot.slack.app" in reachable(edges, "bot.runtime.worker")  # the reader follows
    imported = reachable(edges, "bot.runtime.scheduler")
    assert not [m for m in imported if m.startswith(ADAPTERS)]


def test_the_job_queue_does_not_import_the_worker_process_or_the_bot():
    """The queue is what the Slack bot imports; the worker process builds the bot."""
    edges = graph()
    assert not edges["bot.slack.jobs"] & {"bot.runtime.worker", "bot.slack.app"}
