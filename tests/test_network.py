"""The network as a forecaster: one model of seed towers that starts as persistence and departs from it only
as far as validation rows reward it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import metrics
from helpers.config import RunConfig
from helpers.models import build_seed_ensemble
from helpers.network import NetworkForecaster, shrinkage_factor, tower_outputs_model
from helpers.windows import WindowGenerator

pytestmark = pytest.mark.slow
FEATURES = ["log_return", "lag_2"]


def returns_frame(n: int, phi: float, seed: int) -> pd.DataFrame:
    """A feature frame whose next log return is ``phi`` times today's plus noise (``phi = 0``: no signal)."""
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = phi * r[t - 1] + rng.normal(0, 0.01)
    close = 100 * np.exp(np.cumsum(r))
    dates = pd.bdate_range("2005-01-03", periods=n, name="date")
    frame = pd.DataFrame({"log_return": r, "lag_2": np.r_[0.0, r[:-1]], "close": close}, index=dates)
    return frame.iloc[2:]


def config(**changes) -> RunConfig:
    base = dict(window=10, horizon=1, units=(16,), epochs=15, patience=4, batch_size=32, seed=3, seeds=3,
                learning_rate=0.003, dropout=0.1, features=("log_return",))
    base.update(changes)
    return RunConfig(**base)


def fitted(frame: pd.DataFrame, cfg: RunConfig):
    windows = WindowGenerator(frame, FEATURES, cfg)
    return NetworkForecaster(frame, FEATURES, cfg).fit_windows(windows), windows


def test_an_untrained_ensemble_forecasts_no_change_whatever_the_input():
    start = np.array([0.3, -0.1])
    model = build_seed_ensemble("lstm", (4,), 0.1, 2, 5, 3, seeds=[1, 2, 3], start=start)
    out = model.predict(np.random.default_rng(0).normal(size=(7, 5, 3)), verbose=0)
    np.testing.assert_allclose(out, np.broadcast_to(start, out.shape), atol=1e-7)


def test_shrinkage_keeps_a_departure_only_as_far_as_the_validation_rows_give_evidence_for_it():
    start, y = np.zeros(4), np.array([1.0, -1.0, 2.0, 0.0])
    assert shrinkage_factor(y, start, y) == pytest.approx(1.0)            # exact: no uncertainty left
    assert shrinkage_factor(2 * y, start, y) == pytest.approx(0.5)
    assert shrinkage_factor(-y, start, y) == 0.0                          # pointing the wrong way: persistence
    assert shrinkage_factor(start, start, y) == 0.0
    rng = np.random.default_rng(0)
    noise = [shrinkage_factor(rng.normal(size=300), np.zeros(300), rng.normal(size=300)) for _ in range(200)]
    assert np.mean(np.asarray(noise) == 0.0) > 0.75                        # t <= 1 in about 84% of draws
    assert np.mean(noise) < 0.03
    signal = rng.normal(size=300)
    assert shrinkage_factor(signal, np.zeros(300), 0.5 * signal + rng.normal(scale=0.5, size=300)) > 0.4


def test_the_served_model_is_the_towers_mean_shrunk_toward_persistence():
    frame = returns_frame(700, 0.5, seed=1)
    net, windows = fitted(frame, config(epochs=4))
    x = windows.inputs("test")
    towers = np.asarray(tower_outputs_model(net.model, net.seeds).predict(x, verbose=0))
    start = windows.preprocessor.no_change_output()
    expected = start + net.fit_report.shrink * (towers.mean(axis=1) - start)
    np.testing.assert_allclose(net.outputs(x), expected, rtol=1e-5, atol=1e-6)


def test_a_saved_forecaster_loads_with_its_seeds_and_gives_the_same_forecasts(tmp_path):
    from helpers.artifacts import build_manifest

    frame = returns_frame(500, 0.5, seed=2)
    cfg = config(epochs=2, seeds=2)
    net, windows = fitted(frame, cfg)
    net.save(tmp_path / "model", build_manifest(cfg, windows, FEATURES, net))
    loaded = NetworkForecaster.load(tmp_path / "model", frame)
    rows = np.arange(windows.plan.test.start, windows.plan.test.stop)
    np.testing.assert_array_equal(loaded.predict_at(frame, rows), net.predict_at(frame, rows))
    assert loaded.seeds == net.seeds == [3, 4]
    assert loaded.manifest["ensemble"]["shrink"] == net.fit_report.shrink
    for seed, forecast in net.predict_by_seed(frame, rows).items():
        np.testing.assert_array_equal(loaded.predict_by_seed(frame, rows)[seed], forecast)


def test_without_signal_the_ensemble_stays_near_persistence():
    frame = returns_frame(900, 0.0, seed=5)
    net, windows = fitted(frame, config())
    test = windows.origins("test")
    forecast = net.predict_at(frame, np.arange(test.start, test.stop))[:, 0]
    persistence = windows.last_close("test")
    moves = np.abs(np.log(forecast / persistence))
    # the forecast moves by a small fraction of a typical day's move (1%): no invented signal
    assert moves.mean() < 0.1 * 0.01, moves.mean()
    actual = windows.actual_price("test")[:, 0]
    assert metrics.theils_u(actual, forecast, persistence) == pytest.approx(1.0, abs=0.01)


def test_with_a_planted_signal_the_ensemble_departs_and_beats_persistence_significantly():
    frame = returns_frame(900, 0.5, seed=6)
    net, windows = fitted(frame, config())
    assert net.fit_report.shrink > 0.5 and net.fit_report.best_epoch > 0
    test = windows.origins("test")
    forecast = net.predict_at(frame, np.arange(test.start, test.stop))[:, 0]
    actual, persistence = windows.actual_price("test")[:, 0], windows.last_close("test")
    assert metrics.theils_u(actual, forecast, persistence) < 0.97
    assert metrics.diebold_mariano(actual, forecast, persistence, horizon=1).p_value < 0.05


def test_a_forecaster_fitted_through_the_baselines_surface_reads_training_rows_only():
    frame = returns_frame(600, 0.5, seed=7)
    cfg = config(epochs=2, seeds=1)
    close = frame["close"]
    a = NetworkForecaster(frame, FEATURES, cfg).fit(close, 400)
    changed = frame.copy()
    changed.iloc[400:, :] *= 1.5          # every row from train_end on changes
    b = NetworkForecaster(changed, FEATURES, cfg).fit(changed["close"], 400)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict(close, np.array([380, 399]), 1),
                                  b.predict(changed["close"], np.array([380, 399]), 1))


def test_a_network_at_its_persistence_start_forecasts_exactly_the_last_close():
    """Not a 1e-9 drift: the float32 'no change' output maps to C[t] itself, so a persistence-like model's
    Diebold-Mariano test never finds a 'significant' difference that is only rounding."""
    frame = returns_frame(300, 0.0, seed=9)
    windows = WindowGenerator(frame, FEATURES, config())
    pre = windows.preprocessor
    out = np.broadcast_to(np.float32(pre.no_change_output()), (5, 1)).astype(np.float32)
    last_close = frame["close"].to_numpy()[-5:]
    np.testing.assert_array_equal(pre.to_price(out, last_close)[:, 0], last_close)
