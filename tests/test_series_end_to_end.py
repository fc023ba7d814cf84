"""The whole series through the runner, as `make report` runs it, with tiny settings: every contract file."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from helpers.config import RunConfig
from helpers.runfolder import RunPaths
from helpers.runner import NOTEBOOKS, run_series

TINY = dict(source="sample", start="2013-01-01", units=(8,), epochs=1, patience=1, seeds=2, window=10,
            compare_cells=("lstm",), max_trials=1, tune_epochs=1, tune_windows=(10,), walk_forward_folds=1,
            mc_samples=5, forecast_days=3)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> RunPaths:
    """A run into a RELATIVE out dir, as `make report` passes `--out reports`."""
    config = RunConfig.for_mode("quick", **TINY)
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("project"))
    try:
        return RunPaths(run_series(config, out_dir="reports", progress=False))
    finally:
        os.chdir(here)


@pytest.mark.slow
def test_a_relative_out_dir_puts_every_file_in_the_run_folder(run_folder):
    assert run_folder.root.is_absolute()
    for path in (run_folder.prices, run_folder.features, run_folder.manifest, run_folder.metrics,
                 run_folder.forecast):
        assert path.exists(), path


@pytest.mark.slow
def test_every_notebook_ran_and_has_an_html_page_with_offline_charts(run_folder):
    for stem in NOTEBOOKS:
        assert run_folder.notebook(stem).exists(), stem
        html = run_folder.notebook_html(stem).read_text()
        if stem != "01_collect":
            assert "Plotly.newPlot" in html, stem
    index = run_folder.index.read_text()
    assert "persistence" in index and "07_forecast" in index


@pytest.mark.slow
def test_contract_files_agree_with_each_other(run_folder):
    predictions = pd.read_csv(run_folder.predictions)
    metrics = json.loads(run_folder.metrics.read_text())
    assert list(predictions.columns[:4]) == ["date", "actual", "model", "persistence"]
    assert metrics["rows"]["test"] == len(predictions)
    rmse = ((predictions["actual"] - predictions["model"]) ** 2).mean() ** 0.5
    assert rmse == pytest.approx(metrics["test"]["model"]["rmse"], rel=1e-9)
    assert metrics["verdict"].endswith(".")
    rose = predictions["actual"] > predictions["persistence"]
    moved = predictions["actual"] != predictions["persistence"]
    called = predictions["model"] != predictions["persistence"]
    assert metrics["direction"]["always_up"] == pytest.approx(rose[moved & called].mean())
    assert "calling &quot;up&quot; every day would score" in run_folder.notebook_html("06_evaluate").read_text() \
        or 'calling "up" every day would score' in run_folder.notebook_html("06_evaluate").read_text()
    assert (run_folder.best).exists()
    forecast = pd.read_csv(run_folder.forecast)
    assert {"date", "forecast", "lower_80", "upper_80"} <= set(forecast.columns)
    assert pd.to_datetime(forecast["date"]).min() > pd.Timestamp(predictions["date"].iloc[-1])


@pytest.mark.slow
def test_model_manifest_carries_the_validation_residuals_for_predictive_bands(run_folder):
    manifest = json.loads(run_folder.manifest.read_text())
    residuals = manifest["validation_residuals"]
    assert len(residuals) >= 20 and all(len(row) == manifest["horizon"] for row in residuals)


@pytest.mark.slow
def test_metrics_json_holds_both_the_evaluation_and_the_risk_section(run_folder):
    metrics = json.loads(run_folder.metrics.read_text())
    assert "test" in metrics and "risk" in metrics
