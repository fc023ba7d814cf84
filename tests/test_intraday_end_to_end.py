"""Hourly (24/7) and 5-minute (exchange sessions) CSVs through the whole series with tiny settings: every
file the run writes keeps the bars' time of day, and the series' frequency is followed (season, annualisation,
future timestamps, the manifest, the ledger), instead of the bars being cut to one a day or refused."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

from helpers.config import RunConfig
from helpers.evaluate import directional_accuracy_line
from helpers.runfolder import RunPaths
from helpers.runner import NOTEBOOKS, run_series

TINY = dict(source="csv", units=(8,), epochs=1, patience=1, seeds=2, window=10, compare_cells=("lstm",),
            max_trials=1, tune_epochs=1, tune_windows=(10,), walk_forward_folds=1, mc_samples=5, forecast_days=3)


def hourly_stamps() -> pd.DatetimeIndex:
    """900 hourly bars around the clock (crypto), 2024-01-01 00:00 .. 2024-02-07 11:00."""
    return pd.date_range("2024-01-01", periods=900, freq="h")


def five_minute_stamps() -> pd.DatetimeIndex:
    """12 weekdays of 78 five-minute bars, 09:30 .. 15:55 (a US equity session)."""
    days = pd.bdate_range("2024-01-02", periods=12)
    return pd.DatetimeIndex([d + pd.Timedelta("09:30:00") + pd.Timedelta(minutes=5 * i)
                             for d in days for i in range(78)])


def ohlcv_csv(path, stamps: pd.DatetimeIndex):
    """OHLCV of a random walk at ``stamps``, written as a user's export would be (dates alone for daily and
    longer bars)."""
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, len(stamps))))
    opened = np.r_[close[0], close[:-1]]
    fmt = "%Y-%m-%d" if (stamps == stamps.normalize()).all() else "%Y-%m-%d %H:%M:%S"
    frame = pd.DataFrame({"Datetime": stamps.strftime(fmt), "Open": opened,
                          "High": np.maximum(opened, close) * 1.001, "Low": np.minimum(opened, close) * 0.999,
                          "Close": close, "Volume": rng.integers(1000, 5000, len(stamps))})
    frame.to_csv(path, index=False)
    return path


# The hourly run goes through every notebook. The 5-minute and weekly runs leave out 04 and 05, the two slowest
# notebooks in tests, whose frequency-dependent parts (bars in the lag chart, tuning on bars) the hourly run
# already covers; 06 then keeps the run's own hyperparameters. Everything their tests read is written by the rest.
WITHOUT_04_05 = tuple(stem for stem in NOTEBOOKS if stem not in ("04_model", "05_tune"))


def run(tmp_path_factory, name: str, ticker: str, stamps: pd.DatetimeIndex,
        notebooks: tuple[str, ...] = NOTEBOOKS) -> RunPaths:
    base = tmp_path_factory.mktemp(name)
    csv = ohlcv_csv(base / f"{name}.csv", stamps)
    config = RunConfig.for_mode("quick", ticker=ticker, csv_path=str(csv), **TINY)
    return RunPaths(run_series(config, out_dir=base / "reports", progress=False, notebooks=notebooks))


@pytest.fixture(scope="module")
def hourly(tmp_path_factory) -> RunPaths:
    return run(tmp_path_factory, "btc_1h", "BTC-USD", hourly_stamps())


@pytest.fixture(scope="module")
def five_minute(tmp_path_factory) -> RunPaths:
    return run(tmp_path_factory, "xyz_5m", "XYZ", five_minute_stamps(), WITHOUT_04_05)


SPANS = {"hourly": ("2024-01-01 00:00:00", "2024-02-07 11:00:00"),   # an intraday midnight keeps its time
         "five_minute": ("2024-01-02 09:30:00", "2024-01-17 15:55:00")}
CASES = [("hourly", hourly_stamps, "hourly", "1h", "24/7", 24, 24 * 365),
         ("five_minute", five_minute_stamps, "5-minute", "5min", "sessions", 78, 252 * 78)]
RAN = {"hourly": NOTEBOOKS, "five_minute": WITHOUT_04_05}


@pytest.mark.slow
@pytest.mark.parametrize("fixture, stamps, name, step, calendar, season, per_year", CASES)
def test_the_notebooks_run_on_intraday_bars_and_no_bar_is_collapsed(request, fixture, stamps, name, step,
                                                                       calendar, season, per_year):
    paths = request.getfixturevalue(fixture)
    for stem in RAN[fixture]:
        assert paths.notebook_html(stem).exists(), stem
    prices = pd.read_parquet(paths.prices)
    assert prices.index.equals(pd.DatetimeIndex(stamps(), name="date"))
    report = json.loads(paths.data_report.read_text())
    assert report["rows"] == len(stamps())
    assert (report["first_date"], report["last_date"]) == SPANS[fixture]
    assert (report["meta"]["frequency"]["name"], report["meta"]["frequency"]["calendar"]) == (name, calendar)


@pytest.mark.slow
@pytest.mark.parametrize("fixture, stamps, name, step, calendar, season, per_year", CASES)
def test_the_manifest_records_the_frequency_and_metrics_annualise_by_its_bars(request, fixture, stamps, name, step,
                                                                               calendar, season, per_year):
    paths = request.getfixturevalue(fixture)
    frequency = json.loads(paths.manifest.read_text())["frequency"]
    assert (frequency["name"], frequency["step"], frequency["calendar"]) == (name, step, calendar)
    metrics = json.loads(paths.metrics.read_text())
    assert metrics["strategy"]["long_flat"]["periods_per_year"] == per_year
    assert " " in metrics["rows"]["last_test_date"]                   # a time of day, not a date
    sentences = " ".join([metrics["direction"]["sentence"], metrics["verdict"],
                          metrics["strategy"]["long_flat"]["against_chance"]["sentence"],
                          json.loads(paths.risk.read_text())["reading"], metrics["lag_diagnostic"]["verdict"],
                          directional_accuracy_line(metrics)])
    assert "test bars" in sentences and " day" not in sentences and "yesterday" not in sentences
    assert directional_accuracy_line(metrics).endswith(" bars") or "every test bar" in directional_accuracy_line(metrics)


@pytest.mark.slow
def test_the_hourly_pages_titles_and_generated_lines_speak_of_bars(hourly):
    pages = {stem: hourly.notebook_html(stem).read_text() for stem in ("02_explore", "06_evaluate", "08_risk")}
    assert "Autocorrelation of hourly returns" in pages["02_explore"]
    assert "Autocorrelation of daily returns" not in pages["02_explore"]
    assert "20-bar average" in pages["02_explore"] and "20-day average" not in pages["02_explore"]
    assert "shift k (bars; +1 = the previous bar" in pages["06_evaluate"]
    assert "one-bar VaR" in pages["08_risk"] and "one-day VaR" not in pages["08_risk"]


@pytest.mark.slow
@pytest.mark.parametrize("fixture, stamps, name, step, calendar, season, per_year", CASES)
def test_predictions_keep_the_bars_times_and_the_seasonal_naive_repeats_one_day_of_bars(
        request, fixture, stamps, name, step, calendar, season, per_year):
    paths = request.getfixturevalue(fixture)
    predictions = pd.read_csv(paths.predictions)
    assert predictions["date"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    dates = pd.DatetimeIndex(pd.to_datetime(predictions["date"]))
    prices = pd.read_parquet(paths.prices)
    rows = prices.index.get_indexer(dates)
    assert (rows >= 0).all() and (np.diff(rows) == 1).all()          # consecutive bars of the series
    close = prices["close"].to_numpy()
    assert np.allclose(predictions["persistence"], close[rows - 1])
    assert np.allclose(predictions["seasonal_naive"], close[rows - season])   # same bar one day earlier


@pytest.mark.slow
def test_hourly_forecasts_are_for_the_next_hours(hourly):
    forecast = pd.read_csv(hourly.forecast)
    recursive = forecast[forecast["method"] == "recursive"]
    assert list(recursive["date"]) == ["2024-02-07 12:00:00", "2024-02-07 13:00:00", "2024-02-07 14:00:00"]


@pytest.mark.slow
def test_five_minute_forecasts_open_the_next_session(five_minute):
    forecast = pd.read_csv(five_minute.forecast)
    recursive = forecast[forecast["method"] == "recursive"]
    last = five_minute_stamps()[-1]
    assert last == pd.Timestamp("2024-01-17 15:55")
    assert list(recursive["date"]) == ["2024-01-18 09:30:00", "2024-01-18 09:35:00", "2024-01-18 09:40:00"]


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["hourly", "five_minute"])
def test_the_ledger_scores_intraday_forecasts_against_the_bar_of_the_same_time(request, fixture):
    paths = request.getfixturevalue(fixture)
    with sqlite3.connect(paths.ledger) as conn:
        realized = pd.read_sql_query("SELECT target_date, actual FROM realized", conn)
    assert len(realized) > 0
    prices = pd.read_parquet(paths.prices)
    stamps = pd.to_datetime(realized["target_date"], format="ISO8601")
    assert realized["target_date"].str.contains(":").any()
    assert np.allclose(realized["actual"], prices["close"].reindex(stamps).to_numpy())
