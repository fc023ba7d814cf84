"""Seeding, compiling and training: determinism and no look-ahead through the trained model."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers.train import compile_model, predict, set_seed, train_model  # noqa: E402
from helpers.models import build_stacked_rnn  # noqa: E402
from helpers.windows import WindowGenerator  # noqa: E402
from tests.test_windows import FEATURES, features_from_close, gbm_close, tiny_config  # noqa: E402

CONFIG = tiny_config(epochs=6, learning_rate=0.003, patience=3)
K = 6   # test samples whose origins precede the perturbation


def ar_close(n: int, phi: float = 0.6, seed: int = 3):
    """Prices whose daily log returns follow an AR(1) with coefficient ``phi``: a signal the network can learn,
    so it departs from its persistence start and its forecasts depend on its inputs."""
    import pandas as pd

    base = gbm_close(n, seed=seed)
    shocks = np.random.default_rng(seed).normal(0, 0.01, n)
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = phi * r[t - 1] + shocks[t]
    return pd.Series(100 * np.exp(np.cumsum(r)), index=base.index, name=base.name)


@pytest.fixture(scope="module")
def close():
    return ar_close(600)


@pytest.fixture(scope="module")
def windows(close):
    return WindowGenerator(features_from_close(close), FEATURES, CONFIG)


@pytest.fixture(scope="module")
def trained(windows):
    return train_model(windows, CONFIG, verbose=0)


def test_set_seed_repeats_random_draws():
    set_seed(11)
    first = (np.random.rand(3), np.asarray(keras.random.uniform((3,))))
    set_seed(11)
    set_seed(11)   # calling again is harmless
    second = (np.random.rand(3), np.asarray(keras.random.uniform((3,))))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_compile_model_uses_crossentropy_and_accuracy_for_direction():
    model = build_stacked_rnn("gru", (4,), 0.0, 1, window=5, n_features=2, output="classification")
    compile_model(model, 0.01, "direction")
    assert model.loss == "binary_crossentropy"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    regression = compile_model(build_stacked_rnn("gru", (4,), 0.0, 1, window=5, n_features=2), 0.01, "price")
    assert regression.loss == "mse"


@pytest.mark.slow
def test_same_config_twice_gives_identical_weights_and_predictions(windows, trained):
    again = train_model(windows, CONFIG, verbose=0)
    for a, b in zip(trained.model.get_weights(), again.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = windows.inputs("test")
    np.testing.assert_array_equal(predict(trained.model, x), predict(again.model, x))


@pytest.mark.slow
def test_test_predictions_ignore_prices_after_their_origin(close, windows, trained):
    last_kept = windows.origins("test")[K - 1]
    changed = close.copy()
    later = changed.index > windows.dates[last_kept]
    changed[later] *= np.linspace(1.3, 0.6, later.sum())
    other_windows = WindowGenerator(features_from_close(changed), FEATURES, CONFIG)
    other = train_model(other_windows, CONFIG, verbose=0)
    for a, b in zip(trained.model.get_weights(), other.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    before = predict(trained.model, windows.inputs("test"))
    after = predict(other.model, other_windows.inputs("test"))
    np.testing.assert_array_equal(after[:K], before[:K])
    assert not np.array_equal(after[K:], before[K:])   # the perturbation did reach later samples


@pytest.mark.slow
def test_training_result_describes_the_run(windows, trained):
    assert trained.feed == "arrays"
    assert trained.epochs_run == len(trained.history["loss"]) <= CONFIG.epochs
    assert trained.best_epoch == int(np.argmin(trained.history["val_loss"])) + 1
    record = json.loads(json.dumps(trained.history_json()))
    assert record["seed"] == CONFIG.seed and record["units"] == [8, 4]
    assert predict(trained.model, windows.inputs("val")).shape == (windows.n_samples("val"), 1)


@pytest.mark.slow
def test_windows_beyond_the_memory_budget_are_streamed(windows):
    result = train_model(windows, tiny_config(epochs=1), cell="gru", units=(4,), verbose=0,
                         memory_budget_bytes=0)
    assert result.feed == "dataset"
    assert result.epochs_run == 1
    assert np.isfinite(result.history["val_loss"]).all()


def test_tensorflows_retracing_advice_is_dropped_and_other_warnings_pass(caplog):
    import logging

    import helpers.train  # noqa: F401 - installs the filter

    logger = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning("5 out of the last 9 calls to <function f> triggered tf.function retracing. Tracing is expensive")
        logger.warning("a real warning")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["a real warning"]
