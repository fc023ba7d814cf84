"""The teaching strategy backtest on hand-made series: positions, costs, and every statistic."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from helpers.strategy import DISCLAIMER, strategy_backtest

# Closes 100, 110, 99, 108.9, 98.01: the market goes +10%, -10%, +10%, -10%.
CLOSES = np.array([100.0, 110.0, 99.0, 108.9, 98.01])
PREVIOUS, ACTUAL = CLOSES[:-1], CLOSES[1:]
DATES = pd.date_range("2024-01-01", periods=4, freq="B")
PERFECT = ACTUAL                                    # a forecast that knows every direction
WRONG = 2 * PREVIOUS - ACTUAL                       # always the opposite direction


def test_long_flat_is_long_when_up_is_predicted_and_flat_otherwise():
    result = strategy_backtest(DATES, ACTUAL, PREVIOUS, PERFECT, cost_bps=0)
    np.testing.assert_array_equal(result.positions, [1, 0, 1, 0])
    np.testing.assert_allclose(result.returns["strategy"], [0.1, 0.0, 0.1, 0.0])
    assert result.strategy["total_return"] == pytest.approx(1.1 * 1.1 - 1)


def test_long_short_goes_short_when_down_is_predicted():
    result = strategy_backtest(DATES, ACTUAL, PREVIOUS, WRONG, mode="long_short", cost_bps=0)
    np.testing.assert_array_equal(result.positions, [-1, 1, -1, 1])
    np.testing.assert_allclose(result.returns["strategy"], [-0.1, -0.1, -0.1, -0.1])


def test_costs_are_charged_on_every_change_of_position_including_entry():
    result = strategy_backtest(DATES, ACTUAL, PREVIOUS, PERFECT, mode="long_short", cost_bps=10)
    # positions 1, -1, 1, -1: changes 1, 2, 2, 2 units at 10 bps each
    np.testing.assert_allclose(result.returns["strategy"], [0.1 - 0.001, 0.1 - 0.002, 0.1 - 0.002, 0.1 - 0.002])
    assert result.strategy["turnover"] == pytest.approx(7 / 4)
    assert result.strategy["n_trades"] == 4


def test_no_cost_while_the_position_is_held():
    forecast = PREVIOUS + 1                          # always predicts up: long every day
    result = strategy_backtest(DATES, ACTUAL, PREVIOUS, forecast, cost_bps=50)
    np.testing.assert_allclose(result.returns["strategy"], [0.1 - 0.005, -0.1, 0.1, -0.1])
    assert result.strategy["n_trades"] == 1


def test_buy_and_hold_on_the_same_rows_with_its_drawdown():
    result = strategy_backtest(DATES, ACTUAL, PREVIOUS, PERFECT, cost_bps=0)
    np.testing.assert_allclose(result.equity["buy_and_hold"], [1.1, 0.99, 1.089, 0.9801])
    assert result.buy_and_hold["total_return"] == pytest.approx(0.9801 - 1)
    assert result.buy_and_hold["max_drawdown"] == pytest.approx(0.9801 / 1.1 - 1)
    assert result.strategy["max_drawdown"] == pytest.approx(0.0)


def test_drawdown_counts_a_loss_on_the_first_day():
    result = strategy_backtest(DATES, ACTUAL, PREVIOUS, WRONG, mode="long_short", cost_bps=0)
    assert result.strategy["max_drawdown"] == pytest.approx(0.9 ** 4 - 1)


def test_sharpe_sortino_volatility_and_hit_rate_match_hand_values():
    forecast = PREVIOUS + 1
    result = strategy_backtest(DATES, ACTUAL, PREVIOUS, forecast, cost_bps=0)
    r = np.array([0.1, -0.1, 0.1, -0.1])
    stats = result.strategy
    assert stats["annual_volatility"] == pytest.approx(r.std(ddof=1) * math.sqrt(252))
    assert stats["sharpe"] == pytest.approx(0.0, abs=1e-12)
    assert stats["sortino"] == pytest.approx(r.mean() / math.sqrt(np.mean(np.minimum(r, 0) ** 2)) * math.sqrt(252),
                                             abs=1e-12)
    assert stats["hit_rate"] == pytest.approx(0.5)


def test_hit_rate_counts_only_days_in_the_market():
    result = strategy_backtest(DATES, ACTUAL, PREVIOUS, PERFECT, cost_bps=0)
    assert result.strategy["days_in_market"] == 2 and result.strategy["hit_rate"] == pytest.approx(1.0)


def test_cagr_annualises_by_periods_per_year():
    n = 126
    previous = 100 * 1.001 ** np.arange(n)
    actual = previous * 1.001
    dates = pd.date_range("2024-01-01", periods=n, freq="B")
    result = strategy_backtest(dates, actual, previous, actual, cost_bps=0)
    assert result.strategy["total_return"] == pytest.approx(1.001 ** n - 1)
    assert result.strategy["cagr"] == pytest.approx(1.001 ** 252 - 1)
    crypto = strategy_backtest(dates, actual, previous, actual, cost_bps=0, periods_per_year=365)
    assert crypto.strategy["cagr"] == pytest.approx(1.001 ** 365 - 1)


def test_todays_position_ignores_todays_and_later_actual_prices():
    rng = np.random.default_rng(0)
    previous = 100 + rng.normal(0, 1, 50).cumsum()
    actual = np.append(previous[1:], previous[-1] + 1)
    forecast = previous + rng.normal(0, 1, 50)
    dates = pd.date_range("2024-01-01", periods=50, freq="B")
    before = strategy_backtest(dates, actual, previous, forecast)
    changed = actual.copy()
    changed[30:] *= 1.3
    after = strategy_backtest(dates, changed, previous, forecast)
    np.testing.assert_array_equal(before.positions, after.positions)
    np.testing.assert_array_equal(before.returns["strategy"][:30], after.returns["strategy"][:30])


def test_equity_frame_and_summary_are_ready_for_the_report():
    result = strategy_backtest(DATES, ACTUAL, PREVIOUS, PERFECT)
    assert list(result.equity.columns) == ["date", "strategy", "buy_and_hold"]
    summary = result.to_dict()
    json.dumps(summary, allow_nan=False)
    assert (summary["start"], summary["end"], summary["n_days"]) == ("2024-01-01", "2024-01-04", 4)
    assert summary["disclaimer"] == DISCLAIMER
    assert DISCLAIMER.startswith("A teaching backtest on past prices, not investment advice: ")


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="'short_only'"):
        strategy_backtest(DATES, ACTUAL, PREVIOUS, PERFECT, mode="short_only")


def test_rows_of_different_length_are_refused():
    with pytest.raises(ValueError, match="forecast has 3 rows, dates has 4"):
        strategy_backtest(DATES, ACTUAL, PREVIOUS, PERFECT[:3])
