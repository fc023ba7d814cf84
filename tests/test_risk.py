"""VaR/ES forecasters use only the past, and their backtests match the textbook formulas."""

import math

import numpy as np
import pandas as pd
import pytest
from arch.univariate import StudentsT
from scipy import integrate, stats

from helpers.risk import (backtest_var, christoffersen_conditional_coverage, christoffersen_independence,
                          es_column, fit_garch, garch_var_es, historical_var_es, kupiec_pof, risk_table,
                          var_column, var_es_from_samples)


def _garch_returns(n=800, seed=0):
    """Daily log returns from a GARCH(1,1) with realistic parameters, indexed by business days."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 1e-6, 0.08, 0.9
    variance = omega / (1 - alpha - beta)
    out = np.empty(n)
    for t in range(n):
        out[t] = 0.0003 + math.sqrt(variance) * rng.standard_normal()
        variance = omega + alpha * (out[t] - 0.0003) ** 2 + beta * variance
    return pd.Series(out, index=pd.bdate_range("2015-01-01", periods=n, name="date"), name="log_return")


# ---------------------------------------------------------------------- Kupiec
def _kupiec_by_hand(n, x, p):
    observed = x / n
    null = (n - x) * math.log(1 - p) + x * math.log(p)
    alt = (n - x) * math.log(1 - observed) + x * math.log(observed)
    return -2 * (null - alt)


def test_kupiec_matches_the_formula_on_a_worked_example():
    hits = np.zeros(40, dtype=bool)
    hits[[3, 17, 30, 31, 38]] = True
    result = kupiec_pof(hits, 0.95)
    expected = _kupiec_by_hand(40, 5, 0.05)
    assert result["statistic"] == pytest.approx(expected)
    assert result["p_value"] == pytest.approx(stats.chi2.sf(expected, 1))
    assert (result["n"], result["x"], result["expected"]) == (40, 5, pytest.approx(2.0))


def test_kupiec_textbook_case_250_days_6_exceedances_at_99_percent():
    hits = np.zeros(250, dtype=bool)
    hits[:6] = True
    result = kupiec_pof(hits, 0.99)
    assert result["statistic"] == pytest.approx(3.555, abs=1e-3)
    assert result["p_value"] == pytest.approx(0.0594, abs=1e-3)


def test_kupiec_rejects_8_exceedances_in_250_days_at_99_percent():
    hits = np.zeros(250, dtype=bool)
    hits[:8] = True
    result = kupiec_pof(hits, 0.99)
    assert result["statistic"] == pytest.approx(7.734, abs=1e-3)
    assert result["p_value"] < 0.01


def test_kupiec_handles_no_exceedances_and_all_exceedances():
    none = kupiec_pof(np.zeros(100, dtype=bool), 0.99)
    assert none["statistic"] == pytest.approx(-2 * 100 * math.log(0.99))
    every = kupiec_pof(np.ones(10, dtype=bool), 0.95)
    assert every["statistic"] == pytest.approx(-2 * 10 * math.log(0.05))
    assert every["p_value"] < 1e-10


def test_kupiec_rejects_nan_flags_with_a_clear_error():
    with pytest.raises(ValueError, match="True/False"):
        kupiec_pof(np.array([0.0, np.nan, 1.0]), 0.95)


# ---------------------------------------------------------------------- Christoffersen
def test_christoffersen_matches_the_formula_on_a_worked_example():
    hits = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0], dtype=bool)
    # transitions: n00 = 8, n01 = 4, n10 = 4, n11 = 3 (19 pairs)
    n00, n01, n10, n11 = 8, 4, 4, 3
    pi01, pi11, pi = n01 / (n00 + n01), n11 / (n10 + n11), (n01 + n11) / 19
    null = (n00 + n10) * math.log(1 - pi) + (n01 + n11) * math.log(pi)
    alt = (n00 * math.log(1 - pi01) + n01 * math.log(pi01) + n10 * math.log(1 - pi11) + n11 * math.log(pi11))
    expected = -2 * (null - alt)
    result = christoffersen_independence(hits)
    assert (result["n00"], result["n01"], result["n10"], result["n11"]) == (n00, n01, n10, n11)
    assert result["statistic"] == pytest.approx(expected)
    assert result["p_value"] == pytest.approx(stats.chi2.sf(expected, 1))


def test_christoffersen_handles_zero_counts():
    quiet = christoffersen_independence(np.zeros(50, dtype=bool))
    assert (quiet["statistic"], quiet["p_value"]) == (0.0, 1.0)
    isolated = np.zeros(50, dtype=bool)
    isolated[[10, 30]] = True  # n11 = 0
    result = christoffersen_independence(isolated)
    assert result["n11"] == 0 and np.isfinite(result["statistic"])
    pi01, pi = 2 / 47, 2 / 49
    expected = -2 * ((47 * math.log(1 - pi) + 2 * math.log(pi))
                     - (45 * math.log(1 - pi01) + 2 * math.log(pi01)))
    assert result["statistic"] == pytest.approx(expected)


def test_christoffersen_detects_clustered_exceedances():
    clustered = np.zeros(250, dtype=bool)
    clustered[100:110] = True
    assert christoffersen_independence(clustered)["p_value"] < 0.001


def test_conditional_coverage_adds_the_two_statistics_with_two_degrees_of_freedom():
    hits = np.zeros(250, dtype=bool)
    hits[[5, 6, 90, 200]] = True
    expected = kupiec_pof(hits, 0.99)["statistic"] + christoffersen_independence(hits)["statistic"]
    result = christoffersen_conditional_coverage(hits, 0.99)
    assert result["statistic"] == pytest.approx(expected)
    assert result["p_value"] == pytest.approx(stats.chi2.sf(expected, 2))


# ---------------------------------------------------------------------- backtest_var and risk_table
def test_exceedances_are_counted_on_test_rows_only():
    dates = pd.bdate_range("2020-01-01", periods=10)
    realized = pd.Series([-0.5, -0.5, -0.5, 0.01, -0.03, 0.02, -0.01, -0.05, 0.0, 0.01], index=dates)
    var = pd.Series([np.nan] * 3 + [0.02] * 7, index=dates)  # no forecast on the three training rows
    result = backtest_var(realized, var, 0.95)
    assert result["n"] == 7
    assert result["exceedances"] == 2
    assert result["exceedance_dates"] == [dates[4].strftime("%Y-%m-%d"), dates[7].strftime("%Y-%m-%d")]
    assert result["rate"] == pytest.approx(2 / 7)
    assert result["expected_rate"] == pytest.approx(0.05)
    assert result["kupiec"]["x"] == 2


def test_a_loss_equal_to_the_var_is_not_an_exceedance():
    dates = pd.bdate_range("2020-01-01", periods=3)
    result = backtest_var(pd.Series([-0.02, -0.021, 0.0], index=dates), pd.Series(0.02, index=dates), 0.99)
    assert result["exceedances"] == 1


def test_backtest_rejects_series_without_shared_dates():
    realized = pd.Series([0.01, 0.02], index=pd.bdate_range("2020-01-01", periods=2))
    var = pd.Series([0.01, 0.02], index=pd.bdate_range("2021-01-01", periods=2))
    with pytest.raises(ValueError, match="share no index labels"):
        backtest_var(realized, var, 0.95)


def test_risk_table_has_one_row_per_method_and_level_on_common_rows():
    returns = _garch_returns(600)
    historical = historical_var_es(returns, window=100)
    garch = garch_var_es(returns, train_end=400)
    table = risk_table(returns, {"historical": historical, "garch": garch}, levels=(0.95, 0.99))
    assert list(zip(table["method"], table["level"])) == [
        ("historical", 0.95), ("garch", 0.95), ("historical", 0.99), ("garch", 0.99)]
    assert (table["n"] == 200).all()  # historical also covers rows 100..399, left out to match garch
    separate = risk_table(returns, {"historical": historical, "garch": garch}, levels=(0.95,), common_rows=False)
    assert list(separate["n"]) == [500, 200]


def test_risk_table_names_a_missing_level_column():
    returns = _garch_returns(300)
    with pytest.raises(KeyError, match="var_97.5"):
        risk_table(returns, {"historical": historical_var_es(returns, 100)}, levels=(0.975,))


# ---------------------------------------------------------------------- VaR/ES forecasters
def test_var_from_samples_is_the_empirical_quantile_and_es_the_tail_mean():
    rng = np.random.default_rng(3)
    samples = rng.normal(0.0, 0.01, size=(4, 200))
    frame = var_es_from_samples(samples, levels=(0.95, 0.99))
    for day in range(4):
        for level in (0.95, 0.99):
            quantile = np.quantile(samples[day], 1 - level)
            assert frame[var_column(level)].iloc[day] == pytest.approx(-quantile)
            tail = samples[day][samples[day] <= quantile]
            assert frame[es_column(level)].iloc[day] == pytest.approx(-tail.mean())
    assert (frame["es_99"] >= frame["var_99"]).all()


def test_var_from_samples_gives_nan_for_a_day_with_missing_samples():
    samples = np.array([[0.01, -0.02, 0.0, 0.005], [0.01, np.nan, 0.0, 0.005]])
    frame = var_es_from_samples(samples, levels=(0.95,), index=pd.bdate_range("2020-01-01", periods=2))
    assert np.isfinite(frame["var_95"].iloc[0]) and np.isnan(frame["var_95"].iloc[1])


def test_historical_var_uses_the_previous_window_only():
    returns = _garch_returns(400)
    frame = historical_var_es(returns, window=100, levels=(0.99,))
    assert frame["var_99"].iloc[:100].isna().all()
    expected = [-np.quantile(returns.iloc[i - 100:i], 0.01) for i in range(100, 400)]
    np.testing.assert_allclose(frame["var_99"].iloc[100:], expected)


def test_historical_var_at_t_is_unchanged_when_the_future_is_perturbed():
    returns = _garch_returns(400)
    cut = 250
    perturbed = returns.copy()
    perturbed.iloc[cut:] = perturbed.iloc[cut:] * 5 - 0.1
    before = historical_var_es(returns, window=100)
    after = historical_var_es(perturbed, window=100)
    pd.testing.assert_frame_equal(before.iloc[:cut + 1], after.iloc[:cut + 1])
    assert not before.iloc[cut + 1:].equals(after.iloc[cut + 1:])


def test_missing_returns_are_an_error_saying_to_drop_them():
    returns = _garch_returns(300)
    returns.iloc[0] = np.nan
    with pytest.raises(ValueError, match="dropna"):
        historical_var_es(returns, window=100)


def test_garch_parameters_are_unchanged_when_test_rows_are_perturbed():
    returns = _garch_returns(700)
    perturbed = returns.copy()
    perturbed.iloc[500:] = perturbed.iloc[500:] * 4 + 0.05
    before = fit_garch(returns, 500).params
    after = fit_garch(perturbed, 500).params
    pd.testing.assert_series_equal(before, after)
    assert garch_var_es(returns, 500).attrs["garch_params"] == garch_var_es(perturbed, 500).attrs["garch_params"]


def test_garch_var_for_a_day_uses_returns_before_that_day_only():
    returns = _garch_returns(700)
    cut = 600
    perturbed = returns.copy()
    perturbed.iloc[cut:] = perturbed.iloc[cut:] * 4 - 0.05
    before = garch_var_es(returns, 500)
    after = garch_var_es(perturbed, 500)
    pd.testing.assert_frame_equal(before.iloc[:cut + 1], after.iloc[:cut + 1])
    assert not np.allclose(before["var_99"].iloc[cut + 1:], after["var_99"].iloc[cut + 1:])


def test_garch_forecasts_only_the_test_rows():
    returns = _garch_returns(700)
    frame = garch_var_es(returns, 500)
    assert frame.index.equals(returns.index)
    assert frame.iloc[:500].isna().all().all()
    assert frame.iloc[500:].notna().all().all()


def test_garch_normal_var_and_es_come_from_the_normal_distribution():
    frame = garch_var_es(_garch_returns(700), 500, levels=(0.99,), dist="normal")
    z = stats.norm.ppf(0.01)
    np.testing.assert_allclose(frame["var_99"], -(frame["mean"] + frame["volatility"] * z))
    np.testing.assert_allclose(frame["es_99"], -(frame["mean"] - frame["volatility"] * stats.norm.pdf(z) / 0.01))


def test_garch_t_var_and_es_come_from_archs_standardised_t():
    frame = garch_var_es(_garch_returns(700), 500, levels=(0.95,), dist="t")
    nu = frame.attrs["garch_params"]["nu"]
    distribution = StudentsT()
    z = distribution.ppf(0.05, [nu])
    tail_mean = integrate.quad(lambda u: distribution.ppf(u, [nu]), 0, 0.05)[0] / 0.05
    np.testing.assert_allclose(frame["var_95"], -(frame["mean"] + frame["volatility"] * z), rtol=1e-6)
    np.testing.assert_allclose(frame["es_95"], -(frame["mean"] + frame["volatility"] * tail_mean), rtol=1e-5)


def test_garch_volatility_is_in_log_return_units():
    returns = _garch_returns(700)
    frame = garch_var_es(returns, 500)
    assert 0.3 < frame["volatility"].iloc[500:].mean() / returns.iloc[500:].std() < 3


def test_garch_with_too_few_training_rows_says_how_many_it_needs():
    with pytest.raises(ValueError, match="at least 100 training returns"):
        garch_var_es(_garch_returns(300), 50)
