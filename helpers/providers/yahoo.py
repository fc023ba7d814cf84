"""Yahoo Finance daily bars through yfinance, with its quirks turned into the canonical frame or a typed error.

yfinance (0.2.5x to 1.x) rarely raises: a failed download usually comes back as an empty frame while the reason is
logged to the ``yfinance`` logger (1.x) or stored in ``yfinance.shared._ERRORS`` (0.2.x). This module listens to
both while it downloads, so it can tell a network failure (retried with exponential backoff, then
:class:`NetworkError`) from a rate limit (retried, then :class:`RateLimitError`), an unknown symbol
(:class:`UnknownTickerError`) and a range without rows (:class:`EmptyDownloadError`).

Other quirks handled here:

- ``yf.download`` returns MultiIndex ``(Price, Ticker)`` columns even for one ticker (``(Ticker, Price)`` with
  ``group_by='ticker'``), flat columns in some versions; both are flattened here, without relying on the
  ``multi_level_index`` keyword existing.
- The index may be tz-aware in the exchange's timezone. A daily bar is labelled with its local date, so the
  timezone is dropped without conversion: a bar stamped 2024-03-01 00:00-05:00 stays 2024-03-01.
- yfinance's ``end`` is exclusive; ``fetch``'s ``end`` is inclusive (one day is added).
- Without ``start`` yfinance fetches only the last month; ``period='max'`` is passed instead.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
import time
import warnings
from typing import Any, Callable

import numpy as np
import pandas as pd

from helpers.providers.base import (
    DataSourceError,
    EmptyDownloadError,
    NetworkError,
    RateLimitError,
    UnknownTickerError,
    offline_options,
)

SOURCE = "yfinance"
log = logging.getLogger(__name__)

_PRICE_NAMES = {"open": "open", "high": "high", "low": "low", "close": "close", "adj close": "adj_close",
                "adj_close": "adj_close", "adjclose": "adj_close", "volume": "volume"}

# Phrases by which yfinance and its HTTP stacks (requests, curl_cffi) report an unreachable network.
_NETWORK_PATTERN = re.compile(
    r"could not resolve host|failed to perform|name or service not known|temporary failure in name resolution"
    r"|nodename nor servname|getaddrinfo failed|network is unreachable|no route to host|connection (?:refused|"
    r"reset|aborted|error)|connecterror|connectionerror|dnserror|max retries exceeded|failed to establish"
    r"|timed out|timeout|sslerror|ssl error|certificate verify failed|curl: \(\d+\)|remote end closed"
    r"|couldn't connect|could not connect",
    re.IGNORECASE)
_RATE_LIMIT_PATTERN = re.compile(r"too many requests|rate limit|yfratelimiterror|\b429\b", re.IGNORECASE)
_UNKNOWN_PATTERN = re.compile(
    r"no timezone found|symbol may be delisted|quote not found|not found for symbol|invalid ticker|no such ticker",
    re.IGNORECASE)


_KIND_TEXT = {"network": "network failure", "rate_limit": "rate limit"}


class _TransientFailure(Exception):
    """Internal: one attempt failed in a way worth retrying (network or rate limit)."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind          # "network" or "rate_limit"
        self.detail = detail


