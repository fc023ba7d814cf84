"""Alpha Vantage: daily prices for equities, crypto and FX pairs through its documented REST API.

A second network source behind the same ``fetch`` contract as Yahoo (see ``base.py``), so a run does not
depend on one vendor. One endpoint, https://www.alphavantage.co/query, answers every request; the
``function`` parameter picks the series:

- equities: ``TIME_SERIES_DAILY_ADJUSTED`` when ``auto_adjust`` (its ``5. adjusted close`` folds splits and
  dividends into past prices, which return-based targets need), else ``TIME_SERIES_DAILY``. The adjusted
  endpoint is premium for free keys: when Alpha Vantage refuses it as premium we fall back to
  ``TIME_SERIES_DAILY``, log a warning that prices are *not* adjusted (every split then shows as a fake
  crash), and record ``adjusted=False`` in ``frame.attrs``. We try the adjusted endpoint first, at the cost
  of one request of a free key's quota, because silently unadjusted prices are the worse failure.
  ``outputsize="full"`` (20+ years) is a premium feature too on current free keys; that refusal is raised
  as :class:`PremiumFeatureError` saying to pass ``outputsize="compact"`` (latest 100 trading days).
- crypto (``BTC-USD``): ``DIGITAL_CURRENCY_DAILY`` with ``symbol=BTC&market=USD`` (full history, no
  adjustment exists).
- FX (``EURUSD=X``, ``EUR-USD``, ``EUR/USD``, Yahoo's ``JPY=X`` meaning USD/JPY): ``FX_DAILY`` with
  ``from_symbol``/``to_symbol``; FX series have no volume column.

Alpha Vantage reports most failures as HTTP 200 with a JSON message instead of a series. They map to the
errors of ``base.py``: ``"Error Message"`` about the apikey -> :class:`CredentialsError`; ``"Invalid API
call"`` -> :class:`UnknownTickerError`; a ``"Note"``/``"Information"`` about call frequency ->
:class:`RateLimitError` (a burst limit is retried once after a pause; an exhausted daily quota is raised at
once as :class:`QuotaExhaustedError`, since no short wait lifts it). The API key travels only in the query
string: it is redacted from every message we raise or log, from exceptions we wrap (raised ``from None`` so
the original, which quotes the URL, is not printed), and from urllib3's request log lines.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import time
from typing import Any, Callable

import pandas as pd
import requests

from helpers.providers.base import (
    OFFLINE_OPTIONS,
    CredentialsError,
    DataSourceError,
    EmptyDownloadError,
    NetworkError,
    RateLimitError,
    UnknownTickerError,
)

logger = logging.getLogger(__name__)

SOURCE = "alphavantage"
API_URL = "https://www.alphavantage.co/query"
ENV_VAR = "ALPHAVANTAGE_API_KEY"
KEY_SIGNUP_URL = "https://www.alphavantage.co/support/#api-key"
PREMIUM_URL = "https://www.alphavantage.co/premium/"

KINDS = ("equity", "crypto", "fx")
DATATYPES = ("json", "csv")
OUTPUTSIZES = ("compact", "full")

EQUITY_ADJUSTED = "TIME_SERIES_DAILY_ADJUSTED"
EQUITY_UNADJUSTED = "TIME_SERIES_DAILY"
CRYPTO_DAILY = "DIGITAL_CURRENCY_DAILY"
FX_DAILY = "FX_DAILY"

REQUEST_TIMEOUT_S = 30.0
NETWORK_BACKOFF_S = 2.0          # doubled on each further network retry
BURST_BACKOFF_S = 5.0            # "1 request per second" bursts clear within seconds
PER_MINUTE_BACKOFF_S = 60.0      # the older "5 calls per minute" note needs the minute to pass

# Physical currencies that Alpha Vantage quotes as FX legs or crypto markets. "BASE-QUOTE" with a fiat
# quote is crypto, or FX when the base is fiat too; anything else is an equity symbol ("BRK-B").
FIAT_CURRENCIES = frozenset("""
    USD EUR JPY GBP CHF CAD AUD NZD CNY CNH HKD SGD SEK NOK DKK ISK PLN CZK HUF RON BGN TRY RUB UAH ZAR
    MXN BRL ARS CLP COP PEN INR PKR BDT KRW TWD THB IDR MYR PHP VND ILS SAR AED QAR KWD EGP NGN KES MAD
