"""Permutation importance: finds the input that drives the target, leaves the inputs untouched, says so in words."""

import numpy as np
import pandas as pd
import pytest

from helpers.explain import (describe_importance, lag_importance, mse, permutation_importance,
                             persistence_relative)

SAMPLES, WINDOW = 400, 5


def _problem(seed=0):
    """Target = 2 * signal at the last step + small noise; 'noise' is an unrelated input."""
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(SAMPLES, WINDOW, 2))
    labels = 2.0 * inputs[:, -1, 0] + 0.1 * rng.normal(size=SAMPLES)
    return inputs, labels


def _linear_predict(x):
    """A 'trained model' that learned the true rule: uses only feature 0 at the last step."""
    return 2.0 * x[:, -1, 0]


def test_informative_feature_is_important_and_noise_is_not():
    inputs, labels = _problem()
    frame = permutation_importance(_linear_predict, inputs, labels, ["signal", "noise"], n_repeats=5)
    by_name = frame.set_index("feature")
    assert by_name.loc["signal", "important"]
    assert by_name.loc["signal", "lo"] > 0
    assert not by_name.loc["noise", "important"]
    assert by_name.loc["noise", "mean"] == 0.0
    assert list(frame.columns) == ["feature", "mean", "sd", "lo", "hi", "base_loss", "important"]


def test_interval_is_t_based_on_the_repeats():
    inputs, labels = _problem()
    frame = permutation_importance(_linear_predict, inputs, labels, ["signal", "noise"], n_repeats=4)
    row = frame.iloc[0]
    half = 3.182446305284263 * row["sd"] / 2.0  # t(0.975, 3) * sd / sqrt(4)
    assert row["lo"] == pytest.approx(row["mean"] - half)
    assert row["hi"] == pytest.approx(row["mean"] + half)


def test_base_loss_is_the_unshuffled_loss_unless_given():
    inputs, labels = _problem()
    frame = permutation_importance(_linear_predict, inputs, labels, ["signal", "noise"], n_repeats=2)
    assert frame["base_loss"].iloc[0] == pytest.approx(mse(labels, _linear_predict(inputs)))
    given = permutation_importance(_linear_predict, inputs, labels, ["signal", "noise"], n_repeats=2,
                                   baseline_loss=0.5)
    assert (given["base_loss"] == 0.5).all()


def test_same_seed_gives_the_same_frame():
    inputs, labels = _problem()
    first = permutation_importance(_linear_predict, inputs, labels, ["signal", "noise"], n_repeats=3, seed=7)
    second = permutation_importance(_linear_predict, inputs, labels, ["signal", "noise"], n_repeats=3, seed=7)
    pd.testing.assert_frame_equal(first, second)


def test_read_only_view_works_and_is_left_unchanged():
    rng = np.random.default_rng(1)
    series = rng.normal(size=(SAMPLES + WINDOW - 1, 2))
    view = np.lib.stride_tricks.sliding_window_view(series, WINDOW, axis=0).transpose(0, 2, 1)
    assert view.shape == (SAMPLES, WINDOW, 2) and not view.flags.writeable
    before = view.copy()
    labels = 2.0 * view[:, -1, 0]
    permutation_importance(_linear_predict, view, labels, ["a", "b"], n_repeats=2)
    lag_importance(_linear_predict, view, labels, n_repeats=2)
    np.testing.assert_array_equal(view, before)


def test_predict_sees_every_step_of_a_feature_moved_by_the_same_permutation():
    inputs, labels = _problem()
    seen = []

    def recording_predict(x):
        seen.append(x.copy())
        return _linear_predict(x)

    permutation_importance(recording_predict, inputs, labels, ["signal", "noise"], n_repeats=2)
    assert len(seen) == 3   # the unshuffled baseline, then one stacked call per feature (all repeats)
    shuffled = seen[1][:len(inputs)]  # feature 0, repeat 0
    assert len(seen[1]) == 2 * len(inputs)
    order = [np.flatnonzero((inputs[:, 0, 0] == value))[0] for value in shuffled[:, 0, 0]]
    np.testing.assert_array_equal(shuffled[:, :, 0], inputs[order, :, 0])
    np.testing.assert_array_equal(shuffled[:, :, 1], inputs[:, :, 1])