def fetch(ticker: str, *, start: str | None, end: str | None, auto_adjust: bool = True, yf: Any = None,
          retries: int = 3, backoff_s: float = 1.0, sleep: Callable[[float], None] = time.sleep,
          interval: str = "1d", today: dt.date | None = None) -> pd.DataFrame:
    """Bars of ``interval`` (``1d`` daily, ``1h``, ``5m``, ``1wk``...) of ``ticker`` from ``start`` to ``end`` (ISO
    dates, both inclusive; None = unbounded; an intraday interval without ``start`` asks for all Yahoo keeps).
    Intraday bars keep their local time of day. A ``start`` older than Yahoo keeps bars of ``interval``
    (:data:`helpers.config.YAHOO_INTERVALS`: 7 days of 1m, 60 of 5m, 730 of 1h) is refused before any download.

    Returns the canonical prices frame (``open, high, low, close, volume``, float64, tz-naive ``date`` index,
    sorted by date). ``auto_adjust=True`` asks yfinance for split- and dividend-adjusted OHLC. Should an
    ``Adj Close`` column come back anyway (older yfinance versions ignore the flag in some paths), close is
    taken from it and open/high/low are scaled by the same ``Adj Close / Close`` ratio, which is what yfinance's
    own adjustment does. With ``auto_adjust=False`` prices stay as traded and ``Adj Close`` is dropped.

    A network failure or rate limit is retried ``retries`` times (so at most ``1 + retries`` downloads), waiting
    ``backoff_s * 2**k`` seconds before retry ``k`` (``sleep`` is injectable for tests), then raises
    :class:`NetworkError` or :class:`RateLimitError`. ``yf`` replaces the yfinance module (tests pass a fake).
    """
    _check_interval_history(ticker, interval, start, today or dt.date.today())
    yf = _import_yfinance() if yf is None else yf
    attempts = 1 + max(0, int(retries))
    for attempt in range(attempts):
        try:
            return _download_once(yf, ticker, start=start, end=end, auto_adjust=auto_adjust, interval=interval)
        except _TransientFailure as failure:
            if attempt + 1 < attempts:
                wait = backoff_s * 2 ** attempt
                # INFO: the caller says in one line what the failure means for the run (data.py's chain)
                log.info("yfinance: %s for %s (%s); retry %d of %d in %.1f s", _KIND_TEXT[failure.kind],
                         ticker, failure.detail, attempt + 1, attempts - 1, wait)
                sleep(wait)
                continue
            tried = f"{attempts} attempt{'s' if attempts > 1 else ''}"
            if failure.kind == "rate_limit":
                raise RateLimitError(SOURCE, f"{failure.detail}; {tried}") from None
            raise NetworkError(SOURCE, f"{failure.detail}; {tried}", interval) from None
    raise AssertionError("unreachable")  # pragma: no cover


def provenance(auto_adjust: bool = True, yf: Any = None, interval: str = "1d") -> str:
    """One line saying where the prices came from, for PriceData.meta and the report."""
    version = getattr(yf, "__version__", None) or _installed_version()
    adjusted = ("split- and dividend-adjusted OHLC" if auto_adjust else "prices as traded (not adjusted)")
    bars = "daily" if interval == "1d" else interval
    return f"Yahoo Finance {bars} bars via yfinance {version} ({adjusted})"


# ---------------------------------------------------------------------- one download
def _check_interval_history(ticker: str, interval: str, start: str | None, today: dt.date) -> None:
    """Refuse a start older than Yahoo keeps bars of ``interval``, naming the limit and what to do."""
    from helpers.config import YAHOO_INTERVALS

    if interval not in YAHOO_INTERVALS:
        raise DataSourceError(f"yfinance has no interval {interval!r}: use one of {', '.join(YAHOO_INTERVALS)}")
    days = YAHOO_INTERVALS[interval]
    if days is None or start is None:
        return
    earliest = today - dt.timedelta(days=days - 1)
    if dt.date.fromisoformat(str(start)[:10]) < earliest:
        raise DataSourceError(f"yfinance keeps {interval} bars of {ticker} for the last {days} days only: start "
                              f"{start} is before {earliest.isoformat()}; set start on or after it, leave it empty "
                              f"(all that is kept), or pass a CSV of {interval} bars")


