"""Notebook 07_forecast runs under papermill after 01, 03 and 06 (quick mode, tiny network); asserts on its files.

Each execution starts a Jupyter kernel, so the test is slow. Source 'sample': no network.
"""

from __future__ import annotations


import json

import pandas as pd
import pytest

papermill = pytest.importorskip("papermill")

from helpers.forecast import FORECAST_COLUMNS  # noqa: E402
from helpers.ledger import Ledger  # noqa: E402
from helpers.runfolder import RunPaths  # noqa: E402
from tests.notebook_runner import run_notebook  # noqa: E402

TINY = {"mode": "quick", "source": "sample", "start": "2012-01-01", "epochs": 1, "units": [4], "window": 10,
        "compare_cells": ["lstm"], "forecast_days": 4, "mc_samples": 8, "seeds": 1, "walk_forward_folds": 1}

pytestmark = pytest.mark.slow




@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("notebook_07")
    run_dir = base / "run"
    run_notebook("01_collect", run_dir, TINY, base / "01.ipynb")
    for stem in ("03_featurize", "06_evaluate", "07_forecast"):
        run_notebook(stem, run_dir, {}, base / f"{stem}.ipynb")
    return RunPaths(run_dir)


def test_notebook_07_writes_the_forecast_ahead(forecast_run):
    forecast = pd.read_csv(forecast_run.forecast, parse_dates=["date"])
    last = pd.read_parquet(forecast_run.prices).index[-1]
    assert tuple(forecast.columns) == FORECAST_COLUMNS
    assert list(dict.fromkeys(forecast["method"])) == ["recursive", "direct"]
    assert (forecast.groupby("method").size() == 4).all()
    assert (forecast["date"] > last).all() and (forecast["date"].dt.day_of_week < 5).all()
    assert (forecast["lower_95"] <= forecast["upper_95"]).all()


def test_notebook_07_records_and_scores_the_ledger(forecast_run):
    ledger = Ledger(forecast_run.ledger)
    stored = ledger.forecasts()
    assert set(stored["kind"]) == {"live", "replay"}
    assert (stored.loc[stored["kind"] == "live", "target_date"] > pd.read_parquet(forecast_run.prices).index[-1]).all()
    report = ledger.report()
    assert len(report) > 0 and set(report["kind"]) == {"replay"}   # live forecasts wait for their day
    one_step = report[(report["method"] == "recursive") & (report["horizon"] == 1)]
    assert 15 <= len(one_step) <= 21
