"""The pooled network: one stacked RNN per study period, trained on every ticker's windows at once.

Pooling is the point: one ticker gives a network ~500 training windows per study period, fourteen tickers
give ~7,000 and five hundred give ~250,000, all teaching the same mapping from a standardised return history
to tomorrow's rank. The network is the series' own (:func:`helpers.models.build_stacked_rnn`, compiled and
seeded by :mod:`helpers.train`); only the feed differs: batches are gathered from a strided view
(:class:`helpers.panel_windows.PanelBatches`), never one copy per window.

:func:`run_study` walks the study periods and returns one score per (origin day, ticker) of every trading
block: the day the score is known (the origin's close), the ticker, the score, and the next day's return it
is judged against. A score for day d uses returns up to d and a network trained on days before its trading
block only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import keras
import numpy as np
import pandas as pd

from helpers.models import build_stacked_rnn
from helpers.panel_config import PanelConfig
from helpers.panel_data import PanelData
from helpers.panel_windows import PanelBatches, PanelWindows, StudyPeriod, study_periods
from helpers.train import compile_model, set_seed

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ("date", "ticker", "score", "next_day_return", "expected_return", "period")
CALIBRATION_SAMPLES = 20000   # training samples used to map a classifier's score to an expected return


@dataclass
class PanelStudy:
    """Every trading block's scores (``predictions``, columns :data:`PREDICTION_COLUMNS`) and one summary
    per study period (dates, samples, epochs, seconds, standardisation)."""

    predictions: pd.DataFrame
    periods: list[dict[str, Any]] = field(default_factory=list)


def train_period(windows: PanelWindows, config: PanelConfig, *, verbose: int = 0) -> tuple[keras.Model, dict]:
    """Seed, build, compile and fit one study period's network; early stopping on the last ``val_frac`` of
    its training days (by target date). Returns the model (best validation weights) and its history.

    Keras' global state is cleared before seeding, so a period's weights do not depend on what ran before in
    the process."""
    keras.backend.clear_session()
    set_seed(config.seed)
    output = "classification" if config.target == "classification" else "regression"
    model = build_stacked_rnn(config.cell, config.units, config.dropout, 1, windows.window, 1, output=output,
                              seed=config.seed,
                              name=f"pooled_{config.cell}_period{windows.period.index}")
    compile_model(model, config.learning_rate, "direction" if output == "classification" else "log_return")
    (fit_o, fit_i), (val_o, val_i) = windows.split_train(config.val_frac)
    train = PanelBatches(windows, fit_o, fit_i, config.batch_size, shuffle=True, seed=config.seed)
    callbacks = []
    validation = None
    if val_o.size:
        validation = PanelBatches(windows, val_o, val_i, config.batch_size)
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                                       restore_best_weights=True))
    history = model.fit(train, validation_data=validation, epochs=config.epochs, callbacks=callbacks,
                        verbose=verbose, shuffle=False)
    curves = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    return model, {"history": curves, "samples_fit": int(fit_o.size), "samples_val": int(val_o.size)}


def score_samples(model: keras.Model, windows: PanelWindows, origins: np.ndarray, tickers: np.ndarray,
                  batch_size: int = 2048) -> np.ndarray:
    """The model's score of each (origin, ticker) sample, streamed in batches: shape ``(n,)``."""
    if origins.size == 0:
        return np.zeros(0, np.float32)
    batches = PanelBatches(windows, origins, tickers, batch_size, labels=False)
    return np.asarray(model.predict(batches, verbose=0)).reshape(-1)


def expected_return_map(model: keras.Model, windows: PanelWindows, config: PanelConfig, returns: np.ndarray):
    """A function score -> expected next-day return, from training samples only.

    Regression scores are standardised returns (undo the standardisation); a classifier's probabilities are
    mapped by a least-squares line fitted on (in-sample) training scores against the returns that followed.
    """
    s = windows.standardizer_
    if config.target == "regression":
        return lambda score: score * s.sd_ + s.mean_
    origins, tickers = windows.samples("train")
    if origins.size > CALIBRATION_SAMPLES:
        pick = np.random.default_rng(config.seed).choice(origins.size, CALIBRATION_SAMPLES, replace=False)
        origins, tickers = origins[np.sort(pick)], tickers[np.sort(pick)]
    scores = score_samples(model, windows, origins, tickers)
    following = returns[origins + 1, tickers]
    if scores.size < 3 or float(np.std(scores)) == 0.0:
        mean = float(np.mean(following)) if following.size else 0.0
        return lambda score: np.full_like(score, mean, dtype=np.float64)
    slope, intercept = np.polyfit(scores.astype(np.float64), following, 1)
    return lambda score: intercept + slope * score


