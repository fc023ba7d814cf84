"""The split plan: which origin rows train, validate and test a model, computed in one place.

Every part of the series that cuts a series in time asks this module: the history check of 01 and 03, the
WindowGenerator of 04 and 06, the tuning search of 05 (a plan without a test split), the walk-forward refits
of 06 and the retraining of a deployed model (a plan whose test split starts at a given row). Samples are
assigned by their *target dates* (see ARCHITECTURE.md, "Split, targets and windows"): origin ``t`` reads rows
``t-window+1..t`` and is labelled with rows ``t+1..t+horizon``.

There is one minimum-size rule, :data:`MIN_SPLIT_SAMPLES` samples in every split a step needs (and
:data:`MIN_RESIDUALS` validation samples where the predictive bands draw their residual pool), and one
feasibility check over everything the whole series builds, :func:`series_shortfalls`: the history check
accepts ``n`` rows exactly when every plan the series will make on them can be made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from helpers.config import RunConfig

SPLITS = ("train", "val", "test")

# Fewer samples than this in any split cannot train or judge a model; the split raises instead.
MIN_SPLIT_SAMPLES = 10

# Fewer validation residuals than this cannot describe a distribution's tails (the predictive bands' pool).
MIN_RESIDUALS = 20

# Walk-forward evaluates the last share of the origins, and first trains on at least this share of them.
WALK_FORWARD_SPAN = 0.4
WALK_FORWARD_MIN_TRAIN = 0.3


class SplitError(ValueError):
    """A split cannot hold the samples a step needs; the message gives every number."""


@dataclass(frozen=True)
class SplitPlan:
    """Origin rows of the train / val / test samples and the boundary dates they were cut at.

    Each split is a contiguous ``range`` of origin row positions ``t``; sample ``i`` of a split has inputs at
    rows ``t-window+1..t`` and targets at rows ``t+1..t+horizon``. A plan for tuning has an empty test split.
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
    test_start: pd.Timestamp    # first test target date (NaT when the plan has no test rows)

    def origins(self, split: str) -> range:
        """The origin rows of ``split`` ('train', 'val' or 'test')."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
        return getattr(self, split)

    @property
    def last_train_target_row(self) -> int:
        """The last row any training sample's target reaches: rows after it were never fitted on."""
        return self.train.stop - 1 + self.horizon

    def to_dict(self, dates: pd.DatetimeIndex | None = None) -> dict[str, Any]:
        """Plain-JSON summary: sample counts, origin rows and (given the index) origin and target dates."""
        of = dates if dates is not None else [self.first_date, self.last_date, self.val_start, self.test_start]
        out: dict[str, Any] = {
            "window": self.window, "horizon": self.horizon, "rows": self.n_rows,
            "first_date": _iso(self.first_date, of), "last_date": _iso(self.last_date, of),
            "val_start": _iso(self.val_start, of), "test_start": _iso(self.test_start, of),
        }
        for split in SPLITS:
            r = self.origins(split)
            part: dict[str, Any] = {"samples": len(r)}
            if len(r):
                part.update(first_origin_row=r.start, last_origin_row=r.stop - 1)
                if dates is not None:
                    part.update(first_origin=_iso(dates[r.start], of), last_origin=_iso(dates[r.stop - 1], of),
                                first_target=_iso(dates[r.start + 1], of),
                                last_target=_iso(dates[r.stop - 1 + self.horizon], of))
            out[split] = part
        return out


