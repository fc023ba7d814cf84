"""Collection order for `make test` (pytest -n 2 --dist loadfile).

pytest-xdist hands out whole files in the order they were collected. Alphabetical order left the heaviest files
(the end-to-end runs, the tuning and evaluation tests) for late, so one worker ran them alone while the other
had finished: longest first balances two workers best. Seconds measured with `--durations=0` on two cores
(2026-12-01); files not listed keep their alphabetical order after these.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HEAVIEST_FIRST = (
    "test_intraday_end_to_end.py",   # 154 s
    "test_series_end_to_end.py",     # 123 s
    "test_tune.py",                  # 105 s
    "test_evaluate.py",              # 96 s
    "test_notebooks_07_08.py",       # 59 s (93 s as two files, each running 01, 03 and 06)
    "test_network.py",               # 46 s
    "test_notebooks_03_04.py",       # 44 s
    "test_panel_model.py",           # 44 s
    "test_weekly_end_to_end.py",     # 41 s
    "test_runner.py",                # 41 s
    "test_notebook_05.py",           # 33 s
    "test_cli.py",                   # 32 s
    "test_benchmarks_smoke.py",      # 29 s
)
_RANK = {name: rank for rank, name in enumerate(HEAVIEST_FIRST)}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Reorder the collected tests file by file, heaviest files first (a stable sort: a file's own tests keep
    their order, so module fixtures are still built once)."""
    items.sort(key=lambda item: _RANK.get(Path(str(item.fspath)).name, len(HEAVIEST_FIRST)))
