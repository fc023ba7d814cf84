"""Notebooks 01_collect and 02_explore run under papermill with tiny parameters; asserts on the files 01 wrote.

Each execution starts a Jupyter kernel (several seconds), so every test here is marked slow. Sources are
'sample' and 'synthetic' only: no network.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

papermill = pytest.importorskip("papermill")
from papermill.exceptions import PapermillExecutionError  # noqa: E402

from helpers.runfolder import RunPaths  # noqa: E402
from tests.notebook_runner import run_notebook  # noqa: E402

DATA_REPORT_KEYS = {"meta", "cleaning", "rows", "first_date", "last_date", "synthetic"}

pytestmark = pytest.mark.slow




def files_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def outputs_of(notebook: nbformat.NotebookNode, mime: str) -> list[str]:
    return [str(out["data"][mime]) for cell in notebook.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if mime in out.get("data", {})]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """01 on the embedded sample in quick mode, then 02 on the same run folder."""
    base = tmp_path_factory.mktemp("sample_run")
    run_dir = base / "run"
    collected = run_notebook("01_collect", run_dir, {"mode": "quick", "source": "sample"}, base / "01.ipynb")
    before = files_under(run_dir)
    explored = run_notebook("02_explore", run_dir, {}, base / "02.ipynb")
    return {"paths": RunPaths(run_dir), "collected": collected, "explored": explored,
            "files_before_02": before, "files_after_02": files_under(run_dir)}


def test_collect_writes_cleaned_prices(sample_run):
    prices = pd.read_parquet(sample_run["paths"].prices)
    report = json.loads(sample_run["paths"].data_report.read_text())
    assert len(prices) == report["rows"] > 1000
    assert isinstance(prices.index, pd.DatetimeIndex) and prices.index.is_monotonic_increasing
    assert {"open", "high", "low", "close", "volume"} <= set(prices.columns)


def test_collect_writes_data_report_with_every_key(sample_run):
    report = json.loads(sample_run["paths"].data_report.read_text())
    assert DATA_REPORT_KEYS <= set(report)
    assert report["synthetic"] is False
    assert report["meta"]["source"] == "sample"
    assert report["meta"]["steps"]
    assert {"rows_in", "rows_out", "fixes", "flags"} <= set(report["cleaning"])
    prices = pd.read_parquet(sample_run["paths"].prices)
    assert report["first_date"] == prices.index[0].date().isoformat()
    assert report["last_date"] == prices.index[-1].date().isoformat()


def test_collect_writes_config_from_overrides(sample_run):
    config = json.loads(sample_run["paths"].config.read_text())
    assert config["mode"] == "quick" and config["source"] == "sample"


def test_explore_draws_figures(sample_run):
    figures = [html for html in outputs_of(sample_run["explored"], "text/html") if "Plotly.newPlot" in html]
    assert len(figures) >= 6   # candlestick, distribution, volatility, drawdown, two ACFs


def test_explore_writes_no_files(sample_run):
    assert sample_run["files_after_02"] == sample_run["files_before_02"]


def test_synthetic_run_is_labelled_synthetic(tmp_path):
    run_dir = tmp_path / "run"
    executed = run_notebook("01_collect", run_dir, {"mode": "quick", "source": "synthetic"}, tmp_path / "01.ipynb")
    report = json.loads(RunPaths(run_dir).data_report.read_text())
    assert report["synthetic"] is True
    assert any("**SYNTHETIC DATA" in text for text in outputs_of(executed, "text/markdown"))


def test_bad_parameter_fails_in_first_code_cell_with_config_error(tmp_path):
    output = tmp_path / "01.ipynb"
    with pytest.raises(PapermillExecutionError) as caught:
        run_notebook("01_collect", tmp_path / "run", {"window": "abc"}, output)
    error = caught.value
    assert error.ename == "ConfigError"
    assert "'window'" in error.evalue and "'abc'" in error.evalue
    assert "start_notebook(" in error.source   # the first code cell after the parameters
    executed = nbformat.read(output, as_version=4)
    code_cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    ran = [cell for cell in code_cells if cell.execution_count is not None]
    assert len(ran) == 3                      # parameters, injected parameters, the failing set-up cell
    assert "start_notebook(" in ran[-1].source
    assert not RunPaths(tmp_path / "run").prices.exists()


def test_explore_without_collect_says_to_run_collect(tmp_path):
    with pytest.raises(PapermillExecutionError) as caught:
        run_notebook("02_explore", tmp_path / "run", {}, tmp_path / "02.ipynb")
    assert "01_collect" in caught.value.evalue
