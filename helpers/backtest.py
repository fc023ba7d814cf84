"""Rolling-origin (walk-forward) evaluation: many test periods, each forecast by models trained before it.

One train/test split gives one number from one market regime. Walk-forward cuts the last part of the
history into consecutive test blocks ("folds"); each block is forecast by models refitted on the origins
before it, optionally refitted every ``retrain_every`` steps inside the block ("parts"). The spread of the
metrics over folds says how much one split's number can be trusted.

Positions are **origins**: origin ``t`` is a row whose forecast targets ``t+1`` (and later rows for h-step
targets). A training origin's labels must be known when the test part starts, so with h-step targets the
last training origin is ``test_start - h``: pass ``gap = h - 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from helpers.metrics import directional_accuracy, mae, rmse, theils_u

__all__ = ["Fold", "rolling_origin_folds", "WalkForwardResult", "walk_forward"]

SCHEMES = ("expanding", "sliding")
FOLD_METRICS = ("rmse", "mae", "theils_u", "directional_accuracy")


@dataclass(frozen=True)
class Fold:
    """One refit of a walk-forward: train on ``train`` origins, forecast the ``test`` origins.

    ``fold`` numbers the test block (0 = earliest), ``part`` the refit inside it.
    """

    fold: int
    part: int
    train: range
    test: range

    def to_dict(self) -> dict:
        return {"fold": self.fold, "part": self.part,
                "train": [self.train.start, self.train.stop], "test": [self.test.start, self.test.stop]}


def _whole(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def rolling_origin_folds(n_origins: int, *, n_folds: int, test_size: int, scheme: str = "expanding",
                         min_train: int, train_size: int | None = None, retrain_every: int | None = None,
                         gap: int = 0, min_part: int = 1) -> list[Fold]:
    """Walk-forward folds over origins ``0..n_origins-1``.

    The last ``n_folds * test_size`` origins form ``n_folds`` consecutive test blocks of ``test_size``.
    Each block is cut into parts of ``retrain_every`` origins (default: the whole block); a part starting at
    ``s`` trains on origins ``< s - gap``: all of them (``"expanding"``) or the last ``train_size``
    (``"sliding"``, default ``min_train``). ``gap`` leaves out the origins whose labels reach into the test
    part: ``gap = horizon - 1``. A block's last part shorter than ``min_part`` origins joins the part before
    it (whose model, trained before that part began, forecasts it too): a refit on a handful of test origins
    is not worth a model, and a model's test split needs a minimum of samples. Raises ValueError when the
    history is too short for ``min_train``.
    """
    n_origins = _whole("n_origins", n_origins, 1)
    n_folds = _whole("n_folds", n_folds, 1)
    test_size = _whole("test_size", test_size, 1)
    min_train = _whole("min_train", min_train, 1)
    gap = _whole("gap", gap, 0)
    min_part = _whole("min_part", min_part, 1)
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    step = test_size if retrain_every is None else _whole("retrain_every", retrain_every, 1)
    if scheme == "sliding":
        train_size = min_train if train_size is None else _whole("train_size", train_size, 1)
        if train_size < min_train:
            raise ValueError(f"train_size={train_size} is below min_train={min_train}: "
                             "raise train_size or lower min_train")
    elif train_size is not None:
        raise ValueError("train_size applies to the 'sliding' scheme only; the expanding scheme trains on "
                         "every earlier origin")

    first_test = n_origins - n_folds * test_size
    needed = (train_size if scheme == "sliding" else min_train) + gap
    if first_test < needed:
        raise ValueError(
            f"not enough history for {n_folds} folds of {test_size} test origins: the first test origin "
            f"would be {first_test}, but {needed} earlier origins are needed (min_train/train_size "
            f"{needed - gap} + gap {gap}); there are {n_origins} origins. Use fewer folds, smaller "
            "test blocks or a smaller min_train")

    folds: list[Fold] = []
    for f in range(n_folds):
        block_start = first_test + f * test_size
        block_stop = block_start + test_size
        starts = list(range(block_start, block_stop, step))
        if len(starts) > 1 and block_stop - starts[-1] < min_part:
            starts.pop()   # the short tail joins the part before it
        for part, start in enumerate(starts):
            train_stop = start - gap
            train_start = 0 if scheme == "expanding" else train_stop - train_size
            stop = starts[part + 1] if part + 1 < len(starts) else block_stop
            folds.append(Fold(fold=f, part=part, train=range(train_start, train_stop), test=range(start, stop)))
    return folds


@dataclass
class WalkForwardResult:
    """Per-fold metrics of each forecaster (parts of a fold pooled) and their mean and sd over folds.

    ``per_fold``: list of ``{"fold", "test_start", "test_stop", "n", "n_parts", "metrics":
    {forecaster: {rmse, mae, theils_u, directional_accuracy}}}``; ``aggregate``: ``{forecaster: {metric:
    {"mean", "sd"}}}`` with sd over folds (ddof=1; None for one fold). Undefined values are None.
    """

    per_fold: list[dict]
    aggregate: dict[str, dict[str, dict[str, float | None]]]
    folds: list[Fold] = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-ready (NaN written as None), with the folds' origin ranges for reproducibility."""
        return {"per_fold": self.per_fold, "aggregate": self.aggregate,
                "folds": [fold.to_dict() for fold in self.folds]}

    def to_frame(self) -> pd.DataFrame:
        """One row per (fold, forecaster), one column per metric."""
        rows = [{"fold": entry["fold"], "forecaster": name, **{m: _nan(v) for m, v in values.items()}}
                for entry in self.per_fold for name, values in entry["metrics"].items()]
        return pd.DataFrame(rows, columns=["fold", "forecaster", *FOLD_METRICS])


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def walk_forward(folds: list[Fold], fit_predict: Callable[[Fold], dict[str, np.ndarray]],
                 actual: np.ndarray, previous: np.ndarray) -> WalkForwardResult:
    """Run ``fit_predict`` on every fold part and score the pooled forecasts of each fold.

    ``actual[t]`` is the price origin ``t`` forecasts (the close at ``t+1``), ``previous[t]`` the close at
    ``t``, both indexed by origin. ``fit_predict(fold)`` fits on ``fold.train`` and returns one-step price
    forecasts for ``fold.test`` per forecaster; it must include ``"persistence"``, the yardstick of Theil's U.
    """
    actual = np.asarray(actual, dtype=np.float64)
    previous = np.asarray(previous, dtype=np.float64)
    if actual.shape != previous.shape or actual.ndim != 1:
        raise ValueError(f"actual and previous must be 1-D and equally long, got {actual.shape} and "
                         f"{previous.shape}")
    if not folds:
        raise ValueError("no folds: build them with rolling_origin_folds")
    last = max(fold.test.stop for fold in folds)
    if last > actual.size:
        raise ValueError(f"folds test origins up to {last - 1} but actual has only {actual.size} origins")

    pooled: dict[int, dict[str, list[np.ndarray]]] = {}
    rows: dict[int, list[np.ndarray]] = {}
    parts: dict[int, int] = {}
    names: list[str] | None = None
    for fold in folds:
        forecasts = fit_predict(fold)
        if "persistence" not in forecasts:
            raise ValueError(f"fit_predict returned {sorted(forecasts)} for fold {fold.fold} part "
                             f"{fold.part}: it must include 'persistence', the yardstick of Theil's U")
        if names is None:
            names = list(forecasts)
        elif set(forecasts) != set(names):
            raise ValueError(f"fold {fold.fold} part {fold.part} returned forecasters {sorted(forecasts)}, "
                             f"earlier parts returned {sorted(names)}: every part must return the same set")
        for name, values in forecasts.items():
            values = np.asarray(values, dtype=np.float64).reshape(-1)
            if values.size != len(fold.test) or not np.all(np.isfinite(values)):
                raise ValueError(f"forecaster {name!r} returned {values.size} values (or NaNs) for fold "
                                 f"{fold.fold} part {fold.part}, which has {len(fold.test)} test origins")
            pooled.setdefault(fold.fold, {}).setdefault(name, []).append(values)
        rows.setdefault(fold.fold, []).append(np.arange(fold.test.start, fold.test.stop))
        parts[fold.fold] = parts.get(fold.fold, 0) + 1

    per_fold = []
    for f in sorted(pooled):
        at = np.concatenate(rows[f])
        a, prev = actual[at], previous[at]
        joined = {name: np.concatenate(chunks) for name, chunks in pooled[f].items()}
        metrics = {}
        for name, forecast in joined.items():
            try:
                u = theils_u(a, forecast, joined["persistence"])
            except ValueError:   # persistence exact on every row: U undefined
                u = float("nan")
            metrics[name] = {"rmse": rmse(a, forecast), "mae": mae(a, forecast), "theils_u": _none(u),
                             "directional_accuracy": _none(directional_accuracy(a, forecast, prev).value)}
        per_fold.append({"fold": f, "test_start": int(at.min()), "test_stop": int(at.max()) + 1,
                         "n": int(at.size), "n_parts": parts[f], "metrics": metrics})

    aggregate: dict[str, dict[str, dict[str, float | None]]] = {}
    for name in names or []:
        aggregate[name] = {}
        for metric in FOLD_METRICS:
            values = np.array([_nan(entry["metrics"][name][metric]) for entry in per_fold])
            values = values[~np.isnan(values)]
            mean = float(values.mean()) if values.size else None
            sd = float(values.std(ddof=1)) if values.size >= 2 else None
            aggregate[name][metric] = {"mean": mean, "sd": sd}
    return WalkForwardResult(per_fold=per_fold, aggregate=aggregate, folds=list(folds))