# ---------------------------------------------------------------------- the one cut
def split_at_rows(dates: pd.DatetimeIndex, window: int, horizon: int, first_val_row: int, first_test_row: int, *,
                  min_samples: int = MIN_SPLIT_SAMPLES, required: Sequence[str] = SPLITS,
                  how: str = "") -> SplitPlan:
    """The plan whose validation targets start at row ``first_val_row`` and test targets at ``first_test_row``.

    An origin ``t`` needs a full window (``t >= window-1``) and known targets (``t + horizon <= last row``).
    A sample is in train only if ALL its targets lie before the first validation row, in val only if all lie
    before the first test row and its first is on or after the first validation row, in test if its first
    target is on or after the first test row. With ``horizon > 1`` the origins whose targets straddle a
    boundary belong to no split (a purge gap), so no label is shared. ``first_test_row >= len(dates)`` gives
    a plan without test samples (tuning). Raises :class:`SplitError` when a split in ``required`` has fewer
    than ``min_samples`` samples.
    """
    dates = pd.DatetimeIndex(dates)
    n = len(dates)
    window, horizon = int(window), int(horizon)
    if window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be >= 1, got window={window}, horizon={horizon}")
    first_origin, last_origin = window - 1, n - 1 - horizon
    if n == 0 or last_origin < first_origin:
        raise SplitError(f"{n} rows are too few for window {window} and horizon {horizon}: one sample alone "
                         f"needs {window + horizon} rows")
    stop = last_origin + 1
    train = range(first_origin, max(first_origin, min(first_val_row - horizon, stop)))
    val_lo = max(first_origin, first_val_row - 1)
    val = range(val_lo, max(val_lo, min(first_test_row - horizon, stop)))
    test_lo = max(first_origin, first_test_row - 1)
    test = range(test_lo, max(test_lo, stop))
    plan = SplitPlan(
        window=window, horizon=horizon, n_rows=n, train=train, val=val, test=test,
        first_val_row=int(first_val_row), first_test_row=int(first_test_row),
        first_date=dates[0], last_date=dates[-1],
        val_start=dates[first_val_row] if 0 <= first_val_row < n else pd.NaT,
        test_start=dates[first_test_row] if 0 <= first_test_row < n else pd.NaT,
    )
    short = [s for s in required if len(plan.origins(s)) < min_samples]
    if short:
        split = short[0]
        raise SplitError(
            f"the {split} split has {len(plan.origins(split))} samples, fewer than the {min_samples} needed: {n} "
            f"rows ({_iso(dates[0], dates)} .. {_iso(dates[-1], dates)}), window {window}, horizon {horizon}"
            f"{', ' + how if how else ''} -> train {len(train)}, val {len(val)}, test {len(test)} samples. Use a "
            "longer history, a shorter window or horizon, or other split fractions/dates.")
    return plan


# ---------------------------------------------------------------------- the plans the series makes
def boundary_rows(dates: pd.DatetimeIndex, config: RunConfig, window: int) -> tuple[int, int, str]:
    """The first validation and first test target rows of the run's split, and how they were chosen.

    From ``config.val_start``/``test_start`` when both are given, else the last ``test_frac`` and the
    ``val_frac`` before them of the rows that can be a label (rows ``window..last``).
    """
    dates = pd.DatetimeIndex(dates)
    if config.val_start and config.test_start:
        first_val_row = int(dates.searchsorted(pd.Timestamp(config.val_start), side="left"))
        first_test_row = int(dates.searchsorted(pd.Timestamp(config.test_start), side="left"))
        return first_val_row, first_test_row, f"val_start={config.val_start}, test_start={config.test_start}"
    n = len(dates)
    label_rows = n - int(window)
    first_test_row = n - int(round(label_rows * config.test_frac))
    first_val_row = first_test_row - int(round(label_rows * config.val_frac))
    return first_val_row, first_test_row, f"val_frac={config.val_frac}, test_frac={config.test_frac}"


def chronological_split(dates: pd.DatetimeIndex, config: RunConfig, window: int, horizon: int,
                        *, min_samples: int = MIN_SPLIT_SAMPLES) -> SplitPlan:
    """The run's split (04, 06, 07): boundaries from :func:`boundary_rows`, every split at least ``min_samples``."""
    first_val_row, first_test_row, how = boundary_rows(dates, config, window)
    return split_at_rows(dates, window, horizon, first_val_row, first_test_row, min_samples=min_samples, how=how)


