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

The series runs at its own frequency: :func:`require_supported_frequency` accepts daily, business-daily,
weekly, monthly, hourly, N-hour and N-minute bars (later steps read ``bars_per_year``, the season and the future
timestamps from the :class:`Frequency`) and refuses, early and clearly, steps no later step is built for
(seconds, N-day steps other than one day or a week).
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


SUPPORTED = "daily, business-daily, weekly, monthly, hourly, N-hour or N-minute bars"


class FrequencyError(ValueError):
    """The series' frequency cannot be inferred, mixes frequencies, or is not one this version runs."""


class UnsupportedFrequencyError(FrequencyError):
    """A regular frequency no later step is built for (seconds, N-day steps other than 1 or 7 days)."""

    def __init__(self, frequency: "Frequency", label: str):
        self.frequency = frequency
        super().__init__(
            f"{label} has {frequency.describe()}; this version runs {SUPPORTED}: "
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
    session: tuple[str, str] | None = None   # sessions only: the usual first and last bar time, ("09:30", "15:30")

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
                "steps_found": dict(self.steps_found),
                **({"session": {"first_bar": self.session[0], "last_bar": self.session[1]}} if self.session else {})}

    def kind_text(self) -> str:
        """``business-daily bars, weekdays (step 1d)``: the kind of bars without their count."""
        trading = "" if self.calendar == "periodic" else f", {self.calendar}"
        return f"{self.name} bars{trading} (step {step_text(self.step)})"

    @property
    def season(self) -> int:
        """Bars in one natural cycle, the seasonal naive's period: a week of daily bars (5 business days, 7 for a
        24/7 series), a year of weekly (52) or monthly (12) bars, a day of intraday bars (24 hourly bars around
        the clock, one session's bars for an exchange: 7 hourly or 78 five-minute bars on XNYS)."""
        if self.name == "business-daily":
            return 5
        if self.name == "daily":
            return 7
        if self.name == "weekly":
            return 52
        if self.name == "monthly":
            return 12
        if not self.is_intraday:
            return max(1, round(7 * _DAY / self.step))
        if self.session is not None:
            first, last = (pd.Timedelta(f"{t}:00") for t in self.session)
            return int((last - first) / self.step) + 1
        return max(1, round(_DAY / self.step))

    @property
    def bar_word(self) -> str:
        """``day`` for daily bars, ``week``, ``month``, else ``bar`` (an hour or 5 minutes is one bar)."""
        return {"daily": "day", "business-daily": "day", "weekly": "week", "monthly": "month"}.get(self.name, "bar")


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
                     bars_per_year=_bars_per_year(stamps, step, calendar), steps_found=found,
                     session=_session(stamps) if calendar == "sessions" else None)


def is_supported(frequency: Frequency) -> bool:
    """Daily, business-daily, weekly, monthly, or intraday bars of whole minutes (hourly, N-hour, N-minute)."""
    if frequency.is_daily or frequency.name in ("weekly", "monthly"):
        return True
    seconds = frequency.step.total_seconds()
    return frequency.is_intraday and seconds >= 60 and seconds % 60 == 0


def require_supported_frequency(frequency: Frequency, label: str = "this series") -> Frequency:
    """``frequency`` when :func:`is_supported`, else :class:`UnsupportedFrequencyError`."""
    if not is_supported(frequency):
        raise UnsupportedFrequencyError(frequency, label)
    return frequency


def frequency_from_dict(data: dict[str, Any] | None) -> Frequency | None:
    """The :class:`Frequency` of :meth:`Frequency.to_dict` (a data report or a manifest), or None."""
    if not isinstance(data, dict) or "step_seconds" not in data:
        return None
    session = data.get("session")
    return Frequency(name=str(data["name"]), step=pd.Timedelta(seconds=float(data["step_seconds"])),
                     calendar=str(data["calendar"]), bars=int(data.get("bars", 0)),
                     bars_per_year=float(data["bars_per_year"]), steps_found=dict(data.get("steps_found", {})),
                     session=(str(session["first_bar"]), str(session["last_bar"])) if session else None)


