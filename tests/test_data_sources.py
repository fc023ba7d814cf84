"""The data layer: every source, the auto chain, the cache, and yfinance's quirks (through a fake, never the network)."""

from __future__ import annotations

import datetime as dt

import json
import logging
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import data as data_module
from helpers.config import RunConfig
from helpers.data import PriceCache, load_prices
from helpers.providers import csvfile, sample, synthetic, yahoo
from helpers.providers.base import (
    CsvFormatError,
    DataSourceError,
    EmptyDownloadError,
    NetworkError,
    RateLimitError,
    UnknownTickerError,
)
from helpers.runfolder import PROJECT_ROOT
from tests.fake_yfinance import FakeYFinance

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
RANGE = {"start": "2024-01-02", "end": "2024-06-28"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any real connection attempt fails the test loudly; Alpha Vantage stays off unless a test sets a key."""
    def refuse(*args, **kwargs):
        raise AssertionError("a data test tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("ALPHAVANTAGE_API_KEY", raising=False)


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def sleeps():
    return []


def config(**overrides) -> RunConfig:
    values = {"ticker": "AAPL", "source": "yfinance", **RANGE}
    values.update(overrides)
    return RunConfig(**values)


def load(cfg, cache_dir, fake, sleeps=None, **kwargs):
    recorded = sleeps if sleeps is not None else []
    return load_prices(cfg, cache_dir=cache_dir, yf=fake, sleep=recorded.append, **kwargs)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


class FlatColumns:
    """yfinance called with multi_level_index=False: flat Open/High/... columns."""

    def __init__(self, fake):
        self.fake = fake

    def download(self, *args, **kwargs):
        return self.fake.download(*args, **{**kwargs, "multi_level_index": False})


class TickerFirstColumns:
    """yfinance with group_by='ticker': (Ticker, Price) columns."""

    def __init__(self, fake):
        self.fake = fake

    def download(self, *args, **kwargs):
        frame = self.fake.download(*args, **kwargs)
        frame.columns = frame.columns.swaplevel(0, 1)
        return frame


class AdjCloseAlways:
    """An older yfinance that returns Adj Close beside unadjusted prices even when auto_adjust=True."""

    def __init__(self, fake):
        self.fake = fake

    def download(self, *args, **kwargs):
        return self.fake.download(*args, **{**kwargs, "auto_adjust": False})


# ---------------------------------------------------------------------- yfinance provider
def test_multiindex_columns_are_flattened_to_lower_case_ohlcv():
    frame = yahoo.fetch("AAPL", yf=FakeYFinance(), **RANGE)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert not isinstance(frame.columns, pd.MultiIndex)
    assert frame.index.name == "date" and frame.dtypes.eq("float64").all()


@pytest.mark.parametrize("wrapper", [FlatColumns, TickerFirstColumns], ids=["flat", "ticker-first"])
def test_other_column_layouts_give_the_same_frame(wrapper):
    expected = yahoo.fetch("AAPL", yf=FakeYFinance(), **RANGE)
    got = yahoo.fetch("AAPL", yf=wrapper(FakeYFinance()), **RANGE)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Tokyo"])
def test_tz_aware_bar_keeps_its_local_date(tz):
    fake = FakeYFinance(tz=tz)
    raw = fake.download("AAPL", start="2024-03-01", end="2024-03-02")
    assert str(raw.index[0]).startswith("2024-03-01 00:00:00")  # the fake's bar: local midnight
    frame = yahoo.fetch("AAPL", start="2024-03-01", end="2024-03-01", yf=fake)
    assert frame.index.tz is None
    assert list(frame.index) == [pd.Timestamp("2024-03-01")]


def test_end_date_is_inclusive_although_yfinance_excludes_it():
    fake = FakeYFinance()
    frame = yahoo.fetch("AAPL", start="2024-02-26", end="2024-03-01", yf=fake)
    assert frame.index[-1] == pd.Timestamp("2024-03-01")
    assert fake.calls[0]["end"] == "2024-03-02"


def test_no_start_asks_for_the_full_history_not_the_last_month():
    fake = FakeYFinance(first="2020-01-01")
    frame = yahoo.fetch("AAPL", start=None, end=None, yf=fake)
    assert fake.calls[0]["period"] == "max"
    assert frame.index[0] == pd.Timestamp("2020-01-01")


def test_hourly_bars_from_yfinance_keep_their_local_time_of_day():
    fake = FakeYFinance(last="2024-03-08")
    frame = yahoo.fetch("AAPL", start="2024-03-04", end="2024-03-08", yf=fake, interval="1h",
                        today=dt.date(2024, 3, 9))
    assert fake.calls[0]["interval"] == "1h"
    assert frame.index.tz is None and len(frame) == 5 * 6
    assert frame.index[0] == pd.Timestamp("2024-03-04 09:30") and frame.index[-1] == pd.Timestamp("2024-03-08 14:30")


def test_no_start_with_an_intraday_interval_asks_for_all_yahoo_keeps():
    fake = FakeYFinance(last="2024-03-08")
    yahoo.fetch("AAPL", start=None, end=None, yf=fake, interval="5m", today=dt.date(2024, 3, 9))
    assert fake.calls[0]["period"] == "60d"


def test_a_start_older_than_yahoo_keeps_intraday_bars_is_refused_before_any_download():
    fake = FakeYFinance()
    with pytest.raises(DataSourceError, match=r"keeps 5m bars of AAPL for the last 60 days only: start 2023-01-02 "
                                              r"is before 2024-01-10; set start on or after it"):
        yahoo.fetch("AAPL", start="2023-01-02", end=None, yf=fake, interval="5m", today=dt.date(2024, 3, 9))
    assert fake.call_count == 0


def test_an_intraday_interval_skips_the_daily_only_sources_and_the_run_gets_hourly_bars(tmp_path):
    fake = FakeYFinance(first="2023-06-01", last="2024-03-08")
    config = RunConfig(ticker="AAPL", interval="1h", start=None)
    data = load_prices(config, cache_dir=tmp_path, yf=fake)
    assert data.meta["frequency"]["name"] == "hourly" and data.meta["frequency"]["calendar"] == "sessions"
    assert "Yahoo Finance 1h bars" in data.meta["provenance"]
    assert fake.calls[0]["period"] == "730d"   # all Yahoo keeps of 1h bars


def test_an_intraday_request_never_falls_back_to_a_daily_source(tmp_path, monkeypatch):
    monkeypatch.setenv(data_module.ALPHAVANTAGE_KEY_ENV, "demo")
    fake = FakeYFinance(behaviour="network_raise")
    with pytest.raises(DataSourceError) as caught:
        load_prices(RunConfig(ticker="AAPL", interval="1h"), cache_dir=tmp_path, yf=fake, sleep=lambda s: None)
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "alphavantage: skipped (daily bars only; interval 1h asked for)" in notes
    assert "sample" not in notes.split("alphavantage: skipped")[-1]


def test_daily_only_sources_refuse_another_interval_by_name():
    from helpers.config import ConfigError

    with pytest.raises(ConfigError, match=r"'interval' = '1h': '1d' with source 'synthetic'"):
        RunConfig(source="synthetic", interval="1h")
    with pytest.raises(ConfigError, match=r"'interval' = '3h': one of 1m, 2m"):
        RunConfig(interval="3h")


def test_auto_adjust_false_keeps_prices_as_traded():
    fake = FakeYFinance()
    raw = fake.download("AAPL", start="2024-03-01", end="2024-03-02", auto_adjust=False)
    frame = yahoo.fetch("AAPL", start="2024-03-01", end="2024-03-01", auto_adjust=False, yf=fake)
    assert frame["close"].iloc[0] == pytest.approx(raw[("Close", "AAPL")].iloc[0])
    assert "adj_close" not in frame.columns


def test_adj_close_returned_despite_auto_adjust_is_used_and_scales_ohlc():
    fake = FakeYFinance()
    raw = fake.download("AAPL", start="2024-03-01", end="2024-03-02", auto_adjust=False)
    frame = yahoo.fetch("AAPL", start="2024-03-01", end="2024-03-01", auto_adjust=True, yf=AdjCloseAlways(fake))
    ratio = raw[("Adj Close", "AAPL")].iloc[0] / raw[("Close", "AAPL")].iloc[0]
    assert ratio < 0.99  # the fake's adjustment is material, so the test can fail
    assert frame["close"].iloc[0] == pytest.approx(raw[("Adj Close", "AAPL")].iloc[0])
    assert frame["open"].iloc[0] == pytest.approx(raw[("Open", "AAPL")].iloc[0] * ratio)
    assert frame["volume"].iloc[0] == raw[("Volume", "AAPL")].iloc[0]


def test_unknown_ticker_error_names_the_ticker():
    with pytest.raises(UnknownTickerError, match="ZZZZQ") as info:
        yahoo.fetch("ZZZZQ", yf=FakeYFinance(), **RANGE)
    assert "no timezone found" in str(info.value)


def test_unknown_ticker_recognised_from_an_empty_unbounded_download_alone(capsys):
    fake = FakeYFinance(report="print")  # the error is only printed: nothing to inspect but the empty frame
    with pytest.raises(UnknownTickerError, match="ZZZZQ"):
        yahoo.fetch("ZZZZQ", start=None, end=None, yf=fake)
    assert "Failed download" in capsys.readouterr().out


def test_empty_range_of_a_known_ticker_is_an_empty_download():
    with pytest.raises(EmptyDownloadError, match=r"AAPL.*2030-01-01 to 2030-02-01"):
        yahoo.fetch("AAPL", start="2030-01-01", end="2030-02-01", yf=FakeYFinance())


def test_network_failures_are_retried_with_exponential_backoff(sleeps):
    fake = FakeYFinance(failures=["network_raise", "network_log"])
    frame = yahoo.fetch("AAPL", yf=fake, backoff_s=1.0, sleep=sleeps.append, **RANGE)
    assert not frame.empty
    assert fake.call_count == 3
    assert sleeps == [1.0, 2.0]


@pytest.mark.parametrize("behaviour", ["network_log", "network_raise"])
def test_network_down_raises_network_error_after_all_retries(behaviour, sleeps):
    fake = FakeYFinance(behaviour=behaviour)
    with pytest.raises(NetworkError, match="Could not resolve host") as info:
        yahoo.fetch("AAPL", yf=fake, retries=3, backoff_s=0.5, sleep=sleeps.append, **RANGE)
    assert fake.call_count == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert "source='sample'" in str(info.value)


def test_an_intraday_network_error_suggests_what_runs_offline_not_the_daily_sample(sleeps):
    fake = FakeYFinance(behaviour="network_raise")
    with pytest.raises(NetworkError) as info:
        yahoo.fetch("AAPL", yf=fake, retries=0, sleep=sleeps.append, interval="1h", start=None, end=None)
    message = str(info.value)
    assert "a CSV of 1h bars (source='csv'" in message
    assert "interval='1d' and the embedded sample (source='sample')" in message
    RunConfig(source="csv", csv_path="prices.csv", interval="1d")        # what it suggests is a valid config
    RunConfig(source="sample", interval="1d")


@pytest.mark.parametrize("behaviour", ["rate_limit_raise", "rate_limit_log"])
def test_rate_limit_is_retried_then_raises_rate_limit_error(behaviour, sleeps):
    fake = FakeYFinance(behaviour=behaviour)
    with pytest.raises(RateLimitError, match="rate-limiting"):
        yahoo.fetch("AAPL", yf=fake, retries=2, backoff_s=1.0, sleep=sleeps.append, **RANGE)
    assert fake.call_count == 3
    assert sleeps == [1.0, 2.0]


def test_rate_limit_then_success_returns_data(sleeps):
    fake = FakeYFinance(failures=["rate_limit_raise"])
    frame = yahoo.fetch("AAPL", yf=fake, sleep=sleeps.append, **RANGE)
    assert len(frame) > 100 and sleeps == [1.0]


# ---------------------------------------------------------------------- load_prices: yfinance and the cache
def test_yfinance_source_records_source_steps_and_range(cache_dir):
    result = load(config(), cache_dir, FakeYFinance())
    meta = result.meta
    assert meta["source"] == "yfinance" and meta["synthetic"] is False and meta["from_cache"] is False
    assert meta["start"] == "2024-01-02" and meta["end"] == "2024-06-28"
    assert meta["rows"] == len(result.prices)
    assert "yfinance" in meta["provenance"]
    assert any(step.startswith("cache: miss") for step in meta["steps"])
    assert any(step.startswith("yfinance: downloaded") for step in meta["steps"])
    json.dumps(meta)


def test_second_run_reads_the_cache_without_network(cache_dir):
    first = load(config(), cache_dir, FakeYFinance())
    offline = FakeYFinance(behaviour="network_raise")
    second = load(config(), cache_dir, offline)
    assert offline.call_count == 0
    assert second.meta["from_cache"] is True and second.meta["source"] == "yfinance"
    pd.testing.assert_frame_equal(second.prices, first.prices, check_freq=False)


def test_cache_metadata_records_source_range_and_auto_adjust(cache_dir):
    load(config(auto_adjust=False), cache_dir, FakeYFinance())
    (meta_file,) = cache_dir.glob("*.json")
    meta = json.loads(meta_file.read_text())
    assert meta["source"] == "yfinance" and meta["auto_adjust"] is False
    assert meta["range"] == {"first": "2024-01-02", "last": "2024-06-28"}
    assert meta["rows"] == len(pd.read_parquet(meta_file.with_suffix(".parquet")))
    assert meta["fetched_at"]


def test_cache_is_keyed_by_auto_adjust(cache_dir):
    load(config(auto_adjust=True), cache_dir, FakeYFinance())
    fake = FakeYFinance()
    load(config(auto_adjust=False), cache_dir, fake)
    assert fake.call_count == 1


def test_refresh_downloads_again_despite_a_cache_hit(cache_dir):
    load(config(), cache_dir, FakeYFinance())
    fake = FakeYFinance()
    load(config(), cache_dir, fake, refresh=True)
    assert fake.call_count == 1


def test_network_down_falls_back_to_an_overlapping_cache_with_a_warning(cache_dir, caplog):
    load(config(start="2024-01-02", end="2024-06-28"), cache_dir, FakeYFinance())
    with caplog.at_level(logging.WARNING, logger="helpers.data"):
        result = load(config(start="2024-03-01", end="2024-12-31"), cache_dir, FakeYFinance(behaviour="network_log"))
    assert result.meta["start"] == "2024-03-01" and result.meta["end"] == "2024-06-28"
    assert result.meta["from_cache"] is True
    assert result.meta["warnings"] and "unreachable" in result.meta["warnings"][0]
    assert any("network down" in step for step in result.meta["steps"])
    assert any("unreachable" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_network_down_without_cache_names_the_offline_options(cache_dir):
    with pytest.raises(NetworkError) as info:
        load(config(), cache_dir, FakeYFinance(behaviour="network_log"))
    message = str(info.value)
    assert "source='csv'" in message and "source='sample'" in message and "source='synthetic'" in message


def test_failed_fetch_leaves_the_cache_untouched(cache_dir):
    load(config(), cache_dir, FakeYFinance())
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in cache_dir.iterdir()}
    load(config(start="2024-02-01", end="2024-09-30"), cache_dir, FakeYFinance(behaviour="network_raise"))
    with pytest.raises(UnknownTickerError):
        load(config(ticker="ZZZZQ"), cache_dir, FakeYFinance())
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in cache_dir.iterdir()}
    assert after == before


@pytest.mark.parametrize("interruption", [OSError("No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_interrupted_cache_write_keeps_the_old_entry_and_leaves_no_temp_file(cache_dir, monkeypatch, interruption):
    load(config(), cache_dir, FakeYFinance())
    (old_file,) = cache_dir.glob("*.parquet")
    old_bytes = old_file.read_bytes()

    def write_half_then_fail(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1 half a file")
        raise interruption

    monkeypatch.setattr(pd.DataFrame, "to_parquet", write_half_then_fail)
    different = FakeYFinance(first="2019-01-01")  # other prices, so a replaced file would show
    if isinstance(interruption, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            load(config(), cache_dir, different, refresh=True)
    else:
        result = load(config(), cache_dir, different, refresh=True)
        assert any("could not store" in w for w in result.meta["warnings"])
    assert old_file.read_bytes() == old_bytes
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted([old_file.name, old_file.with_suffix(".json").name])


def test_damaged_cache_entry_is_reported_and_downloaded_again(cache_dir):
    load(config(), cache_dir, FakeYFinance())
    (parquet,) = cache_dir.glob("*.parquet")
    parquet.write_bytes(b"not parquet")
    fake = FakeYFinance()
    result = load(config(), cache_dir, fake)
    assert fake.call_count == 1
    assert any("unreadable" in w for w in result.meta["warnings"])


# ---------------------------------------------------------------------- the auto chain
def test_auto_reads_the_cache_first(cache_dir):
    load(config(), cache_dir, FakeYFinance())
    fake = FakeYFinance()
    result = load(config(source="auto"), cache_dir, fake)
    assert fake.call_count == 0
    assert any(step.startswith("cache: hit") for step in result.meta["steps"])


def test_auto_downloads_from_yfinance_on_a_cache_miss(cache_dir):
    result = load(config(source="auto"), cache_dir, FakeYFinance())
    assert result.meta["source"] == "yfinance"
    assert result.meta["steps"][1] == "cache: miss"
    assert result.meta["steps"][2].startswith("yfinance: downloaded")


def test_auto_offline_falls_back_to_the_embedded_sample_for_aapl(cache_dir, sleeps):
    cfg = config(source="auto", start="2010-01-04", end="2010-12-31")
    result = load(cfg, cache_dir, FakeYFinance(behaviour="network_log"), sleeps=sleeps)
    steps = result.meta["steps"]
    assert result.meta["source"] == "sample"
    assert "cache: miss" in steps
    assert any(s.startswith("yfinance: network down") for s in steps)
    assert "alphavantage: skipped (ALPHAVANTAGE_API_KEY not set)" in steps
    assert any(s.startswith("sample: used embedded AAPL sample") for s in steps)
    assert result.meta["warnings"] and "embedded sample" in result.meta["warnings"][0]
    assert result.meta["start"] == "2010-01-04" and result.meta["end"] == "2010-12-31"
    assert sleeps  # the network was retried before giving up


def test_auto_offline_says_one_line_per_fallback_step_not_yfinances_errors(cache_dir, sleeps, caplog):
    """yfinance logs several ERROR lines per attempt ("possibly delisted" among them); a user sees two lines."""
    cfg = config(source="auto", start="2010-01-04", end="2010-12-31")
    with caplog.at_level(logging.INFO):
        load(cfg, cache_dir, FakeYFinance(behaviour="network_log"), sleeps=sleeps)
    shown = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in shown] == ["Yahoo Finance unreachable (network down)",
                                                             "no live or cached data for AAPL"]
    assert not any(r.name.startswith("yfinance") for r in caplog.records)
    assert logging.getLogger("yfinance").propagate          # restored after each download


def test_auto_offline_prefers_a_cached_copy_over_the_sample(cache_dir):
    load(config(), cache_dir, FakeYFinance())
    result = load(config(source="auto", start="2024-03-01", end="2024-12-31"), cache_dir,
                  FakeYFinance(behaviour="network_log"))
    assert result.meta["source"] == "yfinance" and result.meta["from_cache"] is True


def test_auto_offline_for_another_ticker_raises_network_error_with_the_chain(cache_dir):
    with pytest.raises(NetworkError) as info:
        load(config(source="auto", ticker="MSFT"), cache_dir, FakeYFinance(behaviour="network_log"))
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "sample: not used" in notes and "yfinance: network down" in notes


def test_auto_unknown_ticker_raises_unknown_ticker_error(cache_dir):
    with pytest.raises(UnknownTickerError, match="ZZZZQ"):
        load(config(source="auto", ticker="ZZZZQ"), cache_dir, FakeYFinance())


def test_auto_tries_alphavantage_after_yfinance_only_when_its_key_is_set(cache_dir, monkeypatch):
    from helpers.providers import alphavantage

    calls = []

    def fake_fetch(ticker, *, start, end, auto_adjust=True, **kwargs):
        calls.append(ticker)
        index = pd.bdate_range(start, end, name="date")
        frame = pd.DataFrame({"close": np.linspace(10, 20, len(index))}, index=index)
        frame.attrs.update({"function": "TIME_SERIES_DAILY_ADJUSTED", "adjusted": True})
        return frame

    monkeypatch.setattr(alphavantage, "fetch", fake_fetch)
    with pytest.raises(NetworkError):
        load(config(source="auto", ticker="MSFT"), cache_dir, FakeYFinance(behaviour="network_log"))
    assert calls == []
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", "test-key")
    result = load(config(source="auto", ticker="MSFT"), cache_dir, FakeYFinance(behaviour="network_log"))
    assert calls == ["MSFT"]
    assert result.meta["source"] == "alphavantage" and "Alpha Vantage" in result.meta["provenance"]
    assert any(p.name.startswith("alphavantage__MSFT") for p in cache_dir.iterdir())


# ---------------------------------------------------------------------- local sources through load_prices
def test_csv_source_names_the_file_in_provenance(tmp_path, cache_dir):
    path = write_csv(tmp_path / "prices.csv", "Date,Close\n2024-01-02,10\n2024-01-03,11\n2024-01-04,12")
    result = load(config(source="csv", csv_path=str(path), start=None, end=None), cache_dir, None)
    assert result.meta["source"] == "csv" and str(path) in result.meta["provenance"]
    assert list(result.prices["close"]) == [10.0, 11.0, 12.0]
    assert not cache_dir.exists()  # local files are not cached


def test_sample_source_serves_the_embedded_aapl_file(cache_dir):
    result = load(config(source="sample", start=None, end=None), cache_dir, None)
    assert result.meta["rows"] == 3379
    assert (result.meta["start"], result.meta["end"]) == ("2004-08-19", "2018-01-19")
    assert "mplfinance" in result.meta["provenance"]


def test_sample_source_refuses_other_tickers(cache_dir):
    with pytest.raises(UnknownTickerError, match=r"'MSFT'.*only AAPL"):
        load(config(source="sample", ticker="MSFT"), cache_dir, None)


@pytest.mark.parametrize("source", ["csv", "sample", "synthetic", "yfinance"])
def test_start_and_end_are_applied_inclusively_for_every_source(source, cache_dir, tmp_path):
    path = write_csv(tmp_path / "p.csv", "\n".join(["Date,Close"] + [f"2012-03-{d:02d},{d}" for d in range(1, 31)]))
    start, end = ("2024-03-01", "2024-03-28") if source == "yfinance" else ("2012-03-05", "2012-03-23")
    cfg = config(source=source, csv_path=str(path), start=start, end=end)
    result = load(cfg, cache_dir, FakeYFinance())
    assert result.prices.index.min() == pd.Timestamp(start)
    assert result.prices.index.max() == pd.Timestamp(end)


def test_range_outside_the_data_is_an_empty_download_error(cache_dir):
    with pytest.raises(EmptyDownloadError, match="2020-01-01"):
        load(config(source="sample", start="2020-01-01", end="2020-12-31"), cache_dir, None)


# ---------------------------------------------------------------------- synthetic
def test_synthetic_is_seeded_and_labelled(cache_dir):
    first = load(config(source="synthetic", seed=7, start=None, end=None), cache_dir, None)
    again = load(config(source="synthetic", seed=7, start=None, end=None), cache_dir, None)
    other = load(config(source="synthetic", seed=8, start=None, end=None), cache_dir, None)
    pd.testing.assert_frame_equal(first.prices, again.prices)
    assert not first.prices["close"].equals(other.prices["close"])
    assert first.meta["synthetic"] is True
    assert "SYNTHETIC" in first.meta["provenance"] and "seed=7" in first.meta["provenance"]
    assert "not a real market" in first.meta["provenance"]


def test_synthetic_bars_are_consistent_business_days():
    frame = synthetic.fetch("SYN", start=None, end=None, seed=3, n_days=800)
    assert len(frame) == 800 and (frame.index.day_of_week < 5).all()
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame[["open", "high", "low", "close", "volume"]] > 0).all().all()


def test_synthetic_regimes_switch_and_differ_in_volatility():
    dates = synthetic.synthetic_dates(start=None, end=None, n_days=3000)
    frame = synthetic.simulate(dates, seed=1)
    assert frame["regime"].nunique() >= 2
    returns = np.log(frame["close"]).diff()
    vol = returns.groupby(frame["regime"]).std()
    assert vol.max() > 1.5 * vol.min()


# ---------------------------------------------------------------------- CSV parsing
def test_csv_missing_file_is_named(tmp_path):
    with pytest.raises(CsvFormatError, match=r"nope\.csv: file not found"):
        csvfile.fetch("X", start=None, end=None, path=tmp_path / "nope.csv")


def test_csv_without_date_column_names_the_columns_found(tmp_path):
    path = write_csv(tmp_path / "no_date.csv", "when,Close\nyesterday,1\ntoday,2")
    with pytest.raises(CsvFormatError, match=r"no_date\.csv: no date column.*\['when', 'Close'\]") as info:
        csvfile.fetch("X", start=None, end=None, path=path)
    assert "Needed: a date column" in str(info.value)


def test_csv_without_close_column_names_the_columns_found(tmp_path):
    path = write_csv(tmp_path / "no_close.csv", "Date,Open,Volume\n2024-01-02,1,100")
    with pytest.raises(CsvFormatError, match=r"no_close\.csv: no close column.*\['Date', 'Open', 'Volume'\]"):
        csvfile.fetch("X", start=None, end=None, path=path)


def test_csv_unparseable_dates_name_the_rows(tmp_path):
    path = write_csv(tmp_path / "bad_dates.csv", "Date,Close\n2024-01-02,1\nsoon,2\n2024-01-04,3")
    with pytest.raises(CsvFormatError, match=r"bad_dates\.csv: 1 unparseable date.*row 3: 'soon'"):
        csvfile.fetch("X", start=None, end=None, path=path)


def test_csv_with_us_dates_dollars_and_thousands_separators(tmp_path):
    path = write_csv(tmp_path / "nasdaq.csv", '''
Date,Close/Last,Volume,Open,High,Low
03/04/2024,"$1,175.10","1,000",$1170.00,"$1,180.00","$1,160.50"
03/01/2024,"$1,170.00",900,$1160.00,"$1,171.00","$1,150.00"
02/29/2024,"$1,160.00",800,$1150.00,"$1,161.00","$1,140.00"
''')
    frame = csvfile.fetch("X", start=None, end=None, path=path)   # 02/29 proves month-first
    assert list(frame.index) == [pd.Timestamp("2024-02-29"), pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-04")]
    assert frame.loc["2024-03-04", "close"] == 1175.10 and frame.loc["2024-03-04", "volume"] == 1000.0
    assert frame.loc["2024-03-04", "high"] == 1180.0


def test_csv_missing_value_markers_become_nan(tmp_path):
    path = write_csv(tmp_path / "markers.csv", "Date,Close\n2024-01-02,1\n2024-01-03,.\n2024-01-04,null\n"
                                               "2024-01-05,-\n2024-01-08,\n2024-01-09,6")
    frame = csvfile.fetch("X", start=None, end=None, path=path)
    assert frame["close"].isna().tolist() == [False, True, True, True, True, False]


def test_csv_unnamed_index_column_is_ignored(tmp_path):
    path = write_csv(tmp_path / "spy_like.csv", ",date,open,high,low,close,volume\n"
                                               "0,1999-11-01,136.5,137.0,135.5,135.6,4006500.0\n"
                                               "1,1999-11-02,135.9,137.2,134.6,134.6,6516900.0")
    frame = csvfile.fetch("SPY", start=None, end=None, path=path)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert frame.index[0] == pd.Timestamp("1999-11-01")


def test_csv_dates_in_an_unnamed_leading_index_column(tmp_path):
    path = write_csv(tmp_path / "index_dates.csv", ",Adj_Close\n2024-01-02,5\n2024-01-03,6")
    frame = csvfile.fetch("X", start=None, end=None, path=path)
    assert frame["close"].tolist() == [5.0, 6.0] and frame.index[1] == pd.Timestamp("2024-01-03")


def test_csv_timestamps_with_offsets_keep_their_local_date(tmp_path):
    path = write_csv(tmp_path / "tz.csv", "Datetime,close\n2024-03-01 00:00:00-05:00,1\n"
                                          "2024-03-04 00:00:00+09:00,2")
    frame = csvfile.fetch("X", start=None, end=None, path=path)
    assert list(frame.index) == [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-04")]


def test_csv_adj_close_is_preferred_only_with_auto_adjust(tmp_path):
    path = write_csv(tmp_path / "adj.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n"
                                           "2024-01-02,10,12,9,11,5.5,100")
    adjusted = csvfile.fetch("X", start=None, end=None, path=path, auto_adjust=True)
    raw = csvfile.fetch("X", start=None, end=None, path=path, auto_adjust=False)
    assert adjusted.iloc[0][["open", "high", "low", "close"]].tolist() == pytest.approx([5.0, 6.0, 4.5, 5.5])
    assert adjusted["volume"].iloc[0] == 100.0
    assert raw["close"].iloc[0] == 11.0


def test_csv_close_only_file_has_just_close(tmp_path):
    path = write_csv(tmp_path / "wti.csv", "DATE,CLOSE\n1986-01-02,25.56\n1986-01-03,26")
    frame = csvfile.fetch("WTI", start=None, end=None, path=path)
    assert list(frame.columns) == ["close"]


def test_csv_keeps_duplicate_dates_for_cleaning_to_report(tmp_path):
    path = write_csv(tmp_path / "dups.csv", "Date,Close\n2024-01-03,2\n2024-01-02,1\n2024-01-03,3")
    frame = csvfile.fetch("X", start=None, end=None, path=path)
    assert frame.index.tolist() == [pd.Timestamp("2024-01-02")] + [pd.Timestamp("2024-01-03")] * 2
    assert frame["close"].tolist() == [1.0, 2.0, 3.0]  # file order kept within a date


SHARED_FILES = {  # rows, columns, first date, last date (rows counted in the files themselves)
    "AAPL.csv": (3379, 5, "2004-08-19", "2018-01-19"),
    "INTC.csv": (2335, 5, "1995-01-03", "2004-04-08"),
    "GSPC.csv": (5031, 5, "1999-01-04", "2018-12-31"),
    "IXIC.csv": (5031, 5, "1999-01-04", "2018-12-31"),
    "SPY.csv": (5241, 5, "1999-11-01", "2020-08-28"),
    "BTC-USD.csv": (2687, 5, "2014-09-17", "2022-01-24"),
    "WTI.csv": (8611, 1, "1986-01-02", "2019-01-03"),
}


@pytest.mark.parametrize("name", sorted(SHARED_FILES))
def test_shared_price_files_load(name):
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    rows, n_columns, first, last = SHARED_FILES[name]
    frame = csvfile.fetch(name.removesuffix(".csv"), start=None, end=None, path=path)
    assert len(frame) == rows and len(frame.columns) == n_columns and "close" in frame.columns
    assert frame.index[0] == pd.Timestamp(first) and frame.index[-1] == pd.Timestamp(last)
    assert frame.index.is_monotonic_increasing
    assert frame["close"].notna().mean() > 0.95 and (frame["close"].dropna() > 0).all()


def test_embedded_sample_is_a_copy_of_the_shared_aapl_file():
    shared = SHARED_DATA / "AAPL.csv"
    if not shared.exists():
        pytest.skip(f"{shared} not available")
    assert sample.SAMPLE_PATH.read_bytes() == shared.read_bytes()


def test_cache_entries_lists_only_the_same_ticker_and_adjustment(cache_dir):
    load(config(), cache_dir, FakeYFinance())
    load(config(ticker="MSFT"), cache_dir, FakeYFinance())
    load(config(auto_adjust=False), cache_dir, FakeYFinance())
    entries = PriceCache(cache_dir).entries("AAPL", "1d", True)
    assert [p.name for p in entries] == ["yfinance__AAPL__1d__2024-01-02__2024-06-28__adj.json"]


def test_default_cache_folder_is_data_cache_in_the_project():
    assert data_module.DEFAULT_CACHE_DIR == PROJECT_ROOT / "data" / "cache"
