"""Targets, the chronological split by target date, train-only scalers and the WindowGenerator.

This module is where look-ahead is prevented by construction (see ARCHITECTURE.md, "Split, targets and
windows"): a window ending at origin row ``t`` sees feature rows ``t-window+1..t`` and is labelled with the
target at rows ``t+1..t+horizon``; samples are assigned to train / validation / test by their *target dates*;
scalers are fitted on training rows only.

The :class:`WindowGenerator` follows the TensorFlow time-series tutorial's object of the same name: one object
owns the split, knows its shapes, converts predictions back to prices and can plot itself, so a notebook never
slices arrays by hand.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from helpers.config import SCALERS, TARGETS, RunConfig

SPLITS = ("train", "val", "test")
ALL = "all"   # every origin with a full input window, labelled or not (prediction on new data)

# The target of step k (column k-1) from the origin's close C[t].
TARGET_FORMULAS = {
    "log_return": "log(C[t+k] / C[t])",
    "price": "C[t+k]",
    "direction": "1.0 if C[t+k] > C[t] else 0.0",
}

# Fewer samples than this in any split cannot train or judge a model; the split raises instead.
MIN_SPLIT_SAMPLES = 10


# ---------------------------------------------------------------------- targets
def make_targets(close: pd.Series | np.ndarray, target: str, horizon: int) -> np.ndarray:
    """Targets of every origin row, shape ``(rows, horizon)``; column ``k-1`` is step ``k``.

    ``log_return``: log(C[t+k] / C[t]); ``price``: C[t+k]; ``direction``: 1.0 if C[t+k] > C[t] else 0.0.
    NaN where ``t+k`` is past the last row (the future is not known there).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    if int(horizon) < 1:
        raise ValueError(f"horizon must be a whole number >= 1, got {horizon!r}")
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 1:
        raise ValueError(f"close must be one price series, got an array of shape {c.shape}")
    if target == "log_return" and np.any(c[np.isfinite(c)] <= 0):
        raise ValueError("log_return targets need positive prices; close has zero or negative values")
    n = len(c)
    out = np.full((n, horizon), np.nan)
    for k in range(1, horizon + 1):
        if k >= n:
            break
        now, future = c[:-k], c[k:]
        if target == "log_return":
            out[: n - k, k - 1] = np.log(future / now)
        elif target == "price":
            out[: n - k, k - 1] = future
        else:
            out[: n - k, k - 1] = (future > now).astype(np.float64)
    return out


