"""Study periods, train-only standardisation, cross-sectional targets and streamed panel windows.

Days are rows of one returns array ``(days, tickers)``. A sample is a pair (origin day ``t``, ticker ``i``):
its input is the ticker's last ``window`` standardised returns up to and including ``t``, its target is
about day ``t + 1``:

- ``classification``: 1 when ticker i's return on ``t + 1`` is above that day's cross-sectional median
  (Fischer & Krauss 2018), else 0;
- ``regression``: ticker i's return on ``t + 1``, standardised like the inputs.

A study period is ``train_days`` then ``trade_days`` consecutive days (:func:`study_periods`). Training
samples have origin and target inside the training block; trading samples have their target inside the
trading block (their input may look back into the training block: those days are known by then). The
standardisation's mean and sd come from the training block's returns only.

Windows are never materialised: :class:`PanelWindows` keeps one float32 array and a strided view
``(days - window + 1, tickers, window)`` of it; :class:`PanelBatches` gathers one batch at a time from
(origin, ticker) index pairs.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import keras
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class StudyPeriod:
    """Day rows ``[start, start + train_days)`` train, ``[train_end, end)`` trade."""

    index: int
    start: int
    train_end: int
    end: int

    @property
    def train_days(self) -> range:
        return range(self.start, self.train_end)

    @property
    def trade_days(self) -> range:
        return range(self.train_end, self.end)


def study_periods(n_days: int, train_days: int, trade_days: int, *, max_periods: int | None = None) -> list[StudyPeriod]:
    """Rolling study periods over ``n_days`` return rows: each trades the ``trade_days`` after its
    ``train_days``, the next starts ``trade_days`` later. The last trading block may be shorter (the data
    ends); ``max_periods`` keeps the last ones. Raises ValueError when not even one period fits."""
    if n_days < train_days + 1:
        raise ValueError(f"the panel has {n_days} days of returns; a study period needs train_days ({train_days}) "
                         f"plus at least one trading day: lower train_days or load a longer history")
    periods = []
    start = 0
    while start + train_days < n_days:
        periods.append(StudyPeriod(len(periods), start, start + train_days, min(start + train_days + trade_days, n_days)))
        start += trade_days
    if max_periods is not None:
        periods = [StudyPeriod(i, p.start, p.train_end, p.end) for i, p in enumerate(periods[-max_periods:])]
    return periods


# ---------------------------------------------------------------------- standardisation
@dataclass(frozen=True)
class ReturnStandardizer:
    """Mean and sd of all tickers' returns pooled over one training block (fitted state ends in ``_``)."""

    mean_: float
    sd_: float

    @classmethod
    def fit(cls, returns: np.ndarray, period: StudyPeriod) -> "ReturnStandardizer":
        """Fit on the training block's rows only; missing returns are ignored."""
        block = returns[period.start:period.train_end]
        values = block[np.isfinite(block)]
        if values.size < 2 or float(values.std()) == 0.0:
            raise ValueError(f"study period {period.index}: its training block has too few varying returns "
                             f"to standardise ({values.size} values)")
        return cls(float(values.mean()), float(values.std()))

    def transform(self, returns: np.ndarray) -> np.ndarray:
        return ((returns - self.mean_) / self.sd_).astype(np.float32)


# ---------------------------------------------------------------------- targets
def cross_sectional_targets(returns: np.ndarray, target: str, standardizer: ReturnStandardizer) -> np.ndarray:
    """Target of every (origin t, ticker) pair: about day ``t + 1``; row t of the result. NaN where the
    next-day return is missing, and on the last row (no next day)."""
    following = np.full_like(returns, np.nan, dtype=np.float64)
    following[:-1] = returns[1:]
    if target == "regression":
        return standardizer.transform(following).astype(np.float32)
    if target != "classification":
        raise ValueError(f"unknown target {target!r}: use 'classification' or 'regression'")
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)        # a day with no return at all: all-NaN median
        median = np.nanmedian(following, axis=1, keepdims=True)
        above = (following > median).astype(np.float32)
    return np.where(np.isfinite(following), above, np.nan).astype(np.float32)