def tuning_split(dates: pd.DatetimeIndex, config: RunConfig, window: int, val_start: pd.Timestamp) -> SplitPlan:
    """A search's split of a frame that holds no test rows (05): train before ``val_start``, validation from
    it to the end of the frame, no test split."""
    dates = pd.DatetimeIndex(dates)
    first_val_row = int(dates.searchsorted(pd.Timestamp(val_start), side="left"))
    return split_at_rows(dates, window, config.horizon, first_val_row, len(dates), required=("train", "val"),
                         how=f"validation targets from {_iso(val_start, dates)} to the end of the tuning frame")


def refit_split(dates: pd.DatetimeIndex, config: RunConfig, window: int, horizon: int, first_test_row: int,
                *, min_samples: int = MIN_SPLIT_SAMPLES, required: Sequence[str] = SPLITS) -> SplitPlan:
    """A refit whose test targets start at ``first_test_row`` (walk-forward parts, retraining on new data).

    The rows before it are split into training and validation in the run's proportion
    (``val_frac / (1 - test_frac)`` of the label rows validate), so early stopping never sees a test row.
    ``first_test_row = len(dates)`` with ``required=("train", "val")``: a fit on all the rows, validation last.
    """
    label_rows = int(first_test_row) - int(window)
    n_val = max(min_samples + int(horizon), int(round(label_rows * config.val_frac / (1.0 - config.test_frac))))
    return split_at_rows(dates, window, horizon, int(first_test_row) - n_val, int(first_test_row),
                         min_samples=min_samples, required=required,
                         how=f"refit with test targets from row {first_test_row}")


