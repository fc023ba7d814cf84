"""Compiled trainers reused across fits of one architecture: the trace is paid once, the numbers do not move."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import trainers
from helpers.models import build_seed_ensemble
from helpers.network import NetworkForecaster, tower_outputs_model
from helpers.windows import WindowGenerator
from tests.test_network import FEATURES, config, returns_frame

pytestmark = pytest.mark.slow


def forecasts(frame, cfg):
    """The fitted forecaster, and its test-row outputs (dropout in training, so dropout seeds matter)."""
    windows = WindowGenerator(frame, FEATURES, cfg)
    net = NetworkForecaster(frame, FEATURES, cfg).fit_windows(windows)
    return net, net.outputs(windows.inputs("test"))


@pytest.mark.parametrize("target", ["log_return", "direction"])
def test_a_fit_on_a_kept_trainer_gives_the_numbers_of_a_fit_on_a_new_one(target):
    cfg = config(epochs=4, seeds=2, dropout=0.3, target=target)
    first, second = returns_frame(500, 0.5, seed=1), returns_frame(460, 0.3, seed=2)
    trainers.forget_trainers()
    forecasts(first, cfg)                                  # leaves a trainer of this shape, optimizer moved on
    _, after_another_fit = forecasts(second, cfg)
    trainers.forget_trainers()
    _, on_a_new_trainer = forecasts(second, cfg)
    np.testing.assert_array_equal(after_another_fit, on_a_new_trainer)


def test_a_kept_trainer_survives_keras_clear_session():
    """05's default run clears Keras's session between fits; a trainer kept across it gives the same numbers."""
    import keras

    cfg = config(epochs=3, seeds=2, dropout=0.3)
    frame = returns_frame(460, 0.3, seed=2)
    trainers.forget_trainers()
    forecasts(returns_frame(500, 0.5, seed=1), cfg)
    keras.backend.clear_session()
    _, across = forecasts(frame, cfg)
    trainers.forget_trainers()
    _, on_a_new_trainer = forecasts(frame, cfg)
    np.testing.assert_array_equal(across, on_a_new_trainer)


def test_a_fitted_forecaster_keeps_its_weights_when_the_trainer_is_lent_again():
    cfg = config(epochs=3, seeds=2)
    frame = returns_frame(500, 0.5, seed=1)
    x = WindowGenerator(frame, FEATURES, cfg).inputs("test")
    trainers.forget_trainers()
    net, _ = forecasts(frame, cfg)
    towers = tower_outputs_model(net.model, net.seeds)      # each tower's own output, whatever the shrinkage
    before = towers.predict(x, verbose=0)
    forecasts(returns_frame(500, -0.5, seed=4), cfg)       # same architecture: the same trainer, retrained
    np.testing.assert_array_equal(towers.predict(x, verbose=0), before)


def test_one_trainer_per_architecture_and_target_whatever_the_starting_values():
    def build(start, units=(8,), seeds=(1, 2)):
        return build_seed_ensemble("lstm", units, 0.1, 1, 5, 2, seeds=list(seeds), start=np.array([start]))

    trainers.forget_trainers()
    a = trainers.compiled_like(build(0.0), learning_rate=0.01, target="log_return")
    assert trainers.compiled_like(build(0.4), learning_rate=0.01, target="log_return") is a
    assert trainers.compiled_like(build(0.0, units=(4,)), learning_rate=0.01, target="log_return") is not a
    assert trainers.compiled_like(build(0.0, seeds=(1, 3)), learning_rate=0.01, target="log_return") is not a
    assert trainers.compiled_like(build(0.0), learning_rate=0.01, target="price") is not a


def test_a_kept_trainer_starts_from_the_fresh_model_with_a_new_optimizer():
    x = np.random.default_rng(0).normal(size=(64, 5, 2)).astype("float32")
    y = np.random.default_rng(1).normal(size=(64, 2, 1)).astype("float32")
    trainers.forget_trainers()
    trainer = trainers.compiled_like(build_seed_ensemble("lstm", (8,), 0.1, 1, 5, 2, seeds=[1, 2]),
                                     learning_rate=0.01, target="log_return")
    trainer.fit(x, y, epochs=2, verbose=0)
    trainer.optimizer.learning_rate = 0.001                # as a plateau callback would leave it
    fresh = build_seed_ensemble("lstm", (8,), 0.1, 1, 5, 2, seeds=[1, 2])
    again = trainers.compiled_like(fresh, learning_rate=0.01, target="log_return")
    assert again is trainer
    for mine, theirs in zip(again.variables, fresh.variables):   # weights and dropout seed states
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    assert int(again.optimizer.iterations) == 0
    assert float(again.optimizer.learning_rate) == pytest.approx(0.01)
    assert all(not np.any(np.asarray(v)) for v in again.optimizer.variables if "moment" in v.path or "velocity" in v.path)


def test_state_is_copied_only_between_builds_of_one_architecture():
    small = build_seed_ensemble("lstm", (8,), 0.1, 1, 5, 2, seeds=[1])
    other = build_seed_ensemble("lstm", (4,), 0.1, 1, 5, 2, seeds=[1])
    with pytest.raises(ValueError, match="does not match"):
        trainers.load_state(small, other)
