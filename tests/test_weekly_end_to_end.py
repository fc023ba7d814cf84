"""A weekly CSV through the series with tiny settings: a yearly season, weekly annualisation and forecasts a
week apart. (Its own file, so that pytest-xdist can run it beside the intraday runs.)"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.runfolder import RunPaths
from tests.test_intraday_end_to_end import WITHOUT_04_05, run


def weekly_stamps() -> pd.DatetimeIndex:
    """400 Friday closes, 2015-01-09 .. 2022-09-02."""
    return pd.date_range("2015-01-09", periods=400, freq="W-FRI")


@pytest.fixture(scope="module")
def weekly(tmp_path_factory) -> RunPaths:
    return run(tmp_path_factory, "w", "WEEKLY", weekly_stamps(), WITHOUT_04_05)


@pytest.mark.slow
def test_a_weekly_series_runs_with_a_yearly_season_weekly_annualisation_and_forecasts_a_week_apart(weekly):
    for stem in WITHOUT_04_05:
        assert weekly.notebook_html(stem).exists(), stem
    frequency = json.loads(weekly.manifest.read_text())["frequency"]
    assert (frequency["name"], frequency["step"]) == ("weekly", "7d")
    metrics = json.loads(weekly.metrics.read_text())
    assert metrics["strategy"]["long_flat"]["periods_per_year"] == 52
    assert "test weeks" in metrics["strategy"]["long_flat"]["against_chance"]["sentence"]
    predictions = pd.read_csv(weekly.predictions)
    prices = pd.read_parquet(weekly.prices)
    rows = prices.index.get_indexer(pd.to_datetime(predictions["date"]))
    assert np.allclose(predictions["seasonal_naive"], prices["close"].to_numpy()[rows - 52])   # a year earlier
    forecast = pd.read_csv(weekly.forecast)
    recursive = forecast[forecast["method"] == "recursive"]
    assert list(recursive["date"]) == ["2022-09-09", "2022-09-16", "2022-09-23"]
