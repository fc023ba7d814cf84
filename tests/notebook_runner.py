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
