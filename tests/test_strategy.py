"""The teaching strategy backtest on hand-made series: positions, costs, and every statistic."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from helpers.strategy import (DISCLAIMER, chance_sentence, random_timing, strategy_backtest,
                              trading_days_per_year)

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


# ---------------------------------------------------------------------- the yardstick: random timing
def market_days(n: int, seed: int, drift: float = 0.0005) -> np.ndarray:
    """Simple daily returns of a market with a small upward drift."""
    return np.random.default_rng(seed).normal(drift, 0.01, n)


def test_a_strategy_with_planted_skill_beats_random_timing():
    market = market_days(500, seed=1)
    rng = np.random.default_rng(2)
    knows = rng.random(500) < 0.3                      # knows the day's direction on 30% of days
    position = np.where(knows, (market > 0).astype(float), (rng.random(500) < 0.5).astype(float))
    chance = random_timing(position, market, 5.0, 252, n_draws=999, seed=0)
    assert chance.p_total_return < 0.01 and chance.beat_chance
    assert chance.p_sharpe < 0.01


def test_a_strategy_without_skill_beats_random_timing_at_the_nominal_rate():
    """Random long/flat positions on 200 independent test periods: 'beats chance' on about 5% of them."""
    rejected = 0
    for seed in range(200):
        market = market_days(250, seed=1000 + seed)
        position = (np.random.default_rng(seed).random(250) < 0.6).astype(float)
        rejected += random_timing(position, market, 5.0, 252, n_draws=199, seed=seed).beat_chance
    assert 2 <= rejected <= 20          # 5% of 200 is 10; binomial 99.9% range about 2..21


def test_random_timing_keeps_the_strategys_costs_and_exposure():
    """Every draw uses the same positions, so each pays the same costs: with a market that never moves every
    draw (and the strategy) lose exactly the costs, and the p-value is 1."""
    position = np.array([1.0, 1.0, 0.0, 1.0, 0.0])
    chance = random_timing(position, np.zeros(5), 10.0, 252, n_draws=50, seed=0)
    np.testing.assert_allclose(chance.total_return, (1 - 0.001) ** 4 - 1)
    assert chance.observed_total_return == pytest.approx((1 - 0.001) ** 4 - 1)
    assert chance.p_total_return == 1.0 and not chance.beat_chance


def test_random_timing_is_reproducible_with_its_seed():
    market, position = market_days(100, seed=3), (np.arange(100) % 3 == 0).astype(float)
    a = random_timing(position, market, 5.0, 252, n_draws=300, seed=7)
    b = random_timing(position, market, 5.0, 252, n_draws=300, seed=7)
    np.testing.assert_array_equal(a.total_return, b.total_return)
    assert a.p_total_return == b.p_total_return


def test_chance_sentence_says_whether_the_strategy_beat_chance_and_names_the_costs():
    n = 300
    dates = pd.bdate_range("2024-01-01", periods=n)
    previous = 100 * np.exp(np.cumsum(np.random.default_rng(4).normal(0, 0.01, n)))
    actual = previous * (1 + market_days(n, seed=5))
    perfect = strategy_backtest(dates, actual, previous, actual, chance_draws=500)
    assert "beat chance at the 5% level" in chance_sentence(perfect)
    assert "did not beat chance" not in chance_sentence(perfect)
    assert "costs of 5 bp per unit of position change" in chance_sentence(perfect)
    assert "252 trading days a year" in chance_sentence(perfect)
    coin = np.where(np.random.default_rng(6).random(n) < 0.5, previous * 1.01, previous * 0.99)
    luck = strategy_backtest(dates, actual, previous, coin, chance_draws=500, seed=1)
    assert luck.chance.p_total_return > 0.05
    assert "did not beat chance at the 5% level" in chance_sentence(luck)
    summary = luck.to_dict()["against_chance"]
    json.dumps(summary, allow_nan=False)
    assert summary["sentence"] == chance_sentence(luck) and summary["n_draws"] == 500


def test_annualisation_follows_the_series_calendar():
    business = pd.bdate_range("2024-01-01", periods=30)
    every_day = pd.date_range("2024-01-01", periods=30, freq="D")
    assert trading_days_per_year(business) == 252 and trading_days_per_year(every_day) == 365
    previous = np.full(30, 100.0)
    result = strategy_backtest(every_day, previous * 1.001, previous, previous * 1.001, cost_bps=0)
    assert result.periods_per_year == 365


def test_costs_are_on_by_default_in_the_run_config():
    from helpers.config import RunConfig
    assert RunConfig().cost_bps > 0 and RunConfig.for_mode("quick").cost_bps > 0