# ---------------------------------------------------------------------- windows
class PanelWindows:
    """Standardised returns of a panel and the (origin, ticker) samples a study period may use.

    ``returns``: ``(days, tickers)`` simple returns, NaN where missing. Inputs are a strided view of one
    float32 array (missing returns as 0, never used: a sample must have a complete window).
    """

    def __init__(self, returns: np.ndarray, period: StudyPeriod, window: int, target: str):
        returns = np.asarray(returns, dtype=np.float64)
        self.period = period
        self.window = int(window)
        self.target = target
        self.standardizer_ = ReturnStandardizer.fit(returns, period)
        finite = np.isfinite(returns)
        self.data_ = np.where(finite, self.standardizer_.transform(np.where(finite, returns, 0.0)), 0.0).astype(np.float32)
        self.view_ = sliding_window_view(self.data_, self.window, axis=0)   # (days - window + 1, tickers, window)
        missing = np.concatenate([np.zeros((1, returns.shape[1]), int), np.cumsum(~finite, axis=0)])
        complete = np.zeros(returns.shape, bool)
        complete[self.window - 1:] = (missing[self.window:] - missing[:-self.window]) == 0
        self.complete_window_ = complete           # (days, tickers): the window ending at t has no gap
        self.targets_ = cross_sectional_targets(returns, target, self.standardizer_)

    @property
    def n_tickers(self) -> int:
        return self.data_.shape[1]

    def samples(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """``(origins, tickers)`` index arrays of the period's 'train', 'val' (the training samples whose
        target is in the last ``val`` share is chosen by :meth:`split_train`), or 'trade' samples."""
        p = self.period
        if part == "train":
            first, last = p.start + self.window - 1, p.train_end - 2      # target t+1 <= train_end - 1
        elif part == "trade":
            first, last = p.train_end - 1, p.end - 2                       # target t+1 in the trading block
        else:
            raise ValueError(f"unknown part {part!r}: use 'train' or 'trade'")
        origins = np.arange(max(first, self.window - 1), last + 1)
        ok = self.complete_window_[origins] & np.isfinite(self.targets_[origins])
        t, i = np.nonzero(ok)
        return origins[t], i

    def split_train(self, val_frac: float) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Training samples split by target date: the last ``val_frac`` of the training origins validate."""
        origins, tickers = self.samples("train")
        if origins.size == 0:
            raise ValueError(f"study period {self.period.index}: no complete training window; lower window")
        days = np.unique(origins)
        cut = days[int(len(days) * (1 - val_frac))] if len(days) > 1 else days[-1] + 1
        fit, val = origins < cut, origins >= cut
        return (origins[fit], tickers[fit]), (origins[val], tickers[val])

    def inputs(self, origins: np.ndarray, tickers: np.ndarray) -> np.ndarray:
        """The windows of these samples ``(n, window, 1)``: one gather from the strided view."""
        return self.view_[np.asarray(origins) - self.window + 1, np.asarray(tickers)][..., None]

    def labels(self, origins: np.ndarray, tickers: np.ndarray) -> np.ndarray:
        return self.targets_[origins, tickers][:, None]


class PanelBatches(keras.utils.PyDataset):
    """Batches of ``(inputs (b, window, 1), labels (b, 1))`` gathered per batch from (origin, ticker) pairs.

    ``shuffle``: a seeded permutation, redrawn at every epoch end. ``labels=False`` yields inputs only
    (prediction).
    """

    def __init__(self, windows: PanelWindows, origins: np.ndarray, tickers: np.ndarray, batch_size: int, *,
                 shuffle: bool = False, seed: int = 0, labels: bool = True):
        super().__init__(workers=1, use_multiprocessing=False)
        self.windows = windows
        self.origins = np.asarray(origins)
        self.tickers = np.asarray(tickers)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.with_labels = labels
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(self.origins.size) if shuffle else np.arange(self.origins.size)

    def __len__(self) -> int:
        return math.ceil(self.origins.size / self.batch_size)

    def __getitem__(self, index: int):
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        o, i = self.origins[rows], self.tickers[rows]
        x = self.windows.inputs(o, i)
        return (x, self.windows.labels(o, i)) if self.with_labels else (x,)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._rng.permutation(self.origins.size)
