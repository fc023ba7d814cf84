"""The bar frequency of a price series, read from its timestamps: daily, business-daily, weekly, hourly, N-minute.

Frequency is a property of the series, not an assumption of the code: a file of hourly bars cut to one bar per
date, or weekly bars treated as daily, gives a run that finishes with wrong numbers. :func:`infer_frequency`
reads it from the distribution of steps between consecutive timestamps:

- the **regular step** is the most common step (months of 28-31 days count as one step);
- nearly every step must be a whole multiple of it (a weekend is 3 daily steps, a night many hourly ones);
- every stretch of the series must have the same regular step, otherwise the series **mixes frequencies**
  (daily history followed by hourly bars) and is refused with the step sizes found and their counts.

Whether the series trades at weekends (24/7, e.g. crypto) is :func:`helpers.calendar.trades_weekends`; for
intraday bars, whether they cover the whole day (24/5 FX) or exchange sessions. From both follows
``bars_per_year`` for annualising (252 daily equities, 365 daily crypto, about 252 × 7 hourly equities,
24 × 365 hourly crypto).

This version runs daily bars only: :func:`require_daily_bars` refuses anything else early and clearly, instead
of letting later steps (features, calendar, annualisation) treat it as daily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers.calendar import trades_weekends

MIN_BARS = 5                         # fewer bars show no step distribution worth trusting
REGULAR_SHARE = 0.9                  # share of steps that must be whole multiples of the regular step
STRETCH_STEPS = 20                   # steps per stretch when checking that the whole series has one step
STRETCHES = 10                       # at most this many stretches
STEPS_SHOWN = 6                      # step sizes listed in a refusal
ROUND_THE_CLOCK_HOURS = 20.0         # intraday bars covering this much of the day trade around the clock

_MONTH = pd.Timedelta(days=30)       # the canonical step of monthly bars (28-31 days)
_DAY = pd.Timedelta(days=1)
_TRADING_DAYS = {"24/7": 365, "24/5": 260, "sessions": 252, "weekdays": 252}


class FrequencyError(ValueError):
    """The series' frequency cannot be inferred, mixes frequencies, or is not one this version runs."""


class UnsupportedFrequencyError(FrequencyError):
    """A regular frequency other than daily (hourly, minutes, weekly, monthly): refused until supported."""

    def __init__(self, frequency: "Frequency", label: str):
        self.frequency = frequency
        super().__init__(
            f"{label} has {frequency.describe()}; this version runs daily bars only: "
            f"{_what_to_do(frequency)}")


