"""Where a run's prices come from: the source table, the ``auto`` chain, and the on-disk cache.

``load_prices(config)`` returns :class:`PriceData`: the prices frame as the source delivered it (sorted by
date; duplicates and gaps are kept for :func:`helpers.validation.clean_prices` to repair and report) plus
``meta``, which says which source delivered, how (``meta['steps']``, the chain as it happened) and what went
wrong on the way (``meta['warnings']``).

Sources (``config.source``):

- ``yfinance``: Yahoo Finance (:mod:`helpers.providers.yahoo`); cache first, then the network.
- ``alphavantage``: Alpha Vantage (:mod:`helpers.providers.alphavantage`, needs ``ALPHAVANTAGE_API_KEY``).
- ``csv``: ``config.csv_path`` (:mod:`helpers.providers.csvfile`).
- ``sample``: the embedded AAPL sample (:mod:`helpers.providers.sample`).
- ``synthetic``: seeded GBM with regime changes, seed ``config.seed`` (:mod:`helpers.providers.synthetic`).
- ``auto``: the cache, then yfinance, then Alpha Vantage when its key is set, then an older cache file of the
  same ticker that overlaps the range, then the sample when the ticker is AAPL. Every step is logged.

The cache (default ``data/cache/``, ignored by git) holds one parquet file plus one JSON metadata file per
request, keyed by source, ticker, interval, start, end and auto_adjust, both written atomically. A second run
with the same request reads it without touching the network. When the network is down, a cache file of the
same ticker whose range overlaps the request is used instead, with a warning. A failed fetch never writes,
overwrites or deletes a cache file.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from helpers.atomic import atomic_write_json, atomic_write_parquet, read_json
from helpers.calendar import choose_calendar, is_every_day
from helpers.config import DAILY_ONLY_SOURCES, RunConfig
from helpers.frequency import MIN_BARS, FrequencyError, infer_frequency, require_supported_frequency
from helpers.providers.base import (  # re-exported: callers catch these from helpers.data
    OFFLINE_OPTIONS,
    CredentialsError,
    CsvFormatError,
    DataSourceError,
    EmptyDownloadError,
    NetworkError,
    RateLimitError,
    UnknownTickerError,
)
from helpers.runfolder import PROJECT_ROOT

__all__ = [
    "PriceData", "load_prices", "PriceCache", "CacheKey", "DEFAULT_CACHE_DIR", "PROVIDER_MODULES",
    "DataSourceError", "UnknownTickerError", "EmptyDownloadError", "NetworkError", "RateLimitError",
    "CredentialsError", "CsvFormatError", "OFFLINE_OPTIONS",
]

log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = PROJECT_ROOT / "data" / "cache"
ALPHAVANTAGE_KEY_ENV = "ALPHAVANTAGE_API_KEY"

# Each source's provider module, imported only when used (alphavantage pulls in requests, yfinance is heavy).
PROVIDER_MODULES: dict[str, str] = {
    "yfinance": "helpers.providers.yahoo",
    "alphavantage": "helpers.providers.alphavantage",
    "csv": "helpers.providers.csvfile",
    "sample": "helpers.providers.sample",
    "synthetic": "helpers.providers.synthetic",
}
NETWORK_SOURCES = ("yfinance", "alphavantage")
CACHE_FORMAT_VERSION = 1


@dataclass
class PriceData:
    """Prices of one ticker and where they came from.

    ``prices``: ``(days, columns)`` frame, ``date`` index, float columns from ``open, high, low, close, volume``.
    ``meta``: ticker, source (the one that delivered), provenance, fetched_at (ISO), start/end (first and last
    date in the frame), rows, auto_adjust, synthetic, frequency (:meth:`helpers.frequency.Frequency.to_dict`,
    None when too few rows show it), calendar (:func:`helpers.calendar.choose_calendar`: ``XNYS``,
    ``business``, ``daily``...), steps (the source chain as it happened, with what a CSV was read as and
    the frequency), warnings, from_cache and cache_file, requested_start/requested_end. All JSON-serialisable.
    """

    prices: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------- the chain's log
class SourceLog:
    """The source chain as it happens: each step and warning is logged and kept for ``meta``."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.warnings: list[str] = []

    def step(self, text: str) -> None:
        self.steps.append(text)
        log.info("%s", text)

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.steps.append(f"WARNING: {text}")
        log.warning("%s", text)


