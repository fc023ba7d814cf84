"""Run one notebook of the series the way the runner does (papermill, cwd = notebooks/), for notebook tests."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def run_notebook(stem: str, run_dir: Path, overrides: dict, output: Path) -> nbformat.NotebookNode:
    """Execute notebooks/<stem>.ipynb into ``output`` with the series' two parameters; return it executed."""
    papermill.execute_notebook(str(NOTEBOOKS / f"{stem}.ipynb"), str(output),
                               parameters={"run_dir": str(run_dir), "overrides": overrides},
                               kernel_name="python3", cwd=str(NOTEBOOKS), progress_bar=False)
    return nbformat.read(output, as_version=4)


def run_after_collect(base: Path, collect_overrides: dict, stems: list[str]) -> Path:
    """A run folder ``base/run``: 01_collect with ``collect_overrides`` (it writes config.json), then each of
    ``stems`` with no overrides, every executed copy saved in ``base``. Returns the run folder."""
    run_dir = base / "run"
    run_notebook("01_collect", run_dir, collect_overrides, base / "01_collect.ipynb")
    for stem in stems:
        run_notebook(stem, run_dir, {}, base / f"{stem}.ipynb")
    return run_dir
