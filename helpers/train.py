"""Seeding and determinism, compiling, and fitting a stacked RNN on a WindowGenerator's windows.

Same config, same data, same machine -> the same weights: :func:`set_seed` seeds Python, NumPy and
TensorFlow and switches TensorFlow to deterministic kernels, and shuffling is seeded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from helpers.config import RunConfig
from helpers.models import build_stacked_rnn
from helpers.windows import WindowGenerator

# Above this many bytes of training + validation windows, batches are streamed instead of materialised.
DEFAULT_MEMORY_BUDGET = 1 << 30


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
    best_epoch: int                   # 1-based epoch whose weights the model holds
    epochs_run: int
    seconds: float
    seed: int
    cell: str = ""
    units: tuple[int, ...] = field(default_factory=tuple)
    feed: str = "arrays"              # 'arrays' (materialised windows) or 'dataset' (streamed PyDataset)

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
    """Seed, build, compile and fit on the training windows, validating on the validation windows.

    Early stopping on ``val_loss`` (``config.patience``, best weights restored) and learning-rate halving on
    plateaus. Windows are materialised as arrays when training + validation windows fit
    ``memory_budget_bytes`` (plain ``fit`` on arrays is fastest), else streamed with ``windows.as_dataset``.
    Shuffling is seeded by ``config.seed``, so the same config gives the same weights.
    """
    cell = cell or config.cell
    units = tuple(units or config.units)
    set_seed(config.seed)
    output = "classification" if windows.target == "direction" else "regression"
    model = build_stacked_rnn(cell, units, config.dropout, windows.horizon, windows.window, windows.n_features,
                              output=output)
    compile_model(model, config.learning_rate, windows.target)
    shown = 1 if verbose else 0
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                          restore_best_weights=True, verbose=shown)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                patience=max(1, config.patience // 2), min_lr=1e-6,
                                                verbose=shown)
    fit_args: dict[str, Any] = dict(epochs=config.epochs, callbacks=[early, plateau], verbose=verbose)

    window_bytes = windows.window * windows.n_features * 4 + windows.horizon * 4
    needed = (windows.n_samples("train") + windows.n_samples("val")) * window_bytes
    started = time.perf_counter()
    if needed <= memory_budget_bytes:
        feed = "arrays"
        history = model.fit(
            np.ascontiguousarray(windows.inputs("train")), np.ascontiguousarray(windows.labels("train")),
            batch_size=config.batch_size, shuffle=True,
            validation_data=(np.ascontiguousarray(windows.inputs("val")),
                             np.ascontiguousarray(windows.labels("val"))),
            **fit_args)
    else:
        feed = "dataset"
        history = model.fit(
            windows.as_dataset("train", config.batch_size, shuffle=True, seed=config.seed),
            validation_data=windows.as_dataset("val", config.batch_size), shuffle=False, **fit_args)
    seconds = time.perf_counter() - started

    curves = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    epochs_run = len(curves.get("loss", []))
    best_epoch = early.best_epoch + 1 if early.best is not None else epochs_run
    return TrainResult(model=model, history=curves, best_epoch=best_epoch, epochs_run=epochs_run,
                       seconds=seconds, seed=config.seed, cell=cell, units=units, feed=feed)


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """``model.predict`` without a progress bar: ``(samples, window, features)`` -> ``(samples, horizon)``."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