# ---------------------------------------------------------------------- split by target date
@dataclass(frozen=True)
class SplitPlan:
    """Origin rows of the train / val / test samples and the boundary dates they were cut at.

    Each split is a contiguous ``range`` of origin row positions ``t``; sample ``i`` of a split has inputs at
    rows ``t-window+1..t`` and targets at rows ``t+1..t+horizon``.
    """

    window: int
    horizon: int
    n_rows: int
    train: range
    val: range
    test: range
    first_val_row: int
    first_test_row: int
    first_date: pd.Timestamp
    last_date: pd.Timestamp
    val_start: pd.Timestamp     # first validation target date
    test_start: pd.Timestamp    # first test target date

    def origins(self, split: str) -> range:
        """The origin rows of ``split`` ('train', 'val' or 'test')."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
        return getattr(self, split)

    def to_dict(self, dates: pd.DatetimeIndex | None = None) -> dict[str, Any]:
        """Plain-JSON summary: sample counts, origin rows and (given the index) origin and target dates."""
        out: dict[str, Any] = {
            "window": self.window, "horizon": self.horizon, "rows": self.n_rows,
            "first_date": _iso(self.first_date), "last_date": _iso(self.last_date),
            "val_start": _iso(self.val_start), "test_start": _iso(self.test_start),
        }
        for split in SPLITS:
            r = self.origins(split)
            part: dict[str, Any] = {"samples": len(r), "first_origin_row": r.start, "last_origin_row": r.stop - 1}
            if dates is not None:
                part.update(first_origin=_iso(dates[r.start]), last_origin=_iso(dates[r.stop - 1]),
                            first_target=_iso(dates[r.start + 1]),
                            last_target=_iso(dates[r.stop - 1 + self.horizon]))
            out[split] = part
        return out


def chronological_split(dates: pd.DatetimeIndex, config: RunConfig, window: int, horizon: int,
                        *, min_samples: int = MIN_SPLIT_SAMPLES) -> SplitPlan:
    """Assign origins to train / val / test by their target dates.

    An origin ``t`` needs a full window (``t >= window-1``) and known targets (``t + horizon <= last row``).
    The boundaries are the first validation and first test dates: from ``config.val_start``/``test_start``
    when given, else the last ``test_frac`` and the ``val_frac`` before them of the rows that can be a label
    (rows ``window..last``). A sample is in train only if ALL its target dates are before the first validation
    date, in val only if all are before the first test date and its first is on or after the first validation
    date, in test if its first target date is on or after the first test date. With ``horizon > 1`` the
    origins whose targets straddle a boundary belong to no split (a purge gap), so no label is shared.
    Raises ValueError with the numbers when a split has fewer than ``min_samples`` samples.
    """
    dates = pd.DatetimeIndex(dates)
    n = len(dates)
    window, horizon = int(window), int(horizon)
    if window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be >= 1, got window={window}, horizon={horizon}")
    first_origin, last_origin = window - 1, n - 1 - horizon
    if last_origin < first_origin:
        raise ValueError(f"{n} rows are too few for window {window} and horizon {horizon}: "
                         f"one sample alone needs {window + horizon} rows")
    if config.val_start and config.test_start:
        first_val_row = int(dates.searchsorted(pd.Timestamp(config.val_start), side="left"))
        first_test_row = int(dates.searchsorted(pd.Timestamp(config.test_start), side="left"))
        how = f"val_start={config.val_start}, test_start={config.test_start}"
    else:
        label_rows = n - window
        n_test = int(round(label_rows * config.test_frac))
        n_val = int(round(label_rows * config.val_frac))
        first_test_row = n - n_test
        first_val_row = first_test_row - n_val
        how = f"val_frac={config.val_frac}, test_frac={config.test_frac}"
    stop = last_origin + 1
    train = range(first_origin, max(first_origin, min(first_val_row - horizon, stop)))
    val_lo = max(first_origin, first_val_row - 1)
    val = range(val_lo, max(val_lo, min(first_test_row - horizon, stop)))
    test_lo = max(first_origin, first_test_row - 1)
    test = range(test_lo, max(test_lo, stop))
    plan = SplitPlan(
        window=window, horizon=horizon, n_rows=n, train=train, val=val, test=test,
        first_val_row=first_val_row, first_test_row=first_test_row,
        first_date=dates[0], last_date=dates[-1],
        val_start=dates[first_val_row] if first_val_row < n else pd.NaT,
        test_start=dates[first_test_row] if first_test_row < n else pd.NaT,
    )
    for split in SPLITS:
        count = len(plan.origins(split))
        if count < min_samples:
            raise ValueError(
                f"the {split} split has {count} samples, fewer than the {min_samples} needed: {n} rows "
                f"({_iso(dates[0])} .. {_iso(dates[-1])}), window {window}, horizon {horizon}, {how} -> "
                f"train {len(train)}, val {len(val)}, test {len(test)} samples. Use a longer history, a shorter "
                f"window or horizon, or other split fractions/dates.")
    return plan


# ---------------------------------------------------------------------- scaler
class FeatureScaler:
    """Per-column standard (z-score) or min-max scaler, fitted on training rows only and stored as plain JSON.

    Fitted state: ``mean_``, ``scale_`` (standard) or ``min_``, ``max_`` (minmax), one value per column.
    A column without variation in the training rows gets scale 1 (it is only shifted), never a division by 0.
    Works on any array whose last axis is the columns: ``(rows, features)`` or ``(samples, window, features)``.
    """

    def __init__(self, kind: str = "standard"):
        if kind not in SCALERS:
            raise ValueError(f"unknown scaler kind {kind!r}: use one of {', '.join(SCALERS)}")
        self.kind = kind

    def fit(self, x_train: np.ndarray) -> "FeatureScaler":
        """Learn the column statistics of ``x_train`` ``(rows, columns)``: pass training rows only."""
        x = np.asarray(x_train, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"fit needs a non-empty 2-D array (rows, columns), got shape {x.shape}")
        bad = np.where(~np.isfinite(x).all(axis=0))[0]
        if bad.size:
            raise ValueError(f"cannot fit a scaler on NaN or infinite values (columns {bad.tolist()}); "
                             "drop warm-up rows or fill the gaps first")
        if self.kind == "standard":
            self.mean_ = x.mean(axis=0)
            std = x.std(axis=0)
            self.scale_ = np.where(std > 1e-12, std, 1.0)
        else:
            self.min_ = x.min(axis=0)
            self.max_ = x.max(axis=0)
        self.n_features_in_ = x.shape[1]
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Scaled copy of ``x`` (float64), columns on the last axis."""
        offset, scale = self._offset_scale(x)
        return (np.asarray(x, dtype=np.float64) - offset) / scale

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Back to the original units: the inverse of :meth:`transform`."""
        offset, scale = self._offset_scale(x)
        return np.asarray(x, dtype=np.float64) * scale + offset

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: kind and per-column statistics as lists of floats."""
        self._check_fitted()
        if self.kind == "standard":
            return {"kind": self.kind, "mean": [float(v) for v in self.mean_],
                    "scale": [float(v) for v in self.scale_]}
        return {"kind": self.kind, "min": [float(v) for v in self.min_], "max": [float(v) for v in self.max_]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureScaler":
        """Rebuild a fitted scaler from :meth:`to_dict` output."""
        kind = data.get("kind")
        scaler = cls(kind)
        need = ("mean", "scale") if kind == "standard" else ("min", "max")
        missing = [k for k in need if k not in data]
        if missing:
            raise ValueError(f"stored {kind} scaler lacks {', '.join(missing)}; it was not written by FeatureScaler")
        first, second = (np.asarray(data[k], dtype=np.float64) for k in need)
        if kind == "standard":
            scaler.mean_, scaler.scale_ = first, second
        else:
            scaler.min_, scaler.max_ = first, second
        scaler.n_features_in_ = len(first)
        return scaler

    def _offset_scale(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        width = np.shape(x)[-1] if np.ndim(x) else None
        if width != self.n_features_in_:
            raise ValueError(f"the scaler was fitted on {self.n_features_in_} columns, got an array of shape "
                             f"{np.shape(x)} (columns on the last axis)")
        if self.kind == "standard":
            return self.mean_, self.scale_
        span = self.max_ - self.min_
        return self.min_, np.where(span > 1e-12, span, 1.0)

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise ValueError("this FeatureScaler is not fitted: call fit(x_train) first")

    def __repr__(self) -> str:
        state = f", columns={self.n_features_in_}" if hasattr(self, "n_features_in_") else ", unfitted"
        return f"FeatureScaler(kind={self.kind!r}{state})"


# ---------------------------------------------------------------------- window generator
def input_columns_for(feature_columns: Sequence[str], target: str) -> list[str]:
    """The model's input columns: the features, plus scaled ``close`` for a price target.

    The price target without the price among its inputs is the classic tutorial set-up; it is kept (with
    close added) because notebooks use it to show that a price-level model learns persistence.
    """
    cols = list(dict.fromkeys(feature_columns))
    if target == "price" and "close" not in cols:
        cols.append("close")
    return cols


class WindowGenerator:
    """Windows of a feature frame split by target date, scaled with training-only statistics.

    ``frame``: DataFrame indexed by a sorted DatetimeIndex ``date`` with float ``feature_columns`` and the raw
    ``close``. ``inputs(split)`` is a strided view ``(samples, window, features)`` of one float32 array
    ``data_`` (no copy); ``labels(split)`` are the scaled targets ``(samples, horizon)``. Splits are 'train',
    'val', 'test' and 'all' (every origin with a full window; labels NaN where the future is unknown).

    Fitted state: ``feature_scaler_`` (rows up to the last training origin), ``target_scaler_`` (training
    labels; None for direction) and ``mean_abs_log_return_`` (per step, training origins; maps a direction
    probability to a price, see :meth:`to_price`).
    """

    def __init__(self, frame: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig, *,
                 target: str | None = None, window: int | None = None, horizon: int | None = None):
        self.config = config
        self.target = target or config.target
        self.window = int(window or config.window)
        self.horizon = int(horizon or config.horizon)
        if self.target not in TARGETS:
            raise ValueError(f"unknown target {self.target!r}: use one of {', '.join(TARGETS)}")
        self.feature_columns = list(feature_columns)
        self.input_columns = input_columns_for(feature_columns, self.target)
        _check_frame(frame, self.input_columns)
        self.plan: SplitPlan | None = chronological_split(frame.index, config, self.window, self.horizon)

        close = frame["close"].to_numpy(dtype=np.float64)
        raw_x = _finite_inputs(frame, self.input_columns)
        targets = make_targets(close, self.target, self.horizon)
        train = self.plan.train
        # The training inputs cover rows 0..last train origin; later rows are never seen by the scaler.
        self.feature_scaler_ = FeatureScaler(config.scaler).fit(raw_x[: train.stop])
        train_targets = targets[train.start: train.stop]
        self.target_scaler_ = (None if self.target == "direction"
                               else FeatureScaler(config.scaler).fit(train_targets))
        train_log_returns = make_targets(close, "log_return", self.horizon)[train.start: train.stop]
        self.mean_abs_log_return_ = np.abs(train_log_returns).mean(axis=0)
        self._assemble(frame, close, raw_x, targets)

    @classmethod
    def from_fitted(cls, frame: pd.DataFrame, feature_columns: Sequence[str], scaler_params: dict[str, Any],
                    target: str, window: int, horizon: int) -> "WindowGenerator":
        """A generator over new data that applies stored scalers (:meth:`scaler_params`) instead of fitting.

        It has no train/val/test split: use split 'all' or :meth:`inputs_all` (every origin with a full
        window). Labels and actual prices are NaN where the frame does not reach ``t+k``.
        """
        stored = {k: scaler_params.get(k) for k in ("target", "window", "horizon")}
        offered = {"target": target, "window": int(window), "horizon": int(horizon)}
        differ = [f"{k}: stored {stored[k]!r}, given {offered[k]!r}" for k in offered
                  if stored[k] is not None and stored[k] != offered[k]]
        if differ:
            raise ValueError("the stored scaler parameters were fitted for another set-up (" + "; ".join(differ)
                             + "); pass the manifest's target, window and horizon")
        self = cls.__new__(cls)
        self.config, self.plan = None, None
        self.target, self.window, self.horizon = target, int(window), int(horizon)
        self.feature_columns = list(feature_columns)
        self.input_columns = input_columns_for(feature_columns, target)
        stored_cols = scaler_params.get("input_columns")
        if stored_cols is not None and list(stored_cols) != self.input_columns:
            raise ValueError(f"the stored scaler was fitted on input columns {list(stored_cols)}, "
                             f"these features give {self.input_columns}; pass the manifest's feature_columns")
        _check_frame(frame, self.input_columns)
        if len(frame) < self.window:
            raise ValueError(f"the frame has {len(frame)} rows; one window needs {self.window}")
        self.feature_scaler_ = FeatureScaler.from_dict(scaler_params["feature_scaler"])
        stored_target = scaler_params.get("target_scaler")
        self.target_scaler_ = None if stored_target is None else FeatureScaler.from_dict(stored_target)
        self.mean_abs_log_return_ = np.asarray(scaler_params.get("mean_abs_train_log_return",
                                                                 [np.nan] * self.horizon), dtype=np.float64)
        close = frame["close"].to_numpy(dtype=np.float64)
        self._assemble(frame, close, _finite_inputs(frame, self.input_columns),
                       make_targets(close, target, self.horizon))
        return self

    def _assemble(self, frame: pd.DataFrame, close: np.ndarray, raw_x: np.ndarray, targets: np.ndarray) -> None:
        """Scale once into one contiguous float32 array and take the sliding-window view over it."""
        used = list(dict.fromkeys(self.input_columns + ["close"]))
        self.frame = frame[used]
        self.dates = pd.DatetimeIndex(frame.index)
        self._close = close
        self.data_ = np.ascontiguousarray(self.feature_scaler_.transform(raw_x), dtype=np.float32)
        scaled = targets if self.target_scaler_ is None else self.target_scaler_.transform(targets)
        self._labels = np.ascontiguousarray(scaled, dtype=np.float32)
        # sliding_window_view gives (rows-window+1, features, window); the transpose is still a view.
        # Row i of _windows is the window of origin t = i + window - 1.
        self._windows = sliding_window_view(self.data_, self.window, axis=0).transpose(0, 2, 1)

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
        """Model outputs for ``split`` ``(..., samples, horizon)`` converted to prices, same shape.

        ``log_return``: C[t] * exp(r) with r unscaled; ``price``: the unscaled value. ``direction``: the
        probability p of a rise becomes an expected move, C[t] * exp((2p - 1) * m_k), where m_k is the mean
        absolute k-step log return of the training samples: p = 1 forecasts a typical rise, p = 0 a typical
        fall, p = 0.5 no change (persistence). Leading axes (e.g. Monte Carlo dropout passes) broadcast.
        """
        p = np.asarray(pred_scaled, dtype=np.float64)
        n = self.n_samples(split)
        if p.ndim == 1 and self.horizon == 1:
            p = p[:, None]
        if p.ndim < 2 or p.shape[-2:] != (n, self.horizon):
            raise ValueError(f"predictions for split {split!r} must have shape (..., {n}, {self.horizon}) "
                             f"(samples, horizon), got {np.shape(pred_scaled)}")
        c = self.last_close(split)[:, None]
        if self.target == "log_return":
            return c * np.exp(self.target_scaler_.inverse_transform(p))
        if self.target == "price":
            return self.target_scaler_.inverse_transform(p)
        return c * np.exp((2.0 * p - 1.0) * self.mean_abs_log_return_)

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

    def as_dataset(self, split: str, batch_size: int, shuffle: bool = False, seed: int = 0):
        """A ``keras.utils.PyDataset`` of ``split`` for data that does not fit in memory as arrays.

        Batches are cut from the view on demand; with ``shuffle`` the order is re-drawn from a seeded
        generator after every epoch, so runs repeat exactly.
        """
        return _window_dataset_class()(self.inputs(split), self.labels(split), batch_size, shuffle, seed)

    def scaler_params(self) -> dict[str, Any]:
        """Everything needed to window and scale new data the same way, as plain JSON."""
        return {
            "target": self.target, "window": self.window, "horizon": self.horizon,
            "feature_columns": list(self.feature_columns), "input_columns": list(self.input_columns),
            "feature_scaler": self.feature_scaler_.to_dict(),
            "target_scaler": None if self.target_scaler_ is None else self.target_scaler_.to_dict(),
            "mean_abs_train_log_return": [float(v) for v in self.mean_abs_log_return_],
        }

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
        titles = [f"{split} sample {i}: origin {_iso(self.dates[r.start + i])}" for i in picks]
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
        fig.update_layout(
            title=f"{self.window} input days -> {self.horizon} target day(s), target {self.target!r}",
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
                         f"origins {_iso(self.dates[r.start])} .. {_iso(self.dates[r.stop - 1])}")
        if self.plan is not None:
            lines.append(f"  boundaries: validation targets from {_iso(self.plan.val_start)}, "
                         f"test targets from {_iso(self.plan.test_start)}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- helpers
def _check_frame(frame: pd.DataFrame, input_columns: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a feature frame (pandas DataFrame), got {type(frame).__name__}")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise ValueError(f"the feature frame must be indexed by a DatetimeIndex 'date', got "
                         f"{type(frame.index).__name__}; use frame.set_index('date')")
    if not frame.index.is_monotonic_increasing or not frame.index.is_unique:
        raise ValueError("the feature frame's dates must be sorted and unique; use "
                         "frame[~frame.index.duplicated()].sort_index()")
    missing = [c for c in list(input_columns) + ["close"] if c not in frame.columns]
    if missing:
        raise ValueError(f"the feature frame lacks column(s) {missing}; it has {list(frame.columns)}")


def _finite_inputs(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The input columns as float64 ``(rows, features)``; NaN or inf raise naming the column and date."""
    x = frame[list(columns)].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"feature {columns[col]!r} is NaN or infinite on {_iso(frame.index[row])} "
                         f"({int(bad.sum())} bad values in all); drop warm-up rows or fill gaps before windowing")
    return x


def _future_prices(close: np.ndarray, origins: range, horizon: int) -> np.ndarray:
    t = np.arange(origins.start, origins.stop)
    out = np.full((len(t), horizon), np.nan)
    for k in range(1, horizon + 1):
        known = t + k < len(close)
        out[known, k - 1] = close[t[known] + k]
    return out


def _iso(when: Any) -> str | None:
    return None if when is None or pd.isna(when) else pd.Timestamp(when).date().isoformat()


@functools.cache
def _window_dataset_class():
    """The PyDataset subclass, defined on first use so importing windows.py does not start TensorFlow."""
    import keras

    class WindowDataset(keras.utils.PyDataset):
        """Batches ``(x, y)`` cut from a window view; a seeded reshuffle after each epoch when asked."""

        def __init__(self, inputs: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int,
                     **kwargs: Any):
            super().__init__(**kwargs)
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
                return np.array(self.inputs[rows]), np.array(self.labels[rows])
            rows = self._order[lo: lo + self.batch_size]
            return self.inputs[rows], self.labels[rows]

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self._order = self._rng.permutation(len(self.inputs))

    return WindowDataset