def run_study(panel: PanelData, config: PanelConfig, *, verbose: int = 0,
              progress: Callable[[StudyPeriod, dict], None] | None = None) -> PanelStudy:
    """Train and score every study period of ``panel``; return the pooled predictions and period summaries.

    ``progress(period, summary)`` is called after each period (a notebook prints a line; the CLI a bar).
    """
    returns = panel.returns().to_numpy(dtype=np.float64)
    periods = study_periods(len(returns), config.train_days, config.trade_days, max_periods=config.max_periods)
    frames, summaries = [], []
    if config.dask_address:
        results = _periods_on_dask(panel, periods, config)
    else:
        results = (study_period(panel, returns, period, config, verbose=verbose) for period in periods)
    for period, (frame, summary) in zip(periods, results):
        frames.append(frame)
        summaries.append(summary)
        if progress is not None:
            progress(period, summary)
    predictions = pd.concat(frames, ignore_index=True)[list(PREDICTION_COLUMNS)] if frames else \
        pd.DataFrame(columns=PREDICTION_COLUMNS)
    return PanelStudy(predictions=predictions, periods=summaries)


def study_period(panel: PanelData, returns: np.ndarray, period: StudyPeriod, config: PanelConfig, *,
                 verbose: int = 0) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One study period: train on its training block, score its trading block. Returns the scores (columns
    :data:`PREDICTION_COLUMNS`) and a summary (dates, samples, epochs, seconds, standardisation, history).
    Periods are independent, so they may run as separate tasks (:func:`study_period_task`)."""
    started = time.perf_counter()
    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    tf_log.setLevel(logging.ERROR)   # a fresh network per period: TensorFlow's "retracing" warnings are expected
    try:
        return _study_period(panel, returns, period, config, verbose, started)
    finally:
        keras.backend.clear_session()
        tf_log.setLevel(level)


def study_period_task(panel: PanelData, period: StudyPeriod, config: PanelConfig) -> tuple[pd.DataFrame, dict]:
    """:func:`study_period` as a self-contained task (a Dask worker or another process)."""
    return study_period(panel, panel.returns().to_numpy(dtype=np.float64), period, config)


def _periods_on_dask(panel: PanelData, periods: list[StudyPeriod], config: PanelConfig):
    """Each study period a task on the Dask scheduler at ``config.dask_address``; results in period order.

    Known limit: a worker's own threads share Python's random generator, from which Keras draws the default
    initializer seeds, so weights (hence scores) on Dask can differ from a local run's; locally the same config
    gives the same scores."""
    from helpers.fanout import work_executor

    with work_executor(1, config.dask_address) as executor:
        futures = [executor.submit(study_period_task, panel, period, config) for period in periods]
        return [future.result() for future in futures]


def _study_period(panel: PanelData, returns: np.ndarray, period: StudyPeriod, config: PanelConfig, verbose: int,
                  started: float) -> tuple[pd.DataFrame, dict[str, Any]]:
    dates, tickers = panel.closes.index, np.asarray(panel.tickers)
    windows = PanelWindows(returns, period, config.window, config.target)
    model, fit = train_period(windows, config, verbose=verbose)
    origins, cols = windows.samples("trade")
    scores = score_samples(model, windows, origins, cols)
    expected = expected_return_map(model, windows, config, returns)(scores.astype(np.float64))
    frame = pd.DataFrame({"date": dates[origins], "ticker": tickers[cols], "score": scores.astype(np.float64),
                          "next_day_return": returns[origins + 1, cols], "expected_return": expected,
                          "period": period.index})
    summary = {
        "period": period.index, "train_start": str(dates[period.start].date()),
        "train_end": str(dates[period.train_end - 1].date()), "trade_start": str(dates[period.train_end].date()),
        "trade_end": str(dates[period.end - 1].date()), "samples_fit": fit["samples_fit"],
        "samples_val": fit["samples_val"], "samples_trade": int(origins.size),
        "epochs_run": len(fit["history"].get("loss", [])), "seconds": round(time.perf_counter() - started, 2),
        "standardizer": {"mean": windows.standardizer_.mean_, "sd": windows.standardizer_.sd_},
        "history": fit["history"]}
    return frame, summary
