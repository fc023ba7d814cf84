"""The panel bench measures one study period at a tiny size and reads a run's headline numbers (no timing
assertions: what is measured and written, not how fast)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

import bench_panel  # noqa: E402


@pytest.mark.slow
def test_study_period_measure_reports_speed_and_memory_against_materialised_windows():
    numbers = bench_panel.measure_study_period(6, window=5, train_days=40, trade_days=10, units=(2,), batch_size=32)
    assert numbers["train_samples_per_s"] > 0 and numbers["score_samples_per_s"] > 0
    # 6 tickers x (34 training origins + 10 trading origins) windows of 5 float32 values
    assert numbers["materialised_windows_mib"] == pytest.approx(6 * (34 + 10) * 5 * 4 / 2**20)
    assert numbers["peak_extra_mib"] >= 0


def test_era_table_has_every_ranking_of_every_era():
    judged = {"ic": {"mean": 0.01, "ci": [0.0, 0.02]}, "accuracy": {"mean": 0.5},
              "long_short": {"before_costs": {"mean": 1e-4, "sharpe": 0.5}, "after_costs": {"mean": -1e-4, "sharpe": -0.5},
                             "p_value_random": 0.3}}
    metrics = {**judged, "baselines": {"reversal_1d": judged, "random": {"draws": 10}},
               "by_era": {"before_2010": {"model": judged, "reversal_1d": judged}}}
    table = bench_panel.era_table(metrics)
    assert [(r[0], r[1]) for r in table["rows"]] == [("all days", "model"), ("all days", "reversal_1d"),
                                                     ("before_2010", "model"), ("before_2010", "reversal_1d")]
    assert table["rows"][0][5] == pytest.approx(1.0)
