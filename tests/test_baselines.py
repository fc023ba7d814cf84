"""Baseline forecasters: hand-computed values, the forecaster surface, and no look-ahead in fit or predict."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.baselines import (
    ArimaForecaster, Drift, Forecaster, MovingAverage, Persistence, SeasonalNaive, default_baselines,
    season_length,
)
from helpers.config import RunConfig

SHARED_AAPL = Path("/work/shared/data/AAPL.csv")


def random_walk_close(n: int = 400, seed: int = 0, freq: str = "B") -> pd.Series:
    rng = np.random.default_rng(seed)
    log_price = np.log(100.0) + np.cumsum(rng.normal(0.0003, 0.015, n))
    index = pd.date_range("2015-01-05", periods=n, freq=freq, name="date")
    return pd.Series(np.exp(log_price), index=index, name="close")


def perturbed_after(close: pd.Series, row: int, seed: int = 99) -> pd.Series:
    """A copy with every close after ``row`` replaced by different positive prices."""
    out = close.copy()
    rng = np.random.default_rng(seed)
    out.iloc[row + 1:] = out.iloc[row + 1:].to_numpy() * rng.uniform(0.5, 2.0, len(out) - row - 1)
    return out


TINY = pd.Series([10.0, 11.0, 13.0, 12.0, 14.0, 15.0, 17.0, 16.0])


# ---------------------------------------------------------------------- hand-computed values
def test_persistence_repeats_last_close_for_every_step():
    got = Persistence().fit(TINY, 4).predict(TINY, np.array([3, 5]), horizon=3)
    np.testing.assert_array_equal(got, [[12.0, 12.0, 12.0], [15.0, 15.0, 15.0]])


def test_drift_adds_k_times_mean_training_change():
    drift = Drift().fit(TINY, 5)             # rows 0..4: (14 - 10) / 4 = 1.0 per day
    assert drift.slope_ == pytest.approx(1.0)
    got = drift.predict(TINY, np.array([6]), horizon=3)
    np.testing.assert_allclose(got, [[18.0, 19.0, 20.0]])


def test_moving_average_is_mean_of_last_n_closes():
    close = TINY.to_numpy()
    origins = np.array([2, 5, 7])
    got = MovingAverage(n=3).fit(TINY, 4).predict(TINY, origins, horizon=2)
    expected = [[close[t - 2:t + 1].mean()] * 2 for t in origins]
    np.testing.assert_allclose(got, expected)


def test_seasonal_naive_matches_hand_loop_across_more_than_one_season():
    close = random_walk_close(60).to_numpy()
    season, horizon = 5, 12
    origins = np.array([4, 20, 59])
    got = SeasonalNaive(season).fit(pd.Series(close), 30).predict(pd.Series(close), origins, horizon)
    for i, t in enumerate(origins):
        for k in range(1, horizon + 1):
            assert got[i, k - 1] == close[t + k - season * math.ceil(k / season)]


def test_seasonal_naive_step_one_is_same_weekday_last_week():
    got = SeasonalNaive(5).predict(TINY, np.array([6]), horizon=1)
    assert got[0, 0] == TINY.iloc[2]          # row 7 forecast from row 7 - 5


def test_season_length_is_5_for_business_days_and_7_for_every_day_series():
    assert season_length(random_walk_close(100, freq="B").index) == 5
    assert season_length(random_walk_close(100, freq="D").index) == 7


# ---------------------------------------------------------------------- the surface
def test_every_default_baseline_satisfies_the_forecaster_protocol_with_unique_names():
    close = random_walk_close(300)
    forecasters = default_baselines(close.index, RunConfig())
    assert all(isinstance(f, Forecaster) for f in forecasters)
    names = [f.name for f in forecasters]
    assert len(set(names)) == len(names)
    for f in forecasters:
        out = f.fit(close, 200).predict(close, np.arange(200, 300), horizon=3)
        assert out.shape == (100, 3) and np.all(np.isfinite(out))


def test_default_baselines_use_a_seven_day_season_for_crypto_dates():
    close = random_walk_close(100, freq="D")
    seasonal = [f for f in default_baselines(close.index, RunConfig()) if isinstance(f, SeasonalNaive)]
    assert seasonal[0].season == 7


def test_default_arima_takes_the_configured_order():
    close = random_walk_close(100)
    arima = [f for f in default_baselines(close.index, RunConfig(arima_order=(2, 1, 0)))
             if isinstance(f, ArimaForecaster)]
    assert arima[0].order == (2, 1, 0)


def test_origin_beyond_the_data_is_rejected_with_its_position():
    with pytest.raises(ValueError, match="origin 8 is beyond the last row"):
        Persistence().predict(TINY, np.array([8]), horizon=1)


def test_moving_average_rejects_origins_without_enough_history():
    with pytest.raises(ValueError, match="origins >= 4"):
        MovingAverage(n=5).predict(TINY, np.array([2]), horizon=1)


def test_missing_prices_are_rejected_before_forecasting():
    close = TINY.copy()
    close.iloc[3] = np.nan
    with pytest.raises(ValueError, match="first at row 3"):
        Persistence().predict(close, np.array([5]), horizon=1)


@pytest.mark.parametrize("forecaster", [Drift(), ArimaForecaster()])
def test_predict_before_fit_says_to_call_fit(forecaster):
    with pytest.raises(RuntimeError, match="call fit"):
        forecaster.predict(random_walk_close(50), np.array([40]), horizon=1)


# ---------------------------------------------------------------------- no look-ahead
@pytest.mark.parametrize("make", [Persistence, Drift, lambda: MovingAverage(5), lambda: SeasonalNaive(5),
                                  lambda: SeasonalNaive(7), ArimaForecaster])
def test_forecast_from_an_origin_ignores_every_later_close(make):
    close = random_walk_close(300)
    forecaster = make().fit(close, 200)
    origins = np.array([210, 250, 260])
    before = forecaster.predict(close, origins, horizon=4)
    for t, row in zip(origins, before):
        changed = forecaster.predict(perturbed_after(close, int(t)), np.array([t]), horizon=4)
        np.testing.assert_array_equal(changed[0], row)


def test_drift_slope_ignores_rows_after_train_end():
    close = random_walk_close(300)
    assert Drift().fit(close, 200).slope_ == Drift().fit(perturbed_after(close, 199), 200).slope_


def test_arima_parameters_ignore_test_rows():
    close = random_walk_close(300)
    a = ArimaForecaster().fit(close, 200)
    b = ArimaForecaster().fit(perturbed_after(close, 199), 200)
    assert a.params_ == b.params_


def test_arima_predict_does_not_refit_parameters():
    close = random_walk_close(300)
    arima = ArimaForecaster().fit(close, 200)
    params = dict(arima.params_)
    arima.predict(perturbed_after(close, 199), np.arange(200, 300), horizon=1)
    assert arima.params_ == params


# ---------------------------------------------------------------------- ARIMA against statsmodels itself
def test_arima_one_step_forecasts_match_statsmodels_filtered_predictions():
    from statsmodels.tsa.arima.model import ARIMA

    close = random_walk_close(400)
    arima = ArimaForecaster((1, 1, 1)).fit(close, 250)
    origins = np.arange(250, 399)
    ours = arima.predict(close, origins, horizon=1)[:, 0]
    log_close = np.log(close.to_numpy())
    filtered = ARIMA(log_close, order=(1, 1, 1)).filter(arima.results_.params)
    theirs = np.exp(filtered.predict(start=251, end=399))    # prediction of row t+1 given rows <= t
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


@pytest.mark.parametrize("order", [(2, 1, 1), (1, 0, 0)])
def test_arima_multi_step_matches_statsmodels_forecast_from_the_origin(order):
    close = random_walk_close(300)
    arima = ArimaForecaster(order).fit(close, 200)
    log_close = np.log(close.to_numpy())
    for t in (200, 257, 299):
        ours = arima.predict(close, np.array([t]), horizon=6)[0]
        theirs = np.exp(arima.results_.apply(log_close[:t + 1], refit=False).forecast(6))
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_arima_forecasts_thousands_of_origins_in_one_call():
    close = random_walk_close(3500)
    arima = ArimaForecaster().fit(close, 500)
    out = arima.predict(close, np.arange(500, 3500), horizon=2)
    assert out.shape == (3000, 2) and np.all(out > 0)


def test_arima_refuses_non_positive_prices():
    close = random_walk_close(100)
    close.iloc[10] = -1.0
    with pytest.raises(ValueError, match="positive closes; row 10"):
        ArimaForecaster().fit(close, 80)


@pytest.mark.skipif(not SHARED_AAPL.exists(), reason="development data in /work/shared not available")
def test_arima_on_real_prices_is_about_as_good_as_persistence():
    frame = pd.read_csv(SHARED_AAPL, index_col="Date", parse_dates=True)
    close = frame["Adj Close"]
    train_end = int(len(close) * 0.7)
    origins = np.arange(train_end, len(close) - 1)
    actual = close.to_numpy()[origins + 1]
    arima = ArimaForecaster().fit(close, train_end).predict(close, origins, 1)[:, 0]
    naive = Persistence().predict(close, origins, 1)[:, 0]
    u = np.sqrt(np.mean((arima - actual) ** 2)) / np.sqrt(np.mean((naive - actual) ** 2))
    assert 0.95 < u < 1.05


@pytest.mark.parametrize("make", [Persistence, Drift, lambda: MovingAverage(5), lambda: SeasonalNaive(5),
                                  ArimaForecaster])
def test_fit_never_reads_rows_after_train_end_even_to_check_them(make):
    close = random_walk_close(300)
    close.iloc[250] = np.nan                  # a gap in the future must not matter to fit
    make().fit(close, 200)


def test_fit_rejects_train_end_beyond_the_data():
    with pytest.raises(ValueError, match="train_end=9 is outside"):
        Drift().fit(TINY, 9)
