"""The fused LSTM kernel computes Keras's LSTM: the same outputs, states and gradients from the same weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers.fused import FusedLSTM, fused_clone
from helpers.models import build_seed_ensemble


def inputs(rows=40, window=12, features=5, seed=0):
    return np.random.default_rng(seed).normal(size=(rows, window, features)).astype("float32")


def gradients(model, x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x, training=False) - y) ** 2)
    return [g.numpy() for g in tape.gradient(loss, model.trainable_variables)]


def op_types(model, x):
    """The op types of ``model``'s traced forward pass (the fused kernel shows as ``BlockLSTM``)."""
    graph = tf.function(lambda v: model(v, training=False)).get_concrete_function(tf.constant(x)).graph
    return {op.type for op in graph.get_operations()}


def test_a_fused_clone_gives_keras_lstm_outputs_and_gradients():
    """Two stacked towers (sequences between layers, the last state at the top). Gradients are compared too:
    TensorFlow's BlockLSTMV2 computes these outputs, but its registered gradient reads the gates in another
    order, which only this comparison shows."""
    model = build_seed_ensemble("lstm", [6, 4], 0.0, 2, 12, 5, [1, 2])
    fused = fused_clone(model)
    x = inputs()
    assert "BlockLSTM" in op_types(fused, x) and "BlockLSTM" not in op_types(model, x)
    expected = model(x, training=False).numpy()
    np.testing.assert_allclose(fused(x, training=False).numpy(), expected, rtol=1e-5, atol=1e-6)
    y = np.random.default_rng(1).normal(size=expected.shape).astype("float32")
    for keras_grad, fused_grad in zip(gradients(model, x, y), gradients(fused, x, y)):
        np.testing.assert_allclose(fused_grad, keras_grad, rtol=1e-4, atol=1e-6 * np.abs(keras_grad).max())


def test_the_cell_state_is_not_clipped_and_there_is_no_extra_forget_bias():
    """TensorFlow's kernel clips the cell state at 3 and adds 1 to the forget gate by default; Keras does
    neither. Weights that open the input and forget gates wide make the state grow past 3."""
    x = np.ones((3, 20, 2), dtype="float32")
    layer = keras.layers.LSTM(3, return_state=True)
    layer(x)                                    # builds its weights
    kernel = np.zeros((2, 12), "float32")
    kernel[:, 0:3] = 4.0                        # input gate open
    kernel[:, 3:6] = 0.5                        # forget gate partly open: the extra bias of 1 would change it
    kernel[:, 6:9] = 2.0                        # candidate near 1
    kernel[:, 9:12] = -1.0                      # output gate
    layer.set_weights([kernel, np.zeros((3, 12), "float32"), np.zeros(12, "float32")])
    _, _, keras_c = layer(x)
    fused = FusedLSTM.from_config(layer.get_config())
    fused(x)
    fused.set_weights(layer.get_weights())
    _, h, c = fused(x)
    assert float(np.max(keras_c)) > 3.0
    np.testing.assert_allclose(c.numpy(), keras_c.numpy(), rtol=1e-5)
    np.testing.assert_allclose(h.numpy(), layer(x)[1].numpy(), rtol=1e-5)


@pytest.mark.parametrize("option", [{"go_backwards": True}, {"dropout": 0.5}, {"activation": "relu"}])
def test_what_the_kernel_cannot_do_runs_keras_own_loop(option):
    """Options the fused kernel lacks fall back to Keras's loop, so the numbers stay Keras's."""
    layer = keras.layers.LSTM(4, **option, seed=3) if "dropout" in option else keras.layers.LSTM(4, **option)
    model = keras.Sequential([keras.Input((12, 5)), layer])
    fused = fused_clone(model)
    x = inputs()
    assert "BlockLSTM" not in op_types(fused, x)
    np.testing.assert_allclose(fused(x, training=False).numpy(), model(x, training=False).numpy(), rtol=1e-6)


def test_a_fused_clone_holds_the_weights_and_leaves_other_cells_alone():
    model = build_seed_ensemble("gru", [4], 0.2, 1, 12, 5, [7])
    fused = fused_clone(model)
    assert [type(layer) for layer in fused.layers] == [type(layer) for layer in model.layers]
    for a, b in zip(model.get_weights(), fused.get_weights()):
        np.testing.assert_array_equal(a, b)
    lstm = build_seed_ensemble("lstm", [4, 3], 0.2, 1, 12, 5, [7])
    assert [type(layer).__name__ for layer in fused_clone(lstm).layers].count("FusedLSTM") == 2
