"""Monitoring (realized error vs persistence and the backtest, input drift) and retrain-and-promote."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.artifacts import load_artifact
from helpers.config import RunConfig
from helpers.ledger import Ledger
from helpers.monitor import (
    PROMOTED_FILE,
    current_model_dir,
    input_drift,
    monitor_report,
    retrain_if_needed,
)
from helpers.train import TrainResult
from tests.test_forecast import TINY, sample_prices, save_tiny_run, tiny_model, tiny_windows, write_csv


# ---------------------------------------------------------------------- monitoring
def predictions(n: int = 60, model_noise: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """A predictions.csv-like frame: a random walk, persistence, and a model off by ``model_noise`` sd."""
    rng = np.random.default_rng(seed)
    actual = 100 + np.cumsum(rng.normal(0, 1, n + 1))
    dates = pd.bdate_range("2024-01-01", periods=n)
    persistence = actual[:-1]
    model = persistence + rng.normal(0, model_noise, n)
    return pd.DataFrame({"date": dates, "actual": actual[1:], "model": model, "persistence": persistence})


def calm_returns(n: int, seed: int, scale: float = 0.01) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, scale, n)


def test_no_signal_when_errors_match_the_backtest_and_inputs_do_not_drift():
    preds = predictions(model_noise=0.3)
    backtest = float(np.sqrt(np.mean((preds["actual"] - preds["model"]) ** 2)))
    report = monitor_report(preds, backtest, calm_returns(500, 1), calm_returns(60, 2))
    assert report.retrain_signal is False and report.reasons == []
    assert report.realized_rmse is not None
    assert "Retrain signal: no" in report.summary()


def test_signal_when_realized_error_exceeds_what_the_backtest_promised():
    preds = predictions(model_noise=3.0)
    report = monitor_report(preds, backtest_rmse=1.0, train_returns=calm_returns(500, 1),
                            recent_returns=calm_returns(60, 2))
    assert report.retrain_signal is True
    assert any("the backtest's" in reason for reason in report.reasons)
    assert any("worse than persistence" in reason for reason in report.reasons)


def test_signal_when_recent_returns_drift_from_training():
    preds = predictions(model_noise=0.3)
    report = monitor_report(preds, None, calm_returns(500, 1), calm_returns(60, 2, scale=0.05))
    assert report.retrain_signal is True
    assert report.drift["p_value"] < 0.01
    assert any("KS" in reason for reason in report.reasons)


def test_too_few_scored_forecasts_give_no_error_signal_but_say_so():
    report = monitor_report(predictions(n=10, model_noise=5.0), 0.1, calm_returns(500, 1), calm_returns(60, 2))
    assert report.retrain_signal is False
    assert report.realized_rmse is None
    assert "fewer than the 21 needed" in report.summary()


def test_rolling_error_is_computed_from_a_ledger(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    preds = predictions(n=30, model_noise=0.5)
    prices = {}
    rows = []
    for i, row in preds.iterrows():
        as_of = row["date"] - pd.Timedelta(days=1)
        rows.append({"run_id": "r", "model_fingerprint": "f", "method": "recursive", "as_of_date": as_of,
                     "as_of_close": row["persistence"], "target_date": row["date"], "horizon": 1,
                     "forecast": row["model"]})
        prices[row["date"]] = row["actual"]
    ledger.append(rows)
    ledger.score(pd.Series(prices))
    report = monitor_report(ledger, None, calm_returns(500, 1), calm_returns(60, 2))
    assert report.n_scored == 30
    expected = np.sqrt(np.mean((preds["actual"] - preds["model"]).iloc[-21:] ** 2))
    assert report.realized_rmse == pytest.approx(expected)
    assert report.rolling["theils_u"].notna().sum() == 10


def test_input_drift_skips_tiny_samples():
    assert input_drift([0.01] * 5, calm_returns(60, 1))["p_value"] is None


# ---------------------------------------------------------------------- retrain and promote
def zero_model(windows, config):
    """Outputs 0 (scaled): the training mean return, i.e. about persistence."""
    model = tiny_model(windows, config)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    return model


def broken_model(windows, config):
    """Outputs +30 standard deviations of the daily return every day: a deliberately terrible model."""
    model = zero_model(windows, config)
    weights = model.get_weights()
    weights[-1] = np.full_like(weights[-1], 30.0)   # the head's bias
    model.set_weights(weights)
    return model


def trainer_returning(make_model):
    def trainer(windows, config):
        return TrainResult(model=make_model(windows, config), history={}, best_epoch=0, epochs_run=0,
                           seconds=0.0, seed=config.seed, cell=config.cell, units=tuple(config.units))
    return trainer


@pytest.fixture
def old_run(tmp_path):
    """A run trained (so to speak) on all but the last 100 rows; the new CSV has all of them."""
    config = RunConfig(**TINY)
    prices = sample_prices()
    old = prices.iloc[:-100]

    def make(model_factory):
        windows, _ = tiny_windows(old, config)
        paths, _, _ = save_tiny_run(tmp_path / "run", old, config, model_factory(windows, config))
        return paths

    return {"make": make, "csv": write_csv(prices, tmp_path / "new.csv"), "prices": prices}


def test_worse_candidate_is_stored_but_not_promoted(old_run):
    paths = old_run["make"](zero_model)
    result = retrain_if_needed(paths.root, old_run["csv"], force=True, trainer=trainer_returning(broken_model))
    assert result.retrained and not result.promoted
    assert result.scores["new_rmse"] > result.scores["old_rmse"]
    assert not (paths.root / PROMOTED_FILE).exists()
    assert current_model_dir(paths.root) == paths.model_dir
    _, manifest = load_artifact(result.new_dir)          # kept, with its manifest and why it lost
    assert manifest["retrain"]["holdout"]["promoted"] is False
    assert paths.model_file.exists()


def test_better_candidate_is_promoted_and_the_old_one_kept(old_run):
    paths = old_run["make"](broken_model)
    old_bytes = paths.model_file.read_bytes()
    result = retrain_if_needed(paths.root, old_run["csv"], force=True, trainer=trainer_returning(zero_model))
    assert result.retrained and result.promoted
    assert result.scores["new_rmse"] < result.scores["old_rmse"]
    assert current_model_dir(paths.root) == result.new_dir
    assert result.new_dir.name.startswith("model-")
    assert paths.model_file.read_bytes() == old_bytes
    assert "promoted" in result.summary()


def test_holdout_is_recent_rows_neither_model_trained_on(old_run):
    paths = old_run["make"](zero_model)
    result = retrain_if_needed(paths.root, old_run["csv"], force=True, holdout=40,
                               trainer=trainer_returning(zero_model))
    assert result.scores["last_date"] == old_run["prices"].index[-1].date().isoformat()
    _, manifest = load_artifact(result.new_dir)
    assert manifest["training_range"]["last_target"] < result.scores["first_date"]
    assert manifest["split"]["test_start"] == result.scores["first_date"]


def test_no_retraining_without_a_signal_unless_forced(tmp_path):
    rng = np.random.default_rng(7)
    n = 700
    close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, n)))
    dates = pd.bdate_range("2015-01-01", periods=n, name="date")
    prices = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
                           "volume": rng.uniform(1e6, 2e6, n)}, index=dates)
    config = RunConfig(**TINY)
    windows, _ = tiny_windows(prices.iloc[:-100], config)
    paths, _, _ = save_tiny_run(tmp_path / "run", prices.iloc[:-100], config, zero_model(windows, config))
    csv = write_csv(prices, tmp_path / "new.csv")
    calls = []
    trainer = trainer_returning(lambda w, c: calls.append(1) or zero_model(w, c))
    result = retrain_if_needed(paths.root, csv, trainer=trainer)
    assert not result.retrained and calls == []
    assert "no retrain signal" in result.summary()
    assert [p.name for p in paths.root.iterdir() if p.name.startswith("model")] == ["model"]


def test_holdout_overlapping_the_old_test_period_is_refused(old_run):
    paths = old_run["make"](zero_model)
    old_csv = write_csv(old_run["prices"].iloc[:-100], old_run["csv"].with_name("old.csv"))
    with pytest.raises(ValueError, match="test period"):
        retrain_if_needed(paths.root, old_csv, force=True, holdout=120, trainer=trainer_returning(zero_model))


@pytest.mark.slow
def test_cli_retrain_trains_for_real_and_reports(old_run, capsys):
    from helpers.cli import main

    paths = old_run["make"](broken_model)
    code = main(["retrain", "--run", str(paths.root), "--csv", str(old_run["csv"]), "--force"])
    assert code == 0
    out, err = capsys.readouterr()
    assert "Retrained because" in err
    assert "model-" in out.strip().splitlines()[-1]       # the trained model beats the broken one
