"""Study periods, standardisation, streamed windows and the pooled network: no look-ahead, and a planted
signal is learnt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.panel_config import PanelConfig
from helpers.panel_data import align_panel
from helpers.panel_evaluate import evaluate_panel
from helpers.panel_model import run_study
from helpers.panel_synthetic import synthetic_panel_closes
from helpers.panel_windows import PanelBatches, PanelWindows, ReturnStandardizer, study_periods

TINY = PanelConfig(window=5, train_days=60, trade_days=30, units=(4,), epochs=2, patience=1, batch_size=128,
                   random_draws=50)


def test_study_periods_roll_by_the_trading_block_and_end_with_the_data():
    periods = study_periods(1000, 750, 100)
    assert [(p.start, p.train_end, p.end) for p in periods] == [(0, 750, 850), (100, 850, 950), (200, 950, 1000)]
    assert [p.index for p in study_periods(1000, 750, 100, max_periods=2)] == [0, 1]
    with pytest.raises(ValueError, match="train_days"):
        study_periods(500, 750, 100)


def test_standardisation_statistics_ignore_the_trading_block():
    returns = synthetic_panel_closes(300, 8, seed=1).pct_change().to_numpy()
    period = study_periods(300, 200, 100)[0]
    changed = returns.copy()
    changed[period.train_end:] = changed[period.train_end:] * 50 + 1
    assert ReturnStandardizer.fit(returns, period) == ReturnStandardizer.fit(changed, period)


def test_samples_keep_targets_inside_their_block_and_need_complete_windows():
    returns = synthetic_panel_closes(200, 4, seed=2).pct_change().to_numpy().copy()
    returns[120, 2] = np.nan   # a gap: ticker 2 has no sample whose window or target touches day 120
    period = study_periods(200, 100, 50)[0]
    windows = PanelWindows(returns, period, window=10, target="classification")
    origins, tickers = windows.samples("train")
    assert origins.min() >= 10 and origins.max() + 1 <= period.train_end - 1   # day 0 has no return
    trade_o, trade_t = windows.samples("trade")
    assert trade_o.min() + 1 == period.train_end and trade_o.max() + 1 == period.end - 1
    touched = trade_t == 2
    assert not np.any((trade_o[touched] >= 119) & (trade_o[touched] <= 129))
    assert np.nanmean(windows.targets_[trade_o, trade_t]) == pytest.approx(0.5, abs=0.02)   # median split


def test_windows_are_views_and_batches_gather_one_batch_at_a_time():
    returns = synthetic_panel_closes(300, 50, seed=3).pct_change().to_numpy()
    windows = PanelWindows(returns, study_periods(300, 200, 100)[0], window=30, target="regression")
    assert np.shares_memory(windows.view_, windows.data_)
    origins, tickers = windows.samples("train")
    batches = PanelBatches(windows, origins, tickers, 64, shuffle=True, seed=0)
    x, y = batches[0]
    assert x.shape == (64, 30, 1) and y.shape == (64, 1) and len(batches) == -(-origins.size // 64)
    o, t = origins[batches._order[:64]], tickers[batches._order[:64]]
    z = (returns - windows.standardizer_.mean_) / windows.standardizer_.sd_
    assert x[5, :, 0] == pytest.approx(z[o[5] - 29:o[5] + 1, t[5]], rel=1e-5)


@pytest.mark.slow
def test_scores_up_to_a_day_do_not_change_when_later_returns_change():
    closes = synthetic_panel_closes(180, 6, seed=4)
    config = TINY.replace(trade_days=60)            # two study periods, trading days 60-119 and 120-179
    base = run_study(align_panel(closes), config).predictions
    cut = closes.index[100]                         # inside the first study period's trading block
    perturbed = closes.copy()
    perturbed.loc[perturbed.index > cut] *= np.linspace(0.5, 2.0, 6)
    changed = run_study(align_panel(perturbed), config).predictions
    past = base["date"] <= cut
    assert past.sum() > 0 and (~past).sum() > 0
    pd.testing.assert_series_equal(base.loc[past, "score"], changed.loc[past, "score"])
    assert not np.allclose(base.loc[~past, "score"], changed.loc[~past, "score"])


@pytest.mark.slow
def test_pooled_network_learns_a_planted_reversal():
    closes = synthetic_panel_closes(700, 30, rho=0.3, seed=5)
    config = TINY.replace(train_days=300, trade_days=200, units=[8], epochs=6, patience=3, target="regression")
    study = run_study(align_panel(closes), config)
    result = evaluate_panel(study.predictions, closes.pct_change(), config)
    assert result["ic"]["ci"][0] > 0
    assert result["long_short"]["p_value_random"] < 0.05


@pytest.mark.slow
def test_study_periods_run_as_dask_tasks_score_the_same_cells():
    distributed = pytest.importorskip("dask.distributed")
    panel = align_panel(synthetic_panel_closes(160, 5, seed=6))
    config = TINY.replace(trade_days=60)
    local = run_study(panel, config)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_study(panel, config.replace(dask_address=cluster.scheduler_address))
    cells = ["date", "ticker", "next_day_return", "period"]
    pd.testing.assert_frame_equal(local.predictions[cells], remote.predictions[cells])
    assert remote.predictions["score"].between(0, 1).all()
    assert [p["trade_start"] for p in remote.periods] == [p["trade_start"] for p in local.periods]