""".split())

OHLCV = ("open", "high", "low", "close", "volume")


class PremiumFeatureError(CredentialsError):
    """The key is valid but its plan does not include what was asked (an endpoint or ``outputsize=full``)."""

    def __init__(self, source: str, what: str, hint: str):
        self.what = what
        super().__init__(source, f"{what} is a premium feature for this API key ({PREMIUM_URL}): {hint}")


class QuotaExhaustedError(RateLimitError):
    """The key's daily request quota is used up; retrying within minutes cannot help."""

    def __init__(self, source: str, detail: str):
        self.source = source
        DataSourceError.__init__(
            self, f"{source} has refused further requests today ({detail}): free keys allow 25 requests a "
                  f"day; run again tomorrow, use a premium key, or {OFFLINE_OPTIONS}; a cached copy is used "
                  f"automatically when one exists")


class _BurstLimit(RateLimitError):
    """A short-window limit (per second or per minute): worth one retry after ``wait_s``."""

    def __init__(self, source: str, detail: str, wait_s: float):
        self.detail, self.wait_s = detail, wait_s
        super().__init__(source, detail)


# ---------------------------------------------------------------------------------------------- symbols
def supported_kinds() -> tuple[str, ...]:
    """The asset kinds this provider can fetch: ``("equity", "crypto", "fx")``."""
    return KINDS


def classify_symbol(ticker: str) -> str:
    """``"fx"`` for ``EURUSD=X``/``EUR-USD``/``EUR/USD``/``JPY=X``, ``"crypto"`` for ``BTC-USD``, else ``"equity"``.

    Alpha Vantage's own bare crypto codes (``BTC``) are indistinguishable from equity symbols; write them
    Yahoo-style with the market currency (``BTC-USD``).
    """
    return _split_symbol(ticker)[0]


def _split_symbol(ticker: str) -> tuple[str, str, str]:
    """``(kind, base, quote)``; for equities ``base`` is the symbol and ``quote`` is empty."""
    symbol = ticker.strip().upper()
    fx_suffix = re.fullmatch(r"([A-Z]{3})([A-Z]{3})?=X", symbol)
    if fx_suffix:
        first, second = fx_suffix.groups()
        # Yahoo writes USD-based pairs as "JPY=X": one dollar in yen.
        return ("fx", first, second) if second else ("fx", "USD", first)
    pair = re.fullmatch(r"([A-Z0-9]{2,10})[-/]([A-Z]{3})", symbol)
    if pair and pair.group(2) in FIAT_CURRENCIES:
        base, quote = pair.groups()
        return ("fx" if base in FIAT_CURRENCIES else "crypto", base, quote)
    return "equity", symbol, ""


def build_query(ticker: str, *, auto_adjust: bool = True, outputsize: str = "full",
                datatype: str = "json") -> dict[str, str]:
    """The query parameters for ``ticker``'s daily series, without the API key (safe to log)."""
    kind, base, quote = _split_symbol(ticker)
    if kind == "crypto":
        return {"function": CRYPTO_DAILY, "symbol": base, "market": quote, "datatype": datatype}
    if kind == "fx":
        return {"function": FX_DAILY, "from_symbol": base, "to_symbol": quote,
                "outputsize": outputsize, "datatype": datatype}
    return {"function": EQUITY_ADJUSTED if auto_adjust else EQUITY_UNADJUSTED, "symbol": base,
            "outputsize": outputsize, "datatype": datatype}


# ---------------------------------------------------------------------------------------------- the key
def resolve_api_key(api_key: str | None = None) -> str:
    """The key from the argument, else from ``$ALPHAVANTAGE_API_KEY``; CredentialsError saying how to get one."""
    key = (api_key if api_key is not None else os.environ.get(ENV_VAR, "")).strip()
    if not key:
        raise CredentialsError(
            SOURCE, f"no API key: get a free one at {KEY_SIGNUP_URL} (it takes seconds), then "
                    f"`export {ENV_VAR}=...` in the shell that starts Jupyter or lstm-lab (never commit it "
                    f"to a file in the repository); or {OFFLINE_OPTIONS}")
    return key


