"""Cleaning prices by a stated policy, with a report of every fix; and the check that there is enough history.

The policy of :func:`clean_prices`, in the order it is applied (each fix is counted and its first dates kept):

1. **Time order**: rows are sorted by timestamp (stable).
2. **Duplicate timestamps** (rule ``duplicate_dates``): the last row of each timestamp is kept (vendors append
   corrections). Bars at different times of one day are distinct bars, never duplicates.
3. **Empty columns**: an optional column (open/high/low/volume) with no value at all is dropped.
4. **Non-positive prices** (open/high/low/close <= 0) and negative volume become missing, then follow rules 5-7.
5. **Leading missing rows** (before the first row with every column present) are dropped: nothing to fill from.
6. **Short gaps**: the first ``max_ffill`` consecutive missing values of a column are forward-filled with the
   last known value (the past only, so no future information enters a row).
7. **Long gaps**: rows deeper than ``max_ffill`` into a run of missing values are dropped. Rules 5-7 decide
   row ``t`` from rows up to ``t`` only: cleaning a prefix of a series gives the prefix of the cleaned series.
8. **OHLC inconsistencies** (high below open/close/low, or low above open/close/high) are repaired by setting
   high = max(open, high, low, close) and low = min(open, high, low, close).

Flagged, never changed (they may be real):

- **zero volume** days;
- **stale prices**: runs of ``stale_run`` or more identical closes;
- **extreme returns**: days with |log return of close| > ``extreme_return``.

:func:`check_history` says whether a series is long enough for the run's window, horizon and split, and if not,
raises :class:`InsufficientHistoryError` with both numbers and what to do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from helpers.config import RunConfig
from helpers.frequency import has_time_of_day, iso_stamp

PRICE_COLUMNS = ("open", "high", "low", "close")
OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
OHLC_TOLERANCE = 1e-9                # relative; below it high/low disagreements are rounding, not errors
DATES_SHOWN = 5                      # dates kept per report line; the count is always complete



# ---------------------------------------------------------------------- the report
@dataclass(frozen=True)
class CleaningStep:
    """One rule that fired: how many rows, the first few dates (ISO), and what was done about it."""

    rule: str
    count: int
    dates: tuple[str, ...]
    action: str
    detail: str = ""


@dataclass
class CleaningReport:
    """Every fix :func:`clean_prices` made and every flag it raised, with the policy's parameters."""

    rows_in: int
    rows_out: int = 0
    fixes: list[CleaningStep] = field(default_factory=list)
    flags: list[CleaningStep] = field(default_factory=list)
    policy: dict[str, Any] = field(default_factory=dict)
    intraday: bool = False     # the prices have a time of day: every date shown keeps it (midnight too)

    def count(self, rule: str) -> int:
        """Rows affected by ``rule`` (0 when it did not fire), fixes and flags alike."""
        return sum(step.count for step in self.fixes + self.flags if step.rule == rule)

    def step(self, rule: str) -> CleaningStep | None:
        """The report line of ``rule``, or None."""
        return next((s for s in self.fixes + self.flags if s.rule == rule), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: rows in/out, policy, fixes and flags (dates as ISO strings)."""
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "policy": dict(self.policy),
            "fixes": [_step_dict(s) for s in self.fixes],
            "flags": [_step_dict(s) for s in self.flags],
        }

    def to_frame(self) -> pd.DataFrame:
        """A readable table for the notebook: one row per fix or flag."""
        rows = [{"kind": kind, "rule": s.rule.replace("_", " "), "rows": s.count,
                 "first dates": _dates_text(s), "action": s.action, "detail": s.detail}
                for kind, steps in (("fix", self.fixes), ("flag", self.flags)) for s in steps]
        return pd.DataFrame(rows, columns=["kind", "rule", "rows", "first dates", "action", "detail"])

    def summary(self) -> str:
        """A few sentences: rows in and out, then each fix and flag."""
        lines = [f"{self.rows_in} rows in, {self.rows_out} rows out."]
        if not self.fixes:
            lines.append("No fixes were needed.")
        for s in self.fixes:
            lines.append(f"Fix - {s.rule.replace('_', ' ')}: {s.count} row(s) ({_dates_text(s)}): {s.action}."
                         + (f" {s.detail}." if s.detail else ""))
        for s in self.flags:
            lines.append(f"Flag - {s.rule.replace('_', ' ')}: {s.count} ({_dates_text(s)}): {s.action}."
                         + (f" {s.detail}." if s.detail else ""))
        return "\n".join(lines)

    def _fix(self, rule: str, dates: pd.Index | list, action: str, detail: str = "", count: int | None = None) -> None:
        n = len(dates) if count is None else count
        if n:
            self.fixes.append(CleaningStep(rule, int(n), _first_dates(dates, self.intraday), action, detail))

    def _flag(self, rule: str, dates: pd.Index | list, action: str, detail: str = "",
              count: int | None = None) -> None:
        n = len(dates) if count is None else count
        if n:
            self.flags.append(CleaningStep(rule, int(n), _first_dates(dates, self.intraday), action, detail))


def _step_dict(step: CleaningStep) -> dict[str, Any]:
    out = asdict(step)
    out["dates"] = list(step.dates)
    return out


def _first_dates(dates: pd.Index | list, intraday: bool = False) -> tuple[str, ...]:
    """ISO dates, with the time of day for intraday bars (``2024-03-01 10:30:00``)."""
    return tuple(iso_stamp(d, intraday) for d in list(dates)[:DATES_SHOWN])


def _dates_text(step: CleaningStep) -> str:
    more = ", …" if step.count > len(step.dates) else ""
    return ", ".join(step.dates) + more


# ---------------------------------------------------------------------- cleaning
def clean_prices(prices: pd.DataFrame, *, max_ffill: int = 3, extreme_return: float = 0.25,
                 stale_run: int = 5) -> tuple[pd.DataFrame, CleaningReport]:
    """The cleaned copy of ``prices`` and a report of each fix and flag (policy in the module docstring).

    ``prices``: ``(days, columns)`` with a DatetimeIndex and a ``close`` column (open/high/low/volume
    optional). ``max_ffill``: longest run of missing values (rows) that is forward-filled. ``extreme_return``:
    |log return| above which a day is flagged. The input is never modified.
    """
    _check_input(prices, max_ffill=max_ffill, extreme_return=extreme_return, stale_run=stale_run)
    report = CleaningReport(rows_in=len(prices),
                            policy={"max_ffill": max_ffill, "extreme_return": extreme_return, "stale_run": stale_run},
                            intraday=has_time_of_day(prices.index))
    frame = prices.copy()
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    keep = [c for c in OHLCV_COLUMNS if c in frame.columns]
    frame = frame[keep].apply(pd.to_numeric, errors="coerce").astype("float64")

    frame = _sort_by_date(frame, report)
    frame = _drop_duplicate_dates(frame, report)
    frame = _drop_empty_columns(frame, report)
    frame = _invalidate_non_positive(frame, report)
    frame = _drop_leading_missing(frame, report)
    frame = _fill_or_drop_gaps(frame, report, max_ffill)
    frame = _repair_ohlc(frame, report)
    _flag_zero_volume(frame, report)
    _flag_stale_prices(frame, report, stale_run)
    _flag_extreme_returns(frame, report, extreme_return)
    if frame.empty:
        raise ValueError(f"no rows left after cleaning {report.rows_in} rows (every row had missing or invalid "
                         f"prices): check the data source\n{report.summary()}")
    report.rows_out = len(frame)
    return frame, report


def _check_input(prices: pd.DataFrame, *, max_ffill: int, extreme_return: float, stale_run: int) -> None:
    if not isinstance(prices, pd.DataFrame):
        raise TypeError(f"prices must be a pandas DataFrame, not {type(prices).__name__}")
    if not isinstance(prices.index, pd.DatetimeIndex):
        raise TypeError(f"prices must be indexed by dates (a DatetimeIndex), not {type(prices.index).__name__}: "
                        f"set the date column as the index, e.g. frame.set_index('date')")
    if "close" not in prices.columns:
        raise ValueError(f"prices have no 'close' column (columns: {list(map(str, prices.columns))}): load them "
                         f"with helpers.data.load_prices, which names columns open, high, low, close, volume")
    if not isinstance(max_ffill, (int, np.integer)) or max_ffill < 0:
        raise ValueError(f"max_ffill = {max_ffill!r}: a whole number of rows >= 0")
    if not extreme_return > 0:
        raise ValueError(f"extreme_return = {extreme_return!r}: a positive |log return|, e.g. 0.25")
    if not isinstance(stale_run, (int, np.integer)) or stale_run < 2:
        raise ValueError(f"stale_run = {stale_run!r}: a whole number of days >= 2")


def _sort_by_date(frame: pd.DataFrame, report: CleaningReport) -> pd.DataFrame:
    if frame.index.is_monotonic_increasing:
        return frame
    out_of_order = frame.index[frame.index.to_series().lt(frame.index.to_series().cummax().shift()).to_numpy()]
    report._fix("unsorted_dates", out_of_order, "rows sorted by date")
    return frame.sort_index(kind="stable")


def _drop_duplicate_dates(frame: pd.DataFrame, report: CleaningReport) -> pd.DataFrame:
    duplicated = frame.index.duplicated(keep="last")
    if duplicated.any():
        report._fix("duplicate_dates", frame.index[duplicated].unique(), "kept the last row of each timestamp",
                    count=int(duplicated.sum()))
        frame = frame.loc[~duplicated]
    return frame


def _drop_empty_columns(frame: pd.DataFrame, report: CleaningReport) -> pd.DataFrame:
    empty = [c for c in frame.columns if c != "close" and frame[c].isna().all()]
    for column in empty:
        report._fix("empty_column", [], f"column {column!r} has no values and was dropped", count=len(frame))
    return frame.drop(columns=empty)


def _invalidate_non_positive(frame: pd.DataFrame, report: CleaningReport) -> pd.DataFrame:
    frame = frame.copy()
    prices = [c for c in PRICE_COLUMNS if c in frame.columns]
    bad = frame[prices] <= 0
    rows = bad.any(axis=1)
    if rows.any():
        per_column = ", ".join(f"{c}: {int(bad[c].sum())}" for c in prices if bad[c].any())
        report._fix("non_positive_prices", frame.index[rows.to_numpy()],
                    "set to missing, then treated by the missing-value rules", detail=per_column)
        frame[prices] = frame[prices].mask(bad)
    if "volume" in frame.columns:
        negative = frame["volume"] < 0
        if negative.any():
            report._fix("negative_volume", frame.index[negative.to_numpy()],
                        "set to missing, then treated by the missing-value rules")
            frame["volume"] = frame["volume"].mask(negative)
    return frame


def _drop_leading_missing(frame: pd.DataFrame, report: CleaningReport) -> pd.DataFrame:
    complete = frame.notna().all(axis=1).to_numpy()
    if not complete.any():
        report._fix("leading_missing_rows", frame.index, "dropped (no row has every column present)")
        return frame.iloc[0:0]
    first = int(np.argmax(complete))
    report._fix("leading_missing_rows", frame.index[:first], "dropped (nothing earlier to fill from)")
    return frame.iloc[first:]


def _fill_or_drop_gaps(frame: pd.DataFrame, report: CleaningReport, max_ffill: int) -> pd.DataFrame:
    """Forward-fill the first ``max_ffill`` missing values of each run; drop rows deeper into a run.

    Both decisions for row ``t`` depend only on rows up to ``t``, so cleaning never looks ahead: cleaning a
    prefix of the series gives the same rows and values as the prefix of the cleaned series.
    """
    missing = frame.isna()
    if frame.empty or not missing.any().any():
        return frame
    filled = frame.ffill(limit=max_ffill) if max_ffill > 0 else frame
    dropped = filled.isna().any(axis=1).to_numpy()
    was_filled = missing.any(axis=1).to_numpy() & ~dropped
    if was_filled.any():
        per_column = ", ".join(f"{c}: {int((missing[c].to_numpy() & ~dropped).sum())}"
                               for c in frame.columns if (missing[c].to_numpy() & ~dropped).any())
        report._fix("short_gaps", frame.index[was_filled],
                    f"forward-filled from the last known value (at most {max_ffill} rows in a row)",
                    detail=per_column)
    if dropped.any():
        report._fix("long_gaps", frame.index[dropped],
                    f"rows dropped: beyond {max_ffill} consecutive missing values nothing is filled")
    return filled.loc[~dropped]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) half-open index ranges of consecutive True values."""
    if not mask.any():
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def _repair_ohlc(frame: pd.DataFrame, report: CleaningReport) -> pd.DataFrame:
    present = [c for c in PRICE_COLUMNS if c in frame.columns]
    if "high" not in present and "low" not in present:
        return frame
    top, bottom = frame[present].max(axis=1), frame[present].min(axis=1)
    # A relative tolerance keeps rounding noise from price adjustment (1e-15) from counting as a fix.
    never = pd.Series(False, index=frame.index)
    high_bad = (frame["high"] < top * (1 - OHLC_TOLERANCE)) if "high" in present else never
    low_bad = (frame["low"] > bottom * (1 + OHLC_TOLERANCE)) if "low" in present else never
    rows = (high_bad | low_bad).to_numpy()
    if rows.any():
        frame = frame.copy()
        report._fix("ohlc_inconsistent", frame.index[rows],
                    "high set to max(open, high, low, close), low set to min(open, high, low, close)",
                    detail=f"high too low: {int(high_bad.sum())}, low too high: {int(low_bad.sum())}")
        if "high" in present:
            frame.loc[rows, "high"] = top[rows]
        if "low" in present:
            frame.loc[rows, "low"] = bottom[rows]
    return frame


def _flag_zero_volume(frame: pd.DataFrame, report: CleaningReport) -> None:
    if "volume" in frame.columns:
        zero = (frame["volume"] == 0).to_numpy()
        report._flag("zero_volume", frame.index[zero], "flagged, kept (a holiday, a halt, or an index without volume)")


def _flag_stale_prices(frame: pd.DataFrame, report: CleaningReport, stale_run: int) -> None:
    close = frame["close"].to_numpy()
    same = np.concatenate([[False], close[1:] == close[:-1]])
    starts, lengths = [], []
    for start, stop in _runs(same):
        length = stop - start + 1  # the run includes the day before the first repeat
        if length >= stale_run:
            starts.append(frame.index[start - 1])
            lengths.append(length)
    if starts:
        report._flag("stale_prices", starts, f"flagged, kept: {len(starts)} run(s) of >= {stale_run} identical closes",
                     detail="run lengths " + ", ".join(map(str, lengths[:DATES_SHOWN])), count=len(starts))


def _flag_extreme_returns(frame: pd.DataFrame, report: CleaningReport, extreme_return: float) -> None:
    log_return = np.log(frame["close"]).diff()
    extreme = (log_return.abs() > extreme_return).to_numpy()
    if extreme.any():
        dates = frame.index[extreme]
        values = ", ".join(f"{iso_stamp(d, report.intraday)}: {r:+.3f}" for d, r in
                           zip(dates[:DATES_SHOWN], log_return.to_numpy()[extreme][:DATES_SHOWN]))
        report._flag("extreme_returns", dates, f"flagged, kept: |log return| > {extreme_return}",
                     detail=values)


# ---------------------------------------------------------------------- history length
class InsufficientHistoryError(ValueError):
    """Too few rows for what the series builds; names both numbers, the first shortfall and what to do."""

    def __init__(self, available: int, needed: int, message: str):
        self.available, self.needed = available, needed
        super().__init__(message)


def _warmup(config: RunConfig, warmup_rows: int | None, columns: Sequence[str] | None) -> int:
    if warmup_rows is not None:
        return max(0, int(warmup_rows))
    from helpers.features import warmup_rows_for

    return warmup_rows_for(config, columns or OHLCV_COLUMNS)


def required_rows(config: RunConfig, warmup_rows: int | None = None, columns: Sequence[str] | None = None) -> int:
    """The fewest price rows on which the whole series can run with ``config`` (fraction splits).

    The indicators' warm-up (``warmup_rows``; estimated from ``config`` and the price ``columns`` when None)
    plus the fewest feature rows :func:`helpers.splits.series_shortfalls` accepts: every window the search may
    pick, the tuning split, the predictive bands' residual pool, the direct model and the walk-forward refits.
    """
    from helpers.splits import minimum_feature_rows

    return minimum_feature_rows(config) + _warmup(config, warmup_rows, columns)


def check_history(n_rows: int, config: RunConfig, warmup_rows: int | None = None, *,
                  dates: pd.DatetimeIndex | None = None, columns: Sequence[str] | None = None) -> int:
    """Return the rows needed, or raise :class:`InsufficientHistoryError` when the series cannot run on
    ``n_rows`` rows. The one rule: ``n_rows`` is accepted exactly when :func:`helpers.splits.series_shortfalls`
    finds nothing on the feature rows that remain after the warm-up. ``dates`` (the prices' dates) are needed
    when the split is given by dates (``val_start``/``test_start``); ``columns`` say which indicators exist."""
    from helpers.splits import series_shortfalls, synthetic_dates

    warmup = _warmup(config, warmup_rows, columns)
    by_dates = bool(config.val_start and config.test_start)
    if by_dates and dates is None:
        raise ValueError("the split is given by dates (val_start/test_start): pass dates= to check_history")
    feature_dates = pd.DatetimeIndex(dates)[warmup:] if dates is not None else synthetic_dates(n_rows - warmup)
    problems = series_shortfalls(feature_dates, config)
    needed = int(n_rows) if by_dates else required_rows(config, warmup)
    if not problems:
        return needed
    if not by_dates:
        needed = max(needed, int(n_rows) + 1)
    warm = f" ({warmup} of them go to the indicators' warm-up)" if warmup else ""
    message = (
        f"not enough price history: {n_rows} rows available{warm}, {'more' if by_dates else needed} needed for "
        f"window={config.window}, horizon={config.horizon}, tune_windows={list(config.tune_windows)} and the "
        f"whole series. First shortfall: {problems[0].rstrip('.')}. Use an earlier start (start={config.start or 'None'} now), "
        f"a smaller window or tune_windows, fewer walk_forward_folds, or data with a longer history (another "
        "ticker, a CSV, or source='sample')")
    raise InsufficientHistoryError(int(n_rows), needed, message)