def _download_once(yf: Any, ticker: str, *, start: str | None, end: str | None, auto_adjust: bool,
                   interval: str = "1d") -> pd.DataFrame:
    """One ``yf.download`` call turned into the canonical frame, or a typed error / _TransientFailure."""
    from helpers.config import YAHOO_INTERVALS

    kwargs: dict[str, Any] = {"start": start, "end": _exclusive_end(end), "interval": interval,
                              "auto_adjust": auto_adjust, "progress": False}
    if start is None:
        days = YAHOO_INTERVALS.get(interval)
        kwargs["period"] = "max" if days is None else f"{days}d"
    messages = _ErrorCapture()
    with messages, warnings.catch_warnings():
        # yfinance's own pandas deprecation warnings are not the user's to fix
        warnings.filterwarnings("ignore", module=r"yfinance(\..*)?$")
        try:
            raw = yf.download(ticker, **kwargs)
        except Exception as exc:  # yfinance raises rarely; classify what it does raise
            kind = _classify_exception(exc, yf)
            if kind:
                raise _TransientFailure(kind, _describe(exc)) from None
            raise DataSourceError(f"yfinance failed for {ticker!r}: {_describe(exc)}; run again, or "
                                  f"{offline_options(interval)}") from exc
    texts = messages.texts + _shared_errors(yf, ticker)
    frame = _to_canonical(raw, ticker, auto_adjust)
    if frame is not None and not frame.empty:
        return frame
    joined = " | ".join(texts)
    if _RATE_LIMIT_PATTERN.search(joined):
        raise _TransientFailure("rate_limit", _first_matching(texts, _RATE_LIMIT_PATTERN))
    if _NETWORK_PATTERN.search(joined):
        raise _TransientFailure("network", _first_matching(texts, _NETWORK_PATTERN))
    if _UNKNOWN_PATTERN.search(joined) or (start is None and end is None):
        detail = _first_matching(texts, _UNKNOWN_PATTERN) if texts else "no rows at all for the full history"
        raise UnknownTickerError(ticker, SOURCE, detail, interval)
    raise EmptyDownloadError(ticker, SOURCE, start, end, interval)


def _exclusive_end(end: str | None) -> str | None:
    """yfinance's ``end`` excludes that day; ours includes it."""
    if end is None:
        return None
    return (dt.date.fromisoformat(str(end)[:10]) + dt.timedelta(days=1)).isoformat()


def _to_canonical(raw: Any, ticker: str, auto_adjust: bool) -> pd.DataFrame | None:
    """Flatten yfinance's columns, adjust when asked, and label bars by their local date."""
    if raw is None or not isinstance(raw, pd.DataFrame) or raw.empty:
        return None
    frame = _flatten_columns(raw, ticker)
    if "close" not in frame.columns:
        raise DataSourceError(f"yfinance returned {ticker!r} without a Close column (columns: "
                              f"{list(map(str, raw.columns))}); upgrade yfinance or use another source")
    frame = frame.apply(pd.to_numeric, errors="coerce").astype("float64")
    if "adj_close" in frame.columns:
        if auto_adjust:
            frame = _adjust_by_adj_close(frame)
        frame = frame.drop(columns="adj_close")
    frame = frame.dropna(how="all")
    if frame["close"].notna().sum() == 0:
        return None
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)  # keep the local wall-clock date: no shift across midnight
    frame.index = _dated_unless_intraday(index).as_unit("ns").rename("date")
    frame = frame.sort_index(kind="stable")
    return frame[[c for c in ("open", "high", "low", "close", "volume") if c in frame.columns]]


