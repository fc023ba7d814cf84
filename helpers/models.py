"""One builder for stacked recurrent networks: LSTM, GRU or SimpleRNN layers, dropout, a dense head.

Every network of the series comes from :func:`stacked_rnn_tower`, so comparing cells changes one word and
nothing else: :func:`build_stacked_rnn` is one tower as a model, :func:`build_seed_ensemble` is several towers
(one per seed) reading the same input in parallel, trained as one model. The head can start at a given output
(``start``): with the output that means "no change" the untrained network *is* persistence, and training moves
it away only as far as the data pull it (the TensorFlow tutorial's residual idea). Models are returned
uncompiled (``helpers.train.compile_model`` compiles them).
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np

from helpers.config import CELLS

OUTPUTS = ("regression", "classification")

# Default activations and recurrent_dropout=0 keep LSTM/GRU on their fast fused kernels.
_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}


def _check(cell: str, units: Sequence[int], dropout: float, output: str, **sizes: int) -> list[int]:
    if cell not in _LAYERS:
        raise ValueError(f"unknown cell {cell!r}: use one of {', '.join(CELLS)} (rnn = SimpleRNN)")
    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r}: use one of {', '.join(OUTPUTS)}")
    units = [int(u) for u in units]
    if not units or any(u < 1 for u in units):
        raise ValueError(f"units must list at least one layer size >= 1, got {list(units)}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a rate from 0 to below 1, got {dropout}")
    for label, value in sizes.items():
        if int(value) < 1:
            raise ValueError(f"{label} must be a whole number >= 1, got {value}")
    return units


def head_bias(start: Sequence[float] | np.ndarray, output: str) -> np.ndarray:
    """The head's bias that makes a zero-weight head emit ``start``: the value itself for regression, its
    logit for classification (a sigmoid head; 0.5 -> 0)."""
    s = np.asarray(start, dtype=np.float64)
    if output == "classification":
        s = np.clip(s, 1e-6, 1 - 1e-6)
        return np.log(s / (1 - s))
    return s


def stacked_rnn_tower(x: Any, cell: str, units: Sequence[int], dropout: float, horizon: int, *,
                      output: str = "regression", seed: int | None = None, start: Sequence[float] | None = None,
                      prefix: str = "") -> Any:
    """The layers of one stacked network applied to the tensor ``x`` ``(batch, window, features)``; returns
    the head's output ``(batch, horizon)``.

    All recurrent layers but the last return sequences; a ``Dropout`` follows each (Monte Carlo dropout turns
    them on at predict time). ``seed`` seeds every initializer and dropout layer of the tower, so a tower's
    starting weights depend on its own seed only. ``start``: the head starts with zero weights and a bias that
    emits ``start`` ``(horizon,)`` whatever the input. Layer names start with ``prefix``.
    """
    units = _check(cell, units, dropout, output, horizon=horizon)
    layer = _LAYERS[cell]

    def seeded(kind: Any, offset: int) -> Any:
        return kind(seed=None if seed is None else int(seed) * 1000 + offset)

    for i, size in enumerate(units, start=1):
        x = layer(size, return_sequences=i < len(units), recurrent_dropout=0.0, name=f"{prefix}{cell}_{i}",
                  kernel_initializer=seeded(keras.initializers.GlorotUniform, 2 * i),
                  recurrent_initializer=seeded(keras.initializers.Orthogonal, 2 * i + 1))(x)
        x = keras.layers.Dropout(dropout, seed=None if seed is None else int(seed) * 1000 + 100 + i,
                                 name=f"{prefix}dropout_{i}")(x)
    activation = "sigmoid" if output == "classification" else None
    if start is None:
        kernel, bias = seeded(keras.initializers.GlorotUniform, 999), "zeros"
    else:
        kernel = "zeros"
        bias = keras.initializers.Constant(head_bias(start, output).reshape(int(horizon)).tolist())
    return keras.layers.Dense(int(horizon), activation=activation, name=f"{prefix}head",
                              kernel_initializer=kernel, bias_initializer=bias)(x)


def build_stacked_rnn(cell: str, units: Sequence[int], dropout: float, horizon: int, window: int,
                      n_features: int, *, output: str = "regression", name: str | None = None,
                      seed: int | None = None, start: Sequence[float] | None = None) -> keras.Model:
    """An uncompiled stack: input ``(window, n_features)`` -> recurrent layers -> ``Dense(horizon)``.

    ``cell``: 'lstm', 'gru' or 'rnn' (SimpleRNN). ``units``: one size per recurrent layer.
    ``output='classification'`` puts a sigmoid on the head (probability of a rise, direction target).
    ``seed`` and ``start`` as in :func:`stacked_rnn_tower`. Output shape ``(batch, horizon)``.
    """
    _check(cell, units, dropout, output, horizon=horizon, window=window, n_features=n_features)
    inputs = keras.Input(shape=(int(window), int(n_features)), name="window")
    outputs = stacked_rnn_tower(inputs, cell, units, dropout, horizon, output=output, seed=seed, start=start)
    return keras.Model(inputs, outputs, name=name or f"stacked_{cell}_{'x'.join(map(str, units))}")


def start_head_at(model: keras.Model, start: Sequence[float] | np.ndarray, output: str = "regression",
                  head: str = "head") -> None:
    """Set a built model's head (layer ``head``) to zero weights and the bias that emits ``start``: the network
    then forecasts "no change" until training moves it (for models built before ``start`` was known)."""
    layer = model.get_layer(head)
    kernel, _ = layer.get_weights()
    layer.set_weights([np.zeros_like(kernel), head_bias(start, output).astype(kernel.dtype).reshape(-1)])


def tower_prefix(seed: int) -> str:
    """The name prefix of the tower of ``seed`` in a seed ensemble: ``'seed42_'``."""
    return f"seed{int(seed)}_"


def build_seed_ensemble(cell: str, units: Sequence[int], dropout: float, horizon: int, window: int,
                        n_features: int, seeds: Sequence[int], *, output: str = "regression",
                        start: Sequence[float] | None = None) -> keras.Model:
    """One model of ``len(seeds)`` parallel towers over the same input window, one per seed: output
    ``(batch, towers, horizon)``, tower ``i`` at ``[:, i, :]``.

    Trained as one model (one call, one pass over the data per epoch for all seeds), each tower still learns
    on its own: the loss is the mean of the towers' losses and no weight is shared, so a tower's gradient is
    its own (shuffling order is shared). Layer names carry the seed (:func:`tower_prefix`).
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct whole numbers, at least one, got {seeds}")
    _check(cell, units, dropout, output, horizon=horizon, window=window, n_features=n_features)
    inputs = keras.Input(shape=(int(window), int(n_features)), name="window")
    towers = [keras.layers.Reshape((1, int(horizon)), name=f"{tower_prefix(s)}row")(
        stacked_rnn_tower(inputs, cell, units, dropout, horizon, output=output, seed=s, start=start,
                          prefix=tower_prefix(s))) for s in seeds]
    outputs = towers[0] if len(towers) == 1 else keras.layers.Concatenate(axis=1, name="towers")(towers)
    return keras.Model(inputs, outputs, name=f"ensemble_{len(seeds)}x_{cell}_{'x'.join(map(str, units))}")


def parameter_count(cell: str, units: Sequence[int], n_features: int, horizon: int) -> int:
    """Trainable weights of one tower, by formula (no model built): the size a simplicity rule compares."""
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    total, width = 0, int(n_features)
    for u in units:
        u = int(u)
        total += gates * (u * (width + u) + u) + (gates * u if cell == "gru" else 0)   # GRU: reset_after bias
        width = u
    return total + width * int(horizon) + int(horizon)
