"""MkDocs hook: the pages that must never drift from the code are filled from it at build
time, so a setting or a package added without its documentation still shows up on the
site (and the tests check that it does).

- `<!-- generated: settings -->` becomes the configuration reference, one row per field of
  `bot.config.Settings`: environment variable, type, default and description. A secret's
  default is never printed.
- `<!-- generated: packages -->` becomes the package map, one row per package of `bot/`,
  `handlers/`, `storage/` and `tests/support/`: the first paragraph of its `__init__`
  docstring (read with `ast`, nothing imported) and its modules.

A marker this hook does not know is an error: a typo must not leave a page silently empty.
"""

from __future__ import annotations

import ast
import html
import re
import sys
import typing
from datetime import date, time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"<!-- generated: ([a-z-]+) -->")
PACKAGE_ROOTS = ("bot", "handlers", "storage", "tests/support")
NO_DOCSTRING = "*(no docstring yet)*"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match[1]
        if name not in GENERATORS:
            raise ValueError(f"{page.file.src_path}: unknown generated block {name!r}")
        return GENERATORS[name]()

    return MARKER.sub(fill, markdown)


def settings_reference(settings: type[Any] | None = None) -> str:
    """The settings class (`bot.config.Settings` unless told) as a Markdown table, in
    declaration order."""
    if settings is None:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from bot.config import Settings as settings

    rows = [
        "| variable | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in settings.model_fields.items():
        names = env_names(name, field)
        variable = f"`{names[0]}`" + "".join(f" (or `{other}`)" for other in names[1:])
        secret = is_secret(field.annotation)
        kind = "secret" if secret else type_name(field.annotation, field.metadata)
        default = "*secret*" if secret else default_text(field.default)
        meaning = markdown_cell(field.description or "")
        rows.append(f"| {variable} | {kind} | {default} | {meaning} |")
    return "\n".join(rows)


def env_names(name: str, field: Any) -> list[str]:
    alias = field.validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        return [str(choice) for choice in choices]
    return [str(alias or name).upper()]


def is_secret(annotation: Any) -> bool:
    from pydantic import SecretStr

    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def type_name(annotation: Any, metadata: list[Any]) -> str:
    """A reader's word for the type, with its bounds (`ge`/`le`) when it has them."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    optional = len(args) < len(typing.get_args(annotation))
    if optional and len(args) == 1:
        return type_name(args[0], metadata) + ", optional"
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{arg}`" for arg in typing.get_args(annotation))
    if origin is tuple and set(typing.get_args(annotation)) == {time}:
        return "time range `HH:MM-HH:MM`"
    if origin is frozenset:
        return "CPU list"
    words = {str: "text", int: "integer", float: "number", bool: "on/off", date: "date"}
    word = words.get(annotation, getattr(annotation, "__name__", str(annotation)))
    low = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in metadata if hasattr(m, "le")), None)
    if low is not None and high is not None:
        word += f" {low}–{high}"
    return word


def default_text(value: Any) -> str:
    if value is None:
        return "—"
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple) and all(isinstance(part, time) for part in value):
        return "`" + "-".join(part.strftime("%H:%M") for part in value) + "`"
    if isinstance(value, date):
        return f"`{value.isoformat()}`"
    return f"`{value}`"


def markdown_cell(text: str) -> str:
    """Text for one table cell: no pipes, no raw HTML outside code spans."""
    parts = text.replace("|", "\\|").split("`")
    return "`".join(
        part if index % 2 else html.escape(part, quote=False) for index, part in enumerate(parts)
    )


def package_map() -> str:
    rows = ["| package | what lives there | modules |", "|---|---|---|"]
    for package in packages():
        init = package / "__init__.py"
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        summary = " ".join(docstring.split("\n\n")[0].split()) if docstring else NO_DOCSTRING
        modules = sorted(path.stem for path in package.glob("*.py") if path.name != "__init__.py")
        subpackages = sorted(
            path.name + "/" for path in package.iterdir() if (path / "__init__.py").is_file()
        )
        listed = ", ".join(f"`{name}`" for name in modules + subpackages) or "—"
        dotted = package.relative_to(ROOT).as_posix()
        rows.append(f"| `{dotted}/` | {markdown_cell(summary)} | {listed} |")
    return "\n".join(rows)


def packages() -> list[Path]:
    """Every package under the roots (the roots included), in path order."""
    found: list[Path] = []
    for root in PACKAGE_ROOTS:
        base = ROOT / root
        found += sorted(
            init.parent
            for init in base.rglob("__init__.py")
            if "__pycache__" not in init.parts and "migrations" not in init.parts
        )
    return found


GENERATORS: dict[str, typing.Callable[[], str]] = {
    "settings": settings_reference,
    "packages": package_map,
}
