"""A fake of the yfinance module with its real quirks, so data tests never touch the network.

What it copies from yfinance 1.x (checked against the installed 1.7 source):

- ``download`` returns MultiIndex columns ``(Price, Ticker)`` even for one ticker, sorted by price name; flat
  columns only with ``multi_level_index=False``; ``Adj Close`` only when ``auto_adjust=False``.
- A tz-aware index in the exchange's timezone (America/New_York), bars stamped at local midnight, named ``Date``.
- ``end`` is exclusive; without ``start``/``end``/``period`` only the last month comes back.
- Failures are not raised: an unknown ticker gives an empty frame (with the usual columns) and an error line
  ``['XYZ']: possibly delisted; no timezone found`` on the ``yfinance`` logger and in ``shared._ERRORS``; a range
  without rows says ``no price data found``; a dead network logs ``DNSError('Failed to perform, curl: (6) Could
  not resolve host ...')``; a rate limit logs ``YFRateLimitError('Too Many Requests. ...')``. The ``*_raise``
  behaviours raise instead, as older versions and other code paths do. ``report="print"`` prints the error
  line to stdout instead of logging it, leaving nothing to inspect but the empty frame.

Every call is counted (``calls`` keeps its keyword arguments).
"""

from __future__ import annotations

import logging
import zlib
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

BEHAVIOURS = ("ok", "network_log", "network_raise", "rate_limit_log", "rate_limit_raise")
PRICE_NAMES = ("Adj Close", "Close", "High", "Low", "Open", "Volume")
DEFAULT_PERIOD = "1mo if start & end None"
DNS_MESSAGE = ("Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com. "
               "See https://curl.se/libcurl/c/libcurl-errors.html first for more details.")


class YFRateLimitError(Exception):
    """Same name and message as ``yfinance.exceptions.YFRateLimitError``."""

    def __init__(self) -> None:
        super().__init__("Too Many Requests. Rate limited. Try after a while.")


class DNSError(OSError):
    """Like curl_cffi's DNSError (an OSError through requests-style ConnectionError)."""


