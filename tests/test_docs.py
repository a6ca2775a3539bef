"""The documentation site under docs/ stays whole and true to the code: it builds with
`--strict` (a broken link, a missing page or anchor fails), its configuration reference
lists every setting the code reads and never a secret, its package map every package,
and the README keeps the quick start while pointing into the site."""

from __future__ import annotations

import ast
import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
QUICK_START = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install . && python -m bot demo",
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest",
)


def hook() -> ModuleType:
    path = ROOT / "docs" / "hooks" / "generated.py"
    spec = importlib.util.spec_from_file_location("docs_generated", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as CI builds it (`mkdocs build --strict`), once for this module."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def page_text(site: Path, page: str) -> str:
    """A built page's text, tags stripped and entities decoded."""
    raw = (site / page / "index.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def test_the_site_builds_strictly_with_every_page(site: Path):
    for page in ("guides/municipal", "guides/prefecture", "guides/consultant", "guides/admin"):
        assert (site / page / "index.html").is_file(), page
    for page in ("setup/slack", "setup/teams", "operations", "development"):
        assert (site / page / "index.html").is_file(), page
    assert "市町村職員" in page_text(site, "guides/municipal")


def test_every_setting_is_on_the_configuration_page(site: Path):
    text = page_text(site, "configuration")
    for name, field in Settings.model_fields.items():
        variables = getattr(field.validation_alias, "choices", None) or [name.upper()]
        for variable in variables:
            assert variable in text, f"{name}: {variable} missing from the configuration page"
        assert field.description, f"{name} needs Field(description=...) for the reference"
        words = re.sub(r"`", "", field.description).split()[:5]
        assert " ".join(words) in text, f"{name}: its description is not on the page"


def test_the_reference_never_prints_a_secret():
    class Secretive(BaseSettings):
        token: SecretStr = Field(
            default=SecretStr("xoxb-never-print-me"),
            description="A token.",
            validation_alias=AliasChoices("SOME_TOKEN"),
        )
        smtp: SecretStr | None = Field(
            default=None, description="A URL with a password.", validation_alias="SOME_URL"
        )
        port: int = Field(default=3000, ge=1, le=65535, description="A port.")

    table = hook().settings_reference(Secretive)
    assert "never-print-me" not in table
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    assert set(rows) == {"`SOME_TOKEN`", "`SOME_URL`", "`PORT`"}
    assert "*secret*" in rows["`SOME_TOKEN`"] and "*secret*" in rows["`SOME_URL`"]
    assert "`3000`" in rows["`PORT`"] and "1–65535" in rows["`PORT`"]


def test_every_package_is_on_the_package_map(site: Path):
    text = page_text(site, "architecture")
    module = hook()
    packages = module.packages()
    assert ROOT / "handlers" / "scheduling" in packages and ROOT / "bot" / "cli" in packages
    for package in packages:
        label = package.relative_to(ROOT).as_posix() + "/"
        assert label in text, f"{label} missing from the package map"
        init = (package / "__init__.py").read_text(encoding="utf-8")
        docstring = ast.get_docstring(ast.parse(init))
        if docstring:
            first_words = " ".join(docstring.replace("`", "").split()[:4])
            assert first_words in text, f"{label}: its docstring is not on the map"


def test_an_unknown_generated_block_fails_the_build():
    class Page:
        class file:  # the shape MkDocs passes: page.file.src_path
            src_path = "x.md"

    with pytest.raises(ValueError, match="settngs"):
        hook().on_page_markdown("<!-- generated: settngs -->", Page(), None, None)


def test_the_readme_keeps_the_quick_start_and_points_into_the_site():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in QUICK_START:
        assert command in readme.splitlines(), command
    assert len(readme.splitlines()) <= 120, "the README is a front door; details go to docs/"
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert "docs/index.md" in local and "docs/configuration.md" in local
    for link in local:
        assert (ROOT / link).exists(), f"README links to a missing {link}"


def test_the_planner_essay_lives_in_the_docs():
    source = (ROOT / "handlers" / "planning" / "planner.py").read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source)) or ""
    assert "docs/architecture/planner.md" in docstring
    assert len(docstring.splitlines()) <= 20, "the module opens with a summary, not the essay"
    essay = (ROOT / "docs" / "architecture" / "planner.md").read_text(encoding="utf-8")
    for heading in ("## Rules (hard constraints)", "## Algorithm", "## Why a heuristic"):
        assert heading in essay


def test_every_file_the_docs_name_exists():
    """Code moves; the pages must follow (the old names live only in the map's old column)."""
    roots = "bot|handlers|storage|tests|bench|templates"
    path = re.compile(rf"\b((?:{roots})/[\w/.-]+\.(?:py|json|po))")
    pages = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if page.name == "architecture.md":
            text, _, table = text.partition("## Old module → new home")
            text += "".join(row.split("|")[2] for row in table.splitlines() if row.count("|") > 3)
        for name in sorted(set(path.findall(text))):
            assert (ROOT / name).exists(), f"{page.relative_to(ROOT)} names a missing {name}"
