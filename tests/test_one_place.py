"""Rules that once lived in several places now live in one function each; these tests keep it so.

Each reads the package's source: a second copy of a rule is how the copies came to disagree (the history check
accepted 86 rows while the split refused fewer than 94), so a new copy fails here with the place to fix.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "helpers"


def sources() -> dict[str, str]:
    return {str(p.relative_to(PACKAGE)): p.read_text() for p in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("rule, pattern, home", [
    ("the weekend rule", r"day_of_week\s*>=\s*5|dayofweek\s*>=\s*5|weekday\(\)\s*>=\s*5", {"calendar.py"}),
    ("direction means a sigmoid head", r"activation\s*=\s*\"sigmoid\"|\"sigmoid\"\s+if", {"models.py"}),
    ("the split arithmetic of val_frac / test_frac", r"\*\s*config\.(val|test)_frac|config\.(val|test)_frac\s*\*",
     {"splits.py"}),
])
def test_a_rule_lives_in_one_module(rule, pattern, home):
    found = {name for name, text in sources().items() if re.search(pattern, text)}
    assert found == home, f"{rule} appears in {sorted(found)}; call the function in {sorted(home)} instead"


def test_no_split_is_made_by_faking_val_start_or_test_start():
    """Tuning, walk-forward and retraining pass a plan (helpers.splits), not invented boundary dates."""
    offenders = [name for name, text in sources().items()
                 if re.search(r"replace\([^)]*(val_start|test_start)\s*=", text)]
    assert offenders == []


def test_no_module_imports_a_notebook_orchestrator_or_the_cli():
    """Imports point down: evaluate/modelling (notebook orchestration), runner and cli are imported by nobody
    below them."""
    top = {"helpers.cli", "helpers.runner", "helpers.batch", "helpers.evaluate", "helpers.modelling"}
    allowed = {"cli.py": top, "batch.py": {"helpers.runner"}, "__main__.py": {"helpers.cli"},
               "panel_runner.py": {"helpers.runner"}}
    bad = []
    for name, text in sources().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module in top - allowed.get(name, set()):
                bad.append(f"{name} imports {node.module}")
    assert bad == []
