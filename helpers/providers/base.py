"""What every provider shares: the errors a data source raises, and the ``fetch`` contract.

A provider module exposes::

    def fetch(ticker: str, *, start: str | None, end: str | None, auto_adjust: bool = True, **options) -> pd.DataFrame

returning the canonical prices frame (see ARCHITECTURE.md): a tz-naive, midnight-normalised, sorted, unique
``DatetimeIndex`` named ``date`` and lower-case float columns ``open, high, low, close, volume`` (``close``
required). It raises one of the errors below, never returns an empty frame, and never prints instead of raising.
Every message names the problem and what the user can do about it.
"""

from __future__ import annotations

OFFLINE_OPTIONS = ("use a CSV (source='csv', csv_path='prices.csv'), the embedded sample (source='sample'), "
                   "or synthetic data (source='synthetic')")


def offline_options(interval: str = "1d") -> str:
    """What to use instead of a network source for bars of ``interval``: the sample and synthetic data are daily
    only (the config refuses them with another interval), so for intraday or weekly bars a CSV of such bars, or
    daily bars offline."""
    if interval == "1d":
        return OFFLINE_OPTIONS
    return (f"use a CSV of {interval} bars (source='csv', csv_path='prices.csv'), or run on daily bars offline "
            "with interval='1d' and the embedded sample (source='sample') or synthetic data (source='synthetic')")


class DataSourceError(RuntimeError):
    """Base class: a data source could not deliver prices. The message says what to do."""


class UnknownTickerError(DataSourceError):
    def __init__(self, ticker: str, source: str, detail: str = "", interval: str = "1d"):
        self.ticker, self.source = ticker, source
        extra = f" ({detail})" if detail else ""
        super().__init__(f"{source} does not know the ticker {ticker!r}{extra}: check the symbol "
                         f"(e.g. 'AAPL', 'BTC-USD', '^GSPC'), or {offline_options(interval)}")


class EmptyDownloadError(DataSourceError):
    def __init__(self, ticker: str, source: str, start: str | None, end: str | None, interval: str = "1d"):
        self.ticker, self.source = ticker, source
        span = f"{start or 'the beginning'} to {end or 'today'}"
        super().__init__(f"{source} returned no rows for {ticker!r} from {span}: widen the date range, check the "
                         f"ticker, or {offline_options(interval)}")


class NetworkError(DataSourceError):
    def __init__(self, source: str, detail: str, interval: str = "1d"):
        self.source = source
        super().__init__(f"cannot reach {source} ({detail}): check the network, or {offline_options(interval)}")


class RateLimitError(DataSourceError):
    def __init__(self, source: str, detail: str = ""):
        self.source = source
        extra = f" ({detail})" if detail else ""
        super().__init__(f"{source} is rate-limiting requests{extra}: wait a minute and run again; a cached copy "
                         f"is used automatically when one exists")


class CredentialsError(DataSourceError):
    def __init__(self, source: str, detail: str):
        self.source = source
        super().__init__(f"{source}: {detail}")


class CsvFormatError(DataSourceError):
    def __init__(self, path: str, problem: str, hint: str = ""):
        self.path = path
        tail = f" {hint}" if hint else ""
        super().__init__(f"CSV {path}: {problem}.{tail}")
