"""One builder for stacked recurrent networks: LSTM, GRU or SimpleRNN layers, dropout, a dense head.

Every network of the series comes from :func:`build_stacked_rnn`, so comparing cells changes one word and
nothing else. The model is returned uncompiled (``helpers.train.compile_model`` compiles it).
"""

from __future__ import annotations

from typing import Sequence

import keras

from helpers.config import CELLS

OUTPUTS = ("regression", "classification")

# Default activations and recurrent_dropout=0 keep LSTM/GRU on their fast fused kernels.
_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}


def build_stacked_rnn(cell: str, units: Sequence[int], dropout: float, horizon: int, window: int,
                      n_features: int, *, output: str = "regression", name: str | None = None) -> keras.Model:
    """An uncompiled stack: input ``(window, n_features)`` -> recurrent layers -> ``Dense(horizon)``.

    ``cell``: 'lstm', 'gru' or 'rnn' (SimpleRNN). ``units``: one size per recurrent layer; all but the last
    return the whole sequence so the next layer reads every time step. A ``Dropout(dropout)`` follows each
    recurrent layer (Monte Carlo dropout turns these on at predict time with ``training=True``).
    ``output='classification'`` puts a sigmoid on the head (probability of a rise, direction target).
    Output shape ``(batch, horizon)``.
    """
    if cell not in _LAYERS:
        raise ValueError(f"unknown cell {cell!r}: use one of {', '.join(CELLS)} (rnn = SimpleRNN)")
    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r}: use one of {', '.join(OUTPUTS)}")
    units = [int(u) for u in units]
    if not units or any(u < 1 for u in units):
        raise ValueError(f"units must list at least one layer size >= 1, got {list(units)}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a rate from 0 to below 1, got {dropout}")
    for label, value in (("horizon", horizon), ("window", window), ("n_features", n_features)):
        if int(value) < 1:
            raise ValueError(f"{label} must be a whole number >= 1, got {value}")

    layer = _LAYERS[cell]
    inputs = keras.Input(shape=(int(window), int(n_features)), name="window")
    x = inputs
    for i, size in enumerate(units, start=1):
        x = layer(size, return_sequences=i < len(units), recurrent_dropout=0.0, name=f"{cell}_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    activation = "sigmoid" if output == "classification" else None
    outputs = keras.layers.Dense(int(horizon), activation=activation, name="head")(x)
    return keras.Model(inputs, outputs, name=name or f"stacked_{cell}_{'x'.join(map(str, units))}")