@dataclass
class _Delivery:
    """What one source delivered (internal)."""

    frame: pd.DataFrame
    source: str
    provenance: str
    fetched_at: str
    from_cache: bool = False
    cache_file: str | None = None
    synthetic: bool = False


# ---------------------------------------------------------------------- public entry point
def load_prices(config: RunConfig, *, cache_dir: Path | None = None, yf: Any = None, refresh: bool = False,
                sleep: Callable[[float], None] = time.sleep) -> PriceData:
    """The prices ``config`` asks for (ticker, source, csv_path, start/end inclusive, auto_adjust).

    ``cache_dir`` defaults to ``data/cache``; ``yf`` replaces the yfinance module (tests inject a fake);
    ``refresh=True`` skips reading the exact cache entry (a fresh download still replaces it on success);
    ``sleep`` is the wait between network retries. Raises a :class:`DataSourceError` subclass whose message
    says what to do (its notes list the source chain), or :class:`helpers.frequency.FrequencyError` for bars
    whose frequency is mixed, irregular or not supported (seconds; see :func:`helpers.frequency.is_supported`).
    """
    cache = PriceCache(DEFAULT_CACHE_DIR if cache_dir is None else cache_dir)
    chain = SourceLog()
    chain.step(f"request: {config.ticker} from {config.start or 'the beginning'} to {config.end or 'the latest'}, "
               f"source={config.source}, auto_adjust={config.auto_adjust}")
    try:
        if config.source == "auto":
            delivery = _load_auto(config, cache, chain, yf=yf, refresh=refresh, sleep=sleep)
        elif config.source in NETWORK_SOURCES:
            delivery = _load_networked(config.source, config, cache, chain, yf=yf, refresh=refresh, sleep=sleep)
        else:
            delivery = _load_local(config.source, config, chain)
    except DataSourceError as exc:
        exc.add_note("source chain: " + " -> ".join(chain.steps))
        raise
    return _price_data(delivery, config, chain)


# ---------------------------------------------------------------------- per source kind
def _load_local(source: str, config: RunConfig, chain: SourceLog) -> _Delivery:
    """csv, sample or synthetic: no network, no cache."""
    delivery = _fetch(source, config)
    if source == "sample":
        chain.step(f"sample: used embedded AAPL sample ({len(delivery.frame)} rows)")
    else:
        chain.step(f"{source}: {len(delivery.frame)} rows from {delivery.provenance}")
    return delivery


def _load_networked(source: str, config: RunConfig, cache: PriceCache, chain: SourceLog, *, yf: Any,
                    refresh: bool, sleep: Callable[[float], None]) -> _Delivery:
    """Exact cache entry, else the network (cached on success), else an overlapping cache file on network failure."""
    key = CacheKey.for_config(source, config)
    if not refresh:
        hit = _read_cache(cache, key, chain)
        if hit is not None:
            return hit
    try:
        return _fetch_and_cache(source, config, cache, key, chain, yf=yf, sleep=sleep)
    except DataSourceError as exc:
        chain.step(f"{source}: {_failure_phrase(exc)} ({_reason(exc)})")
        if not isinstance(exc, (NetworkError, RateLimitError)):
            raise
        fallback = _covering_cache(cache, config, chain, failed=source)
        if fallback is not None:
            return fallback
        chain.step("cache: no file of this ticker overlaps the requested range")
        raise


SOURCE_NAMES = {"yfinance": "Yahoo Finance", "alphavantage": "Alpha Vantage"}