@dataclass(frozen=True)
class Frequency:
    """What the timestamps of a series say about its bars.

    ``name``: ``daily`` (every day, 24/7), ``business-daily`` (weekdays), ``weekly``, ``monthly``, ``hourly``,
    ``N-hour``, ``N-minute``, ``N-second`` or ``N-day``. ``step``: the regular step. ``calendar``: ``24/7``,
    ``weekdays`` (daily bars on weekdays), ``24/5`` (intraday around the clock on weekdays), ``sessions``
    (intraday exchange sessions) or ``periodic`` (bars longer than a day). ``bars_per_year``: for
    annualising. ``steps_found``: the commonest step sizes and their counts.
    """

    name: str
    step: pd.Timedelta
    calendar: str
    bars: int
    bars_per_year: float
    steps_found: dict[str, int] = field(default_factory=dict)

    @property
    def is_daily(self) -> bool:
        return self.name in ("daily", "business-daily")

    @property
    def is_intraday(self) -> bool:
        return self.step < _DAY

    def describe(self) -> str:
        """``hourly bars, sessions (5,000 bars, step 1h)``; ``weekly bars (200 bars, step 7d)``."""
        trading = "" if self.calendar == "periodic" else f", {self.calendar}"
        return f"{self.name} bars{trading} ({self.bars:,} bars, step {step_text(self.step)})"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the data report and manifests."""
        return {"name": self.name, "step": step_text(self.step), "step_seconds": self.step.total_seconds(),
                "calendar": self.calendar, "bars": self.bars, "bars_per_year": self.bars_per_year,
                "steps_found": dict(self.steps_found)}


def infer_frequency(timestamps: pd.DatetimeIndex | pd.Series | np.ndarray) -> Frequency:
    """The :class:`Frequency` of a series from its timestamps (any order; duplicates count once).

    Raises :class:`FrequencyError` when there are fewer than ``MIN_BARS`` distinct timestamps, when the steps are
    irregular, or when the series mixes frequencies; the message lists the step sizes found and their counts.
    """
    stamps = pd.DatetimeIndex(timestamps).dropna().unique().sort_values()
    if stamps.tz is not None:
        stamps = stamps.tz_localize(None)
    stamps = stamps.as_unit("ns")
    if len(stamps) < MIN_BARS:
        raise FrequencyError(f"cannot tell the bar frequency from {len(stamps)} distinct timestamp(s): at least "
                             f"{MIN_BARS} are needed")
    steps = pd.to_timedelta(np.diff(stamps.asi8), unit="ns")
    buckets = _bucketed(steps)
    step = _regular_step(buckets)
    found = _steps_found(buckets)
    multiples = _is_multiple(buckets, step)
    if multiples.mean() < REGULAR_SHARE:
        raise FrequencyError(
            f"the bars have no regular step: only {multiples.mean():.0%} of the steps are whole multiples of the "
            f"commonest step {step_text(step)} (steps found: {_found_text(found)}); pass bars of one size, e.g. "
            "daily closes")
    _refuse_mixed(stamps, buckets, step, found)
    weekends = trades_weekends(stamps)
    calendar = _calendar(stamps, step, weekends)
    return Frequency(name=_name(step, weekends), step=step, calendar=calendar, bars=len(stamps),
                     bars_per_year=_bars_per_year(stamps, step, calendar), steps_found=found)


def require_daily_bars(frequency: Frequency, label: str = "this series") -> Frequency:
    """``frequency`` when it is daily or business-daily, else :class:`UnsupportedFrequencyError`."""
    if not frequency.is_daily:
        raise UnsupportedFrequencyError(frequency, label)
    return frequency


def step_text(step: pd.Timedelta) -> str:
    """``1d``, ``7d``, ``1h``, ``5min``, ``30s``; ``~1mo`` for the monthly bucket."""
    if step == _MONTH:
        return "~1mo"
    seconds = int(step.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{step.total_seconds():g}s"


# ---------------------------------------------------------------------- the steps
def _bucketed(steps: pd.TimedeltaIndex) -> pd.TimedeltaIndex:
    """Steps with every 27-32 day step counted as one month."""
    monthly = (steps >= pd.Timedelta(days=27)) & (steps <= pd.Timedelta(days=32))
    return pd.to_timedelta(np.where(monthly, _MONTH.value, steps.as_unit("ns").asi8), unit="ns")


def _regular_step(buckets: pd.TimedeltaIndex) -> pd.Timedelta:
    """The commonest step (the smaller one on a tie)."""
    counts = pd.Series(buckets.asi8).value_counts()
    best = counts[counts == counts.max()].index.min()
    return pd.Timedelta(int(best), unit="ns")


def _is_multiple(buckets: pd.TimedeltaIndex, step: pd.Timedelta) -> np.ndarray:
    if step == _MONTH:
        return (buckets.asi8 % _MONTH.value == 0) | (buckets > _MONTH)
    return buckets.asi8 % step.value == 0


def _steps_found(buckets: pd.TimedeltaIndex) -> dict[str, int]:
    counts = pd.Series(buckets.asi8).value_counts().sort_values(ascending=False, kind="stable")
    return {step_text(pd.Timedelta(int(v), unit="ns")): int(n) for v, n in counts.head(STEPS_SHOWN).items()}


def _found_text(found: dict[str, int]) -> str:
    return ", ".join(f"{step} ×{count:,}" for step, count in found.items())


def _refuse_mixed(stamps: pd.DatetimeIndex, buckets: pd.TimedeltaIndex, step: pd.Timedelta,
                  found: dict[str, int]) -> None:
    """Every stretch of the series must have the same regular step (daily history then hourly bars does not)."""
    n_stretches = min(STRETCHES, len(buckets) // STRETCH_STEPS)
    if n_stretches < 2:
        return
    bounds = np.linspace(0, len(buckets), n_stretches + 1).astype(int)
    stretch_steps = [_regular_step(buckets[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    if len(set(stretch_steps)) == 1:
        return
    parts = []
    for (a, b), s in zip(zip(bounds[:-1], bounds[1:]), stretch_steps):
        if parts and parts[-1][2] == s:
            parts[-1] = (parts[-1][0], b, s)
        else:
            parts.append((a, b, s))
    where = "; ".join(f"{_iso(stamps[a])}..{_iso(stamps[b])} mostly {step_text(s)}" for a, b, s in parts)
    raise FrequencyError(f"the series mixes bar frequencies ({where}; steps found: {_found_text(found)}); pass "
                         "bars of one size throughout, e.g. resample to daily closes")


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.isoformat(sep=" ") if stamp != stamp.normalize() else stamp.date().isoformat()


# ---------------------------------------------------------------------- naming and annualising
def _name(step: pd.Timedelta, weekends: bool) -> str:
    if step == _DAY:
        return "daily" if weekends else "business-daily"
    if step == pd.Timedelta(days=7):
        return "weekly"
    if step == _MONTH:
        return "monthly"
    seconds = int(step.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}-day"
    if seconds == 3600:
        return "hourly"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}-hour"
    if seconds % 60 == 0:
        return f"{seconds // 60}-minute"
    return f"{step.total_seconds():g}-second"


def _calendar(stamps: pd.DatetimeIndex, step: pd.Timedelta, weekends: bool) -> str:
    if step > _DAY:
        return "periodic"
    if weekends:
        return "24/7"
    if step >= _DAY:
        return "weekdays"
    times_of_day = len(np.unique(stamps.asi8 - stamps.normalize().asi8))
    return "24/5" if times_of_day * step / pd.Timedelta(hours=1) >= ROUND_THE_CLOCK_HOURS else "sessions"


def _bars_per_year(stamps: pd.DatetimeIndex, step: pd.Timedelta, calendar: str) -> float:
    """Bars in a year of this series: trading days × bars per day for daily and intraday bars."""
    if step == _MONTH:
        return 12.0
    if step >= _DAY:
        days = _TRADING_DAYS[calendar] if step == _DAY else 365.25 / (step / _DAY)   # weekly: 52.2
        return float(days)
    if calendar in ("24/7", "24/5"):
        per_day = _DAY / step
    else:  # sessions: the bars of a typical trading day (yfinance's 1h US bars: 7, 09:30 .. 15:30)
        per_day = float(pd.Series(stamps.normalize()).value_counts().median())
    return float(_TRADING_DAYS[calendar] * per_day)


# ---------------------------------------------------------------------- bars offered to a model
def check_fits_calendar(timestamps: pd.DatetimeIndex, calendar: str, label: str = "the data") -> None:
    """Refuse bars that a model of daily bars on ``calendar`` cannot take, naming what was found.

    Weekly or intraday bars are not daily bars even when their steps fit the allowed gaps (a weekly step
    equals five business days); a 7-day-week series (crypto) is not a business-day series, and a weekday
    series leaves holes in a model that trades every day. Too few bars to tell pass (other checks count rows).
    """
    from helpers.calendar import is_every_day, weekend_share

    stamps = pd.DatetimeIndex(timestamps).dropna().unique()
    if len(stamps) < MIN_BARS:
        return
    frequency = infer_frequency(stamps)
    if not frequency.is_daily:
        raise FrequencyError(f"{label} has {frequency.describe()}; the model was trained on daily bars "
                             f"({calendar} calendar): pass daily prices of the series")
    every_day = is_every_day(calendar)
    if frequency.calendar == "24/7" and not every_day:
        share = weekend_share(stamps)
        raise FrequencyError(f"{label} trades 7 days a week ({share:.0%} of its dates fall on a weekend, e.g. "
                             f"crypto) but the model was trained on the {calendar} calendar (weekdays): pass "
                             "prices of the kind of series the model was trained on, or train a model on this one")
    if every_day and frequency.calendar != "24/7" and len(stamps) >= 2 * 7:
        raise FrequencyError(f"{label} has no weekend bars but the model was trained on a series that trades every "
                             "day (e.g. crypto): pass prices of the kind of series the model was trained on")


def _what_to_do(frequency: Frequency) -> str:
    if frequency.is_intraday:
        return ("resample to daily bars, e.g. prices.resample('1D').agg({'open': 'first', 'high': 'max', "
                "'low': 'min', 'close': 'last', 'volume': 'sum'}).dropna(), or wait for intraday support")
    return "pass daily prices of the same series (weekly and monthly bars are not supported yet)"
