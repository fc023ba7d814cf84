"""The stacked recurrent builder: shapes, layer wiring and errors."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers.models import build_stacked_rnn  # noqa: E402

RECURRENT = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)


def recurrent_layers(model):
    return [layer for layer in model.layers if isinstance(layer, RECURRENT)]


@pytest.mark.parametrize("cell, layer_type", [("lstm", keras.layers.LSTM), ("gru", keras.layers.GRU),
                                              ("rnn", keras.layers.SimpleRNN)])
@pytest.mark.parametrize("horizon", [1, 3])
def test_output_is_samples_by_horizon_for_every_cell(cell, layer_type, horizon):
    model = build_stacked_rnn(cell, (8, 4), 0.1, horizon, window=10, n_features=3)
    assert all(isinstance(layer, layer_type) for layer in recurrent_layers(model))
    assert model.input_shape == (None, 10, 3)
    out = model(np.zeros((2, 10, 3), dtype="float32"))
    assert tuple(out.shape) == (2, horizon)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_all_but_the_last_recurrent_layer_return_sequences(depth):
    model = build_stacked_rnn("gru", [4] * depth, 0.0, 1, window=6, n_features=2)
    flags = [layer.return_sequences for layer in recurrent_layers(model)]
    assert flags == [True] * (depth - 1) + [False]


def test_each_recurrent_layer_is_followed_by_dropout_and_keeps_the_fused_kernel():
    model = build_stacked_rnn("lstm", (8, 4), 0.3, 1, window=6, n_features=2)
    names = [layer.name for layer in model.layers[1:]]
    assert names == ["lstm_1", "dropout_1", "lstm_2", "dropout_2", "head"]
    assert all(model.get_layer(f"dropout_{i}").rate == 0.3 for i in (1, 2))
    for layer in recurrent_layers(model):
        assert layer.recurrent_dropout == 0
        assert layer.activation.__name__ == "tanh"


def test_classification_head_outputs_probabilities():
    model = build_stacked_rnn("rnn", (4,), 0.0, 2, window=5, n_features=2, output="classification")
    assert model.get_layer("head").activation.__name__ == "sigmoid"
    out = np.asarray(model(np.random.default_rng(0).normal(size=(4, 5, 2)).astype("float32")))
    assert ((out > 0) & (out < 1)).all()


def test_unknown_cell_error_names_the_allowed_cells():
    with pytest.raises(ValueError, match=r"unknown cell 'transformer': use one of lstm, gru, rnn"):
        build_stacked_rnn("transformer", (8,), 0.0, 1, window=5, n_features=2)


def test_empty_units_is_refused():
    with pytest.raises(ValueError, match="at least one layer size"):
        build_stacked_rnn("lstm", (), 0.0, 1, window=5, n_features=2)