def _load_auto(config: RunConfig, cache: PriceCache, chain: SourceLog, *, yf: Any, refresh: bool,
               sleep: Callable[[float], None]) -> _Delivery:
    """Cache, yfinance, Alpha Vantage (key set), an overlapping cache file, then the AAPL sample."""
    if not refresh:
        for source in NETWORK_SOURCES:
            hit = _read_cache(cache, CacheKey.for_config(source, config), chain, quiet_miss=True)
            if hit is not None:
                return hit
        chain.step("cache: miss")
    failures: list[DataSourceError] = []
    for source in NETWORK_SOURCES:
        if source in DAILY_ONLY_SOURCES and config.interval != "1d":
            chain.step(f"{source}: skipped (daily bars only; interval {config.interval} asked for)")
            continue
        if source == "alphavantage" and not os.environ.get(ALPHAVANTAGE_KEY_ENV, "").strip():
            chain.step(f"alphavantage: skipped ({ALPHAVANTAGE_KEY_ENV} not set)")
            continue
        try:
            return _fetch_and_cache(source, config, cache, CacheKey.for_config(source, config), chain,
                                    yf=yf, sleep=sleep)
        except DataSourceError as exc:
            failures.append(exc)
            chain.step(f"{source}: {_failure_phrase(exc)} ({_reason(exc)})")
            if isinstance(exc, (NetworkError, RateLimitError)):   # the one line a user sees per fallback step
                log.warning("%s unreachable (%s): trying the next source", SOURCE_NAMES.get(source, source),
                            _failure_phrase(exc))
    if any(isinstance(exc, (NetworkError, RateLimitError)) for exc in failures):
        fallback = _covering_cache(cache, config, chain, failed="the network sources")
        if fallback is not None:
            return fallback
        chain.step("cache: no file of this ticker overlaps the requested range")
    sample = _try_sample(config, chain) if config.interval == "1d" else None
    if sample is not None:
        return sample
    raise _most_telling(failures, config)


def _try_sample(config: RunConfig, chain: SourceLog) -> _Delivery | None:
    """The embedded sample as the last resort of ``auto``, only for its own ticker and only if rows remain."""
    from helpers.providers import sample

    if config.ticker.strip().upper() != sample.SAMPLE_TICKER:
        chain.step(f"sample: not used (it holds only {sample.SAMPLE_TICKER}, not {config.ticker})")
        return None
    try:
        delivery = _fetch("sample", config)
    except DataSourceError as exc:
        chain.step(f"sample: not used ({exc})")
        return None
    chain.step(f"sample: used embedded AAPL sample ({len(delivery.frame)} rows)")
    chain.warn(f"no live or cached data for {config.ticker}: using the embedded sample "
               f"({sample.SAMPLE_FIRST}..{sample.SAMPLE_LAST}), not current prices")
    return delivery


def _most_telling(failures: list[DataSourceError], config: RunConfig) -> DataSourceError:
    """The error to raise when ``auto`` found nothing: a verdict about the ticker beats a network complaint."""
    for kind in (UnknownTickerError, EmptyDownloadError, CredentialsError, RateLimitError, NetworkError):
        for exc in failures:
            if isinstance(exc, kind):
                return exc
    if failures:
        return failures[0]
    return NetworkError("any source", f"nothing delivered {config.ticker}")


def _reason(exc: DataSourceError, limit: int = 200) -> str:
    """The first part of an error message, without the advice every error repeats (kept short for steps)."""
    text = " ".join(str(exc).split())
    cut = min((i for i in (text.find(m) for m in _ADVICE_MARKERS) if i > 0), default=len(text))
    text = text[:cut]
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ADVICE_MARKERS = (": check", ": wait", ": widen", ": use ", ": get ", ": run again")


def _failure_phrase(exc: DataSourceError) -> str:
    if isinstance(exc, RateLimitError):
        return "rate-limited"
    if isinstance(exc, NetworkError):
        return "network down"
    if isinstance(exc, UnknownTickerError):
        return "unknown ticker"
    if isinstance(exc, EmptyDownloadError):
        return "no rows in range"
    if isinstance(exc, CredentialsError):
        return "credentials problem"
    return "failed"


