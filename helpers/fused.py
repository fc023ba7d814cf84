"""TensorFlow's fused LSTM kernel in place of Keras's step loop, for training on the CPU.

Keras 3 runs an LSTM on the CPU as a ``while`` loop of small ops per time step (its fused path is cuDNN, GPU
only). Tracing that loop and its gradient is most of a new model's first-epoch cost, and the per-step ops
dominate a small network's epochs. TensorFlow has a fused CPU kernel for the whole sequence, ``BlockLSTM``,
which computes the same cell: on two cores it halved the first epoch and the epoch time of quick mode's two
towers of [16, 8]. Its gates come in the order i, c, f, o (Keras: i, f, c, o), so the weights are reordered on
the way in (a gather the gradient flows through); its forget bias and cell clipping are switched off, as Keras
has neither. (``BlockLSTMV2`` takes Keras's order, but TensorFlow registers the first version's gradient for
it, which reads the gates in the other order: its gradients are wrong.)

:class:`FusedLSTM` is ``keras.layers.LSTM`` with that kernel as its inner loop whenever the layer uses nothing
the kernel lacks (a mask, ``go_backwards``, dropout inside the layer, activations other than tanh and sigmoid,
no bias), else Keras's own loop. Same weights, same config, the same numbers to float rounding.
:func:`fused_clone` makes a model's copy with every LSTM layer fused. Only training uses it (the compiled
trainers of :mod:`helpers.trainers`, 05's tuning trials): the model a run saves and serves keeps Keras's LSTM,
so the file loads in plain Keras.
"""

from __future__ import annotations

from typing import Any

import keras


def _fusable(layer: keras.layers.LSTM, mask: Any) -> bool:
    cell = layer.cell
    return (keras.backend.backend() == "tensorflow" and mask is None and not layer.go_backwards
            and not cell.dropout and not cell.recurrent_dropout and cell.use_bias
            and keras.activations.serialize(cell.activation) == "tanh"
            and keras.activations.serialize(cell.recurrent_activation) == "sigmoid")


def _gates_icfo(values: Any) -> Any:
    """Keras's gate blocks (i, f, c, o along the last axis) in ``BlockLSTM``'s order (i, c, f, o)."""
    import tensorflow as tf

    i, f, c, o = tf.split(values, 4, axis=-1)
    return tf.concat([i, c, f, o], axis=-1)


class FusedLSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` whose sequence loop is TensorFlow's fused ``BlockLSTM`` kernel when it can be
    (see the module docstring); build it from an LSTM's config."""

    def inner_loop(self, sequences: Any, initial_state: Any, mask: Any, training: bool = False) -> Any:
        if not _fusable(self, mask):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        import tensorflow as tf

        cell, units = self.cell, self.cell.units
        time_major = tf.transpose(sequences, [1, 0, 2])
        weights = _gates_icfo(tf.concat([cell.kernel.value, cell.recurrent_kernel.value], axis=0))
        no_peephole = tf.zeros([units], dtype=time_major.dtype)
        _, cs, _, _, _, _, h = tf.raw_ops.BlockLSTM(
            seq_len_max=tf.cast(tf.shape(time_major)[0], tf.int64), x=time_major, cs_prev=initial_state[1],
            h_prev=initial_state[0], w=weights, wci=no_peephole, wcf=no_peephole, wco=no_peephole,
            b=_gates_icfo(cell.bias.value), forget_bias=0.0, cell_clip=-1.0, use_peephole=False)
        self.supports_jit = False
        last = h[-1]
        outputs = tf.transpose(h, [1, 0, 2]) if self.return_sequences else tf.expand_dims(last, axis=1)
        return last, outputs, [last, cs[-1]]


def fused_clone(model: keras.Model) -> keras.Model:
    """A copy of ``model`` holding its weights, with every ``keras.layers.LSTM`` a :class:`FusedLSTM` of the same
    config; other layers are cloned as they are (``keras.models.clone_model``)."""
    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if type(layer) is keras.layers.LSTM:
            return FusedLSTM.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    fused = keras.models.clone_model(model, clone_function=clone)
    fused.set_weights(model.get_weights())
    return fused
