"""Hyperparameter search with keras-tuner: the same builder as training, resumable, budgeted, blind to the test rows.

A search tries network shapes and training settings and keeps the one with the lowest validation loss. Three
rules keep it honest:

- **The test rows never reach the tuner.** :func:`frame_without_test_rows` cuts the feature frame before the
  first test target date, and only that frame is handed to :class:`StackedRNNHyperModel`. Choosing
  hyperparameters on the test rows would make notebook 06's test score optimistic.
- **One builder.** Every trial is built by :func:`helpers.models.build_stacked_rnn` and compiled by
  :func:`helpers.train.compile_model`, exactly like notebook 04's model.
- **Resumable and budgeted.** The tuner's state lives in ``tuning_dir/search`` (``overwrite=False``), so a
  re-run repeats no finished trial and retries one that was killed midway. The budget is ``max_trials``
  trials of at most ``tune_epochs`` epochs, and ``tune_time_limit_s`` seconds of wall clock per call: no new
  trial starts after that (the running one finishes).

The window length changes the data, not only the model, so the hypermodel registers ``window`` in ``build()``
(the input shape needs it) and builds the windows itself in an overridden ``fit()``.

The objective is a trial's lowest ``val_loss`` on the run's one validation period. Averaging it over a few
time-ordered folds (walk-forward validation inside the pre-test rows) would make the choice less noisy at k
times the cost; that is not done here: ``fit()`` would return one History per fold and keras-tuner averages them.

Distributed mode is keras-tuner's own: one chief process holds the oracle and hands out trials over gRPC, any
number of workers run them. Set ``KERASTUNER_TUNER_ID`` (``chief``, ``tuner0``, ``tuner1``, ...),
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` and run the same command in every process::

    python -m helpers.tune --run-dir reports/<run-id>

``import helpers.tune`` is cheap: keras-tuner and TensorFlow are imported on first use.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from helpers.atomic import atomic_write_json, read_json
from helpers.config import CELLS, RunConfig
from helpers.runfolder import RunPaths
from helpers.preprocess import input_columns_for, output_kind
from helpers.splits import chronological_split, tuning_split
from helpers.windows import WindowGenerator
from helpers.frequency import has_time_of_day, iso_stamp

log = logging.getLogger(__name__)

PROJECT_NAME = "search"        # keras-tuner's project folder inside tuning_dir
DEFAULT_RUN_FILE = "default_run.json"   # the default config's validation loss, kept so a resume reuses it
SIGNATURE_FILE = "search_settings.json"  # what the trials in tuning_dir were scored on; a resume must match it
OBJECTIVE = "val_loss"

# The search space. Windows, layer sizes and depth come from the config (tune_windows, tune_units,
# tune_max_layers: quick mode searches small networks only); the rest is fixed here.
DROPOUT_RANGE = (0.0, 0.5)
DROPOUT_STEP = 0.1
LEARNING_RATE_RANGE = (1e-4, 1e-2)     # sampled on a log scale
BATCH_SIZES = (32, 64, 128)

# The RunConfig fields a search chooses (what best.json overrides).
OVERRIDE_FIELDS = ("cell", "units", "dropout", "learning_rate", "batch_size", "window")

# keras-tuner treats seed 0 as "no seed" and draws a random one; this stands in for 0 so runs still repeat.
_SEED_FOR_ZERO = 2**31 - 1
# Median stopping (Google Vizier's rule): from this epoch on, a trial whose best validation loss so far is
# worse than the median of the earlier trials' best losses after as many epochs stops; at least this many
# earlier trials must have finished for their median to mean anything.
PRUNE_FROM_EPOCH = 3
PRUNE_AFTER_TRIALS = 2


# ---------------------------------------------------------------------- the search space
def search_space(config: RunConfig) -> pd.DataFrame:
    """The hyperparameters a search tries, one row each: name, the values or range, how it is sampled."""
    rows = [
        ("window", ", ".join(map(str, config.tune_windows)), "choice (config.tune_windows)"),
        ("cell", ", ".join(CELLS), "choice (rnn = SimpleRNN)"),
        ("layers", f"1 to {config.tune_max_layers}", "whole number (config.tune_max_layers)"),
        ("units_1 .. units_<layers>", ", ".join(map(str, config.tune_units)), "choice, one per layer (config.tune_units)"),
        ("dropout", f"{DROPOUT_RANGE[0]} to {DROPOUT_RANGE[1]}", f"steps of {DROPOUT_STEP}"),
        ("learning_rate", f"{LEARNING_RATE_RANGE[0]:g} to {LEARNING_RATE_RANGE[1]:g}", "log scale"),
        ("batch_size", ", ".join(map(str, BATCH_SIZES)), "choice"),
    ]
    return pd.DataFrame(rows, columns=["hyperparameter", "values", "sampled as"])


# ---------------------------------------------------------------------- keeping the test rows out
@dataclass(frozen=True)
class TuningBoundaries:
    """Where the tuner's data starts being validation and where it stops.

    ``val_start``: the first validation target date (the run's split at ``config.window``).
    ``test_start``: the earliest first test target date over every window the search may pick and the run's
    own window; rows on or after it never reach the tuner, whichever window wins.
    """

    val_start: pd.Timestamp
    test_start: pd.Timestamp
    intraday: bool = False      # the series has a time of day: every boundary is written with its time

    def stamp(self, when: Any) -> str | None:
        """``when`` written as this series writes its bars (see :func:`helpers.frequency.iso_stamp`)."""
        return iso_stamp(when, self.intraday)

    def to_dict(self) -> dict[str, str]:
        return {"val_start": self.stamp(self.val_start), "test_start": self.stamp(self.test_start)}


def tuning_boundaries(frame: pd.DataFrame, config: RunConfig) -> TuningBoundaries:
    """The validation and test boundary dates of ``frame`` under ``config`` (see :class:`TuningBoundaries`).

    With fractions, the first test date depends on the window (the split counts rows that can be a label);
    taking the earliest over all candidate windows means the test rows of the final run, whatever window the
    search picks, were never seen by the search.
    """
    dates = pd.DatetimeIndex(frame.index)
    windows = sorted({int(config.window), *map(int, config.tune_windows)})
    plans = {w: chronological_split(dates, config, w, config.horizon) for w in windows}
    return TuningBoundaries(val_start=plans[int(config.window)].val_start,
                            test_start=min(plan.test_start for plan in plans.values()),
                            intraday=has_time_of_day(dates))


def frame_without_test_rows(frame: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """The rows of ``frame`` dated before the first test target date: all the tuner may see.

    The cut is at :func:`tuning_boundaries`' ``test_start``, so no test target (nor any later feature value)
    of any candidate window is in the returned frame.
    """
    boundaries = tuning_boundaries(frame, config)
    return frame.loc[frame.index < boundaries.test_start]


@dataclass
class TuningWindows:
    """Scaled training and validation windows for one window length, as arrays.

    ``x_*``: ``(samples, window, features)`` float32; ``y_*``: ``(samples, horizon)``; ``*_target_dates``: the
    step-1 target date of each sample (tests check none reaches the test period).
    """

    window: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    train_target_dates: pd.DatetimeIndex
    val_target_dates: pd.DatetimeIndex
    last_target_date: pd.Timestamp
    start: np.ndarray | None = None      # the "no change" output every trial starts at
    persistence_loss: float = float("nan")


def tuning_windows(frame: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig, window: int,
                   val_start: pd.Timestamp | str) -> TuningWindows:
    """Training windows (targets before ``val_start``) and validation windows (targets from ``val_start`` to
    the end of ``frame``) of a frame that holds no test rows, scaled with training rows only.

    ``frame`` must come from :func:`frame_without_test_rows`; the split is
    :func:`helpers.splits.tuning_split` (a plan without a test split), the scalers are fitted on the training
    rows only, as in 04 and 06. ``start`` is the output that means "no change" and ``persistence_loss`` the
    validation loss of forecasting it: every trial starts there and must beat it.
    """
    plan = tuning_split(frame.index, config, int(window), pd.Timestamp(val_start))
    gen = WindowGenerator(frame, feature_columns, config, window=int(window), plan=plan)
    y_val = np.ascontiguousarray(gen.labels("val"))
    start = gen.preprocessor.no_change_output()
    persistence = (float("nan") if start is None else
                   float(_losses(np.broadcast_to(start, y_val.shape), y_val, config.target)))
    return TuningWindows(window=int(window), x_train=np.ascontiguousarray(gen.inputs("train")),
                         y_train=np.ascontiguousarray(gen.labels("train")), x_val=np.ascontiguousarray(gen.inputs("val")),
                         y_val=y_val, train_target_dates=gen.target_dates("train"),
                         val_target_dates=gen.target_dates("val"),
                         last_target_date=gen.dates[plan.val.stop - 1 + gen.horizon],
                         start=start, persistence_loss=persistence)


def _losses(pred: np.ndarray, y: np.ndarray, target: str) -> float:
    """The trials' validation loss in numpy: mean squared error, or binary cross-entropy for direction."""
    if target == "direction":
        p = np.clip(np.asarray(pred, dtype=np.float64), 1e-7, 1 - 1e-7)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return float(np.mean((np.asarray(pred, dtype=np.float64) - y) ** 2))


# ---------------------------------------------------------------------- the hypermodel
def __getattr__(name: str) -> Any:
    # `from helpers.tune import StackedRNNHyperModel` works while keras-tuner is imported only on first use.
    if name == "StackedRNNHyperModel":
        return _hypermodel_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _hypermodel_class() -> type:
    """Define StackedRNNHyperModel on first use (it subclasses keras_tuner.HyperModel)."""
    import keras
    import keras_tuner as kt

    from helpers.fused import fused_clone
    from helpers.models import build_stacked_rnn, start_head_at
    from helpers.train import compile_model, set_seed

    class StackedRNNHyperModel(kt.HyperModel):
        """A stacked LSTM/GRU/SimpleRNN whose shape, training settings and window length are searched.

        ``frame`` must hold no test rows (pass :func:`frame_without_test_rows`' output; a frame reaching
        ``boundaries.test_start`` is refused). ``build(hp)`` registers every hyperparameter (see
        :func:`search_space`) and returns the compiled model; ``fit(hp, model, ...)`` builds the windows of
        ``hp['window']`` (cached per length), fits on the training windows and validates on the validation
        windows. Each trial starts from ``config.seed``, so trials differ by their hyperparameters only.
        """

        def __init__(self, frame: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig,
                     boundaries: TuningBoundaries, *, name: str | None = None):
            super().__init__(name=name, tunable=True)
            if len(frame) and frame.index[-1] >= boundaries.test_start:
                raise ValueError(
                    f"the tuning frame reaches {iso_stamp(frame.index[-1], frame.index)}, on or after the first test "
                    f"date {iso_stamp(boundaries.test_start, frame.index)}: pass frame_without_test_rows(frame, config) so the search "
                    "never sees test rows")
            self.frame = frame
            self.feature_columns = list(feature_columns)
            self.config = config
            self.boundaries = boundaries
            self.n_features = len(input_columns_for(self.feature_columns, config.target))
            self.trials_fitted = 0   # trials trained in this process (a distributed worker reports it)
            self.trials_pruned = 0   # of those, stopped by the median rule
            self.curves: list[list[float]] = []      # validation-loss curves of this process's trials
            self.last_stopped_at: int | None = None  # the epoch the median rule stopped the last trial at
            self._windows: dict[int, TuningWindows] = {}

        # ---------------------------------------------------------- space and model
        def build(self, hp: Any) -> keras.Model:
            c = self.config
            window = hp.Choice("window", [int(w) for w in c.tune_windows],
                               default=_default_if_in(c.window, c.tune_windows))
            cell = hp.Choice("cell", list(CELLS), default=c.cell)
            layers = hp.Int("layers", 1, c.tune_max_layers, default=min(len(c.units), c.tune_max_layers))
            choices = sorted({int(u) for u in c.tune_units})
            units = [hp.Choice(f"units_{i}", choices,
                               default=_default_if_in(c.units[i - 1] if i <= len(c.units) else None, choices))
                     for i in range(1, layers + 1)]
            dropout = hp.Float("dropout", *DROPOUT_RANGE, step=DROPOUT_STEP,
                               default=_default_if_between(c.dropout, DROPOUT_RANGE))
            learning_rate = hp.Float("learning_rate", *LEARNING_RATE_RANGE, sampling="log",
                                     default=_default_if_between(c.learning_rate, LEARNING_RATE_RANGE))
            hp.Choice("batch_size", list(BATCH_SIZES), default=_default_if_in(c.batch_size, BATCH_SIZES))
            return self.build_model(cell, units, round(dropout, 6), learning_rate, window)

        def build_model(self, cell: str, units: Sequence[int], dropout: float, learning_rate: float,
                        window: int) -> keras.Model:
            """The compiled network of one point of the space, from the same builder as notebook 04, trained
            with the fused LSTM kernel like every fit (:func:`helpers.fused.fused_clone`)."""
            set_seed(self.config.seed)
            model = build_stacked_rnn(cell, units, dropout, self.config.horizon, int(window), self.n_features,
                                      output=output_kind(self.config.target), seed=self.config.seed)
            return compile_model(fused_clone(model), learning_rate, self.config.target)

        # ---------------------------------------------------------- data and training
        def windows_for(self, window: int) -> TuningWindows:
            """The training and validation windows of ``window``, built once per length."""
            window = int(window)
            if window not in self._windows:
                self._windows[window] = tuning_windows(self.frame, self.feature_columns, self.config, window,
                                                       self.boundaries.val_start)
            return self._windows[window]

        def fit(self, hp: Any, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
            """Fit on the training windows of ``hp['window']``, validating on its validation windows.

            keras-tuner passes ``epochs`` (Hyperband: also ``initial_epoch``), ``callbacks`` (its checkpoint
            and bookkeeping) and ``verbose`` through ``kwargs``. Early stopping on ``val_loss`` with
            ``config.patience`` ends trials that stopped improving; the median rule
            (:func:`median_stop_threshold`) ends hopeless ones, worse than the earlier trials after as many
            epochs, so a budget goes to promising settings (not with Hyperband, which budgets epochs itself).
            Trials run one after another in a process, so which trial stops where is reproducible.
            """
            self.trials_fitted += 1
            callbacks = list(kwargs.pop("callbacks", ()))
            pruning = None
            if self.config.tuner != "hyperband":
                pruning = _median_stopping_class()(self.curves)
                callbacks.append(pruning)
            history = self.fit_model(model, int(hp.get("window")), int(hp.get("batch_size")), callbacks=callbacks,
                                     **kwargs)
            self.last_stopped_at = None if pruning is None else pruning.stopped_at
            self.trials_pruned += self.last_stopped_at is not None
            return history

        def fit_model(self, model: keras.Model, window: int, batch_size: int, *, epochs: int | None = None,
                      callbacks: Sequence[Any] = (), verbose: Any = 0, **kwargs: Any) -> Any:
            """``model.fit`` on the tuning windows; returns the Keras History (its best val_loss is the score)."""
            data = self.windows_for(window)
            if data.start is not None:   # every trial starts as persistence, as the run's network does
                start_head_at(model, data.start, output_kind(self.config.target))
            early = keras.callbacks.EarlyStopping(monitor=OBJECTIVE, patience=max(1, self.config.patience))
            set_seed(self.config.seed)   # the same shuffling order in every trial
            return model.fit(data.x_train, data.y_train, batch_size=int(batch_size), shuffle=True,
                             validation_data=(data.x_val, data.y_val),
                             epochs=int(epochs or self.config.tune_epochs),
                             callbacks=[*callbacks, early], verbose=verbose, **kwargs)

    return StackedRNNHyperModel


def median_stop_threshold(curves: Sequence[Sequence[float]], epochs_done: int) -> float | None:
    """The loss a trial must beat after ``epochs_done`` epochs to go on: the median, over earlier trials'
    validation-loss ``curves``, of each one's best loss within its first ``epochs_done`` epochs (a curve that
    stopped earlier counts with its best). None while the rule does not apply yet (:data:`PRUNE_FROM_EPOCH`,
    :data:`PRUNE_AFTER_TRIALS`)."""
    finished = [c for c in curves if len(c) and np.isfinite(np.nanmin(c))]
    if epochs_done < PRUNE_FROM_EPOCH or len(finished) < PRUNE_AFTER_TRIALS:
        return None
    return float(np.median([np.nanmin(c[:epochs_done]) for c in finished]))


@functools.cache
def _median_stopping_class() -> type:
    """Define MedianStopping on first use (it subclasses keras.callbacks.Callback)."""
    import keras

    class MedianStopping(keras.callbacks.Callback):
        """Stops a hopeless trial early: see :func:`median_stop_threshold`. ``curves`` are the earlier trials'
        validation-loss curves (this trial's is appended when it ends); ``stopped_at`` is the epoch count at which
        it stopped (None: it ran its budget or its patience out)."""

        def __init__(self, curves: list[list[float]]):
            super().__init__()
            self.curves = curves
            self.losses: list[float] = []
            self.stopped_at: int | None = None

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            loss = float((logs or {}).get(OBJECTIVE, np.nan))
            self.losses.append(loss)
            threshold = median_stop_threshold(self.curves, len(self.losses))
            if threshold is not None and not np.nanmin(self.losses) <= threshold:
                self.stopped_at = len(self.losses)
                self.model.stop_training = True

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            self.curves.append(list(self.losses))

    return MedianStopping


def _default_if_in(value: Any, allowed: Sequence[Any]) -> Any:
    return value if value in tuple(allowed) else None


def _default_if_between(value: float, bounds: tuple[float, float]) -> float | None:
    return float(value) if bounds[0] <= value <= bounds[1] else None


# ---------------------------------------------------------------------- the tuner, with a wall-clock limit
@functools.cache
def _time_limited(oracle_class: type) -> type:
    """``oracle_class`` with a deadline: after it, ``create_trial`` answers STOPPED instead of a new trial.

    The check sits in the oracle, so in distributed mode the chief enforces it for every worker, and the
    chief's normal shutdown (every worker told to stop, no trial running) follows.
    """
    from keras_tuner.src.engine import trial as trial_module

    class TimeLimitedOracle(oracle_class):
        deadline: float = math.inf          # time.monotonic() after which no trial starts
        stopped_by_time_limit: bool = False

        def create_trial(self, tuner_id: str) -> Any:
            if time.monotonic() >= self.deadline and tuner_id not in self.ongoing_trials:
                self.stopped_by_time_limit = True
                self.tuner_ids.discard(tuner_id)
                return trial_module.Trial(self.hyperparameters.copy(), trial_id="stopped",
                                          status=trial_module.TrialStatus.STOPPED)
            return super().create_trial(tuner_id)

    TimeLimitedOracle.__name__ = f"TimeLimited{oracle_class.__name__}"
    return TimeLimitedOracle


def make_tuner(hypermodel: Any, config: RunConfig, tuning_dir: str | Path, *, overwrite: bool = False) -> Any:
    """The keras-tuner tuner of ``config.tuner`` ('random', 'hyperband' or 'bayesian') over ``hypermodel``.

    State in ``tuning_dir/search``; ``overwrite=False`` resumes a previous search there. Budget:
    ``config.max_trials`` trials (Hyperband: its brackets up to ``tune_epochs`` epochs, capped at
    ``max_trials`` trials too), ``config.tune_time_limit_s`` seconds from now. Bayesian optimisation starts
    with ``max(2, max_trials // 3)`` random trials before its Gaussian process proposes (keras-tuner's default
    of 3 per hyperparameter would make a short search purely random). Seeded by ``config.seed``.
    """
    import keras_tuner as kt
    from keras_tuner.src.tuners.bayesian import BayesianOptimizationOracle
    from keras_tuner.src.tuners.hyperband import HyperbandOracle
    from keras_tuner.src.tuners.randomsearch import RandomSearchOracle

    seed = config.seed or _SEED_FOR_ZERO
    objective = kt.Objective(OBJECTIVE, direction="min")
    if config.tuner == "random":
        oracle = _time_limited(RandomSearchOracle)(objective=objective, max_trials=config.max_trials, seed=seed)
        tuner_class = _tuner_classes()["plain"]
    elif config.tuner == "bayesian":
        oracle = _time_limited(BayesianOptimizationOracle)(
            objective=objective, max_trials=config.max_trials, seed=seed,
            num_initial_points=max(2, config.max_trials // 3))
        tuner_class = _tuner_classes()["plain"]
    elif config.tuner == "hyperband":
        oracle = _time_limited(HyperbandOracle)(objective=objective, max_epochs=config.tune_epochs,
                                                 factor=3, hyperband_iterations=1, seed=seed)
        oracle.max_trials = config.max_trials
        tuner_class = _tuner_classes()["hyperband"]
    else:
        raise ValueError(f"unknown tuner {config.tuner!r}: use one of random, hyperband, bayesian")
    oracle.deadline = time.monotonic() + float(config.tune_time_limit_s)
    return tuner_class(oracle=oracle, hypermodel=hypermodel, directory=str(tuning_dir),
                       project_name=PROJECT_NAME, overwrite=overwrite)


@functools.cache
def _tuner_classes() -> dict[str, type]:
    """keras-tuner's Tuner and Hyperband tuner (its trial resumption and epoch schedule), over oracles made
    here, without keras-tuner's per-trial TensorBoard hook.

    keras-tuner 1.4.8 imports ``tensorboard`` at the start of every trial with the TensorFlow backend, only to
    wire up TensorBoard callbacks; tensorflow-cpu 2.21 does not install tensorboard, so every trial failed.
    The hook is skipped unless a TensorBoard callback is passed (this module passes none).
    """
    import keras_tuner as kt

    class NoTensorBoardHook:
        def _configure_tensorboard_dir(self, callbacks: list[Any], trial: Any, execution: int = 0) -> None:
            if any(type(c).__name__ == "TensorBoard" for c in callbacks):
                super()._configure_tensorboard_dir(callbacks, trial, execution)

    class TrialLines:
        """One printed line per finished trial instead of keras-tuner's display, which clears the notebook
        cell before every trial's summary (only the last trial's was left in the page)."""

        def search(self, *fit_args: Any, **fit_kwargs: Any) -> Any:
            self._trial_lines = fit_kwargs.get("verbose", 1) not in (0, "0", "silent", False, None)
            self._trial_started: dict[str, float] = {}
            self._trials_ended = 0
            return super().search(*fit_args, **fit_kwargs)

        def on_search_begin(self) -> None:
            if hasattr(type(self.oracle), "verbose"):   # a local oracle's display (a worker's client has none)
                self.oracle.verbose = 0
            super().on_search_begin()

        def on_trial_begin(self, trial: Any) -> None:
            self._trial_started[trial.trial_id] = time.perf_counter()
            super().on_trial_begin(trial)

        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            self._trials_ended += 1
            if getattr(self, "_trial_lines", False):
                seconds = time.perf_counter() - self._trial_started.pop(trial.trial_id, time.perf_counter())
                number = len(getattr(self.oracle, "trials", ())) or self._trials_ended   # a worker: its own
                print(trial_line(trial, number, getattr(self.oracle, "max_trials", None), seconds,
                                 self.oracle.get_best_trials(),
                                 stopped_at=getattr(self.hypermodel, "last_stopped_at", None)), flush=True)

    class SearchTuner(NoTensorBoardHook, TrialLines, kt.Tuner):
        pass

    class HyperbandTuner(NoTensorBoardHook, TrialLines, kt.Hyperband):
        def __init__(self, oracle: Any, hypermodel: Any, **kwargs: Any):
            kt.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)

    return {"plain": SearchTuner, "hyperband": HyperbandTuner}


def trial_line(trial: Any, number: int, budget: int | None, seconds: float, best: Sequence[Any] = (),
               stopped_at: int | None = None) -> str:
    """The line a search prints when a trial ends: ``trial 3/10: cell gru, units [32], ... -> val_loss 0.4625
    in 12 s (best so far 0.4598)``, or ``trial 3/10 failed in 2 s: <the error's last line>``; ``stopped_at``:
    the epoch the median rule stopped it at."""
    where = f"trial {number}/{budget}" if budget else f"trial {number}"
    status = str(getattr(trial.status, "value", trial.status))
    if status != "COMPLETED" or trial.score is None:
        return f"{where} {status.lower()} in {seconds:.0f} s: {_last_line(getattr(trial, 'message', None)) or '?'}"
    settings = ", ".join(f"{k} {v if isinstance(v, str) else _short(v)}" for k, v in
                         overrides_from_hyperparameters(dict(trial.hyperparameters.values)).items())
    line = f"{where}: {settings} -> {OBJECTIVE} {trial.score:.4g} in {seconds:.0f} s"
    if stopped_at is not None:
        line += f", stopped after {stopped_at} epochs (worse than the median of earlier trials)"
    if best and best[0].score is not None:
        line += f" (best so far {best[0].score:.4g})"
    return line


# ---------------------------------------------------------------------- running a search
@dataclass
class SearchResult:
    """What a search found.

    ``trials``: one row per trial (trial_id, status, val_loss, every hyperparameter; ``units_i`` beyond
    ``layers`` are empty because that layer does not exist). ``best_overrides``: the RunConfig fields of the
    best completed trial. ``default_val_loss``: the run's config trained once with the same budget and data
    (None on a distributed worker, which leaves that to the chief). ``role``: 'single', 'chief' or 'worker'.
    """

    trials: pd.DataFrame
    best_hyperparameters: dict[str, Any] | None
    best_overrides: dict[str, Any] | None
    best_val_loss: float | None
    default_overrides: dict[str, Any]
    default_val_loss: float | None
    tuner: str
    role: str
    new_trials: int        # trials finished during this call, by any process
    trials_run_here: int   # trials this process trained
    seconds: float
    stopped_by_time_limit: bool
    boundaries: TuningBoundaries
    last_tuning_date: pd.Timestamp
    tuning_dir: Path = field(default_factory=Path)
    selection: dict[str, Any] = field(default_factory=dict)
    trials_pruned: int = 0  # of the trials run here, stopped early by the median rule

    @property
    def completed(self) -> int:
        """Number of trials that finished with a validation loss."""
        return int((self.trials["status"] == "COMPLETED").sum()) if len(self.trials) else 0

    @property
    def default_won(self) -> bool:
        """True when the run's own config scored at least as well as the chosen trial, or the chosen trial does
        not beat persistence by more than its noise (then best.json keeps the run's settings)."""
        return (self.best_val_loss is None or self.selection.get("beats_persistence") is False or
                (self.default_val_loss is not None and self.default_val_loss <= self.best_val_loss))

    @property
    def gain(self) -> float | None:
        """Relative validation-loss reduction of the best trial over the default config (0.1 = 10% lower)."""
        if self.best_val_loss is None or not self.default_val_loss:
            return None
        return 1.0 - self.best_val_loss / self.default_val_loss

    def summary(self) -> str:
        """Two or three plain sentences for a notebook or the command line."""
        stopped = ", stopped by the time limit" if self.stopped_by_time_limit else ""
        pruned = (f", {self.trials_pruned} stopped early as worse than the median of earlier trials"
                  if self.trials_pruned else "")
        lines = [f"{self.tuner} search: {len(self.trials)} trials ({self.completed} completed, {self.new_trials} "
                 f"run now in {self.seconds:.0f} s{stopped}{pruned}); the tuner saw rows up to "
                 f"{self.boundaries.stamp(self.last_tuning_date)}, test targets start "
                 f"{self.boundaries.stamp(self.boundaries.test_start)}."]
        if self.best_val_loss is not None:
            lines.append(f"Best validation loss {self.best_val_loss:.6g} with {self.best_overrides}.")
        sel = self.selection
        if sel.get("standard_error") is not None:
            lines.append(f"One-standard-error rule: {sel['within_one_se']} trial(s) lie within "
                         f"{sel['standard_error']:.3g} of the lowest loss; the smallest network among them was "
                         f"chosen ({sel['weights']} weights). Persistence (no change) scores "
                         f"{sel['persistence_val_loss']:.6g} on the same validation rows: the chosen trial "
                         + ("beats it by more than the noise." if sel["beats_persistence"] else
                            "does not beat it by more than the noise, so the run's own settings stay."))
        if self.default_val_loss is not None and self.gain is not None:
            lines.append(f"The run's default config scored {self.default_val_loss:.6g}: the best trial is "
                         f"{100 * self.gain:.1f}% lower" + (" (the default stays: it was not beaten)."
                                                            if self.default_won else "."))
        return "\n".join(lines)


def run_search(frame: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig, tuning_dir: str | Path,
               *, overwrite: bool = False, verbose: int = 1) -> SearchResult:
    """Search hyperparameters on the rows of ``frame`` before the test period and report what won.

    ``frame``: the feature frame (date index, ``feature_columns`` and ``close``), test rows included: they
    are cut off here (:func:`frame_without_test_rows`) before anything else sees the frame. The search resumes
    what ``tuning_dir`` holds unless ``overwrite``. In distributed mode (``KERASTUNER_*`` set) the chief
    serves trials until every worker is done, and a worker runs trials and returns without scoring the
    default config. The default config is trained once per tuning folder (kept in ``default_run.json``).
    """
    from keras_tuner.src.distribute import utils as dist_utils

    from helpers.fanout import alongside

    tuning_dir = Path(tuning_dir)
    tuning_dir.mkdir(parents=True, exist_ok=True)
    boundaries = tuning_boundaries(frame, config)
    tuning_frame = frame_without_test_rows(frame, config)
    hypermodel = _hypermodel_class()(tuning_frame, feature_columns, config, boundaries)
    if overwrite:
        (tuning_dir / DEFAULT_RUN_FILE).unlink(missing_ok=True)
    check_same_search(tuning_dir, search_signature(tuning_frame, feature_columns, config), overwrite=overwrite)
    tuner = make_tuner(hypermodel, config, tuning_dir, overwrite=overwrite)
    role = ("chief" if dist_utils.is_chief_oracle() else "worker") if dist_utils.has_chief_oracle() else "single"

    finished_before = _finished_trial_ids(tuning_dir)
    # The default config's yardstick run is independent of the trials: it trains in a second process while the
    # search runs (a small recurrent network keeps about one core busy), unless a stored one still holds.
    cached_default = _cached_default_loss(tuning_dir, _default_run_key(hypermodel, config))
    needs_default = role != "worker" and cached_default is None
    started = time.perf_counter()
    with alongside(default_val_loss_of, tuning_frame, list(feature_columns), config, boundaries, str(tuning_dir),
                   background=None if needs_default else False) as default_result:
        tuner.search(epochs=config.tune_epochs, verbose=verbose)
        seconds = time.perf_counter() - started
        default_loss = None if role == "worker" else (cached_default if cached_default is not None
                                                      else default_result())
    table = trials_table(tuning_dir)
    new_trials = len(_finished_trial_ids(tuning_dir) - finished_before)
    stopped = bool(getattr(tuner.oracle, "stopped_by_time_limit", False))
    for _, row in table[table["status"].isin(["FAILED", "INVALID"])].iterrows():
        log.warning("tuning trial %s failed: %s", row["trial_id"], row.get("error"))

    best_hp, best_loss, selection = _best_trial(table, tuning_dir, hypermodel)
    default_overrides = {name: _json_value(getattr(config, name)) for name in OVERRIDE_FIELDS}
    if role != "worker":
        drop_trial_checkpoints(tuning_dir)
    return SearchResult(
        trials=table, best_hyperparameters=best_hp,
        best_overrides=None if best_hp is None else overrides_from_hyperparameters(best_hp),
        best_val_loss=best_loss, default_overrides=default_overrides, default_val_loss=default_loss,
        tuner=config.tuner, role=role, new_trials=new_trials, trials_run_here=hypermodel.trials_fitted,
        seconds=seconds, stopped_by_time_limit=stopped, trials_pruned=hypermodel.trials_pruned,
        boundaries=boundaries, last_tuning_date=tuning_frame.index[-1], tuning_dir=tuning_dir, selection=selection)


def drop_trial_checkpoints(tuning_dir: str | Path) -> int:
    """Delete the finished search's per-trial weight checkpoints; return how many.

    keras-tuner keeps each trial's best weights (about 0.7 MB a trial in full mode, most of a run folder's
    size). Nothing reads them afterwards: a resumed search needs only each trial's ``trial.json``, and 06 trains
    the chosen configuration afresh. Called by the single process or the chief once the search is over.
    """
    removed = 0
    for path in (Path(tuning_dir) / PROJECT_NAME).glob("trial_*/checkpoint*"):
        if path.is_file():
            path.unlink()
            removed += 1
    return removed


def search_signature(tuning_frame: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig) -> dict[str, Any]:
    """What makes trials comparable: the tuner, the space's windows, the target, the per-trial budget, the seed
    and the exact data. ``max_trials`` and the time limit are not part of it: raising them extends a search."""
    from helpers.artifacts import data_fingerprint

    return {"tuner": config.tuner, "tune_windows": list(config.tune_windows),
            "tune_units": sorted({int(u) for u in config.tune_units}), "tune_max_layers": config.tune_max_layers,
            "target": config.target,
            "horizon": config.horizon, "scaler": config.scaler, "tune_epochs": config.tune_epochs,
            "patience": config.patience, "seed": config.seed, "feature_columns": list(feature_columns),
            "data_fingerprint": data_fingerprint(tuning_frame[list(dict.fromkeys([*feature_columns, "close"]))])}


def check_same_search(tuning_dir: str | Path, signature: dict[str, Any], *, overwrite: bool = False) -> None:
    """Record ``signature`` in ``tuning_dir/search_settings.json``, or refuse to resume a search that was scored
    under other settings.

    Without this check keras-tuner would happily mix trials scored on other data, another target or another
    budget into one table, or fail obscurely when the tuner kind changed.
    """
    path = Path(tuning_dir) / SIGNATURE_FILE
    if path.exists() and not overwrite:
        stored = read_json(path)
        differ = sorted(k for k in set(stored) | set(signature) if stored.get(k) != signature.get(k))
        if differ:
            shown = ", ".join(f"{k}: was {_short(stored.get(k))}, now {_short(signature.get(k))}" for k in differ)
            raise ValueError(
                f"{Path(tuning_dir)} holds a search scored under other settings ({shown}); its trials cannot be "
                "compared with new ones. Delete that folder (or call run_search(..., overwrite=True)) to start "
                "over, or restore the settings to resume it")
    else:
        atomic_write_json(path, signature)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def default_val_loss(hypermodel: Any, config: RunConfig, tuning_dir: str | Path, *, verbose: int = 0) -> float:
    """The best validation loss of the run's own config (cell, units, dropout, learning rate, batch size,
    window) trained once on the tuning windows with the trials' budget: the yardstick of "gain over default".

    Kept in ``tuning_dir/default_run.json`` with what it depends on, and reused while those stay the same.
    """
    import keras

    key = _default_run_key(hypermodel, config)
    cached = _cached_default_loss(tuning_dir, key)
    if cached is not None:
        return cached
    keras.backend.clear_session()
    model = hypermodel.build_model(config.cell, config.units, config.dropout, config.learning_rate, config.window)
    history = hypermodel.fit_model(model, config.window, config.batch_size, epochs=config.tune_epochs,
                                   verbose=verbose)
    losses = [v for v in history.history.get(OBJECTIVE, []) if np.isfinite(v)]
    loss = float(min(losses)) if losses else float("nan")
    atomic_write_json(Path(tuning_dir) / DEFAULT_RUN_FILE,
                      {"key": key, "val_loss": loss, "epochs_run": len(history.history.get(OBJECTIVE, []))})
    return loss


def default_val_loss_of(tuning_frame: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig,
                        boundaries: TuningBoundaries, tuning_dir: str | Path) -> float:
    """:func:`default_val_loss` from plain arguments, for a second process (the search's hypermodel class is
    made at run time and does not travel between processes)."""
    hypermodel = _hypermodel_class()(tuning_frame, feature_columns, config, boundaries)
    return default_val_loss(hypermodel, config, tuning_dir)


def _default_run_key(hypermodel: Any, config: RunConfig) -> dict[str, Any]:
    """What the default run's loss depends on: a stored loss is reused only while all of it stays the same."""
    from helpers.artifacts import data_fingerprint

    return {"overrides": {name: _json_value(getattr(config, name)) for name in OVERRIDE_FIELDS},
            "tune_epochs": config.tune_epochs, "patience": config.patience, "seed": config.seed,
            "target": config.target, "horizon": config.horizon, "scaler": config.scaler,
            "feature_columns": list(hypermodel.feature_columns),
            "data_fingerprint": data_fingerprint(hypermodel.frame)}


def _cached_default_loss(tuning_dir: str | Path, key: dict[str, Any]) -> float | None:
    path = Path(tuning_dir) / DEFAULT_RUN_FILE
    if path.exists():
        stored = read_json(path)
        if stored.get("key") == key and stored.get("val_loss") is not None:
            return float(stored["val_loss"])
    return None


# ---------------------------------------------------------------------- reading the tuner's folder
def _trial_files(tuning_dir: str | Path) -> list[Path]:
    return sorted((Path(tuning_dir) / PROJECT_NAME).glob("trial_*/trial.json"))


def _load_trials(tuning_dir: str | Path) -> list[Any]:
    from keras_tuner.src.engine import trial as trial_module

    return [trial_module.Trial.load(str(f)) for f in _trial_files(tuning_dir)]


def _finished_trial_ids(tuning_dir: str | Path) -> set[str]:
    return {t.trial_id for t in _load_trials(tuning_dir) if t.status in ("COMPLETED", "FAILED")}


def trials_table(tuning_dir: str | Path) -> pd.DataFrame:
    """Every trial in ``tuning_dir``: trial_id, status, val_loss (its best epoch), then every hyperparameter.

    Read from the trial files, so it works on the chief, a worker or a finished folder alike. ``units_i`` of
    layers a trial does not have are left empty (keras-tuner keeps a value for them; the model ignores it).
    ``error``: the exception of a failed trial.
    """
    rows = []
    for trial in _load_trials(tuning_dir):
        values = dict(trial.hyperparameters.values)
        layers = int(values.get("layers", 0))
        for name in [k for k in values if k.startswith("units_")]:
            if layers and int(name.split("_")[1]) > layers:
                values[name] = None
        score = trial.score if trial.status == "COMPLETED" else None
        rows.append({"trial_id": trial.trial_id, "status": trial.status,
                     OBJECTIVE: float(score) if score is not None else np.nan, **values,
                     "error": _last_line(trial.message) if trial.status in ("FAILED", "INVALID") else None})
    table = pd.DataFrame(rows)
    unit_columns = sorted((c for c in table.columns if c.startswith("units_")), key=lambda c: int(c.split("_")[1]))
    columns = ["trial_id", "status", OBJECTIVE, "window", "cell", "layers", *unit_columns,
               "dropout", "learning_rate", "batch_size"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    ordered = [c for c in columns if c in table.columns] + [c for c in table.columns if c not in columns]
    return table[ordered].sort_values("trial_id", key=lambda s: s.astype(int)).reset_index(drop=True)


def _last_line(message: str | None) -> str | None:
    """The exception line of a trial's stored traceback."""
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def _best_trial(table: pd.DataFrame, tuning_dir: str | Path, hypermodel: Any = None
                ) -> tuple[dict[str, Any] | None, float | None, dict[str, Any]]:
    """The trial to keep, its validation loss, and why (``selection``).

    A one-standard-error rule: the standard error of a validation MSE over ``n`` rows is taken as
    ``loss * sqrt(2 / n)`` (squared errors of roughly normal residuals have variance ``2 sigma^4``); among the
    trials within one standard error of the lowest loss, the one with the fewest weights wins (a difference
    smaller than the noise is no reason for a bigger network). With ``hypermodel`` the winner must also beat
    persistence (the "no change" start) by more than one standard error, else ``beats_persistence`` is False
    and the run's own settings are kept (:func:`write_best`).
    """
    from helpers.models import parameter_count

    done = table[(table["status"] == "COMPLETED") & table[OBJECTIVE].notna()] if len(table) else table
    if done.empty:
        return None, None, {}
    lowest = float(done[OBJECTIVE].min())
    chosen_id = str(done.loc[done[OBJECTIVE].idxmin(), "trial_id"])
    selection: dict[str, Any] = {"rule": "one standard error, fewest weights", "lowest_val_loss": lowest}
    if hypermodel is not None:
        best_window = int(done.loc[done[OBJECTIVE].idxmin(), "window"])
        data = hypermodel.windows_for(best_window)
        se = lowest * math.sqrt(2.0 / max(1, len(data.y_val)))
        close = done[done[OBJECTIVE] <= lowest + se].copy()
        close["weights"] = [parameter_count(row["cell"], [int(row[f"units_{i}"]) for i in range(1, int(row["layers"]) + 1)],
                                            hypermodel.n_features, hypermodel.config.horizon)
                            for _, row in close.iterrows()]
        pick = close.sort_values(["weights", OBJECTIVE]).iloc[0]
        chosen_id = str(pick["trial_id"])
        chosen_data = hypermodel.windows_for(int(pick["window"]))
        persistence = chosen_data.persistence_loss
        selection.update(standard_error=se, within_one_se=int(len(close)), weights=int(pick["weights"]),
                         persistence_val_loss=persistence,
                         beats_persistence=bool(not np.isfinite(persistence) or
                                                float(pick[OBJECTIVE]) < persistence - se))
    trial = next(t for t in _load_trials(tuning_dir) if t.trial_id == chosen_id)
    return dict(trial.hyperparameters.values), float(trial.score), selection


def overrides_from_hyperparameters(values: dict[str, Any]) -> dict[str, Any]:
    """RunConfig fields (cell, units as a list, dropout, learning_rate, batch_size, window) of a trial's values."""
    layers = int(values["layers"])
    return {
        "cell": str(values["cell"]),
        "units": [int(values[f"units_{i}"]) for i in range(1, layers + 1)],
        "dropout": round(float(values["dropout"]), 6),
        "learning_rate": float(f"{float(values['learning_rate']):.6g}"),  # readable in best.json
        "batch_size": int(values["batch_size"]),
        "window": int(values["window"]),
    }


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# ---------------------------------------------------------------------- best.json
def write_best(paths: RunPaths, result: SearchResult, config: RunConfig) -> Path:
    """Write ``paths.best``: the overrides later notebooks apply, what they replace, and the evidence.

    ``overrides`` are the best trial's RunConfig fields, unless the run's own config scored at least as well
    (then the config is kept: ``"chosen": "default"``). ``replaced`` maps each field that changes to its old
    value. Raises ValueError when no trial completed.
    """
    if result.best_overrides is None:
        raise ValueError(f"no tuning trial completed in {result.tuning_dir}; nothing to write. Look at the "
                         "trials' status and messages, then re-run the search (it resumes)")
    chosen = "default" if result.default_won else "search"
    overrides = dict(result.default_overrides if chosen == "default" else result.best_overrides)
    replaced = _replaced(config, overrides)
    payload = {
        "overrides": overrides,
        "replaced": replaced,
        "chosen": chosen,
        "val_loss": result.best_val_loss,
        "default_val_loss": result.default_val_loss,
        "trials": result.completed,
        "tuner": result.tuner,
        "stopped_by_time_limit": result.stopped_by_time_limit,
        "selection": {k: (float(v) if isinstance(v, (float, np.floating)) else v)
                      for k, v in result.selection.items()},
        "boundaries": {**result.boundaries.to_dict(),
                       "last_tuning_date": result.boundaries.stamp(result.last_tuning_date)},
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return atomic_write_json(paths.best, payload)


def _replaced(config: RunConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    return {name: _json_value(getattr(config, name)) for name, value in overrides.items()
            if _json_value(getattr(config, name)) != _json_value(value)}


def apply_best(config: RunConfig, paths: RunPaths) -> tuple[RunConfig, dict[str, Any]]:
    """``config`` with the tuned hyperparameters of ``paths.best`` applied, and ``{field: old value}`` of what
    changed; ``(config, {})`` when there is no best.json (notebook 05 was not run). Logs what it replaced."""
    if not paths.best.exists():
        log.info("no %s: keeping the run's hyperparameters (run 05_tune to search them)", paths.best)
        return config, {}
    try:
        overrides = read_json(paths.best)["overrides"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{paths.best} is not a best.json written by 05_tune ({exc}); delete it or re-run "
                         "05_tune") from None
    unknown = sorted(set(overrides) - set(OVERRIDE_FIELDS))
    if unknown:
        raise ValueError(f"{paths.best} overrides {unknown}, which a search does not choose "
                         f"({', '.join(OVERRIDE_FIELDS)}); delete it or re-run 05_tune")
    replaced = _replaced(config, overrides)
    tuned = config.replace(**overrides)
    if replaced:
        log.info("tuned hyperparameters from %s replace %s", paths.best,
                 ", ".join(f"{k}={v!r} -> {_json_value(getattr(tuned, k))!r}" for k, v in replaced.items()))
    else:
        log.info("%s keeps the run's hyperparameters (the search did not beat them)", paths.best)
    return tuned, replaced


def tuning_record(config: RunConfig, replaced: dict[str, Any]) -> dict[str, Any]:
    """What a model's manifest and metrics.json say about tuning: every searched field's value in use, and the
    old value of each one the search changed (``config`` is the tuned config from :func:`apply_best`)."""
    in_use = {name: _json_value(getattr(config, name)) for name in OVERRIDE_FIELDS}
    return {"in_use": in_use, "replaced": dict(replaced), "applied": bool(replaced)}


def tuning_sentence(config: RunConfig, replaced: dict[str, Any], tuned: bool = True) -> str:
    """One sentence with the values in use: ``window 20 (was 30), units [16] (was [64, 32]), ...``."""
    if not tuned:
        return "No tuning results (05 was not run): the run's own settings are used."
    if not replaced:
        return "05's search did not beat the run's own settings, so they are kept."
    parts = [f"{name} {_json_value(getattr(config, name))} (was {old})" for name, old in replaced.items()]
    return "Tuned values from 05 in use: " + ", ".join(parts) + "."


# ---------------------------------------------------------------------- command line (chief and workers)
def load_feature_frame(paths: RunPaths) -> tuple[pd.DataFrame, list[str]]:
    """The run's feature frame and its model input columns, as notebook 03 wrote them."""
    frame = pd.read_parquet(paths.require(paths.features, "03_featurize"))
    columns = list(read_json(paths.require(paths.features_meta, "03_featurize"))["columns"])
    return frame, columns


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.tune --run-dir DIR``: run (or resume) the search of an existing run folder.

    The same command serves every process of a distributed search; ``KERASTUNER_TUNER_ID`` says which role
    this one plays. Single or chief: writes ``tuning/best.json`` at the end. Worker: runs trials, then exits.
    """
    parser = argparse.ArgumentParser(prog="python -m helpers.tune", description=main.__doc__.splitlines()[0])
    parser.add_argument("--run-dir", required=True, help="a run folder with config.json and data/features.parquet")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    paths = RunPaths(Path(args.run_dir))
    config = RunConfig.load(paths.config)
    frame, columns = load_feature_frame(paths)
    who = os.environ.get("KERASTUNER_TUNER_ID", "single process")
    print(f"[{who}] tuning {paths.root} with {config.tuner}: up to {config.max_trials} trials, "
          f"{config.tune_epochs} epochs each, {config.tune_time_limit_s:g} s", flush=True)
    result = run_search(frame, columns, config, paths.tuning_dir, verbose=0 if args.quiet else 2)
    if result.role == "worker":
        print(f"[{who}] worker done: trained {result.trials_run_here} trial(s); the chief writes best.json",
              flush=True)
        return 0
    print(result.summary(), flush=True)
    if result.best_overrides is None:
        print(f"[{who}] no trial completed; best.json not written", file=sys.stderr)
        return 1
    write_best(paths, result, config)
    print(f"[{who}] wrote {paths.best}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
