"""The trading calendar of a daily series: which days it trades, and which future dates a forecast is for.

A forecast "5 days ahead" of a Friday close is for the next five *trading* days. Three kinds of calendar:

- ``daily`` (alias ``24/7``): every day, e.g. crypto;
- ``business`` (alias ``weekdays``): Monday to Friday, holidays not known, e.g. FX or a series of unknown venue;
- an **exchange** by its ISO 10383 code (``XNYS`` New York, ``XLON`` London, ``XETR`` Xetra, ...): its real
  sessions, holidays skipped, from the ``exchange_calendars`` package.

Whether a series trades at weekends is read from the data (:func:`trades_weekends`, the one rule every module
uses); the exchange is chosen from the ticker (:func:`exchange_for_ticker`: a US symbol trades on XNYS, ``.L``
on XLON, ...) or named in the config (``trading_calendar``). ``business`` and ``daily`` stay valid names
because saved manifests store them.
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

Calendar = Literal["business", "daily"]
CALENDARS = ("business", "daily")
ALIASES = {"business": "business", "weekdays": "business", "daily": "daily", "24/7": "daily"}

# Share of weekend rows above which a series counts as trading every day. A stray weekend row in stock data
# (a vendor's correction) must not turn its calendar daily.
WEEKEND_SHARE_DAILY = 0.1

# Yahoo-style ticker suffixes and index symbols -> exchange (ISO 10383 MIC, as exchange_calendars names them).
SUFFIX_EXCHANGES = {
    ".L": "XLON", ".DE": "XETR", ".F": "XFRA", ".PA": "XPAR", ".AS": "XAMS", ".BR": "XBRU", ".MI": "XMIL",
    ".MC": "XMAD", ".SW": "XSWX", ".ST": "XSTO", ".OL": "XOSL", ".CO": "XCSE", ".HE": "XHEL", ".VI": "XWBO",
    ".LS": "XLIS", ".IR": "XDUB", ".TO": "XTSE", ".AX": "XASX", ".NZ": "XNZE", ".T": "XTKS", ".HK": "XHKG",
    ".SS": "XSHG", ".SZ": "XSHG", ".KS": "XKRX", ".BO": "XBOM", ".SA": "BVMF", ".MX": "XMEX", ".JO": "XJSE",
    ".SI": "XSES", ".TW": "XTAI",
}
INDEX_EXCHANGES = {
    "^GSPC": "XNYS", "^DJI": "XNYS", "^IXIC": "XNYS", "^NDX": "XNYS", "^RUT": "XNYS", "^VIX": "XNYS",
    "^NYA": "XNYS", "^FTSE": "XLON", "^GDAXI": "XETR", "^FCHI": "XPAR", "^N225": "XTKS", "^HSI": "XHKG",
    "^AEX": "XAMS", "^STOXX50E": "XETR", "^GSPTSE": "XTSE", "^AXJO": "XASX",
}
_CRYPTO = re.compile(r"^[A-Z0-9]{2,10}-(USD|USDT|USDC|EUR|GBP|BTC|ETH)$")
_US_SYMBOL = re.compile(r"^[A-Z][A-Z0-9]{0,5}([.-][A-Z])?$")


# ---------------------------------------------------------------------- reading the series
def weekend_share(dates: pd.DatetimeIndex | pd.Series | np.ndarray) -> float:
    """The share of ``dates`` that fall on a Saturday or Sunday."""
    index = pd.DatetimeIndex(dates)
    if len(index) == 0:
        raise ValueError("cannot tell the trading days from no dates: load prices first")
    return float(np.mean(index.day_of_week >= 5))


def trades_weekends(dates: pd.DatetimeIndex | pd.Series | np.ndarray) -> bool:
    """True when more than 10% of the dates fall on a Saturday or Sunday (crypto), so a few stray weekend
    rows in stock data do not count. The one weekend rule of the project (calendars, gaps, season length)."""
    return weekend_share(dates) > WEEKEND_SHARE_DAILY


def infer_calendar(dates: pd.DatetimeIndex | pd.Series | np.ndarray, ticker: str | None = None, *,
                   bare_symbols: str | None = "XNYS") -> str:
    """``'daily'`` when weekends are traded (:func:`trades_weekends`), else the ticker's exchange when
    ``ticker`` is given and known (``'XNYS'`` for AAPL, see :func:`exchange_for_ticker`), else ``'business'``."""
    if len(pd.DatetimeIndex(dates)) == 0:
        raise ValueError("cannot infer a trading calendar from no dates: load prices first")
    if trades_weekends(dates):
        return "daily"
    exchange = exchange_for_ticker(ticker, bare_symbols=bare_symbols) if ticker else None
    return exchange or "business"


def choose_calendar(dates: pd.DatetimeIndex, ticker: str | None = None, configured: str = "auto", *,
                    bare_symbols: str | None = "XNYS") -> str:
    """The calendar of a run: ``configured`` (RunConfig.trading_calendar) unless ``'auto'``, else inferred
    from the dates and the ticker. The name returned is what a manifest should record."""
    if configured and configured != "auto":
        return check_calendar_name(configured)
    return infer_calendar(dates, ticker, bare_symbols=bare_symbols)


def exchange_for_ticker(ticker: str | None, *, bare_symbols: str | None = "XNYS") -> str | None:
    """The exchange a ticker trades on, from its Yahoo-style form: a suffix (``.L``), a known index (``^GSPC``),
    else ``bare_symbols`` for a bare symbol (``AAPL``: Yahoo lists US shares without a suffix; pass None where a
    ticker is only a label, as for a CSV). None for crypto, FX (``EURUSD=X``), futures (``CL=F``) and
    anything unrecognised."""
    if not ticker:
        return None
    symbol = ticker.strip().upper()
    if symbol in INDEX_EXCHANGES:
        return INDEX_EXCHANGES[symbol]
    if symbol.startswith("^") or "=" in symbol or _CRYPTO.match(symbol):
        return None
    for suffix, exchange in SUFFIX_EXCHANGES.items():
        if symbol.endswith(suffix) and len(symbol) > len(suffix):
            return exchange
    return bare_symbols if _US_SYMBOL.match(symbol) else None


def is_every_day(calendar: str) -> bool:
    """True for calendars that trade at weekends (``daily``, ``24/7``)."""
    return ALIASES.get(calendar) == "daily"


def check_calendar_name(calendar: str) -> str:
    """``calendar`` when it is an alias or a known exchange code, else ValueError listing what is allowed."""
    if calendar in ALIASES:
        return calendar
    if isinstance(calendar, str) and re.fullmatch(r"[A-Z0-9]{3,5}", calendar) and calendar in _exchange_names():
        return calendar
    raise ValueError(f"unknown trading calendar {calendar!r}: use one of {', '.join(CALENDARS)}, 24/7, weekdays, "
                     "or an exchange code such as XNYS, XLON, XETR (infer_calendar(dates, ticker) tells which a "
                     "series follows)")


# ---------------------------------------------------------------------- future dates
def future_dates(last_date: pd.Timestamp | str, n: int, calendar: str) -> pd.DatetimeIndex:
    """The ``n`` trading dates after ``last_date`` (exclusive), midnight-normalised and tz-naive.

    ``business``: Monday to Friday (holidays not known); ``daily``: every day; an exchange code: its sessions,
    so no date is an exchange holiday (XNYS: 2024-12-24 is followed by 2024-12-26).
    """
    calendar = check_calendar_name(calendar)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a whole number of future dates >= 1, got {n!r}")
    last = pd.Timestamp(last_date)
    if last.tzinfo is not None:
        last = last.tz_localize(None)
    last = last.normalize()
    if calendar in ALIASES:
        offset = pd.offsets.BDay(1) if ALIASES[calendar] == "business" else pd.offsets.Day(1)
        # BDay from a Saturday lands on Monday, from a Friday on Monday: start after last_date either way.
        dates = pd.date_range(start=last + offset, periods=int(n), freq=offset)
    else:
        dates = _exchange_sessions_after(calendar, last, int(n))
    return pd.DatetimeIndex(pd.DatetimeIndex(dates).as_unit("ns"), name="date", freq=None)


def future_timestamps(last: pd.Timestamp | str, n: int, calendar: str,
                      frequency: dict[str, Any] | None = None) -> pd.DatetimeIndex:
    """The ``n`` bar timestamps after ``last`` at the series' frequency (``Frequency.to_dict()``; None: daily).

    Daily bars: :func:`future_dates` on ``calendar``, or on ``frequency['trading_calendar']`` when weekday bars
    name an exchange (its holidays are skipped even when the model's own calendar is plain business days). Weekly and monthly bars: the same weekday a week later,
    the same day of the month a month later. Intraday bars keep their time of day: a 24/7 series (crypto)
    steps ahead; a 24/5 series (FX) steps ahead and skips Saturdays and Sundays; a series of sessions
    continues inside the usual session (``frequency['session']``, first to last bar) and then opens the next
    trading day of ``frequency['trading_calendar']`` when it names an exchange, else of ``calendar`` (an exchange
    code skips its holidays; early closes are not known).
    """
    from helpers.frequency import frequency_from_dict

    found = frequency_from_dict(frequency)
    if found is None or found.is_daily:
        exchange = (frequency or {}).get("trading_calendar")
        if found is not None and found.calendar == "weekdays" and exchange and exchange not in ALIASES:
            calendar = exchange   # the exchange the data report named knows the holidays (no forecast on one)
        return future_dates(last, n, calendar)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a whole number of future bars >= 1, got {n!r}")
    last = pd.Timestamp(last)
    if last.tzinfo is not None:
        last = last.tz_localize(None)
    k = np.arange(1, int(n) + 1)
    if found.name == "monthly":
        month_end = last == last + pd.offsets.MonthEnd(0)
        stamps = [last + (pd.offsets.MonthEnd(int(i)) if month_end else pd.DateOffset(months=int(i))) for i in k]
    elif not found.is_intraday or found.calendar == "24/7":
        stamps = [last + found.step * int(i) for i in k]
    elif found.calendar == "24/5" or found.session is None:
        stamps, at = [], last
        while len(stamps) < n:
            at = at + found.step
            if at.day_of_week < 5:
                stamps.append(at)
    else:   # the exchange the data report named (XNYS...) knows the holidays; the model's calendar may not
        exchange = (frequency or {}).get("trading_calendar")
        days = exchange if exchange and exchange not in ALIASES else calendar
        stamps = _session_bars_after(last, int(n), found.step, found.session, days)
    return pd.DatetimeIndex(pd.DatetimeIndex(stamps).as_unit("ns"), name="date", freq=None)


def _session_bars_after(last: pd.Timestamp, n: int, step: pd.Timedelta, session: tuple[str, str],
                        calendar: str) -> list[pd.Timestamp]:
    """Bars ``step`` apart from the session's first to its last bar, on the trading days after ``last``."""
    first, final = (pd.Timedelta(f"{t}:00") for t in session)
    day = last.normalize()
    stamps = [t for t in (day + first + step * i for i in range(int((final - first) / step) + 1)) if t > last]
    days_needed = max(1, -(-(n - len(stamps)) // max(1, int((final - first) / step) + 1)))
    if len(stamps) < n:
        for next_day in future_dates(day, days_needed, calendar):
            stamps += [next_day + first + step * i for i in range(int((final - first) / step) + 1)]
    return stamps[:n]


def _exchange_sessions_after(exchange: str, last: pd.Timestamp, n: int) -> pd.DatetimeIndex:
    """The first ``n`` sessions of ``exchange`` after ``last``."""
    span = n * 2 + 15                       # calendar days that hold n sessions of any exchange
    while True:
        calendar = _exchange_calendar(exchange, last.year - 1, (last + pd.Timedelta(days=span)).year + 1)
        sessions = calendar.sessions_in_range(last + pd.Timedelta(days=1), last + pd.Timedelta(days=span))
        if len(sessions) >= n:
            return pd.DatetimeIndex(sessions[:n]).tz_localize(None) if sessions.tz else sessions[:n]
        span *= 2


@functools.lru_cache(maxsize=16)
def _exchange_calendar(exchange: str, first_year: int, last_year: int) -> Any:
    xcals = _exchange_calendars()
    try:
        with warnings.catch_warnings():   # exchange_calendars 4.13 trips pandas 3 deprecation warnings
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            return xcals.get_calendar(exchange, start=f"{first_year}-01-01", end=f"{last_year}-12-31")
    except ValueError as err:   # exchange_calendars' out-of-bounds errors are ValueErrors
        raise ValueError(f"the {exchange} calendar does not cover {first_year}..{last_year} ({err}); use the "
                         "calendar 'business' (weekdays) for these dates") from None


@functools.lru_cache(maxsize=1)
def _exchange_names() -> frozenset[str]:
    return frozenset(_exchange_calendars().get_calendar_names(include_aliases=False))


def _exchange_calendars() -> Any:
    try:
        import exchange_calendars
    except ImportError:  # pragma: no cover - a declared dependency
        raise ImportError("exchange calendars need the exchange_calendars package: `pip install exchange_calendars`"
                          " (or use the calendar 'business': weekdays, holidays not skipped)") from None
    return exchange_calendars