_APIKEY_IN_TEXT = re.compile(r"(apikey=)[^&\s'\"<>)]+", re.IGNORECASE)
_KEY_ECHO = re.compile(r"(API key as )\S+?(?=[\s,.;]|$)", re.IGNORECASE)


def redact(text: str, api_key: str | None = None) -> str:
    """``text`` with the API key replaced by ``***``: the key itself, any ``apikey=...`` and Alpha Vantage's
    "detected your API key as ..." echo."""
    if api_key and len(api_key) >= 4:   # a very short key would blank ordinary letters; patterns still apply
        text = text.replace(api_key, "***")
    text = _APIKEY_IN_TEXT.sub(r"\1***", text)
    return _KEY_ECHO.sub(r"\1***", text)


class _RedactApiKeyFilter(logging.Filter):
    """Rewrites log records that quote a URL with ``apikey=`` (urllib3 logs every request line at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report, not ours
            return True
        if "apikey=" in text.lower():
            record.msg, record.args = redact(text), None
        return True


def _install_log_redaction() -> None:
    """Attach the redacting filter once to the loggers that print request URLs."""
    # Logger filters do not apply to records of child loggers, so each logger that quotes URLs is named.
    for name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.poolmanager", "urllib3.util.retry",
                 "requests"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactApiKeyFilter) for f in target.filters):
            target.addFilter(_RedactApiKeyFilter())


_install_log_redaction()


# ---------------------------------------------------------------------------------------------- fetch
def fetch(ticker: str, *, start: str | None, end: str | None, auto_adjust: bool = True,
          api_key: str | None = None, session: Any = None, datatype: str = "json", outputsize: str = "full",
          retries: int = 2, sleep: Callable[[float], None] = time.sleep) -> pd.DataFrame:
    """Daily prices of ``ticker`` from ``start`` to ``end`` (ISO dates, inclusive) as the canonical frame.

    ``session`` is anything with ``requests.Session.get``'s signature (injected in tests); ``retries`` is
    how many more attempts a network failure or HTTP 5xx gets (a burst rate limit gets one); ``sleep``
    waits between attempts. ``frame.attrs`` records ``function``, ``kind`` and ``adjusted`` (whether
    splits and dividends were folded in; crypto and FX have none). Raises the errors of ``base.py``.
    """
    _check_options(datatype=datatype, outputsize=outputsize, retries=retries)
    key = resolve_api_key(api_key)
    start_ts, end_ts = _parse_bound("start", start), _parse_bound("end", end)
    kind = classify_symbol(ticker)
    params = build_query(ticker, auto_adjust=auto_adjust, outputsize=outputsize, datatype=datatype)

    own_session = session is None
    session = requests.Session() if own_session else session
    try:
        try:
            raw = _request_series(session, params, key=key, ticker=ticker, retries=retries, sleep=sleep)
        except PremiumFeatureError:
            if params["function"] != EQUITY_ADJUSTED:
                raise
            logger.warning(
                "Alpha Vantage refused %s for %s as premium; falling back to %s, whose prices are NOT "
                "adjusted for splits and dividends (each split shows as a price jump). Use source "
                "'yfinance' or a premium key for adjusted prices.", EQUITY_ADJUSTED, ticker, EQUITY_UNADJUSTED)
            params = {**params, "function": EQUITY_UNADJUSTED}
            raw = _request_series(session, params, key=key, ticker=ticker, retries=retries, sleep=sleep)
    finally:
        if own_session:
            session.close()

    if raw.empty:
        raise EmptyDownloadError(ticker, SOURCE, start, end)
    frame, adjusted = to_prices_frame(raw, use_adjusted_close=auto_adjust, ticker=ticker)
    if outputsize == "compact" and start_ts is not None and len(frame) and frame.index[0] > start_ts:
        logger.warning("Alpha Vantage outputsize='compact' returns only the latest 100 points; %s starts at "
                       "%s, after the requested start %s", ticker, frame.index[0].date(), start_ts.date())
    frame = _between(frame, start_ts, end_ts)
    if frame.empty:
        raise EmptyDownloadError(ticker, SOURCE, start, end)
    frame.attrs.update({"source": SOURCE, "function": params["function"], "kind": kind, "adjusted": adjusted})
    return frame


def _check_options(*, datatype: str, outputsize: str, retries: int) -> None:
    if datatype not in DATATYPES:
        raise ValueError(f"invalid datatype {datatype!r}: Alpha Vantage answers 'json' or 'csv'")
    if outputsize not in OUTPUTSIZES:
        raise ValueError(f"invalid outputsize {outputsize!r}: 'full' (20+ years, premium on free keys) or "
                         f"'compact' (latest 100 points)")
    if not isinstance(retries, int) or retries < 0:
        raise ValueError(f"invalid retries {retries!r}: a whole number >= 0")


def _parse_bound(name: str, value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise ValueError(f"invalid {name} date {value!r}: use an ISO date such as '2020-01-31'") from None


def _between(frame: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.DataFrame:
    """Rows with ``start <= date <= end`` (either bound may be None); the index is sorted."""
    return frame.loc[start:end]


def _request_series(session: Any, params: dict[str, str], *, key: str, ticker: str, retries: int,
                    sleep: Callable[[float], None]) -> pd.DataFrame:
    """GET one series, retrying network failures and one burst limit; the raw frame of the reply."""
    network_failures = 0
    burst_retried = False
    while True:
        logger.info("Alpha Vantage request: %s", _describe(params))
        try:
            response = session.get(API_URL, params={**params, "apikey": key}, timeout=REQUEST_TIMEOUT_S)
        except (requests.ConnectionError, requests.Timeout) as exc:
            detail = redact(f"{type(exc).__name__}: {exc}", key)
            if network_failures < retries:
                wait = NETWORK_BACKOFF_S * 2 ** network_failures
                network_failures += 1
                logger.warning("Alpha Vantage unreachable (%s); retry %d of %d in %.0f s",
                               detail, network_failures, retries, wait)
                sleep(wait)
                continue
            raise NetworkError(SOURCE, detail) from None

        status = int(getattr(response, "status_code", 200))
        if status == 429 or status >= 500:
            if network_failures < retries:
                wait = NETWORK_BACKOFF_S * 2 ** network_failures
                network_failures += 1
                logger.warning("Alpha Vantage answered HTTP %d; retry %d of %d in %.0f s",
                               status, network_failures, retries, wait)
                sleep(wait)
                continue
            if status == 429:
                raise RateLimitError(SOURCE, "HTTP 429 Too Many Requests")
            raise NetworkError(SOURCE, f"HTTP {status} from {API_URL}")
        if status != 200:
            raise NetworkError(SOURCE, f"HTTP {status} from {API_URL}")

        try:
            return parse_reply(response.text, datatype=params["datatype"], ticker=ticker,
                               function=params["function"], api_key=key)
        except _BurstLimit as limited:
            if burst_retried or retries == 0:
                raise RateLimitError(SOURCE, limited.detail) from None
            burst_retried = True
            logger.warning("Alpha Vantage rate limit on %s; one retry in %.0f s", ticker, limited.wait_s)
            sleep(limited.wait_s)


def _describe(params: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items() if k.lower() != "apikey")


# ---------------------------------------------------------------------------------------------- replies
def parse_reply(text: str, *, datatype: str, ticker: str, function: str, api_key: str = "") -> pd.DataFrame:
    """The raw series of one reply (date-string index, normalised column names such as ``adjusted_close``),
    or the error its message stands for. Error replies come as JSON even when CSV was asked for."""
    body = text.lstrip("\ufeff \t\r\n")
    if datatype == "json" or body.startswith("{"):
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            raise DataSourceError(f"{SOURCE}: the reply for {ticker!r} is not JSON (it begins "
                                  f"{redact(body[:120], api_key)!r}): the service may be down; try again "
                                  f"later, or {OFFLINE_OPTIONS}") from None
        return _series_from_json(payload, ticker=ticker, function=function, api_key=api_key)
    return _series_from_csv(body, ticker=ticker, api_key=api_key)


def _series_from_json(payload: Any, *, ticker: str, function: str, api_key: str) -> pd.DataFrame:
    if not isinstance(payload, dict):
        raise DataSourceError(f"{SOURCE}: unexpected reply for {ticker!r} (a JSON {type(payload).__name__}, "
                              f"not an object): try again later, or {OFFLINE_OPTIONS}")
    series_key = next((k for k in payload if k.startswith("Time Series")), None)
    if series_key is None:
        _raise_for_message(payload, ticker=ticker, function=function, api_key=api_key)
    rows = payload[series_key] or {}
    if not isinstance(rows, dict):
        raise DataSourceError(f"{SOURCE}: unexpected {series_key!r} for {ticker!r}: try again later, or "
                              f"{OFFLINE_OPTIONS}")
    raw = pd.DataFrame.from_dict(rows, orient="index")
    return _normalise_columns(raw)


def _series_from_csv(body: str, *, ticker: str, api_key: str) -> pd.DataFrame:
    try:
        raw = pd.read_csv(io.StringIO(body), dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        raw = pd.DataFrame()
    if raw.empty and not len(raw.columns):
        return raw
    if "timestamp" not in raw.columns:
        raise DataSourceError(f"{SOURCE}: the CSV reply for {ticker!r} has no 'timestamp' column (it begins "
                              f"{redact(body[:120], api_key)!r}): try datatype='json', or {OFFLINE_OPTIONS}")
    raw = raw.set_index("timestamp")
    return _normalise_columns(raw)


_FIELD_NUMBER = re.compile(r"^\d+[a-z]?\.\s*")
_FIELD_CURRENCY = re.compile(r"\s*\([A-Za-z]+\)\s*$")


def _normalise_columns(raw: pd.DataFrame) -> pd.DataFrame:
    """``"5. adjusted close"`` -> ``adjusted_close``, ``"1a. open (EUR)"`` -> ``open``.

    Older crypto replies carry each price twice, market currency first (``1a``) and USD second (``1b``);
    keeping the first of each name keeps the market currency that was asked for.
    """
    names = [_FIELD_CURRENCY.sub("", _FIELD_NUMBER.sub("", str(c))).strip().lower().replace(" ", "_")
             for c in raw.columns]
    raw = raw.set_axis(names, axis="columns")
    return raw.loc[:, ~raw.columns.duplicated()]


def _raise_for_message(payload: dict, *, ticker: str, function: str, api_key: str) -> None:
    """Raise the error that an Alpha Vantage message reply (no series in it) stands for."""
    error = payload.get("Error Message")
    notice = payload.get("Note") or payload.get("Information")
    message = str(error or notice or "")
    said = redact(message, api_key)
    lower = message.lower()

    if error:
        if "apikey" in lower or "api key" in lower:
            raise _refused_key(said)
        if "invalid api call" in lower:
            raise UnknownTickerError(ticker, SOURCE, _unknown_symbol_hint(ticker, function))
        raise DataSourceError(f"{SOURCE}: request for {ticker!r} failed (Alpha Vantage says {said!r}): check "
                              f"the ticker, or {OFFLINE_OPTIONS}")
    if notice:
        if any(w in lower for w in ("per second", "per minute", "spreading out", "burst", "call frequency")):
            wait = PER_MINUTE_BACKOFF_S if "minute" in lower else BURST_BACKOFF_S
            raise _BurstLimit(SOURCE, said, wait)
        if "per day" in lower or ("daily" in lower and "limit" in lower):
            raise QuotaExhaustedError(SOURCE, said)
        if "premium" in lower and ("endpoint" in lower or "feature" in lower):
            if "outputsize" in lower:
                raise PremiumFeatureError(
                    SOURCE, "outputsize='full' (the whole history)",
                    "pass outputsize='compact' for the latest 100 trading days, use a premium key, or use "
                    "source 'yfinance' or 'csv' for long histories")
            raise PremiumFeatureError(SOURCE, f"the {function} endpoint",
                                      "use a premium key, or source 'yfinance' or 'csv'")
        if "demo" in lower or "apikey" in lower or "api key" in lower:
            raise _refused_key(said)
        raise DataSourceError(f"{SOURCE}: no prices for {ticker!r} (Alpha Vantage says {said!r}): try again "
                              f"later, or {OFFLINE_OPTIONS}")
    found = ", ".join(repr(redact(str(k), api_key)) for k in list(payload)[:5]) or "nothing"
    raise DataSourceError(f"{SOURCE}: unexpected reply for {ticker!r} (no time series; keys: {found}): try "
                          f"again later, or {OFFLINE_OPTIONS}")


def _refused_key(said: str) -> CredentialsError:
    return CredentialsError(
        SOURCE, f"the API key was refused (Alpha Vantage says {said!r}): check {ENV_VAR} for typos or "
                f"stray quotes, or get a free key at {KEY_SIGNUP_URL}")


def _unknown_symbol_hint(ticker: str, function: str) -> str:
    hint = f"Alpha Vantage answered 'Invalid API call' to {function}"
    if ticker.strip().startswith("^"):
        return hint + "; it has no index series such as ^GSPC: use an ETF that tracks it (e.g. SPY)"
    if classify_symbol(ticker) == "equity":
        return hint + "; non-US listings take Alpha Vantage's exchange suffix, e.g. 'TSCO.LON', 'SHOP.TRT'"
    return hint


# ---------------------------------------------------------------------------------------------- canonical
def to_prices_frame(raw: pd.DataFrame, *, use_adjusted_close: bool = True,
                    ticker: str = "") -> tuple[pd.DataFrame, bool]:
    """The canonical prices frame from a raw reply frame, and whether adjusted prices were used.

    With ``use_adjusted_close`` and an ``adjusted_close`` column, close becomes the adjusted close and
    open/high/low are scaled by the same ratio ``adjusted_close / close``, so bars stay consistent; volume
    is put into today's share units by the later split coefficients (as Yahoo reports it).
    """
    if raw.empty:
        raise EmptyDownloadError(ticker, SOURCE, None, None)
    if "close" not in raw.columns:
        raise DataSourceError(f"{SOURCE}: the reply for {ticker!r} has no close prices (columns: "
                              f"{', '.join(map(str, raw.columns))}): try again later, or {OFFLINE_OPTIONS}")
    try:
        dates = pd.to_datetime(pd.Index(raw.index.astype(str)), format="ISO8601")
    except (ValueError, TypeError):
        raise DataSourceError(f"{SOURCE}: the reply for {ticker!r} has dates that are not ISO dates (e.g. "
                              f"{str(raw.index[0])!r}): try again later, or {OFFLINE_OPTIONS}") from None
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    numbers = raw.apply(pd.to_numeric, errors="coerce").astype("float64")
    numbers.index = dates.normalize()
    numbers = numbers[~numbers.index.duplicated(keep="last")].sort_index()

    frame = numbers[[c for c in OHLCV if c in numbers.columns]].copy()
    adjusted = use_adjusted_close and "adjusted_close" in numbers.columns
    if adjusted:
        ratio = numbers["adjusted_close"] / numbers["close"]
        ratio = ratio.where(ratio.abs() < float("inf"))
        for column in ("open", "high", "low"):
            if column in frame.columns:
                frame[column] = frame[column] * ratio
        frame["close"] = numbers["adjusted_close"]
        if "volume" in frame.columns and "split_coefficient" in numbers.columns:
            frame["volume"] = frame["volume"] * later_split_factor(numbers["split_coefficient"])
    frame.index.name = "date"
    frame.columns.name = None
    return frame, adjusted


def later_split_factor(split_coefficient: pd.Series) -> pd.Series:
    """For each (ascending) date, the product of split coefficients strictly after it.

    A 4-for-1 split on day ``s`` (coefficient 4 on ``s``) means every earlier volume counts shares that are
    4 of today's; multiplying by this factor states all volumes in today's shares.
    """
    coef = split_coefficient.fillna(1.0).where(lambda c: c > 0, 1.0)
    return coef[::-1].cumprod()[::-1].shift(-1, fill_value=1.0)
