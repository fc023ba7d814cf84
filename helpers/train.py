"""Seeding and determinism, compiling, and fitting a stacked RNN on a WindowGenerator's windows.

Same config, same data, same machine -> the same weights: :func:`set_seed` seeds Python, NumPy and
TensorFlow and switches TensorFlow to deterministic kernels, and shuffling is seeded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from helpers.config import RunConfig
from helpers.network import DEFAULT_MEMORY_BUDGET
from helpers.windows import WindowGenerator


class _NotRetracingAdvice:
    """Drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing" warning.

    It advises authors of ``tf.function`` code; here it fires because every fit builds a new model (seeds,
    cells, walk-forward parts, the tuning trials) and each model traces its own predict function, by design.
    It filled notebook pages twice over (TensorFlow's handler and the notebook's). Other warnings pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


if not any(isinstance(f, _NotRetracingAdvice) for f in logging.getLogger("tensorflow").filters):
    logging.getLogger("tensorflow").addFilter(_NotRetracingAdvice())


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow's ops deterministic (safe to call again)."""
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def compile_model(model: keras.Model, learning_rate: float, target: str) -> keras.Model:
    """Adam with ``learning_rate``; mean squared error for log_return/price, binary cross-entropy with
    accuracy for direction. Returns the same model, compiled."""
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if target == "direction":
        model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    else:
        model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


@dataclass
class TrainResult:
    """A trained model (best validation weights restored) and how training went."""

    model: keras.Model
    history: dict[str, list[float]]   # per-epoch loss, val_loss, metrics, learning_rate
    best_epoch: int                   # 1-based epoch whose weights the model holds (0: the persistence start)
    epochs_run: int
    seconds: float
    seed: int
    cell: str = ""
    units: tuple[int, ...] = field(default_factory=tuple)
    feed: str = "arrays"              # 'arrays' (materialised windows) or 'dataset' (streamed PyDataset)
    network: Any = None               # the helpers.network.NetworkForecaster it came from

    def history_json(self) -> dict[str, Any]:
        """A JSON-ready dict for ``history.json``: the curves and the summary numbers."""
        return {
            "history": {k: [float(v) for v in vals] for k, vals in self.history.items()},
            "best_epoch": self.best_epoch, "epochs_run": self.epochs_run, "seconds": round(self.seconds, 3),
            "seed": self.seed, "cell": self.cell, "units": list(self.units), "feed": self.feed,
        }


def train_model(windows: WindowGenerator, config: RunConfig, *, cell: str | None = None,
                units: Sequence[int] | None = None, verbose: int = 1,
                memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET) -> TrainResult:
    """One network (seed ``config.seed``) trained on ``windows``: a one-tower
    :class:`helpers.network.NetworkForecaster`, so it starts as persistence, stops early on its validation loss
    (the untrained start counted as epoch 0) and is shrunk toward persistence on the validation rows, exactly
    as every tower of the run's ensemble. ``cell``/``units`` override the config's (the cell comparison).
    Shuffling is seeded by ``config.seed``, so the same config gives the same weights. Training windows are
    materialised when they fit ``memory_budget_bytes``, else streamed from the strided view.
    """
    from helpers.network import NetworkForecaster

    cell = cell or config.cell
    units = tuple(units or config.units)
    run_config = config.replace(cell=cell, units=units)
    network = NetworkForecaster(windows.frame, windows.feature_columns, run_config, seeds=[config.seed])
    network.fit_windows(windows, verbose=verbose, memory_budget_bytes=memory_budget_bytes)
    report = network.fit_report
    return TrainResult(model=network.model, history=report.history, best_epoch=report.best_epoch,
                       epochs_run=report.epochs_run, seconds=report.seconds, seed=config.seed, cell=cell,
                       units=units, feed=network.feed_, network=network)


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """``model.predict`` without a progress bar: ``(samples, window, features)`` -> ``(samples, horizon)``."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