# ---------------------------------------------------------------------- fetching
def _fetch(source: str, config: RunConfig, *, yf: Any = None,
           sleep: Callable[[float], None] = time.sleep) -> _Delivery:
    """Call the source's provider for ``config``'s request; the frame is filtered to start..end (inclusive)."""
    module = importlib.import_module(PROVIDER_MODULES[source])
    common = {"start": config.start, "end": config.end, "auto_adjust": config.auto_adjust}
    synthetic = False
    if source == "yfinance":
        frame = module.fetch(config.ticker, yf=yf, sleep=sleep, interval=config.interval, **common)
        provenance = module.provenance(config.auto_adjust, yf=yf, interval=config.interval)
    elif source == "alphavantage":
        frame = module.fetch(config.ticker, **common)
        provenance = _alphavantage_provenance(frame)
    elif source == "csv":
        frame = module.fetch(config.ticker, path=config.csv_path, date_format=config.csv_date_format,
                             dayfirst=config.csv_dayfirst, decimal=config.csv_decimal, **common)
        csv_format = frame.attrs.get("csv_format") or {}
        provenance = module.provenance(config.csv_path, config.auto_adjust, columns=csv_format.get("columns"),
                                       csv_format=csv_format)
    elif source == "sample":
        frame = module.fetch(config.ticker, **common)
        provenance = module.provenance(config.auto_adjust)
    elif source == "synthetic":
        frame = module.fetch(config.ticker, seed=config.seed, **common)
        provenance = module.provenance(config.seed)
        synthetic = True
    else:  # pragma: no cover - RunConfig validates source
        raise DataSourceError(f"unknown source {source!r}: use one of {', '.join(PROVIDER_MODULES)} or 'auto'")
    frame = _between(frame, config.start, config.end)
    if frame.empty:
        raise EmptyDownloadError(config.ticker, source, config.start, config.end)
    return _Delivery(frame=frame, source=source, provenance=provenance, fetched_at=_now_iso(),
                     synthetic=synthetic)


def _fetch_and_cache(source: str, config: RunConfig, cache: PriceCache, key: "CacheKey", chain: SourceLog, *,
                     yf: Any, sleep: Callable[[float], None]) -> _Delivery:
    """Download from a network source and store the result; a cache write failure is only a warning."""
    delivery = _fetch(source, config, yf=yf, sleep=sleep)
    chain.step(f"{source}: downloaded {len(delivery.frame)} rows")
    try:
        path = cache.write(key, delivery.frame, provenance=delivery.provenance, fetched_at=delivery.fetched_at)
        chain.step(f"cache: stored {path.name}")
    except Exception as exc:  # a full disk or read-only folder must not lose data already downloaded
        chain.warn(f"cache: could not store the download ({type(exc).__name__}: {exc}); the data is used anyway")
    return delivery


def _alphavantage_provenance(frame: pd.DataFrame) -> str:
    attrs = getattr(frame, "attrs", {}) or {}
    function = attrs.get("function", "daily series")
    adjusted = attrs.get("adjusted")
    tail = "" if adjusted is None else (" (split- and dividend-adjusted)" if adjusted else " (NOT adjusted)")
    return f"Alpha Vantage {function}{tail}"


def _between(frame: pd.DataFrame, start: str | None, end: str | None) -> pd.DataFrame:
    """Rows with start <= date <= end; either bound may be None."""
    mask = pd.Series(True, index=frame.index)
    if start is not None:
        mask &= frame.index >= pd.Timestamp(start)
    if end is not None:   # the whole end date, whatever the time of day of its bars
        mask &= frame.index < pd.Timestamp(end) + pd.Timedelta(days=1)
    return frame.loc[mask.to_numpy()]


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------- the cache
@dataclass(frozen=True)
class CacheKey:
    """What identifies one cached download."""

    source: str
    ticker: str
    interval: str
    start: str | None
    end: str | None
    auto_adjust: bool

    @classmethod
    def for_config(cls, source: str, config: RunConfig) -> "CacheKey":
        return cls(source, config.ticker.strip().upper(), config.interval, config.start, config.end,
                   config.auto_adjust)

    @property
    def stem(self) -> str:
        """``yfinance__AAPL__1d__2020-01-01__latest__adj``: readable, one file name per request."""
        return "__".join([self.source, _safe_ticker(self.ticker), self.interval, self.start or "first",
                          self.end or "latest", "adj" if self.auto_adjust else "raw"])


def _safe_ticker(ticker: str) -> str:
    return re.sub(r"[^A-Za-z0-9.^=-]", "_", ticker.upper())


