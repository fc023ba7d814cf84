"""Frequency is a property of the series: inferred from timestamps, refused when mixed or of seconds, followed
everywhere a day was assumed (season, annualisation, future timestamps, the model's manifest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.artifacts import DateGapError, check_no_date_gaps, series_calendar
from helpers.baselines import season_length
from helpers.calendar import (
    choose_calendar,
    exchange_for_ticker,
    future_dates,
    infer_calendar,
    trades_weekends,
)
from helpers.config import RunConfig
from helpers.data import load_prices
from helpers.frequency import FrequencyError, UnsupportedFrequencyError, infer_frequency
from helpers.providers import csvfile
from helpers.validation import clean_prices


def session_bars(days: int, minutes: int, per_day: int, open_at: str = "09:30") -> pd.DatetimeIndex:
    """Intraday bars of US-equity-like sessions: ``per_day`` bars ``minutes`` apart from ``open_at`` on weekdays."""
    start = pd.Timedelta(open_at + ":00")
    return pd.DatetimeIndex([d + start + pd.Timedelta(minutes=minutes * i)
                             for d in pd.bdate_range("2023-01-02", periods=days) for i in range(per_day)])


def hourly_fx(n: int = 5000) -> pd.DatetimeIndex:
    stamps = pd.date_range("2023-01-02", periods=int(n * 1.5), freq="h")
    return stamps[stamps.day_of_week < 5][:n]


def prices_csv(path, index: pd.DatetimeIndex, fmt: str = "%Y-%m-%d %H:%M:%S"):
    close = 100 + np.cumsum(np.random.default_rng(0).normal(0, 0.1, len(index)))
    lines = ["Datetime,Close"] + [f"{t.strftime(fmt)},{c:.4f}" for t, c in zip(index, close)]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------- inference
@pytest.mark.parametrize("index, name, calendar, per_year", [
    (pd.bdate_range("2020-01-01", periods=500), "business-daily", "weekdays", 252),
    (pd.date_range("2020-01-01", periods=500, freq="D"), "daily", "24/7", 365),
    (pd.date_range("2020-01-06", periods=120, freq="W-MON"), "weekly", "periodic", pytest.approx(52.18, abs=0.01)),
    (pd.date_range("2020-01-01", periods=5000, freq="h"), "hourly", "24/7", 24 * 365),
    (hourly_fx(), "hourly", "24/5", 24 * 260),
    (session_bars(700, 60, 7), "hourly", "sessions", 252 * 7),
    (session_bars(60, 5, 78), "5-minute", "sessions", 252 * 78),
])
def test_frequency_is_inferred_from_the_steps(index, name, calendar, per_year):
    frequency = infer_frequency(index)
    assert (frequency.name, frequency.calendar, frequency.bars_per_year) == (name, calendar, per_year)
    assert frequency.bars == len(index)


def test_a_series_mixing_daily_and_hourly_bars_is_refused_with_the_steps_found():
    mixed = pd.bdate_range("2020-01-01", periods=300).append(pd.date_range("2021-03-01", periods=2000, freq="h"))
    with pytest.raises(FrequencyError, match=r"mixes bar frequencies.*mostly 1d.*mostly 1h.*1h ×1,999"):
        infer_frequency(mixed)


def test_irregular_timestamps_are_refused():
    seconds = np.cumsum(np.random.default_rng(1).integers(1, 100_000, 300))
    with pytest.raises(FrequencyError, match="no regular step"):
        infer_frequency(pd.Timestamp("2020-01-01") + pd.to_timedelta(seconds, unit="s"))


def test_too_few_bars_cannot_show_a_frequency():
    with pytest.raises(FrequencyError, match="from 2 distinct"):
        infer_frequency(pd.DatetimeIndex(["2024-01-02", "2024-01-03"]))


# ---------------------------------------------------------------------- no silent collapse, then a clear refusal
def test_hourly_csv_keeps_its_times_and_cleaning_drops_no_bar(tmp_path):
    index = hourly_fx(500)
    frame = csvfile.read_price_csv(prices_csv(tmp_path / "eurusd_1h.csv", index))
    assert frame.index.equals(pd.DatetimeIndex(index, name="date"))
    cleaned, report = clean_prices(frame)
    assert len(cleaned) == 500 and report.count("duplicate_dates") == 0


def test_duplicate_timestamps_are_duplicates_and_shown_with_their_time():
    index = session_bars(3, 60, 7)
    frame = pd.DataFrame({"close": np.arange(1, len(index) + 2, dtype=float)},
                         index=index.append(index[[4]]))
    cleaned, report = clean_prices(frame)
    assert len(cleaned) == len(index) and report.step("duplicate_dates").dates == ("2023-01-02 13:30:00",)


@pytest.mark.parametrize("index, name, calendar, first", [
    (hourly_fx(5000), "hourly", "24/5", "2023-01-02 00:00:00"),
    (pd.date_range("2024-01-01 00:00", periods=600, freq="h"), "hourly", "24/7", "2024-01-01 00:00:00"),
    (session_bars(60, 5, 78), "5-minute", "sessions", "2023-01-02 09:30:00"),
    (pd.date_range("2015-01-05", periods=300, freq="W-MON"), "weekly", "periodic", "2015-01-05"),
])
def test_the_run_loads_intraday_and_weekly_bars_keeping_their_times(tmp_path, index, name, calendar, first):
    path = prices_csv(tmp_path / "bars.csv", index)
    data = load_prices(RunConfig(ticker="EURUSD=X", source="csv", csv_path=str(path)))
    assert data.prices.index.equals(pd.DatetimeIndex(index, name="date"))
    assert (data.meta["frequency"]["name"], data.meta["frequency"]["calendar"]) == (name, calendar)
    assert data.meta["start"] == first
    assert data.meta["end"] == (index[-1].isoformat(sep=" ") if index[-1] != index[-1].normalize()
                                else index[-1].date().isoformat())
    assert any(step.startswith(f"frequency: {name} bars") for step in data.meta["steps"])


def test_bars_of_seconds_are_refused_with_what_runs_and_how_to_resample(tmp_path):
    path = prices_csv(tmp_path / "s.csv", pd.date_range("2024-01-02 09:30", periods=300, freq="30s"))
    with pytest.raises(UnsupportedFrequencyError, match=r"30-second bars.*step 30s\); this version runs daily, "
                       r"business-daily, weekly, monthly, hourly, N-hour or N-minute bars: resample"):
        load_prices(RunConfig(ticker="X", source="csv", csv_path=str(path)))


def test_a_mixed_csv_is_refused_when_loading_data(tmp_path):
    index = pd.bdate_range("2020-01-01", periods=300).append(pd.date_range("2021-03-01", periods=500, freq="h"))
    with pytest.raises(FrequencyError, match=r"X from CSV .*mixes bar frequencies"):
        load_prices(RunConfig(ticker="X", source="csv", csv_path=str(prices_csv(tmp_path / "m.csv", index))))


def test_daily_data_report_carries_the_frequency(tmp_path):
    path = prices_csv(tmp_path / "d.csv", pd.bdate_range("2020-01-01", periods=60), fmt="%Y-%m-%d")
    meta = load_prices(RunConfig(ticker="X", source="csv", csv_path=str(path))).meta
    assert meta["frequency"]["name"] == "business-daily" and meta["frequency"]["bars_per_year"] == 252
    assert any(step.startswith("frequency: business-daily bars") for step in meta["steps"])


def test_daily_bars_stamped_with_a_time_are_still_daily(tmp_path):
    index = pd.bdate_range("2020-01-01", periods=30) + pd.Timedelta(hours=16)
    frame = csvfile.read_price_csv(prices_csv(tmp_path / "d16.csv", index))
    assert (frame.index == frame.index.normalize()).all()


# ---------------------------------------------------------------------- data offered to a daily model
def test_weekly_data_offered_to_a_business_day_model_is_refused():
    weekly = pd.date_range("2020-01-06", periods=60, freq="W-MON")
    with pytest.raises(DateGapError, match=r"new\.csv has weekly bars.*trained on daily bars"):
        check_no_date_gaps(weekly, {"kind": "business", "max_gap": 5, "unit": "business days"}, label="new.csv")


def test_seven_day_weeks_offered_to_a_business_day_model_are_refused():
    crypto = pd.date_range("2020-01-01", periods=60, freq="D")
    with pytest.raises(DateGapError, match=r"trades 7 days a week.*business calendar"):
        check_no_date_gaps(crypto, {"kind": "business", "max_gap": 5, "unit": "business days"}, label="new.csv")


def test_weekday_data_offered_to_an_every_day_model_is_refused():
    stock = pd.bdate_range("2020-01-01", periods=60)
    with pytest.raises(DateGapError, match="no weekend bars"):
        check_no_date_gaps(stock, {"kind": "daily", "max_gap": 2, "unit": "calendar days"}, label="new.csv")


def test_matching_daily_data_passes_the_check():
    stock = pd.bdate_range("2020-01-01", periods=60)
    check_no_date_gaps(stock, series_calendar(stock), label="new.csv")


# ---------------------------------------------------------------------- calendars
def test_one_weekend_rule_behind_calendar_gaps_and_season_length():
    stock = pd.bdate_range("2024-01-01", periods=60)
    crypto = pd.date_range("2024-01-01", periods=60, freq="D")
    stray = stock.append(pd.DatetimeIndex(["2024-03-30"]))
    for dates, weekends in ((stock, False), (crypto, True), (stray, False)):
        assert trades_weekends(dates) is weekends
        assert (infer_calendar(dates) == "daily") is weekends
        assert (series_calendar(dates)["kind"] == "daily") is weekends
        assert (season_length(dates) == 7) is weekends


def test_a_forecast_for_xnys_skips_christmas():
    dates = future_dates("2024-12-24", 3, "XNYS")
    assert list(dates) == [pd.Timestamp("2024-12-26"), pd.Timestamp("2024-12-27"), pd.Timestamp("2024-12-30")]
    assert pd.Timestamp("2024-12-25") not in future_dates("2024-12-20", 10, "XNYS")


def test_old_calendar_names_still_work_as_aliases():
    assert list(future_dates("2024-12-24", 2, "business")) == [pd.Timestamp("2024-12-25"), pd.Timestamp("2024-12-26")]
    assert list(future_dates("2024-12-24", 1, "24/7")) == [pd.Timestamp("2024-12-25")]


def test_the_calendar_is_chosen_from_the_ticker_or_the_config():
    stock, crypto = pd.bdate_range("2024-01-01", periods=30), pd.date_range("2024-01-01", periods=30)
    assert infer_calendar(stock, ticker="AAPL") == "XNYS" and infer_calendar(stock) == "business"
    assert infer_calendar(crypto, ticker="BTC-USD") == "daily"
    assert choose_calendar(stock, "SAP.DE") == "XETR" and choose_calendar(stock, "EURUSD=X") == "business"
    assert choose_calendar(stock, "AAPL", configured="XLON") == "XLON"
    assert [exchange_for_ticker(t) for t in ("^GSPC", "CL=F", "7203.T")] == ["XNYS", None, "XTKS"]
    assert exchange_for_ticker("AAPL", bare_symbols=None) is None        # a CSV's ticker is only a label


def test_an_unknown_calendar_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="business, daily.*XNYS"):
        future_dates("2024-01-04", 2, "XXXX")


def test_the_data_report_records_the_calendar_chosen(tmp_path):
    path = prices_csv(tmp_path / "d.csv", pd.bdate_range("2020-01-01", periods=60), fmt="%Y-%m-%d")
    assert load_prices(RunConfig(ticker="SAP.DE", source="csv", csv_path=str(path))).meta["calendar"] == "XETR"
    assert load_prices(RunConfig(ticker="AAPL", source="csv", csv_path=str(path))).meta["calendar"] == "business"
    assert load_prices(RunConfig(ticker="AAPL", source="sample")).meta["calendar"] == "XNYS"
    configured = RunConfig(ticker="AAPL", source="csv", csv_path=str(path), trading_calendar="XLON")
    assert load_prices(configured).meta["calendar"] == "XLON"
    assert load_prices(RunConfig(ticker="FAKE", source="synthetic")).meta["calendar"] == "business"


def test_an_unknown_trading_calendar_is_a_config_error():
    from helpers.config import ConfigError

    with pytest.raises(ConfigError, match="'trading_calendar'.*XNYS"):
        RunConfig(trading_calendar="NYSE-ISH")


# ---------------------------------------------------------------------- followed where a day was assumed
@pytest.mark.parametrize("index, season", [
    (pd.bdate_range("2020-01-01", periods=300), 5),
    (pd.date_range("2020-01-01", periods=300, freq="D"), 7),
    (pd.date_range("2020-01-06", periods=120, freq="W-MON"), 52),
    (pd.date_range("2020-01-31", periods=60, freq="ME"), 12),
    (pd.date_range("2024-01-01", periods=600, freq="h"), 24),
    (hourly_fx(600), 24),
    (session_bars(30, 60, 7), 7),
    (session_bars(20, 5, 78), 78),
])
def test_the_seasonal_naive_period_is_one_cycle_of_the_series(index, season):
    assert season_length(index) == season


def test_the_seasonal_naive_of_hourly_bars_repeats_the_same_hour_yesterday():
    from helpers.baselines import SeasonalNaive, default_baselines

    index = pd.date_range("2024-01-01", periods=200, freq="h")
    close = pd.Series(np.arange(200, dtype=float) + 100, index=index)
    forecaster = next(f for f in default_baselines(index, RunConfig()) if f.name == "seasonal_naive")
    assert isinstance(forecaster, SeasonalNaive) and forecaster.season == 24
    assert forecaster.predict(close, np.array([100]), 1)[0, 0] == close.iloc[100 + 1 - 24]


@pytest.mark.parametrize("index, per_year", [
    (pd.bdate_range("2020-01-01", periods=300), 252),
    (pd.date_range("2020-01-01", periods=300, freq="D"), 365),
    (pd.date_range("2024-01-01", periods=600, freq="h"), 24 * 365),
    (session_bars(30, 60, 7), 252 * 7),
    (pd.date_range("2020-01-06", periods=120, freq="W-MON"), 52),
])
def test_annualisation_uses_the_bars_per_year_of_the_series(index, per_year):
    from helpers.strategy import bars_per_year, strategy_backtest

    assert bars_per_year(index) == per_year
    rng = np.random.default_rng(0)
    previous = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(index))))
    actual = previous * np.exp(rng.normal(0, 0.01, len(index)))
    result = strategy_backtest(index, actual, previous, actual, cost_bps=0)   # a perfect forecast: long on up bars
    daily = strategy_backtest(index, actual, previous, actual, cost_bps=0, periods_per_year=252)
    assert result.periods_per_year == per_year
    assert result.strategy["sharpe"] == pytest.approx(daily.strategy["sharpe"] * np.sqrt(per_year / 252))


def test_the_strategy_sentence_counts_bars_not_days_for_hourly_data():
    from helpers.strategy import chance_sentence, strategy_backtest

    index = pd.date_range("2024-01-01", periods=300, freq="h")
    previous = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, 300)))
    result = strategy_backtest(index, previous * 1.001, previous, previous * 1.002, chance_draws=50)
    sentence = chance_sentence(result)
    assert "over 300 test bars" in sentence and "annualised with 8760 bars a year" in sentence
    assert " days" not in sentence


def test_future_timestamps_of_hourly_crypto_step_ahead_through_the_night_and_weekend():
    from helpers.calendar import future_timestamps

    index = pd.date_range("2024-01-01", periods=469, freq="h")          # ends Saturday 2024-01-20 12:00
    stamps = future_timestamps(index[-1], 14, "daily", infer_frequency(index).to_dict())
    assert list(stamps) == list(pd.date_range("2024-01-20 13:00", periods=14, freq="h"))


def test_future_timestamps_of_24_5_hourly_bars_skip_the_weekend():
    from helpers.calendar import future_timestamps

    stamps = future_timestamps("2024-01-05 22:00", 3, "business", infer_frequency(hourly_fx(600)).to_dict())
    assert list(stamps) == [pd.Timestamp("2024-01-05 23:00"), pd.Timestamp("2024-01-08 00:00"),
                            pd.Timestamp("2024-01-08 01:00")]


def test_future_timestamps_of_session_bars_open_the_next_exchange_session():
    from helpers.calendar import future_timestamps

    frequency = infer_frequency(session_bars(30, 60, 7)).to_dict()
    assert frequency["session"] == {"first_bar": "09:30", "last_bar": "15:30"}
    stamps = future_timestamps("2024-12-24 14:30", 3, "XNYS", frequency)      # Christmas is skipped
    assert list(stamps) == [pd.Timestamp("2024-12-24 15:30"), pd.Timestamp("2024-12-26 09:30"),
                            pd.Timestamp("2024-12-26 10:30")]
    friday = future_timestamps("2024-01-05 15:30", 2, "business", frequency)
    assert list(friday) == [pd.Timestamp("2024-01-08 09:30"), pd.Timestamp("2024-01-08 10:30")]
    on_xnys = {**frequency, "trading_calendar": "XNYS"}        # as a manifest records the data report's exchange
    assert future_timestamps("2024-12-24 15:30", 1, "business", on_xnys)[0] == pd.Timestamp("2024-12-26 09:30")


def test_future_timestamps_of_weekly_bars_are_a_week_apart_and_daily_ones_unchanged():
    from helpers.calendar import future_timestamps

    weekly = infer_frequency(pd.date_range("2020-01-06", periods=60, freq="W-MON")).to_dict()
    assert list(future_timestamps("2021-02-22", 2, "business", weekly)) == [pd.Timestamp("2021-03-01"),
                                                                           pd.Timestamp("2021-03-08")]
    daily = infer_frequency(pd.bdate_range("2024-01-01", periods=60)).to_dict()
    assert future_timestamps("2024-12-24", 3, "XNYS", daily).equals(future_dates("2024-12-24", 3, "XNYS"))


def test_files_keep_the_time_of_day_of_intraday_bars():
    from helpers.frequency import iso_stamp, stamp_format

    hourly = pd.date_range("2024-01-01", periods=30, freq="h")
    assert stamp_format(hourly) == "%Y-%m-%d %H:%M:%S" and stamp_format(pd.bdate_range("2024-01-01", periods=5)) \
        == "%Y-%m-%d"
    assert iso_stamp(hourly[5]) == "2024-01-01 05:00:00" and iso_stamp(pd.Timestamp("2024-01-02")) == "2024-01-02"


def test_an_intraday_series_writes_its_midnight_bar_with_the_time_and_a_daily_one_plain_dates():
    from helpers.frequency import iso_stamp
    from helpers.splits import split_at_rows

    hourly = pd.date_range("2024-01-01", periods=60, freq="h")
    daily = pd.bdate_range("2024-01-01", periods=60)
    assert iso_stamp(hourly[0], hourly) == "2024-01-01 00:00:00" and iso_stamp(hourly[24], True) \
        == "2024-01-02 00:00:00"
    assert iso_stamp(daily[0], daily) == "2024-01-01" and iso_stamp(daily[0], False) == "2024-01-01"
    plan = split_at_rows(hourly, 5, 1, 24, 48).to_dict(hourly)
    assert (plan["first_date"], plan["val_start"], plan["test_start"]) == \
        ("2024-01-01 00:00:00", "2024-01-02 00:00:00", "2024-01-03 00:00:00")
    assert plan["train"]["first_origin"] == "2024-01-01 04:00:00"
    assert split_at_rows(daily, 5, 1, 24, 48).to_dict(daily)["first_date"] == "2024-01-01"


def test_the_cleaning_report_of_intraday_bars_keeps_midnight_times():
    hourly = pd.date_range("2024-01-01", periods=60, freq="h")
    prices = pd.DataFrame({"close": np.linspace(100, 110, 60)}, index=hourly)
    prices.iloc[24, 0] = 200.0                                     # an extreme bar at midnight, flagged
    prices = pd.concat([prices, prices.iloc[[0]]])                 # a duplicate of the midnight bar, dropped
    _, report = clean_prices(prices)
    dates = [d for step in report.fixes + report.flags for d in step.dates]
    assert "2024-01-01 00:00:00" in dates and "2024-01-02 00:00:00" in dates
    assert all(len(d) == 19 for d in dates), dates
    assert "2024-01-02 00:00:00: +" in report.step("extreme_returns").detail


@pytest.mark.parametrize("offered, words", [
    (pd.date_range("2020-01-06", periods=60, freq="W-MON"),
     r"new\.csv has weekly bars \(60 bars, step 7d\), but the model was trained on business-daily bars, weekdays "
     r"\(step 1d\)"),
    (pd.date_range("2020-01-01", periods=60, freq="D"),
     r"new\.csv has daily bars, 24/7 \(60 bars, step 1d\), but the model was trained on business-daily bars"),
    (pd.date_range("2024-01-01", periods=300, freq="h"),
     r"hourly bars, 24/7 \(300 bars, step 1h\), but the model was trained on business-daily"),
])
def test_bars_of_another_frequency_than_the_models_are_refused_naming_both(offered, words):
    model = infer_frequency(pd.bdate_range("2019-01-01", periods=400)).to_dict()
    with pytest.raises(DateGapError, match=words):
        check_no_date_gaps(offered, {"kind": "business", "max_gap": 5, "unit": "business days"}, label="new.csv",
                           frequency=model)


def test_an_hourly_model_refuses_five_minute_bars_and_takes_its_own():
    hourly = pd.date_range("2024-01-01", periods=600, freq="h")
    model = infer_frequency(hourly).to_dict()
    with pytest.raises(DateGapError, match=r"5-minute bars.*trained on hourly bars, 24/7 \(step 1h\)"):
        check_no_date_gaps(pd.date_range("2024-03-01", periods=300, freq="5min"), None, label="x", frequency=model)
    check_no_date_gaps(pd.date_range("2024-03-01", periods=100, freq="h"), None, label="x", frequency=model)


def test_bar_kind_names_the_bars_for_titles():
    from helpers.frequency import bar_kind

    assert bar_kind(pd.bdate_range("2024-01-01", periods=30)) == "daily"
    assert bar_kind(pd.date_range("2024-01-01", periods=30, freq="h")) == "hourly"
    assert bar_kind(pd.date_range("2024-01-01", periods=30, freq="5min")) == "5-minute"
    assert bar_kind(pd.date_range("2020-01-03", periods=30, freq="W-FRI")) == "weekly"
    assert bar_kind(pd.bdate_range("2024-01-01", periods=3)) == "" and bar_kind(None) == ""


def test_daily_forecasts_skip_the_holidays_of_the_exchange_the_data_report_named():
    """A business-day model of an XNYS stock forecasts from Friday 2018-02-16: Monday the 19th is Presidents'
    Day, so the next two trading days are the 20th and 21st; without the exchange, Monday would be dated."""
    from helpers.calendar import future_timestamps

    days = pd.bdate_range("2017-01-02", "2018-02-16", name="date")
    frequency = {**infer_frequency(days).to_dict(), "trading_calendar": "XNYS"}
    dated = future_timestamps(days[-1], 2, "business", frequency)
    assert list(dated.strftime("%Y-%m-%d")) == ["2018-02-20", "2018-02-21"]
    plain = future_timestamps(days[-1], 2, "business", {**frequency, "trading_calendar": "business"})
    assert list(plain.strftime("%Y-%m-%d")) == ["2018-02-19", "2018-02-20"]