class FakeYFinance:
    """Stands in for the ``yfinance`` module: ``download``, ``exceptions``, ``shared``, ``__version__``.

    ``behaviour`` applies to every call; ``failures`` (a list of behaviours) applies to the first calls, one
    each, before ``behaviour`` takes over, to test retries. ``known``: tickers that exist; ``first``/``last``:
    the history each has.
    """

    __version__ = "1.7.0 (fake)"

    def __init__(self, *, behaviour: str = "ok", failures: list[str] | None = None,
                 known: tuple[str, ...] = ("AAPL", "MSFT", "SPY"), first: str = "2020-01-01",
                 last: str = "2024-12-31", report: str = "log", tz: str = "America/New_York"):
        for b in [behaviour, *(failures or [])]:
            if b not in BEHAVIOURS:
                raise ValueError(f"unknown fake behaviour {b!r}: one of {BEHAVIOURS}")
        self.behaviour = behaviour
        self.failures = list(failures or [])
        self.known = {t.upper() for t in known}
        self.first, self.last = pd.Timestamp(first), pd.Timestamp(last)
        self.report = report
        self.tz = tz
        self.calls: list[dict[str, Any]] = []
        self.exceptions = SimpleNamespace(YFRateLimitError=YFRateLimitError)
        self.shared = SimpleNamespace(_ERRORS={})
        self.logger = logging.getLogger("yfinance")

    @property
    def call_count(self) -> int:
        return len(self.calls)

    def download(self, tickers: str, start: Any = None, end: Any = None, actions: bool = False,
                 threads: bool = True, ignore_tz: Any = None, group_by: str = "column", auto_adjust: bool = True,
                 back_adjust: bool = False, repair: bool = False, keepna: bool = False, progress: bool = True,
                 period: str = DEFAULT_PERIOD, interval: str = "1d", prepost: bool = False,
                 rounding: bool = False, timeout: float = 10, session: Any = None,
                 multi_level_index: bool = True) -> pd.DataFrame:
        self.calls.append({"tickers": tickers, "start": start, "end": end, "period": period,
                           "interval": interval, "auto_adjust": auto_adjust, "progress": progress})
        self.shared._ERRORS.clear()
        ticker = str(tickers).strip().upper()
        behaviour = self.failures.pop(0) if self.failures else self.behaviour

        if behaviour == "network_raise":
            raise DNSError(DNS_MESSAGE)
        if behaviour == "rate_limit_raise":
            raise YFRateLimitError()
        if behaviour == "network_log":
            return self._fail(ticker, auto_adjust, f"DNSError('{DNS_MESSAGE}')", multi_level_index)
        if behaviour == "rate_limit_log":
            return self._fail(ticker, auto_adjust, "YFRateLimitError('Too Many Requests. Rate limited. Try after "
                                                   "a while.')", multi_level_index)
        if ticker not in self.known:
            return self._fail(ticker, auto_adjust, "possibly delisted; no timezone found", multi_level_index)

        dates = self._dates(start, end, period)
        if len(dates) == 0:
            span = f"(1d {start} -> {end})"
            return self._fail(ticker, auto_adjust, f"possibly delisted; no price data found  {span}",
                              multi_level_index)
        if interval != "1d":
            return self._intraday(ticker, dates, interval, multi_level_index)
        return self._frame(ticker, dates, auto_adjust, multi_level_index)

    # ------------------------------------------------------------------ shapes
    def _intraday(self, ticker: str, days: pd.DatetimeIndex, interval: str, multi: bool) -> pd.DataFrame:
        """Bars of a regular US session (09:30 ..) every ``interval`` ('1h', '5m'), stamped in local time, as
        yfinance's intraday downloads are; named ``Datetime``."""
        step = pd.Timedelta(interval.replace("m", "min"))
        per_day = int(pd.Timedelta(hours=6, minutes=30) / step)
        stamps = pd.DatetimeIndex([d + pd.Timedelta("09:30:00") + step * i for d in days for i in range(per_day)])
        rng = np.random.default_rng(zlib.crc32(ticker.encode()))
        close = 100.0 * np.exp(np.cumsum(0.002 * rng.standard_normal(len(stamps))))
        data = pd.DataFrame({"Close": close, "High": close * 1.001, "Low": close * 0.999, "Open": close,
                             "Volume": rng.integers(1000, 5000, len(stamps)).astype("int64")},
                            index=pd.DatetimeIndex(stamps.to_numpy(), name="Datetime").tz_localize(self.tz))
        return self._shape(data, ticker, multi)
    def _dates(self, start: Any, end: Any, period: str) -> pd.DatetimeIndex:
        days = pd.bdate_range(self.first, self.last)
        if start is None and end is None and period == DEFAULT_PERIOD:
            return days[days > self.last - pd.Timedelta(days=31)]  # yfinance's quiet default: one month
        if start is not None:
            days = days[days >= pd.Timestamp(start)]
        if end is not None:
            days = days[days < pd.Timestamp(end)]  # end is exclusive in yfinance
        return days

    def _frame(self, ticker: str, dates: pd.DatetimeIndex, auto_adjust: bool, multi: bool) -> pd.DataFrame:
        all_days = pd.bdate_range(self.first, self.last)
        rng = np.random.default_rng(zlib.crc32(ticker.encode()))
        n = len(all_days)
        close = 100.0 * np.exp(np.cumsum(0.01 * rng.standard_normal(n)))
        open_ = close * np.exp(0.005 * rng.standard_normal(n))
        high = np.maximum(open_, close) * (1 + 0.01 * rng.random(n))
        low = np.minimum(open_, close) * (1 - 0.01 * rng.random(n))
        volume = rng.integers(1_000_000, 5_000_000, n).astype("int64")
        adj_factor = np.linspace(0.8, 1.0, n)  # dividends: older prices adjusted down more
        full = pd.DataFrame({"Open": open_, "High": high, "Low": low, "Close": close,
                             "Adj Close": close * adj_factor, "Volume": volume}, index=all_days)
        data = full.loc[dates].copy()
        if auto_adjust:
            ratio = data["Adj Close"] / data["Close"]
            for col in ("Open", "High", "Low", "Close"):
                data[col] = data[col] * ratio
            data = data.drop(columns="Adj Close")
        data.index = pd.DatetimeIndex(data.index.to_numpy(), name="Date").tz_localize(self.tz)
        data = data[[c for c in PRICE_NAMES if c in data.columns]]
        return self._shape(data, ticker, multi)

    def _shape(self, data: pd.DataFrame, ticker: str, multi: bool) -> pd.DataFrame:
        if not multi:
            data.columns.name = None
            return data
        data.columns = pd.MultiIndex.from_product([list(data.columns), [ticker]], names=["Price", "Ticker"])
        return data

    def _fail(self, ticker: str, auto_adjust: bool, error: str, multi: bool) -> pd.DataFrame:
        line = f"['{ticker}']: {error}"
        if self.report == "print":
            print("\n1 Failed download:")
            print(line)
        else:
            self.shared._ERRORS[ticker] = error
            self.logger.error("\n1 Failed download:")
            self.logger.error(line)
        # yfinance 1.7's empty result carries all six price columns whatever auto_adjust was.
        empty = pd.DataFrame(columns=list(PRICE_NAMES), index=pd.DatetimeIndex([], name="Date"), dtype="float64")
        return self._shape(empty, ticker, multi)
