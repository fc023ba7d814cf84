"""Notebook 08's orchestration: the risk manager's reading (each clause chosen by a test), the shortfall check,
and the run-folder round trip into risk.json and metrics.json."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import predictive as pr
from helpers import risk_report
from helpers.atomic import read_json
from helpers.config import RunConfig


def backtest_row(method: str, exceedances: int, n: int = 250, level: float = 0.99, kupiec_p: float = 0.5,
                 christoffersen_p: float = 0.5, mean_var: float = 0.03) -> dict:
    return {"method": method, "level": level, "n": n, "exceedances": exceedances, "rate": exceedances / n,
            "expected_rate": 1 - level, "kupiec_p": kupiec_p, "christoffersen_p": christoffersen_p,
            "mean_var": mean_var}


def test_too_many_exceedances_read_as_understated_risk_only_when_kupiec_rejects():
    table = pd.DataFrame([backtest_row("model", 12, kupiec_p=0.0001), backtest_row("garch", 4, kupiec_p=0.3)])
    reading = risk_report.risk_manager_reading(table)
    model_line = next(line for line in reading.splitlines() if line.startswith("- model"))
    garch_line = next(line for line in reading.splitlines() if line.startswith("- garch"))
    assert "understates the risk" in model_line
    assert "understates" not in garch_line and "consistent with its promise" in garch_line


def test_too_few_exceedances_read_as_overstated_risk():
    reading = risk_report.risk_manager_reading(pd.DataFrame([backtest_row("historical", 0, kupiec_p=0.01)]))
    assert "overstates the risk" in reading


def test_clustered_exceedances_are_named_only_when_christoffersen_rejects():
    clustered = risk_report.risk_manager_reading(pd.DataFrame([backtest_row("historical", 3, christoffersen_p=0.001)]))
    spread = risk_report.risk_manager_reading(pd.DataFrame([backtest_row("historical", 3, christoffersen_p=0.4)]))
    assert "cluster" in clustered and "cluster" not in spread


def test_the_reading_of_intraday_bars_counts_bars_not_days():
    table = pd.DataFrame([backtest_row("model", 3), backtest_row("garch", 2)])
    hourly = risk_report.risk_manager_reading(table, unit="bar")
    daily = risk_report.risk_manager_reading(table)
    assert "250 test bars" in hourly and "of bars against" in hourly and " days" not in hourly
    assert "250 test days" in daily


def test_the_cheapest_passing_method_is_named_or_none_passes():
    table = pd.DataFrame([backtest_row("model", 2, mean_var=0.04), backtest_row("garch", 3, mean_var=0.025),
                          backtest_row("historical", 9, kupiec_p=0.001, mean_var=0.02)])
    assert "Among them, garch asks for the least capital" in risk_report.risk_manager_reading(table)
    failing = table.assign(kupiec_p=0.001)
    assert "No method passes both tests" in risk_report.risk_manager_reading(failing)


def one_day(realized, var99, es99) -> pr.OneDayRisk:
    index = pd.bdate_range("2024-01-01", periods=len(realized))
    frame = pd.DataFrame({"var_99": var99, "es_99": es99}, index=index)
    return pr.OneDayRisk(realized=pd.Series(realized, index=index), forecasts={"model": frame}, table=pd.DataFrame(),
                         levels=(0.99,))


def test_shortfall_check_compares_forecast_es_with_realized_losses_on_exceedance_days():
    result = one_day([-0.05, 0.01, -0.03, -0.001], [0.02] * 4, [0.025, 0.025, 0.035, 0.025])
    row = risk_report.shortfall_check(result).iloc[0]
    assert row["exceedances"] == 2
    assert row["mean_realized_loss"] == pytest.approx(0.04)
    assert row["mean_es_forecast"] == pytest.approx(0.03)
    quiet = risk_report.shortfall_check(one_day([0.01] * 4, [0.02] * 4, [0.03] * 4)).iloc[0]
    assert quiet["exceedances"] == 0 and np.isnan(quiet["mean_realized_loss"])


@pytest.mark.slow
def test_run_risk_writes_risk_json_and_the_metrics_entry_with_the_reading(tmp_path):
    from tests.test_predictive import CONFIG, random_walk_prices, write_run

    paths, _ = write_run(tmp_path / "run", random_walk_prices(1200, seed=3))
    result = risk_report.run_risk(paths, RunConfig.load(paths.config).replace(mc_samples=4))
    assert result.about["model"]["dropout_passes"] == 4
    out = risk_report.write_run_risk(paths, result)
    stored = read_json(out)
    assert read_json(paths.metrics)["risk"] == stored
    assert stored["reading"].startswith("**VaR 95%**") and len(stored["shortfall"]) == 6
    json.dumps(stored, allow_nan=False)
    assert CONFIG.mc_samples != 4           # the notebook's config, not the stored one, set the passes
