"""Alpha Vantage provider: replayed replies in the documented shapes, every error mapped, the key never leaked.

No test touches the network: a fake session answers from tests/alphavantage_replies/, and creating a real
``requests.Session`` fails loudly.
"""

import logging
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from helpers.providers import alphavantage as av
from helpers.providers.base import (
    CredentialsError,
    DataSourceError,
    EmptyDownloadError,
    NetworkError,
    RateLimitError,
    UnknownTickerError,
)

REPLIES = Path(__file__).parent / "alphavantage_replies"
KEY = "TESTKEY0123456789"   # made up; rate_limit_daily.json echoes it as Alpha Vantage echoes the caller's key


def reply(name: str, status: int = 200) -> requests.Response:
    """A real ``requests.Response`` carrying a fixture file's bytes."""
    response = requests.Response()
    response.status_code = status
    response._content = (REPLIES / name).read_bytes()
    response.encoding = "utf-8"
    response.url = av.API_URL
    return response


class FakeSession:
    """Answers ``get`` calls in order from ``answers`` (a fixture name, a Response, or an exception)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def get(self, url, params=None, timeout=None):
        self.calls.append({"url": url, "params": dict(params or {}), "timeout": timeout})
        if not self.answers:
            raise AssertionError("the provider made more requests than the test expected")
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return reply(answer) if isinstance(answer, str) else answer

    def close(self):
        pass


class NoNetworkSession:
    def get(self, *args, **kwargs):
        raise AssertionError("the provider called the network")


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture(autouse=True)
def no_real_sessions(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test created a real requests.Session")
    monkeypatch.setattr(av.requests, "Session", refuse)
    monkeypatch.delenv(av.ENV_VAR, raising=False)


def fetch(ticker="AAPL", *answers, **kwargs):
    session = FakeSession(*answers)
    kwargs.setdefault("start", None)
    kwargs.setdefault("end", None)
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("sleep", Sleeps())
    return av.fetch(ticker, session=session, **kwargs), session


# ------------------------------------------------------------------------------------------- the key
def test_missing_key_raises_credentials_error_without_calling_the_network():
    with pytest.raises(CredentialsError) as err:
        av.fetch("AAPL", start=None, end=None, session=NoNetworkSession())
    message = str(err.value)
    assert "https://www.alphavantage.co/support/#api-key" in message
    assert "export ALPHAVANTAGE_API_KEY=" in message


def test_blank_key_counts_as_missing(monkeypatch):
    monkeypatch.setenv(av.ENV_VAR, "   ")
    with pytest.raises(CredentialsError, match="no API key"):
        av.fetch("AAPL", start=None, end=None, session=NoNetworkSession())


def test_key_is_read_from_the_environment_variable(monkeypatch):
    monkeypatch.setenv(av.ENV_VAR, KEY)
    session = FakeSession("equity_daily_adjusted.json")
    av.fetch("AAPL", start=None, end=None, session=session)
    assert session.calls[0]["params"]["apikey"] == KEY


def test_key_argument_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(av.ENV_VAR, "FROMENVIRONMENT00")
    _, session = fetch("AAPL", "equity_daily_adjusted.json", api_key=KEY)
    assert session.calls[0]["params"]["apikey"] == KEY


# ------------------------------------------------------------------------------------------- equities
def test_adjusted_json_reply_gives_the_canonical_frame():
    frame, _ = fetch("AAPL", "equity_daily_adjusted.json")
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "date"
    assert frame.index.tz is None
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert (frame.index == frame.index.normalize()).all()
    assert frame.index[0] == pd.Timestamp("2020-08-26") and len(frame) == 6


def test_equity_request_asks_for_the_adjusted_full_daily_series():
    _, session = fetch("aapl", "equity_daily_adjusted.json")
    call = session.calls[0]
    assert call["url"] == "https://www.alphavantage.co/query" and call["timeout"] == av.REQUEST_TIMEOUT_S
    assert call["params"] == {"function": "TIME_SERIES_DAILY_ADJUSTED", "symbol": "AAPL", "outputsize": "full",
                              "datatype": "json", "apikey": KEY}


def test_adjusted_close_becomes_close_and_ohlc_are_scaled_by_the_same_ratio():
    frame, _ = fetch("AAPL", "equity_daily_adjusted.json")
    day = frame.loc["2020-08-28"]
    ratio = 124.1835 / 499.23          # adjusted close / close of that row in the fixture
    assert day["close"] == pytest.approx(124.1835)
    assert day["open"] == pytest.approx(504.05 * ratio)
    assert day["high"] == pytest.approx(505.77 * ratio)
    assert day["low"] == pytest.approx(498.31 * ratio)
    assert frame.attrs["adjusted"] is True and frame.attrs["function"] == "TIME_SERIES_DAILY_ADJUSTED"


def test_adjusted_prices_have_no_jump_at_the_split():
    frame, _ = fetch("AAPL", "equity_daily_adjusted.json")
    split_day_return = frame["close"].pct_change().loc["2020-08-31"]
    assert abs(split_day_return) < 0.05    # unadjusted, the 4-for-1 split reads as a -74% day


def test_volume_before_a_split_is_stated_in_post_split_shares():
    frame, _ = fetch("AAPL", "equity_daily_adjusted.json")
    assert frame.loc["2020-08-28", "volume"] == 46907500 * 4
    assert frame.loc["2020-08-31", "volume"] == 225702700


def test_auto_adjust_false_asks_for_the_unadjusted_series_and_keeps_raw_prices():
    frame, session = fetch("AAPL", "equity_daily.json", auto_adjust=False)
    assert session.calls[0]["params"]["function"] == "TIME_SERIES_DAILY"
    assert frame.loc["2020-08-28", "close"] == 499.23
    assert frame.attrs["adjusted"] is False


def test_premium_adjusted_endpoint_falls_back_to_unadjusted_daily_with_a_warning(caplog):
    caplog.set_level(logging.WARNING, logger=av.__name__)
    frame, session = fetch("AAPL", "premium_endpoint.json", "equity_daily.json")
    assert [c["params"]["function"] for c in session.calls] == ["TIME_SERIES_DAILY_ADJUSTED", "TIME_SERIES_DAILY"]
    assert frame.attrs["adjusted"] is False and frame.attrs["function"] == "TIME_SERIES_DAILY"
    assert any("NOT adjusted" in r.getMessage() for r in caplog.records)


def test_premium_full_history_raises_premium_error_that_names_compact():
    with pytest.raises(av.PremiumFeatureError) as err:
        fetch("AAPL", "premium_endpoint.json", "premium_outputsize.json")
    assert isinstance(err.value, CredentialsError)
    assert "outputsize='compact'" in str(err.value)


def test_compact_outputsize_is_passed_through():
    _, session = fetch("AAPL", "equity_daily_adjusted.json", outputsize="compact")
    assert session.calls[0]["params"]["outputsize"] == "compact"


def test_csv_reply_gives_the_same_frame_as_json():
    from_json, _ = fetch("AAPL", "equity_daily_adjusted.json")
    from_csv, session = fetch("AAPL", "equity_daily_adjusted.csv", datatype="csv")
    assert session.calls[0]["params"]["datatype"] == "csv"
    pd.testing.assert_frame_equal(from_csv, from_json)


def test_error_message_in_json_is_recognised_when_csv_was_asked_for():
    with pytest.raises(UnknownTickerError):
        fetch("NOSUCH", "unknown_symbol.json", datatype="csv")


# ------------------------------------------------------------------------------------------- crypto, FX
def test_crypto_ticker_requests_digital_currency_daily_with_symbol_and_market():
    frame, session = fetch("BTC-USD", "crypto_daily.json")
    params = session.calls[0]["params"]
    assert (params["function"], params["symbol"], params["market"]) == ("DIGITAL_CURRENCY_DAILY", "BTC", "USD")
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert pd.Timestamp("2024-03-09") in frame.index          # a Saturday: crypto trades every day
    assert frame.loc["2024-03-10", "close"] == 69019.79
    assert frame.attrs["kind"] == "crypto"


def test_legacy_crypto_reply_uses_the_market_currency_columns():
    frame, _ = fetch("BTC-EUR", "crypto_daily_legacy.json")
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert frame.loc["2024-03-08", "close"] == pytest.approx(68300.09 * 0.92)


@pytest.mark.parametrize("ticker", ["EURUSD=X", "EUR-USD", "eur/usd"])
def test_fx_ticker_requests_fx_daily_with_from_and_to_symbols(ticker):
    frame, session = fetch(ticker, "fx_daily.json")
    params = session.calls[0]["params"]
    assert (params["function"], params["from_symbol"], params["to_symbol"]) == ("FX_DAILY", "EUR", "USD")
    assert list(frame.columns) == ["open", "high", "low", "close"]       # FX has no volume
    assert frame.loc["2024-03-08", "close"] == 1.0938


def test_yahoo_style_dollar_pair_means_usd_to_that_currency():
    params = av.build_query("JPY=X")
    assert (params["from_symbol"], params["to_symbol"]) == ("USD", "JPY")


@pytest.mark.parametrize("ticker, kind", [
    ("AAPL", "equity"), ("TSCO.LON", "equity"), ("BRK-B", "equity"), ("^GSPC", "equity"),
    ("BTC-USD", "crypto"), ("eth-eur", "crypto"), ("DOGE/USD", "crypto"),
    ("EURUSD=X", "fx"), ("JPY=X", "fx"), ("GBP-JPY", "fx"), ("EUR/USD", "fx"),
])
def test_classify_symbol(ticker, kind):
    assert av.classify_symbol(ticker) == kind
    assert kind in av.supported_kinds()


# ------------------------------------------------------------------------------------------- errors
def test_invalid_key_reply_raises_credentials_error_saying_where_to_get_a_key():
    with pytest.raises(CredentialsError) as err:
        fetch("AAPL", "invalid_key.json")
    assert "refused" in str(err.value) and av.KEY_SIGNUP_URL in str(err.value)


def test_demo_key_reply_raises_credentials_error():
    with pytest.raises(CredentialsError, match="refused"):
        fetch("AAPL", "demo_key.json")


def test_unknown_symbol_reply_raises_unknown_ticker_error_naming_the_ticker():
    with pytest.raises(UnknownTickerError) as err:
        fetch("NOSUCHCO", "unknown_symbol.json")
    assert "'NOSUCHCO'" in str(err.value) and err.value.source == "alphavantage"


def test_index_ticker_error_suggests_an_etf():
    with pytest.raises(UnknownTickerError, match="SPY"):
        fetch("^GSPC", "unknown_symbol.json")


def test_rate_limit_note_is_retried_once_after_a_pause_then_succeeds():
    sleeps = Sleeps()
    frame, session = fetch("AAPL", "rate_limit_note.json", "equity_daily_adjusted.json", sleep=sleeps)
    assert len(session.calls) == 2 and len(frame) == 6
    assert sleeps == [av.PER_MINUTE_BACKOFF_S]       # the note speaks of calls per minute


def test_persistent_rate_limit_raises_rate_limit_error_after_one_retry():
    sleeps = Sleeps()
    with pytest.raises(RateLimitError) as err:
        fetch("AAPL", "rate_limit_burst.json", "rate_limit_burst.json", sleep=sleeps)
    assert len(sleeps) == 1 and sleeps[0] == av.BURST_BACKOFF_S
    assert "1 request per second" in str(err.value)


def test_rate_limit_is_not_retried_when_retries_is_zero():
    with pytest.raises(RateLimitError):
        fetch("AAPL", "rate_limit_burst.json", retries=0)


def test_exhausted_daily_quota_raises_at_once_without_retry():
    sleeps = Sleeps()
    with pytest.raises(av.QuotaExhaustedError) as err:
        fetch("AAPL", "rate_limit_daily.json", sleep=sleeps)
    assert isinstance(err.value, RateLimitError)
    assert sleeps == [] and "tomorrow" in str(err.value)


def test_connection_error_is_retried_with_backoff_then_raises_network_error():
    sleeps = Sleeps()
    with pytest.raises(NetworkError):
        fetch("AAPL", requests.ConnectionError("down"), requests.ConnectionError("down"),
              requests.ConnectionError("down"), retries=2, sleep=sleeps)
    assert sleeps == [av.NETWORK_BACKOFF_S, 2 * av.NETWORK_BACKOFF_S]


def test_a_passing_network_failure_is_retried_and_recovers():
    frame, session = fetch("AAPL", requests.Timeout("slow"), "equity_daily_adjusted.json")
    assert len(session.calls) == 2 and len(frame) == 6


def test_timeout_raises_network_error():
    with pytest.raises(NetworkError, match="Timeout"):
        fetch("AAPL", requests.Timeout("read timed out"), retries=0)


def test_server_error_status_raises_network_error_after_retries():
    broken = requests.Response()
    broken.status_code, broken._content = 503, b"Service Unavailable"
    with pytest.raises(NetworkError, match="HTTP 503"):
        fetch("AAPL", broken, broken, retries=1)


def test_non_json_reply_raises_a_data_source_error():
    page = requests.Response()
    page.status_code, page._content, page.encoding = 200, b"<html>maintenance</html>", "utf-8"
    with pytest.raises(DataSourceError, match="not JSON"):
        fetch("AAPL", page)


def test_empty_series_raises_empty_download_error():
    with pytest.raises(EmptyDownloadError):
        fetch("AAPL", "empty_series.json")


def test_no_rows_in_the_date_range_raises_empty_download_error():
    with pytest.raises(EmptyDownloadError, match="2021-01-01 to 2021-12-31"):
        fetch("AAPL", "equity_daily_adjusted.json", start="2021-01-01", end="2021-12-31")


def test_date_filter_keeps_both_ends_inclusive():
    frame, _ = fetch("AAPL", "equity_daily_adjusted.json", start="2020-08-27", end="2020-09-01")
    assert list(frame.index.strftime("%Y-%m-%d")) == ["2020-08-27", "2020-08-28", "2020-08-31", "2020-09-01"]


def test_bad_start_date_raises_value_error_naming_it():
    with pytest.raises(ValueError, match="start"):
        av.fetch("AAPL", start="2020-13-45", end=None, api_key=KEY, session=NoNetworkSession())


@pytest.mark.parametrize("option, value", [("datatype", "xml"), ("outputsize", "huge"), ("retries", -1)])
def test_bad_option_raises_value_error_naming_it(option, value):
    with pytest.raises(ValueError, match=option):
        av.fetch("AAPL", start=None, end=None, api_key=KEY, session=NoNetworkSession(), **{option: value})


# ------------------------------------------------------------------------------------------- the key stays secret
def _url_error() -> requests.ConnectionError:
    """A ConnectionError worded as requests words it: with the full URL, key included."""
    return requests.ConnectionError(
        f"HTTPSConnectionPool(host='www.alphavantage.co', port=443): Max retries exceeded with url: "
        f"/query?function=TIME_SERIES_DAILY_ADJUSTED&symbol=AAPL&apikey={KEY} (Caused by NameResolutionError)")


@pytest.mark.parametrize("answers", [
    ["invalid_key.json"],
    ["rate_limit_daily.json"],                       # Alpha Vantage echoes the key in this one
    ["rate_limit_burst.json", "rate_limit_burst.json"],
    ["unknown_symbol.json"],
    ["premium_endpoint.json", "premium_outputsize.json"],
    [_url_error(), _url_error(), _url_error()],
], ids=["invalid-key", "daily-quota", "burst", "unknown-symbol", "premium", "connection-error"])
def test_the_key_never_appears_in_errors_tracebacks_or_logs(answers, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DataSourceError) as err:
        fetch("AAPL", *answers)
    shown = "".join(traceback.format_exception(err.value))
    assert KEY not in str(err.value) and KEY not in shown
    assert all(KEY not in record.getMessage() for record in caplog.records)


def test_urllib3_request_log_lines_are_redacted(caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s', "https", "www.alphavantage.co", 443, "GET",
        f"/query?function=FX_DAILY&apikey={KEY}&datatype=json", "HTTP/1.1", 200, None)
    assert caplog.records and all(KEY not in r.getMessage() for r in caplog.records)
    assert "apikey=***" in caplog.records[-1].getMessage()


def test_redact_hides_the_key_in_every_form_alpha_vantage_shows_it():
    quoted = f"url ?apikey={KEY}&x=1; We have detected your API key as {KEY} and our standard"
    assert KEY not in av.redact(quoted + f"; bare {KEY}", KEY)
    assert KEY not in av.redact(quoted)     # URL and echo forms are caught even without the key
