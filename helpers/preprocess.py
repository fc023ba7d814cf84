"""The one preprocessor: prices -> features -> scaled input windows, and model outputs -> prices.

Training, evaluation, recursive forecasting, prediction on new data, retraining and risk all go through a
:class:`Preprocessor`: fitted on a plan's training rows (:meth:`Preprocessor.fit`), saved into a model's
manifest as plain JSON (:meth:`Preprocessor.to_dict`) and rebuilt from it (:meth:`Preprocessor.from_manifest`),
so the windows a saved model reads on new data are cut and scaled exactly as the ones it was trained on.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from helpers.config import TARGETS, RunConfig
from helpers.mismatch import MissingFeatureError, TooFewRowsError
from helpers.scaling import FeatureScaler
from helpers.splits import SplitPlan

# The target of step k (column k-1) from the origin's close C[t].
TARGET_FORMULAS = {
    "log_return": "log(C[t+k] / C[t])",
    "price": "C[t+k]",
    "direction": "1.0 if C[t+k] > C[t] else 0.0",
}

# How each target's prediction becomes a price, for readers of the manifest.
PRICE_FORMULAS = {
    "log_return": "C[t] * exp(r), r = unscaled prediction",
    "price": "unscaled prediction",
    "direction": "C[t] * exp((2p - 1) * mean_abs_train_log_return[k]), p = predicted probability of a rise",
}


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


def input_columns_for(feature_columns: Sequence[str], target: str) -> list[str]:
    """The model's input columns: the features, plus scaled ``close`` for a price target.

    The price target without the price among its inputs is the classic tutorial set-up; it is kept (with
    close added) because notebook 04 uses it to show that a price-level model learns persistence.
    """
    cols = list(dict.fromkeys(feature_columns))
    if target == "price" and "close" not in cols:
        cols.append("close")
    return cols


def output_kind(target: str) -> str:
    """'classification' (a sigmoid probability of a rise) for the direction target, else 'regression'.
    The one place that says a direction model ends in a sigmoid."""
    return "classification" if target == "direction" else "regression"


# ---------------------------------------------------------------------- the preprocessor
class Preprocessor:
    """Features, scaling, windows and the way back to prices, for one target, window and horizon.

    Fitted state (training rows only, see :meth:`fit`): ``feature_scaler_``, ``target_scaler_`` (None for
    direction) and ``mean_abs_log_return_`` (per step; maps a direction probability to a price). ``calendar``
    is the series' trading calendar (:func:`helpers.calendar.infer_calendar`) and ``frequency`` its bar
    frequency (:meth:`helpers.frequency.Frequency.to_dict`, None when not known: daily bars), both used for future
    timestamps (:func:`helpers.calendar.future_timestamps`).
    """

    def __init__(self, config: RunConfig, feature_columns: Sequence[str], *, target: str | None = None,
                 window: int | None = None, horizon: int | None = None, calendar: str = "business",
                 frequency: dict[str, Any] | None = None):
        self.config = config
        self.target = target or config.target
        if self.target not in TARGETS:
            raise ValueError(f"unknown target {self.target!r}: use one of {', '.join(TARGETS)}")
        self.window = int(window or config.window)
        self.horizon = int(horizon or config.horizon)
        self.feature_columns = list(feature_columns)
        self.input_columns = input_columns_for(self.feature_columns, self.target)
        self.calendar = calendar
        self.frequency = frequency

    # ------------------------------------------------------------------ fitting
    def fit(self, frame: pd.DataFrame, plan: SplitPlan) -> "Preprocessor":
        """Fit the scalers on the rows the plan's training samples read: inputs up to the last training origin,
        targets of the training origins. Later rows are never seen."""
        from helpers.calendar import infer_calendar

        check_frame(frame, self.input_columns)
        close = frame["close"].to_numpy(dtype=np.float64)
        train = plan.train
        self.feature_scaler_ = FeatureScaler(self.config.scaler).fit(self.raw_inputs(frame)[: train.stop])
        targets = make_targets(close, self.target, self.horizon)[train.start: train.stop]
        self.target_scaler_ = None if self.target == "direction" else FeatureScaler(self.config.scaler).fit(targets)
        log_returns = make_targets(close, "log_return", self.horizon)[train.start: train.stop]
        self.mean_abs_log_return_ = np.abs(log_returns).mean(axis=0)
        self.calendar = infer_calendar(frame.index)
        self.frequency = series_frequency(frame.index)
        return self

    # ------------------------------------------------------------------ prices -> inputs
    def features(self, prices: pd.DataFrame, headlines: pd.DataFrame | None = None) -> pd.DataFrame:
        """The feature frame of ``prices`` (warm-up dropped) with this model's columns, or MissingFeatureError."""
        from helpers.features import build_features

        feature_set = build_features(prices, self.config, headlines)
        missing = [c for c in self.input_columns if c not in feature_set.frame.columns]
        if missing:
            raise MissingFeatureError(missing_feature_message(missing, feature_set.switched_off))
        return feature_set.frame

    def raw_inputs(self, frame: pd.DataFrame) -> np.ndarray:
        """The input columns, in the model's order, as float64 ``(rows, features)``; NaN or inf raise naming
        the column and date."""
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise MissingFeatureError(f"the frame lacks column(s) {missing} the model reads; it has "
                                      f"{[str(c) for c in frame.columns]}")
        x = frame[self.input_columns].to_numpy(dtype=np.float64)
        bad = ~np.isfinite(x)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(f"feature {self.input_columns[col]!r} is NaN or infinite on "
                             f"{_iso(frame.index[row], frame.index)} "
                             f"({int(bad.sum())} bad values in all); drop warm-up rows or clean the prices first")
        return x

    def scale(self, frame: pd.DataFrame) -> np.ndarray:
        """Scaled inputs of every row, one contiguous float32 array ``(rows, features)``."""
        self._check_fitted()
        return np.ascontiguousarray(self.feature_scaler_.transform(self.raw_inputs(frame)), dtype=np.float32)

    def window_view(self, scaled: np.ndarray) -> np.ndarray:
        """Every full window of ``scaled`` as a strided view ``(rows - window + 1, window, features)``, no copy;
        row ``i`` is the window of origin ``t = i + window - 1``."""
        if len(scaled) < self.window:
            raise TooFewRowsError(f"{len(scaled)} rows are fewer than one window of {self.window} rows")
        return sliding_window_view(scaled, self.window, axis=0).transpose(0, 2, 1)

    def windows_at(self, frame: pd.DataFrame, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The scaled windows ending at frame rows ``rows`` (origins), ``(len(rows), window, features)`` float32."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and rows.min() < self.window - 1:
            raise TooFewRowsError(f"origin row {int(rows.min())} leaves fewer than one window of {self.window} rows "
                                  "before it")
        return np.ascontiguousarray(self.window_view(self.scale(frame))[rows - (self.window - 1)])

    def last_window(self, frame: pd.DataFrame) -> np.ndarray:
        """The scaled input window ending at the frame's last row, ``(window, features)`` float32."""
        if len(frame) < self.window:
            raise TooFewRowsError(f"the feature frame has {len(frame)} rows after the indicators' warm-up; "
                                  f"the model reads windows of {self.window} rows")
        return self.windows_at(frame.iloc[-self.window:], [self.window - 1])[0]

    # ------------------------------------------------------------------ targets and outputs
    def scale_targets(self, targets: np.ndarray) -> np.ndarray:
        """Targets ``(rows, horizon)`` in the units the network learns (scaled; 0/1 for direction)."""
        self._check_fitted()
        t = np.asarray(targets, dtype=np.float64)
        return t if self.target_scaler_ is None else self.target_scaler_.transform(t)

    def no_change_output(self) -> np.ndarray:
        """The model output ``(horizon,)`` that means "the price stays where it is" (persistence): a zero log
        return scaled, or a probability of 0.5 for direction. The network starts there (helpers.network).
        None for the price target, whose no-change output depends on the origin's price."""
        self._check_fitted()
        if self.target == "log_return":
            return self.target_scaler_.transform(np.zeros((1, self.horizon)))[0]
        if self.target == "direction":
            return np.full(self.horizon, 0.5)
        return None

    def to_price(self, outputs: np.ndarray, last_close: np.ndarray | float) -> np.ndarray:
        """Model outputs ``(..., horizon)`` -> prices, same shape; ``last_close`` ``C[t]`` broadcasts against
        ``outputs[..., 0]``. log_return: C[t]*exp(r) with r unscaled; price: the unscaled value; direction:
        C[t]*exp((2p-1)*m_k), m_k the mean absolute k-step log return of the training samples (p = 1 forecasts
        a typical rise, p = 0 a typical fall, p = 0.5 no change)."""
        self._check_fitted()
        out = np.asarray(outputs, dtype=np.float64)
        if out.shape[-1] != self.horizon:
            raise ValueError(f"model outputs must have {self.horizon} columns (one per step), got shape {out.shape}")
        c = np.asarray(last_close, dtype=np.float64)[..., None]
        if self.target == "log_return":
            # Measured from "no change" as the network emits it (float32), so an output equal to it gives exactly
            # C[t]: a network that stayed at persistence forecasts persistence, not a 1e-9 drift that a test finds.
            start = np.float32(self.no_change_output()).astype(np.float64)
            scale = self.target_scaler_.inverse_transform(np.ones((1, self.horizon)))[0] - \
                self.target_scaler_.inverse_transform(np.zeros((1, self.horizon)))[0]
            return c * np.exp((out - start) * scale)
        if self.target == "price":
            return self.target_scaler_.inverse_transform(out)
        return c * np.exp((2.0 * out - 1.0) * self.mean_abs_log_return_)

    # ------------------------------------------------------------------ plain JSON
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to window and scale new data the same way (the manifest's ``scaler``)."""
        self._check_fitted()
        return {
            "target": self.target, "window": self.window, "horizon": self.horizon,
            "feature_columns": list(self.feature_columns), "input_columns": list(self.input_columns),
            "feature_scaler": self.feature_scaler_.to_dict(),
            "target_scaler": None if self.target_scaler_ is None else self.target_scaler_.to_dict(),
            "mean_abs_train_log_return": [float(v) for v in self.mean_abs_log_return_],
        }

    @classmethod
    def from_dict(cls, config: RunConfig, params: dict[str, Any], calendar: str = "business",
                  frequency: dict[str, Any] | None = None) -> "Preprocessor":
        """A fitted preprocessor from :meth:`to_dict` output; refuses parameters whose input columns do not
        follow from their feature columns (a reordered or edited scaler would silently scramble inputs)."""
        self = cls(config, params["feature_columns"], target=str(params["target"]), window=int(params["window"]),
                   horizon=int(params["horizon"]), calendar=calendar, frequency=frequency)
        stored = params.get("input_columns")
        if stored is not None and list(stored) != self.input_columns:
            raise ValueError(f"the stored scaler was fitted on input columns {list(stored)}, but its feature "
                             f"columns give {self.input_columns}: the parameters were edited or mixed up")
        self.feature_scaler_ = FeatureScaler.from_dict(params["feature_scaler"])
        if self.feature_scaler_.n_features_in_ != len(self.input_columns):
            raise ValueError(f"the stored feature scaler has {self.feature_scaler_.n_features_in_} columns, the model "
                             f"reads {len(self.input_columns)}")
        stored_target = params.get("target_scaler")
        self.target_scaler_ = None if stored_target is None else FeatureScaler.from_dict(stored_target)
        self.mean_abs_log_return_ = np.asarray(params.get("mean_abs_train_log_return", [np.nan] * self.horizon),
                                               dtype=np.float64)
        return self

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> "Preprocessor":
        """The preprocessor a saved model was trained with, from its ``manifest.json``."""
        config = RunConfig.from_dict(manifest["config"])
        calendar = (manifest.get("calendar") or {}).get("kind", "business")
        return cls.from_dict(config, manifest["scaler"], calendar, manifest.get("frequency"))

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_scaler_"):
            raise ValueError("this Preprocessor is not fitted: call fit(frame, plan) or build it from_dict()")

    def __repr__(self) -> str:
        return (f"Preprocessor(target={self.target!r}, window={self.window}, horizon={self.horizon}, "
                f"{len(self.input_columns)} input columns, calendar={self.calendar!r})")


# ---------------------------------------------------------------------- checks shared by the callers
def check_frame(frame: pd.DataFrame, input_columns: Sequence[str]) -> None:
    """A feature frame: a DataFrame on a sorted unique DatetimeIndex with the input columns and ``close``."""
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


def missing_feature_message(missing: Sequence[str], switched_off: dict[str, str]) -> str:
    reasons = "; ".join(f"{g}: {why}" for g, why in switched_off.items())
    text = f"the model reads feature(s) {list(missing)} that cannot be computed from this data"
    if reasons:
        text += f" ({reasons})"
    return text + ". Give prices with the columns the model was trained on (open, high, low, close, volume)"


def _iso(when: Any, of: Any = None) -> str | None:
    from helpers.frequency import iso_stamp   # dates, with the time of day of intraday bars

    return iso_stamp(when, of)


def series_frequency(index: pd.DatetimeIndex) -> dict[str, Any] | None:
    """The bar frequency of ``index`` as plain JSON (``Frequency.to_dict()``), None when too short or irregular
    to tell (future timestamps then follow the daily calendar)."""
    from helpers.frequency import FrequencyError, infer_frequency

    try:
        return infer_frequency(index).to_dict()
    except FrequencyError:
        return None
