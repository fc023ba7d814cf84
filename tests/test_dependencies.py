"""The install works from pyproject.toml alone: every package helpers/ imports is declared, TensorFlow is chosen
per platform by markers, and environment.yml installs the same thing."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from helpers.runfolder import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
# Platforms as pip sees them (the values PEP 508 markers test), with the wheels the registry has for each
# (checked with `pip install --dry-run --only-binary=:all: --platform ... --python-version 3.12`).
PLATFORMS = {
    "linux x86_64": {"sys_platform": "linux", "platform_machine": "x86_64", "platform_system": "Linux"},
    "linux aarch64": {"sys_platform": "linux", "platform_machine": "aarch64", "platform_system": "Linux"},
    "macOS arm64": {"sys_platform": "darwin", "platform_machine": "arm64", "platform_system": "Darwin"},
    "windows": {"sys_platform": "win32", "platform_machine": "AMD64", "platform_system": "Windows"},
}
TENSORFLOW_BY_PLATFORM = {"linux x86_64": "tensorflow-cpu", "linux aarch64": "tensorflow",
                          "macOS arm64": "tensorflow", "windows": "tensorflow-cpu"}


def declared_requirements() -> list[Requirement]:
    """Every requirement of pyproject.toml: dependencies and all optional extras."""
    lines = list(PYPROJECT["dependencies"])
    for extra in PYPROJECT.get("optional-dependencies", {}).values():
        lines += extra
    return [Requirement(line) for line in lines]


def imported_top_level_names(package: Path) -> dict[str, str]:
    """Top-level module names imported anywhere in ``package`` (module level and inside functions), each with
    one file that imports it; relative imports are skipped."""
    names: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found = [node.module]
            else:
                continue
            for name in found:
                names.setdefault(name.split(".")[0], str(path.relative_to(package.parent)))
    return names


def test_every_third_party_import_in_helpers_is_declared_in_pyproject():
    declared = {canonicalize_name(r.name) for r in declared_requirements()}
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for name, where in sorted(imported_top_level_names(PROJECT_ROOT / "helpers").items()):
        if name == "helpers" or name in sys.stdlib_module_names or name == "__future__":
            continue
        owners = {canonicalize_name(d) for d in distributions.get(name, [])}
        if not owners:
            missing.append(f"{name} (imported in {where}) is not installed, so no distribution declares it")
        elif not owners & declared:
            missing.append(f"{name} (imported in {where}) comes from {', '.join(sorted(owners))}: add it to "
                           f"pyproject.toml's dependencies")
    assert not missing, "\n".join(missing)


def test_the_declaration_check_would_see_an_undeclared_import(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("import os\n\ndef f():\n    from jinja2 import Template\n")
    assert set(imported_top_level_names(tmp_path / "pkg")) == {"os", "jinja2"}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_markers_choose_the_tensorflow_that_has_wheels_on_each_platform(platform):
    environment = {**default_environment(), "python_version": "3.12", "python_full_version": "3.12.8",
                   **PLATFORMS[platform]}
    chosen = [canonicalize_name(r.name) for r in declared_requirements()
              if canonicalize_name(r.name) in ("tensorflow", "tensorflow-cpu")
              and (r.marker is None or r.marker.evaluate(environment))]
    assert chosen == [TENSORFLOW_BY_PLATFORM[platform]]


def test_environment_yml_installs_the_project_with_every_extra_on_the_same_python():
    text = (PROJECT_ROOT / "environment.yml").read_text()
    python = re.search(r"^\s*-\s*python\s*=\s*([\d.]+)\s*$", text, flags=re.MULTILINE)
    assert python, "environment.yml names no python version"
    assert python.group(1) in PYPROJECT["requires-python"]              # ">=3.12,<3.13" holds "3.12"
    editable = re.search(r'-e\s+"?\.\[([^\]]*)\]"?', text)
    assert editable, "environment.yml does not pip-install the project itself (-e .[extras])"
    assert set(editable.group(1).split(",")) == set(PYPROJECT.get("optional-dependencies", {}))
    # Anything else environment.yml installs would be a second, drifting list of dependencies.
    listed = text.split("dependencies:", 1)[1]
    other = [line.strip() for line in listed.splitlines()
             if re.match(r"^\s+-\s+\S", line) and not re.search(r"python=|-\s*pip\s*$|-\s*pip:|-e\s", line)]
    assert other == [], f"environment.yml lists packages of its own: {other}; declare them in pyproject.toml"
