"""Panel evaluation: a planted signal of known IC is recovered, no signal is not found, the portfolio's
arithmetic (weights, turnover, costs), Newey-West against statsmodels, baselines from the past only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.panel_config import PanelConfig
from helpers.panel_evaluate import (baseline_scores, daily_accuracy, daily_ic, evaluate_panel, long_short_weights,
                                    newey_west_summary, portfolio_returns)
from helpers.panel_synthetic import synthetic_panel_closes

CONFIG = PanelConfig(window=5, train_days=10, trade_days=5, top_k=5, random_draws=200)


def _reversal_predictions(closes: pd.DataFrame, first: int = 260) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions whose score is the one-day reversal ranking -r[t], from day ``first`` on."""
    returns = closes / closes.shift(1) - 1
    following = returns.shift(-1)
    days = returns.index[first:-1]
    long = pd.DataFrame({"date": np.repeat(days, closes.shape[1]),
                         "ticker": np.tile(closes.columns, len(days)),
                         "score": (-returns.loc[days]).to_numpy().ravel(),
                         "next_day_return": following.loc[days].to_numpy().ravel()})
    long["expected_return"] = 0.0
    long["period"] = (np.arange(len(long)) // (closes.shape[1] * 250))
    return long, returns


def test_planted_one_day_reversal_ic_is_recovered_and_excludes_zero():
    rho = 0.1
    predictions, returns = _reversal_predictions(synthetic_panel_closes(1500, 50, rho=rho, seed=1))
    result = evaluate_panel(predictions, returns, CONFIG)
    lo, hi = result["ic"]["ci"]
    assert lo < rho < hi and lo > 0
    assert result["rank_ic"]["ci"][0] > 0 and result["accuracy"]["ci"][0] > 0.5
    assert result["long_short"]["p_value_random"] < 0.01
    # the reversal baseline is the very same ranking, scored the same way
    assert result["baselines"]["reversal_1d"]["ic"]["mean"] == pytest.approx(result["ic"]["mean"])


def test_no_signal_interval_covers_zero_and_random_p_value_is_not_small():
    predictions, returns = _reversal_predictions(synthetic_panel_closes(1500, 50, rho=0.0, seed=2))
    result = evaluate_panel(predictions, returns, CONFIG)
    lo, hi = result["ic"]["ci"]
    assert lo < 0 < hi
    assert result["long_short"]["p_value_random"] > 0.05
    assert "no better than chance" in result["verdict"]


def test_results_split_by_era_and_by_period():
    predictions, returns = _reversal_predictions(synthetic_panel_closes(1500, 20, rho=0.05, seed=3, start="2008-01-01"))
    result = evaluate_panel(predictions, returns, CONFIG)
    assert set(result["by_era"]) == {"before_2010", "from_2010"}
    days = result["by_era"]["before_2010"]["model"]["ic"]["n_days"] + result["by_era"]["from_2010"]["model"]["ic"]["n_days"]
    assert days == result["ic"]["n_days"]
    assert [p["period"] for p in result["by_period"]] == sorted(predictions["period"].unique().tolist())


def test_long_short_weights_take_top_and_bottom_k_and_cap_k_at_half_the_day():
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0, np.nan], [1.0, 2.0, np.nan, np.nan, np.nan, np.nan]])
    weights = long_short_weights(scores, k=2)
    assert weights[0].tolist() == [0.5, 0.5, 0.0, -0.5, -0.5, 0.0]
    assert weights[1].tolist() == [-1.0, 1.0, 0.0, 0.0, 0.0, 0.0]   # two stocks: k cut to 1


def test_costs_are_charged_per_unit_of_weight_traded():
    weights = np.array([[0.5, -0.5], [0.5, -0.5], [-0.5, 0.5]])
    following = np.array([[0.02, 0.0], [0.01, 0.01], [0.0, 0.0]])
    out = portfolio_returns(weights, following, cost_bps=10)
    assert out["turnover"].tolist() == [1.0, 0.0, 2.0]
    assert out["gross"] == pytest.approx([0.01, 0.0, 0.0])
    assert out["net"] == pytest.approx([0.01 - 0.001, 0.0, -0.002])


def test_newey_west_standard_error_matches_statsmodels_hac():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(0)
    x = np.convolve(rng.standard_normal(600), [1, 0.6, 0.3], mode="valid") + 0.1
    ours = newey_west_summary(x, lags=5)
    fit = sm.OLS(x, np.ones_like(x)).fit(cov_type="HAC", cov_kwds={"maxlags": 5})
    assert ours["t_stat"] == pytest.approx(float(fit.tvalues[0]), rel=1e-9)


def test_ic_and_accuracy_of_a_perfect_and_a_reversed_ranking():
    following = pd.DataFrame(np.random.default_rng(0).standard_normal((5, 8)))
    assert daily_ic(following, following).to_numpy() == pytest.approx(1.0)
    assert daily_ic(-following, following, rank=True).to_numpy() == pytest.approx(-1.0)
    assert daily_accuracy(following, following).to_numpy() == pytest.approx(1.0)


def test_baselines_use_returns_up_to_the_origin_only():
    returns = synthetic_panel_closes(400, 6, seed=4).pct_change()
    changed = returns.copy()
    changed.iloc[300:] *= -3
    before, after = baseline_scores(returns), baseline_scores(changed)
    for name in before:
        pd.testing.assert_frame_equal(before[name].iloc[:300], after[name].iloc[:300])


def test_pooled_single_ticker_view_sits_beside_each_tickers_own_run(tmp_path):
    from helpers.panel_evaluate import pooled_single_ticker, single_ticker_runs

    closes = synthetic_panel_closes(400, 3, seed=5)
    predictions, _ = _reversal_predictions(closes, first=100)
    run = tmp_path / "S001-2026-01-01T0000-lstm"
    run.mkdir()
    (run / "config.json").write_text('{"ticker": "S001", "mode": "quick", "cell": "lstm"}')
    (run / "metrics.json").write_text('{"theils_u": {"model": 1.004}, "verdict": "v"}')
    rows = {r["ticker"]: r for r in pooled_single_ticker(predictions, closes, single_ticker_runs(str(tmp_path)))}
    assert rows["S001"]["single_ticker_theils_u"] == 1.004 and rows["S001"]["single_ticker_run"] == run.name
    assert rows["S000"]["single_ticker_theils_u"] is None
    # expected return 0: the forecast is persistence itself, so U is exactly 1
    assert rows["S000"]["theils_u"] == pytest.approx(1.0)