def test_lag_importance_finds_the_last_step():
    inputs, labels = _problem()
    frame = lag_importance(_linear_predict, inputs, labels, n_repeats=5)
    assert list(frame["position"]) == list(range(WINDOW))
    assert list(frame["lag"]) == list(range(WINDOW - 1, -1, -1))
    important = frame[frame["important"]]
    assert list(important["lag"]) == [0]


def test_horizon_labels_work_with_two_dimensional_predictions():
    inputs, _ = _problem()
    labels = np.stack([2.0 * inputs[:, -1, 0], -inputs[:, -1, 0]], axis=1)

    def predict(x):
        return np.stack([2.0 * x[:, -1, 0], -x[:, -1, 0]], axis=1)

    frame = permutation_importance(predict, inputs, labels, ["signal", "noise"], n_repeats=3)
    assert list(frame["important"]) == [True, False]


def test_wrong_number_of_feature_names_is_an_error_naming_both_counts():
    inputs, labels = _problem()
    with pytest.raises(ValueError, match="3 names but inputs have 2 features"):
        permutation_importance(_linear_predict, inputs, labels, ["a", "b", "c"])


def test_predict_returning_the_wrong_length_is_an_error():
    inputs, labels = _problem()
    with pytest.raises(ValueError, match="one prediction per label"):
        permutation_importance(lambda x: x[:10, -1, 0], inputs, labels, ["a", "b"], n_repeats=2)


def test_persistence_relative_flags_the_feature_the_model_cannot_beat_persistence_without():
    inputs, labels = _problem()
    frame = permutation_importance(_linear_predict, inputs, labels, ["signal", "noise"], n_repeats=3)
    model_loss = frame["base_loss"].iloc[0]
    persistence_loss = mse(labels, np.zeros_like(labels))
    out = persistence_relative(frame, model_loss, persistence_loss)
    by_name = out.set_index("feature")
    assert not by_name.loc["signal", "beats_persistence_without"]
    assert by_name.loc["noise", "beats_persistence_without"]
    assert by_name.loc["signal", "loss_without"] == pytest.approx(model_loss + by_name.loc["signal", "mean"])


def _frame(rows):
    return pd.DataFrame(rows, columns=["feature", "mean", "sd", "lo", "hi", "base_loss", "important"])


def test_description_names_important_and_unimportant_features():
    frame = _frame([("rsi", 0.1, 0.01, 0.08, 0.12, 1.0, True),
                    ("log_return", 0.3, 0.01, 0.28, 0.32, 1.0, True),
                    ("sma_10", 0.001, 0.01, -0.01, 0.012, 1.0, False)])
    assert describe_importance(frame) == (
        "The network relies mostly on log_return and rsi; sma_10's interval includes zero, so it is unimportant.")


def test_description_when_nothing_matters():
    frame = _frame([("rsi", 0.001, 0.01, -0.01, 0.012, 1.0, False),
                    ("macd", -0.001, 0.01, -0.012, 0.01, 1.0, False)])
    assert describe_importance(frame) == "No feature matters: every interval includes zero."


def test_description_mentions_persistence_when_known():
    frame = _frame([("log_return", 0.3, 0.01, 0.28, 0.32, 1.0, True),
                    ("rsi", 0.001, 0.01, -0.01, 0.012, 1.0, False)])
    text = describe_importance(persistence_relative(frame, model_loss=1.0, persistence_loss=1.1))
    assert text.endswith("without log_return it would no longer beat persistence.")
    text = describe_importance(persistence_relative(frame, model_loss=1.0, persistence_loss=0.9))
    assert "does not beat persistence even with every input intact" in text


def test_description_of_lags_speaks_of_lags():
    inputs, labels = _problem()
    text = describe_importance(lag_importance(_linear_predict, inputs, labels, n_repeats=3))
    assert text.startswith("The network relies mostly on lag 0;")


def test_writable_inputs_are_left_unchanged():
    inputs, labels = _problem()
    before = inputs.copy()
    permutation_importance(_linear_predict, inputs, labels, ["signal", "noise"], n_repeats=2)
    lag_importance(_linear_predict, inputs, labels, n_repeats=2)
    np.testing.assert_array_equal(inputs, before)