class PriceCache:
    """Downloaded prices on disk: ``<stem>.parquet`` plus ``<stem>.json`` (source, fetched_at, range, rows...).

    The JSON is written after the parquet and is what marks an entry complete; both writes are atomic, so an
    interrupted write leaves the previous entry intact.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def paths(self, key: CacheKey) -> tuple[Path, Path]:
        return self.root / f"{key.stem}.parquet", self.root / f"{key.stem}.json"

    def write(self, key: CacheKey, frame: pd.DataFrame, *, provenance: str, fetched_at: str) -> Path:
        data_path, meta_path = self.paths(key)
        meta = {
            "format_version": CACHE_FORMAT_VERSION, "source": key.source, "ticker": key.ticker,
            "interval": key.interval, "auto_adjust": key.auto_adjust, "fetched_at": fetched_at,
            "requested": {"start": key.start, "end": key.end},
            "range": {"first": _iso(frame.index.min(), frame.index), "last": _iso(frame.index.max(), frame.index)},
            "rows": int(len(frame)), "columns": [str(c) for c in frame.columns], "provenance": provenance,
        }
        atomic_write_parquet(data_path, frame)
        atomic_write_json(meta_path, meta)
        return data_path

    def read(self, key: CacheKey) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        """The entry for ``key``, or None when absent. A damaged entry raises ValueError saying what is wrong."""
        data_path, meta_path = self.paths(key)
        if not meta_path.exists() or not data_path.exists():
            return None
        return self._load(data_path, meta_path)

    def entries(self, ticker: str, interval: str, auto_adjust: bool,
                sources: tuple[str, ...] = NETWORK_SOURCES) -> list[Path]:
        """Metadata files of every cached request for this ticker, interval and adjustment."""
        if not self.root.is_dir():
            return []
        tail = f"__{_safe_ticker(ticker)}__{interval}__"
        adj = "__adj.json" if auto_adjust else "__raw.json"
        return sorted(p for p in self.root.glob("*.json")
                      if p.name.split("__", 1)[0] in sources and tail in p.name and p.name.endswith(adj))

    def _load(self, data_path: Path, meta_path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
        try:
            meta = read_json(meta_path)
            frame = pd.read_parquet(data_path)
        except Exception as exc:
            raise ValueError(f"cache entry {data_path.name} is unreadable ({type(exc).__name__}: {exc}); "
                             f"delete {data_path} and {meta_path} to download again") from None
        if not isinstance(meta, dict) or meta.get("rows") != len(frame) or "close" not in frame.columns:
            raise ValueError(f"cache entry {data_path.name} does not match its metadata {meta_path.name}; "
                             f"delete both to download again")
        frame.index = pd.DatetimeIndex(frame.index, name="date")
        return frame, meta


def _read_cache(cache: PriceCache, key: CacheKey, chain: SourceLog, *, quiet_miss: bool = False) -> _Delivery | None:
    """The exact cache entry as a delivery, or None (a damaged entry is reported and left in place)."""
    try:
        found = cache.read(key)
    except ValueError as exc:
        chain.warn(f"cache: {exc}")
        return None
    if found is None:
        if not quiet_miss:
            chain.step("cache: miss")
        return None
    frame, meta = found
    data_path, _ = cache.paths(key)
    chain.step(f"cache: hit {data_path.name} ({meta.get('rows')} rows, fetched {meta.get('fetched_at')})")
    return _Delivery(frame=frame, source=meta.get("source", key.source),
                     provenance=f"{meta.get('provenance', key.source)}; read from cache {data_path.name}",
                     fetched_at=meta.get("fetched_at", ""), from_cache=True, cache_file=str(data_path))


def _covering_cache(cache: PriceCache, config: RunConfig, chain: SourceLog, *, failed: str) -> _Delivery | None:
    """The cached file of this ticker with the most rows inside the requested range, used with a warning."""
    best: tuple[int, pd.DataFrame, dict[str, Any], Path] | None = None
    for meta_path in cache.entries(config.ticker, config.interval, config.auto_adjust):
        data_path = meta_path.with_suffix(".parquet")
        try:
            frame, meta = cache._load(data_path, meta_path)
        except ValueError as exc:
            chain.step(f"cache: skipped {exc}")
            continue
        inside = _between(frame, config.start, config.end)
        if len(inside) and (best is None or len(inside) > best[0]):
            best = (len(inside), inside, meta, data_path)
    if best is None:
        return None
    rows, frame, meta, data_path = best
    chain.warn(f"{failed} unreachable: using cached {data_path.name} fetched {meta.get('fetched_at')} "
               f"({rows} rows {_iso(frame.index.min(), frame.index)}..{_iso(frame.index.max(), frame.index)}; "
               f"requested "
               f"{config.start or 'the beginning'}..{config.end or 'the latest'}); it may be out of date")
    return _Delivery(frame=frame, source=meta.get("source", "cache"),
                     provenance=f"{meta.get('provenance', '')}; read from cache {data_path.name} (network down)",
                     fetched_at=meta.get("fetched_at", ""), from_cache=True, cache_file=str(data_path))


# ---------------------------------------------------------------------- assembling the result
def _price_data(delivery: _Delivery, config: RunConfig, chain: SourceLog) -> PriceData:
    frame = delivery.frame
    origin = f"CSV {config.csv_path}" if delivery.source == "csv" else delivery.source
    frequency = _series_frequency(frame, f"{config.ticker} from {origin}", chain)
    exchange_ticker = None if delivery.synthetic else config.ticker   # simulated prices trade on no exchange
    # A CSV's ticker is only a label (often the file name): a bare symbol there names no exchange.
    bare_symbols = None if delivery.source == "csv" else "XNYS"
    calendar = choose_calendar(frame.index, exchange_ticker, config.trading_calendar, bare_symbols=bare_symbols)
    chain.step(f"calendar: {calendar} ({_calendar_reason(calendar, config)})")
    meta = {
        "ticker": config.ticker,
        "source": delivery.source,
        "provenance": delivery.provenance,
        "fetched_at": delivery.fetched_at,
        "start": _iso(frame.index.min(), frame.index),
        "end": _iso(frame.index.max(), frame.index),
        "rows": int(len(frame)),
        "auto_adjust": bool(config.auto_adjust),
        "synthetic": bool(delivery.synthetic),
        "from_cache": bool(delivery.from_cache),
        "cache_file": delivery.cache_file,
        "requested_start": config.start,
        "requested_end": config.end,
        "frequency": frequency,
        "calendar": calendar,
        "steps": list(chain.steps),
        "warnings": list(chain.warnings),
    }
    json.dumps(meta)  # meta goes into data_report.json: fail here, not in the notebook, if it is not plain JSON
    return PriceData(prices=frame, meta=meta)


def _series_frequency(frame: pd.DataFrame, label: str, chain: SourceLog) -> dict[str, Any] | None:
    """The series' bar frequency as plain JSON, logged as a step; a frequency no later step is built for
    (seconds, odd N-day steps) is refused here, before any notebook works on it.

    A series too short to show its frequency passes with None (the history check refuses it with numbers).
    """
    try:
        frequency = infer_frequency(frame.index)
    except FrequencyError as err:
        if len(frame.index.unique()) >= MIN_BARS:
            raise FrequencyError(f"{label}: {err}") from None
        chain.step(f"frequency: not inferred ({err})")
        return None
    chain.step(f"frequency: {frequency.describe()}, about {frequency.bars_per_year:g} bars a year")
    require_supported_frequency(frequency, label)
    return frequency.to_dict()


def _calendar_reason(calendar: str, config: RunConfig) -> str:
    if config.trading_calendar != "auto":
        return "trading_calendar in the config"
    if is_every_day(calendar):
        return "the series trades at weekends"
    if calendar == "business":
        return ("weekdays, no exchange holidays known: set trading_calendar (e.g. XNYS) to name the exchange")
    return f"the exchange of {config.ticker}, with its holidays"


def _iso(value: Any, of: Any = None) -> str | None:
    """ISO date, with the time of day when the series ``of`` has one (intraday bars)."""
    from helpers.frequency import iso_stamp

    return iso_stamp(value, of)
