"""The WindowGenerator: a feature frame cut into scaled windows by a split plan, for training and teaching.

Look-ahead is prevented by construction (see ARCHITECTURE.md, "Split, targets and windows"): a window ending at
origin row ``t`` sees feature rows ``t-window+1..t`` and is labelled with the target at rows
``t+1..t+horizon``; samples are assigned to train / validation / test by their *target dates*
(:mod:`helpers.splits`); the scalers are fitted on training rows only (:mod:`helpers.preprocess`).

The :class:`WindowGenerator` follows the TensorFlow time-series tutorial's object of the same name: one object
owns the split, knows its own shapes, converts predictions back to prices and can plot itself, so a notebook
never slices arrays by hand. Its scaling and price conversion are its :class:`~helpers.preprocess.Preprocessor`'s,
the same object a saved model's manifest rebuilds.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from helpers.config import RunConfig
from helpers.frequency import bar_word
from helpers.preprocess import (  # noqa: F401  (re-exported: the names callers know from here)
    TARGET_FORMULAS,
    Preprocessor,
    check_frame,
    input_columns_for,
    make_targets,
)
from helpers.scaling import FeatureScaler  # noqa: F401
from helpers.splits import (  # noqa: F401
    MIN_SPLIT_SAMPLES,
    SPLITS,
    SplitPlan,
    chronological_split,
)

ALL = "all"   # every origin with a full input window, labelled or not (prediction on new data)


class WindowGenerator:
    """Windows of a feature frame split by target date, scaled with training-only statistics.

    ``frame``: DataFrame indexed by a sorted DatetimeIndex ``date`` with float ``feature_columns`` and the raw
    ``close``. ``inputs(split)`` is a strided view ``(samples, window, features)`` of one float32 array
    ``data_`` (no copy); ``labels(split)`` are the scaled targets ``(samples, horizon)``. Splits are 'train',
    'val', 'test' and 'all' (every origin with a full window; labels NaN where the future is unknown).
    ``plan``: the split (default: the run's, :func:`helpers.splits.chronological_split`); tuning and refits
    pass their own (:func:`helpers.splits.tuning_split`, :func:`helpers.splits.refit_split`).

    ``preprocessor`` holds the fitted state (scalers on training rows only); ``feature_scaler_``,
    ``target_scaler_`` and ``mean_abs_log_return_`` are its.
    """

    def __init__(self, frame: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig, *,
                 target: str | None = None, window: int | None = None, horizon: int | None = None,
                 plan: SplitPlan | None = None):
        self.config = config
        self.preprocessor = Preprocessor(config, feature_columns, target=target, window=window, horizon=horizon)
        check_frame(frame, self.input_columns)
        self.plan: SplitPlan | None = plan or chronological_split(frame.index, config, self.window, self.horizon)
        if (self.plan.window, self.plan.horizon, self.plan.n_rows) != (self.window, self.horizon, len(frame)):
            raise ValueError(f"the plan was made for window {self.plan.window}, horizon {self.plan.horizon} and "
                             f"{self.plan.n_rows} rows; this generator has {self.window}, {self.horizon}, {len(frame)}")
        self.preprocessor.fit(frame, self.plan)
        self._assemble(frame)

    @classmethod
    def over(cls, frame: pd.DataFrame, preprocessor: Preprocessor) -> "WindowGenerator":
        """A generator over new data that applies a fitted preprocessor (a saved model's) instead of fitting.

        It has no train/val/test split: use split 'all' or :meth:`inputs_all` (every origin with a full
        window). Labels and actual prices are NaN where the frame does not reach ``t+k``.
        """
        self = cls.__new__(cls)
        self.config, self.plan, self.preprocessor = preprocessor.config, None, preprocessor
        check_frame(frame, self.input_columns)
        if len(frame) < self.window:
            raise ValueError(f"the frame has {len(frame)} rows; one window needs {self.window}")
        self._assemble(frame)
        return self

    @classmethod
    def from_fitted(cls, frame: pd.DataFrame, feature_columns: Sequence[str], scaler_params: dict[str, Any],
                    target: str, window: int, horizon: int) -> "WindowGenerator":
        """:meth:`over` with the preprocessor rebuilt from stored parameters (:meth:`scaler_params`, the
        manifest's ``scaler``); refuses parameters fitted for another target, window, horizon or columns."""
        stored = {k: scaler_params.get(k) for k in ("target", "window", "horizon")}
        offered = {"target": target, "window": int(window), "horizon": int(horizon)}
        differ = [f"{k}: stored {stored[k]!r}, given {offered[k]!r}" for k in offered
                  if stored[k] is not None and stored[k] != offered[k]]
        if differ:
            raise ValueError("the stored scaler parameters were fitted for another set-up (" + "; ".join(differ)
                             + "); pass the manifest's target, window and horizon")
        stored_cols = scaler_params.get("input_columns")
        if stored_cols is not None and list(stored_cols) != input_columns_for(feature_columns, target):
            raise ValueError(f"the stored scaler was fitted on input columns {list(stored_cols)}, "
                             f"these features give {input_columns_for(feature_columns, target)}; pass the "
                             "manifest's feature_columns")
        params = {**scaler_params, "feature_columns": list(feature_columns), "target": target,
                  "window": int(window), "horizon": int(horizon)}
        return cls.over(frame, Preprocessor.from_dict(RunConfig(), params))

    def _assemble(self, frame: pd.DataFrame) -> None:
        """Scale once into one contiguous float32 array and take the sliding-window view over it."""
        used = list(dict.fromkeys(self.input_columns + ["close"]))
        self.frame = frame[used]
        self.dates = pd.DatetimeIndex(frame.index)
        self._close = frame["close"].to_numpy(dtype=np.float64)
        self.data_ = self.preprocessor.scale(frame)
        targets = make_targets(self._close, self.target, self.horizon)
        self._labels = np.ascontiguousarray(self.preprocessor.scale_targets(targets), dtype=np.float32)
        self._windows = self.preprocessor.window_view(self.data_)

    # ------------------------------------------------------------------ the preprocessor's facts
    target = property(lambda self: self.preprocessor.target)
    window = property(lambda self: self.preprocessor.window)
    horizon = property(lambda self: self.preprocessor.horizon)
    feature_columns = property(lambda self: self.preprocessor.feature_columns)
    input_columns = property(lambda self: self.preprocessor.input_columns)
    feature_scaler_ = property(lambda self: self.preprocessor.feature_scaler_)
    target_scaler_ = property(lambda self: self.preprocessor.target_scaler_)
    mean_abs_log_return_ = property(lambda self: self.preprocessor.mean_abs_log_return_)

    # ------------------------------------------------------------------ shapes and rows
    @property
    def n_features(self) -> int:
        return len(self.input_columns)

    def origins(self, split: str) -> range:
        """Origin row positions ``t`` of ``split``: 'train', 'val', 'test' or 'all'."""
        if split == ALL:
            return range(self.window - 1, len(self.dates))
        if self.plan is None:
            raise ValueError(f"split {split!r} does not exist here: this generator applies stored scalers to "
                             "new data and has only split 'all' (use inputs_all())")
        return self.plan.origins(split)

    def n_samples(self, split: str) -> int:
        return len(self.origins(split))

    def inputs(self, split: str) -> np.ndarray:
        """Scaled inputs ``(samples, window, features)`` float32: a strided view of ``data_``, not a copy."""
        r = self.origins(split)
        return self._windows[r.start - self.window + 1: r.stop - self.window + 1]

    def inputs_all(self) -> np.ndarray:
        """Inputs of every origin with a full window ``(rows-window+1, window, features)``: a view."""
        return self.inputs(ALL)

    def labels(self, split: str) -> np.ndarray:
        """Scaled targets ``(samples, horizon)`` float32 (unscaled 0/1 for direction); NaN past the data."""
        r = self.origins(split)
        return self._labels[r.start: r.stop]

    def origin_dates(self, split: str) -> pd.DatetimeIndex:
        """The date of each sample's origin (its window's last row)."""
        r = self.origins(split)
        return self.dates[r.start: r.stop]

    def target_dates(self, split: str) -> pd.DatetimeIndex:
        """The date of each sample's step-1 target; NaT where it lies past the data."""
        r = self.origins(split)
        pos = np.arange(r.start, r.stop) + 1
        values = np.full(len(pos), np.datetime64("NaT"), dtype=self.dates.values.dtype)
        known = pos < len(self.dates)
        values[known] = self.dates.values[pos[known]]
        return pd.DatetimeIndex(values, name=self.dates.name)

    def last_close(self, split: str) -> np.ndarray:
        """C[t], the last known price of each sample ``(samples,)``: persistence's forecast."""
        r = self.origins(split)
        return self._close[r.start: r.stop].copy()

    def actual_price(self, split: str) -> np.ndarray:
        """C[t+k] of each sample ``(samples, horizon)`` in price units; NaN past the data."""
        return _future_prices(self._close, self.origins(split), self.horizon)

    def to_price(self, pred_scaled: np.ndarray, split: str) -> np.ndarray:
        """Model outputs for ``split`` ``(..., samples, horizon)`` converted to prices, same shape
        (:meth:`helpers.preprocess.Preprocessor.to_price` from each sample's C[t]). Leading axes (e.g. Monte
        Carlo dropout passes) broadcast."""
        p = np.asarray(pred_scaled, dtype=np.float64)
        n = self.n_samples(split)
        if p.ndim == 1 and self.horizon == 1:
            p = p[:, None]
        if p.ndim < 2 or p.shape[-2:] != (n, self.horizon):
            raise ValueError(f"predictions for split {split!r} must have shape (..., {n}, {self.horizon}) "
                             f"(samples, horizon), got {np.shape(pred_scaled)}")
        return self.preprocessor.to_price(p, self.last_close(split))

    # ------------------------------------------------------------------ feeding a model
    def batches(self, split: str, batch_size: int, shuffle: bool = False,
                seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(x, y)`` batches, ``x`` ``(batch, window, features)``: one copy per batch from the view.

        The fast windowing path: memory stays at one batch whatever the series length.
        """
        x, y = self.inputs(split), self.labels(split)
        order = np.random.default_rng(seed).permutation(len(x)) if shuffle else None
        for start in range(0, len(x), batch_size):
            if order is None:
                rows = slice(start, start + batch_size)
                yield np.array(x[rows]), np.array(y[rows])
            else:
                rows = order[start: start + batch_size]
                yield x[rows], y[rows]   # fancy indexing copies once

    def as_dataset(self, split: str, batch_size: int, shuffle: bool = False, seed: int = 0, *,
                   label_repeats: int | None = None):
        """A ``keras.utils.PyDataset`` of ``split`` for data that does not fit in memory as arrays.

        Batches are cut from the view on demand; with ``shuffle`` the order is re-drawn from a seeded
        generator after every epoch, so runs repeat exactly. ``label_repeats``: labels ``(batch, repeats,
        horizon)``, one row per tower of a seed ensemble.
        """
        return _window_dataset_class()(self.inputs(split), self.labels(split), batch_size, shuffle, seed,
                                       label_repeats)

    def scaler_params(self) -> dict[str, Any]:
        """Everything needed to window and scale new data the same way, as plain JSON."""
        return self.preprocessor.to_dict()

    # ------------------------------------------------------------------ teaching
    def plot(self, split: str = "train", n: int = 3, predictions: np.ndarray | None = None):
        """A plotly figure of ``n`` evenly spaced samples in price units: the close over the input window,
        the labels (actual prices at t+1..t+horizon) and, given the model's scaled ``predictions`` for the
        whole split ``(samples, horizon)``, the forecasts."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        r = self.origins(split)
        if len(r) == 0:
            raise ValueError(f"split {split!r} has no samples to plot")
        picks = np.unique(np.linspace(0, len(r) - 1, max(1, min(n, len(r)))).round().astype(int))
        actual = self.actual_price(split)
        forecast = None if predictions is None else self.to_price(predictions, split)
        titles = [f"{split} sample {i}: origin {_iso(self.dates[r.start + i], self.dates)}" for i in picks]
        fig = make_subplots(rows=len(picks), cols=1, subplot_titles=titles)
        for row, i in enumerate(picks, start=1):
            t = r.start + int(i)
            lo, hi = t - self.window + 1, min(t + self.horizon, len(self.dates) - 1)
            first = row == 1
            fig.add_trace(go.Scatter(x=self.dates[lo: t + 1], y=self._close[lo: t + 1], mode="lines+markers",
                                     name="inputs (close)", legendgroup="inputs", showlegend=first,
                                     line=dict(color="#1f77b4")), row=row, col=1)
            steps = hi - t
            fig.add_trace(go.Scatter(x=self.dates[t + 1: hi + 1], y=actual[i, :steps], mode="markers",
                                     name="labels (actual)", legendgroup="labels", showlegend=first,
                                     marker=dict(color="#2ca02c", size=10, symbol="circle-open",
                                                 line=dict(width=2))), row=row, col=1)
            if forecast is not None and steps > 0:
                fig.add_trace(go.Scatter(x=self.dates[t + 1: hi + 1], y=forecast[i, :steps], mode="markers",
                                         name="predictions", legendgroup="predictions", showlegend=first,
                                         marker=dict(color="#ff7f0e", size=10, symbol="x")), row=row, col=1)
        unit = bar_word(self.dates)   # day, week, or bar for intraday series
        fig.update_layout(
            title=f"{self.window} input {unit}s -> {self.horizon} target {unit}(s), target {self.target!r}",
            height=240 * len(picks) + 80, template="plotly_white")
        fig.update_yaxes(title_text="price")
        return fig

    def __repr__(self) -> str:
        head = (f"WindowGenerator(target={self.target!r}, window={self.window}, horizon={self.horizon}, "
                f"{self.n_features} input columns: {', '.join(self.input_columns)})")
        splits = SPLITS if self.plan is not None else (ALL,)
        lines = [head]
        for split in splits:
            r = self.origins(split)
            if len(r) == 0:
                lines.append(f"  {split:5s}: no samples")
                continue
            lines.append(f"  {split:5s}: inputs {self.inputs(split).shape}, labels {self.labels(split).shape}, "
                         f"origins {_iso(self.dates[r.start], self.dates)} .. {_iso(self.dates[r.stop - 1], self.dates)}")
        if self.plan is not None:
            lines.append(f"  boundaries: validation targets from {_iso(self.plan.val_start, self.dates)}, "
                         f"test targets from {_iso(self.plan.test_start, self.dates)}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- helpers
def _future_prices(close: np.ndarray, origins: range, horizon: int) -> np.ndarray:
    t = np.arange(origins.start, origins.stop)
    out = np.full((len(t), horizon), np.nan)
    for k in range(1, horizon + 1):
        known = t + k < len(close)
        out[known, k - 1] = close[t[known] + k]
    return out


def _iso(when: Any, of: Any = None) -> str | None:
    from helpers.frequency import iso_stamp   # dates, with the time of day of intraday bars

    return iso_stamp(when, of)


@functools.cache
def _window_dataset_class():
    """The PyDataset subclass, defined on first use so importing windows.py does not start TensorFlow."""
    import keras

    class WindowDataset(keras.utils.PyDataset):
        """Batches ``(x, y)`` cut from a window view; a seeded reshuffle after each epoch when asked."""

        def __init__(self, inputs: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int,
                     label_repeats: int | None = None, **kwargs: Any):
            super().__init__(**kwargs)
            self.label_repeats = label_repeats
            self.inputs, self.labels = inputs, labels
            self.batch_size = int(batch_size)
            self.shuffle = shuffle
            self._rng = np.random.default_rng(seed)
            self._order = self._rng.permutation(len(inputs)) if shuffle else None

        def __len__(self) -> int:
            return math.ceil(len(self.inputs) / self.batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            lo = index * self.batch_size
            if self._order is None:
                rows = slice(lo, lo + self.batch_size)
                x, y = np.array(self.inputs[rows]), np.array(self.labels[rows])
            else:
                rows = self._order[lo: lo + self.batch_size]
                x, y = self.inputs[rows], self.labels[rows]
            if self.label_repeats:
                y = np.repeat(y[:, None, :], self.label_repeats, axis=1)
            return x, y

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self._order = self._rng.permutation(len(self.inputs))

    return WindowDataset