def step_text(step: pd.Timedelta) -> str:
    """``1d``, ``7d``, ``1h``, ``5min``, ``30s``; ``~1mo`` for the monthly bucket."""
    if step == _MONTH:
        return "~1mo"
    seconds = int(step.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{step.total_seconds():g}s"


def bar_word(dates: pd.DatetimeIndex | pd.Series) -> str:
    """What one row of ``dates`` is called in a sentence: ``day`` for daily bars (and too few dates to tell),
    ``week``, ``month``, else ``bar`` (an hour or five minutes)."""
    try:
        return infer_frequency(dates).bar_word
    except FrequencyError:
        return "day"


def has_time_of_day(*stamps: Any) -> bool:
    """Whether any of ``stamps`` (indexes, series, lists) is not at midnight: the series has intraday bars."""
    for values in stamps:
        index = pd.DatetimeIndex(pd.Series(values).dropna())
        if len(index) and (index != index.normalize()).any():
            return True
    return False


def bar_kind(dates: Any) -> str:
    """``daily``, ``weekly``, ``monthly``, ``hourly``, ``5-minute``... for a series at ``dates``, for titles such
    as "daily prices" or "hourly returns"; ``""`` when they cannot tell (not timestamps, too few, irregular)."""
    try:
        name = infer_frequency(pd.DatetimeIndex(dates)).name
    except (TypeError, ValueError):      # FrequencyError is a ValueError
        return ""
    return "daily" if name == "business-daily" else name


def stamp_format(*stamps: pd.DatetimeIndex | pd.Series) -> str:
    """The strftime pattern that keeps every one of ``stamps``: ``%Y-%m-%d`` when all fall at midnight (daily
    bars), else with the time of day, so intraday bars stay distinct in every CSV and JSON file (the midnight
    bar of an hourly series included: ``2024-01-01 00:00:00``)."""
    return "%Y-%m-%d %H:%M:%S" if has_time_of_day(*stamps) else "%Y-%m-%d"


def volatility_windows(frequency: dict[str, Any] | None) -> tuple[tuple[int, int], str, float]:
    """Rolling-volatility windows, their unit and bars per year for a series' frequency (``Frequency.to_dict()``;
    None: daily): a month and a quarter of trading days (21, 63), a quarter and a year of weeks (13, 52), a
    day and a week of intraday bars (24 and 168 hourly bars around the clock)."""
    found = frequency_from_dict(frequency)
    if found is None or found.is_daily:
        return (21, 63), "day", (found.bars_per_year if found else 252.0)
    if found.name == "weekly":
        return (13, 52), "week", found.bars_per_year
    if found.name == "monthly":
        return (3, 12), "month", found.bars_per_year
    week = 7 if found.calendar == "24/7" else 5
    return (found.season, week * found.season), "bar", found.bars_per_year


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
    where = "; ".join(f"{_iso(stamps[a], stamps)}..{_iso(stamps[b], stamps)} mostly {step_text(s)}"
                      for a, b, s in parts)
    raise FrequencyError(f"the series mixes bar frequencies ({where}; steps found: {_found_text(found)}); pass "
                         "bars of one size throughout, e.g. resample to daily closes")


def iso_stamp(when: Any, of: Any = None) -> str | None:
    """``2024-03-01`` for a daily bar, ``2024-03-01 10:30:00`` for an intraday bar; None for a missing one.
    The one way every file (CSV, JSON, manifest, data report) writes a bar's timestamp.

    ``of``: the timestamps of the series the bar belongs to, or whether that series is intraday. When any of them
    has a time of day (or ``of`` is True) every bar keeps its time, midnight too (``2024-01-01 00:00:00``, as
    :func:`stamp_format` writes it), so one file never mixes dates with timestamps. Without ``of`` only the bar
    itself is looked at."""
    if when is None or (not isinstance(when, (list, tuple)) and pd.isna(when)):
        return None
    stamp = pd.Timestamp(when)
    intraday = of if isinstance(of, (bool, np.bool_)) else (of is not None and has_time_of_day(of))
    if stamp != stamp.normalize() or intraday:
        return stamp.strftime("%Y-%m-%d %H:%M:%S")
    return stamp.date().isoformat()


_iso = iso_stamp


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


def _session(stamps: pd.DatetimeIndex) -> tuple[str, str]:
    """The usual first and last bar time of a trading day (the commonest, so early closes do not count)."""
    day = pd.Series(stamps.asi8 - stamps.normalize().asi8, index=stamps.normalize())
    first = day.groupby(level=0).min().mode().iloc[0]
    last = day.groupby(level=0).max().mode().iloc[0]
    return tuple(_clock(pd.Timedelta(int(v), unit="ns")) for v in (first, last))  # type: ignore[return-value]


def _clock(offset: pd.Timedelta) -> str:
    seconds = int(offset.total_seconds())
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _bars_per_year(stamps: pd.DatetimeIndex, step: pd.Timedelta, calendar: str) -> float:
    """Bars in a year of this series: trading days × bars per day for daily and intraday bars."""
    if step == _MONTH:
        return 12.0
    if step >= _DAY:
        days = _TRADING_DAYS[calendar] if step == _DAY else 365.25 / (step / _DAY)   # weekly: 52.2
        return float(days)
    if calendar in ("24/7", "24/5"):
        per_day = _DAY / step
    else:  # sessions: the bars of a full session (yfinance's 1h US bars: 7, 09:30 .. 15:30), early closes aside
        first, last = (pd.Timedelta(f"{t}:00") for t in _session(stamps))
        per_day = float(int((last - first) / step) + 1)
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


def check_same_frequency(timestamps: pd.DatetimeIndex, model_frequency: dict[str, Any] | Frequency,
                         label: str = "the data") -> None:
    """Refuse bars of another frequency than the model's, naming both: weekly or 7-day (crypto) bars offered to
    a business-daily model, hourly bars to a 5-minute model, a session series to a 24/7 one.

    The step must be the same; so must the kind of trading time (24/7, weekdays, 24/5, sessions), except that a
    stretch shorter than two weeks cannot show whether weekends trade. Too few bars to tell pass (other checks
    count rows); mixed or irregular bars raise :class:`FrequencyError` as :func:`infer_frequency` does.
    """
    model = model_frequency if isinstance(model_frequency, Frequency) else frequency_from_dict(model_frequency)
    stamps = pd.DatetimeIndex(timestamps).dropna().unique()
    if model is None or len(stamps) < MIN_BARS:
        return
    found = infer_frequency(stamps)
    same_step = found.step == model.step
    same_time = found.calendar == model.calendar
    if not same_time and (stamps.max() - stamps.min()) < pd.Timedelta(days=14):
        weekend_only = {found.calendar, model.calendar} <= {"24/7", "weekdays"} or \
            {found.calendar, model.calendar} <= {"24/7", "24/5"}
        same_time = weekend_only
    if same_step and same_time:
        return
    raise FrequencyError(f"{label} has {found.describe()}, but the model was trained on {model.kind_text()}: "
                         "pass bars of the model's frequency, or train a model on this series")


def _what_to_do(frequency: Frequency) -> str:
    if frequency.is_intraday:
        return ("resample to whole minutes, e.g. prices.resample('1min').agg({'open': 'first', 'high': 'max', "
                "'low': 'min', 'close': 'last', 'volume': 'sum'}).dropna()")
    return ("resample to daily or weekly bars, e.g. prices.resample('W-FRI').agg({'open': 'first', 'high': 'max', "
            "'low': 'min', 'close': 'last', 'volume': 'sum'}).dropna()")