def walk_forward_folds(n_rows: int, config: RunConfig, window: int | None = None) -> list:
    """The walk-forward folds of 06 over a feature frame of ``n_rows`` rows (origin ``i`` is row
    ``window - 1 + i``): ``config.walk_forward_folds`` blocks over the last :data:`WALK_FORWARD_SPAN` of the
    origins, refitted every ``config.retrain_every`` steps (:func:`helpers.backtest.rolling_origin_folds`)."""
    from helpers.backtest import rolling_origin_folds

    window = int(window or config.window)
    h = config.horizon
    n_origins = int(n_rows) - (window - 1) - h
    if n_origins < 1:
        raise SplitError(f"{n_rows} rows leave no walk-forward origin for window {window} and horizon {h}")
    test_size = max(1, int(n_origins * WALK_FORWARD_SPAN) // config.walk_forward_folds)
    min_train = max(window * 3, int(n_origins * WALK_FORWARD_MIN_TRAIN))
    sliding = config.walk_forward_scheme == "sliding"
    try:
        return rolling_origin_folds(n_origins, n_folds=config.walk_forward_folds, test_size=test_size,
                                    scheme=config.walk_forward_scheme, min_train=min_train,
                                    train_size=min_train if sliding else None, retrain_every=config.retrain_every,
                                    gap=h - 1, min_part=MIN_SPLIT_SAMPLES)
    except ValueError as exc:
        raise SplitError(f"walk-forward: {exc}") from None


def fold_part_split(dates: pd.DatetimeIndex, config: RunConfig, fold: Any, window: int | None = None
                    ) -> tuple[slice, SplitPlan]:
    """The rows a walk-forward part trains on (a slice of the feature frame) and its plan: test targets from
    the part's first origin's next row, everything before it training and validation."""
    window = int(window or config.window)
    first = window - 1
    origins = np.asarray(fold.test) + first
    known = int(origins[0]) + 1                         # rows known at the part's first origin
    rows = slice(fold.train.start, int(origins[-1]) + config.horizon + 1)
    part_dates = pd.DatetimeIndex(dates)[rows]
    return rows, refit_split(part_dates, config, window, config.horizon, known - fold.train.start,
                             min_samples=1)


# ---------------------------------------------------------------------- is the history long enough?
def candidate_windows(config: RunConfig) -> list[int]:
    """Every window length the run may end up using: its own and each one the search may pick."""
    return sorted({int(config.window), *(int(w) for w in config.tune_windows)})


def series_shortfalls(dates: pd.DatetimeIndex, config: RunConfig) -> list[str]:
    """Everything the series cannot build on the feature rows ``dates`` (warm-up already dropped), in words.

    Checks, for every window the run may use: the run's split (04, 06) with at least
    :data:`MIN_RESIDUALS` validation samples for the predictive bands (07); the tuning split (05); the direct
    model of ``forecast_days`` steps with its own residual pool (07); and the walk-forward folds with every
    part's refit (06). An empty list means the whole series can run.
    """
    dates = pd.DatetimeIndex(dates)
    problems: list[str] = []

    def attempt(what: str, make) -> Any:
        try:
            return make()
        except SplitError as exc:
            problems.append(f"{what}: {exc}")
            return None

    windows = candidate_windows(config)
    plans = {w: attempt(f"the split at window {w}", lambda w=w: chronological_split(dates, config, w, config.horizon))
             for w in windows}
    for w, plan in plans.items():
        if plan is not None and config.horizon == 1 and len(plan.val) < MIN_RESIDUALS:
            problems.append(f"the predictive bands at window {w}: {len(plan.val)} validation samples, fewer than "
                            f"the {MIN_RESIDUALS} residuals they need; use a longer history or a larger val_frac")
    if all(p is not None for p in plans.values()):
        val_start = plans[int(config.window)].val_start
        cut = dates[dates < min(p.test_start for p in plans.values())]
        for w in config.tune_windows:
            attempt(f"the tuning split at window {w}", lambda w=w: tuning_split(cut, config, int(w), val_start))
    if config.forecast_days > 1 and config.horizon == 1:
        for w in windows:
            direct = attempt(f"the direct {config.forecast_days}-step model at window {w}",
                             lambda w=w: chronological_split(dates, config, w, config.forecast_days))
            if direct is not None and len(direct.val) < MIN_RESIDUALS:
                problems.append(f"the direct model's bands at window {w}: {len(direct.val)} validation samples, "
                                f"fewer than the {MIN_RESIDUALS} residuals they need")
    if config.walk_forward_folds > 0:
        for w in windows:
            folds = attempt(f"walk-forward at window {w}", lambda w=w: walk_forward_folds(len(dates), config, w))
            for fold in folds or []:
                if attempt(f"a walk-forward refit at window {w}",
                           lambda f=fold, w=w: fold_part_split(dates, config, f, w)) is None:
                    break
    return problems


def synthetic_dates(n_rows: int) -> pd.DatetimeIndex:
    """``n_rows`` business days: stand-in dates where only the count matters (fraction splits)."""
    return pd.bdate_range("2000-01-03", periods=max(0, int(n_rows)), name="date")


def minimum_feature_rows(config: RunConfig, upper: int = 1_000_000) -> int:
    """The fewest feature rows on which :func:`series_shortfalls` finds nothing (fraction splits), by search.

    Feasibility grows with the number of rows, so a doubling search then a bisection finds the edge; the
    answer is checked once more so a non-monotone corner can never make the check accept too few rows.
    """
    if config.val_start and config.test_start:
        raise ValueError("with val_start/test_start the needed rows depend on the dates: call series_shortfalls")
    lo, hi = 1, 64
    while series_shortfalls(synthetic_dates(hi), config):
        lo, hi = hi, hi * 2
        if hi > upper:
            raise SplitError(f"no history up to {upper} rows satisfies this config: {series_shortfalls(synthetic_dates(upper), config)[0]}")
    while lo < hi:
        mid = (lo + hi) // 2
        if series_shortfalls(synthetic_dates(mid), config):
            lo = mid + 1
        else:
            hi = mid
    return hi


def _iso(when: Any, of: Any = None) -> str | None:
    from helpers.frequency import iso_stamp   # dates, with the time of day of intraday bars

    return iso_stamp(when, of)