def _dated_unless_intraday(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Daily and longer bars dated at midnight; intraday bars (``1h``, ``5m``) keep their local time of day."""
    from helpers.providers.csvfile import _dated_at_midnight_unless_intraday

    return _dated_at_midnight_unless_intraday(index)


def _flatten_columns(raw: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Price-name columns in lower case, from flat, (Price, Ticker) or (Ticker, Price) columns."""
    frame = raw.copy()
    if isinstance(frame.columns, pd.MultiIndex):
        price_level = _price_level(frame.columns)
        other_levels = [i for i in range(frame.columns.nlevels) if i != price_level]
        if other_levels:
            tickers = {str(v).upper() for lvl in other_levels for v in frame.columns.get_level_values(lvl)}
            if len(tickers) > 1 and ticker.upper() in tickers:
                keep = [all(str(col[i]).upper() == ticker.upper() for i in other_levels) for col in frame.columns]
                frame = frame.loc[:, keep]
        frame.columns = [str(col[price_level]) for col in frame.columns]
    renamed = {}
    for col in frame.columns:
        key = _PRICE_NAMES.get(str(col).strip().lower())
        if key:
            renamed[col] = key
    frame = frame[list(renamed)].rename(columns=renamed)
    return frame.loc[:, ~frame.columns.duplicated()]


def _price_level(columns: pd.MultiIndex) -> int:
    """Which level of yfinance's MultiIndex holds Open/High/Low/Close (its position varies with group_by)."""
    for level in range(columns.nlevels):
        names = {str(v).strip().lower() for v in columns.get_level_values(level)}
        if "close" in names:
            return level
    return 0


def _adjust_by_adj_close(frame: pd.DataFrame) -> pd.DataFrame:
    """close := Adj Close; open/high/low scaled by Adj Close / Close (volume unchanged), as yfinance does."""
    frame = frame.copy()
    ratio = frame["adj_close"] / frame["close"]
    ratio = ratio.where(np.isfinite(ratio))
    # close * ratio equals Adj Close up to rounding; scaling all four alike keeps high == close exact.
    for col in ("open", "high", "low", "close"):
        if col in frame.columns:
            frame[col] = frame[col] * ratio
    return frame


# ---------------------------------------------------------------------- reading yfinance's failures
class _ErrorCapture(logging.Handler):
    """Collects WARNING+ messages of the ``yfinance`` logger while a download runs (1.x reports failures there).

    They are kept from the user's log meanwhile (offline, yfinance logs five or six ERROR lines per attempt,
    "possibly delisted" among them): the failure is classified here and reported once by the caller.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[tuple[int, str]] = []
        self._propagate = True

    @property
    def texts(self) -> list[str]:
        """Messages, errors before warnings (1.x warns about cookies before it logs the real failure)."""
        return [text for _, text in sorted(self.records, key=lambda r: -r[0]) if text]

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.records.append((record.levelno, record.getMessage().strip()))
        except Exception:  # a malformed record must not break the download
            pass

    def __enter__(self) -> "_ErrorCapture":
        logger = logging.getLogger("yfinance")
        logger.addHandler(self)
        self._propagate, logger.propagate = logger.propagate, False
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("yfinance")
        logger.removeHandler(self)
        logger.propagate = self._propagate


def _shared_errors(yf: Any, ticker: str) -> list[str]:
    """yfinance 0.2.x keeps per-ticker failures in ``yfinance.shared._ERRORS`` (1.x leaves it empty)."""
    shared = getattr(yf, "shared", None)
    if shared is None and getattr(yf, "__name__", "") == "yfinance":
        shared = sys.modules.get("yfinance.shared")
    errors = getattr(shared, "_ERRORS", None)
    if not isinstance(errors, dict):
        return []
    found = errors.get(ticker.upper(), errors.get(ticker))
    return [str(found)] if found else []


def _classify_exception(exc: BaseException, yf: Any) -> str | None:
    """'rate_limit', 'network' or None for an exception raised out of ``yf.download``."""
    exceptions = getattr(yf, "exceptions", None)
    rate_limit_type = getattr(exceptions, "YFRateLimitError", None)
    if (isinstance(rate_limit_type, type) and isinstance(exc, rate_limit_type)) \
            or type(exc).__name__ == "YFRateLimitError" or _RATE_LIMIT_PATTERN.search(str(exc)):
        return "rate_limit"
    # requests' and curl_cffi's exceptions derive from OSError; socket errors and timeouts are OSErrors too.
    if isinstance(exc, (OSError, ConnectionError, TimeoutError)):
        return "network"
    names = " ".join(t.__name__ for t in type(exc).__mro__)
    if re.search(r"Connection|Timeout|DNS|Curl|RequestException", names) \
            or _NETWORK_PATTERN.search(str(exc)):
        return "network"
    return None


def _describe(exc: BaseException) -> str:
    text = _shorten(str(exc).strip().splitlines()[0]) if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _first_matching(texts: list[str], pattern: re.Pattern[str]) -> str:
    for text in texts:
        if pattern.search(text):
            return _shorten(text)
    return _shorten(texts[0]) if texts else ""


def _shorten(text: str, limit: int = 200) -> str:
    """One line without yfinance's "['AAPL']: " prefix and curl's documentation pointer."""
    text = " ".join(text.split())
    text = re.sub(r"^\[[^\]]*\]:\s*", "", text)
    text = re.sub(r"\s*See https?://\S+ first for more details\.?", "", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _import_yfinance() -> Any:
    try:
        import yfinance
    except ImportError as exc:  # pragma: no cover - yfinance is a dependency
        raise DataSourceError("yfinance is not installed: `pip install yfinance`, or use a CSV (source='csv'), "
                              "the embedded sample (source='sample') or synthetic data (source='synthetic')") from exc
    return yfinance


def _installed_version() -> str:
    try:
        from importlib.metadata import version

        return version("yfinance")
    except Exception:
        return "(version unknown)"
