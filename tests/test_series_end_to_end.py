"""The whole series through the runner, as `make report` runs it, with tiny settings: every contract file."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest

from helpers.config import RunConfig
from helpers.plotlyjs import PARTIAL_BUNDLE, bundle_banner, carries_plotlyjs, partial_plotlyjs, plotlyjs_version
from helpers.runfolder import PROJECT_ROOT, RunPaths
from helpers.runner import NOTEBOOKS, run_series
from tests.browser import chromium_path, render_page

SCREENSHOTS = PROJECT_ROOT / "reports" / "browser-check"     # for a human to look at
SHOWN = ("index", "04_model", "06_evaluate", "07_forecast")
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


@pytest.mark.slow
def test_predict_on_prices_cut_at_a_test_date_reproduces_the_evaluated_forecast(run_folder):
    """The deployed model is the evaluated one: `predict` with the run's model/ on the prices up to test date d
    gives the `model` column of predictions.csv for the day after d."""
    from helpers.predict import predict_from_artifact

    predictions = pd.read_csv(run_folder.predictions, parse_dates=["date"])
    prices = pd.read_parquet(run_folder.prices)
    for i in (0, len(predictions) // 2, len(predictions) - 1):
        target = predictions["date"].iloc[i]
        origin = prices.index[prices.index.get_loc(target) - 1]
        forecast = predict_from_artifact(run_folder.model_dir, prices.loc[:origin], run_folder.root / "cut.csv",
                                         steps=1, n_samples=0)
        expected = predictions["model"].iloc[i]
        assert abs(forecast["forecast"].iloc[0] / expected - 1) < 1e-6, (target, forecast, expected)


@pytest.mark.slow
def test_the_run_model_manifest_records_the_tuning_it_used(run_folder):
    manifest = json.loads(run_folder.manifest.read_text())
    best = json.loads(run_folder.best.read_text())
    assert manifest["tuning"]["replaced"] == best["replaced"]
    for field, value in best["overrides"].items():
        stored = manifest["config"][field]
        assert stored == value or list(stored) == list(value), field
    assert len(manifest["ensemble"]["seeds"]) == TINY["seeds"]
    metrics = json.loads(run_folder.metrics.read_text())
    assert metrics["model"]["sha256"] == manifest["model_file"]["sha256"]


# ---------------------------------------------------------------------------------------------- pages worth sharing

PAGE_NOISE = ("oneDNN", "absl", "\x08", "INFO helpers", 'src="http')


@pytest.mark.slow
def test_plotly_js_is_in_the_run_folder_once_and_no_page_carries_a_copy(run_folder):
    holders = [p.relative_to(run_folder.root).as_posix() for p in run_folder.root.rglob("*")
               if p.is_file() and p.suffix in (".js", ".html", ".ipynb", ".css") and carries_plotlyjs(p.read_text())]
    assert holders == ["plotly.min.js"]
    # the 1.3 MB finance bundle where make env installed it (a full 4.8 MB one otherwise, and the log says so)
    expected = PARTIAL_BUNDLE if partial_plotlyjs() is not None else "full"
    assert bundle_banner((run_folder.root / "plotly.min.js").read_text()) == (expected, plotlyjs_version())
    pages = sorted(run_folder.root.glob("*.html"))
    assert len(pages) == len(NOTEBOOKS) + 1
    assert all(page.stat().st_size < 1_500_000 for page in pages), [(p.name, p.stat().st_size) for p in pages]


@pytest.mark.slow
def test_every_exported_page_is_free_of_start_up_noise_and_network_loads(run_folder):
    for page in sorted(run_folder.root.glob("*.html")):
        text = page.read_text()
        found = [noise for noise in PAGE_NOISE if noise in text]
        assert not found, f"{page.name} contains {found}"


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="chromium is not on PATH: run scripts/install-system-deps.sh")
def test_a_copy_of_the_run_folder_moved_elsewhere_draws_every_chart(run_folder, tmp_path_factory):
    """Relative paths hold: the folder is copied elsewhere (as a zip would be), the original renamed away."""
    moved = tmp_path_factory.mktemp("elsewhere") / "shared-report"
    shutil.copytree(run_folder.root, moved)
    hidden = run_folder.root.with_name(run_folder.root.name + "-hidden")
    run_folder.root.rename(hidden)
    try:
        for page in sorted(moved.glob("*.html")):
            figures = page.read_text().count("Plotly.newPlot")
            shot = SCREENSHOTS / f"series-{page.stem}.png" if page.stem in SHOWN else None
            rendered = render_page(page, shot, budget_ms=15000)
            assert rendered.console_errors == [], (page.name, rendered.console_errors)
            assert rendered.svg_count >= figures, (page.name, rendered.svg_count, figures)
    finally:
        hidden.rename(run_folder.root)
