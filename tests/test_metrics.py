"""Metrics against hand-computed values, scikit-learn and statsmodels; DM size and power; the lag diagnostic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, mean_squared_error
from statsmodels.stats.proportion import proportion_confint

from helpers.metrics import (
    binomial_p_value, diebold_mariano, directional_accuracy, error_by_horizon, hln_correction, lag_diagnostic,
    mae, mape, mase, mse, rmse, score_forecasts, theils_u, wilson_interval,
)

ACTUAL = np.array([10.0, 12.0, 11.0, 13.0])
FORECAST = np.array([11.0, 11.0, 11.0, 15.0])


def random_prices(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))


# ---------------------------------------------------------------------- point errors
def test_point_errors_match_hand_computed_values():
    # errors -1, 1, 0, -2
    assert mse(ACTUAL, FORECAST) == pytest.approx(6 / 4)
    assert rmse(ACTUAL, FORECAST) == pytest.approx(math.sqrt(1.5))
    assert mae(ACTUAL, FORECAST) == pytest.approx(1.0)
    assert mape(ACTUAL, FORECAST) == pytest.approx(100 * (1 / 10 + 1 / 12 + 0 + 2 / 13) / 4)


def test_point_errors_match_scikit_learn():
    rng = np.random.default_rng(1)
    actual, forecast = random_prices(50, 1), random_prices(50, 1) + rng.normal(0, 1, 50)
    assert mse(actual, forecast) == pytest.approx(mean_squared_error(actual, forecast))
    assert rmse(actual, forecast) == pytest.approx(math.sqrt(mean_squared_error(actual, forecast)))
    assert mae(actual, forecast) == pytest.approx(mean_absolute_error(actual, forecast))
    assert mape(actual, forecast) == pytest.approx(100 * mean_absolute_percentage_error(actual, forecast))


def test_mase_scales_by_training_naive_error():
    train = np.array([1.0, 2.0, 4.0, 7.0])          # one-step changes 1, 2, 3 -> scale 2
    assert mase(ACTUAL, FORECAST, train) == pytest.approx(1.0 / 2)
    assert mase(ACTUAL, FORECAST, train, season=2) == pytest.approx(1.0 / 4)   # |4-1|, |7-2| -> 4


def test_theils_u_is_rmse_ratio_to_persistence():
    persistence = np.array([9.0, 10.0, 12.0, 11.0])   # errors 1, 2, -1, 2 -> mse 10/4
    assert theils_u(ACTUAL, FORECAST, persistence) == pytest.approx(math.sqrt(1.5 / 2.5))
    assert theils_u(ACTUAL, persistence, persistence) == pytest.approx(1.0)


def test_metrics_refuse_rows_of_different_length():
    with pytest.raises(ValueError, match="4 rows but forecast has 3"):
        rmse(ACTUAL, FORECAST[:3])


# ---------------------------------------------------------------------- direction
def test_directional_accuracy_counts_hits_and_excludes_flat_rows():
    previous = np.array([10.0, 10.0, 10.0, 10.0, 10.0, 10.0])
    actual = np.array([11.0, 9.0, 12.0, 10.0, 11.0, 8.0])
    forecast = np.array([10.5, 10.5, 10.0, 9.0, 9.5, 9.0])
    # rows: hit, miss, flat forecast, flat actual, miss, hit
    result = directional_accuracy(actual, forecast, previous)
    assert (result.hits, result.n, result.flat_forecast, result.flat_actual) == (2, 4, 1, 1)
    assert result.value == pytest.approx(0.5)


def test_directional_accuracy_of_persistence_is_undefined_not_zero():
    previous = np.array([1.0, 2.0, 3.0])
    result = directional_accuracy(np.array([2.0, 3.0, 2.0]), previous, previous)
    assert result.n == 0 and math.isnan(result.value) and result.to_dict()["value"] is None


def test_wilson_interval_matches_statsmodels_for_60_of_100():
    lo, hi = wilson_interval(60, 100)
    expected = proportion_confint(60, 100, alpha=0.05, method="wilson")
    assert (lo, hi) == pytest.approx(expected)
    assert (lo, hi) == pytest.approx((0.5020, 0.6906), abs=1e-4)


def test_wilson_interval_matches_statsmodels_at_other_confidence():
    assert wilson_interval(3, 20, confidence=0.9) == pytest.approx(
        proportion_confint(3, 20, alpha=0.1, method="wilson"))


def test_binomial_p_value_is_two_sided_exact():
    hand = 2 * sum(math.comb(100, k) for k in range(60, 101)) / 2 ** 100
    assert binomial_p_value(60, 100) == pytest.approx(hand)


def test_wilson_interval_rejects_more_hits_than_trials():
    with pytest.raises(ValueError, match="hits <= n"):
        wilson_interval(11, 10)


# ---------------------------------------------------------------------- Diebold-Mariano
def test_dm_rejects_when_forecast_a_is_truly_better_and_sign_says_so():
    rng = np.random.default_rng(0)
    actual = rng.normal(0, 1, 500)
    good = actual + rng.normal(0, 0.5, 500)
    bad = actual + rng.normal(0, 1.0, 500)
    result = diebold_mariano(actual, good, bad)
    assert result.p_value < 0.01 and result.statistic < 0 and result.mean_loss_diff < 0
    assert diebold_mariano(actual, bad, good).statistic > 0


def test_dm_rejects_equal_forecasts_about_five_percent_of_the_time():
    rejections = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        actual = rng.normal(0, 1, 250)
        a = actual + rng.normal(0, 1, 250)
        b = actual + rng.normal(0, 1, 250)
        rejections += diebold_mariano(actual, a, b).p_value < 0.05
    assert 0.02 <= rejections / 200 <= 0.09


def test_dm_statistic_matches_the_hln_formula_by_hand():
    actual = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    a = actual + np.array([0.5, -0.2, 0.1, 0.9, -0.4, 0.3, 0.0, -0.6])
    b = actual + np.array([0.1, 0.8, -0.7, 0.2, 0.5, -0.9, 0.4, 0.3])
    n, h = 8, 2
    d = (actual - a) ** 2 - (actual - b) ** 2
    dbar = d.mean()
    gamma0 = np.sum((d - dbar) ** 2) / n
    gamma1 = np.sum((d[1:] - dbar) * (d[:-1] - dbar)) / n
    dm = dbar / math.sqrt((gamma0 + 2 * gamma1) / n)
    hln = dm * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    result = diebold_mariano(actual, a, b, horizon=h)
    assert result.statistic == pytest.approx(hln)
    from scipy import stats
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(hln), df=n - 1))


def test_hln_correction_factor_formula():
    assert hln_correction(100, 1) == pytest.approx(math.sqrt(99 / 100))
    assert hln_correction(50, 3) == pytest.approx(math.sqrt((50 + 1 - 6 + 6 / 50) / 50))


def test_dm_absolute_loss_uses_absolute_errors():
    actual = np.zeros(6)
    a = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    b = np.array([2.0, -2.0, 3.0, -2.0, 2.0, -3.0])
    assert diebold_mariano(actual, a, b, loss="absolute").mean_loss_diff == pytest.approx(-8 / 6)


def test_dm_of_identical_forecasts_is_zero_with_p_one():
    actual = random_prices(20, 3)
    same = actual + 1
    result = diebold_mariano(actual, same, same)
    assert result.statistic == 0 and result.p_value == 1


# ---------------------------------------------------------------------- scoring every forecaster
def test_score_forecasts_gives_each_forecaster_every_metric_on_the_same_rows():
    actual, previous = ACTUAL, np.array([9.0, 10.0, 12.0, 11.0])
    scores = score_forecasts(actual, {"model": FORECAST, "persistence": previous}, previous,
                             train_close=np.array([1.0, 2.0, 4.0, 7.0]))
    assert set(scores) == {"model", "persistence"}
    assert set(scores["model"]) == {"mse", "rmse", "mae", "mape", "mase", "directional_accuracy"}
    assert scores["model"]["rmse"] == pytest.approx(math.sqrt(1.5))
    assert scores["persistence"]["directional_accuracy"] is None


def test_score_forecasts_refuses_a_forecaster_with_fewer_rows():
    with pytest.raises(ValueError, match="'short'"):
        score_forecasts(ACTUAL, {"model": FORECAST, "short": FORECAST[:3]}, ACTUAL, np.arange(1.0, 6.0))


def test_score_forecasts_refuses_nans():
    broken = FORECAST.copy()
    broken[1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        score_forecasts(ACTUAL, {"model": broken}, ACTUAL, np.arange(1.0, 6.0))


# ---------------------------------------------------------------------- lag diagnostic
def _series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2020-01-01", periods=len(values), freq="B"))


def test_lag_diagnostic_flags_a_forecast_that_is_yesterdays_price():
    actual = _series(random_prices(300, 4))
    trailing = actual.shift(1).bfill()
    result = lag_diagnostic(actual, trailing)
    assert result["trailing"] is True and result["best_lag"] == 1
    assert "trails" in result["verdict"]
    by_lag = {row["lag"]: row for row in result["by_lag"]}
    assert by_lag[1]["rmse"] == pytest.approx(0.0) and by_lag[1]["change_correlation"] == pytest.approx(1.0)


def test_the_lag_verdict_of_intraday_bars_speaks_of_bars():
    actual = _series(random_prices(300, 4))
    trailing = lag_diagnostic(actual, actual.shift(1).bfill(), unit="bar")["verdict"]
    assert "previous bar's actual" in trailing and "the last bar's price" in trailing
    assert "day" not in trailing and "yesterday" not in trailing
    assert "yesterday's price" in lag_diagnostic(actual, actual.shift(1).bfill())["verdict"]


def test_lag_diagnostic_does_not_flag_the_actual_itself():
    actual = _series(random_prices(300, 5))
    result = lag_diagnostic(actual, actual)
    assert result["trailing"] is False and result["best_lag"] == 0


def test_lag_diagnostic_does_not_flag_a_forecast_with_real_skill():
    actual = _series(random_prices(300, 6))
    rng = np.random.default_rng(6)
    skilled = actual + rng.normal(0, 0.1, len(actual))      # daily moves are ~1.0, the noise 0.1
    result = lag_diagnostic(actual, skilled)
    assert result["trailing"] is False and "does not trail" in result["verdict"]


def test_lag_diagnostic_uses_the_same_rows_for_every_lag():
    actual = _series(random_prices(50, 7))
    result = lag_diagnostic(actual, actual, lags=range(-2, 3))
    assert result["n"] == 50 - 4


# ---------------------------------------------------------------------- error by horizon
def test_error_by_horizon_is_rmse_per_step():
    actual = np.array([[1.0, 2.0], [3.0, 4.0]])
    forecast = np.array([[2.0, 2.0], [3.0, 1.0]])      # step 1 errors 1, 0; step 2 errors 0, 3
    frame = error_by_horizon(actual, {"model": forecast, "perfect": actual})
    assert list(frame.index) == [1, 2]
    np.testing.assert_allclose(frame["model"], [math.sqrt(0.5), math.sqrt(4.5)])
    np.testing.assert_allclose(frame["perfect"], [0.0, 0.0])


def test_lag_diagnostic_aligns_series_on_their_dates():
    actual = _series(random_prices(100, 8))
    forecast = actual.shift(1).iloc[1:]          # starts one day later, so positions differ
    result = lag_diagnostic(actual, forecast)
    assert result["trailing"] is True and result["rmse_lag1"] == pytest.approx(0.0)



# ---------------------------------------------------------------------- coverage_test: does a band hold?
def test_coverage_test_says_a_band_holds_when_its_hits_are_near_nominal():
    from helpers.metrics import coverage_test
    result = coverage_test(78, 100, 0.8)
    assert result["verdict"] == "holds" and result["p_value"] > 0.05
    assert result["wording"] == "consistent with its nominal level"


def test_coverage_test_calls_a_band_too_narrow_or_too_wide_only_when_the_binomial_test_rejects():
    from helpers.metrics import coverage_test
    assert coverage_test(60, 100, 0.8)["verdict"] == "too_narrow"
    assert coverage_test(98, 100, 0.8)["verdict"] == "too_wide"
    # The same 70% coverage: rejected on 500 days, not on 20.
    assert coverage_test(350, 500, 0.8)["verdict"] == "too_narrow"
    assert coverage_test(14, 20, 0.8)["verdict"] == "holds"


def test_coverage_test_refuses_a_percent_as_nominal_and_an_empty_sample():
    from helpers.metrics import coverage_test
    with pytest.raises(ValueError, match="nominal"):
        coverage_test(8, 10, 80)
    with pytest.raises(ValueError, match="no day"):
        coverage_test(0, 0, 0.8)
