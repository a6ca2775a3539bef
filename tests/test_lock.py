"""requirements.lock pins the whole dependency set CI installs (runtime and the test
extra, with hashes): a package named in pyproject.toml but missing from the lock means
someone changed the dependencies without re-locking (README: "Reproducible installs")."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def named(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert match, requirement
    return normal(match[0])


def locked() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    return {normal(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.M)}


def test_every_dependency_is_pinned_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {named(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    pins = locked()
    assert wanted - set(pins) == set(), "run the README's pip-compile command"
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    for name in pins:  # every pin carries its hashes (pip then checks every download)
        block = re.search(rf"^{re.escape(name)}==\S+((?:\s+\\\s+--hash=\S+)+)", text, re.M | re.I)
        assert block is None or "--hash=sha256:" in block[1]
    assert text.count("--hash=sha256:") >= len(pins)
    assert "file://" not in text and "/opt/" not in text  # portable: no local indexes


def test_the_pins_keep_the_versions_pyproject_fixes():
    """The Agents SDK is pinned exactly in pyproject (its API moves between releases)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = locked()
    for requirement in project["dependencies"]:
        if "==" in requirement:
            name, version = requirement.split("==")
            assert pins[named(name)] == version.strip()
