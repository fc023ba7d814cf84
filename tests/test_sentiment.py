"""Tests for helpers.sentiment: the before-the-close rule, roll-forward, zero-fill, VADER scores, loading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.runfolder import PROJECT_ROOT
from helpers.sentiment import daily_sentiment, load_headlines, score_headlines

HEADLINES = PROJECT_ROOT / "data" / "headlines" / "illustrative_AAPL.csv"
GOOD = "Apple beats estimates, a great quarter"
BAD = "Apple misses badly, a terrible quarter"

# Wed 2017-03-01 .. Fri 2017-03-10, with Wed 2017-03-08 removed as if it were a market holiday.
TRADING_DATES = pd.bdate_range("2017-03-01", "2017-03-10").drop(pd.Timestamp("2017-03-08"))


def local_headlines(*rows: tuple[str, str]) -> pd.DataFrame:
    """Headlines with naive (exchange-local) timestamps."""
    return pd.DataFrame({"timestamp": pd.to_datetime([t for t, _ in rows]), "text": [x for _, x in rows]})


def counted_on(daily: pd.DataFrame) -> dict[str, int]:
    """Trading date -> number of headlines, for days with any."""
    hits = daily[daily["sentiment_count"] > 0]
    return {d.date().isoformat(): int(n) for d, n in hits["sentiment_count"].items()}


# ---------------------------------------------------------------------- the before-the-close rule
def test_headline_just_before_close_counts_that_day():
    daily = daily_sentiment(local_headlines(("2017-03-02 15:59:59", GOOD)), TRADING_DATES)
    assert counted_on(daily) == {"2017-03-02": 1}


def test_headline_at_close_counts_for_next_trading_day():
    daily = daily_sentiment(local_headlines(("2017-03-02 16:00:00", GOOD)), TRADING_DATES)
    assert counted_on(daily) == {"2017-03-03": 1}


def test_headline_after_friday_close_goes_to_monday():
    daily = daily_sentiment(local_headlines(("2017-03-03 18:30", GOOD)), TRADING_DATES)
    assert counted_on(daily) == {"2017-03-06": 1}


def test_weekend_headline_goes_to_monday():
    daily = daily_sentiment(local_headlines(("2017-03-04 11:00", GOOD), ("2017-03-05 23:00", BAD)),
                            TRADING_DATES)
    assert counted_on(daily) == {"2017-03-06": 2}


def test_holiday_headline_rolls_to_next_trading_day():
    daily = daily_sentiment(local_headlines(("2017-03-08 10:00", GOOD)), TRADING_DATES)
    assert counted_on(daily) == {"2017-03-09": 1}


def test_days_without_headlines_are_zero_filled():
    daily = daily_sentiment(local_headlines(("2017-03-02 10:00", BAD)), TRADING_DATES)
    assert daily.index.equals(TRADING_DATES)
    quiet = daily.drop(pd.Timestamp("2017-03-02"))
    assert (quiet["sentiment_mean"] == 0.0).all() and (quiet["sentiment_count"] == 0).all()
    assert daily.loc["2017-03-02", "sentiment_mean"] < 0
    assert daily["sentiment_mean"].dtype == "float64" and daily["sentiment_count"].dtype == "int64"


def test_same_day_headlines_are_averaged():
    daily = daily_sentiment(local_headlines(("2017-03-06 09:00", GOOD), ("2017-03-06 12:00", BAD)),
                            TRADING_DATES)
    assert daily.loc["2017-03-06", "sentiment_mean"] == pytest.approx(score_headlines([GOOD, BAD]).mean())
    assert daily.loc["2017-03-06", "sentiment_count"] == 2


def test_utc_timestamps_use_exchange_close_across_daylight_saving():
    # New York closes at 21:00 UTC in winter (EST) and 20:00 UTC in summer (EDT).
    dates = pd.DatetimeIndex(["2017-01-05", "2017-01-06", "2017-07-06", "2017-07-07"])
    headlines = pd.DataFrame({
        "timestamp": pd.to_datetime(["2017-01-05T20:59:00Z", "2017-07-06T19:59:00Z", "2017-07-06T20:00:00Z"]),
        "text": [GOOD, GOOD, BAD],
    })
    assert counted_on(daily_sentiment(headlines, dates)) == {"2017-01-05": 1, "2017-07-06": 1, "2017-07-07": 1}


def test_close_time_moves_the_cut():
    headline = local_headlines(("2017-03-02 13:30", GOOD))
    assert counted_on(daily_sentiment(headline, TRADING_DATES, close_time="13:00")) == {"2017-03-03": 1}


def test_headlines_outside_the_trading_dates_are_left_out():
    daily = daily_sentiment(local_headlines(("2017-02-20 10:00", GOOD), ("2017-03-10 16:00", BAD)),
                            TRADING_DATES)
    assert daily["sentiment_count"].sum() == 0


def test_headline_at_or_after_close_never_changes_that_day_or_before():
    base = local_headlines(("2017-03-01 09:00", GOOD), ("2017-03-02 11:00", BAD))
    later = pd.concat([base, local_headlines(("2017-03-02 16:00", GOOD), ("2017-03-07 10:00", BAD))])
    before, after = daily_sentiment(base, TRADING_DATES), daily_sentiment(later, TRADING_DATES)
    pd.testing.assert_frame_equal(before.loc[:"2017-03-02"], after.loc[:"2017-03-02"])


def test_intraday_bars_count_a_headline_at_the_first_bar_stamped_after_it_never_earlier():
    bars = pd.DatetimeIndex([d + pd.Timedelta(hours=h) for d in pd.bdate_range("2017-03-01", periods=3)
                             for h in (9.5, 10.5, 11.5, 12.5, 13.5, 14.5, 15.5)])
    counts = daily_sentiment(local_headlines(("2017-03-01 10:45:00", GOOD), ("2017-03-01 15:40:00", BAD),
                                             ("2017-03-01 11:30:00", GOOD)), bars)["sentiment_count"]
    hits = counts[counts > 0]
    assert {t.isoformat(sep=" "): int(n) for t, n in hits.items()} == {
        "2017-03-01 11:30:00": 1, "2017-03-01 12:30:00": 1, "2017-03-02 09:30:00": 1}


def test_bad_close_time_is_an_error():
    with pytest.raises(ValueError, match="close_time"):
        daily_sentiment(local_headlines(("2017-03-02 10:00", GOOD)), TRADING_DATES, close_time="4pm")


def test_tz_aware_trading_dates_are_an_error():
    with pytest.raises(ValueError, match="tz-naive"):
        daily_sentiment(local_headlines(("2017-03-02 10:00", GOOD)), TRADING_DATES.tz_localize("UTC"))


# ---------------------------------------------------------------------- scoring
def test_vader_scores_positive_text_above_zero_above_negative_text():
    good, bad = score_headlines([GOOD, BAD])
    assert good > 0 > bad


def test_scores_are_compound_scores_within_minus_one_and_one():
    scores = score_headlines(load_headlines(HEADLINES)["text"])
    assert scores.dtype == np.float64 and ((scores >= -1) & (scores <= 1)).all()


def test_finance_terms_turn_a_downgrade_negative():
    text = ["Analysts downgrade Apple"]
    assert score_headlines(text, finance_terms=False)[0] == 0.0
    assert score_headlines(text)[0] < 0


def test_shares_is_neutral_in_market_news():
    assert score_headlines(["Apple shares"], finance_terms=False)[0] > 0  # VADER reads "shares" as friendly
    assert score_headlines(["Apple shares"])[0] == 0.0


# ---------------------------------------------------------------------- loading
def test_illustrative_file_loads_as_utc_sorted_headlines():
    headlines = load_headlines(HEADLINES)
    assert list(headlines.columns) == ["timestamp", "text"]
    assert len(headlines) == 40
    assert str(headlines["timestamp"].dt.tz) == "UTC"
    assert headlines["timestamp"].is_monotonic_increasing
    assert headlines["timestamp"].min() >= pd.Timestamp("2016-01-01", tz="UTC")
    assert headlines["timestamp"].max() < pd.Timestamp("2018-01-01", tz="UTC")


def test_illustrative_file_is_marked_illustrative():
    readme = (HEADLINES.parent / "README.md").read_text()
    assert "illustrative" in HEADLINES.name and "ILLUSTRATIVE" in readme


def test_offset_timestamp_keeps_its_instant(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text('timestamp,text\n2017-05-02T16:30:00-04:00,"Apple misses, shares fall"\n')
    headlines = load_headlines(path)
    assert headlines["timestamp"].iloc[0] == pd.Timestamp("2017-05-02T20:30:00Z")
    assert headlines["text"].iloc[0] == "Apple misses, shares fall"


def test_naive_timestamps_stay_naive_as_exchange_local(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("timestamp,text\n2017-03-02 15:59,Apple rises\n")
    headlines = load_headlines(path)
    assert headlines["timestamp"].dt.tz is None
    assert counted_on(daily_sentiment(headlines, TRADING_DATES)) == {"2017-03-02": 1}


def test_missing_column_error_names_it(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("date,headline\n2017-03-02,Apple rises\n")
    with pytest.raises(ValueError, match="timestamp, text"):
        load_headlines(path)


def test_mixed_naive_and_offset_timestamps_are_an_error(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("timestamp,text\n2017-03-02T10:00:00-05:00,Apple rises\n2017-03-03 10:00,Apple falls\n")
    with pytest.raises(ValueError, match="mixes"):
        load_headlines(path)


def test_unreadable_timestamp_error_names_the_line(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("timestamp,text\n2017-03-02 10:00,Apple rises\nyesterday,Apple falls\n")
    with pytest.raises(ValueError, match=r"'yesterday'.*line\(s\) 3"):
        load_headlines(path)


def test_empty_text_error_names_the_line(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("timestamp,text\n2017-03-02 10:00,Apple rises\n2017-03-03 10:00,\n")
    with pytest.raises(ValueError, match=r"empty text on line\(s\) 3"):
        load_headlines(path)


def test_missing_file_error_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        load_headlines(tmp_path / "nowhere.csv")
