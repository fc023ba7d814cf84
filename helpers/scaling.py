"""Per-column scalers fitted on training rows only, stored as plain JSON (no pickles)."""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.config import SCALERS


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
