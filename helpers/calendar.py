"""The trading calendar of a daily series: which future dates a forecast is for.

A forecast "5 days ahead" of a Friday close is for the next five *trading* days. Stocks trade on weekdays
(``business``); crypto trades every day (``daily``). The calendar is read from the data itself: a series
with weekend rows trades at weekends. Exchange holidays are NOT modelled: a business-day forecast may carry
the date of a holiday (e.g. 25 December); the forecast then belongs to the next session.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Calendar = Literal["business", "daily"]
CALENDARS = ("business", "daily")

# Share of weekend rows above which a series counts as trading every day. A stray weekend row in stock data
# (a vendor's correction) must not turn its calendar daily; same rule as helpers.artifacts.series_calendar.
WEEKEND_SHARE_DAILY = 0.1


def infer_calendar(dates: pd.DatetimeIndex | pd.Series | np.ndarray) -> Calendar:
    """``'daily'`` when weekends are traded (more than 10% of rows fall on Saturday or Sunday, e.g. crypto),
    else ``'business'`` (weekdays only, e.g. stocks and indices)."""
    index = pd.DatetimeIndex(dates)
    if len(index) == 0:
        raise ValueError("cannot infer a trading calendar from no dates: load prices first")
    weekend_share = float(np.mean(index.day_of_week >= 5))
    return "daily" if weekend_share > WEEKEND_SHARE_DAILY else "business"


def future_dates(last_date: pd.Timestamp | str, n: int, calendar: Calendar) -> pd.DatetimeIndex:
    """The ``n`` trading dates after ``last_date`` (exclusive), midnight-normalised and tz-naive.

    ``business``: Monday to Friday, weekends skipped (holidays are not modelled); ``daily``: every day.
    """
    if calendar not in CALENDARS:
        raise ValueError(f"unknown trading calendar {calendar!r}: use one of {', '.join(CALENDARS)} "
                         "(infer_calendar(dates) tells which a series follows)")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a whole number of future dates >= 1, got {n!r}")
    last = pd.Timestamp(last_date)
    if last.tzinfo is not None:
        last = last.tz_localize(None)
    last = last.normalize()
    offset = pd.offsets.BDay(1) if calendar == "business" else pd.offsets.Day(1)
    # BDay from a Saturday lands on Monday, from a Friday on Monday: start after last_date either way.
    dates = pd.date_range(start=last + offset, periods=int(n), freq=offset)
    return pd.DatetimeIndex(dates.as_unit("ns"), name="date", freq=None)
